//! Groups and channels in the GUI, against real nodes on temporary homes
//! (the harness of tests/common): a group made in the "New group" panel
//! reaches its members, a member's message shows its sender's name, our
//! own message counts the members' receipts, an admin renames the group
//! in the members panel (an empty or over-long name is refused there, and
//! every member's sidebar and header follow) and removes a member; a
//! channel's reader gets no composer until the admin
//! makes it an admin in the members panel, and leaving takes the composer
//! away and updates the admin's member list.
//!
//! `WREN_SNAPSHOTS=DIR` keeps pictures of the group conversation and the
//! members panel (iced's software renderer) in DIR.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::Path;

use common::{Gui, guard};
use iced::keyboard::{self, Key, Modifiers, key::Named};
use iced_test::selector::{self, Candidate, Target};
use iced_test::{Simulator, simulator};
use tokio::sync::mpsc;
use wren_core::{ContactState, Node, NodeConfig, NodeEvent, Unlock};
use wren_desktop::screen::main::Panel;

/// The sidebar's width: what lies right of it is the open panel.
const SIDEBAR: f32 = 300.0;

/// A home with an identity, opened in the GUI and listening.
async fn started(home: &Path, name: &str) -> Gui {
    Node::init(home, name, Unlock::KeyFile).await.unwrap();
    let mut gui = Gui::start(home).await;
    gui.until_event(|event| matches!(event, NodeEvent::Listening { .. }))
        .await;
    gui
}

/// A node without a window (a member on another device), listening.
async fn headless(home: &Path, name: &str) -> (Node, mpsc::Receiver<NodeEvent>) {
    Node::init(home, name, Unlock::KeyFile).await.unwrap();
    let mut config = NodeConfig::new(home);
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.mdns = false;
    let (node, mut events) = Node::open(config).await.unwrap();
    next(&mut events, |e| matches!(e, NodeEvent::Listening { .. })).await;
    (node, events)
}

/// Waits for the first event that matches `pick`.
async fn next(events: &mut mpsc::Receiver<NodeEvent>, mut pick: impl FnMut(&NodeEvent) -> bool) {
    guard(async {
        loop {
            let event = events.recv().await.expect("the node's events ended");
            if pick(&event) {
                return;
            }
        }
    })
    .await;
}

/// Makes `ada` and `code`'s owner contacts (the pairing itself is
/// tests/gui.rs's subject): Ada adds the code, `accept` accepts, and Ada's
/// window learns it.
async fn befriend(ada: &mut Gui, code: &str, accept: impl AsyncFnOnce(&str)) -> String {
    let contact = ada.main().node().add_contact(code, None).await.unwrap();
    let ada_id = ada.main().identity().peer_id.clone();
    accept(&ada_id).await;
    let peer = contact.peer_id.clone();
    ada.until(|app| {
        app.main()
            .and_then(|m| m.contacts().get(&peer))
            .is_some_and(|c| c.state == ContactState::Added)
    })
    .await;
    contact.peer_id
}

/// Makes two windows' nodes contacts.
async fn befriend_gui(ada: &mut Gui, bob: &mut Gui) -> String {
    let code = bob.main().node().pairing_code().await.unwrap();
    let bob_id = befriend(ada, &code, async |ada_id| {
        bob.until_event(|e| matches!(e, NodeEvent::ContactRequest { from, .. } if from == ada_id))
            .await;
        bob.main().node().accept(ada_id).await.unwrap();
    })
    .await;
    let ada_id = ada.main().identity().peer_id.clone();
    bob.until(|app| {
        app.main()
            .is_some_and(|m| m.contacts().contains_key(&ada_id))
    })
    .await;
    bob_id
}

