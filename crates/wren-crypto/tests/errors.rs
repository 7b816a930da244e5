//! One test per error and per limit of the session layer not covered elsewhere,
//! and decoding bombs for every stored-state decoder.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Party, TestRng};
use wren_crypto::limits::{MAX_PLAINTEXT_BYTES, MAX_PREVIOUS_RECEIVING_CHAINS};
use wren_crypto::{
    DecodeError, OneTimePrekeyPair, OutboundMessage, PrekeyBundle, PrekeyMessage, Session,
    SessionBook, SessionError, SignedPrekeyPair, SignedPrekeys,
};

fn established(label: &str) -> (TestRng, Party, Party, Session, Session) {
    let mut rng = TestRng::new(label);
    let alice = Party::new(&mut rng);
    let bob = Party::new(&mut rng);
    let mut a = Session::initiate(&alice.identity, &bob.bundle(), &mut rng).unwrap();
    let pm = PrekeyMessage::parse(a.encrypt(b"hi", &mut rng).unwrap().bytes()).unwrap();
    let (mut b, _) = Session::respond(&bob.identity, &bob.spk, None, &pm).unwrap();
    let reply = b.encrypt(b"hello", &mut rng).unwrap();
    a.decrypt(reply.bytes()).unwrap();
    (rng, alice, bob, a, b)
}

#[test]
fn one_time_prekey_is_used_and_required() {
    let mut rng = TestRng::new("otk");
    let alice = Party::new(&mut rng);
    let bob = Party::new(&mut rng);
    let otk = OneTimePrekeyPair::generate(7, &mut rng);
    let bundle = PrekeyBundle::new(
        *bob.identity.public(),
        *bob.spk.public(),
        Some(*otk.public()),
    )
    .verify()
    .unwrap();
    let mut a = Session::initiate(&alice.identity, &bundle, &mut rng).unwrap();
    let m = a.encrypt(b"with otk", &mut rng).unwrap();
    let pm = PrekeyMessage::parse(m.bytes()).unwrap();
    assert_eq!(pm.one_time_prekey_id(), Some(7));
    // Without the one-time prekey (already used, deleted): refused.
    assert_eq!(
        Session::respond(&bob.identity, &bob.spk, None, &pm).unwrap_err(),
        SessionError::UnknownOneTimePrekey(7)
    );
    let other = OneTimePrekeyPair::generate(8, &mut rng);
    assert_eq!(
        Session::respond(&bob.identity, &bob.spk, Some(&other), &pm).unwrap_err(),
        SessionError::UnknownOneTimePrekey(7)
    );
    let (_, pt) = Session::respond(&bob.identity, &bob.spk, Some(&otk), &pm).unwrap();
    assert_eq!(pt, b"with otk");
    // Its secret survives storage.
    let restored = OneTimePrekeyPair::from_bytes(&otk.to_bytes()).unwrap();
    assert_eq!(restored.public(), otk.public());
    let (_, pt) = Session::respond(&bob.identity, &bob.spk, Some(&restored), &pm).unwrap();
    assert_eq!(pt, b"with otk");
    // A one-time prekey offered where the message named none.
    let mut a2 = Session::initiate(&alice.identity, &bob.bundle(), &mut rng).unwrap();
    let pm2 = PrekeyMessage::parse(a2.encrypt(b"x", &mut rng).unwrap().bytes()).unwrap();
    assert_eq!(
        Session::respond(&bob.identity, &bob.spk, Some(&otk), &pm2).unwrap_err(),
        SessionError::UnknownOneTimePrekey(7)
    );
}

#[test]
fn unknown_signed_prekey_is_refused() {
    let mut rng = TestRng::new("unknown spk");
    let alice = Party::new(&mut rng);
    let bob = Party::new(&mut rng);
    let mut a = Session::initiate(&alice.identity, &bob.bundle(), &mut rng).unwrap();
    let pm = PrekeyMessage::parse(a.encrypt(b"x", &mut rng).unwrap().bytes()).unwrap();
    let other = SignedPrekeyPair::generate(&bob.identity, 2, 0, &mut rng);
    assert_eq!(
        Session::respond(&bob.identity, &other, None, &pm).unwrap_err(),
        SessionError::UnknownSignedPrekey(1)
    );
    let mut book = SessionBook::new(*alice.identity.public());
    assert_eq!(
        book.receive_prekey(&bob.identity, None, None, &pm)
            .unwrap_err(),
        SessionError::UnknownSignedPrekey(1)
    );
    // An expired signed prekey: the store's lookup returns none.
    let keys = SignedPrekeys::new(&bob.identity, 0, &mut rng);
    assert!(keys.get(99, 0).is_none());
}

