//! Hostile and broken input: decoding bombs, truncation at every length,
//! trailing bytes, unknown versions and tags, invalid UTF-8, non-canonical
//! encodings. Every case must return a typed error, quickly, without
//! panicking or allocating what the input claims.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::{Duration, Instant};

use common::{ID_A_HEX, all_golden_frames, unhex};
use wren_proto::codec::{self, CodecError};
use wren_proto::limits::MAX_ENVELOPE_BYTES;
use wren_proto::{Envelope, Payload, Versioned};

fn decode_any(bytes: &[u8], is_envelope: bool) -> Result<(), CodecError> {
    if is_envelope {
        Envelope::from_bytes(bytes).map(drop)
    } else {
        Payload::from_bytes(bytes).map(drop)
    }
}

/// The 9-byte varint `253 || u64 LE`.
fn varint_u64(value: u64) -> Vec<u8> {
    let mut out = vec![253];
    out.extend(value.to_le_bytes());
    out
}

/// Runs `f` and checks it was fast: a bomb that allocated or looped over the
/// claimed length would take far longer.
fn quickly<T>(f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let result = f();
    assert!(start.elapsed() < Duration::from_secs(1), "too slow");
    result
}

#[test]
fn byte_string_length_bombs() {
    for claimed in [1u64 << 40, 1 << 62, u64::MAX] {
        // Envelope::Message whose length claims `claimed` bytes.
        let mut frame = vec![1, 1];
        frame.extend(varint_u64(claimed));
        frame.extend([0; 4]);
        assert_eq!(
            quickly(|| Envelope::from_bytes(&frame)),
            Err(CodecError::LimitExceeded),
            "{claimed}"
        );
        // Envelope::Group.
        let mut frame = vec![1, 2];
        frame.extend([0; 32]);
        frame.extend(varint_u64(claimed));
        assert_eq!(
            quickly(|| Envelope::from_bytes(&frame)),
            Err(CodecError::LimitExceeded)
        );
        // Mailbox deposit.
        let mut frame = vec![1, 3, 0];
        frame.extend([0; 32]);
        frame.extend(varint_u64(claimed));
        assert_eq!(
            quickly(|| Envelope::from_bytes(&frame)),
            Err(CodecError::LimitExceeded)
        );
    }
}

#[test]
fn string_length_bombs() {
    for claimed in [1u64 << 40, 1 << 62, u64::MAX] {
        // Text.body claiming `claimed` bytes.
        let mut frame = unhex(&format!("01 00 {ID_A_HEX} 00"));
        frame.extend(varint_u64(claimed));
        frame.extend(b"hi");
        assert_eq!(
            quickly(|| Payload::from_bytes(&frame)),
            Err(CodecError::LimitExceeded)
        );
        // ContactRequest.greeting.
        let mut frame = unhex(&format!("01 03 {ID_A_HEX} 00 01 77 01"));
        frame.extend(varint_u64(claimed));
        assert_eq!(
            quickly(|| Payload::from_bytes(&frame)),
            Err(CodecError::LimitExceeded)
        );
    }
}

#[test]
fn introduction_malformed_cards_are_refused() {
    // version, tag 9, group, one card: member, code "wren:\n" (not printable).
    let mut frame = vec![1, 9];
    frame.extend([0x44; 32]);
    frame.push(1);
    frame.extend([0x77; 32]);
    frame.push(6);
    frame.extend(b"wren:\n");
    assert!(matches!(
        Payload::from_bytes(&frame),
        Err(CodecError::InvalidField { .. })
    ));
    // A card cut inside its member key.
    let mut cut = vec![1, 9];
    cut.extend([0x44; 32]);
    cut.push(1);
    cut.extend([0x77; 20]);
    assert_eq!(Payload::from_bytes(&cut), Err(CodecError::Truncated));
    // A card list claiming 2^40 cards with one present ends with the input.
    let mut bomb = vec![1, 9];
    bomb.extend([0x44; 32]);
    bomb.extend(varint_u64(1 << 40));
    bomb.extend([0x77; 32]);
    bomb.push(1);
    bomb.push(b'w');
    assert_eq!(
        quickly(|| Payload::from_bytes(&bomb)),
        Err(CodecError::Truncated)
    );
}

