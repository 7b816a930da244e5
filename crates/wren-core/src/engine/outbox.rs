//! The outbox scheduler: what the engine keeps in memory about the store's
//! outbox, per recipient.
//!
//! Rules (docs/protocol.md, Part VI):
//!
//! - **Strict FIFO per recipient**, in outbox-id order: a batch always
//!   starts at the recipient's oldest entry, so if it fails, later entries
//!   wait. This keeps each sender's order across retries and restarts.
//! - **One request in flight per recipient**, of up to
//!   [`MAX_BATCH`](wren_net::limits::MAX_BATCH) envelopes and at most
//!   [`MAX_DM_FRAME_BYTES`](wren_net::limits::MAX_DM_FRAME_BYTES).
//! - **Exponential backoff** after a failed attempt (network error, busy, or
//!   "pending, retry later"): [`BACKOFF_INITIAL`] doubling up to
//!   [`BACKOFF_MAX`]; any sign of life from the recipient (a connection, a
//!   message) makes its queue due at once.
//! - A head entry that failed [`MAX_SEND_ATTEMPTS`] times, or that the
//!   recipient rejected, is **parked**: its status becomes failed, it leaves
//!   the queue and stays in the store until [`Outbox::unpark`] (the user's
//!   retry) puts it back in its place.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;
use wren_net::limits::{MAX_BATCH, MAX_DM_FRAME_BYTES};

use crate::limits::{BACKOFF_INITIAL, BACKOFF_MAX, MAX_SEND_ATTEMPTS};

/// The message an outbox entry carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MessageRef {
    /// Its protocol id.
    pub(crate) id: [u8; 16],
    /// Its conversation.
    pub(crate) conversation: u64,
    /// Whether it is a text the user sees (status events are only emitted
    /// for those).
    pub(crate) visible: bool,
}

/// One entry waiting to be sent.
#[derive(Debug, Clone)]
pub(crate) struct OutEntry {
    /// The envelope frame.
    pub(crate) envelope: Vec<u8>,
    /// The message it carries (`None` if it could not be read back).
    pub(crate) message: Option<MessageRef>,
    /// Failed attempts so far (as stored).
    pub(crate) attempts: u32,
}

/// One recipient's queue.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    /// Entries by outbox id.
    pub(crate) entries: BTreeMap<u64, OutEntry>,
    /// The outbox ids of the batch in flight, if any.
    pub(crate) in_flight: Option<Vec<u64>>,
    /// Not before this instant (backoff).
    pub(crate) not_before: Option<Instant>,
    /// Consecutive failed attempts (drives the backoff).
    pub(crate) failures: u32,
}

/// A batch ready to go.
pub(crate) struct Batch {
    pub(crate) recipient: [u8; 32],
    pub(crate) ids: Vec<u64>,
    pub(crate) envelopes: Vec<Vec<u8>>,
    /// Visible messages sent for the first time (status → sent).
    pub(crate) newly_sent: Vec<MessageRef>,
}

/// A parked (failed) entry.
#[derive(Debug, Clone)]
pub(crate) struct Parked {
    pub(crate) recipient: [u8; 32],
    pub(crate) outbox: u64,
    pub(crate) entry: OutEntry,
}

/// The delay before the next attempt after `failures` consecutive failures.
pub(crate) fn backoff(failures: u32) -> Duration {
    let shift = failures.saturating_sub(1).min(16);
    BACKOFF_INITIAL
        .saturating_mul(1u32 << shift)
        .min(BACKOFF_MAX)
}

/// Every recipient's queue, the parked entries and which messages were
/// handed to the network (status sent, not persisted).
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub(crate) queues: HashMap<[u8; 32], Queue>,
    pub(crate) parked: HashMap<[u8; 16], Parked>,
    pub(crate) sent: HashSet<[u8; 16]>,
}

impl Outbox {
    /// Adds an entry (new, or loaded at open).
    pub(crate) fn push(&mut self, recipient: [u8; 32], outbox: u64, entry: OutEntry) {
        self.queues
            .entry(recipient)
            .or_default()
            .entries
            .insert(outbox, entry);
    }

    /// Whether `recipient` has nothing queued and nothing in flight, so a
    /// new message may be sent at once without overtaking another.
    pub(crate) fn is_idle(&self, recipient: &[u8; 32]) -> bool {
        self.queues
            .get(recipient)
            .is_none_or(|q| q.entries.is_empty() && q.in_flight.is_none())
    }

