//! Session behaviour: the catalogue of cases a double ratchet must get right.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Party, TestRng};
use wren_crypto::limits::{MAX_SKIP, MAX_SKIPPED_KEYS};
use wren_crypto::{OutboundMessage, PrekeyMessage, Session, SessionError};

fn pair(label: &str) -> (TestRng, Party, Party, Session, Session) {
    let mut rng = TestRng::new(label);
    let alice = Party::new(&mut rng);
    let bob = Party::new(&mut rng);
    let mut a = Session::initiate(&alice.identity, &bob.bundle(), &mut rng).unwrap();
    let first = a.encrypt(b"hello bob", &mut rng).unwrap();
    let OutboundMessage::Prekey(bytes) = first else {
        panic!("first message must be a prekey message")
    };
    let pm = PrekeyMessage::parse(&bytes).unwrap();
    assert_eq!(pm.identity(), alice.identity.public());
    let (b, pt) = Session::respond(&bob.identity, &bob.spk, None, &pm).unwrap();
    assert_eq!(pt, b"hello bob");
    (rng, alice, bob, a, b)
}

#[test]
fn conversation_in_both_directions() {
    let (mut rng, _, _, mut a, mut b) = pair("both directions");
    for round in 0..5 {
        let m = b.encrypt(format!("b{round}").as_bytes(), &mut rng).unwrap();
        assert!(matches!(m, OutboundMessage::Normal(_)));
        assert_eq!(
            a.decrypt(m.bytes()).unwrap(),
            format!("b{round}").as_bytes()
        );
        let m = a.encrypt(format!("a{round}").as_bytes(), &mut rng).unwrap();
        assert!(
            matches!(m, OutboundMessage::Normal(_)),
            "initiator stops sending prekey messages once answered"
        );
        assert_eq!(
            b.decrypt(m.bytes()).unwrap(),
            format!("a{round}").as_bytes()
        );
    }
}

#[test]
fn initiator_repeats_prekey_messages_until_answered() {
    let (mut rng, _, _, mut a, mut b) = pair("repeat prekey");
    let m = a.encrypt(b"second", &mut rng).unwrap();
    let OutboundMessage::Prekey(bytes) = m else {
        panic!()
    };
    let pm = PrekeyMessage::parse(&bytes).unwrap();
    assert_eq!(pm.base_key(), b.base_key());
    assert_eq!(
        b.decrypt(&bytes[bytes.len() - (bytes.len() - 70)..])
            .unwrap(),
        b"second"
    );
}

#[test]
fn out_of_order_and_replay() {
    let (mut rng, _, _, mut a, mut b) = pair("ooo");
    let msgs: Vec<_> = (0..10)
        .map(|i| b.encrypt(&[i], &mut rng).unwrap().into_bytes())
        .collect();
    for i in [3usize, 0, 9, 1, 2, 8, 4, 5, 7, 6] {
        assert_eq!(a.decrypt(&msgs[i]).unwrap(), vec![i as u8]);
    }
    for m in &msgs {
        assert_eq!(a.decrypt(m), Err(SessionError::Replay));
    }
    assert_eq!(a.skipped_keys(), 0);
}

#[test]
fn skip_exactly_max_skip_is_accepted_and_one_more_is_not() {
    let (mut rng, _, _, mut a, mut b) = pair("max skip");
    let msgs: Vec<_> = (0..=MAX_SKIP + 1)
        .map(|_| b.encrypt(b"x", &mut rng).unwrap().into_bytes())
        .collect();
    let mut a2 = Session::from_bytes(&a.to_bytes()).unwrap();
    // Message MAX_SKIP needs MAX_SKIP skipped keys: allowed.
    assert_eq!(a.decrypt(&msgs[MAX_SKIP as usize]).unwrap(), b"x");
    assert_eq!(a.skipped_keys(), MAX_SKIP as usize);
    // Message MAX_SKIP + 1 from a fresh state needs one more: refused, state untouched.
    let before = a2.to_bytes();
    assert_eq!(
        a2.decrypt(&msgs[MAX_SKIP as usize + 1]),
        Err(SessionError::TooFarAhead {
            gap: MAX_SKIP + 1,
            max: MAX_SKIP
        })
    );
    assert_eq!(*before, *a2.to_bytes());
}

#[test]
fn skipped_key_store_evicts_oldest_at_the_global_cap() {
    let (mut rng, _, _, mut a, mut b) = pair("global cap");
    // Three chains each leaving MAX_SKIP - 1 keys behind exceed MAX_SKIPPED_KEYS.
    let mut first_skipped = None;
    for round in 0..3 {
        let msgs: Vec<_> = (0..MAX_SKIP)
            .map(|_| b.encrypt(b"y", &mut rng).unwrap().into_bytes())
            .collect();
        if round == 0 {
            first_skipped = Some(msgs[0].clone());
        }
        a.decrypt(msgs.last().unwrap()).unwrap();
        assert!(a.skipped_keys() <= MAX_SKIPPED_KEYS);
        // Answer so that b starts a new chain.
        let reply = a.encrypt(b"ack", &mut rng).unwrap();
        b.decrypt(reply.bytes()).unwrap();
    }
    assert_eq!(a.skipped_keys(), MAX_SKIPPED_KEYS);
    // The oldest skipped key was evicted: its message can no longer be read.
    assert!(a.decrypt(&first_skipped.unwrap()).is_err());
}

#[test]
fn tampering_is_rejected_and_leaves_state_unchanged() {
    let (mut rng, _, _, mut a, mut b) = pair("tamper");
    let m = b.encrypt(b"secret", &mut rng).unwrap().into_bytes();
    let before = a.to_bytes();
    for i in 0..m.len() {
        let mut t = m.clone();
        t[i] ^= 0x01;
        assert!(a.decrypt(&t).is_err(), "flip at byte {i} accepted");
        assert_eq!(
            *before,
            *a.to_bytes(),
            "state changed after rejecting byte {i}"
        );
    }
    assert_eq!(a.decrypt(&m).unwrap(), b"secret");
}

#[test]
fn state_round_trips_through_bytes() {
    let (mut rng, _, _, a, mut b) = pair("serialize");
    let mut a = Session::from_bytes(&a.to_bytes()).unwrap();
    let m = b.encrypt(b"after restore", &mut rng).unwrap();
    assert_eq!(a.decrypt(m.bytes()).unwrap(), b"after restore");
    let mut b = Session::from_bytes(&b.to_bytes()).unwrap();
    let m = a.encrypt(b"and back", &mut rng).unwrap();
    assert_eq!(b.decrypt(m.bytes()).unwrap(), b"and back");
}

#[test]
fn debug_output_has_no_secrets() {
    let (_, alice, _, a, _) = pair("debug");
    let s = format!("{a:?} {:?}", alice.identity);
    assert!(s.contains("[redacted]"));
    assert!(!s.contains(&hex::encode(&alice.identity.secret_bytes()[..8])));
}
