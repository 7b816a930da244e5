//! The engine's own records, kept in the store's sealed settings table:
//! for each contact, the display name from its code and where the
//! relationship stands, and the one-time prekey pool's counters. (Which
//! identities are contacts or pending requests is read from the store's
//! own tables; databases from before that may still hold the unused
//! `core/contacts` and `core/requests` index settings.)
//!
//! The engine is the store's only writer and keeps these in memory; it
//! writes each change in the same transaction as the change it describes.

use serde::{Deserialize, Serialize};
use wren_proto::codec;
use wren_store::{ReadTx, StoreError, WriteTx};

/// Prefix of the per-contact setting ([`ContactMeta`]), followed by the
/// identity key in hex.
const CONTACT_PREFIX: &str = "core/contact/";
/// Prefix of the setting holding a contact's latest signed pairing code
/// (the URI text), followed by the identity key in hex: forwarded in
/// introductions (docs/protocol.md §G13).
const CODE_PREFIX: &str = "core/code/";
/// Setting holding the one-time prekey pool's counters.
const OTK_POOL: &str = "core/otk";

/// Decoder bound of a contact's record.
const CONTACT_META_LIMIT: usize = 1_024;
/// Decoder bound of the pool counters.
const OTK_POOL_LIMIT: usize = 64;

/// Where a contact relationship stands, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StoredState {
    /// We sent our request; no message from the contact yet.
    Pending,
    /// Both sides are contacts.
    Added,
}

/// What the engine keeps about a contact beside the store's `Contact`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ContactMeta {
    /// The display name from the contact's pairing code ("" if added by
    /// peer id).
    pub(crate) name: String,
    /// Where the relationship stands.
    pub(crate) state: StoredState,
}

#[derive(Serialize, Deserialize)]
enum ContactMetaRecord {
    V1(ContactMeta),
}

/// The one-time prekey pool: ids below `next_handout` were handed out in
/// bundles (their secrets stay stored until a prekey message uses them);
/// ids from `next_handout` below `next_id` are available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OtkPool {
    /// The next id to hand out.
    pub(crate) next_handout: u32,
    /// The next id to generate.
    pub(crate) next_id: u32,
}

#[derive(Serialize, Deserialize)]
enum OtkPoolRecord {
    V1(OtkPool),
}

fn corrupt(error: wren_proto::CodecError) -> StoreError {
    StoreError::Corrupt {
        table: "settings",
        corruption: wren_store::Corruption::Decode(error),
    }
}

fn contact_key(identity: &[u8; 32]) -> String {
    format!("{CONTACT_PREFIX}{}", hex::encode(identity))
}

/// A contact's record.
pub(crate) fn read_contact_meta(
    tx: &ReadTx<'_>,
    identity: &[u8; 32],
) -> Result<Option<ContactMeta>, StoreError> {
    match tx.setting(&contact_key(identity))? {
        None => Ok(None),
        Some(bytes) => {
            let ContactMetaRecord::V1(meta) =
                codec::decode::<_, CONTACT_META_LIMIT>(&bytes).map_err(corrupt)?;
            Ok(Some(meta))
        }
    }
}

/// Stores a contact's record.
pub(crate) fn write_contact_meta(
    tx: &mut WriteTx<'_>,
    identity: &[u8; 32],
    meta: &ContactMeta,
) -> Result<(), StoreError> {
    let bytes = codec::encode(&ContactMetaRecord::V1(meta.clone())).map_err(StoreError::Encode)?;
    tx.set_setting(&contact_key(identity), &bytes)
}

fn code_key(identity: &[u8; 32]) -> String {
    format!("{CODE_PREFIX}{}", hex::encode(identity))
}

/// A contact's latest signed pairing code, if we have one (`None` also for
/// a stored value that is not text).
pub(crate) fn read_contact_code(
    tx: &WriteTx<'_>,
    identity: &[u8; 32],
) -> Result<Option<String>, StoreError> {
    Ok(tx
        .setting(&code_key(identity))?
        .and_then(|bytes| String::from_utf8(bytes).ok()))
}

/// Keeps a contact's latest signed pairing code (already verified to name
/// it).
pub(crate) fn write_contact_code(
    tx: &mut WriteTx<'_>,
    identity: &[u8; 32],
    code: &str,
) -> Result<(), StoreError> {
    tx.set_setting(&code_key(identity), code.as_bytes())
}

/// The pool counters (`None` before the pool was created).
pub(crate) fn read_otk_pool(tx: &ReadTx<'_>) -> Result<Option<OtkPool>, StoreError> {
    match tx.setting(OTK_POOL)? {
        None => Ok(None),
        Some(bytes) => {
            let OtkPoolRecord::V1(pool) =
                codec::decode::<_, OTK_POOL_LIMIT>(&bytes).map_err(corrupt)?;
            Ok(Some(pool))
        }
    }
}

/// Stores the pool counters.
pub(crate) fn write_otk_pool(tx: &mut WriteTx<'_>, pool: &OtkPool) -> Result<(), StoreError> {
    let bytes = codec::encode(&OtkPoolRecord::V1(*pool)).map_err(StoreError::Encode)?;
    tx.set_setting(OTK_POOL, &bytes)
}
