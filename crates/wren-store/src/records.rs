//! The records stored in the tables, as serde types encoded with the one
//! bounded codec (`wren_proto::codec`).
//!
//! Every record is an enum whose variant is its version (`V1`, later `V2`,
//! ...): a new layout is a new variant, and old rows keep decoding. Every
//! read decodes with [`wren_proto::codec::decode`] and the record's `LIMIT`,
//! so a corrupt length cannot make the store allocate without bound.

use serde::{Deserialize, Serialize};

/// Bound on a decoded message record: the largest payload frame plus
/// fields and the decoder's claim slack.
pub(crate) const MESSAGE_LIMIT: usize = wren_proto::limits::MAX_PAYLOAD_BYTES + 1_024;
/// Bound on a decoded outbox record: the largest envelope plus fields.
pub(crate) const OUTBOX_LIMIT: usize = wren_proto::limits::MAX_ENVELOPE_BYTES + 256;
/// Bound on a decoded conversation record.
pub(crate) const CONVERSATION_LIMIT: usize = 1_024;
/// Bound on a decoded contact record.
pub(crate) const CONTACT_LIMIT: usize = 16 * 1_024;
/// Bound on a decoded identity record.
pub(crate) const IDENTITY_LIMIT: usize = 512;
/// Bound on a decoded contact request record.
pub(crate) const CONTACT_REQUEST_LIMIT: usize = wren_proto::limits::MAX_PAYLOAD_BYTES + 512;
/// Bound on a decoded schema version.
pub(crate) const VERSION_LIMIT: usize = 8;

/// Longest failure reason stored with a message status.
pub const MAX_FAILURE_REASON_BYTES: usize = 256;
/// Longest conversation title or contact alias.
pub const MAX_TITLE_BYTES: usize = 256;
/// Most known addresses or relays per contact.
pub const MAX_CONTACT_ADDRESSES: usize = 16;
/// Longest address or relay string.
pub const MAX_ADDRESS_BYTES: usize = 256;

/// The delivery state of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageStatus {
    /// Outgoing, not yet handed to the network.
    Sending,
    /// Outgoing, handed to the peer or a relay.
    Sent,
    /// Outgoing, the peer's device stored it (delivery receipt).
    Delivered,
    /// Outgoing: the peer read it. Incoming: the local user read it.
    Read,
    /// Outgoing, given up; the reason is for the user (at most
    /// [`MAX_FAILURE_REASON_BYTES`]).
    Failed(String),
    /// Incoming, stored.
    Received,
}

/// Who wrote a message, relative to the local user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Written by the local user.
    Outgoing,
    /// Received from a contact.
    Incoming,
}

/// A stored message, as returned by queries.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// The conversation it belongs to.
    pub conversation: u64,
    /// Its sequence number in the conversation (assigned by the store, from 1).
    pub seq: u64,
    /// The protocol message id.
    pub id: [u8; 16],
    /// The sender's identity key.
    pub sender: [u8; 32],
    /// Outgoing or incoming.
    pub direction: Direction,
    /// When the sender sent it (ms since the Unix epoch, sender's clock).
    pub sent_at: u64,
    /// When this device stored it (ms since the Unix epoch).
    pub received_at: u64,
    /// The content: a `wren_proto::Payload` frame.
    pub content: Vec<u8>,
    /// Delivery state.
    pub status: MessageStatus,
}

impl std::fmt::Debug for Message {
    /// The content's length only: plaintext never goes to logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("conversation", &self.conversation)
            .field("seq", &self.seq)
            .field("direction", &self.direction)
            .field("sent_at", &self.sent_at)
            .field("received_at", &self.received_at)
            .field("content_len", &self.content.len())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Most messages sealed together in one message block.
///
/// Messages are stored in blocks of consecutive sequences, each block one
/// sealed value: reading the last 50 messages opens two or three seals
/// instead of fifty, which is what makes history fast to page (every seal
/// costs about a microsecond and a half here whatever its size).
pub const BLOCK_MAX_MESSAGES: usize = 32;

/// A block takes no further message once its entries' estimated size
/// reaches this many bytes, so appending to a block of long messages does
/// not re-seal an ever larger value.
pub const BLOCK_TARGET_BYTES: usize = 8 * 1_024;

/// Estimated encoded size of a block entry (content and failure reason
/// plus every other field at its decoder-accounted width, with margin):
/// never below what it accounts for in the decoder limit.
pub(crate) fn entry_cost(entry: &BlockEntry) -> usize {
    let reason = match &entry.status {
        MessageStatus::Failed(reason) => reason.len(),
        _ => 0,
    };
    entry
        .content
        .len()
        .saturating_add(reason)
        .saturating_add(128)
}

/// Bound on a decoded message block: a block below the target plus one
/// largest message, plus every entry's status growing to the longest
/// failure reason after the block was closed.
pub(crate) const BLOCK_LIMIT: usize = BLOCK_TARGET_BYTES
    + MESSAGE_LIMIT
    + BLOCK_MAX_MESSAGES * (MAX_FAILURE_REASON_BYTES + 128)
    + 1_024;

/// One message inside a block; its sequence is the block's first sequence
/// plus its position.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct BlockEntry {
    pub(crate) id: [u8; 16],
    pub(crate) sender: [u8; 32],
    pub(crate) direction: Direction,
    pub(crate) sent_at: u64,
    pub(crate) received_at: u64,
    #[serde(with = "wren_proto::codec::bytes")]
    pub(crate) content: Vec<u8>,
    pub(crate) status: MessageStatus,
}

