//! The group order index (docs/protocol.md §G9): every message of a group
//! conversation has a row in [`schema::GROUP_ORDER`] keyed by its
//! [`HistoryKey`], written in the transaction that stores the message, and
//! a group's history is read through it: the same order on every member,
//! whatever the order of arrival. Direct conversations have no rows (their
//! messages pay nothing for it) and keep their arrival order.
//!
//! The sequence stays the message's position in its conversation (blocks,
//! unread counts, the outbox and receipts use it); the index only maps the
//! group order onto it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ops::Bound;

use redb::ReadableTable;
use wren_proto::group::HistoryKey;

use crate::blocks::{self, Located};
use crate::error::{Corruption, Result, StoreError};
use crate::key::StorageKey;
use crate::page::MessagePage;
use crate::records::{ConversationKind, Direction, Message};
use crate::schema;
use crate::tx::{CorruptMessage, Order, ReadTx, WriteTx, get_conversation, get_message};

/// Most messages [`ReadTx::group_last_sent`] looks through for our latest
/// one before it falls back on the index.
pub const MAX_LAST_SENT_SCAN: usize = 1_024;

/// A row's key in [`schema::GROUP_ORDER`].
type OrderKey = (u64, u64, u64, [u8; 16]);

fn order_key(conversation: u64, key: HistoryKey) -> OrderKey {
    (conversation, key.time, key.sent_at, key.id)
}

/// The first and last possible keys of a conversation.
fn bounds(conversation: u64) -> (OrderKey, OrderKey) {
    (
        (conversation, 0, 0, [0; 16]),
        (conversation, u64::MAX, u64::MAX, [0xff; 16]),
    )
}

/// Where a cursor (a sequence) stands in a group conversation's order.
enum Cursor {
    /// At this message.
    At(OrderKey),
    /// Before every message (sequence 0).
    Start,
    /// After every message (past the last sequence).
    End,
}

/// A block opened while building a page: its index in the page and its
/// messages not yet taken, or why it does not open.
type OpenedBlock = std::result::Result<(usize, Vec<Option<Located>>), Corruption>;

