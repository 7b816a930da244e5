//! Per-member receipts of our group messages (docs/protocol.md §G9): which
//! members have stored one of our group messages, and which have read it.
//!
//! A message's own status records only the first receipt; this table keeps
//! one row per (message, member), so the counts a sender shows ("delivered
//! to 2 of 3", "read by 1") survive a restart. A row only moves forward
//! (delivered → read), and a message has at most
//! [`MAX_RECEIPTS_PER_MESSAGE`] rows.
//!
//! The table was added without a schema version bump (version 4 was not
//! yet released): it is created with the others for new stores and
//! migrations, and by the first write to it in a store created before it;
//! until then reading it finds nothing.

use std::ops::RangeInclusive;

use redb::ReadableTable;

use crate::error::Result;
use crate::schema;
use crate::tx::{ReadTx, WriteTx};

/// Most receipt rows kept per message: one per other member of the group,
/// which never has more than `MAX_GROUP_MEMBERS` members.
pub const MAX_RECEIPTS_PER_MESSAGE: usize = wren_proto::limits::MAX_GROUP_MEMBERS;

/// Most message ids one [`ReadTx::group_receipt_counts`] call counts (a
/// history page is smaller).
pub const MAX_RECEIPT_BATCH: usize = 1_024;

/// How far one member got with one of our group messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupReceipt {
    /// The member stored it (a delivery receipt).
    Delivered,
    /// The member read it (a read receipt; implies delivered).
    Read,
}

impl GroupReceipt {
    /// The stored byte.
    fn to_byte(self) -> u8 {
        match self {
            GroupReceipt::Delivered => 1,
            GroupReceipt::Read => 2,
        }
    }

    /// The receipt a stored byte names; an unknown byte counts as none.
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(GroupReceipt::Delivered),
            2 => Some(GroupReceipt::Read),
            _ => None,
        }
    }
}

/// How many members have one of our group messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiptCounts {
    /// Members that stored it (delivered or read).
    pub delivered: u32,
    /// Members that read it.
    pub read: u32,
}

/// Every row of one message.
fn rows_of(message: &[u8; 16]) -> RangeInclusive<([u8; 16], [u8; 32])> {
    (*message, [0; 32])..=(*message, [0xff; 32])
}

/// Counts one message's rows.
fn count(
    table: &impl ReadableTable<([u8; 16], [u8; 32]), u8>,
    message: &[u8; 16],
) -> Result<ReceiptCounts> {
    let mut counts = ReceiptCounts::default();
    for row in table.range(rows_of(message))? {
        let (_, v) = row?;
        match GroupReceipt::from_byte(v.value()) {
            Some(GroupReceipt::Delivered) => counts.delivered += 1,
            Some(GroupReceipt::Read) => {
                counts.delivered += 1;
                counts.read += 1;
            }
            None => {}
        }
    }
    Ok(counts)
}

impl ReadTx<'_> {
    /// The receipt counts of one of our group messages (zero if none).
    pub fn group_receipts(&self, message: &[u8; 16]) -> Result<ReceiptCounts> {
        Ok(self
            .group_receipt_counts(std::slice::from_ref(message))?
            .into_iter()
            .next()
            .unwrap_or_default())
    }

    /// The receipt counts of each message, in the order given (a history
    /// page); at most [`MAX_RECEIPT_BATCH`] ids are counted, the rest read
    /// as zero.
    pub fn group_receipt_counts(&self, messages: &[[u8; 16]]) -> Result<Vec<ReceiptCounts>> {
        let Some(table) = self.optional_table(schema::GROUP_RECEIPTS)? else {
            return Ok(vec![ReceiptCounts::default(); messages.len()]);
        };
        messages
            .iter()
            .enumerate()
            .map(|(i, message)| {
                if i < MAX_RECEIPT_BATCH {
                    count(&table, message)
                } else {
                    Ok(ReceiptCounts::default())
                }
            })
            .collect()
    }
}

impl WriteTx<'_> {
    /// Records that `member` has our group message `message` (delivered)
    /// or has read it. A row never moves back (a delivery receipt after a
    /// read receipt changes nothing), and a message that already has
    /// [`MAX_RECEIPTS_PER_MESSAGE`] rows takes no new member. Returns
    /// whether the row changed.
    pub fn put_group_receipt(
        &mut self,
        message: &[u8; 16],
        member: &[u8; 32],
        receipt: GroupReceipt,
    ) -> Result<bool> {
        let mut table = self.raw().open_table(schema::GROUP_RECEIPTS)?;
        let current = table
            .get((*message, *member))?
            .map(|guard| GroupReceipt::from_byte(guard.value()));
        match current {
            Some(Some(stored)) if stored >= receipt => return Ok(false),
            Some(_) => {}
            None => {
                if table.range(rows_of(message))?.count() >= MAX_RECEIPTS_PER_MESSAGE {
                    return Ok(false);
                }
            }
        }
        table.insert((*message, *member), receipt.to_byte())?;
        Ok(true)
    }

    /// Whether `member` confirmed our group message `message` (a delivery
    /// or a read receipt; sees this transaction's writes).
    pub fn has_group_receipt(&self, message: &[u8; 16], member: &[u8; 32]) -> Result<bool> {
        let table = self.raw().open_table(schema::GROUP_RECEIPTS)?;
        Ok(table.get((*message, *member))?.is_some())
    }

    /// The receipt counts of one of our group messages (sees this
    /// transaction's writes).
    pub fn group_receipts(&self, message: &[u8; 16]) -> Result<ReceiptCounts> {
        let table = self.raw().open_table(schema::GROUP_RECEIPTS)?;
        count(&table, message)
    }
}
