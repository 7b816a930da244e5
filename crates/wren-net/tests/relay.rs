//! Relays over real libp2p on loopback, in one process: reservations,
//! direct messages through a circuit, the mailbox protocol, unreachable
//! relays and the relay limit.
//!
//! The relay is built here: a swarm with the circuit relay v2 server,
//! identify, ping and an in-memory `/wren/mailbox/1` server. Tests
//! synchronise on events only; [`GUARD`] turns a hang into a failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{SwarmBuilder, identify, noise, ping, relay, request_response, tcp, yamux};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use wren_net::limits::MAX_RELAYS;
use wren_net::{
    Ack, DepositOutcome, Keypair, MailboxCodec, MailboxRequest, MailboxResponse, Multiaddr, Net,
    NetConfig, NetError, NetEvent, Path, PeerId, RefusalCode, RelayState, StoredItem,
};

/// How long any single wait may take before the test fails instead of
/// hanging.
const GUARD: Duration = Duration::from_secs(60);

struct Node {
    net: Net,
    events: mpsc::Receiver<NetEvent>,
    peer: PeerId,
}

fn start() -> Node {
    let mut config = NetConfig::new(Keypair::generate_ed25519());
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.mdns = false;
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

// ---------------------------------------------------------------------------
// The test relay.

#[derive(NetworkBehaviour)]
struct RelayBehaviour {
    relay: relay::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    mailbox: request_response::Behaviour<MailboxCodec>,
}

/// An in-memory mailbox server: what the protocol promises, nothing more.
struct Mailboxes {
    owner: PeerId,
    boxes: HashMap<PeerId, Vec<StoredItem>>,
    next_seq: u64,
}

impl Mailboxes {
    fn answer(&mut self, from: PeerId, request: MailboxRequest) -> MailboxResponse {
        match request {
            MailboxRequest::Deposit {
                recipient,
                envelopes,
            } => {
                let mailbox = self.boxes.entry(recipient).or_default();
                let outcomes = envelopes
                    .into_iter()
                    .map(|envelope| {
                        self.next_seq += 1;
                        mailbox.push(StoredItem {
                            seq: self.next_seq,
                            deposited_at: 1_700_000_000,
                            envelope,
                        });
                        DepositOutcome::Stored
                    })
                    .collect();
                MailboxResponse::Deposited(outcomes)
            }
            MailboxRequest::Fetch { after, limit } => {
                let items: Vec<StoredItem> = self
                    .boxes
                    .get(&from)
                    .into_iter()
                    .flatten()
                    .filter(|item| item.seq > after)
                    .cloned()
                    .collect();
                let limit = usize::from(limit);
                let more = items.len() > limit;
                MailboxResponse::Page {
                    items: items.into_iter().take(limit).collect(),
                    more,
                }
            }
            MailboxRequest::Ack { up_to } => {
                let mailbox = self.boxes.entry(from).or_default();
                let before = mailbox.len();
                mailbox.retain(|item| item.seq > up_to);
                MailboxResponse::Acked {
                    removed: u32::try_from(before - mailbox.len()).unwrap(),
                }
            }
            _ if from != self.owner => MailboxResponse::Refused(RefusalCode::NotAllowed),
            MailboxRequest::UsersList => MailboxResponse::Users(Vec::new()),
            MailboxRequest::UsersAdd { .. } | MailboxRequest::UsersRemove { .. } => {
                MailboxResponse::Done
            }
        }
    }
}

struct TestRelay {
    peer: PeerId,
    /// Its listen address with `/p2p/PEER`.
    addr: Multiaddr,
    task: JoinHandle<()>,
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a relay on loopback whose owner (for users operations) is
/// `owner`.
async fn start_relay(owner: PeerId) -> TestRelay {
    start_relay_at(
        Keypair::generate_ed25519(),
        "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        owner,
    )
    .await
}

/// Starts a relay with identity `key` listening on `listen`.
async fn start_relay_at(key: Keypair, listen: Multiaddr, owner: PeerId) -> TestRelay {
    let mut swarm = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|key| RelayBehaviour {
            relay: relay::Behaviour::new(key.public().to_peer_id(), relay::Config::default()),
            identify: identify::Behaviour::new(identify::Config::new(
                "/wren-test-relay/1".to_owned(),
                key.public(),
            )),
            ping: ping::Behaviour::new(ping::Config::new()),
            mailbox: request_response::Behaviour::with_codec(
                MailboxCodec,
                [(
                    wren_net::mailbox::PROTOCOL,
                    request_response::ProtocolSupport::Inbound,
                )],
                request_response::Config::default(),
            ),
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    swarm.listen_on(listen).unwrap();
    let peer = *swarm.local_peer_id();
    let (addr_tx, addr_rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        let mut addr_tx = Some(addr_tx);
        let mut mailboxes = Mailboxes {
            owner,
            boxes: HashMap::new(),
            next_seq: 0,
        };
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => {
                    // The relay server only serves reservations once it
                    // has a confirmed external address.
                    swarm.add_external_address(address.clone());
                    if let Some(tx) = addr_tx.take() {
                        let _ = tx.send(address);
                    }
                }
                SwarmEvent::Behaviour(RelayBehaviourEvent::Mailbox(
                    request_response::Event::Message {
                        peer,
                        message:
                            request_response::Message::Request {
                                request, channel, ..
                            },
                        ..
                    },
                )) => {
                    let response = mailboxes.answer(peer, request);
                    let _ = swarm
                        .behaviour_mut()
                        .mailbox
                        .send_response(channel, response);
                }
                _ => {}
            }
        }
    });
    let addr = guard(addr_rx).await.unwrap().with(Protocol::P2p(peer));
    TestRelay { peer, addr, task }
}

