//! `chancery up`: every service in one process, each on its own port, wired to each other as in
//! production and sharing one shutdown. Stops on SIGTERM or Ctrl-C: every service turns
//! NOT_SERVING and drains.
//!
//! The server variables of the service binaries apply to each of the four services, read once
//! ([`settings`]); `CHANCERY_METRICS_LISTEN` starts ONE `/metrics` endpoint for the process
//! (the registry is process-wide; each series names its service); the variables `up` cannot
//! honour ([`REFUSED`]: its own listeners, databases, wiring, TLS, the health port) stop it
//! with exit code 64 naming them. `chancery up --help` says the same.
//!
//! With `--demo`, once the services are up the demo bundle (the seed episode,
//! `episodes/macron-putin-2022-03`) is imported through the gateway, as `chancery import` would;
//! on later starts over the same data the import finds everything unchanged. Until it is
//! imported every service's health stays NOT_SERVING (they serve behind a closed
//! [`ReadyGate`]), so a client waiting for SERVING finds the demo readable. A failed import
//! stops the suite with an error. Once every service reports SERVING, one `ready:` line gives
//! the gateway's address and a first grpcurl command.
//!
//! With `--database-url postgres://…` every service keeps its data in that one database, in a
//! schema named after it (`actors`, `communications`, `statements`, `gateway`), created when
//! missing.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use chancery_runtime::config::{self, ConfigError, Env, ServerConfig};
use chancery_runtime::db::Database;
use chancery_runtime::readiness::{GateOpener, ReadyGate};
use chancery_runtime::{shutdown, telemetry};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tonic::transport::Uri;

use crate::cli::args::UpOptions;
use crate::service::{Addresses, Service};

/// The variables `chancery up` refuses, each with the reason and what to use instead.
pub const REFUSED: &[(&str, &str)] = &[
    (
        config::LISTEN,
        "`chancery up` listens on --host and --port-base",
    ),
    (
        config::DATABASE_URL,
        "`chancery up` keeps its data per --data-dir, --database-url or --in-memory",
    ),
    (config::ACTORS_ADDR, WIRED),
    (config::COMMUNICATIONS_ADDR, WIRED),
    (config::STATEMENTS_ADDR, WIRED),
    (config::TLS_CERT, PLAINTEXT),
    (config::TLS_KEY, PLAINTEXT),
    (config::TLS_CLIENT_CA, PLAINTEXT),
    (config::TLS_CA, PLAINTEXT),
    (
        config::HEALTH_LISTEN,
        "every port of `chancery up` already answers grpc.health.v1.Health in plaintext",
    ),
];

const WIRED: &str = "`chancery up` wires its services to each other itself";
const PLAINTEXT: &str = "`chancery up` serves plaintext; run the service binaries for TLS \
                         (README, Access control and TLS)";

/// What `chancery up` takes from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The server settings of every service (each listens on its own address).
    pub server: ServerConfig,
    /// Where the process's one `/metrics` endpoint listens (`CHANCERY_METRICS_LISTEN`).
    pub metrics: Option<SocketAddr>,
    /// The token file the services send each other (`CHANCERY_SERVICE_TOKEN_FILE`), which
    /// `--demo` imports with.
    pub service_token_file: Option<PathBuf>,
    /// The gateway's gRPC-Web settings (`CHANCERY_CORS_ALLOWED_ORIGINS`), as the gateway binary
    /// reads them: only the gateway speaks gRPC-Web.
    pub grpc_web: chancery_runtime::grpc_web::GrpcWebConfig,
}

