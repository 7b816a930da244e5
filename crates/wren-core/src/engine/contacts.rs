//! Contacts: pairing codes, adding by code or peer id, requests, accept,
//! decline, verification.

use wren_crypto::{
    IdentityKey, NetworkHint, PairingCode, PeerId, PrekeyBundle, SafetyNumber, SessionBook,
    VerifiedBundle,
};
use wren_net::{Multiaddr, SendError};
use wren_proto::{ContactRequest, Payload, Receipt, Timestamp, Versioned};
use wren_store::{Contact, Verification};

use super::meta::{self, ContactMeta, StoredState};
use super::outbox::OutEntry;
use super::receive::{self, Queued};
use super::{ContactEntry, Engine, Internal, Reply, alias_of, now_ms};
use crate::error::NodeError;
use crate::event::NodeEvent;
use crate::limits::{MAX_ALIAS_BYTES, MAX_CONTACTS};
use crate::types::{ContactInfo, ContactPreview, ContactState, Known, NearbyPeer, RequestInfo};

/// Parses a stored contact request payload and its pairing code, checking
/// that the code names `sender`.
pub(crate) fn parse_request(
    payload: &[u8],
    sender: &IdentityKey,
) -> Option<(ContactRequest, PairingCode)> {
    let Ok(Payload::ContactRequest(request)) = Payload::from_bytes(payload) else {
        return None;
    };
    let code = PairingCode::parse(&request.pairing_code).ok()?;
    (code.identity() == sender).then_some((request, code))
}

/// Whether an address is worth putting in a pairing code, and whether it
/// is a loopback address.
fn classify(addr: &Multiaddr) -> Option<bool> {
    let text = addr.to_string();
    if text.len() > wren_crypto::limits::MAX_NETWORK_HINT_BYTES
        || text.starts_with("/ip4/0.0.0.0/")
        || text.starts_with("/ip6/::/")
    {
        return None;
    }
    Some(text.starts_with("/ip4/127.") || text.starts_with("/ip6/::1/"))
}

/// The network hints for our pairing code: non-loopback addresses first,
/// then loopback ones, within the code's limit (keeping one loopback
/// address when there is one).
pub(crate) fn select_hints(addrs: &[Multiaddr]) -> Vec<NetworkHint> {
    let max = wren_crypto::limits::MAX_NETWORK_HINTS;
    let mut outer = Vec::new();
    let mut loopback = Vec::new();
    for addr in addrs {
        match classify(addr) {
            Some(false) => outer.push(addr.to_string()),
            Some(true) => loopback.push(addr.to_string()),
            None => {}
        }
    }
    outer.dedup();
    loopback.dedup();
    let keep_outer = if loopback.is_empty() {
        max
    } else {
        max.saturating_sub(1)
    };
    outer.truncate(keep_outer);
    let room = max.saturating_sub(outer.len());
    loopback.truncate(room);
    outer
        .into_iter()
        .chain(loopback)
        .map(NetworkHint::Address)
        .collect()
}

/// Checks an alias's form.
fn check_alias(alias: &str) -> Result<(), NodeError> {
    if alias.is_empty()
        || alias.len() > MAX_ALIAS_BYTES
        || alias.chars().any(char::is_control)
        || alias.parse::<PeerId>().is_ok()
        || alias.parse::<u64>().is_ok()
    {
        return Err(NodeError::InvalidArgument(
            "alias (1 to 64 bytes, no control characters, not a peer id or a number)",
        ));
    }
    Ok(())
}

impl Engine {
    /// A pairing code signed now with our current listen addresses.
    pub(crate) async fn my_code(&self) -> Result<String, NodeError> {
        let addrs = self.net.listen_addrs().await?;
        // Relays first (at most half of the hints), then addresses.
        let mut hints = self.relay_hints();
        hints.truncate(wren_crypto::limits::MAX_NETWORK_HINTS / 2);
        let room = wren_crypto::limits::MAX_NETWORK_HINTS - hints.len();
        hints.extend(select_hints(&addrs).into_iter().take(room));
        let code = PairingCode::new(&self.me, self.prekeys.current().public(), &self.name, hints)?;
        Ok(code.to_uri())
    }

