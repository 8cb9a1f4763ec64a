//! The gateway's configuration: the shared service settings with its own defaults, and the
//! addresses of the three services it composes.

use chancery_runtime::config::{self, ConfigError, Env, ServiceConfig, ServiceDefaults};
use tonic::transport::Uri;

/// Port 50051 and `sqlite://data/gateway.db` unless the environment says otherwise.
pub const DEFAULTS: ServiceDefaults = ServiceDefaults {
    port: 50051,
    database_url: "sqlite://data/gateway.db",
};

/// Everything the gateway reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listener, database, logs.
    pub service: ServiceConfig,
    /// URI of the actors service (`CHANCERY_ACTORS_ADDR`).
    pub actors_addr: Uri,
    /// URI of the communications service (`CHANCERY_COMMUNICATIONS_ADDR`).
    pub communications_addr: Uri,
    /// URI of the statements service (`CHANCERY_STATEMENTS_ADDR`).
    pub statements_addr: Uri,
}

/// Reads the configuration through `env`.
pub fn read(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Config, ConfigError> {
    Ok(Config {
        service: env.service(DEFAULTS)?,
        actors_addr: env.backend(config::ACTORS_ADDR, "http://127.0.0.1:50052")?,
        communications_addr: env.backend(config::COMMUNICATIONS_ADDR, "http://127.0.0.1:50053")?,
        statements_addr: env.backend(config::STATEMENTS_ADDR, "http://127.0.0.1:50054")?,
    })
}

/// Reads the configuration from the process environment.
pub fn from_env() -> Result<Config, ConfigError> {
    read(&Env::process())
}
