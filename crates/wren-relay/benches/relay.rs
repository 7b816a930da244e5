//! Relay benchmarks, each with its baseline measured side by side in the
//! same run (figures and commands in docs/benchmarks.md, "Relay").
//!
//! 1. **Store and drain.** 10 000 envelopes of 100 bytes are deposited for
//!    an offline peer (requests of 256, as a sender's outbox would), then
//!    the peer connects and drains its mailbox (pages of 256, one ack at
//!    the end). Baseline, in alternating rounds: raw redb writes of the
//!    same envelopes (one durable commit per 256, in this process) plus a
//!    raw request-response transfer of the same bytes both ways, to a
//!    server process that answers at once without storing anything.
//!    Targets: relay ≤ 1.3 × baseline; drain ≤ 1 s per 1 000 messages.
//! 2. **Capacity.** 5 000 clients, each a raw TCP + Noise + Yamux
//!    connection with its own Ed25519 key, connect to the relay from this
//!    process over loopback and stay idle. Reported: accept rate, the
//!    relay's RSS per connection, and a mailbox round trip while they are
//!    all connected.
//!
//! `WREN_RELAY_BENCH=drain|capacity` runs one part; `WREN_RELAY_BENCH_ROUNDS`
//! (default 5) sets the store-and-drain rounds; `WREN_RELAY_BENCH_CLIENTS`
//! (default 5 000) the idle clients.

#![allow(
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Stdio;
use std::task::Poll;
use std::time::{Duration, Instant};

use common::{Client, RelayProcess, config, envelopes, init};
use futures::StreamExt;
use libp2p::core::muxing::StreamMuxerExt;
use libp2p::core::transport::{DialOpts, PortUse};
use libp2p::core::{Endpoint, upgrade};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, SwarmBuilder, Transport, noise, tcp, yamux};
use tokio::io::{AsyncBufReadExt, BufReader};
use wren_net::mailbox::{
    self, DepositOutcome, MailboxCodec, MailboxRequest, MailboxResponse, StoredItem,
};

const MESSAGES: usize = 10_000;
const ENVELOPE_BYTES: usize = 100;
const BATCH: usize = 256;
const ROLE_ENV: &str = "WREN_RELAY_BENCH_ROLE";

