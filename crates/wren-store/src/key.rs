//! The storage key and how it is unlocked.
//!
//! The storage key is 32 random bytes generated when the store is created.
//! It never changes (so changing a passphrase re-wraps 32 bytes instead of
//! re-sealing the history) and is stored only *wrapped*: sealed with
//! XChaCha20-Poly1305 under a key-encryption key (KEK), in the `meta` table.
//!
//! The KEK comes from one of two places, chosen at creation:
//!
//! - **Passphrase**: argon2id(passphrase, 16-byte random salt) with the
//!   parameters recorded beside the wrapped key (default [`KdfParams::DEFAULT`]:
//!   64 MiB, 3 passes, 1 lane: RFC 9106's second recommended option with
//!   1 lane instead of 4, as this argon2 crate computes lanes one after the
//!   other). Copying the disk gives an
//!   attacker an offline guessing target whose cost per guess is that KDF.
//! - **Key file**: 32 random bytes in `store.key` beside the database,
//!   created with mode 0600. Protects a copy of the database alone (a backup,
//!   a synced folder), not a copy of the whole directory or a local attacker
//!   running as the user.
//!
//! The wrap's associated data includes the protection and its KDF
//! parameters, so a file edited to use weaker parameters does not unlock.
//! Unwrapping happens before the database is ever opened for writing (from
//! the unlock file `store.unlock`, a copy of the wrapped key beside the
//! database, or else from a read-only view of `meta`): a wrong passphrase
//! changes nothing on disk.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rand::Rng;
use serde::{Deserialize, Serialize};
use wren_proto::codec;
use zeroize::Zeroizing;

use crate::error::{Corruption, Result, StoreError};
use crate::seal::{open_raw, seal_raw};

/// Name of the key file beside the database.
pub const KEY_FILE_NAME: &str = "store.key";

/// Name of the unlock file beside the database: a copy of the wrapped
/// storage key (not secret), so that a key can be checked without opening
/// the database, even one that needs crash recovery (which writes).
pub const UNLOCK_FILE_NAME: &str = "store.unlock";

/// Associated data label of the wrapped storage key.
const WRAP_LABEL: &[u8] = b"wren-store key wrap v1";

/// Bound on a stored wrap record.
const KEY_WRAP_LIMIT: usize = 256;

/// Upper bounds on stored KDF parameters, so that a tampered file cannot
/// make opening allocate or spin without bound.
const MAX_M_COST_KIB: u32 = 1 << 20;
const MAX_T_COST: u32 = 64;
const MAX_P_COST: u32 = 16;

/// The key that seals every record. Zeroized on drop; never printed.
pub(crate) struct StorageKey(Zeroizing<[u8; 32]>);

impl StorageKey {
    /// Wraps raw bytes (tests and unwrapping).
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        Self(bytes)
    }

    /// The key bytes, for the cipher.
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StorageKey([redacted])")
    }
}

/// argon2id cost parameters of a passphrase-protected store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Number of passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// The parameters new passphrase stores use: 64 MiB, 3 passes, 1 lane.
    pub const DEFAULT: Self = Self {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };

    fn check(self) -> Result<()> {
        if self.m_cost_kib > MAX_M_COST_KIB || self.t_cost > MAX_T_COST || self.p_cost > MAX_P_COST
        {
            return Err(StoreError::KdfParams);
        }
        Ok(())
    }
}

/// How to unlock (or, for a new store, protect) the storage key.
pub enum Unlock {
    /// A key file `store.key` beside the database (created with the store).
    KeyFile,
    /// A passphrase. `params` apply only when the store is created; an
    /// existing store uses the parameters it was created with.
    Passphrase {
        /// The passphrase; zeroized on drop.
        passphrase: Zeroizing<String>,
        /// Cost parameters for a new store.
        params: KdfParams,
    },
}

impl Unlock {
    /// A passphrase with the default parameters.
    pub fn passphrase(passphrase: impl Into<String>) -> Self {
        Self::Passphrase {
            passphrase: Zeroizing::new(passphrase.into()),
            params: KdfParams::DEFAULT,
        }
    }
}

impl fmt::Debug for Unlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyFile => f.write_str("Unlock::KeyFile"),
            Self::Passphrase { params, .. } => f
                .debug_struct("Unlock::Passphrase")
                .field("passphrase", &"[redacted]")
                .field("params", params)
                .finish(),
        }
    }
}

/// What protects the storage key, as recorded in `meta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Protection {
    KeyFile,
    Passphrase { salt: [u8; 16], params: KdfParams },
}

/// The `key_wrap` record in `meta`.
#[derive(Debug, Serialize, Deserialize)]
enum KeyWrap {
    V1 {
        protection: Protection,
        #[serde(with = "wren_proto::codec::bytes")]
        wrapped: Vec<u8>,
    },
}

fn wrap_ad(protection: &Protection) -> Result<Vec<u8>> {
    let mut ad = WRAP_LABEL.to_vec();
    ad.extend_from_slice(&codec::encode(protection).map_err(StoreError::Encode)?);
    Ok(ad)
}

