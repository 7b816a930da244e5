//! Signed group membership operations (docs/protocol.md §G2).
//!
//! An op is a frame `0x01 ‖ content ‖ signature`, where the signature is
//! Ed25519 by the author's identity key over
//! `"Wren Group Op v1" ‖ 0x01 ‖ content`, and its id is the SHA-256 of the
//! whole frame. A [`GroupOp`] value is always *authentic*: it was either
//! signed here ([`GroupOp::sign`], [`GroupOp::create`]) or decoded and
//! verified ([`GroupOp::from_bytes`]); whether it takes effect is the
//! group state's business ([`Group`](super::Group)).

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wren_crypto::{IdentityKey, IdentityKeyPair};

use super::error::GroupError;
use super::id::group_id;
use crate::codec::{self, CodecError, Versioned, check_max, check_min};
use crate::display_name::DisplayName;
use crate::ids::{GroupId, OpId, Timestamp};
use crate::limits::{MAX_GROUP_MEMBERS, MAX_GROUP_OP_BYTES, MAX_OP_PARENTS};

/// Domain separation of op signatures (16 ASCII bytes).
const SIGNATURE_LABEL: &[u8] = b"Wren Group Op v1";
/// Version byte of an op frame.
const OP_VERSION: u8 = 1;
/// Length of the signature at the end of the frame.
const SIGNATURE_LEN: usize = 64;

/// What an op does. The variant order is the wire tag and never changes.
///
/// | tag | variant   |
/// |-----|-----------|
/// | 0   | `Create`  |
/// | 1   | `Add`     |
/// | 2   | `Remove`  |
/// | 3   | `Leave`   |
/// | 4   | `Promote` |
/// | 5   | `Rename`  |
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpBody {
    /// Tag 0. Creates the group: the single root of its history. The group
    /// id must be [`group_id`]`(author, nonce)`.
    Create {
        /// 32 random bytes drawn by the creator.
        nonce: [u8; 32],
        /// The group's name.
        name: DisplayName,
        /// A channel: only admins post, members read.
        channel: bool,
        /// The initial members besides the creator (who is always a member
        /// and an admin): strictly ascending by key, without the creator, at
        /// most [`MAX_GROUP_MEMBERS`] − 1.
        members: Vec<InitialMember>,
    },
    /// Tag 1. An admin adds a member.
    Add {
        /// The new member.
        #[serde(with = "key")]
        member: IdentityKey,
    },
    /// Tag 2. An admin removes a member (admins included).
    Remove {
        /// The member removed.
        #[serde(with = "key")]
        member: IdentityKey,
    },
    /// Tag 3. The author leaves the group.
    Leave,
    /// Tag 4. An admin makes a member an admin.
    Promote {
        /// The member promoted.
        #[serde(with = "key")]
        member: IdentityKey,
    },
    /// Tag 5. An admin renames the group.
    Rename {
        /// The new name.
        name: DisplayName,
    },
}

impl OpBody {
    /// The order class (docs/protocol.md §G4): removals and leaves (0) sort
    /// before every other op (1) of the same depth.
    pub(crate) fn class(&self) -> u8 {
        match self {
            Self::Remove { .. } | Self::Leave => 0,
            _ => 1,
        }
    }

    /// The member an op names, if any.
    fn target(&self) -> Option<&IdentityKey> {
        match self {
            Self::Add { member } | Self::Remove { member } | Self::Promote { member } => {
                Some(member)
            }
            _ => None,
        }
    }
}

/// A member listed in a group's `Create`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitialMember {
    /// The member's identity key.
    #[serde(with = "key")]
    pub key: IdentityKey,
    /// Whether the member starts as an admin.
    pub admin: bool,
}

/// The signed part of an op, in wire order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Content {
    group: GroupId,
    #[serde(with = "key")]
    author: IdentityKey,
    at: Timestamp,
    parents: Vec<OpId>,
    body: OpBody,
}

