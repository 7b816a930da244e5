//! The GUI against real nodes on temporary homes, driven through iced's
//! headless simulator: clicks and key presses become messages, `update`
//! runs them, and the tasks it returns are awaited (their outputs go back
//! into `update`). Node events come through the app's own subscription.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::Path;

use common::Gui;
use iced::keyboard::{Key, key::Named};
use iced::mouse::{self, ScrollDelta};
use iced::{Event, Point};
use iced_test::{selector, simulator};
use wren_core::{Node, NodeEvent, Status, Unlock};
use wren_desktop::Message;
use wren_desktop::app::State;
use wren_desktop::screen::main::conversation::PAGE;
use wren_desktop::screen::main::{self as main_screen, Panel, add_contact};

/// A home with an identity, opened in the GUI and listening.
async fn started(home: &Path, name: &str) -> Gui {
    Node::init(home, name, Unlock::KeyFile).await.unwrap();
    let mut gui = Gui::start(home).await;
    assert!(
        gui.app.main().is_some(),
        "opens straight into the main window"
    );
    // The pairing code carries the listen addresses: wait for them.
    gui.until_event(|event| matches!(event, NodeEvent::Listening { .. }))
        .await;
    gui
}

/// How Ada enters Bob's code.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    /// Typed (or pasted) into the code field.
    Text,
    /// Read from a picture of Bob's "My code" panel, as "Open QR image…"
    /// does with a file.
    QrImage,
}

/// What Bob's window shows, drawn by iced's software renderer, as PNG bytes.
fn picture(gui: &Gui) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("window.png");
    let mut ui = simulator(gui.app.view());
    let snapshot = ui.snapshot(&iced::Theme::Light).unwrap();
    // With no reference image yet, this writes the snapshot there (its
    // name gains the renderer's).
    assert!(snapshot.matches_image(&png).unwrap());
    let written = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .expect("the snapshot was written")
        .unwrap();
    std::fs::read(written.path()).unwrap()
}

/// Ada adds Bob from his code; Bob accepts in his requests panel.
async fn pair(ada: &mut Gui, bob: &mut Gui) {
    pair_via(ada, bob, Via::Text).await;
}

