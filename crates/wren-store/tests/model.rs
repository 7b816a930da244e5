//! Model-based property test: random operations applied to the store and to
//! an in-memory model (`BTreeMap`s); after every step the two agree, and the
//! unread counts and the message-id index stay consistent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use wren_crypto::{IdentityKey, SessionBook};
use wren_store::{
    Direction, Incoming, IncomingOutcome, MessageStatus, NewMessage, NewOutbox, Order, Outgoing,
    Store,
};

use common::{id_of, open_keyfile, text_frame};

#[derive(Debug, Clone)]
enum Op {
    Send {
        contact: usize,
    },
    Receive {
        contact: usize,
        id: u64,
    },
    MarkRead {
        contact: usize,
        up_to: u64,
    },
    SetStatus {
        message: usize,
    },
    Reschedule {
        entry: usize,
        at: u64,
    },
    Remove {
        entry: usize,
    },
    /// Many messages in one transaction (filling and crossing message
    /// blocks), then a status change and a read marker in the same
    /// transaction.
    Burst {
        contact: usize,
        count: u64,
        status_of: usize,
        read_up_to: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize).prop_map(|contact| Op::Send { contact }),
        // Small id space for incoming: duplicates happen.
        (0..3usize, 1_000..1_012u64).prop_map(|(contact, id)| Op::Receive { contact, id }),
        (0..3usize, 0..200u64).prop_map(|(contact, up_to)| Op::MarkRead { contact, up_to }),
        (0..256usize).prop_map(|message| Op::SetStatus { message }),
        (0..3usize, 1..80u64, 0..256usize, 0..200u64).prop_map(
            |(contact, count, status_of, read_up_to)| Op::Burst {
                contact,
                count,
                status_of,
                read_up_to
            }
        ),
        (0..16usize, 0..100u64).prop_map(|(entry, at)| Op::Reschedule { entry, at }),
        (0..16usize).prop_map(|entry| Op::Remove { entry }),
    ]
}

#[derive(Default)]
struct Model {
    /// (conversation, seq) → (id, direction, status)
    messages: BTreeMap<(u64, u64), ([u8; 16], Direction, MessageStatus)>,
    ids: BTreeMap<[u8; 16], (u64, u64)>,
    read_up_to: BTreeMap<u64, u64>,
    /// outbox id → (next retry, attempts)
    outbox: BTreeMap<u64, (u64, u32)>,
}

impl Model {
    fn last_seq(&self, conv: u64) -> u64 {
        self.messages
            .range((conv, 0)..=(conv, u64::MAX))
            .next_back()
            .map_or(0, |((_, s), _)| *s)
    }

    fn unread(&self, conv: u64) -> u64 {
        let read = self.read_up_to.get(&conv).copied().unwrap_or(0);
        self.messages
            .range((conv, read + 1)..=(conv, u64::MAX))
            .filter(|(_, (_, d, _))| *d == Direction::Incoming)
            .count() as u64
    }
}

fn identity(i: usize) -> [u8; 32] {
    let pair = wren_crypto::IdentityKeyPair::from_secret_bytes(&[i as u8 + 1; 32]);
    pair.public().to_bytes()
}

fn book(contact: [u8; 32]) -> SessionBook {
    SessionBook::new(IdentityKey::from_bytes(&contact).unwrap())
}

