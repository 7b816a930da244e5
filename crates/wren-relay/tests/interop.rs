//! The relay binary against wren-net's own client (`Net`): reservations
//! for the owner, a refusal the client reports for a stranger, and a
//! mailbox round trip through `Net::mailbox`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{RelayProcess, WAIT, config, init};
use libp2p::identity::Keypair;
use tokio::sync::mpsc;
use wren_net::mailbox::{DepositOutcome, MailboxRequest, MailboxResponse};
use wren_net::{Net, NetConfig, NetEvent};

fn node() -> (Net, mpsc::Receiver<NetEvent>) {
    let mut config = NetConfig::new(Keypair::generate_ed25519());
    config.mdns = false;
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    wren_net::spawn(config).unwrap()
}

async fn next_relay_event(events: &mut mpsc::Receiver<NetEvent>) -> NetEvent {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events.recv().await.expect("the node stopped");
            if matches!(
                event,
                NetEvent::RelayReserved { .. } | NetEvent::RelayLost { .. }
            ) {
                return event;
            }
        }
    })
    .await
    .expect("no relay event in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wren_net_nodes_reserve_deposit_and_fetch() {
    let (owner, mut owner_events) = node();
    let (stranger, mut stranger_events) = node();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("relay");
    init(&dir, Some(&owner.local_peer_id())).await;
    let relay = RelayProcess::start(
        &dir,
        &config(Some(&owner.local_peer_id()), "restricted", ""),
    )
    .await;

    // The owner's reservation is accepted: circuit addresses come back.
    assert_eq!(
        owner.add_relay(relay.addr.clone()).await.unwrap(),
        relay.peer_id
    );
    match next_relay_event(&mut owner_events).await {
        NetEvent::RelayReserved { relay: r, addrs } => {
            assert_eq!(r, relay.peer_id);
            assert!(!addrs.is_empty());
        }
        other => panic!("owner: {other:?}"),
    }

    // A stranger's is refused, and wren-net reports it.
    stranger.add_relay(relay.addr.clone()).await.unwrap();
    match next_relay_event(&mut stranger_events).await {
        NetEvent::RelayLost { relay: r, reason } => {
            assert_eq!(r, relay.peer_id);
            assert!(!reason.is_empty());
        }
        other => panic!("stranger: {other:?}"),
    }

    // The stranger can still leave a message for the owner, who fetches it.
    let addrs = vec![relay.addr.clone()];
    let response = stranger
        .mailbox(
            relay.peer_id,
            addrs.clone(),
            MailboxRequest::Deposit {
                recipient: owner.local_peer_id(),
                envelopes: vec![vec![42; 120]],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        response,
        MailboxResponse::Deposited(vec![DepositOutcome::Stored])
    );
    let response = owner
        .mailbox(
            relay.peer_id,
            addrs,
            MailboxRequest::Fetch {
                after: 0,
                limit: 16,
            },
        )
        .await
        .unwrap();
    match response {
        MailboxResponse::Page { items, more } => {
            assert!(!more);
            assert_eq!(items.len(), 1);
            assert_eq!(items[0].envelope, vec![42; 120]);
        }
        other => panic!("fetch: {other:?}"),
    }
    owner.shutdown().await.unwrap();
    stranger.shutdown().await.unwrap();
    assert!(relay.terminate().await);
}
