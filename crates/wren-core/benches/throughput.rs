//! One-direction throughput and send-to-delivered latency between two
//! nodes in one process on loopback (TCP).
//!
//! `cargo bench -p wren-core --bench throughput [-- COUNT WINDOW]`: Ada
//! sends COUNT (default 20 000) texts of 100 bytes to Bob, keeping WINDOW
//! (default 512) `send_text` calls outstanding so the engine can commit them
//! in groups; the figure is messages per second from the first send until
//! Bob has reported every message and Ada has seen every delivery. Then 200
//! single messages, one at a time, give the send-to-delivered latency.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::time::Instant;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;
use wren_core::{Node, NodeConfig, NodeError, NodeEvent, SentMessage, Status, Unlock};

async fn start(name: &str, dir: &std::path::Path) -> (Node, mpsc::Receiver<NodeEvent>) {
    Node::init(dir, name, Unlock::KeyFile).await.unwrap();
    let mut config = NodeConfig::new(dir);
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.mdns = false;
    Node::open(config).await.unwrap()
}

async fn wait(events: &mut mpsc::Receiver<NodeEvent>, mut pick: impl FnMut(&NodeEvent) -> bool) {
    while let Some(event) = events.recv().await {
        if pick(&event) {
            return;
        }
    }
    panic!("events closed");
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let count = args.first().copied().unwrap_or(20_000);
    let window = args.get(1).copied().unwrap_or(512);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(count, window));
}

async fn run(count: usize, window: usize) {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, mut ea) = start("Ada", da.path()).await;
    let (b, mut eb) = start("Bob", db.path()).await;
    let code = b.pairing_code().await.unwrap();
    a.add_contact(&code, Some("bob".into())).await.unwrap();
    wait(&mut eb, |e| matches!(e, NodeEvent::ContactRequest { .. })).await;
    let ap = a.identity().await.peer_id;
    b.accept(&ap).await.unwrap();
    wait(&mut ea, |e| matches!(e, NodeEvent::ContactAccepted { .. })).await;

    let body = "x".repeat(100);
    let started = Instant::now();
    let sender = {
        let a = a.clone();
        let body = body.clone();
        tokio::spawn(async move {
            let mut inflight = FuturesUnordered::new();
            for _ in 0..count {
                if inflight.len() >= window {
                    let done: Result<SentMessage, NodeError> = inflight.next().await.unwrap();
                    done.unwrap();
                }
                inflight.push(a.send_text("bob", &body));
            }
            while let Some(result) = inflight.next().await {
                result.unwrap();
            }
            started.elapsed()
        })
    };
    let receiver = tokio::spawn(async move {
        let mut got = 0;
        wait(&mut eb, |e| {
            if matches!(e, NodeEvent::MessageReceived { .. }) {
                got += 1;
            }
            got == count
        })
        .await;
        (started.elapsed(), eb)
    });
    let mut delivered = 0;
    wait(&mut ea, |e| {
        if matches!(
            e,
            NodeEvent::StatusChanged {
                status: Status::Delivered,
                ..
            }
        ) {
            delivered += 1;
        }
        delivered == count
    })
    .await;
    let all_delivered = started.elapsed();
    let committed = sender.await.unwrap();
    let (all_received, mut eb) = receiver.await.unwrap();
    let rate = |d: std::time::Duration| count as f64 / d.as_secs_f64();
    println!(
        "{count} x 100 B, window {window}: committed in {committed:.2?} ({:.0}/s), \
         received in {all_received:.2?} ({:.0}/s), delivered in {all_delivered:.2?} ({:.0}/s); \
         dropped events: {} / {}",
        rate(committed),
        rate(all_received),
        rate(all_delivered),
        a.dropped_events(),
        b.dropped_events(),
    );

    // Latency: one message at a time, send until delivered.
    let mut samples = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let sent = a.send_text("bob", &body).await.unwrap();
        wait(&mut ea, |e| {
            matches!(e, NodeEvent::StatusChanged { id, status: Status::Delivered, .. } if *id == sent.id)
        })
        .await;
        samples.push(t.elapsed());
    }
    while eb.try_recv().is_ok() {}
    samples.sort();
    println!(
        "send-to-delivered, 200 single messages: p50 {:.2?}, p99 {:.2?}",
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100]
    );
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}
