//! The store's typed errors.

use std::path::PathBuf;

use wren_proto::CodecError;

/// Why a stored record could not be read back.
///
/// Never carries the record's content: only the category of the failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// The sealed value is shorter than its header and tag, or has an
    /// unknown seal version.
    #[error("malformed sealed value")]
    Malformed,
    /// The AEAD tag did not verify: the bytes were altered, moved to another
    /// key or table, or sealed with another storage key.
    #[error("sealed value does not authenticate")]
    Unauthentic,
    /// The plaintext did not decode with the bounded codec.
    #[error("record does not decode: {0}")]
    Decode(CodecError),
    /// A cryptographic state layout (session book, prekeys, identity seed)
    /// did not parse.
    #[error("key material does not parse")]
    KeyMaterial,
}

/// Every error of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The passphrase does not unwrap the storage key. Nothing was written.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The key file does not unwrap the storage key (a different
    /// `store.key`). Nothing was written.
    #[error("the key file does not match this store")]
    WrongKeyFile,
    /// The store is protected by a key file that is not beside the database
    /// (e.g. the directory was copied without it).
    #[error("key file {path} is missing")]
    KeyFileMissing {
        /// Where the key file was expected.
        path: PathBuf,
    },
    /// The store is protected by a passphrase but none was given, or the
    /// other way round.
    #[error("the store is protected by a {expected}, not by what was given")]
    UnlockMismatch {
        /// What protects the store: `"passphrase"` or `"key file"`.
        expected: &'static str,
    },
    /// The unlock file `store.unlock` holds another store's wrapped key
    /// (e.g. the database was restored from an older backup). Deleting the
    /// unlock file makes the next open check the key against the
    /// database's own copy and rewrite it.
    #[error("the unlock file does not belong to this database")]
    UnlockFileMismatch,
    /// The key file exists but is not 32 bytes.
    #[error("key file is malformed")]
    KeyFileMalformed,
    /// The passphrase KDF parameters are invalid.
    #[error("invalid key derivation parameters")]
    KdfParams,
    /// The database's metadata (schema version, wrapped key) is missing.
    #[error("the database has no Wren metadata")]
    MissingMeta,
    /// The database was written by a newer schema than this release knows.
    #[error("schema version {found} is newer than the supported {supported}")]
    NewerSchema {
        /// Version found in the file.
        found: u32,
        /// Newest version this release reads.
        supported: u32,
    },
    /// A record could not be read back. Other records are unaffected.
    #[error("corrupt record in table {table}: {corruption}")]
    Corrupt {
        /// The table holding the record.
        table: &'static str,
        /// What was wrong.
        corruption: Corruption,
    },
    /// A record could not be encoded (a field over its bound).
    #[error("record does not encode: {0}")]
    Encode(CodecError),
    /// The conversation does not exist.
    #[error("conversation {0} does not exist")]
    ConversationNotFound(u64),
    /// No message has this id.
    #[error("message not found")]
    MessageNotFound,
    /// An outgoing message reused the id of a stored message.
    #[error("a message with this id is already stored")]
    DuplicateMessageId,
    /// No outbox entry has this id.
    #[error("outbox entry not found")]
    OutboxEntryNotFound,
    /// The session book given belongs to another contact than the one named.
    #[error("session book belongs to another contact")]
    SessionContactMismatch,
    /// A field is over its bound (e.g. a failure reason too long).
    #[error("field {field} is too long")]
    FieldTooLong {
        /// The field.
        field: &'static str,
    },
    /// The closure given to `Store::read` or `Store::write` panicked; its
    /// transaction was aborted and the store keeps working.
    #[error("the transaction closure panicked")]
    Panicked,
    /// The store's thread has stopped (the store was closed).
    #[error("the store is closed")]
    Closed,
    /// A file system error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// An error from redb.
    #[error("database error: {0}")]
    Database(Box<redb::Error>),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(error: $t) -> Self {
                StoreError::Database(Box::new(error.into()))
            }
        }
    )*};
}

from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Shorthand for results of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
