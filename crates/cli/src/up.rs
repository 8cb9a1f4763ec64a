//! `chancery up`: every service in one process, each on its own port, sharing one shutdown.
//! Stops on SIGTERM or Ctrl-C: every service turns NOT_SERVING and drains.

use std::net::SocketAddr;
use std::process::ExitCode;

use chancery_runtime::config::{Env, ServerConfig};
use chancery_runtime::{shutdown, telemetry};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::args::UpOptions;

/// Offset of each service's port from the base port (the gateway's, 50051).
const ACTORS_OFFSET: u16 = 1;

/// Runs the suite until a signal arrives.
pub async fn run(options: UpOptions) -> ExitCode {
    let log_format = Env::process()
        .log_format()
        .unwrap_or_else(|error| chancery_runtime::config::exit_with(error));
    telemetry::init(log_format);

    let database_url = |service: &str| {
        if options.in_memory {
            "sqlite::memory:".to_owned()
        } else {
            format!(
                "sqlite://{}",
                options.data_dir.join(format!("{service}.db")).display()
            )
        }
    };
    let port = |offset: u16| {
        if options.port_base == 0 {
            0
        } else {
            options.port_base + offset
        }
    };

    let actors_db = match chancery_actors::open_database(&database_url("actors")).await {
        Ok(db) => db,
        Err(error) => {
            tracing::error!(%error, "cannot open the actors database");
            return ExitCode::FAILURE;
        }
    };
    let actors_listener = match bind(SocketAddr::new(options.host, port(ACTORS_OFFSET))).await {
        Ok(listener) => listener,
        Err(code) => return code,
    };
    let actors_addr = actors_listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    println!("actors          {actors_addr}  chancery.actors.v1.ActorService");
    println!(
        "data            {}",
        if options.in_memory {
            "in memory (lost at exit)".to_owned()
        } else {
            options.data_dir.display().to_string()
        }
    );

    let (stop, stopped) = watch::channel(false);
    let on_stop = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    let actors_server = ServerConfig::new(SocketAddr::new(options.host, port(ACTORS_OFFSET)));
    let actors = tokio::spawn(async move {
        chancery_actors::serve_with_database(actors_listener, &actors_server, actors_db, on_stop())
            .await
    });

    shutdown::signal().await;
    let _ = stop.send(true);
    match actors.await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            tracing::error!(%error, "actors service failed");
            ExitCode::FAILURE
        }
        Err(error) => {
            tracing::error!(%error, "actors service task failed");
            ExitCode::FAILURE
        }
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ExitCode> {
    TcpListener::bind(addr).await.map_err(|error| {
        eprintln!("chancery: cannot listen on {addr}: {error} (is another chancery running? try --port-base)");
        ExitCode::FAILURE
    })
}
