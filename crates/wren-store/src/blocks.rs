//! Message blocks: consecutive messages of one conversation sealed
//! together as one value of [`schema::MESSAGE_BLOCKS`].
//!
//! A block is keyed by (conversation, first sequence) and holds the entries
//! for sequences `first, first + 1, ...` with no gap. Appending fills the
//! newest block until it holds [`BLOCK_MAX_MESSAGES`] entries or reaches
//! [`BLOCK_TARGET_BYTES`], then starts a new one; a block that does not open
//! is never written to again (the next message starts a new block), so a
//! damaged block loses nothing more than it already has.

use std::ops::Range;

use redb::{ReadableTable, TableHandle};
use wren_proto::codec;
use zeroize::Zeroizing;

use crate::error::{Corruption, Result, StoreError};
use crate::key::StorageKey;
use crate::records::{
    BLOCK_LIMIT, BLOCK_MAX_MESSAGES, BLOCK_TARGET_BYTES, BlockEntry, BlockRecord, BlockRecordRef,
    BlockRecordView, Head, entry_cost,
};
use crate::schema;
use crate::seal;

/// The seal's key bytes of a block: conversation and first sequence,
/// big-endian.
fn key_bytes(conversation: u64, first: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    let (left, right) = out.split_at_mut(8);
    left.copy_from_slice(&conversation.to_be_bytes());
    right.copy_from_slice(&first.to_be_bytes());
    out
}

/// Opens and decodes a sealed block.
pub(crate) fn open(
    key: &StorageKey,
    conversation: u64,
    first: u64,
    sealed: &[u8],
) -> Result<Vec<BlockEntry>, Corruption> {
    let plaintext = seal::open(
        key,
        schema::MESSAGE_BLOCKS.name(),
        &key_bytes(conversation, first),
        sealed,
    )?;
    let BlockRecord::V1(entries) =
        codec::decode::<BlockRecord, BLOCK_LIMIT>(&plaintext).map_err(Corruption::Decode)?;
    if entries.is_empty() || entries.len() > BLOCK_MAX_MESSAGES {
        return Err(Corruption::Malformed);
    }
    Ok(entries)
}

/// Encodes and seals a block.
pub(crate) fn seal(
    key: &StorageKey,
    conversation: u64,
    first: u64,
    entries: &[BlockEntry],
) -> Result<Vec<u8>> {
    let plaintext = zeroize::Zeroizing::new(
        codec::encode(&BlockRecordRef::V1(entries)).map_err(StoreError::Encode)?,
    );
    if plaintext.len() > BLOCK_LIMIT {
        return Err(StoreError::FieldTooLong {
            field: "message block",
        });
    }
    Ok(seal::seal(
        key,
        schema::MESSAGE_BLOCKS.name(),
        &key_bytes(conversation, first),
        &plaintext,
    ))
}

/// The first sequence of the block that would hold `seq`: the last block
/// key at or below `(conversation, seq)`.
pub(crate) fn floor(
    table: &impl ReadableTable<(u64, u64), &'static [u8]>,
    conversation: u64,
    seq: u64,
) -> Result<Option<u64>> {
    Ok(table
        .range((conversation, 0)..=(conversation, seq))?
        .next_back()
        .transpose()?
        .map(|(k, _)| k.value().1))
}

/// A decoded block held by a write transaction.
pub(crate) struct CachedBlock {
    /// Its entries (sequence = first + index).
    pub(crate) entries: Vec<BlockEntry>,
    /// Sum of [`entry_cost`] over the entries.
    pub(crate) cost: usize,
    /// Whether it differs from the table.
    pub(crate) dirty: bool,
}

impl CachedBlock {
    /// A block read from the table.
    pub(crate) fn loaded(entries: Vec<BlockEntry>) -> Self {
        let cost = entries.iter().map(entry_cost).sum();
        CachedBlock {
            entries,
            cost,
            dirty: false,
        }
    }

    /// Whether the block takes no further message.
    pub(crate) fn is_full(&self) -> bool {
        self.entries.len() >= BLOCK_MAX_MESSAGES || self.cost >= BLOCK_TARGET_BYTES
    }

    /// The entry for `seq` in a block starting at `first`.
    pub(crate) fn entry_mut(&mut self, first: u64, seq: u64) -> Option<&mut BlockEntry> {
        let index = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.entries.get_mut(index)
    }

    /// Appends an entry.
    pub(crate) fn push(&mut self, entry: BlockEntry) {
        self.cost = self.cost.saturating_add(entry_cost(&entry));
        self.entries.push(entry);
        self.dirty = true;
    }
}

/// The entry for `seq` in the decoded block starting at `first`.
pub(crate) fn entry(entries: Vec<BlockEntry>, first: u64, seq: u64) -> Option<BlockEntry> {
    let index = usize::try_from(seq.checked_sub(first)?).ok()?;
    entries.into_iter().nth(index)
}

/// A decoded block's entries with their sequences, in either direction.
pub(crate) fn numbered(
    first: u64,
    entries: Vec<BlockEntry>,
) -> impl DoubleEndedIterator<Item = (u64, BlockEntry)> {
    entries
        .into_iter()
        .enumerate()
        .map(move |(index, entry)| (first.saturating_add(index as u64), entry))
}

/// A message found in a decrypted block: its sequence, fixed fields, and
/// where its content and failure reason lie in the plaintext.
pub(crate) struct Located {
    pub(crate) seq: u64,
    pub(crate) head: Head,
    pub(crate) content: Range<usize>,
    pub(crate) reason: Range<usize>,
}

/// Opens a block and locates its messages without copying them.
pub(crate) fn open_located(
    key: &StorageKey,
    conversation: u64,
    first: u64,
    sealed: &[u8],
) -> Result<(Zeroizing<Vec<u8>>, Vec<Located>), Corruption> {
    let plaintext = seal::open(
        key,
        schema::MESSAGE_BLOCKS.name(),
        &key_bytes(conversation, first),
        sealed,
    )?;
    let BlockRecordView::V1(entries) =
        codec::decode_borrowed::<BlockRecordView<'_>, BLOCK_LIMIT>(&plaintext)
            .map_err(Corruption::Decode)?;
    if entries.is_empty() || entries.len() > BLOCK_MAX_MESSAGES {
        return Err(Corruption::Malformed);
    }
    let base = plaintext.as_ptr() as usize;
    let range = |part: &[u8]| {
        let start = (part.as_ptr() as usize).saturating_sub(base);
        start..start.saturating_add(part.len())
    };
    let mut located = Vec::with_capacity(entries.len());
    for (seq, entry) in (first..).zip(&entries) {
        let head = Head::parse(entry.head).ok_or(Corruption::Malformed)?;
        located.push(Located {
            seq,
            head,
            content: range(entry.content),
            reason: range(entry.reason.as_bytes()),
        });
    }
    drop(entries);
    Ok((plaintext, located))
}
