//! Shared helpers: nodes with temporary homes on loopback, mDNS off, and
//! waiting for events with a guard that turns a hang into a failure.
//!
//! Tests synchronise on events only; the guard is the one timer and no
//! test measures time.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub(crate) mod raw;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use wren_core::{Multiaddr, Node, NodeConfig, NodeEvent, Unlock};

/// How long any single wait may take before the test fails instead of
/// hanging.
pub(crate) const GUARD: Duration = Duration::from_secs(90);

/// Fails the test if `future` takes longer than [`GUARD`].
pub(crate) async fn guard<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("the awaited event never came")
}

/// A node under test.
pub(crate) struct TestNode {
    pub(crate) node: Node,
    pub(crate) events: mpsc::Receiver<NodeEvent>,
    pub(crate) home: PathBuf,
    pub(crate) peer_id: String,
    pub(crate) listen: Multiaddr,
    _dir: Option<tempfile::TempDir>,
}

/// Initialises a home and opens a node on a random loopback TCP port.
pub(crate) async fn start(name: &str) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_path_buf();
    Node::init(&home, name, Unlock::KeyFile).await.unwrap();
    let mut node = open(&home, "/ip4/127.0.0.1/tcp/0".parse().unwrap()).await;
    node._dir = Some(dir);
    node
}

/// Opens an existing home listening on `listen`, and waits until it listens.
pub(crate) async fn open(home: &Path, listen: Multiaddr) -> TestNode {
    open_configured(home, listen, |_| ()).await
}

/// As [`open`], with `configure` applied to the node's configuration.
pub(crate) async fn open_configured(
    home: &Path,
    listen: Multiaddr,
    configure: impl FnOnce(&mut NodeConfig),
) -> TestNode {
    let mut config = NodeConfig::new(home);
    config.listen = vec![listen];
    config.mdns = false;
    configure(&mut config);
    let (node, mut events) = Node::open(config).await.unwrap();
    let listen = guard(async {
        loop {
            match events.recv().await.expect("events closed") {
                NodeEvent::Listening { addr } => return addr,
                _ => continue,
            }
        }
    })
    .await;
    let peer_id = node.identity().await.peer_id;
    TestNode {
        node,
        events,
        home: home.to_path_buf(),
        peer_id,
        listen,
        _dir: None,
    }
}

impl TestNode {
    /// Waits for the first event `pick` accepts, discarding the others.
    pub(crate) async fn next<T>(&mut self, mut pick: impl FnMut(&NodeEvent) -> Option<T>) -> T {
        guard(async {
            loop {
                let event = self.events.recv().await.expect("event channel closed");
                if let Some(found) = pick(&event) {
                    return found;
                }
            }
        })
        .await
    }

    /// Stops the node (its home stays).
    pub(crate) async fn stop(self) -> Stopped {
        self.node.shutdown().await.unwrap();
        Stopped {
            home: self.home,
            listen: self.listen,
            dir: self._dir,
        }
    }

    /// Stops the node and reopens its home on the same address.
    pub(crate) async fn restart(self) -> TestNode {
        self.stop().await.reopen().await
    }
}

/// A stopped node's home.
pub(crate) struct Stopped {
    pub(crate) home: PathBuf,
    pub(crate) listen: Multiaddr,
    dir: Option<tempfile::TempDir>,
}

impl Stopped {
    /// Opens the home again on the same address.
    pub(crate) async fn reopen(self) -> TestNode {
        self.reopen_configured(|_| ()).await
    }

    /// As [`Stopped::reopen`], with `configure` applied to the node's
    /// configuration.
    pub(crate) async fn reopen_configured(
        self,
        configure: impl FnOnce(&mut NodeConfig),
    ) -> TestNode {
        let mut node = open_configured(&self.home, self.listen, configure).await;
        node._dir = self.dir;
        node
    }
}

/// Pairs `a` and `b`: `a` adds `b`'s code with alias `b_alias`, `b`
/// accepts with alias `a_alias` (by accepting then naming). Waits until
/// `a` knows `b` accepted.
pub(crate) async fn pair(a: &mut TestNode, b: &mut TestNode, b_alias: &str, a_alias: &str) {
    let code = b.node.pairing_code().await.unwrap();
    a.node
        .add_contact(&code, Some(b_alias.to_owned()))
        .await
        .unwrap();
    let from = a.peer_id.clone();
    b.next(|e| match e {
        NodeEvent::ContactRequest { from: f, .. } if *f == from => Some(()),
        _ => None,
    })
    .await;
    b.node
        .accept_with_alias(&a.peer_id, Some(a_alias.to_owned()))
        .await
        .unwrap();
    let bp = b.peer_id.clone();
    a.next(|e| match e {
        NodeEvent::ContactAccepted { contact } if *contact == bp => Some(()),
        _ => None,
    })
    .await;
}
