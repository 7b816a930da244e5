//! Wren's session cryptography measured side by side with vodozemac 0.11.1
//! (Olm and Megolm) in the same run, on the same machine, with the same
//! message sizes. docs/benchmarks.md explains each group and records results.
//!
//! Every group has a `wren` and a `vodozemac` function. Both sides take bytes
//! in and give bytes out: vodozemac messages are serialized with
//! `to_parts`/`to_bytes` and parsed back with `from_parts`/`from_bytes`, as
//! Wren's messages are, so both pay for their wire format.
//!
//! Two modes:
//! - criterion (the default):
//!   `cargo bench -p wren-crypto --bench session -- --warm-up-time 1 --measurement-time 3`
//! - paired (`WREN_BENCH_PAIRED=1 cargo bench -p wren-crypto --bench session`;
//!   a value other than `1` selects the groups whose name contains it):
//!   the same routines, run in alternating short blocks so that both sides of
//!   a comparison see the same machine load; prints the median of the
//!   per-round ratios. Use it on a shared or noisy machine, where load
//!   changes between criterion's (sequential) functions skew their ratio.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a benchmark harness: any failure must abort the run loudly"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use chacha20poly1305::aead::{AeadInOut, KeyInit as AeadKeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use criterion::{Criterion, Throughput};
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use vodozemac::megolm::{
    GroupSession, InboundGroupSession, MegolmMessage, SessionConfig as MegolmConfig,
};
use vodozemac::olm::{Account, OlmMessage, Session as OlmSession, SessionConfig as OlmConfig};
use wren_crypto::sender_key::{SenderKey, SenderKeyReceiver};
use wren_crypto::{
    IdentityKeyPair, OneTimePrekeyPair, OutboundMessage, PrekeyBundle, PrekeyMessage, Session,
    SignedPrekeyPair, VerifiedBundle,
};

/// The message size of every group except the 64 KiB one.
const SMALL: usize = 100;
/// The large message size (Wren's maximum plaintext).
const LARGE: usize = 64 * 1024;

/// vodozemac's Olm configuration. `version_2` (untruncated MAC) exists only
/// behind vodozemac's `experimental-session-config` feature; version 1 runs
/// the same computation (the full HMAC-SHA256 is computed, then 8 bytes of it
/// are sent), so the cost is the same.
fn olm_config() -> OlmConfig {
    OlmConfig::version_1()
}

/// See [`olm_config`]; the same holds for Megolm.
fn megolm_config() -> MegolmConfig {
    MegolmConfig::version_1()
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A measured routine, as criterion's `iter_custom` takes it: run `iters`
/// iterations, return the time of the measured part only.
type Routine = Box<dyn FnMut(u64) -> Duration>;

/// Times `iters` calls of `op`.
fn timed<O>(mut op: impl FnMut() -> O + 'static) -> Routine {
    Box::new(move |iters| {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(op());
        }
        start.elapsed()
    })
}

