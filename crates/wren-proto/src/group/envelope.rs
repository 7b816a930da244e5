//! [`GroupEnvelope`]: what is published on a group's gossipsub topic
//! (docs/protocol.md §G8).

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec::{self, CodecError, Versioned, check_max, check_min};
use crate::envelope::ByteLen;
use crate::limits::{MAX_ENVELOPE_BYTES, MAX_GROUP_MESSAGE_BYTES};

/// A published group frame, version 1, at most [`MAX_ENVELOPE_BYTES`].
///
/// | tag | variant   |
/// |-----|-----------|
/// | 0   | `Message` |
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupEnvelope {
    /// Tag 0. A group message.
    Message {
        /// The group's topic hash ([`topic_hash`](super::topic_hash)): names
        /// the group without revealing its id.
        topic: [u8; 32],
        /// The sender's identity key bytes, looked up among the members.
        sender: [u8; 32],
        /// A sender-key message (already signed by the sender's chain key)
        /// whose plaintext is a `Payload::Text` frame,
        /// 1..=[`MAX_GROUP_MESSAGE_BYTES`] bytes.
        #[serde(with = "codec::bytes")]
        message: Vec<u8>,
    },
}

impl Versioned for GroupEnvelope {
    const NAME: &'static str = "GroupEnvelope";
    const VERSION: u8 = 1;
    const MAX_BYTES: usize = MAX_ENVELOPE_BYTES;
    const VARIANT_COUNT: u32 = 1;

    fn validate(&self) -> Result<(), CodecError> {
        match self {
            Self::Message { message, .. } => {
                let field = "GroupEnvelope::Message.message";
                check_min(field, message.len(), 1)?;
                check_max(field, message.len(), MAX_GROUP_MESSAGE_BYTES)
            }
        }
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, CodecError> {
        codec::decode_frame::<Self, MAX_ENVELOPE_BYTES>(bytes)
    }
}

/// The id of a published group frame: SHA-256 of its bytes, the same
/// content hash gossipsub uses as its message id, so one message has one id
/// on every path.
pub fn group_message_id(frame: &[u8]) -> [u8; 32] {
    Sha256::digest(frame).into()
}

/// Prints lengths, not the ciphertext.
impl fmt::Debug for GroupEnvelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Message { message, .. } => f
                .debug_struct("Message")
                .field("message", &ByteLen(message.len()))
                .finish_non_exhaustive(),
        }
    }
}
