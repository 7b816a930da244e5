//! The main window: the sidebar of conversations (direct and groups), the
//! open conversation with a group's members beside it, the pairing panels
//! (my code, add contact, contact requests), the new group panel and the
//! settings.

pub mod add_contact;
pub mod conversation;
pub mod members;
pub mod my_code;
pub mod new_group;
pub mod requests;
pub mod settings;
pub mod sidebar;

use std::collections::HashMap;
use std::path::PathBuf;

use iced::widget::{button, column, container, row, text, text_editor};
use iced::{Element, Length, Subscription, Task};
use wren_core::{ContactInfo, ConversationInfo, GroupInfo, Identity, Node, NodeEvent};

use crate::events::EventSource;
use crate::preferences::Preferences;
use crate::theme;

use add_contact::AddContact;
use conversation::{Conversation, GroupContext, Receipts};
use members::Members;
use my_code::MyCode;
use new_group::NewGroup;
use requests::Requests;
use settings::Settings;

/// What the right-hand side shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// The open conversation (or a hint to pick one).
    Chat,
    /// This node's pairing code.
    MyCode,
    /// Adding a contact.
    AddContact,
    /// Creating a group or channel.
    NewGroup,
    /// Incoming contact requests.
    Requests,
    /// The settings.
    Settings,
}

/// The main screen.
#[derive(Debug)]
pub struct Main {
    node: Node,
    identity: Identity,
    events: EventSource,
    conversations: Vec<ConversationInfo>,
    contacts: HashMap<String, ContactInfo>,
    groups: HashMap<String, GroupInfo>,
    receipts: Receipts,
    open: Option<Conversation>,
    members: Option<Members>,
    drafts: HashMap<String, text_editor::Content>,
    panel: Panel,
    my_code: MyCode,
    add_contact: AddContact,
    new_group: NewGroup,
    requests: Requests,
    settings: Settings,
    error: Option<String>,
}

/// The main screen's messages.
#[derive(Debug, Clone)]
pub enum Message {
    /// An event from the node.
    Node(NodeEvent),
    /// The conversation list was (re)loaded.
    Conversations(Result<Vec<ConversationInfo>, String>),
    /// The contact list was (re)loaded.
    Contacts(Result<Vec<ContactInfo>, String>),
    /// The groups were (re)loaded.
    Groups(Result<Vec<GroupInfo>, String>),
    /// Open the conversation with this contact (peer id) or group (id).
    Select(String),
    /// Show or hide the open group's members.
    ToggleMembers,
    /// Show a panel.
    Show(Panel),
    /// Mark the open contact verified.
    Verify,
    /// The contact was marked verified (or not).
    Verified(Result<ContactInfo, String>),
    /// A conversation was marked read.
    MarkedRead(Result<usize, String>),
    /// The open conversation.
    Conversation(conversation::Message),
    /// The "My code" panel.
    MyCode(my_code::Message),
    /// The "Add contact" panel.
    AddContact(add_contact::Message),
    /// The "New group" panel.
    NewGroup(new_group::Message),
    /// The open group's members panel.
    Members(members::Message),
    /// The contact requests panel.
    Requests(requests::Message),
    /// The settings panel.
    Settings(settings::Message),
}

impl Main {
    /// The main screen for an open node, and the tasks that load its data.
    /// `home` and `preferences` are the profile's desktop settings;
    /// `listen_overridden` says whether `--listen` overrides their
    /// addresses.
    pub fn new(
        node: Node,
        identity: Identity,
        events: EventSource,
        home: PathBuf,
        preferences: Preferences,
        listen_overridden: bool,
    ) -> (Self, Task<Message>) {
        let (my_code, code_task) = MyCode::new(&node);
        let (requests, requests_task) = Requests::new(&node);
        let settings = Settings::new(
            node.clone(),
            &identity,
            home,
            preferences,
            listen_overridden,
        );
        let main = Self {
            settings,
            add_contact: AddContact::new(node.clone()),
            new_group: NewGroup::new(node.clone()),
            node,
            identity,
            events,
            conversations: Vec::new(),
            contacts: HashMap::new(),
            groups: HashMap::new(),
            receipts: Receipts::default(),
            open: None,
            members: None,
            drafts: HashMap::new(),
            panel: Panel::Chat,
            my_code,
            requests,
            error: None,
        };
        let task = Task::batch([
            main.reload_conversations(),
            main.reload_contacts(),
            main.reload_groups(),
            code_task.map(Message::MyCode),
            requests_task.map(Message::Requests),
        ]);
        (main, task)
    }

