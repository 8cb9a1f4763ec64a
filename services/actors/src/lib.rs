//! The Chancery actors service (`chancery.actors.v1.ActorService`, port 50052): actors (people,
//! states, government bodies, media outlets, anonymous sources…), the offices that exist (posts)
//! and who held which office when (tenures).
//!
//! # Layout
//!
//! - [`config`]: the service's settings from the environment.
//! - [`api`]: the RPC handlers — decode, validate, call the store, encode.
//! - [`domain`]: validation rules, update masks, search text, tenure coverage; no I/O.
//! - [`store`]: SQLite/PostgreSQL storage; migrations in `migrations/{sqlite,postgres}`.
//! - [`error`]: the service's error enum and its one mapping to `tonic::Status`.
//!
//! [`serve`] runs the service on a listener until a shutdown future resolves; `main.rs` only
//! reads the configuration, binds and waits for SIGTERM.

pub mod api;
pub mod config;
pub use chancery_domain::actors as domain;
pub mod error;
pub mod store;

use std::future::Future;

use chancery_proto::actors::v1::actor_service_server::ActorServiceServer;
use chancery_runtime::config::ServerConfig;
use chancery_runtime::db::{self, Database, Migrations};
use tokio::net::TcpListener;
use tonic::service::Routes;

/// Fully-qualified name of the gRPC service, as health checks and reflection name it.
pub const SERVICE_NAME: &str = "chancery.actors.v1.ActorService";

/// Largest request message accepted, in bytes; larger ones fail with RESOURCE_EXHAUSTED.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// The service's migrations, embedded in the binary.
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &sqlx::migrate!("./migrations/sqlite"),
    postgres: &sqlx::migrate!("./migrations/postgres"),
};

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
pub fn routes(database: Database) -> Routes {
    let api = api::ActorApi::new(store::Store::new(database));
    Routes::new(
        ActorServiceServer::new(api)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(64 * 1024 * 1024),
    )
}

/// Opens the database, then serves the actors service on `listener` until `shutdown` resolves
/// and in-flight requests drain.
pub async fn serve(
    listener: TcpListener,
    config: &chancery_runtime::config::ServiceConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let database = open_database(&config.database_url).await?;
    serve_with_database(listener, &config.server, database, shutdown).await
}

/// Serves the actors service on an already opened database.
pub async fn serve_with_database(
    listener: TcpListener,
    server: &ServerConfig,
    database: Database,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    chancery_runtime::server::serve_with_readiness(
        listener,
        server,
        routes(database.clone()),
        &[SERVICE_NAME],
        Some(database),
        shutdown,
    )
    .await?;
    Ok(())
}
