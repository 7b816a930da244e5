//! Typed read and write transactions.
//!
//! A [`ReadTx`] is a snapshot; a [`WriteTx`] is one redb write transaction,
//! committed by [`crate::Store::write`] when its closure returns `Ok` and
//! aborted otherwise. The engine's writes take one struct holding every part
//! of the change ([`Outgoing`], [`Incoming`]), so a ratchet step cannot be
//! committed without the message it produced, nor a message without its
//! outbox or receipt entry.
//!
//! Seal keys: each sealed value is bound to its table name and to its key's
//! canonical bytes (integers big-endian, tuples concatenated, arrays as is).

use redb::{ReadableTable, TableHandle};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wren_crypto::{IdentityKeyPair, OneTimePrekeyPair, SessionBook, SignedPrekeys};
use wren_proto::{Payload, Versioned, codec};

use crate::blocks::{self, CachedBlock};
use crate::error::{Corruption, Result, StoreError};
use crate::key::StorageKey;
use crate::page::MessagePage;
use crate::records::{
    BlockEntry, CONTACT_LIMIT, CONTACT_REQUEST_LIMIT, CONVERSATION_LIMIT, Contact, ContactRecord,
    ContactRequestRecord, Conversation, ConversationKind, ConversationRecord, Direction,
    IDENTITY_LIMIT, IdentityRecord, MAX_FAILURE_REASON_BYTES, Message, MessageStatus, OUTBOX_LIMIT,
    OutboxItem, OutboxRecord, StoredContactRequest, VERSION_LIMIT,
};
use crate::schema;
use crate::seal;

/// Key of the next outbox id counter in `meta`.
const META_OUTBOX_NEXT: &str = "outbox_next";

fn k_u64(value: u64) -> [u8; 8] {
    value.to_be_bytes()
}

fn seal_record<T: Serialize>(
    key: &StorageKey,
    table: &str,
    key_bytes: &[u8],
    value: &T,
) -> Result<Vec<u8>> {
    let plaintext = zeroize::Zeroizing::new(codec::encode(value).map_err(StoreError::Encode)?);
    Ok(seal::seal(key, table, key_bytes, &plaintext))
}

fn open_record<T: DeserializeOwned, const LIMIT: usize>(
    key: &StorageKey,
    table: &'static str,
    key_bytes: &[u8],
    sealed: &[u8],
) -> Result<T, Corruption> {
    let plaintext = seal::open(key, table, key_bytes, sealed)?;
    codec::decode::<T, LIMIT>(&plaintext).map_err(Corruption::Decode)
}

fn corrupt(table: &'static str) -> impl Fn(Corruption) -> StoreError {
    move |corruption| StoreError::Corrupt { table, corruption }
}

fn check_status(status: &MessageStatus) -> Result<()> {
    match status {
        MessageStatus::Failed(reason) if reason.len() > MAX_FAILURE_REASON_BYTES => {
            Err(StoreError::FieldTooLong {
                field: "status reason",
            })
        }
        _ => Ok(()),
    }
}

fn open_one_time_prekey(key: &StorageKey, id: u32, sealed: &[u8]) -> Result<OneTimePrekeyPair> {
    let bytes = seal::open(
        key,
        schema::ONE_TIME_PREKEYS.name(),
        &id.to_be_bytes(),
        sealed,
    )
    .map_err(corrupt("one_time_prekeys"))?;
    OneTimePrekeyPair::from_bytes(&bytes).map_err(|_| StoreError::Corrupt {
        table: "one_time_prekeys",
        corruption: Corruption::KeyMaterial,
    })
}

/// A message that could not be read back, reported in place of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptMessage {
    /// Its conversation.
    pub conversation: u64,
    /// Its sequence.
    pub seq: u64,
    /// What was wrong.
    pub corruption: Corruption,
}

/// Which way a page of messages runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Newest first: the messages *before* the cursor (lower sequences),
    /// highest sequence first. The chat view's "load older".
    NewestFirst,
    /// Oldest first: the messages *after* the cursor (higher sequences),
    /// lowest sequence first. Catching up from a known point.
    OldestFirst,
}

/// A new message, as the engine hands it over.
#[derive(Clone)]
pub struct NewMessage {
    /// The protocol message id.
    pub id: [u8; 16],
    /// The sender's identity key.
    pub sender: [u8; 32],
    /// When the sender sent it (ms since the Unix epoch).
    pub sent_at: u64,
    /// When this device stored it (ms since the Unix epoch); also the
    /// conversation's new last activity.
    pub received_at: u64,
    /// A `wren_proto::Payload` frame.
    pub content: Vec<u8>,
    /// Initial status (`Sending` for outgoing, `Received` for incoming).
    pub status: MessageStatus,
}

impl std::fmt::Debug for NewMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewMessage")
            .field("sent_at", &self.sent_at)
            .field("content_len", &self.content.len())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A new outbox entry: an envelope to send to `recipient`.
#[derive(Clone)]
pub struct NewOutbox {
    /// The recipient's identity key.
    pub recipient: [u8; 32],
    /// The `wren_proto::Envelope` frame.
    pub envelope: Vec<u8>,
    /// When to first try (ms since the Unix epoch); usually now.
    pub next_retry_ms: u64,
}

impl std::fmt::Debug for NewOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOutbox")
            .field("envelope_len", &self.envelope.len())
            .field("next_retry_ms", &self.next_retry_ms)
            .finish_non_exhaustive()
    }
}

/// Everything a sent message changes, committed together by
/// [`WriteTx::record_outgoing`].
#[derive(Debug)]
pub struct Outgoing<'s> {
    /// The conversation it belongs to.
    pub conversation: u64,
    /// The contact's session book after encrypting the message.
    pub session: &'s SessionBook,
    /// The message.
    pub message: NewMessage,
    /// The encrypted envelope to send.
    pub outbox: NewOutbox,
}

/// Everything a received message changes, committed together by
/// [`WriteTx::record_incoming`].
#[derive(Debug)]
pub struct Incoming<'s> {
    /// The conversation it belongs to.
    pub conversation: u64,
    /// The sender's session book after decrypting the message.
    pub session: &'s SessionBook,
    /// The message.
    pub message: NewMessage,
    /// A delivery receipt to send back, if any.
    pub receipt: Option<NewOutbox>,
}

/// What [`WriteTx::record_outgoing`] stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The message's sequence in its conversation.
    pub seq: u64,
    /// The outbox entry's id.
    pub outbox: u64,
}

/// What [`WriteTx::record_incoming`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncomingOutcome {
    /// Stored as a new message.
    Stored {
        /// Its sequence.
        seq: u64,
        /// The receipt's outbox id, if a receipt was given.
        receipt: Option<u64>,
    },
    /// A message with this id is already stored: nothing changed.
    AlreadyStored {
        /// Where the stored one is.
        conversation: u64,
        /// Its sequence.
        seq: u64,
    },
}

