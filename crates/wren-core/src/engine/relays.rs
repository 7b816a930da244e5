//! Relays: ours and our contacts'.
//!
//! - **Ours** are kept in the store (setting `relays`) and handed to the
//!   network, which reserves a circuit slot on each so that contacts can
//!   reach us through `/p2p-circuit` addresses. They are advertised as
//!   relay hints in our pairing code and, when the list changes, in a
//!   [`Payload::Profile`] sent to every contact. Whenever a connection to
//!   one of them comes up (and every [`MAILBOX_POLL`] while reserved) the
//!   node drains its mailbox there: each page is processed like a direct
//!   batch from the depositor, committed with delivery receipts for the
//!   texts, and only then acknowledged to the relay.
//! - **Our contacts'** come from their pairing codes and profiles. Sending
//!   dials a contact at its circuit addresses too; when a batch cannot be
//!   sent at all, its envelopes are deposited in the contact's mailbox on
//!   one of its relays (status `relayed`), and `delivered` follows with the
//!   contact's delivery receipt.

use std::collections::HashSet;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, warn};
use wren_crypto::NetworkHint;
use wren_net::limits::{MAX_DEPOSIT_BATCH, MAX_FETCH_ITEMS, MAX_MAILBOX_REQUEST_BYTES, MAX_RELAYS};
use wren_net::mailbox::{DepositOutcome, MailboxRequest, MailboxResponse, StoredItem};
use wren_net::{Multiaddr, PeerId, Protocol, RelayState as NetRelayState, SendError, parse_relay};
use wren_proto::{Payload, Profile};
use wren_store::{MessageStatus, StoreError, WriteTx};

use super::outbox::MessageRef;
use super::receive;
use super::{Engine, Internal, now_ms};
use crate::error::NodeError;
use crate::event::NodeEvent;
use crate::types::{RelayInfo, RelayState, Status};

/// The store setting holding our relays.
const RELAYS_SETTING: &str = "relays";
/// Version byte of that setting.
const RELAYS_VERSION: u8 = 1;

/// How often the mailbox on each reserved relay is fetched while connected
/// (deposits made while we are online but unreachable directly).
pub(crate) const MAILBOX_POLL: Duration = Duration::from_secs(30);

/// Our relays as stored: a version byte, then addresses (each ending in
/// `/p2p/PEER_ID`) separated by newlines.
fn encode_relays(relays: &[Multiaddr]) -> Vec<u8> {
    let text = relays
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::with_capacity(1 + text.len());
    out.push(RELAYS_VERSION);
    out.extend_from_slice(text.as_bytes());
    out
}

/// Reads the setting back; unparsable entries are skipped, at most
/// [`MAX_RELAYS`] kept.
pub(crate) fn decode_relays(bytes: &[u8]) -> Vec<Multiaddr> {
    let Some((&RELAYS_VERSION, rest)) = bytes.split_first() else {
        return Vec::new();
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| line.parse().ok())
        .take(MAX_RELAYS)
        .collect()
}

/// Loads our relays (in a read or write transaction's `setting`).
pub(crate) fn load_relays(setting: Option<Vec<u8>>) -> Vec<Multiaddr> {
    setting.as_deref().map(decode_relays).unwrap_or_default()
}

