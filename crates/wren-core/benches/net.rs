//! Messaging between two processes on loopback, with its baseline and its
//! cost components measured side by side in the same run.
//!
//! `cargo bench -p wren-core --bench net`. The binary re-executes itself as
//! the peer process (`WREN_BENCH_ROLE=peer`): the peer runs Bob's node and a
//! bare libp2p echo server, and prints the echo server's peer id and
//! address and Bob's pairing code on its stdout; the parent reads them, runs
//! Ada's node and the echo client, and asks the peer for its counts over
//! the peer's stdin. Both processes use a two-thread tokio runtime and TCP
//! + Noise + Yamux on 127.0.0.1.
//!
//! Measured, in `WREN_BENCH_ROUNDS` interleaved rounds (so that every
//! series sees the same machine load):
//!
//! - (a) the baseline: a bare libp2p request-response echo of 100 bytes
//!   between the two processes (same transports and the same lazy stream
//!   negotiation as Wren's swarm; also measured with libp2p's default
//!   negotiation, for information);
//! - (b) Wren's send-to-delivered latency: `send_text` of 100 bytes, wait
//!   for the `Delivered` status, repeat;
//! - (d) in the parent process: one ratchet message (encrypt + decrypt of
//!   100 bytes with `SessionBook`) and one durable redb commit (one 100-byte
//!   value) in a database next to the nodes' stores;
//! - (e) the floor of (b) on this machine, with no engine: a second echo
//!   server in the peer answers only after a durable one-value commit (as
//!   a receiver commits before acknowledging), while the parent makes a
//!   durable one-value commit of its own (as a sender commits its outbox);
//!   timed until both are done (`WREN_BENCH_LATENCY` round trips);
//!
//! then (c) Wren's throughput in one direction: `WREN_BENCH_MESSAGES` texts
//! of 100 bytes sent as fast as the API takes them (at most
//! `WREN_BENCH_WINDOW` `send_text` calls outstanding), timed from the first
//! send to the last `Delivered`. Finally it prints the targets:
//! p50 ≤ echo p50 + 2 × ratchet + one commit, and ≥ 10 000 messages/s.
//!
//! Knobs (environment): `WREN_BENCH_ROUNDS` (5), `WREN_BENCH_ECHO` (2 000
//! round trips), `WREN_BENCH_LATENCY` (1 000 messages), `WREN_BENCH_COMMITS`
//! (1 000), `WREN_BENCH_MESSAGES` (50 000), `WREN_BENCH_WINDOW` (1 024), and
//! the diagnostics `WREN_BENCH_SENDER_DIR` and `WREN_BENCH_RECEIVER_DIR`
//! (directories for the sender's and the receiver's stores, e.g. on another
//! device: on one machine both nodes' fsyncs otherwise queue on the same
//! disk; on a memory file system they show the cost without the disk).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::io::{self, BufRead, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
use redb::TableDefinition;
use tokio::sync::mpsc;
use wren_core::{Node, NodeConfig, NodeError, NodeEvent, SentMessage, Status, Unlock};
use wren_crypto::{
    IdentityKeyPair, OutboundMessage, PrekeyBundle, PrekeyMessage, SessionBook, SignedPrekeyPair,
};

const ROLE: &str = "WREN_BENCH_ROLE";
const BODY_BYTES: usize = 100;
const WARM_UP_ECHO: usize = 200;
const WARM_UP_MESSAGES: usize = 50;
const RATCHET_BATCH: usize = 1_000;
/// How long the peer waits for the texts the parent expects before it
/// answers "count" with what arrived.
const COUNT_PATIENCE: Duration = Duration::from_secs(10);
const COMMIT_TABLE: TableDefinition<'static, u64, &[u8]> = TableDefinition::new("bench");

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn main() {
    if std::env::var(ROLE).as_deref() == Ok("peer") {
        runtime().block_on(peer());
    } else {
        parent();
    }
}

