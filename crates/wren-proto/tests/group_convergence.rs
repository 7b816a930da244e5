//! Convergence (docs/protocol.md §G4–§G5): the group state is a function of
//! the set of ops, whatever order they arrive in.
//!
//! The property test simulates five members, three of them admins, each
//! with its own replica. At each step one member authors an op on its own
//! (possibly stale) view, and replicas sync with each other only now and
//! then, so the history holds concurrent and conflicting ops. Then every op
//! is delivered to fresh replicas in random permutations: every replica
//! must end with the same state, the same effective ops, and nothing left
//! pending.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod group_support;

use std::collections::{BTreeMap, BTreeSet};

use group_support::*;
use proptest::prelude::*;
use wren_crypto::IdentityKeyPair;
use wren_proto::OpId;
use wren_proto::group::{Applied, Group, GroupOp, OpBody};

/// Delivers `ops` in the given order to a fresh replica of their group.
fn deliver(ops: &[GroupOp]) -> Group {
    let mut group = Group::new(ops[0].group());
    for op in ops {
        match group.apply(op.clone()) {
            Ok(Applied::Accepted(_) | Applied::Pending { .. }) => {}
            Err(error) => panic!("{error}"),
        }
    }
    assert_eq!(group.pending_len(), 0);
    group
}

fn effective(group: &Group) -> BTreeSet<OpId> {
    group
        .ops_in_order()
        .map(GroupOp::id)
        .filter(|id| group.is_effective(id))
        .collect()
}

