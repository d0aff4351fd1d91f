//! The test modules; see `tests/tests.rs` for what each covers.

mod errors;
mod example;
mod init;
mod listings;
mod offline;
mod oracle;
mod revision;
mod servers;