// ---------------------------------------------------------------------------
// The peer process: Bob's node and the echo server.

async fn peer() {
    let dir = match std::env::var_os("WREN_BENCH_RECEIVER_DIR") {
        Some(parent) => tempfile::tempdir_in(parent).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let (bob, mut events) = start_node("Bob", dir.path()).await;
    let (echo_id, echo_addr) = spawn_echo_server(None).await;
    let floor_db = redb::Database::create(dir.path().join("floor.redb")).unwrap();
    let (floor_id, floor_addr) = spawn_echo_server(Some(floor_db)).await;
    let code = bob.pairing_code().await.unwrap();
    {
        let mut out = io::stdout().lock();
        writeln!(out, "echo {echo_id} {echo_addr}").unwrap();
        writeln!(out, "floor {floor_id} {floor_addr}").unwrap();
        writeln!(out, "code {code}").unwrap();
        out.flush().unwrap();
    }
    // Commands from the parent, one per line; EOF ends the peer.
    let (line_tx, mut lines) = mpsc::channel::<String>(16);
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if line_tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    let mut received = 0u64;
    // "count N": answered once N texts were reported (a batch is
    // acknowledged before its events are emitted, so the last ones may
    // still be on their way when the sender has seen every Delivered), or
    // after COUNT_PATIENCE with whatever arrived.
    let mut asked: Option<(u64, tokio::time::Instant)> = None;
    let answer = |received: u64| {
        let mut out = io::stdout().lock();
        writeln!(out, "count {received} {}", bob.dropped_events()).unwrap();
        out.flush().unwrap();
    };
    loop {
        let deadline = asked.map(|(_, at)| at);
        tokio::select! {
            event = events.recv() => match event {
                Some(NodeEvent::ContactRequest { from, .. }) => {
                    bob.accept(&from).await.unwrap();
                }
                Some(NodeEvent::MessageReceived { .. }) => received += 1,
                Some(_) => {}
                None => break,
            },
            line = lines.recv() => match line.as_deref().and_then(|l| l.strip_prefix("count ")) {
                Some(expected) => {
                    let expected = expected.parse().unwrap();
                    asked = Some((expected, tokio::time::Instant::now() + COUNT_PATIENCE));
                }
                None if line.is_none() => break,
                None => {}
            },
            () = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)),
                if deadline.is_some() => {
                answer(received);
                asked = None;
            }
        }
        if let Some((expected, _)) = asked
            && received >= expected
        {
            answer(received);
            asked = None;
        }
    }
    bob.shutdown().await.unwrap();
}

async fn start_node(name: &str, dir: &std::path::Path) -> (Node, mpsc::Receiver<NodeEvent>) {
    Node::init(dir, name, Unlock::KeyFile).await.unwrap();
    let mut config = NodeConfig::new(dir);
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.mdns = false;
    let (node, mut events) = Node::open(config).await.unwrap();
    // The pairing code carries the listen address: wait for it.
    loop {
        match events.recv().await {
            Some(NodeEvent::Listening { .. }) => break,
            Some(_) => {}
            None => panic!("{name}'s node stopped"),
        }
    }
    (node, events)
}

/// An echo server; with `commit`, each answer waits for a durable
/// one-value commit to that database first (the floor series).
async fn spawn_echo_server(commit: Option<redb::Database>) -> (PeerId, Multiaddr) {
    let mut server = echo_swarm(Negotiation::Lazy);
    server
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    let addr = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
            break address;
        }
    };
    let id = *server.local_peer_id();
    tokio::spawn(async move {
        let mut key = 0u64;
        loop {
            if let SwarmEvent::Behaviour(request_response::Event::Message {
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            }) = server.select_next_some().await
            {
                if let Some(db) = &commit {
                    key += 1;
                    tokio::task::block_in_place(|| durable_commit(db, key));
                }
                let _ = server.behaviour_mut().send_response(channel, request);
            }
        }
    });
    (id, addr)
}

