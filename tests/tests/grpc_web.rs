//! gRPC-Web on the gateway, end to end: the real `buf curl --protocol grpcweb` (HTTP/1.1, the
//! schema read from `proto/`) against a gateway configured as its binary is
//! (`Service::Gateway.config` with `CHANCERY_CORS_ALLOWED_ORIGINS`), CORS preflights over a
//! plain HTTP/1.1 socket, and the same layers as gRPC: access control and metrics.
//!
//! The metrics registry is process-wide, so the tests take turns ([`SERIAL`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Output;
use std::sync::OnceLock;
use std::time::Duration;

use chancery_proto::gateway::v1::ImportBundleRequest;
use chancery_runtime::config::{CORS_ALLOWED_ORIGINS, Env, ServerConfig};
use chancery_runtime::grpc_web::{ALLOWED_HEADERS, AllowedOrigins, EXPOSED_HEADERS};
use chancery_testkit::python::workspace_root;
use chancery_testkit::seed::{self, EPISODE};
use chancery_testkit::{
    Backend, Options, Service, TestDatabase, TestServer, auth_config, spawn_suite_with, spawn_with,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ALLOWED: &str = "https://app.example.org";
const GET_VIEW: &str = "chancery.gateway.v1.EpisodeService/GetEpisodeView";

/// The real `buf` (npm `@bufbuild/buf`, as CI installs it), installed on first use.
fn buf() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let tools = workspace_root().join("target/tools/buf");
        let path = tools.join("node_modules/.bin/buf");
        if !path.exists() {
            let status = std::process::Command::new("npm")
                .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
                .arg(&tools)
                .arg("@bufbuild/buf@1.75.0")
                .status()
                .expect("run npm to install buf");
            assert!(status.success(), "npm could not install @bufbuild/buf");
        }
        path
    })
    .clone()
}

