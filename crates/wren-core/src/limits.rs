//! Every bound and timing constant of the engine, named.
//!
//! None of these is part of the wire contract except the rejection codes
//! in [`reject`], which docs/protocol.md (Part VI) lists.

use std::time::Duration;

/// Capacity of the command channel from [`Node`](crate::Node) handles to
/// the engine task. A full channel makes callers wait, never the engine.
pub const COMMAND_CHANNEL_CAPACITY: usize = 1_024;

/// Capacity of the event channel to the front end. When it is full, events
/// are dropped and counted (see [`crate::event`]).
pub const EVENT_CHANNEL_CAPACITY: usize = 4_096;

/// Capacity of the network layer's event channel to the engine.
pub const NET_EVENT_CAPACITY: usize = 1_024;

/// Most `send_text` commands committed in one store transaction (group
/// commit): the engine drains what is queued, up to this many.
pub const MAX_GROUP_COMMIT: usize = 512;

/// Most inbound `/wren/dm/1` batches committed in one store transaction:
/// batches from other contacts that queued while the engine was busy join
/// the first one (group commit on the receiving side; after a group
/// message, its members' delivery receipts arrive together).
pub const MAX_COALESCED_BATCHES: usize = 64;

/// Most envelopes in the inbound batches committed together (a first batch
/// goes in whatever its size): one transaction stays as large as one full
/// batch.
pub const MAX_COALESCED_ENVELOPES: usize = wren_net::limits::MAX_BATCH;

/// Most contact requests kept waiting for the user's decision. At the
/// limit, a request from a new identity is refused with
/// [`reject::TOO_MANY_REQUESTS`] (the requests already waiting are kept:
/// a flood of new identities cannot push out a real one).
pub const MAX_PENDING_REQUESTS: usize = 64;

/// Most contacts.
pub const MAX_CONTACTS: usize = 10_000;

/// One-time prekeys generated when the pool is refilled.
pub const ONE_TIME_PREKEY_POOL: u32 = 100;

/// The pool is refilled when fewer than this many unused one-time prekeys
/// remain.
pub const ONE_TIME_PREKEY_LOW_WATER: u32 = 20;

/// First retry delay of an outbox entry after a failed attempt.
pub const BACKOFF_INITIAL: Duration = Duration::from_millis(250);

/// The retry delay doubles after each failed attempt, up to this.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Attempts after which an outbox entry is given up (status failed, with
/// the reason). At [`BACKOFF_MAX`] between attempts this is about a week.
pub const MAX_SEND_ATTEMPTS: u32 = 10_080;

/// How long acknowledged sends may wait for another write transaction to
/// carry their bookkeeping (outbox record removed, status delivered) before
/// they are written on their own. `delivered` is reported at once either way.
pub const ACKED_FLUSH_DELAY: Duration = Duration::from_millis(20);

/// Most acknowledged sends waiting for a transaction; at this many they are
/// written at once.
pub const MAX_ACKED_PENDING: usize = 4_096;

/// Sending keys reserved ahead whenever a session is stored: the next this
/// many messages to a contact can go out before the transaction that records
/// them commits (their commit then runs while they travel). A crash burns at
/// most this many keys (the contact skips them).
pub const RESERVED_SENDING_KEYS: u32 = 32;

/// Longest name a node takes for a group (and for its user), in UTF-8
/// bytes: a display name (docs/protocol.md §W4.4), so that a front end can
/// refuse a longer one before asking.
pub const MAX_NAME_BYTES: usize = wren_proto::limits::MAX_DISPLAY_NAME_BYTES;

/// How long a group text we published waits for the delivery receipt of
/// each member that was subscribed when it was sent before that member is
/// sent a pairwise copy (docs/protocol.md §G9): covers a member that
/// dropped before the topic message reached it, or crashed before storing
/// it. The default of [`NodeConfig::group_receipt_wait`](crate::NodeConfig).
pub const GROUP_RECEIPT_WAIT: Duration = Duration::from_secs(30);

/// Most published group texts waiting for receipts at once (each keeps its
/// frame); past it the oldest is settled at once (copies to the members
/// that have not confirmed it).
pub const MAX_WATCHED_PUBLICATIONS: usize = 256;

/// Iterations of our sender key reserved ahead whenever a group's chain is
/// stored: the next this many group texts can be published before the
/// transaction that records them commits (express publishing,
/// docs/protocol.md §G8). A crash burns at most this many iterations (the
/// members skip them).
pub const RESERVED_SENDER_KEYS: u32 = 32;

