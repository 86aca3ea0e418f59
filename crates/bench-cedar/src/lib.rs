//! Benchmark-only crate: see `benches/iam_vs_cedar.rs`.
