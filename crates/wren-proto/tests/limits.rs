//! Every limit: exactly at the limit is accepted, one over is refused, both
//! when encoding (`to_bytes`) and when decoding a frame built without the
//! check (as a hostile peer would).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::id_a;
use wren_proto::codec::{self, CodecError};
use wren_proto::group::GroupEnvelope;
use wren_proto::limits::*;
use wren_proto::{
    ContactRequest, DisplayName, Envelope, GroupId, GroupIntroduction, GroupPeerHello,
    MailboxRequest, MemberCard, MessageId, Payload, Receipt, Text, Timestamp, Versioned,
};

/// A frame encoded without `validate`: what a hostile or buggy peer may send.
fn raw_frame<T: Versioned>(value: &T) -> Vec<u8> {
    let mut frame = vec![T::VERSION];
    frame.extend(codec::encode(value).unwrap());
    frame
}

/// `value` encodes and decodes back.
fn assert_accepted<T: Versioned + PartialEq + std::fmt::Debug>(value: &T) -> Vec<u8> {
    let bytes = value.to_bytes().unwrap();
    assert!(bytes.len() <= T::MAX_BYTES);
    assert_eq!(&T::from_bytes(&bytes).unwrap(), value);
    bytes
}

/// `value` is refused by `to_bytes` and, sent raw, by `from_bytes`, both with
/// `expected`.
fn assert_refused<T: Versioned + std::fmt::Debug>(value: &T, expected: &CodecError) {
    assert_eq!(&value.to_bytes().unwrap_err(), expected);
    assert_eq!(&T::from_bytes(&raw_frame(value)).unwrap_err(), expected);
}

fn too_long(field: &'static str, len: usize, max: usize) -> CodecError {
    CodecError::FieldTooLong { field, len, max }
}

fn text(body: String) -> Payload {
    Payload::Text(Text {
        id: id_a(),
        sent_at: Timestamp::from_millis(1),
        body,
        reply_to: Some(id_a()),
    })
}

fn contact_request(pairing_code: String, greeting: Option<String>) -> Payload {
    Payload::ContactRequest(ContactRequest {
        id: id_a(),
        sent_at: Timestamp::from_millis(u64::MAX),
        pairing_code,
        greeting,
    })
}

#[test]
fn text_body_limit() {
    assert_accepted(&text("a".repeat(MAX_TEXT_BYTES)));
    // Counted in UTF-8 bytes: 8 192 four-byte characters fill it exactly.
    assert_accepted(&text("🐦".repeat(MAX_TEXT_BYTES / 4)));
    assert_refused(
        &text("a".repeat(MAX_TEXT_BYTES + 1)),
        &too_long("Text.body", MAX_TEXT_BYTES + 1, MAX_TEXT_BYTES),
    );
}

#[test]
fn pairing_code_limit() {
    assert_accepted(&contact_request("c".repeat(MAX_PAIRING_CODE_BYTES), None));
    assert_refused(
        &contact_request("c".repeat(MAX_PAIRING_CODE_BYTES + 1), None),
        &too_long(
            "ContactRequest.pairing_code",
            MAX_PAIRING_CODE_BYTES + 1,
            MAX_PAIRING_CODE_BYTES,
        ),
    );
    assert_refused(
        &contact_request(String::new(), None),
        &CodecError::FieldTooShort {
            field: "ContactRequest.pairing_code",
            len: 0,
            min: 1,
        },
    );
}

#[test]
fn greeting_limit() {
    assert_accepted(&contact_request(
        "c".to_owned(),
        Some("g".repeat(MAX_TEXT_BYTES)),
    ));
    assert_refused(
        &contact_request("c".to_owned(), Some("g".repeat(MAX_TEXT_BYTES + 1))),
        &too_long(
            "ContactRequest.greeting",
            MAX_TEXT_BYTES + 1,
            MAX_TEXT_BYTES,
        ),
    );
}

#[test]
fn largest_payload_fits() {
    // Every field of the largest payload kind at its maximum at once.
    let bytes = assert_accepted(&contact_request(
        "c".repeat(MAX_PAIRING_CODE_BYTES),
        Some("g".repeat(MAX_TEXT_BYTES)),
    ));
    assert!(bytes.len() <= MAX_PAYLOAD_BYTES);
}