/// The op frame as bincode sees it: content, then the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct OpFrame {
    content: Content,
    #[serde(with = "codec::array")]
    signature: [u8; SIGNATURE_LEN],
}

impl Content {
    /// The field rules of docs/protocol.md §G2 (key validity is checked when
    /// keys are decoded).
    fn validate(&self) -> Result<(), CodecError> {
        let parents = self.parents.len();
        if let OpBody::Create { members, .. } = &self.body {
            check_max("GroupOp.parents", parents, 0)?;
            check_max("Create.members", members.len(), MAX_GROUP_MEMBERS - 1)?;
            let ascending = members.windows(2).all(|pair| match pair {
                [a, b] => a.key < b.key,
                _ => true,
            });
            if !ascending {
                return Err(CodecError::InvalidField {
                    field: "Create.members",
                    reason: "not strictly ascending by key",
                });
            }
            if members.iter().any(|member| member.key == self.author) {
                return Err(CodecError::InvalidField {
                    field: "Create.members",
                    reason: "lists the creator",
                });
            }
        } else {
            check_min("GroupOp.parents", parents, 1)?;
            check_max("GroupOp.parents", parents, MAX_OP_PARENTS)?;
        }
        let ascending = self.parents.windows(2).all(|pair| match pair {
            [a, b] => a < b,
            _ => true,
        });
        if !ascending {
            return Err(CodecError::InvalidField {
                field: "GroupOp.parents",
                reason: "not strictly ascending",
            });
        }
        if self.body.target() == Some(&self.author) {
            return Err(CodecError::InvalidField {
                field: "GroupOp.body",
                reason: "names its own author",
            });
        }
        Ok(())
    }
}

impl Versioned for OpFrame {
    const NAME: &'static str = "GroupOp";
    const VERSION: u8 = OP_VERSION;
    const MAX_BYTES: usize = MAX_GROUP_OP_BYTES;
    const VARIANT_COUNT: u32 = 1;
    const TAGGED: bool = false;

    fn validate(&self) -> Result<(), CodecError> {
        self.content.validate()
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, CodecError> {
        codec::decode_frame::<Self, MAX_GROUP_OP_BYTES>(bytes)
    }
}

/// An authentic group op: decoded, signature verified, with its encoding and
/// id.
#[derive(Clone, PartialEq, Eq)]
pub struct GroupOp {
    frame: OpFrame,
    bytes: Vec<u8>,
    id: OpId,
}

impl GroupOp {
    /// Signs an op by `author` on `group` with the given causal `parents`
    /// (sorted and deduplicated here; at most [`MAX_OP_PARENTS`]; none for
    /// a `Create`). Fails if a field rule of §G2 is broken, or for a
    /// `Create` whose nonce does not give `group`.
    pub fn sign(
        author: &IdentityKeyPair,
        group: GroupId,
        at: Timestamp,
        mut parents: Vec<OpId>,
        body: OpBody,
    ) -> Result<Self, GroupError> {
        parents.sort_unstable();
        parents.dedup();
        let content = Content {
            group,
            author: *author.public(),
            at,
            parents,
            body,
        };
        content.validate()?;
        let mut bytes = vec![OP_VERSION];
        bytes.extend(codec::encode(&content)?);
        let signature = author.sign(&signed_message(&bytes));
        bytes.extend_from_slice(&signature);
        let op = Self {
            id: op_id(&bytes),
            frame: OpFrame { content, signature },
            bytes,
        };
        op.check_bytes()?;
        op.check_create()?;
        Ok(op)
    }

    /// Creates a group: signs its `Create` with the group id derived from
    /// `creator` and `nonce` (32 bytes from a CSPRNG). `members` are the
    /// other initial members in any order (sorted here).
    pub fn create(
        creator: &IdentityKeyPair,
        nonce: [u8; 32],
        at: Timestamp,
        name: DisplayName,
        channel: bool,
        mut members: Vec<InitialMember>,
    ) -> Result<Self, GroupError> {
        members.sort_unstable_by_key(|member| member.key);
        let group = group_id(creator.public(), &nonce);
        let body = OpBody::Create {
            nonce,
            name,
            channel,
            members,
        };
        Self::sign(creator, group, at, Vec::new(), body)
    }