/// Reads the server variables through `env`: refuses those of [`REFUSED`], and
/// `CHANCERY_TOKENS_FILE` without `CHANCERY_SERVICE_TOKEN_FILE` (the services call each other).
pub fn settings(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Settings, ConfigError> {
    if let Some((variable, why)) = REFUSED.iter().find(|(name, _)| env.raw(name).is_some()) {
        return Err(ConfigError {
            variable,
            problem: format!("not read by `chancery up` ({why}); unset it"),
        });
    }
    let mut server = env.server(0)?;
    let metrics = server.metrics_listen.take();
    if server.auth.credentials.is_some() && server.auth.service_token.is_none() {
        return Err(ConfigError {
            variable: config::SERVICE_TOKEN_FILE,
            problem: format!(
                "must be set when {} is: the services of `chancery up` call each other with \
                 it, and --demo imports with it (a writer's token)",
                config::TOKENS_FILE
            ),
        });
    }
    Ok(Settings {
        server,
        metrics,
        service_token_file: env.raw(config::SERVICE_TOKEN_FILE).map(PathBuf::from),
        grpc_web: env.grpc_web()?,
    })
}

/// Runs the suite until a signal arrives. Exit code 64 naming the variable when the
/// environment is refused, 1 when the suite cannot start or fails.
pub async fn run(options: UpOptions) -> ExitCode {
    let env = Env::process();
    let log_format = env.log_format().unwrap_or_else(|e| config::exit_with(e));
    let settings = settings(&env).unwrap_or_else(|e| config::exit_with(e));
    telemetry::init(log_format);
    let code = match start_and_wait(&options, &settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("chancery: {problem}");
            ExitCode::FAILURE
        }
    };
    telemetry::shutdown().await;
    code
}

/// Prints one line on standard output. A closed standard output (a reader that went away)
/// is not a reason to stop serving, so a failed write is ignored, where `println!` would panic.
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_fmt(line).and_then(|()| out.write_all(b"\n"));
    let _ = out.flush();
}

/// One service of the suite, bound and opened, not yet serving.
struct Ready {
    service: Service,
    listener: TcpListener,
    database: Database,
}

/// Binds every service (printing its address) and the metrics endpoint, opens every
/// database, serves them all wired to each other (behind a closed gate with `--demo`), and
/// waits for a signal or a failure; meanwhile imports the demo if asked and says when the
/// suite is ready.
async fn start_and_wait(options: &UpOptions, settings: &Settings) -> Result<(), String> {
    let mut bound = Vec::new();
    for service in Service::ALL {
        bound.push((service, bind(options, service).await?));
    }
    let metrics = start_metrics(settings.metrics).await?;
    say(format_args!("{:<15} {}", "data", data_description(options)));
    let addresses = addresses_of(&bound);
    let mut ready = Vec::new();
    let mut targets = Vec::new();
    for (service, listener) in bound {
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        targets.push((reachable(local), service.grpc_service()));
        let database = service
            .open(&database_url(options, service))
            .await
            .map_err(|error| format!("cannot open the {} database: {error}", service.name()))?;
        ready.push(Ready {
            service,
            listener,
            database,
        });
    }
    let (opener, gate) = if options.demo {
        let (opener, gate) = ReadyGate::closed();
        (Some(opener), gate)
    } else {
        (None, ReadyGate::open())
    };
    let (stop, stopped) = watch::channel(false);
    let mut services = JoinSet::new();
    for service in ready {
        let mut server = settings.server.clone();
        if service.service == Service::Gateway {
            server.grpc_web = Some(settings.grpc_web.clone());
        }
        let (addresses, gate, stopped) = (addresses.clone(), gate.clone(), stopped.clone());
        services.spawn(serve(service, server, addresses, gate, stopped));
    }
    let becoming = Becoming {
        opener,
        targets,
        token_file: settings.service_token_file.clone(),
        grpcurl_flags: grpcurl_flags(settings),
    };
    let failure = wait(becoming, &mut services).await;
    let _ = stop.send(true);
    let mut failure = failure;
    while let Some(result) = services.join_next().await {
        if let Err(problem) = result.map_err(|e| e.to_string()).and_then(|r| r) {
            failure.get_or_insert(problem);
        }
    }
    drop(metrics);
    failure.map_or(Ok(()), Err)
}

