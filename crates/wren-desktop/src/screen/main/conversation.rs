//! The open conversation: message bubbles with day separators, times and
//! status marks, older history page by page, and the composer.
//!
//! Each message is prepared once, when it enters the conversation (a
//! history page, a received message, the page re-read after a send): its
//! text is parsed into rich text ([`Rich`]) and its local time and day are
//! computed. `view` only lays out what was prepared. Pages are parsed in
//! their loading task, off the GUI's threads, skipping the messages the
//! conversation already has; a single received message is parsed in
//! `update` (its work is bounded, see [`rich::limits`]).
//!
//! A group's conversation is the same component: the parent passes the
//! group ([`GroupContext`]) to `view`, which then names each sender above
//! their bubbles, counts the members' receipts under ours ([`Receipts`]),
//! and replaces the composer when we may not post.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use iced::keyboard::{Key, key::Named};
use iced::widget::scrollable::Viewport;
use iced::widget::text_editor::{Binding, KeyPress, Status as EditorStatus};
use iced::widget::{button, column, container, row, scrollable, text, text_editor};
use iced::{Alignment, Element, Length, Task};
use wren_core::{ContactInfo, GroupInfo, MessageInfo, Node, NodeEvent, SentMessage, Status};

use crate::format::{self, TimeZone};
use crate::rich::{self, Rich};
use crate::theme;

/// Messages per history page.
pub const PAGE: usize = 50;

/// How close to the top (in pixels) loads the previous page.
const LOAD_OLDER_WITHIN: f32 = 40.0;

/// Our group messages whose per-member receipts are counted (the oldest
/// are forgotten beyond it).
pub const MAX_TRACKED_RECEIPTS: usize = 1_024;

/// What a group's conversation shows besides its messages.
#[derive(Debug, Clone, Copy)]
pub struct GroupContext<'a> {
    /// The group.
    pub info: &'a GroupInfo,
    /// Our peer id.
    pub me: &'a str,
    /// The contacts by peer id (senders' names).
    pub contacts: &'a HashMap<String, ContactInfo>,
    /// The members' receipts for our messages.
    pub receipts: &'a Receipts,
}

impl GroupContext<'_> {
    /// Why we may not post, if we may not: no longer a member, or a
    /// reader in a channel.
    pub fn cannot_post(&self) -> Option<&'static str> {
        if !self.info.member {
            Some("You are no longer a member of this group.")
        } else if self.info.channel && !self.info.admins.iter().any(|a| a == self.me) {
            Some("Only admins can post in this channel.")
        } else {
            None
        }
    }
}

/// The members who confirmed delivery or reading of our group messages,
/// from the node's per-member status events (one per member). Kept for
/// the session, for at most [`MAX_TRACKED_RECEIPTS`] messages.
#[derive(Debug, Default)]
pub struct Receipts {
    messages: HashMap<String, MemberReceipts>,
    order: VecDeque<String>,
}

#[derive(Debug, Default)]
struct MemberReceipts {
    delivered: HashSet<String>,
    read: HashSet<String>,
}

impl Receipts {
    /// Records a per-member `delivered` or `read` status event; other
    /// events are ignored.
    pub fn record(&mut self, event: &NodeEvent) {
        let NodeEvent::StatusChanged {
            id,
            status,
            group: Some(_),
            member: Some(member),
            ..
        } = event
        else {
            return;
        };
        if !matches!(status, Status::Delivered | Status::Read) {
            return;
        }
        if !self.messages.contains_key(id) {
            if self.order.len() >= MAX_TRACKED_RECEIPTS
                && let Some(oldest) = self.order.pop_front()
            {
                self.messages.remove(&oldest);
            }
            self.order.push_back(id.clone());
        }
        let receipts = self.messages.entry(id.clone()).or_default();
        receipts.delivered.insert(member.clone());
        if *status == Status::Read {
            receipts.read.insert(member.clone());
        }
    }

