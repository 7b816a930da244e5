//! Offline delivery through a real `wren-relay`: deposits while the
//! recipient is offline (`relayed`), the relay killed and restarted while
//! holding them, the recipient draining its mailbox exactly once and in
//! order, `delivered` reaching the sender when it returns, and a relay's
//! refusal reaching the sender's status.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;
#[path = "common/relay.rs"]
mod relay;

use std::collections::BTreeSet;
use std::path::Path;

use common::{Peer, cli, pair};
use relay::{Relay, init_relay, set_config};
use serde_json::{Value, json};

const MESSAGES: usize = 100;
const LISTEN: &str = "/ip4/127.0.0.1/tcp/0";

/// Ada and Bob, both users of one relay, paired while online (so each
/// knows the other's relay from the pairing code).
struct World {
    dir: tempfile::TempDir,
    relay: Relay,
    ada: Peer,
    bob: Peer,
}

fn home(dir: &Path, name: &str) -> std::path::PathBuf {
    dir.join(name)
}

fn world(configure: impl FnOnce(&Path)) -> World {
    let dir = tempfile::tempdir().unwrap();
    let ada_home = home(dir.path(), "ada");
    let bob_home = home(dir.path(), "bob");
    let ada_id = cli(&ada_home, &["init", "--name", "ada"]).trim().to_owned();
    let bob_id = cli(&bob_home, &["init", "--name", "bob"]).trim().to_owned();
    let relay_dir = dir.path().join("relay");
    init_relay(&relay_dir, &ada_id, &[&bob_id]);
    configure(&relay_dir);
    let relay = Relay::start(&relay_dir, &[LISTEN]);
    // Added while no node runs: stored, used by the next `run`.
    for home in [&ada_home, &bob_home] {
        let printed = cli(home, &["relays", "add", &relay.code]);
        assert_eq!(printed.trim(), relay.peer_id);
    }
    let listed: Value =
        serde_json::from_str(&cli(&ada_home, &["relays", "list", "--json"])).unwrap();
    assert_eq!(listed[0]["relay"], relay.peer_id.as_str());

    let mut ada = Peer::start("ada", &ada_home, LISTEN);
    let mut bob = Peer::start("bob", &bob_home, LISTEN);
    for peer in [&mut ada, &mut bob] {
        peer.wait_for("relay_reserved", |e| e["event"] == "relay_reserved");
    }
    pair(&mut ada, &mut bob, "bob", "ada");
    World {
        dir,
        relay,
        ada,
        bob,
    }
}

/// Sends `count` texts and waits until each is `relayed`; returns their ids.
fn send_while_offline(ada: &mut Peer, count: usize) -> Vec<String> {
    for n in 0..count {
        ada.command(json!({"cmd": "send", "to": "bob", "text": format!("m{n}"), "ref": n}));
    }
    let mut relayed = BTreeSet::new();
    let mut ids = vec![String::new(); count];
    while relayed.len() < count {
        let event = ada.wait_for("relayed", |e| e["event"] == "status");
        assert_ne!(event["state"], "failed", "{event}");
        assert_ne!(event["state"], "delivered", "Bob is offline: {event}");
        if event["state"] == "relayed" {
            let n = event["ref"].as_u64().unwrap() as usize;
            ids[n] = event["id"].as_str().unwrap().to_owned();
            relayed.insert(n);
        }
    }
    ids
}

