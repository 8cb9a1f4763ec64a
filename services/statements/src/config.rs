//! The statements service's configuration: the shared service settings with its own defaults, and
//! the addresses of the services it checks references against.

use chancery_runtime::config::{self, ConfigError, Env, ServiceConfig, ServiceDefaults};
use tonic::transport::Uri;

/// Port 50054 and `sqlite://data/statements.db` unless the environment says otherwise.
pub const DEFAULTS: ServiceDefaults = ServiceDefaults {
    port: 50054,
    database_url: "sqlite://data/statements.db",
};

/// Everything the statements service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listener, database, logs.
    pub service: ServiceConfig,
    /// URI of the actors service (`CHANCERY_ACTORS_ADDR`).
    pub actors_addr: Uri,
    /// URI of the communications service (`CHANCERY_COMMUNICATIONS_ADDR`).
    pub communications_addr: Uri,
}

/// Reads the configuration through `env`.
pub fn read(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Config, ConfigError> {
    Ok(Config {
        service: env.service(DEFAULTS)?,
        actors_addr: env.backend(config::ACTORS_ADDR, "http://127.0.0.1:50052")?,
        communications_addr: env.backend(config::COMMUNICATIONS_ADDR, "http://127.0.0.1:50053")?,
    })
}

/// Reads the configuration from the process environment.
pub fn from_env() -> Result<Config, ConfigError> {
    read(&Env::process())
}
