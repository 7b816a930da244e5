//! Shared fixtures for the integration tests: one fixed value per variant,
//! with its pinned encoding.

#![allow(dead_code, unreachable_pub)]

use wren_proto::{
    ContactRequest, Envelope, GroupId, GroupIntroduction, GroupPeerHello, GroupSenderKey,
    MailboxRequest, MemberCard, MessageId, OpId, Payload, Profile, Receipt, Text, Timestamp,
};

/// `00 01 02 … 0f`.
pub fn id_a() -> MessageId {
    MessageId::from_bytes([
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
        0x0f,
    ])
}

/// `ff` × 16.
pub fn id_b() -> MessageId {
    MessageId::from_bytes([0xff; 16])
}

pub const ID_A_HEX: &str = "000102030405060708090a0b0c0d0e0f";
pub const ID_B_HEX: &str = "ffffffffffffffffffffffffffffffff";

/// Every envelope variant with its exact encoding (hex). Spaces separate
/// fields for the reader; they are removed before comparing.
pub fn envelope_cases() -> Vec<(&'static str, Envelope, String)> {
    vec![
        (
            "prekey",
            Envelope::Prekey {
                message: vec![0xde, 0xad, 0xbe, 0xef],
            },
            // version, tag 0, length 4, bytes
            "01 00 04 deadbeef".to_owned(),
        ),
        (
            "message",
            Envelope::Message {
                message: vec![1, 2, 3],
            },
            "01 01 03 010203".to_owned(),
        ),
        (
            "message_300_bytes",
            Envelope::Message {
                message: vec![0xab; 300],
            },
            // length 300 takes the 251 + u16 LE form
            format!("01 01 fb2c01 {}", "ab".repeat(300)),
        ),
        (
            "group",
            Envelope::Group {
                group: GroupId::from_bytes([0x11; 32]),
                message: vec![0xff],
            },
            // group id as 32 raw bytes, no length prefix
            format!("01 02 {} 01 ff", "11".repeat(32)),
        ),
        (
            "mailbox_deposit",
            Envelope::Mailbox(MailboxRequest::Deposit {
                recipient: [0x22; 32],
                envelope: vec![0x01, 0x01, 0x03, 0x01, 0x02, 0x03],
            }),
            // tag 3, inner tag 0, recipient raw, length 6, an envelope frame
            format!("01 03 00 {} 06 010103010203", "22".repeat(32)),
        ),
        (
            "mailbox_fetch",
            Envelope::Mailbox(MailboxRequest::Fetch {
                after: 1000,
                limit: 64,
            }),
            // after = 1000 as 251 + u16 LE; limit = 64 as one byte
            "01 03 01 fbe803 40".to_owned(),
        ),
        (
            "mailbox_ack",
            Envelope::Mailbox(MailboxRequest::Ack { up_to: 70_000 }),
            // 70 000 > u16::MAX: 252 + u32 LE
            "01 03 02 fc70110100".to_owned(),
        ),
    ]
}

