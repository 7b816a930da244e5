//! The mailbox store: redb on a dedicated thread, with group commit.
//!
//! The swarm task never touches redb. It sends [`Command`]s over a bounded
//! queue ([`STORE_QUEUE_CAPACITY`]) with `try_send`, so a slow disk makes
//! requests fail fast as `unavailable` instead of stalling the swarm. The
//! store thread takes every command waiting (up to
//! [`MAX_COMMANDS_PER_COMMIT`]), applies all writes (deposits, acks,
//! purges) in **one** write transaction, commits it durably (one fsync for
//! the whole group), and only then answers each command; fetches are
//! answered from a read transaction after the commit.
//!
//! Schema (all in one file, `mailbox.redb`):
//!
//! - `messages`: `(mailbox id, seq)` → `(deposited_at, depositor peer id
//!   bytes, envelope)`
//! - `mailboxes`: recipient peer id bytes → `(mailbox id, messages, bytes)`,
//!   only for non-empty mailboxes. Mailbox ids are short stand-ins for the
//!   38-byte peer ids in message keys (fewer bytes written per deposit); a
//!   mailbox gets a new id each time it becomes non-empty.
//! - `clock`: minute (`deposited_at / 60`) → the first seq deposited in it,
//!   one row per minute in which anything was deposited (the TTL index)
//! - `meta`: `schema_version`, `next_seq`, `next_mailbox_id`
//!
//! Sequence numbers come from one counter for the whole relay, so they are
//! strictly increasing within every mailbox even after it was emptied and
//! its row deleted, and they order deposits in time. That is what makes the
//! TTL index cheap: instead of one index row per message (which doubled the
//! B-tree writes of a deposit), the `clock` table maps each minute to the
//! first seq of that minute. Everything with a seq below the first seq of
//! the cutoff's minute was deposited before that minute, so a purge deletes
//! each mailbox's range `seq < boundary`. Items are purged up to one minute
//! after their TTL, never before (also when the system clock goes back:
//! a minute is recorded only when it is later than every recorded one).

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use libp2p::PeerId;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use tokio::sync::oneshot;
use wren_net::limits::MAX_MAILBOX_RESPONSE_BYTES;
use wren_net::mailbox::{
    DepositOutcome, PAGE_OVERHEAD_BYTES, RefusalCode, StoredItem, page_item_len,
};

use crate::limits::{MAX_COMMANDS_PER_COMMIT, MAX_PURGED_PER_COMMIT, STORE_QUEUE_CAPACITY};
use crate::metrics::Metrics;

/// The database file's name inside the relay directory.
pub const DB_FILE: &str = "mailbox.redb";

/// The schema version this code reads and writes.
pub const SCHEMA_VERSION: u64 = 1;

/// `(mailbox id, seq)`: one mailbox's items sort together, in seq order.
type MessageKey = (u64, u64);
/// `(deposited_at, depositor, envelope)`.
type MessageValue = (u64, &'static [u8], &'static [u8]);

const MESSAGES: TableDefinition<'static, MessageKey, MessageValue> =
    TableDefinition::new("messages");
const CLOCK: TableDefinition<'static, u64, u64> = TableDefinition::new("clock");

/// Seconds per row of the `clock` table: the purge's granularity.
const CLOCK_GRANULARITY_SECS: u64 = 60;
const MAILBOXES: TableDefinition<'static, &[u8], (u64, u64, u64)> =
    TableDefinition::new("mailboxes");
const META: TableDefinition<'static, &str, u64> = TableDefinition::new("meta");

const META_SCHEMA: &str = "schema_version";
const META_NEXT_SEQ: &str = "next_seq";
const META_NEXT_MAILBOX_ID: &str = "next_mailbox_id";

/// A store failure. Requests that meet one are refused as `unavailable`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (probably a running relay) has the database open.
    #[error("the mailbox database is in use by another process (is the relay already running?)")]
    InUse,
    /// The file was written by a newer, unknown schema.
    #[error(
        "the mailbox database has schema version {0}; this relay reads version {SCHEMA_VERSION}"
    )]
    Schema(u64),
    /// redb failed.
    #[error("storage error: {0}")]
    Db(String),
    /// The store thread has stopped.
    #[error("the store has stopped")]
    Stopped,
}

impl<E: Into<redb::Error>> From<E> for StoreError {
    fn from(e: E) -> Self {
        let e: redb::Error = e.into();
        match e {
            redb::Error::DatabaseAlreadyOpen => Self::InUse,
            other => Self::Db(other.to_string()),
        }
    }
}

/// Quotas the store enforces inside its transactions.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    /// Messages per mailbox.
    pub max_messages: u64,
    /// Envelope bytes per mailbox.
    pub max_bytes: u64,
    /// Non-empty mailboxes.
    pub max_mailboxes: u64,
}

