//! Test vectors: fixed keys and randomness → exact bytes.
//!
//! `tests/vectors/session-v1.json` pins identities, fingerprints, the safety
//! number, the signed prekey, a pairing code, and a five-message
//! conversation. Two checks run on it:
//!
//! 1. The library, fed the vector's randomness, must produce exactly the
//!    vector's bytes (the format cannot drift unnoticed).
//! 2. An independent re-derivation written from docs/protocol.md alone —
//!    raw X25519, HKDF, HMAC and ChaCha20-Poly1305, no library internals —
//!    must decrypt the vector's messages (the spec matches the code).
//!
//! Regenerate (only for a deliberate format change, with a new version):
//! `WREN_WRITE_VECTORS=1 cargo test -p wren-crypto --test vectors`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::VecDeque;
use std::convert::Infallible;

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_core::{TryCryptoRng, TryRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};
use wren_crypto::{
    IdentityKeyPair, NetworkHint, OutboundMessage, PairingCode, PrekeyBundle, PrekeyMessage,
    SafetyNumber, Session, SignedPrekeyPair,
};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/session-v1.json");

/// Hands out the vector's 32-byte random values in order; panics if the
/// library asks for randomness the vector does not list.
struct ScriptedRng(VecDeque<[u8; 32]>, Vec<u8>);

impl ScriptedRng {
    fn new(values: &[[u8; 32]]) -> Self {
        Self(values.iter().copied().collect(), Vec::new())
    }
}

impl TryRng for ScriptedRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        unreachable!("the library draws randomness only as 32-byte keys")
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        unreachable!("the library draws randomness only as 32-byte keys")
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        assert_eq!(dst.len(), 32, "unexpected randomness request");
        let v = self.0.pop_front().expect("vector randomness exhausted");
        self.1.extend_from_slice(&v);
        dst.copy_from_slice(&v);
        Ok(())
    }
}

