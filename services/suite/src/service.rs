//! The one place each service of the suite is built and served: its defaults, its
//! configuration from the environment, its database and migrations, the channels to the
//! services it calls, and its server. The service binaries, `chancery up` and the test kit all
//! start services through [`Service::serve`].

use std::future::Future;

use chancery_runtime::backends::lazy_channel_with;
use chancery_runtime::config::{self, ConfigError, Env, ServerConfig, ServiceConfig};
use chancery_runtime::db::{self, Database, DbError, Migrations};
use chancery_runtime::readiness::ReadyGate;
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::{Channel, Uri};

/// A service of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// `chancery.actors.v1.ActorService`: actors, posts and tenures (port 50052).
    Actors,
    /// `chancery.communications.v1.CommunicationService`: calls, meetings, letters and their
    /// status logs (port 50053); calls actors.
    Communications,
    /// `chancery.statements.v1.StatementService`: who said what, and source documents (port
    /// 50054); calls actors and communications.
    Statements,
    /// `chancery.gateway.v1.EpisodeService`: episodes and their composed views (port 50051);
    /// calls the three others.
    Gateway,
}

/// Why a service could not be configured, opened or served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Database(#[from] DbError),
    /// The server (or a channel to another service) failed.
    #[error(transparent)]
    Server(#[from] chancery_runtime::server::ServeError),
}

/// Where the services a service calls listen. A service uses only those it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addresses {
    /// URI of the actors service (`CHANCERY_ACTORS_ADDR`).
    pub actors: Uri,
    /// URI of the communications service (`CHANCERY_COMMUNICATIONS_ADDR`).
    pub communications: Uri,
    /// URI of the statements service (`CHANCERY_STATEMENTS_ADDR`).
    pub statements: Uri,
}

/// Everything one service reads from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Listener, database, logs.
    pub service: ServiceConfig,
    /// The services it calls.
    pub addresses: Addresses,
}

impl Service {
    /// Every service, the gateway first (the order of `chancery up`'s ports).
    pub const ALL: [Service; 4] = [
        Service::Gateway,
        Service::Actors,
        Service::Communications,
        Service::Statements,
    ];

