//! A node killed with SIGKILL in the middle of a stream and restarted on
//! the same address: nothing lost, nothing duplicated, the outbox drains.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::collections::BTreeSet;

use common::{Peer, cli, pair};
use serde_json::{Value, json};

const MESSAGES: usize = 400;

#[test]
fn receiver_killed_mid_stream_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut ada = Peer::start("ada", &dir.path().join("ada"), "/ip4/127.0.0.1/tcp/0");
    let mut bob = Peer::start("bob", &dir.path().join("bob"), "/ip4/127.0.0.1/tcp/0");
    pair(&mut ada, &mut bob, "bob", "ada");
    let bob_addr = bob.loopback_addr();

    for n in 0..MESSAGES {
        ada.command(json!({"cmd": "send", "to": "bob", "text": format!("m{n}"), "ref": n}));
    }
    // Kill Bob once he has a part of the stream.
    let mut texts: Vec<String> = Vec::new();
    while texts.len() < MESSAGES / 4 {
        let event = bob.wait_for("message", |e| e["event"] == "message");
        texts.push(event["text"].as_str().unwrap().to_owned());
    }
    bob.kill();

    // Restarted on the same address: it binds again at once.
    let bob = Peer::start("bob", &dir.path().join("bob"), &bob_addr);
    assert!(
        bob.ready["listen"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == &Value::from(bob_addr.clone()))
    );
    // Messages that arrived after the last event Bob printed before the
    // kill are in his history; the rest arrive now.
    let mut delivered = BTreeSet::new();
    while delivered.len() < MESSAGES {
        let event = ada.wait_for("delivered", |e| {
            e["event"] == "status" && e["state"] == "delivered"
        });
        delivered.insert(event["id"].as_str().unwrap().to_owned());
    }
    ada.stop();
    bob.stop();

    let history: Value = serde_json::from_str(&cli(
        &dir.path().join("bob"),
        &["history", "ada", "--limit", "5000", "--json"],
    ))
    .unwrap();
    let history: Vec<String> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    // Everything, once, in the order sent.
    assert_eq!(
        history,
        (0..MESSAGES).map(|n| format!("m{n}")).collect::<Vec<_>>()
    );
    // What Bob printed before the kill is a prefix of it.
    assert_eq!(texts[..], history[..texts.len()]);
}

fn texts_of(history: &Value) -> Vec<String> {
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn sender_killed_mid_stream_loses_duplicates_and_reuses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ada_home = dir.path().join("ada");
    let mut ada = Peer::start("ada", &ada_home, "/ip4/127.0.0.1/tcp/0");
    let mut bob = Peer::start("bob", &dir.path().join("bob"), "/ip4/127.0.0.1/tcp/0");
    pair(&mut ada, &mut bob, "bob", "ada");

    for n in 0..MESSAGES {
        ada.command(json!({"cmd": "send", "to": "bob", "text": format!("m{n}"), "ref": n}));
    }
    // Kill Ada while her stream is under way.
    let mut received = 0;
    while received < MESSAGES / 4 {
        bob.wait_for("message", |e| e["event"] == "message");
        received += 1;
    }
    ada.kill();

    // Restarted, Ada resends what she committed and then sends more: had
    // she reused a message key, Bob would refuse those as replays.
    let mut ada = Peer::start("ada", &ada_home, "/ip4/127.0.0.1/tcp/0");
    const AFTER: usize = 50;
    let mut after = BTreeSet::new();
    for n in 0..AFTER {
        ada.command(json!({"cmd": "send", "to": "bob", "text": format!("after{n}"), "ref": n}));
    }
    while after.len() < AFTER {
        let event = ada.wait_for("delivered after the restart", |e| {
            e["event"] == "status" && (e["state"] == "delivered" || e["state"] == "failed")
        });
        assert_eq!(event["state"], "delivered", "{event}");
        if event["ref"].is_u64() {
            after.insert(event["ref"].as_u64().unwrap());
        }
    }
    ada.stop();
    bob.stop();

    let ada_history: Value = serde_json::from_str(&cli(
        &ada_home,
        &["history", "bob", "--limit", "5000", "--json"],
    ))
    .unwrap();
    let bob_history: Value = serde_json::from_str(&cli(
        &dir.path().join("bob"),
        &["history", "ada", "--limit", "5000", "--json"],
    ))
    .unwrap();
    let (sent, got) = (texts_of(&ada_history), texts_of(&bob_history));
    // Nothing twice.
    assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), got.len());
    // Everything Ada committed reached Bob, in the order sent: Bob's history
    // is Ada's, plus at most messages that left just before the kill and
    // were not committed on her side yet.
    let got_set: BTreeSet<&String> = got.iter().collect();
    assert!(sent.iter().all(|t| got_set.contains(t)), "lost messages");
    let in_order: Vec<&String> = got.iter().filter(|t| sent.contains(t)).collect();
    assert_eq!(in_order, sent.iter().collect::<Vec<_>>());
    assert!(got.len() - sent.len() <= 32, "more than a reservation lost");
    for n in 0..AFTER {
        assert!(got_set.contains(&format!("after{n}")));
    }
    // The first stream's messages Bob has are a prefix of it, in order.
    let first: Vec<&String> = got.iter().filter(|t| t.starts_with('m')).collect();
    let expected: Vec<String> = (0..first.len()).map(|n| format!("m{n}")).collect();
    assert_eq!(first, expected.iter().collect::<Vec<_>>());
}