impl TryCryptoRng for ScriptedRng {}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Vectors {
    description: String,
    alice_identity_seed: String,
    alice_identity_public: String,
    alice_peer_id: String,
    alice_fingerprint: String,
    bob_identity_seed: String,
    bob_identity_public: String,
    bob_fingerprint: String,
    safety_number: String,
    bob_signed_prekey_id: u32,
    bob_signed_prekey_created_at: u64,
    bob_signed_prekey_secret: String,
    bob_signed_prekey_public: String,
    bob_bundle: String,
    bob_pairing_code: String,
    alice_ephemeral_secret: String,
    x3dh_root_key: String,
    x3dh_chain_key: String,
    messages: Vec<VectorMessage>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct VectorMessage {
    from: String,
    kind: String,
    plaintext: String,
    /// Randomness the sender drew for this message (a new ratchet key), if any.
    ratchet_secret: Option<String>,
    bytes: String,
}

fn h(b: &[u8]) -> String {
    hex::encode(b)
}

fn unh32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn seed(label: &str) -> [u8; 32] {
    Sha256::digest(label.as_bytes()).into()
}

/// Runs the scripted conversation through the library.
fn generate() -> Vectors {
    let alice_seed = seed("wren vector alice identity");
    let bob_seed = seed("wren vector bob identity");
    let spk_secret = seed("wren vector bob signed prekey");
    let ephemeral = seed("wren vector alice ephemeral");
    let bob_ratchet_1 = seed("wren vector bob ratchet 1");
    let alice_ratchet_1 = seed("wren vector alice ratchet 1");

    let alice = IdentityKeyPair::from_secret_bytes(&alice_seed);
    let bob = IdentityKeyPair::from_secret_bytes(&bob_seed);
    let spk =
        SignedPrekeyPair::generate(&bob, 1, 1_767_225_600, &mut ScriptedRng::new(&[spk_secret]));
    let bundle = PrekeyBundle::new(*bob.public(), *spk.public(), None);
    let code = PairingCode::new(
        &bob,
        spk.public(),
        "Bob",
        vec![NetworkHint::Address("/ip4/192.0.2.1/tcp/4001".into())],
    )
    .unwrap();

    let mut a = Session::initiate(
        &alice,
        &bundle.verify().unwrap(),
        &mut ScriptedRng::new(&[ephemeral]),
    )
    .unwrap();
    let mut none = ScriptedRng::new(&[]);
    let mut messages = Vec::new();
    let mut record = |from: &str, pt: &[u8], ratchet: Option<[u8; 32]>, m: &OutboundMessage| {
        messages.push(VectorMessage {
            from: from.into(),
            kind: match m {
                OutboundMessage::Prekey(_) => "prekey".into(),
                OutboundMessage::Normal(_) => "normal".into(),
            },
            plaintext: h(pt),
            ratchet_secret: ratchet.map(|r| h(&r)),
            bytes: h(m.bytes()),
        });
    };

    let m1 = a.encrypt(b"Hello Bob", &mut none).unwrap();
    record("alice", b"Hello Bob", None, &m1);
    let m2 = a.encrypt(b"Are you there?", &mut none).unwrap();
    record("alice", b"Are you there?", None, &m2);
    let pm = PrekeyMessage::parse(m1.bytes()).unwrap();
    let (mut b, pt) = Session::respond(&bob, &spk, None, &pm).unwrap();
    assert_eq!(pt, b"Hello Bob");
    assert_eq!(b.decrypt(&m2.bytes()[70..]).unwrap(), b"Are you there?");
    let m3 = b
        .encrypt(b"Hi Alice", &mut ScriptedRng::new(&[bob_ratchet_1]))
        .unwrap();
    record("bob", b"Hi Alice", Some(bob_ratchet_1), &m3);
    assert_eq!(a.decrypt(m3.bytes()).unwrap(), b"Hi Alice");
    let m4 = a
        .encrypt(b"Ratchet step", &mut ScriptedRng::new(&[alice_ratchet_1]))
        .unwrap();
    record("alice", b"Ratchet step", Some(alice_ratchet_1), &m4);
    let m5 = a.encrypt(b"", &mut none).unwrap();
    record("alice", b"", None, &m5);

    // X3DH outputs, recomputed independently (see `independent`).
    let (root, chain) = independent_x3dh(
        &alice_seed,
        &bob.public().to_bytes(),
        &spk_secret,
        &ephemeral,
    );

    Vectors {
        description:
            "Wren session v1: identities, safety number, signed prekey, pairing code and a \
                      five-message conversation. All integers big-endian; see docs/protocol.md."
                .into(),
        alice_identity_seed: h(&alice_seed),
        alice_identity_public: h(alice.public().as_bytes()),
        alice_peer_id: alice.public().peer_id().to_string(),
        alice_fingerprint: alice.public().fingerprint().to_string(),
        bob_identity_seed: h(&bob_seed),
        bob_identity_public: h(bob.public().as_bytes()),
        bob_fingerprint: bob.public().fingerprint().to_string(),
        safety_number: SafetyNumber::new(alice.public(), bob.public()).to_string(),
        bob_signed_prekey_id: 1,
        bob_signed_prekey_created_at: 1_767_225_600,
        bob_signed_prekey_secret: h(&spk_secret),
        bob_signed_prekey_public: h(&spk.public().public_bytes()),
        bob_bundle: h(&bundle.to_bytes()),
        bob_pairing_code: code.to_uri(),
        alice_ephemeral_secret: h(&ephemeral),
        x3dh_root_key: h(&root),
        x3dh_chain_key: h(&chain),
        messages,
    }
}

// ---- Independent implementation from the spec -------------------------------------------

fn x25519_secret_from_ed25519_seed(seed: &[u8; 32]) -> [u8; 32] {
    Sha512::digest(seed)[..32].try_into().unwrap()
}

/// Ed25519 public → X25519 public: u = (1 + y) / (1 − y) mod p (RFC 7748 §4.1).
fn x25519_public_from_ed25519(public: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::VerifyingKey::from_bytes(public)
        .unwrap()
        .to_montgomery()
        .to_bytes()
}

fn dh(secret: &[u8; 32], public: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::x25519(*secret, *public)
}

fn hkdf(salt: Option<&[u8]>, ikm: &[u8], info: &[u8], len: usize) -> Vec<u8> {
    let mut okm = vec![0u8; len];
    Hkdf::<Sha256>::new(salt, ikm)
        .expand(info, &mut okm)
        .unwrap();
    okm
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    m.update(data);
    m.finalize().into_bytes().into()
}

fn independent_x3dh(
    alice_seed: &[u8; 32],
    bob_public: &[u8; 32],
    spk: &[u8; 32],
    ek: &[u8; 32],
) -> ([u8; 32], [u8; 32]) {
    let ika = x25519_secret_from_ed25519_seed(alice_seed);
    let spk_pub = x25519_dalek::x25519(*spk, x25519_dalek::X25519_BASEPOINT_BYTES);
    let ikb_pub = x25519_public_from_ed25519(bob_public);
    let mut ikm = vec![0xffu8; 32];
    ikm.extend_from_slice(&dh(&ika, &spk_pub));
    ikm.extend_from_slice(&dh(ek, &ikb_pub));
    ikm.extend_from_slice(&dh(ek, &spk_pub));
    let okm = hkdf(Some(&[0u8; 32]), &ikm, b"Wren X3DH v1", 64);
    (okm[..32].try_into().unwrap(), okm[32..].try_into().unwrap())
}

/// Opens a ratchet message with a chain key at its counter, per the spec.
fn open(chain_key: &[u8; 32], ad: &[u8; 64], message: &[u8]) -> Vec<u8> {
    let counter = u32::from_be_bytes(message[37..41].try_into().unwrap());
    let mut ck = *chain_key;
    for _ in 0..counter {
        ck = hmac(&ck, &[0x02]);
    }
    let mk = hmac(&ck, &[0x01]);
    let okm = hkdf(None, &mk, b"Wren Ratchet Message v1", 44);
    let cipher = ChaCha20Poly1305::new_from_slice(&okm[..32]).unwrap();
    let nonce: [u8; 12] = okm[32..].try_into().unwrap();
    let mut full_ad = ad.to_vec();
    full_ad.extend_from_slice(&message[..41]);
    cipher
        .decrypt(
            &nonce.into(),
            Payload {
                msg: &message[41..],
                aad: &full_ad,
            },
        )
        .expect("spec re-derivation must decrypt")
}

fn kdf_rk(root: &[u8; 32], dh_out: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let okm = hkdf(Some(root), dh_out, b"Wren Ratchet Root v1", 64);
    (okm[..32].try_into().unwrap(), okm[32..].try_into().unwrap())
}

#[test]
fn library_reproduces_the_vectors() {
    let generated = generate();
    if std::env::var_os("WREN_WRITE_VECTORS").is_some() {
        std::fs::write(
            PATH,
            serde_json::to_string_pretty(&generated).unwrap() + "\n",
        )
        .unwrap();
    }
    let pinned: Vectors = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    assert_eq!(generated, pinned);
}

#[test]
fn spec_rederivation_decrypts_the_vectors() {
    let v: Vectors = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let alice_pub = unh32(&v.alice_identity_public);
    let bob_pub = unh32(&v.bob_identity_public);
    let ek = unh32(&v.alice_ephemeral_secret);
    let (rk0, ck0) = independent_x3dh(
        &unh32(&v.alice_identity_seed),
        &bob_pub,
        &unh32(&v.bob_signed_prekey_secret),
        &ek,
    );
    assert_eq!(h(&rk0), v.x3dh_root_key);
    assert_eq!(h(&ck0), v.x3dh_chain_key);
    let mut ad = [0u8; 64];
    ad[..32].copy_from_slice(&alice_pub);
    ad[32..].copy_from_slice(&bob_pub);
    let ek_pub = x25519_dalek::x25519(ek, x25519_dalek::X25519_BASEPOINT_BYTES);

    // Messages 1 and 2: prekey messages on the X3DH chain key.
    for m in &v.messages[..2] {
        let bytes = hex::decode(&m.bytes).unwrap();
        assert_eq!(bytes[0], 1, "prekey message version");
        assert_eq!(&bytes[1..33], &alice_pub);
        assert_eq!(&bytes[33..65], &ek_pub);
        assert_eq!(
            u32::from_be_bytes(bytes[65..69].try_into().unwrap()),
            v.bob_signed_prekey_id
        );
        assert_eq!(bytes[69], 0, "no one-time prekey");
        let inner = &bytes[70..];
        assert_eq!(
            &inner[1..33],
            &ek_pub,
            "first ratchet key is the ephemeral key"
        );
        assert_eq!(open(&ck0, &ad, inner), hex::decode(&m.plaintext).unwrap());
    }
    // Message 3: Bob's first message; sending chain from a DH ratchet step.
    let b1 = unh32(v.messages[2].ratchet_secret.as_ref().unwrap());
    let (rk1, ck_b) = kdf_rk(&rk0, &dh(&b1, &ek_pub));
    let m3 = hex::decode(&v.messages[2].bytes).unwrap();
    assert_eq!(
        open(&ck_b, &ad, &m3),
        hex::decode(&v.messages[2].plaintext).unwrap()
    );
    // Message 4: Alice's DH ratchet step. Its receiving half reproduces
    // Bob's root and chain (DH(ek, B1) = DH(b1, EK)); its sending half
    // continues from that root with her new ratchet key A1.
    let b1_pub = x25519_dalek::x25519(b1, x25519_dalek::X25519_BASEPOINT_BYTES);
    assert_eq!(kdf_rk(&rk0, &dh(&ek, &b1_pub)), (rk1, ck_b));
    let a1 = unh32(v.messages[3].ratchet_secret.as_ref().unwrap());
    let (_rk2, ck_a1) = kdf_rk(&rk1, &dh(&a1, &b1_pub));
    for m in &v.messages[3..5] {
        let bytes = hex::decode(&m.bytes).unwrap();
        assert_eq!(
            u32::from_be_bytes(bytes[33..37].try_into().unwrap()),
            2,
            "previous chain length"
        );
        assert_eq!(
            open(&ck_a1, &ad, &bytes),
            hex::decode(&m.plaintext).unwrap()
        );
    }
    // Fingerprint from the spec: SHA-512(label ‖ key), six 40-bit groups mod 100000.
    let digest = Sha512::new()
        .chain_update(b"Wren Fingerprint v1")
        .chain_update(alice_pub)
        .finalize();
    let fp: Vec<String> = digest[..30]
        .chunks(5)
        .map(|c| {
            let mut w = [0u8; 8];
            w[3..].copy_from_slice(c);
            format!("{:05}", u64::from_be_bytes(w) % 100_000)
        })
        .collect();
    assert_eq!(fp.join(" "), v.alice_fingerprint);
}
