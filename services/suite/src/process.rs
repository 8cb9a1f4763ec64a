//! A service alone in its process, configured from the environment: the body of each service
//! binary (`chancery-actors`, `chancery-communications`, `chancery-statements`,
//! `chancery-gateway`).

use std::process::ExitCode;

use chancery_runtime::config::{self, Env};
use chancery_runtime::{shutdown, telemetry};

use crate::service::Service;

/// Runs `service` until SIGTERM or Ctrl-C: reads its configuration (exit code 64 naming the
/// variable when one is invalid), starts logging, binds, opens and migrates the database,
/// serves, drains. Exit code 1 when it cannot listen or fails.
pub fn run(service: Service) -> ExitCode {
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
