//! The JSON lines of `run --json` and `history --json`: events out,
//! commands in. Names and meanings are a contract (docs/cli.md): extend,
//! never rename.

use serde::Deserialize;
use serde_json::{Value, json};
use wren_core::{GroupInfo, MessageInfo, NodeEvent, RelayInfo, Status};

/// A command read from stdin.
#[derive(Debug, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum JsonCommand {
    /// Sends a text.
    Send {
        to: String,
        text: String,
        #[serde(rename = "ref", default)]
        reference: Option<Value>,
    },
    /// Adds a contact from a code or a peer id.
    AddContact {
        code: String,
        #[serde(default)]
        alias: Option<String>,
        #[serde(rename = "ref", default)]
        reference: Option<Value>,
    },
    /// Accepts a contact request.
    Accept {
        contact: String,
        #[serde(default)]
        alias: Option<String>,
        #[serde(rename = "ref", default)]
        reference: Option<Value>,
    },
    /// Declines a contact request.
    Decline {
        contact: String,
        #[serde(rename = "ref", default)]
        reference: Option<Value>,
    },
    /// Marks a conversation read (by id or by contact).
    Read {
        conversation: Value,
        #[serde(rename = "ref", default)]
        reference: Option<Value>,
    },
    /// Sends a failed message again.
    Retry {
        id: String,
        #[serde(rename = "ref", default)]
        reference: Option<Value>,
    },
    /// Adds a relay (a relay code or a multiaddr ending in `/p2p/PEER_ID`).
    AddRelay {
        relay: String,
        #[serde(rename = "ref", default)]
        reference: Option<Value>,
    },
    /// Removes a relay (by peer id, code or address).
    RemoveRelay {
        relay: String,
        #[serde(rename = "ref", default)]
        reference: Option<Value>,
    },
    /// Lists the relays with their state.
    Relays {
        #[serde(rename = "ref", default)]
        reference: Option<Value>,
    },
    /// Creates a group with these contacts (a channel: only admins post).
    CreateGroup {
        name: String,
        members: Vec<String>,
        #[serde(default)]
        channel: bool,
        #[serde(rename = "ref", default)]
        reference: Option<Value>,
    },
    /// Adds a contact to a group (an admin only).
    AddMember {
        group: String,
        contact: String,
        #[serde(rename = "ref", default)]
        reference: Option<Value>,
    },
    /// Removes a member from a group (an admin only).
    RemoveMember {
        group: String,
        contact: String,
        #[serde(rename = "ref", default)]
        reference: Option<Value>,
    },
    /// Makes a member an admin (an admin only).
    PromoteMember {
        group: String,
        contact: String,
        #[serde(rename = "ref", default)]
        reference: Option<Value>,
    },
    /// Renames a group (an admin only).
    RenameGroup {
        group: String,
        name: String,
        #[serde(rename = "ref", default)]
        reference: Option<Value>,
    },
    /// Leaves a group.
    LeaveGroup {
        group: String,
        #[serde(rename = "ref", default)]
        reference: Option<Value>,
    },
}

impl JsonCommand {
    /// The command's `ref`, echoed in its answers.
    pub(crate) fn reference(&self) -> Option<&Value> {
        match self {
            Self::Send { reference, .. }
            | Self::AddContact { reference, .. }
            | Self::Accept { reference, .. }
            | Self::Decline { reference, .. }
            | Self::Read { reference, .. }
            | Self::Retry { reference, .. }
            | Self::AddRelay { reference, .. }
            | Self::RemoveRelay { reference, .. }
            | Self::Relays { reference }
            | Self::CreateGroup { reference, .. }
            | Self::AddMember { reference, .. }
            | Self::RemoveMember { reference, .. }
            | Self::PromoteMember { reference, .. }
            | Self::RenameGroup { reference, .. }
            | Self::LeaveGroup { reference, .. } => reference.as_ref(),
        }
    }
}

