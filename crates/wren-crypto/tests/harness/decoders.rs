//! One check per decoder of `wren-crypto`, each taking arbitrary bytes.
//!
//! Common invariants: no panic; whatever decodes re-encodes to the same
//! bytes (every decoder here is canonical); a decoded value can be used;
//! a message is accepted only if it is one Alice really sent (see
//! [`super::fixture`]) and then decrypts to its plaintext, once; a refused
//! message leaves the receiver's state byte-identical.

use std::cell::RefCell;

use data_encoding::BASE32_NOPAD;
use sha2::{Digest, Sha256};
use wren_crypto::{
    OneTimePrekeyPair, PairingCode, PairingCodeError, PrekeyBundle, PrekeyMessage, Session,
    SessionBook, SessionError, SignedPrekeys,
};

use super::common::TestRng;
use super::fixture::{BOB_OTK_ID, Expect, Fixture, Genuine, NOW, fixture};
use super::to_hex;

// ---------------------------------------------------------------------------
// Pairing codes.

/// `PairingCode::parse` of the input as (lossy) UTF-8 text, and of the input
/// as a raw payload (body ‖ signature) given a valid checksum and base32
/// form, so the fuzzer reaches the layout decoder without having to find
/// SHA-256 checksums.
pub fn pairing_code(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_pairing_code(&text, PairingCode::parse(&text));
    let uri = pairing_uri(data);
    check_pairing_code(&uri, PairingCode::parse(&uri));
}

/// The URI whose payload is `body_and_signature` followed by its checksum.
pub fn pairing_uri(body_and_signature: &[u8]) -> String {
    let mut payload = body_and_signature.to_vec();
    payload.extend_from_slice(&Sha256::digest(body_and_signature)[..4]);
    format!("wren:1/{}", BASE32_NOPAD.encode(&payload))
}

fn check_pairing_code(text: &str, parsed: Result<PairingCode, PairingCodeError>) {
    let Ok(code) = parsed else { return };
    let uri = code.to_uri();
    // One code, one text: the input was the canonical URI up to case and
    // surrounding whitespace.
    assert!(
        uri.eq_ignore_ascii_case(text.trim()),
        "pairing code {text:?} parsed but re-encodes as {uri:?}"
    );
    assert_eq!(PairingCode::parse(&uri).as_ref(), Ok(&code));
    assert_eq!(
        PairingCode::parse(&text.to_ascii_lowercase()).as_ref(),
        Ok(&code)
    );
    assert!(code.signed_prekey().verify(code.identity()).is_ok());
    assert!(!code.display_name().is_empty());
    let bundle = code.bundle();
    assert_eq!(bundle.bundle().identity(), code.identity());
}

// ---------------------------------------------------------------------------
// Prekey bundles.

