//! The actors service's configuration: the shared service settings, with its own defaults.

use chancery_runtime::config::{ConfigError, Env, ServiceConfig, ServiceDefaults};

/// Port 50052 and `sqlite://data/actors.db` unless the environment says otherwise.
pub const DEFAULTS: ServiceDefaults = ServiceDefaults {
    port: 50052,
    database_url: "sqlite://data/actors.db",
};

/// Reads `CHANCERY_LISTEN`, `CHANCERY_DATABASE_URL`, `CHANCERY_LOG_FORMAT` and the server
/// settings from the process environment.
pub fn from_env() -> Result<ServiceConfig, ConfigError> {
    Env::process().service(DEFAULTS)
}
