//! What integrators' tools see on the wire, checked with the tools themselves on real sockets:
//!
//! - error details: the real grpcurl 1.8.6 prints `ErrorInfo` and `BadRequest` as JSON (the
//!   server's reflection describes `google/rpc/error_details.proto`), and reflection describes
//!   every standard detail and `google.rpc.Status`; the real `buf curl` reaches the same RPC
//!   through reflection and receives the same details;
//! - health with tokens on: the plaintext health port also serves a reflection that describes
//!   health alone, so a token-free `grpcurl … grpc.health.v1.Health/Check` works there;
//! - compression: every service answers in gzip or zstd when asked and accepts compressed
//!   requests; a Python grpcio client with gzip reads the demo view; the gateway asks its
//!   backends for compressed answers when configured. Bytes are counted by a proxy between
//!   client and server, and the sizes of the demo view are printed (BENCHMARKS.md,
//!   "Compression").
//!
//! grpcurl, buf and Python run as blocking child processes, so the servers need runtime threads
//! of their own: hence the multi-threaded runtimes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chancery_proto::actors::v1::actor_service_client::ActorServiceClient;
use chancery_proto::actors::v1::{GetActorRequest, ListActorsRequest};
use chancery_proto::communications::v1::ListCommunicationsRequest;
use chancery_proto::communications::v1::communication_service_client::CommunicationServiceClient;
use chancery_proto::gateway::v1::episode_service_client::EpisodeServiceClient;
use chancery_proto::gateway::v1::{
    EpisodeView, GetEpisodeViewRequest, ImportBundleRequest, ListEpisodesRequest,
};
use chancery_proto::statements::v1::ListStatementsRequest;
use chancery_proto::statements::v1::statement_service_client::StatementServiceClient;
use chancery_runtime::compression::BackendCompression;
use chancery_testkit::python::{generate_stubs, run_script, workspace_root};
use chancery_testkit::seed::{self, EPISODE};
use chancery_testkit::{
    Options, Service, Suite, TempDir, auth_config, connect, grpcurl, spawn, spawn_suite, spawn_with,
};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;

/// An invalid CreateActor: no kind, no display name.
const INVALID_ACTOR: &str = r#"{"actor_id": "nobody", "actor": {}}"#;
const CREATE_ACTOR: &str = "chancery.actors.v1.ActorService/CreateActor";

/// Every message of `google/rpc/error_details.proto` and `google/rpc/status.proto`.
const STANDARD_DETAILS: [&str; 11] = [
    "google.rpc.ErrorInfo",
    "google.rpc.BadRequest",
    "google.rpc.RetryInfo",
    "google.rpc.ResourceInfo",
    "google.rpc.PreconditionFailure",
    "google.rpc.QuotaFailure",
    "google.rpc.RequestInfo",
    "google.rpc.Help",
    "google.rpc.LocalizedMessage",
    "google.rpc.DebugInfo",
    "google.rpc.Status",
];

/// `grpcurl -plaintext [-d DATA] TARGET WORDS…`.
fn grpcurl_at(target: &str, data: Option<&str>, words: &[&str]) -> Output {
    grpcurl_with(&[], target, data, words)
}