/// The process's one `/metrics` endpoint on `address`, when set (printing where it listens);
/// it stops when the returned sender is dropped, after every service has drained.
async fn start_metrics(
    address: Option<SocketAddr>,
) -> Result<Option<tokio::sync::oneshot::Sender<()>>, String> {
    let Some(address) = address else {
        return Ok(None);
    };
    let listener = chancery_runtime::metrics::bind(address)
        .await
        .map_err(|error| format!("{error} ({})", config::METRICS_LISTEN))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    say(format_args!(
        "{:<15} {local}  /metrics (every service)",
        "metrics"
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(chancery_runtime::metrics::serve(listener, async {
        let _ = stopped.await;
    }));
    Ok(Some(stop))
}

/// Binds `service` on its port (`--port-base` plus its offset, or any port with 0) and prints
/// where it listens.
async fn bind(options: &UpOptions, service: Service) -> Result<TcpListener, String> {
    let offset = service.default_port() - Service::Gateway.default_port();
    let port = if options.port_base == 0 {
        0
    } else {
        options.port_base + offset
    };
    let addr = SocketAddr::new(options.host, port);
    let listener = TcpListener::bind(addr).await.map_err(|error| {
        format!(
            "cannot listen on {addr} for {}: {error} (is another chancery running? try --port-base)",
            service.name()
        )
    })?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    say(format_args!(
        "{:<15} {local}  {}",
        service.name(),
        service.grpc_service()
    ));
    Ok(listener)
}

/// Where each service reaches the others: their bound addresses (on the loopback interface
/// when bound to every interface).
fn addresses_of(bound: &[(Service, TcpListener)]) -> Addresses {
    let uri_of = |wanted: Service| -> Uri {
        let addr = bound
            .iter()
            .find(|(service, _)| *service == wanted)
            .and_then(|(_, listener)| listener.local_addr().ok())
            .map(reachable)
            .expect("every service is bound");
        format!("http://{addr}")
            .parse()
            .expect("a socket address makes a valid URI")
    };
    Addresses {
        actors: uri_of(Service::Actors),
        communications: uri_of(Service::Communications),
        statements: uri_of(Service::Statements),
    }
}

/// `addr`, on the loopback interface when it is the unspecified one (0.0.0.0 or ::).
fn reachable(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

/// The database URL of `service`: its schema of `--database-url`, memory, or its file in the
/// data directory.
fn database_url(options: &UpOptions, service: Service) -> String {
    if let Some(url) = &options.database_url {
        chancery_runtime::db::with_schema(url, service.name())
    } else if options.in_memory {
        "sqlite::memory:".to_owned()
    } else {
        format!(
            "sqlite://{}",
            options
                .data_dir
                .join(format!("{}.db", service.name()))
                .display()
        )
    }
}

/// The `data` line: where the suite keeps its data.
fn data_description(options: &UpOptions) -> String {
    if let Some(url) = &options.database_url {
        format!(
            "{} (a schema per service)",
            chancery_runtime::db::redact(url)
        )
    } else if options.in_memory {
        "in memory (lost at exit)".to_owned()
    } else {
        options.data_dir.display().to_string()
    }
}

/// Serves one service with `server` (on its own listener) behind `gate` until `stopped` turns
/// true.
async fn serve(
    ready: Ready,
    server: ServerConfig,
    addresses: Addresses,
    gate: ReadyGate,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), String> {
    let listen = ready
        .listener
        .local_addr()
        .map_err(|error| error.to_string())?;
    let service = ready.service;
    let server = ServerConfig { listen, ..server };
    service
        .serve_behind_gate(
            ready.listener,
            &server,
            ready.database,
            &addresses,
            gate,
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            },
        )
        .await
        .map_err(|error| format!("{}: {error}", service.name()))
}

/// What the suite still has to do before it is ready: import the demo and open the gate
/// (with `--demo`), then see every service report SERVING.
struct Becoming {
    /// Opens the services' gate once the demo is imported; `None` without `--demo`.
    opener: Option<GateOpener>,
    /// Every service's address and gRPC name, the gateway first.
    targets: Vec<(SocketAddr, &'static str)>,
    /// The token the demo is imported with, when access control is on.
    token_file: Option<PathBuf>,
    /// What the `ready:` line's grpcurl command needs besides `-plaintext`.
    grpcurl_flags: String,
}

/// The grpcurl flags a first command needs under `settings`: a token unless reads are open,
/// the proto files when reflection is off (from the repository's root).
fn grpcurl_flags(settings: &Settings) -> String {
    let mut flags = String::new();
    let auth = &settings.server.auth;
    if let (Some(file), true, false) = (
        &settings.service_token_file,
        auth.credentials.is_some(),
        auth.open_reads,
    ) {
        flags.push_str(&format!(
            " -H \"authorization: Bearer $(cat {})\"",
            file.display()
        ));
    }
    if !settings.server.reflection {
        flags.push_str(" -import-path proto -proto chancery/gateway/v1/gateway.proto");
    }
    flags
}

/// Runs until a signal, or until a service fails on its own; meanwhile makes the suite ready
/// ([`become_ready`]). The failure that ended the run, if any.
async fn wait(becoming: Becoming, services: &mut JoinSet<Result<(), String>>) -> Option<String> {
    let readying = become_ready(becoming);
    let mut readying = std::pin::pin!(readying);
    let mut ready = false;
    loop {
        tokio::select! {
            () = shutdown::signal() => return None,
            Some(result) = services.join_next() => {
                return Some(result.map_err(|e| e.to_string()).and_then(|r| r).err().unwrap_or_else(|| "a service stopped".into()));
            }
            outcome = &mut readying, if !ready => {
                ready = true;
                if let Err(problem) = outcome {
                    return Some(problem);
                }
            }
        }
    }
}

/// Imports the demo (with `--demo`, printing the `demo` line) and opens the gate, waits until
/// every service reports SERVING, then prints the `ready:` line.
async fn become_ready(becoming: Becoming) -> Result<(), String> {
    let gateway = becoming.targets[0].0;
    if let Some(opener) = &becoming.opener {
        let line = load_demo(gateway, becoming.token_file.as_deref())
            .await
            .map_err(|problem| format!("the demo bundle could not be imported: {problem}"))?;
        say(format_args!("{:<15} {line}", "demo"));
        opener.open();
    }
    for (address, name) in &becoming.targets {
        serving(*address, name).await?;
    }
    let flags = &becoming.grpcurl_flags;
    say(format_args!(
        "ready: gateway at {gateway} — try: grpcurl -plaintext{flags} {gateway} list"
    ));
    Ok(())
}

/// Waits until the server at `address` reports `service` SERVING (health is open: no token).
async fn serving(address: SocketAddr, service: &str) -> Result<(), String> {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
    let unhealthy = |error: &dyn std::fmt::Display| format!("health of {service}: {error}");
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .map_err(|e| unhealthy(&e))?
        .connect()
        .await
        .map_err(|e| unhealthy(&e))?;
    let mut changes = HealthClient::new(channel)
        .watch(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .map_err(|e| unhealthy(&e))?
        .into_inner();
    while let Some(change) = changes.message().await.map_err(|e| unhealthy(&e))? {
        if change.status == ServingStatus::Serving as i32 {
            return Ok(());
        }
    }
    Err(unhealthy(&"the health stream ended"))
}

/// Imports the demo bundle through the gateway at `gateway`, with the token of `token_file`
/// when access control is on; the line to print.
async fn load_demo(
    gateway: SocketAddr,
    token_file: Option<&std::path::Path>,
) -> Result<String, String> {
    let bundle = crate::cli::import::demo_bundle();
    let response = crate::cli::import::send(
        &format!("http://{gateway}"),
        token_file,
        &crate::cli::client::TlsFiles::default(),
        bundle,
    )
    .await
    .map_err(|failure| failure.message)?;
    let episode = response
        .episode
        .as_ref()
        .map_or("the demo episode", |e| e.name.as_str());
    Ok(format!(
        "{episode} imported ({})",
        crate::cli::import::totals(&response)
    ))
}
