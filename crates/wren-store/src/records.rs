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
    /// Outgoing, stored by a relay's mailbox for the peer (which was
    /// unreachable); delivered follows with the peer's delivery receipt.
    /// Appended: older stores never hold it.
    Relayed,
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

/// Decodes a fixed-size byte array encoded as a byte string (length
/// prefix, then the bytes): one bounds check and one copy instead of one
/// decoder call per byte. A length other than `N` is a decode error.
mod fixed_bytes {
    use serde::Deserializer;
    use serde::de::{Error, Visitor};

    pub(super) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        deserializer.deserialize_bytes(ArrayVisitor::<N>)
    }

    struct ArrayVisitor<const N: usize>;

    impl<const N: usize> Visitor<'_> for ArrayVisitor<N> {
        type Value = [u8; N];

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(formatter, "a byte string of length {N}")
        }

        fn visit_bytes<E: Error>(self, value: &[u8]) -> Result<[u8; N], E> {
            value
                .try_into()
                .map_err(|_| E::invalid_length(value.len(), &self))
        }
    }
}

/// One message inside a block; its sequence is the block's first sequence
/// plus its position.
///
/// Encoded as a tuple `(head, content, reason)`: `head` a 66-byte string
/// packing the fixed-size fields (id 16 ‖ sender 32 ‖ direction 1 ‖
/// sent_at 8 ‖ received_at 8 ‖ status tag 1, integers big-endian), `content`
/// a byte string, `reason` the failure reason (empty unless the status is
/// failed). Decoding the fixed fields is then one length-checked copy
/// instead of a decoder call per field and per byte, which halves the cost
/// of reading history.
#[derive(Clone)]
pub(crate) struct BlockEntry {
    pub(crate) id: [u8; 16],
    pub(crate) sender: [u8; 32],
    pub(crate) direction: Direction,
    pub(crate) sent_at: u64,
    pub(crate) received_at: u64,
    pub(crate) content: Vec<u8>,
    pub(crate) status: MessageStatus,
}

/// Length of a block entry's packed head.
const HEAD_BYTES: usize = 66;

impl BlockEntry {
    fn head(&self) -> [u8; HEAD_BYTES] {
        let mut head = [0u8; HEAD_BYTES];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            if let Some(slot) = head.get_mut(at..at + bytes.len()) {
                slot.copy_from_slice(bytes);
            }
            at += bytes.len();
        };
        put(&self.id);
        put(&self.sender);
        put(&[match self.direction {
            Direction::Outgoing => 0,
            Direction::Incoming => 1,
        }]);
        put(&self.sent_at.to_be_bytes());
        put(&self.received_at.to_be_bytes());
        put(&[match self.status {
            MessageStatus::Sending => 0,
            MessageStatus::Sent => 1,
            MessageStatus::Delivered => 2,
            MessageStatus::Read => 3,
            MessageStatus::Failed(_) => 4,
            MessageStatus::Received => 5,
            MessageStatus::Relayed => 6,
        }]);
        head
    }

    fn from_parts<E: serde::de::Error>(
        head: [u8; HEAD_BYTES],
        content: Vec<u8>,
        reason: String,
    ) -> Result<Self, E> {
        let head = Head::parse(&head).ok_or_else(|| E::custom("malformed entry head"))?;
        Ok(BlockEntry {
            id: head.id,
            sender: head.sender,
            direction: head.direction,
            sent_at: head.sent_at,
            received_at: head.received_at,
            content,
            status: head.status(reason),
        })
    }
}

/// The fixed-size fields of a block entry, parsed from its packed head.
#[derive(Clone, Copy)]
pub(crate) struct Head {
    pub(crate) id: [u8; 16],
    pub(crate) sender: [u8; 32],
    pub(crate) direction: Direction,
    pub(crate) sent_at: u64,
    pub(crate) received_at: u64,
    status: u8,
}

impl Head {
    /// Parses a packed head; `None` if its length or a tag is wrong.
    pub(crate) fn parse(head: &[u8]) -> Option<Head> {
        let head: &[u8; HEAD_BYTES] = head.try_into().ok()?;
        let (id, rest) = head.split_first_chunk::<16>()?;
        let (sender, rest) = rest.split_first_chunk::<32>()?;
        let (&[direction], rest) = rest.split_first_chunk::<1>()?;
        let (sent_at, rest) = rest.split_first_chunk::<8>()?;
        let (received_at, rest) = rest.split_first_chunk::<8>()?;
        let (&[status], _) = rest.split_first_chunk::<1>()?;
        let direction = match direction {
            0 => Direction::Outgoing,
            1 => Direction::Incoming,
            _ => return None,
        };
        if status > 6 {
            return None;
        }
        Some(Head {
            id: *id,
            sender: *sender,
            direction,
            sent_at: u64::from_be_bytes(*sent_at),
            received_at: u64::from_be_bytes(*received_at),
            status,
        })
    }

