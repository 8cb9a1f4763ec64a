//! The communications service's configuration: the shared service settings with its own defaults, and
//! the addresses of the services it checks references against.

use chancery_runtime::config::{self, ConfigError, Env, ServiceConfig, ServiceDefaults};
use tonic::transport::Uri;

/// Port 50053 and `sqlite://data/communications.db` unless the environment says otherwise.
pub const DEFAULTS: ServiceDefaults = ServiceDefaults {
    port: 50053,
    database_url: "sqlite://data/communications.db",
};

/// Everything the communications service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listener, database, logs.
    pub service: ServiceConfig,
    /// URI of the actors service (`CHANCERY_ACTORS_ADDR`).
    pub actors_addr: Uri,
}

/// Reads the configuration through `env`.
pub fn read(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Config, ConfigError> {
    Ok(Config {
        service: env.service(DEFAULTS)?,
        actors_addr: env.backend(config::ACTORS_ADDR, "http://127.0.0.1:50052")?,
    })
}

/// Reads the configuration from the process environment.
pub fn from_env() -> Result<Config, ConfigError> {
    read(&Env::process())
}