    /// Marks `recipient` busy with a request that left before its entries
    /// were committed (an express send): nothing else is sent to it until
    /// [`Outbox::express_committed`] names them and the request finishes.
    pub(crate) fn begin_express(&mut self, recipient: [u8; 32]) {
        self.queues.entry(recipient).or_default().in_flight = Some(Vec::new());
    }

    /// The express request's entries were committed: they join the queue,
    /// in flight, and count as sent.
    pub(crate) fn express_committed(&mut self, recipient: [u8; 32], sent: Vec<(u64, OutEntry)>) {
        let queue = self.queues.entry(recipient).or_default();
        let mut ids = Vec::with_capacity(sent.len());
        for (id, entry) in sent {
            if let Some(message) = entry.message {
                self.sent.insert(message.id);
            }
            ids.push(id);
            queue.entries.insert(id, entry);
        }
        queue.in_flight = Some(ids);
    }

    /// Parks an entry that was loaded as failed.
    pub(crate) fn park(&mut self, recipient: [u8; 32], outbox: u64, entry: OutEntry) {
        if let Some(message) = entry.message {
            self.parked.insert(
                message.id,
                Parked {
                    recipient,
                    outbox,
                    entry,
                },
            );
        }
    }

    /// Takes a parked entry back into its queue (in its original place).
    pub(crate) fn unpark(&mut self, id: &[u8; 16]) -> Option<Parked> {
        let parked = self.parked.remove(id)?;
        let mut entry = parked.entry.clone();
        entry.attempts = 0;
        let queue = self.queues.entry(parked.recipient).or_default();
        queue.entries.insert(parked.outbox, entry);
        queue.not_before = None;
        queue.failures = 0;
        Some(parked)
    }

    /// Makes a recipient's queue due now (it showed signs of life).
    pub(crate) fn wake(&mut self, recipient: &[u8; 32]) {
        if let Some(queue) = self.queues.get_mut(recipient) {
            queue.not_before = None;
        }
    }

    /// Takes the batches that are due now (marking them in flight).
    pub(crate) fn due(&mut self, now: Instant) -> Vec<Batch> {
        let mut out = Vec::new();
        for (recipient, queue) in &mut self.queues {
            if queue.in_flight.is_some()
                || queue.entries.is_empty()
                || queue.not_before.is_some_and(|t| t > now)
            {
                continue;
            }
            let mut batch = Batch {
                recipient: *recipient,
                ids: Vec::new(),
                envelopes: Vec::new(),
                newly_sent: Vec::new(),
            };
            let mut frame_len = 1 + 2;
            for (id, entry) in &queue.entries {
                let len = 4 + entry.envelope.len();
                if batch.ids.len() >= MAX_BATCH
                    || (!batch.ids.is_empty() && frame_len + len > MAX_DM_FRAME_BYTES)
                {
                    break;
                }
                frame_len += len;
                batch.ids.push(*id);
                batch.envelopes.push(entry.envelope.clone());
                if let Some(message) = entry.message
                    && message.visible
                    && self.sent.insert(message.id)
                {
                    batch.newly_sent.push(message);
                }
            }
            queue.in_flight = Some(batch.ids.clone());
            out.push(batch);
        }
        out
    }

