//! Groups (docs/protocol.md Part VIII) in the engine: creating groups,
//! membership changes, sender-key distribution and rotation, publishing
//! group messages on their topics and accepting the ones that arrive.
//!
//! ```text
//! create/add/remove/promote/rename/leave ─▶ sign op, apply, store ─┬─▶ ops to members (pairwise outbox)
//!                                                                  └─▶ reconcile: rotate our chain when the
//!                                                                      epoch moved, send it to every member
//!                                                                      that lacks it (pairwise outbox)
//! pairwise batch ─▶ GroupOp / GroupSenderKey applied in the batch's transaction
//!                   (receive.rs) ─▶ reconcile in the next transaction
//! send_text(group) ─▶ seal with our chain, store message + chain + frame
//!                     (publication queue) + a pairwise copy of the frame
//!                     (Payload::GroupMessage, outbox) for each member not
//!                     seen subscribed ─▶ publish once the members we are
//!                     connected to are subscribed (or all others got a copy)
//! topic message ─▶ accept (member, may post) ─▶ decrypt with the sender's
//!                  receiver ─▶ store + delivery receipt ─▶ Accept; or Reject,
//!                  or Ignore and hold it until the sender's chain arrives
//!                  (refused because the sender is not admitted yet: Reject,
//!                  and hold it until a membership change of the group)
//! pairwise copy ─▶ the same acceptance and decryption (open_frame), stored
//!                  with its receipt in the pairwise batch's transaction
//! ```
//!
//! Every step commits in one store transaction with the ratchet steps of
//! the pairwise messages it queues. The in-memory copy of a group is moved
//! into the transaction and back; if a transaction fails, the group is read
//! again from the store.

use std::collections::{HashMap, HashSet, VecDeque};
use std::str::FromStr;
use std::sync::Arc;

use tokio::time::Instant;
use tracing::{debug, warn};
use wren_crypto::sender_key::{SenderKey, SenderKeyDistribution, SenderKeyReceiver};
use wren_crypto::{IdentityKey, IdentityKeyPair, PeerId, SenderKeyError, SessionBook};
use wren_net::{Acceptance, GroupMessageId, PublishError};
use wren_proto::group::{
    Applied, Group, GroupEnvelope, GroupError, GroupMessageError, GroupOp, GroupState,
    InitialMember, MembershipChange, OpBody, accept, group_message_id, next_sent_at, seal,
    topic_hash, topic_name,
};
use wren_proto::{
    DisplayName, GroupId, GroupSenderKey, MessageId, OpId, Payload, Receipt, Text, Timestamp,
    Versioned,
};
use wren_store::{
    ConversationKind, GroupIncoming, GroupOutgoing, GroupRecord, HeldFrame, HoldKind,
    IncomingOutcome, MessageStatus, NewMessage, ReadTx, StoreError, WriteTx,
};

use super::receive::{self, Queued};
use super::{Engine, Internal, alias_of, now_ms};
use crate::error::NodeError;
use crate::event::NodeEvent;
use crate::limits::{
    GROUP_PUBLISH_RETRY, GROUP_PUBLISH_WAIT, MAX_GROUPS, MAX_HELD_GROUP_MESSAGES,
    MAX_HELD_UNADMITTED_MESSAGES, MAX_PUBLICATIONS, MAX_SEEN_GROUP_MESSAGES,
    MAX_WATCHED_PUBLICATIONS, RESERVED_SENDER_KEYS,
};
use crate::types::{GroupInfo, SentMessage, Status};

/// One group as the engine holds it.
pub(crate) struct GroupEntry {
    /// The replica: accepted and pending ops, the folded state.
    pub(crate) group: Group,
    /// What the store keeps besides ops and keys.
    pub(crate) record: GroupRecord,
    /// Our sending chain (while we are a member).
    pub(crate) sender_key: Option<SenderKey>,
    /// The receivers kept for other members (and for keys that sent us a
    /// chain before the op adding them arrived).
    pub(crate) receivers: HashMap<[u8; 32], SenderKeyReceiver>,
}

impl GroupEntry {
    /// A group we know nothing of yet but its id.
    pub(crate) fn new(id: [u8; 32]) -> Self {
        Self {
            group: Group::new(GroupId::from_bytes(id)),
            record: GroupRecord {
                conversation: 0,
                key_epoch: None,
                distributed: Vec::new(),
                left: false,
            },
            sender_key: None,
            receivers: HashMap::new(),
        }
    }
}

/// The groups of a node, keyed by group id.
pub(crate) type GroupMap = HashMap<[u8; 32], GroupEntry>;

/// Reads every group from the store and rebuilds its state from its ops.
pub(crate) fn load_groups(tx: &ReadTx<'_>) -> Result<GroupMap, StoreError> {
    let mut out = HashMap::new();
    for (id, record) in tx.groups()? {
        let Ok(record) = record else {
            continue;
        };
        let mut entry = GroupEntry::new(id);
        entry.record = record;
        apply_all(&mut entry.group, tx.group_ops(&id)?);
        entry.sender_key = tx.group_sender_key(&id)?;
        entry.receivers = tx.group_receivers(&id)?.into_iter().collect();
        out.insert(id, entry);
    }
    Ok(out)
}

/// Applies stored op frames in any order (they come sorted by op id):
/// frames refused because the pending set was full are tried again after
/// the others, until a pass makes no progress.
fn apply_all(group: &mut Group, mut frames: Vec<Vec<u8>>) {
    loop {
        let before = frames.len();
        frames.retain(|frame| {
            matches!(
                group.apply_bytes(frame),
                Err(GroupError::PendingFull { .. })
            )
        });
        if frames.is_empty() || frames.len() == before {
            return;
        }
    }
}

/// Session books taken out of the engine's cache for one transaction (a
/// `None` slot is read from the store on first use).
pub(crate) type Books = HashMap<[u8; 32], Option<SessionBook>>;

/// What one group transaction needs and produces besides the group.
pub(crate) struct StepCtx {
    pub(crate) me: Arc<IdentityKeyPair>,
    pub(crate) now: u64,
    pub(crate) books: Books,
    /// Pairwise envelopes queued in the outbox, per recipient.
    pub(crate) queued: Vec<([u8; 32], Queued)>,
    /// Events to emit once committed.
    pub(crate) events: Vec<NodeEvent>,
}

/// Encrypts `payload` for `to` (a contact with a session) and queues it
/// in the outbox, in the caller's transaction. `Ok(false)` when there is no
/// session with `to` (not a contact).
pub(crate) fn queue_payload(
    tx: &mut WriteTx<'_>,
    ctx: &mut StepCtx,
    to: &[u8; 32],
    payload: &Payload,
) -> Result<bool, StoreError> {
    let slot = ctx.books.entry(*to).or_insert(None);
    if slot.is_none() {
        *slot = tx.session(to)?;
    }
    let Some(book) = slot.as_mut() else {
        return Ok(false);
    };
    if !book.has_session() {
        return Ok(false);
    }
    match receive::queue_control(tx, book, payload, ctx.now)? {
        Some(queued) => {
            ctx.queued.push((*to, queued));
            Ok(true)
        }
        None => Ok(false),
    }
}

/// The peer id text of an identity key.
fn peer_text(key: &IdentityKey) -> String {
    key.peer_id().to_string()
}

/// The group id's text form (64 lowercase hex digits, docs/protocol.md §G1).
pub(crate) fn group_text(id: &[u8; 32]) -> String {
    GroupId::from_bytes(*id).to_string()
}

/// The members of `after` that are admins there and were members but not
/// admins in `before` (an earlier state of the same group): promoted by an
/// admin, or made admin when the last admin left (docs/protocol.md §G4).
fn promoted(before: &GroupState, after: &GroupState) -> Vec<IdentityKey> {
    after
        .admins()
        .difference(before.admins())
        .filter(|key| before.is_member(key))
        .copied()
        .collect()
}

/// The members of `after` that were admins in `before` and are members
/// but no longer admins in `after`: an admin status undone by the order of
/// concurrent ops (docs/protocol.md §G4).
fn demoted(before: &GroupState, after: &GroupState) -> Vec<IdentityKey> {
    before
        .admins()
        .difference(after.admins())
        .filter(|key| after.is_member(key))
        .copied()
        .collect()
}

/// The name of `after` if it differs from the name of `before`, an
/// earlier state of the same group that was already created: a rename
/// that took effect, or concurrent renames reordered so that another one
/// holds (docs/protocol.md §G4, §G5). The creation itself is no rename.
fn renamed<'s>(before: &GroupState, after: &'s GroupState) -> Option<&'s DisplayName> {
    let old = before.name()?;
    after.name().filter(|new| *new != old)
}

/// The events that announce a membership change of group `gid` from
/// `before` to `after`: members added, removed, promoted to admin and
/// demoted, and the group's new name.
fn membership_events(gid: &[u8; 32], before: &GroupState, after: &GroupState) -> Vec<NodeEvent> {
    let changes: MembershipChange = after.changes_since(before);
    let added = changes.added.iter().map(|key| NodeEvent::MemberAdded {
        group: group_text(gid),
        contact: peer_text(key),
    });
    let removed = changes.removed.iter().map(|key| NodeEvent::MemberRemoved {
        group: group_text(gid),
        contact: peer_text(key),
    });
    let promoted = promoted(before, after)
        .into_iter()
        .map(|key| NodeEvent::MemberPromoted {
            group: group_text(gid),
            contact: peer_text(&key),
        });
    let demoted = demoted(before, after)
        .into_iter()
        .map(|key| NodeEvent::MemberDemoted {
            group: group_text(gid),
            contact: peer_text(&key),
        });
    let renamed = renamed(before, after).map(|name| NodeEvent::GroupRenamed {
        group: group_text(gid),
        name: name.as_str().to_owned(),
    });
    added
        .chain(removed)
        .chain(promoted)
        .chain(demoted)
        .chain(renamed)
        .collect()
}

/// Stores the frames of ops `ids` that `group` now holds.
fn store_ops(tx: &mut WriteTx<'_>, group: &Group, ids: &[OpId]) -> Result<(), StoreError> {
    let gid = *group.id().as_bytes();
    for id in ids {
        if let Some(op) = group.op(id) {
            tx.put_group_op(&gid, id.as_bytes(), op.as_bytes())?;
        }
    }
    Ok(())
}

/// Sends an op frame to each of `to` (skipping ourselves).
fn send_op(
    tx: &mut WriteTx<'_>,
    ctx: &mut StepCtx,
    frame: &[u8],
    to: impl IntoIterator<Item = IdentityKey>,
) -> Result<(), StoreError> {
    let me = *ctx.me.public();
    let payload = Payload::GroupOp { op: frame.to_vec() };
    for member in to {
        if member != me {
            queue_payload(tx, ctx, &member.to_bytes(), &payload)?;
        }
    }
    Ok(())
}

/// Brings our side of a group in line with its state (docs/protocol.md
/// §G7), in the caller's transaction; idempotent:
///
/// - not a member (any more): our chain and every receiver are deleted;
/// - a member: the conversation exists; the chain is rotated when the
///   epoch moved since it was made; it is sent to each member that does not
///   have it yet (those we share a session with).
pub(crate) fn reconcile(
    tx: &mut WriteTx<'_>,
    entry: &mut GroupEntry,
    ctx: &mut StepCtx,
) -> Result<(), StoreError> {
    let me = *ctx.me.public();
    let state = entry.group.state().clone();
    if !state.is_created() {
        return Ok(());
    }
    let gid = *state.id().as_bytes();
    if !state.is_member(&me) {
        let had_key = entry.sender_key.take().is_some();
        if had_key {
            tx.remove_group_sender_key(&gid)?;
            super::intro::forget_pending(tx, &gid)?;
        }
        for member in entry.receivers.keys() {
            tx.remove_group_receiver(&gid, member)?;
        }
        entry.receivers.clear();
        if !entry.record.left || had_key {
            entry.record.left = true;
            entry.record.key_epoch = None;
            entry.record.distributed.clear();
            tx.put_group(&gid, &entry.record)?;
        }
        return Ok(());
    }
    let name = state
        .name()
        .map(|n| n.as_str().to_owned())
        .unwrap_or_default();
    let mut dirty = false;
    if entry.record.conversation == 0 {
        entry.record.conversation =
            tx.create_conversation(ConversationKind::Group { group: gid }, &name, ctx.now)?;
        dirty = true;
        if state.creator() != Some(&me) {
            ctx.events.push(NodeEvent::GroupJoined {
                group: group_text(&gid),
                name: name.clone(),
            });
        }
    } else if entry.record.left {
        entry.record.left = false;
        dirty = true;
        ctx.events.push(NodeEvent::GroupJoined {
            group: group_text(&gid),
            name,
        });
    }
    let epoch = state.epoch().map(|e| *e.as_bytes());
    if entry.sender_key.is_none() || entry.record.key_epoch != epoch {
        match &mut entry.sender_key {
            Some(key) => key.rotate(&mut rand::rng()),
            None => entry.sender_key = Some(SenderKey::generate(&mut rand::rng())),
        }
        if let Some(key) = &entry.sender_key {
            tx.set_group_sender_key(&gid, key)?;
        }
        entry.record.key_epoch = epoch;
        entry.record.distributed.clear();
        dirty = true;
    }
    let before = entry.record.distributed.len();
    entry
        .record
        .distributed
        .retain(|m| IdentityKey::from_bytes(m).is_ok_and(|key| state.is_member(&key)));
    dirty |= entry.record.distributed.len() != before;
    if let (Some(key), Some(epoch)) = (&entry.sender_key, epoch) {
        // To each member that lacks it, over its pairwise session (§G7,
        // §G13).
        dirty |=
            super::intro::distribute(tx, ctx, &state, epoch, key, &mut entry.record.distributed)?;
    }
    if dirty {
        tx.put_group(&gid, &entry.record)?;
    }
    Ok(())
}

