//! `PairingCode::parse` of the input as text and as a raw payload.
#![no_main]

#[path = "../../crates/wren-crypto/tests/harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::decoders::pairing_code(data));
