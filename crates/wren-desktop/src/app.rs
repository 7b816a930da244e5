//! The application: a state machine from loading to the main window.
//!
//! Loading opens the node with its key file. A home without an identity
//! goes to [`FirstRun`]; a store protected by a passphrase goes to
//! [`Unlock`]; an open node goes to [`Main`].
//!
//! The app also tracks whether its window is focused: a message arriving
//! while it is not (and notifications are on) is announced with a desktop
//! notification. The window title carries the unread total.

use iced::{Element, Subscription, Task, Theme};
use wren_core::{Identity, Node, NodeError, NodeEvent, StoreError, Unlock as StoreUnlock};

use crate::config::Config;
use crate::events::EventSource;
use crate::notify::{self, Notification};
use crate::preferences::Preferences;
use crate::probe::{self, Probe};
use crate::screen::first_run::{self, FirstRun};
use crate::screen::main::{self, Main};
use crate::screen::unlock::{self, Unlock};
use crate::theme;

/// The application state.
#[derive(Debug)]
pub struct App {
    config: Config,
    /// The desktop settings read at start (the settings panel holds the
    /// current ones once the main screen is up).
    preferences: Preferences,
    state: State,
    /// The start-up probe of the benchmarks, when switched on.
    probe: Option<Probe>,
    focused: bool,
    notifications_shown: u64,
}

/// Where the application stands.
#[derive(Debug)]
pub enum State {
    /// Opening the node.
    Loading,
    /// No identity yet.
    FirstRun(FirstRun),
    /// The store asks for its passphrase.
    Unlock(Unlock),
    /// The main window.
    Main(Box<Main>),
    /// The node could not be opened.
    Failed(String),
}

/// A node that opened, with its event source.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The node handle.
    pub node: Node,
    /// Its identity.
    pub identity: Identity,
    /// Its events, for the subscription.
    pub events: EventSource,
}

/// Why opening the node failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// The home has no identity yet.
    NotInitialised,
    /// The store is protected by a passphrase.
    NeedsPassphrase,
    /// The passphrase does not unlock the store.
    WrongPassphrase,
    /// Anything else (the error's text).
    Failed(String),
}

/// The application's messages.
#[derive(Debug, Clone)]
pub enum Message {
    /// The node opened (or did not).
    Opened(Result<Opened, OpenError>),
    /// The first-run screen.
    FirstRun(first_run::Message),
    /// The unlock screen.
    Unlock(unlock::Message),
    /// The main screen.
    Main(main::Message),
    /// The user asked to close the window: stop the node, then exit.
    CloseRequested,
    /// A frame was drawn (its redraw began at this instant); only
    /// subscribed to while the start-up probe runs.
    Frame(std::time::Instant),
    /// The window gained (`true`) or lost (`false`) the focus.
    Focus(bool),
    /// A desktop notification was shown (or could not be).
    Notified(bool),
}

impl App {
    /// The app for `config`, and the task that opens its node.
    pub fn new(config: Config) -> (Self, Task<Message>) {
        // A small file, read once before the window opens; a broken one
        // gives the defaults with a warning.
        let preferences = Preferences::load(&config.home);
        let task = open(&config, &preferences, StoreUnlock::KeyFile);
        (
            Self {
                config,
                preferences,
                state: State::Loading,
                probe: Probe::from_env(),
                focused: true,
                notifications_shown: 0,
            },
            task,
        )
    }

    /// Where the app stands.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The main screen, once the node is open.
    pub fn main(&self) -> Option<&Main> {
        match &self.state {
            State::Main(main) => Some(main),
            _ => None,
        }
    }

    /// The desktop settings now.
    pub fn preferences(&self) -> &Preferences {
        match &self.state {
            State::Main(main) => main.preferences(),
            _ => &self.preferences,
        }
    }

    /// Whether the window has the focus (as last reported).
    pub fn focused(&self) -> bool {
        self.focused
    }

    /// Desktop notifications shown so far.
    pub fn notifications_shown(&self) -> u64 {
        self.notifications_shown
    }

    /// The window title: "Wren", or "Wren (N)" with N unread messages.
    pub fn title(&self) -> String {
        match &self.state {
            State::Main(main) if main.unread_total() > 0 => {
                format!("Wren ({})", main.unread_total())
            }
            _ => "Wren".into(),
        }
    }

