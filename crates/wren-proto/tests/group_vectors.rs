//! Group test vectors (docs/protocol.md §G11): fixed identities, nonce and
//! timestamps give these exact op frames, op ids, group id, topic and
//! envelope bytes. Ed25519 signatures are deterministic (RFC 8032), so the
//! bytes are reproducible by any implementation of Part VIII.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod group_support;

use group_support::{name, person};
use wren_proto::group::{
    Group, GroupEnvelope, GroupOp, InitialMember, OpBody, group_id, group_message_id, topic_hash,
    topic_name,
};
use wren_proto::{Timestamp, Versioned};

/// The vectors: alice (seed 01 × 32) creates "Wren" with nonce 42 × 32 and
/// bob (seed 02 × 32) as an admin, adds carol (seed 03 × 32), then removes
/// bob; and a group envelope from alice.
struct Vectors {
    group: String,
    topic: String,
    ops: Vec<(String, String)>,
    envelope: String,
    envelope_id: String,
}

fn compute() -> Vectors {
    let (alice, bob, carol) = (person(1), person(2), person(3));
    let create = GroupOp::create(
        &alice,
        [0x42; 32],
        Timestamp::from_millis(1_700_000_000_000),
        name("Wren"),
        false,
        vec![InitialMember {
            key: *bob.public(),
            admin: true,
        }],
    )
    .unwrap();
    let mut group = Group::from_create(create.clone()).unwrap();
    let add = group
        .sign_op(
            &alice,
            Timestamp::from_millis(1_700_000_000_001),
            OpBody::Add {
                member: *carol.public(),
            },
        )
        .unwrap();
    group.apply(add.clone()).unwrap();
    let remove = group
        .sign_op(
            &alice,
            Timestamp::from_millis(1_700_000_000_002),
            OpBody::Remove {
                member: *bob.public(),
            },
        )
        .unwrap();
    group.apply(remove.clone()).unwrap();
    assert_eq!(group.state().members().len(), 2);
    assert_eq!(group.state().epoch(), Some(remove.id()));

    let envelope = GroupEnvelope::Message {
        topic: topic_hash(&group.id()),
        sender: alice.public().to_bytes(),
        message: vec![1, 2, 3],
    }
    .to_bytes()
    .unwrap();
    Vectors {
        group: group.id().to_string(),
        topic: topic_name(&group.id()),
        ops: [create, add, remove]
            .iter()
            .map(|op| (hex::encode(op.as_bytes()), op.id().to_string()))
            .collect(),
        envelope_id: hex::encode(group_message_id(&envelope)),
        envelope: hex::encode(envelope),
    }
}

#[test]
#[ignore = "prints the vectors, to paste into this file and docs/protocol.md"]
fn print_vectors() {
    let v = compute();
    println!("group {}\ntopic {}", v.group, v.topic);
    for (bytes, id) in &v.ops {
        println!("op {bytes}\nid {id}");
    }
    println!("envelope {}\nenvelope id {}", v.envelope, v.envelope_id);
}

