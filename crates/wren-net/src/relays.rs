//! The relays this node keeps reservations with, and when to retry them.
//!
//! Pure bookkeeping, driven by the swarm task: a reservation is a listener
//! on `<relay address>/p2p-circuit`. The relay client dials the relay and
//! asks for a slot when the listener is created; the listener reports the
//! circuit addresses once the relay accepted, and closes when the
//! reservation fails or its connection closes. A closed listener puts the
//! relay in backoff: the next attempt comes after [`RELAY_BACKOFF_MIN`],
//! doubling with each consecutive failure up to [`RELAY_BACKOFF_MAX`]. A
//! reservation that was accepted resets the count.
//!
//! At most [`MAX_RELAYS`] relays are kept; each keeps at most
//! [`MAX_ADDRESSES_PER_PEER`] circuit addresses.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use tokio::time::Instant;

use crate::error::NetError;
use crate::event::{RelayInfo, RelayState};
use crate::limits::{MAX_ADDRESSES_PER_PEER, MAX_RELAYS, RELAY_BACKOFF_MAX, RELAY_BACKOFF_MIN};

/// One relay's state.
#[derive(Debug)]
enum State {
    /// A listener is asking for a slot.
    Connecting { listener: ListenerId },
    /// The relay accepted; the listener holds these addresses.
    Reserved {
        listener: ListenerId,
        addrs: Vec<Multiaddr>,
    },
    /// Waiting until `retry_at` for the next attempt.
    BackingOff {
        retry_at: Instant,
        last_error: String,
    },
}

#[derive(Debug)]
struct Relay {
    /// The address it was added with, ending in `/p2p/RELAY`.
    addr: Multiaddr,
    state: State,
    /// Consecutive failed attempts since the last accepted reservation.
    failures: u32,
    /// The last reason a dial to the relay failed, to explain a listener
    /// that closed without an error of its own.
    last_dial_error: Option<String>,
}

/// The relay set.
#[derive(Debug, Default)]
pub(crate) struct Relays {
    relays: HashMap<PeerId, Relay>,
}

/// What [`Relays::add`] decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Added {
    /// A new relay: start a reservation.
    New,
    /// Already known (its address was updated); nothing to start.
    Known,
}

/// The delay before the next attempt after `failures` consecutive failures
/// (at least 1): 1 s, 2 s, 4 s, … up to 5 minutes.
pub(crate) fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    RELAY_BACKOFF_MIN
        .saturating_mul(1u32 << exponent)
        .min(RELAY_BACKOFF_MAX)
}

/// The relay named by an address ending in `/p2p/PEER_ID`, and the address
/// without that suffix.
pub(crate) fn split_relay_addr(addr: &Multiaddr) -> Result<(PeerId, Multiaddr), NetError> {
    let mut bare = addr.clone();
    let peer = match bare.pop() {
        Some(Protocol::P2p(peer)) if !bare.is_empty() => peer,
        _ => {
            return Err(NetError::InvalidArgument(
                "a relay address must end with /p2p/PEER_ID",
            ));
        }
    };
    if bare.iter().any(|p| p == Protocol::P2pCircuit) {
        return Err(NetError::InvalidArgument(
            "a relay address cannot itself go through a relay",
        ));
    }
    Ok((peer, bare))
}

impl Relays {
    /// Adds a relay reachable at `addr` (ending in `/p2p/peer`), unless
    /// [`MAX_RELAYS`] are already kept.
    pub(crate) fn add(&mut self, peer: PeerId, addr: Multiaddr) -> Result<Added, NetError> {
        if let Some(relay) = self.relays.get_mut(&peer) {
            relay.addr = addr;
            return Ok(Added::Known);
        }
        if self.relays.len() >= MAX_RELAYS {
            return Err(NetError::TooManyRelays { max: MAX_RELAYS });
        }
        self.relays.insert(
            peer,
            Relay {
                addr,
                // Replaced at once by `listening` or `failed`.
                state: State::BackingOff {
                    retry_at: Instant::now(),
                    last_error: String::new(),
                },
                failures: 0,
                last_dial_error: None,
            },
        );
        Ok(Added::New)
    }

    /// Forgets a relay. Returns whether it was known, and its listener to
    /// close, if any.
    pub(crate) fn remove(&mut self, peer: &PeerId) -> Option<Option<ListenerId>> {
        let relay = self.relays.remove(peer)?;
        Some(match relay.state {
            State::Connecting { listener } | State::Reserved { listener, .. } => Some(listener),
            State::BackingOff { .. } => None,
        })
    }

    /// Whether `peer` is one of the relays.
    pub(crate) fn contains(&self, peer: &PeerId) -> bool {
        self.relays.contains_key(peer)
    }

    /// The address to listen on for a reservation on `peer`:
    /// `<addr>/p2p/RELAY/p2p-circuit`.
    pub(crate) fn circuit_listen_addr(&self, peer: &PeerId) -> Option<Multiaddr> {
        let relay = self.relays.get(peer)?;
        Some(relay.addr.clone().with(Protocol::P2pCircuit))
    }

