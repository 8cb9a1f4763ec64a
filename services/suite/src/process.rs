//! A service alone in its process, configured from the environment: the body of each service
//! binary (`chancery-actors`, `chancery-communications`, `chancery-statements`,
//! `chancery-gateway`). Its only arguments are `--help` (what it is and the variables it reads)
//! and `--version`; both answer without binding or creating anything, and any other argument
//! is refused with exit code 64 before anything happens.

use std::ffi::OsString;
use std::process::ExitCode;

use chancery_runtime::config::{self, Env};
use chancery_runtime::{shutdown, telemetry};
use clap::CommandFactory;

use crate::service::Service;

/// The command line of a service binary: nothing to give, since the environment configures it;
/// clap supplies `--help`, `--version` and the refusal of anything else.
#[derive(Debug, clap::Parser)]
#[command(version)]
struct ServiceArgs {}

/// The server variables every service reads, with their defaults (the README's Configuration
/// table is the reference).
const SERVER_VARIABLES: &[(&str, &str)] = &[
    (config::LOG_FORMAT, "`pretty` (default) or `json`"),
    (
        config::REFLECTION,
        "`false` switches server reflection off (default `true`)",
    ),
    (
        config::METRICS_LISTEN,
        "host:port of the Prometheus /metrics endpoint (default none)",
    ),
    (
        config::HEALTH_LISTEN,
        "host:port of a plaintext health-only listener (default none)",
    ),
    (
        config::REQUEST_TIMEOUT,
        "longest one RPC may run (default 30s)",
    ),
    (
        config::MAX_CONCURRENT_REQUESTS,
        "RPCs served at once, more are shed (default 512)",
    ),
    (
        config::SHUTDOWN_DELAY,
        "NOT_SERVING this long before closing on SIGTERM (default 0s)",
    ),
    (
        config::DRAIN_TIMEOUT,
        "longest wait for in-flight RPCs on shutdown (default 20s)",
    ),
    (
        config::TOKENS_FILE,
        "the tokens file; unset, access control is off",
    ),
    (
        config::OPEN_READS,
        "`true`: reads need no token (default `false`)",
    ),
    (
        config::SERVICE_TOKEN_FILE,
        "the token this service sends to the services it calls",
    ),
    (
        config::TLS_CERT,
        "PEM certificate chain: the gRPC port speaks TLS only",
    ),
    (config::TLS_KEY, "its PEM private key (both or neither)"),
    (
        config::TLS_CLIENT_CA,
        "PEM CA bundle clients' certificates must chain to (mutual TLS)",
    ),
    (
        config::TLS_CA,
        "PEM CA bundle https:// backends are verified against",
    ),
    ("RUST_LOG", "log filter (default info)"),
];

/// What `--help` says after the usage: the variables `service` reads and the exit statuses.
fn variables_help(service: Service) -> String {
    let mut variables = vec![
        (
            config::LISTEN.to_owned(),
            format!(
                "address to listen on (default 127.0.0.1:{})",
                service.default_port()
            ),
        ),
        (
            config::DATABASE_URL.to_owned(),
            format!(
                "sqlite://PATH, sqlite::memory: or postgres://… (default {})",
                service.default_database_url()
            ),
        ),
    ];
    for callee in Service::ALL
        .into_iter()
        .filter(|callee| service.calls(*callee))
    {
        if let Some(variable) = callee.address_variable() {
            variables.push((
                variable.to_owned(),
                format!(
                    "the {} service (default http://127.0.0.1:{})",
                    callee.name(),
                    callee.default_port()
                ),
            ));
        }
    }
    variables.extend(
        SERVER_VARIABLES
            .iter()
            .map(|(name, meaning)| ((*name).to_owned(), (*meaning).to_owned())),
    );
    let mut text = String::from("Environment (a bad value: exit 64 naming the variable):\n");
    for (name, meaning) in variables {
        text.push_str(&format!("  {name:<34}{meaning}\n"));
    }
    text.push_str(
        "\nExit status: 0 after SIGTERM or Ctrl-C and a drain, 64 on a bad argument or\n\
         variable, 1 when it cannot listen or fails.",
    );
    text
}

/// The binary's name, such as `chancery-actors`.
fn binary(service: Service) -> &'static str {
    match service {
        Service::Actors => "chancery-actors",
        Service::Communications => "chancery-communications",
        Service::Statements => "chancery-statements",
        Service::Gateway => "chancery-gateway",
    }
}

/// Parses the command line of `service`'s binary (`args` with the program name first): `Ok`
/// to serve; help, the version or a mistake otherwise (see [`crate::cli::args::report`]).
pub fn parse(
    service: Service,
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
) -> Result<(), clap::Error> {
    ServiceArgs::command()
        .name(binary(service))
        .bin_name(binary(service))
        .about(format!(
            "The Chancery {} service alone ({}, port {}), configured by environment \
             variables only.",
            service.name(),
            service.grpc_service(),
            service.default_port()
        ))
        .after_help(variables_help(service))
        .try_get_matches_from(args)
        .map(|_| ())
}

/// Runs `service` until SIGTERM or Ctrl-C: answers `--help` and `--version` (exit 0) or
/// refuses any other argument (exit 64) before anything else; reads its configuration (exit
/// code 64 naming the variable when one is invalid), starts logging, binds, opens and migrates
/// the database, serves, drains. Exit code 1 when it cannot listen or fails.
pub fn run(service: Service) -> ExitCode {
    if let Err(error) = parse(service, std::env::args_os()) {
        return crate::cli::args::report(&error);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!(
                "chancery-{}: cannot start the runtime: {error}",
                service.name()
            );
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve_from_env(service))
}

async fn serve_from_env(service: Service) -> ExitCode {
    let config = service
        .config(&Env::process())
        .unwrap_or_else(|error| config::exit_with(error));
    telemetry::init(config.service.log_format);
    let listen = config.service.server.listen;
    let code = match tokio::net::TcpListener::bind(listen).await {
        Err(error) => {
            tracing::error!(%listen, %error, "cannot listen");
            ExitCode::FAILURE
        }
        Ok(listener) => match open_and_serve(service, listener, &config).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(%error, "{} service failed", service.name());
                ExitCode::FAILURE
            }
        },
    };
    telemetry::shutdown().await;
    code
}

async fn open_and_serve(
    service: Service,
    listener: tokio::net::TcpListener,
    config: &crate::service::Config,
) -> Result<(), crate::service::ServeError> {
    let database = service.open(&config.service.database_url).await?;
    service
        .serve(
            listener,
            &config.service.server,
            database,
            &config.addresses,
            shutdown::signal(),
        )
        .await
}
