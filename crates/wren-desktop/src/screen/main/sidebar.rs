//! The sidebar: who I am, the pairing and new group buttons, and the
//! conversations, direct and groups', most recent first.

use std::collections::{HashMap, HashSet};

use iced::widget::{button, column, container, row, scrollable, text};
use iced::{Alignment, Element, Length};
use wren_core::{ContactInfo, ConversationInfo, GroupInfo, Identity, Path};

use super::{Message, Panel};
use crate::format;
use crate::theme;

/// The sidebar's width.
const WIDTH: f32 = 300.0;

/// The sidebar. Contacts (and groups) without a conversation yet are
/// listed after the conversations.
pub fn view<'a>(
    identity: &'a Identity,
    conversations: &'a [ConversationInfo],
    contacts: &'a HashMap<String, ContactInfo>,
    groups: &'a HashMap<String, GroupInfo>,
    selected: Option<&str>,
    pending_requests: usize,
    panel: Panel,
) -> Element<'a, Message> {
    let now = format::now_ms();
    let zone = format::local_zone();
    let requests_label = if pending_requests == 0 {
        "Requests".to_owned()
    } else {
        format!("Requests ({pending_requests})")
    };
    let actions = row![
        tab("My code", Panel::MyCode, panel),
        tab("Add contact", Panel::AddContact, panel),
        tab("New group", Panel::NewGroup, panel),
        tab(requests_label, Panel::Requests, panel),
    ]
    .spacing(4)
    .wrap()
    .vertical_spacing(4);

    let mut list = column![].spacing(2);
    let mut listed = HashSet::new();
    for conversation in conversations {
        listed.insert(conversation.contact.as_str());
        let group = conversation.group.as_ref().and_then(|id| groups.get(id));
        let text = conversation.last_preview.as_deref().unwrap_or("");
        // A group's preview names who wrote it.
        let preview = match (&conversation.group, &conversation.last_from) {
            (Some(_), Some(from)) if *from == identity.peer_id => format!("You: {text}"),
            (Some(_), Some(from)) => match group {
                Some(group) => format!("{}: {text}", super::member_name(from, contacts, group)),
                None => format!("{}: {text}", super::name_of(from, contacts)),
            },
            _ => text.to_owned(),
        };
        list = list.push(entry(
            &conversation.title,
            &conversation.contact,
            preview,
            (conversation.last_activity > 0)
                .then(|| format::short(conversation.last_activity, now, &zone)),
            conversation.unread,
            Kind::of(contacts.get(&conversation.contact), group),
            selected == Some(conversation.contact.as_str()),
        ));
    }
    let mut unlisted: Vec<&GroupInfo> = groups
        .values()
        .filter(|g| !listed.contains(g.id.as_str()))
        .collect();
    unlisted.sort_by(|a, b| a.name.cmp(&b.name));
    for group in unlisted {
        list = list.push(entry(
            &group.name,
            &group.id,
            String::new(),
            None,
            0,
            Kind::Group(group),
            selected == Some(group.id.as_str()),
        ));
    }
    let mut others: Vec<&ContactInfo> = contacts
        .values()
        .filter(|c| !listed.contains(c.peer_id.as_str()))
        .collect();
    others.sort_by(|a, b| a.name.cmp(&b.name));
    for contact in others {
        list = list.push(entry(
            contact.alias.as_deref().unwrap_or(&contact.name),
            &contact.peer_id,
            String::new(),
            None,
            0,
            Kind::Contact(contact),
            selected == Some(contact.peer_id.as_str()),
        ));
    }

    container(
        column![
            row![
                column![
                    text(&identity.name).size(18),
                    text("Wren").size(11).style(theme::muted)
                ]
                .spacing(2)
                .width(Length::Fill),
                tab("Settings", Panel::Settings, panel),
            ]
            .align_y(Alignment::Center),
            actions,
            scrollable(list).height(Length::Fill),
        ]
        .spacing(12)
        .padding(10),
    )
    .width(WIDTH)
    .height(Length::Fill)
    .style(theme::sidebar)
    .into()
}

