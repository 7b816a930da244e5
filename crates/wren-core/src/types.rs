//! The values the [`Node`](crate::Node) API returns.
//!
//! Plain data, `Clone` and serde-serialisable; peer ids are base58 text
//! (`12D3KooW…`), message ids 32 lowercase hex digits, times milliseconds
//! since the Unix epoch.

use std::collections::BTreeMap;

use serde::Serialize;
use wren_net::Multiaddr;

/// This node's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The libp2p peer id, which is also the full identity key.
    pub peer_id: String,
    /// The display name put in pairing codes.
    pub name: String,
    /// The identity's fingerprint: 30 digits in six groups, to read aloud.
    pub fingerprint: String,
}

/// Where a contact relationship stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactState {
    /// We added the contact's code and sent our contact request; the
    /// contact has not answered yet. Messages can already be sent: they are
    /// delivered once the contact accepts.
    Pending,
    /// Both sides are contacts: the contact accepted our request, we
    /// accepted theirs, or both added each other's codes.
    Added,
}

/// A contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactInfo {
    /// The contact's peer id (its identity key).
    pub peer_id: String,
    /// The alias the user gave, if any. An alias or the peer id names the
    /// contact in every `CONTACT` argument.
    pub alias: Option<String>,
    /// The display name from the contact's pairing code.
    pub name: String,
    /// Whether the user marked the safety number as compared.
    pub verified: bool,
    /// Where the relationship stands.
    pub state: ContactState,
    /// Whether a connection to the contact is open now.
    pub online: bool,
    /// How we reach the contact now: `direct`, `relayed` (only through a
    /// relay circuit), or `None` when not connected.
    pub path: Option<Path>,
    /// The safety number of our two identities (60 digits in 12 groups).
    pub safety_number: String,
}

/// A contact request waiting for the user's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestInfo {
    /// The requester's peer id (authenticated by the transport and by the
    /// signed pairing code in the request).
    pub peer_id: String,
    /// The display name from the requester's pairing code.
    pub name: String,
    /// The greeting that came with the request, if any.
    pub greeting: Option<String>,
    /// The safety number of our two identities.
    pub safety_number: String,
    /// When the request arrived (ms since the Unix epoch).
    pub received_at: u64,
}

/// Who a pairing code or peer id names, shown before the user adds it: the
/// user compares the fingerprint or safety number with the other person
/// before trusting the contact. Computed locally; nothing is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactPreview {
    /// The peer id (the identity key).
    pub peer_id: String,
    /// The display name the code carries; `None` for a bare peer id (the
    /// name arrives with its prekey bundle once added).
    pub name: Option<String>,
    /// The identity's fingerprint (30 digits in six groups).
    pub fingerprint: String,
    /// The safety number of our two identities (60 digits in 12 groups).
    pub safety_number: String,
    /// What the user already has with this identity.
    pub known: Known,
    /// Whether mDNS sees it on the local network now.
    pub nearby: bool,
    /// How many relays the code names as ways to reach it.
    pub relays: usize,
}

/// What the user already has with an identity being previewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Known {
    /// Nothing: adding sends a contact request.
    New,
    /// It is already a contact: adding changes nothing.
    Contact,
    /// It asked to be our contact: adding accepts its request.
    Request,
    /// It is our own identity: it cannot be added.
    Myself,
}

/// A Wren node found on the local network by mDNS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NearbyPeer {
    /// Its peer id.
    pub peer_id: String,
    /// Its identity fingerprint (30 digits in six groups).
    pub fingerprint: String,
    /// The addresses it announced.
    pub addrs: Vec<Multiaddr>,
}

/// An outgoing message, durably committed (to history and the outbox).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentMessage {
    /// The message id (32 hex digits).
    pub id: String,
    /// The conversation it belongs to.
    pub conversation: u64,
    /// Its sequence number in the conversation.
    pub seq: u64,
}

/// A group (docs/protocol.md Part VIII) as this node sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupInfo {
    /// The group id: 64 lowercase hex digits, the same string in every
    /// command and event (a `send_text` target, `group` in events).
    pub id: String,
    /// The group's name.
    pub name: String,
    /// A channel: only admins post.
    pub channel: bool,
    /// The members' peer ids, ours included while we are a member.
    pub members: Vec<String>,
    /// The admins' peer ids.
    pub admins: Vec<String>,
    /// The group's conversation (its history).
    pub conversation: u64,
    /// Whether we are a member now (false once we left or were removed).
    pub member: bool,
    /// The display names members gave themselves, by peer id, for those we
    /// know: ourselves, our contacts (the name in their pairing code) and
    /// group peers (the name in the card an admin introduced them with,
    /// docs/protocol.md §G13). Members missing here are known by peer id
    /// only. A contact's alias, if any, is in its `ContactInfo`.
    pub names: BTreeMap<String, String>,
}

