//! Introductions and group peers (docs/protocol.md §G13).
//!
//! Members of a group who are not each other's contacts still need a
//! pairwise session: sender-key chains, pairwise copies of group messages
//! and receipts travel over it. The admin who adds members introduces them
//! to each other with their own signed pairing codes; the member with the
//! lower identity key opens a session from the code's bundle and says hello
//! for the group; the other accepts it without asking its user only if the
//! sender is a current member of a group both are in (by its own view).
//!
//! ```text
//! admin: Create / Add ─▶ GroupIntroduction (cards) to each member, after the op
//! member: card ─▶ verify (code signed by the member, names it, member of the
//!                group here) ─▶ group-peer record ─▶ lower key: X3DH from the
//!                code's bundle, GroupPeerHello first ─▶ reconcile (our chain)
//! other:  hello ─▶ a current member of a shared group? store the session and
//!                the record ─▶ reconcile (our chain); not yet: "retry later"
//! ```
//!
//! A group peer is not a contact: no direct conversation, no texts; only
//! group payloads, receipts of group messages, profiles (its name and
//! addresses) and a contact request are processed. When it shares no group
//! with us any more its record is dropped and its payloads are refused.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tracing::{debug, warn};
use wren_crypto::sender_key::{DISTRIBUTION_LEN, SenderKey, SenderKeyDistribution};
use wren_crypto::{IdentityKey, NetworkHint, PairingCode, PeerId, SessionBook};
use wren_proto::codec;
use wren_proto::group::GroupState;
use wren_proto::limits::MAX_GROUP_MEMBERS;
use wren_proto::{GroupId, GroupIntroduction, GroupPeerHello, MemberCard, Payload};
use wren_proto::{GroupSenderKey, OpId};
use wren_store::{GroupPeer, MAX_ADDRESS_BYTES, MAX_CONTACT_ADDRESSES, StoreError, WriteTx};
use zeroize::{Zeroize, Zeroizing};

use super::groups::{GroupMap, StepCtx, queue_payload};
use super::{Engine, meta, now_ms, receive};
use wren_proto::limits::MAX_INTRODUCTION_CARDS;

/// What the engine holds about a group peer.
#[derive(Debug, Clone)]
pub(crate) struct GroupPeerEntry {
    /// Its peer id.
    pub(crate) peer: PeerId,
    /// Its stored record.
    pub(crate) record: GroupPeer,
}

/// The group peers of a node, by identity key.
pub(crate) type GroupPeers = HashMap<[u8; 32], GroupPeerEntry>;

/// The groups (created, not left) in which both we and `other` are members.
pub(crate) fn shared_groups(
    groups: &GroupMap,
    me: &IdentityKey,
    other: &IdentityKey,
) -> Vec<[u8; 32]> {
    let mut out: Vec<[u8; 32]> = groups
        .iter()
        .filter(|(_, entry)| {
            let state = entry.group.state();
            state.is_created() && state.is_member(me) && state.is_member(other)
        })
        .map(|(gid, _)| *gid)
        .collect();
    out.sort_unstable();
    out
}

/// Whether we and `other` are both members of group `gid`, by our view.
fn both_members(groups: &GroupMap, gid: &[u8; 32], me: &IdentityKey, other: &IdentityKey) -> bool {
    groups.get(gid).is_some_and(|entry| {
        let state = entry.group.state();
        state.is_created() && state.is_member(me) && state.is_member(other)
    })
}

/// Parses a pairing code that must name `key` (its signatures are verified
/// by the parser).
pub(crate) fn code_of(text: &str, key: &IdentityKey) -> Option<PairingCode> {
    let code = PairingCode::parse(text).ok()?;
    (code.identity() == key).then_some(code)
}

