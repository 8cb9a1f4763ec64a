//! The `chancery` command line.
//!
//! # Layout
//!
//! - [`args`]: parsing of the command line into a [`args::Command`].
//! - [`up`]: `chancery up`, every service in one process on its default port.
//!
//! `main.rs` only collects the arguments and calls [`run`].

pub mod args;
pub mod up;

use std::process::ExitCode;

use args::Command;

/// Runs the command line `args` (without the program name) and returns the exit code.
pub async fn run(args: &[String]) -> ExitCode {
    match args::parse(args) {
        Ok(Command::Help) => {
            print!("{}", args::USAGE);
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            println!("chancery {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Command::Up(options)) => up::run(options).await,
        Err(problem) => {
            eprintln!("chancery: {problem}\n\n{}", args::USAGE);
            ExitCode::from(64)
        }
    }
}
