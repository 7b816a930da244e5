//! Byte layouts of double-ratchet and prekey messages (docs/protocol.md).

use crate::aead::TAG_LEN;
use crate::bytes::{Put, Reader};
use crate::error::DecodeError;
use crate::identity::IdentityKey;
use crate::limits::MAX_PLAINTEXT_BYTES;
use crate::prekey::x25519_public;

/// Version byte of a ratchet message.
pub(crate) const RATCHET_MESSAGE_VERSION: u8 = 1;
/// Version byte of a prekey message.
pub(crate) const PREKEY_MESSAGE_VERSION: u8 = 1;

/// Length of a ratchet message header: version (1) ‖ ratchet key (32) ‖
/// previous chain length (4) ‖ counter (4).
pub const HEADER_LEN: usize = 41;

/// Largest ratchet message: header, largest plaintext, tag.
pub const MAX_RATCHET_MESSAGE_BYTES: usize = HEADER_LEN + MAX_PLAINTEXT_BYTES + TAG_LEN;

/// Fixed part of a prekey message before the embedded ratchet message:
/// version (1) ‖ identity (32) ‖ base key (32) ‖ signed prekey id (4) ‖ flag (1) [‖ one-time prekey id (4)].
pub(crate) const MAX_PREKEY_PREFIX_LEN: usize = 74;

/// Largest prekey message.
pub const MAX_PREKEY_MESSAGE_BYTES: usize = MAX_PREKEY_PREFIX_LEN + MAX_RATCHET_MESSAGE_BYTES;

/// A ratchet message header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Header {
    pub(crate) ratchet: [u8; 32],
    pub(crate) previous: u32,
    pub(crate) counter: u32,
}

impl Header {
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        out.put_u8(RATCHET_MESSAGE_VERSION);
        out.put(&self.ratchet);
        out.put_u32(self.previous);
        out.put_u32(self.counter);
    }
}

/// A parsed ratchet message, borrowing its bytes.
pub(crate) struct ParsedMessage<'a> {
    pub(crate) header: Header,
    /// The encoded header, authenticated as associated data.
    pub(crate) header_bytes: &'a [u8],
    /// Ciphertext followed by the tag.
    pub(crate) sealed: &'a [u8],
}

impl<'a> ParsedMessage<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_RATCHET_MESSAGE_BYTES {
            return Err(DecodeError::TooLong {
                field: "ratchet message",
                len: bytes.len(),
                max: MAX_RATCHET_MESSAGE_BYTES,
            });
        }
        let mut r = Reader::new(bytes);
        r.version(RATCHET_MESSAGE_VERSION)?;
        let ratchet = r.array()?;
        x25519_public(ratchet, "ratchet")?;
        let previous = r.u32()?;
        let counter = r.u32()?;
        if r.remaining() < TAG_LEN {
            return Err(DecodeError::Truncated {
                needed: TAG_LEN - r.remaining(),
            });
        }
        let (header_bytes, sealed) = bytes.split_at(HEADER_LEN);
        Ok(Self {
            header: Header {
                ratchet,
                previous,
                counter,
            },
            header_bytes,
            sealed,
        })
    }
}

/// The first messages of a session the initiator sends (until it hears back):
/// everything the responder needs to run X3DH, then a ratchet message.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PrekeyMessage {
    identity: IdentityKey,
    base_key: [u8; 32],
    signed_prekey_id: u32,
    one_time_prekey_id: Option<u32>,
    message: Vec<u8>,
}

impl PrekeyMessage {
    pub(crate) fn encode_prefix(
        out: &mut Vec<u8>,
        identity: &[u8; 32],
        base_key: &[u8; 32],
        signed_prekey_id: u32,
        one_time_prekey_id: Option<u32>,
    ) {
        out.put_u8(PREKEY_MESSAGE_VERSION);
        out.put(identity);
        out.put(base_key);
        out.put_u32(signed_prekey_id);
        match one_time_prekey_id {
            Some(id) => {
                out.put_u8(1);
                out.put_u32(id);
            }
            None => out.put_u8(0),
        }
    }

    /// Parses a prekey message; the embedded ratchet message is checked
    /// structurally, the identity key is validated.
    pub fn parse(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_PREKEY_MESSAGE_BYTES {
            return Err(DecodeError::TooLong {
                field: "prekey message",
                len: bytes.len(),
                max: MAX_PREKEY_MESSAGE_BYTES,
            });
        }
        let mut r = Reader::new(bytes);
        r.version(PREKEY_MESSAGE_VERSION)?;
        let identity = IdentityKey::from_bytes(&r.array()?)?;
        let base_key = r.array()?;
        x25519_public(base_key, "base")?;
        let signed_prekey_id = r.u32()?;
        let one_time_prekey_id = match r.u8()? {
            0 => None,
            1 => Some(r.u32()?),
            _ => return Err(DecodeError::InvalidField("one-time prekey flag")),
        };
        let message = r.rest();
        ParsedMessage::parse(message)?;
        Ok(Self {
            identity,
            base_key,
            signed_prekey_id,
            one_time_prekey_id,
            message: message.to_vec(),
        })
    }

    /// The sender's identity (authenticated once the message decrypts).
    pub fn identity(&self) -> &IdentityKey {
        &self.identity
    }

    /// The initiator's ephemeral (base) key: it identifies the session.
    pub fn base_key(&self) -> &[u8; 32] {
        &self.base_key
    }

    /// Which of our signed prekeys it was made for.
    pub fn signed_prekey_id(&self) -> u32 {
        self.signed_prekey_id
    }

    /// Which of our one-time prekeys it consumes, if any.
    pub fn one_time_prekey_id(&self) -> Option<u32> {
        self.one_time_prekey_id
    }

    /// The embedded ratchet message.
    pub(crate) fn message(&self) -> &[u8] {
        &self.message
    }
}

/// An encrypted message ready to send, tagged by kind so the envelope can say
/// which one it is.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum OutboundMessage {
    /// A prekey message (the session is not yet confirmed by the peer).
    Prekey(Vec<u8>),
    /// A normal ratchet message.
    Normal(Vec<u8>),
}

impl OutboundMessage {
    /// The encoded bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Prekey(b) | Self::Normal(b) => b,
        }
    }

    /// The encoded bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Self::Prekey(b) | Self::Normal(b) => b,
        }
    }
}
