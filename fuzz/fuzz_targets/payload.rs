//! `Payload::from_bytes`: what decodes re-encodes to the input.
#![no_main]

#[path = "../../crates/wren-proto/tests/harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::payload(data));
