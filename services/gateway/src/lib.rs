//! The Chancery gateway (`chancery.gateway.v1.EpisodeService`, port 50051): it owns episodes and
//! composes one sourced view of an episode from the actors, communications and statements
//! services, in at most two sequential rounds of batch calls.
//!
//! # Layout
//!
//! - [`api`]: the tonic service; each RPC is one delegation to the handler of the same name in
//!   the module of its family.
//! - [`episodes`]: `CreateEpisode`, `GetEpisode`, `ListEpisodes`, `UpdateEpisode`,
//!   `DeleteEpisode`, `AddEpisodeMembers`, `RemoveEpisodeMembers`, with members checked in
//!   their owning services.
//! - [`domain`] (`chancery_domain::episodes`): the rules of an episode and the episode request
//!   validators, without I/O.
//! - [`view`]: `GetEpisodeView`: fan-out, deadline budgets, partial views, assembly.
//! - [`bundle`]: `ImportBundle` / `ExportBundle`: a whole episode in or out.
//! - [`store`]: episodes on SQLite/PostgreSQL, one method per RPC it serves; migrations in
//!   `migrations/{sqlite,postgres}`.

pub mod api;
pub mod bundle;
pub mod episodes;
pub mod store;
pub mod view;

pub use chancery_domain::episodes as domain;

use chancery_proto::actors::v1::actor_service_client::ActorServiceClient;
use chancery_proto::communications::v1::communication_service_client::CommunicationServiceClient;
use chancery_proto::gateway::v1::episode_service_server::EpisodeServiceServer;
use chancery_proto::statements::v1::statement_service_client::StatementServiceClient;
use chancery_runtime::backends::{Outbound, outbound};
use chancery_runtime::breaker::Breaker;
use chancery_runtime::compression::Compressed;
use chancery_runtime::db::{Database, EmbeddedMigration, Migrations};
use chancery_runtime::lookup::Lookup;
use std::time::Duration;
use tonic::codec::CompressionEncoding;
use tonic::service::Routes;
use tonic::transport::Channel;

/// Fully-qualified name of the gRPC service, as health checks and reflection name it.
pub const SERVICE_NAME: &str = "chancery.gateway.v1.EpisodeService";

/// Largest request message accepted, in bytes (bundles are large); larger ones fail with
/// RESOURCE_EXHAUSTED.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024;

/// The service's migrations, embedded in the binary; every file of `migrations/` is listed
/// (tests/tests/layout.rs checks it).
pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &[EmbeddedMigration::new(
        1,
        "gateway",
        include_str!("../migrations/sqlite/0001_gateway.sql"),
    )],
    postgres: &[EmbeddedMigration::new(
        1,
        "gateway",
        include_str!("../migrations/postgres/0001_gateway.sql"),
    )],
};

/// The services the gateway composes.
#[derive(Debug, Clone)]
pub struct Backends {
    /// Channel to the actors service.
    pub actors: Channel,
    /// Channel to the communications service.
    pub communications: Channel,
    /// Channel to the statements service.
    pub statements: Channel,
    /// The encoding answers are asked for in (`CHANCERY_BACKEND_COMPRESSION`); `None`:
    /// uncompressed.
    pub compression: Option<CompressionEncoding>,
}

/// What every handler works with: the episode store and the backends.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// The episode store.
    pub store: store::Store,
    /// The services the gateway composes.
    pub backends: Backends,
    /// One circuit breaker per backend, shared by every call the gateway makes to it.
    pub breakers: Breakers,
}

/// The circuit breakers of the gateway's calls to its three backends; see
/// [`chancery_runtime::breaker`].
#[derive(Debug, Clone)]
pub struct Breakers {
    /// Calls to the actors service.
    pub actors: Breaker,
    /// Calls to the communications service.
    pub communications: Breaker,
    /// Calls to the statements service.
    pub statements: Breaker,
}

impl Default for Breakers {
    fn default() -> Self {
        Self {
            actors: Breaker::new("gateway", "actors"),
            communications: Breaker::new("gateway", "communications"),
            statements: Breaker::new("gateway", "statements"),
        }
    }
}

impl Gateway {
    /// The gateway on `store` and `backends`, with closed circuit breakers.
    pub fn new(store: store::Store, backends: Backends) -> Self {
        Self {
            store,
            backends,
            breakers: Breakers::default(),
        }
    }

    /// A client of the actors service.
    pub fn actors(&self) -> ActorServiceClient<Outbound> {
        asking_for(
            ActorServiceClient::new(
                outbound(self.backends.actors.clone()).with_breaker(&self.breakers.actors),
            )
            .max_decoding_message_size(MAX_MESSAGE_BYTES),
            self.backends.compression,
            ActorServiceClient::accept_compressed,
        )
    }

    /// A client of the communications service.
    pub fn communications(&self) -> CommunicationServiceClient<Outbound> {
        asking_for(
            CommunicationServiceClient::new(
                outbound(self.backends.communications.clone())
                    .with_breaker(&self.breakers.communications),
            )
            .max_decoding_message_size(MAX_MESSAGE_BYTES),
            self.backends.compression,
            CommunicationServiceClient::accept_compressed,
        )
    }

    /// A client of the statements service.
    pub fn statements(&self) -> StatementServiceClient<Outbound> {
        asking_for(
            StatementServiceClient::new(
                outbound(self.backends.statements.clone()).with_breaker(&self.breakers.statements),
            )
            .max_decoding_message_size(MAX_MESSAGE_BYTES),
            self.backends.compression,
            StatementServiceClient::accept_compressed,
        )
    }

    /// Batch look-ups in the actors service (`Actors`), through its circuit breaker, answered
    /// within `timeout`.
    pub fn actors_lookup(&self, timeout: Duration) -> Lookup {
        Lookup::new(
            outbound(self.backends.actors.clone()).with_breaker(&self.breakers.actors),
            timeout,
        )
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .accept_compressed(self.backends.compression)
    }

    /// Batch look-ups in the communications service (`Communications`), through its circuit
    /// breaker, answered within `timeout`.
    pub fn communications_lookup(&self, timeout: Duration) -> Lookup {
        Lookup::new(
            outbound(self.backends.communications.clone())
                .with_breaker(&self.breakers.communications),
            timeout,
        )
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .accept_compressed(self.backends.compression)
    }

    /// Batch look-ups in the statements service (`Statements`, `SourceDocuments`), through its
    /// circuit breaker, answered within `timeout`.
    pub fn statements_lookup(&self, timeout: Duration) -> Lookup {
        Lookup::new(
            outbound(self.backends.statements.clone()).with_breaker(&self.breakers.statements),
            timeout,
        )
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .accept_compressed(self.backends.compression)
    }
}

/// `client` asking for answers compressed with `encoding` (through `accept`, the generated
/// client's `accept_compressed`) when it is set.
fn asking_for<C>(
    client: C,
    encoding: Option<CompressionEncoding>,
    accept: fn(C, CompressionEncoding) -> C,
) -> C {
    match encoding {
        Some(encoding) => accept(client, encoding),
        None => client,
    }
}

/// The gateway's routes on an opened database, for a server that hosts it.
pub fn routes(database: Database, backends: Backends) -> Routes {
    let gateway = Gateway::new(store::Store::new(database), backends);
    Routes::new(
        EpisodeServiceServer::new(api::Api::new(gateway))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(4 * MAX_MESSAGE_BYTES)
            .compressed(),
    )
}
