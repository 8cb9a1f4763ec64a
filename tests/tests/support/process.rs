//! The real binaries as separate processes: found next to the test's own executable (and built
//! first when run by cargo), each configured only by the environment it is given.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The binaries this test runs, with their packages (every binary is the composition root's).
pub(crate) const BINARIES: [(&str, &str); 5] = [
    ("chancery-actors", "chancery-suite"),
    ("chancery-communications", "chancery-suite"),
    ("chancery-statements", "chancery-suite"),
    ("chancery-gateway", "chancery-suite"),
    ("chancery", "chancery-suite"),
];

/// The directory of the workspace's binaries (`target/debug` or `target/release`), with every
/// binary of [`BINARIES`] built and fresh.
pub(crate) fn binaries() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test's own path");
        // target/debug/deps/processes-… → target/debug
        let dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test runs from target/<profile>/deps")
            .to_path_buf();
        if let Some(cargo) = std::env::var_os("CARGO") {
            let mut build = Command::new(cargo);
            build
                .arg("build")
                .arg("--bins")
                .arg("--manifest-path")
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"));
            let packages: std::collections::BTreeSet<&str> =
                BINARIES.iter().map(|(_, package)| *package).collect();
            for package in packages {
                build.args(["-p", package]);
            }
            if dir.file_name().is_some_and(|name| name == "release") {
                build.arg("--release");
            }
            if let Some(target) = dir.parent() {
                build.env("CARGO_TARGET_DIR", target);
            }
            let status = build.status().expect("run cargo build");
            assert!(status.success(), "cargo build --bins failed");
        }
        for (binary, package) in BINARIES {
            assert!(
                dir.join(binary).is_file(),
                "{} is missing: build it with `cargo build -p {package}` (cargo test does this itself)",
                dir.join(binary).display()
            );
        }
        dir
    })
}

/// A port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A service process, killed when dropped.
pub(crate) struct Service {
    pub(crate) name: &'static str,
    pub(crate) addr: SocketAddr,
    pub(crate) child: Child,
    pub(crate) log: PathBuf,
}

impl Service {
    /// Starts `binary` on a free port with its database in `data`, configured by `env` and
    /// nothing else of this process's environment.
    pub(crate) fn start(binary: &'static str, data: &Path, env: &[(&str, String)]) -> Self {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let mut environment = vec![
            ("CHANCERY_LISTEN".to_owned(), addr.to_string()),
            (
                "CHANCERY_DATABASE_URL".to_owned(),
                format!("sqlite://{}", data.join(format!("{binary}.db")).display()),
            ),
            ("CHANCERY_LOG_FORMAT".to_owned(), "json".to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];
        environment.extend(env.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        Self::spawn(binary, addr, data, &environment)
    }

    /// Starts `binary`, which listens on `addr`, with exactly the environment `env` (later
    /// entries win) and its output in `log_dir/<binary>.log`.
    pub(crate) fn spawn(
        binary: &'static str,
        addr: SocketAddr,
        log_dir: &Path,
        env: &[(String, String)],
    ) -> Self {
        let log = log_dir.join(format!("{binary}.log"));
        let out = std::fs::File::create(&log).expect("create the log file");
        let child = Command::new(binaries().join(binary))
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|error| panic!("start {binary}: {error}"));
        Self {
            name: binary,
            addr,
            child,
            log,
        }
    }

    pub(crate) fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the process answers health checks (of the whole server) with SERVING.
    pub(crate) async fn wait_serving(&mut self) {
        self.wait_serving_as("").await;
    }

    /// Waits until the process answers health checks of `service` (`""`: the whole server, as
    /// a liveness probe asks; a gRPC service's name, as a readiness probe asks) with SERVING.
    pub(crate) async fn wait_serving_as(&mut self, service: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the process") {
                panic!(
                    "{} exited with {status} before serving:\n{}",
                    self.name,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            let endpoint = Endpoint::from_shared(self.uri())
                .expect("endpoint")
                .connect_timeout(Duration::from_millis(500));
            if let Ok(channel) = endpoint.connect().await {
                let serving = HealthClient::new(channel)
                    .check(HealthCheckRequest {
                        service: service.to_owned(),
                    })
                    .await
                    .map(|r| r.into_inner().status == ServingStatus::Serving as i32)
                    .unwrap_or(false);
                if serving {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} did not serve within 30s",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills the process (as a crash or an evicted pod would end it) and waits for it.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (how Kubernetes stops a pod), without waiting.
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill -TERM");
        assert!(status.success(), "kill -TERM {} failed", self.child.id());
    }

    /// Waits up to `limit` for the process to exit: its exit status and how long it took, or
    /// `None` if it still runs.
    pub(crate) async fn wait_exit(
        &mut self,
        limit: Duration,
    ) -> Option<(std::process::ExitStatus, Duration)> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the process") {
                return Some((status, started.elapsed()));
            }
            if started.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The process's output so far.
    pub(crate) fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The body of `GET /metrics` on `addr` (a plain HTTP/1.1 request).
pub(crate) async fn scrape_metrics(addr: SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|error| panic!("connect to the metrics endpoint {addr}: {error}"));
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n")
        .await
        .expect("send GET /metrics");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("read the metrics response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("an HTTP response from {addr}: {response}"));
    assert!(head.contains(" 200 "), "GET /metrics on {addr}: {head}");
    body.to_owned()
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `chancery` with `args`; its output.
pub(crate) fn chancery(args: &[&str]) -> Output {
    Command::new(binaries().join("chancery"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run chancery")
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts `output` succeeded; its standard output.
pub(crate) fn succeeded(what: &str, output: &Output) -> String {
    assert!(
        output.status.success(),
        "{what} failed with {}:\n{}{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Runs `binary` on a free port and an in-memory database, with `env` on top of an otherwise
/// empty environment, until it exits (it must, within 10 s): its exit code and its output,
/// standard output then standard error. For start-up checks that must stop the process.
pub(crate) fn run_to_exit(binary: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut child = Command::new(binaries().join(binary))
        .env_clear()
        .env("CHANCERY_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("CHANCERY_DATABASE_URL", "sqlite::memory:")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait().expect("poll").is_some() {
            let output = child.wait_with_output().expect("output");
            return (
                output.status.code(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{binary} did not exit within 10 s");
}
