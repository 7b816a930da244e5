//! Three `wren-cli run --json` processes on loopback form a group through
//! the JSON interface: every member's message reaches every other member
//! exactly once, tagged with the group; the sender's `delivered` statuses
//! come once per member; after a member's removal (answered once the keys
//! are rotated) the others go on and the removed member reads nothing more.
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

const LOOPBACK: &str = "/ip4/127.0.0.1/tcp/0";

/// The events of `peer` that match, those already seen first, reading on
/// until there are `count` of them.
fn gather(
    peer: &mut Peer,
    what: &str,
    count: usize,
    matches: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let mut got: Vec<Value> = peer.seen.iter().filter(|e| matches(e)).cloned().collect();
    while got.len() < count {
        let event = peer.next(what);
        if matches(&event) {
            got.push(event);
        } else {
            assert_ne!(event["event"], "error", "{}: {event}", peer.name);
        }
    }
    got
}

/// The first event with `reference` (seen already or to come), which must
/// be `event`: the command's answer, or its first status.
fn answer(peer: &mut Peer, event: &str, reference: &str) -> Value {
    let answer = gather(peer, event, 1, |e| e["ref"] == reference).remove(0);
    assert_eq!(answer["event"], event, "{}: {answer}", peer.name);
    answer
}

/// Group messages `peer` received in `group` with this text.
fn received(peer: &Peer, group: &str, text: &str) -> usize {
    peer.seen
        .iter()
        .filter(|e| e["event"] == "message" && e["group"] == group && e["text"] == text)
        .count()
}

#[test]
fn three_members_chat_in_a_group_and_a_removed_member_reads_no_more() {
    let dir = tempfile::tempdir().unwrap();
    let mut ada = Peer::start("ada", &dir.path().join("ada"), LOOPBACK);
    let mut bob = Peer::start("bob", &dir.path().join("bob"), LOOPBACK);
    let mut cy = Peer::start("cy", &dir.path().join("cy"), LOOPBACK);
    pair(&mut ada, &mut bob, "bob", "ada");
    pair(&mut ada, &mut cy, "cy", "ada");
    pair(&mut bob, &mut cy, "cy", "bob");
    let (ada_id, bob_id, cy_id) = (ada.peer_id(), bob.peer_id(), cy.peer_id());

    // Ada creates the group; Bob and Cy join it under the same id.
    ada.command(json!({
        "cmd": "create_group", "name": "Friends", "members": ["bob", "cy"], "ref": "create",
    }));
    let created = answer(&mut ada, "group_created", "create");
    let group = created["group"].as_str().unwrap().to_owned();
    assert_eq!(group.len(), 64);
    assert!(
        group
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    for peer in [&mut bob, &mut cy] {
        let joined = peer.wait_for("group_joined", |e| e["event"] == "group_joined");
        assert_eq!(joined["group"], group.as_str());
        assert_eq!(joined["name"], "Friends");
    }

    // Each member sends one message to the group.
    for (peer, text) in [
        (&mut ada, "from ada"),
        (&mut bob, "from bob"),
        (&mut cy, "from cy"),
    ] {
        peer.command(json!({"cmd": "send", "to": group, "text": text, "ref": text}));
    }
    let senders = [
        ("from ada", ada_id.as_str()),
        ("from bob", bob_id.as_str()),
        ("from cy", cy_id.as_str()),
    ];
    for peer in [&mut ada, &mut bob, &mut cy] {
        let own = peer.peer_id();
        let others: Vec<_> = senders.iter().filter(|(_, from)| *from != own).collect();
        let got = gather(peer, "the others' group messages", 2, |e| {
            e["event"] == "message" && e["group"] == group.as_str()
        });
        for (text, from) in others {
            let message = got.iter().find(|m| m["text"] == *text).unwrap();
            assert_eq!(message["from"], *from, "{message}");
        }
    }

    // Ada's message: `sending` with its ref and the group, then one
    // `delivered` per other member, each naming the member.
    let sending = answer(&mut ada, "status", "from ada");
    assert_eq!(sending["state"], "sending");
    assert_eq!(sending["group"], group.as_str());
    let message_id = sending["id"].as_str().unwrap().to_owned();
    let delivered = |e: &Value| {
        e["event"] == "status" && e["id"] == message_id.as_str() && e["state"] == "delivered"
    };
    let mut members = BTreeSet::new();
    for event in gather(&mut ada, "delivered statuses", 2, delivered) {
        assert_eq!(event["group"], group.as_str(), "{event}");
        assert_eq!(event["ref"], "from ada", "{event}");
        members.insert(event["member"].as_str().unwrap().to_owned());
    }
    assert_eq!(members, BTreeSet::from([bob_id.clone(), cy_id.clone()]));

    // Ada removes Cy: answered once the removal is committed and the keys
    // rotated; Bob and Cy learn of it.
    ada.command(json!({"cmd": "remove_member", "group": group, "contact": "cy", "ref": "rm"}));
    let removed = answer(&mut ada, "member_removed", "rm");
    assert_eq!(removed["group"], group.as_str());
    assert_eq!(removed["contact"], cy_id.as_str());
    for peer in [&mut bob, &mut cy] {
        peer.wait_for("member_removed", |e| {
            e["event"] == "member_removed"
                && e["group"] == group.as_str()
                && e["contact"] == cy_id.as_str()
        });
    }
    cy.command(json!({"cmd": "send", "to": group, "text": "still here?", "ref": "late"}));
    answer(&mut cy, "error", "late");

    // Bob's next message reaches Ada, and not Cy.
    bob.command(json!({"cmd": "send", "to": group, "text": "after", "ref": "after"}));
    let after = ada.wait_for("Bob's message after the removal", |e| {
        e["event"] == "message" && e["text"] == "after"
    });
    assert_eq!(after["group"], group.as_str());
    assert_eq!(after["from"], bob_id.as_str());

    // Every message arrived exactly once.
    for (text, _) in senders {
        for peer in [&ada, &bob, &cy] {
            let expected = usize::from(!text.ends_with(&peer.name));
            assert_eq!(
                received(peer, &group, text),
                expected,
                "{}: {text}",
                peer.name
            );
        }
    }
    assert_eq!(received(&ada, &group, "after"), 1);
    assert_eq!(received(&cy, &group, "after"), 0);
    assert_eq!(ada.seen.iter().filter(|e| delivered(e)).count(), 2);
    let cy_home = cy.home.clone();
    let ada_home = ada.home.clone();
    cy.stop();
    bob.stop();
    ada.stop();

    // Cy stored nothing sent after its removal.
    let history: Value =
        serde_json::from_str(&cli(&cy_home, &["history", &group, "--json"])).unwrap();
    let texts: BTreeSet<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, BTreeSet::from(["from ada", "from bob", "from cy"]));

    // The one-shot commands see the group as it is now, and create one
    // offline (its members learn of it on the next `run`).
    let listed: Value =
        serde_json::from_str(&cli(&ada_home, &["groups", "list", "--json"])).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["group"], group.as_str());
    assert_eq!(listed[0]["name"], "Friends");
    assert_eq!(listed[0]["channel"], false);
    let members: BTreeSet<&str> = listed[0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(members, BTreeSet::from([ada_id.as_str(), bob_id.as_str()]));
    let later = cli(
        &ada_home,
        &["groups", "create", "Later", "--members", "bob", "--channel"],
    );
    let later = later.trim();
    assert_eq!(later.len(), 64);
    let listed = cli(&ada_home, &["groups", "list"]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(later) && l.contains("\tLater\tchannel\t")),
        "{listed}"
    );
}

