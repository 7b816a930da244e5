//! A group receiver decrypts arbitrary bytes.
#![no_main]

#[path = "../../crates/wren-crypto/tests/harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::sender_key::message(data));