    /// For message `id`: how many members have it (delivered or read) and
    /// how many read it; `None` if none reported yet.
    pub fn counts(&self, id: &str) -> Option<(usize, usize)> {
        self.messages
            .get(id)
            .map(|r| (r.delivered.len(), r.read.len()))
    }

    /// How many messages are tracked.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether no message is tracked.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

/// A conversation with one contact, or a group's.
#[derive(Debug)]
pub struct Conversation {
    node: Node,
    contact: String,
    conversation: Option<u64>,
    messages: BTreeMap<u64, Entry>,
    zone: TimeZone,
    composer: text_editor::Content,
    all_loaded: bool,
    loading_older: bool,
    sending: bool,
    error: Option<String>,
}

/// A message and what its bubble shows, prepared once.
#[derive(Debug)]
struct Entry {
    info: MessageInfo,
    rich: Rich,
    day: format::Day,
    time: String,
}

impl Entry {
    fn new(info: MessageInfo, rich: Option<Rich>, zone: &TimeZone) -> Self {
        Self {
            rich: rich.unwrap_or_else(|| Rich::parse(&info.text)),
            day: format::day(info.sent_at, zone),
            time: format::time(info.sent_at, zone),
            info,
        }
    }
}

/// A message of a loaded page, with its rich text if the page's task
/// parsed it (not for messages the conversation already had).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The message.
    pub info: MessageInfo,
    /// Its text, parsed.
    pub rich: Option<Rich>,
}

/// The conversation's input.
#[derive(Debug, Clone)]
pub enum Message {
    /// The newest page was (re)loaded.
    Loaded(Result<Vec<Loaded>, String>),
    /// An older page was loaded.
    Older(Result<Vec<Loaded>, String>),
    /// The composer was edited.
    Edit(text_editor::Action),
    /// Send the composer's text (Enter).
    Send,
    /// The text was committed (or not).
    Sent(Result<SentMessage, String>),
    /// Send a failed message again.
    Retry(String),
    /// The retry was queued (or not).
    Retried(Result<(), String>),
    /// The history was scrolled.
    Scrolled(Viewport),
    /// A link in a message was clicked.
    OpenLink(String),
    /// The link was handed to the system (or not).
    LinkOpened(Result<(), String>),
}

/// What the parent should know.
#[derive(Debug, Clone)]
pub enum Event {
    /// A message was sent (the conversation list changed).
    Sent,
}

impl Conversation {
    /// Opens the conversation with `contact` (a peer id, or a group id),
    /// with its draft, and the task that loads its newest page.
    pub fn new(
        node: Node,
        contact: String,
        conversation: Option<u64>,
        draft: text_editor::Content,
    ) -> (Self, Task<Message>) {
        let conversation = Self {
            node,
            contact,
            conversation,
            messages: BTreeMap::new(),
            zone: format::local_zone(),
            composer: draft,
            all_loaded: false,
            loading_older: false,
            sending: false,
            error: None,
        };
        let task = conversation.load(None, Message::Loaded);
        (conversation, task)
    }

    /// The contact's peer id, or the group id.
    pub fn contact(&self) -> &str {
        &self.contact
    }

    /// The loaded messages, oldest first.
    pub fn messages(&self) -> impl Iterator<Item = &MessageInfo> {
        self.messages.values().map(|entry| &entry.info)
    }

    /// The loaded messages with their rich text, oldest first.
    pub fn rich_messages(&self) -> impl Iterator<Item = (&MessageInfo, &Rich)> {
        self.messages
            .values()
            .map(|entry| (&entry.info, &entry.rich))
    }

    /// The composer's text.
    pub fn draft(&self) -> String {
        self.composer.text()
    }

    /// Sets the conversation id once it is known.
    pub fn set_conversation(&mut self, id: u64) {
        self.conversation = Some(id);
    }

    /// Closes the conversation, handing back its contact and draft.
    pub fn into_draft(self) -> (String, text_editor::Content) {
        (self.contact, self.composer)
    }

