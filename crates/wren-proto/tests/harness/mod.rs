//! Checks shared by the `envelope` and `payload` fuzz targets
//! (`fuzz/fuzz_targets/*.rs`, which include this file by path) and the test
//! that replays their corpora (`tests/fuzz_corpus.rs`).
//!
//! Invariants: decoding arbitrary bytes never panics; what decodes is the
//! canonical encoding (re-encodes to the same bytes), passes its own bound
//! checks, and prints without panicking. A mailbox deposit's inner envelope
//! is decoded too (one level: deposits are not decoded recursively).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use wren_proto::{Envelope, MailboxRequest, Payload, Versioned};

/// Lower-case hex, for failure messages.
fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn check_canonical<T: Versioned + std::fmt::Debug>(value: &T, data: &[u8]) {
    assert!(
        value.validate().is_ok(),
        "decoded {value:?} fails validation"
    );
    match value.to_bytes() {
        Ok(bytes) => assert_eq!(
            bytes,
            data,
            "{} {value:?} decoded from {} re-encodes differently",
            T::NAME,
            to_hex(data)
        ),
        Err(e) => panic!("decoded {value:?} does not re-encode: {e}"),
    }
    let _ = format!("{value:?}");
}

/// `Envelope::from_bytes` of arbitrary bytes.
pub fn envelope(data: &[u8]) {
    let Ok(envelope) = Envelope::from_bytes(data) else {
        return;
    };
    check_canonical(&envelope, data);
    if let Envelope::Mailbox(MailboxRequest::Deposit {
        envelope: inner, ..
    }) = &envelope
        && let Ok(inner_envelope) = Envelope::from_bytes(inner)
    {
        check_canonical(&inner_envelope, inner);
    }
}

/// `Payload::from_bytes` of arbitrary bytes.
pub fn payload(data: &[u8]) {
    let Ok(payload) = Payload::from_bytes(data) else {
        return;
    };
    check_canonical(&payload, data);
}