/// Most messages returned by one `history` call.
pub const MAX_HISTORY_PAGE: usize = 1_000;

/// Most conversations returned by `conversations`.
pub const MAX_CONVERSATIONS: usize = 10_000;

/// Characters of a conversation's last message shown as its preview.
pub const PREVIEW_CHARS: usize = 80;

/// Most message ids in one read receipt (the wire's limit).
pub const MAX_RECEIPT_IDS: usize = wren_proto::limits::MAX_RECEIPT_IDS;

/// Longest alias, in bytes.
pub const MAX_ALIAS_BYTES: usize = 64;

/// Most groups a node keeps (including groups only announced by a chain
/// or a pending op so far).
pub const MAX_GROUPS: usize = 1_024;

/// Most group messages held in memory while their sender's chain is on its
/// way (the oldest is dropped first; gossipsub was told *ignore*).
pub const MAX_HELD_GROUP_MESSAGES: usize = 256;

/// Most group messages held in memory because their sender is not (yet) a
/// member who may post in our state: the op admitting it (an `Add`, a
/// `Promote`) may still be on its way. Separate from
/// [`MAX_HELD_GROUP_MESSAGES`], so that a flood from outsiders cannot push
/// out messages waiting for a chain; the oldest is dropped first.
pub const MAX_HELD_UNADMITTED_MESSAGES: usize = 64;

/// Most group messages waiting to be published, all groups together;
/// `send_text` to a group fails past it.
pub const MAX_PUBLICATIONS: usize = 4_096;

/// How many group message ids are remembered for deduplication.
pub const MAX_SEEN_GROUP_MESSAGES: usize = 8_192;

/// How long a group message waits for every member to be subscribed to
/// the topic before it is published to those who are.
pub const GROUP_PUBLISH_WAIT: Duration = Duration::from_secs(5);

/// How often waiting group messages are tried again (besides every
/// subscription seen).
pub const GROUP_PUBLISH_RETRY: Duration = Duration::from_millis(500);

/// Codes of `/wren/dm/1` "rejected" acknowledgements sent by this engine.
///
/// A sender treats every code except [`PENDING`] as final: the message is
/// marked failed with the code's meaning as the reason.
pub mod reject {
    /// The sender is not a contact and the envelope is not a contact request.
    pub const UNKNOWN_SENDER: u16 = 1;
    /// The envelope does not decode.
    pub const MALFORMED: u16 = 2;
    /// The envelope does not decrypt (no session, wrong keys, too far ahead).
    pub const UNDECRYPTABLE: u16 = 3;
    /// A contact request that is not valid: its identity, the transport's
    /// peer id and its pairing code do not all match, or the code's
    /// signature is bad.
    pub const BAD_REQUEST: u16 = 4;
    /// The sender's contact request is waiting for the user's decision:
    /// retry later (the sender keeps the message in its outbox).
    pub const PENDING: u16 = 5;
    /// Too many contact requests are already waiting.
    pub const TOO_MANY_REQUESTS: u16 = 6;
    /// The envelope kind is not supported (group or mailbox envelopes on
    /// the direct protocol).
    pub const UNSUPPORTED: u16 = 7;
    /// The payload does not decode after decryption.
    pub const BAD_PAYLOAD: u16 = 8;
    /// The receiver failed to store the envelope (its disk, its database).
    pub const STORE_FAILED: u16 = 9;

    /// A short human-readable meaning of a code, for failure reasons.
    pub fn describe(code: u16) -> &'static str {
        match code {
            UNKNOWN_SENDER => "the recipient does not know us (not a contact)",
            MALFORMED => "the recipient could not decode the message",
            UNDECRYPTABLE => "the recipient could not decrypt the message",
            BAD_REQUEST => "the recipient refused our contact request as invalid",
            PENDING => "our contact request is waiting for the recipient's decision",
            TOO_MANY_REQUESTS => "the recipient has too many pending contact requests",
            UNSUPPORTED => "the recipient does not support this kind of message",
            BAD_PAYLOAD => "the recipient could not read the message content",
            STORE_FAILED => "the recipient could not store the message",
            _ => "the recipient refused the message",
        }
    }
}

const _: () = assert!(RESERVED_SENDING_KEYS <= wren_crypto::limits::MAX_RESERVED_SENDING_KEYS);
const _: () = assert!(RESERVED_SENDER_KEYS <= wren_crypto::limits::MAX_RESERVED_SENDER_KEYS);
