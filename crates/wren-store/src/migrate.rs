//! Schema version check and the migration hook.
//!
//! The schema version lives in `meta` (`schema_version`, a codec-encoded
//! u32). Opening checks it before anything is written:
//!
//! - equal to [`SCHEMA_VERSION`]: nothing to do;
//! - older: [`migrate`] upgrades it step by step inside one write
//!   transaction (none exist yet: version 1 is the first);
//! - newer: [`StoreError::NewerSchema`], the file is left untouched.

use wren_proto::codec;

use crate::error::{Corruption, Result, StoreError};
use crate::records::VERSION_LIMIT;
use crate::schema::{self, SCHEMA_VERSION};

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
    txn.open_table(schema::MESSAGES)?;
    txn.open_table(schema::MESSAGE_IDS)?;
    txn.open_table(schema::OUTBOX)?;
    txn.open_table(schema::OUTBOX_DUE)?;
    txn.open_table(schema::CONTACT_REQUESTS)?;
    txn.open_table(schema::SETTINGS)?;
    txn.open_table(schema::GROUPS)?;
    txn.open_table(schema::GROUP_MEMBERS)?;
    let version = encode_version(SCHEMA_VERSION)?;
    txn.open_table(schema::META)?
        .insert(schema::META_SCHEMA_VERSION, version.as_slice())?;
    Ok(())
}

/// Upgrades a store from `from` to [`SCHEMA_VERSION`] inside `txn`. Each
/// future version adds a step `n → n + 1` here, with a test that opens a
/// file written by version `n` (kept under `tests/data/`).
pub(crate) fn migrate(txn: &redb::WriteTransaction, from: u32) -> Result<()> {
    // No step exists yet: every version below 1 is invalid.
    if from < 1 {
        return Err(StoreError::MissingMeta);
    }
    create_tables(txn)
}
