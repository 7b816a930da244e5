//! `SenderKeyDistribution::from_bytes`, then a receiver from it.
#![no_main]

#[path = "../../crates/wren-crypto/tests/harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::sender_key::distribution(data));
