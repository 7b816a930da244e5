//! Three `wren-cli run --json` processes on loopback form a group through
//! the JSON interface: every member's message reaches every other member
//! exactly once, tagged with the group; the sender's `delivered` statuses
//! come once per member; after a member's removal (answered once the keys
//! are rotated) the others go on and the removed member reads nothing more;
//! the admin renames the group (`rename_group` answered by `group_renamed`,
//! which the member also sees; a member who is not an admin is refused)
//! and promotes a member (`promote_member` answered by `member_promoted`,
//! which the member also sees), online and offline.
//!
//! Five processes and a real `wren-relay`: everyone posts at once, then
//! one member goes offline while the others post and catches up from its
//! relay mailbox; every message reaches every other member exactly once
//! and every member's history lists them in the same order.
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

use common::{Peer, cli, cli_fails, pair};
use relay::{Relay, init_relay};
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

    // Bob, no admin, cannot rename the group; Ada renames it: answered
    // with the ref, and Bob is told (without one).
    bob.command(json!({"cmd": "rename_group", "group": group, "name": "Bob's", "ref": "mine"}));
    answer(&mut bob, "error", "mine");
    ada.command(json!({"cmd": "rename_group", "group": group, "name": "Book club", "ref": "rn"}));
    let renamed = answer(&mut ada, "group_renamed", "rn");
    assert_eq!(renamed["group"], group.as_str());
    assert_eq!(renamed["name"], "Book club");
    let told = bob.wait_for("group_renamed", |e| e["event"] == "group_renamed");
    assert_eq!(told["group"], group.as_str());
    assert_eq!(told["name"], "Book club");
    assert!(told.get("ref").is_none(), "{told}");

    // Bob cannot make himself an admin; Ada makes him one: answered with
    // the ref, and Bob is told (without one).
    bob.command(json!({"cmd": "promote_member", "group": group, "contact": bob_id, "ref": "self"}));
    answer(&mut bob, "error", "self");
    ada.command(json!({"cmd": "promote_member", "group": group, "contact": "bob", "ref": "up"}));
    let promoted = answer(&mut ada, "member_promoted", "up");
    assert_eq!(promoted["group"], group.as_str());
    assert_eq!(promoted["contact"], bob_id.as_str());
    let told = bob.wait_for("member_promoted", |e| e["event"] == "member_promoted");
    assert_eq!(told["group"], group.as_str());
    assert_eq!(told["contact"], bob_id.as_str());
    assert!(told.get("ref").is_none(), "{told}");

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
    assert_eq!(listed[0]["name"], "Book club");
    assert_eq!(listed[0]["channel"], false);
    let members: BTreeSet<&str> = listed[0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(members, BTreeSet::from([ada_id.as_str(), bob_id.as_str()]));
    let admins: BTreeSet<&str> = listed[0]["admins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(admins, BTreeSet::from([ada_id.as_str(), bob_id.as_str()]));
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
    // Promoted offline too (Bob learns of it on the next `run`); twice is
    // refused.
    assert_eq!(cli(&ada_home, &["groups", "promote", later, "bob"]), "");
    let error = cli_fails(&ada_home, &["groups", "promote", later, "bob"]);
    assert!(error.contains("already an admin"), "{error}");
    let listed: Value =
        serde_json::from_str(&cli(&ada_home, &["groups", "list", "--json"])).unwrap();
    let channel = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == later)
        .unwrap();
    assert_eq!(channel["admins"].as_array().unwrap().len(), 2, "{channel}");
    assert!(
        channel["admins"]
            .as_array()
            .unwrap()
            .contains(&json!(bob_id))
    );
    // Renamed offline too; an empty name is refused.
    assert_eq!(
        cli(&ada_home, &["groups", "rename", later, "Later news"]),
        ""
    );
    let error = cli_fails(&ada_home, &["groups", "rename", later, ""]);
    assert!(error.contains("group name"), "{error}");
    let listed = cli(&ada_home, &["groups", "list"]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(later) && l.contains("\tLater news\tchannel\t")),
        "{listed}"
    );
}

/// Texts each member sends while all five are online.
const FIRST_ROUND: usize = 3;
/// Texts each of the four others sends while Eve is offline.
const SECOND_ROUND: usize = 2;

