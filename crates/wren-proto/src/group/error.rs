//! [`GroupError`]: why a group op was refused.

use crate::codec::CodecError;
use crate::ids::{GroupId, OpId};

/// Why an op was refused (docs/protocol.md §G3). A refused op is forgotten;
/// none of these changes a group's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// The frame does not decode, or breaks a field rule.
    #[error("malformed group op: {0}")]
    Codec(#[from] CodecError),
    /// The author's signature does not verify.
    #[error("bad group op signature")]
    BadSignature,
    /// A `Create` whose author and nonce do not give its group id: only the
    /// creator can create a group.
    #[error("create op does not match its group id")]
    NotCreator,
    /// The op belongs to another group.
    #[error("op for group {found}, expected {expected}")]
    WrongGroup {
        /// The group applied to.
        expected: GroupId,
        /// The op's group.
        found: GroupId,
    },
    /// The op is already known (accepted or pending): a replay or a
    /// re-delivery. Nothing changed.
    #[error("duplicate op {0}")]
    Duplicate(OpId),
    /// The author was never added to the group in the op's causal history.
    #[error("op author was never added to the group")]
    NotAdmissible,
    /// The group already holds [`MAX_GROUP_OPS`](crate::limits::MAX_GROUP_OPS) ops.
    #[error("group history full ({max} ops)")]
    GroupFull {
        /// The limit.
        max: usize,
    },
    /// [`MAX_PENDING_GROUP_OPS`](crate::limits::MAX_PENDING_GROUP_OPS) ops
    /// already wait for their parents.
    #[error("too many ops waiting for parents ({max})")]
    PendingFull {
        /// The limit.
        max: usize,
    },
}