/// What [`apply_op`] reports for one op frame received pairwise.
pub(crate) enum OpOutcome {
    /// Accepted (or pending); the group changed.
    Applied,
    /// Refused or a duplicate: forgotten.
    Refused,
}

/// Applies an op frame received from a contact, in the batch's
/// transaction (docs/protocol.md §G3): stores it (accepted or pending),
/// drops the receivers of removed members, and reports membership changes.
/// The reconciliation (rotation, distribution) runs in the next
/// transaction.
pub(crate) fn apply_op(
    tx: &mut WriteTx<'_>,
    groups: &mut GroupMap,
    me: &IdentityKey,
    frame: &[u8],
    events: &mut Vec<NodeEvent>,
) -> Result<(OpOutcome, Option<[u8; 32]>), StoreError> {
    let Ok(op) = GroupOp::from_bytes(frame) else {
        return Ok((OpOutcome::Refused, None));
    };
    let gid = *op.group().as_bytes();
    if !groups.contains_key(&gid) {
        if groups.len() >= MAX_GROUPS {
            return Ok((OpOutcome::Refused, None));
        }
        groups.insert(gid, GroupEntry::new(gid));
    }
    let Some(entry) = groups.get_mut(&gid) else {
        return Ok((OpOutcome::Refused, None));
    };
    let before = entry.group.state().clone();
    let op_id = op.id();
    match entry.group.apply(op) {
        Ok(Applied::Accepted(ids)) => store_ops(tx, &entry.group, &ids)?,
        Ok(Applied::Pending { .. }) => {
            tx.put_group_op(&gid, op_id.as_bytes(), frame)?;
        }
        Err(error) => {
            debug!(%error, "group op refused");
            return Ok((OpOutcome::Refused, None));
        }
    }
    if entry.record.conversation == 0 && !entry.group.state().is_created() {
        // Keep the record so the pending ops are found again after a restart.
        tx.put_group(&gid, &entry.record)?;
    }
    let after = entry.group.state();
    let changes = after.changes_since(&before);
    for removed in &changes.removed {
        let bytes = removed.to_bytes();
        if entry.receivers.remove(&bytes).is_some() {
            tx.remove_group_receiver(&gid, &bytes)?;
        }
    }
    if before.is_member(me) {
        events.extend(membership_events(&gid, &before, after));
    }
    Ok((OpOutcome::Applied, Some(gid)))
}

/// Adds a member's chain from a `GroupSenderKey` received from `sender`
/// over the pairwise session, in the batch's transaction. The chain is kept
/// even if `sender` is not a member yet in our state (the op adding it may
/// still be on its way): group messages are checked against the membership
/// when they arrive, not here.
pub(crate) fn add_sender_key(
    tx: &mut WriteTx<'_>,
    groups: &mut GroupMap,
    sender: &IdentityKey,
    key: &GroupSenderKey,
) -> Result<Option<[u8; 32]>, StoreError> {
    let Ok(distribution) = SenderKeyDistribution::from_bytes(&key.distribution) else {
        return Ok(None);
    };
    let gid = *key.group.as_bytes();
    if !groups.contains_key(&gid) {
        if groups.len() >= MAX_GROUPS {
            return Ok(None);
        }
        let entry = GroupEntry::new(gid);
        tx.put_group(&gid, &entry.record)?;
        groups.insert(gid, entry);
    }
    let Some(entry) = groups.get_mut(&gid) else {
        return Ok(None);
    };
    let member = sender.to_bytes();
    match entry.receivers.get_mut(&member) {
        Some(receiver) => receiver.add(&distribution),
        None => {
            entry
                .receivers
                .insert(member, SenderKeyReceiver::new(&distribution));
        }
    }
    if let Some(receiver) = entry.receivers.get(&member) {
        tx.set_group_receiver(&gid, &member, receiver)?;
    }
    Ok(Some(gid))
}

// The store keeps every frame of both holds (docs/protocol.md §G8).
const _: () = assert!(
    MAX_HELD_GROUP_MESSAGES + MAX_HELD_UNADMITTED_MESSAGES <= wren_store::MAX_HELD_GROUP_FRAMES
);

/// A group message that waits for its sender's chain, or for the op that
/// admits its sender. Each is also stored ([`HeldFrame`]), so that it
/// survives a restart.
pub(crate) struct Held {
    group: [u8; 32],
    frame: Vec<u8>,
}

/// A held frame whose hold may have changed, with the hold its stored row
/// names (`None`: no row): [`Engine::store_holds`] makes the row follow.
type HoldChange = (Held, Option<HoldKind>);

/// Stores a frame put in a hold, in the caller's transaction.
fn store_held(
    tx: &mut WriteTx<'_>,
    group: [u8; 32],
    hold: HoldKind,
    frame: &[u8],
    now: u64,
) -> Result<(), StoreError> {
    tx.put_group_held(&HeldFrame {
        group,
        hold,
        held_at: now,
        frame: frame.to_vec(),
    })?;
    Ok(())
}

/// A topic message's gossipsub verdict, still owed: gossipsub neither
/// delivers it to other peers nor forwards it until it is reported.
pub(crate) struct PendingVerdict {
    message_id: GroupMessageId,
    source: PeerId,
}

/// A frame waiting to be published.
pub(crate) struct Publication {
    group: [u8; 32],
    message: [u8; 16],
    conversation: u64,
    frame: Vec<u8>,
    /// When it was queued (after [`GROUP_PUBLISH_WAIT`] it goes out as soon
    /// as anyone is subscribed).
    since: Instant,
    in_flight: bool,
    /// Every member not subscribed when it was sent got a pairwise copy
    /// (§G9): the topic need not wait for them.
    covered: bool,
    /// The members expected to get it over the topic: once published, any
    /// of them that has not confirmed it after the receipt wait gets a
    /// pairwise copy (§G9).
    watch: Vec<[u8; 32]>,
}

/// A published group text waiting for the receipts of the members that
/// were to get it over the topic.
pub(crate) struct Watch {
    group: [u8; 32],
    message: [u8; 16],
    frame: Vec<u8>,
    /// Those that have not confirmed it yet.
    members: Vec<[u8; 32]>,
    /// When the rest get a pairwise copy.
    due: Instant,
}

/// What opening one group frame against our replica gave (docs/protocol.md
/// §G8 acceptance); shared by the topic and the pairwise paths.
pub(crate) enum FrameOpen {
    /// Decrypted with a copy of the sender's receiver (the copy has
    /// advanced; store it with the message).
    Text(Box<OpenedText>),
    /// From a current member whose chain is not here (yet): hold it.
    UnknownChain,
    /// Nothing to do: our own message, or a replay of one already opened.
    Ignore,
    /// Refused: not to be stored or forwarded.
    Refused(GroupMessageError),
}

/// A group text opened by [`open_frame`].
pub(crate) struct OpenedText {
    sender: IdentityKey,
    text: Text,
    receiver: SenderKeyReceiver,
}

/// Runs the acceptance of a group frame against `entry` and decrypts it
/// with a copy of the sender's receiver. No store access: the caller stores
/// the text and the advanced receiver together.
pub(crate) fn open_frame(entry: &GroupEntry, me: &IdentityKey, frame: &[u8]) -> FrameOpen {
    let inbound = match accept(entry.group.state(), frame) {
        Ok(inbound) => inbound,
        Err(error) => return FrameOpen::Refused(error),
    };
    let sender = *inbound.sender();
    if sender == *me {
        return FrameOpen::Ignore;
    }
    let Some(receiver) = entry.receivers.get(&sender.to_bytes()) else {
        return FrameOpen::UnknownChain;
    };
    let Ok(mut receiver) = SenderKeyReceiver::from_bytes(&receiver.to_bytes()) else {
        return FrameOpen::Ignore;
    };
    match inbound.open(&mut receiver) {
        Ok(text) => FrameOpen::Text(Box::new(OpenedText {
            sender,
            text,
            receiver,
        })),
        Err(GroupMessageError::SenderKey(SenderKeyError::UnknownChain(_))) => {
            FrameOpen::UnknownChain
        }
        Err(GroupMessageError::SenderKey(SenderKeyError::Replay)) => FrameOpen::Ignore,
        Err(error) => FrameOpen::Refused(error),
    }
}

/// Whether a refusal is about the sender's place in our state only (not a
/// member, or a reader in a channel): an op admitting it may still be on
/// its way (docs/protocol.md §G8), so the frame is held, not forgotten.
fn refused_for_membership(error: &GroupMessageError) -> bool {
    matches!(
        error,
        GroupMessageError::NotMember | GroupMessageError::NotAllowedToPost
    )
}

/// The `sender` field of a group frame (`None` if it does not decode).
fn sender_of_frame(frame: &[u8]) -> Option<[u8; 32]> {
    let GroupEnvelope::Message { sender, .. } = GroupEnvelope::from_bytes(frame).ok()?;
    Some(sender)
}

/// The group whose topic hash a frame names, among ours (`None` if the
/// frame does not decode or names no group we know).
fn group_of_frame(groups: &GroupMap, frame: &[u8]) -> Option<[u8; 32]> {
    let GroupEnvelope::Message { topic, .. } = GroupEnvelope::from_bytes(frame).ok()?;
    groups
        .iter()
        .find(|(_, entry)| topic_hash(&entry.group.id()) == topic)
        .map(|(gid, _)| *gid)
}

/// A group text that arrived over a pairwise session and was stored.
pub(crate) struct PairwiseGroupText {
    pub(crate) group: [u8; 32],
    pub(crate) id: [u8; 16],
    pub(crate) conversation: u64,
    pub(crate) seq: u64,
    pub(crate) text: String,
    pub(crate) sent_at: u64,
}

/// What a `Payload::GroupMessage` left for after the batch's commit.
#[derive(Default)]
pub(crate) struct PairwiseGroupOutput {
    /// Texts stored (to announce).
    pub(crate) texts: Vec<PairwiseGroupText>,
    /// Message ids processed (for the topic path's deduplication).
    pub(crate) seen: Vec<[u8; 32]>,
    /// Frames whose sender's chain has not arrived: held like topic
    /// messages (already stored in the batch's transaction).
    pub(crate) held: Vec<([u8; 32], Vec<u8>)>,
    /// Frames from the session's peer refused only because it is not (yet)
    /// a member who may post in our state: held until a membership change
    /// of their group (besides being reported in `refused`; already stored
    /// in the batch's transaction).
    pub(crate) unadmitted: Vec<([u8; 32], Vec<u8>)>,
    /// Refusals to report.
    pub(crate) refused: Vec<([u8; 32], String)>,
    /// Delivery receipts queued to the sender.
    pub(crate) queued: Vec<Queued>,
}

/// Who a pairwise group frame came from, and when.
pub(crate) struct Arrival<'a> {
    /// Our identity.
    pub(crate) me: &'a IdentityKey,
    /// The session's peer.
    pub(crate) from: &'a IdentityKey,
    /// Now, in Unix milliseconds.
    pub(crate) now: u64,
}

/// Stores a group text that opened (with the sender's advanced receiver)
/// and, if it is new and `book` holds a session with the sender, queues
/// our delivery receipt, in the caller's transaction: the one step shared
/// by topic messages and pairwise copies (docs/protocol.md §G9).
fn store_group_text(
    tx: &mut WriteTx<'_>,
    incoming: GroupIncoming<'_>,
    book: Option<&mut SessionBook>,
    now: u64,
) -> Result<(IncomingOutcome, Option<Queued>), StoreError> {
    let id = incoming.message.id;
    let outcome = tx.record_group_incoming(incoming)?;
    let mut queued = None;
    if matches!(outcome, IncomingOutcome::Stored { .. })
        && let Some(book) = book
        && book.has_session()
    {
        let receipt = Payload::DeliveryReceipt(Receipt {
            ids: vec![MessageId::from(id)],
        });
        queued = receive::queue_control(tx, book, &receipt, now)?;
    }
    Ok((outcome, queued))
}

