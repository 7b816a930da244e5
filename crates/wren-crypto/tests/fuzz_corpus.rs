//! Replays every input of the `wren-crypto` fuzz corpora
//! (`fuzz/corpus/<target>/`) through the same harness functions the fuzz
//! targets call, so `cargo test` keeps every input the fuzzer found (and
//! every past crash, once added) as a regression test. A missing or empty
//! corpus directory fails the test.
//!
//! `write_seed_corpus` (ignored) writes the hand-made seeds; run it with
//! `cargo test -p wren-crypto --test fuzz_corpus -- --ignored write_seed_corpus`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod harness;

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use harness::common::TestRng;
use harness::interaction::{Op, Scenario, Who, encode};
use harness::{decoders, fixture, interaction, sender_key, to_hex};
use wren_crypto::limits::{MAX_DISPLAY_NAME_BYTES, MAX_NETWORK_HINT_BYTES, MAX_NETWORK_HINTS};
use wren_crypto::{NetworkHint, PairingCode, PrekeyBundle};

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

/// Runs `check` on every file of the target's corpus; fails listing every
/// input that panicked.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} is missing: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    let mut failures = Vec::new();
    for path in &files {
        let data = fs::read(path).unwrap();
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&data))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!(
                "{}: {message}\n  input: {}",
                path.display(),
                to_hex(&data)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} inputs of {target} failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn pairing_code() {
    replay("pairing_code", decoders::pairing_code);
}

#[test]
fn prekey_bundle() {
    replay("prekey_bundle", decoders::prekey_bundle);
}

#[test]
fn prekey_message() {
    replay("prekey_message", decoders::prekey_message);
}

#[test]
fn ratchet_message() {
    replay("ratchet_message", decoders::ratchet_message);
}

#[test]
fn session_state() {
    replay("session_state", decoders::session_state);
}

#[test]
fn sender_key_message() {
    replay("sender_key_message", sender_key::message);
}

#[test]
fn sender_key_distribution() {
    replay("sender_key_distribution", sender_key::distribution);
}

#[test]
fn sender_key_state() {
    replay("sender_key_state", sender_key::state);
}

#[test]
fn interaction() {
    replay("interaction", |data| {
        interaction::fuzz(data);
    });
}

// ---------------------------------------------------------------------------
// Seeds.

/// Writes `seed-<name>` into the target's corpus, and removes any other file
/// there with the same content (a copy `cargo fuzz cmin` renamed to its hash).
fn write_seed(target: &str, name: &str, data: &[u8]) {
    let dir = corpus_dir(target);
    fs::create_dir_all(&dir).unwrap();
    let file = format!("seed-{name}");
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n != file.as_str())
            && fs::read(&path).is_ok_and(|d| d == data)
        {
            fs::remove_file(&path).unwrap();
        }
    }
    fs::write(dir.join(file), data).unwrap();
}