/// One envelope of a deposit, as the swarm hands it to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// Store it (quotas permitting).
    Store(Vec<u8>),
    /// Already refused by the swarm (size, rate): keep its place.
    Refused(RefusalCode),
}

/// One page of a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Items in sequence order.
    pub items: Vec<StoredItem>,
    /// Whether more items follow.
    pub more: bool,
}

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A request to the store thread.
#[derive(Debug)]
pub enum Command {
    /// Store envelopes for `recipient` (one outcome per slot, in order).
    Deposit {
        /// Whose mailbox.
        recipient: PeerId,
        /// Who deposits (returned with each item).
        depositor: PeerId,
        /// The envelopes.
        slots: Vec<Slot>,
        /// Unix seconds.
        now: u64,
        /// Where the outcomes go, after the commit.
        reply: Reply<Vec<DepositOutcome>>,
    },
    /// Read a page of `mailbox`.
    Fetch {
        /// Whose mailbox (the authenticated requester).
        mailbox: PeerId,
        /// Items with a greater seq.
        after: u64,
        /// Most items.
        limit: u16,
        /// Where the page goes.
        reply: Reply<Page>,
    },
    /// Delete `mailbox`'s items up to `up_to`.
    Ack {
        /// Whose mailbox.
        mailbox: PeerId,
        /// Highest seq to delete.
        up_to: u64,
        /// Where the number removed goes, after the commit.
        reply: Reply<u32>,
    },
    /// Delete up to [`MAX_PURGED_PER_COMMIT`] items deposited before
    /// `cutoff` (Unix seconds).
    Purge {
        /// Items with `deposited_at < cutoff` expire.
        cutoff: u64,
        /// Where the number removed goes.
        reply: Reply<u64>,
    },
}

/// The swarm's handle on the store thread. Cloneable; the thread stops
/// when every handle is gone and the queue is drained.
#[derive(Debug, Clone)]
pub struct StoreHandle {
    tx: SyncSender<Command>,
}

/// The queue to the store is full, or the store stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the store is busy")]
pub struct Busy;

impl StoreHandle {
    /// Queues `command` without waiting.
    pub fn try_send(&self, command: Command) -> Result<(), Busy> {
        self.tx.try_send(command).map_err(|e| match e {
            TrySendError::Full(_) | TrySendError::Disconnected(_) => Busy,
        })
    }

    /// Queues a deposit and returns where its outcomes will arrive.
    pub fn deposit(
        &self,
        recipient: PeerId,
        depositor: PeerId,
        slots: Vec<Slot>,
        now: u64,
    ) -> Result<oneshot::Receiver<Result<Vec<DepositOutcome>, StoreError>>, Busy> {
        let (reply, rx) = oneshot::channel();
        self.try_send(Command::Deposit {
            recipient,
            depositor,
            slots,
            now,
            reply,
        })?;
        Ok(rx)
    }

    /// Queues a fetch.
    pub fn fetch(
        &self,
        mailbox: PeerId,
        after: u64,
        limit: u16,
    ) -> Result<oneshot::Receiver<Result<Page, StoreError>>, Busy> {
        let (reply, rx) = oneshot::channel();
        self.try_send(Command::Fetch {
            mailbox,
            after,
            limit,
            reply,
        })?;
        Ok(rx)
    }

    /// Queues an ack.
    pub fn ack(
        &self,
        mailbox: PeerId,
        up_to: u64,
    ) -> Result<oneshot::Receiver<Result<u32, StoreError>>, Busy> {
        let (reply, rx) = oneshot::channel();
        self.try_send(Command::Ack {
            mailbox,
            up_to,
            reply,
        })?;
        Ok(rx)
    }

    /// Queues a purge.
    pub fn purge(&self, cutoff: u64) -> Result<oneshot::Receiver<Result<u64, StoreError>>, Busy> {
        let (reply, rx) = oneshot::channel();
        self.try_send(Command::Purge { cutoff, reply })?;
        Ok(rx)
    }
}

/// Totals kept in memory by the store thread (and published as metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// The next sequence number to hand out.
    pub next_seq: u64,
    /// The next mailbox id to hand out.
    pub next_mailbox_id: u64,
    /// Non-empty mailboxes.
    pub mailboxes: u64,
    /// Messages held.
    pub messages: u64,
    /// Envelope bytes held.
    pub bytes: u64,
    /// The latest minute recorded in the `clock` table.
    pub last_minute: Option<u64>,
}

/// The database and its in-memory totals: the synchronous core that the
/// store thread drives (and that tests and benchmarks can use directly).
#[derive(Debug)]
pub struct MailboxDb {
    db: Database,
    quotas: Quotas,
    totals: Totals,
}

