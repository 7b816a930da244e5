//! A group's op history and the state folded from it (docs/protocol.md
//! §G3–§G5).
//!
//! [`Group`] keeps every accepted op (effective or not), a bounded set of
//! ops waiting for their parents, and the [`GroupState`] that is a
//! deterministic function of the accepted set: ops are applied in ascending
//! `(depth, class, op id)` order, each checked against the state at its
//! place in that order. Any delivery order of the same ops gives the same
//! state.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use wren_crypto::{IdentityKey, IdentityKeyPair};

use super::error::GroupError;
use super::op::{GroupOp, OpBody, op_id};
use crate::display_name::DisplayName;
use crate::ids::{GroupId, OpId, Timestamp};
use crate::limits::{
    MAX_GROUP_MEMBERS, MAX_GROUP_OP_BYTES, MAX_GROUP_OPS, MAX_OP_PARENTS, MAX_PENDING_GROUP_OPS,
};

/// A group's membership as folded from its ops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    id: GroupId,
    name: Option<DisplayName>,
    channel: bool,
    creator: Option<IdentityKey>,
    members: BTreeSet<IdentityKey>,
    admins: BTreeSet<IdentityKey>,
    heads: BTreeSet<OpId>,
    epoch: Option<OpId>,
}

impl GroupState {
    fn empty(id: GroupId) -> Self {
        Self {
            id,
            name: None,
            channel: false,
            creator: None,
            members: BTreeSet::new(),
            admins: BTreeSet::new(),
            heads: BTreeSet::new(),
            epoch: None,
        }
    }

    /// The group's id.
    pub fn id(&self) -> GroupId {
        self.id
    }

    /// Whether a `Create` took effect (before it, nothing else can).
    pub fn is_created(&self) -> bool {
        self.creator.is_some()
    }

    /// The group's current name (`None` before the `Create` is known).
    pub fn name(&self) -> Option<&DisplayName> {
        self.name.as_ref()
    }

    /// Whether the group is a channel: only admins post.
    pub fn is_channel(&self) -> bool {
        self.channel
    }

    /// The creator.
    pub fn creator(&self) -> Option<&IdentityKey> {
        self.creator.as_ref()
    }

    /// The current members, admins included.
    pub fn members(&self) -> &BTreeSet<IdentityKey> {
        &self.members
    }

    /// The current admins (always members).
    pub fn admins(&self) -> &BTreeSet<IdentityKey> {
        &self.admins
    }

    /// The accepted ops that are no accepted op's parent: the parents of the
    /// next op authored here.
    pub fn heads(&self) -> &BTreeSet<OpId> {
        &self.heads
    }

    /// The op id naming the current membership for sender keys: the last
    /// effective `Remove` or `Leave`, else the `Create`. It changes exactly
    /// when keys must rotate.
    pub fn epoch(&self) -> Option<OpId> {
        self.epoch
    }

    /// Whether `key` is a member.
    pub fn is_member(&self, key: &IdentityKey) -> bool {
        self.members.contains(key)
    }

    /// Whether `key` is an admin.
    pub fn is_admin(&self, key: &IdentityKey) -> bool {
        self.admins.contains(key)
    }

    /// Whether `key` may post group messages: a member, and an admin if the
    /// group is a channel.
    pub fn can_post(&self, key: &IdentityKey) -> bool {
        if self.channel {
            self.is_admin(key)
        } else {
            self.is_member(key)
        }
    }

    /// What changed in the membership from `before` (an earlier state of
    /// the same group) to this state: whom to send our sender key and the
    /// history, whose chains to drop, and whether to rotate our own chain.
    pub fn changes_since(&self, before: &GroupState) -> MembershipChange {
        MembershipChange {
            added: self.members.difference(&before.members).copied().collect(),
            removed: before.members.difference(&self.members).copied().collect(),
            rotate: self.epoch != before.epoch,
        }
    }