    /// The summary of a contact.
    pub(crate) fn contact_info(&self, entry: &ContactEntry) -> ContactInfo {
        ContactInfo {
            peer_id: entry.peer.to_string(),
            alias: alias_of(&entry.contact),
            name: entry.meta.name.clone(),
            verified: entry.contact.verification == Verification::Verified,
            state: match entry.meta.state {
                StoredState::Pending => ContactState::Pending,
                StoredState::Added => ContactState::Added,
            },
            online: self.connected.contains(&entry.peer),
            path: self.paths.get(&entry.peer).map(|path| match path {
                wren_net::Path::Direct => crate::Path::Direct,
                wren_net::Path::Relayed => crate::Path::Relayed,
            }),
            safety_number: SafetyNumber::new(self.me.public(), &entry.key).to_string(),
        }
    }

    /// Who a code or peer id names, and what we already have with it.
    pub(crate) fn preview(&self, target: &str) -> Result<ContactPreview, NodeError> {
        let target = target.trim();
        let (key, name, relays) = match target.parse::<PeerId>() {
            Ok(peer) => {
                let key = IdentityKey::from_peer_id(&peer).map_err(|_| NodeError::UnknownPeer)?;
                (key, None, 0)
            }
            Err(_) => {
                let code = PairingCode::parse(target).map_err(NodeError::BadCode)?;
                let relays = code
                    .hints()
                    .iter()
                    .filter(|h| matches!(h, NetworkHint::Relay(_)))
                    .count();
                (
                    *code.identity(),
                    Some(code.display_name().to_owned()),
                    relays,
                )
            }
        };
        let known = if key == *self.me.public() {
            Known::Myself
        } else if self.contacts.contains_key(&key.to_bytes()) {
            Known::Contact
        } else if self.requests.iter().any(|r| r.key == key) {
            Known::Request
        } else {
            Known::New
        };
        let peer = key.peer_id();
        Ok(ContactPreview {
            peer_id: peer.to_string(),
            name,
            fingerprint: key.fingerprint().to_string(),
            safety_number: SafetyNumber::new(self.me.public(), &key).to_string(),
            known,
            nearby: self.nearby.contains_key(&peer),
            relays,
        })
    }

    /// Every contact, by alias or name.
    pub(crate) fn contact_list(&self) -> Vec<ContactInfo> {
        let mut list: Vec<ContactInfo> = self
            .contacts
            .values()
            .map(|entry| self.contact_info(entry))
            .collect();
        list.sort_by(|a, b| {
            let ka = a.alias.as_deref().unwrap_or(&a.name);
            let kb = b.alias.as_deref().unwrap_or(&b.name);
            ka.cmp(kb).then_with(|| a.peer_id.cmp(&b.peer_id))
        });
        list
    }

    /// Pending requests, oldest first.
    pub(crate) fn request_list(&self) -> Vec<RequestInfo> {
        self.requests
            .iter()
            .map(|r| RequestInfo {
                peer_id: r.key.peer_id().to_string(),
                name: r.name.clone(),
                greeting: r.greeting.clone(),
                safety_number: SafetyNumber::new(self.me.public(), &r.key).to_string(),
                received_at: r.received_at,
            })
            .collect()
    }

    /// Wren nodes found by mDNS.
    pub(crate) fn nearby_list(&self) -> Vec<NearbyPeer> {
        let mut list: Vec<NearbyPeer> = self
            .nearby
            .iter()
            .map(|(peer, addrs)| NearbyPeer {
                peer_id: peer.to_string(),
                fingerprint: IdentityKey::from_peer_id(peer)
                    .map(|key| key.fingerprint().to_string())
                    .unwrap_or_default(),
                addrs: addrs.clone(),
            })
            .collect();
        list.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        list
    }

    /// The contact named by an alias or a peer id.
    pub(crate) fn resolve(&self, name: &str) -> Result<&ContactEntry, NodeError> {
        let name = name.trim();
        if let Some(entry) = self.contacts.values().find(|e| e.contact.alias == name) {
            return Ok(entry);
        }
        name.parse::<PeerId>()
            .ok()
            .and_then(|peer| IdentityKey::from_peer_id(&peer).ok())
            .and_then(|key| self.contacts.get(&key.to_bytes()))
            .ok_or_else(|| NodeError::UnknownContact(name.to_owned()))
    }

