//! Checks shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`) and by the
//! tests that replay their corpora (`tests/fuzz_corpus.rs`) and drive the
//! interaction property (`tests/interaction.rs`).
//!
//! Every public function here takes arbitrary bytes (or a decoded script),
//! runs them through the library and asserts the invariants; a violated
//! invariant panics, which is how libFuzzer and `cargo test` report it. The
//! fuzz targets include this module by path, so exactly the same code runs
//! under the fuzzer and in `cargo test`.
//!
//! Fixtures are deterministic (`TestRng` from `tests/common`), so seeds
//! written by `tests/fuzz_corpus.rs`'s generator mean the same thing to the
//! fuzz build.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../common/mod.rs"]
pub mod common;

pub mod decoders;
pub mod fixture;
pub mod interaction;
pub mod sender_key;

/// Lower-case hex, for failure messages (no dependency on `hex`, which the
/// fuzz crate does not have).
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
