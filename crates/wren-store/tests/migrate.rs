//! Migration: a store written by an earlier schema version opens, is
//! upgraded in place, and reads back exactly what was written.
//!
//! `tests/data/v{N}/` holds a store (database and key file) written by
//! schema version N with [`write_fixture`]. When the schema version is
//! bumped, the ignored test `write_fixture_of_current_version` is run once
//! *before* the change to keep a file of the outgoing version:
//!
//! ```text
//! cargo test -p wren-store --test migrate -- --ignored write_fixture_of_current_version
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use wren_crypto::sender_key::{SenderKey, SenderKeyReceiver};
use wren_crypto::{IdentityKeyPair, SessionBook};
use wren_store::schema::SCHEMA_VERSION;
use wren_store::{
    Contact, ConversationKind, Direction, GroupIncoming, GroupOutgoing, GroupRecord, Incoming,
    MessageStatus, NewMessage, NewOutbox, Order, Outgoing, Store, StoredContactRequest, Unlock,
    Verification,
};

/// Messages in the main conversation: enough to fill several blocks.
const MAIN_MESSAGES: u64 = 150;

/// The fixture's group (written since schema version 3).
const GROUP: [u8; 32] = [7; 32];

/// Messages in the group's conversation: more than one block.
const GROUP_MESSAGES: u64 = 90;

/// The first schema version whose fixture holds the group.
const GROUP_SINCE: u32 = 3;

/// Group message `k` (arrival order): its sender (0: us, 1 or 2: another
/// member), `sent_at` and `received_at`. The send times are a permutation
/// of the arrival order with ties (every value twice), and two messages
/// claim a time far ahead of their arrival.
fn group_message(k: u64) -> (u8, u64, u64) {
    let received_at = 50_000 + k;
    let sent_at = match k {
        5 => 10_000_000,
        7 => 400_000,
        _ => 10_000 + ((k * 17) % 45) * 10,
    };
    ((k % 3) as u8, sent_at, received_at)
}

fn group_member(n: u8) -> [u8; 32] {
    [100 + n; 32]
}

fn data_dir(version: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(format!("v{version}"))
}

fn pair(seed: u8) -> IdentityKeyPair {
    IdentityKeyPair::from_secret_bytes(&[seed; 32])
}

fn id_of(conversation: u64, n: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&conversation.to_be_bytes());
    id[8..].copy_from_slice(&n.to_be_bytes());
    id
}

/// Message `n` of the main conversation: direction, body, final status.
fn main_message(n: u64) -> (Direction, Vec<u8>, MessageStatus) {
    let body = format!("message {n} {}", "x".repeat((n as usize * 37) % 300)).into_bytes();
    if n.is_multiple_of(3) {
        (Direction::Incoming, body, MessageStatus::Received)
    } else {
        let status = match n % 5 {
            0 => MessageStatus::Read,
            1 => MessageStatus::Delivered,
            2 => MessageStatus::Sent,
            3 => MessageStatus::Failed(format!("reason {n}")),
            _ => MessageStatus::Sending,
        };
        (Direction::Outgoing, body, status)
    }
}

/// Writes the fixture's content into the store at `dir` (key file).
async fn write_fixture(dir: &Path) {
    let store = Store::open(dir, Unlock::KeyFile).await.unwrap();
    let me = pair(1);
    let alice = pair(2);
    let bob = pair(3);
    let alice_key = alice.public().to_bytes();
    let bob_key = bob.public().to_bytes();
    store
        .write(move |tx| {
            tx.set_identity(&me, "fixture")?;
            tx.put_contact(
                &alice_key,
                &Contact {
                    alias: "alice".into(),
                    verification: Verification::Verified,
                    addresses: vec!["/ip4/127.0.0.1/tcp/4001".into()],
                    relays: vec![],
                    blocked: false,
                    added_at: 10,
                },
            )?;
            tx.put_contact_request(
                &bob_key,
                &StoredContactRequest {
                    payload: vec![9; 50],
                    received_at: 11,
                },
            )?;
            tx.set_setting("theme", b"dark")
        })
        .await
        .unwrap();
    let conversation = store
        .write(move |tx| tx.direct_conversation(&alice_key, 5))
        .await
        .unwrap();
    let alice_public = *alice.public();
    for n in 1..=MAIN_MESSAGES {
        let (direction, content, status) = main_message(n);
        let id = id_of(conversation, n);
        let book = SessionBook::new(alice_public);
        store
            .write(move |tx| {
                let message = NewMessage {
                    id,
                    sender: if direction == Direction::Incoming {
                        alice_key
                    } else {
                        [0; 32]
                    },
                    sent_at: 1_000 + n,
                    received_at: 2_000 + n,
                    content,
                    status: if direction == Direction::Incoming {
                        MessageStatus::Received
                    } else {
                        MessageStatus::Sending
                    },
                };
                let outbox = NewOutbox {
                    recipient: alice_key,
                    envelope: vec![n as u8; 60],
                    next_retry_ms: 3_000 + n,
                };
                match direction {
                    Direction::Outgoing => {
                        let recorded = tx.record_outgoing(Outgoing {
                            conversation,
                            session: &book,
                            message,
                            outbox,
                        })?;
                        if n.is_multiple_of(2) {
                            tx.outbox_remove(recorded.outbox)?;
                        }
                        if status != MessageStatus::Sending {
                            tx.set_status(&id, status)?;
                        }
                    }
                    Direction::Incoming => {
                        tx.record_incoming(Incoming {
                            conversation,
                            session: &book,
                            message,
                            receipt: Some(outbox),
                        })?;
                    }
                }
                Ok(())
            })
            .await
            .unwrap();
    }
    store
        .write(move |tx| tx.mark_read(conversation, 60).map(|_| ()))
        .await
        .unwrap();
    write_group(&store).await;
    store.close().await.unwrap();
}