    /// The pending request named by a peer id or a display name that
    /// identifies exactly one request.
    fn resolve_request(&self, name: &str) -> Result<IdentityKey, NodeError> {
        let name = name.trim();
        if let Ok(peer) = name.parse::<PeerId>()
            && let Some(r) = self.requests.iter().find(|r| r.key.peer_id() == peer)
        {
            return Ok(r.key);
        }
        let mut named = self.requests.iter().filter(|r| r.name == name);
        match (named.next(), named.next()) {
            (Some(r), None) => Ok(r.key),
            _ => Err(NodeError::NoSuchRequest(name.to_owned())),
        }
    }

    /// Checks that `alias` (if any) is well formed and free.
    fn alias_free(&self, alias: Option<&str>, except: Option<&[u8; 32]>) -> Result<(), NodeError> {
        let Some(alias) = alias else {
            return Ok(());
        };
        check_alias(alias)?;
        let taken = self
            .contacts
            .iter()
            .any(|(key, e)| e.contact.alias == alias && Some(key) != except);
        if taken {
            return Err(NodeError::AliasTaken(alias.to_owned()));
        }
        Ok(())
    }

    /// `add_contact`: by pairing code or by peer id. The reply may be
    /// deferred (a bundle fetch).
    pub(crate) async fn add_contact(
        &mut self,
        target: String,
        alias: Option<String>,
        reply: Reply<ContactInfo>,
    ) {
        let target = target.trim().to_owned();
        if let Err(error) = self.alias_free(alias.as_deref(), None) {
            let _ = reply.send(Err(error));
            return;
        }
        let by_peer = target.parse::<PeerId>().ok();
        let Some(peer) = by_peer else {
            let result = match PairingCode::parse(&target) {
                Ok(code) => self.add_from_code(code, alias).await,
                Err(error) => Err(NodeError::BadCode(error)),
            };
            let _ = reply.send(result);
            return;
        };
        let Ok(key) = IdentityKey::from_peer_id(&peer) else {
            let _ = reply.send(Err(NodeError::UnknownPeer));
            return;
        };
        if key == *self.me.public() {
            let _ = reply.send(Err(NodeError::IsSelf));
            return;
        }
        if let Some(entry) = self.contacts.get(&key.to_bytes()) {
            let _ = reply.send(Ok(self.contact_info(entry)));
            return;
        }
        if self.requests.iter().any(|r| r.key == key) {
            let _ = reply.send(self.accept_key(key, alias).await);
            return;
        }
        let mut addrs = self.nearby.get(&peer).cloned().unwrap_or_default();
        if addrs.is_empty() && !self.connected.contains(&peer) {
            // Not on the LAN: it may use one of our relays.
            addrs = self
                .relays
                .iter()
                .map(|relay| super::relays::circuit(relay, peer))
                .collect();
            if addrs.is_empty() {
                let _ = reply.send(Err(NodeError::UnknownPeer));
                return;
            }
        }
        let net = self.net.clone();
        let done = self.internal_tx.clone();
        tokio::spawn(async move {
            if !addrs.is_empty() {
                let _ = net.add_addresses(peer, addrs).await;
            }
            let result = net.fetch_bundle(peer).await;
            let _ = done
                .send(Internal::Bundle {
                    peer,
                    alias,
                    result,
                    reply,
                })
                .await;
        });
    }

    async fn add_from_code(
        &mut self,
        code: PairingCode,
        alias: Option<String>,
    ) -> Result<ContactInfo, NodeError> {
        let key = *code.identity();
        if key == *self.me.public() {
            return Err(NodeError::IsSelf);
        }
        if let Some(entry) = self.contacts.get(&key.to_bytes()) {
            return Ok(self.contact_info(entry));
        }
        if self.requests.iter().any(|r| r.key == key) {
            return self.accept_key(key, alias).await;
        }
        let addresses: Vec<String> = code
            .hints()
            .iter()
            .filter(|h| matches!(h, NetworkHint::Address(_)))
            .map(|h| h.as_str().to_owned())
            .collect();
        let relays: Vec<String> = code
            .hints()
            .iter()
            .filter(|h| matches!(h, NetworkHint::Relay(_)))
            .map(|h| h.as_str().to_owned())
            .collect();
        let text = code.to_uri();
        self.initiate(
            key,
            code.bundle(),
            code.display_name().to_owned(),
            (addresses, relays),
            Some(text),
            alias,
        )
        .await
    }

