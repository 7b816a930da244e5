//! How the app opens its node.

use std::path::PathBuf;

use wren_core::{Multiaddr, NodeConfig, Unlock};

/// Where the profile lives and how the node listens.
#[derive(Debug, Clone)]
pub struct Config {
    /// The profile directory (the node's home).
    pub home: PathBuf,
    /// Listen addresses; empty: the node's defaults.
    pub listen: Vec<Multiaddr>,
    /// Local-network discovery with mDNS.
    pub mdns: bool,
}

impl Config {
    /// A configuration for `home` with the node's default listen addresses
    /// and mDNS on.
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Self {
            home: home.into(),
            listen: Vec::new(),
            mdns: true,
        }
    }

    /// The node configuration, unlocking the store with `unlock`.
    pub fn node_config(&self, unlock: Unlock) -> NodeConfig {
        let mut config = NodeConfig::new(self.home.clone());
        config.unlock = unlock;
        config.listen = self.listen.clone();
        config.mdns = self.mdns;
        config
    }
}