/// A text right of the sidebar (in the open panel or conversation).
fn in_panel(label: &str) -> impl FnMut(Candidate<'_>) -> Option<Target> + Send + '_ {
    move |candidate| match candidate {
        Candidate::Text {
            content,
            visible_bounds: Some(bounds),
            ..
        } if content == label && bounds.x >= SIDEBAR => Some(Target::from(candidate)),
        _ => None,
    }
}

/// The `n`th (from 1) text `label` in the view.
fn nth(label: &str, n: usize) -> impl FnMut(Candidate<'_>) -> Option<Target> + Send + '_ {
    let mut seen = 0;
    move |candidate| match candidate {
        Candidate::Text { content, .. } if content == label => {
            seen += 1;
            (seen == n).then(|| Target::from(candidate))
        }
        _ => None,
    }
}

/// Whether `label` is shown right of the sidebar.
fn shows_in_panel(gui: &Gui, label: &str) -> bool {
    simulator(gui.app.view()).find(in_panel(label)).is_ok()
}

/// Whether a text starting with `prefix` is shown.
fn shows_starting(gui: &Gui, prefix: &str) -> bool {
    simulator(gui.app.view())
        .find(|candidate: Candidate<'_>| match candidate {
            Candidate::Text { content, .. } if content.starts_with(prefix) => {
                Some(Target::from(candidate))
            }
            _ => None,
        })
        .is_ok()
}

/// Whether the composer is shown.
fn has_composer(gui: &Gui) -> bool {
    simulator(gui.app.view())
        .find(selector::id("composer"))
        .is_ok()
}

/// Types `text` into `gui`'s composer and sends it.
async fn post(gui: &mut Gui, text: &str) {
    gui.interact(|ui| {
        ui.click(selector::id("composer")).unwrap();
        ui.typewrite(text);
        ui.tap_key(Key::Named(Named::Enter));
    })
    .await;
}

/// Waits until `gui`'s open conversation shows `text` from `from`.
async fn until_shown(gui: &mut Gui, text: &str, from: &str) {
    gui.until(|app| {
        app.main()
            .and_then(|m| m.open_conversation())
            .is_some_and(|c| c.messages().any(|m| m.text == text && m.from == from))
    })
    .await;
}

/// Selects everything in the focused text field (Ctrl+A).
fn select_all(ui: &mut Simulator<'_, wren_desktop::Message>) {
    let ctrl = |modifiers| iced::Event::Keyboard(keyboard::Event::ModifiersChanged(modifiers));
    ui.simulate([ctrl(Modifiers::CTRL)]);
    ui.tap_key(Key::Character("a".into()));
    ui.simulate([ctrl(Modifiers::empty())]);
}

/// Whether `gui`'s sidebar lists conversation `group` under `title`.
fn listed_as(gui: &Gui, group: &str, title: &str) -> bool {
    gui.main()
        .conversations()
        .iter()
        .any(|c| c.contact == group && c.title == title)
}

/// Keeps a picture of `gui`'s window as `name` in `WREN_SNAPSHOTS`, if set.
fn keep_snapshot(gui: &Gui, name: &str) {
    let Some(dir) = std::env::var_os("WREN_SNAPSHOTS") else {
        return;
    };
    let settings = iced::Settings {
        default_font: wren_desktop::FONT,
        fonts: vec![
            wren_desktop::FONT_BYTES.into(),
            wren_desktop::BOLD_FONT_BYTES.into(),
            wren_desktop::MONO_FONT_BYTES.into(),
        ],
        ..iced::Settings::default()
    };
    let mut ui = Simulator::with_size(settings, (1000.0, 700.0), gui.app.view());
    let snapshot = ui.snapshot(&iced::Theme::Light).unwrap();
    // With no image there yet, this writes the snapshot (its name gains
    // the renderer's).
    let _ = snapshot.matches_image(Path::new(&dir).join(format!("{name}.png")));
}

/// Ada makes a group in the "New group" panel with `members` (names as
/// listed), optionally a channel; returns its id once it is open.
async fn create_group(ada: &mut Gui, name: &str, members: &[&str], channel: bool) -> String {
    ada.interact(|ui| {
        ui.click("New group").unwrap();
    })
    .await;
    assert_eq!(ada.main().panel(), Panel::NewGroup);
    ada.interact(|ui| {
        ui.click(selector::id("group-name")).unwrap();
        ui.typewrite(name);
    })
    .await;
    for member in members {
        ada.interact(|ui| {
            ui.click(in_panel(member)).unwrap();
        })
        .await;
    }
    assert_eq!(ada.main().new_group().members().len(), members.len());
    if channel {
        ada.interact(|ui| {
            ui.click("Channel (only admins post)").unwrap();
        })
        .await;
    }
    keep_snapshot(ada, &format!("new-group-{name}"));
    ada.interact(|ui| {
        ui.click("Create").unwrap();
    })
    .await;
    assert_eq!(ada.main().new_group().error(), None);
    assert_eq!(ada.main().panel(), Panel::Chat, "the new group opens");
    let group = ada
        .main()
        .groups()
        .values()
        .find(|g| g.name == name)
        .expect("the group is listed")
        .clone();
    assert_eq!(
        ada.main().open_conversation().map(|c| c.contact()),
        Some(group.id.as_str())
    );
    assert_eq!(group.channel, channel);
    assert_eq!(group.members.len(), members.len() + 1);
    group.id
}

/// Opens the group named `name` from `gui`'s sidebar once it joined.
async fn open_joined(gui: &mut Gui, group: &str, name: &str) {
    gui.until(|app| app.main().is_some_and(|m| m.groups().contains_key(group)))
        .await;
    // The sidebar lists the group's conversation.
    gui.until(|app| {
        app.main()
            .is_some_and(|m| m.conversations().iter().any(|c| c.contact == group))
    })
    .await;
    gui.interact(|ui| {
        ui.click(name).unwrap();
    })
    .await;
    assert_eq!(
        gui.main().open_conversation().map(|c| c.contact()),
        Some(group)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_made_in_the_window_reaches_its_members_and_names_its_senders() {
    let homes: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut ada = started(homes[0].path(), "Ada").await;
    let mut bob = started(homes[1].path(), "Bob").await;
    let (cy, mut cy_events) = headless(homes[2].path(), "Cy").await;
    let cy_code = cy.pairing_code().await.unwrap();
    let bob_id = befriend_gui(&mut ada, &mut bob).await;
    let cy_id = befriend(&mut ada, &cy_code, async |ada_id| {
        next(&mut cy_events, |e| {
            matches!(e, NodeEvent::ContactRequest { .. })
        })
        .await;
        cy.accept(ada_id).await.unwrap();
    })
    .await;

    // Ada creates the group through the panel; both members join.
    let group = create_group(&mut ada, "Friends", &["Bob", "Cy"], false).await;
    assert!(has_composer(&ada));
    next(&mut cy_events, |e| {
        matches!(e, NodeEvent::GroupJoined { group: g, name } if *g == group && name == "Friends")
    })
    .await;
    open_joined(&mut bob, &group, "Friends").await;
    assert!(has_composer(&bob), "a member of a group posts");

    // Bob writes; Ada's window names him above the bubble, and her sidebar
    // previews it with his name.
    post(&mut bob, "hi from Bob").await;
    until_shown(&mut ada, "hi from Bob", &bob_id).await;
    assert!(shows_in_panel(&ada, "hi from Bob"));
    assert!(shows_in_panel(&ada, "Bob"), "the sender's name");
    ada.until(|app| {
        app.main().is_some_and(|m| {
            m.conversations()
                .iter()
                .any(|c| c.contact == group && c.last_from.as_deref() == Some(bob_id.as_str()))
        })
    })
    .await;
    assert!(ada.shows("Bob: hi from Bob"));

    // Ada writes; the members' receipts are counted under her bubble.
    post(&mut ada, "hello both").await;
    let mine = ada
        .main()
        .open_conversation()
        .and_then(|c| c.messages().find(|m| m.text == "hello both").cloned())
        .expect("Ada's message is shown");
    ada.until(|app| {
        app.main()
            .and_then(|m| m.receipts().counts(&mine.id))
            .is_some_and(|(have, _)| have == 2)
    })
    .await;
    // Bob has the group open, so he may have read it already.
    assert!(shows_starting(&ada, "✓ 2/2"));
    keep_snapshot(&ada, "group-conversation");

    // The members panel: Ada (you, admin), Bob, Cy; Ada removes Cy.
    ada.interact(|ui| {
        ui.click("Members").unwrap();
    })
    .await;
    assert!(ada.main().members_panel().is_some());
    assert!(ada.shows("Members (3)"));
    assert!(ada.shows("you"));
    assert!(ada.shows("admin"));
    assert!(ada.shows("Leave group"));
    keep_snapshot(&ada, "group-members");

    // Ada renames the group. An empty name and one over 64 bytes are
    // refused in the panel, and nothing changes.
    ada.interact(|ui| {
        ui.click("Rename").unwrap();
    })
    .await;
    assert_eq!(
        ada.main().members_panel().and_then(|m| m.rename_error()),
        Some("Give the group a name.")
    );
    let too_long = "x".repeat(65);
    ada.interact(|ui| {
        ui.click(selector::id("group-rename")).unwrap();
        ui.typewrite(&too_long);
        ui.click("Rename").unwrap();
    })
    .await;
    assert_eq!(
        ada.main().members_panel().and_then(|m| m.rename_error()),
        Some("At most 64 bytes; this name has 65.")
    );
    assert!(ada.shows("At most 64 bytes; this name has 65."));
    assert_eq!(ada.main().groups()[&group].name, "Friends");
    // She replaces it with a good one and presses Enter: her header shows
    // it at once, her sidebar once the node announces it.
    ada.interact(|ui| {
        ui.click(selector::id("group-rename")).unwrap();
        select_all(ui);
        ui.typewrite("Book club");
        ui.tap_key(Key::Named(Named::Enter));
    })
    .await;
    assert_eq!(
        ada.main().members_panel().and_then(|m| m.rename_error()),
        None
    );
    assert_eq!(ada.main().groups()[&group].name, "Book club");
    assert!(shows_in_panel(&ada, "Book club"), "the header");
    ada.until(|app| {
        app.main()
            .is_some_and(|m| m.conversations().iter().any(|c| c.title == "Book club"))
    })
    .await;
    assert!(listed_as(&ada, &group, "Book club"));
    assert!(!ada.shows("Friends"), "the old name is gone");
    keep_snapshot(&ada, "group-renamed");
    // Every member is told: Cy's node, and Bob's window (its sidebar and
    // the open conversation's header).
    next(&mut cy_events, |e| {
        matches!(e, NodeEvent::GroupRenamed { group: g, name } if *g == group && name == "Book club")
    })
    .await;
    bob.until(|app| {
        app.main().is_some_and(|m| {
            m.groups()
                .get(&group)
                .is_some_and(|g| g.name == "Book club")
                && m.conversations().iter().any(|c| c.title == "Book club")
        })
    })
    .await;
    assert!(listed_as(&bob, &group, "Book club"));
    assert!(shows_in_panel(&bob, "Book club"), "Bob's header");
    assert!(!bob.shows("Friends"));
    // Bob is no admin: his members panel has no rename.
    bob.interact(|ui| {
        ui.click("Members").unwrap();
    })
    .await;
    assert!(bob.main().members_panel().is_some());
    assert!(
        !bob.shows("Rename"),
        "a member who is no admin renames nothing"
    );
    assert!(
        simulator(bob.app.view())
            .find(selector::id("group-rename"))
            .is_err()
    );

    // Sorted: Ada first (no Remove for herself), then Bob, then Cy.
    ada.interact(|ui| {
        ui.click(nth("Remove", 2)).unwrap();
    })
    .await;
    assert_eq!(ada.main().members_panel().and_then(|m| m.error()), None);
    let members = &ada.main().groups()[&group].members;
    assert_eq!(members.len(), 2);
    assert!(!members.contains(&cy_id));
    assert!(ada.shows("Members (2)"));
    next(&mut cy_events, |e| {
        matches!(e, NodeEvent::MemberRemoved { group: g, contact } if *g == group && *contact == cy_id)
    })
    .await;
    // Bob's window follows the removal live.
    bob.until(|app| {
        app.main()
            .and_then(|m| m.groups().get(&group))
            .is_some_and(|g| g.members.len() == 2)
    })
    .await;

    cy.shutdown().await.unwrap();
    ada.stop().await;
    bob.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_reader_has_no_composer_until_promoted_and_leaving_ends_membership() {
    let (ada_home, bob_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut ada = started(ada_home.path(), "Ada").await;
    let mut bob = started(bob_home.path(), "Bob").await;
    let bob_id = befriend_gui(&mut ada, &mut bob).await;

    let channel = create_group(&mut ada, "News", &["Bob"], true).await;
    assert!(has_composer(&ada), "the channel's admin posts");
    assert!(shows_in_panel(&ada, "channel"));

    // Ada posts before Bob looks: the channel's unread message counts in
    // Bob's title.
    post(&mut ada, "first news").await;
    bob.until(|app| {
        app.main().is_some_and(|m| {
            m.conversations()
                .iter()
                .any(|c| c.contact == channel && c.unread == 1)
        })
    })
    .await;
    assert_eq!(bob.app.title(), "Wren (1)");
    assert!(bob.shows("Ada: first news"));

    // Bob reads the channel: no composer, a line saying why.
    open_joined(&mut bob, &channel, "News").await;
    assert!(shows_in_panel(&bob, "first news"));
    assert!(shows_in_panel(&bob, "Ada"), "the admin's name");
    assert_eq!(bob.app.title(), "Wren", "opening it read it");
    assert!(!has_composer(&bob));
    assert!(bob.shows("Only admins can post in this channel."));
    keep_snapshot(&bob, "channel-reader");

    // Bob leaves, after confirming.
    bob.interact(|ui| {
        ui.click("Members").unwrap();
    })
    .await;
    assert!(!bob.shows("Remove"), "a reader removes no one");
    assert!(!bob.shows("Make admin"), "nor promotes anyone");

    // Ada makes Bob an admin in her members panel: his admin mark appears,
    // and Bob's window gives him a composer.
    ada.interact(|ui| {
        ui.click("Members").unwrap();
    })
    .await;
    assert!(
        simulator(ada.app.view()).find(nth("admin", 2)).is_err(),
        "only Ada is marked"
    );
    keep_snapshot(&ada, "channel-make-admin");
    ada.interact(|ui| {
        ui.click("Make admin").unwrap();
    })
    .await;
    assert_eq!(ada.main().members_panel().and_then(|m| m.error()), None);
    assert!(ada.main().groups()[&channel].admins.contains(&bob_id));
    assert!(
        simulator(ada.app.view()).find(nth("admin", 2)).is_ok(),
        "Bob's admin mark"
    );
    assert!(!ada.shows("Make admin"), "both are admins now");
    keep_snapshot(&ada, "channel-promoted");
    bob.until(|app| {
        app.main()
            .and_then(|m| m.groups().get(&channel))
            .is_some_and(|g| g.admins.contains(&bob_id))
    })
    .await;
    assert!(has_composer(&bob), "a promoted reader posts");
    assert!(!bob.shows("Only admins can post in this channel."));
    assert!(
        simulator(bob.app.view()).find(nth("admin", 2)).is_ok(),
        "Bob's panel marks him too"
    );
    post(&mut bob, "news from Bob").await;
    until_shown(&mut ada, "news from Bob", &bob_id).await;
    bob.interact(|ui| {
        ui.click("Leave group").unwrap();
    })
    .await;
    assert!(bob.shows("Stay"), "leaving asks first");
    bob.interact(|ui| {
        ui.click("Leave").unwrap();
    })
    .await;
    bob.until(|app| {
        app.main()
            .and_then(|m| m.groups().get(&channel))
            .is_some_and(|g| !g.member)
    })
    .await;
    assert!(bob.shows("You are no longer a member of this group."));
    assert!(!has_composer(&bob));
    assert!(bob.shows("left"), "the sidebar marks the group");
    keep_snapshot(&bob, "channel-left");

    // Ada's member list follows.
    ada.until(|app| {
        app.main()
            .and_then(|m| m.groups().get(&channel))
            .is_some_and(|g| !g.members.contains(&bob_id))
    })
    .await;
    ada.stop().await;
    bob.stop().await;
}
