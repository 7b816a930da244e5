//! Typed errors of the cryptographic layer.

use thiserror::Error;

/// Why bytes could not be decoded into one of this crate's types.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the structure was complete.
    #[error("input truncated: needed {needed} more bytes")]
    Truncated {
        /// How many more bytes were needed at the point it ended.
        needed: usize,
    },
    /// The input continued after the structure was complete.
    #[error("{0} trailing bytes after the end of the structure")]
    TrailingBytes(usize),
    /// The leading version byte is not one this implementation speaks.
    #[error("unsupported version {found} (supported: {supported})")]
    UnsupportedVersion {
        /// The version found in the input.
        found: u8,
        /// The version this implementation reads.
        supported: u8,
    },
    /// A length or count exceeded its limit.
    #[error("{field} is too long: {len} > {max}")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length in the input.
        len: usize,
        /// The largest allowed.
        max: usize,
    },
    /// A public key is not a valid point (or is a low-order point).
    #[error("invalid {0} key")]
    InvalidKey(&'static str),
    /// A field has a value outside its domain.
    #[error("invalid {0}")]
    InvalidField(&'static str),
}

/// Why a pairing code was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PairingCodeError {
    /// It does not start with the `wren:` scheme.
    #[error("not a Wren pairing code (expected a wren: URI)")]
    NotAWrenCode,
    /// The URI is longer than any valid code.
    #[error("pairing code too long: {len} characters > {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The largest allowed.
        max: usize,
    },
    /// The URI's version is not one this implementation reads.
    #[error("unsupported pairing code version {0}")]
    UnsupportedVersion(String),
    /// The payload is not valid base32.
    #[error("pairing code is not valid base32")]
    BadEncoding,
    /// The checksum does not match: a typo or a truncated code.
    #[error("pairing code checksum mismatch (mistyped or incomplete code)")]
    BadChecksum,
    /// The payload is malformed.
    #[error("malformed pairing code: {0}")]
    Malformed(#[from] DecodeError),
    /// The display name is not valid UTF-8 or contains control characters.
    #[error("pairing code display name is invalid")]
    BadDisplayName,
    /// The identity's signature over the code does not verify.
    #[error("pairing code signature is invalid")]
    BadSignature,
    /// The embedded signed prekey's signature does not verify.
    #[error("pairing code prekey signature is invalid")]
    BadPrekeySignature,
}

/// Why a session could not be started or a message could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The message bytes are malformed.
    #[error("malformed message: {0}")]
    Malformed(#[from] DecodeError),
    /// A signature over a prekey does not verify.
    #[error("signed prekey signature is invalid")]
    BadPrekeySignature,
    /// The prekey message names a signed prekey we do not have (or that expired).
    #[error("unknown or expired signed prekey {0}")]
    UnknownSignedPrekey(u32),
    /// A prekey message for an existing session names other prekeys than the
    /// session was started with (it was altered in transit).
    #[error("prekey message does not match its session's prekeys")]
    PrekeyMismatch,
    /// The prekey message names a one-time prekey we do not have (already used?).
    #[error("unknown one-time prekey {0}")]
    UnknownOneTimePrekey(u32),
    /// A Diffie-Hellman output was all zeros (a low-order point was supplied).
    #[error("non-contributory key agreement")]
    NonContributory,
    /// Authentication of the ciphertext and header failed.
    #[error("message authentication failed")]
    AuthenticationFailed,
    /// This message was already decrypted.
    #[error("duplicate message (already decrypted)")]
    Replay,
    /// The message would need more skipped keys than [`crate::limits::MAX_SKIP`].
    #[error("message counter jumps too far ahead ({gap} > {max})")]
    TooFarAhead {
        /// How far ahead it is.
        gap: u32,
        /// The limit.
        max: u32,
    },
    /// The plaintext exceeds [`crate::limits::MAX_PLAINTEXT_BYTES`].
    #[error("plaintext too large: {len} > {max}")]
    PlaintextTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A counter would overflow (2^32 messages in one chain).
    #[error("chain counter exhausted")]
    CounterExhausted,
    /// The message was sent by a different identity than the session's peer.
    #[error("message is from a different identity")]
    WrongIdentity,
    /// A session can't be started with oneself.
    #[error("cannot start a session with one's own identity")]
    SelfSession,
}

/// Why a sender-key (group) operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SenderKeyError {
    /// The message bytes are malformed.
    #[error("malformed sender-key message: {0}")]
    Malformed(#[from] DecodeError),
    /// The signature does not verify with the sender's chain signature key.
    #[error("sender-key signature is invalid")]
    BadSignature,
    /// The message belongs to a chain we were never given (or that was evicted).
    #[error("unknown sender-key chain {0}")]
    UnknownChain(u32),
    /// Authentication of the ciphertext failed.
    #[error("message authentication failed")]
    AuthenticationFailed,
    /// This message was already decrypted.
    #[error("duplicate group message (already decrypted)")]
    Replay,
    /// The iteration jumps further than [`crate::limits::MAX_SENDER_KEY_SKIP`].
    #[error("sender-key iteration jumps too far ahead ({gap} > {max})")]
    TooFarAhead {
        /// How far ahead it is.
        gap: u32,
        /// The limit.
        max: u32,
    },
    /// The plaintext exceeds [`crate::limits::MAX_PLAINTEXT_BYTES`].
    #[error("plaintext too large: {len} > {max}")]
    PlaintextTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The chain counter would overflow.
    #[error("sender-key chain exhausted")]
    CounterExhausted,
}
