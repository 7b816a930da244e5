//! Per-depositor token buckets: how many envelopes a peer may deposit.
//!
//! Buckets live in memory only, keyed by the depositor's peer id, in a map
//! of at most [`MAX_RATE_BUCKETS`](crate::limits::MAX_RATE_BUCKETS). When
//! the map is full, buckets that have refilled completely are forgotten
//! (forgetting them changes nothing); if none has, the new depositor gets
//! no tokens (rate limited) until some bucket refills.

use std::collections::HashMap;
use std::time::Instant;

use libp2p::PeerId;

/// The depositors' token buckets.
#[derive(Debug)]
pub struct DepositRate {
    per_sec: f64,
    burst: f64,
    max_buckets: usize,
    buckets: HashMap<PeerId, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl DepositRate {
    /// `per_sec` envelopes per second sustained, `burst` at once, at most
    /// `max_buckets` depositors remembered.
    pub fn new(per_sec: u32, burst: u32, max_buckets: usize) -> Self {
        Self {
            per_sec: f64::from(per_sec),
            burst: f64::from(burst),
            max_buckets,
            buckets: HashMap::new(),
        }
    }

    /// Takes up to `want` tokens for `peer` at `now`; returns how many it
    /// got (the first that many envelopes may be stored).
    pub fn take(&mut self, peer: PeerId, want: usize, now: Instant) -> usize {
        if !self.buckets.contains_key(&peer) && self.buckets.len() >= self.max_buckets {
            self.forget_full(now);
            if self.buckets.len() >= self.max_buckets {
                return 0;
            }
        }
        let (per_sec, burst) = (self.per_sec, self.burst);
        let bucket = self.buckets.entry(peer).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(burst);
        bucket.at = now;
        let granted = (bucket.tokens.floor() as usize).min(want);
        bucket.tokens -= granted as f64;
        granted
    }

    /// Depositors remembered.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no depositor is remembered.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    fn forget_full(&mut self, now: Instant) {
        let (per_sec, burst) = (self.per_sec, self.burst);
        self.buckets.retain(|_, b| {
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            b.tokens + elapsed * per_sec < burst
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::limits::MAX_RATE_BUCKETS;

    #[test]
    fn burst_then_refill() {
        let mut rate = DepositRate::new(10, 20, 4);
        let peer = PeerId::random();
        let t0 = Instant::now();
        assert_eq!(rate.take(peer, 15, t0), 15);
        assert_eq!(rate.take(peer, 15, t0), 5);
        assert_eq!(rate.take(peer, 1, t0), 0);
        assert_eq!(rate.take(peer, 100, t0 + Duration::from_millis(500)), 5);
        // Never more than the burst, however long the pause.
        assert_eq!(rate.take(peer, 100, t0 + Duration::from_secs(3_600)), 20);
        // Another peer has its own bucket.
        assert_eq!(rate.take(PeerId::random(), 20, t0), 20);
    }

    #[test]
    fn buckets_at_the_limit() {
        let t0 = Instant::now();
        let mut rate = DepositRate::new(1, 10, MAX_RATE_BUCKETS);
        for _ in 0..MAX_RATE_BUCKETS {
            assert_eq!(rate.take(PeerId::random(), 1, t0), 1);
        }
        assert_eq!(rate.len(), MAX_RATE_BUCKETS);
        // Full and nobody has refilled: a new depositor gets nothing.
        assert_eq!(rate.take(PeerId::random(), 1, t0), 0);
        assert_eq!(rate.len(), MAX_RATE_BUCKETS);
        // Once buckets refilled, they are forgotten and room appears.
        let later = t0 + Duration::from_secs(2);
        assert_eq!(rate.take(PeerId::random(), 1, later), 1);
        assert_eq!(rate.len(), 1);
    }
}