impl MailboxDb {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path, quotas: Quotas) -> Result<Self, StoreError> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        let mut totals = Totals {
            next_seq: 1,
            next_mailbox_id: 1,
            ..Totals::default()
        };
        {
            let mut meta = txn.open_table(META)?;
            let schema = meta.get(META_SCHEMA)?.map(|g| g.value());
            match schema {
                None => {
                    meta.insert(META_SCHEMA, SCHEMA_VERSION)?;
                }
                Some(SCHEMA_VERSION) => {}
                Some(other) => return Err(StoreError::Schema(other)),
            }
            if let Some(next) = meta.get(META_NEXT_SEQ)?.map(|g| g.value()) {
                totals.next_seq = next.max(1);
            }
            if let Some(next) = meta.get(META_NEXT_MAILBOX_ID)?.map(|g| g.value()) {
                totals.next_mailbox_id = next.max(1);
            }
            txn.open_table(MESSAGES)?;
            let clock = txn.open_table(CLOCK)?;
            totals.last_minute = clock.last()?.map(|(k, _)| k.value());
            let mailboxes = txn.open_table(MAILBOXES)?;
            for entry in mailboxes.iter()? {
                let (_, value) = entry?;
                let (_, count, bytes) = value.value();
                totals.mailboxes += 1;
                totals.messages += count;
                totals.bytes += bytes;
            }
        }
        txn.commit()?;
        Ok(Self { db, quotas, totals })
    }

    /// The current totals.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Applies every write of `batch` in one durable transaction. Returns
    /// one result per command, in order; on a failed commit every command
    /// fails and the totals are left as they were.
    fn apply_writes(&mut self, batch: &mut [WriteOp]) -> Result<(), StoreError> {
        let before = self.totals;
        let result = (|| {
            let txn = self.db.begin_write()?;
            for op in batch.iter_mut() {
                match op {
                    WriteOp::Deposit {
                        recipient,
                        depositor,
                        slots,
                        now,
                        outcomes,
                    } => *outcomes = self.deposit_in(&txn, recipient, depositor, slots, *now)?,
                    WriteOp::Ack {
                        mailbox,
                        up_to,
                        removed,
                    } => *removed = self.ack_in(&txn, mailbox, *up_to)?,
                    WriteOp::Purge { cutoff, removed } => {
                        *removed = self.purge_in(&txn, *cutoff)?
                    }
                }
            }
            txn.open_table(META)?
                .insert(META_NEXT_SEQ, self.totals.next_seq)?;
            txn.open_table(META)?
                .insert(META_NEXT_MAILBOX_ID, self.totals.next_mailbox_id)?;
            txn.commit()?;
            Ok(())
        })();
        if result.is_err() {
            self.totals = before;
        }
        result
    }

    /// Stores `slots` for `recipient` durably (one transaction). Tests and
    /// benchmarks use it; the thread groups many deposits per commit.
    pub fn deposit(
        &mut self,
        recipient: &PeerId,
        depositor: &PeerId,
        slots: Vec<Slot>,
        now: u64,
    ) -> Result<Vec<DepositOutcome>, StoreError> {
        let mut ops = [WriteOp::Deposit {
            recipient: *recipient,
            depositor: *depositor,
            slots,
            now,
            outcomes: Vec::new(),
        }];
        self.apply_writes(&mut ops)?;
        let [WriteOp::Deposit { outcomes, .. }] = ops else {
            return Err(StoreError::Db("internal: lost outcomes".into()));
        };
        Ok(outcomes)
    }

    /// Deletes `mailbox`'s items up to `up_to` durably.
    pub fn ack(&mut self, mailbox: &PeerId, up_to: u64) -> Result<u32, StoreError> {
        let mut ops = [WriteOp::Ack {
            mailbox: *mailbox,
            up_to,
            removed: 0,
        }];
        self.apply_writes(&mut ops)?;
        let [WriteOp::Ack { removed, .. }] = ops else {
            return Err(StoreError::Db("internal: lost count".into()));
        };
        Ok(removed)
    }

    /// Deletes items deposited before `cutoff` (at most
    /// [`MAX_PURGED_PER_COMMIT`]) durably.
    pub fn purge(&mut self, cutoff: u64) -> Result<u64, StoreError> {
        let mut ops = [WriteOp::Purge { cutoff, removed: 0 }];
        self.apply_writes(&mut ops)?;
        let [WriteOp::Purge { removed, .. }] = ops else {
            return Err(StoreError::Db("internal: lost count".into()));
        };
        Ok(removed)
    }

    fn deposit_in(
        &mut self,
        txn: &WriteTransaction,
        recipient: &PeerId,
        depositor: &PeerId,
        slots: &mut Vec<Slot>,
        now: u64,
    ) -> Result<Vec<DepositOutcome>, StoreError> {
        let key = recipient.to_bytes();
        let from = depositor.to_bytes();
        let mut mailboxes = txn.open_table(MAILBOXES)?;
        let mut messages = txn.open_table(MESSAGES)?;
        let existing = mailboxes.get(key.as_slice())?.map(|g| g.value());
        let was_empty = existing.is_none();
        let (id, mut count, mut bytes) = existing.unwrap_or((self.totals.next_mailbox_id, 0, 0));
        let no_room = was_empty && self.totals.mailboxes >= self.quotas.max_mailboxes;
        let mut outcomes = Vec::with_capacity(slots.len());
        for slot in slots.drain(..) {
            let envelope = match slot {
                Slot::Refused(code) => {
                    outcomes.push(DepositOutcome::Refused(code));
                    continue;
                }
                Slot::Store(envelope) => envelope,
            };
            let len = envelope.len() as u64;
            if no_room
                || count.saturating_add(1) > self.quotas.max_messages
                || bytes.saturating_add(len) > self.quotas.max_bytes
            {
                outcomes.push(DepositOutcome::Refused(RefusalCode::QuotaExceeded));
                continue;
            }
            let seq = self.totals.next_seq;
            self.totals.next_seq = seq.saturating_add(1);
            let minute = now / CLOCK_GRANULARITY_SECS;
            if self.totals.last_minute.is_none_or(|last| minute > last) {
                txn.open_table(CLOCK)?.insert(minute, seq)?;
                self.totals.last_minute = Some(minute);
            }
            messages.insert((id, seq), (now, from.as_slice(), envelope.as_slice()))?;
            count += 1;
            bytes += len;
            self.totals.messages += 1;
            self.totals.bytes += len;
            outcomes.push(DepositOutcome::Stored);
        }
        if count > 0 {
            mailboxes.insert(key.as_slice(), (id, count, bytes))?;
            if was_empty {
                self.totals.mailboxes += 1;
                self.totals.next_mailbox_id = id.saturating_add(1);
            }
        }
        Ok(outcomes)
    }

    fn ack_in(
        &mut self,
        txn: &WriteTransaction,
        mailbox: &PeerId,
        up_to: u64,
    ) -> Result<u32, StoreError> {
        let key = mailbox.to_bytes();
        let id = txn
            .open_table(MAILBOXES)?
            .get(key.as_slice())?
            .map(|g| g.value().0);
        let Some(id) = id else { return Ok(0) };
        let (count, bytes) = remove_range(txn, id, up_to, usize::MAX)?;
        self.shrink(txn, &key, count, bytes)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    fn purge_in(&mut self, txn: &WriteTransaction, cutoff: u64) -> Result<u64, StoreError> {
        // Everything deposited before the cutoff's minute has a seq below
        // the first seq recorded for that minute or a later one.
        let cutoff_minute = cutoff / CLOCK_GRANULARITY_SECS;
        let boundary = {
            let clock = txn.open_table(CLOCK)?;
            let first_after = clock.range(cutoff_minute..)?.next().transpose()?;
            match first_after {
                Some((_, seq)) => seq.value(),
                None => self.totals.next_seq,
            }
        };
        if boundary <= 1 {
            return Ok(0);
        }
        let recipients: Vec<(Vec<u8>, u64)> = {
            let mailboxes = txn.open_table(MAILBOXES)?;
            let mut keys = Vec::new();
            for entry in mailboxes.iter()? {
                let (k, v) = entry?;
                keys.push((k.value().to_vec(), v.value().0));
            }
            keys
        };
        let mut removed = 0u64;
        let mut budget = MAX_PURGED_PER_COMMIT;
        for (recipient, id) in recipients {
            if budget == 0 {
                break;
            }
            let (count, bytes) = remove_range(txn, id, boundary - 1, budget)?;
            budget = budget.saturating_sub(usize::try_from(count).unwrap_or(usize::MAX));
            self.shrink(txn, &recipient, count, bytes)?;
            removed += count;
        }
        if budget > 0 {
            // Every expired item is gone: the minutes before the cutoff's
            // are no longer needed.
            let mut clock = txn.open_table(CLOCK)?;
            clock.retain_in(..cutoff_minute, |_, _| false)?;
        }
        Ok(removed)
    }

    /// Lowers a mailbox's counters after removals (deleting its row when it
    /// is empty).
    fn shrink(
        &mut self,
        txn: &WriteTransaction,
        key: &[u8],
        count: u64,
        bytes: u64,
    ) -> Result<(), StoreError> {
        if count == 0 {
            return Ok(());
        }
        let mut mailboxes = txn.open_table(MAILBOXES)?;
        let Some((id, old_count, old_bytes)) = mailboxes.get(key)?.map(|g| g.value()) else {
            return Ok(());
        };
        let new_count = old_count.saturating_sub(count);
        let new_bytes = old_bytes.saturating_sub(bytes);
        if new_count == 0 {
            mailboxes.remove(key)?;
            if old_count > 0 {
                self.totals.mailboxes = self.totals.mailboxes.saturating_sub(1);
            }
        } else {
            mailboxes.insert(key, (id, new_count, new_bytes))?;
        }
        self.totals.messages = self.totals.messages.saturating_sub(count);
        self.totals.bytes = self.totals.bytes.saturating_sub(bytes);
        Ok(())
    }

    /// Reads a page of `mailbox`: items with `seq > after`, at most `limit`
    /// and at most [`MAX_MAILBOX_RESPONSE_BYTES`] encoded.
    pub fn fetch(&self, mailbox: &PeerId, after: u64, limit: u16) -> Result<Page, StoreError> {
        let key = mailbox.to_bytes();
        let mut items = Vec::new();
        let Some(from) = after.checked_add(1) else {
            return Ok(Page { items, more: false });
        };
        let txn = self.db.begin_read()?;
        let id = txn
            .open_table(MAILBOXES)?
            .get(key.as_slice())?
            .map(|g| g.value().0);
        let Some(id) = id else {
            return Ok(Page { items, more: false });
        };
        let messages = txn.open_table(MESSAGES)?;
        let mut size = PAGE_OVERHEAD_BYTES;
        let mut more = false;
        for entry in messages.range((id, from)..=(id, u64::MAX))? {
            let (k, v) = entry?;
            let (at, from, envelope) = v.value();
            // A depositor that does not parse (a damaged row) is the
            // relay's own failure: the fetch is refused as unavailable.
            let depositor = PeerId::from_bytes(from)
                .map_err(|_| StoreError::Db("damaged depositor in the mailbox".into()))?;
            let item_len = page_item_len(&depositor, envelope.len());
            if items.len() >= usize::from(limit)
                || size.saturating_add(item_len) > MAX_MAILBOX_RESPONSE_BYTES
            {
                more = true;
                break;
            }
            size += item_len;
            items.push(StoredItem {
                seq: k.value().1,
                deposited_at: at,
                depositor,
                envelope: envelope.to_vec(),
            });
        }
        Ok(Page { items, more })
    }
}