/// Every payload variant with its exact encoding (hex).
pub fn payload_cases() -> Vec<(&'static str, Payload, String)> {
    vec![
        (
            "text",
            Payload::Text(Text {
                id: id_a(),
                sent_at: Timestamp::from_millis(1_700_000_000_000),
                body: "hi".to_owned(),
                reply_to: None,
            }),
            // version, tag 0, id raw, time 253 + u64 LE, body length 2, "hi", None
            format!("01 00 {ID_A_HEX} fd0068e5cf8b010000 02 6869 00"),
        ),
        (
            "text_reply",
            Payload::Text(Text {
                id: id_a(),
                sent_at: Timestamp::from_millis(300),
                body: "é".to_owned(),
                reply_to: Some(id_b()),
            }),
            // time 300 = 251 + u16 LE; body "é" is 2 UTF-8 bytes; Some = 01 + id
            format!("01 00 {ID_A_HEX} fb2c01 02 c3a9 01 {ID_B_HEX}"),
        ),
        (
            "text_empty",
            Payload::Text(Text {
                id: id_b(),
                sent_at: Timestamp::from_millis(0),
                body: String::new(),
                reply_to: None,
            }),
            format!("01 00 {ID_B_HEX} 00 00 00"),
        ),
        (
            "delivery_receipt",
            Payload::DeliveryReceipt(Receipt { ids: vec![id_a()] }),
            // tag 1, count 1, ids raw
            format!("01 01 01 {ID_A_HEX}"),
        ),
        (
            "read_receipt",
            Payload::ReadReceipt(Receipt {
                ids: vec![id_a(), id_b()],
            }),
            format!("01 02 02 {ID_A_HEX} {ID_B_HEX}"),
        ),
        (
            "contact_request",
            Payload::ContactRequest(ContactRequest {
                id: id_a(),
                sent_at: Timestamp::from_millis(250),
                pairing_code: "wren:x".to_owned(),
                greeting: Some("hey".to_owned()),
            }),
            // tag 3, id, time 250 (largest one-byte varint), code, Some(greeting)
            format!("01 03 {ID_A_HEX} fa 06 7772656e3a78 01 03 686579"),
        ),
        (
            "contact_request_no_greeting",
            Payload::ContactRequest(ContactRequest {
                id: id_b(),
                sent_at: Timestamp::from_millis(251),
                pairing_code: "w".to_owned(),
                greeting: None,
            }),
            // time 251: smallest value needing the 251 + u16 form
            format!("01 03 {ID_B_HEX} fbfb00 01 77 00"),
        ),
        (
            "sender_key_distribution",
            Payload::SenderKeyDistribution {
                group: GroupId::from_bytes([0x33; 32]),
                message: vec![9, 9],
            },
            format!("01 04 {} 02 0909", "33".repeat(32)),
        ),
        (
            "profile",
            Payload::Profile(Profile {
                pairing_code: "wren:x".to_owned(),
            }),
            // tag 5, code
            "01 05 06 7772656e3a78".to_owned(),
        ),
        (
            "group_op",
            Payload::GroupOp {
                op: vec![0xaa, 0xbb],
            },
            // tag 6, length 2, an op frame (opaque to the payload decoder)
            "01 06 02 aabb".to_owned(),
        ),
        (
            "group_sender_key",
            Payload::GroupSenderKey(GroupSenderKey {
                group: GroupId::from_bytes([0x44; 32]),
                epoch: OpId::from_bytes([0x55; 32]),
                distribution: [0x66; 73],
            }),
            // tag 7, group raw, epoch raw, distribution 73 raw bytes (no length)
            format!(
                "01 07 {} {} {}",
                "44".repeat(32),
                "55".repeat(32),
                "66".repeat(73)
            ),
        ),
        (
            "group_message",
            Payload::GroupMessage {
                envelope: vec![0x01, 0x00, 0xcc],
            },
            // tag 8, length 3, a group frame (opaque to the payload decoder)
            "01 08 03 0100cc".to_owned(),
        ),
        (
            "group_introduction",
            Payload::GroupIntroduction(GroupIntroduction {
                group: GroupId::from_bytes([0x44; 32]),
                cards: vec![
                    MemberCard {
                        member: [0x77; 32],
                        pairing_code: "wren:a".to_owned(),
                    },
                    MemberCard {
                        member: [0x88; 32],
                        pairing_code: "wren:bc".to_owned(),
                    },
                ],
            }),
            // tag 9, group raw, 2 cards: member raw, length, code
            format!(
                "01 09 {} 02 {} 06 7772656e3a61 {} 07 7772656e3a6263",
                "44".repeat(32),
                "77".repeat(32),
                "88".repeat(32)
            ),
        ),
        (
            "group_peer_hello",
            Payload::GroupPeerHello(GroupPeerHello {
                group: GroupId::from_bytes([0x44; 32]),
                pairing_code: "wren:x".to_owned(),
            }),
            // tag 10, group raw, length, code
            format!("01 0a {} 06 7772656e3a78", "44".repeat(32)),
        ),
    ]
}

/// Decodes the spaced hex used in the fixtures.
pub fn unhex(spaced: &str) -> Vec<u8> {
    let compact: String = spaced.split_whitespace().collect();
    hex::decode(compact).unwrap()
}

/// Every golden encoding, envelopes and payloads.
pub fn all_golden_frames() -> Vec<(&'static str, Vec<u8>, bool)> {
    let mut frames: Vec<(&'static str, Vec<u8>, bool)> = envelope_cases()
        .into_iter()
        .map(|(name, _, hex)| (name, unhex(&hex), true))
        .collect();
    frames.extend(
        payload_cases()
            .into_iter()
            .map(|(name, _, hex)| (name, unhex(&hex), false)),
    );
    frames
}