    /// The node handle.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// This node's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The conversations, most recent first.
    pub fn conversations(&self) -> &[ConversationInfo] {
        &self.conversations
    }

    /// The contacts by peer id.
    pub fn contacts(&self) -> &HashMap<String, ContactInfo> {
        &self.contacts
    }

    /// The groups we are or were in, by id.
    pub fn groups(&self) -> &HashMap<String, GroupInfo> {
        &self.groups
    }

    /// The members' receipts for our group messages.
    pub fn receipts(&self) -> &Receipts {
        &self.receipts
    }

    /// The open conversation.
    pub fn open_conversation(&self) -> Option<&Conversation> {
        self.open.as_ref()
    }

    /// The open group's members panel, if shown.
    pub fn members_panel(&self) -> Option<&Members> {
        self.members.as_ref()
    }

    /// The "New group" panel.
    pub fn new_group(&self) -> &NewGroup {
        &self.new_group
    }

    /// The panel shown.
    pub fn panel(&self) -> Panel {
        self.panel
    }

    /// The "My code" panel.
    pub fn my_code(&self) -> &MyCode {
        &self.my_code
    }

    /// The contact requests panel.
    pub fn requests(&self) -> &Requests {
        &self.requests
    }

    /// The settings panel.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The desktop settings now.
    pub fn preferences(&self) -> &Preferences {
        self.settings.preferences()
    }

    /// Unread messages across every conversation.
    pub fn unread_total(&self) -> u64 {
        self.conversations
            .iter()
            .fold(0, |total, c| total.saturating_add(c.unread))
    }

    /// The node's events.
    pub fn subscription(&self) -> Subscription<Message> {
        self.events.subscription().map(Message::Node)
    }

    fn reload_conversations(&self) -> Task<Message> {
        let node = self.node.clone();
        Task::perform(
            async move { node.conversations().await.map_err(|e| e.to_string()) },
            Message::Conversations,
        )
    }

    fn reload_groups(&self) -> Task<Message> {
        let node = self.node.clone();
        Task::perform(
            async move { node.groups().await.map_err(|e| e.to_string()) },
            Message::Groups,
        )
    }

    fn reload_contacts(&self) -> Task<Message> {
        let node = self.node.clone();
        Task::perform(
            async move { node.contacts().await.map_err(|e| e.to_string()) },
            Message::Contacts,
        )
    }