    /// The service's short name: its binary's suffix, its SQLite file and its PostgreSQL
    /// schema.
    pub fn name(self) -> &'static str {
        match self {
            Service::Actors => "actors",
            Service::Communications => "communications",
            Service::Statements => "statements",
            Service::Gateway => "gateway",
        }
    }

    /// The fully-qualified gRPC service, as health checks and reflection name it.
    pub fn grpc_service(self) -> &'static str {
        match self {
            Service::Actors => chancery_actors::SERVICE_NAME,
            Service::Communications => chancery_communications::SERVICE_NAME,
            Service::Statements => chancery_statements::SERVICE_NAME,
            Service::Gateway => chancery_gateway::SERVICE_NAME,
        }
    }

    /// The default port: 50051 for the gateway, then 50052–50054.
    pub fn default_port(self) -> u16 {
        match self {
            Service::Gateway => 50051,
            Service::Actors => 50052,
            Service::Communications => 50053,
            Service::Statements => 50054,
        }
    }

    /// The default database: `sqlite://data/<name>.db`, relative to the working directory.
    pub fn default_database_url(self) -> &'static str {
        match self {
            Service::Actors => "sqlite://data/actors.db",
            Service::Communications => "sqlite://data/communications.db",
            Service::Statements => "sqlite://data/statements.db",
            Service::Gateway => "sqlite://data/gateway.db",
        }
    }

    /// The service's embedded migrations.
    pub fn migrations(self) -> &'static Migrations {
        match self {
            Service::Actors => &chancery_actors::MIGRATIONS,
            Service::Communications => &chancery_communications::MIGRATIONS,
            Service::Statements => &chancery_statements::MIGRATIONS,
            Service::Gateway => &chancery_gateway::MIGRATIONS,
        }
    }

    /// Reads the service's configuration through `env`: `CHANCERY_LISTEN` (default port
    /// [`Service::default_port`]), `CHANCERY_DATABASE_URL` (default `sqlite://data/<name>.db`),
    /// the server settings, and the addresses of the services it calls.
    pub fn config(self, env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Config, ConfigError> {
        let mut service = env.service(config::ServiceDefaults {
            port: self.default_port(),
            database_url: self.default_database_url(),
        })?;
        // Browsers call the gateway only: it alone speaks gRPC-Web (and reads its CORS list).
        service.server.grpc_web = (self == Service::Gateway)
            .then(|| env.grpc_web())
            .transpose()?;
        let address = |callee: Service| match callee.address_variable() {
            Some(variable) if self.calls(callee) => env.backend(
                variable,
                &format!("http://127.0.0.1:{}", callee.default_port()),
            ),
            _ => Ok(default_address(callee)),
        };
        Ok(Config {
            service,
            addresses: Addresses {
                actors: address(Service::Actors)?,
                communications: address(Service::Communications)?,
                statements: address(Service::Statements)?,
            },
        })
    }

    /// The variable a service that calls this one reads its address from
    /// (`CHANCERY_ACTORS_ADDR`, …); `None` for the gateway, which nothing calls.
    pub fn address_variable(self) -> Option<&'static str> {
        match self {
            Service::Actors => Some(config::ACTORS_ADDR),
            Service::Communications => Some(config::COMMUNICATIONS_ADDR),
            Service::Statements => Some(config::STATEMENTS_ADDR),
            Service::Gateway => None,
        }
    }

    /// The variables this service reads to find the services it calls.
    pub fn backend_variables(self) -> Vec<&'static str> {
        Service::ALL
            .into_iter()
            .filter(|callee| self.calls(*callee))
            .filter_map(Service::address_variable)
            .collect()
    }

    /// Whether this service calls `callee`.
    pub fn calls(self, callee: Service) -> bool {
        matches!(
            (self, callee),
            (Service::Communications, Service::Actors)
                | (
                    Service::Statements,
                    Service::Actors | Service::Communications
                )
                | (
                    Service::Gateway,
                    Service::Actors | Service::Communications | Service::Statements
                )
        )
    }

    /// Opens the service's database at `url` and applies its migrations.
    pub async fn open(self, url: &str) -> Result<Database, DbError> {
        db::connect(url, self.migrations()).await
    }

    /// The service's routes on `database`, its calls to other services on lazy channels to
    /// `addresses` (TLS per `server.tls` for `https://` ones): this service starts even while
    /// those are still starting.
    pub fn routes(
        self,
        database: Database,
        addresses: &Addresses,
        server: &ServerConfig,
    ) -> Result<Routes, ServeError> {
        let channel = |uri: &Uri| -> Result<Channel, ServeError> {
            lazy_channel_with(uri, &server.tls)
                .map_err(|error| chancery_runtime::server::ServeError::from(error).into())
        };
        Ok(match self {
            Service::Actors => chancery_actors::routes(database),
            Service::Communications => chancery_communications::routes(
                database,
                chancery_communications::Backends {
                    actors: channel(&addresses.actors)?,
                },
            ),
            Service::Statements => chancery_statements::routes(
                database,
                chancery_statements::Backends {
                    actors: channel(&addresses.actors)?,
                    communications: channel(&addresses.communications)?,
                },
            ),
            Service::Gateway => chancery_gateway::routes(
                database,
                chancery_gateway::Backends {
                    actors: channel(&addresses.actors)?,
                    communications: channel(&addresses.communications)?,
                    statements: channel(&addresses.statements)?,
                    compression: server.backend_compression.encoding(),
                },
            ),
        })
    }

    /// Serves the service on `listener` over `database` until `shutdown` resolves and
    /// in-flight requests drain: health (SERVING once the database answers), reflection,
    /// access control, TLS, metrics and every other layer of `server`.
    pub async fn serve(
        self,
        listener: TcpListener,
        server: &ServerConfig,
        database: Database,
        addresses: &Addresses,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServeError> {
        let gate = ReadyGate::open();
        self.serve_behind_gate(listener, server, database, addresses, gate, shutdown)
            .await
    }

    /// [`Service::serve`], with health NOT_SERVING until `gate` opens (RPCs are served
    /// meanwhile): `chancery up --demo` opens it once the demo is imported.
    pub async fn serve_behind_gate(
        self,
        listener: TcpListener,
        server: &ServerConfig,
        database: Database,
        addresses: &Addresses,
        gate: ReadyGate,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServeError> {
        let routes = self.routes(database.clone(), addresses, server)?;
        chancery_runtime::server::serve_behind_gate(
            listener,
            server,
            routes,
            &[self.grpc_service()],
            Some(database),
            gate,
            shutdown,
        )
        .await?;
        Ok(())
    }
}

/// The address a service is found at by default (`http://127.0.0.1:<default port>`).
pub fn default_address(service: Service) -> Uri {
    format!("http://127.0.0.1:{}", service.default_port())
        .parse()
        .expect("a loopback address makes a valid URI")
}

impl Default for Addresses {
    fn default() -> Self {
        Self {
            actors: default_address(Service::Actors),
            communications: default_address(Service::Communications),
            statements: default_address(Service::Statements),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> Env<impl Fn(&str) -> Option<String>> {
        Env::from_lookup(move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn each_service_has_its_port_file_and_callees_by_default() {
        let gateway = Service::Gateway.config(&env(&[])).unwrap();
        assert_eq!(gateway.service.server.listen.port(), 50051);
        assert_eq!(gateway.service.database_url, "sqlite://data/gateway.db");
        assert_eq!(gateway.addresses, Addresses::default());
        let actors = Service::Actors.config(&env(&[])).unwrap();
        assert_eq!(actors.service.server.listen.port(), 50052);
        assert_eq!(actors.service.database_url, "sqlite://data/actors.db");
    }

    #[test]
    fn a_service_reads_only_the_addresses_of_the_services_it_calls() {
        let vars = &[
            ("CHANCERY_ACTORS_ADDR", "http://actors:50052"),
            ("CHANCERY_STATEMENTS_ADDR", "not a uri"),
        ];
        let communications = Service::Communications.config(&env(vars)).unwrap();
        assert_eq!(communications.addresses.actors, "http://actors:50052");
        let error = Service::Gateway.config(&env(vars)).unwrap_err();
        assert_eq!(error.variable, "CHANCERY_STATEMENTS_ADDR");
        assert!(!Service::Actors.calls(Service::Statements));
        assert!(Service::Statements.calls(Service::Communications));
    }
}
