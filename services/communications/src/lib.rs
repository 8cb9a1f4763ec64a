//! The Chancery communications service (`chancery.communications.v1.CommunicationService`, port 50053): calls, meetings, visits, letters: participants, planned and occurred dates, topics, and the append-only status log.
//!
//! # Layout
//!
//! - [`api`]: the tonic trait over the [`Api`] (defined here, in the crate root); each RPC is one
//!   delegation to its handler.
//! - `communications`: the handler of every RPC (`AppendStatus` included), each reading
//!   decode → validate → check actor references with one `BatchGetActors` call
//!   (`chancery_runtime::lookup`) → the store method of the same name → encode.
//! - [`domain`]: validation rules, the request validators (`read_list_communications`, …), the
//!   lifecycle and verification computed from the status log, the date a communication is
//!   ordered by, update masks; no I/O.
//! - [`store`]: SQLite/PostgreSQL storage, one method per RPC named after it; migrations in
//!   `migrations/{sqlite,postgres}`.
//!
//! The service is built and served by the composition root, `services/suite`
//! (`chancery_suite::Service`), for its own binary, `chancery up` and the tests alike.

pub mod api;
mod communications;
pub use chancery_domain::communications as domain;
pub mod store;

use crate::store::Store;
use chancery_proto::communications::v1::communication_service_server::CommunicationServiceServer;
use chancery_runtime::breaker::Breaker;
use chancery_runtime::compression::Compressed;
use chancery_runtime::db::{Database, EmbeddedMigration, Migrations};
use tonic::service::Routes;
use tonic::transport::Channel;

/// Fully-qualified name of the gRPC service, as health checks and reflection name it.
pub const SERVICE_NAME: &str = "chancery.communications.v1.CommunicationService";

/// Largest request message accepted, in bytes; larger ones fail with RESOURCE_EXHAUSTED.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// The service's migrations, embedded in the binary; every file of `migrations/` is listed
/// (tests/tests/layout.rs checks it).
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        EmbeddedMigration::new(
            1,
            "communications",
            include_str!("../migrations/sqlite/0001_communications.sql"),
        ),
        EmbeddedMigration::new(
            2,
            "communications",
            include_str!("../migrations/sqlite/0002_communications.sql"),
        ),
    ],
    postgres: &[
        EmbeddedMigration::new(
            1,
            "communications",
            include_str!("../migrations/postgres/0001_communications.sql"),
        ),
        EmbeddedMigration::new(
            2,
            "communications",
            include_str!("../migrations/postgres/0002_communications.sql"),
        ),
    ],
};

/// The other services this one calls.
#[derive(Debug, Clone)]
pub struct Backends {
    /// Channel to the actors service.
    pub actors: Channel,
}

/// The service's routes on an opened database, for a server that hosts it (alone or with others).
pub fn routes(database: Database, backends: Backends) -> Routes {
    Routes::new(
        CommunicationServiceServer::new(Api::new(store::Store::new(database), backends))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(64 * 1024 * 1024)
            .compressed(),
    )
}

/// The communications service, serving one store and checking actor references through
/// `backends`.
#[derive(Debug, Clone)]
pub struct Api {
    pub(crate) store: Store,
    pub(crate) backends: Backends,
    /// The circuit breaker of every call to the actors service.
    pub(crate) actors_breaker: Breaker,
}

impl Api {
    /// The service on `store`, checking references through `backends`.
    pub fn new(store: Store, backends: Backends) -> Self {
        Self {
            store,
            backends,
            actors_breaker: Breaker::new("communications", "actors"),
        }
    }
}