/// The group-peer record a verified code describes.
fn record_from(code: &PairingCode, added_at: u64) -> GroupPeer {
    let mut addresses = Vec::new();
    let mut relays = Vec::new();
    for hint in code.hints() {
        let (list, text) = match hint {
            NetworkHint::Address(text) => (&mut addresses, text),
            NetworkHint::Relay(text) => (&mut relays, text),
        };
        if text.len() <= MAX_ADDRESS_BYTES && list.len() < MAX_CONTACT_ADDRESSES {
            list.push(text.clone());
        }
    }
    GroupPeer {
        name: code.display_name().to_owned(),
        addresses,
        relays,
        pairing_code: code.to_uri(),
        added_at,
    }
}

/// What introductions, hellos and group peers' profiles in a batch changed.
#[derive(Default)]
pub(crate) struct IntroOutput {
    /// Group-peer records written (to hold in memory too).
    pub(crate) peers: Vec<([u8; 32], GroupPeer)>,
    /// Introduced members we are to open a session with (lower key).
    pub(crate) initiate: Vec<[u8; 32]>,
    /// The batch's sender became a group peer (its hello was accepted): our
    /// chains go to it next.
    pub(crate) new_session: bool,
}

/// Stores (or refreshes) the record of group peer `key` from its verified
/// code, in the caller's transaction. A code whose signed prekey is older
/// than the one we hold does not replace it.
pub(crate) fn record_peer(
    tx: &mut WriteTx<'_>,
    key: &IdentityKey,
    code: &PairingCode,
    now: u64,
    out: &mut IntroOutput,
) -> Result<(), StoreError> {
    let bytes = key.to_bytes();
    let existing = tx.group_peer(&bytes)?;
    if let Some(old) = &existing
        && let Some(held) = code_of(&old.pairing_code, key)
        && held.signed_prekey().created_at() > code.signed_prekey().created_at()
    {
        return Ok(());
    }
    let record = record_from(code, existing.as_ref().map_or(now, |old| old.added_at));
    if existing.as_ref() == Some(&record) {
        return Ok(());
    }
    tx.put_group_peer(&bytes, &record)?;
    out.peers.retain(|(k, _)| *k != bytes);
    out.peers.push((bytes, record));
    Ok(())
}

/// Why a hello is not accepted.
pub(crate) enum HelloRefusal {
    /// The code does not verify or does not name the sender.
    BadCode,
    /// The sender is not (yet, by our view) a member of a group we are in:
    /// the sender retries later.
    NotYet,
}

/// Checks a `GroupPeerHello` from `from` (docs/protocol.md §G13): its code
/// names `from`, and `from` and we are current members of its group.
pub(crate) fn check_hello(
    groups: &GroupMap,
    me: &IdentityKey,
    from: &IdentityKey,
    hello: &GroupPeerHello,
) -> Result<PairingCode, HelloRefusal> {
    let code = code_of(&hello.pairing_code, from).ok_or(HelloRefusal::BadCode)?;
    if !both_members(groups, hello.group.as_bytes(), me, from) {
        return Err(HelloRefusal::NotYet);
    }
    Ok(code)
}

/// A `GroupIntroduction` from `from`, in the batch's transaction
/// (docs/protocol.md §G13): ignored unless we and `from` are members of its
/// group; each card is used only if its code verifies, names the card's
/// member, and that member is a current member of the group by our view,
/// not us and not a contact.
pub(crate) fn receive_introduction(
    tx: &mut WriteTx<'_>,
    groups: &GroupMap,
    me: &IdentityKey,
    from: &IdentityKey,
    introduction: &GroupIntroduction,
    now: u64,
    out: &mut IntroOutput,
) -> Result<(), StoreError> {
    let gid = introduction.group.as_bytes();
    if !both_members(groups, gid, me, from) {
        debug!("an introduction for a group we do not share with its sender; ignored");
        return Ok(());
    }
    for card in introduction.cards.iter().take(MAX_INTRODUCTION_CARDS) {
        let Ok(member) = IdentityKey::from_bytes(&card.member) else {
            continue;
        };
        if member == *me || !both_members(groups, gid, me, &member) {
            debug!("a card for someone who is not a member; ignored");
            continue;
        }
        let Some(code) = code_of(&card.pairing_code, &member) else {
            debug!("a card whose code does not verify; ignored");
            continue;
        };
        if tx.is_contact(&card.member)? {
            continue;
        }
        record_peer(tx, &member, &code, now, out)?;
        let has_session = tx.session(&card.member)?.is_some_and(|b| b.has_session());
        if !has_session && me.to_bytes() < card.member && !out.initiate.contains(&card.member) {
            out.initiate.push(card.member);
        }
    }
    Ok(())
}

