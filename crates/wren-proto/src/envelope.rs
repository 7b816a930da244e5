//! [`Envelope`]: what crosses the wire between peers.
//!
//! An envelope carries ciphertexts produced by the cryptography crate as
//! opaque byte strings; this crate does not look inside them. Only after the
//! cryptography layer has decrypted and authenticated one is the plaintext
//! decoded, as a [`Payload`](crate::Payload).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError, Versioned, check_max, check_min};
use crate::ids::GroupId;
use crate::limits::{
    MAX_CIPHERTEXT_BYTES, MAX_DEPOSIT_BYTES, MAX_ENVELOPE_BYTES, MAX_MAILBOX_FETCH,
};

/// A frame exchanged between peers, version 1.
///
/// Encoded as `[1] || tag || fields` (see docs/protocol.md, Part II). The variant order is the
/// wire tag and must never change; new variants are appended at the end.
///
/// | tag | variant    |
/// |-----|------------|
/// | 0   | `Prekey`   |
/// | 1   | `Message`  |
/// | 2   | `Group`    |
/// | 3   | `Mailbox`  |
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Envelope {
    /// Tag 0. An X3DH prekey message: the first message of a session, which
    /// embeds the session's first double-ratchet message.
    /// 1..=[`MAX_CIPHERTEXT_BYTES`] bytes.
    Prekey {
        /// The prekey message, as produced by the cryptography crate.
        #[serde(with = "codec::bytes")]
        message: Vec<u8>,
    },
    /// Tag 1. A double-ratchet message of an established session.
    /// 1..=[`MAX_CIPHERTEXT_BYTES`] bytes.
    Message {
        /// The ratchet message, as produced by the cryptography crate.
        #[serde(with = "codec::bytes")]
        message: Vec<u8>,
    },
    /// Tag 2. RESERVED for group sender-key messages; a later issue specifies
    /// the content. Decodes and validates its bounds today so that the
    /// layout is fixed. 1..=[`MAX_CIPHERTEXT_BYTES`] bytes.
    Group {
        /// The group the message belongs to.
        group: GroupId,
        /// The sender-key message.
        #[serde(with = "codec::bytes")]
        message: Vec<u8>,
    },
    /// Tag 3. RESERVED and UNSTABLE: the relay mailbox protocol for offline
    /// delivery. Its content may change before it is used.
    Mailbox(MailboxRequest),
}

/// A request to a relay's mailbox. RESERVED and UNSTABLE: a minimal shape
/// that fixes the tags; the mailbox protocol itself is specified later.
///
/// | tag | variant   |
/// |-----|-----------|
/// | 0   | `Deposit` |
/// | 1   | `Fetch`   |
/// | 2   | `Ack`     |
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailboxRequest {
    /// Tag 0. Store an envelope for an offline recipient.
    Deposit {
        /// The recipient's public identity key bytes.
        recipient: [u8; 32],
        /// An encoded [`Envelope`] frame, 1..=[`MAX_DEPOSIT_BYTES`] bytes.
        #[serde(with = "codec::bytes")]
        envelope: Vec<u8>,
    },
    /// Tag 1. Fetch stored envelopes with a sequence number above `after`.
    Fetch {
        /// Last sequence number already received.
        after: u64,
        /// Most envelopes to return, 1..=[`MAX_MAILBOX_FETCH`].
        limit: u16,
    },
    /// Tag 2. Delete stored envelopes up to and including `up_to`.
    Ack {
        /// Highest sequence number received and stored.
        up_to: u64,
    },
}

impl MailboxRequest {
    fn validate(&self) -> Result<(), CodecError> {
        match self {
            Self::Deposit { envelope, .. } => {
                check_min("MailboxRequest::Deposit.envelope", envelope.len(), 1)?;
                check_max(
                    "MailboxRequest::Deposit.envelope",
                    envelope.len(),
                    MAX_DEPOSIT_BYTES,
                )
            }
            Self::Fetch { limit, .. } => {
                check_min("MailboxRequest::Fetch.limit", usize::from(*limit), 1)?;
                check_max(
                    "MailboxRequest::Fetch.limit",
                    usize::from(*limit),
                    usize::from(MAX_MAILBOX_FETCH),
                )
            }
            Self::Ack { .. } => Ok(()),
        }
    }
}

fn check_ciphertext(field: &'static str, message: &[u8]) -> Result<(), CodecError> {
    check_min(field, message.len(), 1)?;
    check_max(field, message.len(), MAX_CIPHERTEXT_BYTES)
}

impl Versioned for Envelope {
    const NAME: &'static str = "Envelope";
    const VERSION: u8 = 1;
    const MAX_BYTES: usize = MAX_ENVELOPE_BYTES;
    const VARIANT_COUNT: u32 = 4;

    fn validate(&self) -> Result<(), CodecError> {
        match self {
            Self::Prekey { message } => check_ciphertext("Envelope::Prekey.message", message),
            Self::Message { message } => check_ciphertext("Envelope::Message.message", message),
            Self::Group { message, .. } => check_ciphertext("Envelope::Group.message", message),
            Self::Mailbox(request) => request.validate(),
        }
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, CodecError> {
        codec::decode_frame::<Self, MAX_ENVELOPE_BYTES>(bytes)
    }
}

/// Prints lengths instead of ciphertext bytes, which are large and useless
/// in logs.
impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Prekey { message } => f
                .debug_struct("Prekey")
                .field("message", &ByteLen(message.len()))
                .finish(),
            Self::Message { message } => f
                .debug_struct("Message")
                .field("message", &ByteLen(message.len()))
                .finish(),
            Self::Group { group, message } => f
                .debug_struct("Group")
                .field("group", group)
                .field("message", &ByteLen(message.len()))
                .finish(),
            Self::Mailbox(request) => f.debug_tuple("Mailbox").field(request).finish(),
        }
    }
}

/// Prints lengths instead of the deposited envelope's bytes.
impl fmt::Debug for MailboxRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Deposit {
                recipient,
                envelope,
            } => f
                .debug_struct("Deposit")
                .field("recipient", &HexBytes(recipient))
                .field("envelope", &ByteLen(envelope.len()))
                .finish(),
            Self::Fetch { after, limit } => f
                .debug_struct("Fetch")
                .field("after", after)
                .field("limit", limit)
                .finish(),
            Self::Ack { up_to } => f.debug_struct("Ack").field("up_to", up_to).finish(),
        }
    }
}

/// Debug helper: `<N bytes>`.
pub(crate) struct ByteLen(pub(crate) usize);

impl fmt::Debug for ByteLen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0)
    }
}

/// Debug helper: lowercase hex.
struct HexBytes<'a>(&'a [u8]);

impl fmt::Debug for HexBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_ciphertext() {
        let envelope = Envelope::Message {
            message: vec![0xaa; 40],
        };
        assert_eq!(format!("{envelope:?}"), "Message { message: <40 bytes> }");
    }

    #[test]
    fn empty_ciphertext_refused() {
        assert_eq!(
            Envelope::Message { message: vec![] }.to_bytes(),
            Err(CodecError::FieldTooShort {
                field: "Envelope::Message.message",
                len: 0,
                min: 1
            })
        );
    }
}