/// `grpcurl -plaintext FLAGS… [-d DATA] TARGET WORDS…`.
fn grpcurl_with(flags: &[&str], target: &str, data: Option<&str>, words: &[&str]) -> Output {
    let mut command = Command::new(grpcurl());
    command.arg("-plaintext").args(flags);
    if let Some(data) = data {
        command.args(["-d", data]);
    }
    command
        .arg(target)
        .args(words)
        .output()
        .expect("run grpcurl")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The details grpcurl prints under `Details:`, one `  N)\t{json}` line each, parsed.
fn grpcurl_details(output: &str) -> Vec<serde_json::Value> {
    output
        .lines()
        .filter_map(|line| line.trim_start().split_once(")\t"))
        .map(|(_, json)| {
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: a detail as JSON: {json}"))
        })
        .collect()
}

fn detail<'a>(details: &'a [serde_json::Value], type_url: &str) -> &'a serde_json::Value {
    details
        .iter()
        .find(|d| d["@type"] == type_url)
        .unwrap_or_else(|| panic!("no {type_url} among {details:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_prints_error_info_and_bad_request_as_json() {
    let actors = spawn(Service::Actors).await;
    let target = actors.target();

    let refused = grpcurl_at(&target, Some(INVALID_ACTOR), &[CREATE_ACTOR]);
    assert!(!refused.status.success());
    let output = text(&refused);
    assert!(output.contains("Code: InvalidArgument"), "{output}");
    assert!(!output.contains("not recognized"), "{output}");
    assert!(!output.contains("@value"), "{output}");
    let details = grpcurl_details(&output);
    let info = detail(&details, "type.googleapis.com/google.rpc.ErrorInfo");
    assert_eq!(info["reason"], "INVALID_REQUEST", "{output}");
    assert_eq!(info["domain"], "chancery", "{output}");
    let bad = detail(&details, "type.googleapis.com/google.rpc.BadRequest");
    let fields: Vec<&str> = bad["fieldViolations"]
        .as_array()
        .unwrap_or_else(|| panic!("fieldViolations as JSON: {output}"))
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["actor.kind", "actor.display_name"], "{output}");
    assert!(
        bad["fieldViolations"][0]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{output}"
    );

    // NOT_FOUND: the services name the resource in ErrorInfo's metadata and in a ResourceInfo,
    // printed as JSON too.
    let missing = grpcurl_at(
        &target,
        Some(r#"{"name": "actors/nobody"}"#),
        &["chancery.actors.v1.ActorService/GetActor"],
    );
    let output = text(&missing);
    assert!(output.contains("Code: NotFound"), "{output}");
    let details = grpcurl_details(&output);
    let info = detail(&details, "type.googleapis.com/google.rpc.ErrorInfo");
    assert_eq!(info["reason"], "RESOURCE_NOT_FOUND", "{output}");
    assert_eq!(info["metadata"]["resource"], "actors/nobody", "{output}");
    let resource = detail(&details, "type.googleapis.com/google.rpc.ResourceInfo");
    assert_eq!(resource["resourceType"], "actors", "{output}");
    assert_eq!(resource["resourceName"], "actors/nobody", "{output}");

    // Every standard detail (and the Status around them) is described by reflection.
    for name in STANDARD_DETAILS {
        let described = grpcurl_at(&target, None, &["describe", name]);
        let output = text(&described);
        assert!(described.status.success(), "describe {name}: {output}");
        let short = name.rsplit('.').next().unwrap();
        assert!(
            output.contains(&format!("message {short} {{")),
            "describe {name}: {output}"
        );
    }
    let bad_request = text(&grpcurl_at(
        &target,
        None,
        &["describe", "google.rpc.BadRequest.FieldViolation"],
    ));
    assert!(
        bad_request.contains("string field = 1;")
            && bad_request.contains("string description = 2;"),
        "{bad_request}"
    );
}

/// The real buf (1.75.0, from npm), installed into `target/tools/buf` as `.ci/run` does when
/// absent.
fn buf() -> PathBuf {
    let tools = workspace_root().join("target/tools/buf");
    let buf = tools.join("node_modules/.bin/buf");
    if !buf.exists() {
        let status = Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&tools)
            .arg("@bufbuild/buf@1.75.0")
            .status()
            .expect("run npm to install buf");
        assert!(status.success(), "npm could not install buf");
    }
    buf
}

/// Standard base64 (with padding), as buf prints a detail's bytes.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => panic!("not base64: {text}"),
        }
    };
    let digits: Vec<u32> = text.bytes().filter(|c| *c != b'=').map(value).collect();
    let mut bytes = Vec::new();
    for chunk in digits.chunks(4) {
        let mut bits = 0_u32;
        for (i, digit) in chunk.iter().enumerate() {
            bits |= digit << (18 - 6 * i);
        }
        let whole = chunk.len() * 6 / 8;
        bytes.extend_from_slice(&bits.to_be_bytes()[1..=whole]);
    }
    bytes
}

