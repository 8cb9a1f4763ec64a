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

use chancery_runtime::backends::lazy_channel;
use chancery_runtime::config::{Env, ServerConfig};
use chancery_runtime::db::Database;
use chancery_runtime::{shutdown, telemetry};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tonic::transport::Channel;

use crate::args::UpOptions;

/// A service of the suite: its name and its port's offset from the base port (the gateway's).
struct Member {
    name: &'static str,
    offset: u16,
    grpc_service: &'static str,
}

const GATEWAY: Member = Member {
    name: "gateway",
    offset: 0,
    grpc_service: chancery_gateway::SERVICE_NAME,
};
const ACTORS: Member = Member {
    name: "actors",
    offset: 1,
    grpc_service: chancery_actors::SERVICE_NAME,
};
const COMMUNICATIONS: Member = Member {
    name: "communications",
    offset: 2,
    grpc_service: chancery_communications::SERVICE_NAME,
};
const STATEMENTS: Member = Member {
    name: "statements",
    offset: 3,
    grpc_service: chancery_statements::SERVICE_NAME,
};

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

async fn start_and_wait(options: &UpOptions) -> Result<(), String> {
    let database_url = |member: &Member| {
        if let Some(url) = &options.database_url {
            chancery_runtime::db::with_schema(url, member.name)
        } else if options.in_memory {
            "sqlite::memory:".to_owned()
        } else {
            format!(
                "sqlite://{}",
                options
                    .data_dir
                    .join(format!("{}.db", member.name))
                    .display()
            )
        }
    };
    let bind = |member: &'static Member| async move {
        let port = if options.port_base == 0 {
            0
        } else {
            options.port_base + member.offset
        };
        let addr = SocketAddr::new(options.host, port);
        let listener = TcpListener::bind(addr).await.map_err(|error| {
            format!("cannot listen on {addr} for {}: {error} (is another chancery running? try --port-base)", member.name)
        })?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        println!("{:<15} {local}  {}", member.name, member.grpc_service);
        Ok::<_, String>((listener, local))
    };
    let open = |member: &'static Member, opened: Result<Database, String>| {
        opened.map_err(|error| format!("cannot open the {} database: {error}", member.name))
    };

    let (gateway_listener, gateway_addr) = bind(&GATEWAY).await?;
    let (actors_listener, actors_addr) = bind(&ACTORS).await?;
    let (communications_listener, communications_addr) = bind(&COMMUNICATIONS).await?;
    let (statements_listener, statements_addr) = bind(&STATEMENTS).await?;
    println!(
        "{:<15} {}",
        "data",
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
    );
    let actors_db = open(
        &ACTORS,
        chancery_actors::open_database(&database_url(&ACTORS))
            .await
            .map_err(|e| e.to_string()),
    )?;
    let communications_db = open(
        &COMMUNICATIONS,
        chancery_communications::open_database(&database_url(&COMMUNICATIONS))
            .await
            .map_err(|e| e.to_string()),
    )?;
    let statements_db = open(
        &STATEMENTS,
        chancery_statements::open_database(&database_url(&STATEMENTS))
            .await
            .map_err(|e| e.to_string()),
    )?;
    let gateway_db = open(
        &GATEWAY,
        chancery_gateway::open_database(&database_url(&GATEWAY))
            .await
            .map_err(|e| e.to_string()),
    )?;
    let channel_to = |addr: SocketAddr| -> Channel {
        let uri = format!("http://{addr}")
            .parse()
            .expect("a socket address makes a valid URI");
        lazy_channel(&uri)
    };

    let (stop, stopped) = watch::channel(false);
    let on_stop = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    let server = |listener: &TcpListener| {
        ServerConfig::new(
            listener
                .local_addr()
                .unwrap_or_else(|_| SocketAddr::new(options.host, 0)),
        )
    };
    let mut services = JoinSet::new();
    {
        let server = server(&actors_listener);
        let shutdown = on_stop();
        services.spawn(async move {
            chancery_actors::serve_with_database(actors_listener, &server, actors_db, shutdown)
                .await
                .map_err(|e| format!("actors: {e}"))
        });
    }
    {
        let server = server(&communications_listener);
        let backends = chancery_communications::Backends {
            actors: channel_to(actors_addr),
        };
        let shutdown = on_stop();
        services.spawn(async move {
            chancery_communications::serve_with_database(
                communications_listener,
                &server,
                communications_db,
                backends,
                shutdown,
            )
            .await
            .map_err(|e| format!("communications: {e}"))
        });
    }
    {
        let server = server(&statements_listener);
        let backends = chancery_statements::Backends {
            actors: channel_to(actors_addr),
            communications: channel_to(communications_addr),
        };
        let shutdown = on_stop();
        services.spawn(async move {
            chancery_statements::serve_with_database(
                statements_listener,
                &server,
                statements_db,
                backends,
                shutdown,
            )
            .await
            .map_err(|e| format!("statements: {e}"))
        });
    }

    {
        let server = server(&gateway_listener);
        let backends = chancery_gateway::Backends {
            actors: channel_to(actors_addr),
            communications: channel_to(communications_addr),
            statements: channel_to(statements_addr),
        };
        let shutdown = on_stop();
        services.spawn(async move {
            chancery_gateway::serve_with_database(
                gateway_listener,
                &server,
                gateway_db,
                backends,
                shutdown,
            )
            .await
            .map_err(|e| format!("gateway: {e}"))
        });
    }

    // Run until a signal, or until a service fails on its own; meanwhile load the demo.
    let demo = load_demo(options.demo, gateway_addr);
    let mut demo = std::pin::pin!(demo);
    let mut demo_done = !options.demo;
    let mut failure = None;
    loop {
        tokio::select! {
            () = shutdown::signal() => break,
            Some(result) = services.join_next() => {
                failure = Some(result.map_err(|e| e.to_string()).and_then(|r| r).err().unwrap_or_else(|| "a service stopped".into()));
                break;
            }
            loaded = &mut demo, if !demo_done => {
                demo_done = true;
                match loaded {
                    Ok(line) => println!("{:<15} {line}", "demo"),
                    Err(problem) => {
                        failure = Some(format!("the demo bundle could not be imported: {problem}"));
                        break;
                    }
                }
            }
        }
    }
    let _ = stop.send(true);
    while let Some(result) = services.join_next().await {
        if let Err(problem) = result.map_err(|e| e.to_string()).and_then(|r| r) {
            failure.get_or_insert(problem);
        }
    }
    failure.map_or(Ok(()), Err)
}

/// Imports the demo bundle through the gateway at `gateway` when `wanted`; the line to print.
async fn load_demo(wanted: bool, gateway: SocketAddr) -> Result<String, String> {
    if !wanted {
        return Ok(String::new());
    }
    // Listening on every interface (0.0.0.0) means reachable on the loopback one.
    let mut gateway = gateway;
    if gateway.ip().is_unspecified() {
        gateway.set_ip(match gateway {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let bundle = crate::import::demo_bundle();
    let response = crate::import::send(
        &format!("http://{gateway}"),
        None,
        &crate::client::TlsFiles::default(),
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
        crate::import::totals(&response)
    ))
}