#[test]
fn list_length_bombs() {
    for claimed in [1u64 << 40, 1 << 62, u64::MAX] {
        // A receipt claiming `claimed` ids, followed by one id: the list is
        // read item by item with a capped pre-allocation, so it ends as soon
        // as the input does.
        let mut frame = vec![1, 1];
        frame.extend(varint_u64(claimed));
        frame.extend([0; 16]);
        assert_eq!(
            quickly(|| Payload::from_bytes(&frame)),
            Err(CodecError::Truncated)
        );
    }
}

#[test]
fn bombs_through_the_plain_codec() {
    // `codec::decode` on types without the adapters (plain Vec<u8>, String,
    // Vec<Vec<u8>>) must not abort either.
    let mut bytes = varint_u64(1 << 62);
    bytes.extend([0; 8]);
    assert!(quickly(|| codec::decode::<Vec<u8>, MAX_ENVELOPE_BYTES>(&bytes)).is_err());
    assert!(quickly(|| codec::decode::<String, MAX_ENVELOPE_BYTES>(&bytes)).is_err());
    assert!(quickly(|| codec::decode::<Vec<Vec<u8>>, MAX_ENVELOPE_BYTES>(&bytes)).is_err());
    let mut nested = vec![1];
    nested.extend(varint_u64(1 << 40));
    assert!(quickly(|| codec::decode::<Vec<String>, MAX_ENVELOPE_BYTES>(&nested)).is_err());
}

#[test]
fn many_small_claims_stay_under_the_limit() {
    // A receipt claiming 4 000 ids and actually carrying them (64 000 bytes of
    // ids): within the frame limit, so it decodes and `validate` refuses it.
    let count = 3_999u16;
    let mut frame = vec![1, 1, 251];
    frame.extend(count.to_le_bytes());
    frame.extend(vec![0; usize::from(count) * 16]);
    assert!(frame.len() <= 65_000);
    assert!(matches!(
        Payload::from_bytes(&frame),
        Err(CodecError::FieldTooLong {
            field: "Receipt.ids",
            ..
        })
    ));
}

#[test]
fn every_truncation_is_refused() {
    for (name, frame, is_envelope) in all_golden_frames() {
        assert!(decode_any(&frame, is_envelope).is_ok(), "{name}");
        for len in 0..frame.len() {
            let error = decode_any(&frame[..len], is_envelope).unwrap_err();
            let expected = match len {
                0 => CodecError::Empty,
                _ => CodecError::Truncated,
            };
            assert_eq!(error, expected, "{name} cut at {len}");
        }
    }
}

#[test]
fn trailing_bytes_are_refused() {
    for (name, mut frame, is_envelope) in all_golden_frames() {
        frame.push(0);
        assert_eq!(
            decode_any(&frame, is_envelope),
            Err(CodecError::TrailingBytes { count: 1 }),
            "{name}"
        );
        frame.extend([0xff; 10]);
        assert_eq!(
            decode_any(&frame, is_envelope),
            Err(CodecError::TrailingBytes { count: 11 }),
            "{name}"
        );
    }
}

#[test]
fn unknown_versions_are_refused() {
    for (name, mut frame, is_envelope) in all_golden_frames() {
        for version in [0u8, 2, 255] {
            frame[0] = version;
            assert_eq!(
                decode_any(&frame, is_envelope),
                Err(CodecError::UnsupportedVersion {
                    found: version,
                    supported: 1
                }),
                "{name}"
            );
        }
    }
    assert_eq!(
        Envelope::from_bytes(&[7]),
        Err(CodecError::UnsupportedVersion {
            found: 7,
            supported: 1
        })
    );
}

#[test]
fn empty_input_is_refused() {
    assert_eq!(Envelope::from_bytes(&[]), Err(CodecError::Empty));
    assert_eq!(Payload::from_bytes(&[]), Err(CodecError::Empty));
    // A version byte alone: the body is missing.
    assert_eq!(Envelope::from_bytes(&[1]), Err(CodecError::Truncated));
    assert_eq!(Payload::from_bytes(&[1]), Err(CodecError::Truncated));
}

