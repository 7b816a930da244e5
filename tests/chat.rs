//! Two `wren-cli run` processes on loopback pair through their codes and
//! chat: every message delivered exactly once, in each sender's order,
//! statuses reaching delivered and read; malformed commands and misuse are
//! reported without stopping anything.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Peer, cli, cli_fails, pair};
use serde_json::{Value, json};

const LOOPBACK: &str = "/ip4/127.0.0.1/tcp/0";

/// Messages each way in the concurrent exchange.
const EACH_WAY: usize = 1_000;

#[test]
fn two_nodes_pair_and_exchange_a_thousand_messages_each_way() {
    let dir = tempfile::tempdir().unwrap();
    let mut ada = Peer::start("ada", &dir.path().join("ada"), LOOPBACK);
    let mut bob = Peer::start("bob", &dir.path().join("bob"), LOOPBACK);
    pair(&mut ada, &mut bob, "bob", "ada");

    // Both sides write all their sends at once, then read.
    for n in 0..EACH_WAY {
        ada.command(json!({"cmd": "send", "to": "bob", "text": format!("ada {n}"), "ref": n}));
        bob.command(json!({"cmd": "send", "to": "ada", "text": format!("bob {n}"), "ref": n}));
    }
    let (ada_sent, ada_got) = exchange(&mut ada, "bob");
    let (bob_sent, bob_got) = exchange(&mut bob, "ada");
    assert_eq!(ada_sent.len(), EACH_WAY);
    assert_eq!(bob_sent.len(), EACH_WAY);
    assert_eq!(
        ada_got,
        (0..EACH_WAY)
            .map(|n| format!("bob {n}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        bob_got,
        (0..EACH_WAY)
            .map(|n| format!("ada {n}"))
            .collect::<Vec<_>>()
    );

    // Reading sends read receipts: every message reaches `read`.
    let conversation = ada
        .seen
        .iter()
        .find(|e| e["event"] == "message")
        .map(|e| e["conversation"].clone())
        .unwrap();
    ada.command(json!({"cmd": "read", "conversation": conversation, "ref": "r"}));
    let mut unread: BTreeSet<String> = bob_sent.keys().cloned().collect();
    while !unread.is_empty() {
        let event = bob.wait_for("read statuses", |e| {
            e["event"] == "status" && e["state"] == "read"
        });
        unread.remove(event["id"].as_str().unwrap());
    }

    ada.stop();
    bob.stop();

    // History keeps both sides, in order, each message once.
    let history: Value = serde_json::from_str(&cli(
        &dir.path().join("ada"),
        &["history", "bob", "--limit", "5000", "--json"],
    ))
    .unwrap();
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 2 * EACH_WAY);
    let ids: BTreeSet<_> = history.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2 * EACH_WAY);
    let mine: Vec<_> = history
        .iter()
        .filter(|m| m["outgoing"] == true)
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        mine,
        (0..EACH_WAY)
            .map(|n| format!("ada {n}"))
            .collect::<Vec<_>>()
    );
    for message in history {
        for field in ["id", "from", "text", "sent_at", "status"] {
            assert!(!message[field].is_null(), "{field} missing in {message}");
        }
    }
}

/// Reads `peer`'s events until its sends are all delivered and it has
/// received `EACH_WAY` messages; checks the status contract on the way.
/// Returns (id → ref of each sent message, texts received in order).
fn exchange(peer: &mut Peer, from_alias: &str) -> (BTreeMap<String, Value>, Vec<String>) {
    let mut sent: BTreeMap<String, Value> = BTreeMap::new();
    let mut delivered = BTreeSet::new();
    let mut received = Vec::new();
    let mut received_ids = BTreeSet::new();
    let mut seen_before = peer.seen.len();
    loop {
        // Events already read by an earlier wait come first.
        let event = if seen_before < peer.seen.len() {
            seen_before += 1;
            peer.seen[seen_before - 1].clone()
        } else if delivered.len() == EACH_WAY && received.len() == EACH_WAY {
            break;
        } else {
            seen_before += 1;
            peer.next("messages and delivered statuses")
        };
        match event["event"].as_str() {
            Some("status") => {
                let id = event["id"].as_str().unwrap().to_owned();
                if !sent.contains_key(&id) {
                    // The first status of a send is `sending`, with its ref.
                    assert_eq!(event["state"], "sending", "{event}");
                    assert!(!event["ref"].is_null(), "{event}");
                    sent.insert(id.clone(), event["ref"].clone());
                }
                if event["state"] == "delivered" {
                    delivered.insert(id);
                }
                assert_ne!(event["state"], "failed", "{event}");
            }
            Some("message") => {
                assert_eq!(event["alias"], from_alias);
                assert!(
                    received_ids.insert(event["id"].as_str().unwrap().to_owned()),
                    "duplicate {event}"
                );
                received.push(event["text"].as_str().unwrap().to_owned());
            }
            Some("error") => panic!("{}: {event}", peer.name),
            _ => {}
        }
    }
    // Refs came back in the order the sends were written.
    let mut refs: Vec<u64> = sent.values().map(|r| r.as_u64().unwrap()).collect();
    refs.sort_unstable();
    assert_eq!(refs, (0..EACH_WAY as u64).collect::<Vec<_>>());
    (sent, received)
}