/// Every seed: valid encodings made with the real API, plus edge cases.
#[test]
#[ignore = "writes fuzz/corpus; run by hand when the seeds change"]
fn write_seed_corpus() {
    let f = fixture::fixture();

    // Pairing codes: text, and raw payloads (body ‖ signature) which the
    // harness checksums and encodes itself.
    let hints = vec![
        NetworkHint::Address("/ip4/192.0.2.7/udp/4001/quic-v1".to_owned()),
        NetworkHint::Relay(format!(
            "/dns4/relay.example/tcp/443/p2p/{}",
            f.alice.public().peer_id()
        )),
    ];
    let code = PairingCode::new(&f.bob, f.bob_spk.public(), "Bob", hints).unwrap();
    let largest = PairingCode::new(
        &f.bob,
        f.bob_spk.public(),
        &"é".repeat(MAX_DISPLAY_NAME_BYTES / 2),
        (0..MAX_NETWORK_HINTS)
            .map(|i| {
                NetworkHint::Address(format!("/{i}{}", "x".repeat(MAX_NETWORK_HINT_BYTES - 2)))
            })
            .collect(),
    )
    .unwrap();
    let raw = |code: &PairingCode| {
        let uri = code.to_uri();
        let payload = data_encoding::BASE32_NOPAD
            .decode(&uri.as_bytes()["wren:1/".len()..])
            .unwrap();
        payload[..payload.len() - 4].to_vec()
    };
    let uri = code.to_uri();
    write_seed("pairing_code", "code", uri.as_bytes());
    write_seed(
        "pairing_code",
        "code-lowercase-spaces",
        format!("  {}\n", uri.to_ascii_lowercase()).as_bytes(),
    );
    write_seed("pairing_code", "code-largest", largest.to_uri().as_bytes());
    write_seed("pairing_code", "payload", &raw(&code));
    write_seed("pairing_code", "payload-largest", &raw(&largest));
    let mut typo = uri.clone().into_bytes();
    typo[20] = if typo[20] == b'A' { b'B' } else { b'A' };
    write_seed("pairing_code", "code-typo", &typo);
    write_seed("pairing_code", "version-2", b"wren:2/AAAA");

    // Prekey bundles.
    write_seed("prekey_bundle", "bob-with-otk", &f.bundle_with_otk);
    write_seed("prekey_bundle", "bob-without-otk", &f.bundle_without_otk);
    let mut rng = TestRng::new("seed bundle");
    let spk = wren_crypto::SignedPrekeyPair::generate(&f.alice, 3, fixture::NOW, &mut rng);
    let alice = PrekeyBundle::new(*f.alice.public(), *spk.public(), None).to_bytes();
    write_seed("prekey_bundle", "alice", &alice);
    let mut bad_signature = f.bundle_without_otk.clone();
    *bad_signature.last_mut().unwrap() ^= 0x01;
    write_seed("prekey_bundle", "bad-signature", &bad_signature);

    // Prekey messages: Alice's, and p1 with another signed prekey id (which
    // a receiver that already has the session accepts).
    for g in &f.prekey {
        write_seed("prekey_message", g.name, &g.bytes);
    }
    let mut other_id = f.prekey[1].bytes.clone();
    other_id[68] ^= 0x02;
    write_seed("prekey_message", "p1-other-spk-id", &other_id);
    write_seed(
        "prekey_message",
        "p0-truncated",
        &f.prekey[0].bytes[..74 + 41],
    );

    // Ratchet messages: every one Alice sent (delivered ones are replays).
    for g in &f.ratchet {
        write_seed("ratchet_message", g.name, &g.bytes);
    }

    // Stored state.
    for st in &f.states {
        write_seed("session_state", &format!("bob-{}", st.name), &st.bytes);
    }
    write_seed("session_state", "alice-book", &f.alice_book);
    write_seed("session_state", "signed-prekeys", &f.bob_signed_prekeys);
    write_seed("session_state", "one-time-prekey", &f.bob_otk.to_bytes());

    // Sender keys.
    let s = sender_key::fixture();
    for m in &s.messages {
        write_seed("sender_key_message", m.name, &m.bytes);
    }
    write_seed("sender_key_distribution", "first", &s.first);
    write_seed("sender_key_distribution", "rotated", &s.rotated);
    write_seed("sender_key_state", "receiver", &s.receiver);
    write_seed("sender_key_state", "sender", &s.sender);

    // Interaction scripts.
    use Op::*;
    use Who::{A, B};
    let round_trips: Vec<Op> = (0..8)
        .flat_map(|_| {
            [
                Send { from: A, len: 1 },
                Deliver { pick: 0 },
                Send { from: B, len: 1 },
                Deliver { pick: 0 },
            ]
        })
        .chain([Duplicate { pick: 0 }, Duplicate { pick: 9 }])
        .collect();
    let scripts: [(&str, bool, u8, Vec<Op>); 6] = [
        ("empty", false, 0, vec![]),
        (
            "every-op",
            false,
            1,
            vec![
                Send { from: A, len: 10 },
                Send { from: A, len: 0 },
                Tamper { pick: 1, bit: 530 },
                Deliver { pick: 1 },
                Send { from: B, len: 199 },
                Deliver { pick: 0 },
                Duplicate { pick: 0 },
                Reload { who: B },
                Drop { pick: 0 },
                Send { from: A, len: 3 },
                Send { from: A, len: 4 },
                Deliver { pick: 1 },
                Reload { who: A },
                Deliver { pick: 0 },
                Duplicate { pick: 3 },
            ],
        ),
        (
            "tampered-prekey-id",
            false,
            0,
            vec![
                Send { from: A, len: 0 },
                Send { from: A, len: 0 },
                Deliver { pick: 0 },
                Tamper { pick: 0, bit: 520 },
            ],
        ),
        ("forgotten-chain", false, 2, round_trips.clone()),
        ("simultaneous-forgotten-chain", true, 3, round_trips),
        (
            "simultaneous-delayed-prekey",
            true,
            0,
            vec![
                Send { from: A, len: 1 },
                Send { from: B, len: 2 },
                Deliver { pick: 1 },
                Send { from: A, len: 3 },
                Deliver { pick: 1 },
                Deliver { pick: 0 },
                Send { from: A, len: 4 },
                Deliver { pick: 0 },
            ],
        ),
    ];
    for (name, simultaneous, seed, ops) in scripts {
        let script = encode(&Scenario { simultaneous, seed }, &ops);
        assert_eq!(
            interaction::decode(&script),
            (Scenario { simultaneous, seed }, ops)
        );
        write_seed("interaction", name, &script);
    }
}

/// The seeds mean what they say: the fixture's messages are what the
/// harness expects (this is what makes the decoder targets' "only a genuine
/// message decrypts" check non-vacuous).
#[test]
fn fixture_messages_decrypt_as_expected() {
    let f = fixture::fixture();
    for g in &f.ratchet {
        decoders::ratchet_message(&g.bytes);
    }
    for g in &f.prekey {
        decoders::prekey_message(&g.bytes);
    }
    let s = sender_key::fixture();
    for m in &s.messages {
        sender_key::message(&m.bytes);
    }
    sender_key::distribution(&s.first);
}