#[test]
fn members_paired_only_with_the_admin_read_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let mut ada = Peer::start("ada", &dir.path().join("ada"), LOOPBACK);
    let mut bob = Peer::start("bob", &dir.path().join("bob"), LOOPBACK);
    let mut cy = Peer::start("cy", &dir.path().join("cy"), LOOPBACK);
    // Star-paired: Bob and Cy are not each other's contacts.
    pair(&mut ada, &mut bob, "bob", "ada");
    pair(&mut ada, &mut cy, "cy", "ada");
    let (bob_id, cy_id) = (bob.peer_id(), cy.peer_id());

    ada.command(json!({
        "cmd": "create_group", "name": "Family", "members": ["bob", "cy"], "ref": "create",
    }));
    let group = answer(&mut ada, "group_created", "create")["group"]
        .as_str()
        .unwrap()
        .to_owned();
    for peer in [&mut bob, &mut cy] {
        peer.wait_for("group_joined", |e| e["event"] == "group_joined");
    }
    bob.command(json!({"cmd": "send", "to": group, "text": "from bob", "ref": "b"}));
    cy.command(json!({"cmd": "send", "to": group, "text": "from cy", "ref": "c"}));
    let at_cy = gather(&mut cy, "Bob's group message", 1, |e| {
        e["event"] == "message" && e["group"] == group.as_str()
    });
    assert_eq!(at_cy[0]["text"], "from bob");
    assert_eq!(at_cy[0]["from"], bob_id.as_str());
    let at_bob = gather(&mut bob, "Cy's group message", 1, |e| {
        e["event"] == "message" && e["group"] == group.as_str()
    });
    assert_eq!(at_bob[0]["text"], "from cy");
    assert_eq!(at_bob[0]["from"], cy_id.as_str());
    // Each exactly once.
    assert_eq!(received(&cy, &group, "from bob"), 1);
    assert_eq!(received(&bob, &group, "from cy"), 1);
}
