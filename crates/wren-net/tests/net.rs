//! Real swarms on loopback in one process: direct messages, bundles,
//! timeouts, back-pressure and group messages.
//!
//! Tests synchronise on events only. The one timer, [`GUARD`], turns a hang
//! into a failure; no test measures time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use wren_net::{
    Acceptance, Ack, Keypair, Multiaddr, Net, NetConfig, NetError, NetEvent, PeerId, SendError,
};

/// How long any single wait may take before the test fails instead of
/// hanging.
const GUARD: Duration = Duration::from_secs(60);

struct Node {
    net: Net,
    events: mpsc::Receiver<NetEvent>,
    peer: PeerId,
}

fn config(listen: &str) -> NetConfig {
    let mut config = NetConfig::new(Keypair::generate_ed25519());
    config.listen = vec![listen.parse().unwrap()];
    config.mdns = false;
    config
}

fn tcp() -> NetConfig {
    config("/ip4/127.0.0.1/tcp/0")
}

fn start(config: NetConfig) -> Node {
    let (net, events) = wren_net::spawn(config).unwrap();
    let peer = net.local_peer_id();
    Node { net, events, peer }
}

async fn guard<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("the awaited event never came")
}

/// Waits for the first event `pick` accepts, discarding the others.
async fn next<T>(
    events: &mut mpsc::Receiver<NetEvent>,
    mut pick: impl FnMut(NetEvent) -> Option<T>,
) -> T {
    guard(async {
        loop {
            let event = events.recv().await.expect("event channel closed");
            if let Some(found) = pick(event) {
                return found;
            }
        }
    })
    .await
}

async fn listen_addr(node: &mut Node) -> Multiaddr {
    next(&mut node.events, |e| match e {
        NetEvent::Listening { addr } => Some(addr),
        _ => None,
    })
    .await
}

/// Starts two nodes and tells `a` where `b` listens.
async fn pair(a: NetConfig, b: NetConfig) -> (Node, Node) {
    let a = start(a);
    let mut b = start(b);
    let addr = listen_addr(&mut b).await;
    a.net.add_addresses(b.peer, vec![addr]).await.unwrap();
    (a, b)
}