/// `value` (a detail's bytes) decoded as `message` with the descriptor set the servers hand to
/// reflection, as proto3 JSON.
fn decode_detail(message: &str, value: &str) -> serde_json::Value {
    let pool = prost_reflect::DescriptorPool::decode(chancery_proto::FILE_DESCRIPTOR_SET)
        .expect("the descriptor set decodes");
    let descriptor = pool
        .get_message_by_name(message)
        .unwrap_or_else(|| panic!("{message} is in the descriptor set"));
    let decoded =
        prost_reflect::DynamicMessage::decode(descriptor, base64_decode(value).as_slice())
            .expect("the detail decodes");
    serde_json::to_value(&decoded).expect("as JSON")
}

#[test]
fn base64_of_buf_decodes() {
    assert_eq!(base64_decode("Y2hhbmNlcnk="), b"chancery");
    assert_eq!(base64_decode("YQ=="), b"a");
    assert_eq!(base64_decode("YWI="), b"ab");
    assert_eq!(base64_decode("YWJj"), b"abc");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buf_curl_reaches_the_rpc_by_reflection_and_receives_the_details() {
    let actors = spawn(Service::Actors).await;
    let url = format!("http://{}/{CREATE_ACTOR}", actors.target());
    let refused = Command::new(buf())
        .args([
            "curl",
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",
            "-d",
            INVALID_ACTOR,
        ])
        .arg(&url)
        .output()
        .expect("run buf curl");
    let output = text(&refused);
    // buf exits with the gRPC code shifted left by three: INVALID_ARGUMENT (3) → 24.
    assert_eq!(refused.status.code(), Some(24), "{output}");
    let error: serde_json::Value = serde_json::from_slice(&refused.stderr)
        .unwrap_or_else(|e| panic!("{e}: buf prints the error as JSON: {output}"));
    assert_eq!(error["code"], "invalid_argument", "{output}");
    let details = error["details"].as_array().expect("details");
    let of_type = |name: &str| {
        details
            .iter()
            .find(|d| d["type"] == name)
            .unwrap_or_else(|| panic!("no {name} in {output}"))
    };
    // buf 1.75 prints a detail as its type and base64 bytes (plus `debug` JSON only for types
    // compiled into buf itself, which these are not); the bytes are the standard messages.
    let info = decode_detail(
        "google.rpc.ErrorInfo",
        of_type("google.rpc.ErrorInfo")["value"].as_str().unwrap(),
    );
    assert_eq!(info["reason"], "INVALID_REQUEST", "{info}");
    let bad = decode_detail(
        "google.rpc.BadRequest",
        of_type("google.rpc.BadRequest")["value"].as_str().unwrap(),
    );
    let fields: Vec<&str> = bad["fieldViolations"]
        .as_array()
        .expect("field violations")
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["actor.kind", "actor.display_name"], "{bad}");

    // The same server answers buf's reflection for a valid call, as JSON.
    let created = Command::new(buf())
        .args(["curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d"])
        .arg(r#"{"actor_id": "anne-claire-legendre", "actor": {"kind": "ACTOR_KIND_PERSON", "display_name": "Anne-Claire Legendre"}}"#)
        .arg(&url)
        .output()
        .expect("run buf curl");
    assert!(created.status.success(), "{}", text(&created));
    let actor: serde_json::Value = serde_json::from_slice(&created.stdout).expect("JSON");
    assert_eq!(actor["name"], "actors/anne-claire-legendre");
}

const WRITER: &str = "wire-writer-token-000000001";

fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tokens_on_grpcurl_checks_health_on_the_health_port_without_a_token() {
    let health_addr = free_addr();
    let mut options = Options::default();
    options.server.auth = auth_config(&format!("writer alice {WRITER}\n"), false, None);
    options.server.health_listen = Some(health_addr);
    let actors = spawn_with(Service::Actors, options).await;
    let health = health_addr.to_string();
    let check = "grpc.health.v1.Health/Check";

    // The gRPC port: reflection is a read, so grpcurl cannot even find Check without a token…
    let refused = grpcurl_at(&actors.target(), None, &[check]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("Unauthenticated"),
        "{}",
        text(&refused)
    );
    // …and finds it with one.
    let bearer = format!("authorization: Bearer {WRITER}");
    let answered = grpcurl_with(&["-H", &bearer], &actors.target(), None, &[check]);
    assert!(answered.status.success(), "{}", text(&answered));

    // The plaintext health port: no token, overall and per service.
    for data in [
        None,
        Some(r#"{"service": "chancery.actors.v1.ActorService"}"#),
    ] {
        let checked = grpcurl_at(&health, data, &[check]);
        assert!(checked.status.success(), "{data:?}: {}", text(&checked));
        let status: serde_json::Value = serde_json::from_slice(&checked.stdout).expect("JSON");
        assert_eq!(status["status"], "SERVING", "{data:?}");
    }
    // It describes health and reflection, nothing of the API.
    let listed = grpcurl_at(&health, None, &["list"]);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    let mut services: Vec<&str> = listed.lines().collect();
    services.sort_unstable();
    assert_eq!(
        services,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection"
        ],
        "{listed}"
    );
    let api = grpcurl_at(
        &health,
        None,
        &["describe", "chancery.actors.v1.ActorService"],
    );
    assert!(!api.status.success(), "{}", text(&api));
    actors.stop().await.expect("a clean stop");
}

/// A TCP proxy in front of `upstream` counting the bytes it forwards each way.
struct CountingProxy {
    addr: SocketAddr,
    /// Bytes from the server to its clients.
    down: Arc<AtomicU64>,
}

impl CountingProxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let down = Arc::new(AtomicU64::new(0));
        let counted = down.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pump(client_read, server_write, None));
                tokio::spawn(pump(server_read, client_write, Some(counted.clone())));
            }
        });
        Self { addr, down }
    }

    fn down(&self) -> u64 {
        self.down.load(Ordering::SeqCst)
    }
}