#[test]
fn contacts_added_at_the_same_moment_are_accepted_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let mut ada = Peer::start("ada", &dir.path().join("ada"), LOOPBACK);
    let mut bob = Peer::start("bob", &dir.path().join("bob"), LOOPBACK);
    let (ada_code, bob_code) = (ada.code(), bob.code());
    ada.command(json!({"cmd": "add_contact", "code": bob_code, "alias": "bob"}));
    bob.command(json!({"cmd": "add_contact", "code": ada_code, "alias": "ada"}));
    let (ada_id, bob_id) = (ada.peer_id(), bob.peer_id());
    ada.wait_for("contact_added", |e| {
        e["event"] == "contact_added" && e["peer_id"] == bob_id.as_str()
    });
    bob.wait_for("contact_added", |e| {
        e["event"] == "contact_added" && e["peer_id"] == ada_id.as_str()
    });
    ada.command(json!({"cmd": "send", "to": "bob", "text": "hi bob", "ref": 1}));
    bob.command(json!({"cmd": "send", "to": "ada", "text": "hi ada", "ref": 2}));
    let got = bob.wait_for("message", |e| e["event"] == "message");
    assert_eq!(got["text"], "hi bob");
    let got = ada.wait_for("message", |e| e["event"] == "message");
    assert_eq!(got["text"], "hi ada");
    // Nobody saw a request: both had added the other.
    assert!(
        !ada.seen
            .iter()
            .chain(&bob.seen)
            .any(|e| e["event"] == "contact_request")
    );
    ada.stop();
    bob.stop();
    // Both compute the same safety number.
    let a = cli(&dir.path().join("ada"), &["contacts", "verify", "bob"]);
    let b = cli(&dir.path().join("bob"), &["contacts", "verify", "ada"]);
    assert_eq!(a, b);
    assert!(a.trim().chars().filter(char::is_ascii_digit).count() == 60);
}

#[test]
fn malformed_and_unknown_commands_are_errors_and_the_node_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let mut ada = Peer::start("ada", &dir.path().join("ada"), LOOPBACK);
    ada.raw_line("this is not json");
    let error = ada.wait_for("error", |e| e["event"] == "error");
    assert_eq!(error["event"], "error", "{error}");
    ada.command(json!({"cmd": "teleport", "ref": "t"}));
    let error = ada.wait_for("error", |e| e["event"] == "error");
    assert_eq!(
        (&error["event"], &error["ref"]),
        (&json!("error"), &json!("t"))
    );
    ada.command(json!({"cmd": "send", "to": "nobody", "text": "x", "ref": "s"}));
    let error = ada.wait_for("error", |e| e["event"] == "error");
    assert_eq!(
        (&error["event"], &error["ref"]),
        (&json!("error"), &json!("s"))
    );
    ada.command(json!({"cmd": "add_contact", "code": "wren:1/NOTACODE", "ref": "c"}));
    let error = ada.wait_for("error", |e| e["event"] == "error");
    assert_eq!(
        (&error["event"], &error["ref"]),
        (&json!("error"), &json!("c"))
    );
    // Still alive and answering.
    ada.command(json!({"cmd": "read", "conversation": 99, "ref": "r"}));
    let answer = ada.wait_for("answer", |e| !e["ref"].is_null());
    assert_eq!(answer["ref"], "r");
    ada.stop();
}

#[test]
fn misuse_exits_non_zero_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("nobody");
    for args in [&["id"][..], &["contacts", "list"], &["history", "bob"]] {
        let stderr = cli_fails(&home, args);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    cli(&home, &["init", "--name", "Ada"]);
    let stderr = cli_fails(&home, &["init", "--name", "Ada"]);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let stderr = cli_fails(&home, &["contacts", "add", "wren:1/BAD"]);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let stderr = cli_fails(&home, &["history", "bob"]);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let code = cli(&home, &["id"]);
    assert!(code.starts_with("wren:"), "{code}");
    assert_eq!(code.trim().lines().count(), 1);
    let qr = cli(&home, &["id", "--qr"]);
    assert!(qr.lines().count() > 10);
}