    /// Applies one op at its place in the order; returns whether it took
    /// effect (docs/protocol.md §G4, the fold table).
    fn step(&mut self, op: &GroupOp) -> bool {
        let author = op.author();
        match op.body() {
            OpBody::Create {
                name,
                channel,
                members,
                ..
            } => {
                if self.is_created() {
                    return false;
                }
                self.creator = Some(*author);
                self.name = Some(name.clone());
                self.channel = *channel;
                self.members = members.iter().map(|member| member.key).collect();
                self.members.insert(*author);
                self.admins = members
                    .iter()
                    .filter(|member| member.admin)
                    .map(|member| member.key)
                    .collect();
                self.admins.insert(*author);
                self.epoch = Some(op.id());
                true
            }
            OpBody::Add { member } => {
                if !self.is_admin(author)
                    || self.is_member(member)
                    || self.members.len() >= MAX_GROUP_MEMBERS
                {
                    return false;
                }
                self.members.insert(*member);
                true
            }
            OpBody::Remove { member } => {
                if !self.is_admin(author) || !self.is_member(member) {
                    return false;
                }
                self.drop_member(member, op.id());
                true
            }
            OpBody::Leave => {
                if !self.is_member(author) {
                    return false;
                }
                self.drop_member(author, op.id());
                true
            }
            OpBody::Promote { member } => {
                if !self.is_admin(author) || !self.is_member(member) || self.is_admin(member) {
                    return false;
                }
                self.admins.insert(*member);
                true
            }
            OpBody::Rename { name } => {
                if !self.is_admin(author) {
                    return false;
                }
                self.name = Some(name.clone());
                true
            }
        }
    }

    /// Removes a member, moves the epoch, and promotes the smallest
    /// remaining key if no admin is left.
    fn drop_member(&mut self, member: &IdentityKey, op: OpId) {
        self.members.remove(member);
        self.admins.remove(member);
        self.epoch = Some(op);
        if self.admins.is_empty()
            && let Some(first) = self.members.first()
        {
            self.admins.insert(*first);
        }
    }
}

/// The membership difference between two states of one group
/// ([`GroupState::changes_since`]): what the wiring acts on after applying
/// ops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembershipChange {
    /// Keys that became members: each member sends them its sender-key
    /// distribution (and whoever added them, the history).
    pub added: Vec<IdentityKey>,
    /// Keys that are no longer members: their sender-key chains are
    /// dropped.
    pub removed: Vec<IdentityKey>,
    /// The epoch moved (a removal or a leave took effect, or a concurrent
    /// op reordered the history): every remaining member rotates its chain
    /// and distributes it to the current members.
    pub rotate: bool,
}

/// Where an op sits in the order: `(depth, class, op id)`, ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct OrderKey {
    depth: u64,
    class: u8,
    id: OpId,
}

/// An accepted op and its depth.
#[derive(Debug, Clone)]
struct Node {
    op: GroupOp,
    depth: u64,
}

/// What [`Group::apply`] did with an op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The op was accepted, followed by the pending ops it released, in the
    /// order they were accepted. (Whether each took effect:
    /// [`Group::is_effective`].)
    Accepted(Vec<OpId>),
    /// The op waits for these parents (in the pending set).
    Pending {
        /// The parents not accepted yet.
        missing: Vec<OpId>,
    },
}

/// One replica of a group: its accepted ops, the ops waiting for parents,
/// and the folded [`GroupState`].
#[derive(Debug, Clone)]
pub struct Group {
    state: GroupState,
    nodes: HashMap<OpId, Node>,
    order: BTreeSet<OrderKey>,
    effective: HashSet<OpId>,
    pending: BTreeMap<OpId, GroupOp>,
    /// For each key, the accepted ops that introduce it (`Create` members,
    /// `Add` targets): admissibility (§G3 step 7).
    introduced: HashMap<IdentityKey, Vec<OpId>>,
}

impl Group {
    /// An empty replica of group `id`: no op yet, not created. Ops are
    /// accepted once their `Create` is (the others wait as pending).
    pub fn new(id: GroupId) -> Self {
        Self {
            state: GroupState::empty(id),
            nodes: HashMap::new(),
            order: BTreeSet::new(),
            effective: HashSet::new(),
            pending: BTreeMap::new(),
            introduced: HashMap::new(),
        }
    }