    fn load(
        &self,
        before: Option<u64>,
        done: fn(Result<Vec<Loaded>, String>) -> Message,
    ) -> Task<Message> {
        let node = self.node.clone();
        let contact = self.contact.clone();
        let known: HashSet<String> = self.messages.values().map(|e| e.info.id.clone()).collect();
        Task::perform(
            async move {
                let page = node
                    .history(&contact, before, PAGE)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::task::spawn_blocking(move || {
                    page.into_iter()
                        .map(|info| Loaded {
                            rich: (!known.contains(&info.id)).then(|| Rich::parse(&info.text)),
                            info,
                        })
                        .collect()
                })
                .await
                .map_err(|e| e.to_string())
            },
            done,
        )
    }

    fn merge(&mut self, page: Vec<Loaded>) {
        for Loaded { info, rich } in page {
            self.conversation.get_or_insert(info.conversation);
            self.insert(info, rich);
        }
    }

    /// Adds a message, or updates it if it is loaded already (a re-read
    /// page): its text is parsed only the first time (`rich`, if given, is
    /// the parsed text).
    fn insert(&mut self, message: MessageInfo, rich: Option<Rich>) {
        match self.messages.get_mut(&message.seq) {
            Some(entry) if entry.info.id == message.id && entry.info.text == message.text => {
                if entry.info.sent_at != message.sent_at {
                    entry.day = format::day(message.sent_at, &self.zone);
                    entry.time = format::time(message.sent_at, &self.zone);
                }
                entry.info = message;
            }
            _ => {
                let entry = Entry::new(message, rich, &self.zone);
                self.messages.insert(entry.info.seq, entry);
            }
        }
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Loaded(Ok(page)) => self.merge(page),
            Message::Older(Ok(page)) => {
                self.loading_older = false;
                if page.len() < PAGE {
                    self.all_loaded = true;
                }
                self.merge(page);
            }
            Message::Loaded(Err(error)) | Message::Older(Err(error)) => {
                self.loading_older = false;
                self.error = Some(error);
            }
            Message::Edit(action) => self.composer.perform(action),
            Message::Send => {
                let text = self.composer.text();
                let text = text.trim_end_matches('\n');
                if text.trim().is_empty() || self.sending {
                    return (Task::none(), None);
                }
                self.sending = true;
                let node = self.node.clone();
                let contact = self.contact.clone();
                let text = text.to_owned();
                return (
                    Task::perform(
                        async move {
                            node.send_text(&contact, &text)
                                .await
                                .map_err(|e| e.to_string())
                        },
                        Message::Sent,
                    ),
                    None,
                );
            }
            Message::Sent(Ok(_sent)) => {
                self.sending = false;
                self.composer = text_editor::Content::new();
                self.error = None;
                return (self.load(None, Message::Loaded), Some(Event::Sent));
            }
            Message::Sent(Err(error)) => {
                self.sending = false;
                self.error = Some(error);
            }
            Message::Retry(id) => {
                let node = self.node.clone();
                return (
                    Task::perform(
                        async move { node.retry(&id).await.map_err(|e| e.to_string()) },
                        Message::Retried,
                    ),
                    None,
                );
            }
            Message::Retried(Ok(())) => return (self.load(None, Message::Loaded), None),
            Message::Retried(Err(error)) => self.error = Some(error),
            Message::OpenLink(url) => {
                // Links are only produced for these schemes; check again
                // before anything leaves the app.
                if !rich::openable(&url) {
                    self.error = Some(format!("not opening {url:?}: not a web or mail link"));
                    return (Task::none(), None);
                }
                return (Task::perform(open_link(url), Message::LinkOpened), None);
            }
            Message::LinkOpened(Ok(())) => {}
            Message::LinkOpened(Err(error)) => self.error = Some(error),
            Message::Scrolled(viewport) => {
                // The history is anchored to the bottom: the reversed offset
                // is the distance from the top.
                let from_top = viewport.absolute_offset_reversed().y;
                if from_top <= LOAD_OLDER_WITHIN
                    && !self.all_loaded
                    && !self.loading_older
                    && let Some(&oldest) = self.messages.keys().next()
                {
                    self.loading_older = true;
                    return (self.load(Some(oldest), Message::Older), None);
                }
            }
        }
        (Task::none(), None)
    }

    /// Applies a node event to the conversation.
    pub fn on_event(&mut self, event: &NodeEvent) -> Task<Message> {
        match event {
            NodeEvent::MessageReceived {
                id,
                from,
                conversation,
                seq,
                text,
                sent_at,
                group,
                ..
            } if group.as_deref().unwrap_or(from) == self.contact => {
                self.conversation = Some(*conversation);
                self.insert(
                    MessageInfo {
                        id: id.clone(),
                        conversation: *conversation,
                        seq: *seq,
                        from: from.clone(),
                        outgoing: false,
                        text: text.clone(),
                        sent_at: *sent_at,
                        received_at: format::now_ms(),
                        status: Status::Received,
                        detail: None,
                        delivered_to: None,
                        read_by: None,
                    },
                    None,
                );
                Task::none()
            }
            NodeEvent::StatusChanged {
                id,
                conversation,
                status,
                detail,
                member,
                ..
            } if self.conversation.is_none_or(|ours| ours == *conversation) => {
                match self.messages.values_mut().find(|m| m.info.id == *id) {
                    Some(message) => {
                        // A member's receipt moves the message forward only:
                        // a later member's `delivered` does not undo `read`.
                        if member.is_none() || rank(*status) > rank(message.info.status) {
                            message.info.status = *status;
                            message.info.detail = detail.clone();
                        }
                        Task::none()
                    }
                    // Not loaded yet (the send's reply may still be on its
                    // way): re-read the newest page.
                    None if self.conversation.is_some() => self.load(None, Message::Loaded),
                    None => Task::none(),
                }
            }
            _ => Task::none(),
        }
    }

    /// The history and the composer; `group` for a group's conversation.
    pub fn view<'a>(&'a self, group: Option<GroupContext<'a>>) -> Element<'a, Message> {
        let now = format::now_ms();
        let mut history = column![].spacing(6).padding([8, 16]);
        if self.loading_older {
            history = history.push(text("Loading older messages…").style(theme::muted));
        }
        let mut last_day = None;
        // The sender named last: consecutive messages show the name once.
        let mut last_sender: Option<&str> = None;
        for entry in self.messages.values() {
            if last_day != Some(entry.day) {
                last_day = Some(entry.day);
                last_sender = None;
                let label = format::day_label(entry.info.sent_at, now, &self.zone);
                history = history.push(
                    container(
                        container(text(label).size(12))
                            .padding([2, 10])
                            .style(theme::day_separator),
                    )
                    .center_x(Length::Fill),
                );
            }
            let mut status = None;
            if let Some(group) = &group {
                let from = entry.info.from.as_str();
                if entry.info.outgoing {
                    last_sender = None;
                    status = Some(group_status(&entry.info, group));
                } else if last_sender != Some(from) {
                    last_sender = Some(from);
                    history = history.push(
                        text(super::member_name(from, group.contacts, group.info))
                            .size(12)
                            .style(theme::sender(from)),
                    );
                }
            }
            history = history.push(bubble(entry, status));
        }
        let history = scrollable(history)
            .anchor_bottom()
            .on_scroll(Message::Scrolled)
            .height(Length::Fill)
            .width(Length::Fill);

        let blocked = group.as_ref().and_then(GroupContext::cannot_post);
        let composer = text_editor(&self.composer)
            .id("composer")
            .placeholder("Message (Enter sends, Shift+Enter for a new line)")
            .on_action(Message::Edit)
            .key_binding(composer_keys)
            .height(Length::Shrink)
            .padding(8);
        let mut send = button(text("Send"));
        if !self.sending {
            send = send.on_press(Message::Send);
        }
        let bottom: Element<'_, Message> = match blocked {
            Some(why) => container(
                container(text(why).size(13))
                    .padding([8, 12])
                    .width(Length::Fill)
                    .center_x(Length::Fill)
                    .style(theme::notice),
            )
            .padding(8)
            .into(),
            None => row![composer, send]
                .spacing(8)
                .padding(8)
                .align_y(Alignment::End)
                .into(),
        };
        let mut view = column![history, bottom];
        if let Some(error) = &self.error {
            view = view.push(container(text(error).style(theme::danger)).padding([0, 8]));
        }
        view.into()
    }
}

