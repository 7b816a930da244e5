//! The group order index (docs/protocol.md §G9): a group's history reads
//! in the order of `(time, sent_at, id)` whatever the order of arrival,
//! pages by cursor both ways, bounds times from a clock far ahead, is not
//! written twice for a duplicate, and leaves direct conversations alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{contact, id_of, open_keyfile, receive, text_frame};
use proptest::prelude::*;
use wren_crypto::sender_key::{SenderKey, SenderKeyReceiver};
use wren_proto::limits::MAX_GROUP_CLOCK_SKEW_MS;
use wren_store::{
    ConversationKind, GroupIncoming, GroupOutgoing, IncomingOutcome, MAX_LAST_SENT_SCAN,
    MessageStatus, NewMessage, Order, Store, StoreError,
};

const GROUP: [u8; 32] = [7; 32];

/// A group message as it arrives: id, sender (0: us), sent_at,
/// received_at.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    id: [u8; 16],
    sender: u8,
    sent_at: u64,
    received_at: u64,
}

fn member(n: u8) -> [u8; 32] {
    [100 + n; 32]
}

async fn group_conversation(store: &Store) -> u64 {
    store
        .write(|tx| tx.create_conversation(ConversationKind::Group { group: GROUP }, "g", 0))
        .await
        .unwrap()
}

/// Stores `arrivals` in this order, one transaction for all; returns what
/// each store call said.
async fn store_all(store: &Store, conversation: u64, arrivals: &[Arrival]) -> Vec<IncomingOutcome> {
    let arrivals = arrivals.to_vec();
    store
        .write(move |tx| {
            let chain = SenderKey::generate(&mut rand::rng());
            let receiver =
                SenderKeyReceiver::new(&SenderKey::generate(&mut rand::rng()).distribution());
            let mut out = Vec::new();
            for a in arrivals {
                let message = NewMessage {
                    id: a.id,
                    sender: member(a.sender),
                    sent_at: a.sent_at,
                    received_at: a.received_at,
                    content: text_frame(a.id, "hi"),
                    status: if a.sender == 0 {
                        MessageStatus::Sending
                    } else {
                        MessageStatus::Received
                    },
                };
                if a.sender == 0 {
                    let seq = tx.record_group_outgoing(GroupOutgoing {
                        group: GROUP,
                        conversation,
                        sender_key: &chain,
                        message,
                        frame: vec![1],
                    })?;
                    out.push(IncomingOutcome::Stored { seq, receipt: None });
                } else {
                    out.push(tx.record_group_incoming(GroupIncoming {
                        group: GROUP,
                        conversation,
                        sender: member(a.sender),
                        receiver: &receiver,
                        message,
                    })?);
                }
            }
            Ok(out)
        })
        .await
        .unwrap()
}

/// The group's message ids, read in pages of `page` in `order` (returned
/// oldest first).
async fn read_all(store: &Store, conversation: u64, order: Order, page: usize) -> Vec<[u8; 16]> {
    let mut cursor = None;
    let mut ids = Vec::new();
    loop {
        let got = store
            .read(move |tx| tx.group_messages(conversation, cursor, order, page))
            .await
            .unwrap();
        let Some(last) = got.last() else { break };
        cursor = Some(last.as_ref().unwrap().seq);
        ids.extend(got.into_iter().map(|m| m.unwrap().id));
    }
    if order == Order::NewestFirst {
        ids.reverse();
    }
    ids
}

/// The order the definition gives.
fn model_order(arrivals: &[Arrival]) -> Vec<[u8; 16]> {
    let mut keys: Vec<_> = arrivals
        .iter()
        .map(|a| {
            let time = a.sent_at.min(a.received_at + MAX_GROUP_CLOCK_SKEW_MS);
            (time, a.sent_at, a.id)
        })
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, _, id)| id).collect()
}

