//! `chancery-statements`: the statements service alone, configured from the environment.

use std::process::ExitCode;

use chancery_runtime::{config, shutdown, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let config =
        chancery_statements::config::from_env().unwrap_or_else(|error| config::exit_with(error));
    telemetry::init(config.service.log_format);
    let listen = config.service.server.listen;
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%listen, %error, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    let code = match chancery_statements::serve(listener, &config, shutdown::signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "statements service failed");
            ExitCode::FAILURE
        }
    };
    telemetry::shutdown().await;
    code
}
