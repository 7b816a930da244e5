//! Group fan-out in one process: publish to the last member's delivery,
//! Wren's groups side by side with raw gossipsub in the same run.
//!
//! `cargo bench -p wren-core --bench groups`. For each group size N:
//!
//! - (a) the baseline: N bare libp2p swarms (TCP + Noise + Yamux on
//!   127.0.0.1, gossipsub only) with the same gossipsub configuration as
//!   wren-net's swarm — `Anonymous` authenticity and validation (no
//!   gossipsub signature: Wren's frames carry the sender-key signature
//!   alone), content-hash message ids (`wren_proto::group::group_message_id`),
//!   messages held back until validated (here accepted at once), the same
//!   peer-score parameters and thresholds, default mesh parameters. The
//!   configuration functions of wren-net are private, so they are
//!   replicated below (`gossipsub_behaviour`); keep them in step. Every two
//!   swarms are connected (the topology of N nodes that are all each
//!   other's contacts), all subscribe to one topic, and one publishes 100
//!   bytes; timed until the last of the N − 1 others received it.
//! - (b) Wren: N real nodes (temporary homes, mDNS off, TCP on loopback),
//!   every two of them contacts, one group of all N; the first node calls
//!   `send_text(group, 100 bytes)`; timed until the last of the N − 1
//!   other members emitted `MessageReceived` for it. Also, without
//!   waiting for it, the time until node 0 reported the delivered status
//!   of every other member for the text (their end-to-end delivery
//!   receipts: what a sender sees as "delivered to all").
//!
//! - (c) the floor of (b) on this machine: raw gossipsub as in (a), but
//!   every swarm has a redb database of its own (where Wren's stores are),
//!   the publisher makes a durable one-value commit before it publishes
//!   (as Wren commits a group text before publishing it) and each receiver
//!   counts the message as received only once it made a durable one-value
//!   commit (as a Wren member stores a text before reporting it); the
//!   verdict goes to gossipsub at once, as in (a) and in Wren. What Wren's
//!   "nothing lost" costs at the least, with no engine, encryption or
//!   receipts.
//!
//! Rounds of (a), (b) and (c) alternate, one message at a time, so that all
//! see the same load. Setup (starting nodes, pairing, creating the group) is
//! timed and printed separately.
//!
//! Knobs (environment): `WREN_BENCH_SIZES` (comma-separated group sizes,
//! default `2,10,32`), `WREN_BENCH_ROUNDS` (measured rounds per size, 200),
//! `WREN_BENCH_WARMUP` (unmeasured rounds first, 20), `WREN_BENCH_QUIESCE`
//! (1: each Wren round also waits for its text's delivered statuses, so
//! that the receipts do not load the rounds of (a) and (c) that follow;
//! default 0); for diagnosis only,
//! `WREN_BENCH_STORE_DIR` (where the nodes' stores are created, e.g. a
//! memory file system, to see the cost of everything but the disk).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, Swarm, SwarmBuilder, gossipsub, noise, tcp, yamux};
use tokio::sync::mpsc;
use wren_core::{Node, NodeConfig, NodeEvent, Status, Unlock};
use wren_net::limits::{
    GOSSIP_GOSSIP_THRESHOLD, GOSSIP_GRAYLIST_THRESHOLD, GOSSIP_INVALID_MESSAGE_DECAY,
    GOSSIP_INVALID_MESSAGE_WEIGHT, GOSSIP_PUBLISH_THRESHOLD, MAX_GOSSIP_TRANSMIT_BYTES,
};

const BODY_BYTES: usize = 100;
const RAW_TOPIC: &str = "bench-group";
/// Longest any one wait may take before the bench fails instead of hanging.
const GUARD: Duration = Duration::from_secs(120);
/// Gossipsub's first heartbeat (which builds the mesh) comes 5 s after
/// start; both sides measure with their meshes built.
const MESH_SETTLE: Duration = Duration::from_secs(6);
const COMMIT_TABLE: redb::TableDefinition<'static, u64, &[u8]> =
    redb::TableDefinition::new("bench");

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sizes() -> Vec<usize> {
    std::env::var("WREN_BENCH_SIZES")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|s| s.trim().parse().ok())
                .filter(|n| *n >= 2)
                .collect()
        })
        .unwrap_or_else(|| vec![2, 10, 32])
}

