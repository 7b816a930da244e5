//! How the app opens its node.

use std::path::PathBuf;
use std::sync::Arc;

use wren_core::{Multiaddr, NodeConfig, Unlock};

use crate::notify::{DesktopNotifier, Notifier};
use crate::preferences::Preferences;

/// Where the profile lives and how the node listens.
#[derive(Debug, Clone)]
pub struct Config {
    /// The profile directory (the node's home).
    pub home: PathBuf,
    /// Listen addresses from the command line; they override those in the
    /// desktop settings. Empty: the settings' (or the node's defaults).
    pub listen: Vec<Multiaddr>,
    /// Local-network discovery with mDNS.
    pub mdns: bool,
    /// What shows desktop notifications.
    pub notifier: Arc<dyn Notifier>,
}

impl Config {
    /// A configuration for `home` with the listen addresses of its desktop
    /// settings, mDNS on and the desktop's notification service.
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Self {
            home: home.into(),
            listen: Vec::new(),
            mdns: true,
            notifier: Arc::new(DesktopNotifier::default()),
        }
    }

    /// The node configuration, unlocking the store with `unlock`: the
    /// command line's listen addresses, else those in `preferences`.
    pub fn node_config(&self, unlock: Unlock, preferences: &Preferences) -> NodeConfig {
        let mut config = NodeConfig::new(self.home.clone());
        config.unlock = unlock;
        config.listen = if self.listen.is_empty() {
            preferences.listen_addrs()
        } else {
            self.listen.clone()
        };
        config.mdns = self.mdns;
        config
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_command_line_overrides_the_settings_file() {
        let preferences = Preferences {
            listen: vec!["/ip4/0.0.0.0/tcp/4001".into()],
            ..Preferences::default()
        };
        let mut config = Config::new("home");
        let from_file = config.node_config(Unlock::KeyFile, &preferences);
        assert_eq!(
            from_file.listen,
            vec!["/ip4/0.0.0.0/tcp/4001".parse().unwrap()]
        );
        config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
        let from_args = config.node_config(Unlock::KeyFile, &preferences);
        assert_eq!(from_args.listen, config.listen);
    }
}
