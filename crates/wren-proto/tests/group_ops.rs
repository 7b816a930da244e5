//! Group ops one rule at a time (docs/protocol.md §G2–§G5): what each op
//! does when it is allowed, that it is kept but has no effect when it is
//! not, the refusals of forged input, and the pending and history limits.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod group_support;

use group_support::*;
use wren_proto::group::{Applied, Group, GroupError, GroupOp, OpBody, group_id};
use wren_proto::limits::{MAX_GROUP_MEMBERS, MAX_GROUP_OPS, MAX_OP_PARENTS, MAX_PENDING_GROUP_OPS};
use wren_proto::{CodecError, GroupId, OpId};

#[test]
fn create_sets_members_admins_name_and_epoch() {
    let (alice, bob, carol) = (person(1), person(2), person(3));
    let op = create(&alice, false, &[(&bob, true), (&carol, false)]);
    assert_eq!(op.group(), group_id(alice.public(), &[0x42; 32]));
    let group = Group::from_create(op.clone()).unwrap();
    let state = group.state();
    assert!(state.is_created());
    assert_eq!(state.name().unwrap().as_str(), "Friends");
    assert!(!state.is_channel());
    assert_eq!(state.creator(), Some(alice.public()));
    assert_eq!(state.members().len(), 3);
    assert!(state.is_admin(alice.public()) && state.is_admin(bob.public()));
    assert!(state.is_member(carol.public()) && !state.is_admin(carol.public()));
    assert_eq!(state.epoch(), Some(op.id()));
    assert_eq!(state.heads().iter().copied().collect::<Vec<_>>(), [op.id()]);
    assert!(group.is_effective(&op.id()));
}

#[test]
fn add_needs_an_admin_and_a_non_member() {
    let (alice, bob, carol, dave) = (person(1), person(2), person(3), person(4));
    let mut group = Group::from_create(create(&alice, false, &[(&bob, false)])).unwrap();
    let epoch = group.state().epoch();

    let op = act(&mut group, &alice, add(&carol));
    assert!(group.is_effective(&op.id()));
    assert!(group.state().is_member(carol.public()));
    assert_eq!(group.state().epoch(), epoch, "adding does not rotate keys");

    // Bob is a member but not an admin: kept, no effect.
    let before = group.state().members().clone();
    let op = act(&mut group, &bob, add(&dave));
    assert!(group.contains(&op.id()) && !group.is_effective(&op.id()));
    assert_eq!(group.state().members(), &before);

    // Adding a member twice has no effect.
    let op = act(&mut group, &alice, add(&carol));
    assert!(!group.is_effective(&op.id()));
}

#[test]
fn remove_needs_an_admin_and_a_member_and_moves_the_epoch() {
    let (alice, bob, carol, dave) = (person(1), person(2), person(3), person(4));
    let mut group =
        Group::from_create(create(&alice, false, &[(&bob, true), (&carol, false)])).unwrap();

    let op = act(&mut group, &carol, remove(&bob));
    assert!(!group.is_effective(&op.id()), "carol is not an admin");

    let op = act(&mut group, &alice, remove(&bob));
    assert!(group.is_effective(&op.id()));
    assert!(!group.state().is_member(bob.public()));
    assert!(!group.state().is_admin(bob.public()));
    assert_eq!(group.state().epoch(), Some(op.id()));

    let op = act(&mut group, &alice, remove(&dave));
    assert!(!group.is_effective(&op.id()), "dave is not a member");

    // A removed admin can do nothing any more.
    let op = act(&mut group, &bob, remove(&alice));
    assert!(!group.is_effective(&op.id()));
    assert!(group.state().is_admin(alice.public()));
}

#[test]
fn leave_and_the_last_admin_leaving_promotes_the_smallest_key() {
    let (alice, bob, carol) = (person(1), person(2), person(3));
    let mut group =
        Group::from_create(create(&alice, false, &[(&bob, false), (&carol, false)])).unwrap();

    let op = act(&mut group, &alice, OpBody::Leave);
    assert!(group.is_effective(&op.id()));
    assert_eq!(group.state().epoch(), Some(op.id()));
    let smallest = *bob.public().min(carol.public());
    assert_eq!(
        group.state().admins().iter().copied().collect::<Vec<_>>(),
        [smallest]
    );

    // Leaving twice: no longer a member, no effect.
    let op = act(&mut group, &alice, OpBody::Leave);
    assert!(!group.is_effective(&op.id()));

    // Everyone leaves: an empty group where nothing takes effect.
    act(&mut group, &bob, OpBody::Leave);
    act(&mut group, &carol, OpBody::Leave);
    assert!(group.state().members().is_empty() && group.state().admins().is_empty());
    let op = act(&mut group, &carol, add(&alice));
    assert!(!group.is_effective(&op.id()));
}

