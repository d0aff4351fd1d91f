//! The test modules; see `tests/tests.rs` for what each covers.

mod errors;
mod example;
mod init;
mod listings;
mod live_runner;
mod offline;
mod revision;
mod servers;
