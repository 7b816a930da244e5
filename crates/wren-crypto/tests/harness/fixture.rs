//! One deterministic conversation between Alice and Bob, built once per
//! process, that the decoder targets use as their fixed receiver: Bob's
//! states at several points, and every message Alice sent with what it
//! should decrypt to.
//!
//! Alice starts session S1 with a bundle carrying one-time prekey 7 and
//! sends `p0`, `p1` (prekey messages). Bob accepts `p0` (state
//! `after_p0`), answers; Alice sends `a1 a2 a3` on a new chain (Bob reads
//! `a1 a3`), Bob answers, `a4 a5 a6` (Bob reads `a5`), Bob answers, `a7 a8`
//! (Bob reads `a7`): state `s1` is Bob's S1 with skipped keys (`a2 a4 a6`)
//! and three previous receiving chains. Alice then starts S2 with a bundle
//! without one-time prekey and sends `q0 q1`; Bob accepts `q0`: state
//! `final` is Bob's book with S2 active and S1 archived.

use std::sync::OnceLock;

use wren_crypto::{
    IdentityKeyPair, OneTimePrekeyPair, OutboundMessage, PrekeyBundle, PrekeyMessage, Session,
    SessionBook, SignedPrekeyPair, SignedPrekeys,
};

use super::common::TestRng;

/// The signed prekey's creation time, and "now" for lookups.
pub const NOW: u64 = 1_700_000_000;
/// Bob's one-time prekey id (consumed by S1).
pub const BOB_OTK_ID: u32 = 7;

/// A message Alice really sent.
pub struct Genuine {
    /// Its name in the module documentation (`p0`, `a3`, …).
    pub name: &'static str,
    /// Its bytes (for prekey messages, the whole prekey message; for
    /// ratchet messages, the ratchet message, embedded ones included).
    pub bytes: Vec<u8>,
    /// What it decrypts to: its name.
    pub plaintext: Vec<u8>,
    /// The session it belongs to: 1 or 2.
    pub session: u8,
}

/// One of Bob's states.
pub struct BobState {
    /// `empty`, `after_p0`, `s1` or `final`.
    pub name: &'static str,
    /// `SessionBook::to_bytes` (for `s1`, `Session::to_bytes`).
    pub bytes: Vec<u8>,
    /// Whether `bytes` is a single session rather than a book.
    pub is_session: bool,
    /// The sessions it holds.
    pub sessions: &'static [u8],
    /// Plaintexts of the messages it already decrypted.
    pub delivered: &'static [&'static str],
    /// Whether one-time prekey 7 is still unused.
    pub otk: bool,
}

/// What a genuine message does to a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Creates a session and decrypts.
    NewSession,
    /// Decrypts on a session the state already has.
    Decrypts,
    /// Refused as a replay.
    Replay,
    /// Refused (the state lacks its session).
    Fails,
}

impl BobState {
    fn delivered(&self, g: &Genuine) -> bool {
        self.delivered.iter().any(|d| d.as_bytes() == g.plaintext)
    }

    /// What `g`, handed to `receive_prekey`, does to this state.
    pub fn expect_prekey(&self, g: &Genuine) -> Expect {
        if !self.sessions.contains(&g.session) {
            Expect::NewSession
        } else if self.delivered(g) {
            Expect::Replay
        } else {
            Expect::Decrypts
        }
    }

    /// What `g`, handed to `decrypt`, does to this state.
    pub fn expect_ratchet(&self, g: &Genuine) -> Expect {
        if !self.sessions.contains(&g.session) {
            Expect::Fails
        } else if self.delivered(g) {
            Expect::Replay
        } else {
            Expect::Decrypts
        }
    }
}

/// Everything the decoder targets share.
pub struct Fixture {
    /// Alice's identity.
    pub alice: IdentityKeyPair,
    /// Bob's identity.
    pub bob: IdentityKeyPair,
    /// Bob's signed prekey (id 1).
    pub bob_spk: SignedPrekeyPair,
    /// Bob's one-time prekey ([`BOB_OTK_ID`]).
    pub bob_otk: OneTimePrekeyPair,
    /// Bob's bundle with the one-time prekey, encoded.
    pub bundle_with_otk: Vec<u8>,
    /// Bob's bundle without it, encoded.
    pub bundle_without_otk: Vec<u8>,
    /// Alice's prekey messages: `p0 p1` (S1), `q0 q1` (S2).
    pub prekey: Vec<Genuine>,
    /// Alice's ratchet messages: the ones embedded in the prekey messages
    /// and `a1`..`a8`.
    pub ratchet: Vec<Genuine>,
    /// Bob's states.
    pub states: Vec<BobState>,
    /// Alice's final book, encoded (a seed for the state decoders).
    pub alice_book: Vec<u8>,
    /// Bob's signed prekeys after one rotation, encoded.
    pub bob_signed_prekeys: Vec<u8>,
}

impl Fixture {
    /// The state with this name.
    pub fn state(&self, name: &str) -> &BobState {
        self.states.iter().find(|s| s.name == name).unwrap()
    }
}

/// The embedded ratchet message of a prekey message.
pub fn embedded(prekey_message: &[u8]) -> &[u8] {
    let at = if prekey_message[69] == 1 { 74 } else { 70 };
    &prekey_message[at..]
}

/// The fixture, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