    /// The bundle for an `add_contact` by peer id arrived.
    pub(crate) async fn bundle_fetched(
        &mut self,
        peer: PeerId,
        alias: Option<String>,
        result: Result<Vec<u8>, SendError>,
    ) -> Result<ContactInfo, NodeError> {
        let bytes = result.map_err(|error| NodeError::Unreachable(error.to_string()))?;
        let key = IdentityKey::from_peer_id(&peer).map_err(|_| NodeError::UnknownPeer)?;
        let bundle = PrekeyBundle::from_bytes(&bytes).map_err(|_| NodeError::BadBundle)?;
        if bundle.identity() != &key {
            return Err(NodeError::BadBundle);
        }
        let bundle = bundle.verify().map_err(|_| NodeError::BadBundle)?;
        // The state may have changed while the bundle was on its way.
        if let Some(entry) = self.contacts.get(&key.to_bytes()) {
            return Ok(self.contact_info(entry));
        }
        self.alias_free(alias.as_deref(), None)?;
        let addresses: Vec<String> = self
            .nearby
            .get(&peer)
            .map(|addrs| addrs.iter().map(ToString::to_string).collect())
            .unwrap_or_default();
        // Found through our relays (not on the LAN): reach it there.
        let relays = if addresses.is_empty() {
            self.relays.iter().map(ToString::to_string).collect()
        } else {
            Vec::new()
        };
        self.initiate(key, bundle, String::new(), (addresses, relays), None, alias)
            .await
    }

    /// Makes `key` a contact (state pending), starts a session from its
    /// bundle and queues our contact request as the session's first message.
    /// `code`: its signed pairing code, kept for introductions (§G13).
    async fn initiate(
        &mut self,
        key: IdentityKey,
        bundle: VerifiedBundle,
        name: String,
        (mut addresses, mut relays): (Vec<String>, Vec<String>),
        code: Option<String>,
        alias: Option<String>,
    ) -> Result<ContactInfo, NodeError> {
        if self.contacts.len() >= MAX_CONTACTS {
            return Err(NodeError::InvalidArgument("too many contacts"));
        }
        let my_code = self.my_code().await?;
        let now = now_ms();
        let request = Payload::ContactRequest(ContactRequest {
            id: receive::random_id().into(),
            sent_at: Timestamp::from_millis(now),
            pairing_code: my_code,
            greeting: None,
        });
        let bytes = key.to_bytes();
        addresses.retain(|a| a.len() <= wren_store::MAX_ADDRESS_BYTES);
        addresses.truncate(wren_store::MAX_CONTACT_ADDRESSES);
        relays.retain(|a| a.len() <= wren_store::MAX_ADDRESS_BYTES);
        relays.truncate(wren_store::MAX_CONTACT_ADDRESSES);
        let contact = Contact {
            alias: alias.unwrap_or_default(),
            verification: Verification::Unverified,
            addresses,
            relays,
            blocked: false,
            added_at: now,
        };
        let meta = ContactMeta {
            name,
            state: StoredState::Pending,
        };
        let me = std::sync::Arc::clone(&self.me);
        let cached = self.books.remove(&bytes);
        let (stored_contact, stored_meta) = (contact.clone(), meta.clone());
        let result = self
            .store
            .write(move |tx| {
                let mut book = match cached {
                    Some(book) => book,
                    None => tx.session(&bytes)?.unwrap_or_else(|| SessionBook::new(key)),
                };
                if let Err(error) = book.initiate(&me, &bundle, &mut rand::rng()) {
                    return Ok(Err(NodeError::Session(error)));
                }
                // The conversation exists from the start (the request itself
                // is not a message of it).
                tx.direct_conversation(&bytes, now)?;
                let Some(queued) = receive::queue_control(tx, &mut book, &request, now)? else {
                    return Ok(Err(NodeError::InvalidArgument("contact request")));
                };
                tx.put_contact(&bytes, &stored_contact)?;
                meta::write_contact_meta(tx, &bytes, &stored_meta)?;
                if let Some(code) = &code {
                    meta::write_contact_code(tx, &bytes, code)?;
                }
                Ok(Ok((book, queued)))
            })
            .await?;
        let (book, queued) = result?;
        self.books.insert(bytes, book);
        self.finish_adding(key, contact, meta, queued)
    }

