//! The settings panel, the window title and desktop notifications, driven
//! through iced's headless simulator against real nodes on temporary
//! homes (the same harness as `gui.rs`: every wait ends on an event).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use common::Gui;
use iced_test::selector;
use wren_core::{Node, NodeConfig, NodeEvent, Unlock};
use wren_desktop::Message;
use wren_desktop::notify::{Notification, Notifier};
use wren_desktop::preferences::{Preferences, ThemeChoice};
use wren_desktop::screen::main::{self as main_screen, Panel, settings};

/// Records the notifications the app asks for (no D-Bus needed).
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<Notification>>);

impl Notifier for Recorder {
    fn show(&self, notification: &Notification) -> Result<(), String> {
        self.0.lock().unwrap().push(notification.clone());
        Ok(())
    }
}

impl Recorder {
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// Opens `home` (which has an identity) with `notifier` standing in for
/// D-Bus, and waits until it listens.
async fn start(home: &Path, notifier: Arc<Recorder>) -> Gui {
    let mut config = common::config(home);
    config.notifier = notifier;
    let mut gui = Gui::open(config).await;
    assert!(gui.app.main().is_some(), "opens into the main window");
    gui.until_event(|event| matches!(event, NodeEvent::Listening { .. }))
        .await;
    gui
}

async fn started(home: &Path, name: &str) -> Gui {
    Node::init(home, name, Unlock::KeyFile).await.unwrap();
    start(home, Arc::new(Recorder::default())).await
}

async fn open_settings(gui: &mut Gui) {
    gui.interact(|ui| {
        ui.click("Settings").unwrap();
    })
    .await;
    assert_eq!(gui.main().panel(), Panel::Settings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_display_name() {
    let home = tempfile::tempdir().unwrap();
    let mut gui = started(home.path(), "Ada").await;
    open_settings(&mut gui).await;
    assert!(gui.shows("Display name"));

    // A blank name is refused inline and changes nothing.
    gui.send(Message::Main(main_screen::Message::Settings(
        settings::Message::NameInput("   ".into()),
    )))
    .await;
    gui.interact(|ui| {
        ui.click("Save name").unwrap();
    })
    .await;
    assert!(gui.shows("invalid argument: display name (1 to 64 bytes, no control characters)"));
    assert_eq!(gui.main().node().identity().await.name, "Ada");

    gui.send(Message::Main(main_screen::Message::Settings(
        settings::Message::NameInput("Ada".into()),
    )))
    .await;
    gui.interact(|ui| {
        ui.click(selector::id("settings-name")).unwrap();
        ui.typewrite(" Lovelace");
        ui.click("Save name").unwrap();
    })
    .await;
    assert_eq!(gui.main().node().identity().await.name, "Ada Lovelace");
    assert_eq!(gui.main().identity().name, "Ada Lovelace");
    assert!(gui.shows("Saved: your contacts will see this name."));

    // A new pairing code carries it: another node adding it sees the name.
    let code = gui.main().my_code().code().unwrap().to_owned();
    let other = tempfile::tempdir().unwrap();
    Node::init(other.path(), "Cy", Unlock::KeyFile)
        .await
        .unwrap();
    let mut config = NodeConfig::new(other.path());
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.mdns = false;
    let (cy, _events) = Node::open(config).await.unwrap();
    assert_eq!(
        cy.add_contact(&code, None).await.unwrap().name,
        "Ada Lovelace"
    );
    cy.shutdown().await.unwrap();
    gui.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_and_removing_a_relay() {
    let home = tempfile::tempdir().unwrap();
    let mut gui = started(home.path(), "Ada").await;
    open_settings(&mut gui).await;
    assert!(gui.shows("No relays."));

    // Garbage is refused inline.
    gui.interact(|ui| {
        ui.click(selector::id("relay-code")).unwrap();
        ui.typewrite("not a relay");
        ui.click("Add relay").unwrap();
    })
    .await;
    assert!(gui.main().settings().relays().is_empty());
    assert!(
        gui.shows("invalid relay: not a relay code (wren-relay:1/…) nor an address (/ip4/…/p2p/…)")
    );

    // A relay that is not running can be added (it is retried).
    let relay = wren_net::Keypair::ed25519_from_bytes([7; 32])
        .unwrap()
        .public()
        .to_peer_id();
    let code = wren_net::RelayCode::new(relay, vec!["/ip4/127.0.0.1/tcp/9".parse().unwrap()])
        .unwrap()
        .to_string();
    gui.send(Message::Main(main_screen::Message::Settings(
        settings::Message::RelayInput(String::new()),
    )))
    .await;
    gui.interact(|ui| {
        ui.click(selector::id("relay-code")).unwrap();
        ui.typewrite(&code);
        ui.click("Add relay").unwrap();
    })
    .await;
    let relays = gui.main().settings().relays();
    assert_eq!(relays.len(), 1);
    assert_eq!(relays[0].peer_id, relay.to_string());
    assert!(gui.shows("/ip4/127.0.0.1/tcp/9/p2p/12D3KooW") || gui.shows(&relays[0].address));
    assert_eq!(gui.main().node().relays().await.unwrap().len(), 1);

    // Its failure to connect shows up live.
    let relay_id = relay.to_string();
    gui.until_event(
        |event| matches!(event, NodeEvent::RelayLost { relay, .. } if *relay == relay_id),
    )
    .await;
    let shown = &gui.main().settings().relays()[0];
    assert_eq!(shown.state, wren_core::RelayState::BackingOff);
    assert!(gui.shows("⚠ unreachable, retrying"));
    let detail = shown.detail.clone().unwrap_or_default();
    assert!(gui.shows(&settings::short_detail(&detail)));

    gui.interact(|ui| {
        ui.click("Remove").unwrap();
    })
    .await;
    assert!(gui.main().settings().relays().is_empty());
    assert!(gui.main().node().relays().await.unwrap().is_empty());
    assert!(gui.shows("No relays."));
    gui.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_addresses_notifications_and_theme_are_saved() {
    let home = tempfile::tempdir().unwrap();
    let mut gui = started(home.path(), "Ada").await;
    assert_eq!(gui.app.theme(), None, "follows the system by default");
    open_settings(&mut gui).await;
    assert!(gui.shows("--listen on the command line overrides these for this run."));

    gui.interact(|ui| {
        ui.click(selector::id("listen")).unwrap();
        ui.typewrite("/ip4/0.0.0.0/tcp/4001 localhost");
        ui.click("Save addresses").unwrap();
    })
    .await;
    assert!(gui.shows("not a multiaddr: localhost (e.g. /ip4/0.0.0.0/tcp/4001)"));
    assert!(Preferences::read(home.path()).unwrap().listen.is_empty());

    gui.send(Message::Main(main_screen::Message::Settings(
        settings::Message::ListenInput("/ip4/0.0.0.0/tcp/4001".into()),
    )))
    .await;
    gui.interact(|ui| {
        ui.click("Save addresses").unwrap();
        ui.click("Notify me of new messages while Wren is in the background")
            .unwrap();
    })
    .await;
    gui.send(Message::Main(main_screen::Message::Settings(
        settings::Message::Theme(ThemeChoice::Dark),
    )))
    .await;
    assert!(gui.shows("Saved: used from the next start."));
    assert_eq!(gui.app.theme(), Some(iced::Theme::Dark));
    let saved = Preferences::read(home.path()).unwrap();
    assert_eq!(saved.listen, vec!["/ip4/0.0.0.0/tcp/4001"]);
    assert!(!saved.notifications);
    assert_eq!(saved.theme, ThemeChoice::Dark);
    gui.stop().await;

    // The next start reads them back.
    let gui = start(home.path(), Arc::new(Recorder::default())).await;
    assert_eq!(gui.app.preferences(), &saved);
    assert_eq!(gui.app.theme(), Some(iced::Theme::Dark));
    gui.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_title_and_notifications() {
    let (ada_home, bob_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    Node::init(ada_home.path(), "Ada", Unlock::KeyFile)
        .await
        .unwrap();
    let recorder = Arc::new(Recorder::default());
    let mut ada = start(ada_home.path(), Arc::clone(&recorder)).await;
    assert_eq!(ada.app.title(), "Wren");

    // Bob (a plain node) adds Ada; Ada accepts in the GUI.
    Node::init(bob_home.path(), "Bob", Unlock::KeyFile)
        .await
        .unwrap();
    let mut config = NodeConfig::new(bob_home.path());
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.mdns = false;
    let (bob, _bob_events) = Node::open(config).await.unwrap();
    let ada_code = ada.main().my_code().code().unwrap().to_owned();
    bob.add_contact(&ada_code, Some("ada".into()))
        .await
        .unwrap();
    ada.until(|app| app.main().is_some_and(|m| !m.requests().is_empty()))
        .await;
    ada.interact(|ui| {
        ui.click("Requests (1)").unwrap();
    })
    .await;
    ada.interact(|ui| {
        ui.click("Accept").unwrap();
    })
    .await;
    let bob_id = bob.identity().await.peer_id;
    let received = |bob_id: &String| {
        let bob_id = bob_id.clone();
        move |event: &NodeEvent| matches!(event, NodeEvent::MessageReceived { from, .. } if *from == bob_id)
    };

    // Unfocused: the message is announced, and the title counts it.
    ada.send(Message::Focus(false)).await;
    bob.send_text("ada", "hello Ada, are you there?")
        .await
        .unwrap();
    ada.until_event(received(&bob_id)).await;
    ada.until(|app| app.main().is_some_and(|m| m.unread_total() == 1))
        .await;
    assert_eq!(ada.app.title(), "Wren (1)");
    assert_eq!(
        recorder.0.lock().unwrap().as_slice(),
        [Notification::message("Bob", "hello Ada, are you there?")]
    );
    assert_eq!(ada.app.notifications_shown(), 1);

    // Focused: counted, not announced.
    ada.send(Message::Focus(true)).await;
    bob.send_text("ada", "second").await.unwrap();
    ada.until_event(received(&bob_id)).await;
    ada.until(|app| app.main().is_some_and(|m| m.unread_total() == 2))
        .await;
    assert_eq!(ada.app.title(), "Wren (2)");
    assert_eq!(recorder.count(), 1);

    // Switched off: not announced even while unfocused.
    open_settings(&mut ada).await;
    ada.interact(|ui| {
        ui.click("Notify me of new messages while Wren is in the background")
            .unwrap();
    })
    .await;
    assert!(!ada.app.preferences().notifications);
    ada.send(Message::Focus(false)).await;
    bob.send_text("ada", "third").await.unwrap();
    ada.until_event(received(&bob_id)).await;
    ada.until(|app| app.main().is_some_and(|m| m.unread_total() == 3))
        .await;
    assert_eq!(ada.app.title(), "Wren (3)");
    assert_eq!(recorder.count(), 1);

    // Opening the conversation reads it: the title drops the count.
    ada.interact(|ui| {
        ui.click("Bob").unwrap();
    })
    .await;
    assert_eq!(ada.app.title(), "Wren");

    bob.shutdown().await.unwrap();
    ada.stop().await;
}
