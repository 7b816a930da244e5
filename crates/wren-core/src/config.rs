//! How to open a node.

use std::path::PathBuf;

use wren_net::Multiaddr;
use wren_store::Unlock;

/// Everything [`Node::open`](crate::Node::open) needs.
pub struct NodeConfig {
    /// The home directory: the store (database, key file) lives here.
    pub home: PathBuf,
    /// How to unlock the store.
    pub unlock: Unlock,
    /// Addresses to listen on. Empty: all interfaces, a random port, TCP
    /// and QUIC (`/ip4/0.0.0.0/tcp/0`, `/ip4/0.0.0.0/udp/0/quic-v1`).
    pub listen: Vec<Multiaddr>,
    /// Discover Wren nodes on the local network with mDNS (and be
    /// discoverable). Switch off for privacy.
    pub mdns: bool,
}

impl NodeConfig {
    /// A configuration for `home`: key-file unlock, default listen
    /// addresses, mDNS on.
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Self {
            home: home.into(),
            unlock: Unlock::KeyFile,
            listen: Vec::new(),
            mdns: true,
        }
    }
}

impl std::fmt::Debug for NodeConfig {
    /// The unlock secret is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unlock = match self.unlock {
            Unlock::KeyFile => "key file",
            Unlock::Passphrase { .. } => "passphrase",
        };
        f.debug_struct("NodeConfig")
            .field("home", &self.home)
            .field("unlock", &unlock)
            .field("listen", &self.listen)
            .field("mdns", &self.mdns)
            .finish()
    }
}
