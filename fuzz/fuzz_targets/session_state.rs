//! `Session`, `SessionBook`, `SignedPrekeys`, `OneTimePrekeyPair` `from_bytes`, then use.
#![no_main]

#[path = "../../crates/wren-crypto/tests/harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::decoders::session_state(data));
