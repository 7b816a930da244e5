//! Test harness: the real `wren-relay` binary on a temporary directory, and
//! a minimal libp2p client (mailbox requests, relay client).
//!
//! Nothing here sleeps to synchronise: the relay's stdout lines (`listening`,
//! `ready`, `users N`, `stopped`) and swarm events are awaited. Timeouts only
//! turn a hang into a failure.

#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, SwarmBuilder, noise, relay, tcp, yamux};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use wren_net::mailbox::{self, MailboxCodec, MailboxRequest, MailboxResponse};

/// Upper bound for anything the tests wait for.
pub const WAIT: Duration = Duration::from_secs(60);

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wren-relay")
}

/// Runs a `wren-relay` command to completion; returns (success, stdout, stderr).
pub async fn cli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin())
        .args(args)
        .env_remove("WREN_RELAY_DIR")
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `wren-relay init` in `dir` with `owner`; returns the relay's peer id.
pub async fn init(dir: &Path, owner: Option<&PeerId>) -> PeerId {
    let dir_s = dir.to_str().unwrap();
    let owner_s = owner.map(ToString::to_string);
    let mut args = vec!["init", "--dir", dir_s];
    if let Some(owner) = &owner_s {
        args.extend(["--owner", owner.as_str()]);
    }
    let (ok, stdout, stderr) = cli(&args).await;
    assert!(ok, "init failed: {stderr}");
    line_value(&stdout, "peer-id").parse().unwrap()
}

/// The value after `prefix ` on the first line that starts with it.
pub fn line_value(text: &str, prefix: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{prefix} ")))
        .unwrap_or_else(|| panic!("no `{prefix}` line in {text:?}"))
        .to_owned()
}

/// A running relay process.
pub struct RelayProcess {
    pub child: Child,
    pub dir: PathBuf,
    pub peer_id: PeerId,
    /// The TCP address it listens on, with `/p2p/`.
    pub addr: Multiaddr,
    /// Every address it printed as `listening`.
    pub addrs: Vec<Multiaddr>,
    /// The HTTP listener, when enabled.
    pub http: Option<String>,
    lines: mpsc::UnboundedReceiver<String>,
}

impl RelayProcess {
    /// Starts `wren-relay run` in `dir` with the config text `config`
    /// (written next to it), listening on a free loopback TCP port, and
    /// waits for `ready`.
    pub async fn start(dir: &Path, config: &str) -> Self {
        Self::start_with(dir, config, &[]).await
    }

    /// Like [`start`](Self::start) with extra arguments.
    pub async fn start_with(dir: &Path, config: &str, extra: &[&str]) -> Self {
        let config_path = dir.join("test-config.toml");
        std::fs::write(&config_path, config).unwrap();
        let mut child = Command::new(bin())
            .args(["run", "--dir", dir.to_str().unwrap()])
            .args(["--config", config_path.to_str().unwrap()])
            .args(["--listen", "/ip4/127.0.0.1/tcp/0"])
            .args(extra)
            .env_remove("WREN_RELAY_DIR")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut relay = Self {
            child,
            dir: dir.to_path_buf(),
            peer_id: PeerId::random(),
            addr: Multiaddr::empty(),
            addrs: Vec::new(),
            http: None,
            lines,
        };
        relay.peer_id = relay.expect_line("peer-id").await.parse().unwrap();
        loop {
            let line = relay.next_line().await;
            if let Some(addr) = line.strip_prefix("listening ") {
                let addr: Multiaddr = addr.parse().unwrap();
                if addr.iter().any(|p| matches!(p, Protocol::Tcp(_))) {
                    relay.addr = addr.clone();
                }
                relay.addrs.push(addr);
            } else if let Some(http) = line.strip_prefix("http ") {
                relay.http = Some(http.to_owned());
            } else if line == "ready" {
                break;
            }
        }
        assert!(relay.addr.iter().any(|p| matches!(p, Protocol::Tcp(_))));
        relay
    }

    /// The next stdout line.
    pub async fn next_line(&mut self) -> String {
        tokio::time::timeout(WAIT, self.lines.recv())
            .await
            .expect("the relay printed nothing in time")
            .expect("the relay's stdout closed")
    }

    /// Waits for a line starting with `prefix` and returns the rest.
    pub async fn expect_line(&mut self, prefix: &str) -> String {
        loop {
            let line = self.next_line().await;
            if line == prefix {
                return String::new();
            }
            if let Some(rest) = line.strip_prefix(&format!("{prefix} ")) {
                return rest.to_owned();
            }
        }
    }

    /// SIGKILL: no chance to clean up.
    pub async fn kill(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }

