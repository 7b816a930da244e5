//! Identities, fingerprints, safety numbers, prekeys and pairing codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Party, TestRng};
use data_encoding::BASE32_NOPAD;
use sha2::{Digest, Sha256};
use wren_crypto::limits::{
    MAX_DISPLAY_NAME_BYTES, MAX_NETWORK_HINT_BYTES, MAX_NETWORK_HINTS, MAX_PAIRING_CODE_CHARS,
    SIGNED_PREKEY_GRACE_SECS, SIGNED_PREKEY_ROTATION_SECS,
};
use wren_crypto::{
    DecodeError, IdentityKey, IdentityKeyPair, NetworkHint, PairingCode, PairingCodeError,
    PrekeyBundle, SafetyNumber, SessionError, SignedPrekeys,
};

#[test]
fn peer_id_is_derived_from_the_identity_and_back() {
    let mut rng = TestRng::new("peer id");
    let id = IdentityKeyPair::generate(&mut rng);
    let peer = id.public().peer_id();
    assert_eq!(peer, id.to_libp2p_keypair().public().to_peer_id());
    assert!(peer.to_string().starts_with("12D3KooW"));
    assert_eq!(&IdentityKey::from_peer_id(&peer).unwrap(), id.public());
}

#[test]
fn identity_restores_from_its_secret() {
    let mut rng = TestRng::new("restore");
    let id = IdentityKeyPair::generate(&mut rng);
    let again = IdentityKeyPair::from_secret_bytes(&id.secret_bytes());
    assert_eq!(id.public(), again.public());
    let sig = again.sign(b"m");
    assert!(id.public().verify(b"m", &sig));
    assert!(!id.public().verify(b"n", &sig));
}

#[test]
fn invalid_identity_keys_are_rejected() {
    // Encodings that are not points: some y have no x on the curve.
    let not_points: Vec<[u8; 32]> = (2u8..40)
        .map(|y| {
            let mut b = [0u8; 32];
            b[0] = y;
            b
        })
        .filter(|b| {
            curve25519_dalek::edwards::CompressedEdwardsY(*b)
                .decompress()
                .is_none()
        })
        .collect();
    assert!(!not_points.is_empty());
    for b in &not_points {
        assert_eq!(
            IdentityKey::from_bytes(b),
            Err(DecodeError::InvalidKey("identity"))
        );
    }
    // The identity point (small order) is refused.
    let mut identity_point = [0u8; 32];
    identity_point[0] = 1;
    assert_eq!(
        IdentityKey::from_bytes(&identity_point),
        Err(DecodeError::InvalidKey("identity"))
    );
    assert!(IdentityKey::from_slice(&[1; 31]).is_err());
}

#[test]
fn fingerprint_and_safety_number_are_stable_and_symmetric() {
    let mut rng = TestRng::new("safety");
    let a = IdentityKeyPair::generate(&mut rng);
    let b = IdentityKeyPair::generate(&mut rng);
    let fp = a.public().fingerprint();
    assert_eq!(fp.digits().len(), 30);
    assert_eq!(fp.to_string().split(' ').count(), 6);
    assert!(fp.digits().bytes().all(|c| c.is_ascii_digit()));
    let ab = SafetyNumber::new(a.public(), b.public());
    let ba = SafetyNumber::new(b.public(), a.public());
    assert_eq!(ab, ba);
    assert_eq!(ab.to_string(), ba.to_string());
    assert_eq!(ab.digits().len(), 60);
    assert!(ab.digits().contains(&fp.digits()));
    let c = IdentityKeyPair::generate(&mut rng);
    assert_ne!(ab, SafetyNumber::new(a.public(), c.public()));
}

#[test]
fn bundle_with_a_forged_prekey_signature_is_refused() {
    let mut rng = TestRng::new("forged bundle");
    let bob = Party::new(&mut rng);
    let mallory = Party::new(&mut rng);
    // Bob's identity with Mallory's prekey (signed by Mallory).
    let bundle = PrekeyBundle::new(*bob.identity.public(), *mallory.spk.public(), None);
    assert_eq!(bundle.verify(), Err(SessionError::BadPrekeySignature));
    let good = PrekeyBundle::new(*bob.identity.public(), *bob.spk.public(), None);
    assert_eq!(PrekeyBundle::from_bytes(&good.to_bytes()).unwrap(), good);
    let mut bytes = good.to_bytes();
    bytes.push(0);
    assert_eq!(
        PrekeyBundle::from_bytes(&bytes),
        Err(DecodeError::TrailingBytes(1))
    );
}