async fn guard<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(GUARD, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// A 100-byte body that names its round (content-hash ids must differ).
fn body(round: u64) -> String {
    let mut text = format!("{round:016} ");
    text.extend(std::iter::repeat_n('x', BODY_BYTES - text.len()));
    text
}

fn round_of(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes.get(..16)?).ok()?.parse().ok()
}

fn main() {
    let rounds = knob("WREN_BENCH_ROUNDS", 200).max(1);
    let warmup = knob("WREN_BENCH_WARMUP", 20);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut results = Vec::new();
    for n in sizes() {
        results.push(runtime.block_on(measure(n, rounds, warmup)));
    }
    report(&results, rounds);
}

// ---------------------------------------------------------------------------
// (a) Raw gossipsub.

/// What the raw swarms report to the bench.
enum RawEvent {
    /// Swarm `index` saw a peer subscribe to the topic.
    Subscribed(usize),
    /// A swarm received the message of `round`.
    Received(u64),
}

enum RawCommand {
    Dial(Multiaddr),
    Publish(Vec<u8>),
}

struct RawNode {
    commands: mpsc::UnboundedSender<RawCommand>,
    addr: Multiaddr,
}

/// Gossipsub as wren-net configures it (its `gossipsub_behaviour`,
/// `peer_score_params`, `peer_score_thresholds`, `topic_score_params`).
fn gossipsub_behaviour() -> gossipsub::Behaviour {
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|message| {
            gossipsub::MessageId::new(&wren_proto::group::group_message_id(&message.data))
        })
        .max_transmit_size(MAX_GOSSIP_TRANSMIT_BYTES)
        .build()
        .unwrap();
    let mut behaviour =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config).unwrap();
    let mut params = gossipsub::PeerScoreParams::default();
    params
        .ip_colocation_factor_whitelist
        .insert(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    params
        .ip_colocation_factor_whitelist
        .insert(std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST));
    let thresholds = gossipsub::PeerScoreThresholds {
        gossip_threshold: GOSSIP_GOSSIP_THRESHOLD,
        publish_threshold: GOSSIP_PUBLISH_THRESHOLD,
        graylist_threshold: GOSSIP_GRAYLIST_THRESHOLD,
        ..gossipsub::PeerScoreThresholds::default()
    };
    behaviour.with_peer_score(params, thresholds).unwrap();
    behaviour
}

fn topic_score_params() -> gossipsub::TopicScoreParams {
    gossipsub::TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 100.0,
        first_message_deliveries_weight: 0.1,
        first_message_deliveries_cap: 100.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: GOSSIP_INVALID_MESSAGE_WEIGHT,
        invalid_message_deliveries_decay: GOSSIP_INVALID_MESSAGE_DECAY,
        ..gossipsub::TopicScoreParams::default()
    }
}

fn raw_swarm() -> Swarm<gossipsub::Behaviour> {
    SwarmBuilder::with_existing_identity(libp2p::identity::Keypair::generate_ed25519())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| gossipsub_behaviour())
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3_600)))
        .build()
}

/// Starts a raw swarm subscribed to the topic, in its own task.
/// A durable one-value commit (the floor series).
fn durable_commit(db: &redb::Database, key: u64) {
    let tx = db.begin_write().unwrap();
    {
        let mut table = tx.open_table(COMMIT_TABLE).unwrap();
        table.insert(key, &[0xAB; BODY_BYTES][..]).unwrap();
    }
    tx.commit().unwrap();
}

/// A temporary directory where the nodes' stores go.
fn store_dir() -> tempfile::TempDir {
    match std::env::var_os("WREN_BENCH_STORE_DIR") {
        Some(parent) => tempfile::tempdir_in(parent).unwrap(),
        None => tempfile::tempdir().unwrap(),
    }
}