fn bob_history(dir: &Path) -> Vec<String> {
    let history: Value = serde_json::from_str(&cli(
        &home(dir, "bob"),
        &["history", "ada", "--limit", "1000", "--json"],
    ))
    .unwrap();
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

/// Bob starts, drains his mailbox: every message once, in order.
fn bob_receives_all(bob: &mut Peer, count: usize) {
    let mut texts = Vec::new();
    while texts.len() < count {
        let event = bob.wait_for("message", |e| e["event"] == "message");
        texts.push(event["text"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        texts,
        (0..count).map(|n| format!("m{n}")).collect::<Vec<_>>()
    );
}

/// Ada (back online) sees every message delivered.
fn ada_sees_delivered(ada: &mut Peer, ids: &[String]) {
    let mut waiting: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    while !waiting.is_empty() {
        let event = ada.wait_for("delivered", |e| {
            e["event"] == "status" && e["state"] == "delivered"
        });
        waiting.remove(event["id"].as_str().unwrap());
    }
}

#[test]
fn offline_recipient_gets_everything_once_through_the_relay() {
    let World {
        dir,
        relay: _relay,
        mut ada,
        bob,
    } = world(|_| {});
    bob.stop();
    let ids = send_while_offline(&mut ada, MESSAGES);
    ada.stop();

    let mut bob = Peer::start("bob", &home(dir.path(), "bob"), LISTEN);
    bob_receives_all(&mut bob, MESSAGES);
    let mut ada = Peer::start("ada", &home(dir.path(), "ada"), LISTEN);
    ada_sees_delivered(&mut ada, &ids);
    ada.stop();
    bob.stop();
    assert_eq!(
        bob_history(dir.path()),
        (0..MESSAGES).map(|n| format!("m{n}")).collect::<Vec<_>>()
    );
}

#[test]
fn relay_killed_while_holding_messages_loses_and_repeats_nothing() {
    let World {
        dir,
        relay,
        mut ada,
        bob,
    } = world(|_| {});
    bob.stop();
    let ids = send_while_offline(&mut ada, MESSAGES);
    ada.stop();

    // Every deposit was acknowledged as durable: a SIGKILL loses none.
    let listen = relay.tcp_listen();
    relay.kill();
    let relay = Relay::start(&dir.path().join("relay"), &[&listen]);

    let mut bob = Peer::start("bob", &home(dir.path(), "bob"), LISTEN);
    bob_receives_all(&mut bob, MESSAGES);
    // Bob acknowledged them: a restart of Bob fetches nothing again.
    bob.stop();
    let mut bob = Peer::start("bob", &home(dir.path(), "bob"), LISTEN);
    bob.wait_for("relay_reserved", |e| e["event"] == "relay_reserved");
    let mut ada = Peer::start("ada", &home(dir.path(), "ada"), LISTEN);
    ada_sees_delivered(&mut ada, &ids);
    ada.stop();
    bob.stop();
    drop(relay);
    assert_eq!(
        bob_history(dir.path()),
        (0..MESSAGES).map(|n| format!("m{n}")).collect::<Vec<_>>()
    );
}

#[test]
fn a_relay_refusal_fails_the_message_with_its_reason() {
    // Envelopes of more than 64 bytes are refused: every text is larger.
    let World {
        relay: _relay,
        mut ada,
        bob,
        ..
    } = world(|dir| set_config(dir, "max_envelope_bytes", "64"));
    bob.stop();
    ada.command(json!({"cmd": "send", "to": "bob", "text": "too big for this relay", "ref": 1}));
    let event = ada.wait_for("failed", |e| {
        e["event"] == "status" && (e["state"] == "failed" || e["state"] == "relayed")
    });
    assert_eq!(event["state"], "failed", "{event}");
    assert_eq!(event["detail"], "relay refused: too_large", "{event}");
    ada.stop();
}

#[test]
fn a_contact_added_by_peer_id_is_reached_through_a_shared_relay() {
    let World {
        dir,
        relay,
        mut ada,
        bob: _bob,
    } = world(|_| {});
    // Carol uses the same relay; Ada knows nothing but her peer id (no
    // pairing code, no LAN discovery): the bundle is fetched through the
    // relay's circuit and checked against the id.
    let carol_home = home(dir.path(), "carol");
    let carol_id = cli(&carol_home, &["init", "--name", "carol"])
        .trim()
        .to_owned();
    relay::relay_cli(&dir.path().join("relay"), &["users", "add", &carol_id]);
    let mut carol = Peer::start("carol", &carol_home, LISTEN);
    carol.command(json!({"cmd": "add_relay", "relay": relay.code, "ref": "r"}));
    let added = carol.wait_for("relay_added", |e| e["event"] == "relay_added");
    assert_eq!(added["ref"], "r");
    carol.wait_for("relay_reserved", |e| e["event"] == "relay_reserved");

    ada.command(json!({"cmd": "add_contact", "code": carol_id, "alias": "carol"}));
    ada.wait_for("contact_added", |e| {
        e["event"] == "contact_added" && e["peer_id"] == carol_id.as_str()
    });
    let ada_id = ada.peer_id();
    carol.wait_for("contact_request", |e| {
        e["event"] == "contact_request" && e["from"] == ada_id.as_str()
    });
    carol.command(json!({"cmd": "accept", "contact": ada_id, "alias": "ada"}));
    ada.command(json!({"cmd": "send", "to": "carol", "text": "hello through the relay", "ref": 1}));
    let message = carol.wait_for("message", |e| e["event"] == "message");
    assert_eq!(message["text"], "hello through the relay");
    ada.wait_for("delivered", |e| {
        e["event"] == "status" && e["state"] == "delivered"
    });
    carol.stop();
    ada.stop();
}

#[test]
fn a_relay_added_after_pairing_reaches_contacts_in_a_profile_update() {
    let dir = tempfile::tempdir().unwrap();
    let ada_home = home(dir.path(), "ada");
    let bob_home = home(dir.path(), "bob");
    let ada_id = cli(&ada_home, &["init", "--name", "ada"]).trim().to_owned();
    let bob_id = cli(&bob_home, &["init", "--name", "bob"]).trim().to_owned();
    let relay_dir = dir.path().join("relay");
    init_relay(&relay_dir, &bob_id, &[&ada_id]);
    let relay = Relay::start(&relay_dir, &[LISTEN]);

    // Paired before either has a relay: the codes name none.
    let mut ada = Peer::start("ada", &ada_home, LISTEN);
    let mut bob = Peer::start("bob", &bob_home, LISTEN);
    pair(&mut ada, &mut bob, "bob", "ada");
    // Bob adds one now: Ada learns it from Bob's encrypted profile update.
    bob.command(json!({"cmd": "add_relay", "relay": relay.code}));
    bob.wait_for("relay_reserved", |e| e["event"] == "relay_reserved");
    bob.command(json!({"cmd": "relays", "ref": 9}));
    let listed = bob.wait_for("relays", |e| e["event"] == "relays");
    assert_eq!(listed["ref"], 9);
    assert_eq!(listed["relays"][0]["relay"], relay.peer_id.as_str());
    // A text after the profile (same FIFO queue) is delivered once Ada
    // processed the profile.
    bob.command(json!({"cmd": "send", "to": "ada", "text": "I have a relay now", "ref": 1}));
    ada.wait_for("message", |e| e["event"] == "message");
    bob.wait_for("delivered", |e| {
        e["event"] == "status" && e["state"] == "delivered"
    });
    bob.stop();

    let ids = send_while_offline(&mut ada, 3);
    ada.stop();
    let mut bob = Peer::start("bob", &bob_home, LISTEN);
    bob_receives_all(&mut bob, 3);
    let mut ada = Peer::start("ada", &ada_home, LISTEN);
    ada_sees_delivered(&mut ada, &ids);
    ada.stop();
    bob.stop();
}

#[test]
fn the_owner_manages_the_relays_users_from_its_node() {
    let dir = tempfile::tempdir().unwrap();
    let ada_home = home(dir.path(), "ada");
    let bob_home = home(dir.path(), "bob");
    let ada_id = cli(&ada_home, &["init", "--name", "ada"]).trim().to_owned();
    let bob_id = cli(&bob_home, &["init", "--name", "bob"]).trim().to_owned();
    let relay_dir = dir.path().join("relay");
    init_relay(&relay_dir, &ada_id, &[]);
    let relay = Relay::start(&relay_dir, &[LISTEN]);

    let users = |home: &Path| cli(home, &["relays", "users", "list", &relay.code]);
    assert_eq!(users(&ada_home).trim(), "");
    cli(&ada_home, &["relays", "users", "add", &relay.code, &bob_id]);
    assert_eq!(users(&ada_home).trim(), bob_id);
    // The relay's own CLI sees the same list.
    assert_eq!(
        relay::relay_cli(&relay_dir, &["users", "list"]).trim(),
        bob_id
    );
    // Only the owner may ask.
    let refused = common::cli_fails(&bob_home, &["relays", "users", "list", &relay.code]);
    assert!(refused.contains("not_allowed"), "{refused}");
    cli(
        &ada_home,
        &["relays", "users", "remove", &relay.code, &bob_id],
    );
    assert_eq!(users(&ada_home).trim(), "");
}