#[test]
fn promote_needs_an_admin_and_a_plain_member() {
    let (alice, bob, carol, dave) = (person(1), person(2), person(3), person(4));
    let mut group =
        Group::from_create(create(&alice, false, &[(&bob, false), (&carol, false)])).unwrap();

    let op = act(&mut group, &bob, promote(&carol));
    assert!(!group.is_effective(&op.id()), "bob is not an admin");
    let op = act(&mut group, &alice, promote(&dave));
    assert!(!group.is_effective(&op.id()), "dave is not a member");
    let op = act(&mut group, &alice, promote(&bob));
    assert!(group.is_effective(&op.id()));
    assert!(group.state().is_admin(bob.public()));
    let op = act(&mut group, &alice, promote(&bob));
    assert!(!group.is_effective(&op.id()), "already an admin");
    // The new admin can act.
    let op = act(&mut group, &bob, add(&dave));
    assert!(group.is_effective(&op.id()));
}

#[test]
fn rename_needs_an_admin() {
    let (alice, bob) = (person(1), person(2));
    let mut group = Group::from_create(create(&alice, false, &[(&bob, false)])).unwrap();
    let op = act(&mut group, &bob, rename("Bob's"));
    assert!(!group.is_effective(&op.id()));
    assert_eq!(group.state().name().unwrap().as_str(), "Friends");
    let op = act(&mut group, &alice, rename("Family"));
    assert!(group.is_effective(&op.id()));
    assert_eq!(group.state().name().unwrap().as_str(), "Family");
}

#[test]
fn channel_only_admins_post() {
    let (alice, bob, carol) = (person(1), person(2), person(3));
    let group = Group::from_create(create(&alice, true, &[(&bob, true), (&carol, false)])).unwrap();
    let state = group.state();
    assert!(state.is_channel());
    assert!(state.can_post(alice.public()) && state.can_post(bob.public()));
    assert!(!state.can_post(carol.public()));
    assert!(!state.can_post(person(4).public()));
    let chat = Group::from_create(create(&alice, false, &[(&carol, false)])).unwrap();
    assert!(chat.state().can_post(carol.public()));
}

#[test]
fn member_limit_at_the_limit() {
    let alice = person(1);
    let others: Vec<_> = (0..MAX_GROUP_MEMBERS as u16).map(many).collect();
    let listed: Vec<_> = others[..MAX_GROUP_MEMBERS - 1]
        .iter()
        .map(|key| (key, false))
        .collect();
    let create_op = create(&alice, false, &listed);
    assert!(
        create_op.as_bytes().len() < 9_000,
        "{}",
        create_op.as_bytes().len()
    );
    let mut group = Group::from_create(create_op).unwrap();
    assert_eq!(group.state().members().len(), MAX_GROUP_MEMBERS);
    let op = act(&mut group, &alice, add(&others[MAX_GROUP_MEMBERS - 1]));
    assert!(!group.is_effective(&op.id()), "one past the member limit");
    // After a removal there is room again.
    act(&mut group, &alice, remove(&others[0]));
    let op = act(&mut group, &alice, add(&others[MAX_GROUP_MEMBERS - 1]));
    assert!(group.is_effective(&op.id()));

    // A Create listing one member too many is refused.
    let too_many: Vec<_> = others.iter().map(|key| (key, false)).collect();
    let result = GroupOp::create(
        &alice,
        [1; 32],
        at(0),
        name("x"),
        false,
        too_many
            .iter()
            .map(|(key, admin)| wren_proto::group::InitialMember {
                key: *key.public(),
                admin: *admin,
            })
            .collect(),
    );
    assert!(matches!(
        result,
        Err(GroupError::Codec(CodecError::FieldTooLong { .. }))
    ));
}