fn arrivals() -> impl Strategy<Value = Vec<Arrival>> {
    // Few distinct send times, so that ties are common; receipt within the
    // clock bound, so that the order depends on the messages alone.
    proptest::collection::vec((0u8..4, 0u64..20, 0u64..1_000), 1..60).prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(n, (sender, sent, delay))| Arrival {
                // Ids not in index order.
                id: id_of((n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                sender,
                sent_at: 1_000_000 + sent,
                received_at: 1_000_000 + sent + delay,
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Two members receiving the same messages in different orders (and
    /// at different times) show the same history: the definition's.
    #[test]
    fn every_arrival_order_gives_the_same_history(
        messages in arrivals(),
        shuffle in any::<proptest::sample::Index>(),
        page in 1usize..20,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async move {
            let mut other = messages.clone();
            // A different arrival order: rotated and reversed.
            let at = shuffle.index(other.len());
            other.rotate_left(at);
            other.reverse();
            for a in &mut other {
                a.received_at += 500;
            }
            let expected = model_order(&messages);
            for arrivals in [messages, other] {
                let dir = tempfile::tempdir().unwrap();
                let store = open_keyfile(dir.path()).await;
                let conversation = group_conversation(&store).await;
                store_all(&store, conversation, &arrivals).await;
                for order in [Order::OldestFirst, Order::NewestFirst] {
                    assert_eq!(read_all(&store, conversation, order, page).await, expected);
                }
                store.close().await.unwrap();
            }
        });
    }
}

#[tokio::test]
async fn a_time_far_ahead_sorts_at_receipt_plus_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let conversation = group_conversation(&store).await;
    let now = 10_000_000;
    let arrivals = [
        // A clock an hour ahead: two messages, stored in one millisecond.
        Arrival {
            id: id_of(1),
            sender: 1,
            sent_at: now + 3_600_000,
            received_at: now,
        },
        Arrival {
            id: id_of(0),
            sender: 1,
            sent_at: now + 3_600_001,
            received_at: now,
        },
        // Just within the bound, then just past the bounded time.
        Arrival {
            id: id_of(2),
            sender: 2,
            sent_at: now + MAX_GROUP_CLOCK_SKEW_MS - 1,
            received_at: now,
        },
        Arrival {
            id: id_of(3),
            sender: 0,
            sent_at: now + MAX_GROUP_CLOCK_SKEW_MS + 1,
            received_at: now + 1,
        },
    ];
    store_all(&store, conversation, &arrivals).await;
    let ids = read_all(&store, conversation, Order::OldestFirst, 10).await;
    // The bounded pair keeps its sender's order, after the message just
    // within the bound and before a later one.
    assert_eq!(ids, vec![id_of(2), id_of(1), id_of(0), id_of(3)]);
    assert_eq!(ids, model_order(&arrivals));
    store.close().await.unwrap();
}

#[tokio::test]
async fn cursors_exclude_their_message_and_page_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let conversation = group_conversation(&store).await;
    // Arrival order (= sequence) is the reverse of the group order.
    let arrivals: Vec<Arrival> = (0..10u64)
        .map(|n| Arrival {
            id: id_of(n),
            sender: (n % 3) as u8,
            sent_at: 1_000 - n,
            received_at: 2_000 + n,
        })
        .collect();
    store_all(&store, conversation, &arrivals).await;
    let order = read_all(&store, conversation, Order::OldestFirst, 100).await;
    assert_eq!(order, (0..10).rev().map(id_of).collect::<Vec<_>>());
    // The message with id n is at sequence n + 1.
    let seq_of = |id: [u8; 16]| u64::from_be_bytes(id[..8].try_into().unwrap()) + 1;
    for (at, id) in order.iter().enumerate() {
        let cursor = Some(seq_of(*id));
        let (older, newer) = store
            .read(move |tx| {
                Ok((
                    tx.group_messages(conversation, cursor, Order::NewestFirst, 100)?,
                    tx.group_messages(conversation, cursor, Order::OldestFirst, 100)?,
                ))
            })
            .await
            .unwrap();
        let older: Vec<_> = older.into_iter().rev().map(|m| m.unwrap().id).collect();
        let newer: Vec<_> = newer.into_iter().map(|m| m.unwrap().id).collect();
        assert_eq!(older, order[..at]);
        assert_eq!(newer, order[at + 1..]);
    }
    // 0 stands before everything, past the last sequence after everything.
    let (none_before, all_after, all_before, none_after, limited) = store
        .read(move |tx| {
            Ok((
                tx.group_messages(conversation, Some(0), Order::NewestFirst, 100)?,
                tx.group_messages(conversation, Some(0), Order::OldestFirst, 100)?,
                tx.group_messages(conversation, Some(11), Order::NewestFirst, 100)?,
                tx.group_messages(conversation, Some(u64::MAX), Order::OldestFirst, 100)?,
                tx.group_messages(conversation, None, Order::NewestFirst, 3)?,
            ))
        })
        .await
        .unwrap();
    assert!(none_before.is_empty() && none_after.is_empty());
    assert_eq!(all_after.len(), 10);
    assert_eq!(all_before.len(), 10);
    let limited: Vec<_> = limited.into_iter().map(|m| m.unwrap().id).collect();
    assert_eq!(limited, vec![id_of(0), id_of(1), id_of(2)]);
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_duplicate_is_indexed_once_and_direct_conversations_have_no_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let conversation = group_conversation(&store).await;
    let first = Arrival {
        id: id_of(1),
        sender: 1,
        sent_at: 5,
        received_at: 6,
    };
    // The same message again, later (another path): nothing changes.
    let again = Arrival {
        received_at: 60_000,
        ..first
    };
    let outcomes = store_all(&store, conversation, &[first, again]).await;
    assert!(matches!(
        outcomes[1],
        IncomingOutcome::AlreadyStored { seq: 1, .. }
    ));
    assert_eq!(
        read_all(&store, conversation, Order::OldestFirst, 10).await,
        vec![id_of(1)]
    );

    let (book, key) = contact();
    let direct = common::conversation(&store, key).await;
    receive(&store, direct, book, key, 2, "direct").await;
    let (by_order, by_seq) = store
        .read(move |tx| {
            Ok((
                tx.group_messages(direct, None, Order::OldestFirst, 10)?,
                tx.messages(direct, None, Order::OldestFirst, 10)?,
            ))
        })
        .await
        .unwrap();
    assert!(by_order.is_empty());
    assert_eq!(by_seq.len(), 1);
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_cursor_with_no_message_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let conversation = group_conversation(&store).await;
    let result = store
        .read(move |tx| tx.group_messages(conversation + 1, Some(3), Order::NewestFirst, 10))
        .await;
    assert!(
        matches!(result, Err(StoreError::MessageNotFound)),
        "{result:?}"
    );
    store.close().await.unwrap();
}

#[tokio::test]
async fn our_last_sent_at_is_found_behind_the_others_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let conversation = group_conversation(&store).await;
    assert_eq!(
        store
            .read(move |tx| tx.group_last_sent(conversation))
            .await
            .unwrap(),
        None
    );
    // Ours at 500, then others' messages with earlier and later times.
    let mut arrivals = vec![Arrival {
        id: id_of(0),
        sender: 0,
        sent_at: 500,
        received_at: 500,
    }];
    arrivals.extend((1..100u64).map(|n| Arrival {
        id: id_of(n),
        sender: 1,
        sent_at: 400 + n * 2,
        received_at: 600,
    }));
    store_all(&store, conversation, &arrivals).await;
    let last = store
        .read(move |tx| tx.group_last_sent(conversation))
        .await
        .unwrap();
    assert_eq!(last, Some(500));

    // More than the scan's worth of others' messages after ours: the
    // latest send time of the group, which is no earlier.
    let others: Vec<Arrival> = (0..MAX_LAST_SENT_SCAN as u64 + 10)
        .map(|n| Arrival {
            id: id_of(1_000 + n),
            sender: 2,
            sent_at: 300 + n % 7,
            received_at: 700,
        })
        .collect();
    store_all(&store, conversation, &others).await;
    let last = store
        .read(move |tx| tx.group_last_sent(conversation))
        .await
        .unwrap();
    assert_eq!(last, Some(400 + 99 * 2));
    store.close().await.unwrap();
}