fn derive_kek(passphrase: &str, salt: &[u8; 16], params: KdfParams) -> Result<Zeroizing<[u8; 32]>> {
    params.check()?;
    let argon_params =
        argon2::Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32))
            .map_err(|_| StoreError::KdfParams)?;
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon_params,
    );
    let mut kek = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.as_bytes(), salt, kek.as_mut())
        .map_err(|_| StoreError::KdfParams)?;
    Ok(kek)
}

fn read_key_file(dir: &Path) -> Result<Option<Zeroizing<[u8; 32]>>> {
    let path = dir.join(KEY_FILE_NAME);
    let mut file = match fs::File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let mut bytes = Zeroizing::new(Vec::with_capacity(33));
    Read::by_ref(&mut file).take(33).read_to_end(&mut bytes)?;
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::KeyFileMalformed)?;
    Ok(Some(Zeroizing::new(key)))
}

/// Reads the key file, or creates it (mode 0600, synced) if absent.
fn read_or_create_key_file(dir: &Path) -> Result<Zeroizing<[u8; 32]>> {
    if let Some(key) = read_key_file(dir)? {
        return Ok(key);
    }
    let mut key = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(key.as_mut());
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.join(KEY_FILE_NAME))?;
    file.write_all(key.as_ref())?;
    file.sync_all()?;
    fs::File::open(dir)?.sync_all()?;
    Ok(key)
}

/// Reads the unlock file, if present (bounded).
pub(crate) fn read_unlock_file(dir: &Path) -> Result<Option<Vec<u8>>> {
    let file = match fs::File::open(dir.join(UNLOCK_FILE_NAME)) {
        Ok(file) => file,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let mut bytes = Vec::new();
    file.take(KEY_WRAP_LIMIT as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// Writes the unlock file atomically (temporary file, fsync, rename, fsync
/// of the directory).
pub(crate) fn write_unlock_file(dir: &Path, record: &[u8]) -> Result<()> {
    let temporary = dir.join(format!("{UNLOCK_FILE_NAME}.tmp"));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(record)?;
    file.sync_all()?;
    fs::rename(&temporary, dir.join(UNLOCK_FILE_NAME))?;
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Creates a storage key for a new store: returns it and the encoded
/// `key_wrap` record to write into `meta`. A key file is created if needed.
pub(crate) fn create(dir: &Path, unlock: &Unlock) -> Result<(StorageKey, Vec<u8>)> {
    let (protection, kek) = match unlock {
        Unlock::KeyFile => (Protection::KeyFile, read_or_create_key_file(dir)?),
        Unlock::Passphrase { passphrase, params } => {
            let mut salt = [0u8; 16];
            rand::rng().fill_bytes(&mut salt);
            let kek = derive_kek(passphrase, &salt, *params)?;
            (
                Protection::Passphrase {
                    salt,
                    params: *params,
                },
                kek,
            )
        }
    };
    let key = StorageKey::generate();
    let wrapped = seal_raw(&kek, &wrap_ad(&protection)?, key.bytes());
    let record = codec::encode(&KeyWrap::V1 {
        protection,
        wrapped,
    })
    .map_err(StoreError::Encode)?;
    Ok((key, record))
}

/// Unwraps the storage key from the encoded `key_wrap` record. Reads only.
pub(crate) fn unlock(dir: &Path, unlock: &Unlock, record: &[u8]) -> Result<StorageKey> {
    let KeyWrap::V1 {
        protection,
        wrapped,
    } = codec::decode::<KeyWrap, KEY_WRAP_LIMIT>(record).map_err(|error| StoreError::Corrupt {
        table: "meta",
        corruption: Corruption::Decode(error),
    })?;
    let (kek, wrong) = match (&protection, unlock) {
        (Protection::KeyFile, Unlock::KeyFile) => {
            let kek = read_key_file(dir)?.ok_or_else(|| StoreError::KeyFileMissing {
                path: dir.join(KEY_FILE_NAME),
            })?;
            (kek, StoreError::WrongKeyFile)
        }
        (Protection::Passphrase { salt, params }, Unlock::Passphrase { passphrase, .. }) => (
            derive_kek(passphrase, salt, *params)?,
            StoreError::WrongPassphrase,
        ),
        (Protection::KeyFile, Unlock::Passphrase { .. }) => {
            return Err(StoreError::UnlockMismatch {
                expected: "key file",
            });
        }
        (Protection::Passphrase { .. }, Unlock::KeyFile) => {
            return Err(StoreError::UnlockMismatch {
                expected: "passphrase",
            });
        }
    };
    let bytes = open_raw(&kek, &wrap_ad(&protection)?, &wrapped).map_err(|_| wrong)?;
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::Corrupt {
            table: "meta",
            corruption: Corruption::Malformed,
        })?;
    Ok(StorageKey::from_bytes(key))
}
