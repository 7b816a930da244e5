//! "My code": the pairing code as a QR code and as text, the fingerprint,
//! and a button that copies the code.

use iced::widget::text::Wrapping;
use iced::widget::{button, column, container, qr_code, row, scrollable, text};
use iced::{Element, Length, Task};
use wren_core::{Identity, Node};

use crate::theme;

/// The panel.
#[derive(Debug)]
pub struct MyCode {
    node: Node,
    code: Option<String>,
    qr: Option<qr_code::Data>,
    copied: bool,
    error: Option<String>,
}

/// The panel's input.
#[derive(Debug, Clone)]
pub enum Message {
    /// The pairing code was (re)made.
    Code(Result<String, String>),
    /// Copy the code to the clipboard.
    Copy,
}

impl MyCode {
    /// The panel and the task that asks for the code.
    pub fn new(node: &Node) -> (Self, Task<Message>) {
        let panel = Self {
            node: node.clone(),
            code: None,
            qr: None,
            copied: false,
            error: None,
        };
        let task = panel.refresh();
        (panel, task)
    }

    /// The current pairing code, once known.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Asks for a fresh code (the addresses in it changed).
    pub fn refresh(&self) -> Task<Message> {
        let node = self.node.clone();
        Task::perform(
            async move { node.pairing_code().await.map_err(|e| e.to_string()) },
            Message::Code,
        )
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Code(Ok(code)) => {
                match qr_code::Data::new(code.as_bytes()) {
                    Ok(data) => {
                        self.qr = Some(data);
                        self.error = None;
                    }
                    Err(error) => {
                        self.qr = None;
                        self.error = Some(format!("No QR code for this code: {error}"));
                    }
                }
                if self.code.as_ref() != Some(&code) {
                    self.copied = false;
                }
                self.code = Some(code);
                Task::none()
            }
            Message::Code(Err(error)) => {
                self.error = Some(error);
                Task::none()
            }
            Message::Copy => match &self.code {
                Some(code) => {
                    self.copied = true;
                    iced::clipboard::write(code.clone())
                }
                None => Task::none(),
            },
        }
    }

    /// The panel.
    pub fn view<'a>(&'a self, identity: &'a Identity) -> Element<'a, Message> {
        let mut panel = column![
            text("My code").size(22),
            text("Let your friend scan this code, or send them the text below.")
                .style(theme::muted),
        ]
        .spacing(12);
        if let Some(qr) = &self.qr {
            panel = panel.push(qr_code(qr).total_size(260));
        }
        panel = panel.push(
            column![
                text("Fingerprint").size(12).style(theme::muted),
                text(&identity.fingerprint).size(16),
            ]
            .spacing(2),
        );
        if let Some(code) = &self.code {
            panel = panel.push(
                // A code is one long word: break it anywhere.
                container(text(code).size(11).wrapping(Wrapping::WordOrGlyph))
                    .padding(8)
                    .style(theme::card)
                    .width(Length::Fill),
            );
            let mut copy = row![button(text("Copy code")).on_press(Message::Copy)].spacing(8);
            if self.copied {
                copy = copy.push(text("Copied").style(theme::muted));
            }
            panel = panel.push(copy);
        } else {
            panel = panel.push(text("Making the code…").style(theme::muted));
        }
        if let Some(error) = &self.error {
            panel = panel.push(text(error).style(theme::danger));
        }
        scrollable(container(panel).padding(20).max_width(640)).into()
    }
}
