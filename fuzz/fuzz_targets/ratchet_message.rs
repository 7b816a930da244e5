//! An established session (and a book) decrypts arbitrary bytes.
#![no_main]

#[path = "../../crates/wren-crypto/tests/harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::decoders::ratchet_message(data));
