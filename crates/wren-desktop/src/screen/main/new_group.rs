//! Creating a group or a channel: a name, the contacts to add, and whether
//! only admins post.

use std::collections::{BTreeSet, HashMap};

use iced::widget::{button, checkbox, column, container, scrollable, text, text_input};
use iced::{Element, Length, Task};
use wren_core::{ContactInfo, GroupInfo, Node};

use crate::theme;

/// The panel.
#[derive(Debug)]
pub struct NewGroup {
    node: Node,
    name: String,
    members: BTreeSet<String>,
    channel: bool,
    busy: bool,
    error: Option<String>,
}

/// The panel's input.
#[derive(Debug, Clone)]
pub enum Message {
    /// The name was edited.
    NameChanged(String),
    /// A contact (peer id) was ticked or unticked.
    Toggle(String, bool),
    /// The channel switch changed.
    Channel(bool),
    /// Create the group.
    Create,
    /// The group was created (or not).
    Created(Result<GroupInfo, String>),
}

/// What the parent should do.
#[derive(Debug, Clone)]
pub enum Event {
    /// The group exists: list it and open it.
    Created(GroupInfo),
}

impl NewGroup {
    /// An empty form.
    pub fn new(node: Node) -> Self {
        Self {
            node,
            name: String::new(),
            members: BTreeSet::new(),
            channel: false,
            busy: false,
            error: None,
        }
    }

    /// The contacts ticked (peer ids).
    pub fn members(&self) -> &BTreeSet<String> {
        &self.members
    }

    /// The error shown, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> (Task<Message>, Option<Event>) {
        match message {
            Message::NameChanged(name) => self.name = name,
            Message::Toggle(peer_id, on) => {
                if on {
                    self.members.insert(peer_id);
                } else {
                    self.members.remove(&peer_id);
                }
            }
            Message::Channel(on) => self.channel = on,
            Message::Create => {
                if self.busy {
                    return (Task::none(), None);
                }
                let name = self.name.trim().to_owned();
                if name.is_empty() {
                    self.error = Some("Give the group a name.".into());
                    return (Task::none(), None);
                }
                if self.members.is_empty() {
                    self.error = Some("Pick at least one contact.".into());
                    return (Task::none(), None);
                }
                self.busy = true;
                self.error = None;
                let node = self.node.clone();
                let members: Vec<String> = self.members.iter().cloned().collect();
                let channel = self.channel;
                return (
                    Task::perform(
                        async move {
                            let members: Vec<&str> = members.iter().map(String::as_str).collect();
                            node.create_group(&name, &members, channel)
                                .await
                                .map_err(|e| e.to_string())
                        },
                        Message::Created,
                    ),
                    None,
                );
            }
            Message::Created(Ok(group)) => {
                *self = Self::new(self.node.clone());
                return (Task::none(), Some(Event::Created(group)));
            }
            Message::Created(Err(error)) => {
                self.busy = false;
                self.error = Some(error);
            }
        }
        (Task::none(), None)
    }

    /// The form; `contacts` are the ones that can be ticked.
    pub fn view<'a>(&'a self, contacts: &'a HashMap<String, ContactInfo>) -> Element<'a, Message> {
        let mut people: Vec<&ContactInfo> = contacts.values().collect();
        people.sort_by_key(|c| super::contact_name(c).to_lowercase());
        let mut list = column![].spacing(6);
        if people.is_empty() {
            list = list.push(
                text("Add a contact first: groups are made of contacts.").style(theme::muted),
            );
        }
        for contact in people {
            let peer_id = contact.peer_id.clone();
            list = list.push(
                checkbox(self.members.contains(&contact.peer_id))
                    .label(super::contact_name(contact))
                    .on_toggle(move |on| Message::Toggle(peer_id.clone(), on)),
            );
        }
        let mut create = button(text("Create"));
        if !self.busy {
            create = create.on_press(Message::Create);
        }
        let mut panel = column![
            text("New group").size(22),
            text("Everyone you pick gets an invitation; you are the group's admin.")
                .style(theme::muted),
            text_input("Group name", &self.name)
                .id("group-name")
                .on_input(Message::NameChanged)
                .on_submit(Message::Create)
                .padding(8),
            text("Members").size(15),
            container(list)
                .padding(12)
                .width(Length::Fill)
                .style(theme::card),
            checkbox(self.channel)
                .label("Channel (only admins post)")
                .on_toggle(Message::Channel),
            create,
        ]
        .spacing(12);
        if let Some(error) = &self.error {
            panel = panel.push(text(error).style(theme::danger));
        }
        scrollable(container(panel).padding(20).max_width(640)).into()
    }
}