/// [`pair`], with Bob's code entered `via`.
async fn pair_via(ada: &mut Gui, bob: &mut Gui, via: Via) {
    let code = bob.main().my_code().code().expect("Bob's code").to_owned();
    ada.interact(|ui| {
        ui.click("Add contact").unwrap();
    })
    .await;
    assert_eq!(ada.main().panel(), Panel::AddContact);
    match via {
        Via::Text => {
            ada.interact(|ui| {
                ui.click(selector::id("contact-code")).unwrap();
                ui.typewrite(&code);
            })
            .await;
        }
        Via::QrImage => {
            bob.interact(|ui| {
                ui.click("My code").unwrap();
            })
            .await;
            let scanned = wren_desktop::qr::decode_image(&picture(bob)).unwrap();
            assert_eq!(scanned, code, "the QR on screen carries the code");
            ada.send(Message::Main(main_screen::Message::AddContact(
                add_contact::Message::FromImage(Ok(Some(scanned))),
            )))
            .await;
        }
    }
    // Before adding: who this is, and the safety number both will compare.
    let bob_id = bob.main().identity().peer_id.clone();
    let safety = ada.main().node().preview_contact(&code).await.unwrap();
    assert!(ada.shows("Adding sends them a contact request."));
    assert!(ada.shows(&format!("Safety number: {}", safety.safety_number)));
    assert!(ada.shows(&format!(
        "Fingerprint: {}",
        bob.main().identity().fingerprint
    )));
    ada.interact(|ui| {
        ui.click("Add").unwrap();
    })
    .await;
    assert!(
        ada.main().contacts().contains_key(&bob_id),
        "Bob is a contact"
    );
    assert_eq!(ada.main().panel(), Panel::Chat);
    assert!(ada.shows("Bob"), "the sidebar lists Bob");

    // Bob: the request appears in its own list, with accept and decline.
    bob.until(|app| app.main().is_some_and(|m| !m.requests().is_empty()))
        .await;
    assert!(bob.shows("Requests (1)"));
    bob.interact(|ui| {
        ui.click("Requests (1)").unwrap();
    })
    .await;
    assert!(bob.shows("Ada"));
    assert!(bob.shows("Decline"));
    bob.interact(|ui| {
        ui.click("Accept").unwrap();
    })
    .await;
    let ada_id = ada.main().identity().peer_id.clone();
    assert!(
        bob.main().contacts().contains_key(&ada_id),
        "Ada is a contact"
    );
    assert!(bob.main().requests().is_empty());

    // Ada learns that Bob accepted.
    ada.until(|app| {
        app.main()
            .and_then(|m| m.contacts().get(&bob_id))
            .is_some_and(|c| c.state == wren_core::ContactState::Added)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_creates_the_identity() {
    let home = tempfile::tempdir().unwrap();
    let mut gui = Gui::start(home.path()).await;
    assert!(matches!(gui.app.state(), State::FirstRun(_)));
    assert!(gui.shows("Welcome to Wren"));

    gui.interact(|ui| {
        ui.click(selector::id("name")).unwrap();
        ui.typewrite("Ada Lovelace");
        ui.click("Create my identity").unwrap();
    })
    .await;

    let main = gui.main();
    assert_eq!(main.identity().name, "Ada Lovelace");
    assert!(
        main.my_code()
            .code()
            .is_some_and(|c| c.starts_with("wren:"))
    );
    assert!(gui.shows("Ada Lovelace"));
    gui.interact(|ui| {
        ui.click("My code").unwrap();
    })
    .await;
    let fingerprint = gui.main().identity().fingerprint.clone();
    assert!(gui.shows(&fingerprint), "My code shows the fingerprint");
    assert!(gui.shows("Copy code"));
    gui.stop().await;

    // A later run opens straight into the main window.
    let gui = Gui::start(home.path()).await;
    assert_eq!(gui.main().identity().name, "Ada Lovelace");
    gui.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_a_contact_from_its_code_and_accepting_the_request() {
    let (ada_home, bob_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut ada = started(ada_home.path(), "Ada").await;
    let mut bob = started(bob_home.path(), "Bob").await;
    pair(&mut ada, &mut bob).await;
    assert!(ada.shows("Bob"));
    assert!(bob.shows("Ada"));

    // The conversation header offers the safety number; Ada marks Bob verified.
    let bob_id = bob.main().identity().peer_id.clone();
    let safety = ada.main().contacts()[&bob_id].safety_number.clone();
    assert!(ada.shows(&format!("Safety number: {safety}")));
    ada.interact(|ui| {
        ui.click("Mark verified").unwrap();
    })
    .await;
    assert!(ada.main().contacts()[&bob_id].verified);
    assert!(ada.shows("✓ verified"));
    ada.stop().await;
    bob.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_through_the_qr_code_on_screen_then_chatting() {
    let (ada_home, bob_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut ada = started(ada_home.path(), "Ada").await;
    let mut bob = started(bob_home.path(), "Bob").await;
    pair_via(&mut ada, &mut bob, Via::QrImage).await;

    // They chat: Ada's message reaches Bob's window.
    let bob_id = bob.main().identity().peer_id.clone();
    ada.send(Message::Main(main_screen::Message::Select(bob_id)))
        .await;
    ada.interact(|ui| {
        ui.click(selector::id("composer")).unwrap();
        ui.typewrite("Found you through the QR code");
        ui.tap_key(Key::Named(Named::Enter));
    })
    .await;
    bob.until(|app| {
        app.main()
            .is_some_and(|m| m.conversations().iter().any(|c| c.unread > 0))
    })
    .await;
    assert!(bob.shows("Found you through the QR code"));
    ada.stop().await;
    bob.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_a_message_shows_it_with_its_status() {
    let (ada_home, bob_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut ada = started(ada_home.path(), "Ada").await;
    let mut bob = started(bob_home.path(), "Bob").await;
    pair(&mut ada, &mut bob).await;

    // Enter sends the composer's text.
    ada.interact(|ui| {
        ui.click(selector::id("composer")).unwrap();
        ui.typewrite("hello Bob");
        ui.tap_key(Key::Named(Named::Enter));
    })
    .await;
    let mine = |gui: &Gui| {
        gui.main()
            .open_conversation()
            .and_then(|c| c.messages().find(|m| m.text == "hello Bob").cloned())
    };
    let sent = mine(&ada).expect("the message is in the conversation");
    assert!(sent.outgoing);
    assert_eq!(ada.main().open_conversation().unwrap().draft().trim(), "");
    assert!(ada.shows("hello Bob"));

    // Its status mark follows the node's events up to delivered.
    ada.until(|app| {
        app.main()
            .and_then(|m| m.open_conversation())
            .and_then(|c| c.messages().find(|m| m.text == "hello Bob"))
            .is_some_and(|m| matches!(m.status, Status::Delivered | Status::Read))
    })
    .await;
    assert!(ada.shows("✓✓ delivered") || ada.shows("✓✓ read"));

    // Bob's sidebar shows the preview and an unread badge.
    bob.until(|app| {
        app.main().is_some_and(|m| {
            m.conversations()
                .iter()
                .any(|c| c.last_preview.as_deref() == Some("hello Bob") && c.unread == 1)
        })
    })
    .await;
    assert!(bob.shows("hello Bob"));
    assert!(bob.shows("1"));

    // Opening the conversation marks it read, and Ada sees "read".
    let ada_id = ada.main().identity().peer_id.clone();
    bob.send(Message::Main(main_screen::Message::Select(ada_id)))
        .await;
    assert!(bob.main().conversations().iter().all(|c| c.unread == 0));
    ada.until(|app| {
        app.main()
            .and_then(|m| m.open_conversation())
            .and_then(|c| c.messages().find(|m| m.text == "hello Bob"))
            .is_some_and(|m| m.status == Status::Read)
    })
    .await;
    assert!(ada.shows("✓✓ read"));
    ada.stop().await;
    bob.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passphrase_protects_the_profile_and_a_wrong_one_changes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let mut gui = Gui::start(home.path()).await;
    gui.interact(|ui| {
        ui.click(selector::id("name")).unwrap();
        ui.typewrite("Ada");
        ui.click(selector::id("passphrase")).unwrap();
        ui.typewrite("correct horse");
        ui.click("Create my identity").unwrap();
    })
    .await;
    let peer_id = gui.main().identity().peer_id.clone();
    gui.stop().await;

    let mut gui = Gui::start(home.path()).await;
    assert!(matches!(gui.app.state(), State::Unlock(_)));
    assert!(gui.shows("This profile is locked"));
    gui.interact(|ui| {
        ui.click(selector::id("unlock")).unwrap();
        ui.typewrite("wrong horse");
        ui.click("Unlock").unwrap();
    })
    .await;
    assert!(matches!(gui.app.state(), State::Unlock(_)));
    assert!(gui.shows("Wrong passphrase: nothing was changed."));
    gui.interact(|ui| {
        ui.click(selector::id("unlock")).unwrap();
        ui.typewrite("correct horse");
        ui.tap_key(Key::Named(Named::Enter));
    })
    .await;
    assert_eq!(gui.main().identity().peer_id, peer_id);
    gui.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_composer_keeps_a_draft_per_conversation_and_shift_enter_breaks_lines() {
    let homes: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut ada = started(homes[0].path(), "Ada").await;
    let mut bob = started(homes[1].path(), "Bob").await;
    let mut carol = started(homes[2].path(), "Carol").await;
    pair(&mut ada, &mut bob).await;
    pair(&mut ada, &mut carol).await;
    let bob_id = bob.main().identity().peer_id.clone();
    let carol_id = carol.main().identity().peer_id.clone();
    assert_eq!(ada.main().open_conversation().unwrap().contact(), carol_id);

    // Shift+Enter inserts a new line; the text stays in the composer.
    ada.interact(|ui| {
        ui.click(selector::id("composer")).unwrap();
        ui.typewrite("first");
        ui.simulate([
            Event::Keyboard(iced::keyboard::Event::ModifiersChanged(
                iced::keyboard::Modifiers::SHIFT,
            )),
            shift_enter(),
        ]);
        ui.typewrite("second");
    })
    .await;
    let draft = ada.main().open_conversation().unwrap().draft();
    assert_eq!(draft.trim_end(), "first\nsecond");

    // Switching conversations keeps each one's draft.
    ada.interact(|ui| {
        ui.click("Bob").unwrap();
    })
    .await;
    assert_eq!(ada.main().open_conversation().unwrap().contact(), bob_id);
    assert_eq!(ada.main().open_conversation().unwrap().draft().trim(), "");
    ada.interact(|ui| {
        ui.click("Carol").unwrap();
    })
    .await;
    assert_eq!(
        ada.main().open_conversation().unwrap().draft().trim_end(),
        "first\nsecond"
    );
    for gui in [ada, bob, carol] {
        gui.stop().await;
    }
}

fn shift_enter() -> Event {
    let key = Key::Named(Named::Enter);
    Event::Keyboard(iced::keyboard::Event::KeyPressed {
        key: key.clone(),
        modified_key: key,
        physical_key: iced::keyboard::key::Physical::Code(iced::keyboard::key::Code::Enter),
        location: iced::keyboard::Location::Standard,
        modifiers: iced::keyboard::Modifiers::SHIFT,
        repeat: false,
        text: Some("\n".into()),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_history_loads_when_scrolled_to_the_top() {
    let (ada_home, bob_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut ada = started(ada_home.path(), "Ada").await;
    let mut bob = started(bob_home.path(), "Bob").await;
    pair(&mut ada, &mut bob).await;
    let ada_id = ada.main().identity().peer_id.clone();
    let total = PAGE + 10;
    for i in 0..total {
        bob.main()
            .node()
            .send_text(&ada_id, &format!("message {i}"))
            .await
            .unwrap();
    }
    // Ada has the conversation open: every message arrives live.
    ada.until(|app| {
        app.main()
            .and_then(|m| m.open_conversation())
            .is_some_and(|c| c.messages().count() == total)
    })
    .await;

    // Reopened, it shows the newest page; scrolling to the top loads the rest.
    let bob_id = bob.main().identity().peer_id.clone();
    ada.stop().await;
    let mut ada = Gui::start(ada_home.path()).await;
    ada.send(Message::Main(main_screen::Message::Select(bob_id)))
        .await;
    let count = |gui: &Gui| gui.main().open_conversation().unwrap().messages().count();
    assert_eq!(count(&ada), PAGE);
    assert!(ada.shows(&format!("message {}", total - 1)));
    assert!(!ada.shows("message 0"));
    ada.interact(|ui| {
        ui.point_at(Point::new(650.0, 300.0));
        ui.simulate([Event::Mouse(mouse::Event::WheelScrolled {
            delta: ScrollDelta::Lines { x: 0.0, y: 1000.0 },
        })]);
    })
    .await;
    assert_eq!(count(&ada), total);
    assert!(ada.shows("message 0"));
    ada.stop().await;
    bob.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_message_shows_why_and_offers_retry() {
    let (ada_home, bob_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut ada = started(ada_home.path(), "Ada").await;
    let mut bob = started(bob_home.path(), "Bob").await;
    pair(&mut ada, &mut bob).await;
    ada.interact(|ui| {
        ui.click(selector::id("composer")).unwrap();
        ui.typewrite("are you there?");
        ui.click("Send").unwrap();
    })
    .await;
    let sent = ada
        .main()
        .open_conversation()
        .unwrap()
        .messages()
        .find(|m| m.text == "are you there?")
        .cloned()
        .unwrap();
    // The node delivers the message; a failure is injected as the event
    // the node would send, after the real statuses have arrived.
    ada.until(|app| {
        app.main()
            .and_then(|m| m.open_conversation())
            .and_then(|c| c.messages().find(|m| m.id == sent.id))
            .is_some_and(|m| m.status == Status::Delivered)
    })
    .await;
    ada.send(Message::Main(main_screen::Message::Node(
        NodeEvent::StatusChanged {
            id: sent.id.clone(),
            conversation: sent.conversation,
            status: Status::Failed,
            detail: Some("the recipient could not store the message".into()),
            group: None,
            member: None,
        },
    )))
    .await;
    assert!(ada.shows("⚠ failed"));
    assert!(ada.shows("the recipient could not store the message"));
    // Retry goes to the node, which answers (here: the message is not
    // failed in the store, so it refuses) and the answer is shown.
    ada.interact(|ui| {
        ui.click("Retry").unwrap();
    })
    .await;
    assert!(ada.shows(&format!("unknown message {:?}", sent.id)));
    ada.stop().await;
    bob.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_received_markdown_message_is_shown_as_rich_text() {
    use wren_desktop::rich::{Block, Kind, Rich};
    use wren_desktop::screen::main::conversation;

    let (ada_home, bob_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut ada = started(ada_home.path(), "Ada").await;
    let mut bob = started(bob_home.path(), "Bob").await;
    pair(&mut ada, &mut bob).await;
    let ada_id = ada.main().identity().peer_id.clone();
    let text = "**Hello** _Ada_ :wave:\n\n\
                ```rust\nfn main() {}\n```\n\n\
                > ask @ada about #wren, not `@code`\n\n\
                <https://example.org/wren>";
    bob.main().node().send_text(&ada_id, text).await.unwrap();

    // Ada has Bob's conversation open: the message arrives live and is
    // parsed once, on arrival.
    ada.until(|app| {
        app.main()
            .and_then(|m| m.open_conversation())
            .is_some_and(|c| c.messages().any(|m| m.text == text))
    })
    .await;
    let blocks = {
        let open = ada.main().open_conversation().unwrap();
        let (_, rich) = open.rich_messages().find(|(m, _)| m.text == text).unwrap();
        match rich {
            Rich::Blocks(blocks) => blocks.clone(),
            Rich::Plain => panic!("the Markdown message was not parsed"),
        }
    };
    let [
        Block::Paragraph(greeting),
        Block::Code { language, .. },
        Block::Quote(quote),
        Block::Paragraph(link),
    ] = blocks.as_slice()
    else {
        panic!("unexpected blocks: {blocks:?}");
    };
    assert!(greeting.spans.iter().any(|s| s.text == "Hello" && s.strong));
    assert!(greeting.spans.iter().any(|s| s.text == "Ada" && s.emphasis));
    assert_eq!(language.as_deref(), Some("rust"));
    let [Block::Paragraph(quoted)] = quote.as_slice() else {
        panic!("unexpected quote: {quote:?}");
    };
    let kinds: Vec<_> = quoted
        .spans
        .iter()
        .map(|s| (s.text.as_str(), s.kind.clone()))
        .collect();
    assert!(kinds.contains(&("@ada", Kind::Mention)));
    assert!(kinds.contains(&("#wren", Kind::Hashtag)));
    assert!(kinds.contains(&("@code", Kind::Code)));
    assert_eq!(link.plain, "https://example.org/wren");

    // The bubble shows the converted text: emphasis without its markers,
    // the emoji, the code block's code.
    assert!(ada.shows("Hello Ada 👋"));
    assert!(ada.shows("fn main() {}"));
    assert!(ada.shows("ask @ada about #wren, not @code"));
    assert!(!ada.shows(text));

    // A click on the link asks to open it (not fed back into the app here,
    // which would start a browser); nothing is opened without a click.
    let mut ui = simulator(ada.app.view());
    ui.click("https://example.org/wren").unwrap();
    let messages: Vec<Message> = ui.into_messages().collect();
    assert!(
        messages.iter().any(|m| matches!(
            m,
            Message::Main(main_screen::Message::Conversation(
                conversation::Message::OpenLink(url)
            )) if url == "https://example.org/wren"
        )),
        "clicking the link asks to open it: {messages:?}"
    );

    // Anything but a web or mail link is refused before it leaves the app.
    ada.send(Message::Main(main_screen::Message::Conversation(
        conversation::Message::OpenLink("file:///etc/passwd".into()),
    )))
    .await;
    assert!(ada.shows("not opening \"file:///etc/passwd\": not a web or mail link"));
    ada.stop().await;
    bob.stop().await;
}
