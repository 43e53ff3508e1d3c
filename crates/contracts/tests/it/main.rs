//! svna-contracts' integration tests: the contracts and bad extracts.
//! One test binary (as uv's `tests/it`): the crate links once for all of them.

mod bad_extracts;
mod contracts;