/// Parses one command line. On failure, the error detail and the `ref` if
/// the line was a JSON object with one.
pub(crate) fn parse_command(line: &str) -> Result<JsonCommand, (String, Option<Value>)> {
    let value: Value =
        serde_json::from_str(line).map_err(|e| (format!("malformed JSON: {e}"), None))?;
    let reference = value.get("ref").cloned();
    match value.get("cmd").and_then(Value::as_str) {
        None => Err(("missing \"cmd\"".to_owned(), reference)),
        Some(_) => {
            serde_json::from_value(value).map_err(|e| (format!("bad command: {e}"), reference))
        }
    }
}

/// Adds `ref` to an event object when there is one.
pub(crate) fn with_ref(mut event: Value, reference: Option<&Value>) -> Value {
    if let (Some(reference), Some(object)) = (reference, event.as_object_mut()) {
        object.insert("ref".to_owned(), reference.clone());
    }
    event
}

/// An `error` event.
pub(crate) fn error(detail: impl std::fmt::Display, reference: Option<&Value>) -> Value {
    with_ref(
        json!({"event": "error", "detail": detail.to_string()}),
        reference,
    )
}

/// Whether `text` has the form of a group id (64 hex digits).
pub(crate) fn is_group_id(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What a `status` event says about one message.
pub(crate) struct StatusLine<'a> {
    /// The message id.
    pub(crate) id: &'a str,
    /// Its conversation.
    pub(crate) conversation: u64,
    /// The new state.
    pub(crate) state: Status,
    /// Why, for a failure.
    pub(crate) detail: Option<&'a str>,
    /// The group id, for a group message.
    pub(crate) group: Option<&'a str>,
    /// The member whose receipt it is (`delivered`/`read` of a group
    /// message).
    pub(crate) member: Option<&'a str>,
}

/// A `status` event. `group` and `member` appear only when set.
pub(crate) fn status(line: &StatusLine<'_>, reference: Option<&Value>) -> Value {
    let mut event = json!({
        "event": "status",
        "id": line.id,
        "conversation": line.conversation,
        "state": line.state.as_str(),
        "detail": line.detail,
    });
    if let Some(fields) = event.as_object_mut() {
        if let Some(group) = line.group {
            fields.insert("group".to_owned(), json!(group));
        }
        if let Some(member) = line.member {
            fields.insert("member".to_owned(), json!(member));
        }
    }
    with_ref(event, reference)
}

/// A group object (`groups list --json`, the `group_created` answer).
pub(crate) fn group(group: &GroupInfo) -> Value {
    json!({
        "group": group.id,
        "name": group.name,
        "channel": group.channel,
        "members": group.members,
        "admins": group.admins,
        "conversation": group.conversation,
        "member": group.member,
        "names": group.names,
    })
}

/// A `group_renamed` line (the event, and without its `ref` the answer
/// to `rename_group`): the group's id and its new name.
pub(crate) fn renamed(group: &str, name: &str) -> Value {
    json!({"event": "group_renamed", "group": group, "name": name})
}

/// A relay object (`relays list --json`, the `relays` answer).
pub(crate) fn relay(relay: &RelayInfo) -> Value {
    json!({
        "relay": relay.peer_id,
        "address": relay.address,
        "state": relay.state,
        "circuit_addrs": relay.circuit_addrs,
        "detail": relay.detail,
    })
}

/// A history message object. `delivered_to` and `read_by` appear only on
/// our own group messages.
pub(crate) fn message(message: &MessageInfo) -> Value {
    let mut object = json!({
        "id": message.id,
        "conversation": message.conversation,
        "seq": message.seq,
        "from": message.from,
        "outgoing": message.outgoing,
        "text": message.text,
        "sent_at": message.sent_at,
        "received_at": message.received_at,
        "status": message.status.as_str(),
        "detail": message.detail,
    });
    if let Some(fields) = object.as_object_mut() {
        if let Some(count) = message.delivered_to {
            fields.insert("delivered_to".to_owned(), json!(count));
        }
        if let Some(count) = message.read_by {
            fields.insert("read_by".to_owned(), json!(count));
        }
    }
    object
}