    /// Decodes an op frame from untrusted bytes and verifies it: the field
    /// rules, the author's signature ([`GroupError::BadSignature`]) and, for
    /// a `Create`, that its author and nonce give its group id
    /// ([`GroupError::NotCreator`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, GroupError> {
        let frame = OpFrame::from_bytes(bytes)?;
        let Some(signed_len) = bytes.len().checked_sub(SIGNATURE_LEN) else {
            return Err(CodecError::Truncated.into());
        };
        let Some(unsigned) = bytes.get(..signed_len) else {
            return Err(CodecError::Truncated.into());
        };
        if !frame
            .content
            .author
            .verify(&signed_message(unsigned), &frame.signature)
        {
            return Err(GroupError::BadSignature);
        }
        let op = Self {
            id: op_id(bytes),
            frame,
            bytes: bytes.to_vec(),
        };
        op.check_create()?;
        Ok(op)
    }

    fn check_bytes(&self) -> Result<(), GroupError> {
        if self.bytes.len() > MAX_GROUP_OP_BYTES {
            return Err(CodecError::TooLarge {
                len: self.bytes.len(),
                max: MAX_GROUP_OP_BYTES,
            }
            .into());
        }
        Ok(())
    }

    fn check_create(&self) -> Result<(), GroupError> {
        if let OpBody::Create { nonce, .. } = &self.frame.content.body
            && group_id(&self.frame.content.author, nonce) != self.frame.content.group
        {
            return Err(GroupError::NotCreator);
        }
        Ok(())
    }

    /// The op's id: SHA-256 of its frame.
    pub fn id(&self) -> OpId {
        self.id
    }

    /// The encoded frame (what travels in `Payload::GroupOp`).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The group the op belongs to.
    pub fn group(&self) -> GroupId {
        self.frame.content.group
    }

    /// Who signed it.
    pub fn author(&self) -> &IdentityKey {
        &self.frame.content.author
    }

    /// When the author says it made the op (informative only).
    pub fn at(&self) -> Timestamp {
        self.frame.content.at
    }

    /// The op's causal parents, strictly ascending.
    pub fn parents(&self) -> &[OpId] {
        &self.frame.content.parents
    }

    /// What the op does.
    pub fn body(&self) -> &OpBody {
        &self.frame.content.body
    }
}

impl fmt::Debug for GroupOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupOp")
            .field("id", &self.id)
            .field("group", &self.frame.content.group)
            .field("author", &self.frame.content.author)
            .field("parents", &self.frame.content.parents.len())
            .field("body", &self.frame.content.body)
            .finish()
    }
}

/// `"Wren Group Op v1" ‖ unsigned frame`.
fn signed_message(unsigned: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNATURE_LABEL.len() + unsigned.len());
    message.extend_from_slice(SIGNATURE_LABEL);
    message.extend_from_slice(unsigned);
    message
}

/// The id of an op frame: SHA-256 of its bytes.
pub(crate) fn op_id(frame: &[u8]) -> OpId {
    OpId::from_bytes(Sha256::digest(frame).into())
}

/// Serde adapter for identity keys on the wire: 32 raw bytes, decoded as a
/// valid Ed25519 point (non-canonical and small-order keys refused).
mod key {
    use serde::{Deserialize, Deserializer, Serializer};
    use wren_crypto::IdentityKey;

    pub(super) fn serialize<S: Serializer>(
        key: &IdentityKey,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(key.as_bytes(), serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<IdentityKey, D::Error> {
        let bytes = <[u8; 32]>::deserialize(deserializer)?;
        IdentityKey::from_bytes(&bytes)
            .map_err(|_| serde::de::Error::custom("invalid identity key"))
    }
}
