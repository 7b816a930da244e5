//! The engine's transactions and the queries.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use redb::ReadableTable;
use redb::ReadableTableMetadata;
use wren_store::{
    BLOCK_MAX_MESSAGES, Corruption, DATABASE_FILE_NAME, Direction, Incoming, IncomingOutcome,
    MessageStatus, NewMessage, NewOutbox, Order, Outgoing, StoreError, schema,
};

use common::*;

#[tokio::test]
async fn outgoing_and_incoming_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let (book, key) = contact();
    let bytes = book.to_bytes().to_vec();
    let conv = conversation(&store, key).await;

    let recorded = send(&store, conv, book, key, 1, "hi").await;
    assert_eq!(recorded.seq, 1);
    let (book, _) = (wren_crypto::SessionBook::from_bytes(&bytes).unwrap(), ());
    let outcome = receive(&store, conv, book, key, 2, "hello back").await;
    assert_eq!(
        outcome,
        IncomingOutcome::Stored {
            seq: 2,
            receipt: None
        }
    );

    let sent = store
        .read(|tx| tx.message_by_id(&id_of(1)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.direction, Direction::Outgoing);
    assert_eq!(sent.status, MessageStatus::Sending);
    let got = store
        .read(|tx| tx.message_by_id(&id_of(2)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.direction, Direction::Incoming);
    assert_eq!(got.sender, key);
    assert_eq!(got.content, text_frame(id_of(2), "hello back"));

    let c = store
        .read(move |tx| tx.conversation(conv))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.last_seq, c.unread, c.last_activity), (2, 1, 2));

    let due = store.read(|tx| tx.outbox_due(u64::MAX, 10)).await.unwrap();
    assert_eq!(due.len(), 1);
    let item = due[0].1.as_ref().unwrap();
    assert_eq!(
        (item.conversation, item.seq, item.recipient),
        (conv, 1, key)
    );
    assert_eq!(item.id, recorded.outbox);

    store
        .write(|tx| tx.set_status(&id_of(1), MessageStatus::Failed("no route".into())))
        .await
        .unwrap();
    let sent = store
        .read(|tx| tx.message_by_id(&id_of(1)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.status, MessageStatus::Failed("no route".into()));
    let error = store
        .write(|tx| tx.set_status(&id_of(99), MessageStatus::Sent))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::MessageNotFound));
}

#[tokio::test]
async fn incoming_duplicates_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let (book, key) = contact();
    let bytes = book.to_bytes().to_vec();
    let conv = conversation(&store, key).await;
    receive(&store, conv, book, key, 7, "once").await;
    let book = wren_crypto::SessionBook::from_bytes(&bytes).unwrap();
    let content = text_frame(id_of(7), "twice?");
    let outcome = store
        .write(move |tx| {
            tx.record_incoming(Incoming {
                conversation: conv,
                session: &book,
                message: NewMessage {
                    id: id_of(7),
                    sender: key,
                    sent_at: 9,
                    received_at: 9,
                    content,
                    status: MessageStatus::Received,
                },
                receipt: Some(NewOutbox {
                    recipient: key,
                    envelope: vec![1],
                    next_retry_ms: 0,
                }),
            })
        })
        .await
        .unwrap();
    assert_eq!(
        outcome,
        IncomingOutcome::AlreadyStored {
            conversation: conv,
            seq: 1
        }
    );
    let c = store
        .read(move |tx| tx.conversation(conv))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.last_seq, c.unread), (1, 1));
    assert!(
        store
            .read(|tx| tx.outbox_due(u64::MAX, 10))
            .await
            .unwrap()
            .is_empty()
    );
    let m = store
        .read(|tx| tx.message_by_id(&id_of(7)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.content, text_frame(id_of(7), "once"));
}

#[tokio::test]
async fn failed_transaction_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let (book, key) = contact();
    let (_, other) = contact();
    let conv = conversation(&store, key).await;
    // Outbox recipient is not the session's contact: the whole write fails.
    let error = store
        .write(move |tx| {
            tx.record_outgoing(Outgoing {
                conversation: conv,
                session: &book,
                message: NewMessage {
                    id: id_of(1),
                    sender: [0; 32],
                    sent_at: 1,
                    received_at: 1,
                    content: vec![],
                    status: MessageStatus::Sending,
                },
                outbox: NewOutbox {
                    recipient: other,
                    envelope: vec![],
                    next_retry_ms: 0,
                },
            })
        })
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::SessionContactMismatch));
    // A closure error after a successful step aborts that step too.
    let (book, _) = contact();
    let error = store
        .write(move |tx| {
            tx.set_session(&book)?;
            Err::<(), _>(StoreError::MessageNotFound)
        })
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::MessageNotFound));
    assert!(
        store
            .read(|tx| tx.message_by_id(&id_of(1)))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .read(move |tx| tx.session(&key))
            .await
            .unwrap()
            .is_none()
    );
    let error = store.write(|tx| tx.mark_read(999, 1)).await.unwrap_err();
    assert!(matches!(error, StoreError::ConversationNotFound(999)));
}

