//! Forged traffic on a group's gossipsub topic against real `wren-cli run
//! --json` processes. Raw peers on Wren's own network layer join the topic
//! and publish what a Wren node never would: a member's captured message
//! replayed, the same message with a byte changed (its signature no longer
//! verifies), a message from someone outside the group, and a reader's post
//! in a channel. Each is rejected and shown nowhere; a watching peer that is
//! connected to the victim only proves that none of it was propagated; in
//! the channel every member refuses the reader's post, and the reader's own
//! node refuses to send it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{HANG_GUARD, Peer, pair};
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use wren_crypto::sender_key::SenderKey;
use wren_crypto::{IdentityKey, IdentityKeyPair};
use wren_net::{Acceptance, Multiaddr, Net, NetConfig, NetEvent, PeerId};
use wren_proto::group::{GroupEnvelope, seal, topic_name};
use wren_proto::{GroupId, MessageId, Text, Timestamp, Versioned};

const LOOPBACK: &str = "/ip4/127.0.0.1/tcp/0";

/// A peer on Wren's network layer with an identity of its own, outside
/// every group.
struct Gossip {
    net: Net,
    me: IdentityKeyPair,
    /// Group frames this peer received, as (topic, data).
    frames: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    /// Peers seen subscribed, as (peer, topic).
    subscribed: mpsc::UnboundedReceiver<(PeerId, String)>,
}

impl Gossip {
    /// A new peer on a loopback port (mDNS off). It reports every group
    /// frame it receives to the test and to gossipsub as *ignored*, so it
    /// forwards nothing itself.
    fn new(runtime: &Runtime) -> Gossip {
        let me = IdentityKeyPair::generate(&mut rand::rng());
        let mut config = NetConfig::new(me.to_libp2p_keypair());
        config.listen = vec![LOOPBACK.parse().unwrap()];
        config.mdns = false;
        let (net, mut events) = runtime.block_on(async { wren_net::spawn(config) }).unwrap();
        let (frame_tx, frames) = mpsc::unbounded_channel();
        let (sub_tx, subscribed) = mpsc::unbounded_channel();
        let reporter = net.clone();
        runtime.spawn(async move {
            while let Some(event) = events.recv().await {
                match event {
                    NetEvent::GroupMessage {
                        propagation_source,
                        message_id,
                        topic,
                        data,
                        ..
                    } => {
                        let _ = frame_tx.send((topic, data));
                        let _ = reporter
                            .report_validation(message_id, propagation_source, Acceptance::Ignore)
                            .await;
                    }
                    NetEvent::GroupPeerSubscribed { peer, topic } => {
                        let _ = sub_tx.send((peer, topic));
                    }
                    _ => {}
                }
            }
        });
        Gossip {
            net,
            me,
            frames,
            subscribed,
        }
    }

    /// Subscribes to `topic` and connects to each of `peers`; returns once
    /// every one of them is seen subscribed to it.
    fn join(&mut self, runtime: &Runtime, topic: &str, peers: &[&Peer]) {
        runtime.block_on(async {
            self.net.subscribe(topic).await.unwrap();
            let mut waiting = Vec::new();
            for peer in peers {
                let id: PeerId = peer.peer_id().parse().unwrap();
                let addr: Multiaddr = peer.loopback_addr().parse().unwrap();
                self.net.add_addresses(id, vec![addr]).await.unwrap();
                self.net.dial(id).await.unwrap();
                waiting.push(id);
            }
            tokio::time::timeout(HANG_GUARD, async {
                while !waiting.is_empty() {
                    let (peer, subscribed) = self.subscribed.recv().await.unwrap();
                    if subscribed == topic {
                        waiting.retain(|p| *p != peer);
                    }
                }
            })
            .await
            .expect("the group's members never showed up on the topic");
        });
    }

    /// Publishes raw `data` on `topic`.
    fn publish(&self, runtime: &Runtime, topic: &str, data: Vec<u8>) {
        runtime
            .block_on(self.net.publish(topic.to_owned(), data))
            .unwrap();
    }

    /// The next frame on `topic` whose sender is `sender`; every frame
    /// received on the way is passed to `check` first.
    fn frame_from(
        &mut self,
        runtime: &Runtime,
        topic: &str,
        sender: &IdentityKey,
        mut check: impl FnMut(&[u8]),
    ) -> Vec<u8> {
        runtime.block_on(async {
            tokio::time::timeout(HANG_GUARD, async {
                loop {
                    let (on, data) = self.frames.recv().await.unwrap();
                    check(&data);
                    if on == topic && sender_of(&data) == Some(sender.to_bytes()) {
                        return data;
                    }
                }
            })
            .await
            .expect("no frame from the expected sender")
        })
    }

