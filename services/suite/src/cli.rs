//! The `chancery` command line.
//!
//! - [`args`]: parsing of the command line into a [`args::Command`].
//! - [`up`]: `chancery up`, every service in one process on its default port (`--demo` also
//!   imports the demo episode).
//! - [`import`], [`export`], [`view`]: the client commands, which talk to the gateway; [`client`]
//!   holds what they share (the connection, failures and exit statuses).
//!
//! `main.rs` only collects the arguments and calls [`crate::run`].

pub mod args;
pub mod client;
pub mod export;
pub mod import;
pub mod up;
pub mod view;