/// A raw swarm; with `durable`, it commits each received message to that
/// database before reporting it (the floor series).
async fn spawn_raw(
    index: usize,
    events: mpsc::UnboundedSender<RawEvent>,
    durable: Option<Arc<redb::Database>>,
) -> RawNode {
    let mut swarm = raw_swarm();
    let topic = gossipsub::IdentTopic::new(RAW_TOPIC);
    swarm
        .behaviour_mut()
        .set_topic_params(topic.clone(), topic_score_params())
        .unwrap();
    swarm.behaviour_mut().subscribe(&topic).unwrap();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    let addr = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            break address;
        }
    };
    let (commands, mut inbox) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                command = inbox.recv() => match command {
                    Some(RawCommand::Dial(addr)) => swarm.dial(addr).unwrap(),
                    Some(RawCommand::Publish(data)) => {
                        swarm.behaviour_mut().publish(topic.clone(), data).unwrap();
                    }
                    None => break,
                },
                event = swarm.select_next_some() => match event {
                    SwarmEvent::Behaviour(gossipsub::Event::Message {
                        propagation_source,
                        message_id,
                        message,
                    }) => {
                        // Validated at once: the baseline does no work per
                        // message beyond gossipsub's own.
                        let _ = swarm.behaviour_mut().report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            gossipsub::MessageAcceptance::Accept,
                        );
                        if let Some(round) = round_of(&message.data) {
                            match &durable {
                                None => {
                                    let _ = events.send(RawEvent::Received(round));
                                }
                                Some(db) => {
                                    let (db, events) = (Arc::clone(db), events.clone());
                                    tokio::task::spawn_blocking(move || {
                                        durable_commit(&db, round);
                                        let _ = events.send(RawEvent::Received(round));
                                    });
                                }
                            }
                        }
                    }
                    SwarmEvent::Behaviour(gossipsub::Event::Subscribed { .. }) => {
                        let _ = events.send(RawEvent::Subscribed(index));
                    }
                    _ => {}
                },
            }
        }
    });
    RawNode { commands, addr }
}

struct RawGroup {
    nodes: Vec<RawNode>,
    events: mpsc::UnboundedReceiver<RawEvent>,
    /// The publisher's database, for the floor series.
    durable: Option<Arc<redb::Database>>,
    _dirs: Vec<tempfile::TempDir>,
}

/// N raw swarms; `durable`: each with a database (the floor series).
async fn raw_group(n: usize, durable: bool) -> RawGroup {
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut nodes = Vec::new();
    let mut dirs = Vec::new();
    let mut publisher = None;
    for index in 0..n {
        let db = durable.then(|| {
            let dir = store_dir();
            let db = Arc::new(redb::Database::create(dir.path().join("floor.redb")).unwrap());
            dirs.push(dir);
            db
        });
        if index == 0 {
            publisher.clone_from(&db);
        }
        nodes.push(spawn_raw(index, tx.clone(), db).await);
    }
    for i in 0..n {
        for j in (i + 1)..n {
            nodes[i]
                .commands
                .send(RawCommand::Dial(nodes[j].addr.clone()))
                .unwrap();
        }
    }
    // Every swarm sees the N − 1 others subscribed.
    let mut seen = vec![0usize; n];
    guard("raw subscriptions", async {
        while seen.iter().any(|s| *s < n - 1) {
            if let Some(RawEvent::Subscribed(i)) = events.recv().await {
                seen[i] += 1;
            }
        }
    })
    .await;
    RawGroup {
        nodes,
        events,
        durable: publisher,
        _dirs: dirs,
    }
}

impl RawGroup {
    /// One message from swarm 0 until the last other swarm received it.
    async fn round(&mut self, round: u64) -> Duration {
        let n = self.nodes.len();
        let start = Instant::now();
        if let Some(db) = &self.durable {
            let db = Arc::clone(db);
            tokio::task::spawn_blocking(move || durable_commit(&db, round))
                .await
                .unwrap();
        }
        self.nodes[0]
            .commands
            .send(RawCommand::Publish(body(round).into_bytes()))
            .unwrap();
        let mut got = 0;
        guard("a raw delivery", async {
            while got < n - 1 {
                match self.events.recv().await {
                    Some(RawEvent::Received(r)) if r == round => got += 1,
                    Some(_) => {}
                    None => panic!("raw swarms stopped"),
                }
            }
        })
        .await;
        start.elapsed()
    }
}

// ---------------------------------------------------------------------------
// (b) Wren.