/// Queues introductions in the caller's transaction: each `(recipient,
/// subjects)` pair sends the recipient the cards of the subjects (except
/// itself and us) whose signed code we hold — a contact's from our
/// records, a group peer's from `peer_codes` — in payloads of at most
/// [`MAX_INTRODUCTION_CARDS`]. Recipients without a session are skipped.
pub(crate) fn introduce(
    tx: &mut WriteTx<'_>,
    ctx: &mut StepCtx,
    gid: [u8; 32],
    pairs: &[(IdentityKey, Vec<IdentityKey>)],
    peer_codes: &HashMap<[u8; 32], String>,
) -> Result<(), StoreError> {
    let me = *ctx.me.public();
    let mut codes: HashMap<[u8; 32], Option<String>> = HashMap::new();
    for (to, subjects) in pairs {
        if *to == me {
            continue;
        }
        let mut cards = Vec::new();
        for subject in subjects {
            if subject == to || *subject == me {
                continue;
            }
            let bytes = subject.to_bytes();
            if let std::collections::hash_map::Entry::Vacant(slot) = codes.entry(bytes) {
                let code = match meta::read_contact_code(tx, &bytes)? {
                    Some(code) => Some(code),
                    None => peer_codes.get(&bytes).cloned(),
                };
                slot.insert(code);
            }
            if let Some(Some(code)) = codes.get(&bytes) {
                cards.push(MemberCard {
                    member: bytes,
                    pairing_code: code.clone(),
                });
            }
        }
        for chunk in cards.chunks(MAX_INTRODUCTION_CARDS) {
            let payload = Payload::GroupIntroduction(GroupIntroduction {
                group: GroupId::from_bytes(gid),
                cards: chunk.to_vec(),
            });
            queue_payload(tx, ctx, &to.to_bytes(), &payload)?;
        }
    }
    Ok(())
}

/// The distributions of our chain kept for members we could not send it
/// to yet (no session with them), each as it was when we first tried: a
/// member whose session opens later (§G13) reads what we sent since it
/// joined, and nothing older (an `Add` does not rotate the chain, §G7).
/// At most one per member; stored as a sealed setting per group.
#[derive(Default, Serialize, Deserialize)]
struct PendingDistributions {
    /// (member, distribution bytes), in no particular order.
    entries: Vec<([u8; 32], Vec<u8>)>,
}

impl Drop for PendingDistributions {
    fn drop(&mut self) {
        for (_, bytes) in &mut self.entries {
            bytes.zeroize();
        }
    }
}

/// Decoder bound of the pending distributions of one group.
const PENDING_LIMIT: usize = 64 + MAX_GROUP_MEMBERS * (32 + 8 + DISTRIBUTION_LEN);

fn pending_key(gid: &[u8; 32]) -> String {
    format!("core/gdist/{}", hex::encode(gid))
}

fn load_pending(tx: &WriteTx<'_>, gid: &[u8; 32]) -> Result<PendingDistributions, StoreError> {
    let Some(bytes) = tx.setting(&pending_key(gid))?.map(Zeroizing::new) else {
        return Ok(PendingDistributions::default());
    };
    // An unreadable record is dropped: members then get the current
    // distribution, as before introductions existed.
    Ok(codec::decode::<PendingDistributions, PENDING_LIMIT>(&bytes).unwrap_or_default())
}

