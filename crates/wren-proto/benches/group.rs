//! Folding a group's history: 1 000 ops applied to a fresh replica, next to
//! the floor they cannot go below in the same run (decoding and verifying
//! the same 1 000 op frames, which every apply from bytes includes).
//!
//! `cargo bench -p wren-proto --bench group -- --warm-up-time 1 --measurement-time 3`
//!
//! - `verify_only`: `GroupOp::from_bytes` of every frame (the baseline).
//! - `apply_in_order`: `Group::apply_bytes` of a linear history, in order:
//!   every op extends the heads, so each is folded incrementally.
//! - `apply_two_branches`: two admins' concurrent histories (500 ops each,
//!   from the same `Create`) delivered interleaved: about half the ops sort
//!   before an accepted one and make the replica refold from the start.
//! - `fold_in_order`: `Group::apply` of already verified ops, in order: the
//!   bookkeeping and fold alone.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a benchmark harness: any failure must abort the run loudly"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wren_crypto::IdentityKeyPair;
use wren_proto::group::{Group, GroupOp, InitialMember, OpBody};
use wren_proto::{DisplayName, Timestamp};

const OPS: usize = 1_000;

fn key(i: u16) -> IdentityKeyPair {
    let mut seed = [0x5a; 32];
    seed[..2].copy_from_slice(&i.to_be_bytes());
    IdentityKeyPair::from_secret_bytes(&seed)
}

/// The `i`-th op of an admin's busy history: adds, renames, promotions and
/// removals, so membership stays bounded.
fn body(i: usize, people: &[IdentityKeyPair]) -> OpBody {
    let person = |j: usize| *people[j % people.len()].public();
    match i % 4 {
        0 => OpBody::Add { member: person(i) },
        1 => OpBody::Rename {
            name: DisplayName::new(format!("name {i}")).unwrap(),
        },
        2 => OpBody::Promote {
            member: person(i - 2),
        },
        _ => OpBody::Remove {
            member: person(i - 3),
        },
    }
}

fn create(alice: &IdentityKeyPair, bob: &IdentityKeyPair) -> GroupOp {
    GroupOp::create(
        alice,
        [7; 32],
        Timestamp::from_millis(0),
        DisplayName::new("Bench").unwrap(),
        false,
        vec![InitialMember {
            key: *bob.public(),
            admin: true,
        }],
    )
    .unwrap()
}

/// A linear history of `OPS` ops by alice.
fn linear() -> Vec<GroupOp> {
    let (alice, bob) = (key(60_000), key(60_001));
    let people: Vec<_> = (0..64).map(key).collect();
    let mut group = Group::from_create(create(&alice, &bob)).unwrap();
    let mut ops = vec![group.ops_in_order().next().unwrap().clone()];
    for i in 1..OPS {
        let op = group
            .sign_op(&alice, Timestamp::from_millis(i as u64), body(i, &people))
            .unwrap();
        group.apply(op.clone()).unwrap();
        ops.push(op);
    }
    ops
}

/// Two admins' concurrent histories from one `Create`, interleaved.
fn two_branches() -> Vec<GroupOp> {
    let (alice, bob) = (key(60_000), key(60_001));
    let people: Vec<_> = (0..64).map(key).collect();
    let create_op = create(&alice, &bob);
    let mut branches = [
        Group::from_create(create_op.clone()).unwrap(),
        Group::from_create(create_op.clone()).unwrap(),
    ];
    let mut ops = vec![create_op];
    for i in 1..OPS {
        let (author, branch) = if i % 2 == 0 {
            (&alice, &mut branches[0])
        } else {
            (&bob, &mut branches[1])
        };
        let op = branch
            .sign_op(author, Timestamp::from_millis(i as u64), body(i, &people))
            .unwrap();
        branch.apply(op.clone()).unwrap();
        ops.push(op);
    }
    ops
}

fn bench(c: &mut Criterion) {
    let linear_ops = linear();
    let linear_frames: Vec<Vec<u8>> = linear_ops.iter().map(|op| op.as_bytes().to_vec()).collect();
    let branch_frames: Vec<Vec<u8>> = two_branches()
        .iter()
        .map(|op| op.as_bytes().to_vec())
        .collect();
    let id = linear_ops[0].group();

    let mut group = c.benchmark_group("group_1000_ops");
    group.throughput(Throughput::Elements(OPS as u64));
    group.bench_function("verify_only", |b| {
        b.iter(|| {
            for frame in &linear_frames {
                black_box(GroupOp::from_bytes(frame).unwrap());
            }
        });
    });
    group.bench_function("apply_in_order", |b| {
        b.iter(|| {
            let mut replica = Group::new(id);
            for frame in &linear_frames {
                replica.apply_bytes(frame).unwrap();
            }
            black_box(replica.state().members().len())
        });
    });
    group.bench_function("apply_two_branches", |b| {
        let branch_id = GroupOp::from_bytes(&branch_frames[0]).unwrap().group();
        b.iter(|| {
            let mut replica = Group::new(branch_id);
            for frame in &branch_frames {
                replica.apply_bytes(frame).unwrap();
            }
            black_box(replica.state().members().len())
        });
    });
    group.bench_function("fold_in_order", |b| {
        b.iter(|| {
            let mut replica = Group::new(id);
            for op in &linear_ops {
                replica.apply(op.clone()).unwrap();
            }
            black_box(replica.state().members().len())
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