/// Copies `from` to `to`, counting each read into `counter` before it is written (so a client
/// that has received bytes finds them counted).
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    counter: Option<Arc<AtomicU64>>,
) {
    let mut buffer = vec![0_u8; 64 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if let Some(counter) = &counter {
            counter.fetch_add(read as u64, Ordering::SeqCst);
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

async fn demo_suite() -> Suite {
    let suite = spawn_suite().await;
    suite
        .gateway
        .gateway()
        .import_bundle(ImportBundleRequest {
            bundle: Some(seed::bundle()),
        })
        .await
        .expect("the demo bundle imports");
    suite
}

fn view_request() -> GetEpisodeViewRequest {
    GetEpisodeViewRequest {
        name: EPISODE.to_owned(),
        ..GetEpisodeViewRequest::default()
    }
}

/// The demo view read twice on one connection through a counting proxy, asking for `encoding`
/// (and sending the request in it): the view, the `grpc-encoding` of the answer, and the bytes
/// the server sent for the second call (the connection's set-up excluded).
async fn read_view_counted(
    gateway: SocketAddr,
    encoding: Option<CompressionEncoding>,
) -> (EpisodeView, Option<String>, u64) {
    let proxy = CountingProxy::start(gateway).await;
    let mut client = EpisodeServiceClient::new(connect(proxy.addr).await);
    if let Some(encoding) = encoding {
        client = client.send_compressed(encoding).accept_compressed(encoding);
    }
    client
        .get_episode_view(view_request())
        .await
        .expect("the first view");
    let before = proxy.down();
    let response = client
        .get_episode_view(view_request())
        .await
        .expect("the view");
    let bytes = proxy.down() - before;
    let answered_in = response
        .metadata()
        .get("grpc-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.into_inner(), answered_in, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_view_is_answered_in_gzip_or_zstd_when_asked_and_is_smaller_on_the_wire() {
    let suite = demo_suite().await;
    let (plain, plain_encoding, plain_bytes) = read_view_counted(suite.gateway.addr, None).await;
    assert_eq!(plain_encoding, None, "no compression unless asked");
    assert_eq!(plain.timeline.len(), 15);
    let message_bytes = plain.encoded_len();
    println!("GetEpisodeView(demo): message {message_bytes} bytes");
    println!("identity: {plain_bytes} bytes on the wire");
    for (encoding, name) in [
        (CompressionEncoding::Gzip, "gzip"),
        (CompressionEncoding::Zstd, "zstd"),
    ] {
        let (view, answered_in, bytes) =
            read_view_counted(suite.gateway.addr, Some(encoding)).await;
        assert_eq!(view, plain, "{name}: the same view");
        assert_eq!(answered_in.as_deref(), Some(name));
        println!(
            "{name}: {bytes} bytes on the wire ({:.2} of identity)",
            bytes as f64 / plain_bytes as f64
        );
        assert!(
            bytes * 2 < plain_bytes,
            "{name}: {bytes} bytes, not under half of identity's {plain_bytes}"
        );
    }
    suite.stop().await;
}

/// Calls one RPC of each service with `encoding` both ways and returns the answers' encodings.
async fn encodings_of_each_service(
    suite: &Suite,
    encoding: CompressionEncoding,
) -> Vec<(&'static str, Option<String>)> {
    fn encoding_of<T>(response: &tonic::Response<T>) -> Option<String> {
        response
            .metadata()
            .get("grpc-encoding")
            .map(|v| v.to_str().unwrap().to_owned())
    }
    let channel = |server: &chancery_testkit::TestServer| -> Channel { server.channel.clone() };
    let actors = ActorServiceClient::new(channel(&suite.actors))
        .send_compressed(encoding)
        .accept_compressed(encoding)
        .list_actors(ListActorsRequest::default())
        .await
        .expect("actors");
    let communications = CommunicationServiceClient::new(channel(&suite.communications))
        .send_compressed(encoding)
        .accept_compressed(encoding)
        .list_communications(ListCommunicationsRequest::default())
        .await
        .expect("communications");
    let statements = StatementServiceClient::new(channel(&suite.statements))
        .send_compressed(encoding)
        .accept_compressed(encoding)
        .list_statements(ListStatementsRequest::default())
        .await
        .expect("statements");
    let gateway = EpisodeServiceClient::new(channel(&suite.gateway))
        .send_compressed(encoding)
        .accept_compressed(encoding)
        .list_episodes(ListEpisodesRequest::default())
        .await
        .expect("gateway");
    let health = tonic_health::pb::health_client::HealthClient::new(channel(&suite.actors))
        .send_compressed(encoding)
        .accept_compressed(encoding)
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("health");
    vec![
        ("actors", encoding_of(&actors)),
        ("communications", encoding_of(&communications)),
        ("statements", encoding_of(&statements)),
        ("gateway", encoding_of(&gateway)),
        ("health", encoding_of(&health)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_accepts_and_answers_gzip_and_zstd() {
    let suite = demo_suite().await;
    for (encoding, name) in [
        (CompressionEncoding::Gzip, "gzip"),
        (CompressionEncoding::Zstd, "zstd"),
    ] {
        for (service, answered_in) in encodings_of_each_service(&suite, encoding).await {
            assert_eq!(answered_in.as_deref(), Some(name), "{service}");
        }
    }
    // A compressed error is still the same status with its details.
    let missing = ActorServiceClient::new(suite.actors.channel.clone())
        .send_compressed(CompressionEncoding::Zstd)
        .accept_compressed(CompressionEncoding::Zstd)
        .get_actor(GetActorRequest {
            name: "actors/nobody".to_owned(),
        })
        .await
        .expect_err("no such actor");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    assert_eq!(
        chancery_testkit::error_reason(&missing),
        "RESOURCE_NOT_FOUND"
    );
    suite.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_with_gzip_reads_the_demo_view() {
    let suite = demo_suite().await;
    let uncompressed = EpisodeServiceClient::new(suite.gateway.channel.clone())
        .get_episode_view(view_request())
        .await
        .expect("the view")
        .into_inner()
        .encoded_len() as u64;

    let stubs = TempDir::new("python-gzip").unwrap();
    let out = stubs.path().to_owned();
    tokio::task::spawn_blocking(move || generate_stubs(&out))
        .await
        .unwrap();
    std::fs::copy(
        workspace_root().join("tests/python/compressed_view.py"),
        stubs.path().join("compressed_view.py"),
    )
    .unwrap();

    let proxy = CountingProxy::start(suite.gateway.addr).await;
    let target = proxy.addr.to_string();
    let dir = stubs.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        run_script(&dir, "compressed_view.py", &[&target, EPISODE, "gzip"])
    })
    .await
    .unwrap();
    let view: serde_json::Value = serde_json::from_str(&output).expect("the script prints JSON");
    assert_eq!(view["title"], "Macron–Putin calls, March 2022", "{output}");
    assert_eq!(view["timeline"], 15, "{output}");
    assert_eq!(view["unreachable"], 0, "{output}");
    // Everything the server sent on the Python client's connection (HTTP/2 set-up, headers and
    // the answer) is less than the uncompressed view alone.
    let sent = proxy.down();
    println!("python gzip: {sent} bytes from the server; the view is {uncompressed} bytes");
    assert!(
        sent < uncompressed,
        "{sent} bytes on the wire for a {uncompressed}-byte view: not compressed"
    );
    suite.stop().await;
}

/// A second gateway over the suite's episode store, reaching each backend through a counting
/// proxy, asking for answers in `compression`: the bytes the backends sent for one demo view.
async fn backend_bytes_of_a_view(suite: &Suite, compression: BackendCompression) -> (u64, usize) {
    let actors = CountingProxy::start(suite.actors.addr).await;
    let communications = CountingProxy::start(suite.communications.addr).await;
    let statements = CountingProxy::start(suite.statements.addr).await;
    let mut options = Options {
        database: suite.gateway.database().cloned(),
        actors: Some(actors.addr),
        communications: Some(communications.addr),
        statements: Some(statements.addr),
        ..Options::default()
    };
    options.server.backend_compression = compression;
    let gateway = spawn_with(Service::Gateway, options).await;
    let view = gateway
        .gateway()
        .get_episode_view(view_request())
        .await
        .expect("the view")
        .into_inner();
    assert!(view.unreachable.is_empty(), "{:?}", view.unreachable);
    let bytes = actors.down() + communications.down() + statements.down();
    gateway.stop().await.expect("a clean stop");
    (bytes, view.timeline.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_asks_its_backends_for_compressed_answers_when_configured() {
    let suite = demo_suite().await;
    let (plain, timeline) = backend_bytes_of_a_view(&suite, BackendCompression::None).await;
    assert_eq!(timeline, 15);
    println!("backends → gateway, identity: {plain} bytes");
    for compression in [BackendCompression::Gzip, BackendCompression::Zstd] {
        let (bytes, timeline) = backend_bytes_of_a_view(&suite, compression).await;
        assert_eq!(timeline, 15, "{compression:?}");
        println!(
            "backends → gateway, {compression:?}: {bytes} bytes ({:.2} of identity)",
            bytes as f64 / plain as f64
        );
        assert!(
            bytes < plain,
            "{compression:?}: {bytes} bytes, not fewer than identity's {plain}"
        );
    }
    suite.stop().await;
}
