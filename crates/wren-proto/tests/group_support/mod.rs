//! Shared helpers for the group tests: fixed identities and op builders.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use wren_crypto::IdentityKeyPair;
use wren_proto::group::{Group, GroupOp, InitialMember, OpBody};
use wren_proto::{DisplayName, Timestamp};

/// A fixed identity: the Ed25519 seed is `n` repeated.
pub fn person(n: u8) -> IdentityKeyPair {
    IdentityKeyPair::from_secret_bytes(&[n; 32])
}

/// The `i`-th of many distinct fixed identities.
pub fn many(i: u16) -> IdentityKeyPair {
    let mut seed = [0x5a; 32];
    seed[..2].copy_from_slice(&i.to_be_bytes());
    IdentityKeyPair::from_secret_bytes(&seed)
}

pub fn name(text: &str) -> DisplayName {
    DisplayName::new(text).unwrap()
}

pub fn at(millis: u64) -> Timestamp {
    Timestamp::from_millis(millis)
}

/// A `Create` by `creator` listing `members` as `(key, admin)`.
pub fn create(
    creator: &IdentityKeyPair,
    channel: bool,
    members: &[(&IdentityKeyPair, bool)],
) -> GroupOp {
    GroupOp::create(
        creator,
        [0x42; 32],
        at(1),
        name("Friends"),
        channel,
        members
            .iter()
            .map(|(key, admin)| InitialMember {
                key: *key.public(),
                admin: *admin,
            })
            .collect(),
    )
    .unwrap()
}

/// Signs `body` by `author` on `group`'s current heads and applies it;
/// returns the op.
pub fn act(group: &mut Group, author: &IdentityKeyPair, body: OpBody) -> GroupOp {
    let op = group.sign_op(author, at(2), body).unwrap();
    group.apply(op.clone()).unwrap();
    op
}

pub fn add(who: &IdentityKeyPair) -> OpBody {
    OpBody::Add {
        member: *who.public(),
    }
}

pub fn remove(who: &IdentityKeyPair) -> OpBody {
    OpBody::Remove {
        member: *who.public(),
    }
}

pub fn promote(who: &IdentityKeyPair) -> OpBody {
    OpBody::Promote {
        member: *who.public(),
    }
}

pub fn rename(text: &str) -> OpBody {
    OpBody::Rename { name: name(text) }
}
