//! How to start a node.

use std::fmt;
use std::time::Duration;

use libp2p::{Multiaddr, identity::Keypair};

use crate::limits::{
    DEFAULT_IDLE_CONNECTION_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, EVENT_CHANNEL_CAPACITY,
};

/// The identify protocol version Wren nodes announce. A peer announcing
/// anything else is not treated as a Wren node (mDNS discoveries of it are
/// not reported).
pub const IDENTIFY_PROTOCOL_VERSION: &str = "/wren/id/1.0.0";

/// The identify agent string of this implementation.
pub const AGENT_VERSION: &str = concat!("wren/", env!("CARGO_PKG_VERSION"));

/// Everything [`spawn`](crate::spawn) needs.
///
/// Build it with [`NetConfig::new`] and adjust the public fields.
#[derive(Clone)]
pub struct NetConfig {
    /// The node's identity. Wren's Ed25519 identity key *is* the libp2p
    /// identity, so the transport authenticates exactly the key sessions are
    /// bound to; the caller derives it from its Wren identity.
    pub keypair: Keypair,
    /// Addresses to listen on. Empty means all interfaces, a random port,
    /// over TCP and QUIC: `/ip4/0.0.0.0/tcp/0` and
    /// `/ip4/0.0.0.0/udp/0/quic-v1`.
    pub listen: Vec<Multiaddr>,
    /// Whether to discover peers on the local network with mDNS.
    pub mdns: bool,
    /// Longest time a request may wait for its response (and an inbound
    /// request for the engine's answer).
    pub request_timeout: Duration,
    /// How long a connection without pending work stays open.
    pub idle_timeout: Duration,
    /// Capacity of the event channel to the engine (at least 1). See the
    /// [`event`](crate::event) module for what happens when it is full.
    pub event_capacity: usize,
}

impl NetConfig {
    /// A configuration with the default limits: listen everywhere over TCP
    /// and QUIC, mDNS on.
    pub fn new(keypair: Keypair) -> Self {
        Self {
            keypair,
            listen: Vec::new(),
            mdns: true,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_CONNECTION_TIMEOUT,
            event_capacity: EVENT_CHANNEL_CAPACITY,
        }
    }

    /// The listen addresses to use: [`NetConfig::listen`], or the defaults
    /// when it is empty.
    pub(crate) fn listen_addrs(&self) -> Vec<Multiaddr> {
        if !self.listen.is_empty() {
            return self.listen.clone();
        }
        default_listen_addrs()
    }
}

/// Where a node listens when its configuration names nothing: every IPv4
/// interface, a random port, TCP and QUIC.
pub fn default_listen_addrs() -> Vec<Multiaddr> {
    ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"]
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect()
}

impl fmt::Debug for NetConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the public half of the identity.
        f.debug_struct("NetConfig")
            .field("peer_id", &self.keypair.public().to_peer_id())
            .field("listen", &self.listen)
            .field("mdns", &self.mdns)
            .field("request_timeout", &self.request_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("event_capacity", &self.event_capacity)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_listen_addresses() {
        let config = NetConfig::new(Keypair::generate_ed25519());
        let addrs: Vec<String> = config
            .listen_addrs()
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(addrs, ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"]);
    }

    #[test]
    fn debug_shows_no_secret() {
        let keypair = Keypair::generate_ed25519();
        let peer = keypair.public().to_peer_id();
        let text = format!("{:?}", NetConfig::new(keypair));
        assert!(text.contains(&peer.to_string()));
        assert!(!text.contains("secret"));
    }
}
