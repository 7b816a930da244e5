//! Every table of the store, in one place, and the schema version.
//!
//! Values marked *sealed* are `seal` outputs (XChaCha20-Poly1305 under the
//! storage key, bound to table name and key). Keys are never sealed: they
//! are ids, sequence numbers and timestamps, which is the metadata a local
//! attacker with the file learns (documented in the crate docs).

use redb::TableDefinition;

/// The schema version this release writes. Version 1 stored one sealed
/// record per message; version 2 stores messages in sealed blocks; version
/// 3 adds the group tables (ops, chains, receivers, publication queue) and
/// gives group conversations their 32-byte id; version 4 adds the group
/// order index ([`GROUP_ORDER`]).
pub const SCHEMA_VERSION: u32 = 4;

/// Store metadata: `"schema_version"` → u32 (codec), `"key_wrap"` → the
/// wrapped storage key. Not sealed: it is what unlocks the seal.
pub const META: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("meta");

/// The local identity: `"self"` → sealed identity record (seed, display name).
pub const IDENTITY: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("identity");

/// Signed prekeys: `"current"` → sealed `SignedPrekeys::to_bytes`.
pub const SIGNED_PREKEYS: TableDefinition<'static, &str, &[u8]> =
    TableDefinition::new("signed_prekeys");

/// One-time prekeys: prekey id → sealed `OneTimePrekeyPair::to_bytes`.
pub const ONE_TIME_PREKEYS: TableDefinition<'static, u32, &[u8]> =
    TableDefinition::new("one_time_prekeys");

/// Contacts: identity key → sealed contact record.
pub const CONTACTS: TableDefinition<'static, [u8; 32], &[u8]> = TableDefinition::new("contacts");

/// The direct conversation of each contact: identity key → conversation id.
pub const DIRECT_CONVERSATIONS: TableDefinition<'static, [u8; 32], u64> =
    TableDefinition::new("direct_conversations");

/// Ratchet sessions: identity key → sealed `SessionBook::to_bytes` (active
/// session plus its bounded archive).
pub const SESSIONS: TableDefinition<'static, [u8; 32], &[u8]> = TableDefinition::new("sessions");

/// Conversations: conversation id → sealed conversation record.
pub const CONVERSATIONS: TableDefinition<'static, u64, &[u8]> =
    TableDefinition::new("conversations");

/// Activity index: (last activity ms, conversation id) → (). Maintained with
/// the conversation record, read newest first for the conversation list.
pub const ACTIVITY: TableDefinition<'static, (u64, u64), ()> = TableDefinition::new("activity");

/// Messages, in blocks: (conversation id, first sequence of the block) →
/// sealed block of up to [`BLOCK_MAX_MESSAGES`](crate::BLOCK_MAX_MESSAGES)
/// consecutive messages. The block holding sequence `s` is the last key at
/// or below `(conversation, s)`.
pub const MESSAGE_BLOCKS: TableDefinition<'static, (u64, u64), &[u8]> =
    TableDefinition::new("message_blocks");

/// Schema version 1 only: (conversation id, sequence) → sealed message
/// record, one per message. Migration to version 2 moves its rows into
/// [`MESSAGE_BLOCKS`] and deletes it.
pub(crate) const MESSAGES_V1: TableDefinition<'static, (u64, u64), &[u8]> =
    TableDefinition::new("messages");

/// Message-id index: message id → (conversation id, sequence). Deduplicates
/// incoming messages.
pub const MESSAGE_IDS: TableDefinition<'static, [u8; 16], (u64, u64)> =
    TableDefinition::new("message_ids");

/// Outbox: entry id → outbox record, **not sealed** (since schema version
/// 2). Its envelope is end-to-end ciphertext, exactly the bytes the network
/// and relays see when it is sent; the rest (recipient, conversation,
/// sequence, attempts, retry time) is metadata the other tables' keys
/// already show. Sealing it again would protect nothing and cost a seal per
/// message on the write path.
pub const OUTBOX: TableDefinition<'static, u64, &[u8]> = TableDefinition::new("outbox");

/// Outbox schedule: (next retry ms, entry id) → (). Maintained with the
/// outbox, so that "due" is a range read.
pub const OUTBOX_DUE: TableDefinition<'static, (u64, u64), ()> = TableDefinition::new("outbox_due");

/// Contact requests received: sender identity key → sealed request record.
pub const CONTACT_REQUESTS: TableDefinition<'static, [u8; 32], &[u8]> =
    TableDefinition::new("contact_requests");

/// Settings: name → sealed bytes.
pub const SETTINGS: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("settings");

/// Groups: group id → sealed group record (conversation, the epoch of our
/// chain, whether we left). Since schema version 3 (reserved with a 16-byte
/// key before, never written).
pub const GROUPS: TableDefinition<'static, [u8; 32], &[u8]> = TableDefinition::new("groups");

/// Schema version 2 only: the reserved group table with a 16-byte key.
/// Migration to version 3 deletes it (it was always empty).
pub(crate) const GROUPS_V2: TableDefinition<'static, [u8; 16], &[u8]> =
    TableDefinition::new("groups");

