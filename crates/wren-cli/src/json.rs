//! The JSON lines of `run --json` and `history --json`: events out,
//! commands in. Names and meanings are a contract (docs/cli.md): extend,
//! never rename.

use serde::Deserialize;
use serde_json::{Value, json};
use wren_core::{MessageInfo, NodeEvent, RelayInfo, Status};

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
            | Self::Relays { reference } => reference.as_ref(),
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

/// A `status` event.
pub(crate) fn status(
    id: &str,
    conversation: u64,
    state: Status,
    detail: Option<&str>,
    reference: Option<&Value>,
) -> Value {
    with_ref(
        json!({
            "event": "status",
            "id": id,
            "conversation": conversation,
            "state": state.as_str(),
            "detail": detail,
        }),
        reference,
    )
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

/// A history message object.
pub(crate) fn message(message: &MessageInfo) -> Value {
    json!({
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
    })
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
            ..
        } => status(id, *conversation, *state, detail.as_deref(), None),
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
    fn bad_lines_are_errors_that_keep_the_ref() {
        assert!(parse_command("not json").is_err());
        let (_, reference) = parse_command(r#"{"cmd":"fly","ref":"x"}"#).unwrap_err();
        assert_eq!(reference, Some(json!("x")));
        let (detail, _) = parse_command(r#"{"to":"bob"}"#).unwrap_err();
        assert!(detail.contains("cmd"));
        assert!(parse_command(r#"{"cmd":"send","to":"bob"}"#).is_err());
    }
}
