//! Schema version check and the migration hook.
//!
//! The schema version lives in `meta` (`schema_version`, a codec-encoded
//! u32). Opening checks it before anything is written:
//!
//! - equal to [`SCHEMA_VERSION`]: nothing to do;
//! - older: [`migrate`] upgrades it step by step inside one write
//!   transaction, so a crash during a migration leaves the old version;
//! - newer: [`StoreError::NewerSchema`], the file is left untouched.

use redb::{ReadableTable, TableHandle};
use wren_proto::codec;

use crate::blocks::{self, CachedBlock};
use crate::error::{Corruption, Result, StoreError};
use crate::key::StorageKey;
use crate::order;
use crate::records::{MESSAGE_LIMIT, MessageRecord, OUTBOX_LIMIT, OutboxRecord, VERSION_LIMIT};
use crate::schema::{self, SCHEMA_VERSION};
use crate::seal;

/// Decodes the stored schema version.
pub(crate) fn decode_version(bytes: &[u8]) -> Result<u32> {
    codec::decode::<u32, VERSION_LIMIT>(bytes).map_err(|error| StoreError::Corrupt {
        table: "meta",
        corruption: Corruption::Decode(error),
    })
}

/// Encodes a schema version for `meta`.
pub(crate) fn encode_version(version: u32) -> Result<Vec<u8>> {
    codec::encode(&version).map_err(StoreError::Encode)
}

/// Whether a stored version can be opened: `Ok(true)` if it needs
/// migrating, `Ok(false)` if current.
pub(crate) fn check(found: u32) -> Result<bool> {
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(found < SCHEMA_VERSION)
}

/// Creates every table (so that later read transactions find them) and
/// records the current schema version.
pub(crate) fn create_tables(txn: &redb::WriteTransaction) -> Result<()> {
    txn.open_table(schema::META)?;
    txn.open_table(schema::IDENTITY)?;
    txn.open_table(schema::SIGNED_PREKEYS)?;
    txn.open_table(schema::ONE_TIME_PREKEYS)?;
    txn.open_table(schema::CONTACTS)?;
    txn.open_table(schema::DIRECT_CONVERSATIONS)?;
    txn.open_table(schema::SESSIONS)?;
    txn.open_table(schema::CONVERSATIONS)?;
    txn.open_table(schema::ACTIVITY)?;
    txn.open_table(schema::MESSAGE_BLOCKS)?;
    txn.open_table(schema::MESSAGE_IDS)?;
    txn.open_table(schema::OUTBOX)?;
    txn.open_table(schema::OUTBOX_DUE)?;
    txn.open_table(schema::CONTACT_REQUESTS)?;
    txn.open_table(schema::SETTINGS)?;
    txn.open_table(schema::GROUPS)?;
    txn.open_table(schema::GROUP_OPS)?;
    txn.open_table(schema::GROUP_SENDER_KEYS)?;
    txn.open_table(schema::GROUP_RECEIVERS)?;
    txn.open_table(schema::GROUP_PUBLISH)?;
    txn.open_table(schema::GROUP_ORDER)?;
    txn.open_table(schema::GROUP_PEERS)?;
    txn.open_table(schema::GROUP_RECEIPTS)?;
    txn.open_table(schema::GROUP_HELD)?;
    txn.open_table(schema::GROUP_WATCHED)?;
    let version = encode_version(SCHEMA_VERSION)?;
    txn.open_table(schema::META)?
        .insert(schema::META_SCHEMA_VERSION, version.as_slice())?;
    Ok(())
}

/// Upgrades a store from `from` to [`SCHEMA_VERSION`] inside `txn`. Each
/// version adds a step `n → n + 1` here, with a test that opens a file
/// written by version `n` (kept under `tests/data/`).
pub(crate) fn migrate(txn: &redb::WriteTransaction, from: u32, key: &StorageKey) -> Result<()> {
    // Every version below 1 is invalid.
    if from < 1 {
        return Err(StoreError::MissingMeta);
    }
    if from < 2 {
        messages_into_blocks(txn, key)?;
        unseal_outbox(txn, key)?;
    }
    if from < 3 {
        // The reserved group tables were never written: their key types
        // change, so they are dropped and created anew.
        txn.delete_table(schema::GROUPS_V2)?;
        txn.delete_table(schema::GROUP_MEMBERS_V2)?;
    }
    if from < 4 {
        order::backfill(txn, key)?;
    }
    create_tables(txn)
}

