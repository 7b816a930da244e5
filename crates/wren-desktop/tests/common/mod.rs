//! The harness shared by the simulator tests: the app against a real node
//! on a temporary home, driven through iced's headless simulator. Clicks
//! and key presses become messages, `update` runs them, and the tasks it
//! returns are awaited (their outputs go back into `update`). Node events
//! come through the app's own subscription.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use iced::Task;
use iced_test::futures::subscription::into_recipes;
use iced_test::runtime::{Action, task};
use iced_test::simulator;
use wren_core::NodeEvent;
use wren_desktop::screen::main as main_screen;
use wren_desktop::{App, Config, Message};

/// A safety net only: every wait below ends on an event, not a clock.
pub(crate) const LIMIT: Duration = Duration::from_secs(60);

pub(crate) async fn guard<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, future)
        .await
        .expect("the GUI did not get there in time")
}

pub(crate) fn config(home: &Path) -> Config {
    let mut config = Config::new(home);
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.mdns = false;
    config
}

/// An app under test with the node events it subscribed to.
pub(crate) struct Gui {
    /// The app under test.
    pub(crate) app: App,
    events: Option<BoxStream<'static, Message>>,
}

impl Gui {
    /// Opens the app for `home` with [`config`].
    pub(crate) async fn start(home: &Path) -> Gui {
        Gui::open(config(home)).await
    }

    /// Opens the app for `config` and settles what its start leads to.
    pub(crate) async fn open(config: Config) -> Gui {
        let (app, boot) = App::new(config);
        let mut gui = Gui { app, events: None };
        gui.settle(boot).await;
        gui
    }

    /// Runs `task` and everything its messages lead to.
    pub(crate) async fn settle(&mut self, task: Task<Message>) {
        let mut queue = vec![task];
        while let Some(task) = queue.pop() {
            let Some(mut stream) = task::into_stream(task) else {
                continue;
            };
            while let Some(action) = guard(stream.next()).await {
                if let Action::Output(message) = action {
                    queue.push(self.app.update(message));
                }
            }
        }
        self.subscribe();
    }

    /// Feeds `message` to the app and settles what follows.
    pub(crate) async fn send(&mut self, message: Message) {
        let task = self.app.update(message);
        self.settle(task).await;
    }

    /// Takes the node's event stream from the app's subscription once the
    /// main screen is up.
    fn subscribe(&mut self) {
        if self.events.is_some() || self.app.main().is_none() {
            return;
        }
        let recipes = into_recipes(self.app.subscription());
        let streams: Vec<_> = recipes
            .into_iter()
            .map(|recipe| recipe.stream(futures::stream::pending().boxed()))
            .collect();
        self.events = Some(futures::stream::select_all(streams).boxed());
    }

    /// Processes node events until `done` holds.
    pub(crate) async fn until(&mut self, mut done: impl FnMut(&App) -> bool) {
        guard(async {
            while !done(&self.app) {
                let message = self
                    .events
                    .as_mut()
                    .expect("subscribed")
                    .next()
                    .await
                    .expect("the node's events ended");
                self.send(message).await;
            }
        })
        .await;
    }

    /// Processes node events until one matches `pick`.
    pub(crate) async fn until_event(&mut self, mut pick: impl FnMut(&NodeEvent) -> bool) {
        guard(async {
            loop {
                let message = self
                    .events
                    .as_mut()
                    .expect("subscribed")
                    .next()
                    .await
                    .expect("the node's events ended");
                let hit =
                    matches!(&message, Message::Main(main_screen::Message::Node(event)) if pick(event));
                self.send(message).await;
                if hit {
                    return;
                }
            }
        })
        .await;
    }

    /// Interacts with the current view and runs the resulting messages.
    pub(crate) async fn interact(
        &mut self,
        act: impl FnOnce(&mut iced_test::Simulator<'_, Message>),
    ) {
        let messages: Vec<Message> = {
            let mut ui = simulator(self.app.view());
            act(&mut ui);
            ui.into_messages().collect()
        };
        for message in messages {
            self.send(message).await;
        }
    }

    /// Whether the current view shows `text`.
    pub(crate) fn shows(&self, text: &str) -> bool {
        simulator(self.app.view()).find(text).is_ok()
    }

    pub(crate) fn main(&self) -> &main_screen::Main {
        self.app.main().expect("the main screen")
    }

    pub(crate) async fn stop(self) {
        if let Some(main) = self.app.main() {
            main.node().shutdown().await.unwrap();
        }
    }
}
