//! Group messages end to end, without a network (docs/protocol.md
//! §G6–§G8): ops and sender keys travel as pairwise payload frames, messages
//! as published group envelope frames. Five members exchange; a removed
//! member cannot read what is sent after its removal; a channel refuses a
//! non-admin's post; forged messages are refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod group_support;

use std::collections::BTreeMap;

use group_support::*;
use wren_crypto::sender_key::{SenderKey, SenderKeyDistribution, SenderKeyReceiver};
use wren_crypto::{IdentityKey, IdentityKeyPair, SenderKeyError};
use wren_proto::group::{Group, GroupMessageError, GroupOp, OpBody, accept, seal};
use wren_proto::{GroupSenderKey, MessageId, Payload, Text, Versioned};

/// One member's device: its identity, its replica of the group, its own
/// sending chain and the receivers it keeps for the others.
struct Member {
    me: IdentityKeyPair,
    group: Group,
    chain: SenderKey,
    receivers: BTreeMap<IdentityKey, SenderKeyReceiver>,
}

impl Member {
    fn new(me: IdentityKeyPair, create: &GroupOp) -> Self {
        let mut group = Group::new(create.group());
        receive_op(&mut group, create);
        Self {
            me,
            group,
            chain: SenderKey::generate(&mut rand::rng()),
            receivers: BTreeMap::new(),
        }
    }

    fn key(&self) -> IdentityKey {
        *self.me.public()
    }

    /// What this member sends another over the pairwise session: its
    /// distribution bound to its current epoch, as a payload frame.
    fn key_payload(&self) -> Vec<u8> {
        let distribution: [u8; 73] = self.chain.distribution().to_bytes()[..].try_into().unwrap();
        Payload::GroupSenderKey(GroupSenderKey {
            group: self.group.id(),
            epoch: self.group.state().epoch().unwrap(),
            distribution,
        })
        .to_bytes()
        .unwrap()
    }

    /// §G7: a distribution is accepted from a member, for an epoch we know.
    fn receive_key(&mut self, from: &IdentityKey, payload: &[u8]) {
        let Payload::GroupSenderKey(key) = Payload::from_bytes(payload).unwrap() else {
            panic!("not a sender key");
        };
        assert_eq!(key.group, self.group.id());
        assert!(self.group.contains(&key.epoch));
        assert!(self.group.state().is_member(from));
        let distribution = SenderKeyDistribution::from_bytes(&key.distribution).unwrap();
        self.receivers
            .entry(*from)
            .and_modify(|receiver| receiver.add(&distribution))
            .or_insert_with(|| SenderKeyReceiver::new(&distribution));
    }

    fn send(&mut self, body: &str) -> Vec<u8> {
        let text = Text {
            id: MessageId::from_bytes([body.len() as u8; 16]),
            sent_at: at(7),
            body: body.to_owned(),
            reply_to: None,
        };
        let (group, me) = (self.group.id(), self.key());
        seal(&mut self.chain, &group, &me, text).unwrap()
    }

    fn read(&mut self, frame: &[u8]) -> Result<String, GroupMessageError> {
        let inbound = accept(self.group.state(), frame)?;
        let receiver = self
            .receivers
            .get_mut(inbound.sender())
            .ok_or(GroupMessageError::NotMember)?;
        Ok(inbound.open(receiver)?.body)
    }
}

/// An op as it travels: a `Payload::GroupOp` frame, decoded and applied.
fn receive_op(group: &mut Group, op: &GroupOp) {
    let payload = Payload::GroupOp {
        op: op.as_bytes().to_vec(),
    }
    .to_bytes()
    .unwrap();
    let Payload::GroupOp { op } = Payload::from_bytes(&payload).unwrap() else {
        panic!("not an op");
    };
    group.apply_bytes(&op).unwrap();
}

/// Everyone sends its distribution to everyone else who is a member.
fn distribute_all(members: &mut [Member]) {
    for from in 0..members.len() {
        let (key, payload) = (members[from].key(), members[from].key_payload());
        for (to, member) in members.iter_mut().enumerate() {
            if to != from && member.group.state().is_member(&member.key()) {
                member.receive_key(&key, &payload);
            }
        }
    }
}

fn five() -> (Vec<Member>, GroupOp) {
    let people: Vec<IdentityKeyPair> = (1..=5).map(person).collect();
    let create_op = create(
        &people[0],
        false,
        &[
            (&people[1], true),
            (&people[2], false),
            (&people[3], false),
            (&people[4], false),
        ],
    );
    let members = people
        .into_iter()
        .map(|me| Member::new(me, &create_op))
        .collect();
    (members, create_op)
}