    fn mark_read(&self, contact: &str) -> Task<Message> {
        let node = self.node.clone();
        let contact = contact.to_owned();
        Task::perform(
            async move { node.mark_read(&contact).await.map_err(|e| e.to_string()) },
            Message::MarkedRead,
        )
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Node(event) => self.on_event(event),
            Message::Conversations(Ok(conversations)) => {
                self.conversations = conversations;
                if let Some(open) = &mut self.open
                    && let Some(info) = self
                        .conversations
                        .iter()
                        .find(|c| c.contact == open.contact())
                {
                    open.set_conversation(info.id);
                }
                Task::none()
            }
            Message::Contacts(Ok(contacts)) => {
                self.contacts = contacts
                    .into_iter()
                    .map(|contact| (contact.peer_id.clone(), contact))
                    .collect();
                Task::none()
            }
            Message::Groups(Ok(groups)) => {
                self.groups = groups
                    .into_iter()
                    .map(|group| (group.id.clone(), group))
                    .collect();
                Task::none()
            }
            Message::Conversations(Err(error))
            | Message::Contacts(Err(error))
            | Message::Groups(Err(error))
            | Message::Verified(Err(error))
            | Message::MarkedRead(Err(error)) => {
                self.error = Some(error);
                Task::none()
            }
            Message::Select(contact) => self.select(contact),
            Message::ToggleMembers => {
                self.members = match (self.members.take(), &self.open) {
                    (None, Some(open)) if self.groups.contains_key(open.contact()) => {
                        Some(Members::new(self.node.clone(), open.contact().to_owned()))
                    }
                    _ => None,
                };
                Task::none()
            }
            Message::Show(panel) => {
                self.panel = panel;
                match panel {
                    Panel::AddContact => self.add_contact.refresh().map(Message::AddContact),
                    Panel::Requests => self.requests.refresh().map(Message::Requests),
                    Panel::Settings => self.settings.refresh().map(Message::Settings),
                    // Back to the open conversation: what arrived meanwhile is read now.
                    Panel::Chat => match &self.open {
                        Some(open) => self.mark_read(open.contact()),
                        None => Task::none(),
                    },
                    Panel::MyCode | Panel::NewGroup => Task::none(),
                }
            }
            Message::Verify => {
                let Some(open) = &self.open else {
                    return Task::none();
                };
                let node = self.node.clone();
                let contact = open.contact().to_owned();
                Task::perform(
                    async move { node.verify(&contact).await.map_err(|e| e.to_string()) },
                    Message::Verified,
                )
            }
            Message::Verified(Ok(contact)) => {
                self.contacts.insert(contact.peer_id.clone(), contact);
                Task::none()
            }
            Message::MarkedRead(Ok(_)) => self.reload_conversations(),
            Message::Conversation(message) => {
                let Some(open) = &mut self.open else {
                    return Task::none();
                };
                let (task, event) = open.update(message);
                let task = task.map(Message::Conversation);
                match event {
                    Some(conversation::Event::Sent) => {
                        Task::batch([task, self.reload_conversations()])
                    }
                    None => task,
                }
            }
            Message::MyCode(message) => self.my_code.update(message).map(Message::MyCode),
            Message::NewGroup(message) => {
                let (task, event) = self.new_group.update(message);
                let task = task.map(Message::NewGroup);
                match event {
                    Some(new_group::Event::Created(group)) => {
                        let id = group.id.clone();
                        self.groups.insert(id.clone(), group);
                        Task::batch([task, self.reload_conversations(), self.select(id)])
                    }
                    None => task,
                }
            }
            Message::Members(message) => {
                let Some(members) = &mut self.members else {
                    return Task::none();
                };
                let (task, event) = members.update(message);
                let task = task.map(Message::Members);
                match event {
                    Some(members::Event::Changed(group)) => {
                        self.groups.insert(group.id.clone(), group);
                        task
                    }
                    Some(members::Event::Left) => {
                        Task::batch([task, self.reload_groups(), self.reload_conversations()])
                    }
                    Some(members::Event::Close) => {
                        self.members = None;
                        task
                    }
                    None => task,
                }
            }
            Message::AddContact(message) => {
                let (task, event) = self.add_contact.update(message);
                let task = task.map(Message::AddContact);
                match event {
                    Some(add_contact::Event::Added(contact)) => {
                        let peer_id = contact.peer_id.clone();
                        self.contacts.insert(peer_id.clone(), contact);
                        Task::batch([task, self.reload_conversations(), self.select(peer_id)])
                    }
                    None => task,
                }
            }
            Message::Settings(message) => {
                let (task, event) = self.settings.update(message);
                let task = task.map(Message::Settings);
                match event {
                    Some(settings::Event::NameChanged(identity)) => {
                        self.identity = identity;
                        Task::batch([task, self.my_code.refresh().map(Message::MyCode)])
                    }
                    None => task,
                }
            }
            Message::Requests(message) => {
                let (task, event) = self.requests.update(message);
                let task = task.map(Message::Requests);
                match event {
                    Some(requests::Event::Accepted(contact)) => {
                        self.contacts.insert(contact.peer_id.clone(), contact);
                        Task::batch([task, self.reload_conversations()])
                    }
                    None => task,
                }
            }
        }
    }

    /// Opens the conversation with `contact`, keeping the current draft.
    fn select(&mut self, contact: String) -> Task<Message> {
        self.panel = Panel::Chat;
        if self
            .open
            .as_ref()
            .is_some_and(|open| open.contact() == contact)
        {
            return self.mark_read(&contact);
        }
        self.members = None;
        if let Some(previous) = self.open.take() {
            let (peer, draft) = previous.into_draft();
            self.drafts.insert(peer, draft);
        }
        let draft = self.drafts.remove(&contact).unwrap_or_default();
        let id = self
            .conversations
            .iter()
            .find(|c| c.contact == contact)
            .map(|c| c.id);
        let (conversation, task) = Conversation::new(self.node.clone(), contact.clone(), id, draft);
        self.open = Some(conversation);
        Task::batch([task.map(Message::Conversation), self.mark_read(&contact)])
    }

    fn on_event(&mut self, event: NodeEvent) -> Task<Message> {
        let mut tasks = Vec::new();
        if let Some(open) = &mut self.open {
            tasks.push(open.on_event(&event).map(Message::Conversation));
        }
        match &event {
            NodeEvent::MessageReceived { from, group, .. } => {
                let target = group.as_deref().unwrap_or(from);
                if self.panel == Panel::Chat
                    && self
                        .open
                        .as_ref()
                        .is_some_and(|open| open.contact() == target)
                {
                    tasks.push(self.mark_read(target));
                }
                tasks.push(self.reload_conversations());
            }
            NodeEvent::StatusChanged { .. } => self.receipts.record(&event),
            NodeEvent::GroupJoined { .. }
            | NodeEvent::MemberAdded { .. }
            | NodeEvent::MemberRemoved { .. }
            | NodeEvent::MemberPromoted { .. }
            | NodeEvent::MemberDemoted { .. }
            | NodeEvent::GroupRenamed { .. } => {
                tasks.push(self.reload_groups());
                tasks.push(self.reload_conversations());
            }
            NodeEvent::ContactRequest { .. } => {
                tasks.push(self.requests.refresh().map(Message::Requests));
            }
            NodeEvent::ContactAdded { .. } => {
                // Accepted here or elsewhere (the request is gone either way).
                tasks.push(self.requests.refresh().map(Message::Requests));
                tasks.push(self.reload_contacts());
                tasks.push(self.reload_conversations());
            }
            NodeEvent::ContactAccepted { .. }
            | NodeEvent::ContactOnline { .. }
            | NodeEvent::ContactOffline { .. }
            | NodeEvent::ContactPath { .. } => {
                tasks.push(self.reload_contacts());
                tasks.push(self.reload_conversations());
            }
            NodeEvent::PeerDiscovered { .. } | NodeEvent::PeerExpired { .. } => {
                tasks.push(self.add_contact.on_event(&event).map(Message::AddContact));
            }
            NodeEvent::Listening { .. } | NodeEvent::RelayReserved { .. } => {
                tasks.push(self.my_code.refresh().map(Message::MyCode));
                tasks.push(self.settings.on_event(&event).map(Message::Settings));
            }
            NodeEvent::RelayLost { .. } => {
                tasks.push(self.settings.on_event(&event).map(Message::Settings));
            }
            NodeEvent::Error { detail } => self.error = Some(detail.clone()),
            _ => {}
        }
        Task::batch(tasks)
    }

    /// The main window.
    pub fn view(&self) -> Element<'_, Message> {
        let sidebar = sidebar::view(
            &self.identity,
            &self.conversations,
            &self.contacts,
            &self.groups,
            self.open.as_ref().map(Conversation::contact),
            self.requests.len(),
            self.panel,
        );
        let content: Element<'_, Message> = match self.panel {
            Panel::MyCode => self.my_code.view(&self.identity).map(Message::MyCode),
            Panel::AddContact => self.add_contact.view().map(Message::AddContact),
            Panel::NewGroup => self.new_group.view(&self.contacts).map(Message::NewGroup),
            Panel::Requests => self.requests.view().map(Message::Requests),
            Panel::Settings => self.settings.view().map(Message::Settings),
            Panel::Chat => match self
                .open
                .as_ref()
                .map(|open| (open, self.groups.get(open.contact())))
            {
                Some((open, Some(group))) => self.group_view(open, group),
                Some((open, None)) => {
                    let contact = self.contacts.get(open.contact());
                    let title = self
                        .conversations
                        .iter()
                        .find(|c| c.contact == open.contact())
                        .map(|c| c.title.clone())
                        .or_else(|| contact.map(|c| c.alias.clone().unwrap_or(c.name.clone())))
                        .unwrap_or_else(|| open.contact().to_owned());
                    column![
                        self.header(title, contact),
                        open.view(None).map(Message::Conversation)
                    ]
                    .into()
                }
                None => iced::widget::center(
                    text("Pick a conversation, or add a contact to start one.").style(theme::muted),
                )
                .into(),
            },
        };
        let mut right = column![container(content).width(Length::Fill).height(Length::Fill)];
        if let Some(error) = &self.error {
            right = right.push(container(text(error).style(theme::danger)).padding(6));
        }
        row![sidebar, right].into()
    }

    /// A group's conversation: its header, the history with senders'
    /// names, and the members panel beside it when shown.
    fn group_view<'a>(
        &'a self,
        open: &'a Conversation,
        group: &'a GroupInfo,
    ) -> Element<'a, Message> {
        let context = GroupContext {
            info: group,
            me: &self.identity.peer_id,
            contacts: &self.contacts,
            receipts: &self.receipts,
        };
        let kind = if group.channel { "channel" } else { "group" };
        let mut header = row![
            text(&group.name).size(20),
            sidebar::tag(kind),
            text(match group.members.len() {
                1 => "1 member".to_owned(),
                n => format!("{n} members"),
            })
            .size(12)
            .style(theme::muted),
        ]
        .spacing(10)
        .align_y(iced::Alignment::Center);
        if !group.member {
            header = header.push(sidebar::tag("left"));
        }
        header = header.push(iced::widget::space::horizontal());
        let shown = self.members.is_some();
        header = header.push(
            button(text(if shown { "Hide members" } else { "Members" }).size(12))
                .padding([4, 10])
                .style(if shown {
                    button::secondary
                } else {
                    button::primary
                })
                .on_press(Message::ToggleMembers),
        );
        let chat = column![
            container(header).padding(12).width(Length::Fill),
            open.view(Some(context)).map(Message::Conversation)
        ];
        match &self.members {
            Some(members) if members.group() == group.id => row![
                container(chat).width(Length::Fill),
                members
                    .view(
                        group,
                        &self.contacts,
                        &self.identity.peer_id,
                        &self.identity.name
                    )
                    .map(Message::Members),
            ]
            .into(),
            _ => chat.into(),
        }
    }

    fn header<'a>(&self, title: String, contact: Option<&'a ContactInfo>) -> Element<'a, Message> {
        let mut header = row![text(title).size(20)]
            .spacing(12)
            .align_y(iced::Alignment::Center);
        if let Some(contact) = contact {
            header = header.push(sidebar::presence(contact));
            if contact.state == wren_core::ContactState::Pending {
                header = header.push(text("waiting for them to accept").style(theme::muted));
            }
            header = header.push(iced::widget::space::horizontal());
            if contact.verified {
                header = header.push(text("✓ verified").style(theme::colored(theme::ONLINE)));
            } else {
                header = header.push(
                    column![
                        text(format!("Safety number: {}", contact.safety_number))
                            .size(11)
                            .style(theme::muted),
                        button(text("Mark verified").size(12)).on_press(Message::Verify),
                    ]
                    .spacing(4)
                    .align_x(iced::Alignment::End),
                );
            }
        }
        container(header).padding(12).width(Length::Fill).into()
    }
}