    /// Every frame received so far and not yet taken.
    fn drain(&mut self) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        while let Ok((_, data)) = self.frames.try_recv() {
            frames.push(data);
        }
        frames
    }
}

/// The sender a group frame names (`None` if it does not decode).
fn sender_of(frame: &[u8]) -> Option<[u8; 32]> {
    let GroupEnvelope::Message { sender, .. } = GroupEnvelope::from_bytes(frame).ok()?;
    Some(sender)
}

/// A frame for `group` naming `sender`, sealed with a chain of our own:
/// what an impostor can make without any member's keys.
fn forged(group: &GroupId, sender: &IdentityKey, body: &str) -> Vec<u8> {
    let mut chain = SenderKey::generate(&mut rand::rng());
    let text = Text {
        id: MessageId::from_bytes(rand::random()),
        sent_at: Timestamp::from_millis(1),
        body: body.into(),
        reply_to: None,
    };
    seal(&mut chain, group, sender, text).unwrap()
}

/// The identity key of a running peer.
fn key_of(peer: &Peer) -> IdentityKey {
    IdentityKey::from_peer_id(&peer.peer_id().parse().unwrap()).unwrap()
}

/// Creates a group (or channel) of `ada` with `members` (aliases) and waits
/// until `joined` all saw it; its id.
fn create(
    ada: &mut Peer,
    name: &str,
    members: &[&str],
    channel: bool,
    joined: &mut [&mut Peer],
) -> String {
    ada.command(json!({
        "cmd": "create_group", "name": name, "members": members,
        "channel": channel, "ref": name,
    }));
    let created = ada.wait_for("group_created", |e| {
        e["event"] == "group_created" && e["ref"] == name
    });
    let group = created["group"].as_str().unwrap().to_owned();
    for peer in joined.iter_mut() {
        peer.wait_for("group_joined", |e| {
            e["event"] == "group_joined" && e["group"] == group.as_str()
        });
    }
    group
}

/// The next `group_message_refused` event of `peer` for `group`; its reason.
/// Any message of the group on the way fails the test.
fn refusal(peer: &mut Peer, group: &str) -> String {
    let name = peer.name.clone();
    let event = peer.wait_for("group_message_refused", |e| {
        assert!(
            !(e["event"] == "message" && e["group"] == group),
            "{name}: a group message was shown: {e}"
        );
        e["event"] == "group_message_refused" && e["group"] == group
    });
    event["reason"].as_str().unwrap().to_owned()
}

/// The messages of `group` that `peer` showed.
fn shown<'a>(peer: &'a Peer, group: &str) -> Vec<&'a Value> {
    peer.seen
        .iter()
        .filter(|e| e["event"] == "message" && e["group"] == group)
        .collect()
}

/// The refusals of `group` that `peer` reported.
fn refusals(peer: &Peer, group: &str) -> usize {
    peer.seen
        .iter()
        .filter(|e| e["event"] == "group_message_refused" && e["group"] == group)
        .count()
}