// ---------------------------------------------------------------------------
// The parent process: Ada's node, the echo client and the measurements.

/// The peer process and its pipes.
struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: io::BufReader<ChildStdout>,
}

impl Peer {
    fn spawn() -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(ROLE, "peer")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = io::BufReader::new(child.stdout.take().unwrap());
        Self {
            child,
            stdin,
            stdout,
        }
    }

    /// The next line from the peer, which must start with `tag`; the rest
    /// split at spaces.
    fn read(&mut self, tag: &str) -> Vec<String> {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let mut words = line.split_whitespace().map(str::to_owned);
        assert_eq!(words.next().as_deref(), Some(tag), "peer said {line:?}");
        words.collect()
    }

    /// Texts the peer has reported received (once `expected` were, or
    /// after [`COUNT_PATIENCE`]), and events it dropped.
    fn count(&mut self, expected: u64) -> (u64, u64) {
        writeln!(self.stdin, "count {expected}").unwrap();
        self.stdin.flush().unwrap();
        let words = self.read("count");
        (words[0].parse().unwrap(), words[1].parse().unwrap())
    }
}

struct Settings {
    rounds: usize,
    echo: usize,
    latency: usize,
    commits: usize,
    messages: usize,
    window: usize,
}

#[derive(Default)]
struct Samples {
    echo: Vec<Duration>,
    echo_v1: Vec<Duration>,
    committed: Vec<Duration>,
    delivered: Vec<Duration>,
    commit: Vec<Duration>,
    ratchet: Vec<Duration>,
    floor: Vec<Duration>,
}

fn parent() {
    let settings = Settings {
        rounds: knob("WREN_BENCH_ROUNDS", 5).max(1),
        echo: knob("WREN_BENCH_ECHO", 2_000),
        latency: knob("WREN_BENCH_LATENCY", 1_000),
        commits: knob("WREN_BENCH_COMMITS", 1_000),
        messages: knob("WREN_BENCH_MESSAGES", 50_000),
        window: knob("WREN_BENCH_WINDOW", 1_024).max(1),
    };
    let mut peer = Peer::spawn();
    let echo = peer.read("echo");
    let echo_id: PeerId = echo[0].parse().unwrap();
    let echo_addr: Multiaddr = echo[1].parse().unwrap();
    let floor = peer.read("floor");
    let floor: (PeerId, Multiaddr) = (floor[0].parse().unwrap(), floor[1].parse().unwrap());
    let code = peer.read("code").remove(0);
    runtime().block_on(measure(
        &settings,
        &mut peer,
        (echo_id, echo_addr),
        floor,
        code,
    ));
    drop(peer.stdin);
    let _ = peer.child.wait();
}