#[test]
fn bad_signature_is_refused() {
    let (alice, bob) = (person(1), person(2));
    let mut group = Group::from_create(create(&alice, false, &[(&bob, false)])).unwrap();
    let op = group.sign_op(&alice, at(5), add(&person(3))).unwrap();
    // Flip a bit of the signature, then of the timestamp (content).
    let mut bytes = op.as_bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert_eq!(group.apply_bytes(&bytes), Err(GroupError::BadSignature));
    let mut bytes = op.as_bytes().to_vec();
    bytes[1 + 32 + 32] ^= 1; // `at` (5 → 4), still canonical
    assert_eq!(group.apply_bytes(&bytes), Err(GroupError::BadSignature));
    // Someone else's signature over alice's content.
    let mut bytes = op.as_bytes().to_vec();
    let forged = person(9).sign(b"anything");
    bytes[last + 1 - 64..].copy_from_slice(&forged);
    assert_eq!(group.apply_bytes(&bytes), Err(GroupError::BadSignature));
    assert_eq!(group.len(), 1);
    // The untouched op is fine.
    assert!(group.apply_bytes(op.as_bytes()).is_ok());
}

#[test]
fn another_groups_op_is_refused() {
    let (alice, bob) = (person(1), person(2));
    let mut group = Group::from_create(create(&alice, false, &[(&bob, false)])).unwrap();
    let other = GroupOp::sign(
        &alice,
        GroupId::from_bytes([9; 32]),
        at(3),
        vec![OpId::from_bytes([1; 32])],
        add(&person(3)),
    )
    .unwrap();
    assert_eq!(
        group.apply(other),
        Err(GroupError::WrongGroup {
            expected: group.id(),
            found: GroupId::from_bytes([9; 32])
        })
    );
    // The same group's ops are refused by a replica of an unknown group.
    let mut unknown = Group::new(GroupId::from_bytes([8; 32]));
    let op = group.sign_op(&alice, at(3), add(&person(3))).unwrap();
    assert!(matches!(
        unknown.apply(op),
        Err(GroupError::WrongGroup { .. })
    ));
}

#[test]
fn replayed_op_is_refused_and_changes_nothing() {
    let (alice, bob) = (person(1), person(2));
    let create_op = create(&alice, false, &[(&bob, false)]);
    let mut group = Group::from_create(create_op.clone()).unwrap();
    let op = act(&mut group, &alice, remove(&bob));
    let before = group.state().clone();
    assert_eq!(group.apply(op.clone()), Err(GroupError::Duplicate(op.id())));
    assert_eq!(
        group.apply(create_op.clone()),
        Err(GroupError::Duplicate(create_op.id()))
    );
    assert_eq!(group.state(), &before);
    assert_eq!(group.len(), 2);
}

#[test]
fn only_the_creator_can_create() {
    let (alice, mallory) = (person(1), person(6));
    let real = create(&alice, false, &[]);
    // Mallory signs a Create for alice's group id with alice's nonce.
    let forged = GroupOp::sign(
        &mallory,
        real.group(),
        at(1),
        Vec::new(),
        OpBody::Create {
            nonce: [0x42; 32],
            name: name("Mine"),
            channel: false,
            members: Vec::new(),
        },
    );
    assert_eq!(forged.unwrap_err(), GroupError::NotCreator);
}

#[test]
fn never_added_author_is_refused() {
    let (alice, bob, mallory) = (person(1), person(2), person(6));
    let mut group = Group::from_create(create(&alice, false, &[(&bob, false)])).unwrap();
    // Mallory signs an op on the real heads: authentic, but mallory was
    // never added, so it is not admissible and not stored.
    let op = group.sign_op(&mallory, at(3), rename("Pwned")).unwrap();
    assert_eq!(group.apply(op.clone()), Err(GroupError::NotAdmissible));
    assert!(!group.contains(&op.id()));
    // A removed member was added once: its late op is kept, without effect.
    let removal = act(&mut group, &alice, remove(&bob));
    let late = GroupOp::sign(&bob, group.id(), at(4), vec![removal.id()], rename("x")).unwrap();
    group.apply(late.clone()).unwrap();
    assert!(group.contains(&late.id()) && !group.is_effective(&late.id()));
    // Added on a branch the op does not descend from: not admissible.
    let (carol, dave) = (person(3), person(4));
    let heads: Vec<OpId> = group.state().heads().iter().copied().collect();
    let add_carol = act(&mut group, &alice, add(&carol));
    let carol_blind = GroupOp::sign(&carol, group.id(), at(5), heads, add(&dave)).unwrap();
    assert_eq!(group.apply(carol_blind), Err(GroupError::NotAdmissible));
    let carol_sees = GroupOp::sign(&carol, group.id(), at(5), vec![add_carol.id()], rename("y"));
    assert!(group.apply(carol_sees.unwrap()).is_ok());
}

