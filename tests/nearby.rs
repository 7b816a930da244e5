//! Pairing by fingerprint on a LAN: two nodes with mDNS on find each other
//! (`peer_discovered` with the peer id and fingerprint), one adds the other
//! by peer id (its prekey bundle is fetched over `/wren/bundle/1` and checked
//! against that identity), the other accepts, and they chat.
//!
//! Ignored by default: it needs multicast on a real interface, which not
//! every CI machine has. Run with
//! `cargo test -p wren-cli --test e2e_nearby -- --ignored`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{Peer, cli};
use serde_json::json;

#[test]
#[ignore = "needs multicast (mDNS) on a network interface"]
fn nodes_on_a_lan_pair_by_peer_id_and_chat() {
    let dir = tempfile::tempdir().unwrap();
    // Default listen addresses (all interfaces), mDNS on.
    let mut ada = Peer::start_with("ada", &dir.path().join("ada"), &[]);
    let mut bob = Peer::start_with("bob", &dir.path().join("bob"), &[]);
    let bob_id = bob.peer_id();
    let found = ada.wait_for("peer_discovered", |e| {
        e["event"] == "peer_discovered" && e["peer_id"] == bob_id.as_str()
    });
    // The fingerprint shown is the one Bob's own tools show.
    let fingerprint = found["fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(fingerprint.chars().filter(char::is_ascii_digit).count(), 30);

    ada.command(json!({"cmd": "add_contact", "code": bob_id, "alias": "bob"}));
    ada.wait_for("contact_added", |e| {
        e["event"] == "contact_added" && e["peer_id"] == bob_id.as_str()
    });
    let ada_id = ada.peer_id();
    bob.wait_for("contact_request", |e| {
        e["event"] == "contact_request" && e["from"] == ada_id.as_str()
    });
    bob.command(json!({"cmd": "accept", "contact": ada_id, "alias": "ada"}));
    ada.command(json!({"cmd": "send", "to": "bob", "text": "found you", "ref": 1}));
    let got = bob.wait_for("message", |e| e["event"] == "message");
    assert_eq!(got["text"], "found you");
    ada.wait_for("delivered", |e| {
        e["event"] == "status" && e["state"] == "delivered"
    });
    ada.stop();
    bob.stop();
    let a = cli(&dir.path().join("ada"), &["contacts", "verify", "bob"]);
    let b = cli(&dir.path().join("bob"), &["contacts", "verify", "ada"]);
    assert_eq!(a, b);
}