/// Deletes up to `max` items of mailbox `id` with `seq <= up_to`; returns
/// how many and their envelope bytes.
fn remove_range(
    txn: &WriteTransaction,
    id: u64,
    up_to: u64,
    max: usize,
) -> Result<(u64, u64), StoreError> {
    let mut messages = txn.open_table(MESSAGES)?;
    let (mut count, mut bytes) = (0u64, 0u64);
    // Only the items read from the iterator are removed.
    let removed = messages.extract_from_if((id, 0)..=(id, up_to), |_, _| true)?;
    for entry in removed.take(max) {
        let (_, v) = entry?;
        count += 1;
        bytes += v.value().2.len() as u64;
    }
    Ok((count, bytes))
}

/// A write of a batch, with room for its result.
enum WriteOp {
    Deposit {
        recipient: PeerId,
        depositor: PeerId,
        slots: Vec<Slot>,
        now: u64,
        outcomes: Vec<DepositOutcome>,
    },
    Ack {
        mailbox: PeerId,
        up_to: u64,
        removed: u32,
    },
    Purge {
        cutoff: u64,
        removed: u64,
    },
}

/// Opens the database in `dir` and starts the store thread.
pub fn spawn(
    dir: &Path,
    quotas: Quotas,
    metrics: Arc<Metrics>,
) -> Result<(StoreHandle, JoinHandle<()>), StoreError> {
    let db = MailboxDb::open(&dir.join(DB_FILE), quotas)?;
    metrics.publish_totals(&db.totals());
    let (tx, rx) = std::sync::mpsc::sync_channel(STORE_QUEUE_CAPACITY);
    let join = std::thread::Builder::new()
        .name("wren-relay-store".into())
        .spawn(move || run(db, rx, &metrics))
        .map_err(|e| StoreError::Db(format!("cannot start the store thread: {e}")))?;
    Ok((StoreHandle { tx }, join))
}