#[test]
fn altered_prekey_ids_for_an_existing_session_are_refused() {
    let mut rng = TestRng::new("prekey ids");
    let alice = Party::new(&mut rng);
    let bob = Party::new(&mut rng);
    let mut book = SessionBook::new(*alice.identity.public());
    let mut a = Session::initiate(&alice.identity, &bob.bundle(), &mut rng).unwrap();
    let first = a.encrypt(b"one", &mut rng).unwrap().into_bytes();
    let second = a.encrypt(b"two", &mut rng).unwrap().into_bytes();
    let pm = PrekeyMessage::parse(&first).unwrap();
    book.receive_prekey(&bob.identity, Some(&bob.spk), None, &pm)
        .unwrap();
    // The second message with its signed prekey id (bytes 65..69) or its
    // one-time prekey flag (byte 69) changed: routed to the existing session
    // by its base key, and refused there.
    for (at, value) in [(68usize, 3u8), (69, 1)] {
        let mut altered = second.clone();
        altered[at] = value;
        if at == 69 {
            altered.splice(70..70, [0, 0, 0, 9]);
        }
        let pm = PrekeyMessage::parse(&altered).unwrap();
        let before = book.to_bytes();
        assert_eq!(
            book.receive_prekey(&bob.identity, Some(&bob.spk), None, &pm)
                .unwrap_err(),
            SessionError::PrekeyMismatch
        );
        assert_eq!(*before, *book.to_bytes());
    }
    let pm = PrekeyMessage::parse(&second).unwrap();
    assert_eq!(
        book.receive_prekey(&bob.identity, Some(&bob.spk), None, &pm)
            .unwrap()
            .plaintext,
        b"two"
    );
}

#[test]
fn a_session_with_oneself_is_refused() {
    let mut rng = TestRng::new("self");
    let alice = Party::new(&mut rng);
    assert_eq!(
        Session::initiate(&alice.identity, &alice.bundle(), &mut rng).unwrap_err(),
        SessionError::SelfSession
    );
}

#[test]
fn low_order_keys_give_non_contributory_errors() {
    let (_, _, _, mut a, mut b) = established("low order");
    let mut rng = TestRng::new("low order 2");
    let m = b.encrypt(b"x", &mut rng).unwrap().into_bytes();
    // Replace the ratchet key with a small-order point (order 8, x = 1 … the
    // point u = 1 has order 4 on Curve25519's twist-free model): DH output is zero.
    let mut forged = m.clone();
    forged[1..33].copy_from_slice(&{
        let mut u = [0u8; 32];
        u[0] = 1;
        u
    });
    let before = a.to_bytes();
    assert_eq!(a.decrypt(&forged), Err(SessionError::NonContributory));
    assert_eq!(*before, *a.to_bytes());
    // A prekey message whose base key is low-order.
    let mut rng = TestRng::new("low order 3");
    let alice = Party::new(&mut rng);
    let bob = Party::new(&mut rng);
    let mut s = Session::initiate(&alice.identity, &bob.bundle(), &mut rng).unwrap();
    let mut bytes = s.encrypt(b"x", &mut rng).unwrap().into_bytes();
    bytes[33..65].fill(0);
    bytes[33] = 1;
    let pm = PrekeyMessage::parse(&bytes).unwrap();
    assert_eq!(
        Session::respond(&bob.identity, &bob.spk, None, &pm).unwrap_err(),
        SessionError::NonContributory
    );
}

#[test]
fn plaintext_size_limit() {
    let (mut rng, _, _, mut a, mut b) = established("plaintext limit");
    let max = vec![0x5a; MAX_PLAINTEXT_BYTES];
    let m = a.encrypt(&max, &mut rng).unwrap();
    assert_eq!(b.decrypt(m.bytes()).unwrap(), max);
    let over = vec![0x5a; MAX_PLAINTEXT_BYTES + 1];
    assert_eq!(
        a.encrypt(&over, &mut rng).unwrap_err(),
        SessionError::PlaintextTooLarge {
            len: MAX_PLAINTEXT_BYTES + 1,
            max: MAX_PLAINTEXT_BYTES
        }
    );
    // A ratchet message longer than the largest possible is refused unread.
    let mut long = m.into_bytes();
    long.push(0);
    assert!(matches!(
        b.decrypt(&long),
        Err(SessionError::Malformed(DecodeError::TooLong { .. }))
    ));
}

#[test]
fn sending_counter_exhaustion_is_an_error_not_a_wrap() {
    let mut rng = TestRng::new("counter");
    let alice = Party::new(&mut rng);
    let bob = Party::new(&mut rng);
    let a = Session::initiate(&alice.identity, &bob.bundle(), &mut rng).unwrap();
    let mut state = a.to_bytes().to_vec();
    // Layout (docs/protocol.md §8): the sending counter Ns of a fresh
    // initiator without one-time prekey sits at bytes 233..237.
    assert_eq!(&state[233..237], &[0, 0, 0, 0]);
    state[233..237].copy_from_slice(&u32::MAX.to_be_bytes());
    let mut a = Session::from_bytes(&state).unwrap();
    assert_eq!(
        a.encrypt(b"x", &mut rng).unwrap_err(),
        SessionError::CounterExhausted
    );
}

