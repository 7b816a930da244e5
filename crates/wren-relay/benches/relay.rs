//! Relay benchmarks (see docs/benchmarks.md).

fn main() {}
