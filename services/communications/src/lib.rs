//! The Chancery communications service (`chancery.communications.v1.CommunicationService`, port 50053): calls, meetings, visits, letters: participants, planned and occurred dates, topics, and the append-only status log.
//!
//! # Layout
//!
//! - [`config`]: the service's settings from the environment.
//! - [`api`]: the RPC handlers — decode, validate, check actor references with one
//!   `BatchGetActors` call, call the store, encode.
//! - [`domain`]: validation rules, the lifecycle and verification computed from the status log,
//!   the date a communication is ordered by, update masks; no I/O.
//! - [`store`]: SQLite/PostgreSQL storage; migrations in `migrations/{sqlite,postgres}`.
//! - [`error`]: the suite-wide error type, mapped to `tonic::Status` in one place.
//!
//! [`serve`] runs the service on a listener until a shutdown future resolves; `main.rs` only
//! reads the configuration, binds and waits for SIGTERM.

pub mod api;
pub mod config;
pub use chancery_domain::communications as domain;
pub mod error;
pub mod store;

use std::future::Future;

use chancery_proto::communications::v1::communication_service_server::CommunicationServiceServer;
use chancery_runtime::backends::lazy_channel_with;
use chancery_runtime::config::ServerConfig;
use chancery_runtime::db::{self, Database, Migrations};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::Channel;

/// Fully-qualified name of the gRPC service, as health checks and reflection name it.
pub const SERVICE_NAME: &str = "chancery.communications.v1.CommunicationService";

/// Largest request message accepted, in bytes; larger ones fail with RESOURCE_EXHAUSTED.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// The service's migrations, embedded in the binary.
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &sqlx::migrate!("./migrations/sqlite"),
    postgres: &sqlx::migrate!("./migrations/postgres"),
};

/// The other services this one calls.
#[derive(Debug, Clone)]
pub struct Backends {
    /// Channel to the actors service.
    pub actors: Channel,
}

/// Why the service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Database(#[from] chancery_runtime::db::DbError),
    /// The server failed.
    #[error(transparent)]
    Server(#[from] chancery_runtime::server::ServeError),
}

/// Opens and migrates the service's database.
pub async fn open_database(url: &str) -> Result<Database, ServeError> {
    Ok(db::connect(url, &MIGRATIONS).await?)
}

/// The service's routes on an opened database, for a server that hosts it (alone or with others).
pub fn routes(database: Database, backends: Backends) -> Routes {
    Routes::new(
        CommunicationServiceServer::new(api::Api::new(store::Store::new(database), backends))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(64 * 1024 * 1024),
    )
}

/// Opens the database, then serves the service on `listener` until `shutdown` resolves and
/// in-flight requests drain. Other services are connected lazily: this one starts even while
/// they are still starting.
pub async fn serve(
    listener: TcpListener,
    config: &config::Config,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let database = open_database(&config.service.database_url).await?;
    let tls = &config.service.server.tls;
    let backend =
        |uri| lazy_channel_with(uri, tls).map_err(chancery_runtime::server::ServeError::from);
    let backends = Backends {
        actors: backend(&config.actors_addr)?,
    };
    serve_with_database(
        listener,
        &config.service.server,
        database,
        backends,
        shutdown,
    )
    .await
}

/// Serves the service on an already opened database.
pub async fn serve_with_database(
    listener: TcpListener,
    server: &ServerConfig,
    database: Database,
    backends: Backends,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    chancery_runtime::server::serve_with_readiness(
        listener,
        server,
        routes(database.clone(), backends),
        &[SERVICE_NAME],
        Some(database),
        shutdown,
    )
    .await?;
    Ok(())
}
