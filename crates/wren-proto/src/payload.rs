//! [`Payload`]: the plaintext inside a double-ratchet message.
//!
//! A payload is decoded only after the cryptography layer has decrypted and
//! authenticated its ratchet message, so everything here comes from a peer
//! holding the session keys; it is still bounded and validated, because that
//! peer may be hostile or buggy.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError, Versioned, check_max, check_min};
use crate::envelope::ByteLen;
use zeroize::Zeroize;

use crate::ids::{GroupId, MessageId, OpId, Timestamp};
use crate::limits::{
    MAX_GROUP_OP_BYTES, MAX_INTRODUCTION_CARDS, MAX_PAIRING_CODE_BYTES,
    MAX_PAIRWISE_GROUP_FRAME_BYTES, MAX_PAYLOAD_BYTES, MAX_RECEIPT_IDS,
    MAX_SENDER_KEY_DISTRIBUTION_BYTES, MAX_TEXT_BYTES,
};

/// The content of one encrypted message, version 1.
///
/// Encoded as `[1] || tag || fields` (see docs/protocol.md, Part II). The variant order is the
/// wire tag and must never change.
///
/// More content types come later: they are appended at the end as new tags.
/// A decoder that meets a tag it does not know refuses the payload with
/// [`CodecError::UnknownVariant`], so the client can tell its user that the
/// sender runs a newer version instead of showing garbage.
///
/// | tag | variant                 |
/// |-----|-------------------------|
/// | 0   | `Text`                  |
/// | 1   | `DeliveryReceipt`       |
/// | 2   | `ReadReceipt`           |
/// | 3   | `ContactRequest`        |
/// | 4   | `SenderKeyDistribution` |
/// | 5   | `Profile`               |
/// | 6   | `GroupOp`               |
/// | 7   | `GroupSenderKey`        |
/// | 8   | `GroupMessage`          |
/// | 9   | `GroupIntroduction`     |
/// | 10  | `GroupPeerHello`        |
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload {
    /// Tag 0. A text message.
    Text(Text),
    /// Tag 1. The sender's device received (and stored) these messages.
    DeliveryReceipt(Receipt),
    /// Tag 2. The sender's user has seen these messages.
    ReadReceipt(Receipt),
    /// Tag 3. A request to become contacts, the first payload of a session
    /// opened from a pairing code.
    ContactRequest(ContactRequest),
    /// Tag 4. RESERVED for groups: a sender-key distribution message, sent
    /// to each member over the pairwise session. A later issue specifies the
    /// content. 1..=[`MAX_SENDER_KEY_DISTRIBUTION_BYTES`] bytes.
    SenderKeyDistribution {
        /// The group the sender key is for.
        group: GroupId,
        /// The distribution message, as produced by the cryptography crate.
        #[serde(with = "codec::bytes")]
        message: Vec<u8>,
    },
    /// Tag 5. The sender's current pairing code, sent to its contacts when
    /// the ways to reach it change (a relay added or removed, a new relay
    /// circuit address).
    Profile(Profile),
    /// Tag 6. A group membership op: an encoded
    /// [`GroupOp`](crate::group::GroupOp) frame,
    /// 1..=[`MAX_GROUP_OP_BYTES`] bytes, decoded and verified by the
    /// receiver's group (docs/protocol.md §G6).
    GroupOp {
        /// The op frame; its op id is the SHA-256 of exactly these bytes.
        #[serde(with = "codec::bytes")]
        op: Vec<u8>,
    },
    /// Tag 7. The sender's sender-key distribution for a group, bound to the
    /// membership epoch it was made for (docs/protocol.md §G7).
    GroupSenderKey(GroupSenderKey),
    /// Tag 8. A group message delivered over the pairwise session instead
    /// of (or besides) the group's topic, so that a member who was offline
    /// gets it from the outbox or its relay mailbox (docs/protocol.md §G9):
    /// the published [`GroupEnvelope`](crate::group::GroupEnvelope) frame,
    /// byte for byte, 1..=[`MAX_PAIRWISE_GROUP_FRAME_BYTES`] bytes. The
    /// payload decoder checks only its length; the receiver runs the same
    /// acceptance as for a topic message (§G8).
    GroupMessage {
        /// The group frame; its message id is the SHA-256 of exactly these
        /// bytes, as on the topic.
        #[serde(with = "codec::bytes")]
        envelope: Vec<u8>,
    },
    /// Tag 9. An admin's introduction of other members of a group to the
    /// recipient (docs/protocol.md §G13): for each, the member's own signed
    /// pairing code, so that two members who are not contacts can open a
    /// pairwise session for the group's traffic.
    GroupIntroduction(GroupIntroduction),
    /// Tag 10. The first payload of a session opened from an introduction
    /// (docs/protocol.md §G13): "I am a member of this group, here is how to
    /// reach me". Not a contact request: the receiver accepts it only from a
    /// current member of a group it is in, and the sender never becomes a
    /// contact by it.
    GroupPeerHello(GroupPeerHello),
}

