//! Settings: the display name, relays, listen addresses, notifications
//! and the theme.
//!
//! The name and the relays live in the node (changed through wren-core);
//! listen addresses, notifications and the theme are the desktop's own
//! settings ([`Preferences`], `desktop.toml` in the profile home).

use std::path::PathBuf;

use iced::widget::text::Wrapping;
use iced::widget::{button, checkbox, column, container, radio, row, scrollable, text, text_input};
use iced::{Alignment, Element, Length, Task};
use wren_core::{Identity, Node, NodeEvent, RelayInfo, RelayState};

use crate::preferences::{self, Preferences, ThemeChoice};
use crate::theme;

/// The settings panel.
#[derive(Debug)]
pub struct Settings {
    node: Node,
    home: PathBuf,
    /// Whether `--listen` on the command line overrides the addresses here.
    listen_overridden: bool,
    preferences: Preferences,
    name: String,
    name_status: Option<Result<String, String>>,
    relays: Vec<RelayInfo>,
    relay_input: String,
    relay_busy: bool,
    relay_error: Option<String>,
    listen_input: String,
    listen_status: Option<Result<String, String>>,
    listening: Vec<String>,
    save_error: Option<String>,
}

/// The panel's input.
#[derive(Debug, Clone)]
pub enum Message {
    /// The name field changed.
    NameInput(String),
    /// Save the name.
    SaveName,
    /// The node took the new name (or refused it).
    NameSaved(Result<Identity, String>),
    /// The relays were (re)read.
    Relays(Result<Vec<RelayInfo>, String>),
    /// The relay field changed.
    RelayInput(String),
    /// Add the relay in the field.
    AddRelay,
    /// The relay was added (or not).
    RelayAdded(Result<RelayInfo, String>),
    /// Remove this relay (peer id).
    RemoveRelay(String),
    /// The relay was removed (or not).
    RelayRemoved(Result<bool, String>),
    /// The listen addresses field changed.
    ListenInput(String),
    /// Save the listen addresses.
    SaveListen,
    /// The addresses the node listens on now.
    Listening(Result<Vec<String>, String>),
    /// Notifications on or off.
    Notifications(bool),
    /// A theme was picked.
    Theme(ThemeChoice),
    /// The settings file was written (or not).
    Saved(Result<(), String>),
}

/// What the main screen must act on.
#[derive(Debug, Clone)]
pub enum Event {
    /// The display name changed.
    NameChanged(Identity),
}

impl Settings {
    /// The panel for `node`, with the desktop settings read from `home`.
    pub fn new(
        node: Node,
        identity: &Identity,
        home: PathBuf,
        preferences: Preferences,
        listen_overridden: bool,
    ) -> Self {
        Self {
            node,
            home,
            listen_overridden,
            listen_input: preferences.listen.join(" "),
            preferences,
            name: identity.name.clone(),
            name_status: None,
            relays: Vec::new(),
            relay_input: String::new(),
            relay_busy: false,
            relay_error: None,
            listen_status: None,
            listening: Vec::new(),
            save_error: None,
        }
    }

    /// The desktop settings now.
    pub fn preferences(&self) -> &Preferences {
        &self.preferences
    }

    /// Our relays, as last read.
    pub fn relays(&self) -> &[RelayInfo] {
        &self.relays
    }

    /// Re-reads what the panel shows from the node (when it opens).
    pub fn refresh(&self) -> Task<Message> {
        Task::batch([self.reload_relays(), self.reload_listening()])
    }

    fn reload_relays(&self) -> Task<Message> {
        let node = self.node.clone();
        Task::perform(
            async move { node.relays().await.map_err(|e| e.to_string()) },
            Message::Relays,
        )
    }

    fn reload_listening(&self) -> Task<Message> {
        let node = self.node.clone();
        Task::perform(
            async move {
                node.listen_addrs()
                    .await
                    .map(|addrs| addrs.iter().map(ToString::to_string).collect())
                    .map_err(|e| e.to_string())
            },
            Message::Listening,
        )
    }

    /// A node event: relay states and listen addresses are shown live.
    pub fn on_event(&self, event: &NodeEvent) -> Task<Message> {
        match event {
            NodeEvent::RelayReserved { .. } | NodeEvent::RelayLost { .. } => self.reload_relays(),
            NodeEvent::Listening { .. } => self.reload_listening(),
            _ => Task::none(),
        }
    }