/// A group frame that came over the pairwise session with `from`
/// (`Payload::GroupMessage`, docs/protocol.md §G9), in the batch's
/// transaction: the same acceptance and decryption as on the topic, then
/// the text and the advanced receiver are stored and a delivery receipt is
/// queued to the sender, all with the batch. Version 1 takes only frames
/// whose group sender is `from` itself (no forwarding); others are ignored.
pub(crate) fn receive_pairwise(
    tx: &mut WriteTx<'_>,
    groups: &mut GroupMap,
    arrival: &Arrival<'_>,
    book: &mut SessionBook,
    frame: Vec<u8>,
    out: &mut PairwiseGroupOutput,
) -> Result<(), StoreError> {
    let Arrival { me, from, now } = *arrival;
    let Some(gid) = group_of_frame(groups, &frame) else {
        return Ok(());
    };
    let Some(entry) = groups.get_mut(&gid) else {
        return Ok(());
    };
    let (sender, text, receiver) = match open_frame(entry, me, &frame) {
        FrameOpen::Text(opened) => {
            let OpenedText {
                sender,
                text,
                receiver,
            } = *opened;
            (sender, text, receiver)
        }
        FrameOpen::UnknownChain => {
            // Stored with the batch, before it is acknowledged.
            store_held(tx, gid, HoldKind::Chain, &frame, now)?;
            out.held.push((gid, frame));
            return Ok(());
        }
        FrameOpen::Ignore => return Ok(()),
        FrameOpen::Refused(error) => {
            out.refused.push((gid, error.to_string()));
            if refused_for_membership(&error) && sender_of_frame(&frame) == Some(from.to_bytes()) {
                store_held(tx, gid, HoldKind::Unadmitted, &frame, now)?;
                out.unadmitted.push((gid, frame));
            }
            return Ok(());
        }
    };
    if sender != *from {
        debug!("a pairwise group frame from another member than its sender; ignored");
        return Ok(());
    }
    let Ok(content) = Payload::Text(text.clone()).to_bytes() else {
        return Ok(());
    };
    let sender_bytes = sender.to_bytes();
    let id = *text.id.as_bytes();
    let conversation = entry.record.conversation;
    let incoming = GroupIncoming {
        group: gid,
        conversation,
        sender: sender_bytes,
        receiver: &receiver,
        message: NewMessage {
            id,
            sender: sender_bytes,
            sent_at: text.sent_at.as_millis(),
            received_at: now,
            content,
            status: MessageStatus::Received,
        },
    };
    let (outcome, queued) = store_group_text(tx, incoming, Some(book), now)?;
    out.queued.extend(queued);
    entry.receivers.insert(sender_bytes, receiver);
    out.seen.push(group_message_id(&frame));
    if let IncomingOutcome::Stored { seq, .. } = outcome {
        out.texts.push(PairwiseGroupText {
            group: gid,
            id,
            conversation,
            seq,
            text: text.body,
            sent_at: text.sent_at.as_millis(),
        });
    }
    Ok(())
}

/// The engine's group state besides the groups themselves.
#[derive(Default)]
pub(crate) struct Topics {
    /// Topic name → group id, for our groups.
    by_name: HashMap<String, [u8; 32]>,
    /// Groups whose topic we subscribed to.
    subscribed: HashSet<[u8; 32]>,
    /// Connected peers subscribed to each topic.
    peers: HashMap<String, HashSet<PeerId>>,
    /// Frames waiting to be published, oldest first.
    queue: VecDeque<Publication>,
    /// Messages waiting for their sender's chain, oldest first.
    held: VecDeque<Held>,
    /// Messages refused because their sender is not (yet) a member who may
    /// post, waiting for a membership change of their group, oldest first.
    unadmitted: VecDeque<Held>,
    /// Ids of the group messages processed lately (deduplication), oldest
    /// first.
    seen: VecDeque<[u8; 32]>,
    seen_set: HashSet<[u8; 32]>,
    /// The `sent_at` of our latest message in each group (at most one
    /// entry per group we know, so bounded by `MAX_GROUPS`), read from the
    /// store on the first send after start.
    last_sent: HashMap<[u8; 32], u64>,
    /// When to try the publication queue again.
    pub(crate) retry_at: Option<Instant>,
    /// Published texts waiting for receipts, oldest (and first due) first,
    /// at most [`MAX_WATCHED_PUBLICATIONS`].
    watched: VecDeque<Watch>,
    /// Watched texts every member confirmed, whose stored rows leave with
    /// the next transaction that takes them (at most
    /// [`MAX_WATCHED_PUBLICATIONS`]; a row left behind is settled again,
    /// with no copy, after a restart).
    unwatched: Vec<([u8; 32], [u8; 16])>,
}

impl Topics {
    /// Keeps a message whose sender's chain is not here yet, at most
    /// [`MAX_HELD_GROUP_MESSAGES`] (the oldest goes first). Returns the
    /// messages pushed out.
    fn hold(&mut self, group: [u8; 32], frame: Vec<u8>) -> Vec<Held> {
        hold_bounded(&mut self.held, group, frame, MAX_HELD_GROUP_MESSAGES)
    }

    /// Keeps a message refused because its sender is not (yet) a member
    /// who may post, at most [`MAX_HELD_UNADMITTED_MESSAGES`] (the oldest
    /// goes first). Returns the messages pushed out.
    fn hold_unadmitted(&mut self, group: [u8; 32], frame: Vec<u8>) -> Vec<Held> {
        hold_bounded(
            &mut self.unadmitted,
            group,
            frame,
            MAX_HELD_UNADMITTED_MESSAGES,
        )
    }

    /// Puts a frame in the hold `kind`; returns the frames pushed out.
    fn hold_in(&mut self, kind: HoldKind, group: [u8; 32], frame: Vec<u8>) -> Vec<Held> {
        match kind {
            HoldKind::Chain => self.hold(group, frame),
            HoldKind::Unadmitted => self.hold_unadmitted(group, frame),
        }
    }

    /// The hold a frame is in now (the chain hold first), if any.
    fn held_in(&self, frame: &[u8]) -> Option<HoldKind> {
        if self.held.iter().any(|h| h.frame == frame) {
            Some(HoldKind::Chain)
        } else if self.unadmitted.iter().any(|h| h.frame == frame) {
            Some(HoldKind::Unadmitted)
        } else {
            None
        }
    }

    /// Starts waiting for the receipts of a published text; past
    /// [`MAX_WATCHED_PUBLICATIONS`] the oldest is due at once.
    fn watch(&mut self, watch: Watch) {
        self.watched.push_back(watch);
        if self.watched.len() > MAX_WATCHED_PUBLICATIONS
            && let Some(oldest) = self.watched.front_mut()
        {
            oldest.due = Instant::now();
        }
    }

    /// `member` confirmed our text `message` (a delivery or read receipt):
    /// no copy for it.
    pub(crate) fn confirmed(&mut self, message: &[u8; 16], member: &[u8; 32]) {
        if let Some(index) = self.watched.iter().position(|w| w.message == *message) {
            if let Some(watch) = self.watched.get_mut(index) {
                watch.members.retain(|m| m != member);
                if !watch.members.is_empty() {
                    return;
                }
            }
            if let Some(watch) = self.watched.remove(index)
                && self.unwatched.len() < MAX_WATCHED_PUBLICATIONS
            {
                self.unwatched.push((watch.group, watch.message));
            }
        }
    }

    /// The confirmed texts whose stored rows are to be removed.
    pub(crate) fn take_unwatched(&mut self) -> Vec<([u8; 32], [u8; 16])> {
        std::mem::take(&mut self.unwatched)
    }

    /// Puts back rows a failed transaction did not remove.
    pub(crate) fn restore_unwatched(&mut self, rows: Vec<([u8; 32], [u8; 16])>) {
        for row in rows {
            if self.unwatched.len() >= MAX_WATCHED_PUBLICATIONS {
                break;
            }
            self.unwatched.push(row);
        }
    }

    /// When the first watched text is due.
    pub(crate) fn next_settle(&self) -> Option<Instant> {
        self.watched.front().map(|w| w.due)
    }

    /// Takes the watched texts that are due (or past the bound).
    fn take_due(&mut self, now: Instant) -> Vec<Watch> {
        let mut due = Vec::new();
        while let Some(front) = self.watched.front() {
            if front.due > now && self.watched.len() <= MAX_WATCHED_PUBLICATIONS {
                break;
            }
            if let Some(watch) = self.watched.pop_front() {
                due.push(watch);
            }
        }
        due
    }

    /// Remembers a message id (the last [`MAX_SEEN_GROUP_MESSAGES`]);
    /// `false` if it was already known.
    fn remember(&mut self, id: [u8; 32]) -> bool {
        if !self.seen_set.insert(id) {
            return false;
        }
        self.seen.push_back(id);
        while self.seen.len() > MAX_SEEN_GROUP_MESSAGES {
            if let Some(old) = self.seen.pop_front() {
                self.seen_set.remove(&old);
            }
        }
        true
    }
}

/// Appends a frame to a hold unless it is there already, then drops the
/// oldest past `max`; returns the frames dropped.
fn hold_bounded(
    held: &mut VecDeque<Held>,
    group: [u8; 32],
    frame: Vec<u8>,
    max: usize,
) -> Vec<Held> {
    let mut dropped = Vec::new();
    if held.iter().any(|h| h.frame == frame) {
        return dropped;
    }
    held.push_back(Held { group, frame });
    while held.len() > max {
        dropped.extend(held.pop_front());
    }
    dropped
}

/// The checked arguments of a membership change (or of a rename, which
/// travels and commits the same way).
enum Change {
    Add(IdentityKey),
    Remove(IdentityKey),
    Promote(IdentityKey),
    Rename(DisplayName),
    Leave,
}

impl Engine {
    /// Parses a group id (64 hex digits) naming one of our groups.
    pub(crate) fn resolve_group(&self, text: &str) -> Result<[u8; 32], NodeError> {
        let text = text.trim();
        GroupId::from_str(text)
            .ok()
            .map(|id| *id.as_bytes())
            .filter(|id| {
                self.groups
                    .get(id)
                    .is_some_and(|e| e.group.state().is_created())
            })
            .ok_or_else(|| NodeError::UnknownGroup(text.to_owned()))
    }

    /// Whether `text` names one of our groups (a `send_text` target).
    pub(crate) fn is_group(&self, text: &str) -> bool {
        self.resolve_group(text).is_ok()
    }

    /// The API view of a group.
    fn group_info(&self, id: &[u8; 32]) -> Option<GroupInfo> {
        let entry = self.groups.get(id)?;
        let state = entry.group.state();
        if !state.is_created() {
            return None;
        }
        Some(GroupInfo {
            id: group_text(id),
            name: state
                .name()
                .map(|n| n.as_str().to_owned())
                .unwrap_or_default(),
            channel: state.is_channel(),
            members: state.members().iter().map(peer_text).collect(),
            admins: state.admins().iter().map(peer_text).collect(),
            conversation: entry.record.conversation,
            member: state.is_member(self.me.public()),
            names: self.member_names(state.members()),
        })
    }