fn build() -> Fixture {
    let mut rng = TestRng::new("wren fuzz fixture");
    let alice = IdentityKeyPair::generate(&mut rng);
    let bob = IdentityKeyPair::generate(&mut rng);
    let bob_spk = SignedPrekeyPair::generate(&bob, 1, NOW, &mut rng);
    let bob_otk = OneTimePrekeyPair::generate(BOB_OTK_ID, &mut rng);
    let with_otk = PrekeyBundle::new(*bob.public(), *bob_spk.public(), Some(*bob_otk.public()));
    let without_otk = PrekeyBundle::new(*bob.public(), *bob_spk.public(), None);

    let mut a = SessionBook::new(*bob.public());
    let mut b = SessionBook::new(*alice.public());
    let mut prekey = Vec::new();
    let mut ratchet = Vec::new();
    let mut states = Vec::new();

    let mut send = |a: &mut SessionBook, rng: &mut TestRng, name: &'static str, session: u8| {
        let plaintext = name.as_bytes().to_vec();
        let out = a.encrypt(&plaintext, rng).unwrap();
        let is_prekey = matches!(out, OutboundMessage::Prekey(_));
        let bytes = out.into_bytes();
        if is_prekey {
            ratchet.push(Genuine {
                name,
                bytes: embedded(&bytes).to_vec(),
                plaintext: plaintext.clone(),
                session,
            });
            prekey.push(Genuine {
                name,
                bytes: bytes.clone(),
                plaintext,
                session,
            });
        } else {
            ratchet.push(Genuine {
                name,
                bytes: bytes.clone(),
                plaintext,
                session,
            });
        }
        (is_prekey, bytes)
    };
    let receive_prekey = |b: &mut SessionBook, bytes: &[u8], otk: Option<&OneTimePrekeyPair>| {
        let pm = PrekeyMessage::parse(bytes).unwrap();
        b.receive_prekey(&bob, Some(&bob_spk), otk, &pm).unwrap();
    };
    let reply = |b: &mut SessionBook, a: &mut SessionBook, rng: &mut TestRng| {
        let m = b.encrypt(b"a reply from Bob", rng).unwrap();
        a.decrypt(m.bytes()).unwrap();
    };

    a.initiate(&alice, &with_otk.verify().unwrap(), &mut rng)
        .unwrap();
    let (_, p0) = send(&mut a, &mut rng, "p0", 1);
    let (_, p1) = send(&mut a, &mut rng, "p1", 1);
    drop(p1);
    states.push(BobState {
        name: "empty",
        bytes: b.to_bytes().to_vec(),
        is_session: false,
        sessions: &[],
        delivered: &[],
        otk: true,
    });
    receive_prekey(&mut b, &p0, Some(&bob_otk));
    states.push(BobState {
        name: "after_p0",
        bytes: b.to_bytes().to_vec(),
        is_session: false,
        sessions: &[1],
        delivered: &["p0"],
        otk: false,
    });
    reply(&mut b, &mut a, &mut rng);
    let mut normal = |a: &mut SessionBook, rng: &mut TestRng, name| send(a, rng, name, 1).1;
    let a1 = normal(&mut a, &mut rng, "a1");
    let _a2 = normal(&mut a, &mut rng, "a2");
    let a3 = normal(&mut a, &mut rng, "a3");
    b.decrypt(&a1).unwrap();
    b.decrypt(&a3).unwrap();
    reply(&mut b, &mut a, &mut rng);
    let _a4 = normal(&mut a, &mut rng, "a4");
    let a5 = normal(&mut a, &mut rng, "a5");
    let _a6 = normal(&mut a, &mut rng, "a6");
    b.decrypt(&a5).unwrap();
    reply(&mut b, &mut a, &mut rng);
    let a7 = normal(&mut a, &mut rng, "a7");
    let _a8 = normal(&mut a, &mut rng, "a8");
    b.decrypt(&a7).unwrap();
    let s1 = b.active().unwrap().to_bytes();
    assert_eq!(*Session::from_bytes(&s1).unwrap().to_bytes(), *s1);
    states.push(BobState {
        name: "s1",
        bytes: s1.to_vec(),
        is_session: true,
        sessions: &[1],
        delivered: &["p0", "a1", "a3", "a5", "a7"],
        otk: false,
    });

    a.initiate(&alice, &without_otk.verify().unwrap(), &mut rng)
        .unwrap();
    let (_, q0) = send(&mut a, &mut rng, "q0", 2);
    let _q1 = send(&mut a, &mut rng, "q1", 2);
    receive_prekey(&mut b, &q0, None);
    assert_eq!(b.archived_len(), 1);
    states.push(BobState {
        name: "final",
        bytes: b.to_bytes().to_vec(),
        is_session: false,
        sessions: &[1, 2],
        delivered: &["p0", "a1", "a3", "a5", "a7", "q0"],
        otk: false,
    });
    let mut keys = SignedPrekeys::new(&bob, NOW, &mut rng);
    keys.rotate(&bob, NOW + 1, &mut rng);
    Fixture {
        bundle_with_otk: with_otk.to_bytes(),
        bundle_without_otk: without_otk.to_bytes(),
        alice_book: a.to_bytes().to_vec(),
        bob_signed_prekeys: keys.to_bytes().to_vec(),
        alice,
        bob,
        bob_spk,
        bob_otk,
        prekey,
        ratchet,
        states,
    }
}
