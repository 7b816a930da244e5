//! Hostile input on `/wren/dm/1`, sent by raw peers built from the
//! protocol crates: garbage, envelopes from unknown identities, forged and
//! mismatched contact requests, replays, and the bound on pending requests.
//! Nothing may reach a conversation, and the node keeps working.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::raw::{Raw, request, seal, session, text};
use common::{pair, start};
use wren_core::limits::{MAX_PENDING_REQUESTS, reject};
use wren_core::{NodeEvent, Status};
use wren_net::Ack;
use wren_proto::{Envelope, Versioned};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_envelopes_reach_no_conversation() {
    let mut a = start("Ada").await;
    let mut b = start("Bob").await;
    let code_a = a.node.pairing_code().await.unwrap();
    let code_b = b.node.pairing_code().await.unwrap();

    // Garbage and unknown identities.
    let m = Raw::new();
    let acks = m
        .send(
            &b,
            vec![
                vec![0xff; 40],
                Envelope::Message {
                    message: vec![1; 80],
                }
                .to_bytes()
                .unwrap(),
                Envelope::Group {
                    group: wren_proto::GroupId::from_bytes([3; 32]),
                    message: vec![1; 10],
                }
                .to_bytes()
                .unwrap(),
            ],
        )
        .await;
    assert_eq!(
        acks,
        [
            Ack::Rejected(reject::MALFORMED),
            Ack::Rejected(reject::UNKNOWN_SENDER),
            Ack::Rejected(reject::UNKNOWN_SENDER),
        ]
    );
    // A valid session start that is not a contact request.
    let mut book = session(&m, &code_b);
    let acks = m.send(&b, vec![seal(&mut book, &text("hi"))]).await;
    assert_eq!(acks, [Ack::Rejected(reject::UNKNOWN_SENDER)]);

    // A contact request carrying someone else's pairing code.
    let mut book = session(&m, &code_b);
    let acks = m
        .send(&b, vec![seal(&mut book, &request(code_a.clone()))])
        .await;
    assert_eq!(acks, [Ack::Rejected(reject::BAD_REQUEST)]);
    // A contact request whose code is damaged (its checksum and signature
    // no longer match).
    let mut forged = m.code("Mallory");
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let mut book = session(&m, &code_b);
    let acks = m.send(&b, vec![seal(&mut book, &request(forged))]).await;
    assert_eq!(acks, [Ack::Rejected(reject::BAD_REQUEST)]);
    // A prekey message claiming another identity than the connection's.
    let other = Raw::new();
    let mut book = session(&other, &code_b);
    let envelope = seal(&mut book, &request(other.code("Other")));
    let acks = m.send(&b, vec![envelope]).await;
    assert_eq!(acks, [Ack::Rejected(reject::BAD_REQUEST)]);
    assert!(b.node.contact_requests().await.unwrap().is_empty());
    assert!(b.node.conversations().await.unwrap().is_empty());

    // A valid request, replayed: one request.
    let mut book = session(&m, &code_b);
    let envelope = seal(&mut book, &request(m.code("Mallory")));
    let acks = m.send(&b, vec![envelope.clone(), envelope.clone()]).await;
    assert_eq!(acks, [Ack::Stored, Ack::Stored]);
    let acks = m.send(&b, vec![envelope]).await;
    assert_eq!(acks, [Ack::Stored]);
    let requests = b.node.contact_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].name, "Mallory");
    assert_eq!(requests[0].greeting.as_deref(), Some("hello"));
    // While pending, its messages are refused for now, not stored.
    let message = seal(&mut book, &text("let me in"));
    let acks = m.send(&b, vec![message.clone()]).await;
    assert_eq!(acks, [Ack::Rejected(reject::PENDING)]);
    assert!(b.node.conversations().await.unwrap().is_empty());

    // Accepted: the same envelope is now delivered, once, however often
    // it is replayed.
    b.node.accept("Mallory").await.unwrap();
    let acks = m.send(&b, vec![message.clone(), message.clone()]).await;
    assert_eq!(acks, [Ack::Stored, Ack::Stored]);
    let acks = m.send(&b, vec![message]).await;
    assert_eq!(acks, [Ack::Stored]);
    let mallory = m.me.public().peer_id().to_string();
    let history = b.node.history(&mallory, None, 50).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].text, "let me in");

    // The node keeps working.
    pair(&mut a, &mut b, "bob", "ada").await;
    let sent = a.node.send_text("bob", "still here?").await.unwrap();
    let id = sent.id.clone();
    a.next(|e| match e {
        NodeEvent::StatusChanged { id: i, status, .. } if *i == id => {
            (*status == Status::Delivered).then_some(())
        }
        _ => None,
    })
    .await;
    let conversations = b.node.conversations().await.unwrap();
    assert_eq!(conversations.len(), 2);
    a.node.shutdown().await.unwrap();
    b.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_requests_are_bounded() {
    let b = start("Bob").await;
    let code_b = b.node.pairing_code().await.unwrap();
    for i in 0..=MAX_PENDING_REQUESTS {
        let raw = Raw::new();
        let mut book = session(&raw, &code_b);
        let envelope = seal(&mut book, &request(raw.code(&format!("peer {i}"))));
        let acks = raw.send(&b, vec![envelope]).await;
        if i < MAX_PENDING_REQUESTS {
            assert_eq!(acks, [Ack::Stored], "request {i}");
        } else {
            assert_eq!(acks, [Ack::Rejected(reject::TOO_MANY_REQUESTS)]);
        }
        raw.net.shutdown().await.unwrap();
    }
    let requests = b.node.contact_requests().await.unwrap();
    assert_eq!(requests.len(), MAX_PENDING_REQUESTS);
    assert_eq!(requests[0].name, "peer 0");
    // The requests survive a restart, and declining one makes room.
    let mut b = b.restart().await;
    assert_eq!(
        b.node.contact_requests().await.unwrap().len(),
        MAX_PENDING_REQUESTS
    );
    b.node.decline("peer 0").await.unwrap();
    let raw = Raw::new();
    let mut book = session(&raw, &b.node.pairing_code().await.unwrap());
    let acks = raw
        .send(&b, vec![seal(&mut book, &request(raw.code("late")))])
        .await;
    assert_eq!(acks, [Ack::Stored]);
    let name = b
        .next(|e| match e {
            NodeEvent::ContactRequest { name, .. } if name == "late" => Some(name.clone()),
            _ => None,
        })
        .await;
    assert_eq!(name, "late");
    b.node.shutdown().await.unwrap();
}