#[test]
fn receipt_id_count_limit() {
    let ids = |count: usize| -> Vec<MessageId> {
        (0..count)
            .map(|i| MessageId::from_bytes([(i % 256) as u8; 16]))
            .collect()
    };
    for make in [Payload::DeliveryReceipt, Payload::ReadReceipt] {
        assert_accepted(&make(Receipt {
            ids: ids(MAX_RECEIPT_IDS),
        }));
        assert_accepted(&make(Receipt { ids: ids(1) }));
        assert_refused(
            &make(Receipt {
                ids: ids(MAX_RECEIPT_IDS + 1),
            }),
            &too_long("Receipt.ids", MAX_RECEIPT_IDS + 1, MAX_RECEIPT_IDS),
        );
        assert_refused(
            &make(Receipt { ids: vec![] }),
            &CodecError::FieldTooShort {
                field: "Receipt.ids",
                len: 0,
                min: 1,
            },
        );
    }
}

#[test]
fn sender_key_distribution_limit() {
    let distribution = |len: usize| Payload::SenderKeyDistribution {
        group: GroupId::from_bytes([3; 32]),
        message: vec![7; len],
    };
    assert_accepted(&distribution(MAX_SENDER_KEY_DISTRIBUTION_BYTES));
    assert_refused(
        &distribution(MAX_SENDER_KEY_DISTRIBUTION_BYTES + 1),
        &too_long(
            "Payload::SenderKeyDistribution.message",
            MAX_SENDER_KEY_DISTRIBUTION_BYTES + 1,
            MAX_SENDER_KEY_DISTRIBUTION_BYTES,
        ),
    );
    assert!(matches!(
        distribution(0).to_bytes(),
        Err(CodecError::FieldTooShort { .. })
    ));
}

#[test]
fn group_op_payload_limit() {
    let op = |len: usize| Payload::GroupOp { op: vec![7; len] };
    assert_accepted(&op(MAX_GROUP_OP_BYTES));
    assert_refused(
        &op(MAX_GROUP_OP_BYTES + 1),
        &too_long(
            "Payload::GroupOp.op",
            MAX_GROUP_OP_BYTES + 1,
            MAX_GROUP_OP_BYTES,
        ),
    );
    assert!(matches!(
        op(0).to_bytes(),
        Err(CodecError::FieldTooShort { .. })
    ));
}

#[test]
fn pairwise_group_message_payload_limit() {
    let frame = |len: usize| Payload::GroupMessage {
        envelope: vec![7; len],
    };
    assert_accepted(&frame(MAX_PAIRWISE_GROUP_FRAME_BYTES));
    let over = frame(MAX_PAIRWISE_GROUP_FRAME_BYTES + 1);
    assert_eq!(
        over.to_bytes().unwrap_err(),
        too_long(
            "Payload::GroupMessage.envelope",
            MAX_PAIRWISE_GROUP_FRAME_BYTES + 1,
            MAX_PAIRWISE_GROUP_FRAME_BYTES,
        ),
    );
    // The bound is exactly the decoder's byte limit: one more byte is over it.
    assert_eq!(
        Payload::from_bytes(&raw_frame(&over)).unwrap_err(),
        CodecError::LimitExceeded
    );
    assert!(matches!(
        frame(0).to_bytes(),
        Err(CodecError::FieldTooShort { .. })
    ));
    assert_eq!(MAX_PAIRWISE_GROUP_FRAME_BYTES, 64_988);
}

#[test]
fn group_message_limit() {
    let message = |len: usize| GroupEnvelope::Message {
        topic: [1; 32],
        sender: [2; 32],
        message: vec![7; len],
    };
    let frame = assert_accepted(&message(MAX_GROUP_MESSAGE_BYTES));
    assert!(frame.len() <= MAX_ENVELOPE_BYTES);
    assert_refused(
        &message(MAX_GROUP_MESSAGE_BYTES + 1),
        &too_long(
            "GroupEnvelope::Message.message",
            MAX_GROUP_MESSAGE_BYTES + 1,
            MAX_GROUP_MESSAGE_BYTES,
        ),
    );
    assert!(matches!(
        message(0).to_bytes(),
        Err(CodecError::FieldTooShort { .. })
    ));
}

#[test]
fn payload_frame_size_limit() {
    // A frame one byte over the limit is refused before any decoding.
    let mut frame = vec![1u8; MAX_PAYLOAD_BYTES + 1];
    assert_eq!(
        Payload::from_bytes(&frame),
        Err(CodecError::TooLarge {
            len: MAX_PAYLOAD_BYTES + 1,
            max: MAX_PAYLOAD_BYTES
        })
    );
    // At the limit it is decoded (and here refused for its content).
    frame.pop();
    let error = Payload::from_bytes(&frame).unwrap_err();
    assert!(!matches!(error, CodecError::TooLarge { .. }), "{error:?}");
}