#[test]
fn forged_group_traffic_is_rejected_shown_nowhere_and_not_propagated() {
    let runtime = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ada = Peer::start("ada", &dir.path().join("ada"), LOOPBACK);
    let mut bob = Peer::start("bob", &dir.path().join("bob"), LOOPBACK);
    let mut cy = Peer::start("cy", &dir.path().join("cy"), LOOPBACK);
    pair(&mut ada, &mut bob, "bob", "ada");
    pair(&mut ada, &mut cy, "cy", "ada");
    pair(&mut bob, &mut cy, "cy", "bob");
    let (ada_key, bob_key, cy_key) = (key_of(&ada), key_of(&bob), key_of(&cy));

    // ── A group: forged traffic sent to Bob alone ───────────────────────
    let group = create(
        &mut ada,
        "Friends",
        &["bob", "cy"],
        false,
        &mut [&mut bob, &mut cy],
    );
    let group_id: GroupId = group.parse().unwrap();
    let topic = topic_name(&group_id);

    // A watcher outside the group, connected to Bob only, sees what Bob
    // forwards. Ada's real message reaches it through Bob.
    let mut watch = Gossip::new(&runtime);
    watch.join(&runtime, &topic, &[&bob]);
    ada.command(json!({"cmd": "send", "to": group, "text": "hello", "ref": "hello"}));
    let captured = watch.frame_from(&runtime, &topic, &ada_key, |_| {});
    for peer in [&mut bob, &mut cy] {
        peer.wait_for("Ada's message", |e| {
            e["event"] == "message" && e["text"] == "hello"
        });
    }

    // Mallory, connected to Bob only, replays Ada's message as it was, then
    // posts as herself (a non-member). The replay is dropped without a
    // word; the refusal of the second proves Bob handled both.
    let mut mallory = Gossip::new(&runtime);
    mallory.join(&runtime, &topic, &[&bob]);
    let outsider = forged(&group_id, mallory.me.public(), "let me in");
    mallory.publish(&runtime, &topic, captured.clone());
    mallory.publish(&runtime, &topic, outsider.clone());
    let reason = refusal(&mut bob, &group);
    assert!(reason.contains("non-member"), "{reason}");

    // Trent, connected to Bob only, changes one byte of Ada's message: its
    // chain signature no longer verifies.
    let mut tampered = captured.clone();
    // The last byte belongs to the chain signature (docs/protocol.md §G8).
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    let mut trent = Gossip::new(&runtime);
    trent.join(&runtime, &topic, &[&bob]);
    trent.publish(&runtime, &topic, tampered.clone());
    let reason = refusal(&mut bob, &group);
    assert!(reason.contains("signature"), "{reason}");

    // Then Bob posts. What Bob forwards to a peer goes out in order, so
    // once Ada, Cy and the watcher have Bob's post, anything forged he had
    // let through would have reached them first: none did.
    bob.command(json!({"cmd": "send", "to": group, "text": "after", "ref": "after"}));
    let forgeries = [outsider.as_slice(), tampered.as_slice()];
    let mut replays = 0;
    watch.frame_from(&runtime, &topic, &bob_key, |frame| {
        assert!(!forgeries.contains(&frame), "the watcher got a forgery");
        replays += usize::from(frame == captured.as_slice());
    });
    assert_eq!(replays, 0, "the watcher got Ada's message twice");
    for peer in [&mut ada, &mut cy] {
        peer.wait_for("Bob's message", |e| {
            e["event"] == "message" && e["text"] == "after"
        });
    }
    for frame in watch.drain() {
        assert!(
            !forgeries.contains(&frame.as_slice()),
            "the watcher got a forgery"
        );
    }
    for peer in [&ada, &bob, &cy] {
        let texts: Vec<&str> = shown(peer, &group)
            .iter()
            .map(|m| m["text"].as_str().unwrap())
            .collect();
        let expected: &[&str] = match peer.name.as_str() {
            "ada" => &["after"],
            "bob" => &["hello"],
            _ => &["hello", "after"],
        };
        assert_eq!(texts, expected, "{}", peer.name);
    }
    assert_eq!(refusals(&bob, &group), 2);
    assert_eq!(refusals(&ada, &group), 0, "a forgery reached Ada");
    assert_eq!(refusals(&cy, &group), 0, "a forgery reached Cy");

    // ── A channel: a reader's post is refused by every member ──────────
    let news = create(
        &mut ada,
        "News",
        &["bob", "cy"],
        true,
        &mut [&mut bob, &mut cy],
    );
    let news_id: GroupId = news.parse().unwrap();
    let news_topic = topic_name(&news_id);

    // Cy's own node refuses to post.
    cy.command(json!({"cmd": "send", "to": news, "text": "me too", "ref": "cy-post"}));
    let error = cy.wait_for("the refusal of Cy's post", |e| e["ref"] == "cy-post");
    assert_eq!(error["event"], "error", "{error}");

    // Eve, connected to every member, publishes a post in Cy's name: each
    // member refuses it for who it names, before any cryptography.
    let mut eve = Gossip::new(&runtime);
    eve.join(&runtime, &news_topic, &[&ada, &bob, &cy]);
    eve.publish(
        &runtime,
        &news_topic,
        forged(&news_id, &cy_key, "fake news"),
    );
    for peer in [&mut ada, &mut bob, &mut cy] {
        let reason = refusal(peer, &news);
        assert!(reason.contains("only admins"), "{}: {reason}", peer.name);
    }

    // The admin still posts, and every member reads it.
    ada.command(json!({"cmd": "send", "to": news, "text": "real news", "ref": "news"}));
    for peer in [&mut bob, &mut cy] {
        peer.wait_for("Ada's post", |e| {
            e["event"] == "message" && e["text"] == "real news"
        });
    }
    for peer in [&ada, &bob, &cy] {
        let texts: Vec<&str> = shown(peer, &news)
            .iter()
            .map(|m| m["text"].as_str().unwrap())
            .collect();
        let expected: &[&str] = if peer.name == "ada" {
            &[]
        } else {
            &["real news"]
        };
        assert_eq!(texts, expected, "{}", peer.name);
    }

    for peer in [watch, mallory, trent, eve] {
        runtime.block_on(peer.net.shutdown()).unwrap();
    }
    cy.stop();
    bob.stop();
    ada.stop();
}