/// Version 1 → 2: moves the one-record-per-message rows of `messages` into
/// sealed blocks of `message_blocks`, then deletes `messages`.
///
/// A version 1 record that no longer opened stays unreadable: it is left
/// out, and the block it interrupted ends before it (its sequence reads as
/// missing, which the queries already handle).
fn messages_into_blocks(txn: &redb::WriteTransaction, key: &StorageKey) -> Result<()> {
    let old = txn.open_table(schema::MESSAGES_V1)?;
    let mut new = txn.open_table(schema::MESSAGE_BLOCKS)?;
    let mut write = |block: Option<(u64, u64, CachedBlock)>| -> Result<()> {
        if let Some((conversation, first, block)) = block {
            let sealed = blocks::seal(key, conversation, first, &block.entries)?;
            new.insert((conversation, first), sealed.as_slice())?;
        }
        Ok(())
    };
    let mut current: Option<(u64, u64, CachedBlock)> = None;
    for row in old.iter()? {
        let (k, v) = row?;
        let (conversation, seq) = k.value();
        let mut key_bytes = [0u8; 16];
        let (left, right) = key_bytes.split_at_mut(8);
        left.copy_from_slice(&conversation.to_be_bytes());
        right.copy_from_slice(&seq.to_be_bytes());
        let entry = seal::open(key, schema::MESSAGES_V1.name(), &key_bytes, v.value())
            .ok()
            .and_then(|plaintext| codec::decode::<MessageRecord, MESSAGE_LIMIT>(&plaintext).ok())
            .map(MessageRecord::into_entry);
        let Some(entry) = entry else {
            write(current.take())?;
            continue;
        };
        match &mut current {
            Some((c, first, block))
                if *c == conversation
                    && !block.is_full()
                    && first.checked_add(block.entries.len() as u64) == Some(seq) =>
            {
                block.push(entry);
            }
            _ => {
                write(current.take())?;
                let mut block = CachedBlock::loaded(Vec::new());
                block.push(entry);
                current = Some((conversation, seq, block));
            }
        }
    }
    write(current.take())?;
    drop(old);
    txn.delete_table(schema::MESSAGES_V1)?;
    Ok(())
}

/// Version 1 → 2: outbox records are stored unsealed (see
/// [`schema::OUTBOX`]). A record that no longer opened is dropped with its
/// schedule entry: it could never have been sent.
fn unseal_outbox(txn: &redb::WriteTransaction, key: &StorageKey) -> Result<()> {
    let mut outbox = txn.open_table(schema::OUTBOX)?;
    let mut due = txn.open_table(schema::OUTBOX_DUE)?;
    let mut rows = Vec::new();
    for row in outbox.iter()? {
        let (k, v) = row?;
        let id = k.value();
        let record = seal::open(key, schema::OUTBOX.name(), &id.to_be_bytes(), v.value())
            .ok()
            .and_then(|plaintext| codec::decode::<OutboxRecord, OUTBOX_LIMIT>(&plaintext).ok());
        rows.push((id, record));
    }
    let mut dropped = Vec::new();
    for (id, record) in rows {
        match record {
            Some(record) => {
                let bytes = codec::encode(&record).map_err(StoreError::Encode)?;
                outbox.insert(id, bytes.as_slice())?;
            }
            None => {
                outbox.remove(id)?;
                dropped.push(id);
            }
        }
    }
    if !dropped.is_empty() {
        let stale: Vec<(u64, u64)> = due
            .iter()?
            .filter_map(|entry| entry.ok().map(|(k, _)| k.value()))
            .filter(|(_, id)| dropped.contains(id))
            .collect();
        for key in stale {
            due.remove(key)?;
        }
    }
    Ok(())
}
