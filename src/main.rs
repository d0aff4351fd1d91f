//! The `retort` binary: everything happens in [`retort::cli::run`].

fn main() {
    std::process::exit(retort::cli::run());
}
