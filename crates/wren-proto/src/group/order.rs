//! The order of a group's history (docs/protocol.md §G9): every member
//! sorts a group's messages by the same key, computed from the message
//! alone, so that histories agree whatever the order of arrival.
//!
//! ```
//! use wren_proto::group::{HistoryKey, next_sent_at};
//!
//! // A sender stamps its messages with strictly increasing times.
//! let first = next_sent_at(1_000, None);
//! let second = next_sent_at(1_000, Some(first));
//! assert!(second > first);
//!
//! // Receivers sort by (time, sent_at, id), whenever the messages arrived.
//! let a = HistoryKey::new(first, 1_050, [2; 16]);
//! let b = HistoryKey::new(second, 1_020, [1; 16]);
//! assert!(a < b);
//! ```

use crate::limits::MAX_GROUP_CLOCK_SKEW_MS;

/// Where a group message sorts in its group's history: ascending
/// `(time, sent_at, id)`, compared field by field (integers as numbers, the
/// id as unsigned bytes, first byte first).
///
/// `time` is the sender's `sent_at`, unless that is more than
/// [`MAX_GROUP_CLOCK_SKEW_MS`] ahead of the receiver's clock when it
/// stored the message: then it is the receipt time plus that bound. A
/// message from a clock far ahead therefore cannot stay pinned at the end
/// of the history. Below the bound every member computes the same key from
/// the message alone; past it the key depends on the receipt time, and
/// members may disagree about where that message sorts (§G12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HistoryKey {
    /// The sort time (ms since the Unix epoch): `sent_at`, bounded as
    /// above.
    pub time: u64,
    /// The sender's `sent_at` (the `Text`'s): breaks ties between messages
    /// whose times were both bounded, in their sender's order.
    pub sent_at: u64,
    /// The `Text`'s message id: breaks the remaining ties.
    pub id: [u8; 16],
}

impl HistoryKey {
    /// The key of a message with this `sent_at` and id, stored at
    /// `received_at` (the receiver's clock; for one's own message, the time
    /// it was sent).
    pub fn new(sent_at: u64, received_at: u64, id: [u8; 16]) -> Self {
        let bound = received_at.saturating_add(MAX_GROUP_CLOCK_SKEW_MS);
        HistoryKey {
            time: sent_at.min(bound),
            sent_at,
            id,
        }
    }
}

/// The `sent_at` of a sender's next message in a group: `now`, or one
/// millisecond after its previous message there (`last`) if the clock has
/// not moved past it, so that one sender's messages sort in the order it
/// sent them.
pub fn next_sent_at(now: u64, last: Option<u64>) -> u64 {
    match last {
        Some(last) => now.max(last.saturating_add(1)),
        None => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_within_the_bound_is_kept() {
        let key = HistoryKey::new(1_000 + MAX_GROUP_CLOCK_SKEW_MS, 1_000, [0; 16]);
        assert_eq!(key.time, 1_000 + MAX_GROUP_CLOCK_SKEW_MS);
    }

    #[test]
    fn a_time_past_the_bound_is_bounded() {
        let key = HistoryKey::new(u64::MAX, 1_000, [0; 16]);
        assert_eq!(key.time, 1_000 + MAX_GROUP_CLOCK_SKEW_MS);
        assert_eq!(key.sent_at, u64::MAX);
        let late = HistoryKey::new(u64::MAX, u64::MAX, [0; 16]);
        assert_eq!(late.time, u64::MAX);
    }

    #[test]
    fn ties_fall_to_sent_at_then_id() {
        let bounded = 1_000 + MAX_GROUP_CLOCK_SKEW_MS;
        let earlier = HistoryKey::new(bounded + 5, 1_000, [9; 16]);
        let later = HistoryKey::new(bounded + 6, 1_000, [1; 16]);
        assert_eq!(earlier.time, later.time);
        assert!(earlier < later);
        assert!(HistoryKey::new(7, 7, [1; 16]) < HistoryKey::new(7, 7, [2; 16]));
    }

    #[test]
    fn sent_at_strictly_increases() {
        assert_eq!(next_sent_at(10, None), 10);
        assert_eq!(next_sent_at(10, Some(3)), 10);
        assert_eq!(next_sent_at(10, Some(10)), 11);
        assert_eq!(next_sent_at(5, Some(10)), 11);
        assert_eq!(next_sent_at(5, Some(u64::MAX)), u64::MAX);
    }
}