/// Members of a group introduced to the recipient by the sender (an admin
/// who has them as contacts), docs/protocol.md §G13.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupIntroduction {
    /// The group the members are introduced for.
    pub group: GroupId,
    /// One card per member, 1..=[`MAX_INTRODUCTION_CARDS`].
    #[serde(deserialize_with = "codec::deserialize_capped_vec::<_, _, MAX_INTRODUCTION_CARDS>")]
    pub cards: Vec<MemberCard>,
}

/// How to reach one member: its identity key and its own signed pairing
/// code (identity, signed prekey, display name and network hints, signed by
/// that identity), as the introducer last received it. The introducer
/// forwards it and cannot change it: the receiver verifies the code and
/// that it names `member`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCard {
    /// The member's identity key (32 bytes).
    #[serde(with = "codec::array")]
    pub member: [u8; 32],
    /// The member's signed pairing code URI: printable ASCII,
    /// 1..=[`MAX_PAIRING_CODE_BYTES`] bytes.
    pub pairing_code: String,
}

impl fmt::Debug for MemberCard {
    /// The code's length only (it holds network addresses).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberCard")
            .field("pairing_code_len", &self.pairing_code.len())
            .finish_non_exhaustive()
    }
}

/// The first payload of a group-peer session.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupPeerHello {
    /// A group both sides are members of (by the sender's view).
    pub group: GroupId,
    /// The sender's own signed pairing code URI (like
    /// [`Profile::pairing_code`]): the receiver verifies that it names the
    /// session's identity and keeps its hints to reach the sender.
    pub pairing_code: String,
}

impl fmt::Debug for GroupPeerHello {
    /// The group and the code's length only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupPeerHello")
            .field("group", &self.group)
            .field("pairing_code_len", &self.pairing_code.len())
            .finish()
    }
}

impl GroupIntroduction {
    fn validate(&self) -> Result<(), CodecError> {
        check_min("GroupIntroduction.cards", self.cards.len(), 1)?;
        check_max(
            "GroupIntroduction.cards",
            self.cards.len(),
            MAX_INTRODUCTION_CARDS,
        )?;
        self.cards
            .iter()
            .try_for_each(|card| check_code("MemberCard.pairing_code", &card.pairing_code))
    }
}

/// A member's sender-key chain for a group, sent to each other member over
/// the pairwise session. Secret: it holds the chain key (zeroized on drop,
/// never printed).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSenderKey {
    /// The group.
    pub group: GroupId,
    /// The epoch (the op id of the membership state) the chain was made for.
    pub epoch: OpId,
    /// The sender-key distribution (docs/protocol.md §S2), exactly 73 bytes.
    #[serde(with = "codec::array")]
    pub distribution: [u8; SENDER_KEY_DISTRIBUTION_LEN],
}

/// Length of a sender-key distribution (docs/protocol.md §S2).
const SENDER_KEY_DISTRIBUTION_LEN: usize = wren_crypto::sender_key::DISTRIBUTION_LEN;