/// A conversation's summary: with a contact, or a group's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationInfo {
    /// The conversation id.
    pub id: u64,
    /// The contact's peer id; for a group's conversation, the group id
    /// (as in `group`). Either way, the target that
    /// [`Node::history`](crate::Node::history),
    /// [`Node::send_text`](crate::Node::send_text) and
    /// [`Node::mark_read`](crate::Node::mark_read) take.
    pub contact: String,
    /// The contact's alias, else its display name; a group's name.
    pub title: String,
    /// Incoming messages not yet marked read.
    pub unread: u64,
    /// Last activity (ms since the Unix epoch).
    pub last_activity: u64,
    /// The start of the last text message, if any.
    pub last_preview: Option<String>,
    /// The group id, for a group's conversation (`None`: a direct one).
    pub group: Option<String>,
    /// Who wrote the last text message (a peer id, ours for our own), if
    /// any: a group's preview names its sender.
    pub last_from: Option<String>,
}

/// The delivery state of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Outgoing: durably in the outbox, not yet handed to the network.
    Sending,
    /// Outgoing: handed to the network (a request to the peer is under way).
    Sent,
    /// Outgoing: handed to a relay's mailbox (reserved: no relays yet).
    Relayed,
    /// Outgoing: the peer's device stored it.
    Delivered,
    /// Outgoing: the peer read it. Incoming: the user marked it read.
    Read,
    /// Outgoing: given up; the reason is in the `detail` next to it.
    Failed,
    /// Incoming: stored, not yet read.
    Received,
}

impl Status {
    /// The lowercase name (`"sending"`, `"delivered"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Relayed => "relayed",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
            Self::Received => "received",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text message in a conversation's history.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct MessageInfo {
    /// The message id (32 hex digits).
    pub id: String,
    /// The conversation it belongs to.
    pub conversation: u64,
    /// Its sequence number in the conversation.
    pub seq: u64,
    /// The sender's peer id (ours for outgoing messages).
    pub from: String,
    /// Whether the local user wrote it.
    pub outgoing: bool,
    /// The text.
    pub text: String,
    /// When the sender sent it (ms since the Unix epoch, sender's clock).
    pub sent_at: u64,
    /// When this device stored it (ms since the Unix epoch).
    pub received_at: u64,
    /// Its delivery state.
    pub status: Status,
    /// Why it failed, for [`Status::Failed`].
    pub detail: Option<String>,
    /// For our own group messages: how many other members have it
    /// (delivered or read receipts, one per member; docs/protocol.md §G9).
    /// `None` for direct and incoming messages.
    pub delivered_to: Option<u32>,
    /// For our own group messages: how many other members have read it.
    /// `None` for direct and incoming messages.
    pub read_by: Option<u32>,
}

impl std::fmt::Debug for MessageInfo {
    /// The text's length only: plaintext never goes to logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageInfo")
            .field("id", &self.id)
            .field("conversation", &self.conversation)
            .field("seq", &self.seq)
            .field("outgoing", &self.outgoing)
            .field("text_len", &self.text.len())
            .field("status", &self.status)
            .field("delivered_to", &self.delivered_to)
            .field("read_by", &self.read_by)
            .finish_non_exhaustive()
    }
}

/// How a contact is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Path {
    /// At least one direct connection (possibly hole-punched).
    Direct,
    /// Only through relay circuits.
    Relayed,
}

impl Path {
    /// The name used in events and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Relayed => "relayed",
        }
    }
}

/// Where the reservation on one of our relays stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayState {
    /// Dialing or asking for a reservation.
    Connecting,
    /// Reserved: contacts can reach us through it.
    Reserved,
    /// The last attempt failed; retried later.
    BackingOff,
}

/// One of our relays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayInfo {
    /// The relay's peer id.
    pub peer_id: String,
    /// The address we dial it at (ending in `/p2p/PEER_ID`).
    pub address: String,
    /// Where its reservation stands.
    pub state: RelayState,
    /// Our circuit addresses through it, while reserved.
    pub circuit_addrs: Vec<String>,
    /// The last error, while backing off.
    pub detail: Option<String>,
}