/// Writes the fixture's group: its record and [`GROUP_MESSAGES`] messages
/// in arrival order (see [`group_message`]).
async fn write_group(store: &Store) {
    let conversation = store
        .write(|tx| {
            let conversation =
                tx.create_conversation(ConversationKind::Group { group: GROUP }, "group", 6)?;
            tx.put_group(
                &GROUP,
                &GroupRecord {
                    conversation,
                    key_epoch: Some([1; 32]),
                    distributed: vec![group_member(1), group_member(2)],
                    left: false,
                },
            )?;
            Ok(conversation)
        })
        .await
        .unwrap();
    let chain = SenderKey::generate(&mut rand::rng());
    let receiver = SenderKeyReceiver::new(&SenderKey::generate(&mut rand::rng()).distribution());
    let chain_bytes = chain.to_bytes().to_vec();
    let receiver_bytes = receiver.to_bytes().to_vec();
    for k in 0..GROUP_MESSAGES {
        let (from, sent_at, received_at) = group_message(k);
        let chain = SenderKey::from_bytes(&chain_bytes).unwrap();
        let receiver = SenderKeyReceiver::from_bytes(&receiver_bytes).unwrap();
        store
            .write(move |tx| {
                let id = id_of(conversation, k);
                let content = format!("group {k}").into_bytes();
                if from == 0 {
                    tx.record_group_outgoing(GroupOutgoing {
                        group: GROUP,
                        conversation,
                        sender_key: &chain,
                        message: NewMessage {
                            id,
                            sender: [0; 32],
                            sent_at,
                            received_at,
                            content,
                            status: MessageStatus::Sending,
                        },
                        frame: vec![k as u8; 40],
                    })?;
                } else {
                    tx.record_group_incoming(GroupIncoming {
                        group: GROUP,
                        conversation,
                        sender: group_member(from),
                        receiver: &receiver,
                        message: NewMessage {
                            id,
                            sender: group_member(from),
                            sent_at,
                            received_at,
                            content,
                            status: MessageStatus::Received,
                        },
                    })?;
                }
                Ok(())
            })
            .await
            .unwrap();
    }
}

/// Checks that the store at `dir`, written by schema version `version`,
/// holds exactly the fixture's content.
async fn check_fixture(dir: &Path, version: u32) {
    let store = Store::open(dir, Unlock::KeyFile).await.unwrap();
    let alice_key = pair(2).public().to_bytes();
    let bob_key = pair(3).public().to_bytes();
    let (identity, name) = store.read(|tx| tx.identity()).await.unwrap().unwrap();
    assert_eq!(identity.public(), pair(1).public());
    assert_eq!(name, "fixture");
    let contact = store
        .read(move |tx| tx.contact(&alice_key))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contact.alias, "alice");
    assert_eq!(contact.verification, Verification::Verified);
    let request = store
        .read(move |tx| tx.contact_request(&bob_key))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(request.payload, vec![9; 50]);
    assert_eq!(
        store.read(|tx| tx.setting("theme")).await.unwrap(),
        Some(b"dark".to_vec())
    );
    assert!(
        store
            .read(move |tx| tx.session(&alice_key))
            .await
            .unwrap()
            .is_some()
    );

    let conversation = store
        .read(move |tx| tx.direct_conversation(&alice_key))
        .await
        .unwrap()
        .unwrap();
    let summary = store
        .read(move |tx| tx.conversation(conversation))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.last_seq, MAIN_MESSAGES);
    assert_eq!(summary.read_up_to, 60);
    let unread = (61..=MAIN_MESSAGES).filter(|n| n.is_multiple_of(3)).count() as u64;
    assert_eq!(summary.unread, unread);

    // Every message, oldest first, in pages of 40.
    let mut cursor = None;
    let mut seen = 0;
    loop {
        let page = store
            .read(move |tx| tx.messages(conversation, cursor, Order::OldestFirst, 40))
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        for message in page {
            let message = message.unwrap();
            seen += 1;
            let n = message.seq;
            assert_eq!(n, seen);
            let (direction, content, status) = main_message(n);
            assert_eq!(message.id, id_of(conversation, n));
            assert_eq!(message.direction, direction);
            assert_eq!(message.content, content);
            assert_eq!(message.status, status);
            assert_eq!(message.sent_at, 1_000 + n);
            assert_eq!(message.received_at, 2_000 + n);
            cursor = Some(n);
        }
    }
    assert_eq!(seen, MAIN_MESSAGES);
    // The id index still finds them.
    for n in [1, 64, MAIN_MESSAGES] {
        let found = store
            .read(move |tx| tx.message_by_id(&id_of(conversation, n)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.seq, n);
    }
    // Outbox: odd outgoing messages and every incoming message's receipt.
    let due = store
        .read(|tx| tx.outbox_due(u64::MAX, 1_000))
        .await
        .unwrap();
    let expected = (1..=MAIN_MESSAGES)
        .filter(|n| n.is_multiple_of(3) || !n.is_multiple_of(2))
        .count();
    assert_eq!(due.len(), expected);
    if version >= GROUP_SINCE {
        check_group(&store).await;
    }
    store.close().await.unwrap();
}

