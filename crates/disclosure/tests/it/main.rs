//! svna-disclosure's integration tests: reference tables, joint protection, properties and a brute-force oracle.
//! One test binary (as uv's `tests/it`): the crate links once for all of them.

mod brute_force;
mod joint;
mod properties;
mod reference;