#[tokio::test]
async fn unread_counts_and_mark_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let (book, key) = contact();
    let bytes = book.to_bytes().to_vec();
    let conv = conversation(&store, key).await;
    let fresh = || wren_crypto::SessionBook::from_bytes(&bytes).unwrap();
    // seq 1 in, 2 out, 3 in, 4 in, 5 out
    receive(&store, conv, fresh(), key, 1, "a").await;
    send(&store, conv, fresh(), key, 2, "b").await;
    receive(&store, conv, fresh(), key, 3, "c").await;
    receive(&store, conv, fresh(), key, 4, "d").await;
    send(&store, conv, fresh(), key, 5, "e").await;
    let unread = |store: wren_store::Store| async move {
        store
            .read(move |tx| tx.conversation(conv))
            .await
            .unwrap()
            .unwrap()
            .unread
    };
    assert_eq!(unread(store.clone()).await, 3);
    assert_eq!(
        store.write(move |tx| tx.mark_read(conv, 2)).await.unwrap(),
        2
    );
    // Going backwards changes nothing.
    assert_eq!(
        store.write(move |tx| tx.mark_read(conv, 1)).await.unwrap(),
        2
    );
    assert_eq!(
        store.write(move |tx| tx.mark_read(conv, 3)).await.unwrap(),
        1
    );
    assert_eq!(
        store
            .write(move |tx| tx.mark_read(conv, 100))
            .await
            .unwrap(),
        0
    );
    receive(&store, conv, fresh(), key, 6, "f").await;
    assert_eq!(unread(store.clone()).await, 1);
    let c = store
        .read(move |tx| tx.conversation(conv))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.read_up_to, c.last_seq), (5, 6));
}

#[tokio::test]
async fn conversation_list_by_activity() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let (a_book, a) = contact();
    let (b_book, b) = contact();
    let ca = conversation(&store, a).await;
    let cb = conversation(&store, b).await;
    receive(&store, ca, a_book, a, 10, "a").await;
    receive(&store, cb, b_book, b, 20, "b").await;
    let list = store.read(|tx| tx.conversations(10)).await.unwrap();
    let ids: Vec<u64> = list.iter().map(|c| c.as_ref().unwrap().id).collect();
    assert_eq!(ids, [cb, ca]);
    let (a_book, _) = (
        wren_crypto::SessionBook::new(wren_crypto::IdentityKey::from_bytes(&a).unwrap()),
        (),
    );
    send(&store, ca, a_book, a, 30, "again").await;
    let list = store.read(|tx| tx.conversations(10)).await.unwrap();
    let ids: Vec<u64> = list.iter().map(|c| c.as_ref().unwrap().id).collect();
    assert_eq!(ids, [ca, cb]);
    assert_eq!(list[1].as_ref().unwrap().unread, 1);
    let list = store.read(|tx| tx.conversations(1)).await.unwrap();
    assert_eq!(list.len(), 1);
    // Same contact → same conversation.
    assert_eq!(conversation(&store, a).await, ca);
}

