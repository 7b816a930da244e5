//! How to open a node.

use std::path::PathBuf;
use std::time::Duration;

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
    /// How long a group text we published waits for a member's delivery
    /// receipt before that member is sent a pairwise copy
    /// ([`GROUP_RECEIPT_WAIT`](crate::limits::GROUP_RECEIPT_WAIT) by
    /// default).
    pub group_receipt_wait: Duration,
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
            group_receipt_wait: crate::limits::GROUP_RECEIPT_WAIT,
        }
    }

    /// The listen addresses the node will use: [`NodeConfig::listen`], or
    /// the defaults when it is empty.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        if self.listen.is_empty() {
            wren_net::default_listen_addrs()
        } else {
            self.listen.clone()
        }
    }
}

/// Whether the actual listen address `actual` is one that `wanted` (a
/// configured listen address, possibly with a wildcard IP or port 0) asked
/// for: same protocols, and equal values where `wanted` is specific.
pub fn listen_covers(wanted: &Multiaddr, actual: &Multiaddr) -> bool {
    use wren_net::Protocol;
    let mut actual = actual.iter();
    for want in wanted.iter() {
        let Some(got) = actual.next() else {
            return false;
        };
        let same = match (&want, &got) {
            (Protocol::Ip4(w), Protocol::Ip4(_)) if w.is_unspecified() => true,
            (Protocol::Ip6(w), Protocol::Ip6(_)) if w.is_unspecified() => true,
            (Protocol::Tcp(0), Protocol::Tcp(_)) | (Protocol::Udp(0), Protocol::Udp(_)) => true,
            (w, g) => w == g,
        };
        if !same {
            return false;
        }
    }
    true
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

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> Multiaddr {
        text.parse().unwrap_or_else(|_| Multiaddr::empty())
    }

    #[test]
    fn wildcards_cover_concrete_addresses_of_the_same_kind() {
        let tcp_any = addr("/ip4/0.0.0.0/tcp/0");
        assert!(listen_covers(&tcp_any, &addr("/ip4/10.0.1.2/tcp/4001")));
        assert!(listen_covers(
            &tcp_any,
            &addr(
                "/ip4/10.0.1.2/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"
            )
        ));
        assert!(!listen_covers(
            &tcp_any,
            &addr("/ip4/10.0.1.2/udp/4001/quic-v1")
        ));
        assert!(!listen_covers(&tcp_any, &addr("/ip6/::1/tcp/4001")));
        let quic_any = addr("/ip4/0.0.0.0/udp/0/quic-v1");
        assert!(listen_covers(
            &quic_any,
            &addr("/ip4/127.0.0.1/udp/5000/quic-v1")
        ));
        assert!(!listen_covers(&quic_any, &addr("/ip4/127.0.0.1/udp/5000")));
        let fixed = addr("/ip4/127.0.0.1/tcp/4001");
        assert!(listen_covers(&fixed, &addr("/ip4/127.0.0.1/tcp/4001")));
        assert!(!listen_covers(&fixed, &addr("/ip4/127.0.0.1/tcp/4002")));
        assert!(!listen_covers(&fixed, &addr("/ip4/10.0.0.1/tcp/4001")));
    }
}