    /// Records a new contact in memory, queues its first message, tells the
    /// network where it is and reports it.
    fn finish_adding(
        &mut self,
        key: IdentityKey,
        contact: Contact,
        meta: ContactMeta,
        queued: Queued,
    ) -> Result<ContactInfo, NodeError> {
        let bytes = key.to_bytes();
        let peer = key.peer_id();
        self.push_queued(bytes, queued);
        self.addressed.remove(&bytes);
        let entry = ContactEntry {
            key,
            peer,
            contact,
            meta,
        };
        let info = self.contact_info(&entry);
        self.contacts.insert(bytes, entry);
        self.emit(NodeEvent::ContactAdded {
            contact: info.peer_id.clone(),
            alias: info.alias.clone(),
        });
        // What the network reported about this peer before it was a
        // contact (pairing opens the connection first).
        if let Some(path) = info.path {
            self.emit(NodeEvent::ContactPath {
                contact: info.peer_id.clone(),
                path,
            });
        }
        if let Some((succeeded, detail)) = self.hole_punches.remove(&peer) {
            self.emit(NodeEvent::HolePunch {
                contact: info.peer_id.clone(),
                succeeded,
                detail,
            });
        }
        Ok(info)
    }

    /// Puts a queued request or receipt into the outbox scheduler.
    pub(crate) fn push_queued(&mut self, recipient: [u8; 32], queued: Queued) {
        self.outbox.push(
            recipient,
            queued.outbox,
            OutEntry {
                envelope: queued.envelope,
                message: None,
                attempts: 0,
            },
        );
    }

    /// `accept`.
    pub(crate) async fn accept(
        &mut self,
        name: &str,
        alias: Option<String>,
    ) -> Result<ContactInfo, NodeError> {
        let key = self.resolve_request(name)?;
        self.accept_key(key, alias).await
    }

    /// Makes the requester a contact (state added) and tells it so with a
    /// receipt for its request.
    async fn accept_key(
        &mut self,
        key: IdentityKey,
        alias: Option<String>,
    ) -> Result<ContactInfo, NodeError> {
        self.alias_free(alias.as_deref(), None)?;
        if self.contacts.len() >= MAX_CONTACTS {
            return Err(NodeError::InvalidArgument("too many contacts"));
        }
        let bytes = key.to_bytes();
        let stored = self
            .store
            .read(move |tx| tx.contact_request(&bytes))
            .await?
            .ok_or_else(|| NodeError::NoSuchRequest(key.peer_id().to_string()))?;
        let (request, code) = parse_request(&stored.payload, &key)
            .ok_or_else(|| NodeError::NoSuchRequest(key.peer_id().to_string()))?;
        let now = now_ms();
        let mut contact = Contact {
            alias: alias.unwrap_or_default(),
            verification: Verification::Unverified,
            addresses: Vec::new(),
            relays: Vec::new(),
            blocked: false,
            added_at: now,
        };
        receive::merge_hints(&mut contact, &code);
        let meta = ContactMeta {
            name: code.display_name().to_owned(),
            state: StoredState::Added,
        };
        let accept = Payload::DeliveryReceipt(Receipt {
            ids: vec![request.id],
        });
        // Our own signed code follows, so that the requester holds it (to
        // introduce us to members of its groups, §G13) even if it added us
        // by peer id.
        let profile = self
            .my_code()
            .await
            .ok()
            .map(|pairing_code| Payload::Profile(wren_proto::Profile { pairing_code }));
        let their_code = code.to_uri();
        let cached = self.books.remove(&bytes);
        let (stored_contact, stored_meta) = (contact.clone(), meta.clone());
        let result = self
            .store
            .write(move |tx| {
                let Some(mut book) = cached.or(tx.session(&bytes)?) else {
                    return Ok(Err(NodeError::NoSuchRequest(key.peer_id().to_string())));
                };
                tx.direct_conversation(&bytes, now)?;
                let Some(queued) = receive::queue_control(tx, &mut book, &accept, now)? else {
                    return Ok(Err(NodeError::InvalidArgument("accept receipt")));
                };
                let then = match &profile {
                    Some(profile) => receive::queue_control(tx, &mut book, profile, now)?,
                    None => None,
                };
                tx.put_contact(&bytes, &stored_contact)?;
                meta::write_contact_meta(tx, &bytes, &stored_meta)?;
                meta::write_contact_code(tx, &bytes, &their_code)?;
                tx.remove_contact_request(&bytes)?;
                Ok(Ok((book, queued, then)))
            })
            .await?;
        let (book, queued, then) = result?;
        self.books.insert(bytes, book);
        self.requests.retain(|r| r.key != key);
        let info = self.finish_adding(key, contact, meta, queued)?;
        if let Some(then) = then {
            self.push_queued(bytes, then);
        }
        Ok(info)
    }