/// A contact's name as the user knows it: the alias, else the display
/// name, else a short peer id.
pub fn contact_name(contact: &ContactInfo) -> String {
    contact
        .alias
        .clone()
        .filter(|a| !a.is_empty())
        .or_else(|| (!contact.name.is_empty()).then(|| contact.name.clone()))
        .unwrap_or_else(|| crate::format::short_peer(&contact.peer_id))
}

/// Who `peer_id` is: a contact's name ([`contact_name`]), else a short
/// peer id (group members need not be our contacts).
pub fn name_of(peer_id: &str, contacts: &HashMap<String, ContactInfo>) -> String {
    contacts
        .get(peer_id)
        .map(contact_name)
        .unwrap_or_else(|| crate::format::short_peer(peer_id))
}

/// Who a member of `group` is: a contact's name ([`contact_name`]), else
/// the name the member gave itself (group peers introduced by an admin),
/// else a short peer id.
pub fn member_name(
    peer_id: &str,
    contacts: &HashMap<String, ContactInfo>,
    group: &wren_core::GroupInfo,
) -> String {
    match (contacts.get(peer_id), group.names.get(peer_id)) {
        (Some(contact), _) => contact_name(contact),
        (None, Some(name)) => name.clone(),
        (None, None) => crate::format::short_peer(peer_id),
    }
}
