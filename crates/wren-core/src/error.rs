//! The engine's typed errors.

use wren_crypto::{PairingCodeError, SessionError};
use wren_net::{NetError, SendError};
use wren_store::StoreError;

/// Why a [`Node`](crate::Node) operation failed.
///
/// Messages never quote message text, key material or untrusted input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The home directory has no identity yet: run [`Node::init`](crate::Node::init) first.
    #[error("no identity yet: initialise this home first")]
    NotInitialised,
    /// [`Node::init`](crate::Node::init) on a home that already has an identity.
    #[error("this home already has an identity")]
    AlreadyInitialised,
    /// The text is not a valid pairing code (nor a peer id).
    #[error("invalid pairing code: {0}")]
    BadCode(#[from] PairingCodeError),
    /// A peer id that this node cannot reach: not found by mDNS and without
    /// a known address.
    #[error("unknown peer: no address known for it")]
    UnknownPeer,
    /// The peer could not be reached, or did not answer usefully.
    #[error("peer unreachable: {0}")]
    Unreachable(String),
    /// Another contact already has this alias.
    #[error("the alias {0:?} is already taken")]
    AliasTaken(String),
    /// The code or peer id is this node's own.
    #[error("that is this node's own identity")]
    IsSelf,
    /// No contact has this alias or peer id.
    #[error("unknown contact {0:?}")]
    UnknownContact(String),
    /// No group of ours has this id.
    #[error("unknown group {0:?}")]
    UnknownGroup(String),
    /// The group's rules forbid it: not a member, not an admin, a channel.
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
    /// No pending contact request from this alias or peer id.
    #[error("no pending contact request from {0:?}")]
    NoSuchRequest(String),
    /// No message (or no failed outgoing message, for a retry) with this id.
    #[error("unknown message {0:?}")]
    UnknownMessage(String),
    /// No conversation with this id or contact.
    #[error("unknown conversation {0:?}")]
    UnknownConversation(String),
    /// An argument is outside its bounds (a text too long, an invalid
    /// display name or alias).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The contact's identity key changed: its prekey bundle is signed by
    /// another key than the one the peer id names.
    #[error("the peer's prekey bundle is not signed by its identity")]
    BadBundle,
    /// A cryptographic operation failed.
    #[error("session error: {0}")]
    Session(#[from] SessionError),
    /// The store failed.
    #[error("store error: {0}")]
    Store(#[from] StoreError),
    /// A transaction failed and nothing of it was stored (for a group of
    /// `send_text` commands committed together, each gets this error).
    #[error("nothing was stored: {0}")]
    Commit(String),
    /// A relay refused the request; the reason is its refusal code's name
    /// (`not_allowed`, `too_large`, …).
    #[error("the relay refused: {0}")]
    Refused(String),
    /// The text is neither a relay code nor a relay address.
    #[error("invalid relay: {0}")]
    BadRelay(#[from] wren_net::RelayCodeError),
    /// The network layer failed to start or run a command.
    #[error("network error: {0}")]
    Net(#[from] NetError),
    /// A request to a peer failed.
    #[error("request failed: {0}")]
    Send(#[from] SendError),
    /// The operation is not available (not implemented in this release).
    #[error("not available: {0}")]
    Unavailable(&'static str),
    /// The engine has stopped (after [`Node::shutdown`](crate::Node::shutdown)).
    #[error("the node has stopped")]
    Shutdown,
}
