//! Hostile input on `/wren/dm/1` against a real `wren-cli run --json`
//! process: random bytes as envelopes, oversized and garbage frames written
//! straight onto the stream, well-formed envelopes from unknown identities,
//! a replayed contact request, and contact requests whose pairing code does
//! not verify or names someone else. Each is rejected, the process keeps
//! running, nothing reaches a conversation, and messaging between real
//! contacts goes on.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;
#[path = "common/raw.rs"]
mod raw;

use common::{Peer, cli, cli_fails, pair};
use raw::{
    Raw, Wire, length_prefixed, random_bytes, request, seal, seal_bytes, session, text,
    with_bad_signature,
};
use serde_json::{Value, json};
use wren_core::limits::reject;
use wren_crypto::{PairingCode, PairingCodeError};
use wren_net::dm::{DirectResponse, decode_response, encode_request};
use wren_net::limits::{MAX_BATCH, MAX_DM_FRAME_BYTES, MAX_ENVELOPE_BYTES};
use wren_net::{Ack, Multiaddr, PeerId};
use wren_proto::{Envelope, GroupId, Versioned};

const LOOPBACK: &str = "/ip4/127.0.0.1/tcp/0";

#[test]
fn hostile_input_on_the_direct_protocol_reaches_no_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let mut ada = Peer::start("ada", &dir.path().join("ada"), LOOPBACK);
    let mut bob = Peer::start("bob", &dir.path().join("bob"), LOOPBACK);
    pair(&mut ada, &mut bob, "bob", "ada");
    deliver(&mut ada, &mut bob, "hello bob", 1);

    let bob_id: PeerId = bob.peer_id().parse().unwrap();
    let bob_addr: Multiaddr = bob.loopback_addr().parse().unwrap();
    let bob_code = bob.code();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let _context = runtime.enter();
    let send = |raw: &Raw, envelopes: Vec<Vec<u8>>| -> Vec<Ack> {
        runtime
            .block_on(raw.send(bob_id, &bob_addr, envelopes))
            .unwrap()
    };
    let mallory = Raw::new();

    // 1. Random bytes as envelopes: a full batch, up to the largest
    //    envelope the transport carries.
    let mut garbage = vec![
        vec![0xff; 40],
        random_bytes(1),
        random_bytes(1_000),
        random_bytes(MAX_ENVELOPE_BYTES),
    ];
    garbage.extend((0..MAX_BATCH - garbage.len()).map(|n| random_bytes(1 + (n * 7) % 700)));
    let acks = send(&mallory, garbage);
    assert_eq!(acks.len(), MAX_BATCH);
    assert_eq!(acks[0], Ack::Rejected(reject::MALFORMED));
    assert!(
        acks.iter().all(|ack| matches!(ack, Ack::Rejected(_))),
        "{acks:?}"
    );
    // Envelope kinds that decode but carry nothing valid.
    let acks = send(
        &mallory,
        vec![
            Envelope::Prekey {
                message: random_bytes(200),
            }
            .to_bytes()
            .unwrap(),
            Envelope::Group {
                group: GroupId::from_bytes(rand::random()),
                message: random_bytes(100),
            }
            .to_bytes()
            .unwrap(),
        ],
    );
    assert_eq!(acks.len(), 2);
    assert!(
        acks.iter().all(|ack| matches!(ack, Ack::Rejected(_))),
        "{acks:?}"
    );

    // 2. Bytes that are not a valid frame, written on `/wren/dm/1` streams
    //    by a bare libp2p peer. A well-formed frame from the same peer is
    //    answered before and after: the stream writer works, and Bob still
    //    serves the protocol.
    let mut wire = Wire::new(bob_id, bob_addr.clone());
    let control = length_prefixed(&encode_request(&[vec![0xff; 40]]).unwrap());
    let expect_answer = |answer: Vec<u8>| {
        let (prefix, frame) = answer.split_at(4);
        assert_eq!(
            u32::from_be_bytes(prefix.try_into().unwrap()) as usize,
            frame.len()
        );
        assert_eq!(
            decode_response(frame).unwrap(),
            DirectResponse::Acks(vec![Ack::Rejected(reject::MALFORMED)])
        );
    };
    expect_answer(runtime.block_on(wire.exchange(control.clone())).unwrap());
    let mut trailing = encode_request(&[vec![0xff; 40]]).unwrap();
    trailing.push(0);
    let attacks: Vec<(&str, Vec<u8>)> = vec![
        ("a length prefix of 0xFFFF_FFFF", {
            let mut bytes = vec![0xff; 4];
            bytes.extend(random_bytes(4_096));
            bytes
        }),
        (
            "a frame one byte over the maximum",
            length_prefixed(&random_bytes(MAX_DM_FRAME_BYTES + 1)),
        ),
        (
            "random bytes in a frame",
            length_prefixed(&random_bytes(512)),
        ),
        ("a frame shorter than its prefix", {
            let mut bytes = 1_000u32.to_be_bytes().to_vec();
            bytes.extend(random_bytes(10));
            bytes
        }),
        ("half a length prefix", vec![0, 0]),
        ("an empty frame", length_prefixed(&[])),
        (
            "an unknown version",
            length_prefixed(&[0x02, 0, 1, 0, 0, 0, 1, 0xaa]),
        ),
        ("a batch of no envelopes", length_prefixed(&[0x01, 0, 0])),
        (
            "more envelopes announced than carried",
            length_prefixed(&[0x01, 0, 64, 0, 0, 0, 1, 0xaa]),
        ),
        (
            "an envelope longer than 64 KiB announced",
            length_prefixed(&[0x01, 0, 1, 0, 1, 0, 1, 0xaa]),
        ),
        ("trailing bytes after the batch", length_prefixed(&trailing)),
    ];
    for (what, bytes) in attacks {
        let outcome = runtime.block_on(wire.exchange(bytes));
        assert!(outcome.is_err(), "{what}: answered {outcome:?}");
    }
    expect_answer(runtime.block_on(wire.exchange(control)).unwrap());

    // 3. Well-formed envelopes from an identity Bob does not know.
    let acks = send(
        &mallory,
        vec![
            Envelope::Message {
                message: random_bytes(80),
            }
            .to_bytes()
            .unwrap(),
        ],
    );
    assert_eq!(acks, [Ack::Rejected(reject::UNKNOWN_SENDER)]);
    // A valid session start that carries a text, not a contact request.
    let mut book = session(&mallory, &bob_code);
    let acks = send(&mallory, vec![seal(&mut book, &text("hi bob, it's ada"))]);
    assert_eq!(acks, [Ack::Rejected(reject::UNKNOWN_SENDER)]);
    // A valid session start whose plaintext is not a payload.
    let mut book = session(&mallory, &bob_code);
    let acks = send(&mallory, vec![seal_bytes(&mut book, &[0xff; 100])]);
    assert_eq!(acks, [Ack::Rejected(reject::BAD_PAYLOAD)]);

    // 5. Contact requests that do not hold up (before 4, so that Mallory
    //    is still unknown to Bob). Ada's real code, sent by Mallory:
    let mut book = session(&mallory, &bob_code);
    let acks = send(&mallory, vec![seal(&mut book, &request(ada.code()))]);
    assert_eq!(acks, [Ack::Rejected(reject::BAD_REQUEST)]);
    // Mallory's own code with a tampered signature (its checksum fixed).
    let forged = with_bad_signature(&mallory.code("Mallory"));
    assert!(matches!(
        PairingCode::parse(&forged),
        Err(PairingCodeError::BadSignature)
    ));
    let mut book = session(&mallory, &bob_code);
    let acks = send(&mallory, vec![seal(&mut book, &request(forged))]);
    assert_eq!(acks, [Ack::Rejected(reject::BAD_REQUEST)]);
    // A valid request of another identity, sent over Mallory's connection.
    let other = Raw::new();
    let mut book = session(&other, &bob_code);
    let acks = send(
        &mallory,
        vec![seal(&mut book, &request(other.code("Other")))],
    );
    assert_eq!(acks, [Ack::Rejected(reject::BAD_REQUEST)]);

    // 4. A valid contact request, replayed: one request, announced once.
    let trudy = Raw::new();
    let trudy_id = trudy.peer_id();
    let mut book = session(&trudy, &bob_code);
    let envelope = seal(&mut book, &request(trudy.code("Trudy")));
    assert_eq!(send(&trudy, vec![envelope.clone()]), [Ack::Stored]);
    let event = bob.wait_for("Trudy's contact request", |e| {
        e["event"] == "contact_request" && e["from"] == trudy_id.as_str()
    });
    assert_eq!(event["name"], "Trudy");
    assert_eq!(
        send(&trudy, vec![envelope.clone(), envelope.clone()]),
        [Ack::Stored, Ack::Stored]
    );
    // The same envelope replayed by someone else.
    assert_eq!(
        send(&mallory, vec![envelope]),
        [Ack::Rejected(reject::BAD_REQUEST)]
    );
    // While the request waits for Bob, Trudy's texts are refused.
    assert_eq!(
        send(&trudy, vec![seal(&mut book, &text("let me in"))]),
        [Ack::Rejected(reject::PENDING)]
    );

    for raw in [&mallory, &other, &trudy] {
        runtime.block_on(raw.net.shutdown()).unwrap();
    }

    // Ada and Bob still talk. Bob's events are in order, so once this
    // message is out every event caused by the attacks is in `bob.seen`.
    deliver(&mut ada, &mut bob, "still there?", 2);
    let ada_id = ada.peer_id();
    let messages: Vec<(&Value, &Value)> = bob
        .seen
        .iter()
        .filter(|e| e["event"] == "message")
        .map(|e| (&e["from"], &e["text"]))
        .collect();
    assert_eq!(
        messages,
        [
            (&json!(ada_id), &json!("hello bob")),
            (&json!(ada_id), &json!("still there?")),
        ]
    );
    let requests: Vec<&Value> = bob
        .seen
        .iter()
        .filter(|e| e["event"] == "contact_request")
        .map(|e| &e["from"])
        .collect();
    assert_eq!(requests, [&json!(ada_id), &json!(trudy_id)]);
    let errors: Vec<&Value> = bob.seen.iter().filter(|e| e["event"] == "error").collect();
    assert!(errors.is_empty(), "{errors:?}");

    ada.stop();
    bob.stop();
    drop(runtime);

    // Bob's store: Ada's messages, nothing else, and no one else a contact.
    let bob_home = dir.path().join("bob");
    let history: Value =
        serde_json::from_str(&cli(&bob_home, &["history", "ada", "--json"])).unwrap();
    let history: Vec<(&Value, &Value)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (&m["from"], &m["text"]))
        .collect();
    assert_eq!(
        history,
        [
            (&json!(ada_id), &json!("hello bob")),
            (&json!(ada_id), &json!("still there?")),
        ]
    );
    let contacts: Value =
        serde_json::from_str(&cli(&bob_home, &["contacts", "list", "--json"])).unwrap();
    assert_eq!(contacts.as_array().unwrap().len(), 1, "{contacts}");
    for stranger in [mallory.peer_id(), other.peer_id(), trudy_id] {
        cli_fails(&bob_home, &["history", &stranger]);
    }
}

/// Ada sends `body`; returns once Bob has printed it and Ada has seen it
/// delivered.
fn deliver(ada: &mut Peer, bob: &mut Peer, body: &str, reference: u64) {
    ada.command(json!({"cmd": "send", "to": "bob", "text": body, "ref": reference}));
    let sending = ada.wait_for("sending", |e| {
        e["event"] == "status" && e["ref"] == reference
    });
    let id = sending["id"].clone();
    let got = bob.wait_for("message", |e| e["event"] == "message");
    assert_eq!(got["text"], body, "{got}");
    ada.wait_for("delivered", |e| {
        e["event"] == "status" && e["id"] == id && e["state"] == "delivered"
    });
}