/// What the Wren nodes' event tasks report to the bench.
enum WrenEvent {
    /// Node `index` learnt that a contact accepted its request.
    Accepted,
    /// Node `index` joined the group.
    Joined,
    /// Node `index` received the group text of `round`.
    Received(u64),
    /// Node `index` saw one member's delivered status for its message `id`,
    /// at this instant.
    Delivered(String, Instant),
}

/// A text of node 0 whose members' delivered statuses are being counted.
struct Counting {
    sent: Instant,
    missing: usize,
    /// A measured text (its time joins `all_delivered`).
    measured: bool,
}

struct WrenGroup {
    nodes: Vec<Node>,
    group: String,
    events: mpsc::UnboundedReceiver<(usize, WrenEvent)>,
    _dirs: Vec<tempfile::TempDir>,
    setup: Setup,
    /// Node 0's texts still missing delivered statuses, by message id.
    counting: HashMap<String, Counting>,
    /// Send to the last member's delivered status, per measured text.
    all_delivered: Vec<Duration>,
    /// Each round waits for its text's delivered statuses before it ends
    /// (`WREN_BENCH_QUIESCE=1`).
    quiesce: bool,
}

#[derive(Clone, Copy, Default)]
struct Setup {
    start: Duration,
    pair: Duration,
    group: Duration,
}

fn alias(index: usize) -> String {
    format!("m{index}")
}

async fn wren_group(n: usize) -> WrenGroup {
    let started = Instant::now();
    let mut dirs = Vec::new();
    let mut nodes = Vec::new();
    let mut streams = Vec::new();
    for index in 0..n {
        let dir = store_dir();
        Node::init(dir.path(), &alias(index), Unlock::KeyFile)
            .await
            .unwrap();
        let mut config = NodeConfig::new(dir.path());
        config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
        config.mdns = false;
        let (node, mut events) = Node::open(config).await.unwrap();
        guard("a node to listen", async {
            loop {
                if let Some(NodeEvent::Listening { .. }) = events.recv().await {
                    break;
                }
            }
        })
        .await;
        dirs.push(dir);
        nodes.push(node);
        streams.push(events);
    }
    let mut index_of = HashMap::new();
    let mut codes = Vec::new();
    for (index, node) in nodes.iter().enumerate() {
        index_of.insert(node.identity().await.peer_id, index);
        codes.push(node.pairing_code().await.unwrap());
    }
    let start = started.elapsed();

    // One task per node drains its events: accepts contact requests (under
    // the requester's alias) and reports what the bench waits for.
    let (tx, events) = mpsc::unbounded_channel();
    for (index, mut stream) in streams.into_iter().enumerate() {
        let (node, tx, index_of) = (nodes[index].clone(), tx.clone(), index_of.clone());
        tokio::spawn(async move {
            while let Some(event) = stream.recv().await {
                let report = match event {
                    NodeEvent::ContactRequest { from, .. } => {
                        let node = node.clone();
                        let name = alias(index_of[&from]);
                        tokio::spawn(async move {
                            node.accept_with_alias(&from, Some(name)).await.unwrap();
                        });
                        None
                    }
                    NodeEvent::ContactAccepted { .. } => Some(WrenEvent::Accepted),
                    NodeEvent::GroupJoined { .. } => Some(WrenEvent::Joined),
                    NodeEvent::MessageReceived {
                        text,
                        group: Some(_),
                        ..
                    } => round_of(text.as_bytes()).map(WrenEvent::Received),
                    NodeEvent::StatusChanged {
                        id,
                        status: Status::Delivered,
                        group: Some(_),
                        ..
                    } => Some(WrenEvent::Delivered(id, Instant::now())),
                    _ => None,
                };
                if let Some(report) = report {
                    let _ = tx.send((index, report));
                }
            }
        });
    }
    let mut group = WrenGroup {
        nodes,
        group: String::new(),
        events,
        _dirs: dirs,
        setup: Setup {
            start,
            ..Setup::default()
        },
        counting: HashMap::new(),
        all_delivered: Vec::new(),
        quiesce: knob("WREN_BENCH_QUIESCE", 0) != 0,
    };

    // Pairing: node i adds every j > i, one after the other; all nodes at
    // once.
    let paired = Instant::now();
    for i in 0..n {
        let node = group.nodes[i].clone();
        let codes: Vec<(usize, String)> = ((i + 1)..n).map(|j| (j, codes[j].clone())).collect();
        tokio::spawn(async move {
            for (j, code) in codes {
                node.add_contact(&code, Some(alias(j))).await.unwrap();
            }
        });
    }
    let pairs = n * (n - 1) / 2;
    let mut accepted = 0;
    guard("pairing", async {
        while accepted < pairs {
            if let Some((_, WrenEvent::Accepted)) = group.events.recv().await {
                accepted += 1;
            }
        }
    })
    .await;
    group.setup.pair = paired.elapsed();

    let created = Instant::now();
    let members: Vec<String> = (1..n).map(alias).collect();
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    let info = group.nodes[0]
        .create_group("bench", &members, false)
        .await
        .unwrap();
    group.group = info.id;
    let mut joined = 0;
    guard("members to join", async {
        while joined < n - 1 {
            if let Some((_, WrenEvent::Joined)) = group.events.recv().await {
                joined += 1;
            }
        }
    })
    .await;
    group.setup.group = created.elapsed();
    group
}

