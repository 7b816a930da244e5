//! A group's members, beside its conversation: names with admin and "you"
//! marks; admins rename the group, add contacts, remove members and make
//! members admins; everyone can leave (after a confirmation). The list is
//! the parent's [`GroupInfo`], re-read on every membership event (and on
//! a rename), so it follows changes live.

use std::collections::HashMap;

use iced::widget::{button, column, container, row, scrollable, space, text, text_input};
use iced::{Alignment, Element, Length, Task};
use wren_core::limits::MAX_NAME_BYTES;
use wren_core::{ContactInfo, GroupInfo, Node};

use crate::theme;

/// The panel's width.
const WIDTH: f32 = 280.0;

/// The members panel of one group.
#[derive(Debug)]
pub struct Members {
    node: Node,
    group: String,
    picking: bool,
    confirm_leave: bool,
    busy: bool,
    error: Option<String>,
    /// The new name being typed (admins only).
    new_name: String,
    /// Why the last rename was refused, shown under the name field.
    rename_error: Option<String>,
}

/// The panel's input.
#[derive(Debug, Clone)]
pub enum Message {
    /// Show or hide the contacts that can be added.
    Pick,
    /// Add this contact (peer id).
    Add(String),
    /// Remove this member (peer id).
    Remove(String),
    /// Make this member an admin (peer id).
    Promote(String),
    /// The new name field changed.
    NameInput(String),
    /// Rename the group to the name in the field.
    Rename,
    /// The group was renamed (or not).
    Renamed(Result<GroupInfo, String>),
    /// Ask to leave the group.
    Leave,
    /// Leave for real.
    ConfirmLeave,
    /// Stay after all.
    CancelLeave,
    /// A member was added, removed or promoted (or not).
    Changed(Result<GroupInfo, String>),
    /// We left (or not).
    Left(Result<(), String>),
    /// Close the panel.
    Close,
}

/// A membership change the panel asks the node for.
#[derive(Debug, Clone, Copy)]
enum Change {
    Add,
    Remove,
    Promote,
}

/// What the parent should do.
#[derive(Debug, Clone)]
pub enum Event {
    /// The group changed: here it is now.
    Changed(GroupInfo),
    /// We left the group: re-read it.
    Left,
    /// Close the panel.
    Close,
}

impl Members {
    /// The panel for `group` (its id).
    pub fn new(node: Node, group: String) -> Self {
        Self {
            node,
            group,
            picking: false,
            confirm_leave: false,
            busy: false,
            error: None,
            new_name: String::new(),
            rename_error: None,
        }
    }

    /// The group's id.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The error shown, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Why the last rename was refused, if it was.
    pub fn rename_error(&self) -> Option<&str> {
        self.rename_error.as_deref()
    }

    /// Checks the typed name and asks the node to rename the group.
    fn rename(&mut self) -> Task<Message> {
        let name = self.new_name.trim().to_owned();
        if name.is_empty() {
            self.rename_error = Some("Give the group a name.".into());
            return Task::none();
        }
        if name.len() > MAX_NAME_BYTES {
            self.rename_error = Some(format!(
                "At most {MAX_NAME_BYTES} bytes; this name has {}.",
                name.len()
            ));
            return Task::none();
        }
        self.busy = true;
        self.rename_error = None;
        let node = self.node.clone();
        let group = self.group.clone();
        Task::perform(
            async move {
                node.rename_group(&group, &name)
                    .await
                    .map_err(|e| e.to_string())
            },
            Message::Renamed,
        )
    }