async fn apply(store: &Store, model: &mut Model, convs: &[u64], next_out: &mut u64, op: Op) {
    match op {
        Op::Send { contact } => {
            let key = identity(contact);
            let conv = convs[contact];
            *next_out += 1;
            let n = *next_out;
            let recorded = store
                .write(move |tx| {
                    tx.record_outgoing(Outgoing {
                        conversation: conv,
                        session: &book(key),
                        message: NewMessage {
                            id: id_of(n),
                            sender: [0; 32],
                            sent_at: n,
                            received_at: n,
                            content: text_frame(id_of(n), "out"),
                            status: MessageStatus::Sending,
                        },
                        outbox: NewOutbox {
                            recipient: key,
                            envelope: vec![1],
                            next_retry_ms: n,
                        },
                    })
                })
                .await
                .unwrap();
            let seq = model.last_seq(conv) + 1;
            assert_eq!(recorded.seq, seq);
            model.messages.insert(
                (conv, seq),
                (id_of(n), Direction::Outgoing, MessageStatus::Sending),
            );
            model.ids.insert(id_of(n), (conv, seq));
            model.outbox.insert(recorded.outbox, (n, 0));
        }
        Op::Receive { contact, id } => {
            let key = identity(contact);
            let conv = convs[contact];
            let outcome = store
                .write(move |tx| {
                    tx.record_incoming(Incoming {
                        conversation: conv,
                        session: &book(key),
                        message: NewMessage {
                            id: id_of(id),
                            sender: key,
                            sent_at: id,
                            received_at: id,
                            content: text_frame(id_of(id), "in"),
                            status: MessageStatus::Received,
                        },
                        receipt: Some(NewOutbox {
                            recipient: key,
                            envelope: vec![2],
                            next_retry_ms: 0,
                        }),
                    })
                })
                .await
                .unwrap();
            match model.ids.get(&id_of(id)) {
                Some(&(c, s)) => assert_eq!(
                    outcome,
                    IncomingOutcome::AlreadyStored {
                        conversation: c,
                        seq: s
                    }
                ),
                None => {
                    let seq = model.last_seq(conv) + 1;
                    let IncomingOutcome::Stored {
                        seq: got,
                        receipt: Some(receipt),
                    } = outcome
                    else {
                        panic!("{outcome:?}");
                    };
                    assert_eq!(got, seq);
                    model.messages.insert(
                        (conv, seq),
                        (id_of(id), Direction::Incoming, MessageStatus::Received),
                    );
                    model.ids.insert(id_of(id), (conv, seq));
                    model.outbox.insert(receipt, (0, 0));
                }
            }
        }
        Op::MarkRead { contact, up_to } => {
            let conv = convs[contact];
            let unread = store
                .write(move |tx| tx.mark_read(conv, up_to))
                .await
                .unwrap();
            let target = up_to.min(model.last_seq(conv));
            let read = model.read_up_to.entry(conv).or_insert(0);
            *read = (*read).max(target);
            assert_eq!(unread, model.unread(conv));
        }
        Op::SetStatus { message } => {
            let Some((&id, _)) = model.ids.iter().nth(message) else {
                return;
            };
            store
                .write(move |tx| tx.set_status(&id, MessageStatus::Delivered))
                .await
                .unwrap();
            let at = model.ids[&id];
            model.messages.get_mut(&at).unwrap().2 = MessageStatus::Delivered;
        }
        Op::Reschedule { entry, at } => {
            let Some((&id, &(_, attempts))) = model.outbox.iter().nth(entry) else {
                return;
            };
            store
                .write(move |tx| tx.outbox_reschedule(id, attempts + 1, at))
                .await
                .unwrap();
            model.outbox.insert(id, (at, attempts + 1));
        }
        Op::Burst {
            contact,
            count,
            status_of,
            read_up_to,
        } => {
            let key = identity(contact);
            let conv = convs[contact];
            let start = *next_out;
            *next_out += count;
            let status_id = model.ids.keys().nth(status_of).copied();
            let (recorded, unread) = store
                .write(move |tx| {
                    let mut recorded = Vec::new();
                    for n in start + 1..=start + count {
                        recorded.push(tx.record_outgoing(Outgoing {
                            conversation: conv,
                            session: &book(key),
                            message: NewMessage {
                                id: id_of(n),
                                sender: [0; 32],
                                sent_at: n,
                                received_at: n,
                                content: text_frame(id_of(n), &"b".repeat(n as usize % 700)),
                                status: MessageStatus::Sending,
                            },
                            outbox: NewOutbox {
                                recipient: key,
                                envelope: vec![3],
                                next_retry_ms: n,
                            },
                        })?);
                    }
                    if let Some(id) = status_id {
                        tx.set_status(&id, MessageStatus::Read)?;
                    }
                    let unread = tx.mark_read(conv, read_up_to)?;
                    Ok((recorded, unread))
                })
                .await
                .unwrap();
            for (n, recorded) in (start + 1..).zip(recorded) {
                let seq = model.last_seq(conv) + 1;
                assert_eq!(recorded.seq, seq);
                model.messages.insert(
                    (conv, seq),
                    (id_of(n), Direction::Outgoing, MessageStatus::Sending),
                );
                model.ids.insert(id_of(n), (conv, seq));
                model.outbox.insert(recorded.outbox, (n, 0));
            }
            if let Some(id) = status_id {
                let at = model.ids[&id];
                model.messages.get_mut(&at).unwrap().2 = MessageStatus::Read;
            }
            let target = read_up_to.min(model.last_seq(conv));
            let read = model.read_up_to.entry(conv).or_insert(0);
            *read = (*read).max(target);
            assert_eq!(unread, model.unread(conv));
        }
        Op::Remove { entry } => {
            let Some((&id, _)) = model.outbox.iter().nth(entry) else {
                return;
            };
            assert!(store.write(move |tx| tx.outbox_remove(id)).await.unwrap());
            model.outbox.remove(&id);
        }
    }
}

