//! The Chancery statements service (`chancery.statements.v1.StatementService`, port 50054): who said what, when, about which communication; content modes and quoted spans; attribution chains; source documents.
//!
//! # Layout
//!
//! - [`api`]: the [`api::Api`] (store, backends, breakers) and the tonic trait implementation,
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

use chancery_proto::statements::v1::statement_service_server::StatementServiceServer;
use chancery_runtime::db::{Database, Migrations};
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

/// The service's routes on an opened database, for a server that hosts it (alone or with others).
pub fn routes(database: Database, backends: Backends) -> Routes {
    Routes::new(
        StatementServiceServer::new(api::Api::new(database, backends))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(64 * 1024 * 1024),
    )
}