    /// Writes the desktop settings off the GUI thread.
    fn save(&self) -> Task<Message> {
        let preferences = self.preferences.clone();
        let home = self.home.clone();
        Task::perform(
            async move {
                tokio::task::spawn_blocking(move || {
                    preferences.save(&home).map_err(|e| e.to_string())
                })
                .await
                .map_err(|e| e.to_string())?
            },
            Message::Saved,
        )
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> (Task<Message>, Option<Event>) {
        match message {
            Message::NameInput(name) => {
                self.name = name;
                self.name_status = None;
            }
            Message::SaveName => {
                let node = self.node.clone();
                let name = self.name.trim().to_owned();
                return (
                    Task::perform(
                        async move { node.set_name(&name).await.map_err(|e| e.to_string()) },
                        Message::NameSaved,
                    ),
                    None,
                );
            }
            Message::NameSaved(Ok(identity)) => {
                self.name = identity.name.clone();
                self.name_status = Some(Ok("Saved: your contacts will see this name.".into()));
                return (Task::none(), Some(Event::NameChanged(identity)));
            }
            Message::NameSaved(Err(error)) => self.name_status = Some(Err(error)),
            Message::Relays(Ok(relays)) => self.relays = relays,
            Message::Relays(Err(error)) => self.relay_error = Some(error),
            Message::RelayInput(input) => {
                self.relay_input = input;
                self.relay_error = None;
            }
            Message::AddRelay => {
                let relay = self.relay_input.trim().to_owned();
                if relay.is_empty() || self.relay_busy {
                    return (Task::none(), None);
                }
                self.relay_busy = true;
                let node = self.node.clone();
                return (
                    Task::perform(
                        async move { node.add_relay(&relay).await.map_err(|e| e.to_string()) },
                        Message::RelayAdded,
                    ),
                    None,
                );
            }
            Message::RelayAdded(result) => {
                self.relay_busy = false;
                match result {
                    Ok(_) => {
                        self.relay_input.clear();
                        self.relay_error = None;
                        return (self.reload_relays(), None);
                    }
                    Err(error) => self.relay_error = Some(error),
                }
            }
            Message::RemoveRelay(peer_id) => {
                let node = self.node.clone();
                return (
                    Task::perform(
                        async move { node.remove_relay(&peer_id).await.map_err(|e| e.to_string()) },
                        Message::RelayRemoved,
                    ),
                    None,
                );
            }
            Message::RelayRemoved(Ok(_)) => return (self.reload_relays(), None),
            Message::RelayRemoved(Err(error)) => self.relay_error = Some(error),
            Message::ListenInput(input) => {
                self.listen_input = input;
                self.listen_status = None;
            }
            Message::SaveListen => match preferences::parse_listen(&self.listen_input) {
                Ok(listen) => {
                    self.listen_input = listen.join(" ");
                    self.preferences.listen = listen;
                    self.listen_status = Some(Ok("Saved: used from the next start.".into()));
                    return (self.save(), None);
                }
                Err(error) => self.listen_status = Some(Err(error)),
            },
            Message::Listening(Ok(addrs)) => self.listening = addrs,
            Message::Listening(Err(_)) => {}
            Message::Notifications(on) => {
                self.preferences.notifications = on;
                return (self.save(), None);
            }
            Message::Theme(choice) => {
                self.preferences.theme = choice;
                return (self.save(), None);
            }
            Message::Saved(result) => self.save_error = result.err(),
        }
        (Task::none(), None)
    }

    /// The panel.
    pub fn view(&self) -> Element<'_, Message> {
        let mut panel = column![text("Settings").size(22)].spacing(18);

        // Display name.
        let mut name = column![
            section("Display name", "The name your contacts see."),
            row![
                text_input("Display name", &self.name)
                    .id("settings-name")
                    .on_input(Message::NameInput)
                    .on_submit(Message::SaveName)
                    .padding(8),
                button(text("Save name")).on_press(Message::SaveName),
            ]
            .spacing(8)
            .align_y(Alignment::Center),
        ]
        .spacing(6);
        name = name.push(status(self.name_status.as_ref()));
        panel = panel.push(name);

        // Relays.
        let mut relays = column![section(
            "Relays",
            "Relays let contacts reach you behind NAT and keep messages while you are offline.",
        )]
        .spacing(6);
        if self.relays.is_empty() {
            relays = relays.push(text("No relays.").style(theme::muted));
        }
        for relay in &self.relays {
            relays = relays.push(relay_row(relay));
        }
        let mut add = button(text("Add relay"));
        if !self.relay_busy {
            add = add.on_press(Message::AddRelay);
        }
        relays = relays.push(
            row![
                text_input("Relay code (wren-relay:1/…) or address", &self.relay_input)
                    .id("relay-code")
                    .on_input(Message::RelayInput)
                    .on_submit(Message::AddRelay)
                    .padding(8),
                add,
            ]
            .spacing(8)
            .align_y(Alignment::Center),
        );
        if let Some(error) = &self.relay_error {
            relays = relays.push(text(error).style(theme::danger));
        }
        panel = panel.push(relays);

        // Listen addresses.
        let mut listen = column![
            section(
                "Listen addresses",
                "Multiaddrs separated by spaces, e.g. /ip4/0.0.0.0/tcp/4001. Empty: the \
                 defaults. Changes apply at the next start.",
            ),
            row![
                text_input("/ip4/0.0.0.0/tcp/4001", &self.listen_input)
                    .id("listen")
                    .on_input(Message::ListenInput)
                    .on_submit(Message::SaveListen)
                    .padding(8),
                button(text("Save addresses")).on_press(Message::SaveListen),
            ]
            .spacing(8)
            .align_y(Alignment::Center),
        ]
        .spacing(6);
        if self.listen_overridden {
            listen = listen.push(
                text("--listen on the command line overrides these for this run.")
                    .size(12)
                    .style(theme::muted),
            );
        }
        listen = listen.push(status(self.listen_status.as_ref()));
        if !self.listening.is_empty() {
            listen = listen.push(
                text(format!("Listening now on: {}", self.listening.join(", ")))
                    .size(11)
                    .wrapping(Wrapping::WordOrGlyph)
                    .style(theme::muted),
            );
        }
        panel = panel.push(listen);

        // Notifications.
        panel = panel.push(
            column![
                section("Notifications", ""),
                checkbox(self.preferences.notifications)
                    .label("Notify me of new messages while Wren is in the background")
                    .on_toggle(Message::Notifications),
            ]
            .spacing(6),
        );

        // Theme.
        let mut themes = row![].spacing(16);
        for choice in ThemeChoice::ALL {
            themes = themes.push(radio(
                choice.to_string(),
                choice,
                Some(self.preferences.theme),
                Message::Theme,
            ));
        }
        panel = panel.push(column![section("Theme", ""), themes].spacing(6));

        if let Some(error) = &self.save_error {
            panel = panel.push(
                text(format!("The settings could not be saved: {error}")).style(theme::danger),
            );
        }
        scrollable(container(panel).padding(20).max_width(720))
            .height(Length::Fill)
            .into()
    }
}