fn main() {
    if std::env::var(ROLE_ENV).as_deref() == Ok("raw-server") {
        return raw_server();
    }
    // `cargo bench` passes `--bench`; there is nothing to filter.
    raise_nofile();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let which = std::env::var("WREN_RELAY_BENCH").unwrap_or_default();
    runtime.block_on(async {
        if which.is_empty() || which == "drain" {
            store_and_drain().await;
        }
        if which.is_empty() || which == "capacity" {
            capacity().await;
        }
    });
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Raises the soft open-file limit to the hard limit (5 000 connections
/// need as many descriptors here and in the relay, which inherits it).
fn raise_nofile() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
    if let Ok((soft, _)) = getrlimit(Resource::RLIMIT_NOFILE) {
        println!("RLIMIT_NOFILE {soft}");
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn bench_config(extra_network: &str) -> String {
    format!(
        "[network]\n{extra_network}\n\n{}",
        config(
            None,
            "open",
            "max_messages_per_mailbox = 100000\ndeposit_rate_per_sec = 1000000\ndeposit_burst = 1000000",
        )
    )
}

// ---- 1. store and drain ---------------------------------------------------

async fn store_and_drain() {
    let rounds = env_usize("WREN_RELAY_BENCH_ROUNDS", 5);
    println!(
        "\n== store and drain: {MESSAGES} envelopes of {ENVELOPE_BYTES} B, requests of {BATCH}, {rounds} rounds =="
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("relay");
    init(&dir, None).await;
    let relay = RelayProcess::start(&dir, &bench_config("")).await;
    let raw = RawServer::start().await;
    let sent = envelopes(MESSAGES, ENVELOPE_BYTES, 0);
    let raw_dir = tempfile::tempdir().unwrap();
    let raw_db = redb::Database::create(raw_dir.path().join("raw.redb")).unwrap();
    let mut raw_seq = 0u64;

    let mut rows: Vec<Round> = Vec::new();
    // Round 0 warms both sides up (files grown, code paths hot) and is not
    // counted.
    for round in 0..=rounds {
        let r = one_round(&relay, &raw, &raw_db, &mut raw_seq, &sent).await;
        let label = if round == 0 {
            "warm-up".to_owned()
        } else {
            format!("round {round}")
        };
        println!(
            "{label}: relay store {:.1} ms + drain {:.1} ms = {:.1} ms | raw redb {:.1} ms + rr up {:.1} ms + rr down {:.1} ms = {:.1} ms | ratio {:.3}",
            r.store * 1e3,
            r.drain * 1e3,
            r.relay() * 1e3,
            r.db * 1e3,
            r.up * 1e3,
            r.down * 1e3,
            r.base() * 1e3,
            r.relay() / r.base()
        );
        if round > 0 {
            rows.push(r);
        }
    }
    let med = |f: &dyn Fn(&Round) -> f64| median(&mut rows.iter().map(f).collect::<Vec<_>>());
    let ratio = med(&|r| r.relay() / r.base());
    let mut ratios: Vec<f64> = rows.iter().map(|r| r.relay() / r.base()).collect();
    ratios.sort_by(|a, b| a.total_cmp(b));
    let drain_per_1000 = med(&|r| r.drain) * 1_000.0 / MESSAGES as f64;
    println!(
        "median: relay store {:.1} ms, drain {:.1} ms, total {:.1} ms; raw redb {:.1} ms, rr up {:.1} ms, rr down {:.1} ms, total {:.1} ms",
        med(&|r| r.store) * 1e3,
        med(&|r| r.drain) * 1e3,
        med(&|r| r.relay()) * 1e3,
        med(&|r| r.db) * 1e3,
        med(&|r| r.up) * 1e3,
        med(&|r| r.down) * 1e3,
        med(&|r| r.base()) * 1e3,
    );
    println!(
        "median ratio relay/baseline {ratio:.3} (range {:.3}–{:.3}; target ≤ 1.3: {})",
        ratios.first().copied().unwrap_or_default(),
        ratios.last().copied().unwrap_or_default(),
        if ratio <= 1.3 { "pass" } else { "FAIL" }
    );
    println!(
        "drain per 1 000 messages {:.1} ms (target ≤ 1 000 ms: {})",
        drain_per_1000 * 1e3,
        if drain_per_1000 <= 1.0 {
            "pass"
        } else {
            "FAIL"
        }
    );
    relay.terminate().await;
    raw.stop().await;
}

/// One round's times, in seconds.
struct Round {
    store: f64,
    drain: f64,
    db: f64,
    up: f64,
    down: f64,
}

impl Round {
    fn relay(&self) -> f64 {
        self.store + self.drain
    }
    fn base(&self) -> f64 {
        self.db + self.up + self.down
    }
}

/// One round, the two sides interleaved operation by operation so that both
/// see the same machine (the disk's fsync time here is bimodal, and other
/// builds come and go): each deposit request to the relay is followed by
/// the raw redb commit and the raw transfer of the same envelopes; each
/// page fetched from the relay by a raw page of the same size.
async fn one_round(
    relay: &RelayProcess,
    raw: &RawServer,
    raw_db: &redb::Database,
    raw_seq: &mut u64,
    sent: &[Vec<u8>],
) -> Round {
    let mut r = Round {
        store: 0.0,
        drain: 0.0,
        db: 0.0,
        up: 0.0,
        down: 0.0,
    };
    let recipient_key = Keypair::generate_ed25519();
    let recipient_id = recipient_key.public().to_peer_id();
    // Senders connect first (untimed): connection set-up is not storage.
    let mut sender = Client::new();
    let mut raw_sender = Client::new();
    let nobody = PeerId::random();
    deposit(&mut sender, &relay.peer_id, &relay.addr, nobody, &sent[..1]).await;
    deposit(&mut raw_sender, &raw.peer_id, &raw.addr, nobody, &sent[..1]).await;
    for chunk in sent.chunks(BATCH) {
        let t = Instant::now();
        deposit(
            &mut sender,
            &relay.peer_id,
            &relay.addr,
            recipient_id,
            chunk,
        )
        .await;
        r.store += t.elapsed().as_secs_f64();
        let t = Instant::now();
        raw_redb_writes(raw_db, raw_seq, chunk);
        r.db += t.elapsed().as_secs_f64();
        let t = Instant::now();
        deposit(
            &mut raw_sender,
            &raw.peer_id,
            &raw.addr,
            recipient_id,
            chunk,
        )
        .await;
        r.up += t.elapsed().as_secs_f64();
    }
    raw_redb_clear(raw_db);

    // The recipient comes online (a new connection: timed) and drains.
    let mut recipient = Client::with_key(recipient_key);
    let mut raw_fetcher = Client::new();
    let (mut items, mut raw_items) = (Vec::new(), Vec::new());
    let (mut after, mut raw_after) = (0, 0);
    let (mut done, mut raw_done) = (false, false);
    while !done || !raw_done {
        if !done {
            let t = Instant::now();
            let (page, more) = fetch(&mut recipient, &relay.peer_id, &relay.addr, after).await;
            r.drain += t.elapsed().as_secs_f64();
            after = page.last().map_or(after, |i| i.seq);
            items.extend(page);
            done = !more;
        }
        if !raw_done {
            let t = Instant::now();
            let (page, more) = fetch(&mut raw_fetcher, &raw.peer_id, &raw.addr, raw_after).await;
            r.down += t.elapsed().as_secs_f64();
            raw_after = page.last().map_or(raw_after, |i| i.seq);
            raw_items.extend(page);
            raw_done = !more;
        }
    }
    let t = Instant::now();
    ack(&mut recipient, &relay.peer_id, &relay.addr, after).await;
    r.drain += t.elapsed().as_secs_f64();
    let t = Instant::now();
    ack(&mut raw_fetcher, &raw.peer_id, &raw.addr, raw_after).await;
    r.down += t.elapsed().as_secs_f64();
    assert_eq!(items.len(), MESSAGES);
    assert!(items.iter().zip(sent).all(|(i, s)| &i.envelope == s));
    assert_eq!(raw_items.len(), MESSAGES);
    r
}

async fn deposit(
    client: &mut Client,
    peer: &PeerId,
    addr: &Multiaddr,
    recipient: PeerId,
    chunk: &[Vec<u8>],
) {
    let response = client
        .call_at(
            *peer,
            addr,
            MailboxRequest::Deposit {
                recipient,
                envelopes: chunk.to_vec(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        response,
        MailboxResponse::Deposited(vec![DepositOutcome::Stored; chunk.len()])
    );
}

/// Fetches one page of up to 256 items after `after`.
async fn fetch(
    client: &mut Client,
    peer: &PeerId,
    addr: &Multiaddr,
    after: u64,
) -> (Vec<StoredItem>, bool) {
    let response = client
        .call_at(
            *peer,
            addr,
            MailboxRequest::Fetch {
                after,
                limit: BATCH as u16,
            },
        )
        .await
        .unwrap();
    match response {
        MailboxResponse::Page { items, more } => (items, more),
        other => panic!("fetch answered {other:?}"),
    }
}

/// Acknowledges everything up to `up_to`.
async fn ack(client: &mut Client, peer: &PeerId, addr: &Multiaddr, up_to: u64) {
    let response = client
        .call_at(*peer, addr, MailboxRequest::Ack { up_to })
        .await
        .unwrap();
    assert!(matches!(response, MailboxResponse::Acked { .. }));
}

const RAW_TABLE: redb::TableDefinition<'static, u64, &[u8]> = redb::TableDefinition::new("raw");

/// The baseline's storage: the same envelopes into a redb file that, like
/// the relay's, already exists and has been used, one durable commit per
/// 256.
fn raw_redb_writes(db: &redb::Database, seq: &mut u64, sent: &[Vec<u8>]) {
    for chunk in sent.chunks(BATCH) {
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(RAW_TABLE).unwrap();
            for envelope in chunk {
                *seq += 1;
                table.insert(*seq, envelope.as_slice()).unwrap();
            }
        }
        txn.commit().unwrap();
    }
}

/// Empties the baseline's table (untimed), as the relay's acks empty its
/// mailbox, so both files keep their size from round to round.
fn raw_redb_clear(db: &redb::Database) {
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(RAW_TABLE).unwrap();
        table.retain(|_, _| false).unwrap();
    }
    txn.commit().unwrap();
}

/// The baseline's transfer partner: this benchmark binary re-executed as a
/// `/wren/mailbox/1` server that stores nothing. Deposits are answered
/// "stored" at once; fetches get pages of synthetic 100-byte items until
/// 10 000 were served since the last ack.
struct RawServer {
    child: tokio::process::Child,
    peer_id: PeerId,
    addr: Multiaddr,
}

impl RawServer {
    async fn start() -> Self {
        let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .env(ROLE_ENV, "raw-server")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(common::WAIT, lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let addr: Multiaddr = line.strip_prefix("listening ").unwrap().parse().unwrap();
        let peer_id = match addr.iter().last() {
            Some(libp2p::multiaddr::Protocol::P2p(peer)) => peer,
            _ => panic!("no peer id in {addr}"),
        };
        Self {
            child,
            peer_id,
            addr,
        }
    }

    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

fn raw_server() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut swarm = SwarmBuilder::with_new_identity()
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .unwrap()
            .with_behaviour(|_| {
                request_response::Behaviour::with_codec(
                    MailboxCodec,
                    [(mailbox::PROTOCOL, ProtocolSupport::Inbound)],
                    request_response::Config::default(),
                )
            })
            .unwrap()
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
            .build();
        swarm
            .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .unwrap();
        let me = *swarm.local_peer_id();
        let template = vec![7u8; ENVELOPE_BYTES];
        let mut served = 0usize;
        let mut seq = 0u64;
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => {
                    println!(
                        "listening {}",
                        address.with(libp2p::multiaddr::Protocol::P2p(me))
                    );
                }
                SwarmEvent::Behaviour(request_response::Event::Message {
                    message:
                        request_response::Message::Request {
                            request, channel, ..
                        },
                    ..
                }) => {
                    let response = match request {
                        MailboxRequest::Deposit { envelopes, .. } => {
                            MailboxResponse::Deposited(vec![
                                DepositOutcome::Stored;
                                envelopes.len()
                            ])
                        }
                        MailboxRequest::Fetch { limit, .. } => {
                            let n = usize::from(limit).min(MESSAGES - served);
                            served += n;
                            let items = (0..n)
                                .map(|_| {
                                    seq += 1;
                                    StoredItem {
                                        seq,
                                        deposited_at: 1,
                                        depositor: me,
                                        envelope: template.clone(),
                                    }
                                })
                                .collect();
                            MailboxResponse::Page {
                                items,
                                more: served < MESSAGES,
                            }
                        }
                        MailboxRequest::Ack { .. } => {
                            let removed = served as u32;
                            served = 0;
                            MailboxResponse::Acked { removed }
                        }
                        _ => MailboxResponse::Done,
                    };
                    let _ = swarm.behaviour_mut().send_response(channel, response);
                }
                _ => {}
            }
        }
    });
}

// ---- 2. capacity ------------------------------------------------------------

async fn capacity() {
    let clients = env_usize("WREN_RELAY_BENCH_CLIENTS", 5_000);
    println!("\n== capacity: {clients} idle clients (TCP + Noise + Yamux, one key each) ==");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("relay");
    init(&dir, None).await;
    let cfg = bench_config("idle_connection_timeout_secs = 600\nmax_connections = 20000");
    let relay = RelayProcess::start_with(&dir, &cfg, &["--http", "127.0.0.1:0"]).await;
    let pid = relay.child.id().unwrap();
    let http = relay.http.clone().unwrap();

    // A mailbox round trip before, for comparison.
    let mut probe = Client::new();
    let idle_rtt = round_trip(&mut probe, &relay).await;
    let rss_before = rss_kib(pid);

    let mut addr = relay.addr.clone();
    addr.pop(); // the /p2p/ suffix: the raw transport dials the address
    let started = Instant::now();
    let holders: Vec<tokio::task::JoinHandle<()>> = futures::stream::iter(0..clients)
        .map(|_| connect_idle(addr.clone(), relay.peer_id))
        .buffer_unordered(64)
        .collect()
        .await;
    let connect_time = started.elapsed().as_secs_f64();

    // Wait until the relay itself counts them all (its gauge), so the RSS
    // below includes every accepted connection.
    let expected = clients + 1;
    let counted = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let n = gauge(&http, "wren_relay_connections").await;
            if n >= expected as i64 {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .unwrap_or(-1);
    let accepted_time = started.elapsed().as_secs_f64();
    let rss_after = rss_kib(pid);
    let busy_rtt = round_trip(&mut probe, &relay).await;
    let own_rss = rss_kib(std::process::id());
    println!("relay connections gauge: {counted} (expected {expected})");
    println!(
        "all {clients} connected in {:.2} s ({:.0} connections/s; counted by the relay after {:.2} s)",
        connect_time,
        clients as f64 / connect_time,
        accepted_time
    );
    println!(
        "relay RSS {} KiB before, {} KiB with {clients} clients: {:.1} KiB per connection",
        rss_before,
        rss_after,
        (rss_after as f64 - rss_before as f64) / clients as f64
    );
    println!("bench process RSS (the {clients} clients) {own_rss} KiB");
    println!(
        "mailbox round trip (deposit of one 100 B envelope): {:.0} µs idle, {:.0} µs with {clients} clients",
        idle_rtt * 1e6,
        busy_rtt * 1e6
    );
    for h in holders {
        h.abort();
    }
    relay.terminate().await;
}

/// Median of 50 one-envelope deposits.
async fn round_trip(client: &mut Client, relay: &RelayProcess) -> f64 {
    let envelope = envelopes(1, ENVELOPE_BYTES, 0);
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        deposit(
            client,
            &relay.peer_id,
            &relay.addr,
            client.peer_id,
            &envelope,
        )
        .await;
        times.push(t.elapsed().as_secs_f64());
    }
    median(&mut times)
}

/// Dials `addr` with a fresh key over TCP + Noise + Yamux and returns a
/// task that keeps the connection open (answering nothing: inbound streams
/// are dropped).
async fn connect_idle(addr: Multiaddr, relay: PeerId) -> tokio::task::JoinHandle<()> {
    let key = Keypair::generate_ed25519();
    let mut transport = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
        .upgrade(upgrade::Version::V1Lazy)
        .authenticate(noise::Config::new(&key).unwrap())
        .multiplex(yamux::Config::default())
        .boxed();
    let dial = transport
        .dial(
            addr,
            DialOpts {
                role: Endpoint::Dialer,
                port_use: PortUse::New,
            },
        )
        .unwrap();
    let (peer, mut muxer) = dial.await.unwrap();
    assert_eq!(peer, relay);
    tokio::spawn(async move {
        let _transport = transport;
        // Drive the connection; drop whatever the relay opens (identify,
        // ping): an idle client answers nothing.
        futures::future::poll_fn(|cx| {
            loop {
                match muxer.poll_inbound_unpin(cx) {
                    Poll::Ready(Ok(_stream)) => continue,
                    Poll::Ready(Err(_)) => return Poll::Ready(()),
                    Poll::Pending => {}
                }
                match muxer.poll_unpin(cx) {
                    Poll::Ready(Ok(_)) => continue,
                    Poll::Ready(Err(_)) => return Poll::Ready(()),
                    Poll::Pending => return Poll::Pending,
                }
            }
        })
        .await;
    })
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn gauge(http: &str, name: &str) -> i64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(http).await else {
        return -1;
    };
    let request = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).await.is_err() {
        return -1;
    }
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body).await;
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1)
}
