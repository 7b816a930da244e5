//! Untrusted bytes into every group decoder: arbitrary input and mutations
//! of valid frames never panic; what decodes is canonical; a hostile count
//! or length is refused without allocating what it claims.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod group_support;

use group_support::*;
use proptest::prelude::*;
use wren_proto::group::{Group, GroupEnvelope, GroupError, GroupOp};
use wren_proto::{CodecError, Payload, Versioned};

/// A small valid history: create, add, rename (frames).
fn valid_frames() -> (Group, Vec<Vec<u8>>) {
    let (alice, bob, carol) = (person(1), person(2), person(3));
    let create_op = create(&alice, true, &[(&bob, true)]);
    let mut group = Group::from_create(create_op.clone()).unwrap();
    let add_op = act(&mut group, &alice, add(&carol));
    let rename_op = act(&mut group, &bob, rename("Renamed"));
    let frames = vec![
        create_op.as_bytes().to_vec(),
        add_op.as_bytes().to_vec(),
        rename_op.as_bytes().to_vec(),
    ];
    (group, frames)
}

/// Every decoder on `data`; checks the invariants of what decodes.
fn decode_everything(data: &[u8]) {
    if let Ok(op) = GroupOp::from_bytes(data) {
        assert_eq!(op.as_bytes(), data);
        let _ = format!("{op:?}");
    }
    if let Ok(envelope) = GroupEnvelope::from_bytes(data) {
        assert_eq!(envelope.to_bytes().unwrap(), data);
        let _ = format!("{envelope:?}");
    }
    if let Ok(payload) = Payload::from_bytes(data) {
        assert_eq!(payload.to_bytes().unwrap(), data);
        let printed = format!("{payload:?}");
        if let Payload::GroupSenderKey(_) = payload {
            assert!(printed.contains("[redacted]"), "{printed}");
        }
    }
    let mut group = Group::new(wren_proto::GroupId::from_bytes([0; 32]));
    let _ = group.apply_bytes(data);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..600)) {
        decode_everything(&data);
        let mut tagged = vec![1u8];
        tagged.extend(&data);
        decode_everything(&tagged);
    }

    #[test]
    fn mutated_frames_never_panic_and_never_verify(
        which in 0..3usize,
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let (mut group, frames) = valid_frames();
        let mut data = frames[which].clone();
        for (at, xor) in &flips {
            let i = at.index(data.len());
            data[i] ^= xor;
        }
        if truncate {
            data.truncate(cut.index(data.len()));
        }
        decode_everything(&data);
        if data == frames[which] {
            // The flips cancelled out.
            return Ok(());
        }
        // A changed frame is never an authentic op (unless the change made
        // it another valid frame, which needs a forged signature).
        prop_assert!(GroupOp::from_bytes(&data).is_err());
        let state = group.state().clone();
        prop_assert!(group.apply_bytes(&data).is_err());
        prop_assert_eq!(group.state(), &state);
    }
}

#[test]
fn hostile_counts_are_refused_without_allocating() {
    let (_, frames) = valid_frames();
    // The add op: version, group, author, at (1 byte), parent count 1.
    let count_at = 1 + 32 + 32 + 1;
    let add = &frames[1];
    assert_eq!(add[count_at], 1);
    for claim in [1u64 << 40, u64::MAX] {
        let mut data = add[..count_at].to_vec();
        data.push(253);
        data.extend(claim.to_le_bytes());
        data.extend(&add[count_at + 1..]);
        let result = GroupOp::from_bytes(&data);
        assert!(
            matches!(
                result,
                Err(GroupError::Codec(
                    CodecError::LimitExceeded | CodecError::Truncated
                ))
            ),
            "{result:?}"
        );
    }
    // Over the frame limit: refused before decoding.
    let big = vec![1u8; wren_proto::limits::MAX_GROUP_OP_BYTES + 1];
    assert!(matches!(
        GroupOp::from_bytes(&big),
        Err(GroupError::Codec(CodecError::TooLarge { .. }))
    ));
    // Other version bytes.
    let mut data = frames[0].clone();
    data[0] = 2;
    assert!(matches!(
        GroupOp::from_bytes(&data),
        Err(GroupError::Codec(CodecError::UnsupportedVersion { .. }))
    ));
    // Trailing bytes.
    let mut data = frames[0].clone();
    data.push(0);
    assert!(matches!(
        GroupOp::from_bytes(&data),
        Err(GroupError::Codec(CodecError::TrailingBytes { .. }))
    ));
}

#[test]
fn unknown_op_tag_and_envelope_tag_are_refused() {
    let (_, frames) = valid_frames();
    // The add op's body tag sits after the parents (count 1, one id).
    let tag_at = 1 + 32 + 32 + 1 + 1 + 32;
    let mut data = frames[1].clone();
    assert_eq!(data[tag_at], 1);
    data[tag_at] = 6;
    assert!(matches!(
        GroupOp::from_bytes(&data),
        Err(GroupError::Codec(CodecError::Invalid { .. }))
    ));
    assert_eq!(
        GroupEnvelope::from_bytes(&[1, 1]),
        Err(CodecError::UnknownVariant {
            type_name: "GroupEnvelope",
            tag: 1
        })
    );
}
