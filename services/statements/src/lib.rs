//! The Chancery statements service (`chancery.statements.v1.StatementService`, port 50054): who said what, when, about which communication; content modes and quoted spans; attribution chains; source documents.
//!
//! # Layout
//!
//! - [`config`]: the service's settings from the environment.
//! - [`api`]: the RPC handlers — decode, validate, check references (actors and communications
//!   with one call each to their services), call the store, encode.
//! - [`domain`]: validation rules (quoted and attributed spans, attribution chains with unnamed
//!   sources, relayed speech, placements, readouts, documents), update masks of statements and
//!   documents, the references and projections of a statement; no I/O.
//! - [`store`]: SQLite/PostgreSQL storage; migrations in `migrations/{sqlite,postgres}`.
//! - [`error`]: the suite-wide error type, mapped to `tonic::Status` in one place.
//!
//! [`serve`] runs the service on a listener until a shutdown future resolves; `main.rs` only
//! reads the configuration, binds and waits for SIGTERM.

pub mod api;
pub mod config;
pub use chancery_domain::statements as domain;
pub mod error;
pub mod store;

use std::future::Future;

use chancery_proto::statements::v1::statement_service_server::StatementServiceServer;
use chancery_runtime::backends::lazy_channel_with;
use chancery_runtime::config::ServerConfig;
use chancery_runtime::db::{self, Database, Migrations};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::Channel;

/// Fully-qualified name of the gRPC service, as health checks and reflection name it.
pub const SERVICE_NAME: &str = "chancery.statements.v1.StatementService";

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
    /// Channel to the communications service.
    pub communications: Channel,
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
        StatementServiceServer::new(api::Api::new(database, backends))
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
        communications: backend(&config.communications_addr)?,
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
