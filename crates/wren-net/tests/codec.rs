//! The transport frames at and past every limit, and hostile input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use wren_net::FrameError;
use wren_net::bundle::{self, BundleResponse};
use wren_net::dm::{self, Ack, DirectResponse};
use wren_net::limits::{
    MAX_BATCH, MAX_BUNDLE_BYTES, MAX_DM_FRAME_BYTES, MAX_DM_RESPONSE_BYTES, MAX_ENVELOPE_BYTES,
};

/// Envelopes whose request frame is exactly `frame_len` bytes: maximal
/// envelopes, then one that fills the rest.
fn batch_of_frame_len(frame_len: usize) -> Vec<Vec<u8>> {
    let mut left = frame_len - 3;
    let mut batch = Vec::new();
    while left > 0 {
        let len = (left - 4).min(MAX_ENVELOPE_BYTES);
        batch.push(vec![0x5A; len]);
        left -= 4 + len;
    }
    batch
}

#[test]
fn request_frame_size_limit() {
    let batch = batch_of_frame_len(MAX_DM_FRAME_BYTES);
    assert_eq!(dm::request_frame_len(&batch), MAX_DM_FRAME_BYTES);
    let frame = dm::encode_request(&batch).unwrap();
    assert_eq!(frame.len(), MAX_DM_FRAME_BYTES);
    assert_eq!(dm::decode_request(&frame).unwrap(), batch);

    // One byte more, in the last envelope.
    let mut over = batch;
    over.last_mut().unwrap().push(0);
    assert_eq!(dm::request_frame_len(&over), MAX_DM_FRAME_BYTES + 1);
    assert_eq!(
        dm::encode_request(&over),
        Err(FrameError::TooLarge {
            len: MAX_DM_FRAME_BYTES + 1,
            max: MAX_DM_FRAME_BYTES
        })
    );
    // A hand-built frame of that size is refused before it is parsed.
    let mut frame = frame;
    frame.push(0);
    assert_eq!(
        dm::decode_request(&frame),
        Err(FrameError::TooLarge {
            len: MAX_DM_FRAME_BYTES + 1,
            max: MAX_DM_FRAME_BYTES
        })
    );
}

#[test]
fn batch_limits_have_their_specified_values() {
    // docs/protocol.md, Part V, §T6.
    assert_eq!(MAX_BATCH, 1_024);
    assert_eq!(MAX_DM_RESPONSE_BYTES, 3_076);
    // A full batch of small envelopes (a 100-byte text is about 200 bytes
    // of envelope) fits in one frame.
    let full = vec![vec![9u8; 200]; MAX_BATCH];
    assert_eq!(dm::request_frame_len(&full), 3 + MAX_BATCH * 204);
    let frame = dm::encode_request(&full).unwrap();
    assert!(frame.len() <= MAX_DM_FRAME_BYTES);
    assert_eq!(dm::decode_request(&frame).unwrap(), full);
    // The largest response is exactly the response limit.
    let acks = DirectResponse::Acks(vec![Ack::Rejected(u16::MAX); MAX_BATCH]);
    let frame = dm::encode_response(&acks).unwrap();
    assert_eq!(frame.len(), MAX_DM_RESPONSE_BYTES);
    assert_eq!(dm::decode_response(&frame).unwrap(), acks);
}

#[test]
fn batch_count_limit() {
    let full = vec![vec![1u8]; MAX_BATCH];
    let frame = dm::encode_request(&full).unwrap();
    assert_eq!(dm::decode_request(&frame).unwrap(), full);

    let over = vec![vec![1u8]; MAX_BATCH + 1];
    let refused = Err(FrameError::BatchCount {
        count: MAX_BATCH + 1,
        max: MAX_BATCH,
    });
    assert_eq!(dm::encode_request(&over), refused.map(|()| Vec::new()));
    // Hand-built: the count is checked before anything is allocated.
    let mut frame = vec![dm::VERSION];
    frame.extend_from_slice(&u16::try_from(MAX_BATCH + 1).unwrap().to_be_bytes());
    for _ in 0..=MAX_BATCH {
        frame.extend_from_slice(&[0, 0, 0, 1, 1]);
    }
    assert_eq!(dm::decode_request(&frame), refused.map(|()| Vec::new()));
    // Zero is refused too.
    assert!(matches!(
        dm::decode_request(&[dm::VERSION, 0, 0]),
        Err(FrameError::BatchCount { count: 0, .. })
    ));

    // Responses have the same bound.
    let acks = DirectResponse::Acks(vec![Ack::Stored; MAX_BATCH]);
    let frame = dm::encode_response(&acks).unwrap();
    assert_eq!(dm::decode_response(&frame).unwrap(), acks);
    assert!(dm::encode_response(&DirectResponse::Acks(vec![Ack::Stored; MAX_BATCH + 1])).is_err());
    assert!(dm::encode_response(&DirectResponse::Acks(Vec::new())).is_err());
}