fn tab<'a>(label: impl Into<String>, target: Panel, shown: Panel) -> Element<'a, Message> {
    let label: String = label.into();
    let button = button(text(label).size(12)).padding([4, 8]);
    if target == shown {
        button
            .on_press(Message::Show(Panel::Chat))
            .style(button::secondary)
    } else {
        button.on_press(Message::Show(target))
    }
    .into()
}

/// The contact's presence: online (direct), relayed, or nothing.
pub fn presence<'a>(contact: &ContactInfo) -> Element<'a, Message> {
    match (contact.online, contact.path) {
        (true, Some(Path::Relayed)) => text("● relayed")
            .size(11)
            .style(theme::colored(theme::RELAYED))
            .into(),
        (true, _) => text("● online")
            .size(11)
            .style(theme::colored(theme::ONLINE))
            .into(),
        (false, _) => text("").size(11).into(),
    }
}

/// A small label beside a name (`channel`, `left`, `admin`, `you`).
pub fn tag<'a, M: 'a>(label: &'a str) -> Element<'a, M> {
    container(text(label).size(10))
        .padding([1, 6])
        .style(theme::tag)
        .into()
}

/// Whom a sidebar entry is for.
#[derive(Clone, Copy)]
enum Kind<'a> {
    /// A contact.
    Contact(&'a ContactInfo),
    /// A group.
    Group(&'a GroupInfo),
    /// Not known (yet): neither a contact nor a listed group.
    Unknown,
}

impl<'a> Kind<'a> {
    fn of(contact: Option<&'a ContactInfo>, group: Option<&'a GroupInfo>) -> Self {
        match (contact, group) {
            (_, Some(group)) => Self::Group(group),
            (Some(contact), None) => Self::Contact(contact),
            (None, None) => Self::Unknown,
        }
    }
}

fn entry<'a>(
    title: &'a str,
    target: &'a str,
    preview: String,
    time: Option<String>,
    unread: u64,
    kind: Kind<'a>,
    selected: bool,
) -> Element<'a, Message> {
    let avatar = container(text(format::initials(title)).size(14))
        .center_x(40)
        .center_y(40)
        .style(match kind {
            Kind::Group(_) => theme::group_avatar,
            _ => theme::avatar,
        });
    let mut name = row![text(title).size(15)]
        .spacing(6)
        .align_y(Alignment::Center);
    match kind {
        Kind::Contact(contact) => name = name.push(presence(contact)),
        Kind::Group(group) => {
            if group.channel {
                name = name.push(tag("channel"));
            }
            if !group.member {
                name = name.push(tag("left"));
            }
        }
        Kind::Unknown => {}
    }
    // One line: a multi-line message would make the entry taller.
    let preview = preview
        .split_whitespace()
        .flat_map(|word| std::iter::once(' ').chain(word.chars()))
        .skip(1)
        .take(40)
        .collect::<String>();
    // Clipped at the entry's edge rather than wrapped onto a second line.
    let preview = text(preview)
        .size(12)
        .style(theme::muted)
        .wrapping(text::Wrapping::None);
    let preview = container(preview).width(Length::Fill).clip(true);
    let middle = column![name, preview].spacing(2).width(Length::Fill);
    let mut right = column![text(time.unwrap_or_default()).size(11).style(theme::muted)]
        .spacing(4)
        .align_x(Alignment::End);
    if unread > 0 {
        right = right.push(
            container(text(unread.to_string()).size(11))
                .padding([1, 6])
                .style(theme::badge),
        );
    }
    button(
        row![avatar, middle, right]
            .spacing(10)
            .align_y(Alignment::Center),
    )
    .width(Length::Fill)
    .padding(6)
    .style(theme::conversation_entry(selected))
    .on_press(Message::Select(target.to_owned()))
    .into()
}