#[tokio::test]
async fn paging_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let (book, key) = contact();
    let bytes = book.to_bytes().to_vec();
    let conv = conversation(&store, key).await;
    for n in 1..=25u64 {
        let book = wren_crypto::SessionBook::from_bytes(&bytes).unwrap();
        let body = if n.is_multiple_of(5) {
            format!("Lunch at {n}?")
        } else {
            format!("msg {n}")
        };
        send(&store, conv, book, key, n, &body).await;
    }
    let seqs = |page: Vec<Result<wren_store::Message, wren_store::CorruptMessage>>| {
        page.into_iter().map(|m| m.unwrap().seq).collect::<Vec<_>>()
    };
    let page = store
        .read(move |tx| tx.messages(conv, None, Order::NewestFirst, 10))
        .await
        .unwrap();
    assert_eq!(seqs(page), (16..=25).rev().collect::<Vec<_>>());
    let page = store
        .read(move |tx| tx.messages(conv, Some(16), Order::NewestFirst, 10))
        .await
        .unwrap();
    assert_eq!(seqs(page), (6..=15).rev().collect::<Vec<_>>());
    let page = store
        .read(move |tx| tx.messages(conv, Some(6), Order::NewestFirst, 10))
        .await
        .unwrap();
    assert_eq!(seqs(page), (1..=5).rev().collect::<Vec<_>>());
    let page = store
        .read(move |tx| tx.messages(conv, Some(1), Order::NewestFirst, 10))
        .await
        .unwrap();
    assert!(page.is_empty());
    let page = store
        .read(move |tx| tx.messages(conv, None, Order::OldestFirst, 4))
        .await
        .unwrap();
    assert_eq!(seqs(page), [1, 2, 3, 4]);
    let page = store
        .read(move |tx| tx.messages(conv, Some(22), Order::OldestFirst, 10))
        .await
        .unwrap();
    assert_eq!(seqs(page), [23, 24, 25]);
    // Another conversation's messages never leak into the page.
    let page = store
        .read(move |tx| tx.messages(conv + 1, None, Order::NewestFirst, 10))
        .await
        .unwrap();
    assert!(page.is_empty());

    let found = store
        .read(move |tx| tx.search(conv, "lunch", 10))
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [25, 20, 15, 10, 5]
    );
    let found = store
        .read(move |tx| tx.search(conv, "LUNCH AT 1", 10))
        .await
        .unwrap();
    assert_eq!(found.iter().map(|m| m.seq).collect::<Vec<_>>(), [15, 10]);
    let found = store
        .read(move |tx| tx.search(conv, "lunch", 2))
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert!(
        store
            .read(move |tx| tx.search(conv, "dinner", 10))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn outbox_due_reschedule_remove() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let (book, key) = contact();
    let bytes = book.to_bytes().to_vec();
    let conv = conversation(&store, key).await;
    let mut ids = Vec::new();
    for n in [10u64, 20, 30] {
        let book = wren_crypto::SessionBook::from_bytes(&bytes).unwrap();
        ids.push(send(&store, conv, book, key, n, "x").await.outbox);
    }
    let due_ids = |due: Vec<(u64, wren_store::Result<wren_store::OutboxItem>)>| {
        due.into_iter().map(|(id, _)| id).collect::<Vec<_>>()
    };
    assert_eq!(
        due_ids(store.read(|tx| tx.outbox_due(5, 10)).await.unwrap()),
        Vec::<u64>::new()
    );
    assert_eq!(
        due_ids(store.read(|tx| tx.outbox_due(20, 10)).await.unwrap()),
        ids[..2]
    );
    let first = ids[0];
    store
        .write(move |tx| tx.outbox_reschedule(first, 1, 100))
        .await
        .unwrap();
    assert_eq!(
        due_ids(store.read(|tx| tx.outbox_due(30, 10)).await.unwrap()),
        ids[1..]
    );
    let due = store.read(|tx| tx.outbox_due(100, 10)).await.unwrap();
    assert_eq!(due_ids(due.clone_ids()), [ids[1], ids[2], ids[0]]);
    let item = due
        .into_iter()
        .find(|(id, _)| *id == first)
        .unwrap()
        .1
        .unwrap();
    assert_eq!((item.attempts, item.next_retry_ms), (1, 100));
    assert!(
        store
            .write(move |tx| tx.outbox_remove(first))
            .await
            .unwrap()
    );
    assert!(
        !store
            .write(move |tx| tx.outbox_remove(first))
            .await
            .unwrap()
    );
    assert_eq!(
        due_ids(store.read(|tx| tx.outbox_due(u64::MAX, 10)).await.unwrap()),
        ids[1..]
    );
    assert_eq!(
        due_ids(store.read(|tx| tx.outbox_due(u64::MAX, 1)).await.unwrap()),
        ids[1..2]
    );
    let error = store
        .write(move |tx| tx.outbox_reschedule(first, 2, 5))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::OutboxEntryNotFound));
}

trait CloneIds {
    fn clone_ids(&self) -> Vec<(u64, wren_store::Result<wren_store::OutboxItem>)>;
}

impl CloneIds for Vec<(u64, wren_store::Result<wren_store::OutboxItem>)> {
    fn clone_ids(&self) -> Vec<(u64, wren_store::Result<wren_store::OutboxItem>)> {
        self.iter()
            .map(|(id, _)| (*id, Err(StoreError::Closed)))
            .collect()
    }
}