#[test]
fn signed_prekeys_rotate_with_a_grace_period() {
    let mut rng = TestRng::new("rotation");
    let id = IdentityKeyPair::generate(&mut rng);
    let t0 = 1_700_000_000;
    let mut keys = SignedPrekeys::new(&id, t0, &mut rng);
    let first = keys.current().public().id();
    assert!(!keys.needs_rotation(t0 + SIGNED_PREKEY_ROTATION_SECS - 1));
    assert!(keys.needs_rotation(t0 + SIGNED_PREKEY_ROTATION_SECS));
    let t1 = t0 + SIGNED_PREKEY_ROTATION_SECS;
    keys.rotate(&id, t1, &mut rng);
    let second = keys.current().public().id();
    assert_ne!(first, second);
    keys.current().public().verify(id.public()).unwrap();
    assert!(
        keys.get(first, t1 + SIGNED_PREKEY_GRACE_SECS - 1).is_some(),
        "previous key valid in grace period"
    );
    assert!(
        keys.get(first, t1 + SIGNED_PREKEY_GRACE_SECS).is_none(),
        "previous key expires after grace period"
    );
    assert!(keys.get(second, u64::MAX).is_some());
    let restored = SignedPrekeys::from_bytes(&keys.to_bytes()).unwrap();
    assert_eq!(restored.current().public(), keys.current().public());
    assert!(restored.get(first, t1).is_some());
    // A second rotation drops the oldest key.
    keys.rotate(&id, t1 + 1, &mut rng);
    assert!(keys.get(first, t1 + 1).is_none());
}

fn code(
    rng: &mut TestRng,
    name: &str,
    hints: Vec<NetworkHint>,
) -> (IdentityKeyPair, Result<PairingCode, PairingCodeError>) {
    let id = IdentityKeyPair::generate(rng);
    let keys = SignedPrekeys::new(&id, 1_700_000_000, rng);
    let code = PairingCode::new(&id, keys.current().public(), name, hints);
    (id, code)
}

fn hints() -> Vec<NetworkHint> {
    vec![
        NetworkHint::Address("/ip4/192.0.2.7/tcp/4001".into()),
        NetworkHint::Address("/ip4/192.0.2.7/udp/4001/quic-v1".into()),
        NetworkHint::Relay("/dns4/relay.example.org/tcp/4001/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp".into()),
    ]
}

#[test]
fn pairing_code_round_trips_and_fits_a_qr_code() {
    let mut rng = TestRng::new("pairing");
    let (id, code) = code(&mut rng, "Ada Lovelace ✨", hints());
    let code = code.unwrap();
    let uri = code.to_uri();
    assert!(uri.starts_with("wren:1/"));
    // QR version 40-L holds 4296 alphanumeric characters; a code with
    // three addresses is far below that.
    assert!(uri.len() < 1000, "{} chars", uri.len());
    let parsed = PairingCode::parse(&uri).unwrap();
    assert_eq!(parsed, code);
    assert_eq!(parsed.identity(), id.public());
    assert_eq!(parsed.display_name(), "Ada Lovelace ✨");
    assert_eq!(parsed.hints(), hints().as_slice());
    // Case and surrounding whitespace do not matter.
    assert_eq!(
        PairingCode::parse(&format!("  {}\n", uri.to_uppercase())).unwrap(),
        code
    );
    assert_eq!(PairingCode::parse(&uri.to_lowercase()).unwrap(), code);
    // The bundle it yields starts a session.
    let mut alice = wren_crypto::Session::initiate(
        &IdentityKeyPair::generate(&mut rng),
        &parsed.bundle(),
        &mut rng,
    )
    .unwrap();
    alice.encrypt(b"hi", &mut rng).unwrap();
}

#[test]
fn malformed_pairing_codes_are_refused_with_typed_errors() {
    let mut rng = TestRng::new("pairing errors");
    let (_, c) = code(&mut rng, "Bob", vec![]);
    let uri = c.unwrap().to_uri();
    assert_eq!(
        PairingCode::parse("https://example.org"),
        Err(PairingCodeError::NotAWrenCode)
    );
    assert_eq!(PairingCode::parse(""), Err(PairingCodeError::NotAWrenCode));
    assert_eq!(
        PairingCode::parse("wren:"),
        Err(PairingCodeError::BadEncoding)
    );
    assert_eq!(
        PairingCode::parse(&uri.replacen("wren:1/", "wren:2/", 1)),
        Err(PairingCodeError::UnsupportedVersion("2".into()))
    );
    assert_eq!(
        PairingCode::parse(&format!("{uri}!")),
        Err(PairingCodeError::BadEncoding)
    );
    let long = format!("wren:1/{}", "A".repeat(MAX_PAIRING_CODE_CHARS));
    assert!(matches!(
        PairingCode::parse(&long),
        Err(PairingCodeError::TooLong { .. })
    ));
    // A typo anywhere in the payload is caught by the checksum (or by base32).
    let payload_at = "wren:1/".len();
    for i in payload_at..uri.len() {
        let mut bytes = uri.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let typo = String::from_utf8(bytes).unwrap();
        let err = PairingCode::parse(&typo).unwrap_err();
        assert!(
            matches!(
                err,
                PairingCodeError::BadChecksum | PairingCodeError::BadEncoding
            ),
            "at {i}: {err:?}"
        );
    }
    // Truncation.
    assert!(PairingCode::parse(&uri[..uri.len() - 8]).is_err());
}

