//! Sending and receiving between paired nodes: statuses, ordering and
//! exactly-once delivery, restarts, and messages to a contact that has not
//! accepted yet.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::HashSet;

use common::{TestNode, pair, start};
use wren_core::{NodeEvent, Status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_reach_delivered_and_read() {
    let mut a = start("Ada").await;
    let mut b = start("Bob").await;
    pair(&mut a, &mut b, "bob", "ada").await;

    let sent = a.node.send_text("bob", "hello").await.unwrap();
    assert_eq!(sent.id.len(), 32);
    let mut seen = Vec::new();
    let id = sent.id.clone();
    a.next(|e| match e {
        NodeEvent::StatusChanged { id: i, status, .. } if *i == id => {
            seen.push(*status);
            (*status == Status::Delivered).then_some(())
        }
        _ => None,
    })
    .await;
    assert_eq!(seen, [Status::Sending, Status::Sent, Status::Delivered]);

    let ap = a.peer_id.clone();
    let (conversation, text) = b
        .next(|e| match e {
            NodeEvent::MessageReceived {
                from,
                alias,
                conversation,
                text,
                id: i,
                ..
            } if *from == ap => {
                assert_eq!(alias.as_deref(), Some("ada"));
                assert_eq!(*i, sent.id);
                Some((*conversation, text.clone()))
            }
            _ => None,
        })
        .await;
    assert_eq!(text, "hello");
    let conversations = b.node.conversations().await.unwrap();
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0].id, conversation);
    assert_eq!(conversations[0].unread, 1);
    assert_eq!(conversations[0].title, "ada");
    assert_eq!(conversations[0].last_preview.as_deref(), Some("hello"));

    assert_eq!(b.node.mark_read("ada").await.unwrap(), 1);
    assert_eq!(b.node.conversations().await.unwrap()[0].unread, 0);
    assert_eq!(
        b.node.mark_read(&conversation.to_string()).await.unwrap(),
        0
    );
    a.next(|e| match e {
        NodeEvent::StatusChanged { id: i, status, .. } if *i == id => {
            (*status == Status::Read).then_some(())
        }
        _ => None,
    })
    .await;

    // History on both sides, own messages included.
    let reply = b.node.send_text("ada", "hi back").await.unwrap();
    let bp = b.peer_id.clone();
    a.next(|e| match e {
        NodeEvent::MessageReceived { from, .. } if *from == bp => Some(()),
        _ => None,
    })
    .await;
    let history = b.node.history("ada", None, 50).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].text, "hello");
    assert!(!history[0].outgoing);
    assert_eq!(history[0].from, a.peer_id);
    assert_eq!(history[0].status, Status::Read);
    assert_eq!(history[1].text, "hi back");
    assert!(history[1].outgoing);
    assert_eq!(history[1].id, reply.id);
    // Requests and receipts are outbox entries, not messages: the texts
    // are the conversation's only messages.
    assert_eq!(history.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2]);
    let history = a.node.history("bob", None, 50).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(history[0].status, Status::Read);
    assert_eq!(history[0].from, a.peer_id);
    assert_eq!(history[1].from, b.peer_id);
    // Paging: the page before the second message holds the first.
    let older = a
        .node
        .history("bob", Some(history[1].seq), 10)
        .await
        .unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].text, "hello");

    a.node.shutdown().await.unwrap();
    b.node.shutdown().await.unwrap();
}

const COUNT: usize = 200;

