//! Sender-key (group) decoders: messages, distributions and stored state.
//!
//! Fixture: one sender in group `CONTEXT` sends `g0`..`g4` on its first
//! chain, rotates, sends `h0 h1`. The receiver state `r` follows both chains
//! and has decrypted `g1 g3 h1`, so it holds skipped keys for `g0 g2 h0`
//! and `g4` is still ahead.

use std::sync::OnceLock;

use wren_crypto::SenderKeyError;
use wren_crypto::sender_key::{SenderKey, SenderKeyDistribution, SenderKeyReceiver};

use super::common::TestRng;
use super::to_hex;

/// The group id every fixture message is bound to.
pub const CONTEXT: [u8; 32] = [0x5a; 32];
/// Another group id: nothing decrypts under it.
pub const OTHER_CONTEXT: [u8; 32] = [0xa5; 32];

/// A group message the sender really sent.
pub struct GroupMessage {
    /// Its name (and plaintext).
    pub name: &'static str,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Whether the receiver state `r` already decrypted it.
    pub delivered: bool,
}

/// The sender-key fixture.
pub struct Fixture {
    /// The sender's messages.
    pub messages: Vec<GroupMessage>,
    /// The distribution of the first chain at iteration 0.
    pub first: Vec<u8>,
    /// The distribution of the rotated chain at iteration 0.
    pub rotated: Vec<u8>,
    /// The receiver state `r`.
    pub receiver: Vec<u8>,
    /// The sender's state after everything.
    pub sender: Vec<u8>,
}

/// The fixture, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

fn build() -> Fixture {
    let mut rng = TestRng::new("wren fuzz sender key fixture");
    let mut sender = SenderKey::generate(&mut rng);
    let first = sender.distribution();
    let mut messages = Vec::new();
    for name in ["g0", "g1", "g2", "g3", "g4"] {
        let bytes = sender.encrypt(&CONTEXT, name.as_bytes()).unwrap();
        let delivered = matches!(name, "g1" | "g3");
        messages.push(GroupMessage {
            name,
            bytes,
            delivered,
        });
    }
    sender.rotate(&mut rng);
    let rotated = sender.distribution();
    for name in ["h0", "h1"] {
        let bytes = sender.encrypt(&CONTEXT, name.as_bytes()).unwrap();
        messages.push(GroupMessage {
            name,
            bytes,
            delivered: name == "h1",
        });
    }
    let mut receiver = SenderKeyReceiver::new(&first);
    receiver.add(&rotated);
    for m in messages.iter().filter(|m| m.delivered) {
        assert_eq!(
            receiver.decrypt(&CONTEXT, &m.bytes).unwrap(),
            m.name.as_bytes()
        );
    }
    assert_eq!(receiver.skipped_keys(), 3);
    Fixture {
        messages,
        first: first.to_bytes().to_vec(),
        rotated: rotated.to_bytes().to_vec(),
        receiver: receiver.to_bytes().to_vec(),
        sender: sender.to_bytes().to_vec(),
    }
}

/// Checks a decryption by a receiver that follows the fixture's chains as
/// state `r` does: only an undelivered fixture message decrypts, to its name.
fn check_decrypt(message: &[u8], result: &Result<Vec<u8>, SenderKeyError>) {
    let f = fixture();
    let genuine = f.messages.iter().find(|m| m.bytes == message);
    let ok = match (genuine, result) {
        (Some(m), Ok(p)) => !m.delivered && p == m.name.as_bytes(),
        (Some(m), Err(SenderKeyError::Replay)) => m.delivered,
        (Some(_), Err(_)) => false,
        (None, r) => r.is_err(),
    };
    assert!(
        ok,
        "group message {} gave {result:?} (fixture message: {:?})",
        to_hex(message),
        genuine.map(|m| (m.name, m.delivered))
    );
}

/// Decrypts with `receiver` and checks the outcome, the state after a
/// refusal, and that a success is not repeated.
fn decrypt_checked(receiver: &mut SenderKeyReceiver, message: &[u8]) {
    let before = receiver.to_bytes();
    let other = receiver.decrypt(&OTHER_CONTEXT, message);
    assert!(other.is_err(), "decrypted under another group id");
    assert_eq!(*receiver.to_bytes(), *before);
    let result = receiver.decrypt(&CONTEXT, message);
    check_decrypt(message, &result);
    if result.is_ok() {
        assert_eq!(
            receiver.decrypt(&CONTEXT, message),
            Err(SenderKeyError::Replay)
        );
    } else {
        assert_eq!(
            *receiver.to_bytes(),
            *before,
            "a refused message changed the state"
        );
    }
}