// ---------------------------------------------------------------------------
// Queries shared by read and write transactions.

pub(crate) fn get_conversation(
    key: &StorageKey,
    table: &impl ReadableTable<u64, &'static [u8]>,
    id: u64,
) -> Result<Option<Conversation>> {
    let Some(guard) = table.get(id)? else {
        return Ok(None);
    };
    let ConversationRecord::V1(conversation) = open_record::<_, CONVERSATION_LIMIT>(
        key,
        schema::CONVERSATIONS.name(),
        &k_u64(id),
        guard.value(),
    )
    .map_err(corrupt("conversations"))?;
    Ok(Some(conversation))
}

/// The message at `seq`, from the block holding it. `Ok(None)` if no
/// block holds it.
pub(crate) fn get_message(
    key: &StorageKey,
    table: &impl ReadableTable<(u64, u64), &'static [u8]>,
    conversation: u64,
    seq: u64,
) -> Result<Option<Message>> {
    let Some(first) = blocks::floor(table, conversation, seq)? else {
        return Ok(None);
    };
    let Some(guard) = table.get((conversation, first))? else {
        return Ok(None);
    };
    let entries =
        blocks::open(key, conversation, first, guard.value()).map_err(corrupt("message_blocks"))?;
    Ok(blocks::entry(entries, first, seq).map(|entry| entry.into_message(conversation, seq)))
}

fn get_setting(
    key: &StorageKey,
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    name: &str,
) -> Result<Option<Vec<u8>>> {
    let Some(guard) = table.get(name)? else {
        return Ok(None);
    };
    let bytes = seal::open(key, schema::SETTINGS.name(), name.as_bytes(), guard.value())
        .map_err(corrupt("settings"))?;
    Ok(Some(bytes.to_vec()))
}

fn get_session(
    key: &StorageKey,
    table: &impl ReadableTable<[u8; 32], &'static [u8]>,
    contact: &[u8; 32],
) -> Result<Option<SessionBook>> {
    let Some(guard) = table.get(contact)? else {
        return Ok(None);
    };
    let bytes = seal::open(key, schema::SESSIONS.name(), contact, guard.value())
        .map_err(corrupt("sessions"))?;
    SessionBook::from_bytes(&bytes)
        .map(Some)
        .map_err(|_| StoreError::Corrupt {
            table: "sessions",
            corruption: Corruption::KeyMaterial,
        })
}

/// An outbox entry. Not sealed: see [`schema::OUTBOX`].
fn get_outbox(
    table: &impl ReadableTable<u64, &'static [u8]>,
    id: u64,
) -> Result<Option<OutboxItem>> {
    let Some(guard) = table.get(id)? else {
        return Ok(None);
    };
    let OutboxRecord::V1(item) =
        codec::decode::<_, OUTBOX_LIMIT>(guard.value()).map_err(|error| StoreError::Corrupt {
            table: "outbox",
            corruption: Corruption::Decode(error),
        })?;
    Ok(Some(item))
}

/// A read-only snapshot of the store.
pub struct ReadTx<'a> {
    pub(crate) txn: &'a redb::ReadTransaction,
    pub(crate) key: &'a StorageKey,
}