    fn change(&mut self, change: Change, contact: String) -> Task<Message> {
        self.busy = true;
        self.error = None;
        let node = self.node.clone();
        let group = self.group.clone();
        Task::perform(
            async move {
                let changed = match change {
                    Change::Add => node.add_member(&group, &contact).await,
                    Change::Remove => node.remove_member(&group, &contact).await,
                    Change::Promote => node.promote_member(&group, &contact).await,
                };
                changed.map_err(|e| e.to_string())
            },
            Message::Changed,
        )
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Pick => self.picking = !self.picking,
            Message::Add(contact) if !self.busy => {
                self.picking = false;
                return (self.change(Change::Add, contact), None);
            }
            Message::Remove(contact) if !self.busy => {
                return (self.change(Change::Remove, contact), None);
            }
            Message::Promote(contact) if !self.busy => {
                return (self.change(Change::Promote, contact), None);
            }
            Message::Add(_) | Message::Remove(_) | Message::Promote(_) => {}
            Message::NameInput(name) => {
                self.new_name = name;
                self.rename_error = None;
            }
            Message::Rename if !self.busy => return (self.rename(), None),
            Message::Rename => {}
            Message::Renamed(Ok(group)) => {
                self.busy = false;
                self.new_name.clear();
                return (Task::none(), Some(Event::Changed(group)));
            }
            Message::Renamed(Err(error)) => {
                self.busy = false;
                self.rename_error = Some(error);
            }
            Message::Leave => self.confirm_leave = true,
            Message::CancelLeave => self.confirm_leave = false,
            Message::ConfirmLeave if !self.busy => {
                self.busy = true;
                self.confirm_leave = false;
                let node = self.node.clone();
                let group = self.group.clone();
                return (
                    Task::perform(
                        async move { node.leave_group(&group).await.map_err(|e| e.to_string()) },
                        Message::Left,
                    ),
                    None,
                );
            }
            Message::ConfirmLeave => {}
            Message::Changed(Ok(group)) => {
                self.busy = false;
                return (Task::none(), Some(Event::Changed(group)));
            }
            Message::Left(Ok(())) => {
                self.busy = false;
                return (Task::none(), Some(Event::Left));
            }
            Message::Changed(Err(error)) | Message::Left(Err(error)) => {
                self.busy = false;
                self.error = Some(error);
            }
            Message::Close => return (Task::none(), Some(Event::Close)),
        }
        (Task::none(), None)
    }

    /// The panel for `group` as it is now; `me` is our peer id.
    pub fn view<'a>(
        &'a self,
        group: &'a GroupInfo,
        contacts: &'a HashMap<String, ContactInfo>,
        me: &'a str,
        my_name: &'a str,
    ) -> Element<'a, Message> {
        let admin = group.member && group.admins.iter().any(|a| a == me);
        let heading = row![
            text(format!("Members ({})", group.members.len())).size(16),
            space::horizontal(),
            button(text("Close").size(12))
                .padding([2, 8])
                .style(button::secondary)
                .on_press(Message::Close),
        ]
        .align_y(Alignment::Center);
        let mut list = column![].spacing(6);
        let mut members: Vec<&String> = group.members.iter().collect();
        // Us first, then admins, then by name.
        members.sort_by_key(|m| {
            (
                *m != me,
                !group.admins.contains(m),
                super::member_name(m, contacts, group).to_lowercase(),
            )
        });
        for member in members {
            let ours = member == me;
            let name = if ours {
                my_name.to_owned()
            } else {
                super::member_name(member, contacts, group)
            };
            let mut line = row![text(name).size(14)]
                .spacing(6)
                .align_y(Alignment::Center);
            if group.admins.contains(member) {
                line = line.push(super::sidebar::tag("admin"));
            }
            if ours {
                line = line.push(super::sidebar::tag("you"));
            }
            line = line.push(space::horizontal());
            if admin && !ours && !group.admins.contains(member) {
                let mut promote = button(text("Make admin").size(11))
                    .padding([2, 8])
                    .style(button::secondary);
                if !self.busy {
                    promote = promote.on_press(Message::Promote(member.clone()));
                }
                line = line.push(promote);
            }
            if admin && !ours {
                let mut remove = button(text("Remove").size(11))
                    .padding([2, 8])
                    .style(button::danger);
                if !self.busy {
                    remove = remove.on_press(Message::Remove(member.clone()));
                }
                line = line.push(remove);
            }
            list = list.push(line);
        }

        let mut panel = column![heading].spacing(12);
        if admin {
            panel = panel.push(self.rename_view(group));
        }
        panel = panel.push(list);
        if admin {
            let mut add = button(text("Add member").size(12)).padding([4, 10]);
            if !self.busy {
                add = add.on_press(Message::Pick);
            }
            panel = panel.push(add);
            if self.picking {
                let mut candidates: Vec<&ContactInfo> = contacts
                    .values()
                    .filter(|c| !group.members.contains(&c.peer_id))
                    .collect();
                candidates.sort_by_key(|c| super::contact_name(c).to_lowercase());
                let mut picker = column![].spacing(4);
                if candidates.is_empty() {
                    picker = picker.push(
                        text("Every contact is a member already.")
                            .size(12)
                            .style(theme::muted),
                    );
                }
                for contact in candidates {
                    picker = picker.push(
                        button(text(super::contact_name(contact)).size(13))
                            .width(Length::Fill)
                            .style(button::secondary)
                            .on_press(Message::Add(contact.peer_id.clone())),
                    );
                }
                panel = panel.push(container(picker).padding(8).style(theme::card));
            }
        }
        if group.member {
            if self.confirm_leave {
                panel = panel.push(
                    column![
                        text(
                            "Leave this group? Its history stays, but you will get no new messages."
                        )
                        .size(12),
                        row![
                            button(text("Leave").size(12))
                                .style(button::danger)
                                .on_press(Message::ConfirmLeave),
                            button(text("Stay").size(12))
                                .style(button::secondary)
                                .on_press(Message::CancelLeave),
                        ]
                        .spacing(8),
                    ]
                    .spacing(6),
                );
            } else {
                let mut leave = button(text("Leave group").size(12))
                    .padding([4, 10])
                    .style(button::secondary);
                if !self.busy {
                    leave = leave.on_press(Message::Leave);
                }
                panel = panel.push(leave);
            }
        } else {
            panel = panel.push(
                text("You are no longer a member.")
                    .size(12)
                    .style(theme::muted),
            );
        }
        if let Some(error) = &self.error {
            panel = panel.push(text(error).size(12).style(theme::danger));
        }
        container(scrollable(panel.padding(12)))
            .width(WIDTH)
            .height(Length::Fill)
            .style(theme::sidebar)
            .into()
    }

    /// An admin's rename field: the current name as the placeholder, and
    /// why the last attempt was refused.
    fn rename_view<'a>(&'a self, group: &'a GroupInfo) -> Element<'a, Message> {
        let mut input = text_input(&group.name, &self.new_name)
            .id("group-rename")
            .size(13)
            .padding(6);
        let mut rename = button(text("Rename").size(12)).padding([4, 10]);
        if !self.busy {
            input = input
                .on_input(Message::NameInput)
                .on_submit(Message::Rename);
            rename = rename.on_press(Message::Rename);
        }
        let mut field =
            column![row![input, rename].spacing(6).align_y(Alignment::Center)].spacing(4);
        if let Some(error) = &self.rename_error {
            field = field.push(text(error).size(12).style(theme::danger));
        }
        field.into()
    }
}