    /// `decline`: drops the request and the session it started.
    pub(crate) async fn decline(&mut self, name: &str) -> Result<(), NodeError> {
        let key = self.resolve_request(name)?;
        let bytes = key.to_bytes();
        // A group peer's session carries the groups' traffic: it stays.
        let keep_session = self.is_group_peer(&bytes);
        self.store
            .write(move |tx| {
                tx.remove_contact_request(&bytes)?;
                if !keep_session {
                    tx.set_session(&SessionBook::new(key))?;
                }
                Ok(())
            })
            .await?;
        if !keep_session {
            self.books.remove(&bytes);
        }
        self.requests.retain(|r| r.key != key);
        Ok(())
    }

    /// `verify`: marks the contact's safety number as compared.
    pub(crate) async fn verify(&mut self, name: &str) -> Result<ContactInfo, NodeError> {
        let entry = self.resolve(name)?;
        let bytes = entry.key.to_bytes();
        let mut contact = entry.contact.clone();
        contact.verification = Verification::Verified;
        let stored = contact.clone();
        self.store
            .write(move |tx| tx.put_contact(&bytes, &stored))
            .await
            .map_err(NodeError::from)?;
        let entry = self
            .contacts
            .get_mut(&bytes)
            .ok_or_else(|| NodeError::UnknownContact(name.to_owned()))?;
        entry.contact = contact;
        let entry = entry.clone();
        Ok(self.contact_info(&entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<Multiaddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn hints_prefer_outer_addresses_and_keep_one_loopback() {
        let hints = select_hints(&addrs(&[
            "/ip4/127.0.0.1/tcp/4001",
            "/ip4/0.0.0.0/tcp/4001",
            "/ip4/192.168.1.5/tcp/4001",
            "/ip4/192.168.1.5/udp/4001/quic-v1",
        ]));
        let texts: Vec<&str> = hints.iter().map(NetworkHint::as_str).collect();
        assert_eq!(
            texts,
            [
                "/ip4/192.168.1.5/tcp/4001",
                "/ip4/192.168.1.5/udp/4001/quic-v1",
                "/ip4/127.0.0.1/tcp/4001"
            ]
        );
        let many: Vec<String> = (0..20).map(|i| format!("/ip4/10.0.0.{i}/tcp/1")).collect();
        let mut list: Vec<&str> = many.iter().map(String::as_str).collect();
        list.push("/ip4/127.0.0.1/tcp/1");
        let hints = select_hints(&addrs(&list));
        assert_eq!(hints.len(), wren_crypto::limits::MAX_NETWORK_HINTS);
        assert_eq!(
            hints.last().map(NetworkHint::as_str),
            Some("/ip4/127.0.0.1/tcp/1")
        );
    }

    #[test]
    fn aliases_cannot_look_like_ids() {
        assert!(check_alias("bob").is_ok());
        assert!(check_alias("").is_err());
        assert!(check_alias("12").is_err());
        assert!(check_alias("a\nb").is_err());
        assert!(check_alias(&"x".repeat(65)).is_err());
        let peer = wren_crypto::IdentityKeyPair::generate(&mut rand::rng())
            .public()
            .peer_id()
            .to_string();
        assert!(check_alias(&peer).is_err());
    }
}