/// Re-encodes a payload with a valid checksum, to reach the checks behind it.
fn with_checksum(body_and_sig: &[u8]) -> String {
    let mut p = body_and_sig.to_vec();
    let sum = Sha256::digest(&p);
    p.extend_from_slice(&sum[..4]);
    format!("wren:1/{}", BASE32_NOPAD.encode(&p))
}

fn payload(uri: &str) -> Vec<u8> {
    let p = BASE32_NOPAD
        .decode(&uri.as_bytes()["wren:1/".len()..])
        .unwrap();
    p[..p.len() - 4].to_vec()
}

#[test]
fn unsigned_or_badly_signed_codes_are_refused() {
    let mut rng = TestRng::new("pairing signatures");
    let (_, c) = code(&mut rng, "Carol", hints());
    let p = payload(&c.unwrap().to_uri());
    // Signature zeroed: checksum fixed up, so only the signature check can catch it.
    let mut unsigned = p.clone();
    let n = unsigned.len();
    unsigned[n - 64..].fill(0);
    assert_eq!(
        PairingCode::parse(&with_checksum(&unsigned)),
        Err(PairingCodeError::BadSignature)
    );
    // A changed display name with the original signature.
    let mut renamed = p.clone();
    let name_at = 1 + 32 + 108 + 1;
    renamed[name_at] = b'K';
    assert_eq!(
        PairingCode::parse(&with_checksum(&renamed)),
        Err(PairingCodeError::BadSignature)
    );
    // Someone else's prekey, re-signed as a whole by the identity, is caught by the prekey signature.
    let (mallory, mc) = code(&mut rng, "Mallory", vec![]);
    let mp = payload(&mc.unwrap().to_uri());
    let mut body = mp[..mp.len() - 64].to_vec();
    let other = SignedPrekeys::new(&IdentityKeyPair::generate(&mut rng), 1, &mut rng);
    let mut spk = Vec::new();
    spk.extend_from_slice(&other.current().public().id().to_be_bytes());
    spk.extend_from_slice(&other.current().public().created_at().to_be_bytes());
    spk.extend_from_slice(&other.current().public().public_bytes());
    body[33..33 + 44].copy_from_slice(&spk);
    let mut signed = b"Wren Pairing Code v1".to_vec();
    signed.extend_from_slice(&body);
    let sig = mallory.sign(&signed);
    body.extend_from_slice(&sig);
    assert_eq!(
        PairingCode::parse(&with_checksum(&body)),
        Err(PairingCodeError::BadPrekeySignature)
    );
    // Trailing bytes inside the signed body.
    let mut trailing = p[..p.len() - 64].to_vec();
    trailing.push(0);
    trailing.extend_from_slice(&[0; 64]);
    assert!(matches!(
        PairingCode::parse(&with_checksum(&trailing)),
        Err(PairingCodeError::Malformed(DecodeError::TrailingBytes(1)))
    ));
}

#[test]
fn pairing_code_limits() {
    let mut rng = TestRng::new("pairing limits");
    let max_name = "n".repeat(MAX_DISPLAY_NAME_BYTES);
    let max_hint = format!("/dns4/{}", "h".repeat(MAX_NETWORK_HINT_BYTES - 6));
    let max_hints = vec![NetworkHint::Address(max_hint.clone()); MAX_NETWORK_HINTS];
    let (_, c) = code(&mut rng, &max_name, max_hints.clone());
    let uri = c.unwrap().to_uri();
    assert!(
        uri.len() <= MAX_PAIRING_CODE_CHARS,
        "largest valid code must parse: {} chars",
        uri.len()
    );
    assert_eq!(
        PairingCode::parse(&uri).unwrap().hints().len(),
        MAX_NETWORK_HINTS
    );

    let (_, c) = code(&mut rng, &format!("{max_name}n"), vec![]);
    assert_eq!(c.unwrap_err(), PairingCodeError::BadDisplayName);
    let (_, c) = code(&mut rng, "", vec![]);
    assert_eq!(c.unwrap_err(), PairingCodeError::BadDisplayName);
    let (_, c) = code(&mut rng, "tab\tname", vec![]);
    assert_eq!(c.unwrap_err(), PairingCodeError::BadDisplayName);
    let mut too_many = max_hints;
    too_many.push(NetworkHint::Address("/ip4/192.0.2.1/tcp/1".into()));
    let (_, c) = code(&mut rng, "x", too_many);
    assert!(matches!(
        c.unwrap_err(),
        PairingCodeError::Malformed(DecodeError::TooLong { .. })
    ));
    let (_, c) = code(
        &mut rng,
        "x",
        vec![NetworkHint::Address(format!("{max_hint}h"))],
    );
    assert!(matches!(
        c.unwrap_err(),
        PairingCodeError::Malformed(DecodeError::TooLong { .. })
    ));
}