const GROUP: &str = "d4769a9a93c6006ca24ab7ec0f0c9feefba334c33a25cf9079852769360f90a4";
const TOPIC: &str = "wren/g/1/24efdd9f001a73ad08e0afb509661bc64027a248934df9ab11825521e77f1fbd";
const CREATE: &[&str] = &[
    "01d4769a9a93c6006ca24ab7ec0f0c9feefba334c33a25cf9079852769360f90",
    "a48a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f",
    "5cfd0068e5cf8b01000000004242424242424242424242424242424242424242",
    "424242424242424242424242045772656e00018139770ea87d175f56a35466c3",
    "4c7ecccb8d8a91b4ee37a25df60f5b8fc9b39401ec0eaddb175bb4bfaf027ae0",
    "3ace334876580b69e2ae333068958fbc3e6dc6ae42c4e20adcae930755303ad9",
    "6a58491e4701aca52fb288ade447ef88c2982a0f",
];
const CREATE_ID: &str = "4d07a70490e027385b930d5b3c48bf5daab68d6d8f23e8b589c8bd984739c3ee";
const ADD: &[&str] = &[
    "01d4769a9a93c6006ca24ab7ec0f0c9feefba334c33a25cf9079852769360f90",
    "a48a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f",
    "5cfd0168e5cf8b010000014d07a70490e027385b930d5b3c48bf5daab68d6d8f",
    "23e8b589c8bd984739c3ee01ed4928c628d1c2c6eae90338905995612959273a",
    "5c63f93636c14614ac8737d1c11523a480c2cae34423ff73a40f407e7eccd2c6",
    "6d0d2a044971761726ea98944c1becdb4ac36febef48734f17d9054a317064c9",
    "23e512cfb44c369f35aec20f",
];
const ADD_ID: &str = "065e84442887f7f42463681fe79f9b514252091d445dbdf1b817ca3d77d6dd7b";
const REMOVE: &[&str] = &[
    "01d4769a9a93c6006ca24ab7ec0f0c9feefba334c33a25cf9079852769360f90",
    "a48a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f",
    "5cfd0268e5cf8b01000001065e84442887f7f42463681fe79f9b514252091d44",
    "5dbdf1b817ca3d77d6dd7b028139770ea87d175f56a35466c34c7ecccb8d8a91",
    "b4ee37a25df60f5b8fc9b3943c36afaa14fb56f0399fbf917591f0b34a369739",
    "e71f8d2e07176614d71f6f9763072d96da6ed9e4080e4407656db4a208ae7d0d",
    "7b2321b4c2ae358c3b61e30e",
];
const REMOVE_ID: &str = "753d13b4dff60c8aa731dc81fa1db66d821d832530733dd6e47330030fafe1ea";
const ENVELOPE: &[&str] = &[
    "010024efdd9f001a73ad08e0afb509661bc64027a248934df9ab11825521e77f",
    "1fbd8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f",
    "6f5c03010203",
];
const ENVELOPE_ID: &str = "ff2fb595f9630e2d6bf0e2d1a44ba30c616f662f8915b9a18f28a14ab43d3964";

#[test]
fn vectors_are_pinned() {
    let v = compute();
    assert_eq!(v.group, GROUP);
    assert_eq!(v.topic, TOPIC);
    let expected = [(CREATE, CREATE_ID), (ADD, ADD_ID), (REMOVE, REMOVE_ID)];
    for ((bytes, id), (want_bytes, want_id)) in v.ops.iter().zip(expected) {
        assert_eq!(bytes, &want_bytes.concat());
        assert_eq!(id, want_id);
    }
    assert_eq!(v.envelope, ENVELOPE.concat());
    assert_eq!(v.envelope_id, ENVELOPE_ID);
}

#[test]
fn pinned_ops_decode_verify_and_fold() {
    let mut group = Group::new(GROUP.parse().unwrap());
    for (bytes, id) in [(CREATE, CREATE_ID), (ADD, ADD_ID), (REMOVE, REMOVE_ID)] {
        let op = GroupOp::from_bytes(&hex::decode(bytes.concat()).unwrap()).unwrap();
        assert_eq!(op.id().to_string(), id);
        group.apply(op).unwrap();
    }
    let state = group.state();
    assert_eq!(state.name().unwrap().as_str(), "Wren");
    assert!(state.is_member(person(3).public()));
    assert!(!state.is_member(person(2).public()));
    assert_eq!(state.epoch().unwrap().to_string(), REMOVE_ID);
    assert_eq!(group_id(person(1).public(), &[0x42; 32]).to_string(), GROUP);
    let envelope = GroupEnvelope::from_bytes(&hex::decode(ENVELOPE.concat()).unwrap()).unwrap();
    let GroupEnvelope::Message {
        sender, message, ..
    } = envelope;
    assert_eq!(sender, person(1).public().to_bytes());
    assert_eq!(message, [1, 2, 3]);
}