impl WrenGroup {
    /// One text from node 0 until the last other member received it. Its
    /// delivered statuses are counted from then on, as they come (a
    /// `measured` text's time to the last one joins `all_delivered`); with
    /// `quiesce`, the round waits for them before it returns (the sample
    /// is still the time to the last reception).
    async fn round(&mut self, round: u64, measured: bool) -> Duration {
        let n = self.nodes.len();
        let start = Instant::now();
        let sent = self.nodes[0]
            .send_text(&self.group, &body(round))
            .await
            .unwrap();
        let id = sent.id;
        self.counting.insert(
            id.clone(),
            Counting {
                sent: start,
                missing: n - 1,
                measured,
            },
        );
        let mut got = 0;
        guard("a group delivery", async {
            while got < n - 1 {
                match self.events.recv().await {
                    Some((_, WrenEvent::Received(r))) if r == round => got += 1,
                    Some((0, WrenEvent::Delivered(id, at))) => self.delivered(&id, at),
                    Some(_) => {}
                    None => panic!("nodes stopped"),
                }
            }
        })
        .await;
        let sample = start.elapsed();
        if self.quiesce {
            guard("the delivered statuses of a round", async {
                while self.counting.contains_key(&id) {
                    match self.events.recv().await {
                        Some((0, WrenEvent::Delivered(id, at))) => self.delivered(&id, at),
                        Some(_) => {}
                        None => panic!("nodes stopped"),
                    }
                }
            })
            .await;
        }
        sample
    }

    /// Counts one member's delivered status for node 0's text `id`.
    fn delivered(&mut self, id: &str, at: Instant) {
        if let Some(counting) = self.counting.get_mut(id) {
            counting.missing -= 1;
            if counting.missing == 0 {
                if counting.measured {
                    self.all_delivered.push(at - counting.sent);
                }
                self.counting.remove(id);
            }
        }
    }

    /// Waits for the delivered statuses still missing.
    async fn finish_counting(&mut self) {
        guard("the last delivered statuses", async {
            while !self.counting.is_empty() {
                match self.events.recv().await {
                    Some((0, WrenEvent::Delivered(id, at))) => self.delivered(&id, at),
                    Some(_) => {}
                    None => panic!("nodes stopped"),
                }
            }
        })
        .await;
    }

    async fn shutdown(self) {
        for node in &self.nodes {
            let _ = node.shutdown().await;
        }
    }
}

// ---------------------------------------------------------------------------
// Measurement and report.

struct SizeResult {
    n: usize,
    setup: Setup,
    raw: Vec<Duration>,
    wren: Vec<Duration>,
    floor: Vec<Duration>,
    /// Send to node 0's last delivered status (Wren only).
    all_delivered: Vec<Duration>,
}

