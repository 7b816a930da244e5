//! Typed errors of the network layer.
//!
//! - [`NetError`]: starting the node, and commands that only involve this
//!   node (answering a request, subscribing, adding addresses).
//! - [`SendError`]: a request to a peer (direct messages, bundles, mailbox
//!   requests to a relay) that did not produce its response.
//!   The engine retries from its outbox; the variants tell it why.
//! - [`PublishError`]: a gossipsub publication that was not sent.
//! - [`FrameError`]: a transport frame that does not parse or does not fit
//!   its limits. Messages never quote the frame's content.
//! - [`RelayCodeError`]: a relay code or relay address that does not
//!   parse.

/// Starting the node or running a local command failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The keypair is not Ed25519: a Wren identity always is.
    #[error("the identity keypair is not Ed25519")]
    NotEd25519,
    /// [`spawn`](crate::spawn) was called outside a tokio runtime.
    #[error("no tokio runtime to run the swarm on")]
    NoRuntime,
    /// Building the transports or behaviours failed.
    #[error("building the swarm failed: {0}")]
    Build(String),
    /// Listening on a configured address failed.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// Dialing a peer could not even start (for example, no known address).
    #[error("cannot dial: {0}")]
    Dial(String),
    /// The swarm task has stopped (after [`Net::shutdown`](crate::Net::shutdown)
    /// or because every handle was dropped).
    #[error("the network task has stopped")]
    Shutdown,
    /// The inbound request this reply belongs to is gone: it timed out, its
    /// connection closed, or it was already answered.
    #[error("the inbound request is no longer waiting for an answer")]
    ReplyGone,
    /// An answer to a direct-message batch must hold one acknowledgement per
    /// envelope. The sender was told "busy" instead, so it retries.
    #[error("{got} acknowledgements for a batch of {expected} envelopes")]
    AckCountMismatch {
        /// Envelopes in the batch.
        expected: usize,
        /// Acknowledgements given.
        got: usize,
    },
    /// Gossipsub refused the subscription.
    #[error("cannot subscribe: {0}")]
    Subscription(String),
    /// An argument is outside its bounds (empty or oversized bundle, topic
    /// too long, relay address without `/p2p/PEER_ID`).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// This node already keeps the most relays it may
    /// ([`MAX_RELAYS`](crate::limits::MAX_RELAYS)); remove one first.
    #[error("too many relays (at most {max})")]
    TooManyRelays {
        /// The limit.
        max: usize,
    },
}

/// A request to a peer did not produce its response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The request is not valid locally and was not sent (empty batch, too
    /// many envelopes, an envelope or the whole frame too large).
    #[error("invalid request: {0}")]
    Invalid(FrameError),
    /// No connection to the peer could be established.
    #[error("could not connect to the peer")]
    DialFailure,
    /// No complete response arrived within the request timeout. The peer may
    /// or may not have processed the request.
    #[error("the request timed out")]
    Timeout,
    /// The connection closed before the response arrived. The peer may or
    /// may not have processed the request.
    #[error("the connection closed before the response")]
    ConnectionClosed,
    /// The peer does not speak the protocol (not a Wren node, or an
    /// incompatible version).
    #[error("the peer does not support the protocol")]
    UnsupportedProtocol,
    /// The peer is overloaded and processed nothing; retry later.
    #[error("the peer is busy")]
    Busy,
    /// The peer answered with a malformed or inconsistent response, or the
    /// stream failed.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Too many requests are already waiting for responses on this node.
    #[error("too many requests in flight")]
    TooManyPending,
    /// The swarm task has stopped.
    #[error("the network task has stopped")]
    Shutdown,
}

/// A gossipsub publication was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The same content was already published (message ids are content
    /// hashes).
    #[error("this message was already published")]
    Duplicate,
    /// No connected peer subscribes to the topic yet.
    #[error("no peer subscribes to the topic")]
    NoPeers,
    /// The message or topic exceeds its limit.
    #[error("message or topic too large")]
    TooLarge,
    /// Every peer's send queue was full.
    #[error("every peer's send queue is full")]
    QueuesFull,
    /// Any other gossipsub failure.
    #[error("publish failed: {0}")]
    Failed(String),
    /// The swarm task has stopped.
    #[error("the network task has stopped")]
    Shutdown,
}