/// The relay's peer id: the last `/p2p` component.
pub(crate) fn relay_peer(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().last().and_then(|p| match p {
        Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

/// The address of `target` through the relay at `relay` (which ends in
/// `/p2p/RELAY`).
pub(crate) fn circuit(relay: &Multiaddr, target: PeerId) -> Multiaddr {
    relay
        .clone()
        .with(Protocol::P2pCircuit)
        .with(Protocol::P2p(target))
}

/// What a deposit did for each entry of the batch, in order: `None` when
/// it was not stored anywhere (no relay answered).
pub(crate) type DepositResult = (Vec<Option<DepositOutcome>>, Option<String>);

impl Engine {
    /// Our relays' hints for the pairing code.
    pub(crate) fn relay_hints(&self) -> Vec<NetworkHint> {
        self.relays
            .iter()
            .map(|addr| NetworkHint::Relay(addr.to_string()))
            .collect()
    }

    /// `add_relay`: a relay code or a multiaddr ending in `/p2p/PEER_ID`.
    /// Works while the relay is unreachable (the network retries).
    pub(crate) async fn add_relay(&mut self, text: &str) -> Result<RelayInfo, NodeError> {
        let code = parse_relay(text.trim())?;
        let addrs = code.addrs_with_peer();
        let Some(first) = addrs.first().cloned() else {
            return Err(NodeError::InvalidArgument("a relay needs an address"));
        };
        let peer = code.peer_id();
        if peer == self.net.local_peer_id() {
            return Err(NodeError::InvalidArgument(
                "that is this node's own identity",
            ));
        }
        let mut relays = self.relays.clone();
        relays.retain(|a| relay_peer(a) != Some(peer));
        if relays.len() >= MAX_RELAYS {
            return Err(NodeError::InvalidArgument("at most 8 relays"));
        }
        relays.push(first.clone());
        self.save_relays(relays).await?;
        self.net.add_relay(first.clone()).await?;
        if addrs.len() > 1 {
            let _ = self.net.add_addresses(peer, addrs).await;
        }
        self.send_profiles().await;
        Ok(RelayInfo {
            peer_id: peer.to_string(),
            address: first.to_string(),
            state: RelayState::Connecting,
            circuit_addrs: Vec::new(),
            detail: None,
        })
    }

    /// `remove_relay`: by peer id, relay code or address. Returns whether
    /// it was one of ours.
    pub(crate) async fn remove_relay(&mut self, text: &str) -> Result<bool, NodeError> {
        let text = text.trim();
        let peer = match text.parse::<PeerId>() {
            Ok(peer) => peer,
            Err(_) => parse_relay(text)?.peer_id(),
        };
        let mut relays = self.relays.clone();
        relays.retain(|a| relay_peer(a) != Some(peer));
        if relays.len() == self.relays.len() {
            return Ok(false);
        }
        self.save_relays(relays).await?;
        self.net.remove_relay(peer).await?;
        self.relays_up.remove(&peer);
        self.send_profiles().await;
        Ok(true)
    }

    async fn save_relays(&mut self, relays: Vec<Multiaddr>) -> Result<(), NodeError> {
        let bytes = encode_relays(&relays);
        self.store
            .write(move |tx| tx.set_setting(RELAYS_SETTING, &bytes))
            .await?;
        self.relays = relays;
        Ok(())
    }

    /// `relays`: each of ours with its reservation state.
    pub(crate) async fn relay_list(&self) -> Result<Vec<RelayInfo>, NodeError> {
        let states = self.net.relays().await?;
        Ok(self
            .relays
            .iter()
            .map(|addr| {
                let peer = relay_peer(addr);
                let state = states.iter().find(|s| Some(s.relay) == peer);
                let (state, circuit_addrs, detail) = match state.map(|s| &s.state) {
                    Some(NetRelayState::Reserved { addrs }) => (
                        RelayState::Reserved,
                        addrs.iter().map(ToString::to_string).collect(),
                        None,
                    ),
                    Some(NetRelayState::BackingOff { last_error, .. }) => {
                        (RelayState::BackingOff, Vec::new(), Some(last_error.clone()))
                    }
                    _ => (RelayState::Connecting, Vec::new(), None),
                };
                RelayInfo {
                    peer_id: peer.map(|p| p.to_string()).unwrap_or_default(),
                    address: addr.to_string(),
                    state,
                    circuit_addrs,
                    detail,
                }
            })
            .collect())
    }

    /// `relay_users`: as the relay's owner, lists, authorises or removes
    /// its users over `/wren/mailbox/1` (the relay checks that the request
    /// comes from its owner). `user` is a pairing code or a peer id. Runs
    /// on a helper task; the reply comes from there.
    pub(crate) fn relay_users(
        &self,
        relay: &str,
        change: Option<(bool, String)>,
        reply: super::Reply<Vec<String>>,
    ) {
        let relay = relay.trim();
        let found = match relay.parse::<PeerId>() {
            Ok(peer) => Ok((peer, Vec::new())),
            Err(_) => parse_relay(relay)
                .map(|code| (code.peer_id(), code.addrs_with_peer()))
                .map_err(NodeError::from),
        };
        let (peer, mut addrs) = match found {
            Ok(found) => found,
            Err(error) => {
                let _ = reply.send(Err(error));
                return;
            }
        };
        addrs.extend(
            self.relays
                .iter()
                .filter(|a| relay_peer(a) == Some(peer))
                .cloned(),
        );
        let request = match change {
            None => MailboxRequest::UsersList,
            Some((add, user)) => {
                let user = match user_peer(&user) {
                    Ok(user) => user,
                    Err(error) => {
                        let _ = reply.send(Err(error));
                        return;
                    }
                };
                if add {
                    MailboxRequest::UsersAdd { user }
                } else {
                    MailboxRequest::UsersRemove { user }
                }
            }
        };
        let net = self.net.clone();
        tokio::spawn(async move {
            let result = match net.mailbox(peer, addrs, request).await {
                Ok(MailboxResponse::Users(users)) => {
                    Ok(users.iter().map(ToString::to_string).collect())
                }
                Ok(MailboxResponse::Done) => Ok(Vec::new()),
                Ok(MailboxResponse::Refused(code)) => {
                    Err(NodeError::Refused(code.name().to_owned()))
                }
                Ok(_) => Err(NodeError::Unreachable(
                    "the relay answered out of protocol".to_owned(),
                )),
                Err(error) => Err(NodeError::from(error)),
            };
            let _ = reply.send(result);
        });
    }

    /// Hands our stored relays to the network (at start).
    pub(crate) async fn start_relays(&mut self) {
        for addr in self.relays.clone() {
            if let Err(error) = self.net.add_relay(addr).await {
                warn!(%error, "a stored relay was refused");
            }
        }
    }

    /// Whether `peer` is one of our relays.
    pub(crate) fn is_my_relay(&self, peer: &PeerId) -> bool {
        self.relays.iter().any(|a| relay_peer(a) == Some(*peer))
    }

    /// Sends every contact our current pairing code (its hints list our
    /// addresses and relays), queued like receipts.
    pub(crate) async fn send_profiles(&mut self) {
        let code = match self.my_code().await {
            Ok(code) => code,
            Err(error) => {
                warn!(%error, "cannot make a pairing code for the profile");
                return;
            }
        };
        let payload = Payload::Profile(Profile { pairing_code: code });
        // Contacts, and group peers (their addresses matter as much).
        let mut keys: Vec<[u8; 32]> = self.contacts.keys().copied().collect();
        keys.extend(
            self.group_peers
                .keys()
                .filter(|key| self.is_group_peer(key))
                .copied(),
        );
        let mut books: Vec<([u8; 32], Option<wren_crypto::SessionBook>)> = keys
            .iter()
            .map(|key| (*key, self.books.remove(key)))
            .collect();
        let now = now_ms();
        let result = self
            .store
            .write(move |tx| {
                let mut queued = Vec::new();
                for (key, slot) in &mut books {
                    if slot.is_none() {
                        *slot = tx.session(key)?;
                    }
                    let Some(book) = slot.as_mut() else {
                        continue;
                    };
                    if !book.has_session() {
                        continue;
                    }
                    if let Some(q) = receive::queue_control(tx, book, &payload, now)? {
                        queued.push((*key, q));
                    }
                }
                Ok((queued, books))
            })
            .await;
        match result {
            Ok((queued, books)) => {
                for (key, book) in books {
                    if let Some(book) = book {
                        self.books.insert(key, book);
                    }
                }
                for (key, q) in queued {
                    self.push_queued(key, q);
                }
            }
            Err(error) => warn!(%error, "queueing profile updates failed"),
        }
    }

    /// Starts draining our mailbox on `relay` unless a drain is under way.
    pub(crate) fn fetch_mailbox(&mut self, relay: PeerId) {
        if !self.fetching.insert(relay) {
            return;
        }
        let net = self.net.clone();
        let done = self.internal_tx.clone();
        tokio::spawn(async move {
            let result = fetch_page(&net, relay).await;
            let _ = done.send(Internal::Fetched { relay, result }).await;
        });
    }

    /// Fetches on every reserved relay (the periodic poll).
    pub(crate) fn poll_mailboxes(&mut self) {
        let relays: Vec<PeerId> = self.relays_up.iter().copied().collect();
        for relay in relays {
            self.fetch_mailbox(relay);
        }
        self.next_poll = Instant::now() + MAILBOX_POLL;
    }

    /// A page of our mailbox arrived: process it, and acknowledge and fetch
    /// the next page once it is committed.
    pub(crate) async fn fetched(
        &mut self,
        relay: PeerId,
        result: Result<MailboxResponse, SendError>,
    ) {
        let (items, more) = match result {
            Ok(MailboxResponse::Page { items, more }) => (items, more),
            Ok(MailboxResponse::Refused(code)) => {
                debug!(%relay, code = code.name(), "mailbox fetch refused");
                self.fetching.remove(&relay);
                return;
            }
            Ok(_) => {
                self.fetching.remove(&relay);
                return;
            }
            Err(error) => {
                debug!(%relay, %error, "mailbox fetch failed");
                self.fetching.remove(&relay);
                return;
            }
        };
        let Some(last) = items.last().map(|item| item.seq) else {
            self.fetching.remove(&relay);
            return;
        };
        // Consecutive items of one depositor form one batch (its order kept).
        let mut groups: Vec<(PeerId, Vec<Vec<u8>>)> = Vec::new();
        for StoredItem {
            depositor,
            envelope,
            ..
        } in items
        {
            match groups.last_mut() {
                Some((peer, envelopes)) if *peer == depositor => envelopes.push(envelope),
                _ => groups.push((depositor, vec![envelope])),
            }
        }
        if !self.receive_mailbox_batches(groups).await {
            // Not stored: not acknowledged either; fetched again later.
            self.fetching.remove(&relay);
            return;
        }
        let net = self.net.clone();
        let done = self.internal_tx.clone();
        tokio::spawn(async move {
            let acked = net
                .mailbox(relay, Vec::new(), MailboxRequest::Ack { up_to: last })
                .await;
            let result = match acked {
                Ok(MailboxResponse::Acked { .. }) if more => fetch_page(&net, relay).await,
                Ok(MailboxResponse::Acked { .. }) => Ok(MailboxResponse::Page {
                    items: Vec::new(),
                    more: false,
                }),
                Ok(other) => Ok(other),
                Err(error) => Err(error),
            };
            let _ = done.send(Internal::Fetched { relay, result }).await;
        });
    }

    /// The addresses to dial `contact` at: stored ones and circuits through
    /// its relays.
    pub(crate) fn contact_addrs(&self, contact: &[u8; 32]) -> Vec<Multiaddr> {
        // A contact's, or a group peer's (docs/protocol.md §G13).
        let Some((peer, addresses, relays)) = self.reach(contact) else {
            return Vec::new();
        };
        let mut addrs = super::parse_addrs(addresses);
        for relay in super::parse_addrs(relays) {
            if relay_peer(&relay).is_some() {
                addrs.push(circuit(&relay, peer));
            }
        }
        addrs
    }

    /// Deposits the in-flight batch of `recipient` in its mailbox on one of
    /// its relays. Returns `false` (nothing started) when it has none.
    pub(crate) fn deposit(&mut self, recipient: [u8; 32], ids: &[u64]) -> bool {
        let Some((peer, _, relays)) = self.reach(&recipient) else {
            return false;
        };
        let relays: Vec<(PeerId, Multiaddr)> = super::parse_addrs(relays)
            .into_iter()
            .filter_map(|addr| relay_peer(&addr).map(|peer| (peer, addr)))
            .collect();
        if relays.is_empty() {
            return false;
        }
        let Some(queue) = self.outbox.queues.get(&recipient) else {
            return false;
        };
        let envelopes: Vec<Vec<u8>> = ids
            .iter()
            .filter_map(|id| queue.entries.get(id).map(|e| e.envelope.clone()))
            .collect();
        if envelopes.len() != ids.len() {
            return false;
        }
        let ids = ids.to_vec();
        let net = self.net.clone();
        let done = self.internal_tx.clone();
        tokio::spawn(async move {
            let result = deposit_on(&net, &relays, peer, envelopes).await;
            let _ = done
                .send(Internal::Deposited {
                    recipient,
                    ids,
                    result,
                })
                .await;
        });
        true
    }

    /// A deposit finished: stored entries become `relayed` and leave the
    /// outbox; refused ones fail with the relay's reason; the rest wait
    /// for the next attempt.
    pub(crate) async fn deposited(
        &mut self,
        recipient: [u8; 32],
        ids: Vec<u64>,
        (outcomes, error): DepositResult,
    ) {
        let now = Instant::now();
        let mut relayed: Vec<(u64, Option<MessageRef>)> = Vec::new();
        let mut refused: Vec<(u64, Option<MessageRef>, String)> = Vec::new();
        let mut not_stored = false;
        if let Some(queue) = self.outbox.queues.get(&recipient) {
            for (id, outcome) in ids.iter().zip(outcomes) {
                let message = queue.entries.get(id).and_then(|e| e.message);
                match outcome {
                    Some(DepositOutcome::Stored) => relayed.push((*id, message)),
                    Some(DepositOutcome::Refused(code)) => {
                        refused.push((*id, message, format!("relay refused: {}", code.name())))
                    }
                    None => not_stored = true,
                }
            }
        }
        let plan_relayed: Vec<(u64, Option<[u8; 16]>)> = relayed
            .iter()
            .map(|(id, m)| (*id, m.map(|m| m.id)))
            .collect();
        let plan_refused: Vec<(u64, Option<[u8; 16]>, String)> = refused
            .iter()
            .map(|(id, m, reason)| (*id, m.map(|m| m.id), reason.clone()))
            .collect();
        let stored = self
            .store
            .write(move |tx| apply_deposit(tx, &plan_relayed, &plan_refused))
            .await;
        if let Err(error) = stored {
            warn!(%error, "recording a deposit failed; will send again");
            self.outbox.finish(&recipient, true, now);
            return;
        }
        let relayed_ids: Vec<u64> = relayed.iter().map(|(id, _)| *id).collect();
        self.outbox.remove(&recipient, &relayed_ids);
        for (id, message, reason) in &refused {
            match message {
                Some(_) => self.outbox.park_from_queue(&recipient, *id),
                None => {
                    self.outbox.remove(&recipient, &[*id]);
                }
            }
            if let Some(message) = message
                && message.visible
            {
                self.emit(NodeEvent::StatusChanged {
                    group: None,
                    member: None,
                    id: hex::encode(message.id),
                    conversation: message.conversation,
                    status: Status::Failed,
                    detail: Some(reason.clone()),
                });
            }
        }
        for (_, message) in &relayed {
            if let Some(message) = message
                && message.visible
            {
                self.emit(NodeEvent::StatusChanged {
                    group: None,
                    member: None,
                    id: hex::encode(message.id),
                    conversation: message.conversation,
                    status: Status::Relayed,
                    detail: None,
                });
            }
        }
        if not_stored {
            let reason = error.unwrap_or_else(|| "no relay stored it".to_owned());
            self.attempt_failed(recipient, now, &reason).await;
        } else {
            self.outbox.finish(&recipient, false, now);
            self.pump();
        }
    }

    /// The relays' state changed.
    pub(crate) fn relay_event(
        &mut self,
        relay: PeerId,
        up: Option<Vec<Multiaddr>>,
        reason: String,
    ) {
        match up {
            Some(addrs) => {
                self.relays_up.insert(relay);
                self.emit(NodeEvent::RelayReserved {
                    relay: relay.to_string(),
                    addrs: addrs.iter().map(ToString::to_string).collect(),
                });
            }
            None => {
                self.relays_up.remove(&relay);
                self.emit(NodeEvent::RelayLost {
                    relay: relay.to_string(),
                    reason,
                });
            }
        }
    }
}

/// The peer id a user argument names: a pairing code or a peer id.
fn user_peer(text: &str) -> Result<PeerId, NodeError> {
    let text = text.trim();
    if let Ok(peer) = text.parse::<PeerId>() {
        return Ok(peer);
    }
    let code = wren_crypto::PairingCode::parse(text)?;
    Ok(code.identity().peer_id())
}

/// One fetch of the first page of our mailbox on `relay`.
async fn fetch_page(net: &wren_net::Net, relay: PeerId) -> Result<MailboxResponse, SendError> {
    let limit = u16::try_from(MAX_FETCH_ITEMS).unwrap_or(u16::MAX);
    net.mailbox(relay, Vec::new(), MailboxRequest::Fetch { after: 0, limit })
        .await
}

/// Deposits `envelopes` for `recipient` on the first of `relays` that
/// answers, in chunks that fit a request.
async fn deposit_on(
    net: &wren_net::Net,
    relays: &[(PeerId, Multiaddr)],
    recipient: PeerId,
    envelopes: Vec<Vec<u8>>,
) -> DepositResult {
    let mut last_error = None;
    for (relay, addr) in relays {
        let mut outcomes: Vec<Option<DepositOutcome>> = Vec::with_capacity(envelopes.len());
        let mut failed = false;
        for chunk in chunks(&envelopes) {
            if failed {
                outcomes.extend(std::iter::repeat_n(None, chunk.len()));
                continue;
            }
            let request = MailboxRequest::Deposit {
                recipient,
                envelopes: chunk.to_vec(),
            };
            match net.mailbox(*relay, vec![addr.clone()], request).await {
                Ok(MailboxResponse::Deposited(codes)) if codes.len() == chunk.len() => {
                    outcomes.extend(codes.into_iter().map(Some));
                }
                Ok(MailboxResponse::Refused(code)) => {
                    outcomes.extend(std::iter::repeat_n(
                        Some(DepositOutcome::Refused(code)),
                        chunk.len(),
                    ));
                }
                Ok(_) => {
                    last_error = Some("the relay answered out of protocol".to_owned());
                    failed = true;
                    outcomes.extend(std::iter::repeat_n(None, chunk.len()));
                }
                Err(error) => {
                    last_error = Some(format!("relay unreachable: {error}"));
                    failed = true;
                    outcomes.extend(std::iter::repeat_n(None, chunk.len()));
                }
            }
        }
        if outcomes.iter().any(Option::is_some) {
            return (outcomes, last_error);
        }
    }
    (vec![None; envelopes.len()], last_error)
}

/// Splits envelopes into deposit requests within the protocol's limits.
fn chunks(envelopes: &[Vec<u8>]) -> Vec<&[Vec<u8>]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < envelopes.len() {
        let mut end = start;
        // version, op, recipient (at most 65 bytes), count
        let mut len = 2 + 65 + 2;
        while end < envelopes.len() && end - start < MAX_DEPOSIT_BATCH {
            let next = envelopes.get(end).map_or(0, |e| 4 + e.len());
            if end > start && len + next > MAX_MAILBOX_REQUEST_BYTES {
                break;
            }
            len += next;
            end += 1;
        }
        if let Some(chunk) = envelopes.get(start..end) {
            out.push(chunk);
        }
        start = end;
    }
    out
}

/// Stores a deposit's outcome: relayed entries leave the outbox with status
/// relayed; refused messages are parked as failed, refused requests and
/// receipts dropped.
fn apply_deposit(
    tx: &mut WriteTx<'_>,
    relayed: &[(u64, Option<[u8; 16]>)],
    refused: &[(u64, Option<[u8; 16]>, String)],
) -> Result<(), StoreError> {
    for (id, message) in relayed {
        tx.outbox_remove(*id)?;
        if let Some(message) = message {
            match tx.set_status(message, MessageStatus::Relayed) {
                Ok(()) | Err(StoreError::MessageNotFound) => {}
                Err(other) => return Err(other),
            }
        }
    }
    for (id, message, reason) in refused {
        match message {
            Some(message) => {
                tx.outbox_reschedule(*id, 0, u64::MAX)?;
                match tx.set_status(message, MessageStatus::Failed(reason.clone())) {
                    Ok(()) | Err(StoreError::MessageNotFound) => {}
                    Err(other) => return Err(other),
                }
            }
            None => {
                tx.outbox_remove(*id)?;
            }
        }
    }
    Ok(())
}

/// Relays our node keeps reservations on, while reserved.
pub(crate) type RelaysUp = HashSet<PeerId>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_round_trips_and_skips_junk() {
        let a: Multiaddr =
            "/ip4/192.0.2.1/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"
                .parse()
                .unwrap();
        let bytes = encode_relays(&[a.clone(), a.clone()]);
        assert_eq!(decode_relays(&bytes), vec![a.clone(), a.clone()]);
        let mut junk = bytes.clone();
        junk.extend_from_slice(b"\nnot an address");
        assert_eq!(decode_relays(&junk).len(), 2);
        assert!(decode_relays(&[9, b'x']).is_empty());
        assert!(decode_relays(&[]).is_empty());
        let many: Vec<Multiaddr> = std::iter::repeat_n(a, MAX_RELAYS + 3).collect();
        assert_eq!(decode_relays(&encode_relays(&many)).len(), MAX_RELAYS);
    }

    #[test]
    fn deposits_are_split_within_the_request_limits() {
        let small = vec![vec![1u8; 100]; MAX_DEPOSIT_BATCH * 2 + 1];
        let parts = chunks(&small);
        assert_eq!(
            parts.iter().map(|c| c.len()).collect::<Vec<_>>(),
            [MAX_DEPOSIT_BATCH, MAX_DEPOSIT_BATCH, 1]
        );
        let big = vec![vec![1u8; 65_536]; 40];
        let parts = chunks(&big);
        assert!(parts.len() > 1);
        for part in &parts {
            let len: usize = 69 + part.iter().map(|e| 4 + e.len()).sum::<usize>();
            assert!(len <= MAX_MAILBOX_REQUEST_BYTES);
        }
        assert_eq!(parts.iter().map(|c| c.len()).sum::<usize>(), 40);
        assert!(chunks(&[]).is_empty());
    }
}
