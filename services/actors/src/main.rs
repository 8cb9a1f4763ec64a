//! `chancery-actors`: the actors service alone, configured from the environment.

use std::process::ExitCode;

use chancery_runtime::{config, shutdown, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let config =
        chancery_actors::config::from_env().unwrap_or_else(|error| config::exit_with(error));
    telemetry::init(config.log_format);
    let listener = match tokio::net::TcpListener::bind(config.server.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(listen = %config.server.listen, %error, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    let code = match chancery_actors::serve(listener, &config, shutdown::signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "actors service failed");
            ExitCode::FAILURE
        }
    };
    telemetry::shutdown().await;
    code
}