    /// A reservation attempt started with `listener`.
    pub(crate) fn listening(&mut self, peer: &PeerId, listener: ListenerId) {
        if let Some(relay) = self.relays.get_mut(peer) {
            relay.state = State::Connecting { listener };
        }
    }

    /// A reservation attempt could not start, or ended: back off. Returns
    /// the reason to report.
    pub(crate) fn failed(&mut self, peer: &PeerId, reason: String, now: Instant) -> String {
        let Some(relay) = self.relays.get_mut(peer) else {
            return reason;
        };
        relay.failures = relay.failures.saturating_add(1);
        let reason = match relay.last_dial_error.take() {
            Some(dial) if !relay_was_reserved(&relay.state) => format!("{reason}: {dial}"),
            _ => reason,
        };
        relay.state = State::BackingOff {
            retry_at: now + backoff(relay.failures),
            last_error: reason.clone(),
        };
        reason
    }

    /// The relay whose reservation `listener` is, if any.
    pub(crate) fn by_listener(&self, listener: ListenerId) -> Option<PeerId> {
        self.relays
            .iter()
            .find_map(|(peer, relay)| match relay.state {
                State::Connecting { listener: l } | State::Reserved { listener: l, .. }
                    if l == listener =>
                {
                    Some(*peer)
                }
                _ => None,
            })
    }

    /// The relay accepted the reservation of `listener`, which now listens
    /// on `addr`. Returns the relay and all its circuit addresses so far.
    pub(crate) fn reserved(
        &mut self,
        listener: ListenerId,
        addr: Multiaddr,
    ) -> Option<(PeerId, Vec<Multiaddr>)> {
        let peer = self.by_listener(listener)?;
        let relay = self.relays.get_mut(&peer)?;
        relay.failures = 0;
        relay.last_dial_error = None;
        if !matches!(relay.state, State::Reserved { .. }) {
            relay.state = State::Reserved {
                listener,
                addrs: Vec::new(),
            };
        }
        let State::Reserved { addrs, .. } = &mut relay.state else {
            return None;
        };
        if !addrs.contains(&addr) && addrs.len() < MAX_ADDRESSES_PER_PEER {
            addrs.push(addr);
        }
        Some((peer, addrs.clone()))
    }

    /// The listener stopped listening on `addr` (without closing).
    pub(crate) fn addr_expired(&mut self, listener: ListenerId, addr: &Multiaddr) {
        let Some(peer) = self.by_listener(listener) else {
            return;
        };
        if let Some(Relay {
            state: State::Reserved { addrs, .. },
            ..
        }) = self.relays.get_mut(&peer)
        {
            addrs.retain(|a| a != addr);
        }
    }

    /// Remembers why a dial to a relay failed.
    pub(crate) fn dial_failed(&mut self, peer: &PeerId, error: String) {
        if let Some(relay) = self.relays.get_mut(peer) {
            relay.last_dial_error = Some(error);
        }
    }

    /// A connection to `peer` came up: if it is a relay waiting for its
    /// next attempt, make that attempt due now.
    pub(crate) fn connected(&mut self, peer: &PeerId, now: Instant) {
        if let Some(Relay {
            state: State::BackingOff { retry_at, .. },
            ..
        }) = self.relays.get_mut(peer)
        {
            *retry_at = now;
        }
    }

    /// Relays whose next attempt is due at `now`.
    pub(crate) fn due(&self, now: Instant) -> Vec<PeerId> {
        self.relays
            .iter()
            .filter(|(_, relay)| {
                matches!(relay.state, State::BackingOff { retry_at, .. } if retry_at <= now)
            })
            .map(|(peer, _)| *peer)
            .collect()
    }

    /// When the earliest next attempt is due, if any relay is backing off.
    pub(crate) fn next_retry(&self) -> Option<Instant> {
        self.relays
            .values()
            .filter_map(|relay| match relay.state {
                State::BackingOff { retry_at, .. } => Some(retry_at),
                _ => None,
            })
            .min()
    }

    /// Every relay with its state, for [`Net::relays`](crate::Net::relays).
    pub(crate) fn info(&self, now: Instant) -> Vec<RelayInfo> {
        self.relays
            .iter()
            .map(|(peer, relay)| RelayInfo {
                relay: *peer,
                addr: relay.addr.clone(),
                state: match &relay.state {
                    State::Connecting { .. } => RelayState::Connecting,
                    State::Reserved { addrs, .. } => RelayState::Reserved {
                        addrs: addrs.clone(),
                    },
                    State::BackingOff {
                        retry_at,
                        last_error,
                    } => RelayState::BackingOff {
                        last_error: last_error.clone(),
                        retry_in: retry_at.saturating_duration_since(now),
                    },
                },
            })
            .collect()
    }
}