#[test]
fn five_members_exchange_and_a_removed_member_cannot_read_after() {
    let (mut members, _) = five();
    distribute_all(&mut members);
    for from in 0..5 {
        let frame = members[from].send(&format!("hello from {from}"));
        for (to, member) in members.iter_mut().enumerate() {
            if to != from {
                assert_eq!(member.read(&frame).unwrap(), format!("hello from {from}"));
            }
        }
    }

    // Alice removes erin (member 4); the op reaches everyone, erin included.
    let erin = members[4].key();
    let removal = {
        let alice = &members[0];
        alice
            .group
            .sign_op(&alice.me, at(8), OpBody::Remove { member: erin })
            .unwrap()
    };
    let mut rng = rand::rng();
    for member in &mut members {
        let before = member.group.state().clone();
        receive_op(&mut member.group, &removal);
        let change = member.group.state().changes_since(&before);
        assert_eq!(change.removed, [erin]);
        assert!(change.rotate);
        for gone in &change.removed {
            member.receivers.remove(gone);
        }
        if member.group.state().is_member(&member.key()) {
            member.chain.rotate(&mut rng);
        } else {
            // We were removed: the group's chains are of no further use.
            member.receivers.clear();
        }
    }
    // Remaining members distribute their new chains to the remaining ones.
    let (remaining, erin_device) = members.split_at_mut(4);
    distribute_all(remaining);
    let erin_device = &mut erin_device[0];

    let frame = remaining[0].send("after erin left");
    for member in &mut remaining[1..] {
        assert_eq!(member.read(&frame).unwrap(), "after erin left");
    }
    // Erin applied her removal and dropped every chain: nothing to read
    // with (the next test keeps her old receiver on purpose).
    assert!(erin_device.receivers.is_empty());
    assert!(!erin_device.group.state().is_member(&erin));
    assert!(erin_device.read(&frame).is_err());

    // Erin's own posts are refused by everyone who applied the removal.
    let from_erin = erin_device.send("still here?");
    for member in remaining.iter_mut() {
        assert_eq!(member.read(&from_erin), Err(GroupMessageError::NotMember));
    }
}

#[test]
fn a_removed_member_with_its_pre_removal_receiver_cannot_read_after() {
    // The sharper version: erin keeps the very receiver she had for alice.
    let (mut members, _) = five();
    distribute_all(&mut members);
    let erin = members[4].key();
    let alice_key = members[0].key();
    let mut erins_receiver_for_alice = members[4].receivers.remove(&alice_key).unwrap();

    let removal = members[0]
        .group
        .sign_op(&members[0].me, at(8), OpBody::Remove { member: erin })
        .unwrap();
    for member in &mut members {
        receive_op(&mut member.group, &removal);
        member.receivers.remove(&erin);
        if member.group.state().is_member(&member.key()) {
            member.chain.rotate(&mut rand::rng());
        }
    }
    let (remaining, _) = members.split_at_mut(4);
    distribute_all(remaining);

    let frame = remaining[0].send("secret plans");
    assert_eq!(remaining[1].read(&frame).unwrap(), "secret plans");
    let erin_state = {
        // Erin ignores her removal: a replica without the removal op.
        let mut group = Group::new(remaining[0].group.id());
        for op in remaining[0].group.ops_in_order() {
            if op.id() != removal.id() {
                group.apply(op.clone()).unwrap();
            }
        }
        group
    };
    let inbound = accept(erin_state.state(), &frame).unwrap();
    assert!(matches!(
        inbound.open(&mut erins_receiver_for_alice),
        Err(GroupMessageError::SenderKey(SenderKeyError::UnknownChain(
            _
        )))
    ));
}

#[test]
fn channel_non_admin_post_is_refused_by_everyone() {
    let people: Vec<IdentityKeyPair> = (1..=4).map(person).collect();
    let create_op = create(
        &people[0],
        true,
        &[(&people[1], true), (&people[2], false), (&people[3], false)],
    );
    let mut members: Vec<Member> = people
        .into_iter()
        .map(|me| Member::new(me, &create_op))
        .collect();
    distribute_all(&mut members);
    let from_admin = members[1].send("announcement");
    let from_reader = members[2].send("can I post?");
    for to in [0, 2, 3] {
        assert_eq!(members[to].read(&from_admin).unwrap(), "announcement");
    }
    for to in [0, 1, 3] {
        assert_eq!(
            members[to].read(&from_reader),
            Err(GroupMessageError::NotAllowedToPost)
        );
    }
}

#[test]
fn forged_messages_are_refused_and_change_nothing() {
    let (mut members, _) = five();
    distribute_all(&mut members);
    let frame = members[0].send("genuine");

    // Bad signature: the last byte is the sender-key signature's.
    let mut forged = frame.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_eq!(
        members[1].read(&forged),
        Err(GroupMessageError::SenderKey(SenderKeyError::BadSignature))
    );
    // The receiver is unchanged: the genuine message still opens, once.
    assert_eq!(members[1].read(&frame).unwrap(), "genuine");
    assert_eq!(
        members[1].read(&frame),
        Err(GroupMessageError::SenderKey(SenderKeyError::Replay))
    );

    // A non-member with its own chain.
    let create_op = members[0].group.ops_in_order().next().unwrap().clone();
    let mut mallory = Member::new(person(9), &create_op);
    let from_mallory = mallory.send("let me in");
    assert_eq!(
        members[1].read(&from_mallory),
        Err(GroupMessageError::NotMember)
    );

    // A member's message claiming to be from another member: the claimed
    // sender's chains do not know it.
    let mut impostor = members[2].send("I am alice");
    let sender_at = 2 + 32;
    impostor[sender_at..sender_at + 32].copy_from_slice(members[0].key().as_bytes());
    assert!(matches!(
        members[1].read(&impostor),
        Err(GroupMessageError::SenderKey(SenderKeyError::UnknownChain(
            _
        )))
    ));

    // Another group's topic.
    let other =
        GroupOp::create(&person(1), [0x43; 32], at(1), name("Other"), false, vec![]).unwrap();
    let mut elsewhere = Member::new(person(1), &other);
    let from_elsewhere = elsewhere.send("wrong room");
    assert_eq!(
        members[1].read(&from_elsewhere),
        Err(GroupMessageError::WrongTopic)
    );
    // Garbage.
    assert!(matches!(
        members[1].read(&[1, 0, 0]),
        Err(GroupMessageError::Codec(_))
    ));
}
