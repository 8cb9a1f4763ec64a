//! Metrics and trace context end to end: real servers with `metrics_listen` set, scraped over
//! HTTP; a `traceparent` sent to the gateway (and to communications) seen by the actors backend.
//! The real binaries as processes: their logs in a file (no colour; JSON lines of plain values),
//! on a terminal (colour unless `NO_COLOR`), and their process metrics and build info. Error
//! messages as a client reads them: a bad date named once, every updatable field listed.
//!
//! The registry is process-wide, so the tests here take turns ([`SERIAL`]) and compare scrapes
//! taken before and after their calls.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use chancery_proto::actors::v1::{
    Actor, ActorKind, CreateActorRequest, GetActorRequest, ListActorsRequest,
    actor_service_client::ActorServiceClient,
};
use chancery_proto::common::v1::FuzzyDate;
use chancery_proto::communications::v1::{
    Communication, CommunicationKind, CreateCommunicationRequest, Participant, ParticipantRole,
    communication_service_client::CommunicationServiceClient,
};
use chancery_proto::gateway::v1::{
    CreateEpisodeRequest, Episode, episode_service_client::EpisodeServiceClient,
};
use chancery_testkit::fakes::spawn_fakes;
use chancery_testkit::{Options, Service, spawn_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic::codegen::http;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

mod support;

use support::process::{Service as Process, free_port, scrape_metrics};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A loopback address nothing listens on right now.
fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

/// `(status line, headers, body)` of a plain HTTP/1.1 request.
async fn http_request(addr: SocketAddr, method: &str, path: &str) -> (String, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the metrics port");
    stream
        .write_all(
            format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut raw = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut raw))
        .await
        .expect("the metrics server answers")
        .unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_owned(), headers.to_lowercase(), body.to_owned())
}

/// Every sample of a scrape, by `name{labels}`.
async fn scrape(addr: SocketAddr) -> BTreeMap<String, f64> {
    let (status, _, body) = http_request(addr, "GET", "/metrics").await;
    assert!(status.contains(" 200 "), "{status}");
    body.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

fn series(name: &str, labels: &[(&str, &str)]) -> String {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", labels.join(","))
}

/// How much `series` grew between two scrapes (absent counts as 0).
fn delta(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, series: &str) -> f64 {
    after.get(series).copied().unwrap_or(0.0) - before.get(series).copied().unwrap_or(0.0)
}

fn options_with_metrics(metrics: SocketAddr) -> Options {
    let mut options = Options::default();
    options.server.metrics_listen = Some(metrics);
    options
}

async fn wait_for_metrics(addr: SocketAddr) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the metrics server never listened on {addr}");
}

fn person(name: &str) -> Actor {
    Actor {
        kind: ActorKind::Person as i32,
        display_name: name.into(),
        ..Default::default()
    }
}