    /// A replica started from the group's `Create` (e.g. just signed by
    /// [`GroupOp::create`]).
    pub fn from_create(create: GroupOp) -> Result<Self, GroupError> {
        let mut group = Self::new(create.group());
        group.apply(create)?;
        Ok(group)
    }

    /// The folded state.
    pub fn state(&self) -> &GroupState {
        &self.state
    }

    /// The group's id.
    pub fn id(&self) -> GroupId {
        self.state.id
    }

    /// How many ops are accepted.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no op is accepted.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// How many ops wait for their parents.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Whether `id` is accepted or pending here.
    pub fn contains(&self, id: &OpId) -> bool {
        self.nodes.contains_key(id) || self.pending.contains_key(id)
    }

    /// An accepted op.
    pub fn op(&self, id: &OpId) -> Option<&GroupOp> {
        self.nodes.get(id).map(|node| &node.op)
    }

    /// Whether the accepted op `id` took effect at its place in the order.
    pub fn is_effective(&self, id: &OpId) -> bool {
        self.effective.contains(id)
    }

    /// The accepted ops in the order of the fold (parents before children):
    /// the history to send a new member.
    pub fn ops_in_order(&self) -> impl Iterator<Item = &GroupOp> + '_ {
        self.order
            .iter()
            .filter_map(|key| self.nodes.get(&key.id).map(|node| &node.op))
    }

    /// Signs a new op by `author` whose parents are the current heads (the
    /// smallest [`MAX_OP_PARENTS`] of them). It is not applied: pass it to
    /// [`apply`](Self::apply), then send it to the members.
    pub fn sign_op(
        &self,
        author: &IdentityKeyPair,
        at: Timestamp,
        body: OpBody,
    ) -> Result<GroupOp, GroupError> {
        let parents = self
            .state
            .heads
            .iter()
            .take(MAX_OP_PARENTS)
            .copied()
            .collect();
        GroupOp::sign(author, self.state.id, at, parents, body)
    }

    /// Decodes, verifies and applies an op frame from untrusted bytes. A
    /// frame already known (accepted or pending) is refused as a
    /// [`GroupError::Duplicate`] after hashing it, before any decoding or
    /// signature check, so replays are cheap.
    pub fn apply_bytes(&mut self, bytes: &[u8]) -> Result<Applied, GroupError> {
        if bytes.len() <= MAX_GROUP_OP_BYTES {
            let id = op_id(bytes);
            if self.contains(&id) {
                return Err(GroupError::Duplicate(id));
            }
        }
        self.apply(GroupOp::from_bytes(bytes)?)
    }

    /// Applies an authentic op (docs/protocol.md §G3): refuses another
    /// group's op, a duplicate, an op whose author was never added in its
    /// causal history, and ops past the limits; keeps an op with unknown
    /// parents pending; otherwise accepts it (and any pending op it
    /// releases) and refolds the state. A refused op changes nothing.
    pub fn apply(&mut self, op: GroupOp) -> Result<Applied, GroupError> {
        if op.group() != self.state.id {
            return Err(GroupError::WrongGroup {
                expected: self.state.id,
                found: op.group(),
            });
        }
        let id = op.id();
        if self.contains(&id) {
            return Err(GroupError::Duplicate(id));
        }
        let missing: Vec<OpId> = op
            .parents()
            .iter()
            .filter(|parent| !self.nodes.contains_key(parent))
            .copied()
            .collect();
        if !missing.is_empty() {
            if self.pending.len() >= MAX_PENDING_GROUP_OPS {
                return Err(GroupError::PendingFull {
                    max: MAX_PENDING_GROUP_OPS,
                });
            }
            self.pending.insert(id, op);
            return Ok(Applied::Pending { missing });
        }
        self.accept(op)?;
        let mut accepted = vec![id];
        self.release_pending(&mut accepted);
        Ok(Applied::Accepted(accepted))
    }

    /// Accepts every pending op whose parents are now all accepted, until
    /// none is left; pending ops refused at this point are forgotten.
    fn release_pending(&mut self, accepted: &mut Vec<OpId>) {
        loop {
            let ready: Vec<OpId> = self
                .pending
                .iter()
                .filter(|(_, op)| {
                    op.parents()
                        .iter()
                        .all(|parent| self.nodes.contains_key(parent))
                })
                .map(|(id, _)| *id)
                .collect();
            if ready.is_empty() {
                return;
            }
            for id in ready {
                if let Some(op) = self.pending.remove(&id)
                    && self.accept(op).is_ok()
                {
                    accepted.push(id);
                }
            }
        }
    }

    /// §G3 steps 7–8 for an op whose parents are all accepted, then the
    /// fold: incremental when the op sorts last, a full refold otherwise.
    fn accept(&mut self, op: GroupOp) -> Result<(), GroupError> {
        if !self.admissible(&op) {
            return Err(GroupError::NotAdmissible);
        }
        if self.nodes.len() >= MAX_GROUP_OPS {
            return Err(GroupError::GroupFull { max: MAX_GROUP_OPS });
        }
        let depth = op
            .parents()
            .iter()
            .filter_map(|parent| self.nodes.get(parent))
            .map(|node| node.depth.saturating_add(1))
            .max()
            .unwrap_or(0);
        let id = op.id();
        let key = OrderKey {
            depth,
            class: op.body().class(),
            id,
        };
        let sorts_last = self.order.last().is_none_or(|last| *last < key);

        for parent in op.parents() {
            self.state.heads.remove(parent);
        }
        self.state.heads.insert(id);
        match op.body() {
            OpBody::Create { members, .. } => {
                for member in members {
                    self.introduced.entry(member.key).or_default().push(id);
                }
            }
            OpBody::Add { member } => self.introduced.entry(*member).or_default().push(id),
            _ => {}
        }
        self.order.insert(key);
        if sorts_last {
            if self.state.step(&op) {
                self.effective.insert(id);
            }
            self.nodes.insert(id, Node { op, depth });
        } else {
            self.nodes.insert(id, Node { op, depth });
            self.refold();
        }
        Ok(())
    }

    /// Recomputes the state from every accepted op, in order.
    fn refold(&mut self) {
        let heads = std::mem::take(&mut self.state.heads);
        let mut state = GroupState::empty(self.state.id);
        state.heads = heads;
        self.effective.clear();
        for key in &self.order {
            if let Some(node) = self.nodes.get(&key.id)
                && state.step(&node.op)
            {
                self.effective.insert(key.id);
            }
        }
        self.state = state;
    }

    /// §G3 step 7: the author is the creator, or some `Create` or `Add`
    /// that introduces it is an ancestor of `op`. Only called once every
    /// parent of `op` is accepted.
    fn admissible(&self, op: &GroupOp) -> bool {
        let author = op.author();
        if matches!(op.body(), OpBody::Create { .. }) {
            // Its author is the creator: checked against the group id when
            // the op was decoded or signed.
            return true;
        }
        // Every accepted op descends from a `Create`, so the creator is
        // known here, and every `Create` of this group has the same author.
        if self.state.creator.as_ref() == Some(author) {
            return true;
        }
        let Some(introducers) = self.introduced.get(author) else {
            return false;
        };
        let targets: HashSet<&OpId> = introducers.iter().collect();
        let Some(min_depth) = introducers
            .iter()
            .filter_map(|id| self.nodes.get(id))
            .map(|node| node.depth)
            .min()
        else {
            return false;
        };
        let mut visited: HashSet<OpId> = HashSet::new();
        let mut stack: Vec<OpId> = op.parents().to_vec();
        while let Some(id) = stack.pop() {
            if targets.contains(&id) {
                return true;
            }
            if !visited.insert(id) {
                continue;
            }
            if let Some(node) = self.nodes.get(&id)
                && node.depth > min_depth
            {
                stack.extend_from_slice(node.op.parents());
            }
        }
        false
    }
}