#[tokio::test]
async fn corrupt_record_is_a_typed_error_for_that_record_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let (book, key) = contact();
    let bytes = book.to_bytes().to_vec();
    let conv = conversation(&store, key).await;
    // Three full blocks, starting at 1, 1 + B and 1 + 2B.
    let b = BLOCK_MAX_MESSAGES as u64;
    for n in 1..=3 * b {
        let book = wren_crypto::SessionBook::from_bytes(&bytes).unwrap();
        send(&store, conv, book, key, n, "text").await;
    }
    store.close().await.unwrap();

    // Flip one byte inside the second block's sealed value, and swap in
    // the first block's value at the third block's key.
    {
        let db = redb::Database::open(dir.path().join(DATABASE_FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(schema::MESSAGE_BLOCKS).unwrap();
            assert_eq!(table.len().unwrap(), 3);
            let mut value = table.get((conv, 1 + b)).unwrap().unwrap().value().to_vec();
            let middle = value.len() / 2;
            value[middle] ^= 0x40;
            table.insert((conv, 1 + b), value.as_slice()).unwrap();
            let first = table.get((conv, 1)).unwrap().unwrap().value().to_vec();
            table.insert((conv, 1 + 2 * b), first.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }

    let store = open_keyfile(dir.path()).await;
    let page = store
        .read(move |tx| tx.messages(conv, None, Order::OldestFirst, 200))
        .await
        .unwrap();
    // The first block's messages, then one error per damaged block.
    assert_eq!(page.len(), BLOCK_MAX_MESSAGES + 2);
    for (n, message) in (1..).zip(&page[..BLOCK_MAX_MESSAGES]) {
        assert_eq!(message.as_ref().unwrap().seq, n);
    }
    let bad = page[BLOCK_MAX_MESSAGES].as_ref().unwrap_err();
    assert_eq!(
        (bad.seq, &bad.corruption),
        (1 + b, &Corruption::Unauthentic)
    );
    let swapped = page[BLOCK_MAX_MESSAGES + 1].as_ref().unwrap_err();
    assert_eq!(
        (swapped.seq, &swapped.corruption),
        (1 + 2 * b, &Corruption::Unauthentic)
    );
    // Newest first reports the same damage, from the other end.
    let page = store
        .read(move |tx| tx.messages(conv, None, Order::NewestFirst, 3))
        .await
        .unwrap();
    assert_eq!(page[0].as_ref().unwrap_err().seq, 1 + 2 * b);
    assert_eq!(page[1].as_ref().unwrap_err().seq, 1 + b);
    assert_eq!(page[2].as_ref().unwrap().seq, b);
    let error = store
        .read(move |tx| tx.message_by_id(&id_of(b + 5)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Corrupt {
                table: "message_blocks",
                corruption: Corruption::Unauthentic
            }
        ),
        "{error:?}"
    );
    assert!(
        store
            .read(|tx| tx.message_by_id(&id_of(1)))
            .await
            .unwrap()
            .is_some()
    );
    // Search skips the bad ones; writes keep working (in a new block: the
    // damaged one is never written to) and read back.
    assert_eq!(
        store
            .read(move |tx| tx.search(conv, "text", 100))
            .await
            .unwrap()
            .len(),
        BLOCK_MAX_MESSAGES
    );
    let book = wren_crypto::SessionBook::from_bytes(&bytes).unwrap();
    let next = 3 * b + 1;
    assert_eq!(send(&store, conv, book, key, next, "more").await.seq, next);
    let found = store
        .read(move |tx| tx.message_by_id(&id_of(next)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.seq, next);
    // A corrupt session is a typed error too.
    store.close().await.unwrap();
    {
        let db = redb::Database::open(dir.path().join(DATABASE_FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(schema::SESSIONS)
            .unwrap()
            .insert(key, [1u8, 2, 3].as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let store = open_keyfile(dir.path()).await;
    let error = store.read(move |tx| tx.session(&key)).await.unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Corrupt {
                table: "sessions",
                corruption: Corruption::Malformed
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn store_handle_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<wren_store::Store>();
}

#[tokio::test]
async fn corrupt_outbox_entry_is_reported_and_removable() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let (book, key) = contact();
    let bytes = book.to_bytes().to_vec();
    let conv = conversation(&store, key).await;
    let first = send(&store, conv, book, key, 1, "a").await.outbox;
    let book = wren_crypto::SessionBook::from_bytes(&bytes).unwrap();
    let second = send(&store, conv, book, key, 2, "b").await.outbox;
    store.close().await.unwrap();
    {
        let db = redb::Database::open(dir.path().join(DATABASE_FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(schema::OUTBOX).unwrap();
            let value = table.get(first).unwrap().unwrap().value().to_vec();
            // Truncated: the envelope is cut short.
            table.insert(first, &value[..value.len() - 20]).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = open_keyfile(dir.path()).await;
    let due = store.read(|tx| tx.outbox_due(u64::MAX, 10)).await.unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(due[0].0, first);
    assert!(matches!(
        due[0].1,
        Err(StoreError::Corrupt {
            table: "outbox",
            corruption: Corruption::Decode(_)
        })
    ));
    assert_eq!(due[1].1.as_ref().unwrap().id, second);
    assert!(
        store
            .write(move |tx| tx.outbox_remove(first))
            .await
            .unwrap()
    );
    let due = store.read(|tx| tx.outbox_due(u64::MAX, 10)).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].0, second);
}

#[tokio::test]
async fn envelopes_without_a_message_commit_with_their_session() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let (book, key) = contact();
    let bytes = book.to_bytes().to_vec();
    let id = store
        .write(move |tx| {
            tx.enqueue(
                &book,
                NewOutbox {
                    recipient: key,
                    envelope: vec![5; 30],
                    next_retry_ms: 7,
                },
            )
        })
        .await
        .unwrap();
    let due = store.read(|tx| tx.outbox_due(u64::MAX, 10)).await.unwrap();
    assert_eq!(due.len(), 1);
    let item = due[0].1.as_ref().unwrap();
    assert_eq!((item.id, item.conversation, item.seq), (id, 0, 0));
    assert_eq!(item.envelope, vec![5; 30]);
    assert!(
        store
            .read(move |tx| tx.session(&key))
            .await
            .unwrap()
            .is_some()
    );
    // No conversation or message appeared.
    assert!(
        store
            .read(|tx| tx.conversations(10))
            .await
            .unwrap()
            .is_empty()
    );
    // The recipient must be the session's contact.
    let (_, other) = contact();
    let book = wren_crypto::SessionBook::from_bytes(&bytes).unwrap();
    let error = store
        .write(move |tx| {
            tx.enqueue(
                &book,
                NewOutbox {
                    recipient: other,
                    envelope: vec![1],
                    next_retry_ms: 0,
                },
            )
        })
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::SessionContactMismatch));
}

#[tokio::test]
async fn contacts_and_requests_are_listed_with_bad_records_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let keys: Vec<[u8; 32]> = (0..3).map(|_| contact().1).collect();
    let written = keys.clone();
    store
        .write(move |tx| {
            for (n, key) in written.iter().enumerate() {
                tx.put_contact(
                    key,
                    &wren_store::Contact {
                        alias: format!("c{n}"),
                        verification: wren_store::Verification::Unverified,
                        addresses: vec![],
                        relays: vec![],
                        blocked: false,
                        added_at: n as u64,
                    },
                )?;
                tx.put_contact_request(
                    key,
                    &wren_store::StoredContactRequest {
                        payload: vec![n as u8; 4],
                        received_at: n as u64,
                    },
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    store.close().await.unwrap();
    // Damage one contact record.
    {
        let db = redb::Database::open(dir.path().join(DATABASE_FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(schema::CONTACTS)
            .unwrap()
            .insert(keys[1], [0u8; 60].as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let store = open_keyfile(dir.path()).await;
    let contacts = store.read(|tx| tx.contacts()).await.unwrap();
    assert_eq!(contacts.len(), 3);
    let mut aliases: Vec<_> = contacts
        .iter()
        .filter_map(|(_, c)| c.as_ref().ok().map(|c| c.alias.clone()))
        .collect();
    aliases.sort();
    assert_eq!(aliases, ["c0", "c2"]);
    let bad: Vec<_> = contacts
        .iter()
        .filter(|(_, c)| c.is_err())
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(bad, [keys[1]]);
    let requests = store.read(|tx| tx.contact_requests()).await.unwrap();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|(_, r)| r.is_ok()));
}

#[tokio::test]
async fn a_write_transaction_reads_its_own_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let (book, key) = contact();
    let conv = conversation(&store, key).await;
    send(&store, conv, book, key, 1, "stored before").await;
    let found = store
        .write(move |tx| {
            let before = tx.message_by_id(&id_of(1))?.map(|m| (m.seq, m.status));
            tx.set_status(&id_of(1), MessageStatus::Read)?;
            let after = tx.message_by_id(&id_of(1))?.map(|m| m.status);
            let missing = tx.message_by_id(&id_of(99))?;
            Ok((before, after, missing.is_none()))
        })
        .await
        .unwrap();
    assert_eq!(
        found,
        (
            Some((1, MessageStatus::Sending)),
            Some(MessageStatus::Read),
            true
        )
    );
}