impl ReadTx<'_> {
    /// A page of at most `limit` messages of a group conversation in the
    /// group's order (docs/protocol.md §G9), next to `cursor` (the sequence
    /// of a message of the conversation, excluded; `None`: from the newest
    /// for [`Order::NewestFirst`], from the oldest for
    /// [`Order::OldestFirst`]). [`MessagePage::last_seq`] is the next
    /// page's cursor, as for [`ReadTx::page`].
    ///
    /// A cursor of 0 stands before every message, one past the last
    /// sequence after every message; any other sequence with no message is
    /// [`StoreError::MessageNotFound`], and one in a block that does not
    /// open is [`StoreError::Corrupt`]. A message whose block does not open
    /// is reported in its place with its own sequence. Messages stored
    /// before schema version 4 are in the order too (the migration indexed
    /// them), except those whose block no longer opened then.
    pub fn group_page(
        &self,
        conversation: u64,
        cursor: Option<u64>,
        order: Order,
        limit: usize,
    ) -> Result<MessagePage> {
        let mut page = MessagePage::new(conversation, limit);
        if limit == 0 {
            return Ok(page);
        }
        let index = self.txn.open_table(schema::GROUP_ORDER)?;
        let table = self.txn.open_table(schema::MESSAGE_BLOCKS)?;
        let cursor = match cursor {
            None => None,
            Some(seq) => Some(self.cursor(&table, conversation, seq)?),
        };
        let (low, high) = bounds(conversation);
        let rows = match (order, cursor) {
            (Order::NewestFirst, Some(Cursor::Start)) | (Order::OldestFirst, Some(Cursor::End)) => {
                return Ok(page);
            }
            (Order::NewestFirst, Some(Cursor::At(at))) => {
                index.range((Bound::Included(low), Bound::Excluded(at)))?
            }
            (Order::OldestFirst, Some(Cursor::At(at))) => {
                index.range((Bound::Excluded(at), Bound::Included(high)))?
            }
            _ => index.range(low..=high)?,
        };
        let rows: Box<dyn Iterator<Item = _>> = match order {
            Order::NewestFirst => Box::new(rows.rev()),
            Order::OldestFirst => Box::new(rows),
        };
        let mut opened: HashMap<u64, OpenedBlock> = HashMap::new();
        for row in rows {
            let (_, v) = row?;
            let seq = v.value();
            let corrupt = |corruption| CorruptMessage {
                conversation,
                seq,
                corruption,
            };
            let Some(first) = blocks::floor(&table, conversation, seq)? else {
                page.push_corrupt(corrupt(Corruption::Malformed));
                continue;
            };
            let block = match opened.entry(first) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => {
                    let block = match table.get((conversation, first))? {
                        Some(sealed) => {
                            blocks::open_located(self.key, conversation, first, sealed.value()).map(
                                |(plaintext, located)| {
                                    (
                                        page.add_block(plaintext),
                                        located.into_iter().map(Some).collect(),
                                    )
                                },
                            )
                        }
                        None => Err(Corruption::Malformed),
                    };
                    entry.insert(block)
                }
            };
            match block {
                Ok((block, located)) => {
                    let found = usize::try_from(seq - first)
                        .ok()
                        .and_then(|index| located.get_mut(index))
                        .and_then(Option::take);
                    match found {
                        Some(l) => page.push(l.seq, l.head, *block, l.content, l.reason),
                        None => page.push_corrupt(corrupt(Corruption::Malformed)),
                    }
                }
                Err(corruption) => page.push_corrupt(corrupt(corruption.clone())),
            }
            if page.len() >= limit {
                break;
            }
        }
        Ok(page)
    }

    /// [`ReadTx::group_page`] as owned messages.
    pub fn group_messages(
        &self,
        conversation: u64,
        cursor: Option<u64>,
        order: Order,
        limit: usize,
    ) -> Result<Vec<Result<Message, CorruptMessage>>> {
        Ok(self
            .group_page(conversation, cursor, order, limit)?
            .into_messages())
    }

    /// The `sent_at` of our latest message in a group conversation, for
    /// the next one's (`wren_proto::group::next_sent_at`): the newest
    /// outgoing message among the last [`MAX_LAST_SENT_SCAN`] stored (ours
    /// are stored as we send them, so in our sending order). If none is
    /// among them, the largest `sent_at` of the message that sorts last,
    /// which is no earlier unless our clock was more than
    /// `MAX_GROUP_CLOCK_SKEW_MS` ahead then. `None` if the conversation
    /// holds no message.
    pub fn group_last_sent(&self, conversation: u64) -> Result<Option<u64>> {
        let mut cursor = None;
        let mut looked = 0;
        while looked < MAX_LAST_SENT_SCAN {
            let page = self.page(conversation, cursor, Order::NewestFirst, 64)?;
            if page.is_empty() {
                break;
            }
            for view in page.iter().flatten() {
                if view.direction() == Direction::Outgoing {
                    return Ok(Some(view.sent_at()));
                }
            }
            looked += page.len();
            cursor = page.last_seq();
        }
        let index = self.txn.open_table(schema::GROUP_ORDER)?;
        let (low, high) = bounds(conversation);
        let last = index.range(low..=high)?.next_back().transpose()?;
        Ok(last.map(|(k, _)| k.value().2))
    }

    /// Where the message at `seq` stands in the group order.
    fn cursor(
        &self,
        table: &impl ReadableTable<(u64, u64), &'static [u8]>,
        conversation: u64,
        seq: u64,
    ) -> Result<Cursor> {
        if seq == 0 {
            return Ok(Cursor::Start);
        }
        if let Some(message) = get_message(self.key, table, conversation, seq)? {
            let key = HistoryKey::new(message.sent_at, message.received_at, message.id);
            return Ok(Cursor::At(order_key(conversation, key)));
        }
        let conversations = self.txn.open_table(schema::CONVERSATIONS)?;
        match get_conversation(self.key, &conversations, conversation)? {
            Some(summary) if seq > summary.last_seq => Ok(Cursor::End),
            _ => Err(StoreError::MessageNotFound),
        }
    }
}

impl WriteTx<'_> {
    /// Indexes a group message stored at `seq` (in this transaction).
    pub(crate) fn index_group_message(
        &mut self,
        conversation: u64,
        seq: u64,
        key: HistoryKey,
    ) -> Result<()> {
        self.raw()
            .open_table(schema::GROUP_ORDER)?
            .insert(order_key(conversation, key), seq)?;
        Ok(())
    }
}

/// Schema version 3 → 4: indexes every message of every group
/// conversation. A conversation record or a block that no longer opens is
/// skipped (its messages stay readable by sequence where they can be, but
/// are not in the group order).
pub(crate) fn backfill(txn: &redb::WriteTransaction, key: &StorageKey) -> Result<()> {
    let conversations = txn.open_table(schema::CONVERSATIONS)?;
    let table = txn.open_table(schema::MESSAGE_BLOCKS)?;
    let mut index = txn.open_table(schema::GROUP_ORDER)?;
    for row in conversations.iter()? {
        let (k, _) = row?;
        let id = k.value();
        let Ok(Some(conversation)) = get_conversation(key, &conversations, id) else {
            continue;
        };
        if !matches!(conversation.kind, ConversationKind::Group { .. }) {
            continue;
        }
        for block in table.range((id, 0)..=(id, u64::MAX))? {
            let (k, v) = block?;
            let first = k.value().1;
            let Ok(entries) = blocks::open(key, id, first, v.value()) else {
                continue;
            };
            for (seq, entry) in blocks::numbered(first, entries) {
                let history = HistoryKey::new(entry.sent_at, entry.received_at, entry.id);
                index.insert(order_key(id, history), seq)?;
            }
        }
    }
    Ok(())
}