fn section<'a>(title: &'a str, hint: &'a str) -> Element<'a, Message> {
    let mut section = column![text(title).size(16)].spacing(2);
    if !hint.is_empty() {
        section = section.push(text(hint).size(12).style(theme::muted));
    }
    section.into()
}

fn status(status: Option<&Result<String, String>>) -> Element<'_, Message> {
    match status {
        Some(Ok(note)) => text(note).size(12).style(theme::muted).into(),
        Some(Err(error)) => text(error).size(12).style(theme::danger).into(),
        None => column![].into(),
    }
}

/// A relay: its state, peer id and address, and *Remove*.
fn relay_row(relay: &RelayInfo) -> Element<'_, Message> {
    let state = match relay.state {
        RelayState::Reserved => "● reserved",
        RelayState::BackingOff => "⚠ unreachable, retrying",
        _ => "◌ connecting",
    };
    let mut details = column![
        text(state).size(12).style(theme::relay_state(relay.state)),
        text(&relay.address)
            .size(11)
            .wrapping(Wrapping::WordOrGlyph)
            .style(theme::muted),
    ]
    .spacing(2)
    .width(Length::Fill);
    if relay.state == RelayState::BackingOff
        && let Some(detail) = &relay.detail
    {
        details = details.push(
            text(short_detail(detail))
                .size(11)
                .wrapping(Wrapping::WordOrGlyph)
                .style(theme::muted),
        );
    }
    container(
        row![
            details,
            button(text("Remove").size(12))
                .style(button::secondary)
                .on_press(Message::RemoveRelay(relay.peer_id.clone())),
        ]
        .spacing(8)
        .align_y(Alignment::Center),
    )
    .padding(8)
    .style(theme::card)
    .width(Length::Fill)
    .into()
}

/// Most characters of a relay's last error shown.
const DETAIL_CHARS: usize = 160;

/// A relay's last error on one line, cut to [`DETAIL_CHARS`] (libp2p's
/// dial errors list every attempt over several lines).
pub fn short_detail(detail: &str) -> String {
    let flat = detail.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > DETAIL_CHARS {
        let mut cut: String = flat.chars().take(DETAIL_CHARS).collect();
        cut.push('…');
        cut
    } else {
        flat
    }
}
