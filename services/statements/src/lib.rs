//! The Chancery statements service (`chancery.statements.v1.StatementService`, port 50054): who said what, when, about which communication; content modes and quoted spans; attribution chains; source documents.
//!
//! # Layout
//!
//! - [`api`]: the tonic trait implementation over the [`Api`] (store, backends, breakers; defined here, in the crate root),
//!   each RPC one delegation to its family's handler.
//! - `statements`: the handlers of the Statement RPCs (`GetStatement`, `BatchGetStatements`,
//!   `ListStatements`, `CreateStatement`, `UpdateStatement`, `DeleteStatement`).
//! - `source_documents`: the handlers of the SourceDocument RPCs (`CreateSourceDocument`,
//!   `GetSourceDocument`, `ListSourceDocuments`, `BatchGetSourceDocuments`,
//!   `UpdateSourceDocument`, `DeleteSourceDocument`).
//!
//!   Each handler reads top to bottom: decode, validate, check references (actors and
//!   communications with one `chancery_runtime::lookup` call each to their services), apply
//!   (the store method named after the RPC), encode.
//! - [`domain`]: validation rules (quoted and attributed spans, attribution chains with unnamed
//!   sources, relayed speech, placements, readouts, documents), update masks of statements and
//!   documents, the references and projections of a statement, and the request validators
//!   (`read_list_statements`, `validate_create_statement`, …, in `domain::requests`); no I/O.
//! - [`store`]: SQLite/PostgreSQL storage, one method per RPC named after it; migrations in
//!   `migrations/{sqlite,postgres}`.
//!
//! The service is built and served by the composition root, `services/suite`
//! (`chancery_suite::Service`), for its own binary, `chancery up` and the tests alike.

pub mod api;
pub use chancery_domain::statements as domain;
mod source_documents;
mod statements;
pub mod store;

use crate::store::Store;
use chancery_proto::statements::v1::statement_service_server::StatementServiceServer;
use chancery_runtime::backends::{CALL_TIMEOUT, call_timeout, outbound};
use chancery_runtime::breaker::Breaker;
use chancery_runtime::compression::Compressed;
use chancery_runtime::db::{Database, EmbeddedMigration, Migrations};
use chancery_runtime::lookup::Lookup;
use tonic::metadata::MetadataMap;
use tonic::service::Routes;
use tonic::transport::Channel;

/// Fully-qualified name of the gRPC service, as health checks and reflection name it.
pub const SERVICE_NAME: &str = "chancery.statements.v1.StatementService";

/// Largest request message accepted, in bytes; larger ones fail with RESOURCE_EXHAUSTED.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// The service's migrations, embedded in the binary; every file of `migrations/` is listed
/// (tests/tests/layout.rs checks it).
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        EmbeddedMigration::new(
            1,
            "statements",
            include_str!("../migrations/sqlite/0001_statements.sql"),
        ),
        EmbeddedMigration::new(
            2,
            "related communications",
            include_str!("../migrations/sqlite/0002_related_communications.sql"),
        ),
    ],
    postgres: &[
        EmbeddedMigration::new(
            1,
            "statements",
            include_str!("../migrations/postgres/0001_statements.sql"),
        ),
        EmbeddedMigration::new(
            2,
            "related communications",
            include_str!("../migrations/postgres/0002_related_communications.sql"),
        ),
    ],
};

/// The other services this one calls.
#[derive(Debug, Clone)]
pub struct Backends {
    /// Channel to the actors service.
    pub actors: Channel,
    /// Channel to the communications service.
    pub communications: Channel,
}

/// The service's routes on an opened database, for a server that hosts it (alone or with others).
pub fn routes(database: Database, backends: Backends) -> Routes {
    Routes::new(
        StatementServiceServer::new(Api::new(database, backends))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(64 * 1024 * 1024)
            .compressed(),
    )
}

/// The statements service, serving one store and checking references through the backends.
#[derive(Debug, Clone)]
pub struct Api {
    pub(crate) store: Store,
    backends: Backends,
    /// The circuit breaker of every call to the actors service.
    actors_breaker: Breaker,
    /// The circuit breaker of every call to the communications service.
    communications_breaker: Breaker,
}

impl Api {
    /// The service on `database`, checking references through `backends`.
    pub fn new(database: Database, backends: Backends) -> Self {
        Self {
            store: Store::new(database),
            backends,
            actors_breaker: Breaker::new("statements", "actors"),
            communications_breaker: Breaker::new("statements", "communications"),
        }
    }

    /// Look-ups in the actors service, through its breaker, within the deadline of the request
    /// whose metadata is `incoming` (at most [`CALL_TIMEOUT`]).
    pub(crate) fn actors(&self, incoming: &MetadataMap) -> Lookup {
        Lookup::new(
            outbound(self.backends.actors.clone()).with_breaker(&self.actors_breaker),
            call_timeout(incoming, CALL_TIMEOUT),
        )
    }

    /// Look-ups in the communications service, through its breaker, within the deadline of the
    /// request whose metadata is `incoming` (at most [`CALL_TIMEOUT`]).
    pub(crate) fn communications(&self, incoming: &MetadataMap) -> Lookup {
        Lookup::new(
            outbound(self.backends.communications.clone())
                .with_breaker(&self.communications_breaker),
            call_timeout(incoming, CALL_TIMEOUT),
        )
    }
}
