//! Wren's wire and content types, versioned, and the one bounded bincode
//! codec of the project.
//!
//! - [`Envelope`]: what crosses the wire between peers; it carries
//!   ciphertexts from `wren-crypto` as opaque bounded byte strings.
//! - [`Payload`]: the plaintext inside a double-ratchet message, decoded only
//!   after decryption succeeded.
//! - [`codec`]: the only place bincode is used. Every frame is
//!   `[version: u8] || bincode(body)`, decoded with a byte limit, without
//!   trailing bytes, in canonical form, and with every field bound checked.
//! - [`group`]: groups — signed membership operations, the state every
//!   member folds from them, and the envelope published on a group's topic.
//! - [`limits`]: every size limit as a named constant.
//!
//! The byte layout is specified in docs/protocol.md (Part II) and pinned by
//! golden tests.
//!
//! ```
//! use wren_proto::{Envelope, Versioned};
//!
//! let envelope = Envelope::Message { message: vec![1, 2, 3] };
//! let bytes = envelope.to_bytes()?;
//! assert_eq!(bytes, [1, 1, 3, 1, 2, 3]);
//! assert_eq!(Envelope::from_bytes(&bytes)?, envelope);
//! # Ok::<(), wren_proto::CodecError>(())
//! ```

pub mod codec;
mod display_name;
mod envelope;
pub mod group;
mod ids;
pub mod limits;
mod payload;

pub use codec::{CodecError, Versioned};
pub use display_name::DisplayName;
pub use envelope::{Envelope, MailboxRequest};
pub use ids::{GroupId, IdParseError, MessageId, OpId, Timestamp};
pub use payload::{
    ContactRequest, GroupIntroduction, GroupPeerHello, GroupSenderKey, MemberCard, Payload,
    Profile, Receipt, Text,
};
