//! Sealing and accepting group messages (docs/protocol.md §G8): a
//! `Payload::Text` encrypted and signed with the sender's sender-key chain,
//! in a [`GroupEnvelope`] named by the group's topic hash.
//!
//! Acceptance runs in two steps so that the caller can pick the receiver
//! kept for the sender: [`accept`] checks the frame against the group state
//! (the topic, the sender is a member, and an admin in a channel) without
//! any cryptography; [`Inbound::open`] then verifies and decrypts with that
//! sender's receiver.

use wren_crypto::IdentityKey;
use wren_crypto::SenderKeyError;
use wren_crypto::sender_key::{SenderKey, SenderKeyReceiver};

use super::envelope::GroupEnvelope;
use super::id::topic_hash;
use super::state::GroupState;
use crate::codec::{CodecError, Versioned};
use crate::ids::GroupId;
use crate::payload::{Payload, Text};

/// Why a group message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GroupMessageError {
    /// The frame, or the plaintext payload, does not decode.
    #[error("malformed group message: {0}")]
    Codec(#[from] CodecError),
    /// The frame names another group's topic.
    #[error("group message for another topic")]
    WrongTopic,
    /// The sender is not a member of the group (never was, or was removed).
    #[error("group message from a non-member")]
    NotMember,
    /// The group is a channel and the sender is not an admin.
    #[error("only admins post in this channel")]
    NotAllowedToPost,
    /// The plaintext is a payload other than a text.
    #[error("group message payload is not a text")]
    NotText,
    /// The sender-key layer refused it: bad signature, unknown chain (its
    /// distribution has not arrived, or was dropped at a rotation), replay.
    #[error("group message refused: {0}")]
    SenderKey(#[from] SenderKeyError),
}

/// Encrypts `text` with our chain for `group` (the group id is the
/// sender-key context) and wraps it in a [`GroupEnvelope`] frame from
/// `sender`, ready to publish on the group's topic.
pub fn seal(
    chain: &mut SenderKey,
    group: &GroupId,
    sender: &IdentityKey,
    text: Text,
) -> Result<Vec<u8>, GroupMessageError> {
    let plaintext = Payload::Text(text).to_bytes()?;
    let message = chain.encrypt(group.as_bytes(), &plaintext)?;
    let frame = GroupEnvelope::Message {
        topic: topic_hash(group),
        sender: sender.to_bytes(),
        message,
    }
    .to_bytes()?;
    Ok(frame)
}

/// A group message that passed the membership checks and awaits
/// decryption with its sender's receiver.
#[derive(Debug)]
pub struct Inbound {
    group: GroupId,
    sender: IdentityKey,
    message: Vec<u8>,
}

/// Checks a published frame against `state`: it decodes, names the group's
/// topic, and comes from a member who may post (an admin, in a channel).
/// No cryptography yet: this is the cheap first half of gossipsub's
/// application validation.
pub fn accept(state: &GroupState, frame: &[u8]) -> Result<Inbound, GroupMessageError> {
    let GroupEnvelope::Message {
        topic,
        sender,
        message,
    } = GroupEnvelope::from_bytes(frame)?;
    if topic != topic_hash(&state.id()) {
        return Err(GroupMessageError::WrongTopic);
    }
    let sender = IdentityKey::from_bytes(&sender).map_err(|_| GroupMessageError::NotMember)?;
    if !state.is_member(&sender) {
        return Err(GroupMessageError::NotMember);
    }
    if !state.can_post(&sender) {
        return Err(GroupMessageError::NotAllowedToPost);
    }
    Ok(Inbound {
        group: state.id(),
        sender,
        message,
    })
}

impl Inbound {
    /// The (member) sender, to pick its receiver.
    pub fn sender(&self) -> &IdentityKey {
        &self.sender
    }

    /// Verifies and decrypts with the receiver kept for the sender (which
    /// stays unchanged on failure), and decodes the text.
    pub fn open(self, receiver: &mut SenderKeyReceiver) -> Result<Text, GroupMessageError> {
        let plaintext = receiver.decrypt(self.group.as_bytes(), &self.message)?;
        match Payload::from_bytes(&plaintext)? {
            Payload::Text(text) => Ok(text),
            _ => Err(GroupMessageError::NotText),
        }
    }
}