/// Checks that store and model agree: every conversation's summary and
/// messages (both directions, paged), every id in the index (and one that
/// is not), and the outbox.
async fn check(store: &Store, model: &Model, convs: &[u64]) {
    for &conv in convs {
        let (c, page) = store
            .read(move |tx| {
                Ok((
                    tx.conversation(conv)?.unwrap(),
                    tx.messages(conv, None, Order::OldestFirst, usize::MAX)?,
                ))
            })
            .await
            .unwrap();
        assert_eq!(c.unread, model.unread(conv));
        assert_eq!(c.last_seq, model.last_seq(conv));
        let stored: Vec<_> = page
            .into_iter()
            .map(|m| {
                let m = m.unwrap();
                ((conv, m.seq), (m.id, m.direction, m.status))
            })
            .collect();
        let expected: Vec<_> = model
            .messages
            .range((conv, 0)..=(conv, u64::MAX))
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        assert_eq!(stored, expected);
        // Newest first in pages of 13, cursor by cursor, gives the reverse.
        let pages = store
            .read(move |tx| {
                let mut cursor = None;
                let mut pages = Vec::new();
                loop {
                    let page = tx.messages(conv, cursor, Order::NewestFirst, 13)?;
                    let Some(last) = page.last() else { break };
                    cursor = Some(last.as_ref().unwrap().seq);
                    pages.extend(page.into_iter().map(|m| m.unwrap().seq));
                }
                Ok(pages)
            })
            .await
            .unwrap();
        let mut reversed: Vec<u64> = expected.iter().map(|((_, seq), _)| *seq).collect();
        reversed.reverse();
        assert_eq!(pages, reversed);
    }
    let mut ids: Vec<[u8; 16]> = model.ids.keys().copied().collect();
    ids.push(id_of(u64::MAX));
    let expected: Vec<_> = ids.iter().map(|id| model.ids.get(id).copied()).collect();
    let found = store
        .read(move |tx| {
            ids.iter()
                .map(|id| {
                    tx.message_by_id(id)
                        .map(|m| m.map(|m| (m.conversation, m.seq)))
                })
                .collect::<wren_store::Result<Vec<_>>>()
        })
        .await
        .unwrap();
    assert_eq!(found, expected);
    let due = store
        .read(|tx| tx.outbox_due(u64::MAX, usize::MAX))
        .await
        .unwrap();
    let mut stored: Vec<_> = due
        .into_iter()
        .map(|(id, item)| {
            let item = item.unwrap();
            (id, (item.next_retry_ms, item.attempts))
        })
        .collect();
    stored.sort();
    let expected: Vec<_> = model.outbox.iter().map(|(k, v)| (*k, *v)).collect();
    assert_eq!(stored, expected);
    // Due order is by retry time.
    let due = store
        .read(|tx| tx.outbox_due(50, usize::MAX))
        .await
        .unwrap();
    let expected = model.outbox.values().filter(|(at, _)| *at <= 50).count();
    assert_eq!(due.len(), expected);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn store_agrees_with_model(ops in proptest::collection::vec(op(), 1..60)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async move {
            let dir = tempfile::tempdir().unwrap();
            let store = open_keyfile(dir.path()).await;
            let mut convs = Vec::new();
            for i in 0..3 {
                let key = identity(i);
                convs.push(store.write(move |tx| tx.direct_conversation(&key, 0)).await.unwrap());
            }
            let mut model = Model::default();
            let mut next_out = 0u64;
            for op in ops {
                apply(&store, &mut model, &convs, &mut next_out, op).await;
                check(&store, &model, &convs).await;
            }
            // And after a reopen.
            store.close().await.unwrap();
            let store = open_keyfile(dir.path()).await;
            check(&store, &model, &convs).await;
        });
    }
}