#[test]
fn envelope_size_limit() {
    let max = vec![vec![7u8; MAX_ENVELOPE_BYTES]];
    let frame = dm::encode_request(&max).unwrap();
    assert_eq!(dm::decode_request(&frame).unwrap(), max);

    let over = vec![vec![7u8; MAX_ENVELOPE_BYTES + 1]];
    assert!(matches!(
        dm::encode_request(&over),
        Err(FrameError::EnvelopeSize { .. })
    ));
    let mut frame = vec![dm::VERSION, 0, 1];
    frame.extend_from_slice(&u32::try_from(MAX_ENVELOPE_BYTES + 1).unwrap().to_be_bytes());
    frame.resize(frame.len() + MAX_ENVELOPE_BYTES + 1, 7);
    assert!(matches!(
        dm::decode_request(&frame),
        Err(FrameError::EnvelopeSize { .. })
    ));
    assert!(matches!(
        dm::encode_request(&[Vec::new()]),
        Err(FrameError::EnvelopeSize { len: 0, .. })
    ));
}

#[test]
fn hostile_length_prefixes_allocate_nothing() {
    // One envelope claiming 4 GiB, and one claiming just past the frame.
    for claim in [u32::MAX, 2] {
        let mut frame = vec![dm::VERSION, 0, 1];
        frame.extend_from_slice(&claim.to_be_bytes());
        frame.push(0xAA);
        assert!(dm::decode_request(&frame).is_err(), "claim {claim}");
    }
    // A count of 65 535 with nothing behind it.
    assert!(dm::decode_request(&[dm::VERSION, 0xFF, 0xFF]).is_err());
    assert!(dm::decode_response(&[dm::VERSION, 0, 0xFF, 0xFF]).is_err());
}

#[test]
fn versions_and_trailing_bytes() {
    let frame = dm::encode_request(&[vec![1, 2]]).unwrap();
    let mut other = frame.clone();
    other[0] = 2;
    assert_eq!(
        dm::decode_request(&other),
        Err(FrameError::UnsupportedVersion {
            found: 2,
            supported: 1
        })
    );
    let mut trailing = frame;
    trailing.push(0);
    assert_eq!(
        dm::decode_request(&trailing),
        Err(FrameError::TrailingBytes { count: 1 })
    );
    assert_eq!(dm::decode_request(&[]), Err(FrameError::Empty));
    assert_eq!(dm::decode_response(&[]), Err(FrameError::Empty));
    assert_eq!(bundle::decode_response(&[]), Err(FrameError::Empty));
}

#[test]
fn every_truncation_of_a_valid_frame_is_refused() {
    let request = dm::encode_request(&[vec![1, 2, 3], vec![4]]).unwrap();
    for cut in 0..request.len() {
        assert!(dm::decode_request(&request[..cut]).is_err(), "cut at {cut}");
    }
    let response =
        dm::encode_response(&DirectResponse::Acks(vec![Ack::Stored, Ack::Rejected(3)])).unwrap();
    for cut in 0..response.len() {
        assert!(
            dm::decode_response(&response[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let bundle = bundle::encode_response(&BundleResponse::Bundle(vec![1])).unwrap();
    for cut in 0..bundle.len() {
        assert!(
            bundle::decode_response(&bundle[..cut]).is_err(),
            "cut at {cut}"
        );
    }
}

fn ack() -> impl Strategy<Value = Ack> {
    prop_oneof![Just(Ack::Stored), any::<u16>().prop_map(Ack::Rejected)]
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = dm::decode_request(&bytes);
        let _ = dm::decode_response(&bytes);
        let _ = bundle::decode_request(&bytes);
        let _ = bundle::decode_response(&bytes);
    }

    #[test]
    fn random_bodies_behind_a_valid_version_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut frame = vec![dm::VERSION];
        frame.extend_from_slice(&body);
        let _ = dm::decode_request(&frame);
        let _ = dm::decode_response(&frame);
        let _ = bundle::decode_response(&frame);
    }

    #[test]
    fn requests_round_trip(
        batch in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 1..64), 1..=MAX_BATCH),
    ) {
        let frame = dm::encode_request(&batch).unwrap();
        prop_assert_eq!(frame.len(), dm::request_frame_len(&batch));
        prop_assert_eq!(dm::decode_request(&frame).unwrap(), batch);
    }

    #[test]
    fn responses_round_trip(acks in proptest::collection::vec(ack(), 1..=MAX_BATCH)) {
        let response = DirectResponse::Acks(acks);
        let frame = dm::encode_response(&response).unwrap();
        prop_assert_eq!(dm::decode_response(&frame).unwrap(), response);
    }

    #[test]
    fn bundles_round_trip(bytes in proptest::collection::vec(any::<u8>(), 1..=MAX_BUNDLE_BYTES)) {
        let response = BundleResponse::Bundle(bytes);
        let frame = bundle::encode_response(&response).unwrap();
        prop_assert_eq!(bundle::decode_response(&frame).unwrap(), response);
    }
}