    /// The status, with the entry's failure reason.
    pub(crate) fn status(&self, reason: String) -> MessageStatus {
        match self.status {
            0 => MessageStatus::Sending,
            1 => MessageStatus::Sent,
            2 => MessageStatus::Delivered,
            3 => MessageStatus::Read,
            4 => MessageStatus::Failed(reason),
            6 => MessageStatus::Relayed,
            _ => MessageStatus::Received,
        }
    }
}

/// A block entry borrowed from a decrypted block: its parts as slices of
/// the plaintext (decoding copies nothing).
#[derive(Deserialize)]
pub(crate) struct EntryRef<'a> {
    #[serde(borrow)]
    pub(crate) head: &'a [u8],
    #[serde(borrow)]
    pub(crate) content: &'a [u8],
    #[serde(borrow)]
    pub(crate) reason: &'a str,
}

/// A block record borrowed from its plaintext; decodes exactly like
/// [`BlockRecord`].
#[derive(Deserialize)]
pub(crate) enum BlockRecordView<'a> {
    V1(#[serde(borrow)] Vec<EntryRef<'a>>),
}

impl Serialize for BlockEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let reason = match &self.status {
            MessageStatus::Failed(reason) => reason.as_str(),
            _ => "",
        };
        let mut tuple = serializer.serialize_tuple(3)?;
        tuple.serialize_element(&Bytes(&self.head()))?;
        tuple.serialize_element(&Bytes(&self.content))?;
        tuple.serialize_element(reason)?;
        tuple.end()
    }
}

/// A byte slice that serializes as a byte string.
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

impl<'de> Deserialize<'de> for BlockEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Packed {
            #[serde(with = "fixed_bytes")]
            head: [u8; HEAD_BYTES],
            #[serde(with = "wren_proto::codec::bytes")]
            content: Vec<u8>,
            reason: String,
        }
        let Packed {
            head,
            content,
            reason,
        } = Packed::deserialize(deserializer)?;
        BlockEntry::from_parts(head, content, reason)
    }
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
    /// A group's conversation (docs/protocol.md Part VIII). Reserved with
    /// a 16-byte id until schema version 3, and never written before it:
    /// the id is now the 32-byte `GroupId`.
    Group {
        /// The group id.
        group: [u8; 32],
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(status: MessageStatus) -> BlockEntry {
        BlockEntry {
            id: [1; 16],
            sender: [2; 32],
            direction: Direction::Incoming,
            sent_at: 0x0102_0304_0506_0708,
            received_at: u64::MAX,
            content: vec![9; 40],
            status,
        }
    }

    fn decode(bytes: &[u8]) -> Result<BlockEntry, wren_proto::codec::CodecError> {
        wren_proto::codec::decode::<BlockEntry, BLOCK_LIMIT>(bytes)
    }

    #[test]
    fn entries_round_trip_with_every_status() {
        for status in [
            MessageStatus::Sending,
            MessageStatus::Sent,
            MessageStatus::Delivered,
            MessageStatus::Read,
            MessageStatus::Failed("no route".into()),
            MessageStatus::Received,
            MessageStatus::Relayed,
        ] {
            let original = entry(status);
            let bytes = wren_proto::codec::encode(&original).unwrap();
            let decoded = decode(&bytes).unwrap();
            assert_eq!(decoded.head(), original.head());
            assert_eq!(decoded.content, original.content);
            assert_eq!(decoded.status, original.status);
            assert!(entry_cost(&original) >= bytes.len());
        }
    }

    #[test]
    fn unknown_tags_and_short_heads_do_not_decode() {
        let bytes = wren_proto::codec::encode(&entry(MessageStatus::Read)).unwrap();
        // Layout: head length (1 byte, 66) then the head.
        assert_eq!(bytes[0], HEAD_BYTES as u8);
        let direction_at = 1 + 16 + 32;
        let status_at = 1 + HEAD_BYTES - 1;
        for (at, value) in [(direction_at, 2u8), (status_at, 7u8)] {
            let mut bad = bytes.clone();
            bad[at] = value;
            assert!(decode(&bad).is_err());
        }
        let mut short = bytes.clone();
        short[0] = HEAD_BYTES as u8 - 1;
        assert!(decode(&short).is_err());
    }
}
