//! Acknowledged sends whose bookkeeping is not committed yet.
//!
//! A `Stored` acknowledgement proves that the recipient holds the message
//! durably, so the engine reports `delivered` at once and takes the entry
//! out of its in-memory queue. Removing the outbox record and storing the
//! `delivered` status can wait: they ride along with the engine's next write
//! transaction (a send or a received batch), or are written on their own
//! after [`FLUSH_DELAY`](crate::limits::ACKED_FLUSH_DELAY) without one.
//!
//! Losing them in a crash is harmless: the outbox record is still there,
//! the message is sent again after the restart, the recipient acknowledges
//! the duplicate (it deduplicates by message id) and it is reported
//! delivered again. Statuses cannot go backwards: every transaction that
//! may store `read` applies the pending `delivered` statuses first.

use tokio::time::Instant;
use wren_store::{MessageStatus, StoreError, WriteTx};

use crate::limits::{ACKED_FLUSH_DELAY, MAX_ACKED_PENDING};

/// One acknowledged outbox entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AckedEntry {
    /// The outbox record to remove.
    pub(crate) outbox: u64,
    /// The message whose status becomes delivered (`None`: a request or
    /// receipt, or a message already marked read).
    pub(crate) message: Option<[u8; 16]>,
}

/// The acknowledged entries waiting for a transaction.
#[derive(Debug, Default)]
pub(crate) struct Acked {
    entries: Vec<AckedEntry>,
    /// When they are written on their own.
    deadline: Option<Instant>,
}

impl Acked {
    /// Adds entries; the first one since the last flush starts the timer.
    pub(crate) fn push(&mut self, entries: impl IntoIterator<Item = AckedEntry>, now: Instant) {
        self.entries.extend(entries);
        if self.deadline.is_none() && !self.entries.is_empty() {
            self.deadline = Some(now + ACKED_FLUSH_DELAY);
        }
    }

    /// When they must be written on their own: at the deadline, or at once
    /// when [`MAX_ACKED_PENDING`] are waiting.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if self.entries.len() >= MAX_ACKED_PENDING {
            return Some(Instant::now());
        }
        self.deadline
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Takes everything for a transaction. If that transaction fails, give
    /// them back with [`Acked::restore`].
    pub(crate) fn take(&mut self) -> Vec<AckedEntry> {
        self.deadline = None;
        std::mem::take(&mut self.entries)
    }

    /// Gives back entries whose transaction failed (they are retried with
    /// the next one).
    pub(crate) fn restore(&mut self, mut entries: Vec<AckedEntry>, now: Instant) {
        if entries.is_empty() {
            return;
        }
        entries.append(&mut self.entries);
        self.entries = entries;
        self.deadline = Some(now + ACKED_FLUSH_DELAY);
    }
}

/// Applies acknowledged entries in a transaction: outbox records removed,
/// statuses set to delivered.
pub(crate) fn apply(tx: &mut WriteTx<'_>, entries: &[AckedEntry]) -> Result<(), StoreError> {
    for entry in entries {
        tx.outbox_remove(entry.outbox)?;
        if let Some(message) = entry.message {
            match tx.set_status(&message, MessageStatus::Delivered) {
                Ok(()) | Err(StoreError::MessageNotFound) => {}
                Err(other) => return Err(other),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(outbox: u64) -> AckedEntry {
        AckedEntry {
            outbox,
            message: None,
        }
    }

    #[test]
    fn the_first_entry_starts_the_timer_and_take_clears_it() {
        let mut acked = Acked::default();
        assert!(acked.deadline().is_none());
        let now = Instant::now();
        acked.push([entry(1)], now);
        acked.push([entry(2)], now + ACKED_FLUSH_DELAY / 2);
        assert_eq!(acked.deadline(), Some(now + ACKED_FLUSH_DELAY));
        let taken = acked.take();
        assert_eq!(taken.len(), 2);
        assert!(acked.is_empty());
        assert!(acked.deadline().is_none());
    }

    #[test]
    fn restored_entries_go_first_and_rearm_the_timer() {
        let mut acked = Acked::default();
        let now = Instant::now();
        acked.push([entry(1), entry(2)], now);
        let taken = acked.take();
        acked.push([entry(3)], now);
        acked.restore(taken, now);
        let order: Vec<u64> = acked.take().iter().map(|e| e.outbox).collect();
        assert_eq!(order, vec![1, 2, 3]);
    }

    #[test]
    fn at_the_limit_the_flush_is_due_at_once() {
        let mut acked = Acked::default();
        let now = Instant::now();
        acked.push((0..MAX_ACKED_PENDING as u64 - 1).map(entry), now);
        assert_eq!(acked.deadline(), Some(now + ACKED_FLUSH_DELAY));
        acked.push([entry(u64::MAX)], now);
        assert!(acked.deadline().is_some_and(|d| d <= Instant::now()));
    }
}
