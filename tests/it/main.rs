//! svna's integration tests, one binary (as uv's `tests/it`): DataFusion, Ballista and the
//! rest link once, not once per file. Most drive the `svna` binary as a user would.
//!
//! Run one file's tests with a filter: `cargo test --workspace --test it object_stores::`.

mod common;

mod cli;
mod demo;
mod disclosure_attack;
mod golden;
mod object_stores;
mod open_data;
mod report;