/// Adds `relay` to `node` and waits for the reservation's circuit
/// addresses.
async fn reserve(node: &mut Node, relay: &TestRelay) -> Vec<Multiaddr> {
    let added = node.net.add_relay(relay.addr.clone()).await.unwrap();
    assert_eq!(added, relay.peer);
    next(&mut node.events, |e| match e {
        NetEvent::RelayReserved { relay: r, addrs } if r == relay.peer => Some(addrs),
        _ => None,
    })
    .await
}

fn is_circuit(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| p == Protocol::P2pCircuit)
}

/// A loopback TCP address nothing listens on (yet).
fn free_tcp_addr() -> Multiaddr {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    drop(socket);
    format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap()
}

/// The address of a relay that does not exist.
fn dead_addr() -> Multiaddr {
    free_tcp_addr().with(Protocol::P2p(PeerId::random()))
}

// ---------------------------------------------------------------------------
// Tests.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_reserves_a_slot_and_advertises_circuit_addresses() {
    let relay = start_relay(PeerId::random()).await;
    let mut a = start();
    let addrs = reserve(&mut a, &relay).await;
    assert!(!addrs.is_empty());
    let suffix = format!("/p2p/{}/p2p-circuit/p2p/{}", relay.peer, a.peer);
    for addr in &addrs {
        assert!(addr.to_string().ends_with(&suffix), "{addr}");
    }

    let relays = a.net.relays().await.unwrap();
    assert_eq!(relays.len(), 1);
    assert_eq!(relays[0].relay, relay.peer);
    assert_eq!(relays[0].addr, relay.addr);
    let RelayState::Reserved { addrs: reserved } = &relays[0].state else {
        panic!("not reserved: {:?}", relays[0].state)
    };
    assert!(addrs.iter().all(|a| reserved.contains(a)));

    // The relay's connection was reported, and the only external addresses
    // are the relayed ones: the address the relay saw us at (identify's
    // observation) is not taken as ours without AutoNAT.
    assert_eq!(
        a.net.peer_path(relay.peer).await.unwrap(),
        Some(Path::Direct)
    );
    let external = a.net.external_addrs().await.unwrap();
    assert!(!external.is_empty());
    assert!(external.iter().all(is_circuit), "{external:?}");

    // Removing the relay forgets it.
    assert!(a.net.remove_relay(relay.peer).await.unwrap());
    assert!(!a.net.remove_relay(relay.peer).await.unwrap());
    assert!(a.net.relays().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_connected_is_reported() {
    let relay = start_relay(PeerId::random()).await;
    let mut a = start();
    a.net.add_relay(relay.addr.clone()).await.unwrap();
    let connected = next(&mut a.events, |e| match e {
        NetEvent::RelayConnected { relay } => Some(relay),
        _ => None,
    })
    .await;
    assert_eq!(connected, relay.peer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_reaches_a_peer_known_only_by_its_circuit_address() {
    let relay = start_relay(PeerId::random()).await;
    let mut a = start();
    let circuit = reserve(&mut a, &relay).await;
    let mut b = start();
    b.net.add_addresses(a.peer, circuit).await.unwrap();

    let batch = vec![b"through the relay".to_vec(), vec![7u8; 1_000]];
    let sender = {
        let (net, peer, batch) = (b.net.clone(), a.peer, batch.clone());
        tokio::spawn(async move { net.send_direct(peer, batch).await })
    };
    // The path events that A reports before the request say which
    // connection carried it: the circuit.
    let mut path_at_request = None;
    let (from, envelopes, reply) = next(&mut a.events, |e| match e {
        NetEvent::PeerPath { peer, path } if peer == b.peer => {
            path_at_request = Some(path);
            None
        }
        NetEvent::DirectRequest {
            peer,
            envelopes,
            reply,
        } => Some((peer, envelopes, reply)),
        _ => None,
    })
    .await;
    assert_eq!(from, b.peer);
    assert_eq!(envelopes, batch);
    assert_eq!(path_at_request, Some(Path::Relayed));
    a.net
        .respond_direct(reply, vec![Ack::Stored, Ack::Stored])
        .await
        .unwrap();
    assert_eq!(
        guard(sender).await.unwrap(),
        Ok(vec![Ack::Stored, Ack::Stored])
    );

    // B's first connection to A can only be the circuit.
    let first = next(&mut b.events, |e| match e {
        NetEvent::PeerPath { peer, path } if peer == a.peer => Some(path),
        _ => None,
    })
    .await;
    assert_eq!(first, Path::Relayed);

    // Then DCUtR tries to upgrade it (on loopback it succeeds). Whatever the
    // outcome, the path B reports afterwards agrees with it.
    let mut b_path = first;
    let succeeded = guard(async {
        loop {
            let (from_b, event) = tokio::select! {
                e = a.events.recv() => (false, e),
                e = b.events.recv() => (true, e),
            };
            match event.expect("event channel closed") {
                NetEvent::HolePunch {
                    peer, succeeded, ..
                } if peer == a.peer || peer == b.peer => break succeeded,
                NetEvent::PeerPath { peer, path } if from_b && peer == a.peer => b_path = path,
                _ => {}
            }
        }
    })
    .await;
    let expected = if succeeded {
        Path::Direct
    } else {
        Path::Relayed
    };
    if b_path != expected {
        next(&mut b.events, |e| match e {
            NetEvent::PeerPath { peer, path } if peer == a.peer && path == expected => Some(()),
            _ => None,
        })
        .await;
    }
    assert_eq!(b.net.peer_path(a.peer).await.unwrap(), Some(expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailbox_deposit_fetch_and_ack() {
    let relay = start_relay(PeerId::random()).await;
    let a = start();
    let b = start();
    let relay_addrs = vec![relay.addr.clone()];

    // A deposits two envelopes for B.
    let deposited = a
        .net
        .mailbox(
            relay.peer,
            relay_addrs.clone(),
            MailboxRequest::Deposit {
                recipient: b.peer,
                envelopes: vec![b"one".to_vec(), b"two".to_vec()],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        deposited,
        MailboxResponse::Deposited(vec![DepositOutcome::Stored, DepositOutcome::Stored])
    );

    // B fetches its own mailbox, in deposit order.
    let fetch = |after| MailboxRequest::Fetch { after, limit: 10 };
    let page = b
        .net
        .mailbox(relay.peer, relay_addrs.clone(), fetch(0))
        .await
        .unwrap();
    let MailboxResponse::Page { items, more } = page else {
        panic!("not a page: {page:?}")
    };
    assert!(!more);
    let envelopes: Vec<&[u8]> = items.iter().map(|i| i.envelope.as_slice()).collect();
    assert_eq!(envelopes, [b"one".as_slice(), b"two".as_slice()]);
    assert!(items[0].seq < items[1].seq);

    // A's own mailbox is empty: fetch acts on the requester's mailbox only.
    let page = a
        .net
        .mailbox(relay.peer, relay_addrs.clone(), fetch(0))
        .await
        .unwrap();
    assert_eq!(
        page,
        MailboxResponse::Page {
            items: Vec::new(),
            more: false
        }
    );

    // B acknowledges both; they are gone.
    let acked = b
        .net
        .mailbox(
            relay.peer,
            relay_addrs.clone(),
            MailboxRequest::Ack {
                up_to: items[1].seq,
            },
        )
        .await
        .unwrap();
    assert_eq!(acked, MailboxResponse::Acked { removed: 2 });
    let page = b
        .net
        .mailbox(relay.peer, relay_addrs.clone(), fetch(0))
        .await
        .unwrap();
    assert_eq!(
        page,
        MailboxResponse::Page {
            items: Vec::new(),
            more: false
        }
    );

    // Users operations are the owner's: a refusal surfaces with its code.
    let refused = b
        .net
        .mailbox(relay.peer, relay_addrs.clone(), MailboxRequest::UsersList)
        .await
        .unwrap();
    assert_eq!(refused, MailboxResponse::Refused(RefusalCode::NotAllowed));
    let MailboxResponse::Refused(code) = refused else {
        unreachable!()
    };
    assert_eq!((code.as_u16(), code.name()), (4, "not_allowed"));

    // An invalid request is not sent.
    let invalid = b
        .net
        .mailbox(
            relay.peer,
            relay_addrs,
            MailboxRequest::Fetch { after: 0, limit: 0 },
        )
        .await;
    assert!(matches!(invalid, Err(wren_net::SendError::Invalid(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_manages_users() {
    let a = start();
    let relay = start_relay(a.peer).await;
    let listed = a
        .net
        .mailbox(
            relay.peer,
            vec![relay.addr.clone()],
            MailboxRequest::UsersAdd {
                user: PeerId::random(),
            },
        )
        .await
        .unwrap();
    assert_eq!(listed, MailboxResponse::Done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_relay_is_kept_and_backs_off() {
    let mut a = start();
    let addr = dead_addr();
    let relay = a.net.add_relay(addr.clone()).await.unwrap();
    let reason = next(&mut a.events, |e| match e {
        NetEvent::RelayLost { relay: r, reason } if r == relay => Some(reason),
        _ => None,
    })
    .await;
    assert!(!reason.is_empty());

    let relays = a.net.relays().await.unwrap();
    assert_eq!(relays.len(), 1);
    assert_eq!(relays[0].addr, addr);
    let RelayState::BackingOff {
        last_error,
        retry_in,
    } = &relays[0].state
    else {
        panic!("not backing off: {:?}", relays[0].state)
    };
    assert_eq!(last_error, &reason);
    assert!(*retry_in <= Duration::from_secs(1));

    // A mailbox request to it fails as a dial failure, not a hang.
    let result = a
        .net
        .mailbox(relay, Vec::new(), MailboxRequest::Ack { up_to: 0 })
        .await;
    assert_eq!(result, Err(wren_net::SendError::DialFailure));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_comes_up_later_is_reserved_by_a_retry() {
    let mut a = start();
    let key = Keypair::generate_ed25519();
    let listen = free_tcp_addr();
    let relay_peer = key.public().to_peer_id();
    a.net
        .add_relay(listen.clone().with(Protocol::P2p(relay_peer)))
        .await
        .unwrap();
    next(&mut a.events, |e| match e {
        NetEvent::RelayLost { relay, .. } if relay == relay_peer => Some(()),
        _ => None,
    })
    .await;

    // The relay starts; the next attempt (after the backoff) reserves.
    let relay = start_relay_at(key, listen, PeerId::random()).await;
    let addrs = next(&mut a.events, |e| match e {
        NetEvent::RelayReserved { relay: r, addrs } if r == relay.peer => Some(addrs),
        _ => None,
    })
    .await;
    assert!(addrs.iter().all(is_circuit));

    // When the relay goes away, the reservation is reported lost (and
    // retried with backoff).
    drop(relay);
    let reason = next(&mut a.events, |e| match e {
        NetEvent::RelayLost { relay, reason } if relay == relay_peer => Some(reason),
        _ => None,
    })
    .await;
    assert!(!reason.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_max_relays() {
    let a = start();
    let mut added = Vec::new();
    for _ in 0..MAX_RELAYS {
        added.push(a.net.add_relay(dead_addr()).await.unwrap());
    }
    assert_eq!(
        a.net.add_relay(dead_addr()).await,
        Err(NetError::TooManyRelays { max: MAX_RELAYS })
    );
    // Adding a known relay again is not a new one.
    let known = a.net.relays().await.unwrap()[0].addr.clone();
    a.net.add_relay(known).await.unwrap();
    assert_eq!(a.net.relays().await.unwrap().len(), MAX_RELAYS);
    // Removing one makes room.
    assert!(a.net.remove_relay(added[0]).await.unwrap());
    a.net.add_relay(dead_addr()).await.unwrap();
    assert_eq!(a.net.relays().await.unwrap().len(), MAX_RELAYS);

    // Addresses that do not name the relay, or name this node, are refused.
    let bare: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
    assert!(matches!(
        a.net.add_relay(bare.clone()).await,
        Err(NetError::InvalidArgument(_))
    ));
    assert!(matches!(
        a.net.add_relay(bare.with(Protocol::P2p(a.peer))).await,
        Err(NetError::InvalidArgument(_))
    ));
}
