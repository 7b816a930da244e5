//! What the swarm task reports to the engine, and the tokens the engine
//! answers with.
//!
//! # Delivery under back-pressure
//!
//! Events travel over a bounded channel (capacity
//! [`NetConfig::event_capacity`](crate::NetConfig::event_capacity)). The
//! swarm task never waits for the engine: when the channel is full, it
//! decides per kind of event, without blocking:
//!
//! - [`NetEvent::DirectRequest`] and [`NetEvent::BundleRequest`] are answered
//!   "busy" at once, so the sender keeps the envelopes and retries later.
//!   Counted in [`NetStats::busy_replies`].
//! - [`NetEvent::GroupMessage`] is reported to gossipsub as *ignored*: it is
//!   neither delivered nor forwarded, and a peer that republishes it is not
//!   penalised. Counted in [`NetStats::ignored_group_messages`].
//! - Every other event is informational and dropped, counted in
//!   [`NetStats::dropped_events`]. The engine can recover the state they
//!   describe by asking: [`Net::connected_peers`](crate::Net::connected_peers),
//!   [`Net::listen_addrs`](crate::Net::listen_addrs),
//!   [`Net::relays`](crate::Net::relays) (reservations and their circuit
//!   addresses), [`Net::peer_path`](crate::Net::peer_path).

use std::time::Duration;

use libp2p::{Multiaddr, PeerId};

/// Names one inbound direct-message request waiting for the engine's answer
/// through [`Net::respond_direct`](crate::Net::respond_direct).
///
/// The first answer counts: a second one with a copy fails with
/// [`NetError::ReplyGone`](crate::NetError::ReplyGone) (the engine keeps a
/// copy to answer "busy" if storing fails). If the engine never answers,
/// the request times out on both sides and the token becomes stale.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InboundReply(pub(crate) u64);

/// Names one inbound bundle request waiting for the engine's answer through
/// [`Net::respond_bundle`](crate::Net::respond_bundle). Single use, like
/// [`InboundReply`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BundleReply(pub(crate) u64);

/// The id of a group (gossipsub) message: the SHA-256 of its data, so the
/// same content published twice is one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupMessageId(pub [u8; 32]);

/// The engine's verdict on a group message, reported with
/// [`Net::report_validation`](crate::Net::report_validation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Acceptance {
    /// Valid: deliver and forward it to the mesh.
    Accept,
    /// Invalid: drop it. Once peer scoring is configured (with groups), a
    /// rejection also counts against the peers that sent it.
    Reject,
    /// Drop it without forwarding and without penalty (for example a message
    /// of a group this node cannot read yet).
    Ignore,
}

/// How this node is connected to a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Path {
    /// At least one open connection goes straight to the peer.
    Direct,
    /// Every open connection goes through a circuit relay (`/p2p-circuit`):
    /// it works, but relays limit circuits in time and bytes, so bulk
    /// traffic should wait for a direct path (hole punching tries one).
    Relayed,
}

/// Where this node stands with one relay it keeps a reservation on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayState {
    /// Connecting to the relay and asking for a reservation.
    Connecting,
    /// The relay holds a slot for this node: peers reach it at `addrs`.
    Reserved {
        /// This node's circuit addresses through the relay
        /// (`…/p2p/RELAY/p2p-circuit/p2p/SELF`), to advertise.
        addrs: Vec<Multiaddr>,
    },
    /// The last attempt failed or the reservation ended; the next attempt
    /// comes after a delay that doubles with each failure (1 s to 5 min).
    BackingOff {
        /// Why the last attempt failed or the reservation ended.
        last_error: String,
        /// Time left before the next attempt.
        retry_in: Duration,
    },
}

/// One relay of [`Net::relays`](crate::Net::relays).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayInfo {
    /// The relay.
    pub relay: PeerId,
    /// The address it was added with (ending in `/p2p/RELAY`).
    pub addr: Multiaddr,
    /// Its state.
    pub state: RelayState,
}