/// Schema version 2 only: reserved, never written; deleted by the
/// migration to version 3 (replaced by [`GROUP_RECEIVERS`]).
pub(crate) const GROUP_MEMBERS_V2: TableDefinition<'static, ([u8; 16], [u8; 32]), &[u8]> =
    TableDefinition::new("group_members");

/// Group op frames: (group id, op id) → sealed op frame, accepted and
/// pending alike (the state is rebuilt by applying them all, in any order).
pub const GROUP_OPS: TableDefinition<'static, ([u8; 32], [u8; 32]), &[u8]> =
    TableDefinition::new("group_ops");

/// Our sending chain per group: group id → sealed `SenderKey::to_bytes`.
pub const GROUP_SENDER_KEYS: TableDefinition<'static, [u8; 32], &[u8]> =
    TableDefinition::new("group_sender_keys");

/// The receiver kept per (group id, member identity key) → sealed
/// `SenderKeyReceiver::to_bytes`.
pub const GROUP_RECEIVERS: TableDefinition<'static, ([u8; 32], [u8; 32]), &[u8]> =
    TableDefinition::new("group_receivers");

/// Group frames waiting to be published: (group id, message id) → group
/// envelope frame, **not sealed** (sender-key ciphertext, the bytes the
/// topic carries; see [`OUTBOX`]).
pub const GROUP_PUBLISH: TableDefinition<'static, ([u8; 32], [u8; 16]), &[u8]> =
    TableDefinition::new("group_publish");

/// Group order index (since schema version 4): (conversation id, sort
/// time, `sent_at`, message id) → sequence, one row per message of a group
/// conversation, written in the transaction that stores the message. The
/// key is the message's `wren_proto::group::HistoryKey` (docs/protocol.md
/// §G9), so reading the conversation's rows in key order gives the group's
/// history in the order every member shows. Not sealed: it is an index,
/// and shows each group message's send time (see the crate docs).
pub const GROUP_ORDER: TableDefinition<'static, (u64, u64, u64, [u8; 16]), u64> =
    TableDefinition::new("group_order");

/// Group peers (members of our groups who are not contacts, docs/protocol.md
/// §G13): identity key → sealed group-peer record (since schema version 4;
/// the migration creates it empty, and readers treat a missing table as
/// empty).
pub const GROUP_PEERS: TableDefinition<'static, [u8; 32], &[u8]> =
    TableDefinition::new("group_peers");

/// Per-member receipts of our group messages (docs/protocol.md §G9):
/// (message id, member identity key) → 1 (delivered) or 2 (read), written
/// in the transaction that processes the member's receipt and never moved
/// back; at most `MAX_GROUP_MEMBERS` rows per message. Since schema version
/// 4 (created empty by the migration; readers treat a missing table as
/// empty). Not sealed: an index, showing which member has which of our
/// group messages (see the crate docs).
pub const GROUP_RECEIPTS: TableDefinition<'static, ([u8; 16], [u8; 32]), u8> =
    TableDefinition::new("group_receipts");

/// Held group frames (docs/protocol.md §G8, *Receiving*): (group id,
/// message id = SHA-256 of the frame) → sealed held-frame record (which
/// hold it is in, when it was held, the group envelope frame as it
/// arrived). A frame waits here while its sender's chain or the op
/// admitting its sender is on its way, so that a frame already
/// acknowledged to its sender survives a restart; it is removed when it
/// leaves its hold. At most
/// [`MAX_HELD_GROUP_FRAMES`](crate::MAX_HELD_GROUP_FRAMES) rows. Added
/// without a schema version bump, like [`GROUP_PEERS`]: created with the
/// other tables and by the first write in an older version 4 store;
/// readers treat a missing table as empty. Sealed: the frame itself is
/// sender-key ciphertext, but it names its sender's identity key, which
/// the other tables do not show next to a group.
pub const GROUP_HELD: TableDefinition<'static, ([u8; 32], [u8; 32]), &[u8]> =
    TableDefinition::new("group_held");

/// Published group frames whose members' receipts are awaited
/// (docs/protocol.md §G12): (group id, message id) → group envelope frame,
/// **not sealed**, like [`GROUP_PUBLISH`]. A frame moves here from
/// [`GROUP_PUBLISH`] in the transaction that records its publication, and
/// leaves when the members who did not confirm it got their pairwise copy,
/// so that a sender restarting within the receipt wait still sends them.
/// At most [`MAX_WATCHED_GROUP_FRAMES`](crate::MAX_WATCHED_GROUP_FRAMES)
/// rows. Added without a schema version bump, like [`GROUP_HELD`]; readers
/// treat a missing table as empty.
pub const GROUP_WATCHED: TableDefinition<'static, ([u8; 32], [u8; 16]), &[u8]> =
    TableDefinition::new("group_watched");

/// Key of the schema version in [`META`].
pub(crate) const META_SCHEMA_VERSION: &str = "schema_version";
/// Key of the wrapped storage key in [`META`].
pub(crate) const META_KEY_WRAP: &str = "key_wrap";
/// Key of the local identity in [`IDENTITY`].
pub(crate) const IDENTITY_SELF: &str = "self";
/// Key of the signed prekeys in [`SIGNED_PREKEYS`].
pub(crate) const SIGNED_PREKEYS_CURRENT: &str = "current";