/// One comparison: a criterion group of functions measured in the same run.
struct Group {
    name: &'static str,
    throughput: Option<Throughput>,
    functions: Vec<(&'static str, Routine)>,
}

// ---------------------------------------------------------------------------
// Wren set-up

/// Bob's long-term keys and his verified bundle (no one-time prekey).
struct WrenBob {
    identity: IdentityKeyPair,
    signed_prekey: SignedPrekeyPair,
    bundle: VerifiedBundle,
}

fn wren_bob() -> WrenBob {
    let mut rng = rand::rng();
    let identity = IdentityKeyPair::generate(&mut rng);
    let signed_prekey = SignedPrekeyPair::generate(&identity, 1, 1_800_000_000, &mut rng);
    let bundle = PrekeyBundle::new(*identity.public(), *signed_prekey.public(), None)
        .verify()
        .unwrap();
    WrenBob {
        identity,
        signed_prekey,
        bundle,
    }
}

/// An established Wren session pair: Alice started it, Bob answered once and
/// Alice decrypted the answer, so both now send normal messages.
fn wren_pair() -> (Session, Session) {
    let mut rng = rand::rng();
    let alice = IdentityKeyPair::generate(&mut rng);
    let bob = wren_bob();
    let mut a = Session::initiate(&alice, &bob.bundle, &mut rng).unwrap();
    let OutboundMessage::Prekey(first) = a.encrypt(b"hello", &mut rng).unwrap() else {
        panic!("the first message of a session must be a prekey message");
    };
    let first = PrekeyMessage::parse(&first).unwrap();
    let (mut b, _) = Session::respond(&bob.identity, &bob.signed_prekey, None, &first).unwrap();
    let reply = b.encrypt(b"hi", &mut rng).unwrap();
    assert!(matches!(reply, OutboundMessage::Normal(_)));
    assert_eq!(a.decrypt(reply.bytes()).unwrap(), b"hi");
    let next = a.encrypt(b"past prekey", &mut rng).unwrap();
    assert!(matches!(next, OutboundMessage::Normal(_)));
    b.decrypt(next.bytes()).unwrap();
    (a, b)
}

/// One Wren message from `from` to `to`, as bytes on the wire.
fn wren_send(from: &mut Session, to: &mut Session, pt: &[u8]) -> Vec<u8> {
    let mut rng = rand::rng();
    let wire = from.encrypt(pt, &mut rng).unwrap().into_bytes();
    to.decrypt(black_box(&wire)).unwrap()
}

// ---------------------------------------------------------------------------
// vodozemac set-up

/// A fresh one-time key of `account`, marked as published.
fn olm_one_time_key(account: &mut Account) -> vodozemac::Curve25519PublicKey {
    let key = account.generate_one_time_keys(1).created[0];
    account.mark_keys_as_published();
    key
}

/// An established Olm session pair: Alice created the outbound session, Bob
/// the inbound one from her pre-key message, Bob replied and Alice decrypted
/// the reply, so both now send normal messages.
fn olm_pair() -> (OlmSession, OlmSession) {
    let alice = Account::new();
    let mut bob = Account::new();
    let otk = olm_one_time_key(&mut bob);
    let mut a = alice
        .create_outbound_session(olm_config(), bob.curve25519_key(), otk)
        .unwrap();
    let OlmMessage::PreKey(first) = a.encrypt("hello").unwrap() else {
        panic!("the first Olm message must be a pre-key message");
    };
    let mut b = bob
        .create_inbound_session(olm_config(), alice.curve25519_key(), &first)
        .unwrap()
        .session;
    let reply = b.encrypt("hi").unwrap();
    assert!(matches!(reply, OlmMessage::Normal(_)));
    assert_eq!(a.decrypt(&reply).unwrap(), b"hi");
    let next = a.encrypt("past pre-key").unwrap();
    assert!(matches!(next, OlmMessage::Normal(_)));
    b.decrypt(&next).unwrap();
    (a, b)
}

/// One Olm message from `from` to `to`, through its wire form.
fn olm_send(from: &mut OlmSession, to: &mut OlmSession, pt: &[u8]) -> Vec<u8> {
    let (kind, wire) = from.encrypt(pt).unwrap().to_parts();
    let message = OlmMessage::from_parts(kind, black_box(&wire)).unwrap();
    to.decrypt(&message).unwrap()
}

// ---------------------------------------------------------------------------
// The floor: the primitives one Wren message needs, and nothing else.

type HmacSha256 = Hmac<Sha256>;

/// Associated data as large as Wren's: both identities (64) and the header (41).
const FLOOR_AD_LEN: usize = 64 + wren_crypto::HEADER_LEN;

fn hmac(key: &[u8; 32], input: u8) -> [u8; 32] {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap();
    mac.update(&[input]);
    mac.finalize().into_bytes().into()
}

/// Message key → ChaCha20-Poly1305 key and nonce (HKDF-SHA256, 44 bytes).
fn hkdf(mk: &[u8; 32]) -> ([u8; 32], [u8; 12]) {
    let mut okm = [0u8; 44];
    Hkdf::<Sha256>::new(None, mk)
        .expand(b"floor message v1", &mut okm)
        .unwrap();
    let mut key = [0u8; 32];
    let mut nonce = [0u8; 12];
    key.copy_from_slice(&okm[..32]);
    nonce.copy_from_slice(&okm[32..]);
    (key, nonce)
}

/// Both chain steps (2 HMAC each side), both key expansions (1 HKDF each
/// side), one seal and one open of `buf`.
fn floor_message(send_ck: &mut [u8; 32], recv_ck: &mut [u8; 32], ad: &[u8], buf: &mut [u8]) {
    // Sender.
    let mk = hmac(send_ck, 0x01);
    *send_ck = hmac(send_ck, 0x02);
    let (key, nonce) = hkdf(&mk);
    let tag = ChaCha20Poly1305::new(&key.into())
        .encrypt_inout_detached(&Nonce::from(nonce), ad, (&mut *buf).into())
        .unwrap();
    // Receiver.
    let mk = hmac(recv_ck, 0x01);
    *recv_ck = hmac(recv_ck, 0x02);
    let (key, nonce) = hkdf(&mk);
    ChaCha20Poly1305::new(&key.into())
        .decrypt_inout_detached(&Nonce::from(nonce), ad, buf.into(), &Tag::from(tag))
        .unwrap();
}

// ---------------------------------------------------------------------------
// 1:1 groups

/// One message A→B per iteration on an established session where A keeps
/// sending: no DH ratchet step, normal (not prekey) messages on both sides.
fn one_direction(name: &'static str, len: usize, with_floor: bool) -> Group {
    let pt = plaintext(len);
    let mut functions = Vec::new();

    let (mut a, mut b) = wren_pair();
    let p = pt.clone();
    functions.push((
        "wren",
        timed(move || wren_send(&mut a, &mut b, black_box(&p))),
    ));

    let (mut a, mut b) = olm_pair();
    let p = pt.clone();
    functions.push((
        "vodozemac",
        timed(move || olm_send(&mut a, &mut b, black_box(&p))),
    ));

    if with_floor {
        let mut send_ck = [7u8; 32];
        let mut recv_ck = [7u8; 32];
        let ad = [0x5a_u8; FLOOR_AD_LEN];
        let mut buf = pt.clone();
        floor_message(&mut send_ck, &mut recv_ck, &ad, &mut buf);
        assert_eq!(buf, pt, "the floor must round-trip");
        functions.push((
            "floor",
            timed(move || {
                floor_message(
                    &mut send_ck,
                    &mut recv_ck,
                    black_box(&ad),
                    black_box(&mut buf),
                );
            }),
        ));
    }
    Group {
        name,
        throughput: Some(Throughput::Bytes(len as u64)),
        functions,
    }
}

/// One iteration is a round trip: A→B then B→A. Every message answers the
/// other side's newest ratchet key, so every message carries a DH ratchet step.
fn ping_pong_100b() -> Group {
    let pt = plaintext(SMALL);

    let (mut a, mut b) = wren_pair();
    let p = pt.clone();
    let wren = timed(move || {
        black_box(wren_send(&mut a, &mut b, black_box(&p)));
        wren_send(&mut b, &mut a, black_box(&p))
    });

    let (mut a, mut b) = olm_pair();
    let vodozemac = timed(move || {
        black_box(olm_send(&mut a, &mut b, black_box(&pt)));
        olm_send(&mut b, &mut a, black_box(&pt))
    });

    Group {
        name: "ping_pong_100B",
        throughput: Some(Throughput::Elements(2)),
        functions: vec![("wren", wren), ("vodozemac", vodozemac)],
    }
}

/// Alice starts a session from Bob's verified bundle and encrypts a first
/// message; Bob parses it and creates his side, which decrypts it.
fn session_setup() -> Group {
    let pt = plaintext(SMALL);
    let mut functions = Vec::new();
    let mut rng = rand::rng();

    let alice = IdentityKeyPair::generate(&mut rng);
    let bob = wren_bob();
    let p = pt.clone();
    functions.push((
        "wren",
        timed(move || {
            let mut rng = rand::rng();
            let mut a = Session::initiate(&alice, &bob.bundle, &mut rng).unwrap();
            let wire = a.encrypt(black_box(&p), &mut rng).unwrap().into_bytes();
            let first = PrekeyMessage::parse(black_box(&wire)).unwrap();
            let (b, got) =
                Session::respond(&bob.identity, &bob.signed_prekey, None, &first).unwrap();
            (a, b, got)
        }),
    ));

    // Bob needs a fresh one-time key for every session; making it is not timed.
    let alice = Account::new();
    let mut bob = Account::new();
    let bob_identity = bob.curve25519_key();
    let alice_identity = alice.curve25519_key();
    let p = pt.clone();
    functions.push((
        "vodozemac",
        Box::new(move |iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let otk = olm_one_time_key(&mut bob);
                let start = Instant::now();
                let mut a = alice
                    .create_outbound_session(olm_config(), bob_identity, otk)
                    .unwrap();
                let (kind, wire) = a.encrypt(black_box(&p)).unwrap().to_parts();
                let OlmMessage::PreKey(first) =
                    OlmMessage::from_parts(kind, black_box(&wire)).unwrap()
                else {
                    panic!("the first Olm message must be a pre-key message");
                };
                let inbound = bob
                    .create_inbound_session(olm_config(), alice_identity, &first)
                    .unwrap();
                total += start.elapsed();
                black_box((a, inbound));
            }
            total
        }),
    ));

    // For information: with a one-time prekey Wren adds a fourth DH on each
    // side (Olm's three DHs correspond to Wren's three without one).
    let alice = IdentityKeyPair::generate(&mut rng);
    let bob = wren_bob();
    let otk = OneTimePrekeyPair::generate(1, &mut rng);
    let bundle = PrekeyBundle::new(
        *bob.identity.public(),
        *bob.signed_prekey.public(),
        Some(*otk.public()),
    )
    .verify()
    .unwrap();
    functions.push((
        "wren_one_time_prekey",
        timed(move || {
            let mut rng = rand::rng();
            let mut a = Session::initiate(&alice, &bundle, &mut rng).unwrap();
            let wire = a.encrypt(black_box(&pt), &mut rng).unwrap().into_bytes();
            let first = PrekeyMessage::parse(black_box(&wire)).unwrap();
            let (b, got) =
                Session::respond(&bob.identity, &bob.signed_prekey, Some(&otk), &first).unwrap();
            (a, b, got)
        }),
    ));

    Group {
        name: "session_setup",
        throughput: None,
        functions,
    }
}