    /// The display names we know for `members` (`GroupInfo::names`).
    fn member_names<'k>(
        &self,
        members: impl IntoIterator<Item = &'k IdentityKey>,
    ) -> std::collections::BTreeMap<String, String> {
        members
            .into_iter()
            .filter_map(|key| {
                let bytes = key.to_bytes();
                let name = if key == self.me.public() {
                    self.name.clone()
                } else if let Some(contact) = self.contacts.get(&bytes) {
                    contact.meta.name.clone()
                } else {
                    self.group_peers.get(&bytes)?.record.name.clone()
                };
                (!name.is_empty()).then(|| (peer_text(key), name))
            })
            .collect()
    }

    /// `groups`: every group we are or were in, by id.
    pub(crate) fn group_list(&self) -> Vec<GroupInfo> {
        let mut ids: Vec<&[u8; 32]> = self.groups.keys().collect();
        ids.sort();
        ids.into_iter()
            .filter_map(|id| self.group_info(id))
            .collect()
    }

    /// Takes the cached books of `keys` out for a transaction.
    fn take_books(&mut self, keys: impl IntoIterator<Item = [u8; 32]>) -> Books {
        keys.into_iter()
            .map(|key| (key, self.books.remove(&key)))
            .collect()
    }

    /// Runs one group step in a store transaction: `step` gets the group
    /// (moved in and back), the transaction and the context; afterwards the
    /// books go back to the cache, queued envelopes to the outbox, events
    /// out, and the topic subscription follows the membership. If the
    /// transaction fails, nothing of it happened and the group is read
    /// again from the store.
    pub(crate) async fn group_step<T, F>(
        &mut self,
        gid: [u8; 32],
        entry: GroupEntry,
        step: F,
    ) -> Result<T, NodeError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteTx<'_>, &mut GroupEntry, &mut StepCtx) -> Result<T, StoreError>
            + Send
            + 'static,
    {
        let keys: Vec<[u8; 32]> = entry
            .group
            .state()
            .members()
            .iter()
            .map(IdentityKey::to_bytes)
            .collect();
        let ctx = self.step_ctx(keys, now_ms());
        let result = self
            .store
            .write(move |tx| {
                let mut entry = entry;
                let mut ctx = ctx;
                let value = step(tx, &mut entry, &mut ctx)?;
                Ok((value, entry, ctx))
            })
            .await;
        match result {
            Ok((value, entry, ctx)) => {
                self.groups.insert(gid, entry);
                self.after_step(gid, ctx);
                Ok(value)
            }
            Err(error) => {
                warn!(%error, "a group transaction failed");
                self.reload_group(gid).await;
                Err(error.into())
            }
        }
    }

    /// A step context for `now` holding the cached session books of `keys`
    /// (out of the cache until [`Engine::end_step`] puts them back; a
    /// failed transaction drops them and the store is read again).
    fn step_ctx(&mut self, keys: impl IntoIterator<Item = [u8; 32]>, now: u64) -> StepCtx {
        StepCtx {
            me: Arc::clone(&self.me),
            now,
            books: self.take_books(keys),
            queued: Vec::new(),
            events: Vec::new(),
        }
    }

    /// After a step committed: its books back into the cache, its queued
    /// envelopes to the outbox (its events are the caller's).
    fn end_step(&mut self, ctx: StepCtx) {
        for (key, book) in ctx.books {
            if let Some(book) = book {
                self.books.insert(key, book);
            }
        }
        for (key, queued) in ctx.queued {
            self.push_queued(key, queued);
        }
    }

    /// Books back, envelopes out, events, subscription, publication.
    fn after_step(&mut self, gid: [u8; 32], mut ctx: StepCtx) {
        let events = std::mem::take(&mut ctx.events);
        self.end_step(ctx);
        for event in events {
            self.emit(event);
        }
        self.follow_membership(gid);
        self.try_publish();
    }

    /// Reads one group back from the store (after a failed transaction).
    async fn reload_group(&mut self, gid: [u8; 32]) {
        match self.store.read(load_groups).await {
            Ok(mut all) => match all.remove(&gid) {
                Some(entry) => {
                    self.groups.insert(gid, entry);
                }
                None => {
                    self.groups.remove(&gid);
                }
            },
            Err(error) => warn!(%error, "reading groups back failed"),
        }
    }

    /// Reads every group back from the store (after a failed batch).
    pub(crate) async fn reload_groups(&mut self) {
        match self.store.read(load_groups).await {
            Ok(all) => self.groups = all,
            Err(error) => warn!(%error, "reading groups back failed"),
        }
    }

    /// Subscribes to the topic of a group we are in, unsubscribes from one
    /// we left.
    pub(crate) fn follow_membership(&mut self, gid: [u8; 32]) {
        let Some(entry) = self.groups.get(&gid) else {
            return;
        };
        let state = entry.group.state();
        let member = state.is_created() && state.is_member(self.me.public());
        let topic = topic_name(&state.id());
        let net = self.net.clone();
        if member && self.topics.subscribed.insert(gid) {
            self.topics.by_name.insert(topic.clone(), gid);
            tokio::spawn(async move {
                if let Err(error) = net.subscribe(topic).await {
                    warn!(%error, "subscribing to a group topic failed");
                }
            });
        } else if !member && self.topics.subscribed.remove(&gid) {
            self.topics.by_name.remove(&topic);
            tokio::spawn(async move {
                let _ = net.unsubscribe(topic).await;
            });
        }
    }

    /// At start: reconciles every group (a crash may have come between an
    /// op and its rotation or distribution) and subscribes to our topics.
    pub(crate) async fn start_groups(&mut self) {
        let ids: Vec<[u8; 32]> = self.groups.keys().copied().collect();
        for gid in ids {
            self.reconcile_group(gid).await;
        }
        let held = self.load_held().await;
        self.release_held(&held).await;
        self.try_publish();
    }

    /// Whether we were a member of a group and are no more (we left or
    /// were removed).
    fn left_group(&self, gid: &[u8; 32]) -> bool {
        self.groups.get(gid).is_some_and(|entry| {
            let state = entry.group.state();
            state.is_created() && !state.is_member(self.me.public())
        })
    }

    /// At start: puts the stored held frames back in their holds, oldest
    /// first (docs/protocol.md §G8). Rows that do not open, and rows of a
    /// group we do not know or left, are removed, and so are frames pushed
    /// out at the bounds. Returns the groups that have held frames.
    async fn load_held(&mut self) -> HashSet<[u8; 32]> {
        let rows = match self.store.read(|tx| tx.group_held()).await {
            Ok(rows) => rows,
            Err(error) => {
                warn!(%error, "reading the held group messages failed");
                return HashSet::new();
            }
        };
        let mut frames = Vec::new();
        let mut stale = Vec::new();
        for (group, id, frame) in rows {
            match frame {
                Ok(frame) if self.groups.contains_key(&group) && !self.left_group(&group) => {
                    frames.push(frame);
                }
                _ => stale.push((group, id)),
            }
        }
        frames.sort_by_key(|frame| frame.held_at);
        let mut groups = HashSet::new();
        let mut changes = Vec::new();
        for HeldFrame {
            group, hold, frame, ..
        } in frames
        {
            groups.insert(group);
            let dropped = self.topics.hold_in(hold, group, frame);
            changes.extend(dropped.into_iter().map(|held| (held, Some(hold))));
        }
        self.store_holds(changes, stale).await;
        groups
    }

    /// Makes the stored held frames follow the holds (docs/protocol.md
    /// §G8), in one transaction: each frame of `changes` that is in a hold
    /// is stored with that hold (unless its row names it already), one in
    /// neither hold is removed; the rows `stale` are removed too.
    async fn store_holds(&mut self, changes: Vec<HoldChange>, stale: Vec<([u8; 32], [u8; 32])>) {
        let now = now_ms();
        let mut puts = Vec::new();
        let mut removes = stale;
        for (held, before) in changes {
            match self.topics.held_in(&held.frame) {
                Some(hold) if before == Some(hold) => {}
                Some(hold) => puts.push(HeldFrame {
                    group: held.group,
                    hold,
                    held_at: now,
                    frame: held.frame,
                }),
                None => removes.push((held.group, group_message_id(&held.frame))),
            }
        }
        if puts.is_empty() && removes.is_empty() {
            return;
        }
        let stored = self
            .store
            .write(move |tx| {
                for held in &puts {
                    tx.put_group_held(held)?;
                }
                for (group, id) in &removes {
                    tx.remove_group_held(group, id)?;
                }
                Ok(())
            })
            .await;
        if let Err(error) = stored {
            warn!(%error, "storing the held group messages failed");
        }
    }

    /// Holds a topic message (docs/protocol.md §G8) and stores it, with
    /// the removal of what it pushed out, in a transaction of its own.
    async fn hold_topic_message(&mut self, hold: HoldKind, gid: [u8; 32], frame: Vec<u8>) {
        let dropped = self.topics.hold_in(hold, gid, frame.clone());
        let mut changes: Vec<HoldChange> =
            dropped.into_iter().map(|held| (held, Some(hold))).collect();
        changes.push((Held { group: gid, frame }, None));
        self.store_holds(changes, Vec::new()).await;
    }

    /// Runs [`reconcile`] for one group in a transaction of its own.
    pub(crate) async fn reconcile_group(&mut self, gid: [u8; 32]) {
        let Some(entry) = self.groups.remove(&gid) else {
            return;
        };
        if let Err(error) = self.group_step(gid, entry, reconcile).await {
            warn!(%error, "group reconciliation failed");
        }
    }

    /// `create_group`: signs the `Create` with `members` (contacts) as
    /// plain members, stores it, sends it to them and distributes our
    /// chain.
    pub(crate) async fn create_group(
        &mut self,
        name: &str,
        members: &[String],
        channel: bool,
    ) -> Result<GroupInfo, NodeError> {
        let name = DisplayName::new(name).map_err(|_| {
            NodeError::InvalidArgument("group name (1 to 64 bytes, no control characters)")
        })?;
        if self.groups.len() >= MAX_GROUPS {
            return Err(NodeError::InvalidArgument("too many groups"));
        }
        let mut initial: Vec<InitialMember> = Vec::new();
        for member in members {
            let key = self.resolve(member)?.key;
            if !initial.iter().any(|m| m.key == key) {
                initial.push(InitialMember { key, admin: false });
            }
        }
        if initial.len() >= wren_proto::limits::MAX_GROUP_MEMBERS {
            return Err(NodeError::InvalidArgument("too many members"));
        }
        let mut nonce = [0u8; 32];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut nonce);
        let create = GroupOp::create(
            &self.me,
            nonce,
            Timestamp::from_millis(now_ms()),
            name,
            channel,
            initial,
        )
        .map_err(|_| NodeError::InvalidArgument("group"))?;
        let group =
            Group::from_create(create.clone()).map_err(|_| NodeError::InvalidArgument("group"))?;
        let gid = *group.id().as_bytes();
        let mut entry = GroupEntry::new(gid);
        entry.group = group;
        let frame = create.as_bytes().to_vec();
        let op_id = *create.id().as_bytes();
        let peer_codes = self.peer_codes();
        self.group_step(gid, entry, move |tx, entry, ctx| {
            tx.put_group_op(&gid, &op_id, &frame)?;
            // The op first: each recipient's outbox queue is FIFO, so a
            // member learns of the group before it gets our chain.
            let members: Vec<IdentityKey> = entry.group.state().members().iter().copied().collect();
            send_op(tx, ctx, &frame, members.clone())?;
            // Then the members are introduced to each other (§G13).
            let pairs: Vec<(IdentityKey, Vec<IdentityKey>)> =
                members.iter().map(|m| (*m, members.clone())).collect();
            super::intro::introduce(tx, ctx, gid, &pairs, &peer_codes)?;
            reconcile(tx, entry, ctx)
        })
        .await?;
        self.group_info(&gid)
            .ok_or_else(|| NodeError::UnknownGroup(group_text(&gid)))
    }

    /// `add_member`, `remove_member`, `promote_member`, `rename_group` and
    /// `leave_group`: signs the op, applies and stores it, sends it to the
    /// members (a new member also gets the whole history, a removed one
    /// the removal), and reconciles (a removal or a leave rotates our chain
    /// and sends it to the remaining members) — all in one transaction, so
    /// when this returns the change is committed and our key rotated.
    async fn change_membership(
        &mut self,
        gid: [u8; 32],
        change: Change,
    ) -> Result<GroupInfo, NodeError> {
        let me = *self.me.public();
        let entry = self
            .groups
            .get(&gid)
            .ok_or_else(|| NodeError::UnknownGroup(group_text(&gid)))?;
        let state = entry.group.state();
        if !state.is_member(&me) {
            return Err(NodeError::NotAllowed("not a member of this group"));
        }
        let body = match &change {
            Change::Add(key) => {
                if !state.is_admin(&me) {
                    return Err(NodeError::NotAllowed("only admins change members"));
                }
                if state.is_member(key) {
                    return Err(NodeError::InvalidArgument("already a member"));
                }
                if state.members().len() >= wren_proto::limits::MAX_GROUP_MEMBERS {
                    return Err(NodeError::InvalidArgument("the group is full"));
                }
                OpBody::Add { member: *key }
            }
            Change::Remove(key) => {
                if !state.is_admin(&me) {
                    return Err(NodeError::NotAllowed("only admins change members"));
                }
                if !state.is_member(key) {
                    return Err(NodeError::InvalidArgument("not a member"));
                }
                OpBody::Remove { member: *key }
            }
            Change::Promote(key) => {
                if !state.is_admin(&me) {
                    return Err(NodeError::NotAllowed("only admins promote members"));
                }
                if !state.is_member(key) {
                    return Err(NodeError::InvalidArgument("not a member"));
                }
                if state.is_admin(key) {
                    return Err(NodeError::InvalidArgument("already an admin"));
                }
                OpBody::Promote { member: *key }
            }
            Change::Rename(name) => {
                if !state.is_admin(&me) {
                    return Err(NodeError::NotAllowed("only admins rename the group"));
                }
                if state.name() == Some(name) {
                    return Err(NodeError::InvalidArgument(
                        "the group already has this name",
                    ));
                }
                OpBody::Rename { name: name.clone() }
            }
            Change::Leave => OpBody::Leave,
        };
        if entry.group.len() >= wren_proto::limits::MAX_GROUP_OPS {
            return Err(NodeError::InvalidArgument("the group's history is full"));
        }
        let op = entry
            .group
            .sign_op(&self.me, Timestamp::from_millis(now_ms()), body)
            .map_err(|_| NodeError::InvalidArgument("group op"))?;
        let Some(mut entry) = self.groups.remove(&gid) else {
            return Err(NodeError::UnknownGroup(group_text(&gid)));
        };
        let before = entry.group.state().clone();
        let ids = match entry.group.apply(op.clone()) {
            Ok(Applied::Accepted(ids)) => ids,
            _ => {
                self.groups.insert(gid, entry);
                return Err(NodeError::InvalidArgument("group op"));
            }
        };
        let frame = op.as_bytes().to_vec();
        let changes = entry.group.state().changes_since(&before);
        let events = membership_events(&gid, &before, entry.group.state());
        let history: Vec<Vec<u8>> = match &change {
            Change::Add(_) => entry
                .group
                .ops_in_order()
                .map(|op| op.as_bytes().to_vec())
                .collect(),
            _ => Vec::new(),
        };
        let removed: Vec<IdentityKey> = changes.removed.clone();
        let step_events = events;
        let mut keys_extra: Vec<[u8; 32]> = before.members().iter().map(|k| k.to_bytes()).collect();
        keys_extra.retain(|k| {
            !entry
                .group
                .state()
                .members()
                .iter()
                .any(|m| m.to_bytes() == *k)
        });
        let extra_books = self.take_books(keys_extra);
        let peer_codes = self.peer_codes();
        self.group_step(gid, entry, move |tx, entry, ctx| {
            ctx.books.extend(extra_books);
            store_ops(tx, &entry.group, &ids)?;
            for key in &removed {
                let bytes = key.to_bytes();
                if entry.receivers.remove(&bytes).is_some() {
                    tx.remove_group_receiver(&gid, &bytes)?;
                }
            }
            let state = entry.group.state().clone();
            match change {
                Change::Add(new) => {
                    let others: Vec<IdentityKey> = state
                        .members()
                        .iter()
                        .filter(|m| **m != new)
                        .copied()
                        .collect();
                    send_op(tx, ctx, &frame, others.clone())?;
                    for old in &history {
                        send_op(tx, ctx, old, [new])?;
                    }
                    // The new member and the others are introduced to
                    // each other (§G13), after the ops.
                    let mut pairs: Vec<(IdentityKey, Vec<IdentityKey>)> =
                        others.iter().map(|m| (*m, vec![new])).collect();
                    pairs.push((new, others));
                    super::intro::introduce(tx, ctx, gid, &pairs, &peer_codes)?;
                }
                Change::Remove(gone) => {
                    let mut to: Vec<IdentityKey> = state.members().iter().copied().collect();
                    to.push(gone);
                    send_op(tx, ctx, &frame, to)?;
                }
                Change::Promote(_) | Change::Rename(_) | Change::Leave => {
                    let to: Vec<IdentityKey> = state.members().iter().copied().collect();
                    send_op(tx, ctx, &frame, to)?;
                }
            }
            reconcile(tx, entry, ctx)?;
            ctx.events.extend(step_events);
            Ok(())
        })
        .await?;
        // Our own op may admit a held sender, or take us out of the group
        // (its held messages are dropped then).
        self.release_held(&HashSet::from([gid])).await;
        self.prune_group_peers().await;
        self.group_info(&gid)
            .ok_or_else(|| NodeError::UnknownGroup(group_text(&gid)))
    }

    /// `add_member`.
    pub(crate) async fn add_member(
        &mut self,
        group: &str,
        contact: &str,
    ) -> Result<GroupInfo, NodeError> {
        let gid = self.resolve_group(group)?;
        let key = self.resolve(contact)?.key;
        self.change_membership(gid, Change::Add(key)).await
    }

    /// The key `contact` names: a contact's alias or peer id, or any
    /// peer id (a member need not be our contact).
    fn member_key(&self, contact: &str) -> Result<IdentityKey, NodeError> {
        match self.resolve(contact) {
            Ok(entry) => Ok(entry.key),
            Err(error) => contact
                .trim()
                .parse::<PeerId>()
                .ok()
                .and_then(|peer| IdentityKey::from_peer_id(&peer).ok())
                .ok_or(error),
        }
    }

    /// `remove_member`: `contact` is a contact's alias or any member's peer
    /// id.
    pub(crate) async fn remove_member(
        &mut self,
        group: &str,
        contact: &str,
    ) -> Result<GroupInfo, NodeError> {
        self.change_member(group, contact, Change::Remove).await
    }

    /// `promote_member`: `contact` is a contact's alias or any member's
    /// peer id.
    pub(crate) async fn promote_member(
        &mut self,
        group: &str,
        contact: &str,
    ) -> Result<GroupInfo, NodeError> {
        self.change_member(group, contact, Change::Promote).await
    }

    /// A membership change aimed at one member, named as in
    /// [`Engine::member_key`].
    async fn change_member(
        &mut self,
        group: &str,
        contact: &str,
        change: fn(IdentityKey) -> Change,
    ) -> Result<GroupInfo, NodeError> {
        let gid = self.resolve_group(group)?;
        let key = self.member_key(contact)?;
        self.change_membership(gid, change(key)).await
    }

    /// `rename_group`: `name` must be a display name (1 to 64 bytes, no
    /// control characters) other than the group's current one.
    pub(crate) async fn rename_group(
        &mut self,
        group: &str,
        name: &str,
    ) -> Result<GroupInfo, NodeError> {
        let gid = self.resolve_group(group)?;
        let name = DisplayName::new(name).map_err(|_| {
            NodeError::InvalidArgument("group name (1 to 64 bytes, no control characters)")
        })?;
        self.change_membership(gid, Change::Rename(name)).await
    }

    /// `leave_group`.
    pub(crate) async fn leave_group(&mut self, group: &str) -> Result<(), NodeError> {
        let gid = self.resolve_group(group)?;
        self.change_membership(gid, Change::Leave).await.map(drop)
    }

    /// `send_text` to a group: seals the text with our chain and commits
    /// the message, the chain and the frame (publication queue) together;
    /// the frame is published when the topic is ready.
    pub(crate) async fn send_group_text(
        &mut self,
        gid: [u8; 32],
        text: String,
    ) -> Result<SentMessage, NodeError> {
        if text.len() > wren_proto::limits::MAX_TEXT_BYTES {
            return Err(NodeError::InvalidArgument("text longer than 32 768 bytes"));
        }
        if self.topics.queue.len() >= MAX_PUBLICATIONS {
            return Err(NodeError::InvalidArgument(
                "too many group messages waiting to be published",
            ));
        }
        let now = now_ms();
        let sent_at = self.next_group_sent_at(gid, now).await?;
        let me = *self.me.public();
        let entry = self
            .groups
            .get(&gid)
            .ok_or_else(|| NodeError::UnknownGroup(group_text(&gid)))?;
        let state = entry.group.state();
        if !state.is_member(&me) {
            return Err(NodeError::NotAllowed("not a member of this group"));
        }
        if !state.can_post(&me) {
            return Err(NodeError::NotAllowed("only admins post in this channel"));
        }
        let Some(key) = &entry.sender_key else {
            return Err(NodeError::Unavailable("group key not ready"));
        };
        // Express publishing (docs/protocol.md §G8): the frame leaves before
        // its transaction commits when the stored chain already covers its
        // iteration (reserved by the previous commit), every other member
        // is seen subscribed (no pairwise copy to queue) and nothing of this
        // group waits to be published before it.
        let express = key.reserved() > 0
            && !self.topics.queue.iter().any(|item| item.group == gid)
            && self.topic_ready(&gid, Instant::now(), false);
        // Sealed with a copy: the engine's chain moves only once stored
        // (or, after an express publication, also if the commit fails).
        let mut chain = key.clone();
        let id = receive::random_id();
        let text = Text {
            id: MessageId::from(id),
            sent_at: Timestamp::from_millis(sent_at),
            body: text,
            reply_to: None,
        };
        let content = Payload::Text(text.clone())
            .to_bytes()
            .map_err(|_| NodeError::InvalidArgument("text"))?;
        let frame = seal(&mut chain, &state.id(), &me, text)
            .map_err(|_| NodeError::InvalidArgument("text"))?;
        // The stored chain covers the next messages (express publishing).
        chain.reserve(RESERVED_SENDER_KEYS);
        let conversation = entry.record.conversation;
        let stored_frame = frame.clone();
        let advanced = express.then(|| chain.clone());
        if express {
            self.topics.remember(group_message_id(&frame));
            self.publish(gid, id, frame.clone());
        }
        let my_key = me.to_bytes();
        // Offline catch-up (docs/protocol.md §G9): members we do not see
        // subscribed to the topic get the same frame over their pairwise
        // session, through the outbox (retried, and deposited in their
        // relay mailbox while they are offline), in this transaction.
        let absent = self.members_off_topic(&gid);
        let watch = self.members_on_topic(&gid, &absent);
        let mut ctx = self.step_ctx(absent.iter().copied(), now);
        let copy = Payload::GroupMessage {
            envelope: frame.clone(),
        };
        let result = self
            .store
            .write(move |tx| {
                let mut covered = true;
                for member in &absent {
                    covered &= queue_payload(tx, &mut ctx, member, &copy)?;
                }
                let seq = tx.record_group_outgoing(GroupOutgoing {
                    group: gid,
                    conversation,
                    sender_key: &chain,
                    message: NewMessage {
                        id,
                        sender: my_key,
                        sent_at,
                        received_at: now,
                        content,
                        status: MessageStatus::Sending,
                    },
                    frame: stored_frame,
                })?;
                Ok((seq, chain, ctx, covered))
            })
            .await;
        let (seq, chain, ctx, covered) = match result {
            Ok(done) => done,
            Err(error) => {
                // The books taken out are read again from the store. A
                // frame already published used its iteration: never again.
                if let (Some(advanced), Some(entry)) = (advanced, self.groups.get_mut(&gid)) {
                    entry.sender_key = Some(advanced);
                }
                return Err(NodeError::Commit(error.to_string()));
            }
        };
        if let Some(entry) = self.groups.get_mut(&gid) {
            entry.sender_key = Some(chain);
        }
        self.topics.last_sent.insert(gid, sent_at);
        self.end_step(ctx);
        self.topics.remember(group_message_id(&frame));
        self.emit(NodeEvent::StatusChanged {
            id: hex::encode(id),
            conversation,
            status: Status::Sending,
            detail: None,
            group: Some(group_text(&gid)),
            member: None,
        });
        self.topics.queue.push_back(Publication {
            group: gid,
            message: id,
            conversation,
            frame,
            since: Instant::now(),
            in_flight: express,
            covered,
            watch,
        });
        self.try_publish();
        Ok(SentMessage {
            id: hex::encode(id),
            conversation,
            seq,
        })
    }

    /// The `sent_at` of our next message in `gid`: now, or just after our
    /// previous one there (docs/protocol.md §G9), so that our messages sort
    /// in the order we sent them on every member even if the clock stood
    /// still or went back.
    async fn next_group_sent_at(&mut self, gid: [u8; 32], now: u64) -> Result<u64, NodeError> {
        let last = match self.topics.last_sent.get(&gid) {
            Some(last) => Some(*last),
            None => {
                let Some(conversation) = self.groups.get(&gid).map(|e| e.record.conversation)
                else {
                    return Err(NodeError::UnknownGroup(group_text(&gid)));
                };
                self.store
                    .read(move |tx| tx.group_last_sent(conversation))
                    .await?
            }
        };
        Ok(next_sent_at(now, last))
    }

    /// Loads the publication queue and the published texts whose
    /// members' receipts are awaited at start. A watched text is settled
    /// one receipt wait after the start: every other member without a
    /// stored receipt then gets a copy (which members got one at send time
    /// is not stored; a second copy is deduplicated).
    pub(crate) async fn load_publications(&mut self) {
        let loaded = self
            .store
            .read(|tx| Ok((tx.group_publications()?, tx.watched_publications()?)))
            .await;
        let (queued, watched) = match loaded {
            Ok(loaded) => loaded,
            Err(error) => {
                warn!(%error, "reading the group publication queue failed");
                return;
            }
        };
        let due = Instant::now() + self.receipt_wait;
        for item in watched {
            // A group left since: no members, the row leaves at the settle.
            let members = self.members_on_topic(&item.group, &[]);
            self.topics.remember(group_message_id(&item.frame));
            self.topics.watch(Watch {
                group: item.group,
                message: item.message,
                frame: item.frame,
                members,
                due,
            });
        }
        for item in queued {
            let Some(entry) = self.groups.get(&item.group) else {
                continue;
            };
            self.topics.remember(group_message_id(&item.frame));
            self.topics.queue.push_back(Publication {
                group: item.group,
                message: item.message,
                conversation: entry.record.conversation,
                frame: item.frame,
                since: Instant::now(),
                in_flight: false,
                // Which members got a pairwise copy is not stored: wait as
                // before, and watch every other member's receipt.
                covered: false,
                watch: self.members_on_topic(&item.group, &[]),
            });
        }
    }

    /// The other members of a group, but `absent`: those expected to get
    /// what we publish over the topic.
    fn members_on_topic(&self, gid: &[u8; 32], absent: &[[u8; 32]]) -> Vec<[u8; 32]> {
        let Some(entry) = self.groups.get(gid) else {
            return Vec::new();
        };
        let me = self.me.public();
        entry
            .group
            .state()
            .members()
            .iter()
            .filter(|member| *member != me)
            .map(IdentityKey::to_bytes)
            .filter(|member| !absent.contains(member))
            .collect()
    }

    /// The other members of a group we do not see subscribed to its topic
    /// (offline, or not connected to us): they get a pairwise copy of what
    /// we publish (docs/protocol.md §G9).
    fn members_off_topic(&self, gid: &[u8; 32]) -> Vec<[u8; 32]> {
        let Some(entry) = self.groups.get(gid) else {
            return Vec::new();
        };
        let peers = self.topics.peers.get(&topic_name(&entry.group.id()));
        let me = self.me.public();
        entry
            .group
            .state()
            .members()
            .iter()
            .filter(|member| *member != me)
            .filter(|member| !peers.is_some_and(|peers| peers.contains(&member.peer_id())))
            .map(IdentityKey::to_bytes)
            .collect()
    }

    /// Whether a group's topic is ready for a frame queued at `since`:
    /// someone is subscribed, and every other member is subscribed as seen
    /// from here (or the frame waited [`GROUP_PUBLISH_WAIT`]: members who
    /// are offline then miss it until offline catch-up exists).
    fn topic_ready(&self, gid: &[u8; 32], since: Instant, covered: bool) -> bool {
        let Some(entry) = self.groups.get(gid) else {
            return false;
        };
        let topic = topic_name(&entry.group.id());
        let Some(peers) = self.topics.peers.get(&topic) else {
            return false;
        };
        if peers.is_empty() {
            return false;
        }
        if covered || since.elapsed() >= GROUP_PUBLISH_WAIT {
            return true;
        }
        let me = self.me.public();
        entry.group.state().members().iter().all(|member| {
            if member == me {
                return true;
            }
            let peer = member.peer_id();
            peers.contains(&peer)
        })
    }

    /// Publishes every queued frame whose topic is ready (in queue order
    /// per group); arms a retry while frames wait.
    pub(crate) fn try_publish(&mut self) {
        let mut blocked: HashSet<[u8; 32]> = HashSet::new();
        let mut starts = Vec::new();
        for (index, item) in self.topics.queue.iter().enumerate() {
            if blocked.contains(&item.group) {
                continue;
            }
            if item.in_flight {
                continue;
            }
            if !self.topic_ready(&item.group, item.since, item.covered) {
                blocked.insert(item.group);
                continue;
            }
            starts.push(index);
        }
        for index in starts {
            let Some(item) = self.topics.queue.get_mut(index) else {
                continue;
            };
            item.in_flight = true;
            let (group, message, frame) = (item.group, item.message, item.frame.clone());
            self.publish(group, message, frame);
        }
        self.topics.retry_at = self
            .topics
            .queue
            .iter()
            .any(|item| !item.in_flight)
            .then(|| Instant::now() + GROUP_PUBLISH_RETRY);
    }

    /// Hands a frame of `group` to gossipsub; the outcome comes back as
    /// [`Internal::Published`].
    fn publish(&self, group: [u8; 32], message: [u8; 16], frame: Vec<u8>) {
        let Some(entry) = self.groups.get(&group) else {
            return;
        };
        let topic = topic_name(&entry.group.id());
        let (net, done) = (self.net.clone(), self.internal_tx.clone());
        tokio::spawn(async move {
            let result = net.publish(topic, frame).await;
            let _ = done
                .send(Internal::Published {
                    group,
                    message,
                    result,
                })
                .await;
        });
    }

    /// The published texts whose receipt wait is over (docs/protocol.md
    /// §G9): each member expected over the topic that has not confirmed
    /// one gets a pairwise copy, queued in one transaction. A member that
    /// got it over the topic after all stores it once (deduplicated).
    pub(crate) async fn settle_publications(&mut self) {
        let due = self.topics.take_due(Instant::now());
        if due.is_empty() {
            return;
        }
        let members: HashSet<[u8; 32]> =
            due.iter().flat_map(|w| w.members.iter().copied()).collect();
        let mut ctx = self.step_ctx(members, now_ms());
        let unwatched = self.topics.take_unwatched();
        let unwatched_copy = unwatched.clone();
        let result = self
            .store
            .write(move |tx| {
                for (group, message) in &unwatched {
                    tx.remove_watched_publication(group, message)?;
                }
                let mut copies = 0usize;
                for watch in &due {
                    tx.remove_watched_publication(&watch.group, &watch.message)?;
                    let copy = Payload::GroupMessage {
                        envelope: watch.frame.clone(),
                    };
                    for member in &watch.members {
                        if tx.has_group_receipt(&watch.message, member)? {
                            continue;
                        }
                        if queue_payload(tx, &mut ctx, member, &copy)? {
                            copies += 1;
                        }
                    }
                }
                Ok((ctx, copies, due))
            })
            .await;
        match result {
            Ok((ctx, copies, due)) => {
                if copies > 0 {
                    debug!(
                        copies,
                        texts = due.len(),
                        "pairwise copies for unconfirmed group texts"
                    );
                }
                self.end_step(ctx);
            }
            // The books taken out are read again from the store; the due
            // texts' rows stay stored and are settled after a restart.
            Err(error) => {
                self.topics.restore_unwatched(unwatched_copy);
                warn!(%error, "queuing copies of unconfirmed group texts failed");
            }
        }
    }

    /// A publication finished: published (or already known to gossipsub)
    /// → out of the queue, status sent; otherwise it waits for the next
    /// try.
    pub(crate) async fn published(
        &mut self,
        group: [u8; 32],
        message: [u8; 16],
        result: Result<GroupMessageId, PublishError>,
    ) {
        let Some(index) = self
            .topics
            .queue
            .iter()
            .position(|item| item.group == group && item.message == message)
        else {
            return;
        };
        match result {
            Ok(_) | Err(PublishError::Duplicate) => {
                let Some(mut item) = self.topics.queue.remove(index) else {
                    return;
                };
                let watching = !item.watch.is_empty();
                if watching {
                    self.topics.watch(Watch {
                        group,
                        message,
                        frame: item.frame.clone(),
                        members: std::mem::take(&mut item.watch),
                        due: Instant::now() + self.receipt_wait,
                    });
                }
                let stored = self
                    .store
                    .write(move |tx| {
                        // Watched, it stays stored until the members who
                        // do not confirm it got their copy (§G12).
                        if watching {
                            tx.watch_group_publication(&group, &message)?;
                        } else {
                            tx.remove_group_publication(&group, &message)?;
                        }
                        // A member's receipt may have come first (it got
                        // the pairwise copy, §G9): never move back.
                        let sending = tx
                            .message_by_id(&message)?
                            .is_some_and(|m| m.status == MessageStatus::Sending);
                        if !sending {
                            return Ok(false);
                        }
                        match tx.set_status(&message, MessageStatus::Sent) {
                            Ok(()) => Ok(true),
                            Err(StoreError::MessageNotFound) => Ok(false),
                            Err(other) => Err(other),
                        }
                    })
                    .await;
                let moved = match stored {
                    Ok(moved) => moved,
                    Err(error) => {
                        warn!(%error, "recording a publication failed");
                        true
                    }
                };
                if !moved {
                    return;
                }
                self.emit(NodeEvent::StatusChanged {
                    id: hex::encode(message),
                    conversation: item.conversation,
                    status: Status::Sent,
                    detail: None,
                    group: Some(group_text(&group)),
                    member: None,
                });
            }
            Err(error) => {
                debug!(%error, "publishing a group message failed; will retry");
                if let Some(item) = self.topics.queue.get_mut(index) {
                    item.in_flight = false;
                }
                self.topics.retry_at = Some(Instant::now() + GROUP_PUBLISH_RETRY);
            }
        }
    }

    /// A connected peer subscribed to (or left) a topic.
    ///
    /// Every topic is tracked, not only ours: a member may subscribe before
    /// we learn of the group, and gossipsub announces a subscription once.
    /// At most [`MAX_GROUPS`] topics (more are ignored).
    pub(crate) fn topic_peer(&mut self, peer: PeerId, topic: String, subscribed: bool) {
        if !self.topics.peers.contains_key(&topic) && self.topics.peers.len() >= MAX_GROUPS {
            return;
        }
        let peers = self.topics.peers.entry(topic).or_default();
        if subscribed {
            peers.insert(peer);
            self.try_publish();
        } else {
            peers.remove(&peer);
        }
    }

    /// A peer disconnected: it is no longer subscribed anywhere for us.
    pub(crate) fn topic_peer_gone(&mut self, peer: &PeerId) {
        for peers in self.topics.peers.values_mut() {
            peers.remove(peer);
        }
    }

    /// A message on one of our topics (docs/protocol.md §G8): accepted and
    /// stored, rejected, or ignored (a duplicate, or held until its
    /// sender's chain arrives). The verdict goes back to gossipsub.
    pub(crate) async fn group_message(
        &mut self,
        source: PeerId,
        message_id: GroupMessageId,
        topic: String,
        data: Vec<u8>,
    ) {
        let mut pending = Some(PendingVerdict { message_id, source });
        let verdict = match self.topics.by_name.get(&topic).copied() {
            None => Acceptance::Ignore,
            Some(gid) => {
                if self.topics.seen_set.contains(&group_message_id(&data)) {
                    Acceptance::Ignore
                } else {
                    self.open_group_message(gid, data, true, &mut pending).await
                }
            }
        };
        if let Some(pending) = pending {
            self.report_verdict(pending, verdict);
        }
    }

    /// Hands a topic message's verdict to gossipsub without waiting.
    fn report_verdict(&self, pending: PendingVerdict, verdict: Acceptance) {
        let net = self.net.clone();
        tokio::spawn(async move {
            let _ = net
                .report_validation(pending.message_id, pending.source, verdict)
                .await;
        });
    }

    /// Accepts, decrypts and stores one group frame. `hold`: keep it for
    /// later if the sender's chain is unknown, or if it is refused because
    /// the sender is not (yet) admitted (then also reported as refused),
    /// and store it held; without `hold` the frame comes out of a hold, and
    /// its stored row is removed in the transaction that stores its text.
    /// `pending`: the gossipsub verdict still owed for it, reported
    /// *accepted* as soon as the frame passed acceptance, before the store
    /// commits, so that forwarding to the rest of the mesh overlaps our
    /// commit (docs/protocol.md §G8); left in place otherwise, for the
    /// caller to report.
    async fn open_group_message(
        &mut self,
        gid: [u8; 32],
        frame: Vec<u8>,
        hold: bool,
        pending: &mut Option<PendingVerdict>,
    ) -> Acceptance {
        let Some(entry) = self.groups.get(&gid) else {
            return Acceptance::Ignore;
        };
        let (sender, text, receiver) = match open_frame(entry, self.me.public(), &frame) {
            FrameOpen::Text(opened) => {
                let OpenedText {
                    sender,
                    text,
                    receiver,
                } = *opened;
                (sender, text, receiver)
            }
            FrameOpen::UnknownChain => {
                if hold {
                    // The verdict goes out before the hold is stored.
                    if let Some(pending) = pending.take() {
                        self.report_verdict(pending, Acceptance::Ignore);
                    }
                    self.hold_topic_message(HoldKind::Chain, gid, frame).await;
                }
                return Acceptance::Ignore;
            }
            FrameOpen::Ignore => return Acceptance::Ignore,
            FrameOpen::Refused(error) => {
                self.refused(gid, &error);
                if hold && refused_for_membership(&error) {
                    if let Some(pending) = pending.take() {
                        self.report_verdict(pending, Acceptance::Reject);
                    }
                    self.hold_topic_message(HoldKind::Unadmitted, gid, frame)
                        .await;
                }
                return Acceptance::Reject;
            }
        };
        if let Some(pending) = pending.take() {
            self.report_verdict(pending, Acceptance::Accept);
        }
        let sender_bytes = sender.to_bytes();
        let message_id = group_message_id(&frame);
        self.topics.remember(message_id);
        let conversation = entry.record.conversation;
        let now = now_ms();
        let content = match Payload::Text(text.clone()).to_bytes() {
            Ok(content) => content,
            Err(_) => return Acceptance::Reject,
        };
        let id = *text.id.as_bytes();
        // A contact's or a group peer's session carries the receipt.
        let contact =
            self.contacts.contains_key(&sender_bytes) || self.is_group_peer(&sender_bytes);
        let cached = self.books.remove(&sender_bytes);
        let stored = self
            .store
            .write(move |tx| {
                let mut book = match cached {
                    Some(book) => Some(book),
                    None if contact => tx.session(&sender_bytes)?,
                    None => None,
                };
                let incoming = GroupIncoming {
                    group: gid,
                    conversation,
                    sender: sender_bytes,
                    receiver: &receiver,
                    message: NewMessage {
                        id,
                        sender: sender_bytes,
                        sent_at: text.sent_at.as_millis(),
                        received_at: now,
                        content,
                        status: MessageStatus::Received,
                    },
                };
                let (outcome, queued) = store_group_text(tx, incoming, book.as_mut(), now)?;
                if !hold {
                    tx.remove_group_held(&gid, &message_id)?;
                }
                Ok((outcome, receiver, book, queued, text))
            })
            .await;
        let (outcome, receiver, book, queued, text) = match stored {
            Ok(done) => done,
            Err(error) => {
                warn!(%error, "storing a group message failed");
                return Acceptance::Ignore;
            }
        };
        if let Some(book) = book {
            self.books.insert(sender_bytes, book);
        }
        if let Some(queued) = queued {
            self.push_queued(sender_bytes, queued);
        }
        if let Some(entry) = self.groups.get_mut(&gid) {
            entry.receivers.insert(sender_bytes, receiver);
        }
        if let IncomingOutcome::Stored { seq, .. } = outcome {
            let alias = self
                .contacts
                .get(&sender_bytes)
                .and_then(|e| alias_of(&e.contact));
            self.emit(NodeEvent::MessageReceived {
                id: hex::encode(id),
                from: sender.peer_id().to_string(),
                alias,
                conversation,
                seq,
                text: text.body,
                sent_at: text.sent_at.as_millis(),
                group: Some(group_text(&gid)),
            });
        }
        Acceptance::Accept
    }

    /// After a pairwise batch committed: announces the group texts it
    /// stored (`Payload::GroupMessage`), remembers their ids so that the
    /// topic copy is a duplicate, holds the frames whose chain is missing
    /// or whose sender is not admitted yet, and reports refusals.
    /// The held frames were stored with the batch; the rows of frames
    /// they pushed out of a hold are removed here.
    pub(crate) async fn pairwise_group_messages(
        &mut self,
        from: &IdentityKey,
        alias: Option<String>,
        output: PairwiseGroupOutput,
    ) {
        for id in output.seen {
            self.topics.remember(id);
        }
        let mut changes: Vec<HoldChange> = Vec::new();
        for (gid, frame) in output.held {
            let dropped = self.topics.hold(gid, frame);
            changes.extend(dropped.into_iter().map(|h| (h, Some(HoldKind::Chain))));
        }
        for (gid, frame) in output.unadmitted {
            let dropped = self.topics.hold_unadmitted(gid, frame);
            changes.extend(dropped.into_iter().map(|h| (h, Some(HoldKind::Unadmitted))));
        }
        for (gid, reason) in output.refused {
            debug!(%reason, "pairwise group message refused");
            self.emit(NodeEvent::GroupMessageRefused {
                group: group_text(&gid),
                reason,
            });
        }
        for text in output.texts {
            self.emit(NodeEvent::MessageReceived {
                id: hex::encode(text.id),
                from: from.peer_id().to_string(),
                alias: alias.clone(),
                conversation: text.conversation,
                seq: text.seq,
                text: text.text,
                sent_at: text.sent_at,
                group: Some(group_text(&text.group)),
            });
        }
        self.store_holds(changes, Vec::new()).await;
    }

    /// Reports a refused group message.
    fn refused(&self, gid: [u8; 32], error: &GroupMessageError) {
        debug!(%error, "group message refused");
        self.emit(NodeEvent::GroupMessageRefused {
            group: group_text(&gid),
            reason: error.to_string(),
        });
    }

    /// New chains arrived for `groups`, or their membership changed: tries
    /// the messages whose sender was not admitted again, then opens the
    /// messages held for a chain. Messages of a group we left are dropped.
    /// The stored held frames follow (docs/protocol.md §G8): an opened
    /// one's row goes with the transaction that stores its text, the rows
    /// of the others that left the hold in one transaction after.
    pub(crate) async fn release_held(&mut self, groups: &HashSet<[u8; 32]>) {
        self.retry_unadmitted(groups).await;
        let (ready, mut changes) = self.take_ready(HoldKind::Chain, groups);
        for held in ready {
            let frame = held.frame.clone();
            let acceptance = self
                .open_group_message(held.group, frame, false, &mut None)
                .await;
            if acceptance == Acceptance::Accept {
                // Stored, and its row removed with it.
                continue;
            }
            if acceptance == Acceptance::Ignore
                && self
                    .groups
                    .get(&held.group)
                    .is_some_and(|e| e.group.state().is_created())
                && !self
                    .topics
                    .seen_set
                    .contains(&group_message_id(&held.frame))
            {
                let dropped = self.topics.hold(held.group, held.frame.clone());
                changes.extend(dropped.into_iter().map(|h| (h, Some(HoldKind::Chain))));
            }
            changes.push((held, Some(HoldKind::Chain)));
        }
        self.store_holds(changes, Vec::new()).await;
    }

    /// Takes the frames of `groups` out of the hold `kind`: those to try
    /// again, and (as changes for [`Engine::store_holds`]) those that need
    /// no try: already processed, or of a group we left.
    fn take_ready(
        &mut self,
        kind: HoldKind,
        groups: &HashSet<[u8; 32]>,
    ) -> (Vec<Held>, Vec<HoldChange>) {
        let hold = match kind {
            HoldKind::Chain => &mut self.topics.held,
            HoldKind::Unadmitted => &mut self.topics.unadmitted,
        };
        let (taken, rest): (Vec<Held>, Vec<Held>) =
            hold.drain(..).partition(|h| groups.contains(&h.group));
        *hold = rest.into();
        let mut ready = Vec::new();
        let mut done = Vec::new();
        for held in taken {
            if self
                .topics
                .seen_set
                .contains(&group_message_id(&held.frame))
                || self.left_group(&held.group)
            {
                done.push((held, Some(kind)));
            } else {
                ready.push(held);
            }
        }
        (ready, done)
    }

    /// Tries the messages of `groups` that were refused because their
    /// sender was not admitted, with the full acceptance (docs/protocol.md
    /// §G8): one that opens now is stored and announced like any message;
    /// still refused for membership, it stays held (its refusal was
    /// reported when it arrived, not again); from a member whose chain is
    /// missing, it moves to the chain hold. Any other outcome drops it
    /// silently, and so does our not being a member of the group any more.
    /// The stored held frames follow, as in [`Engine::release_held`].
    async fn retry_unadmitted(&mut self, groups: &HashSet<[u8; 32]>) {
        let (ready, mut changes) = self.take_ready(HoldKind::Unadmitted, groups);
        for held in ready {
            let Some(entry) = self.groups.get(&held.group) else {
                changes.push((held, Some(HoldKind::Unadmitted)));
                continue;
            };
            let hold = match open_frame(entry, self.me.public(), &held.frame) {
                // Opened again, with its store and receipt, by the one
                // path every accepted frame takes.
                FrameOpen::Text(_) => {
                    let acceptance = self
                        .open_group_message(held.group, held.frame.clone(), false, &mut None)
                        .await;
                    if acceptance == Acceptance::Accept {
                        // Stored, and its row removed with it.
                        continue;
                    }
                    None
                }
                FrameOpen::UnknownChain => Some(HoldKind::Chain),
                FrameOpen::Refused(error) if refused_for_membership(&error) => {
                    Some(HoldKind::Unadmitted)
                }
                FrameOpen::Refused(_) | FrameOpen::Ignore => None,
            };
            if let Some(hold) = hold {
                let dropped = self.topics.hold_in(hold, held.group, held.frame.clone());
                changes.extend(dropped.into_iter().map(|h| (h, Some(hold))));
            }
            changes.push((held, Some(HoldKind::Unadmitted)));
        }
        self.store_holds(changes, Vec::new()).await;
    }

    /// After a pairwise batch committed: reconciles the groups it changed,
    /// follows their topics and opens held messages whose chain arrived.
    pub(crate) async fn after_batch(
        &mut self,
        touched: HashSet<[u8; 32]>,
        keys: HashSet<[u8; 32]>,
    ) {
        for gid in &touched {
            self.reconcile_group(*gid).await;
        }
        let changed = !touched.is_empty();
        let mut release = keys;
        release.extend(touched);
        self.release_held(&release).await;
        if changed {
            self.prune_group_peers().await;
        }
    }

    /// `mark_read` of a group conversation: marks it read to its end and
    /// sends each sender (a contact) a read receipt for its newly read
    /// texts, in the same transaction.
    pub(crate) async fn mark_group_read(&mut self, conversation: u64) -> Result<usize, NodeError> {
        let unread = self
            .store
            .read(move |tx| {
                let Some(summary) = tx.conversation(conversation)? else {
                    return Ok(None);
                };
                let ids = super::messages::unread_received(tx, &summary, |message| {
                    Some((message.sender, message.id))
                })?;
                Ok(Some((summary.last_seq, ids)))
            })
            .await?;
        let Some((last_seq, ids)) = unread else {
            return Err(NodeError::UnknownConversation(conversation.to_string()));
        };
        let count = ids.len();
        let mut by_sender: HashMap<[u8; 32], Vec<[u8; 16]>> = HashMap::new();
        for (sender, id) in &ids {
            if self.contacts.contains_key(sender) || self.is_group_peer(sender) {
                by_sender.entry(*sender).or_default().push(*id);
            }
        }
        let mut ctx = self.step_ctx(by_sender.keys().copied(), now_ms());
        let result = self
            .store
            .write(move |tx| {
                tx.mark_read(conversation, last_seq)?;
                for (_, id) in &ids {
                    match tx.set_status(id, MessageStatus::Read) {
                        Ok(()) | Err(StoreError::MessageNotFound) => {}
                        Err(other) => return Err(other),
                    }
                }
                for (sender, read) in &by_sender {
                    for chunk in read.chunks(crate::limits::MAX_RECEIPT_IDS) {
                        let receipt = Payload::ReadReceipt(Receipt {
                            ids: chunk.iter().map(|id| MessageId::from(*id)).collect(),
                        });
                        queue_payload(tx, &mut ctx, sender, &receipt)?;
                    }
                }
                Ok(ctx)
            })
            .await?;
        self.end_step(result);
        Ok(count)
    }

    /// `history` of a group conversation, if `target` names one of our
    /// groups.
    pub(crate) fn group_conversation(&self, target: &str) -> Option<u64> {
        let gid = self.resolve_group(target).ok()?;
        self.groups.get(&gid).map(|e| e.record.conversation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_messages_stop_at_the_limit_oldest_first() {
        let mut topics = Topics::default();
        let mut dropped = Vec::new();
        for n in 0..=MAX_HELD_GROUP_MESSAGES {
            let frame = u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes().to_vec();
            dropped.extend(topics.hold([1; 32], frame));
        }
        assert_eq!(topics.held.len(), MAX_HELD_GROUP_MESSAGES);
        assert_eq!(
            topics.held.front().map(|h| h.frame.clone()),
            Some(1u32.to_be_bytes().to_vec())
        );
        // The one pushed out is returned, so that its stored row goes too.
        let dropped: Vec<Vec<u8>> = dropped.into_iter().map(|h| h.frame).collect();
        assert_eq!(dropped, [0u32.to_be_bytes().to_vec()]);
        assert_eq!(topics.held_in(&0u32.to_be_bytes()), None);
        assert_eq!(topics.held_in(&1u32.to_be_bytes()), Some(HoldKind::Chain));
        // The same frame twice is held once.
        assert!(topics.hold([1; 32], 5u32.to_be_bytes().to_vec()).is_empty());
        assert_eq!(topics.held.len(), MAX_HELD_GROUP_MESSAGES);
    }

    #[test]
    fn unadmitted_messages_stop_at_their_own_limit_oldest_first() {
        let frame = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes().to_vec();
        let mut topics = Topics::default();
        topics.hold([2; 32], frame(1_000_000));
        for n in 0..=MAX_HELD_UNADMITTED_MESSAGES {
            topics.hold_unadmitted([1; 32], frame(n));
        }
        assert_eq!(topics.unadmitted.len(), MAX_HELD_UNADMITTED_MESSAGES);
        assert_eq!(
            topics.unadmitted.front().map(|h| h.frame.clone()),
            Some(frame(1))
        );
        // The same frame twice is held once, and pushes nothing out.
        topics.hold_unadmitted([1; 32], frame(5));
        assert_eq!(topics.unadmitted.len(), MAX_HELD_UNADMITTED_MESSAGES);
        assert_eq!(
            topics.unadmitted.front().map(|h| h.frame.clone()),
            Some(frame(1))
        );
        // A flood of unadmitted frames leaves the chain hold alone.
        assert_eq!(topics.held.len(), 1);
        assert_eq!(
            topics.held.front().map(|h| h.frame.clone()),
            Some(frame(1_000_000))
        );
    }

    #[test]
    fn only_membership_refusals_are_held() {
        assert!(refused_for_membership(&GroupMessageError::NotMember));
        assert!(refused_for_membership(&GroupMessageError::NotAllowedToPost));
        assert!(!refused_for_membership(&GroupMessageError::WrongTopic));
        assert!(!refused_for_membership(&GroupMessageError::NotText));
        assert!(!refused_for_membership(&GroupMessageError::SenderKey(
            SenderKeyError::BadSignature
        )));
    }

    #[test]
    fn watched_texts_settle_past_the_limit_and_leave_once_confirmed() {
        let later = Instant::now() + std::time::Duration::from_secs(3_600);
        let watch = |n: usize| Watch {
            group: [9; 32],
            message: [n as u8; 16],
            frame: vec![n as u8],
            members: vec![[1; 32], [2; 32]],
            due: later,
        };
        let mut topics = Topics::default();
        for n in 0..MAX_WATCHED_PUBLICATIONS {
            topics.watch(watch(n));
        }
        assert!(topics.take_due(Instant::now()).is_empty());
        assert_eq!(topics.next_settle(), Some(later));
        // One more: the oldest is settled at once.
        topics.watch(watch(MAX_WATCHED_PUBLICATIONS));
        let due = topics.take_due(Instant::now());
        assert_eq!(due.len(), 1);
        assert_eq!(due.first().map(|w| w.message), Some([0; 16]));
        assert_eq!(topics.watched.len(), MAX_WATCHED_PUBLICATIONS);
        // Receipts: a text confirmed by every member needs no copy.
        topics.confirmed(&[1; 16], &[1; 32]);
        assert_eq!(topics.watched.len(), MAX_WATCHED_PUBLICATIONS);
        topics.confirmed(&[1; 16], &[2; 32]);
        assert_eq!(topics.watched.len(), MAX_WATCHED_PUBLICATIONS - 1);
        assert!(topics.watched.iter().all(|w| w.message != [1; 16]));
        // Its stored row leaves with the next transaction.
        assert_eq!(topics.take_unwatched(), [([9; 32], [1; 16])]);
        assert!(topics.take_unwatched().is_empty());
    }

    #[test]
    fn remembered_ids_stop_at_the_limit() {
        let mut topics = Topics::default();
        let id = |n: usize| {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&(n as u64).to_be_bytes());
            id
        };
        for n in 0..MAX_SEEN_GROUP_MESSAGES {
            assert!(topics.remember(id(n)));
        }
        assert!(!topics.remember(id(0)), "a known id is a duplicate");
        assert!(topics.remember(id(MAX_SEEN_GROUP_MESSAGES)));
        assert_eq!(topics.seen.len(), MAX_SEEN_GROUP_MESSAGES);
        assert!(topics.remember(id(0)), "the oldest was forgotten");
    }

    /// The event announcing that `who` was removed from (or left) `gid`.
    fn removed_event(gid: &[u8; 32], who: &IdentityKeyPair) -> NodeEvent {
        NodeEvent::MemberRemoved {
            group: group_text(gid),
            contact: peer_text(who.public()),
        }
    }

    /// The event announcing that `who` became an admin of `gid`.
    fn promoted_event(gid: &[u8; 32], who: &IdentityKeyPair) -> NodeEvent {
        NodeEvent::MemberPromoted {
            group: group_text(gid),
            contact: peer_text(who.public()),
        }
    }

    /// The event announcing that `who` is no longer an admin of `gid`.
    fn demoted_event(gid: &[u8; 32], who: &IdentityKeyPair) -> NodeEvent {
        NodeEvent::MemberDemoted {
            group: group_text(gid),
            contact: peer_text(who.public()),
        }
    }

    /// A group of Alice (admin) with `others` (admins or not), named "g".
    fn group_with(alice: &IdentityKeyPair, others: &[(&IdentityKeyPair, bool)]) -> Group {
        group_of_kind(alice, others, false)
    }

    /// As [`group_with`], a channel if `channel`.
    fn group_of_kind(
        alice: &IdentityKeyPair,
        others: &[(&IdentityKeyPair, bool)],
        channel: bool,
    ) -> Group {
        let mut members: Vec<InitialMember> = others
            .iter()
            .map(|(key, admin)| InitialMember {
                key: *key.public(),
                admin: *admin,
            })
            .collect();
        members.sort_by_key(|m| m.key.to_bytes());
        let create = GroupOp::create(
            alice,
            [9; 32],
            Timestamp::from_millis(0),
            DisplayName::new("g").unwrap(),
            channel,
            members,
        )
        .unwrap();
        Group::from_create(create).unwrap()
    }

    /// A `Rename` body.
    fn rename(name: &str) -> OpBody {
        OpBody::Rename {
            name: DisplayName::new(name).unwrap(),
        }
    }

    #[test]
    fn a_rename_is_announced_with_the_new_name_and_a_readers_is_not() {
        let alice = IdentityKeyPair::from_secret_bytes(&[1; 32]);
        let bob = IdentityKeyPair::from_secret_bytes(&[2; 32]);
        let mut group = group_with(&alice, &[(&bob, false)]);
        let gid = *group.id().as_bytes();
        let announced = |group: &mut Group, author: &IdentityKeyPair, at: u64, body: OpBody| {
            let before = group.state().clone();
            let op = group
                .sign_op(author, Timestamp::from_millis(at), body)
                .unwrap();
            group.apply(op).unwrap();
            membership_events(&gid, &before, group.state())
        };
        assert_eq!(
            announced(&mut group, &alice, 1, rename("Friends")),
            [NodeEvent::GroupRenamed {
                group: group_text(&gid),
                name: "Friends".to_owned(),
            }]
        );
        // Bob is no admin: his rename is kept but has no effect.
        assert_eq!(announced(&mut group, &bob, 2, rename("Mine")), []);
        assert_eq!(
            group.state().name().map(DisplayName::as_str),
            Some("Friends")
        );
        // Nor does a rename to the name the group has change anything.
        assert_eq!(announced(&mut group, &alice, 3, rename("Friends")), []);
        // The creation is no rename.
        let empty = Group::new(group.id());
        assert_eq!(renamed(empty.state(), group.state()), None);
    }

    #[test]
    fn concurrent_renames_announce_the_winner_where_the_loser_was_applied_first() {
        // Admins Alice and Bob rename on the same heads (docs/protocol.md
        // §G5): the rename with the larger op id sorts last and wins on
        // every replica, whatever the order it arrived in.
        let alice = IdentityKeyPair::from_secret_bytes(&[1; 32]);
        let bob = IdentityKeyPair::from_secret_bytes(&[2; 32]);
        let created = group_with(&alice, &[(&bob, true)]);
        let gid = *created.id().as_bytes();
        let by_alice = created
            .sign_op(&alice, Timestamp::from_millis(1), rename("Ada's"))
            .unwrap();
        let by_bob = created
            .sign_op(&bob, Timestamp::from_millis(1), rename("Bob's"))
            .unwrap();
        let (winner, loser, winning_name) = if by_alice.id() > by_bob.id() {
            (by_alice, by_bob, "Ada's")
        } else {
            (by_bob, by_alice, "Bob's")
        };
        let renamed_to = |name: &str| {
            [NodeEvent::GroupRenamed {
                group: group_text(&gid),
                name: name.to_owned(),
            }]
        };
        let losing_name = if winning_name == "Ada's" {
            "Bob's"
        } else {
            "Ada's"
        };

        // The loser first: announced, then the winner, announced too.
        let mut replica = created.clone();
        let before = replica.state().clone();
        replica.apply(loser.clone()).unwrap();
        assert_eq!(
            membership_events(&gid, &before, replica.state()),
            renamed_to(losing_name)
        );
        let before = replica.state().clone();
        replica.apply(winner.clone()).unwrap();
        assert_eq!(
            membership_events(&gid, &before, replica.state()),
            renamed_to(winning_name)
        );

        // The winner first: announced; the loser changes nothing.
        let mut other = created;
        let before = other.state().clone();
        other.apply(winner).unwrap();
        assert_eq!(
            membership_events(&gid, &before, other.state()),
            renamed_to(winning_name)
        );
        let before = other.state().clone();
        other.apply(loser).unwrap();
        assert_eq!(membership_events(&gid, &before, other.state()), []);
        assert_eq!(
            other.state().name().map(DisplayName::as_str),
            Some(winning_name)
        );
        assert_eq!(replica.state().name(), other.state().name());
    }

    #[test]
    fn a_promotion_undone_by_a_concurrent_removal_is_announced_as_a_demotion() {
        // Admins Alice and Bob, member Cy (docs/protocol.md §G5): Alice
        // promotes Cy while Bob removes Alice, on the same heads. A replica
        // that applied the promotion first learns of the removal later:
        // the removal sorts first, so the promotion no longer holds.
        let alice = IdentityKeyPair::from_secret_bytes(&[1; 32]);
        let bob = IdentityKeyPair::from_secret_bytes(&[2; 32]);
        let cy = IdentityKeyPair::from_secret_bytes(&[3; 32]);
        let mut replica = group_with(&alice, &[(&bob, true), (&cy, false)]);
        let gid = *replica.id().as_bytes();
        let at_bob = replica.clone();
        let promote = replica
            .sign_op(
                &alice,
                Timestamp::from_millis(1),
                OpBody::Promote {
                    member: *cy.public(),
                },
            )
            .unwrap();
        let remove = at_bob
            .sign_op(
                &bob,
                Timestamp::from_millis(1),
                OpBody::Remove {
                    member: *alice.public(),
                },
            )
            .unwrap();
        let before = replica.state().clone();
        replica.apply(promote).unwrap();
        assert_eq!(
            membership_events(&gid, &before, replica.state()),
            [promoted_event(&gid, &cy)]
        );
        let before = replica.state().clone();
        replica.apply(remove).unwrap();
        assert_eq!(
            membership_events(&gid, &before, replica.state()),
            [removed_event(&gid, &alice), demoted_event(&gid, &cy),]
        );
    }

    #[test]
    fn promotions_are_announced_with_the_promoted_member() {
        let alice = IdentityKeyPair::from_secret_bytes(&[1; 32]);
        let bob = IdentityKeyPair::from_secret_bytes(&[2; 32]);
        let cy = IdentityKeyPair::from_secret_bytes(&[3; 32]);
        let mut group = group_of_kind(&alice, &[(&bob, false), (&cy, false)], true);
        let gid = *group.id().as_bytes();
        let announced = |group: &mut Group, author: &IdentityKeyPair, at: u64, body: OpBody| {
            let before = group.state().clone();
            let op = group
                .sign_op(author, Timestamp::from_millis(at), body)
                .unwrap();
            group.apply(op).unwrap();
            membership_events(&gid, &before, group.state())
        };
        let promote = OpBody::Promote {
            member: *bob.public(),
        };
        assert_eq!(
            announced(&mut group, &alice, 1, promote),
            [promoted_event(&gid, &bob)]
        );
        // Bob removes Alice, then leaves: Cy, the one left, becomes the
        // admin; a removal announces no promotion of the removed.
        let remove = OpBody::Remove {
            member: *alice.public(),
        };
        assert_eq!(
            announced(&mut group, &bob, 2, remove),
            [removed_event(&gid, &alice)]
        );
        assert_eq!(
            announced(&mut group, &bob, 3, OpBody::Leave),
            [removed_event(&gid, &bob), promoted_event(&gid, &cy),]
        );
    }

    #[test]
    fn stored_ops_rebuild_the_state_in_any_order() {
        let alice = IdentityKeyPair::from_secret_bytes(&[1; 32]);
        let bob = IdentityKeyPair::from_secret_bytes(&[2; 32]);
        let mut group = group_with(&alice, &[]);
        let add = group
            .sign_op(
                &alice,
                Timestamp::from_millis(1),
                OpBody::Add {
                    member: *bob.public(),
                },
            )
            .unwrap();
        group.apply(add).unwrap();
        let mut frames: Vec<Vec<u8>> = group
            .ops_in_order()
            .map(|op| op.as_bytes().to_vec())
            .collect();
        frames.reverse();
        let mut rebuilt = Group::new(group.id());
        apply_all(&mut rebuilt, frames);
        assert_eq!(rebuilt.state(), group.state());
    }
}
