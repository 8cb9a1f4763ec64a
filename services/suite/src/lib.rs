//! The `chancery` command line.
//!
//! # Layout
//!
//! - [`args`]: parsing of the command line into a [`args::Command`].
//! - [`up`]: `chancery up`, every service in one process on its default port (`--demo` also
//!   imports the demo episode).
//! - [`import`], [`export`], [`view`]: the client commands, which talk to the gateway; [`client`]
//!   holds what they share (the connection, failures and exit statuses).
//!
//! `main.rs` only collects the arguments and calls [`run`].

pub mod args;
pub mod client;
pub mod export;
pub mod import;
pub mod up;
pub mod view;

use std::process::ExitCode;

use args::Command;

/// Runs the command line `args` (without the program name) and returns the exit code.
pub async fn run(args: &[String]) -> ExitCode {
    let outcome = match args::parse(args) {
        Ok(Command::Help) => {
            print!("{}", args::USAGE);
            Ok(())
        }
        Ok(Command::Version) => {
            println!("chancery {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Ok(Command::Up(options)) => return up::run(options).await,
        Ok(Command::Import(options)) => import::run(&options).await,
        Ok(Command::Export(options)) => export::run(&options).await,
        Ok(Command::View(options)) => view::run(&options).await,
        Err(problem) => {
            eprintln!("chancery: {problem}\n\n{}", args::USAGE);
            return ExitCode::from(client::EXIT_USAGE);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("chancery: {failure}");
            ExitCode::from(failure.exit)
        }
    }
}