fn phone_call(actors: &[&str]) -> Communication {
    Communication {
        kind: CommunicationKind::PhoneCall as i32,
        participants: actors
            .iter()
            .map(|a| Participant {
                actor: (*a).into(),
                role: ParticipantRole::Principal as i32,
                initiator: false,
                side: String::new(),
                ..Default::default()
            })
            .collect(),
        occurred: Some(FuzzyDate {
            edtf: "2022-03-29".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn rpcs_are_counted_by_method_and_code_with_latency_histograms() {
    let _turn = SERIAL.lock().await;
    let metrics = free_addr();
    let actors = spawn_with(Service::Actors, options_with_metrics(metrics)).await;
    wait_for_metrics(metrics).await;
    let before = scrape(metrics).await;

    let mut client = ActorServiceClient::new(actors.channel.clone());
    client
        .create_actor(CreateActorRequest {
            actor: Some(person("Emmanuel Macron")),
            actor_id: "emmanuel-macron".into(),
            request_id: String::new(),
        })
        .await
        .unwrap();
    for _ in 0..2 {
        client
            .get_actor(GetActorRequest {
                name: "actors/emmanuel-macron".into(),
            })
            .await
            .unwrap();
    }
    let missing = client
        .get_actor(GetActorRequest {
            name: "actors/nobody".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let invalid = client
        .get_actor(GetActorRequest {
            name: "people/x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    // Probes are not counted.
    HealthClient::new(actors.channel.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();

    let after = scrape(metrics).await;
    let requests = |method: &str, code: &str| {
        series(
            "chancery_rpc_requests_total",
            &[("service", "actors"), ("method", method), ("code", code)],
        )
    };
    assert_eq!(delta(&before, &after, &requests("CreateActor", "OK")), 1.0);
    assert_eq!(delta(&before, &after, &requests("GetActor", "OK")), 2.0);
    assert_eq!(
        delta(&before, &after, &requests("GetActor", "NOT_FOUND")),
        1.0
    );
    assert_eq!(
        delta(&before, &after, &requests("GetActor", "INVALID_ARGUMENT")),
        1.0
    );
    assert!(
        !after.keys().any(|k| k.contains("method=\"Check\"")),
        "health checks are not counted"
    );

    let bucket = |le: &str| {
        series(
            "chancery_rpc_duration_seconds_bucket",
            &[("service", "actors"), ("method", "GetActor"), ("le", le)],
        )
    };
    let labels = [("service", "actors"), ("method", "GetActor")];
    assert_eq!(delta(&before, &after, &bucket("+Inf")), 4.0);
    assert_eq!(
        delta(
            &before,
            &after,
            &series("chancery_rpc_duration_seconds_count", &labels)
        ),
        4.0
    );
    assert!(
        delta(
            &before,
            &after,
            &series("chancery_rpc_duration_seconds_sum", &labels)
        ) > 0.0
    );
    // Cumulative buckets never decrease, and a local GetActor takes well under 30 s.
    let bounds = chancery_runtime::metrics::LATENCY_BUCKETS;
    let counts: Vec<f64> = bounds
        .iter()
        .map(|b| after[&bucket(&format!("{b}"))])
        .collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    assert_eq!(counts.last().copied(), Some(after[&bucket("+Inf")]));
    assert_eq!(
        after[&series("chancery_rpc_in_flight", &[("service", "actors")])],
        0.0
    );

    // The endpoint: text format at /metrics, 404 elsewhere, 405 for other methods.
    let (status, headers, body) = http_request(metrics, "GET", "/metrics").await;
    assert!(status.contains(" 200 "), "{status}");
    assert!(
        headers.contains("content-type: text/plain; version=0.0.4"),
        "{headers}"
    );
    assert!(body.contains("# TYPE chancery_rpc_requests_total counter\n"));
    assert!(body.contains("# TYPE chancery_rpc_duration_seconds histogram\n"));
    let (status, _, _) = http_request(metrics, "GET", "/").await;
    assert!(status.contains(" 404 "), "{status}");
    let (status, _, _) = http_request(metrics, "POST", "/metrics").await;
    assert!(status.contains(" 405 "), "{status}");

    // The metrics server stops with the service.
    drop(client);
    drop(actors);
    let mut closed = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(metrics).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(closed, "the metrics port closes when the service stops");
}

#[tokio::test]
async fn store_operations_have_latency_histograms_by_operation() {
    let _turn = SERIAL.lock().await;
    let metrics = free_addr();
    let actors = spawn_with(Service::Actors, options_with_metrics(metrics)).await;
    wait_for_metrics(metrics).await;
    let before = scrape(metrics).await;

    let mut client = ActorServiceClient::new(actors.channel.clone());
    client
        .create_actor(CreateActorRequest {
            actor: Some(person("Olaf Scholz")),
            actor_id: "olaf-scholz".into(),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let page = client
        .list_actors(ListActorsRequest {
            page_size: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!page.actors.is_empty());

    let after = scrape(metrics).await;
    for operation in ["create_actor", "list_actors"] {
        let labels = [("service", "actors"), ("operation", operation)];
        let inf = series(
            "chancery_store_seconds_bucket",
            &[labels[0], labels[1], ("le", "+Inf")],
        );
        assert!(
            delta(&before, &after, &inf) >= 1.0,
            "{operation}: {after:?}"
        );
        assert!(
            delta(
                &before,
                &after,
                &series("chancery_store_seconds_count", &labels)
            ) >= 1.0,
            "{operation}"
        );
        assert!(
            after
                .keys()
                .filter(|k| k.starts_with("chancery_store_seconds_bucket{")
                    && k.contains(&format!("operation=\"{operation}\"")))
                .count()
                > 1,
            "{operation}: one sample per bucket"
        );
    }
}

/// Accepts connections and never answers: a backend that hangs.
async fn hanging_backend() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

#[tokio::test]
async fn shed_requests_and_backend_call_outcomes_are_counted() {
    let _turn = SERIAL.lock().await;
    let metrics = free_addr();
    let mut options = options_with_metrics(metrics);
    options.server.max_concurrent_requests = 1;
    options.actors = Some(hanging_backend().await);
    let communications = spawn_with(Service::Communications, options).await;
    wait_for_metrics(metrics).await;
    let before = scrape(metrics).await;

    let create = |id: &str| {
        let mut request = tonic::Request::new(CreateCommunicationRequest {
            communication: Some(phone_call(&["actors/emmanuel-macron"])),
            communication_id: id.into(),
            request_id: String::new(),
        });
        request.set_timeout(Duration::from_millis(800));
        request
    };
    let mut client = CommunicationServiceClient::new(communications.channel.clone());
    let mut first_client = client.clone();
    let first_request = create("first");
    let first = tokio::spawn(async move { first_client.create_communication(first_request).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let shed = client
        .create_communication(create("second"))
        .await
        .unwrap_err();
    assert_eq!(shed.code(), Code::ResourceExhausted, "{shed:?}");
    let first = first.await.unwrap().unwrap_err();
    assert!(
        matches!(first.code(), Code::Unavailable | Code::DeadlineExceeded),
        "{first:?}"
    );

    let after = scrape(metrics).await;
    let labels = [
        ("service", "communications"),
        ("method", "CreateCommunication"),
    ];
    assert_eq!(
        delta(&before, &after, &series("chancery_rpc_shed_total", &labels)),
        1.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            &series(
                "chancery_rpc_requests_total",
                &[
                    ("service", "communications"),
                    ("method", "CreateCommunication"),
                    ("code", "RESOURCE_EXHAUSTED"),
                ],
            )
        ),
        1.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            &series(
                "chancery_backend_calls_total",
                &[
                    ("service", "communications"),
                    ("target", "actors"),
                    ("method", "BatchGetActors"),
                    ("outcome", "deadline"),
                ],
            )
        ),
        1.0,
        "{after:#?}"
    );
}

/// A stand-in for the actors service that writes down each request's `traceparent` and passes
/// the request on to `upstream`.
#[derive(Clone)]
struct Recorder {
    upstream: Channel,
    seen: Arc<Mutex<Vec<String>>>,
}

impl tonic::server::NamedService for Recorder {
    const NAME: &'static str = "chancery.actors.v1.ActorService";
}

impl tonic::codegen::Service<http::Request<tonic::body::Body>> for Recorder {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let traceparent = request
            .headers()
            .get("traceparent")
            .map(|v| v.to_str().unwrap_or("<not text>").to_owned())
            .unwrap_or_default();
        self.seen.lock().unwrap().push(traceparent);
        let mut upstream = self.upstream.clone();
        Box::pin(async move {
            if let Err(error) = std::future::poll_fn(|cx| upstream.poll_ready(cx)).await {
                return Ok(tonic::Status::unavailable(error.to_string()).into_http());
            }
            Ok(upstream
                .call(request)
                .await
                .unwrap_or_else(|error| tonic::Status::unavailable(error.to_string()).into_http()))
        })
    }
}

async fn start_recorder(upstream: SocketAddr) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = Recorder {
        upstream: chancery_testkit::connect(upstream).await,
        seen: seen.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(recorder)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    (addr, seen)
}

fn with_traceparent<T>(message: T, traceparent: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().unwrap());
    request
}

/// `(trace id, parent span id)` of a `traceparent` the backend received.
fn parts(traceparent: &str) -> (String, String) {
    let parsed = chancery_runtime::trace_context::parse_traceparent(traceparent)
        .unwrap_or_else(|| panic!("a valid traceparent, not {traceparent:?}"));
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    (hex(&parsed.trace_id), hex(&parsed.parent_id))
}

#[tokio::test]
async fn the_trace_id_travels_from_the_gateway_and_from_reference_checks_to_actors() {
    let _turn = SERIAL.lock().await;
    let fakes = spawn_fakes().await;
    let (actors, seen) = start_recorder(fakes.actors.addr).await;
    let gateway = spawn_with(
        Service::Gateway,
        Options {
            actors: Some(actors),
            ..fakes.options()
        },
    )
    .await;
    let communications = spawn_with(
        Service::Communications,
        Options {
            actors: Some(actors),
            ..Options::default()
        },
    )
    .await;
    let before = chancery_runtime::metrics::global().encode();

    const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    const CALLER_SPAN: &str = "b7ad6b7169203331";
    let episode = |id: &str| CreateEpisodeRequest {
        episode: Some(Episode {
            title: "Calls".into(),
            actors_of_interest: vec!["actors/emmanuel-macron".into()],
            ..Default::default()
        }),
        episode_id: id.into(),
        request_id: String::new(),
    };
    let mut client = EpisodeServiceClient::new(gateway.channel.clone());
    client
        .create_episode(with_traceparent(
            episode("traced"),
            &format!("00-{TRACE}-{CALLER_SPAN}-01"),
        ))
        .await
        .unwrap();
    let received = seen.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "one BatchGetActors call: {received:?}");
    let (trace, parent) = parts(&received[0]);
    assert_eq!(trace, TRACE, "the backend continues the caller's trace");
    assert_ne!(parent, CALLER_SPAN, "each hop has a span id of its own");
    assert!(received[0].ends_with("-01"), "the sampled flag is kept");

    // No (or an invalid) traceparent: the gateway starts a trace of its own, still propagated.
    client.create_episode(episode("untraced")).await.unwrap();
    client
        .create_episode(with_traceparent(episode("garbled"), "00-nonsense"))
        .await
        .unwrap();
    let received = seen.lock().unwrap().clone();
    assert_eq!(received.len(), 3, "{received:?}");
    let (fresh, _) = parts(&received[1]);
    let (restarted, _) = parts(&received[2]);
    assert_ne!(fresh, TRACE);
    assert_ne!(restarted, TRACE);
    assert_ne!(fresh, restarted, "each new trace has its own id");

    // A reference check from communications carries the trace too.
    const OTHER: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    CommunicationServiceClient::new(communications.channel.clone())
        .create_communication(with_traceparent(
            CreateCommunicationRequest {
                communication: Some(phone_call(&["actors/emmanuel-macron"])),
                communication_id: "call".into(),
                request_id: String::new(),
            },
            &format!("00-{OTHER}-00f067aa0ba902b7-00"),
        ))
        .await
        .unwrap();
    let received = seen.lock().unwrap().clone();
    assert_eq!(received.len(), 4, "{received:?}");
    assert_eq!(parts(&received[3]).0, OTHER);
    assert!(
        received[3].ends_with("-00"),
        "an unsampled trace stays unsampled"
    );

    // And the gateway counted its calls by target, method and outcome.
    let after = chancery_runtime::metrics::global().encode();
    let count = |text: &str| {
        let wanted = series(
            "chancery_backend_calls_total",
            &[
                ("service", "gateway"),
                ("target", "actors"),
                ("method", "BatchGetActors"),
                ("outcome", "ok"),
            ],
        );
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{wanted} ")))
            .map_or(0, |v| v.parse::<u64>().unwrap())
    };
    assert_eq!(count(&after) - count(&before), 3);
}

#[tokio::test]
async fn a_backend_nobody_listens_on_is_counted_unavailable() {
    let _turn = SERIAL.lock().await;
    // No actors address: connections to it are refused.
    let communications = spawn_with(Service::Communications, Options::default()).await;
    let wanted = series(
        "chancery_backend_calls_total",
        &[
            ("service", "communications"),
            ("target", "actors"),
            ("method", "BatchGetActors"),
            ("outcome", "unavailable"),
        ],
    );
    let count = || {
        chancery_runtime::metrics::global()
            .encode()
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{wanted} ")).map(str::to_owned))
            .map_or(0, |v| v.parse::<u64>().unwrap())
    };
    let before = count();
    let refused = CommunicationServiceClient::new(communications.channel.clone())
        .create_communication(CreateCommunicationRequest {
            communication: Some(phone_call(&["actors/emmanuel-macron"])),
            communication_id: "refused".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert_eq!(count() - before, 1);
}

// ---- logs, process metrics and build info of the real binaries ------------------------------

/// Every string in `value` (a JSON log line), with its key.
fn strings<'a>(key: &'a str, value: &'a serde_json::Value, out: &mut Vec<(&'a str, &'a str)>) {
    match value {
        serde_json::Value::String(text) => out.push((key, text)),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(key, v, out)),
        serde_json::Value::Object(fields) => fields.iter().for_each(|(k, v)| strings(k, v, out)),
        _ => {}
    }
}

/// Fails unless every line of `log` is a JSON object whose values are plain: no `Some(…)`,
/// `None`, quoted string, or bracketed list or map as Rust's `Debug` writes them.
fn assert_plain_json_lines(log: &str) {
    assert!(!log.trim().is_empty(), "no log lines");
    for line in log.lines() {
        let parsed: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"));
        assert!(parsed.is_object(), "{line}");
        let mut values = Vec::new();
        strings("", &parsed, &mut values);
        for (key, value) in values {
            let debug_form = value.contains("Some(")
                || value == "None"
                || value.starts_with('"')
                || (value.starts_with('[') && value.ends_with(']'))
                || (value.starts_with('{') && value.ends_with('}'));
            assert!(
                !debug_form,
                "{key} is a Rust debug form: {value:?} in {line}"
            );
        }
    }
}

/// The process's whole log once it has exited after SIGTERM.
async fn stop(mut process: Process) -> String {
    process.terminate();
    let (status, _) = process
        .wait_exit(Duration::from_secs(30))
        .await
        .expect("the process exits after SIGTERM");
    assert!(status.success(), "{status}:\n{}", process.output());
    process.output()
}

#[tokio::test]
async fn logs_redirected_to_a_file_have_no_colour_and_json_lines_hold_plain_values() {
    let data = chancery_testkit::TempDir::new("observability-logs").expect("a temporary directory");
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let nobody = format!("http://127.0.0.1:{}", free_port());

    // Pretty lines, written to a file: no ANSI escape, whatever the terminal the test runs in.
    let pretty = [
        ("CHANCERY_LOG_FORMAT", "pretty".to_owned()),
        ("RUST_LOG", "info".to_owned()),
        ("CHANCERY_METRICS_LISTEN", metrics.to_string()),
    ];
    let mut actors = Process::start("chancery-actors", data.path(), &pretty);
    actors.wait_serving().await;
    let log = stop(actors).await;
    assert!(log.contains("serving"), "{log}");
    assert!(!log.contains('\u{1b}'), "ANSI escapes in a file:\n{log:?}");

    // JSON lines from the gateway, with the lines that carry addresses, lists and counts.
    let json = [
        ("CHANCERY_LOG_FORMAT", "json".to_owned()),
        ("RUST_LOG", "info".to_owned()),
        ("CHANCERY_METRICS_LISTEN", metrics.to_string()),
        ("CHANCERY_ACTORS_ADDR", nobody.clone()),
        ("CHANCERY_COMMUNICATIONS_ADDR", nobody.clone()),
        ("CHANCERY_STATEMENTS_ADDR", nobody),
    ];
    let mut gateway = Process::start("chancery-gateway", data.path(), &json);
    gateway.wait_serving().await;
    let mut client = EpisodeServiceClient::connect(gateway.uri()).await.unwrap();
    let bundle = chancery_proto::gateway::v1::Bundle {
        episode: Some(Episode {
            name: "episodes/quiet".into(),
            title: "Nothing happened".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    client
        .import_bundle(chancery_proto::gateway::v1::ImportBundleRequest {
            bundle: Some(bundle),
        })
        .await
        .expect("an episode alone imports without a backend");
    client
        .get_episode_view(chancery_proto::gateway::v1::GetEpisodeViewRequest {
            name: "episodes/quiet".into(),
            ..Default::default()
        })
        .await
        .expect("the view of an empty episode");
    let log = stop(gateway).await;
    for message in [
        "serving metrics at /metrics",
        "serving",
        "bundle imported",
        "episode view composed",
    ] {
        assert!(
            log.contains(&format!("\"message\":\"{message}\"")),
            "no {message:?} in:\n{log}"
        );
    }
    assert!(
        log.contains("\"services\":\"chancery.gateway.v1.EpisodeService\""),
        "{log}"
    );
    assert!(log.contains(&format!("\"address\":\"{metrics}\"")), "{log}");
    assert_plain_json_lines(&log);
}

/// The output `binary` gives on a terminal (a pseudo-terminal from `script`) when it cannot
/// listen, with `env` added.
fn on_a_terminal(env: &[(&str, &str)]) -> String {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let binary = support::process::binaries().join("chancery-actors");
    let output = std::process::Command::new("script")
        .args(["--quiet", "--return", "--command"])
        .arg(&binary)
        .arg("/dev/null")
        .env_clear()
        .env("CHANCERY_LISTEN", taken.local_addr().unwrap().to_string())
        .env("CHANCERY_DATABASE_URL", "sqlite::memory:")
        .env("CHANCERY_LOG_FORMAT", "pretty")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script (util-linux)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.contains("cannot listen"), "{output:?}");
    text
}

#[test]
fn a_terminal_gets_colour_unless_no_color_is_set() {
    assert!(
        on_a_terminal(&[]).contains("\u{1b}["),
        "a terminal gets colours"
    );
    assert!(
        on_a_terminal(&[("NO_COLOR", "")]).contains("\u{1b}["),
        "an empty NO_COLOR is unset"
    );
    let plain = on_a_terminal(&[("NO_COLOR", "1")]);
    assert!(
        !plain.contains('\u{1b}'),
        "NO_COLOR=1 on a terminal: {plain:?}"
    );
}

/// The value of the one sample of `name` in `body`, with its label set.
fn sample<'a>(body: &'a str, name: &str) -> (&'a str, f64) {
    let mut found = body.lines().filter_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let labels = series.strip_prefix(name)?;
        (labels.is_empty() || labels.starts_with('{')).then_some((labels, value))
    });
    let (labels, value) = found
        .next()
        .unwrap_or_else(|| panic!("no {name} in:\n{body}"));
    assert!(
        found.next().is_none(),
        "{name} has more than one sample:\n{body}"
    );
    (
        labels,
        value.parse().unwrap_or_else(|_| panic!("{name} {value}")),
    )
}

#[tokio::test]
async fn every_binary_serves_process_metrics_and_its_build_info() {
    let data =
        chancery_testkit::TempDir::new("observability-process").expect("a temporary directory");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    for (binary, service) in [
        ("chancery-actors", "actors"),
        ("chancery-gateway", "gateway"),
    ] {
        let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let env = [("CHANCERY_METRICS_LISTEN", metrics.to_string())];
        let mut process = Process::start(binary, data.path(), &env);
        process.wait_serving().await;
        let body = scrape_metrics(metrics).await;

        let (_, resident) = sample(&body, "process_resident_memory_bytes");
        assert!(resident > 1_000_000.0, "{binary}: RSS {resident}");
        let (_, cpu) = sample(&body, "process_cpu_seconds_total");
        assert!((0.0..3600.0).contains(&cpu), "{binary}: CPU {cpu}");
        let (_, fds) = sample(&body, "process_open_fds");
        assert!(
            fds >= 5.0,
            "{binary}: {fds} descriptors (listeners, database, log)"
        );
        let (_, started) = sample(&body, "process_start_time_seconds");
        assert!(
            started > now - 3600.0 && started < now + 120.0,
            "{binary}: started at {started}, now {now}"
        );
        assert!(
            body.contains("# TYPE process_cpu_seconds_total counter\n"),
            "{body}"
        );
        assert!(
            body.contains("# TYPE process_resident_memory_bytes gauge\n"),
            "{body}"
        );

        let (labels, info) = sample(&body, "chancery_build_info");
        assert_eq!(info, 1.0, "{binary}");
        assert_eq!(
            labels,
            format!(
                "{{service=\"{service}\",version=\"0.1.0\",revision=\"{}\"}}",
                chancery_runtime::metrics::REVISION
            ),
            "{binary}"
        );
        drop(process);
    }
}

#[tokio::test]
async fn a_bad_date_names_its_input_once_and_a_bad_mask_path_lists_every_updatable_field() {
    let _turn = SERIAL.lock().await;
    let communications = chancery_testkit::spawn(Service::Communications).await;
    let mut call = phone_call(&["actors/emmanuel-macron"]);
    call.occurred = Some(FuzzyDate {
        edtf: "march".into(),
        ..Default::default()
    });
    let refused = CommunicationServiceClient::new(communications.channel.clone())
        .create_communication(CreateCommunicationRequest {
            communication: Some(call),
            communication_id: "bad-date".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused
            .message()
            .contains("communication.occurred.edtf: the year must be 4 digits (got \"march\")"),
        "{}",
        refused.message()
    );
    assert_eq!(
        refused.message().matches("\"march\"").count(),
        1,
        "{}",
        refused.message()
    );

    let statements = chancery_testkit::spawn(Service::Statements).await;
    let refused =
        chancery_proto::statements::v1::statement_service_client::StatementServiceClient::new(
            statements.channel.clone(),
        )
        .update_statement(chancery_proto::statements::v1::UpdateStatementRequest {
            statement: Some(chancery_proto::statements::v1::Statement {
                name: "statements/any".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["etag".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    let updatable = chancery_statements::domain::STATEMENT_MASK_PATHS;
    let expected = format!(
        "update_mask.paths[0]: \"etag\" is not an updatable field; use one of {}, or `*`",
        updatable.join(", ")
    );
    assert!(
        refused.message().ends_with(&expected),
        "{}",
        refused.message()
    );
}