async fn measure(
    settings: &Settings,
    peer: &mut Peer,
    (echo_id, echo_addr): (PeerId, Multiaddr),
    (floor_id, floor_addr): (PeerId, Multiaddr),
    code: String,
) {
    let dir = tempfile::tempdir().unwrap();
    // Diagnostic knob: put the sender's store elsewhere (another device),
    // as it would be on two machines; the baseline commit stays in `dir`.
    let sender_dir = match std::env::var_os("WREN_BENCH_SENDER_DIR") {
        Some(parent) => tempfile::tempdir_in(parent).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    if std::env::var_os("WREN_BENCH_SENDER_DIR").is_some() {
        println!("sender store in {}", sender_dir.path().display());
    }
    let (ada, mut events) = start_node("Ada", &sender_dir.path().join("ada")).await;
    ada.add_contact(&code, Some("bob".into())).await.unwrap();
    wait(&mut events, |e| {
        matches!(e, NodeEvent::ContactAccepted { .. })
    })
    .await;

    let mut client = echo_swarm(Negotiation::Lazy);
    client.add_peer_address(echo_id, echo_addr.clone());
    let mut client_v1 = echo_swarm(Negotiation::RoundTrip);
    client_v1.add_peer_address(echo_id, echo_addr);
    let mut client_floor = echo_swarm(Negotiation::Lazy);
    client_floor.add_peer_address(floor_id, floor_addr);
    let db = std::sync::Arc::new(redb::Database::create(dir.path().join("commit.redb")).unwrap());
    let mut ratchet = RatchetPair::new();
    let body = "x".repeat(BODY_BYTES);

    // Warm-up: connections, caches, first session messages.
    echo_round_trips(&mut client, echo_id, WARM_UP_ECHO).await;
    echo_round_trips(&mut client_v1, echo_id, WARM_UP_ECHO).await;
    let mut commit_key = 0u64;
    floor_round_trips(
        &mut client_floor,
        floor_id,
        &db,
        &mut commit_key,
        WARM_UP_ECHO,
    )
    .await;
    for _ in 0..WARM_UP_MESSAGES {
        send_and_wait(&ada, &mut events, &body).await;
    }

    let mut samples = Samples::default();
    for _ in 0..settings.rounds {
        samples
            .echo
            .extend(echo_round_trips(&mut client, echo_id, settings.echo / settings.rounds).await);
        samples.echo_v1.extend(
            echo_round_trips(&mut client_v1, echo_id, settings.echo / settings.rounds).await,
        );
        for _ in 0..settings.latency / settings.rounds {
            let (committed, delivered) = send_and_wait(&ada, &mut events, &body).await;
            samples.committed.push(committed);
            samples.delivered.push(delivered);
        }
        samples.floor.extend(
            floor_round_trips(
                &mut client_floor,
                floor_id,
                &db,
                &mut commit_key,
                settings.latency / settings.rounds,
            )
            .await,
        );
        for _ in 0..settings.commits / settings.rounds {
            commit_key += 1;
            samples.commit.push(durable_commit(&db, commit_key));
        }
        for _ in 0..5 {
            samples.ratchet.push(ratchet.per_message(RATCHET_BATCH));
        }
    }

    let (rate, elapsed, dropped) = throughput(&ada, &mut events, &body, settings).await;
    let sent = (WARM_UP_MESSAGES
        + settings.latency / settings.rounds * settings.rounds
        + settings.messages) as u64;
    let (received, peer_dropped) = tokio::task::block_in_place(|| peer.count(sent));
    ada.shutdown().await.unwrap();

    report(settings, &mut samples, rate, elapsed);
    println!(
        "receiver reported {received} texts received (sent {sent}); events dropped: \
         sender {dropped}, receiver {peer_dropped}"
    );
    assert_eq!(received, sent, "every text reported exactly once");
}

async fn wait(events: &mut mpsc::Receiver<NodeEvent>, mut pick: impl FnMut(&NodeEvent) -> bool) {
    while let Some(event) = events.recv().await {
        if pick(&event) {
            return;
        }
    }
    panic!("events closed");
}

/// One text; returns the time until `send_text` returned (committed) and
/// until its `Delivered` status.
async fn send_and_wait(
    ada: &Node,
    events: &mut mpsc::Receiver<NodeEvent>,
    body: &str,
) -> (Duration, Duration) {
    let start = Instant::now();
    let sent = ada.send_text("bob", body).await.unwrap();
    let committed = start.elapsed();
    wait(events, |e| {
        matches!(e, NodeEvent::StatusChanged { id, status: Status::Delivered, .. } if *id == sent.id)
    })
    .await;
    (committed, start.elapsed())
}

/// Messages per second from the first send to the last `Delivered`.
async fn throughput(
    ada: &Node,
    events: &mut mpsc::Receiver<NodeEvent>,
    body: &str,
    settings: &Settings,
) -> (f64, Duration, u64) {
    let count = settings.messages;
    let dropped_before = ada.dropped_events();
    let started = Instant::now();
    let sender = {
        let ada = ada.clone();
        let body = body.to_owned();
        let window = settings.window;
        tokio::spawn(async move {
            let mut inflight = FuturesUnordered::new();
            let mut last = None;
            for _ in 0..count {
                if inflight.len() >= window {
                    let done: Option<Result<SentMessage, NodeError>> = inflight.next().await;
                    done.unwrap().unwrap();
                }
                inflight.push(ada.send_text("bob", &body));
            }
            while let Some(done) = inflight.next().await {
                last = Some(done.unwrap());
            }
            last
        })
    };
    let mut delivered = 0usize;
    let elapsed = loop {
        match tokio::time::timeout(Duration::from_millis(500), events.recv()).await {
            Ok(Some(NodeEvent::StatusChanged {
                status: Status::Delivered,
                ..
            })) => {
                delivered += 1;
                if delivered == count {
                    break started.elapsed();
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("events closed"),
            // Events were dropped (the front end lagged): fall back to the
            // stored status of the newest message. Delivery is in order, so
            // the newest delivered means all delivered.
            Err(_) if ada.dropped_events() > dropped_before => {
                let newest = ada.history("bob", None, 1).await.unwrap();
                if count > 0
                    && sender.is_finished()
                    && newest
                        .first()
                        .is_some_and(|m| m.status == Status::Delivered)
                {
                    break started.elapsed();
                }
            }
            Err(_) => {}
        }
    };
    let _ = sender.await.unwrap();
    (
        count as f64 / elapsed.as_secs_f64(),
        elapsed,
        ada.dropped_events() - dropped_before,
    )
}

/// One durable redb commit of one 100-byte value.
fn durable_commit(db: &redb::Database, key: u64) -> Duration {
    let value = [0xAB; BODY_BYTES];
    let start = Instant::now();
    let tx = db.begin_write().unwrap();
    {
        let mut table = tx.open_table(COMMIT_TABLE).unwrap();
        table.insert(key, &value[..]).unwrap();
    }
    tx.commit().unwrap();
    start.elapsed()
}

/// Two established session books; Ada keeps sending to Bob, so no message
/// carries a DH ratchet step (as in a burst of texts).
struct RatchetPair {
    ada: SessionBook,
    bob: SessionBook,
    plaintext: Vec<u8>,
}

impl RatchetPair {
    fn new() -> Self {
        let mut rng = rand::rng();
        let ada_key = IdentityKeyPair::generate(&mut rng);
        let bob_key = IdentityKeyPair::generate(&mut rng);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let signed = SignedPrekeyPair::generate(&bob_key, 1, now, &mut rng);
        let bundle = PrekeyBundle::new(*bob_key.public(), *signed.public(), None)
            .verify()
            .unwrap();
        let mut ada = SessionBook::new(*bob_key.public());
        ada.initiate(&ada_key, &bundle, &mut rng).unwrap();
        let OutboundMessage::Prekey(first) = ada.encrypt(b"hello", &mut rng).unwrap() else {
            panic!("a new session starts with a prekey message");
        };
        let mut bob = SessionBook::new(*ada_key.public());
        bob.receive_prekey(
            &bob_key,
            Some(&signed),
            None,
            &PrekeyMessage::parse(&first).unwrap(),
        )
        .unwrap();
        let reply = bob.encrypt(b"hi", &mut rng).unwrap();
        ada.decrypt(reply.bytes()).unwrap();
        // Ada's next message starts her new sending chain (a DH step); the
        // measured ones after it do not.
        let next = ada.encrypt(b"past the prekey phase", &mut rng).unwrap();
        assert!(matches!(next, OutboundMessage::Normal(_)));
        bob.decrypt(next.bytes()).unwrap();
        Self {
            ada,
            bob,
            plaintext: vec![0x61; BODY_BYTES],
        }
    }

    /// The mean time of one encrypt + decrypt over `n` messages.
    fn per_message(&mut self, n: usize) -> Duration {
        let mut rng = rand::rng();
        let start = Instant::now();
        for _ in 0..n {
            let wire = self.ada.encrypt(&self.plaintext, &mut rng).unwrap();
            let plain = self.bob.decrypt(wire.bytes()).unwrap();
            std::hint::black_box(plain);
        }
        start.elapsed() / u32::try_from(n.max(1)).unwrap()
    }
}

// ---------------------------------------------------------------------------
// The baseline: a bare request-response echo over TCP + Noise + Yamux.

/// How the echo client negotiates each request's stream.
#[derive(Clone, Copy)]
enum Negotiation {
    /// As Wren's nodes do: the request follows the protocol proposal at
    /// once (multistream-select `V1Lazy`). The baseline.
    Lazy,
    /// libp2p's default: wait for the listener to confirm the protocol
    /// first, one more round trip per request. For information.
    RoundTrip,
}

fn echo_swarm(negotiation: Negotiation) -> Swarm<request_response::Behaviour<EchoCodec>> {
    SwarmBuilder::with_existing_identity(libp2p::identity::Keypair::generate_ed25519())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| {
            request_response::Behaviour::with_codec(
                EchoCodec,
                [(StreamProtocol::new("/bench/echo/1"), ProtocolSupport::Full)],
                request_response::Config::default(),
            )
        })
        .unwrap()
        .with_swarm_config(|c| {
            let c = c.with_idle_connection_timeout(Duration::from_secs(600));
            match negotiation {
                Negotiation::Lazy => c.with_substream_upgrade_protocol_override(
                    libp2p::core::upgrade::Version::V1Lazy,
                ),
                Negotiation::RoundTrip => c,
            }
        })
        .build()
}

async fn echo_round_trips(
    client: &mut Swarm<request_response::Behaviour<EchoCodec>>,
    server: PeerId,
    n: usize,
) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        client
            .behaviour_mut()
            .send_request(&server, vec![0xAB; BODY_BYTES]);
        response(client).await;
        samples.push(start.elapsed());
    }
    samples
}

