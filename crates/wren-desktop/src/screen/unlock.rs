//! Unlock: the store is protected by a passphrase.

use iced::Element;
use iced::widget::{button, column, text, text_input};

use crate::theme;

/// The passphrase prompt.
#[derive(Debug, Default)]
pub struct Unlock {
    passphrase: String,
    busy: bool,
    error: Option<String>,
}

/// The prompt's input.
#[derive(Debug, Clone)]
pub enum Message {
    /// The passphrase field changed.
    Changed(String),
    /// Try the passphrase.
    Submit,
}

/// What the parent should do.
#[derive(Debug, Clone)]
pub enum Event {
    /// Open the store with this passphrase.
    Submit(String),
}

impl Unlock {
    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Changed(passphrase) => {
                self.passphrase = passphrase;
                None
            }
            Message::Submit if !self.busy && !self.passphrase.is_empty() => {
                self.busy = true;
                self.error = None;
                Some(Event::Submit(std::mem::take(&mut self.passphrase)))
            }
            Message::Submit => None,
        }
    }

    /// Opening failed: show why and ask again.
    pub fn failed(&mut self, error: String) {
        self.busy = false;
        self.error = Some(error);
    }

    /// The prompt.
    pub fn view(&self) -> Element<'_, Message> {
        let mut unlock = button(text("Unlock"));
        if !self.busy {
            unlock = unlock.on_press(Message::Submit);
        }
        let mut form = column![
            text("This profile is locked").size(24),
            text_input("Passphrase", &self.passphrase)
                .id("unlock")
                .secure(true)
                .on_input(Message::Changed)
                .on_submit(Message::Submit)
                .padding(8),
            unlock,
        ]
        .spacing(12);
        if let Some(error) = &self.error {
            form = form.push(text(error).style(theme::danger));
        }
        super::form_card(form)
    }
}
