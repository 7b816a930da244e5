//! First run: choose a display name and, optionally, a passphrase.

use iced::widget::{button, column, text, text_input};
use iced::{Element, Task};
use wren_core::{Node, Unlock};

use crate::config::Config;
use crate::theme;

/// The first-run form.
#[derive(Debug, Default)]
pub struct FirstRun {
    name: String,
    passphrase: String,
    busy: bool,
    error: Option<String>,
}

/// The form's input.
#[derive(Debug, Clone)]
pub enum Message {
    /// The name field changed.
    NameChanged(String),
    /// The passphrase field changed.
    PassphraseChanged(String),
    /// Create the identity.
    Create,
    /// The identity was created (or not).
    Created(Result<(), String>),
}

/// What the parent should do.
#[derive(Debug, Clone)]
pub enum Event {
    /// The identity exists: open the node with this passphrase (or the key file).
    Created {
        /// The passphrase chosen, if any.
        passphrase: Option<String>,
    },
}

impl FirstRun {
    /// Handles a message.
    pub fn update(&mut self, message: Message, config: &Config) -> (Task<Message>, Option<Event>) {
        match message {
            Message::NameChanged(name) => self.name = name,
            Message::PassphraseChanged(passphrase) => self.passphrase = passphrase,
            Message::Create => {
                let name = self.name.trim().to_owned();
                if name.is_empty() || self.busy {
                    self.error = Some("Choose a display name.".into());
                    return (Task::none(), None);
                }
                self.busy = true;
                self.error = None;
                let unlock = if self.passphrase.is_empty() {
                    Unlock::KeyFile
                } else {
                    Unlock::passphrase(self.passphrase.clone())
                };
                let home = config.home.clone();
                return (
                    Task::perform(
                        async move {
                            Node::init(&home, &name, unlock)
                                .await
                                .map(drop)
                                .map_err(|e| e.to_string())
                        },
                        Message::Created,
                    ),
                    None,
                );
            }
            Message::Created(Ok(())) => {
                let passphrase = (!self.passphrase.is_empty()).then(|| self.passphrase.clone());
                return (Task::none(), Some(Event::Created { passphrase }));
            }
            Message::Created(Err(error)) => {
                self.busy = false;
                self.error = Some(error);
            }
        }
        (Task::none(), None)
    }

    /// The form.
    pub fn view(&self) -> Element<'_, Message> {
        let mut create = button(text("Create my identity"));
        if !self.busy {
            create = create.on_press(Message::Create);
        }
        let mut form = column![
            text("Welcome to Wren").size(28),
            text("Choose the name your contacts will see.").style(theme::muted),
            text_input("Display name", &self.name)
                .id("name")
                .on_input(Message::NameChanged)
                .on_submit(Message::Create)
                .padding(8),
            text("Optionally, a passphrase that protects this profile on this computer.")
                .style(theme::muted),
            text_input("Passphrase (optional)", &self.passphrase)
                .id("passphrase")
                .secure(true)
                .on_input(Message::PassphraseChanged)
                .on_submit(Message::Create)
                .padding(8),
            create,
        ]
        .spacing(12);
        if self.busy {
            form = form.push(text("Creating your identity…").style(theme::muted));
        }
        if let Some(error) = &self.error {
            form = form.push(text(error).style(theme::danger));
        }
        super::form_card(form)
    }
}