    /// SIGTERM, then waits for `stopped` and the exit; returns whether the
    /// exit status was success.
    pub async fn terminate(mut self) -> bool {
        let pid = nix::unistd::Pid::from_raw(self.child.id().unwrap() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        self.expect_line("stopped").await;
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .unwrap()
            .unwrap();
        status.success()
    }
}

#[derive(NetworkBehaviour)]
pub struct ClientBehaviour {
    pub relay_client: relay::client::Behaviour,
    pub mailbox: request_response::Behaviour<MailboxCodec>,
}

/// A minimal Wren-like client with its own identity.
pub struct Client {
    pub swarm: Swarm<ClientBehaviour>,
    pub peer_id: PeerId,
}

impl Client {
    /// A client with a fresh Ed25519 identity.
    pub fn new() -> Self {
        Self::with_key(Keypair::generate_ed25519())
    }

    /// A client with `key`.
    pub fn with_key(key: Keypair) -> Self {
        let peer_id = key.public().to_peer_id();
        let swarm = SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .unwrap()
            .with_quic()
            .with_relay_client(noise::Config::new, yamux::Config::default)
            .unwrap()
            .with_behaviour(|_, relay_client| ClientBehaviour {
                relay_client,
                mailbox: request_response::Behaviour::with_codec(
                    MailboxCodec,
                    [(mailbox::PROTOCOL, ProtocolSupport::Outbound)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(30)),
                ),
            })
            .unwrap()
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        Self { swarm, peer_id }
    }

    /// Sends `request` to the relay and drives the swarm until its answer.
    pub async fn call(
        &mut self,
        relay: &RelayProcess,
        request: MailboxRequest,
    ) -> Result<MailboxResponse, String> {
        self.call_at(relay.peer_id, &relay.addr, request).await
    }

    /// Like [`call`](Self::call) with an explicit peer and address.
    pub async fn call_at(
        &mut self,
        peer: PeerId,
        addr: &Multiaddr,
        request: MailboxRequest,
    ) -> Result<MailboxResponse, String> {
        let mut plain = addr.clone();
        if matches!(plain.iter().last(), Some(Protocol::P2p(_))) {
            plain.pop();
        }
        let id = self
            .swarm
            .behaviour_mut()
            .mailbox
            .send_request_with_addresses(&peer, request, vec![plain]);
        tokio::time::timeout(WAIT, self.await_response(id))
            .await
            .expect("no mailbox response in time")
    }

    async fn await_response(&mut self, id: OutboundRequestId) -> Result<MailboxResponse, String> {
        loop {
            match self.swarm.select_next_some().await {
                SwarmEvent::Behaviour(ClientBehaviourEvent::Mailbox(
                    request_response::Event::Message {
                        message:
                            request_response::Message::Response {
                                request_id,
                                response,
                            },
                        ..
                    },
                )) if request_id == id => return Ok(response),
                SwarmEvent::Behaviour(ClientBehaviourEvent::Mailbox(
                    request_response::Event::OutboundFailure {
                        request_id, error, ..
                    },
                )) if request_id == id => return Err(error.to_string()),
                _ => {}
            }
        }
    }

    /// Drives the swarm until it has no connection left to `peer` (after
    /// the relay process was killed), so the next request dials afresh.
    pub async fn await_disconnect(&mut self, peer: PeerId) {
        tokio::time::timeout(WAIT, async {
            while self.swarm.is_connected(&peer) {
                self.swarm.select_next_some().await;
            }
        })
        .await
        .expect("the dead connection was never noticed");
    }

    /// Asks `relay` for a reservation; returns `Ok(())` once it is
    /// accepted, `Err` with the reason when the relay refuses it.
    pub async fn reserve(&mut self, relay: &RelayProcess) -> Result<(), String> {
        let circuit = relay.addr.clone().with(Protocol::P2pCircuit);
        let listener = self.swarm.listen_on(circuit).unwrap();
        tokio::time::timeout(WAIT, async {
            loop {
                match self.swarm.select_next_some().await {
                    SwarmEvent::Behaviour(ClientBehaviourEvent::RelayClient(
                        relay::client::Event::ReservationReqAccepted { .. },
                    )) => return Ok(()),
                    SwarmEvent::ListenerClosed {
                        listener_id,
                        reason,
                        ..
                    } if listener_id == listener => {
                        return Err(match reason {
                            Ok(()) => "listener closed".to_owned(),
                            Err(e) => format!("{e:?}"),
                        });
                    }
                    _ => {}
                }
            }
        })
        .await
        .expect("no reservation outcome in time")
    }
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

/// A config for tests: HTTP off (unless asked), the given access and
/// mailbox sections.
pub fn config(owner: Option<&PeerId>, mode: &str, mailbox: &str) -> String {
    let owner = owner.map(ToString::to_string).unwrap_or_default();
    format!(
        "[access]\nmode = \"{mode}\"\nowner = \"{owner}\"\n\n[mailbox]\n{mailbox}\n\n[http]\nenabled = false\n"
    )
}

/// Envelopes `0..n` of `len` bytes, each filled with its index.
pub fn envelopes(n: usize, len: usize, offset: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut e = vec![((i + offset) % 251) as u8; len];
            e[..8].copy_from_slice(&((i + offset) as u64).to_be_bytes());
            e
        })
        .collect()
}