/// Enter sends; Shift+Enter (and everything else) keeps the editor's
/// default behaviour, which inserts a new line.
fn composer_keys(press: KeyPress) -> Option<Binding<Message>> {
    let focused = matches!(press.status, EditorStatus::Focused { .. });
    if focused && press.key == Key::Named(Named::Enter) && !press.modifiers.shift() {
        return Some(Binding::Custom(Message::Send));
    }
    Binding::from_key_press(press)
}

/// A status mark and its word, as shown under my messages.
pub fn status_label(status: Status) -> &'static str {
    match status {
        Status::Sending => "◷ sending",
        Status::Sent => "✓ sent",
        Status::Relayed => "↪ relayed",
        Status::Delivered => "✓✓ delivered",
        Status::Read => "✓✓ read",
        Status::Failed => "⚠ failed",
        Status::Received => "",
    }
}

/// Hands a link to the system's browser or mail client, off the GUI's
/// threads. Only called for links the user clicked.
async fn open_link(url: String) -> Result<(), String> {
    tokio::task::spawn_blocking(move || open::that_detached(&url))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("could not open the link: {e}"))
}

/// How far a status has come, for moving forward only.
fn rank(status: Status) -> u8 {
    match status {
        Status::Received | Status::Failed => 0,
        Status::Sending => 1,
        Status::Sent => 2,
        Status::Relayed => 3,
        Status::Delivered => 4,
        Status::Read => 5,
    }
}