/// Forgets the pending distributions of a group (we left it).
pub(crate) fn forget_pending(tx: &mut WriteTx<'_>, gid: &[u8; 32]) -> Result<(), StoreError> {
    tx.remove_setting(&pending_key(gid)).map(drop)
}

/// Sends our chain (`key`, made for `epoch`) to each member of `state`
/// that does not have it, over its pairwise session, in the caller's
/// transaction: the distribution kept for it if one is (same chain), else
/// the current one, which is kept for it when it has no session yet.
/// Returns whether `distributed` changed.
pub(crate) fn distribute(
    tx: &mut WriteTx<'_>,
    ctx: &mut StepCtx,
    state: &GroupState,
    epoch: [u8; 32],
    key: &SenderKey,
    distributed: &mut Vec<[u8; 32]>,
) -> Result<bool, StoreError> {
    let me = *ctx.me.public();
    let gid = *state.id().as_bytes();
    let before = distributed.len();
    let mut pending = load_pending(tx, &gid)?;
    let stored = pending.entries.len();
    let chain = key.chain_id();
    pending.entries.retain(|(member, bytes)| {
        IdentityKey::from_bytes(member).is_ok_and(|m| state.is_member(&m))
            && !distributed.contains(member)
            && SenderKeyDistribution::from_bytes(bytes).is_ok_and(|d| d.chain_id() == chain)
    });
    let mut changed = pending.entries.len() != stored;
    let current = key.distribution().to_bytes();
    for member in state.members() {
        let bytes = member.to_bytes();
        if *member == me || distributed.contains(&bytes) {
            continue;
        }
        let kept = pending.entries.iter().position(|(m, _)| *m == bytes);
        let chosen = kept
            .and_then(|at| pending.entries.get(at))
            .map_or(current.as_slice(), |(_, d)| d.as_slice());
        let Ok(distribution) = <[u8; DISTRIBUTION_LEN]>::try_from(chosen) else {
            continue;
        };
        let payload = Payload::GroupSenderKey(GroupSenderKey {
            group: GroupId::from_bytes(gid),
            epoch: OpId::from_bytes(epoch),
            distribution,
        });
        if queue_payload(tx, ctx, &bytes, &payload)? {
            distributed.push(bytes);
            if let Some(at) = kept {
                pending.entries.swap_remove(at);
                changed = true;
            }
        } else if kept.is_none() {
            pending.entries.push((bytes, current.to_vec()));
            changed = true;
        }
    }
    if changed {
        if pending.entries.is_empty() {
            forget_pending(tx, &gid)?;
        } else {
            let encoded = Zeroizing::new(codec::encode(&pending).map_err(StoreError::Encode)?);
            tx.set_setting(&pending_key(&gid), &encoded)?;
        }
    }
    Ok(distributed.len() != before)
}

impl Engine {
    /// Whether `key` is a group peer now: we hold its record and share a
    /// group with it (docs/protocol.md §G13).
    pub(crate) fn is_group_peer(&self, key: &[u8; 32]) -> bool {
        if !self.group_peers.contains_key(key) {
            return false;
        }
        IdentityKey::from_bytes(key)
            .is_ok_and(|other| !shared_groups(&self.groups, self.me.public(), &other).is_empty())
    }

    /// The signed codes of our group peers, for introductions.
    pub(crate) fn peer_codes(&self) -> HashMap<[u8; 32], String> {
        self.group_peers
            .iter()
            .map(|(key, entry)| (*key, entry.record.pairing_code.clone()))
            .collect()
    }

    /// Where to reach a contact or a group peer: its peer id, addresses and
    /// relays (a contact's first).
    pub(crate) fn reach(&self, key: &[u8; 32]) -> Option<(PeerId, &[String], &[String])> {
        if let Some(entry) = self.contacts.get(key) {
            return Some((entry.peer, &entry.contact.addresses, &entry.contact.relays));
        }
        self.group_peers.get(key).map(|entry| {
            (
                entry.peer,
                entry.record.addresses.as_slice(),
                entry.record.relays.as_slice(),
            )
        })
    }