/// A permutation of `0..n` from a seed (xorshift, Fisher–Yates).
fn permutation(n: usize, mut seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    seed |= 1;
    for i in (1..n).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = (seed % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// One step of the simulation: `actor` authors `action` on `target`, then
/// replica `to` pulls everything replica `from` has if `sync` is set.
#[derive(Debug, Clone)]
struct Step {
    actor: usize,
    action: u8,
    target: usize,
    sync: Option<(usize, usize)>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0..5usize,
        0..6u8,
        0..7usize,
        prop::option::weighted(0.3, (0..5usize, 0..5usize)),
    )
        .prop_map(|(actor, action, target, sync)| Step {
            actor,
            action,
            target,
            sync,
        })
}

/// Runs the simulation; returns every op authored, in authoring order.
fn simulate(steps: &[Step]) -> Vec<GroupOp> {
    // Three admins (0, 1, 2), a member (3), someone to add (4), and two
    // outsiders (5, 6) who can be added but never act.
    let people: Vec<IdentityKeyPair> = (1..=7).map(person).collect();
    let create_op = create(
        &people[0],
        false,
        &[(&people[1], true), (&people[2], true), (&people[3], false)],
    );
    let mut replicas: Vec<Group> = (0..5)
        .map(|_| Group::from_create(create_op.clone()).unwrap())
        .collect();
    let mut ops = vec![create_op];
    for (i, step) in steps.iter().enumerate() {
        let actor = &people[step.actor];
        let target = &people[step.target];
        let replica = &mut replicas[step.actor];
        if replica.state().is_member(actor.public()) {
            let body = match step.action {
                0 => add(target),
                1 => remove(target),
                2 => promote(target),
                3 => rename(&format!("name {i}")),
                4 => OpBody::Leave,
                _ => add(target),
            };
            // Ops naming their author are malformed: an honest client does
            // not make them.
            if let Ok(op) = replica.sign_op(actor, at(i as u64), body) {
                replica.apply(op.clone()).unwrap();
                ops.push(op);
            }
        }
        if let Some((from, to)) = step.sync
            && from != to
        {
            let missing: Vec<GroupOp> = replicas[from]
                .ops_in_order()
                .filter(|op| !replicas[to].contains(&op.id()))
                .cloned()
                .collect();
            for op in missing {
                replicas[to].apply(op).unwrap();
            }
        }
    }
    ops
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_delivery_order_gives_the_same_state(
        steps in prop::collection::vec(step(), 1..60),
        seeds in prop::collection::vec(any::<u64>(), 3),
    ) {
        let ops = simulate(&steps);
        let reference = deliver(&ops);
        prop_assert_eq!(reference.len(), ops.len());
        for seed in seeds {
            let order = permutation(ops.len(), seed);
            let shuffled: Vec<GroupOp> = order.iter().map(|&i| ops[i].clone()).collect();
            let replica = deliver(&shuffled);
            prop_assert_eq!(replica.state(), reference.state());
            prop_assert_eq!(effective(&replica), effective(&reference));
        }
        // Reverse order: every op but the last waits in the pending set.
        let reversed: Vec<GroupOp> = ops.iter().rev().cloned().collect();
        let backwards = deliver(&reversed);
        prop_assert_eq!(backwards.state(), reference.state());
    }
}

/// Two admins act on the same heads; returns both ops.
fn concurrent(
    first: (&IdentityKeyPair, OpBody),
    second: (&IdentityKeyPair, OpBody),
    base: &Group,
) -> (GroupOp, GroupOp) {
    let a = base.sign_op(first.0, at(10), first.1).unwrap();
    let b = base.sign_op(second.0, at(10), second.1).unwrap();
    (a, b)
}

/// Applies the two concurrent ops to copies of `base` in both orders and
/// checks the replicas agree; returns one of them.
fn both_orders(base: &Group, a: &GroupOp, b: &GroupOp) -> Group {
    let mut one = base.clone();
    one.apply(a.clone()).unwrap();
    one.apply(b.clone()).unwrap();
    let mut two = base.clone();
    two.apply(b.clone()).unwrap();
    two.apply(a.clone()).unwrap();
    assert_eq!(one.state(), two.state());
    assert_eq!(effective(&one), effective(&two));
    one
}

#[test]
fn remove_beats_a_concurrent_add_by_the_removed_admin() {
    // docs/protocol.md §G5, first example.
    let (alice, bob, carol) = (person(1), person(2), person(3));
    let base = Group::from_create(create(&alice, false, &[(&bob, true)])).unwrap();
    let (removal, addition) = concurrent((&alice, remove(&bob)), (&bob, add(&carol)), &base);
    let group = both_orders(&base, &removal, &addition);
    assert!(group.is_effective(&removal.id()));
    assert!(!group.is_effective(&addition.id()));
    assert!(!group.state().is_member(bob.public()));
    assert!(!group.state().is_member(carol.public()));
}

#[test]
fn an_earlier_add_by_a_later_removed_admin_stays() {
    // B's add made on older heads (lower depth) than A's removal.
    let (alice, bob, carol) = (person(1), person(2), person(3));
    let base = Group::from_create(create(&alice, false, &[(&bob, true)])).unwrap();
    let addition = base.sign_op(&bob, at(10), add(&carol)).unwrap();
    let mut alice_view = base.clone();
    act(&mut alice_view, &alice, rename("later"));
    let removal = alice_view.sign_op(&alice, at(11), remove(&bob)).unwrap();
    let mut with_rename = base.clone();
    with_rename
        .apply(alice_view.ops_in_order().last().unwrap().clone())
        .unwrap();
    let group = both_orders(&with_rename, &removal, &addition);
    assert!(group.is_effective(&addition.id()));
    assert!(group.is_effective(&removal.id()));
    assert!(group.state().is_member(carol.public()));
    assert!(!group.state().is_member(bob.public()));
}

#[test]
fn mutual_removal_leaves_exactly_one() {
    let (alice, bob, carol) = (person(1), person(2), person(3));
    let base = Group::from_create(create(&alice, false, &[(&bob, true), (&carol, false)])).unwrap();
    let (a, b) = concurrent((&alice, remove(&bob)), (&bob, remove(&alice)), &base);
    let group = both_orders(&base, &a, &b);
    let winner = if a.id() < b.id() { &a } else { &b };
    assert!(group.is_effective(&winner.id()));
    assert_eq!(group.is_effective(&a.id()), a.id() < b.id());
    assert_eq!(group.is_effective(&b.id()), b.id() < a.id());
    let admins = group.state().admins();
    assert_eq!(admins.len(), 1);
    assert!(admins.contains(alice.public()) != admins.contains(bob.public()));
    assert_eq!(group.state().epoch(), Some(winner.id()));
}

#[test]
fn promote_of_a_concurrently_removed_member_has_no_effect() {
    let (alice, bob, carol) = (person(1), person(2), person(3));
    let base = Group::from_create(create(&alice, false, &[(&bob, true), (&carol, false)])).unwrap();
    let (promotion, removal) = concurrent((&alice, promote(&carol)), (&bob, remove(&carol)), &base);
    let group = both_orders(&base, &promotion, &removal);
    assert!(!group.is_effective(&promotion.id()));
    assert!(!group.state().is_member(carol.public()));
}

#[test]
fn concurrent_renames_larger_id_wins() {
    let (alice, bob) = (person(1), person(2));
    let base = Group::from_create(create(&alice, false, &[(&bob, true)])).unwrap();
    let (x, y) = concurrent((&alice, rename("x")), (&bob, rename("y")), &base);
    let group = both_orders(&base, &x, &y);
    let expected = if x.id() > y.id() { "x" } else { "y" };
    assert_eq!(group.state().name().unwrap().as_str(), expected);
    // A merge op names both heads.
    let merge = group.sign_op(&alice, at(11), rename("z")).unwrap();
    let parents: BTreeMap<OpId, ()> = merge.parents().iter().map(|id| (*id, ())).collect();
    assert!(parents.contains_key(&x.id()) && parents.contains_key(&y.id()));
}