/// Drives the client's swarm until the response to its request arrives.
async fn response(client: &mut Swarm<request_response::Behaviour<EchoCodec>>) {
    loop {
        match client.select_next_some().await {
            SwarmEvent::Behaviour(request_response::Event::Message {
                message: request_response::Message::Response { .. },
                ..
            }) => return,
            SwarmEvent::Behaviour(request_response::Event::OutboundFailure { error, .. }) => {
                panic!("echo failed: {error}")
            }
            _ => {}
        }
    }
}

/// The floor of send to Delivered on this machine, with no engine at all:
/// a request to the durable echo (its answer waits for a one-value durable
/// commit in the peer process, as a receiver commits before it
/// acknowledges) while this process makes a one-value durable commit of
/// its own (as a sender commits its outbox); timed until both are done.
async fn floor_round_trips(
    client: &mut Swarm<request_response::Behaviour<EchoCodec>>,
    server: PeerId,
    db: &std::sync::Arc<redb::Database>,
    key: &mut u64,
    n: usize,
) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        *key += 1;
        let start = Instant::now();
        client
            .behaviour_mut()
            .send_request(&server, vec![0xAB; BODY_BYTES]);
        let (db, key) = (std::sync::Arc::clone(db), *key);
        let local = tokio::task::spawn_blocking(move || durable_commit(&db, key));
        response(client).await;
        local.await.unwrap();
        samples.push(start.elapsed());
    }
    samples
}