/// `SenderKeyReceiver::decrypt` of arbitrary bytes by the receiver `r`.
pub fn message(data: &[u8]) {
    let mut receiver = SenderKeyReceiver::from_bytes(&fixture().receiver).unwrap();
    decrypt_checked(&mut receiver, data);
}

/// `SenderKeyDistribution::from_bytes`; what decodes re-encodes identically,
/// starts a receiver, and added to `r` changes nothing about the chains `r`
/// already follows.
pub fn distribution(data: &[u8]) {
    let Ok(d) = SenderKeyDistribution::from_bytes(data) else {
        return;
    };
    assert_eq!(*d.to_bytes(), *data, "distribution re-encodes differently");
    let f = fixture();

    // A receiver started from it decrypts at most what the sender sent.
    let mut fresh = SenderKeyReceiver::new(&d);
    assert_eq!(fresh.chain_ids().collect::<Vec<_>>(), [d.chain_id()]);
    for m in &f.messages {
        let before = fresh.to_bytes();
        match fresh.decrypt(&CONTEXT, &m.bytes) {
            Ok(p) => assert_eq!(p, m.name.as_bytes()),
            Err(_) => assert_eq!(*fresh.to_bytes(), *before),
        }
    }
    if data == f.first.as_slice() {
        let mut r = SenderKeyReceiver::new(&d);
        for m in f.messages.iter().filter(|m| m.name.starts_with('g')) {
            assert_eq!(r.decrypt(&CONTEXT, &m.bytes).unwrap(), m.name.as_bytes());
        }
    }

    // Added to `r`: a known chain id is ignored, a new one changes nothing else.
    let mut r = SenderKeyReceiver::from_bytes(&f.receiver).unwrap();
    let known = r.chain_ids().any(|id| id == d.chain_id());
    r.add(&d);
    if known {
        assert_eq!(
            *r.to_bytes(),
            *f.receiver,
            "re-adding a known chain changed the state"
        );
    }
    for m in &f.messages {
        decrypt_checked(&mut r, &m.bytes);
    }
}

/// `SenderKey::from_bytes` and `SenderKeyReceiver::from_bytes` of the same
/// input. A decoded sender key encrypts what a receiver of its distribution
/// decrypts; a decoded receiver handles the fixture's messages without
/// panicking or changing on refusal, and still round-trips after use.
pub fn state(data: &[u8]) {
    if let Ok(mut key) = SenderKey::from_bytes(data) {
        assert_eq!(*key.to_bytes(), *data, "sender key re-encodes differently");
        let mut receiver = SenderKeyReceiver::new(&key.distribution());
        let iteration = key.iteration();
        match key.encrypt(&CONTEXT, b"from a decoded sender key") {
            Ok(m) => {
                assert_eq!(key.iteration(), iteration + 1);
                assert_eq!(
                    receiver.decrypt(&CONTEXT, &m).unwrap(),
                    b"from a decoded sender key"
                );
                assert_eq!(receiver.decrypt(&CONTEXT, &m), Err(SenderKeyError::Replay));
            }
            Err(e) => {
                assert_eq!(e, SenderKeyError::CounterExhausted);
                assert_eq!(*key.to_bytes(), *data);
            }
        }
        let bytes = key.to_bytes();
        assert_eq!(*SenderKey::from_bytes(&bytes).unwrap().to_bytes(), *bytes);
    }
    if let Ok(mut receiver) = SenderKeyReceiver::from_bytes(data) {
        assert_eq!(
            *receiver.to_bytes(),
            *data,
            "receiver re-encodes differently"
        );
        let f = fixture();
        for m in &f.messages {
            let before = receiver.to_bytes();
            match receiver.decrypt(&CONTEXT, &m.bytes) {
                Ok(p) => assert_eq!(p, m.name.as_bytes()),
                Err(_) => assert_eq!(*receiver.to_bytes(), *before),
            }
        }
        let bytes = receiver.to_bytes();
        let again = SenderKeyReceiver::from_bytes(&bytes).unwrap_or_else(|e| {
            panic!(
                "a used receiver no longer decodes ({e}): {}",
                to_hex(&bytes)
            )
        });
        assert_eq!(*again.to_bytes(), *bytes);
    }
}