/// The JSON form of an engine event, if it has one. Status events are
/// built by the caller (they need the command's `ref`).
pub(crate) fn event(event: &NodeEvent) -> Option<Value> {
    Some(match event {
        NodeEvent::Listening { addr } => json!({"event": "listening", "addr": addr.to_string()}),
        NodeEvent::MessageReceived {
            id,
            from,
            alias,
            conversation,
            seq,
            text,
            sent_at,
            group,
        } => {
            let mut line = json!({
                "event": "message",
                "id": id,
                "from": from,
                "alias": alias,
                "conversation": conversation,
                "seq": seq,
                "text": text,
                "sent_at": sent_at,
            });
            if let (Some(group), Some(fields)) = (group, line.as_object_mut()) {
                fields.insert("group".to_owned(), json!(group));
            }
            line
        }
        NodeEvent::StatusChanged {
            id,
            conversation,
            status: state,
            detail,
            group,
            member,
        } => status(
            &StatusLine {
                id,
                conversation: *conversation,
                state: *state,
                detail: detail.as_deref(),
                group: group.as_deref(),
                member: member.as_deref(),
            },
            None,
        ),
        NodeEvent::GroupJoined { group, name } => {
            json!({"event": "group_joined", "group": group, "name": name})
        }
        NodeEvent::MemberAdded { group, contact } => {
            json!({"event": "member_added", "group": group, "contact": contact})
        }
        NodeEvent::MemberRemoved { group, contact } => {
            json!({"event": "member_removed", "group": group, "contact": contact})
        }
        NodeEvent::MemberPromoted { group, contact } => {
            json!({"event": "member_promoted", "group": group, "contact": contact})
        }
        NodeEvent::MemberDemoted { group, contact } => {
            json!({"event": "member_demoted", "group": group, "contact": contact})
        }
        NodeEvent::GroupRenamed { group, name } => renamed(group, name),
        NodeEvent::GroupMessageRefused { group, reason } => {
            json!({"event": "group_message_refused", "group": group, "reason": reason})
        }
        NodeEvent::ContactRequest { from, name } => {
            json!({"event": "contact_request", "from": from, "name": name})
        }
        NodeEvent::ContactAdded { contact, alias } => json!({
            "event": "contact_added",
            "contact": contact,
            "peer_id": contact,
            "alias": alias,
        }),
        NodeEvent::ContactAccepted { contact } => {
            json!({"event": "contact_accepted", "contact": contact})
        }
        NodeEvent::ContactOnline { contact } => {
            json!({"event": "contact_online", "contact": contact})
        }
        NodeEvent::ContactOffline { contact } => {
            json!({"event": "contact_offline", "contact": contact})
        }
        NodeEvent::PeerDiscovered {
            peer_id,
            fingerprint,
        } => json!({"event": "peer_discovered", "peer_id": peer_id, "fingerprint": fingerprint}),
        NodeEvent::PeerExpired { peer_id } => json!({"event": "peer_expired", "peer_id": peer_id}),
        NodeEvent::ContactPath { contact, path } => {
            json!({"event": "contact_path", "contact": contact, "path": path.as_str()})
        }
        NodeEvent::HolePunch {
            contact,
            succeeded,
            detail,
        } => json!({
            "event": "hole_punch",
            "contact": contact,
            "succeeded": succeeded,
            "detail": detail,
        }),
        NodeEvent::RelayReserved { relay, addrs } => {
            json!({"event": "relay_reserved", "relay": relay, "addrs": addrs})
        }
        NodeEvent::RelayLost { relay, reason } => {
            json!({"event": "relay_lost", "relay": relay, "reason": reason})
        }
        NodeEvent::Error { detail } => error(detail, None),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_and_without_ref() {
        let send = parse_command(r#"{"cmd":"send","to":"bob","text":"hi","ref":7}"#).unwrap();
        assert!(matches!(&send, JsonCommand::Send { to, text, .. } if to == "bob" && text == "hi"));
        assert_eq!(send.reference(), Some(&json!(7)));
        let read = parse_command(r#"{"cmd":"read","conversation":3}"#).unwrap();
        assert!(matches!(read, JsonCommand::Read { .. }));
        assert_eq!(read.reference(), None);
    }

    #[test]
    fn group_commands_parse() {
        let create = parse_command(
            r#"{"cmd":"create_group","name":"Friends","members":["bob","cy"],"ref":1}"#,
        )
        .unwrap();
        assert!(matches!(
            &create,
            JsonCommand::CreateGroup { name, members, channel: false, .. }
                if name == "Friends" && members == &["bob", "cy"]
        ));
        assert_eq!(create.reference(), Some(&json!(1)));
        let channel =
            parse_command(r#"{"cmd":"create_group","name":"News","members":[],"channel":true}"#)
                .unwrap();
        assert!(matches!(
            channel,
            JsonCommand::CreateGroup { channel: true, .. }
        ));
        let remove =
            parse_command(r#"{"cmd":"remove_member","group":"ab","contact":"cy","ref":"r"}"#)
                .unwrap();
        assert!(
            matches!(&remove, JsonCommand::RemoveMember { group, contact, .. }
            if group == "ab" && contact == "cy")
        );
        assert_eq!(remove.reference(), Some(&json!("r")));
        assert!(matches!(
            parse_command(r#"{"cmd":"add_member","group":"ab","contact":"di"}"#).unwrap(),
            JsonCommand::AddMember { .. }
        ));
        assert!(matches!(
            parse_command(r#"{"cmd":"leave_group","group":"ab"}"#).unwrap(),
            JsonCommand::LeaveGroup { .. }
        ));
        let promote =
            parse_command(r#"{"cmd":"promote_member","group":"ab","contact":"bob","ref":2}"#)
                .unwrap();
        assert!(
            matches!(&promote, JsonCommand::PromoteMember { group, contact, .. }
            if group == "ab" && contact == "bob")
        );
        assert_eq!(promote.reference(), Some(&json!(2)));
        assert!(parse_command(r#"{"cmd":"promote_member","group":"ab"}"#).is_err());
        let rename =
            parse_command(r#"{"cmd":"rename_group","group":"ab","name":"Book club","ref":"r"}"#)
                .unwrap();
        assert!(
            matches!(&rename, JsonCommand::RenameGroup { group, name, .. }
            if group == "ab" && name == "Book club")
        );
        assert_eq!(rename.reference(), Some(&json!("r")));
        let unreferenced =
            parse_command(r#"{"cmd":"rename_group","group":"ab","name":"x"}"#).unwrap();
        assert_eq!(unreferenced.reference(), None);
        assert!(parse_command(r#"{"cmd":"rename_group","group":"ab"}"#).is_err());
        assert!(parse_command(r#"{"cmd":"rename_group","name":"x"}"#).is_err());
        assert!(
            parse_command(r#"{"cmd":"rename_group","group":"ab","name":"x","to":"y"}"#).is_err(),
            "unknown fields are refused"
        );
        assert!(parse_command(r#"{"cmd":"create_group","name":"x"}"#).is_err());
    }

    #[test]
    fn group_messages_and_statuses_carry_the_group() {
        let group = "ab".repeat(32);
        let received = event(&NodeEvent::MessageReceived {
            id: "m".to_owned(),
            from: "bob-peer".to_owned(),
            alias: Some("bob".to_owned()),
            conversation: 4,
            seq: 1,
            text: "hi".to_owned(),
            sent_at: 9,
            group: Some(group.clone()),
        })
        .unwrap();
        assert_eq!(received["event"], "message");
        assert_eq!(received["group"], json!(group));
        assert_eq!(received["from"], "bob-peer");

        let delivered = event(&NodeEvent::StatusChanged {
            id: "m".to_owned(),
            conversation: 4,
            status: Status::Delivered,
            detail: None,
            group: Some(group.clone()),
            member: Some("cy-peer".to_owned()),
        })
        .unwrap();
        assert_eq!(delivered["event"], "status");
        assert_eq!(delivered["state"], "delivered");
        assert_eq!(delivered["group"], json!(group));
        assert_eq!(delivered["member"], "cy-peer");

        // A direct message's status has neither field.
        let direct = event(&NodeEvent::StatusChanged {
            id: "m".to_owned(),
            conversation: 1,
            status: Status::Sent,
            detail: None,
            group: None,
            member: None,
        })
        .unwrap();
        assert!(direct.get("group").is_none() && direct.get("member").is_none());
    }

    #[test]
    fn only_our_group_messages_carry_receipt_counts() {
        let mut info = MessageInfo {
            id: "m".to_owned(),
            conversation: 4,
            seq: 1,
            from: "ada-peer".to_owned(),
            outgoing: true,
            text: "hi".to_owned(),
            sent_at: 9,
            received_at: 9,
            status: Status::Delivered,
            detail: None,
            delivered_to: Some(2),
            read_by: Some(1),
        };
        let ours = message(&info);
        assert_eq!(ours["delivered_to"], 2);
        assert_eq!(ours["read_by"], 1);
        info.delivered_to = None;
        info.read_by = None;
        let other = message(&info);
        assert!(other.get("delivered_to").is_none() && other.get("read_by").is_none());
    }

    #[test]
    fn membership_events_name_the_group() {
        let group = "cd".repeat(32);
        let joined = event(&NodeEvent::GroupJoined {
            group: group.clone(),
            name: "Friends".to_owned(),
        })
        .unwrap();
        assert_eq!(
            joined,
            json!({"event": "group_joined", "group": group, "name": "Friends"})
        );
        let removed = event(&NodeEvent::MemberRemoved {
            group: group.clone(),
            contact: "cy-peer".to_owned(),
        })
        .unwrap();
        assert_eq!(
            removed,
            json!({"event": "member_removed", "group": group, "contact": "cy-peer"})
        );
        let added = event(&NodeEvent::MemberAdded {
            group: group.clone(),
            contact: "di-peer".to_owned(),
        })
        .unwrap();
        assert_eq!(added["event"], "member_added");
        let promoted = event(&NodeEvent::MemberPromoted {
            group: group.clone(),
            contact: "bob-peer".to_owned(),
        })
        .unwrap();
        assert_eq!(
            promoted,
            json!({"event": "member_promoted", "group": group, "contact": "bob-peer"})
        );
        let demoted = event(&NodeEvent::MemberDemoted {
            group: group.clone(),
            contact: "bob-peer".to_owned(),
        })
        .unwrap();
        assert_eq!(
            demoted,
            json!({"event": "member_demoted", "group": group, "contact": "bob-peer"})
        );
        let renamed_event = event(&NodeEvent::GroupRenamed {
            group: group.clone(),
            name: "Book club".to_owned(),
        })
        .unwrap();
        assert_eq!(
            renamed_event,
            json!({"event": "group_renamed", "group": group, "name": "Book club"})
        );
        // The answer to `rename_group` is the same line with its `ref`.
        assert_eq!(
            with_ref(renamed(&group, "Book club"), Some(&json!(4))),
            json!({"event": "group_renamed", "group": group, "name": "Book club", "ref": 4})
        );
        let refused = event(&NodeEvent::GroupMessageRefused {
            group: group.clone(),
            reason: "not a member".to_owned(),
        })
        .unwrap();
        assert_eq!(refused["event"], "group_message_refused");
        assert_eq!(refused["reason"], "not a member");
    }

    #[test]
    fn group_ids_are_recognised_by_form() {
        assert!(is_group_id(&"0f".repeat(32)));
        assert!(!is_group_id("bob"));
        assert!(!is_group_id(&"0g".repeat(32)));
    }

    #[test]
    fn bad_lines_are_errors_that_keep_the_ref() {
        assert!(parse_command("not json").is_err());
        let (_, reference) = parse_command(r#"{"cmd":"fly","ref":"x"}"#).unwrap_err();
        assert_eq!(reference, Some(json!("x")));
        let (detail, _) = parse_command(r#"{"to":"bob"}"#).unwrap_err();
        assert!(detail.contains("cmd"));
        assert!(parse_command(r#"{"cmd":"send","to":"bob"}"#).is_err());
    }
}