#[test]
fn op_waits_for_its_parents_and_is_released() {
    let (alice, bob, carol) = (person(1), person(2), person(3));
    let create_op = create(&alice, false, &[(&bob, true)]);
    let mut author = Group::from_create(create_op.clone()).unwrap();
    let first = act(&mut author, &alice, add(&carol));
    let second = act(&mut author, &bob, promote(&carol));

    let mut replica = Group::new(create_op.group());
    assert_eq!(
        replica.apply(second.clone()),
        Ok(Applied::Pending {
            missing: vec![first.id()]
        })
    );
    assert_eq!(
        replica.apply(first.clone()),
        Ok(Applied::Pending {
            missing: vec![create_op.id()]
        })
    );
    assert!(!replica.state().is_created());
    assert_eq!(replica.pending_len(), 2);
    assert_eq!(
        replica.apply(create_op.clone()),
        Ok(Applied::Accepted(vec![
            create_op.id(),
            first.id(),
            second.id()
        ]))
    );
    assert_eq!(replica.pending_len(), 0);
    assert_eq!(replica.state(), author.state());
}

#[test]
fn pending_set_limit_at_the_limit() {
    let alice = person(1);
    let create_op = create(&alice, false, &[]);
    let mut author = Group::from_create(create_op.clone()).unwrap();
    let missing = act(&mut author, &alice, rename("Gate"));
    let mut replica = Group::from_create(create_op).unwrap();
    // MAX_PENDING_GROUP_OPS ops that all wait for `missing`.
    let waiting: Vec<GroupOp> = (0..=MAX_PENDING_GROUP_OPS as u64)
        .map(|i| {
            GroupOp::sign(
                &alice,
                author.id(),
                at(100 + i),
                vec![missing.id()],
                rename("n"),
            )
            .unwrap()
        })
        .collect();
    for op in &waiting[..MAX_PENDING_GROUP_OPS] {
        assert!(matches!(
            replica.apply(op.clone()),
            Ok(Applied::Pending { .. })
        ));
    }
    assert_eq!(replica.pending_len(), MAX_PENDING_GROUP_OPS);
    assert_eq!(
        replica.apply(waiting[MAX_PENDING_GROUP_OPS].clone()),
        Err(GroupError::PendingFull {
            max: MAX_PENDING_GROUP_OPS
        })
    );
    // The missing parent releases all of them.
    let Ok(Applied::Accepted(accepted)) = replica.apply(missing) else {
        panic!("not accepted");
    };
    assert_eq!(accepted.len(), MAX_PENDING_GROUP_OPS + 1);
    assert_eq!(replica.pending_len(), 0);
    assert_eq!(replica.state().heads().len(), MAX_PENDING_GROUP_OPS);
    // The refused one can be sent again now.
    assert!(matches!(
        replica.apply(waiting[MAX_PENDING_GROUP_OPS].clone()),
        Ok(Applied::Accepted(_))
    ));
    // An author with more heads than MAX_OP_PARENTS names the smallest.
    let op = replica.sign_op(&alice, at(9), rename("merge")).unwrap();
    assert_eq!(op.parents().len(), MAX_OP_PARENTS);
    let smallest: Vec<OpId> = replica
        .state()
        .heads()
        .iter()
        .take(MAX_OP_PARENTS)
        .copied()
        .collect();
    assert_eq!(op.parents(), smallest.as_slice());
}

#[test]
fn history_limit_at_the_limit() {
    let alice = person(1);
    let mut group = Group::from_create(create(&alice, false, &[])).unwrap();
    while group.len() < MAX_GROUP_OPS {
        act(&mut group, &alice, rename("again"));
    }
    assert_eq!(group.len(), MAX_GROUP_OPS);
    let op = group.sign_op(&alice, at(3), rename("one more")).unwrap();
    assert_eq!(
        group.apply(op),
        Err(GroupError::GroupFull { max: MAX_GROUP_OPS })
    );
    assert_eq!(group.len(), MAX_GROUP_OPS);
}

