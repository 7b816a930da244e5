//! `PrekeyMessage::parse`, then `SessionBook::receive_prekey` by Bob in three states.
#![no_main]

#[path = "../../crates/wren-crypto/tests/harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::decoders::prekey_message(data));
