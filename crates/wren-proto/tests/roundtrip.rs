//! Property tests: arbitrary values within the limits round-trip through
//! their frames; values over a limit are refused on decode; arbitrary bytes
//! never panic and, when they decode, are the canonical encoding.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::collection::vec;
use proptest::prelude::*;
use wren_proto::codec::{self, CodecError};
use wren_proto::limits::*;
use wren_proto::{
    ContactRequest, DisplayName, Envelope, GroupId, MailboxRequest, MessageId, Payload, Receipt,
    Text, Timestamp, Versioned,
};

fn message_id() -> impl Strategy<Value = MessageId> {
    any::<[u8; 16]>().prop_map(MessageId::from_bytes)
}

fn group_id() -> impl Strategy<Value = GroupId> {
    any::<[u8; 32]>().prop_map(GroupId::from_bytes)
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    // Mix small values (one-byte varints) with the whole range.
    prop_oneof![0u64..300, 0u64..70_000, any::<u64>()].prop_map(Timestamp::from_millis)
}

/// Byte strings of `min..=max` bytes, mostly short, sometimes near `max`.
fn bytes(min: usize, max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => vec(any::<u8>(), min..=min.max(300).min(max)),
        1 => vec(any::<u8>(), max.saturating_sub(64).max(min)..=max),
    ]
}

/// UTF-8 text of at most `max` bytes.
fn text_up_to(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,200}".prop_map(move |s: String| truncate(s, max)),
        1 => any::<String>().prop_map(move |s| truncate(s, max)),
        1 => (max.saturating_sub(8)..=max).prop_map(|n| "x".repeat(n)),
    ]
}

fn truncate(mut text: String, max: usize) -> String {
    while text.len() > max {
        text.pop();
    }
    text
}

fn pairing_code() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[!-~]{1,200}",
        1 => (MAX_PAIRING_CODE_BYTES - 8..=MAX_PAIRING_CODE_BYTES).prop_map(|n| "c".repeat(n)),
    ]
}

fn receipt() -> impl Strategy<Value = Receipt> {
    vec(message_id(), 1..=MAX_RECEIPT_IDS).prop_map(|ids| Receipt { ids })
}

fn text() -> impl Strategy<Value = Text> {
    (
        message_id(),
        timestamp(),
        text_up_to(MAX_TEXT_BYTES),
        proptest::option::of(message_id()),
    )
        .prop_map(|(id, sent_at, body, reply_to)| Text {
            id,
            sent_at,
            body,
            reply_to,
        })
}

fn contact_request() -> impl Strategy<Value = ContactRequest> {
    (
        message_id(),
        timestamp(),
        pairing_code(),
        proptest::option::of(text_up_to(MAX_TEXT_BYTES)),
    )
        .prop_map(|(id, sent_at, pairing_code, greeting)| ContactRequest {
            id,
            sent_at,
            pairing_code,
            greeting,
        })
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        text().prop_map(Payload::Text),
        receipt().prop_map(Payload::DeliveryReceipt),
        receipt().prop_map(Payload::ReadReceipt),
        contact_request().prop_map(Payload::ContactRequest),
        (group_id(), bytes(1, MAX_SENDER_KEY_DISTRIBUTION_BYTES))
            .prop_map(|(group, message)| Payload::SenderKeyDistribution { group, message }),
    ]
}

fn mailbox_request() -> impl Strategy<Value = MailboxRequest> {
    prop_oneof![
        (any::<[u8; 32]>(), bytes(1, MAX_DEPOSIT_BYTES)).prop_map(|(recipient, envelope)| {
            MailboxRequest::Deposit {
                recipient,
                envelope,
            }
        }),
        (any::<u64>(), 1..=MAX_MAILBOX_FETCH)
            .prop_map(|(after, limit)| MailboxRequest::Fetch { after, limit }),
        any::<u64>().prop_map(|up_to| MailboxRequest::Ack { up_to }),
    ]
}

fn envelope() -> impl Strategy<Value = Envelope> {
    prop_oneof![
        bytes(1, MAX_CIPHERTEXT_BYTES).prop_map(|message| Envelope::Prekey { message }),
        bytes(1, MAX_CIPHERTEXT_BYTES).prop_map(|message| Envelope::Message { message }),
        (group_id(), bytes(1, MAX_CIPHERTEXT_BYTES))
            .prop_map(|(group, message)| Envelope::Group { group, message }),
        mailbox_request().prop_map(Envelope::Mailbox),
    ]
}

/// A frame encoded without `validate`, as a hostile peer could send it.
fn raw_frame<T: Versioned>(value: &T) -> Vec<u8> {
    let mut frame = vec![T::VERSION];
    frame.extend(codec::encode(value).unwrap());
    frame
}

fn is_field_error(error: &CodecError) -> bool {
    matches!(
        error,
        CodecError::FieldTooLong { .. } | CodecError::LimitExceeded | CodecError::TooLarge { .. }
    )
}

