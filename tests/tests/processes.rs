//! The suite as Kubernetes runs it: the gateway and the three services as **separate processes**
//! (the real binaries), each configured only by its environment, driven by the real `chancery`
//! command: import the demo bundle, view it, stop the statements process, view again — a
//! partial view that names what is missing, and still exit status 0.
//!
//! The binaries are found next to this test's own executable (`target/debug/`). `cargo test`
//! builds a package's binaries only for that package's own integration tests, so this test runs
//! `cargo build --bins` for the five it needs first (a no-op when they are fresh); run directly,
//! without cargo, it uses whatever binaries are there and says how to build them if any is
//! missing.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chancery_testkit::{TempDir, seed};
use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The binaries this test runs, with their packages.
const BINARIES: [(&str, &str); 5] = [
    ("chancery-actors", "chancery-actors"),
    ("chancery-communications", "chancery-communications"),
    ("chancery-statements", "chancery-statements"),
    ("chancery-gateway", "chancery-gateway"),
    ("chancery", "chancery-cli"),
];

/// The directory of the workspace's binaries (`target/debug` or `target/release`), with every
/// binary of [`BINARIES`] built and fresh.
fn binaries() -> &'static Path {
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
            for (_, package) in BINARIES {
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
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A service process, killed when dropped.
struct Service {
    name: &'static str,
    addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl Service {
    /// Starts `binary` on a free port with its database in `data`, configured by `env` and
    /// nothing else of this process's environment.
    fn start(binary: &'static str, data: &Path, env: &[(&str, String)]) -> Self {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = data.join(format!("{binary}.log"));
        let out = std::fs::File::create(&log).expect("create the log file");
        let child = Command::new(binaries().join(binary))
            .env_clear()
            .env("CHANCERY_LISTEN", addr.to_string())
            .env(
                "CHANCERY_DATABASE_URL",
                format!("sqlite://{}", data.join(format!("{binary}.db")).display()),
            )
            .env("CHANCERY_LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
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

    fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the process answers health checks with SERVING.
    async fn wait_serving(&mut self) {
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
                        service: String::new(),
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
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `chancery` with `args`; its output.
fn chancery(args: &[&str]) -> Output {
    Command::new(binaries().join("chancery"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run chancery")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts `output` succeeded; its standard output.
fn succeeded(what: &str, output: &Output) -> String {
    assert!(
        output.status.success(),
        "{what} failed with {}:\n{}{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_processes_import_view_and_survive_losing_statements() {
    let data = TempDir::new("processes").expect("a temporary directory");
    let mut actors = Service::start("chancery-actors", data.path(), &[]);
    let mut communications = Service::start(
        "chancery-communications",
        data.path(),
        &[("CHANCERY_ACTORS_ADDR", actors.uri())],
    );
    let mut statements = Service::start(
        "chancery-statements",
        data.path(),
        &[
            ("CHANCERY_ACTORS_ADDR", actors.uri()),
            ("CHANCERY_COMMUNICATIONS_ADDR", communications.uri()),
        ],
    );
    let mut gateway = Service::start(
        "chancery-gateway",
        data.path(),
        &[
            ("CHANCERY_ACTORS_ADDR", actors.uri()),
            ("CHANCERY_COMMUNICATIONS_ADDR", communications.uri()),
            ("CHANCERY_STATEMENTS_ADDR", statements.uri()),
        ],
    );
    for service in [
        &mut actors,
        &mut communications,
        &mut statements,
        &mut gateway,
    ] {
        service.wait_serving().await;
    }
    let gateway_uri = gateway.uri();
    let at = ["--gateway", gateway_uri.as_str()];

    // Import the committed demo bundle file, then again: nothing changes the second time.
    let imported = succeeded(
        "chancery import",
        &chancery(&[&["import", seed::BUNDLE_PATH][..], &at].concat()),
    );
    assert!(
        imported.starts_with(
            "imported episodes/macron-putin-2022-03: 52 created, 0 unchanged, 0 updated"
        ),
        "{imported}"
    );
    let again = succeeded(
        "chancery import (again)",
        &chancery(&[&["import", seed::BUNDLE_PATH][..], &at].concat()),
    );
    assert!(
        again.contains("0 created, 52 unchanged, 0 updated"),
        "{again}"
    );

    // Export: a bundle file holding everything.
    let exported = succeeded(
        "chancery export",
        &chancery(&[&["export", seed::EPISODE][..], &at].concat()),
    );
    let bundle = chancery_proto::bundle_from_json(&exported).expect("the export is a bundle");
    assert_eq!(bundle.episode.unwrap().name, seed::EPISODE);
    assert_eq!(
        (
            bundle.actors.len(),
            bundle.communications.len(),
            bundle.statements.len()
        ),
        (25, 3, 12)
    );

    // The whole view.
    let whole = succeeded(
        "chancery view",
        &chancery(&[&["view", seed::EPISODE][..], &at].concat()),
    );
    assert!(!whole.contains("WARNING"), "{whole}");
    assert!(whole.contains("Timeline (15 entries)"), "{whole}");
    for expected in [
        "■ 2022-03-12 (day) · phone call",
        "■ 2022-03-22 (day) · phone call",
        "■ 2022-03-29 (day) · planned date · phone call",
        "readout by Kremlin press service (3 statements):",
        "Putin accused Kyiv of using civilians as human shields.",
        "Anne-Claire Legendre (Spokesperson of the Ministry for Europe and Foreign Affairs)",
        "attribution: Publisher of the seed article, reporting TASS, citing BFM TV, told by",
    ] {
        assert!(whole.contains(expected), "{expected:?} in:\n{whole}");
    }

    // The statements process goes away: the view is partial, says so, and still succeeds.
    statements.kill();
    let partial = chancery(&[&["view", seed::EPISODE][..], &at].concat());
    let partial_text = succeeded("chancery view without statements", &partial);
    let warning = partial_text
        .lines()
        .find(|line| line.starts_with("WARNING: partial view"))
        .unwrap_or_else(|| panic!("a warning line in:\n{partial_text}"));
    assert!(warning.contains("statements"), "{warning}");
    assert!(
        partial_text.contains("■ 2022-03-29 (day) · planned date · phone call"),
        "the communications are still shown:\n{partial_text}"
    );
    assert!(
        !partial_text.contains("human shields."),
        "no statement can be shown:\n{partial_text}"
    );

    // Writing needs every service: the import now fails, saying which is unavailable.
    let refused = chancery(&[&["import", seed::BUNDLE_PATH][..], &at].concat());
    assert_eq!(refused.status.code(), Some(69), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("UNAVAILABLE"),
        "{}",
        text(&refused.stderr)
    );
}