/// The store thread: group commits until every handle is dropped.
fn run(mut db: MailboxDb, rx: Receiver<Command>, metrics: &Metrics) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_COMMANDS_PER_COMMIT {
            match rx.try_recv() {
                Ok(command) => batch.push(command),
                Err(_) => break,
            }
        }
        process(&mut db, batch, metrics);
    }
}

enum Pending {
    Deposit(Reply<Vec<DepositOutcome>>),
    Ack(Reply<u32>),
    Purge(Reply<u64>),
}

fn process(db: &mut MailboxDb, batch: Vec<Command>, metrics: &Metrics) {
    let mut ops = Vec::new();
    let mut replies = Vec::new();
    let mut fetches = Vec::new();
    for command in batch {
        match command {
            Command::Deposit {
                recipient,
                depositor,
                slots,
                now,
                reply,
            } => {
                ops.push(WriteOp::Deposit {
                    recipient,
                    depositor,
                    slots,
                    now,
                    outcomes: Vec::new(),
                });
                replies.push(Pending::Deposit(reply));
            }
            Command::Ack {
                mailbox,
                up_to,
                reply,
            } => {
                ops.push(WriteOp::Ack {
                    mailbox,
                    up_to,
                    removed: 0,
                });
                replies.push(Pending::Ack(reply));
            }
            Command::Purge { cutoff, reply } => {
                ops.push(WriteOp::Purge { cutoff, removed: 0 });
                replies.push(Pending::Purge(reply));
            }
            Command::Fetch {
                mailbox,
                after,
                limit,
                reply,
            } => fetches.push((mailbox, after, limit, reply)),
        }
    }
    if !ops.is_empty() {
        let result = db.apply_writes(&mut ops);
        if let Err(e) = &result {
            tracing::error!(error = %e, "mailbox commit failed");
        }
        metrics.commits.inc();
        for (op, reply) in ops.into_iter().zip(replies) {
            let failed = || StoreError::Db("commit failed".into());
            match (op, reply) {
                (WriteOp::Deposit { outcomes, .. }, Pending::Deposit(reply)) => {
                    if result.is_ok() {
                        for o in &outcomes {
                            metrics.count_outcome(*o);
                        }
                    }
                    let _ = reply.send(result.as_ref().map(|_| outcomes).map_err(|_| failed()));
                }
                (WriteOp::Ack { removed, .. }, Pending::Ack(reply)) => {
                    if result.is_ok() {
                        metrics.acked.inc_by(u64::from(removed));
                    }
                    let _ = reply.send(result.as_ref().map(|_| removed).map_err(|_| failed()));
                }
                (WriteOp::Purge { removed, .. }, Pending::Purge(reply)) => {
                    if result.is_ok() {
                        metrics.purged.inc_by(removed);
                    }
                    let _ = reply.send(result.as_ref().map(|_| removed).map_err(|_| failed()));
                }
                _ => {}
            }
        }
        metrics.publish_totals(&db.totals());
    }
    for (mailbox, after, limit, reply) in fetches {
        let page = db.fetch(&mailbox, after, limit);
        if let Ok(page) = &page {
            metrics.fetched.inc_by(page.items.len() as u64);
        }
        let _ = reply.send(page);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const Q: Quotas = Quotas {
        max_messages: 5,
        max_bytes: 100,
        max_mailboxes: 2,
    };

    fn env(n: usize, fill: u8) -> Slot {
        Slot::Store(vec![fill; n])
    }

    #[test]
    fn deposit_fetch_ack_in_order_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        let a = PeerId::random();
        {
            let mut db = MailboxDb::open(&path, Q).unwrap();
            let out = db
                .deposit(&a, &a, vec![env(10, 1), env(10, 2)], 100)
                .unwrap();
            assert_eq!(out, vec![DepositOutcome::Stored; 2]);
        }
        let mut db = MailboxDb::open(&path, Q).unwrap();
        assert_eq!(db.totals().messages, 2);
        assert_eq!(db.totals().bytes, 20);
        db.deposit(&a, &a, vec![env(10, 3)], 101).unwrap();
        let page = db.fetch(&a, 0, 2).unwrap();
        assert_eq!(page.items.len(), 2);
        assert!(page.more);
        assert_eq!(page.items[0].envelope, vec![1; 10]);
        assert_eq!(page.items[1].envelope, vec![2; 10]);
        assert!(page.items[0].seq < page.items[1].seq);
        let rest = db.fetch(&a, page.items[1].seq, 10).unwrap();
        assert_eq!(rest.items.len(), 1);
        assert!(!rest.more);
        assert_eq!(rest.items[0].deposited_at, 101);
        assert_eq!(db.ack(&a, page.items[1].seq).unwrap(), 2);
        assert_eq!(db.fetch(&a, 0, 10).unwrap().items.len(), 1);
        assert_eq!(db.ack(&a, u64::MAX).unwrap(), 1);
        assert!(db.fetch(&a, 0, 10).unwrap().items.is_empty());
        assert_eq!(db.totals().mailboxes, 0);
        // Sequence numbers keep increasing after the mailbox emptied.
        db.deposit(&a, &a, vec![env(1, 4)], 102).unwrap();
        assert!(db.fetch(&a, 0, 10).unwrap().items[0].seq > rest.items[0].seq);
    }

    #[test]
    fn quotas_at_their_limits() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = MailboxDb::open(&dir.path().join(DB_FILE), Q).unwrap();
        let a = PeerId::random();
        // Messages: exactly 5 fit, the sixth is refused.
        let out = db
            .deposit(&a, &a, (0..6).map(|_| env(1, 0)).collect(), 1)
            .unwrap();
        assert_eq!(&out[..5], &[DepositOutcome::Stored; 5]);
        assert_eq!(out[5], DepositOutcome::Refused(RefusalCode::QuotaExceeded));
        // Bytes: exactly 100 fit, one more byte is refused.
        let b = PeerId::random();
        let out = db
            .deposit(&b, &b, vec![env(60, 0), env(40, 0), env(1, 0)], 1)
            .unwrap();
        assert_eq!(&out[..2], &[DepositOutcome::Stored; 2]);
        assert_eq!(out[2], DepositOutcome::Refused(RefusalCode::QuotaExceeded));
        // Mailboxes: two exist, a third recipient is refused.
        let c = PeerId::random();
        let out = db.deposit(&c, &c, vec![env(1, 0)], 1).unwrap();
        assert_eq!(
            out,
            vec![DepositOutcome::Refused(RefusalCode::QuotaExceeded)]
        );
        assert!(db.fetch(&c, 0, 10).unwrap().items.is_empty());
        // Refused slots keep their place.
        db.ack(&a, u64::MAX).unwrap();
        let out = db
            .deposit(
                &a,
                &a,
                vec![Slot::Refused(RefusalCode::TooLarge), env(1, 0)],
                1,
            )
            .unwrap();
        assert_eq!(
            out,
            vec![
                DepositOutcome::Refused(RefusalCode::TooLarge),
                DepositOutcome::Stored
            ]
        );
    }

    #[test]
    fn a_page_stays_within_the_response_limit() {
        let dir = tempfile::tempdir().unwrap();
        let quotas = Quotas {
            max_messages: 1_000,
            max_bytes: 1 << 30,
            max_mailboxes: 10,
        };
        let mut db = MailboxDb::open(&dir.path().join(DB_FILE), quotas).unwrap();
        let a = PeerId::random();
        let big = crate::limits::MAX_ENVELOPE_BYTES;
        db.deposit(&a, &a, (0..20).map(|_| env(big, 7)).collect(), 1)
            .unwrap();
        let page = db.fetch(&a, 0, 256).unwrap();
        let size = PAGE_OVERHEAD_BYTES + page.items.len() * page_item_len(&a, big);
        assert!(size <= MAX_MAILBOX_RESPONSE_BYTES);
        assert!(size + page_item_len(&a, big) > MAX_MAILBOX_RESPONSE_BYTES);
        assert!(page.more);
        let response = wren_net::mailbox::MailboxResponse::Page {
            items: page.items,
            more: page.more,
        };
        wren_net::mailbox::encode_response(&response).unwrap();
        // A fetch after u64::MAX is empty, not an overflow.
        assert!(db.fetch(&a, u64::MAX, 1).unwrap().items.is_empty());
    }

    #[test]
    fn purge_removes_only_expired_items() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = MailboxDb::open(&dir.path().join(DB_FILE), Q).unwrap();
        let a = PeerId::random();
        let b = PeerId::random();
        db.deposit(&a, &a, vec![env(1, 1), env(1, 2)], 600).unwrap();
        db.deposit(&b, &b, vec![env(1, 3)], 1_200).unwrap();
        db.deposit(&a, &a, vec![env(1, 4)], 1_800).unwrap();
        // Nothing deposited before the cutoff: nothing goes.
        assert_eq!(db.purge(600).unwrap(), 0);
        // A cutoff inside the minute of the second deposit keeps it (items
        // go at most a minute late, never early).
        assert_eq!(db.purge(1_230).unwrap(), 2);
        assert_eq!(db.purge(1_260).unwrap(), 1);
        assert_eq!(db.totals().messages, 1);
        assert_eq!(db.totals().mailboxes, 1);
        let page = db.fetch(&a, 0, 10).unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].envelope, vec![4]);
        assert!(db.fetch(&b, 0, 10).unwrap().items.is_empty());
    }

    #[test]
    fn a_second_process_cannot_open_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        let _db = MailboxDb::open(&path, Q).unwrap();
        assert!(matches!(MailboxDb::open(&path, Q), Err(StoreError::InUse)));
    }

    #[test]
    fn one_batch_is_one_commit_with_an_answer_for_each() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Metrics::new();
        let quotas = Quotas {
            max_messages: 1_000,
            max_bytes: 1 << 20,
            max_mailboxes: 10,
        };
        let mut db = MailboxDb::open(&dir.path().join(DB_FILE), quotas).unwrap();
        let a = PeerId::random();
        let mut batch = Vec::new();
        let mut receivers = Vec::new();
        for i in 0..MAX_COMMANDS_PER_COMMIT {
            let (reply, rx) = oneshot::channel();
            batch.push(Command::Deposit {
                recipient: a,
                depositor: a,
                slots: vec![env(3, i as u8)],
                now: 5,
                reply,
            });
            receivers.push(rx);
        }
        process(&mut db, batch, &metrics);
        assert_eq!(metrics.commits.get(), 1);
        for mut rx in receivers {
            assert_eq!(
                rx.try_recv().unwrap().unwrap(),
                vec![DepositOutcome::Stored]
            );
        }
        let page = db.fetch(&a, 0, 256).unwrap();
        assert_eq!(page.items.len(), MAX_COMMANDS_PER_COMMIT);
        for (i, item) in page.items.iter().enumerate() {
            assert_eq!(item.envelope, vec![i as u8; 3]);
        }
    }

    #[tokio::test]
    async fn the_thread_answers_and_stops_when_handles_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(Metrics::new());
        let (store, join) = spawn(dir.path(), Q, metrics.clone()).unwrap();
        let a = PeerId::random();
        let out = store
            .deposit(a, a, vec![env(3, 1)], 5)
            .unwrap()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(out, vec![DepositOutcome::Stored]);
        let page = store.fetch(a, 0, 10).unwrap().await.unwrap().unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(store.ack(a, u64::MAX).unwrap().await.unwrap().unwrap(), 1);
        assert_eq!(store.purge(u64::MAX).unwrap().await.unwrap().unwrap(), 0);
        drop(store);
        join.join().unwrap();
    }

    #[test]
    fn mailbox_ids_are_never_reused_across_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        let (a, b) = (PeerId::random(), PeerId::random());
        MailboxDb::open(&path, Q)
            .unwrap()
            .deposit(&a, &a, vec![env(1, 1)], 1)
            .unwrap();
        let mut db = MailboxDb::open(&path, Q).unwrap();
        db.deposit(&b, &b, vec![env(1, 2)], 1).unwrap();
        let page = db.fetch(&b, 0, 10).unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].envelope, vec![2]);
        assert_eq!(db.fetch(&a, 0, 10).unwrap().items[0].envelope, vec![1]);
        // An ack by someone without a mailbox removes nothing.
        assert_eq!(db.ack(&PeerId::random(), u64::MAX).unwrap(), 0);
    }

    #[test]
    fn a_clock_that_goes_back_never_purges_early() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = MailboxDb::open(&dir.path().join(DB_FILE), Q).unwrap();
        let a = PeerId::random();
        db.deposit(&a, &a, vec![env(1, 1)], 6_000).unwrap();
        db.deposit(&a, &a, vec![env(1, 2)], 600).unwrap();
        // The first item is not expired at 1 200; the second is, but it
        // was deposited after it: both stay (late, not early).
        assert_eq!(db.purge(1_200).unwrap(), 0);
        assert_eq!(db.purge(6_060).unwrap(), 2);
    }

    #[test]
    fn purge_at_its_per_commit_limit() {
        let dir = tempfile::tempdir().unwrap();
        let quotas = Quotas {
            max_messages: 100_000,
            max_bytes: 1 << 30,
            max_mailboxes: 10,
        };
        let mut db = MailboxDb::open(&dir.path().join(DB_FILE), quotas).unwrap();
        let a = PeerId::random();
        let mut left = MAX_PURGED_PER_COMMIT + 1;
        while left > 0 {
            let n = left.min(1_000);
            db.deposit(&a, &a, (0..n).map(|_| env(1, 0)).collect(), 5)
                .unwrap();
            left -= n;
        }
        assert_eq!(db.purge(120).unwrap(), MAX_PURGED_PER_COMMIT as u64);
        assert_eq!(db.purge(120).unwrap(), 1);
        assert_eq!(db.purge(120).unwrap(), 0);
        let t = db.totals();
        assert_eq!((t.mailboxes, t.messages, t.bytes), (0, 0, 0));
    }

    #[test]
    fn a_full_queue_is_busy_at_once() {
        // A handle whose thread is not running: nothing drains the queue.
        let (tx, _rx) = std::sync::mpsc::sync_channel(STORE_QUEUE_CAPACITY);
        let store = StoreHandle { tx };
        let a = PeerId::random();
        let receivers: Vec<_> = (0..STORE_QUEUE_CAPACITY)
            .map(|_| store.fetch(a, 0, 1).unwrap())
            .collect();
        assert_eq!(receivers.len(), STORE_QUEUE_CAPACITY);
        assert_eq!(store.fetch(a, 0, 1).unwrap_err(), Busy);
        drop(_rx);
        assert_eq!(store.purge(1).unwrap_err(), Busy);
    }
}
