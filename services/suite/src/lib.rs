//! The composition root of Chancery: the one place that builds each service from its
//! configuration and serves it, and every binary of the suite.
//!
//! # Layout
//!
//! - [`service`]: [`Service`], each service's defaults, configuration, database and wiring to
//!   the services it calls; [`Service::serve`] is how every service is started — by its own
//!   binary ([`process`]), by `chancery up` and by the test kit (`tests/testkit`).
//! - [`process`]: a service alone in its process (`src/bin/chancery-<service>.rs`).
//! - [`cli`]: the `chancery` command (`src/main.rs`): `up`, `import`, `export`, `view`.

pub mod cli;
pub mod process;
pub mod service;

pub use service::Service;

use std::process::ExitCode;

use cli::args::Command;
use cli::{args, export, import, up, view};

/// Runs the command line `args` (without the program name) and returns the exit code.
pub async fn run(args: &[String]) -> ExitCode {
    let outcome = match args::parse(args) {
        Ok(Command::Help) => {
            print!("{}", args::help());
            Ok(())
        }
        Ok(Command::Completions(shell)) => {
            args::completions(shell, &mut std::io::stdout());
            Ok(())
        }
        Ok(Command::Up(options)) => return up::run(options).await,
        Ok(Command::Import(options)) => import::run(&options).await,
        Ok(Command::Export(options)) => export::run(&options).await,
        Ok(Command::View(options)) => view::run(&options).await,
        Err(error) => return args::report(&error),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("chancery: {failure}");
            ExitCode::from(failure.exit)
        }
    }
}