    /// When the next queue becomes due (`None`: nothing waits on a timer).
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.queues
            .values()
            .filter(|q| q.in_flight.is_none() && !q.entries.is_empty())
            .filter_map(|q| q.not_before)
            .min()
    }

    /// Removes delivered or rejected entries.
    pub(crate) fn remove(&mut self, recipient: &[u8; 32], ids: &[u64]) -> Vec<OutEntry> {
        let Some(queue) = self.queues.get_mut(recipient) else {
            return Vec::new();
        };
        let removed = ids
            .iter()
            .filter_map(|id| queue.entries.remove(id))
            .collect::<Vec<_>>();
        for entry in &removed {
            if let Some(message) = entry.message {
                self.sent.remove(&message.id);
            }
        }
        if queue.entries.is_empty() && queue.in_flight.is_none() {
            self.queues.remove(recipient);
        }
        removed
    }

    /// The attempt finished: clears the in-flight mark. With `failed`, the
    /// head's attempts grow and the queue backs off; returns the head's
    /// outbox id and attempts (to persist), and whether it reached
    /// [`MAX_SEND_ATTEMPTS`].
    pub(crate) fn finish(
        &mut self,
        recipient: &[u8; 32],
        failed: bool,
        now: Instant,
    ) -> Option<(u64, u32, bool)> {
        let queue = self.queues.get_mut(recipient)?;
        queue.in_flight = None;
        if !failed {
            queue.failures = 0;
            queue.not_before = None;
            if queue.entries.is_empty() {
                self.queues.remove(recipient);
            }
            return None;
        }
        queue.failures = queue.failures.saturating_add(1);
        queue.not_before = Some(now + backoff(queue.failures));
        let (id, head) = queue.entries.iter_mut().next()?;
        head.attempts = head.attempts.saturating_add(1);
        Some((*id, head.attempts, head.attempts >= MAX_SEND_ATTEMPTS))
    }

    /// Moves an entry out of its queue into the parked set (it failed).
    pub(crate) fn park_from_queue(&mut self, recipient: &[u8; 32], outbox: u64) {
        let Some(queue) = self.queues.get_mut(recipient) else {
            return;
        };
        if let Some(entry) = queue.entries.remove(&outbox) {
            if let Some(message) = entry.message {
                self.sent.remove(&message.id);
            }
            // Its successors may go now.
            queue.not_before = None;
            queue.failures = 0;
            self.park(*recipient, outbox, entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u8, len: usize) -> OutEntry {
        OutEntry {
            envelope: vec![n; len],
            message: None,
            attempts: 0,
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), BACKOFF_INITIAL);
        assert_eq!(backoff(2), BACKOFF_INITIAL * 2);
        assert_eq!(backoff(3), BACKOFF_INITIAL * 4);
        assert_eq!(backoff(1_000), BACKOFF_MAX);
    }

    #[test]
    fn batches_are_fifo_bounded_and_one_in_flight() {
        let mut outbox = Outbox::default();
        let to = [7; 32];
        let total = MAX_BATCH as u64 + 36;
        for id in (1..=total).rev() {
            outbox.push(to, id, entry(id as u8, 10));
        }
        let now = Instant::now();
        let batches = outbox.due(now);
        assert_eq!(batches.len(), 1);
        assert_eq!(
            batches[0].ids,
            (1..=MAX_BATCH as u64).collect::<Vec<u64>>(),
            "a full batch, oldest first"
        );
        // In flight: nothing more for this recipient.
        assert!(outbox.due(now).is_empty());
        // A failure backs off and counts an attempt on the head only.
        assert_eq!(outbox.finish(&to, true, now), Some((1, 1, false)));
        assert!(outbox.due(now).is_empty());
        assert_eq!(outbox.next_due(), Some(now + BACKOFF_INITIAL));
        // A sign of life makes it due again, from the same head.
        outbox.wake(&to);
        let batches = outbox.due(now);
        assert_eq!(batches[0].ids.first(), Some(&1));
        outbox.remove(&to, &batches[0].ids);
        assert_eq!(outbox.finish(&to, false, now), None);
        assert_eq!(
            outbox.due(now)[0].ids,
            (MAX_BATCH as u64 + 1..=total).collect::<Vec<u64>>()
        );
    }

    #[test]
    fn batches_respect_the_frame_limit() {
        let mut outbox = Outbox::default();
        let to = [1; 32];
        for id in 1..=20u64 {
            outbox.push(to, id, entry(1, 65_536));
        }
        let batches = outbox.due(Instant::now());
        // 15 maximal envelopes fit in 1 MiB, 16 do not.
        assert_eq!(batches[0].ids.len(), 15);

        // Small envelopes: the count limit applies first, then the frame.
        let mut outbox = Outbox::default();
        for id in 1..=MAX_BATCH as u64 + 1 {
            outbox.push(to, id, entry(1, 1_000));
        }
        assert_eq!(outbox.due(Instant::now())[0].ids.len(), MAX_BATCH);
        let mut outbox = Outbox::default();
        for id in 1..=MAX_BATCH as u64 {
            outbox.push(to, id, entry(1, 1_100));
        }
        // (1 MiB - 3) / (4 + 1 100) = 949.8
        assert_eq!(outbox.due(Instant::now())[0].ids.len(), 949);
    }
}
