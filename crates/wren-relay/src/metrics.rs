//! Prometheus metrics (prometheus-client), shared by the swarm task, the
//! store thread and the HTTP listener.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use wren_net::mailbox::{DepositOutcome, RefusalCode};

use crate::store::Totals;

/// The label of a refusal counter: the refusal's stable name.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// `too_large`, `quota_exceeded`, `rate_limited`, `not_allowed`,
    /// `bad_request` or `unavailable`.
    pub reason: &'static str,
}

/// Every metric the relay exports, with its registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Open connections.
    pub connections: Gauge,
    /// Connections established since start.
    pub connections_opened: Counter,
    /// Circuit reservations held.
    pub reservations: Gauge,
    /// Reservations accepted (new or renewed).
    pub reservations_accepted: Counter,
    /// Reservations refused (not authorised, or over a limit).
    pub reservations_denied: Counter,
    /// Circuits open.
    pub circuits: Gauge,
    /// Circuits accepted.
    pub circuits_accepted: Counter,
    /// Circuits refused.
    pub circuits_denied: Counter,
    /// Messages held in mailboxes.
    pub mailbox_messages: Gauge,
    /// Envelope bytes held in mailboxes.
    pub mailbox_bytes: Gauge,
    /// Non-empty mailboxes.
    pub mailboxes: Gauge,
    /// Envelopes stored.
    pub deposits: Counter,
    /// Items returned by fetches.
    pub fetched: Counter,
    /// Items deleted by acks.
    pub acked: Counter,
    /// Items deleted by the TTL purge.
    pub purged: Counter,
    /// Durable mailbox commits (each covers a group of requests).
    pub commits: Counter,
    /// Refused requests and envelopes, by reason.
    pub refusals: Family<ReasonLabel, Counter>,
    /// Authorised users (besides the owner).
    pub users: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric (prefix `wren_relay_`).
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("wren_relay");
        let m = Self {
            connections: Gauge::default(),
            connections_opened: Counter::default(),
            reservations: Gauge::default(),
            reservations_accepted: Counter::default(),
            reservations_denied: Counter::default(),
            circuits: Gauge::default(),
            circuits_accepted: Counter::default(),
            circuits_denied: Counter::default(),
            mailbox_messages: Gauge::default(),
            mailbox_bytes: Gauge::default(),
            mailboxes: Gauge::default(),
            deposits: Counter::default(),
            fetched: Counter::default(),
            acked: Counter::default(),
            purged: Counter::default(),
            commits: Counter::default(),
            refusals: Family::default(),
            users: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("connections", "Open connections", m.connections.clone());
        registry.register(
            "connections_opened",
            "Connections established since start",
            m.connections_opened.clone(),
        );
        registry.register(
            "reservations",
            "Circuit reservations held",
            m.reservations.clone(),
        );
        registry.register(
            "reservations_accepted",
            "Reservations accepted (new or renewed)",
            m.reservations_accepted.clone(),
        );
        registry.register(
            "reservations_denied",
            "Reservations refused (not authorised or over a limit)",
            m.reservations_denied.clone(),
        );
        registry.register("circuits", "Relayed circuits open", m.circuits.clone());
        registry.register(
            "circuits_accepted",
            "Circuits accepted",
            m.circuits_accepted.clone(),
        );
        registry.register(
            "circuits_denied",
            "Circuits refused",
            m.circuits_denied.clone(),
        );
        registry.register(
            "mailbox_messages",
            "Messages held in mailboxes",
            m.mailbox_messages.clone(),
        );
        registry.register(
            "mailbox_bytes",
            "Envelope bytes held in mailboxes",
            m.mailbox_bytes.clone(),
        );
        registry.register("mailboxes", "Non-empty mailboxes", m.mailboxes.clone());
        registry.register("deposits", "Envelopes stored", m.deposits.clone());
        registry.register("fetched", "Items returned by fetches", m.fetched.clone());
        registry.register(
            "acked",
            "Items deleted by acknowledgements",
            m.acked.clone(),
        );
        registry.register("purged", "Items deleted by the TTL purge", m.purged.clone());
        registry.register("commits", "Durable mailbox commits", m.commits.clone());
        registry.register("refusals", "Refusals by reason", m.refusals.clone());
        registry.register(
            "users",
            "Authorised users besides the owner",
            m.users.clone(),
        );
        Self { registry, ..m }
    }

    /// Counts one refusal.
    pub fn refused(&self, code: RefusalCode) {
        self.refusals
            .get_or_create(&ReasonLabel {
                reason: code.name(),
            })
            .inc();
    }

    /// Counts one deposit outcome.
    pub fn count_outcome(&self, outcome: DepositOutcome) {
        match outcome {
            DepositOutcome::Stored => {
                self.deposits.inc();
            }
            DepositOutcome::Refused(code) => self.refused(code),
        }
    }

    /// Publishes the store's totals.
    pub fn publish_totals(&self, totals: &Totals) {
        self.mailbox_messages.set(saturating_i64(totals.messages));
        self.mailbox_bytes.set(saturating_i64(totals.bytes));
        self.mailboxes.set(saturating_i64(totals.mailboxes));
    }

    /// The text exposition format, for `/metrics`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Converts a count to a gauge value.
pub fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_exported_by_reason() {
        let m = Metrics::new();
        m.refused(RefusalCode::TooLarge);
        m.count_outcome(DepositOutcome::Refused(RefusalCode::RateLimited));
        m.count_outcome(DepositOutcome::Stored);
        let text = m.encode();
        assert!(
            text.contains("wren_relay_refusals_total{reason=\"too_large\"} 1"),
            "{text}"
        );
        assert!(text.contains("wren_relay_refusals_total{reason=\"rate_limited\"} 1"));
        assert!(text.contains("wren_relay_deposits_total 1"));
        assert!(text.contains("wren_relay_connections 0"));
    }
}