proptest! {
    #[test]
    fn envelope_round_trips(value in envelope()) {
        let bytes = value.to_bytes().unwrap();
        prop_assert!(bytes.len() <= MAX_ENVELOPE_BYTES);
        prop_assert_eq!(bytes[0], Envelope::VERSION);
        prop_assert_eq!(Envelope::from_bytes(&bytes).unwrap(), value);
    }

    #[test]
    fn payload_round_trips(value in payload()) {
        let bytes = value.to_bytes().unwrap();
        prop_assert!(bytes.len() <= MAX_PAYLOAD_BYTES);
        prop_assert_eq!(bytes[0], Payload::VERSION);
        prop_assert_eq!(Payload::from_bytes(&bytes).unwrap(), value);
    }

    #[test]
    fn ids_round_trip(id in message_id(), group in group_id(), t in timestamp()) {
        prop_assert_eq!(id.to_string().parse::<MessageId>().unwrap(), id);
        prop_assert_eq!(id.to_string().to_uppercase().parse::<MessageId>().unwrap(), id);
        prop_assert_eq!(group.to_string().parse::<GroupId>().unwrap(), group);
        prop_assert_eq!(codec::decode::<MessageId, 16>(&codec::encode(&id).unwrap()).unwrap(), id);
        prop_assert_eq!(codec::decode::<GroupId, 32>(&codec::encode(&group).unwrap()).unwrap(), group);
        prop_assert_eq!(codec::decode::<Timestamp, 16>(&codec::encode(&t).unwrap()).unwrap(), t);
    }

    #[test]
    fn id_parsing_never_panics(text in "\\PC{0,70}") {
        let _ = text.parse::<MessageId>();
        let _ = text.parse::<GroupId>();
    }

    #[test]
    fn display_name_round_trips(name in "[^\\p{Cc}]{1,16}") {
        let name = truncate(name, MAX_DISPLAY_NAME_BYTES);
        prop_assume!(!name.is_empty());
        let display = DisplayName::new(name.clone()).unwrap();
        let bytes = codec::encode(&display).unwrap();
        prop_assert_eq!(codec::decode::<DisplayName, 128>(&bytes).unwrap(), display);
    }

    #[test]
    fn display_name_over_limit_refused(extra in 1usize..64) {
        let name = "d".repeat(MAX_DISPLAY_NAME_BYTES + extra);
        prop_assert!(DisplayName::new(name.clone()).is_err());
        let bytes = codec::encode(&name).unwrap();
        prop_assert!(codec::decode::<DisplayName, 256>(&bytes).is_err());
    }

    #[test]
    fn text_over_limit_refused(mut value in text(), extra in 1usize..2_000) {
        value.body = "b".repeat(MAX_TEXT_BYTES + extra);
        let payload = Payload::Text(value);
        prop_assert!(payload.to_bytes().is_err());
        let error = Payload::from_bytes(&raw_frame(&payload)).unwrap_err();
        prop_assert!(is_field_error(&error), "{:?}", error);
    }

    #[test]
    fn contact_request_over_limit_refused(
        mut value in contact_request(),
        code_extra in 0usize..500,
        greeting_extra in 0usize..500,
        which in 0u8..2,
    ) {
        if which == 0 {
            value.pairing_code = "c".repeat(MAX_PAIRING_CODE_BYTES + 1 + code_extra);
        } else {
            value.greeting = Some("g".repeat(MAX_TEXT_BYTES + 1 + greeting_extra));
        }
        let payload = Payload::ContactRequest(value);
        prop_assert!(payload.to_bytes().is_err());
        let error = Payload::from_bytes(&raw_frame(&payload)).unwrap_err();
        prop_assert!(is_field_error(&error), "{:?}", error);
    }

    #[test]
    fn receipt_over_limit_refused(
        ids in vec(message_id(), MAX_RECEIPT_IDS + 1..MAX_RECEIPT_IDS * 4),
        read in any::<bool>(),
    ) {
        let receipt = Receipt { ids };
        let payload = if read { Payload::ReadReceipt(receipt) } else { Payload::DeliveryReceipt(receipt) };
        prop_assert!(payload.to_bytes().is_err());
        let error = Payload::from_bytes(&raw_frame(&payload)).unwrap_err();
        prop_assert!(is_field_error(&error), "{:?}", error);
    }

    #[test]
    fn ciphertext_over_limit_refused(
        extra in 1usize..200,
        group in group_id(),
        kind in 0u8..3,
    ) {
        let message = vec![0x5a; MAX_CIPHERTEXT_BYTES + extra];
        let envelope = match kind {
            0 => Envelope::Prekey { message },
            1 => Envelope::Message { message },
            _ => Envelope::Group { group, message },
        };
        prop_assert!(envelope.to_bytes().is_err());
        let error = Envelope::from_bytes(&raw_frame(&envelope)).unwrap_err();
        prop_assert!(is_field_error(&error), "{:?}", error);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        for candidate in [bytes.clone(), [&[1u8][..], &bytes].concat()] {
            if let Ok(envelope) = Envelope::from_bytes(&candidate) {
                prop_assert_eq!(envelope.to_bytes().unwrap(), candidate.clone());
            }
            if let Ok(payload) = Payload::from_bytes(&candidate) {
                prop_assert_eq!(payload.to_bytes().unwrap(), candidate.clone());
            }
        }
    }

    #[test]
    fn structured_garbage_never_panics(
        version in prop_oneof![Just(1u8), any::<u8>()],
        tag in prop_oneof![0u8..6, any::<u8>()],
        rest in vec(any::<u8>(), 0..300),
    ) {
        let frame = [&[version, tag][..], &rest].concat();
        if let Ok(envelope) = Envelope::from_bytes(&frame) {
            prop_assert_eq!(envelope.to_bytes().unwrap(), frame.clone());
        }
        if let Ok(payload) = Payload::from_bytes(&frame) {
            prop_assert_eq!(payload.to_bytes().unwrap(), frame);
        }
    }
}