fn relay_was_reserved(state: &State) -> bool {
    matches!(state, State::Reserved { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay_addr(peer: PeerId) -> Multiaddr {
        format!("/ip4/127.0.0.1/tcp/4001/p2p/{peer}")
            .parse()
            .unwrap()
    }

    #[test]
    fn backoff_doubles_from_one_second_to_five_minutes() {
        let delays: Vec<u64> = (1..=11).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff(u32::MAX), RELAY_BACKOFF_MAX);
        assert_eq!(backoff(0), RELAY_BACKOFF_MIN);
    }

    #[test]
    fn relay_addresses_must_name_the_relay() {
        let peer = PeerId::random();
        let (found, bare) = split_relay_addr(&relay_addr(peer)).unwrap();
        assert_eq!(found, peer);
        assert_eq!(bare.to_string(), "/ip4/127.0.0.1/tcp/4001");
        let no_peer: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().unwrap();
        assert!(split_relay_addr(&no_peer).is_err());
        let only_peer: Multiaddr = format!("/p2p/{peer}").parse().unwrap();
        assert!(split_relay_addr(&only_peer).is_err());
        let circuit: Multiaddr = format!(
            "/ip4/127.0.0.1/tcp/4001/p2p/{}/p2p-circuit/p2p/{peer}",
            PeerId::random()
        )
        .parse()
        .unwrap();
        assert!(split_relay_addr(&circuit).is_err());
    }

    #[test]
    fn at_most_max_relays() {
        let mut relays = Relays::default();
        let peers: Vec<PeerId> = (0..MAX_RELAYS).map(|_| PeerId::random()).collect();
        for peer in &peers {
            assert_eq!(relays.add(*peer, relay_addr(*peer)), Ok(Added::New));
        }
        let extra = PeerId::random();
        assert_eq!(
            relays.add(extra, relay_addr(extra)),
            Err(NetError::TooManyRelays { max: MAX_RELAYS })
        );
        // A known relay can be added again; a removed one frees a place.
        assert_eq!(relays.add(peers[0], relay_addr(peers[0])), Ok(Added::Known));
        assert_eq!(relays.remove(&peers[0]), Some(None));
        assert_eq!(relays.add(extra, relay_addr(extra)), Ok(Added::New));
    }

    #[test]
    fn failures_back_off_and_a_reservation_resets_them() {
        let mut relays = Relays::default();
        let peer = PeerId::random();
        relays.add(peer, relay_addr(peer)).unwrap();
        let now = Instant::now();
        let first = ListenerId::next();
        relays.listening(&peer, first);
        assert_eq!(relays.by_listener(first), Some(peer));

        relays.dial_failed(&peer, "connection refused".to_owned());
        let reason = relays.failed(&peer, "listener closed".to_owned(), now);
        assert_eq!(reason, "listener closed: connection refused");
        assert_eq!(relays.next_retry(), Some(now + Duration::from_secs(1)));
        assert!(relays.due(now).is_empty());
        assert_eq!(relays.due(now + Duration::from_secs(1)), [peer]);
        let [info] = &relays.info(now)[..] else {
            panic!("one relay")
        };
        assert_eq!(
            info.state,
            RelayState::BackingOff {
                last_error: reason,
                retry_in: Duration::from_secs(1)
            }
        );

        let second = ListenerId::next();
        relays.listening(&peer, second);
        relays.failed(&peer, "refused".to_owned(), now);
        assert_eq!(relays.next_retry(), Some(now + Duration::from_secs(2)));

        // A connection that comes up makes the attempt due at once.
        relays.connected(&peer, now);
        assert_eq!(relays.due(now), [peer]);

        let third = ListenerId::next();
        relays.listening(&peer, third);
        let circuit: Multiaddr = format!(
            "/ip4/127.0.0.1/tcp/4001/p2p/{peer}/p2p-circuit/p2p/{}",
            PeerId::random()
        )
        .parse()
        .unwrap();
        assert_eq!(
            relays.reserved(third, circuit.clone()),
            Some((peer, vec![circuit.clone()]))
        );
        assert_eq!(
            relays.reserved(first, circuit.clone()),
            None,
            "stale listener"
        );
        relays.failed(&peer, "closed".to_owned(), now);
        assert_eq!(
            relays.next_retry(),
            Some(now + Duration::from_secs(1)),
            "the reservation reset the failure count"
        );
    }

    #[test]
    fn circuit_addresses_per_relay_are_bounded() {
        let mut relays = Relays::default();
        let peer = PeerId::random();
        relays.add(peer, relay_addr(peer)).unwrap();
        let listener = ListenerId::next();
        relays.listening(&peer, listener);
        let mut last = Vec::new();
        for port in 0..MAX_ADDRESSES_PER_PEER + 4 {
            let addr: Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}/p2p/{peer}/p2p-circuit")
                .parse()
                .unwrap();
            last = relays.reserved(listener, addr).unwrap().1;
        }
        assert_eq!(last.len(), MAX_ADDRESSES_PER_PEER);
        assert_eq!(
            relays.circuit_listen_addr(&peer).unwrap().to_string(),
            format!("/ip4/127.0.0.1/tcp/4001/p2p/{peer}/p2p-circuit")
        );
    }
}
