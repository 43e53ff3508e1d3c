//! svna-engine's integration tests: pipelines run end to end, and every stage's sqllogictest file.
//! One test binary (as uv's `tests/it`): the crate links once for all of them.

mod memory_limit;
mod pipeline;
mod sql_logic;
