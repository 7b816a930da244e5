//! Two session books driven by a script read from the input (see harness/interaction.rs).
#![no_main]

#[path = "../../crates/wren-crypto/tests/harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::interaction::fuzz(data);
});
