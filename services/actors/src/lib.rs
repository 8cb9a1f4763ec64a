//! The Chancery actors service (`chancery.actors.v1.ActorService`, port 50052): actors (people,
//! states, government bodies, media outlets, anonymous sources…), the offices that exist (posts)
//! and who held which office when (tenures).
//!
//! # Layout
//!
//! - [`api`]: the tonic trait (the [`Api`] it serves is defined here, in the crate root, so handlers and the trait impl both import it from the root), each RPC one call to its handler in its
//!   family module: `actors` (GetActor, BatchGetActors, ListActors, CreateActor, UpdateActor,
//!   DeleteActor), `posts` (CreatePost, GetPost, ListPosts, UpdatePost, DeletePost) and
//!   `tenures` (CreateTenure, GetTenure, ListTenures, UpdateTenure, DeleteTenure,
//!   ResolveOffices). A handler decodes, validates, applies the store method of its name and
//!   encodes.
//! - [`domain`] (the `chancery_domain::actors` module): validation rules, update masks, search
//!   text, tenure coverage, and the request validators (`read_list_actors`,
//!   `validate_create_tenure`…); no I/O.
//! - [`store`]: SQLite/PostgreSQL storage, one method per RPC named after it; migrations in
//!   `migrations/{sqlite,postgres}`.
//!
//! The service is built and served by the composition root, `services/suite`
//! (`chancery_suite::Service`), for its own binary, `chancery up` and the tests alike.

mod actors;
pub mod api;
pub use chancery_domain::actors as domain;
mod posts;
pub mod store;
mod tenures;

use crate::store::Store;
use chancery_proto::actors::v1::actor_service_server::ActorServiceServer;
use chancery_runtime::compression::Compressed;
use chancery_runtime::db::{Database, EmbeddedMigration, Migrations};
use tonic::service::Routes;

/// Fully-qualified name of the gRPC service, as health checks and reflection name it.
pub const SERVICE_NAME: &str = "chancery.actors.v1.ActorService";

/// Largest request message accepted, in bytes; larger ones fail with RESOURCE_EXHAUSTED.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// The service's migrations, embedded in the binary; every file of `migrations/` is listed
/// (tests/tests/layout.rs checks it).
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &[EmbeddedMigration::new(
        1,
        "actors",
        include_str!("../migrations/sqlite/0001_actors.sql"),
    )],
    postgres: &[EmbeddedMigration::new(
        1,
        "actors",
        include_str!("../migrations/postgres/0001_actors.sql"),
    )],
};

/// The service's routes on an opened database, for a server that hosts it (alone or with others).
pub fn routes(database: Database) -> Routes {
    let api = Api::new(store::Store::new(database));
    Routes::new(
        ActorServiceServer::new(api)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(64 * 1024 * 1024)
            .compressed(),
    )
}

/// The actors service, serving one store.
#[derive(Debug, Clone)]
pub struct Api {
    /// Where actors, posts and tenures are stored.
    pub(crate) store: Store,
}

impl Api {
    /// The service on `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}