/// The group's messages in the group order (docs/protocol.md §G9),
/// computed here from the fixture's definition.
fn expected_group_order(conversation: u64) -> Vec<[u8; 16]> {
    let skew = wren_proto::limits::MAX_GROUP_CLOCK_SKEW_MS;
    let mut keys: Vec<(u64, u64, [u8; 16])> = (0..GROUP_MESSAGES)
        .map(|k| {
            let (_, sent_at, received_at) = group_message(k);
            (
                sent_at.min(received_at + skew),
                sent_at,
                id_of(conversation, k),
            )
        })
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, _, id)| id).collect()
}

/// Checks the fixture's group: its messages by sequence in arrival order,
/// and through the order index in the group order, both ways, in pages.
async fn check_group(store: &Store) {
    let groups = store.read(|tx| tx.groups()).await.unwrap();
    assert_eq!(groups.len(), 1);
    let conversation = groups[0].1.as_ref().unwrap().conversation;
    let by_seq = store
        .read(move |tx| tx.messages(conversation, None, Order::OldestFirst, 1_000))
        .await
        .unwrap();
    let arrival: Vec<[u8; 16]> = by_seq.into_iter().map(|m| m.unwrap().id).collect();
    let expected_arrival: Vec<[u8; 16]> = (0..GROUP_MESSAGES)
        .map(|k| id_of(conversation, k))
        .collect();
    assert_eq!(arrival, expected_arrival);

    let expected = expected_group_order(conversation);
    assert_ne!(expected, expected_arrival, "the fixture tests an order");
    for order in [Order::OldestFirst, Order::NewestFirst] {
        let mut cursor = None;
        let mut ids = Vec::new();
        loop {
            let page = store
                .read(move |tx| tx.group_messages(conversation, cursor, order, 17))
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            cursor = Some(last.as_ref().unwrap().seq);
            for message in page {
                let message = message.unwrap();
                let k = u64::from_be_bytes(message.id[8..].try_into().unwrap());
                let (from, sent_at, received_at) = group_message(k);
                assert_eq!(message.content, format!("group {k}").into_bytes());
                assert_eq!(
                    (message.sent_at, message.received_at),
                    (sent_at, received_at)
                );
                assert_eq!(message.direction == Direction::Outgoing, from == 0);
                ids.push(message.id);
            }
        }
        if order == Order::NewestFirst {
            ids.reverse();
        }
        assert_eq!(ids, expected, "{order:?}");
    }
}

/// Copies a fixture into a fresh directory (opening migrates in place).
fn copy_fixture(version: u32) -> tempfile::TempDir {
    let source = data_dir(version);
    let dir = tempfile::tempdir().unwrap();
    for name in [wren_store::DATABASE_FILE_NAME, wren_store::KEY_FILE_NAME] {
        std::fs::copy(source.join(name), dir.path().join(name)).unwrap();
    }
    let key = dir.path().join(wren_store::KEY_FILE_NAME);
    let mut permissions = std::fs::metadata(&key).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o600);
    std::fs::set_permissions(&key, permissions).unwrap();
    dir
}

#[tokio::test]
async fn current_version_round_trips_the_fixture() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path()).await;
    check_fixture(dir.path(), SCHEMA_VERSION).await;
}

#[tokio::test]
async fn every_earlier_version_opens_and_migrates() {
    for version in 1..SCHEMA_VERSION {
        let dir = copy_fixture(version);
        check_fixture(dir.path(), version).await;
        // Migrated once: the second open finds the current version.
        check_fixture(dir.path(), version).await;
    }
}

/// Writes `tests/data/v{SCHEMA_VERSION}`: run once before bumping the
/// schema version (see the module documentation).
#[tokio::test]
#[ignore = "writes test data; run by hand before a schema change"]
async fn write_fixture_of_current_version() {
    let dir = data_dir(SCHEMA_VERSION);
    std::fs::create_dir_all(&dir).unwrap();
    for name in [wren_store::DATABASE_FILE_NAME, wren_store::KEY_FILE_NAME] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    write_fixture(&dir).await;
    let _ = std::fs::remove_file(dir.join(wren_store::UNLOCK_FILE_NAME));
}