/// Waits until `node` received `COUNT` texts from `from`; checks each
/// arrives once and in order.
async fn receive_all(node: &mut TestNode, from: &str, prefix: &str) {
    let mut next = 0usize;
    let mut ids = HashSet::new();
    let from = from.to_owned();
    node.next(|e| {
        if let NodeEvent::MessageReceived {
            from: f, text, id, ..
        } = e
            && *f == from
        {
            assert!(ids.insert(id.clone()), "duplicate message");
            assert_eq!(*text, format!("{prefix}{next}"), "out of order");
            next += 1;
        }
        (next == COUNT).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_each_way_concurrently() {
    let mut a = start("Ada").await;
    let mut b = start("Bob").await;
    pair(&mut a, &mut b, "bob", "ada").await;

    let na = a.node.clone();
    let nb = b.node.clone();
    let send_a = tokio::spawn(async move {
        for i in 0..COUNT {
            na.send_text("bob", &format!("a{i}")).await.unwrap();
        }
    });
    let send_b = tokio::spawn(async move {
        for i in 0..COUNT {
            nb.send_text("ada", &format!("b{i}")).await.unwrap();
        }
    });
    let (ap, bp) = (a.peer_id.clone(), b.peer_id.clone());
    // Read both event streams concurrently so neither fills up.
    let (ra, rb) = tokio::join!(receive_all(&mut b, &ap, "a"), receive_all(&mut a, &bp, "b"));
    let _ = (ra, rb);
    send_a.await.unwrap();
    send_b.await.unwrap();

    for (node, alias, prefix) in [(&a, "bob", "a"), (&b, "ada", "b")] {
        let history = node.node.history(alias, None, 1_000).await.unwrap();
        assert_eq!(history.len(), 2 * COUNT);
        let own: Vec<&str> = history
            .iter()
            .filter(|m| m.outgoing)
            .map(|m| m.text.as_str())
            .collect();
        let expected: Vec<String> = (0..COUNT).map(|i| format!("{prefix}{i}")).collect();
        assert_eq!(own, expected);
    }
    a.node.shutdown().await.unwrap();
    b.node.shutdown().await.unwrap();
}

/// The receiver stops in the middle of a stream (a batch may be in flight)
/// and more messages are committed while it is down; it comes back on the
/// same home: every message arrives once, in order, and the sender's
/// outbox drains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_restart_loses_and_duplicates_nothing() {
    const FIRST: usize = 80;
    const TOTAL: usize = 160;
    let mut a = start("Ada").await;
    let mut b = start("Bob").await;
    pair(&mut a, &mut b, "bob", "ada").await;

    let mut ids = Vec::new();
    for i in 0..FIRST {
        ids.push(a.node.send_text("bob", &format!("m{i}")).await.unwrap().id);
    }
    // Part of the stream has arrived: stop the receiver now.
    let ap = a.peer_id.clone();
    let mut got = Vec::new();
    b.next(|e| {
        if let NodeEvent::MessageReceived { from, text, .. } = e
            && *from == ap
        {
            got.push(text.clone());
        }
        (got.len() >= 20).then_some(())
    })
    .await;
    let stopped = b.stop().await;
    // Committed while the receiver is down: they wait in the outbox.
    for i in FIRST..TOTAL {
        ids.push(a.node.send_text("bob", &format!("m{i}")).await.unwrap().id);
    }
    let b = stopped.reopen().await;

    // A's statuses all reach delivered: its outbox drains.
    let mut pending: HashSet<String> = ids.iter().cloned().collect();
    for message in a.node.history("bob", None, 1_000).await.unwrap() {
        if matches!(message.status, Status::Delivered | Status::Read) {
            pending.remove(&message.id);
        }
    }
    if !pending.is_empty() {
        a.next(|e| {
            if let NodeEvent::StatusChanged { id, status, .. } = e
                && *status == Status::Delivered
            {
                pending.remove(id);
            }
            pending.is_empty().then_some(())
        })
        .await;
    }

    // B's history has every message exactly once, in order.
    let history = b.node.history("ada", None, 1_000).await.unwrap();
    let texts: Vec<&str> = history.iter().map(|m| m.text.as_str()).collect();
    let expected: Vec<String> = (0..TOTAL).map(|i| format!("m{i}")).collect();
    assert_eq!(texts, expected);
    let unique: HashSet<&str> = history.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(unique.len(), TOTAL);
    // What B reported before the restart is a prefix of the history, and
    // after it B reports the rest exactly once.
    assert_eq!(got[..], expected[..got.len()]);

    a.node.shutdown().await.unwrap();
    b.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_to_a_pending_contact_is_delivered_after_accept() {
    let mut a = start("Ada").await;
    let mut b = start("Bob").await;
    let code = b.node.pairing_code().await.unwrap();
    a.node.add_contact(&code, Some("bob".into())).await.unwrap();
    let early = a.node.send_text("bob", "early bird").await.unwrap();
    let ap = a.peer_id.clone();
    b.next(|e| match e {
        NodeEvent::ContactRequest { from, .. } if *from == ap => Some(()),
        NodeEvent::MessageReceived { .. } => panic!("a message before the request was accepted"),
        _ => None,
    })
    .await;
    assert!(b.node.conversations().await.unwrap().is_empty());
    b.node.accept(&a.peer_id).await.unwrap();
    let text = b
        .next(|e| match e {
            NodeEvent::MessageReceived { from, text, .. } if *from == ap => Some(text.clone()),
            _ => None,
        })
        .await;
    assert_eq!(text, "early bird");
    let id = early.id.clone();
    a.next(|e| match e {
        NodeEvent::StatusChanged { id: i, status, .. } if *i == id => {
            (*status == Status::Delivered).then_some(())
        }
        _ => None,
    })
    .await;
    a.node.shutdown().await.unwrap();
    b.node.shutdown().await.unwrap();
}

/// `delivered` is reported as soon as the acknowledgement arrives and
/// stored with a later transaction: history read right after the event,
/// and after a restart, shows it, and nothing is sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_is_reported_at_once_and_stored() {
    const COUNT: usize = 5;
    let mut a = start("Ada").await;
    let mut b = start("Bob").await;
    pair(&mut a, &mut b, "bob", "ada").await;

    let mut pending = HashSet::new();
    for i in 0..COUNT {
        pending.insert(a.node.send_text("bob", &format!("d{i}")).await.unwrap().id);
    }
    let ids = pending.clone();
    a.next(|e| {
        if let NodeEvent::StatusChanged { id, status, .. } = e
            && *status == Status::Delivered
        {
            pending.remove(id);
        }
        pending.is_empty().then_some(())
    })
    .await;
    let delivered = |history: &[wren_core::MessageInfo]| {
        history
            .iter()
            .filter(|m| ids.contains(&m.id) && m.status == Status::Delivered)
            .count()
    };
    assert_eq!(
        delivered(&a.node.history("bob", None, 50).await.unwrap()),
        COUNT
    );

    let a = a.restart().await;
    assert_eq!(
        delivered(&a.node.history("bob", None, 50).await.unwrap()),
        COUNT
    );
    // Bob reports each message once, then the marker sent after the
    // restart, and his history holds nothing twice.
    let marker = a.node.send_text("bob", "marker").await.unwrap();
    let ap = a.peer_id.clone();
    let mut received = Vec::new();
    b.next(|e| match e {
        NodeEvent::MessageReceived { from, id, .. } if *from == ap => {
            received.push(id.clone());
            (*id == marker.id).then_some(())
        }
        _ => None,
    })
    .await;
    let history = b.node.history("ada", None, 50).await.unwrap();
    assert_eq!(history.len(), COUNT + 1);
    assert_eq!(
        received.iter().filter(|id| ids.contains(*id)).count(),
        COUNT
    );

    a.node.shutdown().await.unwrap();
    b.node.shutdown().await.unwrap();
}
