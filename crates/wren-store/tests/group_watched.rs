//! Published group frames whose members' receipts are awaited: moved from
//! the publication queue in one step, kept across a reopen, removed once,
//! bounded; a version 4 store written before the table existed reads none
//! and takes the first one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{id_of, open_keyfile, text_frame};
use wren_crypto::sender_key::SenderKey;
use wren_store::{
    ConversationKind, DATABASE_FILE_NAME, GroupOutgoing, MAX_WATCHED_GROUP_FRAMES, MessageStatus,
    NewMessage, QueuedPublication, Store, schema,
};

const GROUP: [u8; 32] = [7; 32];

/// The frame published for message `n`.
fn frame(n: u64) -> Vec<u8> {
    format!("frame {n}").into_bytes()
}

/// Creates the group's conversation and queues `count` texts for
/// publication (messages 1 to `count`).
async fn queue_texts(store: &Store, count: u64) {
    let chain = SenderKey::generate(&mut rand::rng());
    store
        .write(move |tx| {
            let conversation =
                tx.create_conversation(ConversationKind::Group { group: GROUP }, "Friends", 1)?;
            for n in 1..=count {
                tx.record_group_outgoing(GroupOutgoing {
                    group: GROUP,
                    conversation,
                    sender_key: &chain,
                    message: NewMessage {
                        id: id_of(n),
                        sender: [0; 32],
                        sent_at: n,
                        received_at: n,
                        content: text_frame(id_of(n), "hello group"),
                        status: MessageStatus::Sending,
                    },
                    frame: frame(n),
                })?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

fn publication(n: u64) -> QueuedPublication {
    QueuedPublication {
        group: GROUP,
        message: id_of(n),
        frame: frame(n),
    }
}

async fn watched(store: &Store) -> Vec<QueuedPublication> {
    store.read(|tx| tx.watched_publications()).await.unwrap()
}

#[tokio::test]
async fn a_published_frame_moves_to_the_watched_ones_survives_a_reopen_and_leaves_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    queue_texts(&store, 2).await;
    let moved = store
        .write(|tx| {
            Ok([
                tx.watch_group_publication(&GROUP, &id_of(1))?,
                // Not queued (any more): nothing to move.
                tx.watch_group_publication(&GROUP, &id_of(1))?,
                tx.watch_group_publication(&GROUP, &id_of(9))?,
            ])
        })
        .await
        .unwrap();
    assert_eq!(moved, [true, false, false]);
    store.close().await.unwrap();

    let store = open_keyfile(dir.path()).await;
    let queue = store.read(|tx| tx.group_publications()).await.unwrap();
    assert_eq!(queue, [publication(2)]);
    assert_eq!(watched(&store).await, [publication(1)]);
    let removed = store
        .write(|tx| {
            Ok([
                tx.remove_watched_publication(&GROUP, &id_of(1))?,
                tx.remove_watched_publication(&GROUP, &id_of(1))?,
            ])
        })
        .await
        .unwrap();
    assert_eq!(removed, [true, false]);
    store.close().await.unwrap();

    let store = open_keyfile(dir.path()).await;
    assert!(watched(&store).await.is_empty());
}

#[tokio::test]
async fn at_the_limit_a_published_frame_only_leaves_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let count = MAX_WATCHED_GROUP_FRAMES as u64 + 1;
    queue_texts(&store, count).await;
    let moved = store
        .write(move |tx| {
            let mut moved = 0;
            for n in 1..=count {
                moved += usize::from(tx.watch_group_publication(&GROUP, &id_of(n))?);
            }
            Ok(moved)
        })
        .await
        .unwrap();
    assert_eq!(moved, MAX_WATCHED_GROUP_FRAMES + 1);
    let rows = watched(&store).await;
    assert_eq!(rows.len(), MAX_WATCHED_GROUP_FRAMES);
    assert!(rows.iter().all(|row| row.message != id_of(count)));
    let queue = store.read(|tx| tx.group_publications()).await.unwrap();
    assert!(queue.is_empty());
}

#[tokio::test]
async fn a_store_written_before_the_table_existed_reads_none_and_takes_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    queue_texts(&store, 1).await;
    store.close().await.unwrap();
    // A version 4 store created before the table was added.
    {
        let db = redb::Database::open(dir.path().join(DATABASE_FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        assert!(txn.delete_table(schema::GROUP_WATCHED).unwrap());
        txn.commit().unwrap();
    }
    let store = open_keyfile(dir.path()).await;
    assert!(watched(&store).await.is_empty());
    let moved = store
        .write(|tx| tx.watch_group_publication(&GROUP, &id_of(1)))
        .await
        .unwrap();
    assert!(moved);
    store.close().await.unwrap();
    let store = open_keyfile(dir.path()).await;
    assert_eq!(watched(&store).await, [publication(1)]);
}