#[test]
fn structural_rules_are_enforced_when_signing() {
    let (alice, bob) = (person(1), person(2));
    let group = Group::from_create(create(&alice, false, &[(&bob, false)])).unwrap();
    // No parents on a non-Create.
    let result = GroupOp::sign(&alice, group.id(), at(1), Vec::new(), rename("x"));
    assert!(matches!(
        result,
        Err(GroupError::Codec(CodecError::FieldTooShort { .. }))
    ));
    // Too many parents.
    let parents: Vec<OpId> = (0..=MAX_OP_PARENTS as u8)
        .map(|i| OpId::from_bytes([i; 32]))
        .collect();
    let result = GroupOp::sign(&alice, group.id(), at(1), parents, rename("x"));
    assert!(matches!(
        result,
        Err(GroupError::Codec(CodecError::FieldTooLong { .. }))
    ));
    // Naming oneself.
    let result = group.sign_op(&alice, at(1), remove(&alice));
    assert!(matches!(
        result,
        Err(GroupError::Codec(CodecError::InvalidField { .. }))
    ));
    // A Create listing its creator.
    let result = GroupOp::create(
        &alice,
        [0; 32],
        at(1),
        name("x"),
        false,
        vec![wren_proto::group::InitialMember {
            key: *alice.public(),
            admin: true,
        }],
    );
    assert!(matches!(
        result,
        Err(GroupError::Codec(CodecError::InvalidField { .. }))
    ));
}

#[test]
fn decoder_refuses_unsorted_parents_and_bad_keys() {
    let (alice, bob) = (person(1), person(2));
    let mut group = Group::from_create(create(&alice, false, &[(&bob, false)])).unwrap();
    let a = act(&mut group, &alice, rename("a"));
    let b = GroupOp::sign(&bob, group.id(), at(1), vec![a.id()], OpBody::Leave).unwrap();
    let merge =
        GroupOp::sign(&alice, group.id(), at(1), vec![b.id(), a.id()], rename("m")).unwrap();
    // Swap the two parents in the frame: refused before the signature.
    let mut bytes = merge.as_bytes().to_vec();
    let start = 1 + 32 + 32 + 1 + 1; // version, group, author, at (1 byte), count
    let (first, second) = (
        bytes[start..start + 32].to_vec(),
        bytes[start + 32..start + 64].to_vec(),
    );
    bytes[start..start + 32].copy_from_slice(&second);
    bytes[start + 32..start + 64].copy_from_slice(&first);
    assert!(matches!(
        GroupOp::from_bytes(&bytes),
        Err(GroupError::Codec(CodecError::InvalidField { .. }))
    ));
    // An author that is not a valid key (all zero is a small-order point).
    let mut bytes = merge.as_bytes().to_vec();
    bytes[33..65].fill(0);
    assert!(matches!(
        GroupOp::from_bytes(&bytes),
        Err(GroupError::Codec(CodecError::Invalid { .. }))
    ));
}

#[test]
fn membership_changes_tell_whom_to_send_keys_and_when_to_rotate() {
    let (alice, bob, carol) = (person(1), person(2), person(3));
    let mut group = Group::from_create(create(&alice, false, &[(&bob, false)])).unwrap();
    let before = group.state().clone();
    act(&mut group, &alice, add(&carol));
    let change = group.state().changes_since(&before);
    assert_eq!(change.added, [*carol.public()]);
    assert!(change.removed.is_empty() && !change.rotate);

    let before = group.state().clone();
    act(&mut group, &alice, remove(&bob));
    let change = group.state().changes_since(&before);
    assert!(change.added.is_empty());
    assert_eq!(change.removed, [*bob.public()]);
    assert!(change.rotate);

    let before = group.state().clone();
    act(&mut group, &alice, rename("Quiet"));
    assert_eq!(
        group.state().changes_since(&before),
        wren_proto::group::MembershipChange::default()
    );
}

#[test]
fn replayed_bytes_are_refused_before_decoding() {
    let (alice, bob) = (person(1), person(2));
    let mut group = Group::from_create(create(&alice, false, &[(&bob, false)])).unwrap();
    let op = group.sign_op(&alice, at(3), rename("x")).unwrap();
    assert!(group.apply_bytes(op.as_bytes()).is_ok());
    assert_eq!(
        group.apply_bytes(op.as_bytes()),
        Err(GroupError::Duplicate(op.id()))
    );
}