/// Under our message in a group: `✓ 3/4` (members that have it, of the
/// others) and `read by 2`, once members reported; else the plain status
/// mark. The counts are the larger of the stored ones the page was loaded
/// with (`delivered_to`, `read_by`: they survive a restart) and this
/// session's receipt events (newer than the page).
fn group_status(message: &MessageInfo, group: &GroupContext<'_>) -> (String, bool) {
    let stored = match (message.delivered_to, message.read_by) {
        (Some(have), Some(read)) if have > 0 => Some((have as usize, read as usize)),
        _ => None,
    };
    let counts = match (group.receipts.counts(&message.id), stored) {
        (Some((have, read)), Some((stored_have, stored_read))) => {
            Some((have.max(stored_have), read.max(stored_read)))
        }
        (session, stored) => session.or(stored),
    };
    match (message.status, counts) {
        (Status::Sending | Status::Failed, _) | (_, None) => (
            status_label(message.status).to_owned(),
            message.status == Status::Read,
        ),
        (_, Some((have, read))) => {
            let others = group
                .info
                .members
                .iter()
                .filter(|m| *m != group.me)
                .count()
                .max(have);
            let mut label = format!("✓ {have}/{others}");
            if read > 0 {
                label.push_str(&format!(" · read by {read}"));
            }
            (label, read > 0 && read == others)
        }
    }
}