/// Length-prefixed bytes both ways (at most 64 KiB).
#[derive(Clone, Copy, Default)]
struct EchoCodec;

async fn read_prefixed<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Vec<u8>> {
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let len = usize::try_from(u32::from_be_bytes(prefix)).map_err(io::Error::other)?;
    if len > 65_536 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "frame too long"));
    }
    let mut bytes = vec![0u8; len];
    io.read_exact(&mut bytes).await?;
    Ok(bytes)
}

async fn write_prefixed<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(io::Error::other)?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.flush().await
}

impl request_response::Codec for EchoCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_prefixed(io).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_prefixed(io).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_prefixed(io, &request).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_prefixed(io, &response).await
    }
}

// ---------------------------------------------------------------------------
// Report.

/// The `q` quantile (nearest rank) of sorted samples.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() as f64 * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn report(settings: &Settings, samples: &mut Samples, rate: f64, elapsed: Duration) {
    for series in [
        &mut samples.echo,
        &mut samples.echo_v1,
        &mut samples.committed,
        &mut samples.delivered,
        &mut samples.commit,
        &mut samples.ratchet,
        &mut samples.floor,
    ] {
        series.sort();
    }
    let p = |s: &[Duration]| (us(quantile(s, 0.50)), us(quantile(s, 0.99)));
    let (echo50, echo99) = p(&samples.echo);
    let (v1_50, v1_99) = p(&samples.echo_v1);
    let (commit50, commit99) = p(&samples.commit);
    let (ratchet50, _) = p(&samples.ratchet);
    let (sent50, sent99) = p(&samples.committed);
    let (wren50, wren99) = p(&samples.delivered);
    let (floor50, floor99) = p(&samples.floor);
    println!(
        "two processes on 127.0.0.1, TCP + Noise + Yamux, {BODY_BYTES}-byte messages, {} rounds",
        settings.rounds
    );
    println!(
        "  (a) libp2p request-response echo     p50 {echo50:>8.1} µs  p99 {echo99:>8.1} µs  ({} round trips; lazy negotiation, as Wren)",
        samples.echo.len()
    );
    println!(
        "      the same, default negotiation    p50 {v1_50:>8.1} µs  p99 {v1_99:>8.1} µs  ({} round trips; information)",
        samples.echo_v1.len()
    );
    println!("  (b) send_text returned (committed)   p50 {sent50:>8.1} µs  p99 {sent99:>8.1} µs",);
    println!(
        "  (b) send to Delivered                p50 {wren50:>8.1} µs  p99 {wren99:>8.1} µs  ({} messages, one at a time)",
        samples.delivered.len()
    );
    println!(
        "  (e) floor: durable echo ‖ local commit p50 {floor50:>8.1} µs  p99 {floor99:>8.1} µs  ({} round trips; no engine: the echo answers after a one-value durable commit in the peer while this process commits one value)",
        samples.floor.len()
    );
    println!(
        "  (d) durable redb commit (one value)  p50 {commit50:>8.1} µs  p99 {commit99:>8.1} µs  ({} commits)",
        samples.commit.len()
    );
    println!(
        "  (d) ratchet, encrypt + decrypt 100 B median {ratchet50:>5.2} µs  ({} batches of {RATCHET_BATCH})",
        samples.ratchet.len()
    );
    println!(
        "  (c) throughput, one direction        {rate:>8.0} messages/s  ({} messages, first send to last Delivered in {elapsed:.2?}, window {})",
        settings.messages, settings.window
    );
    let target = echo50 + 2.0 * ratchet50 + commit50;
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "target latency: p50 {wren50:.1} µs ≤ echo p50 + 2 × ratchet + one commit = {echo50:.1} + 2 × {ratchet50:.2} + {commit50:.1} = {target:.1} µs: {}",
        verdict(wren50 <= target)
    );
    println!(
        "  (information: Delivered needs two durable commits — the sender's send and the receiver's batch — which share this machine's one disk; echo + 2 × ratchet + 2 × commit = {:.1} µs; Wren / that = {:.2})",
        echo50 + 2.0 * ratchet50 + 2.0 * commit50,
        wren50 / (echo50 + 2.0 * ratchet50 + 2.0 * commit50)
    );
    println!(
        "  (information: the floor (e) is what Delivered costs on this machine with both durable commits and nothing else; target / floor = {:.2}, Wren / floor = {:.2})",
        target / floor50,
        wren50 / floor50
    );
    println!(
        "target throughput: {rate:.0} messages/s ≥ 10 000: {}",
        verdict(rate >= 10_000.0)
    );
}