/// Something the swarm task reports to the engine.
#[derive(Debug)]
#[non_exhaustive]
pub enum NetEvent {
    /// The node listens on a new address.
    Listening {
        /// The address.
        addr: Multiaddr,
    },
    /// The node no longer listens on an address.
    ListenAddrExpired {
        /// The address.
        addr: Multiaddr,
    },
    /// An external address of this node was confirmed (for example by
    /// AutoNAT); worth putting in pairing codes.
    ExternalAddrConfirmed {
        /// The address.
        addr: Multiaddr,
    },
    /// The first connection to a peer is up.
    Connected {
        /// The peer.
        peer: PeerId,
    },
    /// The last connection to a peer closed.
    Disconnected {
        /// The peer.
        peer: PeerId,
    },
    /// mDNS found a Wren node on the local network: its identify protocol
    /// version is Wren's. Reported once per peer until it expires.
    PeerDiscovered {
        /// The peer.
        peer: PeerId,
        /// The addresses mDNS announced for it (at most
        /// [`MAX_ADDRESSES_PER_PEER`](crate::limits::MAX_ADDRESSES_PER_PEER)).
        addrs: Vec<Multiaddr>,
    },
    /// Every mDNS record of a previously discovered peer expired.
    PeerExpired {
        /// The peer.
        peer: PeerId,
    },
    /// A peer sent a batch of envelopes. Answer with
    /// [`Net::respond_direct`](crate::Net::respond_direct) after storing them.
    DirectRequest {
        /// The sender, authenticated by the transport.
        peer: PeerId,
        /// The envelopes, opaque (each 1 to 65 536 bytes).
        envelopes: Vec<Vec<u8>>,
        /// The token to answer with.
        reply: InboundReply,
    },
    /// A peer asks for this node's prekey bundle. Answer with
    /// [`Net::respond_bundle`](crate::Net::respond_bundle).
    BundleRequest {
        /// The requester, authenticated by the transport.
        peer: PeerId,
        /// The token to answer with.
        reply: BundleReply,
    },
    /// A group message arrived on a subscribed topic. It is neither
    /// delivered to others nor forwarded until the engine reports its
    /// verdict with [`Net::report_validation`](crate::Net::report_validation).
    GroupMessage {
        /// The peer that forwarded it to us (pass it back with the verdict).
        propagation_source: PeerId,
        /// Its id (pass it back with the verdict).
        message_id: GroupMessageId,
        /// Its author as gossipsub reports it: always `None`, since group
        /// topics carry unsigned messages (docs/protocol.md §G8); the
        /// sender is named and authenticated inside the data.
        author: Option<PeerId>,
        /// The topic.
        topic: String,
        /// The content.
        data: Vec<u8>,
    },
    /// A connected peer subscribed to a topic.
    GroupPeerSubscribed {
        /// The peer.
        peer: PeerId,
        /// The topic.
        topic: String,
    },
    /// A connected peer unsubscribed from a topic.
    GroupPeerUnsubscribed {
        /// The peer.
        peer: PeerId,
        /// The topic.
        topic: String,
    },
    /// The first connection to a relay added with
    /// [`Net::add_relay`](crate::Net::add_relay) is up: a good moment to
    /// fetch this node's mailbox from it.
    RelayConnected {
        /// The relay.
        relay: PeerId,
    },
    /// A relay holds a slot for this node. Reported once per address as
    /// the addresses arrive, each time with every address so far, and again
    /// after each new reservation.
    RelayReserved {
        /// The relay.
        relay: PeerId,
        /// This node's circuit addresses through it
        /// (`…/p2p/RELAY/p2p-circuit/p2p/SELF`), to put in pairing codes.
        addrs: Vec<Multiaddr>,
    },
    /// A reservation attempt failed or a reservation ended (connection
    /// closed, relay refused). The node retries with backoff; see
    /// [`Net::relays`](crate::Net::relays).
    RelayLost {
        /// The relay.
        relay: PeerId,
        /// Why, for logs.
        reason: String,
    },
    /// The best path to a peer changed, or the first connection to it
    /// opened (then `path` is that connection's). Not reported when the
    /// last connection closes ([`NetEvent::Disconnected`] is).
    PeerPath {
        /// The peer.
        peer: PeerId,
        /// The path now.
        path: Path,
    },
    /// The outcome of a hole-punching attempt (DCUtR) to upgrade a relayed
    /// connection to a direct one.
    HolePunch {
        /// The peer.
        peer: PeerId,
        /// Whether a direct connection was established.
        succeeded: bool,
        /// Why it failed, for logs.
        error: Option<String>,
    },
}

/// Counters of the swarm task, for diagnostics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Informational events dropped because the event channel was full.
    pub dropped_events: u64,
    /// Inbound requests answered "busy" (event channel full, or too many
    /// requests waiting for the engine).
    pub busy_replies: u64,
    /// Group messages ignored because the event channel was full.
    pub ignored_group_messages: u64,
    /// Inbound requests currently waiting for the engine's answer.
    pub pending_inbound: usize,
    /// Outbound requests currently waiting for a response.
    pub pending_outbound: usize,
}
