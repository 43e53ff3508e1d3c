//! svna-intake's integration tests: loads, partner deliveries, and a hostile partner.
//! One test binary (as uv's `tests/it`): the crate links once for all of them.

mod common;

mod deliveries;
mod delivery;
mod hostile;
mod intake;