// ---------------------------------------------------------------------------
// Group messages: Wren's sender keys against Megolm

/// The 32-byte group context a sender key message is bound to.
const GROUP_CONTEXT: [u8; 32] = [0x42; 32];

fn sender_key_encrypt_100b() -> Group {
    let pt = plaintext(SMALL);

    let mut sk = SenderKey::generate(&mut rand::rng());
    let p = pt.clone();
    let wren = timed(move || sk.encrypt(&GROUP_CONTEXT, black_box(&p)).unwrap());

    let mut megolm = GroupSession::new(megolm_config());
    let vodozemac = timed(move || megolm.encrypt(black_box(&pt)).to_bytes());

    Group {
        name: "sender_key_encrypt_100B",
        throughput: None,
        functions: vec![("wren", wren), ("vodozemac", vodozemac)],
    }
}

/// Decrypts fresh messages, each once, in the order they were sent; making
/// them is not timed. Each batch gets a receiver that starts at the batch's
/// first message.
fn sender_key_decrypt_100b() -> Group {
    let pt = plaintext(SMALL);

    let mut sk = SenderKey::generate(&mut rand::rng());
    let p = pt.clone();
    let wren: Routine = Box::new(move |iters| {
        let mut receiver = SenderKeyReceiver::new(&sk.distribution());
        let batch: Vec<Vec<u8>> = (0..iters)
            .map(|_| sk.encrypt(&GROUP_CONTEXT, &p).unwrap())
            .collect();
        let start = Instant::now();
        for message in &batch {
            black_box(
                receiver
                    .decrypt(&GROUP_CONTEXT, black_box(message))
                    .unwrap(),
            );
        }
        start.elapsed()
    });

    let mut megolm = GroupSession::new(megolm_config());
    let vodozemac: Routine = Box::new(move |iters| {
        let mut receiver = InboundGroupSession::new(&megolm.session_key(), megolm_config());
        let batch: Vec<Vec<u8>> = (0..iters).map(|_| megolm.encrypt(&pt).to_bytes()).collect();
        let start = Instant::now();
        for wire in &batch {
            let message = MegolmMessage::from_bytes(black_box(wire)).unwrap();
            black_box(receiver.decrypt(&message).unwrap());
        }
        start.elapsed()
    });

    Group {
        name: "sender_key_decrypt_100B",
        throughput: None,
        functions: vec![("wren", wren), ("vodozemac", vodozemac)],
    }
}