fn ciphertext_envelopes(len: usize) -> [(Envelope, &'static str); 3] {
    [
        (
            Envelope::Prekey {
                message: vec![1; len],
            },
            "Envelope::Prekey.message",
        ),
        (
            Envelope::Message {
                message: vec![2; len],
            },
            "Envelope::Message.message",
        ),
        (
            Envelope::Group {
                group: GroupId::from_bytes([4; 32]),
                message: vec![3; len],
            },
            "Envelope::Group.message",
        ),
    ]
}

#[test]
fn ciphertext_limit() {
    for (envelope, _) in ciphertext_envelopes(MAX_CIPHERTEXT_BYTES) {
        assert_accepted(&envelope);
    }
    for (envelope, field) in ciphertext_envelopes(MAX_CIPHERTEXT_BYTES + 1) {
        assert_refused(
            &envelope,
            &too_long(field, MAX_CIPHERTEXT_BYTES + 1, MAX_CIPHERTEXT_BYTES),
        );
    }
    for (envelope, field) in ciphertext_envelopes(0) {
        assert_refused(
            &envelope,
            &CodecError::FieldTooShort {
                field,
                len: 0,
                min: 1,
            },
        );
    }
}

#[test]
fn largest_ciphertext_holds_largest_payload_with_crypto_overhead() {
    assert_eq!(
        MAX_PAYLOAD_BYTES + CRYPTO_OVERHEAD_BYTES,
        MAX_CIPHERTEXT_BYTES
    );
}

#[test]
fn deposit_limit() {
    let deposit = |len: usize| {
        Envelope::Mailbox(MailboxRequest::Deposit {
            recipient: [9; 32],
            envelope: vec![5; len],
        })
    };
    let bytes = assert_accepted(&deposit(MAX_DEPOSIT_BYTES));
    assert!(bytes.len() <= MAX_ENVELOPE_BYTES);
    assert_refused(
        &deposit(MAX_DEPOSIT_BYTES + 1),
        &too_long(
            "MailboxRequest::Deposit.envelope",
            MAX_DEPOSIT_BYTES + 1,
            MAX_DEPOSIT_BYTES,
        ),
    );
    // The largest ciphertext envelope can be deposited.
    let (largest, _) = ciphertext_envelopes(MAX_CIPHERTEXT_BYTES)
        .into_iter()
        .last()
        .unwrap();
    let inner = largest.to_bytes().unwrap();
    assert!(inner.len() <= MAX_DEPOSIT_BYTES);
    assert_accepted(&Envelope::Mailbox(MailboxRequest::Deposit {
        recipient: [9; 32],
        envelope: inner,
    }));
}

#[test]
fn mailbox_fetch_limit() {
    let fetch = |limit: u16| Envelope::Mailbox(MailboxRequest::Fetch { after: 0, limit });
    assert_accepted(&fetch(MAX_MAILBOX_FETCH));
    assert_accepted(&fetch(1));
    assert_refused(
        &fetch(MAX_MAILBOX_FETCH + 1),
        &too_long(
            "MailboxRequest::Fetch.limit",
            usize::from(MAX_MAILBOX_FETCH) + 1,
            usize::from(MAX_MAILBOX_FETCH),
        ),
    );
    assert!(matches!(
        fetch(0).to_bytes(),
        Err(CodecError::FieldTooShort { .. })
    ));
}

#[test]
fn envelope_frame_size_limit() {
    let mut frame = vec![1u8; MAX_ENVELOPE_BYTES + 1];
    assert_eq!(
        Envelope::from_bytes(&frame),
        Err(CodecError::TooLarge {
            len: MAX_ENVELOPE_BYTES + 1,
            max: MAX_ENVELOPE_BYTES
        })
    );
    frame.pop();
    let error = Envelope::from_bytes(&frame).unwrap_err();
    assert!(!matches!(error, CodecError::TooLarge { .. }), "{error:?}");

    // A well-formed Message frame of exactly MAX_ENVELOPE_BYTES: decoded, then
    // refused for its ciphertext length or by the decoder's byte limit.
    let message_len = MAX_ENVELOPE_BYTES - 5;
    let mut frame = vec![1, 1, 251];
    frame.extend((message_len as u16).to_le_bytes());
    frame.extend(vec![0; message_len]);
    assert_eq!(frame.len(), MAX_ENVELOPE_BYTES);
    assert!(matches!(
        Envelope::from_bytes(&frame),
        Err(CodecError::LimitExceeded | CodecError::FieldTooLong { .. })
    ));
}

#[test]
fn display_name_limit() {
    let name = "n".repeat(MAX_DISPLAY_NAME_BYTES);
    assert_eq!(DisplayName::new(name.clone()).unwrap().as_str(), name);
    assert_eq!(
        DisplayName::new("n".repeat(MAX_DISPLAY_NAME_BYTES + 1)),
        Err(too_long(
            "DisplayName",
            MAX_DISPLAY_NAME_BYTES + 1,
            MAX_DISPLAY_NAME_BYTES
        ))
    );
}

#[test]
fn limits_have_the_documented_values() {
    assert_eq!(MAX_ENVELOPE_BYTES, 65_536);
    assert_eq!(MAX_CIPHERTEXT_BYTES, 65_408);
    assert_eq!(MAX_PAYLOAD_BYTES, 65_000);
    assert_eq!(CRYPTO_OVERHEAD_BYTES, 408);
    assert_eq!(MAX_TEXT_BYTES, 32_768);
    assert_eq!(MAX_DISPLAY_NAME_BYTES, 64);
    assert_eq!(MAX_PAIRING_CODE_BYTES, 4_096);
    assert_eq!(MAX_RECEIPT_IDS, 256);
    assert_eq!(MAX_SENDER_KEY_DISTRIBUTION_BYTES, 1_024);
    assert_eq!(MAX_DEPOSIT_BYTES, 65_472);
    assert_eq!(MAX_MAILBOX_FETCH, 64);
    assert_eq!(MAX_GROUP_MEMBERS, 256);
    assert_eq!(MAX_OP_PARENTS, 16);
    assert_eq!(MAX_GROUP_OP_BYTES, 16_384);
    assert_eq!(MAX_GROUP_OPS, 10_000);
    assert_eq!(MAX_PENDING_GROUP_OPS, 256);
    assert_eq!(MAX_GROUP_MESSAGE_BYTES, 65_408);
    assert_eq!(MAX_GROUP_CLOCK_SKEW_MS, 300_000);
}

/// An introduction of `count` cards, each with a code of `code_len` bytes.
fn introduction(count: usize, code_len: usize) -> Payload {
    Payload::GroupIntroduction(GroupIntroduction {
        group: GroupId::from_bytes([1; 32]),
        cards: (0..count)
            .map(|n| MemberCard {
                member: [u8::try_from(n % 256).unwrap(); 32],
                pairing_code: "C".repeat(code_len),
            })
            .collect(),
    })
}

#[test]
fn introduction_card_limits() {
    // The largest introduction: every card at the limit, each code at its
    // longest, within one payload.
    let bytes = assert_accepted(&introduction(
        MAX_INTRODUCTION_CARDS,
        MAX_PAIRING_CODE_BYTES,
    ));
    assert!(bytes.len() <= MAX_PAYLOAD_BYTES);
    assert_refused(
        &introduction(MAX_INTRODUCTION_CARDS + 1, 10),
        &too_long(
            "GroupIntroduction.cards",
            MAX_INTRODUCTION_CARDS + 1,
            MAX_INTRODUCTION_CARDS,
        ),
    );
    assert_refused(
        &introduction(1, MAX_PAIRING_CODE_BYTES + 1),
        &too_long(
            "MemberCard.pairing_code",
            MAX_PAIRING_CODE_BYTES + 1,
            MAX_PAIRING_CODE_BYTES,
        ),
    );
    assert!(matches!(
        introduction(0, 10).to_bytes(),
        Err(CodecError::FieldTooShort { .. })
    ));
    assert!(matches!(
        Payload::from_bytes(&raw_frame(&introduction(0, 10))),
        Err(CodecError::FieldTooShort { .. })
    ));
}

#[test]
fn group_peer_hello_limits() {
    let hello = |len: usize| {
        Payload::GroupPeerHello(GroupPeerHello {
            group: GroupId::from_bytes([1; 32]),
            pairing_code: "C".repeat(len),
        })
    };
    assert_accepted(&hello(MAX_PAIRING_CODE_BYTES));
    assert_refused(
        &hello(MAX_PAIRING_CODE_BYTES + 1),
        &too_long(
            "GroupPeerHello.pairing_code",
            MAX_PAIRING_CODE_BYTES + 1,
            MAX_PAIRING_CODE_BYTES,
        ),
    );
    assert!(matches!(
        hello(0).to_bytes(),
        Err(CodecError::FieldTooShort { .. })
    ));
}