    /// After a batch from `from` committed: holds the group-peer records it
    /// wrote, opens the sessions it asked for, and sends our chains to a
    /// sender whose hello it accepted.
    pub(crate) async fn after_introductions(&mut self, from: &IdentityKey, out: IntroOutput) {
        for (key, record) in out.peers {
            let Ok(identity) = IdentityKey::from_bytes(&key) else {
                continue;
            };
            self.addressed.remove(&key);
            self.group_peers.insert(
                key,
                GroupPeerEntry {
                    peer: identity.peer_id(),
                    record,
                },
            );
        }
        for key in out.initiate {
            self.open_group_peer(key).await;
        }
        if out.new_session {
            self.reconcile_shared(from).await;
        }
    }

    /// Reconciles every group we share with `other` (our chain goes to it
    /// once a session exists).
    async fn reconcile_shared(&mut self, other: &IdentityKey) {
        for gid in shared_groups(&self.groups, self.me.public(), other) {
            self.reconcile_group(gid).await;
        }
    }

    /// Opens a session with group peer `key` from its code's bundle and
    /// queues our hello as its first message, unless a session exists or
    /// `key` is a contact; then reconciles the groups we share with it.
    pub(crate) async fn open_group_peer(&mut self, key: [u8; 32]) {
        if self.contacts.contains_key(&key) {
            return;
        }
        let Some(entry) = self.group_peers.get(&key) else {
            return;
        };
        let Ok(identity) = IdentityKey::from_bytes(&key) else {
            return;
        };
        let Some(code) = code_of(&entry.record.pairing_code, &identity) else {
            return;
        };
        let Some(gid) = shared_groups(&self.groups, self.me.public(), &identity)
            .into_iter()
            .next()
        else {
            return;
        };
        let my_code = match self.my_code().await {
            Ok(code) => code,
            Err(error) => {
                warn!(%error, "cannot make a pairing code for a group hello");
                return;
            }
        };
        let hello = Payload::GroupPeerHello(GroupPeerHello {
            group: GroupId::from_bytes(gid),
            pairing_code: my_code,
        });
        let me = Arc::clone(&self.me);
        let cached = self.books.remove(&key);
        let now = now_ms();
        let result = self
            .store
            .write(move |tx| {
                let mut book = match cached {
                    Some(book) => book,
                    None => tx
                        .session(&key)?
                        .unwrap_or_else(|| SessionBook::new(identity)),
                };
                if book.has_session() {
                    return Ok((book, None));
                }
                if book
                    .initiate(&me, &code.bundle(), &mut rand::rng())
                    .is_err()
                {
                    return Ok((book, None));
                }
                let queued = receive::queue_control(tx, &mut book, &hello, now)?;
                Ok((book, queued))
            })
            .await;
        match result {
            Ok((book, queued)) => {
                self.books.insert(key, book);
                if let Some(queued) = queued {
                    self.addressed.remove(&key);
                    self.push_queued(key, queued);
                    self.reconcile_shared(&identity).await;
                }
            }
            Err(error) => warn!(%error, "opening a group-peer session failed"),
        }
    }

    /// At start: opens the sessions an introduction asked for that a crash
    /// may have left unopened, and forgets group peers we share no group
    /// with.
    pub(crate) async fn start_group_peers(&mut self) {
        self.prune_group_peers().await;
        let mut keys: Vec<[u8; 32]> = self
            .group_peers
            .keys()
            .filter(|key| self.my_key < **key && !self.books.contains_key(*key))
            .copied()
            .collect();
        keys.sort_unstable();
        for key in keys {
            let has = self
                .store
                .read(move |tx| Ok(tx.session(&key)?.is_some_and(|b| b.has_session())))
                .await
                .unwrap_or(true);
            if !has {
                self.open_group_peer(key).await;
            }
        }
    }