impl ReadTx<'_> {
    /// Opens a table that a store written before the table existed lacks
    /// (added without a schema version bump): `None` then, read as empty.
    pub(crate) fn optional_table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        table: redb::TableDefinition<'static, K, V>,
    ) -> Result<Option<redb::ReadOnlyTable<K, V>>> {
        match self.txn.open_table(table) {
            Ok(table) => Ok(Some(table)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// A conversation's summary.
    pub fn conversation(&self, id: u64) -> Result<Option<Conversation>> {
        let table = self.txn.open_table(schema::CONVERSATIONS)?;
        get_conversation(self.key, &table, id)
    }

    /// Up to `limit` conversations, most recent activity first, each with
    /// its maintained unread count. A corrupt conversation record is
    /// returned as an error in its place.
    pub fn conversations(&self, limit: usize) -> Result<Vec<Result<Conversation>>> {
        let activity = self.txn.open_table(schema::ACTIVITY)?;
        let conversations = self.txn.open_table(schema::CONVERSATIONS)?;
        let mut out = Vec::new();
        for entry in activity.iter()?.rev().take(limit) {
            let (k, _) = entry?;
            let (_, id) = k.value();
            match get_conversation(self.key, &conversations, id) {
                Ok(Some(conversation)) => out.push(Ok(conversation)),
                Ok(None) => {}
                Err(error) => out.push(Err(error)),
            }
        }
        Ok(out)
    }

    /// The direct conversation with a contact, if one exists.
    pub fn direct_conversation(&self, contact: &[u8; 32]) -> Result<Option<u64>> {
        let table = self.txn.open_table(schema::DIRECT_CONVERSATIONS)?;
        Ok(table.get(contact)?.map(|guard| guard.value()))
    }

    /// A page of at most `limit` messages of a conversation, starting next to
    /// `cursor` (a sequence; `None`: from the newest for
    /// [`Order::NewestFirst`], from the oldest for [`Order::OldestFirst`]).
    /// The cursor itself is excluded, so the last item's `seq` is the next
    /// page's cursor. A block that does not open is reported in place, once,
    /// with its first sequence. Owned messages: see [`ReadTx::page`] for
    /// the same without copying.
    pub fn messages(
        &self,
        conversation: u64,
        cursor: Option<u64>,
        order: Order,
        limit: usize,
    ) -> Result<Vec<Result<Message, CorruptMessage>>> {
        Ok(self
            .page(conversation, cursor, order, limit)?
            .into_messages())
    }

    /// [`ReadTx::messages`] as a [`MessagePage`]: the decrypted blocks with
    /// each message located in them, nothing copied.
    pub fn page(
        &self,
        conversation: u64,
        cursor: Option<u64>,
        order: Order,
        limit: usize,
    ) -> Result<MessagePage> {
        let table = self.txn.open_table(schema::MESSAGE_BLOCKS)?;
        let mut page = MessagePage::new(conversation, limit);
        if limit == 0 {
            return Ok(page);
        }
        // Adds a block's wanted messages; returns whether the page is full.
        let add = |page: &mut MessagePage,
                   first: u64,
                   sealed: &[u8],
                   wanted: &dyn Fn(u64) -> bool,
                   newest_first: bool,
                   report_corrupt: bool|
         -> bool {
            match blocks::open_located(self.key, conversation, first, sealed) {
                Ok((plaintext, located)) => {
                    let block = page.add_block(plaintext);
                    let mut push = |l: blocks::Located| {
                        if page.len() < limit && wanted(l.seq) {
                            page.push(l.seq, l.head, block, l.content, l.reason);
                        }
                    };
                    if newest_first {
                        located.into_iter().rev().for_each(&mut push);
                    } else {
                        located.into_iter().for_each(&mut push);
                    }
                }
                Err(corruption) if report_corrupt => page.push_corrupt(CorruptMessage {
                    conversation,
                    seq: first,
                    corruption,
                }),
                Err(_) => {}
            }
            page.len() >= limit
        };
        match order {
            Order::NewestFirst => {
                let end = cursor.unwrap_or(u64::MAX);
                for block in table.range((conversation, 0)..(conversation, end))?.rev() {
                    let (k, v) = block?;
                    if add(
                        &mut page,
                        k.value().1,
                        v.value(),
                        &|seq| seq < end,
                        true,
                        true,
                    ) {
                        break;
                    }
                }
            }
            Order::OldestFirst => {
                let Some(start) = cursor.unwrap_or(0).checked_add(1) else {
                    return Ok(page);
                };
                let from = blocks::floor(&table, conversation, start)?.unwrap_or(start);
                for block in table.range((conversation, from)..=(conversation, u64::MAX))? {
                    let (k, v) = block?;
                    let first = k.value().1;
                    // A damaged block before the cursor was reported on an
                    // earlier page.
                    let report = first >= start;
                    if add(
                        &mut page,
                        first,
                        v.value(),
                        &|seq| seq >= start,
                        false,
                        report,
                    ) {
                        break;
                    }
                }
            }
        }
        Ok(page)
    }

    /// The message with this protocol id.
    pub fn message_by_id(&self, id: &[u8; 16]) -> Result<Option<Message>> {
        let index = self.txn.open_table(schema::MESSAGE_IDS)?;
        let Some((conversation, seq)) = index.get(id)?.map(|guard| guard.value()) else {
            return Ok(None);
        };
        let table = self.txn.open_table(schema::MESSAGE_BLOCKS)?;
        get_message(self.key, &table, conversation, seq)?
            .map(Some)
            .ok_or(StoreError::Corrupt {
                table: "message_blocks",
                corruption: Corruption::Malformed,
            })
    }

    /// Up to `limit` text messages of a conversation whose body contains
    /// `needle` (case-insensitive), newest first.
    ///
    /// Decrypt-and-scan: there is deliberately no search index, because a
    /// plaintext index (words → messages) on disk would leak the history
    /// the seals protect. Records that do not open are skipped.
    pub fn search(&self, conversation: u64, needle: &str, limit: usize) -> Result<Vec<Message>> {
        let needle = needle.to_lowercase();
        let table = self.txn.open_table(schema::MESSAGE_BLOCKS)?;
        let mut out = Vec::new();
        for block in table
            .range((conversation, 0)..=(conversation, u64::MAX))?
            .rev()
        {
            let (k, v) = block?;
            let first = k.value().1;
            let Ok(entries) = blocks::open(self.key, conversation, first, v.value()) else {
                continue;
            };
            for (seq, entry) in blocks::numbered(first, entries).rev() {
                if out.len() >= limit {
                    return Ok(out);
                }
                if let Ok(Payload::Text(text)) = Payload::from_bytes(&entry.content)
                    && text.body.to_lowercase().contains(&needle)
                {
                    out.push(entry.into_message(conversation, seq));
                }
            }
        }
        Ok(out)
    }

    /// The session book with a contact.
    pub fn session(&self, contact: &[u8; 32]) -> Result<Option<SessionBook>> {
        let table = self.txn.open_table(schema::SESSIONS)?;
        get_session(self.key, &table, contact)
    }

    /// A contact.
    pub fn contact(&self, identity: &[u8; 32]) -> Result<Option<Contact>> {
        let table = self.txn.open_table(schema::CONTACTS)?;
        let Some(guard) = table.get(identity)? else {
            return Ok(None);
        };
        let ContactRecord::V1(contact) = open_record::<_, CONTACT_LIMIT>(
            self.key,
            schema::CONTACTS.name(),
            identity,
            guard.value(),
        )
        .map_err(corrupt("contacts"))?;
        Ok(Some(contact))
    }

    /// Every contact, by identity key; a record that does not open is
    /// reported in its place.
    pub fn contacts(&self) -> Result<Vec<([u8; 32], Result<Contact>)>> {
        let table = self.txn.open_table(schema::CONTACTS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (k, v) = entry?;
            let identity = k.value();
            let contact = open_record::<ContactRecord, CONTACT_LIMIT>(
                self.key,
                schema::CONTACTS.name(),
                &identity,
                v.value(),
            )
            .map(|ContactRecord::V1(contact)| contact)
            .map_err(corrupt("contacts"));
            out.push((identity, contact));
        }
        Ok(out)
    }

    /// Every contact request waiting for the user, by sender; a record that
    /// does not open is reported in its place.
    pub fn contact_requests(&self) -> Result<Vec<([u8; 32], Result<StoredContactRequest>)>> {
        let table = self.txn.open_table(schema::CONTACT_REQUESTS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (k, v) = entry?;
            let sender = k.value();
            let request = open_record::<ContactRequestRecord, CONTACT_REQUEST_LIMIT>(
                self.key,
                schema::CONTACT_REQUESTS.name(),
                &sender,
                v.value(),
            )
            .map(|ContactRequestRecord::V1(request)| request)
            .map_err(corrupt("contact_requests"));
            out.push((sender, request));
        }
        Ok(out)
    }

    /// Up to `limit` outbox entries due at `now_ms`, earliest first. An
    /// entry that does not open is reported in its place (with its id), so
    /// the engine can remove it.
    pub fn outbox_due(&self, now_ms: u64, limit: usize) -> Result<Vec<(u64, Result<OutboxItem>)>> {
        let due = self.txn.open_table(schema::OUTBOX_DUE)?;
        let outbox = self.txn.open_table(schema::OUTBOX)?;
        let mut out = Vec::new();
        for entry in due.range((0, 0)..=(now_ms, u64::MAX))?.take(limit) {
            let (k, _) = entry?;
            let (_, id) = k.value();
            match get_outbox(&outbox, id) {
                Ok(Some(item)) => out.push((id, Ok(item))),
                Ok(None) => {}
                Err(error) => out.push((id, Err(error))),
            }
        }
        Ok(out)
    }

    /// The local identity and display name, if created.
    pub fn identity(&self) -> Result<Option<(IdentityKeyPair, String)>> {
        let table = self.txn.open_table(schema::IDENTITY)?;
        let Some(guard) = table.get(schema::IDENTITY_SELF)? else {
            return Ok(None);
        };
        let record = open_record::<IdentityRecord, IDENTITY_LIMIT>(
            self.key,
            schema::IDENTITY.name(),
            schema::IDENTITY_SELF.as_bytes(),
            guard.value(),
        )
        .map_err(corrupt("identity"))?;
        let IdentityRecord::V1 { seed, display_name } = &record;
        Ok(Some((
            IdentityKeyPair::from_secret_bytes(seed),
            display_name.clone(),
        )))
    }

    /// The signed prekeys (current and those in their grace period).
    pub fn signed_prekeys(&self) -> Result<Option<SignedPrekeys>> {
        let table = self.txn.open_table(schema::SIGNED_PREKEYS)?;
        let Some(guard) = table.get(schema::SIGNED_PREKEYS_CURRENT)? else {
            return Ok(None);
        };
        let bytes = seal::open(
            self.key,
            schema::SIGNED_PREKEYS.name(),
            schema::SIGNED_PREKEYS_CURRENT.as_bytes(),
            guard.value(),
        )
        .map_err(corrupt("signed_prekeys"))?;
        SignedPrekeys::from_bytes(&bytes)
            .map(Some)
            .map_err(|_| StoreError::Corrupt {
                table: "signed_prekeys",
                corruption: Corruption::KeyMaterial,
            })
    }

    /// A one-time prekey by id (it stays stored until taken).
    pub fn one_time_prekey(&self, id: u32) -> Result<Option<OneTimePrekeyPair>> {
        let table = self.txn.open_table(schema::ONE_TIME_PREKEYS)?;
        let Some(guard) = table.get(id)? else {
            return Ok(None);
        };
        open_one_time_prekey(self.key, id, guard.value()).map(Some)
    }

    /// A contact request received from `sender`.
    pub fn contact_request(&self, sender: &[u8; 32]) -> Result<Option<StoredContactRequest>> {
        let table = self.txn.open_table(schema::CONTACT_REQUESTS)?;
        let Some(guard) = table.get(sender)? else {
            return Ok(None);
        };
        let ContactRequestRecord::V1(request) = open_record::<_, CONTACT_REQUEST_LIMIT>(
            self.key,
            schema::CONTACT_REQUESTS.name(),
            sender,
            guard.value(),
        )
        .map_err(corrupt("contact_requests"))?;
        Ok(Some(request))
    }

    /// A setting's value.
    pub fn setting(&self, name: &str) -> Result<Option<Vec<u8>>> {
        get_setting(self.key, &self.txn.open_table(schema::SETTINGS)?, name)
    }
}

/// One write transaction: every change made through it commits together or
/// not at all.
pub struct WriteTx<'a> {
    txn: &'a redb::WriteTransaction,
    key: &'a StorageKey,
    /// The hot tables, each opened at most once per transaction (redb
    /// refuses a second handle on an open table, so every access to these
    /// goes through [`lazy`]).
    tables: Tables<'a>,
    /// Conversation summaries read or changed in this transaction; the
    /// changed ones are written (with their activity index entry) by
    /// [`WriteTx::finish`].
    conversations: std::collections::BTreeMap<u64, CachedConversation>,
    /// The session books written in this transaction (contact → encoded
    /// book), sealed and stored by [`WriteTx::finish`].
    sessions: std::collections::BTreeMap<[u8; 32], zeroize::Zeroizing<Vec<u8>>>,
    /// Message blocks read or changed in this transaction, by
    /// (conversation, first sequence); the changed ones are sealed and
    /// written by [`WriteTx::finish`] (or [`WriteTx::flush_blocks`]).
    blocks: std::collections::BTreeMap<(u64, u64), CachedBlock>,
    /// The next outbox id, once read; `dirty` if it must be written back.
    outbox_next: Option<u64>,
    outbox_next_dirty: bool,
}

/// A conversation summary held by a [`WriteTx`].
struct CachedConversation {
    conversation: Conversation,
    /// Its activity index entry's timestamp in the table (`None`: none).
    stored_activity: Option<u64>,
    /// Whether it differs from the table.
    dirty: bool,
}

type TableSlot<'a, K, V> = Option<redb::Table<'a, K, V>>;

#[derive(Default)]
struct Tables<'a> {
    meta: TableSlot<'a, &'static str, &'static [u8]>,
    direct_conversations: TableSlot<'a, [u8; 32], u64>,
    sessions: TableSlot<'a, [u8; 32], &'static [u8]>,
    conversations: TableSlot<'a, u64, &'static [u8]>,
    activity: TableSlot<'a, (u64, u64), ()>,
    message_blocks: TableSlot<'a, (u64, u64), &'static [u8]>,
    message_ids: TableSlot<'a, [u8; 16], (u64, u64)>,
    outbox: TableSlot<'a, u64, &'static [u8]>,
    outbox_due: TableSlot<'a, (u64, u64), ()>,
}

