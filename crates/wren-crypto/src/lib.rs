//! Wren's cryptography: identities and fingerprints, pairing codes, X3DH
//! session start, the double ratchet and sender keys for groups.
//!
//! Pure: no I/O, no clocks, no async. Randomness comes from a caller-supplied
//! CSPRNG (`rand::rng()` in production, fixed generators in test vectors),
//! time from caller-supplied timestamps. Every byte layout is specified in
//! docs/protocol.md; every limit is in [`limits`].

mod aead;
mod bytes;
mod dh;
mod error;
mod identity;
mod kdf;
mod keys;
pub mod limits;
mod pairing;
mod prekey;
mod ratchet;
pub mod sender_key;
mod x3dh;

pub use error::{DecodeError, PairingCodeError, SenderKeyError, SessionError};
pub use identity::{Fingerprint, IdentityKey, IdentityKeyPair, SafetyNumber};
pub use keys::{ChainKey, MessageKey, RootKey};
pub use libp2p_identity::PeerId;
pub use pairing::{NetworkHint, PairingCode};
pub use prekey::{
    OneTimePrekey, OneTimePrekeyPair, PrekeyBundle, SignedPrekey, SignedPrekeyPair, SignedPrekeys,
    VerifiedBundle,
};
pub use ratchet::{
    HEADER_LEN, MAX_PREKEY_MESSAGE_BYTES, MAX_RATCHET_MESSAGE_BYTES, OutboundMessage,
    PrekeyMessage, PrekeyOutcome, Session, SessionBook,
};
