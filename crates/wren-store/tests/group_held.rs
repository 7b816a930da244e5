//! Held group frames: stored sealed under (group, SHA-256 of the frame),
//! moved between holds by replacing their row, removed, bounded, and kept
//! across a reopen; a version 4 store written before the table existed
//! reads none and takes the first one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::open_keyfile;
use wren_proto::group::group_message_id;
use wren_store::schema;
use wren_store::{DATABASE_FILE_NAME, HeldFrame, HoldKind, MAX_HELD_GROUP_FRAMES, Store};

const GROUP: [u8; 32] = [7; 32];
const OTHER: [u8; 32] = [8; 32];

fn held(group: [u8; 32], hold: HoldKind, held_at: u64, frame: &[u8]) -> HeldFrame {
    HeldFrame {
        group,
        hold,
        held_at,
        frame: frame.to_vec(),
    }
}

/// Every held frame, as (group, id, hold, held_at, frame).
async fn listed(store: &Store) -> Vec<Row> {
    store
        .read(|tx| tx.group_held())
        .await
        .unwrap()
        .into_iter()
        .map(|(group, id, frame)| {
            let frame = frame.unwrap();
            assert_eq!(frame.group, group);
            (group, id, frame.hold, frame.held_at, frame.frame)
        })
        .collect()
}

/// A row of [`listed`].
type Row = ([u8; 32], [u8; 32], HoldKind, u64, Vec<u8>);

/// A listed row: group, frame id, hold, when held, frame.
fn row(group: [u8; 32], frame: &[u8], hold: HoldKind, held_at: u64) -> Row {
    (
        group,
        group_message_id(frame),
        hold,
        held_at,
        frame.to_vec(),
    )
}

#[tokio::test]
async fn held_frames_are_put_moved_removed_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    assert!(listed(&store).await.is_empty());
    let stored = store
        .write(|tx| {
            Ok([
                tx.put_group_held(&held(GROUP, HoldKind::Chain, 10, b"first"))?,
                tx.put_group_held(&held(GROUP, HoldKind::Unadmitted, 11, b"second"))?,
                tx.put_group_held(&held(OTHER, HoldKind::Chain, 12, b"third"))?,
            ])
        })
        .await
        .unwrap();
    assert_eq!(stored, [true; 3]);
    store.close().await.unwrap();

    let store = open_keyfile(dir.path()).await;
    let mut expected = vec![
        row(GROUP, b"first", HoldKind::Chain, 10),
        row(GROUP, b"second", HoldKind::Unadmitted, 11),
        row(OTHER, b"third", HoldKind::Chain, 12),
    ];
    expected.sort_by_key(|row| (row.0, row.1));
    assert_eq!(listed(&store).await, expected);

    // The second frame moves to the chain hold (one row, replaced); the
    // first is opened and removed, once.
    let removed = store
        .write(|tx| {
            tx.put_group_held(&held(GROUP, HoldKind::Chain, 20, b"second"))?;
            Ok([
                tx.remove_group_held(&GROUP, &group_message_id(b"first"))?,
                tx.remove_group_held(&GROUP, &group_message_id(b"first"))?,
            ])
        })
        .await
        .unwrap();
    assert_eq!(removed, [true, false]);
    store.close().await.unwrap();

    let store = open_keyfile(dir.path()).await;
    let mut expected = vec![
        row(GROUP, b"second", HoldKind::Chain, 20),
        row(OTHER, b"third", HoldKind::Chain, 12),
    ];
    expected.sort_by_key(|row| (row.0, row.1));
    assert_eq!(listed(&store).await, expected);
}

#[tokio::test]
async fn held_frames_stop_at_the_limit_and_a_held_frame_is_still_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let stored = store
        .write(|tx| {
            let mut stored = 0;
            for n in 0..MAX_HELD_GROUP_FRAMES as u32 + 3 {
                let frame = n.to_be_bytes();
                stored += usize::from(tx.put_group_held(&held(
                    GROUP,
                    HoldKind::Chain,
                    u64::from(n),
                    &frame,
                ))?);
            }
            // A frame already held moves to the other hold at the limit.
            let moved =
                tx.put_group_held(&held(GROUP, HoldKind::Unadmitted, 99, &0u32.to_be_bytes()))?;
            Ok((stored, moved))
        })
        .await
        .unwrap();
    assert_eq!(stored, (MAX_HELD_GROUP_FRAMES, true));
    let rows = listed(&store).await;
    assert_eq!(rows.len(), MAX_HELD_GROUP_FRAMES);
    assert!(
        rows.iter()
            .any(|row| row.2 == HoldKind::Unadmitted && row.3 == 99 && row.4 == 0u32.to_be_bytes())
    );
}

#[tokio::test]
async fn a_store_written_before_the_table_existed_reads_none_and_takes_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    store.close().await.unwrap();
    // A version 4 store created before the table was added.
    {
        let db = redb::Database::open(dir.path().join(DATABASE_FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        assert!(txn.delete_table(schema::GROUP_HELD).unwrap());
        txn.commit().unwrap();
    }
    let store = open_keyfile(dir.path()).await;
    assert!(listed(&store).await.is_empty());
    store
        .write(|tx| tx.put_group_held(&held(GROUP, HoldKind::Unadmitted, 1, b"late")))
        .await
        .unwrap();
    store.close().await.unwrap();
    let store = open_keyfile(dir.path()).await;
    assert_eq!(
        listed(&store).await,
        [(
            GROUP,
            group_message_id(b"late"),
            HoldKind::Unadmitted,
            1,
            b"late".to_vec()
        )]
    );
}

#[tokio::test]
async fn a_frame_over_the_envelope_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let frame = vec![0u8; wren_proto::limits::MAX_ENVELOPE_BYTES + 1];
    let result = store
        .write(move |tx| tx.put_group_held(&held(GROUP, HoldKind::Chain, 1, &frame)))
        .await;
    assert!(result.is_err());
    let fits = vec![0u8; wren_proto::limits::MAX_ENVELOPE_BYTES];
    let stored = store
        .write(move |tx| tx.put_group_held(&held(GROUP, HoldKind::Chain, 1, &fits)))
        .await
        .unwrap();
    assert!(stored);
}
