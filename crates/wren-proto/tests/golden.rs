//! Golden bytes: one fixed value per variant and its exact encoding. These
//! pin the wire format forever: a change here is a protocol change and needs
//! a new version byte, not an edited expectation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{envelope_cases, payload_cases, unhex};
use wren_proto::{Envelope, Payload, Versioned};

#[test]
fn envelope_golden_bytes() {
    for (name, value, hex) in envelope_cases() {
        let expected = unhex(&hex);
        assert_eq!(value.to_bytes().unwrap(), expected, "encode {name}");
        assert_eq!(
            Envelope::from_bytes(&expected).unwrap(),
            value,
            "decode {name}"
        );
    }
}

#[test]
fn payload_golden_bytes() {
    for (name, value, hex) in payload_cases() {
        let expected = unhex(&hex);
        assert_eq!(value.to_bytes().unwrap(), expected, "encode {name}");
        assert_eq!(
            Payload::from_bytes(&expected).unwrap(),
            value,
            "decode {name}"
        );
    }
}

#[test]
fn every_variant_has_a_golden_case() {
    let envelope_tags: std::collections::BTreeSet<u8> = envelope_cases()
        .iter()
        .map(|(_, _, hex)| unhex(hex)[1])
        .collect();
    assert_eq!(envelope_tags.len() as u32, Envelope::VARIANT_COUNT);
    let mailbox_tags: std::collections::BTreeSet<u8> = envelope_cases()
        .iter()
        .map(|(_, _, hex)| unhex(hex))
        .filter(|bytes| bytes[1] == 3)
        .map(|bytes| bytes[2])
        .collect();
    assert_eq!(mailbox_tags.len(), 3);
    let payload_tags: std::collections::BTreeSet<u8> = payload_cases()
        .iter()
        .map(|(_, _, hex)| unhex(hex)[1])
        .collect();
    assert_eq!(payload_tags.len() as u32, Payload::VARIANT_COUNT);
}

#[test]
fn version_bytes_are_pinned() {
    assert_eq!(Envelope::VERSION, 1);
    assert_eq!(Payload::VERSION, 1);
}