/// `PrekeyBundle::from_bytes`, then `verify`; a verified bundle starts a
/// session, and if it is Bob's, Bob answers it.
pub fn prekey_bundle(data: &[u8]) {
    let Ok(bundle) = PrekeyBundle::from_bytes(data) else {
        return;
    };
    assert_eq!(
        bundle.to_bytes(),
        data,
        "bundle re-encodes differently: {}",
        to_hex(data)
    );
    let Ok(verified) = bundle.verify() else {
        return;
    };
    assert_eq!(verified.bundle(), &bundle);
    let f = fixture();
    let mut rng = TestRng::new("prekey_bundle");
    let Ok(mut session) = Session::initiate(&f.alice, &verified, &mut rng) else {
        return;
    };
    let out = session.encrypt(b"hello", &mut rng).unwrap();
    let pm = PrekeyMessage::parse(out.bytes()).unwrap();
    if bundle.identity() == f.bob.public() && pm.signed_prekey_id() == f.bob_spk.public().id() {
        let otk = pm.one_time_prekey_id().map(|_| &f.bob_otk);
        match Session::respond(&f.bob, &f.bob_spk, otk, &pm) {
            Ok((_, plaintext)) => assert_eq!(plaintext, b"hello"),
            // Bob's bundle with another one-time prekey id or key.
            Err(SessionError::UnknownOneTimePrekey(_) | SessionError::AuthenticationFailed) => {
                assert!(pm.one_time_prekey_id().is_some());
            }
            Err(e) => panic!("Bob refused a session from his own bundle: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Prekey messages.

/// `PrekeyMessage::parse`; what parses goes to Bob's book in the states
/// `empty` (no session), `after_p0` (S1) and `final` (S2, S1 archived).
pub fn prekey_message(data: &[u8]) {
    let Ok(pm) = PrekeyMessage::parse(data) else {
        return;
    };
    let _ = (pm.identity(), pm.base_key(), pm.one_time_prekey_id());
    let f = fixture();
    let exact = f.prekey.iter().find(|g| g.bytes == data);
    for st in f.states.iter().filter(|s| !s.is_session) {
        let mut book = SessionBook::from_bytes(&st.bytes).unwrap();
        let before = book.to_bytes();
        let spk = (pm.signed_prekey_id() == f.bob_spk.public().id()).then_some(&f.bob_spk);
        let otk = (st.otk && pm.one_time_prekey_id() == Some(BOB_OTK_ID)).then_some(&f.bob_otk);
        let result = book.receive_prekey(&f.bob, spk, otk, &pm);
        // Only the exact bytes of a generated message are accepted: any
        // change, the prekey ids included, is refused.
        let expected = exact.map(|g| (g, st.expect_prekey(g)));
        let ok = match (expected, &result) {
            (Some((g, Expect::NewSession)), Ok(out)) => {
                out.new_session && out.plaintext == g.plaintext
            }
            (Some((g, Expect::Decrypts)), Ok(out)) => {
                !out.new_session && out.plaintext == g.plaintext
            }
            (Some((_, Expect::Replay)), Err(SessionError::Replay)) => true,
            (None, Err(_)) => true,
            _ => false,
        };
        assert!(
            ok,
            "state {}: prekey message {} gave {:?}, expected {:?}",
            st.name,
            to_hex(data),
            result.as_ref().map(|o| (&o.plaintext, o.new_session)),
            expected.map(|(g, e)| (g.name, e))
        );
        if result.is_ok() {
            assert_eq!(
                book.receive_prekey(&f.bob, spk, None, &pm)
                    .map(|o| o.plaintext),
                Err(SessionError::Replay),
                "state {}: a prekey message decrypted twice",
                st.name
            );
        } else {
            assert_eq!(
                *book.to_bytes(),
                *before,
                "state {}: a refused prekey message changed the book",
                st.name
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Ratchet messages.

fn check_decrypt(f: &Fixture, state: &str, data: &[u8], result: &Result<Vec<u8>, SessionError>) {
    let st = f.state(state);
    let exact = f.ratchet.iter().find(|g| g.bytes == data);
    let expected = exact.map_or(Expect::Fails, |g| st.expect_ratchet(g));
    let ok = match (expected, result) {
        (Expect::Decrypts, Ok(p)) => exact.is_some_and(|g| &g.plaintext == p),
        (Expect::Replay, Err(SessionError::Replay)) => true,
        (Expect::Fails, Err(_)) => true,
        _ => false,
    };
    assert!(
        ok,
        "state {state}: ratchet message {} gave {result:?}, expected {expected:?} ({:?})",
        to_hex(data),
        exact.map(|g| g.name)
    );
}

/// Bob's established session S1 (`Session::decrypt`) and his final book
/// (`SessionBook::decrypt`, S1 archived) decrypt arbitrary bytes: only
/// Alice's undelivered messages may succeed, once each.
pub fn ratchet_message(data: &[u8]) {
    // Decoding the states costs more than most inputs: keep them between
    // inputs while they provably have not changed (a refusal must leave them
    // byte-identical, which is checked), and decode afresh after a success.
    thread_local! {
        static S1: RefCell<Option<Session>> = const { RefCell::new(None) };
        static FINAL: RefCell<Option<SessionBook>> = const { RefCell::new(None) };
    }
    let f = fixture();

    S1.with_borrow_mut(|cached| {
        let st = f.state("s1");
        let session = cached.get_or_insert_with(|| Session::from_bytes(&st.bytes).unwrap());
        let result = session.decrypt(data);
        check_decrypt(f, "s1", data, &result);
        if result.is_ok() {
            assert_eq!(session.decrypt(data), Err(SessionError::Replay));
            *cached = None;
        } else {
            assert_eq!(
                *session.to_bytes(),
                *st.bytes,
                "a refused message changed S1"
            );
        }
    });

    FINAL.with_borrow_mut(|cached| {
        let st = f.state("final");
        let book = cached.get_or_insert_with(|| SessionBook::from_bytes(&st.bytes).unwrap());
        let result = book.decrypt(data);
        check_decrypt(f, "final", data, &result);
        if result.is_ok() {
            assert_eq!(book.decrypt(data), Err(SessionError::Replay));
            *cached = None;
        } else {
            assert_eq!(
                *book.to_bytes(),
                *st.bytes,
                "a refused message changed the book"
            );
        }
    });
}

// ---------------------------------------------------------------------------
// Stored state.

/// `Session`, `SessionBook`, `SignedPrekeys` and `OneTimePrekeyPair`
/// `from_bytes` of the same input. What decodes re-encodes identically and
/// is used: it decrypts Alice's messages (each either to its plaintext or
/// refused without a state change), encrypts, and still round-trips.
pub fn session_state(data: &[u8]) {
    let f = fixture();
    if let Ok(session) = Session::from_bytes(data) {
        assert_eq!(
            *session.to_bytes(),
            *data,
            "session re-encodes differently: {}",
            to_hex(data)
        );
        exercise_session(f, session);
    }
    if let Ok(book) = SessionBook::from_bytes(data) {
        assert_eq!(
            *book.to_bytes(),
            *data,
            "book re-encodes differently: {}",
            to_hex(data)
        );
        exercise_book(f, book);
    }
    if let Ok(keys) = SignedPrekeys::from_bytes(data) {
        assert_eq!(
            *keys.to_bytes(),
            *data,
            "signed prekeys re-encode differently"
        );
        let id = keys.current().public().id();
        assert!(keys.get(id, NOW).is_some());
        let _ = keys.needs_rotation(NOW);
    }
    if let Ok(key) = OneTimePrekeyPair::from_bytes(data) {
        assert_eq!(
            *key.to_bytes(),
            *data,
            "one-time prekey re-encodes differently"
        );
    }
}

fn check_genuine(g: &Genuine, result: Result<Vec<u8>, SessionError>, unchanged: bool) {
    match result {
        Ok(p) => assert_eq!(p, g.plaintext, "{} decrypted to something else", g.name),
        Err(e) => assert!(unchanged, "refusing {} ({e}) changed the state", g.name),
    }
}

fn exercise_session(f: &Fixture, mut session: Session) {
    for g in &f.ratchet {
        let before = session.to_bytes();
        let result = session.decrypt(&g.bytes);
        check_genuine(g, result, *session.to_bytes() == *before);
    }
    let before = session.to_bytes();
    let mut rng = TestRng::new("session_state");
    if session.encrypt(b"from a decoded state", &mut rng).is_err() {
        assert_eq!(
            *session.to_bytes(),
            *before,
            "a failed encrypt changed the state"
        );
    }
    let bytes = session.to_bytes();
    let again = Session::from_bytes(&bytes)
        .unwrap_or_else(|e| panic!("a used session no longer decodes ({e}): {}", to_hex(&bytes)));
    assert_eq!(*again.to_bytes(), *bytes);
}

fn exercise_book(f: &Fixture, mut book: SessionBook) {
    for g in &f.prekey {
        let pm = PrekeyMessage::parse(&g.bytes).unwrap();
        let before = book.to_bytes();
        let result = book
            .receive_prekey(
                &f.bob,
                Some(&f.bob_spk),
                pm.one_time_prekey_id().map(|_| &f.bob_otk),
                &pm,
            )
            .map(|o| o.plaintext);
        check_genuine(g, result, *book.to_bytes() == *before);
    }
    for g in &f.ratchet {
        let before = book.to_bytes();
        let result = book.decrypt(&g.bytes);
        check_genuine(g, result, *book.to_bytes() == *before);
    }
    let before = book.to_bytes();
    let mut rng = TestRng::new("session_state");
    if book.encrypt(b"from a decoded book", &mut rng).is_err() {
        assert_eq!(
            *book.to_bytes(),
            *before,
            "a failed encrypt changed the book"
        );
    }
    let bytes = book.to_bytes();
    let again = SessionBook::from_bytes(&bytes)
        .unwrap_or_else(|e| panic!("a used book no longer decodes ({e}): {}", to_hex(&bytes)));
    assert_eq!(*again.to_bytes(), *bytes);
}