#[test]
fn replays_on_forgotten_chains_are_bounded() {
    let (mut rng, _, _, mut a, mut b) = established("previous chains");
    // Old messages from each of the chains b uses, delivered in order first.
    let mut old = Vec::new();
    for _ in 0..MAX_PREVIOUS_RECEIVING_CHAINS + 2 {
        let m = b.encrypt(b"chain", &mut rng).unwrap().into_bytes();
        a.decrypt(&m).unwrap();
        old.push(m);
        let r = a.encrypt(b"ack", &mut rng).unwrap();
        b.decrypt(r.bytes()).unwrap();
    }
    // The last MAX_PREVIOUS_RECEIVING_CHAINS replaced chains are remembered:
    // a replay there is reported as such.
    let n = old.len();
    for m in &old[n - MAX_PREVIOUS_RECEIVING_CHAINS..] {
        assert_eq!(a.decrypt(m), Err(SessionError::Replay));
    }
    // Older chains are forgotten: still rejected, as an authentication failure.
    assert_eq!(a.decrypt(&old[0]), Err(SessionError::AuthenticationFailed));
}

#[test]
fn wrong_message_kind_and_garbage_are_rejected() {
    let (mut rng, _, _, mut a, mut b) = established("garbage");
    let m = a.encrypt(b"x", &mut rng).unwrap();
    assert!(matches!(m, OutboundMessage::Normal(_)));
    assert!(PrekeyMessage::parse(m.bytes()).is_err());
    for len in 0..60 {
        assert!(b.decrypt(&vec![1u8; len]).is_err());
    }
    assert_eq!(
        b.decrypt(&[2; 60]),
        Err(SessionError::Malformed(DecodeError::UnsupportedVersion {
            found: 2,
            supported: 1
        }))
    );
}

/// Every prefix of a valid encoding fails; so does a trailing byte; a huge
/// length or count fails without allocating it (the input is tiny).
fn bomb_checks<T, E: std::fmt::Debug>(valid: &[u8], decode: impl Fn(&[u8]) -> Result<T, E>) {
    assert!(decode(valid).is_ok());
    for cut in 0..valid.len() {
        assert!(
            decode(&valid[..cut]).is_err(),
            "prefix of {cut} bytes accepted"
        );
    }
    let mut longer = valid.to_vec();
    longer.push(0);
    assert!(decode(&longer).is_err(), "trailing byte accepted");
}

#[test]
fn stored_state_decoders_reject_truncation_trailing_bytes_and_bombs() {
    let (_, alice, bob, a, b) = established("bombs");
    bomb_checks(&a.to_bytes(), Session::from_bytes);
    bomb_checks(&b.to_bytes(), Session::from_bytes);
    let mut book = SessionBook::new(*bob.identity.public());
    let mut rng = TestRng::new("bombs book");
    book.initiate(&alice.identity, &bob.bundle(), &mut rng)
        .unwrap();
    book.initiate(&alice.identity, &bob.bundle(), &mut rng)
        .unwrap();
    let bytes = book.to_bytes();
    bomb_checks(&bytes, SessionBook::from_bytes);
    // A session length prefix claiming 4 GiB: refused as truncated, nothing allocated.
    let mut huge = bytes[..33].to_vec();
    huge.push(1);
    huge.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        SessionBook::from_bytes(&huge),
        Err(DecodeError::Truncated { .. })
    ));
    // Skipped-key count over the limit is refused before reading further.
    let mut state = b.to_bytes().to_vec();
    let n = state.len();
    state[n - 2..].copy_from_slice(&u16::MAX.to_be_bytes());
    assert!(matches!(
        Session::from_bytes(&state),
        Err(DecodeError::TooLong {
            field: "skipped keys",
            ..
        })
    ));
    // Archived-session count over the limit.
    let mut archived = bytes[..33].to_vec();
    archived.extend_from_slice(&[0, 200]);
    assert!(matches!(
        SessionBook::from_bytes(&archived),
        Err(DecodeError::TooLong { .. })
    ));
    let keys = SignedPrekeys::new(&bob.identity, 5, &mut rng);
    bomb_checks(&keys.to_bytes(), SignedPrekeys::from_bytes);
    bomb_checks(
        &OneTimePrekeyPair::generate(3, &mut rng).to_bytes(),
        OneTimePrekeyPair::from_bytes,
    );
    bomb_checks(
        &PrekeyBundle::new(*bob.identity.public(), *bob.spk.public(), None).to_bytes(),
        PrekeyBundle::from_bytes,
    );
    // A stored prekey whose secret does not match its public key.
    let mut k = keys.to_bytes().to_vec();
    k[1 + 108 + 1] ^= 1; // not byte 0: X25519 clamping ignores its low bits
    assert!(SignedPrekeys::from_bytes(&k).is_err());
    // A book holding another contact's session.
    let other = SessionBook::from_bytes(&bytes).unwrap();
    assert_eq!(other.remote_identity(), bob.identity.public());
    let mut mixed = bytes.to_vec();
    mixed[1..33].copy_from_slice(alice.identity.public().as_bytes());
    assert!(SessionBook::from_bytes(&mixed).is_err());
}
