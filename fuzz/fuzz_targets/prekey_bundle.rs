//! `PrekeyBundle::from_bytes`, `verify`, and a session from what verifies.
#![no_main]

#[path = "../../crates/wren-crypto/tests/harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::decoders::prekey_bundle(data));
