//! Replays every input of the `envelope` and `payload` fuzz corpora
//! (`fuzz/corpus/<target>/`) through the harness the fuzz targets call. A
//! missing or empty corpus directory fails the test.
//!
//! `write_seed_corpus` (ignored) writes the seeds: every golden frame of
//! `tests/common`, plus edge cases; run it with
//! `cargo test -p wren-proto --test fuzz_corpus -- --ignored write_seed_corpus`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod harness;

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use wren_proto::{Envelope, MailboxRequest, Versioned};

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

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
                hex::encode(&data)
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
fn envelope() {
    replay("envelope", harness::envelope);
}

#[test]
fn payload() {
    replay("payload", harness::payload);
}

/// Writes `seed-<name>`, removing other files with the same content.
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

#[test]
#[ignore = "writes fuzz/corpus; run by hand when the seeds change"]
fn write_seed_corpus() {
    for (name, _, hex) in common::envelope_cases() {
        write_seed("envelope", name, &common::unhex(&hex));
    }
    for (name, _, hex) in common::payload_cases() {
        write_seed("payload", name, &common::unhex(&hex));
    }
    // A deposit of a deposit: the harness decodes one level.
    let inner = Envelope::Mailbox(MailboxRequest::Deposit {
        recipient: [0x44; 32],
        envelope: common::unhex(&common::envelope_cases()[1].2),
    })
    .to_bytes()
    .unwrap();
    let outer = Envelope::Mailbox(MailboxRequest::Deposit {
        recipient: [0x55; 32],
        envelope: inner,
    })
    .to_bytes()
    .unwrap();
    write_seed("envelope", "deposit-of-deposit", &outer);
    // Bombs: a length prefix claiming 2^40 bytes, after a valid tag.
    let mut bomb = vec![1, 1, 253];
    bomb.extend((1u64 << 40).to_le_bytes());
    write_seed("envelope", "length-bomb", &bomb);
    // A receipt claiming 2^40 ids.
    let mut bomb = vec![1, 1, 253];
    bomb.extend((1u64 << 40).to_le_bytes());
    write_seed("payload", "receipt-count-bomb", &bomb);
    write_seed("envelope", "empty", &[]);
    write_seed("payload", "version-2", &[2, 0]);
}