async fn direct_round_trip(a: Node, mut b: Node) {
    let batch = vec![vec![1u8; 100], vec![2u8; 65_536], b"third".to_vec()];
    let sender = {
        let net = a.net.clone();
        let (peer, batch) = (b.peer, batch.clone());
        tokio::spawn(async move { net.send_direct(peer, batch).await })
    };
    let (from, envelopes, reply) = next(&mut b.events, |e| match e {
        NetEvent::DirectRequest {
            peer,
            envelopes,
            reply,
        } => Some((peer, envelopes, reply)),
        _ => None,
    })
    .await;
    assert_eq!(from, a.peer);
    assert_eq!(envelopes, batch);
    let acks = vec![Ack::Stored, Ack::Stored, Ack::Rejected(7)];
    b.net.respond_direct(reply, acks.clone()).await.unwrap();
    assert_eq!(guard(sender).await.unwrap(), Ok(acks));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_batch_over_tcp() {
    let (a, b) = pair(tcp(), tcp()).await;
    direct_round_trip(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_batch_over_quic() {
    let quic = || config("/ip4/127.0.0.1/udp/0/quic-v1");
    let (a, b) = pair(quic(), quic()).await;
    direct_round_trip(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_round_trip() {
    let (a, mut b) = pair(tcp(), tcp()).await;
    let fetch = {
        let (net, peer) = (a.net.clone(), b.peer);
        tokio::spawn(async move { net.fetch_bundle(peer).await })
    };
    let (from, reply) = next(&mut b.events, |e| match e {
        NetEvent::BundleRequest { peer, reply } => Some((peer, reply)),
        _ => None,
    })
    .await;
    assert_eq!(from, a.peer);
    b.net
        .respond_bundle(reply, vec![0xB0; 4_096])
        .await
        .unwrap();
    assert_eq!(guard(fetch).await.unwrap(), Ok(vec![0xB0; 4_096]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_request_times_out_for_the_sender() {
    let mut impatient = tcp();
    impatient.request_timeout = Duration::from_millis(300);
    // The receiver keeps the default (longer) timeout, so the sender's own
    // timer is what ends the request.
    let (a, mut b) = pair(impatient, tcp()).await;
    let sender = {
        let (net, peer) = (a.net.clone(), b.peer);
        tokio::spawn(async move { net.send_direct(peer, vec![vec![1, 2, 3]]).await })
    };
    let _reply = next(&mut b.events, |e| match e {
        NetEvent::DirectRequest { reply, .. } => Some(reply),
        _ => None,
    })
    .await;
    // The engine never answers.
    assert_eq!(guard(sender).await.unwrap(), Err(SendError::Timeout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receivers_timeout_frees_an_unanswered_request() {
    let mut impatient = tcp();
    impatient.request_timeout = Duration::from_millis(300);
    // Now the receiver gives up first.
    let (a, mut b) = pair(tcp(), impatient).await;
    let sender = {
        let (net, peer) = (a.net.clone(), b.peer);
        tokio::spawn(async move { net.send_direct(peer, vec![vec![1, 2, 3]]).await })
    };
    let reply = next(&mut b.events, |e| match e {
        NetEvent::DirectRequest { reply, .. } => Some(reply),
        _ => None,
    })
    .await;
    // The receiver dropped the stream: the sender learns it failed.
    assert!(guard(sender).await.unwrap().is_err());
    // A late answer finds nothing to answer.
    assert_eq!(
        b.net.respond_direct(reply, vec![Ack::Stored]).await,
        Err(NetError::ReplyGone)
    );
    assert_eq!(b.net.stats().await.unwrap().pending_inbound, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_event_channel_answers_busy() {
    let mut slow = tcp();
    slow.event_capacity = 1;
    let (a, mut b) = pair(tcp(), slow).await;
    // `b`'s only slot is taken by `Connected` when `a` connects, and nobody
    // reads it: the request that follows cannot be delivered.
    let result = guard(a.net.send_direct(b.peer, vec![vec![9; 10]])).await;
    assert_eq!(result, Err(SendError::Busy));
    let stats = b.net.stats().await.unwrap();
    assert_eq!(stats.busy_replies, 1);
    assert_eq!(stats.pending_inbound, 0);
    let first = b.events.recv().await.unwrap();
    assert!(
        matches!(first, NetEvent::Connected { peer } if peer == a.peer),
        "{first:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_ack_count_tells_the_sender_busy() {
    let (a, mut b) = pair(tcp(), tcp()).await;
    let sender = {
        let (net, peer) = (a.net.clone(), b.peer);
        tokio::spawn(async move { net.send_direct(peer, vec![vec![1], vec![2]]).await })
    };
    let reply = next(&mut b.events, |e| match e {
        NetEvent::DirectRequest { reply, .. } => Some(reply),
        _ => None,
    })
    .await;
    assert_eq!(
        b.net.respond_direct(reply, vec![Ack::Stored]).await,
        Err(NetError::AckCountMismatch {
            expected: 2,
            got: 1
        })
    );
    assert_eq!(guard(sender).await.unwrap(), Err(SendError::Busy));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_failures_are_typed() {
    let node = start(tcp());
    let stranger = Keypair::generate_ed25519().public().to_peer_id();
    assert!(matches!(
        node.net.send_direct(stranger, Vec::new()).await,
        Err(SendError::Invalid(_))
    ));
    assert!(matches!(
        node.net.send_direct(stranger, vec![vec![0; 65_537]]).await,
        Err(SendError::Invalid(_))
    ));
    // No address is known for the stranger.
    assert_eq!(
        guard(node.net.send_direct(stranger, vec![vec![1]])).await,
        Err(SendError::DialFailure)
    );
    assert!(matches!(
        node.net.dial(stranger).await,
        Err(NetError::Dial(_))
    ));
    node.net.shutdown().await.unwrap();
    assert_eq!(
        node.net.send_direct(stranger, vec![vec![1]]).await,
        Err(SendError::Shutdown)
    );
    assert_eq!(node.net.listen_addrs().await, Err(NetError::Shutdown));
    node.net.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_answered_from_a_plain_thread_without_waiting() {
    let (a, mut b) = pair(tcp(), tcp()).await;
    let sender = {
        let net = a.net.clone();
        let peer = b.peer;
        tokio::spawn(async move { net.send_direct(peer, vec![vec![1], vec![2]]).await })
    };
    let reply = next(&mut b.events, |e| match e {
        NetEvent::DirectRequest { reply, .. } => Some(reply),
        _ => None,
    })
    .await;
    // The way the engine's store thread answers: no runtime, no await.
    let net = b.net.clone();
    let acks = vec![Ack::Stored, Ack::Rejected(3)];
    let answer = acks.clone();
    let answered = std::thread::spawn(move || net.try_respond_direct(reply, answer))
        .join()
        .unwrap();
    assert!(answered.is_ok());
    assert_eq!(guard(sender).await.unwrap(), Ok(acks));
    assert_eq!(b.net.stats().await.unwrap().pending_inbound, 0);

    // Once the network task has stopped, the answer is handed back intact.
    let sender = {
        let net = a.net.clone();
        let peer = b.peer;
        tokio::spawn(async move { net.send_direct(peer, vec![vec![9]]).await })
    };
    let reply = next(&mut b.events, |e| match e {
        NetEvent::DirectRequest { reply, .. } => Some(reply),
        _ => None,
    })
    .await;
    b.net.shutdown().await.unwrap();
    let (back, acks) = b
        .net
        .try_respond_direct(reply.clone(), vec![Ack::Stored])
        .unwrap_err();
    assert_eq!((back, acks), (reply, vec![Ack::Stored]));
    assert!(guard(sender).await.unwrap().is_err());
}

#[test]
fn spawn_needs_a_runtime() {
    assert_eq!(wren_net::spawn(tcp()).map(|_| ()), Err(NetError::NoRuntime));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_events_and_queries() {
    let (a, mut b) = pair(tcp(), tcp()).await;
    a.net.dial(b.peer).await.unwrap();
    let peer = next(&mut b.events, |e| match e {
        NetEvent::Connected { peer } => Some(peer),
        _ => None,
    })
    .await;
    assert_eq!(peer, a.peer);
    assert_eq!(b.net.connected_peers().await.unwrap(), vec![a.peer]);
    assert_eq!(b.net.listen_addrs().await.unwrap().len(), 1);
    a.net.shutdown().await.unwrap();
    let peer = next(&mut b.events, |e| match e {
        NetEvent::Disconnected { peer } => Some(peer),
        _ => None,
    })
    .await;
    assert_eq!(peer, a.peer);
}

/// `a` — `b` — `c` in a line: `c` only hears what `b` accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_messages_are_forwarded_only_after_validation() {
    const TOPIC: &str = "wren-test-group";
    let mut a = start(tcp());
    let mut b = start(tcp());
    let mut c = start(tcp());
    for node in [&a, &b, &c] {
        assert!(node.net.subscribe(TOPIC).await.unwrap());
    }
    let b_addr = listen_addr(&mut b).await;
    for node in [&a, &c] {
        node.net
            .add_addresses(b.peer, vec![b_addr.clone()])
            .await
            .unwrap();
        node.net.dial(b.peer).await.unwrap();
    }
    let subscribed = |who: PeerId| {
        move |e| match e {
            NetEvent::GroupPeerSubscribed { peer, topic } if peer == who && topic == TOPIC => {
                Some(())
            }
            _ => None,
        }
    };
    next(&mut a.events, subscribed(b.peer)).await;
    next(&mut c.events, subscribed(b.peer)).await;
    // `b` was subscribed before anyone connected, so each subscription it
    // sees puts that peer in its mesh.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let peer = next(&mut b.events, |e| match e {
            NetEvent::GroupPeerSubscribed { peer, .. } => Some(peer),
            _ => None,
        })
        .await;
        seen.push(peer);
    }
    seen.sort();
    let mut expected = vec![a.peer, c.peer];
    expected.sort();
    assert_eq!(seen, expected);

    let group_message = |e| match e {
        NetEvent::GroupMessage {
            propagation_source,
            message_id,
            author,
            topic,
            data,
        } => Some((propagation_source, message_id, author, topic, data)),
        _ => None,
    };

    // `b` rejects the first message and accepts the second.
    let rejected_id = a.net.publish(TOPIC, b"rejected".to_vec()).await.unwrap();
    let (source, id, author, topic, data) = next(&mut b.events, group_message).await;
    assert_eq!(
        (source, id, author, topic.as_str(), data.as_slice()),
        (a.peer, rejected_id, None, TOPIC, &b"rejected"[..])
    );
    assert!(
        b.net
            .report_validation(id, source, Acceptance::Reject)
            .await
            .unwrap()
    );

    let accepted_id = a.net.publish(TOPIC, b"accepted".to_vec()).await.unwrap();
    let (source, id, _, _, data) = next(&mut b.events, group_message).await;
    assert_eq!(
        (source, id, data.as_slice()),
        (a.peer, accepted_id, &b"accepted"[..])
    );
    assert!(
        b.net
            .report_validation(id, source, Acceptance::Accept)
            .await
            .unwrap()
    );

    // The first group message `c` sees is the accepted one, forwarded by `b`.
    let (source, id, author, _, data) = next(&mut c.events, group_message).await;
    assert_eq!(
        (source, id, author, data.as_slice()),
        (b.peer, accepted_id, None, &b"accepted"[..])
    );
    assert!(
        c.net
            .report_validation(id, source, Acceptance::Accept)
            .await
            .unwrap()
    );
}

/// Needs multicast on a real interface, which CI machines may not have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs multicast on a network interface"]
async fn mdns_discovers_wren_nodes() {
    let lan = || {
        let mut config = config("/ip4/0.0.0.0/tcp/0");
        config.mdns = true;
        config
    };
    let mut a = start(lan());
    let b = start(lan());
    let (peer, addrs) = next(&mut a.events, |e| match e {
        NetEvent::PeerDiscovered { peer, addrs } if peer == b.peer => Some((peer, addrs)),
        _ => None,
    })
    .await;
    assert_eq!(peer, b.peer);
    assert!(!addrs.is_empty());
}
