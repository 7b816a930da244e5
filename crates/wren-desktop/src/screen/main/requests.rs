//! Incoming contact requests, each with accept and decline.

use iced::widget::{button, column, container, row, scrollable, text};
use iced::{Element, Length, Task};
use wren_core::{ContactInfo, Node, RequestInfo};

use crate::theme;

/// The panel.
#[derive(Debug)]
pub struct Requests {
    node: Node,
    requests: Vec<RequestInfo>,
    error: Option<String>,
}

/// The panel's input.
#[derive(Debug, Clone)]
pub enum Message {
    /// The requests were (re)listed.
    Listed(Result<Vec<RequestInfo>, String>),
    /// Accept the request from this peer id.
    Accept(String),
    /// Decline the request from this peer id.
    Decline(String),
    /// A request was accepted (or not).
    Accepted(Result<ContactInfo, String>),
    /// A request was declined (or not).
    Declined(Result<(), String>),
}

/// What the parent should do.
#[derive(Debug, Clone)]
pub enum Event {
    /// The requester is now a contact.
    Accepted(ContactInfo),
}

impl Requests {
    /// The panel and the task that lists the requests.
    pub fn new(node: &Node) -> (Self, Task<Message>) {
        let panel = Self {
            node: node.clone(),
            requests: Vec::new(),
            error: None,
        };
        let task = panel.refresh();
        (panel, task)
    }

    /// How many requests wait.
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// Whether no request waits.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// The waiting requests, oldest first.
    pub fn list(&self) -> &[RequestInfo] {
        &self.requests
    }

    /// Lists the requests again.
    pub fn refresh(&self) -> Task<Message> {
        let node = self.node.clone();
        Task::perform(
            async move { node.contact_requests().await.map_err(|e| e.to_string()) },
            Message::Listed,
        )
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Listed(Ok(requests)) => self.requests = requests,
            Message::Accept(peer_id) => {
                let node = self.node.clone();
                return (
                    Task::perform(
                        async move { node.accept(&peer_id).await.map_err(|e| e.to_string()) },
                        Message::Accepted,
                    ),
                    None,
                );
            }
            Message::Decline(peer_id) => {
                let node = self.node.clone();
                return (
                    Task::perform(
                        async move { node.decline(&peer_id).await.map_err(|e| e.to_string()) },
                        Message::Declined,
                    ),
                    None,
                );
            }
            Message::Accepted(Ok(contact)) => {
                self.requests.retain(|r| r.peer_id != contact.peer_id);
                return (self.refresh(), Some(Event::Accepted(contact)));
            }
            Message::Declined(Ok(())) => return (self.refresh(), None),
            Message::Listed(Err(error))
            | Message::Accepted(Err(error))
            | Message::Declined(Err(error)) => self.error = Some(error),
        }
        (Task::none(), None)
    }

    /// The panel.
    pub fn view(&self) -> Element<'_, Message> {
        let mut panel = column![text("Contact requests").size(22)].spacing(12);
        if self.requests.is_empty() {
            panel = panel.push(text("No one is waiting.").style(theme::muted));
        }
        for request in &self.requests {
            let mut card = column![
                text(&request.name).size(18),
                text(&request.peer_id).size(11).style(theme::muted),
                text(format!("Safety number: {}", request.safety_number))
                    .size(12)
                    .style(theme::muted),
            ]
            .spacing(4);
            if let Some(greeting) = &request.greeting {
                card = card.push(text(format!("“{greeting}”")));
            }
            card = card.push(
                row![
                    button(text("Accept")).on_press(Message::Accept(request.peer_id.clone())),
                    button(text("Decline"))
                        .style(button::secondary)
                        .on_press(Message::Decline(request.peer_id.clone())),
                ]
                .spacing(8),
            );
            panel = panel.push(
                container(card)
                    .padding(12)
                    .width(Length::Fill)
                    .style(theme::card),
            );
        }
        if let Some(error) = &self.error {
            panel = panel.push(text(error).style(theme::danger));
        }
        scrollable(container(panel).padding(20).max_width(640)).into()
    }
}