/// A transport frame does not parse or does not fit its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is empty; every frame has at least its version byte.
    #[error("empty frame")]
    Empty,
    /// The frame is longer than its kind allows.
    #[error("{len} bytes exceed the limit of {max} bytes")]
    TooLarge {
        /// Length of the frame.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The version byte is not one this node understands.
    #[error("unsupported version {found} (supported: {supported})")]
    UnsupportedVersion {
        /// Version byte found.
        found: u8,
        /// The version this node supports.
        supported: u8,
    },
    /// The frame ends inside a field.
    #[error("truncated frame")]
    Truncated,
    /// Bytes remain after the last field.
    #[error("{count} trailing bytes")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The envelope count is zero or above the batch limit.
    #[error("batch of {count} envelopes (allowed: 1 to {max})")]
    BatchCount {
        /// Count found.
        count: usize,
        /// The batch limit.
        max: usize,
    },
    /// An envelope is empty or above the envelope limit.
    #[error("envelope of {len} bytes (allowed: 1 to {max})")]
    EnvelopeSize {
        /// Length found.
        len: usize,
        /// The envelope limit.
        max: usize,
    },
    /// A bundle is empty or above the bundle limit.
    #[error("bundle of {len} bytes (allowed: 1 to {max})")]
    BundleSize {
        /// Length found.
        len: usize,
        /// The bundle limit.
        max: usize,
    },
    /// An unknown status byte.
    #[error("unknown status {0}")]
    UnknownStatus(u8),
    /// An unknown acknowledgement kind, or a "stored" acknowledgement with a
    /// non-zero code.
    #[error("invalid acknowledgement")]
    InvalidAck,
    /// An unknown request operation.
    #[error("unknown operation {0}")]
    UnknownOperation(u8),
    /// A peer id whose length is outside 1 to 64 bytes or whose bytes are
    /// not a canonical peer id.
    #[error("invalid peer id")]
    InvalidPeerId,
    /// A count field outside its bounds (fetch limit, page items, users,
    /// deposit results).
    #[error("{field} of {count} (allowed: {min} to {max})")]
    Count {
        /// Which field.
        field: &'static str,
        /// Count found.
        count: usize,
        /// The smallest allowed.
        min: usize,
        /// The largest allowed.
        max: usize,
    },
    /// A refusal code of 0 where a refusal is required, or a boolean byte
    /// other than 0 or 1.
    #[error("invalid value in field {0}")]
    InvalidValue(&'static str),
}

/// A relay code or relay address that does not parse. Messages never quote
/// the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RelayCodeError {
    /// The text is longer than
    /// [`MAX_RELAY_CODE_CHARS`](crate::limits::MAX_RELAY_CODE_CHARS).
    #[error("the relay code is too long")]
    TooLong,
    /// The text is neither a relay code (`wren-relay:1/…`) nor a multiaddr.
    #[error("not a relay code (wren-relay:1/…) nor an address (/ip4/…/p2p/…)")]
    Unrecognised,
    /// The part after the prefix is not base32.
    #[error("the relay code is not valid base32")]
    Base32,
    /// The checksum does not match: the code was mistyped or cut.
    #[error("the relay code's checksum does not match (mistyped?)")]
    Checksum,
    /// The decoded code ends inside a field.
    #[error("the relay code is truncated")]
    Truncated,
    /// Bytes remain after the last address.
    #[error("the relay code has trailing bytes")]
    TrailingBytes,
    /// The peer id is not a valid peer id.
    #[error("the relay code's peer id is invalid")]
    InvalidPeerId,
    /// The address count is outside 1 to
    /// [`MAX_RELAY_CODE_ADDRS`](crate::limits::MAX_RELAY_CODE_ADDRS).
    #[error("a relay code holds 1 to 8 addresses, not {0}")]
    AddressCount(usize),
    /// An encoded address is empty or longer than
    /// [`MAX_RELAY_CODE_ADDR_BYTES`](crate::limits::MAX_RELAY_CODE_ADDR_BYTES).
    #[error("an address of {0} bytes (allowed: 1 to 256)")]
    AddressLength(usize),
    /// An address does not parse as a multiaddr.
    #[error("an address is not a valid multiaddr")]
    InvalidAddress,
    /// A relay address must end with `/p2p/PEER_ID`, naming the relay.
    #[error("the address does not end with /p2p/PEER_ID (the relay's peer id)")]
    MissingPeerId,
    /// An address names a different peer than the relay's (`/p2p/…`).
    #[error("an address names another peer than the relay")]
    PeerMismatch,
}