/// Every comparison, in report order.
fn groups() -> Vec<Group> {
    vec![
        one_direction("one_direction_100B", SMALL, true),
        ping_pong_100b(),
        session_setup(),
        sender_key_encrypt_100b(),
        sender_key_decrypt_100b(),
        one_direction("one_direction_64KiB", LARGE, false),
    ]
}

// ---------------------------------------------------------------------------
// Runners

fn run_criterion() {
    let mut c = Criterion::default().configure_from_args();
    for group in groups() {
        let mut g = c.benchmark_group(group.name);
        if let Some(t) = group.throughput {
            g.throughput(t);
        }
        for (name, mut routine) in group.functions {
            g.bench_function(name, |b| b.iter_custom(&mut routine));
        }
        g.finish();
    }
    c.final_summary();
}

/// Runs the functions of each group whose name contains `filter` in
/// alternating blocks of about 5 ms (the order rotates every round) for about
/// `WREN_BENCH_PAIRED_SECS` seconds (default 8) per group, and prints each
/// function's median time per iteration and the median of the per-round
/// ratios to `vodozemac`.
fn run_paired(filter: &str) {
    let secs: f64 = std::env::var("WREN_BENCH_PAIRED_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8.0);
    println!("paired mode: alternating blocks, ~{secs} s per group; times are per iteration");
    for mut group in groups().into_iter().filter(|g| g.name.contains(filter)) {
        // Warm up and size the blocks.
        let n = group.functions.len();
        let mut per_iter = vec![0.0_f64; n];
        for (i, (_, routine)) in group.functions.iter_mut().enumerate() {
            routine(20);
            per_iter[i] = routine(20).as_secs_f64() / 20.0;
        }
        let iters: Vec<u64> = per_iter
            .iter()
            .map(|t| ((0.005 / t) as u64).max(1))
            .collect();
        let round = per_iter
            .iter()
            .zip(&iters)
            .map(|(t, k)| t * *k as f64)
            .sum::<f64>();
        let rounds = ((secs / round) as usize).max(15);

        let mut samples = vec![Vec::with_capacity(rounds); n];
        for r in 0..rounds {
            for j in 0..n {
                let i = (r + j) % n;
                let (_, routine) = &mut group.functions[i];
                samples[i].push(routine(iters[i]).as_secs_f64() / iters[i] as f64);
            }
        }
        let position = |wanted: &str| group.functions.iter().position(|(n, _)| *n == wanted);
        let (vodozemac, floor, wren) = (position("vodozemac"), position("floor"), position("wren"));
        println!("{} ({rounds} rounds)", group.name);
        for (i, (name, _)) in group.functions.iter().enumerate() {
            let mut line = format!(
                "  {name:<22} {:>10.2} µs",
                median(&mut samples[i].clone()) * 1e6
            );
            if let Some(v) = vodozemac.filter(|v| *v != i) {
                line += &ratio_summary("vodozemac", &samples[i], &samples[v]);
            }
            if let (Some(f), Some(w)) = (floor, wren)
                && w == i
            {
                line += &ratio_summary("floor", &samples[i], &samples[f]);
            }
            println!("{line}");
        }
    }
}

/// The median and 10th-90th percentiles of the per-round ratios `a / b`.
fn ratio_summary(to: &str, a: &[f64], b: &[f64]) -> String {
    let mut ratios: Vec<f64> = a.iter().zip(b).map(|(a, b)| a / b).collect();
    ratios.sort_by(f64::total_cmp);
    let lo = ratios[ratios.len() / 10];
    let hi = ratios[ratios.len() * 9 / 10];
    format!(
        "  ratio to {to} {:.3} (10-90 %: {lo:.3}-{hi:.3})",
        median(&mut ratios)
    )
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[m - 1] + v[m]) / 2.0
    } else {
        v[m]
    }
}

fn main() {
    if let Some(filter) = std::env::var_os("WREN_BENCH_PAIRED") {
        let filter = filter.to_string_lossy().into_owned();
        run_paired(if filter == "1" { "" } else { &filter });
    } else {
        run_criterion();
    }
}