/// `history GROUP --json` of a stopped member: the message ids, in order,
/// and their texts.
fn group_history(home: &std::path::Path, group: &str) -> Vec<(String, String)> {
    let history: Value =
        serde_json::from_str(&cli(home, &["history", group, "--limit", "1000", "--json"])).unwrap();
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_owned(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Sends `count` texts from every peer in `senders` to `group`, all the
/// commands written before anything is read (the texts are
/// `"{round} {name} {n}"`, also the ref).
fn send_round(senders: &mut [&mut Peer], group: &str, round: &str, count: usize) -> Vec<String> {
    let mut texts = Vec::new();
    for n in 0..count {
        for peer in senders.iter_mut() {
            let text = format!("{round} {} {n}", peer.name);
            peer.command(json!({"cmd": "send", "to": group, "text": text, "ref": text}));
            texts.push(text);
        }
    }
    texts
}

/// Waits until `peer` received every text of `texts` not its own, and
/// checks that none came twice or from elsewhere.
fn receive_round(peer: &mut Peer, group: &str, texts: &[String]) {
    let theirs: BTreeSet<&str> = texts
        .iter()
        .map(String::as_str)
        .filter(|t| t.split(' ').nth(1) != Some(peer.name.as_str()))
        .collect();
    let got = gather(peer, "the round's group messages", theirs.len(), |e| {
        e["event"] == "message"
            && e["group"] == group
            && theirs.contains(e["text"].as_str().unwrap())
    });
    let got: BTreeSet<&str> = got.iter().map(|e| e["text"].as_str().unwrap()).collect();
    assert_eq!(got, theirs, "{}", peer.name);
}

/// Waits until each of `peer`'s texts of `texts` is `delivered` to every
/// member of `members` (one event per member, naming it).
fn delivered_round(peer: &mut Peer, texts: &[String], members: &[String]) {
    let own: Vec<&str> = texts
        .iter()
        .map(String::as_str)
        .filter(|t| t.split(' ').nth(1) == Some(peer.name.as_str()))
        .collect();
    let wanted: BTreeSet<(String, String)> = own
        .iter()
        .flat_map(|t| members.iter().map(move |m| (t.to_string(), m.clone())))
        .collect();
    let matches = |e: &Value| {
        e["event"] == "status"
            && e["state"] == "delivered"
            && e["member"]
                .as_str()
                .is_some_and(|m| members.iter().any(|x| x == m))
            && own.contains(&e["ref"].as_str().unwrap_or_default())
    };
    let got = gather(peer, "delivered statuses", wanted.len(), matches);
    let got: BTreeSet<(String, String)> = got
        .iter()
        .map(|e| {
            (
                e["ref"].as_str().unwrap().to_owned(),
                e["member"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(got, wanted, "{}", peer.name);
}

#[test]
fn five_members_agree_on_the_history_and_an_offline_member_catches_up_through_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["ada", "bob", "cy", "di", "eve"];
    let homes: Vec<_> = names.iter().map(|n| dir.path().join(n)).collect();
    let ids: Vec<String> = names
        .iter()
        .zip(&homes)
        .map(|(name, home)| cli(home, &["init", "--name", name]).trim().to_owned())
        .collect();
    let relay_dir = dir.path().join("relay");
    let users: Vec<&str> = ids[1..].iter().map(String::as_str).collect();
    init_relay(&relay_dir, &ids[0], &users);
    let relay = Relay::start(&relay_dir, &[LOOPBACK]);
    for home in &homes {
        cli(home, &["relays", "add", &relay.code]);
    }
    let mut peers: Vec<Peer> = names
        .iter()
        .zip(&homes)
        .map(|(name, home)| Peer::start(name, home, LOOPBACK))
        .collect();
    for peer in &mut peers {
        peer.wait_for("relay_reserved", |e| e["event"] == "relay_reserved");
    }
    for i in 0..peers.len() {
        for j in (i + 1)..peers.len() {
            let (left, right) = peers.split_at_mut(j);
            pair(&mut left[i], &mut right[0], names[j], names[i]);
        }
    }

    peers[0].command(json!({
        "cmd": "create_group", "name": "Five", "members": ["bob", "cy", "di", "eve"],
        "ref": "create",
    }));
    let group = answer(&mut peers[0], "group_created", "create")["group"]
        .as_str()
        .unwrap()
        .to_owned();
    for peer in &mut peers[1..] {
        peer.wait_for("group_joined", |e| {
            e["event"] == "group_joined" && e["group"] == group.as_str()
        });
    }

    // Everyone at once: every text reaches every other member once, and
    // each is delivered to every other member.
    let first = {
        let mut all: Vec<&mut Peer> = peers.iter_mut().collect();
        send_round(&mut all, &group, "first", FIRST_ROUND)
    };
    for peer in &mut peers {
        receive_round(peer, &group, &first);
    }
    for (i, peer) in peers.iter_mut().enumerate() {
        let others: Vec<String> = ids
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, id)| id.clone())
            .collect();
        delivered_round(peer, &first, &others);
    }

    // Eve stops; the others see her go and talk on.
    let eve = peers.pop().unwrap();
    let eve_id = ids[4].clone();
    let eve_before: Vec<Value> = eve.seen.clone();
    eve.stop();
    for peer in &mut peers {
        peer.wait_for("Eve offline", |e| {
            e["event"] == "contact_offline" && e["contact"] == eve_id.as_str()
        });
    }
    let deposits = relay.metric("deposits_total");
    let second = {
        let mut four: Vec<&mut Peer> = peers.iter_mut().collect();
        send_round(&mut four, &group, "second", SECOND_ROUND)
    };
    for peer in &mut peers {
        receive_round(peer, &group, &second);
    }
    // Each sender deposits a copy of each text in Eve's mailbox.
    relay.wait_metric("deposits_total", deposits + second.len() as u64);

    // Eve returns: everything she missed, once, from her mailbox; each
    // sender learns that she stored its texts.
    let mut eve = Peer::start("eve", &homes[4], LOOPBACK);
    receive_round(&mut eve, &group, &second);
    for peer in &mut peers {
        delivered_round(peer, &second, std::slice::from_ref(&eve_id));
    }
    for peer in &mut peers {
        let others: Vec<String> = ids[..4]
            .iter()
            .filter(|id| **id != peer.peer_id())
            .cloned()
            .collect();
        delivered_round(peer, &second, &others);
    }
    peers.push(eve);

    // Exactly once each, and nothing else, on every member (Eve's events
    // from both of her runs).
    let total = names.len() * FIRST_ROUND + (names.len() - 1) * SECOND_ROUND;
    for peer in &peers {
        let seen: Vec<&Value> = if peer.name == "eve" {
            eve_before.iter().chain(&peer.seen).collect()
        } else {
            peer.seen.iter().collect()
        };
        let messages: Vec<&str> = seen
            .into_iter()
            .filter(|e| e["event"] == "message" && e["group"] == group.as_str())
            .map(|e| e["text"].as_str().unwrap())
            .collect();
        let own = messages
            .iter()
            .filter(|t| t.split(' ').nth(1) == Some(peer.name.as_str()))
            .count();
        assert_eq!(own, 0, "{}", peer.name);
        let sent = if peer.name == "eve" {
            FIRST_ROUND
        } else {
            FIRST_ROUND + SECOND_ROUND
        };
        assert_eq!(messages.len(), total - sent, "{}", peer.name);
        let distinct: BTreeSet<&&str> = messages.iter().collect();
        assert_eq!(distinct.len(), messages.len(), "{}", peer.name);
    }

    // The same history, in the same order, on every member.
    for peer in peers.drain(..) {
        peer.stop();
    }
    let histories: Vec<Vec<(String, String)>> = homes
        .iter()
        .map(|home| group_history(home, &group))
        .collect();
    assert_eq!(histories[0].len(), total);
    let texts: BTreeSet<&str> = histories[0].iter().map(|(_, t)| t.as_str()).collect();
    let expected: BTreeSet<&str> = first.iter().chain(&second).map(String::as_str).collect();
    assert_eq!(texts, expected);
    for (name, history) in names.iter().zip(&histories) {
        assert_eq!(history, &histories[0], "{name}'s history order");
    }
    // Each sender's texts in the order it sent them.
    for name in names {
        let own: Vec<&str> = histories[0]
            .iter()
            .map(|(_, t)| t.as_str())
            .filter(|t| t.split(' ').nth(1) == Some(name))
            .collect();
        let mut sorted = own.clone();
        sorted.sort_by_key(|t| {
            (
                !t.starts_with("first"),
                t.rsplit(' ').next().unwrap().parse::<usize>().unwrap(),
            )
        });
        assert_eq!(own, sorted, "{name}'s texts in sending order");
    }
    drop(relay);
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

    // Bob knows Cy, who is not his contact, by the name in her card.
    let bob_home = bob.home.clone();
    cy.stop();
    bob.stop();
    ada.stop();
    let listed: Value =
        serde_json::from_str(&cli(&bob_home, &["groups", "list", "--json"])).unwrap();
    assert_eq!(listed[0]["names"][cy_id.as_str()], "cy", "{listed}");
}