/// A message's bubble; `group_status` replaces the status mark of ours in
/// a group (its label, and whether everyone read it).
fn bubble(entry: &Entry, group_status: Option<(String, bool)>) -> Element<'_, Message> {
    let message = &entry.info;
    let mut meta = row![text(&entry.time).size(11).style(theme::muted)]
        .spacing(6)
        .align_y(Alignment::Center);
    if message.outgoing {
        let (label, all_read) = match group_status {
            Some((label, all_read)) => (label, all_read),
            None => (
                status_label(message.status).to_owned(),
                message.status == Status::Read,
            ),
        };
        let color = match message.status {
            Status::Failed => theme::DANGER,
            _ if all_read => theme::READ,
            _ => theme::MUTED,
        };
        meta = meta.push(text(label).size(11).style(theme::colored(color)));
        if message.status == Status::Failed {
            if let Some(detail) = &message.detail {
                meta = meta.push(text(detail).size(11).style(theme::danger));
            }
            meta = meta.push(
                button(text("Retry").size(11))
                    .padding([2, 8])
                    .on_press(Message::Retry(message.id.clone())),
            );
        }
    }
    let body: Element<'_, Message> = match &entry.rich {
        Rich::Plain => text(&message.text).into(),
        Rich::Blocks(blocks) => rich::view(blocks).map(Message::OpenLink),
    };
    let content = container(column![body, meta].spacing(2))
        .padding([6, 10])
        .max_width(520)
        .style(theme::bubble(message.outgoing));
    let line = container(content).width(Length::Fill);
    if message.outgoing {
        line.align_right(Length::Fill).into()
    } else {
        line.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(delivered_to: Option<u32>, read_by: Option<u32>) -> MessageInfo {
        MessageInfo {
            id: "m".to_owned(),
            conversation: 4,
            seq: 1,
            from: "ada".to_owned(),
            outgoing: true,
            text: "hi".to_owned(),
            sent_at: 1,
            received_at: 1,
            status: Status::Delivered,
            detail: None,
            delivered_to,
            read_by,
        }
    }

    fn receipt(member: &str, status: Status) -> NodeEvent {
        NodeEvent::StatusChanged {
            id: "m".to_owned(),
            conversation: 4,
            status,
            detail: None,
            group: Some("g".to_owned()),
            member: Some(member.to_owned()),
        }
    }

    #[test]
    fn a_group_peer_is_named_by_its_card_and_a_contact_by_its_alias() {
        let mut info = GroupInfo {
            id: "g".to_owned(),
            name: "Family".to_owned(),
            channel: false,
            members: ["ada", "bob", "stranger"].map(str::to_owned).to_vec(),
            admins: vec!["ada".to_owned()],
            conversation: 4,
            member: true,
            names: Default::default(),
        };
        info.names.insert("bob".to_owned(), "Robert".to_owned());
        info.names.insert("ada".to_owned(), "Ada L.".to_owned());
        let mut contacts = HashMap::new();
        contacts.insert(
            "ada".to_owned(),
            ContactInfo {
                peer_id: "ada".to_owned(),
                alias: Some("Mum".to_owned()),
                name: "Ada L.".to_owned(),
                verified: false,
                state: wren_core::ContactState::Added,
                online: false,
                path: None,
                safety_number: String::new(),
            },
        );
        assert_eq!(super::super::member_name("ada", &contacts, &info), "Mum");
        assert_eq!(super::super::member_name("bob", &contacts, &info), "Robert");
        assert_eq!(
            super::super::member_name("stranger", &contacts, &info),
            crate::format::short_peer("stranger")
        );
    }

    #[test]
    fn stored_counts_show_without_events_and_events_raise_them() {
        let info = GroupInfo {
            id: "g".to_owned(),
            name: "Friends".to_owned(),
            channel: false,
            members: ["ada", "bob", "cy"].map(str::to_owned).to_vec(),
            admins: vec!["ada".to_owned()],
            conversation: 4,
            member: true,
            names: Default::default(),
        };
        let contacts = HashMap::new();
        let mut receipts = Receipts::default();
        let label = |receipts: &Receipts, message: &MessageInfo| {
            let group = GroupContext {
                info: &info,
                me: "ada",
                contacts: &contacts,
                receipts,
            };
            group_status(message, &group).0
        };
        // A page loaded after a restart: the stored counts alone.
        assert_eq!(label(&receipts, &ours(Some(1), Some(0))), "✓ 1/2");
        assert_eq!(label(&receipts, &ours(Some(0), Some(0))), "✓✓ delivered");
        // This session's events add to them.
        receipts.record(&receipt("bob", Status::Delivered));
        receipts.record(&receipt("cy", Status::Read));
        assert_eq!(
            label(&receipts, &ours(Some(1), Some(0))),
            "✓ 2/2 · read by 1"
        );
    }
}
