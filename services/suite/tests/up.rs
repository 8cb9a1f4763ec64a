//! `chancery up` as a person runs it: the real binary, real ports, the real grpcurl, a signal to
//! stop it, and the data still there when it starts again; `--demo` loading the seed episode,
//! and the client commands against it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chancery_proto::actors::v1::actor_service_client::ActorServiceClient;
use chancery_proto::actors::v1::{Actor, ActorKind, CreateActorRequest, GetActorRequest};
use chancery_testkit::{TempDir, connect, grpcurl};

/// Starts `chancery up` on free ports; returns the process and the actors address it printed.
fn start(data_dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["up", "--port-base", "0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start chancery up");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    // One line per service, `NAME ADDRESS GRPC-SERVICE`, gateway first.
    let addr = loop {
        let line = lines.next().expect("a line per service").expect("readable");
        let mut words = line.split_whitespace();
        if words.next() == Some("actors") {
            break words.next().expect("address").to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn terminate(mut child: Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "chancery up did not stop within 30s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_actors_and_keeps_data_across_restarts() {
    let data = TempDir::new("up").unwrap();
    let (child, addr) = start(data.path());

    let listed = Command::new(grpcurl())
        .args(["-plaintext", &addr, "list"])
        .output()
        .expect("run grpcurl");
    let listed = String::from_utf8_lossy(&listed.stdout);
    for service in [
        "chancery.actors.v1.ActorService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(
            listed.lines().any(|l| l == service),
            "{service} missing from:\n{listed}"
        );
    }

    let mut client = ActorServiceClient::new(connect(addr.parse().unwrap()).await);
    let actor = Actor {
        kind: ActorKind::State as i32,
        display_name: "France".into(),
        country: "FRA".into(),
        ..Default::default()
    };
    client
        .create_actor(CreateActorRequest {
            actor: Some(actor),
            actor_id: "france".into(),
            request_id: String::new(),
        })
        .await
        .unwrap();
    drop(client);
    assert!(terminate(child).success(), "a clean exit after SIGTERM");
    assert!(data.path().join("actors.db").exists());

    let (child, addr) = start(data.path());
    let mut client = ActorServiceClient::new(connect(addr.parse().unwrap()).await);
    let france = client
        .get_actor(GetActorRequest {
            name: "actors/france".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(france.display_name, "France");
    drop(client);
    assert!(terminate(child).success());
}

/// Starts `chancery up --demo` on free ports; returns the process, the gateway's address and the
/// line it printed about the demo.
fn start_demo(data_dir: &std::path::Path) -> (Child, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["up", "--demo", "--port-base", "0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start chancery up --demo");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut gateway = String::new();
    let demo = loop {
        let line = lines
            .next()
            .expect("a line about the demo")
            .expect("readable");
        let mut words = line.split_whitespace();
        match words.next() {
            Some("gateway") => gateway = words.next().expect("address").to_owned(),
            Some("demo") => break line,
            _ => {}
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, gateway, demo)
}

#[test]
fn up_demo_loads_the_seed_episode_once_and_the_client_commands_read_it() {
    let data = TempDir::new("up-demo").unwrap();
    let (child, gateway, demo) = start_demo(data.path());
    assert!(
        demo.contains(
            "episodes/macron-putin-2022-03 imported (52 created, 0 unchanged, 0 updated)"
        ),
        "{demo}"
    );
    let view = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["view", "macron-putin-2022-03", "--gateway", &gateway])
        .output()
        .unwrap();
    assert!(
        view.status.success(),
        "{}",
        String::from_utf8_lossy(&view.stderr)
    );
    let view = String::from_utf8_lossy(&view.stdout);
    assert!(
        view.starts_with("Macron–Putin calls, March 2022\n"),
        "{view}"
    );
    assert!(view.contains("Timeline (15 entries)"), "{view}");

    let exported = data.path().join("exported.json");
    let export = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args([
            "export",
            "episodes/macron-putin-2022-03",
            "--gateway",
            &gateway,
            "-o",
        ])
        .arg(&exported)
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let bundle =
        chancery_proto::bundle_from_json(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    assert_eq!(bundle.statements.len(), 12);
    let missing = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["export", "episodes/nothing", "--gateway", &gateway])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("NOT_FOUND"));
    assert!(terminate(child).success());

    // Started again over the same data, the demo is already there.
    let (child, _, demo) = start_demo(data.path());
    assert!(
        demo.contains("(0 created, 52 unchanged, 0 updated)"),
        "{demo}"
    );
    assert!(terminate(child).success());
}

#[test]
fn client_commands_explain_an_absent_gateway_and_a_bad_file() {
    let absent = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["view", "episodes/x", "--gateway", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(absent.status.code(), Some(69));
    assert!(String::from_utf8_lossy(&absent.stderr).contains("cannot reach the gateway"));
    let unreadable = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["import", "/nonexistent/bundle.json"])
        .output()
        .unwrap();
    assert_eq!(unreadable.status.code(), Some(66));
}

#[test]
fn bad_arguments_exit_64_with_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["up", "--port-base", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--port-base") && stderr.contains("Usage: chancery"),
        "{stderr}"
    );
}

/// `chancery up` started with `args` and `env` in `dir`, its standard output read line by
/// line on a thread (so a test can act on the first lines while later ones are still to come).
struct Up {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Up {
    fn start(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chancery"))
            .arg("up")
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .current_dir(dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start chancery up");
        let stdout = child.stdout.take().expect("stdout");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next line whose first word is `first` (waiting up to 60 s), the lines before it
    /// kept in `seen`.
    fn line(&mut self, first: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no `{first}` line; so far: {:#?}", self.seen));
            self.seen.push(line.clone());
            if line.split_whitespace().next() == Some(first) {
                return line;
            }
        }
    }

    /// The address on the line of `first` (`NAME ADDRESS …`).
    fn address(&mut self, first: &str) -> std::net::SocketAddr {
        let line = self.line(first);
        line.split_whitespace()
            .nth(1)
            .and_then(|address| address.parse().ok())
            .unwrap_or_else(|| panic!("an address on {line:?}"))
    }

    fn stop(self) {
        assert!(
            terminate(self.child).success(),
            "a clean exit after SIGTERM"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_demo_is_serving_only_once_the_demo_reads_and_then_says_it_is_ready() {
    use chancery_proto::gateway::v1::GetEpisodeViewRequest;
    use chancery_proto::gateway::v1::episode_service_client::EpisodeServiceClient;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let dir = TempDir::new("up-ready").unwrap();
    let mut up = Up::start(
        dir.path(),
        &["--demo", "--in-memory", "--port-base", "0"],
        &[],
    );
    let gateway = up.address("gateway");
    // A client that waits for the gateway's health, as a script or a probe would.
    let channel = connect(gateway).await;
    let mut health = HealthClient::new(channel.clone());
    let mut changes = health
        .watch(HealthCheckRequest {
            service: "chancery.gateway.v1.EpisodeService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    while let Some(change) = changes.message().await.unwrap() {
        if change.status == ServingStatus::Serving as i32 {
            break;
        }
    }
    // SERVING: the demo reads at once, no NOT_FOUND.
    let view = EpisodeServiceClient::new(channel)
        .get_episode_view(GetEpisodeViewRequest {
            name: "episodes/macron-putin-2022-03".into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("the demo episode reads as soon as the gateway is SERVING")
        .into_inner();
    assert_eq!(view.timeline.len(), 15);
    let overall = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(overall.status, ServingStatus::Serving as i32);

    let ready = up.line("ready:");
    assert!(
        up.seen.iter().any(|line| line.starts_with("demo ")),
        "the demo line comes before the ready line: {:#?}",
        up.seen
    );
    assert_eq!(
        ready,
        format!("ready: gateway at {gateway} — try: grpcurl -plaintext {gateway} list")
    );
    // The command it suggests works as written.
    let suggested = ready.split_once("try: grpcurl ").unwrap().1;
    let listed = Command::new(grpcurl())
        .args(suggested.split_whitespace())
        .output()
        .expect("run grpcurl");
    assert!(
        String::from_utf8_lossy(&listed.stdout)
            .lines()
            .any(|line| line == "chancery.gateway.v1.EpisodeService"),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    up.stop();
}

/// `(status line, lower-cased headers)` of a plain HTTP/1.1 `request` (`METHOD PATH`) with
/// `headers` to `addr`, and the body.
async fn http(
    addr: std::net::SocketAddr,
    request: &str,
    headers: &[(&str, &str)],
) -> (String, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{request} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .expect("an answer")
    .unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_owned(), headers.to_lowercase(), body.to_owned())
}

/// The body of `GET /metrics` on `addr`.
async fn scrape(addr: std::net::SocketAddr) -> String {
    let (status, _, body) = http(addr, "GET /metrics", &[]).await;
    assert!(status.contains(" 200 "), "{status}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_one_metrics_endpoint_for_every_service_and_applies_the_server_variables() {
    use chancery_proto::gateway::v1::GetEpisodeViewRequest;
    use chancery_proto::gateway::v1::episode_service_client::EpisodeServiceClient;

    let dir = TempDir::new("up-metrics").unwrap();
    let mut up = Up::start(
        dir.path(),
        &["--in-memory", "--port-base", "0"],
        &[
            ("CHANCERY_METRICS_LISTEN", "127.0.0.1:0"),
            ("CHANCERY_REFLECTION", "false"),
            ("CHANCERY_CORS_ALLOWED_ORIGINS", "https://app.example.org"),
        ],
    );
    let gateway = up.address("gateway");
    let actors = up.address("actors");
    let metrics = up.address("metrics");
    let ready = up.line("ready:");
    // Reflection is off on every port, and the suggested command says how to do without it.
    assert!(
        ready.contains("-proto chancery/gateway/v1/gateway.proto"),
        "{ready}"
    );
    for address in [gateway, actors] {
        let listed = Command::new(grpcurl())
            .args(["-plaintext", &address.to_string(), "list"])
            .output()
            .unwrap();
        assert!(!listed.status.success(), "reflection is off on {address}");
    }

    let missing = ActorServiceClient::new(connect(actors).await)
        .get_actor(GetActorRequest {
            name: "actors/nobody".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let missing = EpisodeServiceClient::new(connect(gateway).await)
        .get_episode_view(GetEpisodeViewRequest {
            name: "episodes/nothing".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);

    // The gateway speaks gRPC-Web with the CORS list, as the gateway binary does.
    let (status, headers, _) = http(
        gateway,
        "OPTIONS /chancery.gateway.v1.EpisodeService/GetEpisodeView",
        &[
            ("Origin", "https://app.example.org"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type,x-grpc-web"),
        ],
    )
    .await;
    assert!(status.contains(" 204 "), "{status}\n{headers}");
    assert!(
        headers.contains("access-control-allow-origin: https://app.example.org"),
        "{headers}"
    );

    let text = scrape(metrics).await;
    for series in [
        r#"chancery_rpc_requests_total{service="actors",method="GetActor",code="NOT_FOUND"} 1"#,
        r#"chancery_rpc_requests_total{service="gateway",method="GetEpisodeView",code="NOT_FOUND"} 1"#,
    ] {
        assert!(
            text.lines().any(|line| line == series),
            "{series} missing:\n{text}"
        );
    }
    up.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_applies_access_control_and_imports_the_demo_with_the_service_token() {
    use chancery_proto::gateway::v1::GetEpisodeViewRequest;
    use chancery_proto::gateway::v1::episode_service_client::EpisodeServiceClient;

    let dir = TempDir::new("up-auth").unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(
        &tokens,
        "writer suite suite-writer-token-0123456789\nreader alice alice-reader-token-0123456789\n",
    )
    .unwrap();
    let service_token = dir.path().join("service-token");
    std::fs::write(&service_token, "suite-writer-token-0123456789\n").unwrap();
    let (tokens, service_token) = (
        tokens.display().to_string(),
        service_token.display().to_string(),
    );
    let mut up = Up::start(
        dir.path(),
        &["--demo", "--in-memory", "--port-base", "0"],
        &[
            ("CHANCERY_TOKENS_FILE", &tokens),
            ("CHANCERY_SERVICE_TOKEN_FILE", &service_token),
        ],
    );
    let gateway = up.address("gateway");
    let ready = up.line("ready:");
    assert!(
        ready.contains(&format!(
            "-H \"authorization: Bearer $(cat {service_token})\""
        )),
        "{ready}"
    );
    let request = || GetEpisodeViewRequest {
        name: "episodes/macron-putin-2022-03".into(),
        ..Default::default()
    };
    let anonymous = EpisodeServiceClient::new(connect(gateway).await)
        .get_episode_view(request())
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    let mut with_token = tonic::Request::new(request());
    with_token.metadata_mut().insert(
        "authorization",
        "Bearer alice-reader-token-0123456789".parse().unwrap(),
    );
    let view = EpisodeServiceClient::new(connect(gateway).await)
        .get_episode_view(with_token)
        .await
        .expect("a reader reads the demo, composed with the service token")
        .into_inner();
    assert_eq!(view.timeline.len(), 15);
    assert!(view.unreachable.is_empty(), "{:?}", view.unreachable);
    up.stop();
}

#[test]
fn up_refuses_the_variables_it_cannot_honour_naming_them_before_starting_anything() {
    let dir = TempDir::new("up-refused").unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "writer suite suite-writer-token-0123456789\n").unwrap();
    let tokens = tokens.display().to_string();
    let cases: [(&str, &str, &str); 8] = [
        ("CHANCERY_LISTEN", "127.0.0.1:6000", "CHANCERY_LISTEN"),
        (
            "CHANCERY_DATABASE_URL",
            "sqlite::memory:",
            "CHANCERY_DATABASE_URL",
        ),
        (
            "CHANCERY_ACTORS_ADDR",
            "http://127.0.0.1:1",
            "CHANCERY_ACTORS_ADDR",
        ),
        ("CHANCERY_TLS_CERT", "/etc/tls/tls.crt", "CHANCERY_TLS_CERT"),
        ("CHANCERY_TLS_CA", "/etc/tls/ca.crt", "CHANCERY_TLS_CA"),
        (
            "CHANCERY_HEALTH_LISTEN",
            "127.0.0.1:0",
            "CHANCERY_HEALTH_LISTEN",
        ),
        ("CHANCERY_METRICS_LISTEN", "9090", "CHANCERY_METRICS_LISTEN"),
        (
            "CHANCERY_TOKENS_FILE",
            &tokens,
            "CHANCERY_SERVICE_TOKEN_FILE",
        ),
    ];
    for (variable, value, named) in cases {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chancery"))
            .args(["up", "--port-base", "0"])
            .env(variable, value)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{variable}={value}: chancery up started instead of refusing");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(64), "{variable}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with(&format!("invalid configuration: {named}: ")),
            "{variable}={value}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{variable}: nothing was bound");
        assert!(
            !dir.path().join("data").exists(),
            "{variable}: nothing was created"
        );
    }
}