    /// Forgets the group peers we share no group with any more (removed,
    /// left, or we left): their records go; their session stays, but their
    /// payloads are refused from now on (docs/protocol.md §G13).
    pub(crate) async fn prune_group_peers(&mut self) {
        let stale: Vec<[u8; 32]> = self
            .group_peers
            .keys()
            .filter(|key| !self.is_group_peer(key))
            .copied()
            .collect();
        if stale.is_empty() {
            return;
        }
        let gone = stale.clone();
        let result = self
            .store
            .write(move |tx| {
                for key in &gone {
                    tx.remove_group_peer(key)?;
                }
                Ok(())
            })
            .await;
        match result {
            Ok(()) => {
                for key in stale {
                    self.group_peers.remove(&key);
                }
            }
            Err(error) => warn!(%error, "forgetting group peers failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::groups::GroupEntry;
    use crate::engine::receive::{BatchInput, BatchOutput, Relation};
    use crate::limits::reject;
    use wren_crypto::{IdentityKeyPair, OutboundMessage, PrekeyBundle, SignedPrekeys};
    use wren_net::Ack;
    use wren_proto::group::{Group, GroupOp, InitialMember};
    use wren_proto::{DisplayName, Envelope, MessageId, Text, Timestamp, Versioned};
    use wren_store::{Store, Unlock};

    fn pair() -> IdentityKeyPair {
        IdentityKeyPair::generate(&mut rand::rng())
    }

    fn code(pair: &IdentityKeyPair, hints: Vec<NetworkHint>) -> PairingCode {
        let prekeys = SignedPrekeys::new(pair, 1, &mut rand::rng());
        PairingCode::new(pair, prekeys.current().public(), "Cy", hints).unwrap()
    }

    /// A group of `admin` with `members`, as every member sees it.
    fn group(admin: &IdentityKeyPair, members: &[&IdentityKeyPair]) -> ([u8; 32], GroupMap) {
        let create = GroupOp::create(
            admin,
            [3; 32],
            Timestamp::from_millis(1),
            DisplayName::new("g").unwrap(),
            false,
            members
                .iter()
                .map(|m| InitialMember {
                    key: *m.public(),
                    admin: false,
                })
                .collect(),
        )
        .unwrap();
        let group = Group::from_create(create).unwrap();
        let gid = *group.id().as_bytes();
        let mut entry = GroupEntry::new(gid);
        entry.group = group;
        (gid, GroupMap::from([(gid, entry)]))
    }

    /// Runs one batch from `sender` through `receive::process` on `me`'s
    /// store.
    async fn batch(
        store: &Store,
        me: &Arc<IdentityKeyPair>,
        prekeys: &Arc<SignedPrekeys>,
        sender: &IdentityKeyPair,
        relation: Relation,
        groups: GroupMap,
        envelopes: Vec<Vec<u8>>,
    ) -> BatchOutput {
        let input = BatchInput {
            me: Arc::clone(me),
            prekeys: Arc::clone(prekeys),
            sender: *sender.public(),
            relation,
            book: None,
            envelopes,
            now_ms: 5,
            pending_requests: 0,
            from_mailbox: false,
            groups,
            group_peer: false,
        };
        store
            .write(move |tx| receive::process(tx, input))
            .await
            .unwrap()
    }

    /// Encrypts `payloads` from `from` in a new session with `to`'s bundle.
    fn session_with(
        from: &IdentityKeyPair,
        to: &IdentityKeyPair,
        prekeys: &SignedPrekeys,
        payloads: &[Payload],
    ) -> Vec<Vec<u8>> {
        let bundle = PrekeyBundle::new(*to.public(), *prekeys.current().public(), None)
            .verify()
            .unwrap();
        let mut book = SessionBook::new(*to.public());
        book.initiate(from, &bundle, &mut rand::rng()).unwrap();
        payloads
            .iter()
            .map(|payload| {
                let content = payload.to_bytes().unwrap();
                let envelope = match book.encrypt(&content, &mut rand::rng()).unwrap() {
                    OutboundMessage::Prekey(message) => Envelope::Prekey { message },
                    OutboundMessage::Normal(message) => Envelope::Message { message },
                };
                envelope.to_bytes().unwrap()
            })
            .collect()
    }

    fn text() -> Payload {
        Payload::Text(Text {
            id: MessageId::from_bytes([4; 16]),
            sent_at: Timestamp::from_millis(1),
            body: "psst".into(),
            reply_to: None,
        })
    }

    #[tokio::test]
    async fn a_hello_opens_a_group_peer_session_whose_texts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Unlock::KeyFile).await.unwrap();
        let (ada, me, cy, eve) = (pair(), Arc::new(pair()), pair(), pair());
        let prekeys = Arc::new(SignedPrekeys::new(&me, 1, &mut rand::rng()));
        let (gid, groups) = group(&ada, &[&me, &cy]);
        let hello = |from: &IdentityKeyPair, group: [u8; 32]| {
            Payload::GroupPeerHello(GroupPeerHello {
                group: GroupId::from_bytes(group),
                pairing_code: code(from, Vec::new()).to_uri(),
            })
        };

        // A member's hello, then a text: the session and the record are
        // kept, the text is refused and stored nowhere.
        let envelopes = session_with(&cy, &me, &prekeys, &[hello(&cy, gid), text()]);
        let out = batch(
            &store,
            &me,
            &prekeys,
            &cy,
            Relation::Unknown,
            groups,
            envelopes,
        )
        .await;
        assert_eq!(
            out.acks,
            [Ack::Stored, Ack::Rejected(reject::UNKNOWN_SENDER)]
        );
        assert!(out.texts.is_empty());
        assert!(out.new_request.is_none());
        assert!(out.intro.new_session);
        assert_eq!(out.intro.peers.len(), 1);
        assert!(out.book.is_some_and(|b| b.has_session()));
        let groups = out.groups;

        // Once a group peer, a text is refused too (here in a session it
        // opens anew), and no conversation exists for it.
        let envelopes = session_with(&cy, &me, &prekeys, &[text()]);
        let out = batch(
            &store,
            &me,
            &prekeys,
            &cy,
            Relation::GroupPeer,
            groups,
            envelopes,
        )
        .await;
        assert_eq!(out.acks, [Ack::Rejected(reject::UNKNOWN_SENDER)]);
        assert!(out.texts.is_empty());
        let groups = out.groups;
        let conversations = store.read(|tx| tx.conversations(10)).await.unwrap();
        assert!(conversations.is_empty(), "no conversation for a group peer");

        // Someone who is not a member (yet) is told to retry later, and
        // nothing is kept; a code naming someone else is refused.
        let envelopes = session_with(&eve, &me, &prekeys, &[hello(&eve, gid)]);
        let out = batch(
            &store,
            &me,
            &prekeys,
            &eve,
            Relation::Unknown,
            groups,
            envelopes,
        )
        .await;
        assert_eq!(out.acks, [Ack::Rejected(reject::PENDING)]);
        assert!(out.intro.peers.is_empty() && out.book.is_none());
        let forged = Payload::GroupPeerHello(GroupPeerHello {
            group: GroupId::from_bytes(gid),
            pairing_code: code(&cy, Vec::new()).to_uri(),
        });
        let envelopes = session_with(&eve, &me, &prekeys, &[forged]);
        let out = batch(
            &store,
            &me,
            &prekeys,
            &eve,
            Relation::Unknown,
            out.groups,
            envelopes,
        )
        .await;
        assert_eq!(out.acks, [Ack::Rejected(reject::BAD_REQUEST)]);
        store.close().await.unwrap();
    }

    #[tokio::test]
    async fn introductions_keep_only_verified_cards_of_members() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Unlock::KeyFile).await.unwrap();
        let (ada, me, cy, dee) = (pair(), pair(), pair(), pair());
        let (gid, groups) = group(&ada, &[&me, &cy]);
        let (me_key, ada_key) = (*me.public(), *ada.public());
        let card = |member: &IdentityKeyPair, code: String| MemberCard {
            member: member.public().to_bytes(),
            pairing_code: code,
        };
        let mut tampered = code(&cy, Vec::new()).to_uri().into_bytes();
        if let Some(last) = tampered.last_mut() {
            *last = if *last == b'A' { b'B' } else { b'A' };
        }
        let introduction = GroupIntroduction {
            group: GroupId::from_bytes(gid),
            cards: vec![
                // Not a member: ignored.
                card(&dee, code(&dee, Vec::new()).to_uri()),
                // Dee's code presented as Cy's: ignored.
                card(&cy, code(&dee, Vec::new()).to_uri()),
                // A code whose checksum or signature fails: ignored.
                card(&cy, String::from_utf8(tampered).unwrap()),
                // Us: ignored.
                card(&me, code(&me, Vec::new()).to_uri()),
                // Cy, verified: kept.
                card(
                    &cy,
                    code(
                        &cy,
                        vec![NetworkHint::Address("/ip4/10.0.0.9/tcp/1".into())],
                    )
                    .to_uri(),
                ),
            ],
        };
        let stranger = *dee.public();
        let (out, from_stranger) = store
            .write(move |tx| {
                let mut out = IntroOutput::default();
                receive_introduction(tx, &groups, &me_key, &ada_key, &introduction, 1, &mut out)?;
                // The same introduction from a non-member does nothing.
                let mut other = IntroOutput::default();
                receive_introduction(
                    tx,
                    &groups,
                    &me_key,
                    &stranger,
                    &introduction,
                    1,
                    &mut other,
                )?;
                Ok((out, other))
            })
            .await
            .unwrap();
        assert_eq!(out.peers.len(), 1);
        assert_eq!(out.peers[0].0, cy.public().to_bytes());
        assert_eq!(out.peers[0].1.addresses, ["/ip4/10.0.0.9/tcp/1"]);
        // The lower key opens the session.
        let lower = me.public().to_bytes() < cy.public().to_bytes();
        assert_eq!(out.initiate.len(), usize::from(lower));
        assert!(from_stranger.peers.is_empty() && from_stranger.initiate.is_empty());
        let stored = store.read(|tx| tx.group_peers()).await.unwrap();
        assert_eq!(stored.len(), 1);
        store.close().await.unwrap();
    }

    #[test]
    fn a_code_must_name_the_member() {
        let cy = IdentityKeyPair::generate(&mut rand::rng());
        let dee = IdentityKeyPair::generate(&mut rand::rng());
        let text = code(&cy, Vec::new()).to_uri();
        assert!(code_of(&text, cy.public()).is_some());
        assert!(code_of(&text, dee.public()).is_none());
        // One character changed: the checksum or a signature fails.
        let mut bad = text.clone().into_bytes();
        if let Some(last) = bad.last_mut() {
            *last = if *last == b'A' { b'B' } else { b'A' };
        }
        let bad = String::from_utf8(bad).unwrap();
        assert!(code_of(&bad, cy.public()).is_none());
    }

    #[test]
    fn records_keep_hints_bounded_by_kind() {
        let cy = IdentityKeyPair::generate(&mut rand::rng());
        let hints = vec![
            NetworkHint::Address("/ip4/10.0.0.1/tcp/1".into()),
            NetworkHint::Relay("/ip4/10.0.0.2/tcp/1/p2p/x".into()),
        ];
        let record = record_from(&code(&cy, hints), 7);
        assert_eq!(record.name, "Cy");
        assert_eq!(record.addresses, ["/ip4/10.0.0.1/tcp/1"]);
        assert_eq!(record.relays, ["/ip4/10.0.0.2/tcp/1/p2p/x"]);
        assert_eq!(record.added_at, 7);
        assert!(code_of(&record.pairing_code, cy.public()).is_some());
    }
}