/// `buf curl --protocol grpcweb` of `method` on `addr` (plain `http://`, so HTTP/1.1) with the
/// schema from `proto/`, sending `data` and `headers`.
async fn buf_curl(addr: SocketAddr, method: &str, data: &str, headers: &[&str]) -> Output {
    let mut command = std::process::Command::new(buf());
    command
        .current_dir(workspace_root())
        .args(["curl", "--protocol", "grpcweb", "--schema", "proto", "-v"])
        .args(["--timeout", "60s", "--data", data]);
    for header in headers {
        command.args(["-H", header]);
    }
    command.arg(format!("http://{addr}/{method}"));
    tokio::task::spawn_blocking(move || command.output().expect("run buf curl"))
        .await
        .expect("buf curl finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The gateway's server settings as its binary reads them from `vars`.
fn gateway_server(vars: &[(&'static str, &'static str)]) -> ServerConfig {
    let vars = vars.to_vec();
    let env = Env::from_lookup(move |name| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    });
    Service::Gateway
        .config(&env)
        .expect("a valid configuration")
        .service
        .server
}

/// A loopback address nothing listens on right now.
fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

/// The four services, the gateway configured from `vars` (with metrics on `metrics`), the demo
/// imported through the gateway over gRPC (HTTP/2, on the port that also speaks gRPC-Web).
async fn suite_with_demo(
    vars: &[(&'static str, &'static str)],
    metrics: Option<SocketAddr>,
) -> chancery_testkit::Suite {
    let mut gateway = gateway_server(vars);
    gateway.metrics_listen = metrics;
    let suite =
        spawn_suite_with(
            TestDatabase::create(Backend::Sqlite).await,
            |service| match service {
                Service::Gateway => gateway.clone(),
                _ => Options::default().server,
            },
        )
        .await;
    suite
        .gateway
        .gateway()
        .import_bundle(ImportBundleRequest {
            bundle: Some(seed::bundle()),
        })
        .await
        .expect("the demo imports over HTTP/2 gRPC");
    suite
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buf_curl_reads_the_demo_view_over_grpc_web() {
    let _turn = SERIAL.lock().await;
    let suite = suite_with_demo(&[], None).await;
    let output = buf_curl(
        suite.gateway.addr,
        GET_VIEW,
        &format!(r#"{{"name": "{EPISODE}"}}"#),
        &[],
    )
    .await;
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "buf curl failed:\n{stderr}");
    assert!(
        stderr.contains("< (#1) HTTP/1.1 200 OK"),
        "the call went over HTTP/1.1:\n{stderr}"
    );
    assert!(
        stderr.contains("< (#1) Content-Type: application/grpc-web+proto"),
        "the answer is gRPC-Web:\n{stderr}"
    );
    let view: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("buf curl prints the view as JSON");
    assert_eq!(view["episode"]["title"], "Macron–Putin calls, March 2022");
    assert_eq!(
        view["timeline"].as_array().map(Vec::len),
        Some(15),
        "{view}"
    );
    assert!(view.get("unreachable").is_none(), "{view}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_comes_back_with_its_status_over_grpc_web_and_is_counted() {
    let _turn = SERIAL.lock().await;
    let metrics = free_addr();
    let suite = suite_with_demo(&[], Some(metrics)).await;
    let not_found = r#"chancery_rpc_requests_total{service="gateway",method="GetEpisodeView",code="NOT_FOUND"}"#;
    let before = counter(metrics, not_found).await;

    let output = buf_curl(
        suite.gateway.addr,
        GET_VIEW,
        r#"{"name": "episodes/no-such-episode"}"#,
        &[],
    )
    .await;
    assert!(!output.status.success(), "a NOT_FOUND call fails");
    let stderr = text(&output.stderr);
    let error = error_json(&stderr);
    assert_eq!(error["code"], "not_found", "{stderr}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("episodes/no-such-episode")),
        "{stderr}"
    );
    assert_eq!(
        counter(metrics, not_found).await - before,
        1.0,
        "the gRPC-Web call is counted as any call"
    );
}

/// The error `buf curl` prints to stderr (a JSON object after its verbose lines).
fn error_json(stderr: &str) -> serde_json::Value {
    let start = stderr
        .lines()
        .position(|line| line.starts_with('{'))
        .unwrap_or_else(|| panic!("no error JSON in:\n{stderr}"));
    let json: Vec<&str> = stderr.lines().skip(start).collect();
    serde_json::from_str(&json.join("\n")).unwrap_or_else(|e| panic!("{e}:\n{stderr}"))
}

/// The value of one series in the gateway's `/metrics` (0 when absent).
async fn counter(metrics: SocketAddr, series: &str) -> f64 {
    let (status, _, body) = http_request(metrics, "GET /metrics", &[]).await;
    assert!(status.contains(" 200 "), "{status}");
    body.lines()
        .find_map(|line| line.strip_prefix(series))
        .map_or(0.0, |value| value.trim().parse().expect("a number"))
}

/// `(status line, lower-cased headers, body)` of a plain HTTP/1.1 request (`request` is
/// `METHOD PATH`) with `headers`.
async fn http_request(
    addr: SocketAddr,
    request: &str,
    headers: &[(&str, &str)],
) -> (String, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{request} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut raw))
        .await
        .expect("the server answers")
        .unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_owned(), headers.to_lowercase(), body.to_owned())
}