impl Drop for GroupSenderKey {
    fn drop(&mut self) {
        self.distribution.zeroize();
    }
}

/// The group and epoch only: the distribution holds a chain key.
impl fmt::Debug for GroupSenderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupSenderKey")
            .field("group", &self.group)
            .field("epoch", &self.epoch)
            .field("distribution", &"[redacted]")
            .finish()
    }
}

/// How to reach the sender now.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The sender's own signed pairing code URI, like
    /// [`ContactRequest::pairing_code`]: printable ASCII, 1..=
    /// [`MAX_PAIRING_CODE_BYTES`] bytes. The recipient verifies it (it must
    /// name the session's identity) and replaces the sender's known
    /// addresses and relays with its hints.
    pub pairing_code: String,
}

impl fmt::Debug for Profile {
    /// The code's length only (it holds network addresses).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("pairing_code_len", &self.pairing_code.len())
            .finish()
    }
}

impl Profile {
    fn validate(&self) -> Result<(), CodecError> {
        check_code("Profile.pairing_code", &self.pairing_code)
    }
}

/// Checks a pairing code's form: printable ASCII, 1..=[`MAX_PAIRING_CODE_BYTES`].
fn check_code(field: &'static str, code: &str) -> Result<(), CodecError> {
    check_min(field, code.len(), 1)?;
    check_max(field, code.len(), MAX_PAIRING_CODE_BYTES)?;
    if !code.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(CodecError::InvalidField {
            field,
            reason: "not printable ASCII",
        });
    }
    Ok(())
}

/// A text message.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    /// Random id chosen by the sender; receipts and replies refer to it.
    pub id: MessageId,
    /// When the sender sent it, by the sender's clock.
    pub sent_at: Timestamp,
    /// The text, UTF-8, 0..=[`MAX_TEXT_BYTES`] bytes. Its rendering (plain
    /// or markdown) is the client's choice.
    pub body: String,
    /// The message this one replies to, if any.
    pub reply_to: Option<MessageId>,
}

/// Acknowledges messages by id (delivery or read, by the enclosing
/// [`Payload`] variant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The acknowledged messages, 1..=[`MAX_RECEIPT_IDS`] ids.
    #[serde(deserialize_with = "codec::deserialize_capped_vec::<_, _, MAX_RECEIPT_IDS>")]
    pub ids: Vec<MessageId>,
}

/// A request to become contacts.
///
/// Sent by whoever scanned the other's pairing code: it carries the sender's
/// own pairing code so the recipient can verify the sender's identity and
/// show who is asking before accepting.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRequest {
    /// Random id chosen by the sender.
    pub id: MessageId,
    /// When the sender sent it, by the sender's clock.
    pub sent_at: Timestamp,
    /// The sender's own signed pairing code URI: printable ASCII
    /// (`0x21..=0x7e`), 1..=[`MAX_PAIRING_CODE_BYTES`] bytes. Verified by the
    /// cryptography layer, not here.
    pub pairing_code: String,
    /// An optional greeting, UTF-8, 0..=[`MAX_TEXT_BYTES`] bytes.
    pub greeting: Option<String>,
}

impl Text {
    fn validate(&self) -> Result<(), CodecError> {
        check_max("Text.body", self.body.len(), MAX_TEXT_BYTES)
    }
}

impl Receipt {
    fn validate(&self) -> Result<(), CodecError> {
        check_min("Receipt.ids", self.ids.len(), 1)?;
        check_max("Receipt.ids", self.ids.len(), MAX_RECEIPT_IDS)
    }
}

impl ContactRequest {
    fn validate(&self) -> Result<(), CodecError> {
        check_code("ContactRequest.pairing_code", &self.pairing_code)?;
        if let Some(greeting) = &self.greeting {
            check_max("ContactRequest.greeting", greeting.len(), MAX_TEXT_BYTES)?;
        }
        Ok(())
    }
}

impl Versioned for Payload {
    const NAME: &'static str = "Payload";
    const VERSION: u8 = 1;
    const MAX_BYTES: usize = MAX_PAYLOAD_BYTES;
    const VARIANT_COUNT: u32 = 11;