async fn measure(n: usize, rounds: usize, warmup: usize) -> SizeResult {
    println!("N = {n}: setting up …");
    let mut wren = wren_group(n).await;
    let setup = wren.setup;
    println!(
        "  Wren setup: start {:.2?}, pairing {} pairs {:.2?}, group created and joined {:.2?}",
        setup.start,
        n * (n - 1) / 2,
        setup.pair,
        setup.group
    );
    let mut raw = raw_group(n, false).await;
    let mut floor = raw_group(n, true).await;
    tokio::time::sleep(MESH_SETTLE).await;
    let mut round = 0u64;
    for _ in 0..warmup {
        round += 1;
        raw.round(round).await;
        wren.round(round, false).await;
        floor.round(round).await;
    }
    let mut result = SizeResult {
        n,
        setup,
        raw: Vec::with_capacity(rounds),
        wren: Vec::with_capacity(rounds),
        floor: Vec::with_capacity(rounds),
        all_delivered: Vec::new(),
    };
    for i in 0..rounds {
        round += 1;
        // Rotate which series goes first.
        match i % 3 {
            0 => {
                result.raw.push(raw.round(round).await);
                result.wren.push(wren.round(round, true).await);
                result.floor.push(floor.round(round).await);
            }
            1 => {
                result.wren.push(wren.round(round, true).await);
                result.floor.push(floor.round(round).await);
                result.raw.push(raw.round(round).await);
            }
            _ => {
                result.floor.push(floor.round(round).await);
                result.raw.push(raw.round(round).await);
                result.wren.push(wren.round(round, true).await);
            }
        }
    }
    wren.finish_counting().await;
    result.all_delivered = std::mem::take(&mut wren.all_delivered);
    wren.shutdown().await;
    drop(raw);
    drop(floor);
    result
}

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

fn report(results: &[SizeResult], rounds: usize) {
    println!();
    println!(
        "publish → last member received, one process, TCP + Noise + Yamux on 127.0.0.1, \
         {BODY_BYTES}-byte messages, {rounds} interleaved rounds per size"
    );
    println!(
        "{:>4} | {:>12} {:>12} | {:>12} {:>12} | {:>9} {:>9} | target ≤ 1.2× (p50)",
        "N", "raw p50 µs", "raw p99 µs", "Wren p50 µs", "Wren p99 µs", "p50 ratio", "p99 ratio"
    );
    for result in results {
        let (mut raw, mut wren) = (result.raw.clone(), result.wren.clone());
        raw.sort();
        wren.sort();
        let (r50, r99) = (us(quantile(&raw, 0.5)), us(quantile(&raw, 0.99)));
        let (w50, w99) = (us(quantile(&wren, 0.5)), us(quantile(&wren, 0.99)));
        let ratio = w50 / r50;
        println!(
            "{:>4} | {r50:>12.1} {r99:>12.1} | {w50:>12.1} {w99:>12.1} | {ratio:>9.2} {:>9.2} | {}",
            result.n,
            w99 / r99,
            if ratio <= 1.2 { "met" } else { "NOT met" }
        );
    }
    println!();
    println!(
        "(c) the floor: raw gossipsub whose publisher commits before publishing and whose \
         receivers commit before counting a message (one durable one-value commit each, \
         one database per swarm)"
    );
    println!(
        "{:>4} | {:>12} {:>12} | Wren / floor p50 (p99)",
        "N", "floor p50 µs", "floor p99 µs"
    );
    for result in results {
        let (mut floor, mut wren) = (result.floor.clone(), result.wren.clone());
        floor.sort();
        wren.sort();
        let (f50, f99) = (us(quantile(&floor, 0.5)), us(quantile(&floor, 0.99)));
        let (w50, w99) = (us(quantile(&wren, 0.5)), us(quantile(&wren, 0.99)));
        println!(
            "{:>4} | {f50:>12.1} {f99:>12.1} | {:.2} ({:.2})",
            result.n,
            w50 / f50,
            w99 / f99
        );
    }
    println!();
    println!(
        "Wren, send → the sender saw every member's delivered status (their end-to-end \
         delivery receipts, committed)"
    );
    println!("{:>4} | {:>12} {:>12}", "N", "p50 µs", "p99 µs");
    for result in results {
        let mut all = result.all_delivered.clone();
        all.sort();
        println!(
            "{:>4} | {:>12.1} {:>12.1}",
            result.n,
            us(quantile(&all, 0.5)),
            us(quantile(&all, 0.99))
        );
    }
    for result in results {
        println!(
            "setup N = {}: nodes started {:.2?}, {} pairings (in parallel) {:.2?}, group created and joined {:.2?}",
            result.n,
            result.setup.start,
            result.n * (result.n - 1) / 2,
            result.setup.pair,
            result.setup.group
        );
    }
}