/// The table in `slot`, opened on first use.
fn lazy<'s, 'a, K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &'a redb::WriteTransaction,
    slot: &'s mut TableSlot<'a, K, V>,
    definition: redb::TableDefinition<'static, K, V>,
) -> Result<&'s mut redb::Table<'a, K, V>> {
    let table = match slot.take() {
        Some(table) => table,
        None => txn.open_table(definition)?,
    };
    Ok(slot.insert(table))
}

impl<'a> WriteTx<'a> {
    pub(crate) fn new(txn: &'a redb::WriteTransaction, key: &'a StorageKey) -> Self {
        WriteTx {
            txn,
            key,
            tables: Tables::default(),
            conversations: std::collections::BTreeMap::new(),
            sessions: std::collections::BTreeMap::new(),
            blocks: std::collections::BTreeMap::new(),
            outbox_next: None,
            outbox_next_dirty: false,
        }
    }

    /// Writes what this transaction holds back (conversation summaries,
    /// session books, the outbox counter) and closes its tables; the caller
    /// then commits. Not called when the transaction is aborted.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.flush_blocks()?;
        let sessions = std::mem::take(&mut self.sessions);
        for (contact, bytes) in &sessions {
            let sealed = seal::seal(self.key, schema::SESSIONS.name(), contact, bytes);
            lazy(self.txn, &mut self.tables.sessions, schema::SESSIONS)?
                .insert(contact, sealed.as_slice())?;
        }
        let conversations = std::mem::take(&mut self.conversations);
        for cached in conversations.values().filter(|cached| cached.dirty) {
            self.write_conversation(&cached.conversation, cached.stored_activity)?;
        }
        if self.outbox_next_dirty
            && let Some(next) = self.outbox_next
        {
            let bytes = codec::encode(&next).map_err(StoreError::Encode)?;
            lazy(self.txn, &mut self.tables.meta, schema::META)?
                .insert(META_OUTBOX_NEXT, bytes.as_slice())?;
        }
        Ok(())
    }

    /// Creates a conversation; returns its id (ids are never reused).
    pub fn create_conversation(
        &mut self,
        kind: ConversationKind,
        title: &str,
        now_ms: u64,
    ) -> Result<u64> {
        if title.len() > crate::records::MAX_TITLE_BYTES {
            return Err(StoreError::FieldTooLong { field: "title" });
        }
        let id = {
            let table = lazy(
                self.txn,
                &mut self.tables.conversations,
                schema::CONVERSATIONS,
            )?;
            let last = table.last()?.map(|(k, _)| k.value()).unwrap_or(0);
            last.checked_add(1).ok_or(StoreError::FieldTooLong {
                field: "conversation id",
            })?
        };
        let conversation = Conversation {
            id,
            kind,
            title: title.to_owned(),
            unread: 0,
            last_seq: 0,
            read_up_to: 0,
            last_activity: now_ms,
            muted: false,
        };
        // Written at once: the next id is read from the table.
        self.write_conversation(&conversation, None)?;
        if let ConversationKind::Direct { contact } = kind {
            lazy(
                self.txn,
                &mut self.tables.direct_conversations,
                schema::DIRECT_CONVERSATIONS,
            )?
            .insert(contact, id)?;
        }
        Ok(id)
    }

    /// The direct conversation with a contact, created if absent.
    pub fn direct_conversation(&mut self, contact: &[u8; 32], now_ms: u64) -> Result<u64> {
        let existing = lazy(
            self.txn,
            &mut self.tables.direct_conversations,
            schema::DIRECT_CONVERSATIONS,
        )?
        .get(contact)?
        .map(|guard| guard.value());
        match existing {
            Some(id) => Ok(id),
            None => {
                self.create_conversation(ConversationKind::Direct { contact: *contact }, "", now_ms)
            }
        }
    }

    /// A conversation's summary (sees this transaction's writes).
    pub fn conversation(&self, id: u64) -> Result<Option<Conversation>> {
        if let Some(cached) = self.conversations.get(&id) {
            return Ok(Some(cached.conversation.clone()));
        }
        match &self.tables.conversations {
            Some(table) => get_conversation(self.key, table, id),
            None => {
                let table = self.txn.open_table(schema::CONVERSATIONS)?;
                get_conversation(self.key, &table, id)
            }
        }
    }

    /// The session book with a contact (sees this transaction's writes).
    pub fn session(&self, contact: &[u8; 32]) -> Result<Option<SessionBook>> {
        if let Some(bytes) = self.sessions.get(contact) {
            return SessionBook::from_bytes(bytes.as_slice())
                .map(Some)
                .map_err(|_| StoreError::Corrupt {
                    table: "sessions",
                    corruption: Corruption::KeyMaterial,
                });
        }
        match &self.tables.sessions {
            Some(table) => get_session(self.key, table, contact),
            None => {
                let table = self.txn.open_table(schema::SESSIONS)?;
                get_session(self.key, &table, contact)
            }
        }
    }

    /// The conversation summary held by this transaction, read from the
    /// table on first use.
    fn cached_conversation(&mut self, id: u64) -> Result<&mut CachedConversation> {
        let cached = match self.conversations.remove(&id) {
            Some(cached) => cached,
            None => {
                let table = lazy(
                    self.txn,
                    &mut self.tables.conversations,
                    schema::CONVERSATIONS,
                )?;
                let conversation = get_conversation(self.key, table, id)?
                    .ok_or(StoreError::ConversationNotFound(id))?;
                CachedConversation {
                    stored_activity: Some(conversation.last_activity),
                    conversation,
                    dirty: false,
                }
            }
        };
        Ok(self.conversations.entry(id).or_insert(cached))
    }

    /// Writes a conversation record and moves it in the activity index
    /// (`previous_activity`: where it was, `None` if new).
    fn write_conversation(
        &mut self,
        conversation: &Conversation,
        previous_activity: Option<u64>,
    ) -> Result<()> {
        let sealed = seal_record(
            self.key,
            schema::CONVERSATIONS.name(),
            &k_u64(conversation.id),
            &ConversationRecord::V1(conversation.clone()),
        )?;
        lazy(
            self.txn,
            &mut self.tables.conversations,
            schema::CONVERSATIONS,
        )?
        .insert(conversation.id, sealed.as_slice())?;
        let activity = lazy(self.txn, &mut self.tables.activity, schema::ACTIVITY)?;
        if let Some(previous) = previous_activity {
            activity.remove((previous, conversation.id))?;
        }
        activity.insert((conversation.last_activity, conversation.id), ())?;
        Ok(())
    }

    /// Stores a session book (sealed and written by [`WriteTx::finish`]).
    fn put_session(&mut self, session: &SessionBook) -> Result<[u8; 32]> {
        let contact = session.remote_identity().to_bytes();
        self.sessions.insert(contact, session.to_bytes());
        Ok(contact)
    }

    /// Stores or replaces a contact's session book on its own (e.g. after a
    /// failed decryption that still advanced nothing, or a session reset).
    pub fn set_session(&mut self, session: &SessionBook) -> Result<()> {
        self.put_session(session).map(|_| ())
    }

    /// Seals and writes the changed blocks this transaction holds (they
    /// stay cached, clean).
    fn flush_blocks(&mut self) -> Result<()> {
        for (&(conversation, first), block) in self.blocks.iter_mut().filter(|(_, b)| b.dirty) {
            let sealed = blocks::seal(self.key, conversation, first, &block.entries)?;
            lazy(
                self.txn,
                &mut self.tables.message_blocks,
                schema::MESSAGE_BLOCKS,
            )?
            .insert((conversation, first), sealed.as_slice())?;
            block.dirty = false;
        }
        Ok(())
    }

    /// The first sequence of the block holding `seq`, looking at this
    /// transaction's blocks and the table.
    fn block_floor(&mut self, conversation: u64, seq: u64) -> Result<Option<u64>> {
        let cached = self
            .blocks
            .range((conversation, 0)..=(conversation, seq))
            .next_back()
            .map(|(&(_, first), _)| first);
        let table = lazy(
            self.txn,
            &mut self.tables.message_blocks,
            schema::MESSAGE_BLOCKS,
        )?;
        let stored = blocks::floor(table, conversation, seq)?;
        Ok(cached.max(stored))
    }

    /// The block starting at `first`, decoded into this transaction's
    /// cache on first use. `Ok(None)` if there is none; a block that does
    /// not open is [`StoreError::Corrupt`].
    fn cached_block(&mut self, conversation: u64, first: u64) -> Result<Option<&mut CachedBlock>> {
        if !self.blocks.contains_key(&(conversation, first)) {
            let table = lazy(
                self.txn,
                &mut self.tables.message_blocks,
                schema::MESSAGE_BLOCKS,
            )?;
            let Some(guard) = table.get((conversation, first))? else {
                return Ok(None);
            };
            let entries = blocks::open(self.key, conversation, first, guard.value())
                .map_err(corrupt("message_blocks"))?;
            drop(guard);
            self.blocks
                .insert((conversation, first), CachedBlock::loaded(entries));
        }
        Ok(self.blocks.get_mut(&(conversation, first)))
    }

    /// Puts the entry for `seq` (the conversation's next sequence) into the
    /// newest block if it continues it and has room, else into a new block
    /// starting at `seq`.
    fn put_entry(&mut self, conversation: u64, seq: u64, entry: BlockEntry) -> Result<()> {
        // Fast path: this transaction already holds the conversation's
        // newest block (blocks are only ever created through this cache,
        // so the table has nothing newer) and it has room.
        if let Some((&(_, first), block)) = self
            .blocks
            .range_mut((conversation, 0)..=(conversation, seq))
            .next_back()
            && first.checked_add(block.entries.len() as u64) == Some(seq)
        {
            if block.is_full() {
                let mut block = CachedBlock::loaded(Vec::new());
                block.push(entry);
                self.blocks.insert((conversation, seq), block);
            } else {
                block.push(entry);
            }
            return Ok(());
        }
        if let Some(previous) = seq.checked_sub(1).filter(|&p| p > 0)
            && let Some(first) = self.block_floor(conversation, previous)?
            // A tail block that does not open is left as it is.
            && let Ok(Some(block)) = self.cached_block(conversation, first)
            && !block.is_full()
            && first.checked_add(block.entries.len() as u64) == Some(seq)
        {
            block.push(entry);
            return Ok(());
        }
        let mut block = CachedBlock::loaded(Vec::new());
        block.push(entry);
        self.blocks.insert((conversation, seq), block);
        Ok(())
    }

    fn next_outbox_id(&mut self) -> Result<u64> {
        let current = match self.outbox_next {
            Some(current) => current,
            None => {
                let meta = lazy(self.txn, &mut self.tables.meta, schema::META)?;
                match meta.get(META_OUTBOX_NEXT)? {
                    Some(guard) => {
                        codec::decode::<u64, VERSION_LIMIT>(guard.value()).map_err(|error| {
                            StoreError::Corrupt {
                                table: "meta",
                                corruption: Corruption::Decode(error),
                            }
                        })?
                    }
                    None => 1,
                }
            }
        };
        let next = current
            .checked_add(1)
            .ok_or(StoreError::FieldTooLong { field: "outbox id" })?;
        self.outbox_next = Some(next);
        self.outbox_next_dirty = true;
        Ok(current)
    }

    fn put_outbox(&mut self, item: OutboxItem) -> Result<()> {
        let (id, next_retry_ms) = (item.id, item.next_retry_ms);
        let bytes = codec::encode(&OutboxRecord::V1(item)).map_err(StoreError::Encode)?;
        lazy(self.txn, &mut self.tables.outbox, schema::OUTBOX)?.insert(id, bytes.as_slice())?;
        lazy(self.txn, &mut self.tables.outbox_due, schema::OUTBOX_DUE)?
            .insert((next_retry_ms, id), ())?;
        Ok(())
    }

    fn add_outbox(&mut self, conversation: u64, seq: u64, new: NewOutbox) -> Result<u64> {
        let id = self.next_outbox_id()?;
        self.put_outbox(OutboxItem {
            id,
            conversation,
            seq,
            recipient: new.recipient,
            envelope: new.envelope,
            attempts: 0,
            next_retry_ms: new.next_retry_ms,
        })?;
        Ok(id)
    }

    /// Appends a message to a conversation (next sequence), indexes its id
    /// and updates the conversation's summary. Returns its sequence.
    /// The next sequence of a conversation.
    fn next_seq(&mut self, conversation_id: u64) -> Result<u64> {
        self.cached_conversation(conversation_id)?
            .conversation
            .last_seq
            .checked_add(1)
            .ok_or(StoreError::FieldTooLong { field: "seq" })
    }

    /// Indexes `id` at `at` unless it is already indexed; returns where the
    /// existing one is (the index is then unchanged). One B-tree operation
    /// in the common case instead of a lookup and an insert.
    fn claim_id(&mut self, id: &[u8; 16], at: (u64, u64)) -> Result<Option<(u64, u64)>> {
        let table = lazy(self.txn, &mut self.tables.message_ids, schema::MESSAGE_IDS)?;
        let previous = table.insert(id, at)?.map(|guard| guard.value());
        if let Some(previous) = previous {
            table.insert(id, previous)?;
        }
        Ok(previous)
    }

    /// Appends a message at `seq` (the conversation's next sequence, its id
    /// already claimed) and updates the conversation's summary.
    fn append_message(
        &mut self,
        conversation_id: u64,
        seq: u64,
        message: NewMessage,
        direction: Direction,
    ) -> Result<()> {
        let received_at = message.received_at;
        self.put_entry(
            conversation_id,
            seq,
            BlockEntry {
                id: message.id,
                sender: message.sender,
                direction,
                sent_at: message.sent_at,
                received_at: message.received_at,
                content: message.content,
                status: message.status,
            },
        )?;
        let cached = self.cached_conversation(conversation_id)?;
        let conversation = &mut cached.conversation;
        conversation.last_seq = seq;
        conversation.last_activity = conversation.last_activity.max(received_at);
        if direction == Direction::Incoming {
            conversation.unread = conversation.unread.saturating_add(1);
        }
        cached.dirty = true;
        Ok(())
    }

    fn existing_id(&mut self, id: &[u8; 16]) -> Result<Option<(u64, u64)>> {
        Ok(
            lazy(self.txn, &mut self.tables.message_ids, schema::MESSAGE_IDS)?
                .get(id)?
                .map(|guard| guard.value()),
        )
    }

    /// The redb transaction, for tables outside the hot set (opened and
    /// dropped per use).
    pub(crate) fn raw(&self) -> &'a redb::WriteTransaction {
        self.txn
    }

    /// The storage key.
    pub(crate) fn storage_key(&self) -> &'a StorageKey {
        self.key
    }

    /// Appends `message` at the conversation's next sequence unless its id
    /// is already stored (`Ok(None)`: nothing changed).
    pub(crate) fn append_new(
        &mut self,
        conversation: u64,
        message: NewMessage,
        direction: Direction,
    ) -> Result<Option<u64>> {
        check_status(&message.status)?;
        let seq = self.next_seq(conversation)?;
        if self.claim_id(&message.id, (conversation, seq))?.is_some() {
            return Ok(None);
        }
        self.append_message(conversation, seq, message, direction)?;
        Ok(Some(seq))
    }

    /// Where the message with this id is stored, if it is.
    pub(crate) fn existing_message(&mut self, id: &[u8; 16]) -> Result<Option<(u64, u64)>> {
        self.existing_id(id)
    }

    /// Records a sent message: the session book after encryption, the
    /// message (next sequence), its id in the index, the conversation's
    /// summary and activity, and the outbox entry carrying the envelope.
    ///
    /// Fails with [`StoreError::SessionContactMismatch`] if the outbox
    /// recipient is not the session's contact.
    pub fn record_outgoing(&mut self, outgoing: Outgoing<'_>) -> Result<Recorded> {
        let Outgoing {
            conversation,
            session,
            message,
            outbox,
        } = outgoing;
        if session.remote_identity().to_bytes() != outbox.recipient {
            return Err(StoreError::SessionContactMismatch);
        }
        check_status(&message.status)?;
        let seq = self.next_seq(conversation)?;
        if self.claim_id(&message.id, (conversation, seq))?.is_some() {
            return Err(StoreError::DuplicateMessageId);
        }
        self.append_message(conversation, seq, message, Direction::Outgoing)?;
        self.put_session(session)?;
        let outbox = self.add_outbox(conversation, seq, outbox)?;
        Ok(Recorded { seq, outbox })
    }

    /// Queues an envelope that carries no stored message (a contact request,
    /// a receipt), together with the session book after encrypting it: the
    /// ratchet step and the envelope it produced commit together. Returns
    /// the outbox entry's id.
    pub fn enqueue(&mut self, session: &SessionBook, outbox: NewOutbox) -> Result<u64> {
        if session.remote_identity().to_bytes() != outbox.recipient {
            return Err(StoreError::SessionContactMismatch);
        }
        self.put_session(session)?;
        self.add_outbox(0, 0, outbox)
    }

    /// Records a received message: the session book after decryption, the
    /// message (next sequence), its id in the index, the conversation's
    /// summary (unread count + 1) and activity, and the receipt to send.
    ///
    /// A message whose id is already stored returns
    /// [`IncomingOutcome::AlreadyStored`] and changes nothing.
    pub fn record_incoming(&mut self, incoming: Incoming<'_>) -> Result<IncomingOutcome> {
        let Incoming {
            conversation,
            session,
            message,
            receipt,
        } = incoming;
        if let Some(receipt) = &receipt
            && session.remote_identity().to_bytes() != receipt.recipient
        {
            return Err(StoreError::SessionContactMismatch);
        }
        check_status(&message.status)?;
        let seq = self.next_seq(conversation)?;
        if let Some((conversation, seq)) = self.claim_id(&message.id, (conversation, seq))? {
            return Ok(IncomingOutcome::AlreadyStored { conversation, seq });
        }
        self.append_message(conversation, seq, message, Direction::Incoming)?;
        self.put_session(session)?;
        let receipt = match receipt {
            Some(receipt) => Some(self.add_outbox(conversation, seq, receipt)?),
            None => None,
        };
        Ok(IncomingOutcome::Stored { seq, receipt })
    }

    /// Marks the conversation read up to `up_to_seq` (clamped to its last
    /// message) and returns the new unread count. Decrypts the newly read
    /// messages to count the incoming ones; a record that does not open is
    /// counted as incoming, and reading up to the last message always gives
    /// zero.
    pub fn mark_read(&mut self, conversation_id: u64, up_to_seq: u64) -> Result<u64> {
        let mut conversation = self
            .cached_conversation(conversation_id)?
            .conversation
            .clone();
        let up_to = up_to_seq.min(conversation.last_seq);
        if up_to <= conversation.read_up_to {
            return Ok(conversation.unread);
        }
        let mut newly_read = 0u64;
        {
            self.flush_blocks()?;
            let table = lazy(
                self.txn,
                &mut self.tables.message_blocks,
                schema::MESSAGE_BLOCKS,
            )?;
            let start = conversation.read_up_to.saturating_add(1);
            let from = blocks::floor(table, conversation_id, start)?.unwrap_or(start);
            // Sequences that no block holds (or whose block does not open)
            // count as incoming.
            let mut next = start;
            for block in table.range((conversation_id, from)..=(conversation_id, up_to))? {
                let (k, v) = block?;
                let first = k.value().1;
                let Ok(entries) = blocks::open(self.key, conversation_id, first, v.value()) else {
                    continue;
                };
                for (seq, entry) in blocks::numbered(first, entries) {
                    if seq < next || seq > up_to {
                        continue;
                    }
                    let missing = seq - next;
                    newly_read = newly_read.saturating_add(missing);
                    if entry.direction == Direction::Incoming {
                        newly_read = newly_read.saturating_add(1);
                    }
                    next = seq.saturating_add(1);
                }
            }
            if next <= up_to {
                newly_read = newly_read.saturating_add(up_to - next + 1);
            }
        }
        conversation.unread = if up_to == conversation.last_seq {
            0
        } else {
            conversation.unread.saturating_sub(newly_read)
        };
        conversation.read_up_to = up_to;
        let unread = conversation.unread;
        let cached = self.cached_conversation(conversation_id)?;
        cached.conversation = conversation;
        cached.dirty = true;
        Ok(unread)
    }

    /// The message with this protocol id, as this transaction sees it (its
    /// own writes included): so that a receipt can be checked and applied
    /// in the transaction that decrypted it.
    pub fn message_by_id(&mut self, id: &[u8; 16]) -> Result<Option<Message>> {
        let Some((conversation, seq)) = self.existing_id(id)? else {
            return Ok(None);
        };
        let Some(first) = self.block_floor(conversation, seq)? else {
            return Ok(None);
        };
        let Some(block) = self.cached_block(conversation, first)? else {
            return Ok(None);
        };
        Ok(block
            .entry_mut(first, seq)
            .map(|entry| entry.clone().into_message(conversation, seq)))
    }

    /// Sets a message's delivery status.
    pub fn set_status(&mut self, id: &[u8; 16], status: MessageStatus) -> Result<()> {
        check_status(&status)?;
        let (conversation, seq) = self.existing_id(id)?.ok_or(StoreError::MessageNotFound)?;
        let first = self
            .block_floor(conversation, seq)?
            .ok_or(StoreError::MessageNotFound)?;
        let block = self
            .cached_block(conversation, first)?
            .ok_or(StoreError::MessageNotFound)?;
        let entry = block
            .entry_mut(first, seq)
            .ok_or(StoreError::MessageNotFound)?;
        entry.status = status;
        block.dirty = true;
        Ok(())
    }

    /// Reschedules an outbox entry after a failed attempt.
    pub fn outbox_reschedule(&mut self, id: u64, attempts: u32, next_retry_ms: u64) -> Result<()> {
        let mut item = {
            let table = lazy(self.txn, &mut self.tables.outbox, schema::OUTBOX)?;
            get_outbox(table, id)?.ok_or(StoreError::OutboxEntryNotFound)?
        };
        lazy(self.txn, &mut self.tables.outbox_due, schema::OUTBOX_DUE)?
            .remove((item.next_retry_ms, id))?;
        item.attempts = attempts;
        item.next_retry_ms = next_retry_ms;
        self.put_outbox(item)
    }

    /// Removes an outbox entry (sent, or given up). Returns whether it
    /// existed. Works on entries that no longer open (their schedule entry
    /// is then found by a scan).
    pub fn outbox_remove(&mut self, id: u64) -> Result<bool> {
        let (retry, existed) = {
            let table = lazy(self.txn, &mut self.tables.outbox, schema::OUTBOX)?;
            let retry = get_outbox(table, id).map(|item| item.map(|item| item.next_retry_ms));
            (retry, table.remove(id)?.is_some())
        };
        let due = lazy(self.txn, &mut self.tables.outbox_due, schema::OUTBOX_DUE)?;
        match retry {
            Ok(Some(next_retry_ms)) => {
                due.remove((next_retry_ms, id))?;
            }
            Ok(None) => {}
            Err(_) => {
                let stale: Vec<(u64, u64)> = due
                    .iter()?
                    .filter_map(|entry| entry.ok().map(|(k, _)| k.value()))
                    .filter(|(_, entry_id)| *entry_id == id)
                    .collect();
                for key in stale {
                    due.remove(key)?;
                }
            }
        }
        Ok(existed)
    }

    /// Stores or replaces a contact.
    pub fn put_contact(&mut self, identity: &[u8; 32], contact: &Contact) -> Result<()> {
        if contact.alias.len() > crate::records::MAX_TITLE_BYTES
            || contact.addresses.len() > crate::records::MAX_CONTACT_ADDRESSES
            || contact.relays.len() > crate::records::MAX_CONTACT_ADDRESSES
            || contact
                .addresses
                .iter()
                .chain(&contact.relays)
                .any(|a| a.len() > crate::records::MAX_ADDRESS_BYTES)
        {
            return Err(StoreError::FieldTooLong { field: "contact" });
        }
        let sealed = seal_record(
            self.key,
            schema::CONTACTS.name(),
            identity,
            &ContactRecord::V1(contact.clone()),
        )?;
        self.txn
            .open_table(schema::CONTACTS)?
            .insert(identity, sealed.as_slice())?;
        Ok(())
    }

    /// Stores the local identity (its secret seed, sealed) and display name.
    pub fn set_identity(&mut self, identity: &IdentityKeyPair, display_name: &str) -> Result<()> {
        if display_name.len() > wren_proto::limits::MAX_DISPLAY_NAME_BYTES {
            return Err(StoreError::FieldTooLong {
                field: "display name",
            });
        }
        let record = IdentityRecord::V1 {
            seed: *identity.secret_bytes(),
            display_name: display_name.to_owned(),
        };
        let sealed = seal_record(
            self.key,
            schema::IDENTITY.name(),
            schema::IDENTITY_SELF.as_bytes(),
            &record,
        )?;
        self.txn
            .open_table(schema::IDENTITY)?
            .insert(schema::IDENTITY_SELF, sealed.as_slice())?;
        Ok(())
    }

    /// Stores the signed prekeys (sealed), replacing the previous set.
    pub fn set_signed_prekeys(&mut self, prekeys: &SignedPrekeys) -> Result<()> {
        let bytes = prekeys.to_bytes();
        let sealed = seal::seal(
            self.key,
            schema::SIGNED_PREKEYS.name(),
            schema::SIGNED_PREKEYS_CURRENT.as_bytes(),
            &bytes,
        );
        self.txn
            .open_table(schema::SIGNED_PREKEYS)?
            .insert(schema::SIGNED_PREKEYS_CURRENT, sealed.as_slice())?;
        Ok(())
    }

    /// Stores a one-time prekey (sealed) under `id`.
    pub fn put_one_time_prekey(&mut self, id: u32, prekey: &OneTimePrekeyPair) -> Result<()> {
        let bytes = prekey.to_bytes();
        let sealed = seal::seal(
            self.key,
            schema::ONE_TIME_PREKEYS.name(),
            &id.to_be_bytes(),
            &bytes,
        );
        self.txn
            .open_table(schema::ONE_TIME_PREKEYS)?
            .insert(id, sealed.as_slice())?;
        Ok(())
    }

    /// Removes and returns a one-time prekey: call it in the same
    /// transaction as [`WriteTx::record_incoming`] for the prekey message
    /// that consumed it, so a used prekey is never kept nor lost alone.
    pub fn take_one_time_prekey(&mut self, id: u32) -> Result<Option<OneTimePrekeyPair>> {
        let mut table = self.txn.open_table(schema::ONE_TIME_PREKEYS)?;
        let Some(guard) = table.remove(id)? else {
            return Ok(None);
        };
        open_one_time_prekey(self.key, id, guard.value()).map(Some)
    }

    /// Stores a contact request received from `sender`, replacing an
    /// earlier one from the same sender.
    pub fn put_contact_request(
        &mut self,
        sender: &[u8; 32],
        request: &StoredContactRequest,
    ) -> Result<()> {
        if request.payload.len() > wren_proto::limits::MAX_PAYLOAD_BYTES {
            return Err(StoreError::FieldTooLong {
                field: "contact request",
            });
        }
        let sealed = seal_record(
            self.key,
            schema::CONTACT_REQUESTS.name(),
            sender,
            &ContactRequestRecord::V1(request.clone()),
        )?;
        self.txn
            .open_table(schema::CONTACT_REQUESTS)?
            .insert(sender, sealed.as_slice())?;
        Ok(())
    }

    /// Removes a contact request (accepted or refused). Returns whether it
    /// existed.
    pub fn remove_contact_request(&mut self, sender: &[u8; 32]) -> Result<bool> {
        Ok(self
            .txn
            .open_table(schema::CONTACT_REQUESTS)?
            .remove(sender)?
            .is_some())
    }

    /// Sets a conversation's title and muted flag.
    pub fn update_conversation(&mut self, id: u64, title: &str, muted: bool) -> Result<()> {
        if title.len() > crate::records::MAX_TITLE_BYTES {
            return Err(StoreError::FieldTooLong { field: "title" });
        }
        let cached = self.cached_conversation(id)?;
        cached.conversation.title = title.to_owned();
        cached.conversation.muted = muted;
        cached.dirty = true;
        Ok(())
    }

    /// A setting's value (sees this transaction's writes).
    pub fn setting(&self, name: &str) -> Result<Option<Vec<u8>>> {
        get_setting(self.key, &self.txn.open_table(schema::SETTINGS)?, name)
    }

    /// Removes a setting. Returns whether it was set.
    pub fn remove_setting(&mut self, name: &str) -> Result<bool> {
        Ok(self
            .txn
            .open_table(schema::SETTINGS)?
            .remove(name)?
            .is_some())
    }

    /// Whether `identity` is a contact (sees this transaction's writes).
    pub fn is_contact(&self, identity: &[u8; 32]) -> Result<bool> {
        Ok(self
            .txn
            .open_table(schema::CONTACTS)?
            .get(identity)?
            .is_some())
    }

    /// Stores a setting (sealed).
    pub fn set_setting(&mut self, name: &str, value: &[u8]) -> Result<()> {
        let sealed = seal::seal(self.key, schema::SETTINGS.name(), name.as_bytes(), value);
        self.txn
            .open_table(schema::SETTINGS)?
            .insert(name, sealed.as_slice())?;
        Ok(())
    }
}