    fn validate(&self) -> Result<(), CodecError> {
        match self {
            Self::Text(text) => text.validate(),
            Self::Profile(profile) => profile.validate(),
            Self::DeliveryReceipt(receipt) | Self::ReadReceipt(receipt) => receipt.validate(),
            Self::ContactRequest(request) => request.validate(),
            Self::SenderKeyDistribution { message, .. } => {
                let field = "Payload::SenderKeyDistribution.message";
                check_min(field, message.len(), 1)?;
                check_max(field, message.len(), MAX_SENDER_KEY_DISTRIBUTION_BYTES)
            }
            Self::GroupOp { op } => {
                let field = "Payload::GroupOp.op";
                check_min(field, op.len(), 1)?;
                check_max(field, op.len(), MAX_GROUP_OP_BYTES)
            }
            Self::GroupSenderKey(_) => Ok(()),
            Self::GroupMessage { envelope } => {
                let field = "Payload::GroupMessage.envelope";
                check_min(field, envelope.len(), 1)?;
                check_max(field, envelope.len(), MAX_PAIRWISE_GROUP_FRAME_BYTES)
            }
            Self::GroupIntroduction(introduction) => introduction.validate(),
            Self::GroupPeerHello(hello) => {
                check_code("GroupPeerHello.pairing_code", &hello.pairing_code)
            }
        }
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, CodecError> {
        codec::decode_frame::<Self, MAX_PAYLOAD_BYTES>(bytes)
    }
}

/// Prints the body's length, not its content: message text must not reach
/// logs.
impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Text")
            .field("id", &self.id)
            .field("sent_at", &self.sent_at)
            .field("body", &ByteLen(self.body.len()))
            .field("reply_to", &self.reply_to)
            .finish()
    }
}

/// Prints lengths, not the pairing code or greeting.
impl fmt::Debug for ContactRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContactRequest")
            .field("id", &self.id)
            .field("sent_at", &self.sent_at)
            .field("pairing_code", &ByteLen(self.pairing_code.len()))
            .field(
                "greeting",
                &self
                    .greeting
                    .as_ref()
                    .map(|greeting| ByteLen(greeting.len())),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_text_and_greeting() {
        let text = Payload::Text(Text {
            id: MessageId::from_bytes([1; 16]),
            sent_at: Timestamp::from_millis(5),
            body: "very secret words".to_owned(),
            reply_to: None,
        });
        let printed = format!("{text:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("<17 bytes>"), "{printed}");

        let request = ContactRequest {
            id: MessageId::from_bytes([1; 16]),
            sent_at: Timestamp::from_millis(5),
            pairing_code: "wren:code".to_owned(),
            greeting: Some("hello secret".to_owned()),
        };
        let printed = format!("{request:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert!(!printed.contains("wren:code"), "{printed}");
    }

    #[test]
    fn debug_hides_the_sender_key_distribution() {
        let payload = Payload::GroupSenderKey(GroupSenderKey {
            group: GroupId::from_bytes([1; 32]),
            epoch: OpId::from_bytes([2; 32]),
            distribution: [0xab; 73],
        });
        let printed = format!("{payload:?}");
        assert!(printed.contains("[redacted]"), "{printed}");
        assert!(
            !printed.contains("ab, ab") && !printed.contains("abab"),
            "{printed}"
        );
        assert!(!printed.contains("171"), "{printed}");
    }

    #[test]
    fn pairing_code_must_be_printable_ascii() {
        let mut request = ContactRequest {
            id: MessageId::from_bytes([1; 16]),
            sent_at: Timestamp::from_millis(5),
            pairing_code: "wren:ok".to_owned(),
            greeting: None,
        };
        assert!(request.validate().is_ok());
        for bad in ["wren: space", "wren:é", "wren:\n", ""] {
            request.pairing_code = bad.to_owned();
            assert!(request.validate().is_err(), "{bad:?}");
        }
    }
}