/// A browser's preflight for a gRPC-Web call from `origin`.
async fn preflight(gateway: &TestServer, origin: &str) -> (String, String) {
    let (status, headers, _) = http_request(
        gateway.addr,
        &format!("OPTIONS /{GET_VIEW}"),
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "content-type,x-grpc-web,x-user-agent,authorization",
            ),
        ],
    )
    .await;
    (status, headers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflights_from_allowed_origins_only_get_the_allow_headers() {
    let _turn = SERIAL.lock().await;
    let suite = suite_with_demo(
        &[(
            CORS_ALLOWED_ORIGINS,
            "https://app.example.org, http://localhost:5173",
        )],
        None,
    )
    .await;

    let (status, headers) = preflight(&suite.gateway, ALLOWED).await;
    assert!(status.contains(" 204 "), "{status}\n{headers}");
    assert!(
        headers.contains(&format!("access-control-allow-origin: {ALLOWED}")),
        "{headers}"
    );
    assert!(
        headers.contains(&format!("access-control-allow-headers: {ALLOWED_HEADERS}")),
        "{headers}"
    );
    assert!(
        headers.contains("access-control-allow-methods: post"),
        "{headers}"
    );

    for other in [
        "https://evil.example",
        "https://app.example.org.evil.example",
    ] {
        let (status, headers) = preflight(&suite.gateway, other).await;
        assert!(status.contains(" 403 "), "{other}: {status}");
        assert!(
            !headers.contains("access-control-allow"),
            "{other}: {headers}"
        );
    }

    // The call itself, from the allowed origin: the page may read the status headers.
    let output = buf_curl(
        suite.gateway.addr,
        GET_VIEW,
        r#"{"name": "episodes/no-such-episode"}"#,
        &[&format!("Origin: {ALLOWED}")],
    )
    .await;
    let stderr = text(&output.stderr).to_lowercase();
    assert_eq!(error_json(&stderr)["code"], "not_found", "{stderr}");
    assert!(
        stderr.contains(&format!("access-control-allow-origin: {ALLOWED}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("access-control-expose-headers: {EXPOSED_HEADERS}")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_allow_list_every_preflight_is_refused() {
    let _turn = SERIAL.lock().await;
    let gateway = spawn_with(
        Service::Gateway,
        Options {
            server: gateway_server(&[]),
            ..Options::default()
        },
    )
    .await;
    let (status, headers) = preflight(&gateway, ALLOWED).await;
    assert_eq!(status, "HTTP/1.1 403 Forbidden", "{headers}");
    assert!(!headers.contains("access-control-allow"), "{headers}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tokens_on_a_grpc_web_call_without_a_token_is_unauthenticated() {
    let _turn = SERIAL.lock().await;
    let mut server = gateway_server(&[]);
    server.auth = auth_config("reader alice web-reader-token", false, None);
    let gateway = spawn_with(
        Service::Gateway,
        Options {
            server,
            ..Options::default()
        },
    )
    .await;
    let missing = r#"{"name": "episodes/no-such-episode"}"#;

    let anonymous = buf_curl(gateway.addr, GET_VIEW, missing, &[]).await;
    let stderr = text(&anonymous.stderr);
    assert_eq!(error_json(&stderr)["code"], "unauthenticated", "{stderr}");

    let wrong = buf_curl(
        gateway.addr,
        GET_VIEW,
        missing,
        &["Authorization: Bearer not-a-token"],
    )
    .await;
    let stderr = text(&wrong.stderr);
    assert_eq!(error_json(&stderr)["code"], "unauthenticated", "{stderr}");

    // The reader's token passes: the call reaches the handler, which finds no such episode.
    let reader = buf_curl(
        gateway.addr,
        GET_VIEW,
        missing,
        &["Authorization: Bearer web-reader-token"],
    )
    .await;
    let stderr = text(&reader.stderr);
    assert_eq!(error_json(&stderr)["code"], "not_found", "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_gateway_speaks_grpc_web_and_reads_the_allow_list() {
    let _turn = SERIAL.lock().await;
    let vars = [(CORS_ALLOWED_ORIGINS, "*")];
    assert_eq!(
        gateway_server(&vars)
            .grpc_web
            .map(|web| web.allowed_origins),
        Some(AllowedOrigins::Any)
    );
    let env = |value: &'static str| {
        Env::from_lookup(move |name| (name == CORS_ALLOWED_ORIGINS).then(|| value.to_owned()))
    };
    for service in [
        Service::Actors,
        Service::Communications,
        Service::Statements,
    ] {
        let config = service.config(&env("not an origin")).unwrap();
        assert_eq!(config.service.server.grpc_web, None, "{service:?}");
    }
    let error = Service::Gateway
        .config(&env("https://app.example.org/"))
        .unwrap_err();
    assert_eq!(error.variable, CORS_ALLOWED_ORIGINS, "{error}");

    // The actors service, as its binary configures it: gRPC over HTTP/2 only.
    let actors_config = Service::Actors.config(&Env::from_lookup(|_| None)).unwrap();
    let actors = spawn_with(
        Service::Actors,
        Options {
            server: actors_config.service.server,
            ..Options::default()
        },
    )
    .await;
    let output = buf_curl(
        actors.addr,
        "chancery.actors.v1.ActorService/GetActor",
        r#"{"name": "actors/nobody"}"#,
        &[],
    )
    .await;
    assert!(
        !output.status.success(),
        "HTTP/1.1 is refused on the actors port:\n{}",
        text(&output.stderr)
    );
}