impl BlockEntry {
    pub(crate) fn into_message(self, conversation: u64, seq: u64) -> Message {
        Message {
            conversation,
            seq,
            id: self.id,
            sender: self.sender,
            direction: self.direction,
            sent_at: self.sent_at,
            received_at: self.received_at,
            content: self.content,
            status: self.status,
        }
    }
}

/// The block record stored in `message_blocks`, as read.
#[derive(Deserialize)]
pub(crate) enum BlockRecord {
    V1(Vec<BlockEntry>),
}

/// The block record as written (borrowing its entries); encodes exactly
/// like [`BlockRecord`].
#[derive(Serialize)]
pub(crate) enum BlockRecordRef<'a> {
    V1(&'a [BlockEntry]),
}

/// The per-message record of schema version 1 (table `messages`), read
/// only to migrate it into blocks.
#[derive(Serialize, Deserialize)]
pub(crate) enum MessageRecord {
    V1 {
        id: [u8; 16],
        sender: [u8; 32],
        direction: Direction,
        sent_at: u64,
        received_at: u64,
        #[serde(with = "wren_proto::codec::bytes")]
        content: Vec<u8>,
        status: MessageStatus,
    },
}

impl MessageRecord {
    pub(crate) fn into_entry(self) -> BlockEntry {
        let Self::V1 {
            id,
            sender,
            direction,
            sent_at,
            received_at,
            content,
            status,
        } = self;
        BlockEntry {
            id,
            sender,
            direction,
            sent_at,
            received_at,
            content,
            status,
        }
    }
}

/// What kind of conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConversationKind {
    /// With one contact.
    Direct {
        /// The contact's identity key.
        contact: [u8; 32],
    },
    /// RESERVED: a group conversation.
    Group {
        /// The group id.
        group: [u8; 16],
    },
}

/// A conversation's summary, maintained on every write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Its id.
    pub id: u64,
    /// Direct or group.
    pub kind: ConversationKind,
    /// A title chosen by the user (empty: derive from the contact).
    pub title: String,
    /// Incoming messages after the read marker.
    pub unread: u64,
    /// Sequence of the last message, 0 if none.
    pub last_seq: u64,
    /// Messages up to this sequence are read.
    pub read_up_to: u64,
    /// Last activity (ms since the Unix epoch): creation or the last message.
    pub last_activity: u64,
    /// Notifications muted.
    pub muted: bool,
}

/// The conversation record stored in `conversations`.
#[derive(Serialize, Deserialize)]
pub(crate) enum ConversationRecord {
    V1(Conversation),
}

/// Verification state of a contact's identity key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verification {
    /// Paired, safety number not compared.
    Unverified,
    /// Safety number compared in person or by QR code.
    Verified,
    /// The key changed after verification.
    Changed,
}

/// A contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The alias the user gave (at most [`MAX_TITLE_BYTES`]).
    pub alias: String,
    /// Verification state.
    pub verification: Verification,
    /// Known network addresses (multiaddrs, at most [`MAX_CONTACT_ADDRESSES`]).
    pub addresses: Vec<String>,
    /// Relays the contact can be reached through.
    pub relays: Vec<String>,
    /// Blocked: messages from this contact are dropped.
    pub blocked: bool,
    /// When the contact was added (ms since the Unix epoch).
    pub added_at: u64,
}

/// The contact record stored in `contacts`.
#[derive(Serialize, Deserialize)]
pub(crate) enum ContactRecord {
    V1(Contact),
}

/// An outbox entry: an encrypted envelope waiting to be sent.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Its id in the outbox (assigned by the store).
    pub id: u64,
    /// The conversation of the message it carries (0 for none).
    pub conversation: u64,
    /// The message's sequence (0 for none, e.g. a receipt).
    pub seq: u64,
    /// The recipient's identity key.
    pub recipient: [u8; 32],
    /// The `wren_proto::Envelope` frame to send.
    #[serde(with = "wren_proto::codec::bytes")]
    pub envelope: Vec<u8>,
    /// Send attempts so far.
    pub attempts: u32,
    /// When to try next (ms since the Unix epoch).
    pub next_retry_ms: u64,
}

impl std::fmt::Debug for OutboxItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxItem")
            .field("id", &self.id)
            .field("conversation", &self.conversation)
            .field("seq", &self.seq)
            .field("envelope_len", &self.envelope.len())
            .field("attempts", &self.attempts)
            .field("next_retry_ms", &self.next_retry_ms)
            .finish_non_exhaustive()
    }
}

/// The outbox record stored in `outbox`.
#[derive(Serialize, Deserialize)]
pub(crate) enum OutboxRecord {
    V1(OutboxItem),
}

/// The local identity record stored in `identity`.
#[derive(Serialize, Deserialize)]
pub(crate) enum IdentityRecord {
    V1 {
        seed: [u8; 32],
        display_name: String,
    },
}

impl Drop for IdentityRecord {
    fn drop(&mut self) {
        let Self::V1 { seed, .. } = self;
        zeroize::Zeroize::zeroize(seed);
    }
}

/// A contact request received, kept until the user accepts or refuses it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredContactRequest {
    /// The `wren_proto::Payload::ContactRequest` frame.
    #[serde(with = "wren_proto::codec::bytes")]
    pub payload: Vec<u8>,
    /// When it arrived (ms since the Unix epoch).
    pub received_at: u64,
}

impl std::fmt::Debug for StoredContactRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredContactRequest")
            .field("payload_len", &self.payload.len())
            .field("received_at", &self.received_at)
            .finish()
    }
}

/// The record stored in `contact_requests`.
#[derive(Serialize, Deserialize)]
pub(crate) enum ContactRequestRecord {
    V1(StoredContactRequest),
}