#[test]
fn unknown_top_level_tags_are_typed() {
    assert_eq!(
        Envelope::from_bytes(&[1, 4, 1, 0]),
        Err(CodecError::UnknownVariant {
            type_name: "Envelope",
            tag: 4
        })
    );
    assert_eq!(
        Payload::from_bytes(&[1, 11]),
        Err(CodecError::UnknownVariant {
            type_name: "Payload",
            tag: 11
        })
    );
    assert_eq!(
        Payload::from_bytes(&[1, 251, 0x2c, 0x01, 0, 0]),
        Err(CodecError::UnknownVariant {
            type_name: "Payload",
            tag: 300
        })
    );
    assert_eq!(
        Payload::from_bytes(&[1, 252, 0xff, 0xff, 0xff, 0xff]),
        Err(CodecError::UnknownVariant {
            type_name: "Payload",
            tag: u32::MAX
        })
    );
    // A tag with a u64 prefix is not a valid u32 varint.
    assert!(matches!(
        Payload::from_bytes(&[1, 253, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(CodecError::Invalid { .. })
    ));
}

#[test]
fn unknown_nested_tag_is_refused() {
    // MailboxRequest has tags 0..=2.
    let error = Envelope::from_bytes(&[1, 3, 3, 0]).unwrap_err();
    assert_eq!(
        error,
        CodecError::Invalid {
            reason: "unknown enum variant tag".to_owned()
        }
    );
}

#[test]
fn invalid_utf8_is_refused() {
    // Text body: 0xff is never valid UTF-8; c3 28 is a broken sequence.
    for body in ["01 ff", "02 c328", "03 eda080"] {
        let frame = unhex(&format!("01 00 {ID_A_HEX} 00 {body} 00"));
        assert_eq!(
            Payload::from_bytes(&frame),
            Err(CodecError::InvalidUtf8),
            "{body}"
        );
    }
    // Greeting.
    let frame = unhex(&format!("01 03 {ID_A_HEX} 00 01 77 01 01 80"));
    assert_eq!(Payload::from_bytes(&frame), Err(CodecError::InvalidUtf8));
}

#[test]
fn invalid_option_tag_is_refused() {
    let frame = unhex(&format!("01 00 {ID_A_HEX} 00 00 02 {ID_A_HEX}"));
    assert!(matches!(
        Payload::from_bytes(&frame),
        Err(CodecError::Invalid { .. })
    ));
}

#[test]
fn non_canonical_encodings_are_refused() {
    // Envelope::Message { [1, 2, 3] } is 01 01 03 010203; the same value with
    // a long tag or a long length decodes but is refused.
    assert!(Envelope::from_bytes(&unhex("01 01 03 010203")).is_ok());
    for frame in [
        "01 fb0100 03 010203",
        "01 fc01000000 03 010203",
        "01 01 fb0300 010203",
        "01 01 fd0300000000000000 010203",
    ] {
        assert_eq!(
            Envelope::from_bytes(&unhex(frame)),
            Err(CodecError::NonCanonical),
            "{frame}"
        );
    }
    // A timestamp of 5 written as 251 + u16.
    let frame = unhex(&format!("01 00 {ID_A_HEX} fb0500 00 00"));
    assert_eq!(Payload::from_bytes(&frame), Err(CodecError::NonCanonical));
    // A fetch limit of 64 written as 251 + u16.
    assert_eq!(
        Envelope::from_bytes(&unhex("01 03 01 00 fb4000")),
        Err(CodecError::NonCanonical)
    );
}

#[test]
fn invalid_varint_prefixes_are_refused() {
    // 254 (u128) and 255 are never valid for the integers used here.
    for prefix in [254u8, 255] {
        let mut frame = vec![1, 1, prefix];
        frame.extend([0; 16]);
        assert!(
            matches!(
                Envelope::from_bytes(&frame),
                Err(CodecError::Invalid { .. })
            ),
            "{prefix}"
        );
    }
    // A u16 (fetch limit) refuses the u32 prefix.
    assert!(matches!(
        Envelope::from_bytes(&unhex("01 03 01 00 fc40000000")),
        Err(CodecError::Invalid { .. })
    ));
}

#[test]
fn every_single_byte_corruption_is_handled() {
    // Flip each byte of each golden frame to several values: decoding must
    // never panic, and whatever decodes must re-encode to the same bytes.
    for (name, frame, is_envelope) in all_golden_frames() {
        if frame.len() > 200 {
            continue;
        }
        for index in 0..frame.len() {
            for value in [0u8, 1, 0x7f, 0x80, 250, 251, 252, 253, 254, 255] {
                let mut corrupted = frame.clone();
                corrupted[index] = value;
                if is_envelope {
                    if let Ok(envelope) = Envelope::from_bytes(&corrupted) {
                        assert_eq!(envelope.to_bytes().unwrap(), corrupted, "{name}");
                    }
                } else if let Ok(payload) = Payload::from_bytes(&corrupted) {
                    assert_eq!(payload.to_bytes().unwrap(), corrupted, "{name}");
                }
            }
        }
    }
}