    /// The theme: `None` follows the system's light/dark preference.
    pub fn theme(&self) -> Option<Theme> {
        theme::theme(self.preferences().theme)
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Opened(Ok(opened)) => {
                let (main, task) = Main::new(
                    opened.node,
                    opened.identity,
                    opened.events,
                    self.config.home.clone(),
                    self.preferences.clone(),
                    !self.config.listen.is_empty(),
                );
                self.state = State::Main(Box::new(main));
                task.map(Message::Main)
            }
            Message::Opened(Err(error)) => {
                match (&mut self.state, error) {
                    (State::Unlock(unlock), error) => unlock.failed(describe(&error)),
                    (_, OpenError::NotInitialised) => {
                        self.state = State::FirstRun(FirstRun::default());
                    }
                    (_, OpenError::NeedsPassphrase | OpenError::WrongPassphrase) => {
                        self.state = State::Unlock(Unlock::default());
                    }
                    (_, OpenError::Failed(error)) => self.state = State::Failed(error),
                }
                Task::none()
            }
            Message::FirstRun(message) => {
                let State::FirstRun(first_run) = &mut self.state else {
                    return Task::none();
                };
                let (task, event) = first_run.update(message, &self.config);
                let task = task.map(Message::FirstRun);
                match event {
                    Some(first_run::Event::Created { passphrase }) => {
                        let unlock =
                            passphrase.map_or(StoreUnlock::KeyFile, StoreUnlock::passphrase);
                        Task::batch([task, open(&self.config, &self.preferences, unlock)])
                    }
                    None => task,
                }
            }
            Message::Unlock(message) => {
                let State::Unlock(unlock) = &mut self.state else {
                    return Task::none();
                };
                match unlock.update(message) {
                    Some(unlock::Event::Submit(passphrase)) => open(
                        &self.config,
                        &self.preferences,
                        StoreUnlock::passphrase(passphrase),
                    ),
                    None => Task::none(),
                }
            }
            Message::CloseRequested => match &self.state {
                State::Main(main) => {
                    let node = main.node().clone();
                    Task::future(async move { node.shutdown().await }).then(|_| iced::exit())
                }
                _ => iced::exit(),
            },
            Message::Frame(at) => {
                let main = match &self.state {
                    State::Main(main) => Some(main.as_ref()),
                    _ => None,
                };
                let step = self
                    .probe
                    .as_mut()
                    .map_or(probe::Step::Wait, |probe| probe.frame(at, main));
                match step {
                    probe::Step::Wait => Task::none(),
                    // Handled in this update, as a click on the conversation
                    // would be (a task would wait for the next redraw).
                    probe::Step::Open(contact) => {
                        self.update(Message::Main(main::Message::Select(contact)))
                    }
                    probe::Step::Close => Task::done(Message::CloseRequested),
                }
            }
            Message::Focus(focused) => {
                self.focused = focused;
                Task::none()
            }
            Message::Notified(shown) => {
                if shown {
                    self.notifications_shown += 1;
                }
                Task::none()
            }
            Message::Main(message) => {
                let State::Main(main) = &mut self.state else {
                    return Task::none();
                };
                let notification = match &message {
                    main::Message::Node(NodeEvent::MessageReceived {
                        from,
                        alias,
                        text,
                        group,
                        ..
                    }) if !self.focused && main.preferences().notifications => {
                        let sender = alias
                            .clone()
                            .or_else(|| {
                                main.contacts()
                                    .get(from)
                                    .map(|c| c.name.clone())
                                    .filter(|name| !name.is_empty())
                            })
                            .unwrap_or_else(|| match group {
                                Some(_) => crate::format::short_peer(from),
                                None => "A contact".to_owned(),
                            });
                        // In a group: "Bob in Friends".
                        let sender = match group.as_ref().and_then(|g| main.groups().get(g)) {
                            Some(group) => format!("{sender} in {}", group.name),
                            None => sender,
                        };
                        Some(Notification::message(&sender, text))
                    }
                    _ => None,
                };
                let task = main.update(message).map(Message::Main);
                match notification {
                    Some(notification) => Task::batch([
                        task,
                        notify::show(&self.config.notifier, notification, Message::Notified),
                    ]),
                    None => task,
                }
            }
        }
    }

    /// The window's content.
    pub fn view(&self) -> Element<'_, Message> {
        use iced::widget::{center, text};
        if let Some(probe) = &self.probe {
            probe.viewed(self.main());
        }
        match &self.state {
            State::Loading => center(text("Opening Wren…")).into(),
            State::FirstRun(first_run) => first_run.view().map(Message::FirstRun),
            State::Unlock(unlock) => unlock.view().map(Message::Unlock),
            State::Main(main) => main.view().map(Message::Main),
            State::Failed(error) => center(
                text(format!("Wren could not open this profile: {error}")).style(theme::danger),
            )
            .into(),
        }
    }

    /// The node's events while the main screen is open, and the window's
    /// close requests and focus changes.
    pub fn subscription(&self) -> Subscription<Message> {
        let close = iced::window::close_requests().map(|_| Message::CloseRequested);
        let frames = match &self.probe {
            Some(probe) if probe.active() => {
                iced::event::listen_raw(|event, _status, _window| match event {
                    iced::Event::Window(iced::window::Event::RedrawRequested(at))
                        if probe::presented(at) =>
                    {
                        Some(Message::Frame(at))
                    }
                    _ => None,
                })
            }
            _ => Subscription::none(),
        };
        let focus = iced::event::listen_with(|event, _status, _window| match event {
            iced::Event::Window(iced::window::Event::Focused) => Some(Message::Focus(true)),
            iced::Event::Window(iced::window::Event::Unfocused) => Some(Message::Focus(false)),
            _ => None,
        });
        match &self.state {
            State::Main(main) => {
                Subscription::batch([main.subscription().map(Message::Main), close, focus, frames])
            }
            _ => Subscription::batch([close, focus, frames]),
        }
    }
}

/// Opens the node in a task.
fn open(config: &Config, preferences: &Preferences, unlock: StoreUnlock) -> Task<Message> {
    let config = config.node_config(unlock, preferences);
    Task::perform(
        async move {
            let (node, events) = Node::open(config).await.map_err(classify)?;
            let identity = node.identity().await;
            Ok(Opened {
                node,
                identity,
                events: EventSource::new(events),
            })
        },
        Message::Opened,
    )
}

/// Sorts an open error into what the app reacts to.
fn classify(error: NodeError) -> OpenError {
    match error {
        NodeError::NotInitialised => OpenError::NotInitialised,
        NodeError::Store(StoreError::WrongPassphrase) => OpenError::WrongPassphrase,
        NodeError::Store(StoreError::UnlockMismatch {
            expected: "passphrase",
        }) => OpenError::NeedsPassphrase,
        other => OpenError::Failed(other.to_string()),
    }
}

fn describe(error: &OpenError) -> String {
    match error {
        OpenError::NotInitialised => "This profile has no identity.".into(),
        OpenError::NeedsPassphrase => "This profile is protected by a passphrase.".into(),
        OpenError::WrongPassphrase => "Wrong passphrase: nothing was changed.".into(),
        OpenError::Failed(error) => error.clone(),
    }
}
