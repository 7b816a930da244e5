//! Per-member receipts of group messages: counted per message and per
//! page, never moved back, bounded per message, and kept across a reopen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::open_keyfile;
use wren_store::{GroupReceipt, MAX_RECEIPTS_PER_MESSAGE, ReceiptCounts};

const MESSAGE: [u8; 16] = [1; 16];
const OTHER: [u8; 16] = [2; 16];

fn counts(delivered: u32, read: u32) -> ReceiptCounts {
    ReceiptCounts { delivered, read }
}

#[tokio::test]
async fn receipts_count_per_member_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let changed = store
        .write(|tx| {
            Ok(vec![
                tx.put_group_receipt(&MESSAGE, &[10; 32], GroupReceipt::Delivered)?,
                tx.put_group_receipt(&MESSAGE, &[11; 32], GroupReceipt::Delivered)?,
                // The same member again: nothing changes.
                tx.put_group_receipt(&MESSAGE, &[11; 32], GroupReceipt::Delivered)?,
                // A read receipt moves it forward; a late delivery does not
                // move it back.
                tx.put_group_receipt(&MESSAGE, &[10; 32], GroupReceipt::Read)?,
                tx.put_group_receipt(&MESSAGE, &[10; 32], GroupReceipt::Delivered)?,
                // A read receipt before any delivery receipt counts as both.
                tx.put_group_receipt(&OTHER, &[12; 32], GroupReceipt::Read)?,
            ])
        })
        .await
        .unwrap();
    assert_eq!(changed, [true, true, false, true, false, true]);
    let page = store
        .read(|tx| tx.group_receipt_counts(&[OTHER, [3; 16], MESSAGE]))
        .await
        .unwrap();
    assert_eq!(page, [counts(1, 1), counts(0, 0), counts(2, 1)]);
    store.close().await.unwrap();

    let store = open_keyfile(dir.path()).await;
    let one = store.read(|tx| tx.group_receipts(&MESSAGE)).await.unwrap();
    assert_eq!(one, counts(2, 1));
}

#[tokio::test]
async fn a_message_keeps_at_most_one_row_per_possible_member() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let (last, updated, total) = store
        .write(|tx| {
            for i in 0..MAX_RECEIPTS_PER_MESSAGE {
                let mut member = [0u8; 32];
                member[..8].copy_from_slice(&(i as u64).to_be_bytes());
                assert!(tx.put_group_receipt(&MESSAGE, &member, GroupReceipt::Delivered)?);
            }
            // One more member: refused.
            let last = tx.put_group_receipt(&MESSAGE, &[0xee; 32], GroupReceipt::Delivered)?;
            // A member already counted still moves forward.
            let updated = tx.put_group_receipt(&MESSAGE, &[0; 32], GroupReceipt::Read)?;
            Ok((last, updated, tx.group_receipts(&MESSAGE)?))
        })
        .await
        .unwrap();
    assert!(!last);
    assert!(updated);
    assert_eq!(total, counts(MAX_RECEIPTS_PER_MESSAGE as u32, 1));
}
