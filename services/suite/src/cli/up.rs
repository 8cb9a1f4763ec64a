//! `chancery up`: every service in one process, each on its own port, wired to each other as in
//! production and sharing one shutdown. Stops on SIGTERM or Ctrl-C: every service turns
//! NOT_SERVING and drains.
//!
//! With `--demo`, once the services are up the demo bundle (the seed episode,
//! `episodes/macron-putin-2022-03`) is imported through the gateway, as `chancery import` would;
//! on later starts over the same data the import finds everything unchanged. A failed import
//! stops the suite with an error.
//!
//! With `--database-url postgres://…` every service keeps its data in that one database, in a
//! schema named after it (`actors`, `communications`, `statements`, `gateway`), created when
//! missing.

use std::net::SocketAddr;
use std::process::ExitCode;

use chancery_runtime::config::{Env, ServerConfig};
use chancery_runtime::db::Database;
use chancery_runtime::{shutdown, telemetry};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tonic::transport::Uri;

use crate::cli::args::UpOptions;
use crate::service::{Addresses, Service};

/// Runs the suite until a signal arrives.
pub async fn run(options: UpOptions) -> ExitCode {
    let log_format = Env::process()
        .log_format()
        .unwrap_or_else(|error| chancery_runtime::config::exit_with(error));
    telemetry::init(log_format);
    let code = match start_and_wait(&options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("chancery: {problem}");
            ExitCode::FAILURE
        }
    };
    telemetry::shutdown().await;
    code
}

/// One service of the suite, bound and opened, not yet serving.
struct Ready {
    service: Service,
    listener: TcpListener,
    database: Database,
}

/// Binds every service (printing its address), opens every database, serves them all wired to
/// each other, and waits for a signal or a failure; meanwhile imports the demo if asked.
async fn start_and_wait(options: &UpOptions) -> Result<(), String> {
    let mut bound = Vec::new();
    for service in Service::ALL {
        bound.push((service, bind(options, service).await?));
    }
    println!("{:<15} {}", "data", data_description(options));
    let addresses = addresses_of(&bound);
    let gateway = bound[0].1.local_addr().map_err(|e| e.to_string())?;
    let mut ready = Vec::new();
    for (service, listener) in bound {
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
    let (stop, stopped) = watch::channel(false);
    let mut services = JoinSet::new();
    for service in ready {
        services.spawn(serve(service, addresses.clone(), stopped.clone()));
    }
    let failure = wait(options.demo, gateway, &mut services).await;
    let _ = stop.send(true);
    let mut failure = failure;
    while let Some(result) = services.join_next().await {
        if let Err(problem) = result.map_err(|e| e.to_string()).and_then(|r| r) {
            failure.get_or_insert(problem);
        }
    }
    failure.map_or(Ok(()), Err)
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
    println!("{:<15} {local}  {}", service.name(), service.grpc_service());
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

/// Serves one service until `stopped` turns true.
async fn serve(
    ready: Ready,
    addresses: Addresses,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), String> {
    let listen = ready
        .listener
        .local_addr()
        .map_err(|error| error.to_string())?;
    let service = ready.service;
    service
        .serve(
            ready.listener,
            &ServerConfig::new(listen),
            ready.database,
            &addresses,
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            },
        )
        .await
        .map_err(|error| format!("{}: {error}", service.name()))
}

/// Runs until a signal, or until a service fails on its own; meanwhile loads the demo when
/// `demo`. The failure that ended the run, if any.
async fn wait(
    demo: bool,
    gateway: SocketAddr,
    services: &mut JoinSet<Result<(), String>>,
) -> Option<String> {
    let loading = load_demo(demo, gateway);
    let mut loading = std::pin::pin!(loading);
    let mut demo_done = !demo;
    loop {
        tokio::select! {
            () = shutdown::signal() => return None,
            Some(result) = services.join_next() => {
                return Some(result.map_err(|e| e.to_string()).and_then(|r| r).err().unwrap_or_else(|| "a service stopped".into()));
            }
            loaded = &mut loading, if !demo_done => {
                demo_done = true;
                match loaded {
                    Ok(line) => println!("{:<15} {line}", "demo"),
                    Err(problem) => return Some(format!("the demo bundle could not be imported: {problem}")),
                }
            }
        }
    }
}

/// Imports the demo bundle through the gateway at `gateway` when `wanted`; the line to print.
async fn load_demo(wanted: bool, gateway: SocketAddr) -> Result<String, String> {
    if !wanted {
        return Ok(String::new());
    }
    let gateway = reachable(gateway);
    let bundle = crate::cli::import::demo_bundle();
    let response = crate::cli::import::send(
        &format!("http://{gateway}"),
        None,
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
