//! Prometheus metrics: a small process-wide registry, its text exposition format (version
//! 0.0.4, written by hand), and the HTTP server that serves it on `CHANCERY_METRICS_LISTEN`.
//!
//! Every series has a `service` label: the short name of the service that recorded it
//! (`actors`, `communications`, `statements`, `gateway`), so several services sharing one
//! process (as `chancery up` runs them) stay apart.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `chancery_rpc_requests_total` | counter | `service`, `method`, `code` |
//! | `chancery_rpc_duration_seconds` | histogram | `service`, `method` |
//! | `chancery_rpc_in_flight` | gauge | `service` |
//! | `chancery_rpc_shed_total` | counter | `service`, `method` |
//! | `chancery_backend_calls_total` | counter | `service`, `target`, `method`, `outcome` |
//! | `chancery_backend_call_duration_seconds` | histogram | `service`, `target`, `method` |
//! | `chancery_backend_circuit_open` | gauge | `service`, `target` |
//! | `chancery_backend_short_circuited_total` | counter | `service`, `target` |
//! | `chancery_store_seconds` | histogram | `service`, `operation` |
//! | `chancery_build_info` | gauge (always 1) | `service`, `version`, `revision` |
//! | `process_resident_memory_bytes`, `process_open_fds`, `process_start_time_seconds` | gauge | — |
//! | `process_cpu_seconds_total` | counter | — |
//!
//! `method` is the RPC's name (`GetActor`); calls to methods the service does not have are
//! counted under `unknown`, so clients cannot grow the series without bound. Health checks and
//! reflection are not counted. `code` is the canonical gRPC code name (`OK`, `NOT_FOUND`…);
//! `outcome` is `ok`, `unavailable`, `deadline` or `other`.
//!
//! `chancery_store_seconds{service, operation}` is recorded by [`time_store`], which every public
//! store method of every service wraps its body in (`operation` is the method's name, such as
//! `create_actor`).
//!
//! `chancery_build_info` is 1 for each service the process serves ([`record_build_info`]):
//! `version` is the crate version, `revision` the commit the binary was built from
//! (`CHANCERY_REVISION` at build time, as the Dockerfile passes it; `unknown` otherwise). The
//! `process_*` metrics are the process's own, read from `/proc/self` at each scrape (Linux only;
//! one set per process, without a `service` label).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::codegen::http;

mod process;

/// Upper bounds of the latency histograms, in seconds.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Requests per RPC by gRPC code.
pub const RPC_REQUESTS: &str = "chancery_rpc_requests_total";
/// RPC latency, from the request's arrival to the response's last byte.
pub const RPC_DURATION: &str = "chancery_rpc_duration_seconds";
/// RPCs being served.
pub const RPC_IN_FLIGHT: &str = "chancery_rpc_in_flight";
/// RPCs refused RESOURCE_EXHAUSTED by the admission layer.
pub const RPC_SHED: &str = "chancery_rpc_shed_total";
/// Calls to other services by outcome.
pub const BACKEND_CALLS: &str = "chancery_backend_calls_total";
/// Latency of calls to other services.
pub const BACKEND_CALL_DURATION: &str = "chancery_backend_call_duration_seconds";
/// Latency of store operations.
pub const STORE_SECONDS: &str = "chancery_store_seconds";
/// 1 per service, labelled with the version and revision of the binary.
pub const BUILD_INFO: &str = "chancery_build_info";

/// The version of the binaries (the workspace's version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit the binary was built from: `CHANCERY_REVISION` when it was built, else `unknown`.
pub const REVISION: &str = match option_env!("CHANCERY_REVISION") {
    Some(revision) if !revision.is_empty() => revision,
    _ => "unknown",
};

type Labels = Vec<(&'static str, String)>;

#[derive(Debug)]
enum Series {
    Counter(u64),
    Gauge(i64),
    Histogram {
        buckets: &'static [f64],
        counts: Vec<u64>,
        sum: f64,
        count: u64,
    },
}

#[derive(Debug)]
struct Family {
    help: &'static str,
    kind: &'static str,
    series: BTreeMap<Labels, Series>,
}

/// Metric families and their series. Each update takes one short lock.
#[derive(Debug, Default)]
pub struct Registry {
    families: Mutex<BTreeMap<&'static str, Family>>,
}

fn labels(pairs: &[(&'static str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn update(
        &self,
        name: &'static str,
        help: &'static str,
        kind: &'static str,
        pairs: &[(&'static str, &str)],
        new: impl FnOnce() -> Series,
        change: impl FnOnce(&mut Series),
    ) {
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let family = families.entry(name).or_insert_with(|| Family {
            help,
            kind,
            series: BTreeMap::new(),
        });
        change(family.series.entry(labels(pairs)).or_insert_with(new));
    }

    /// Adds `value` to the counter `name` with `labels`.
    pub fn counter_add(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: u64,
    ) {
        self.update(
            name,
            help,
            "counter",
            labels,
            || Series::Counter(0),
            |s| {
                if let Series::Counter(c) = s {
                    *c += value;
                }
            },
        );
    }

    /// Adds `delta` (possibly negative) to the gauge `name` with `labels`.
    pub fn gauge_add(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        delta: i64,
    ) {
        self.update(
            name,
            help,
            "gauge",
            labels,
            || Series::Gauge(0),
            |s| {
                if let Series::Gauge(g) = s {
                    *g += delta;
                }
            },
        );
    }

    /// Sets the gauge `name` with `labels` to `value`.
    pub fn gauge_set(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: i64,
    ) {
        self.update(
            name,
            help,
            "gauge",
            labels,
            || Series::Gauge(0),
            |s| {
                if let Series::Gauge(g) = s {
                    *g = value;
                }
            },
        );
    }

    /// Records `value` in the histogram `name` with `labels` and upper bounds `buckets`.
    pub fn observe(
        &self,
        name: &'static str,
        help: &'static str,
        buckets: &'static [f64],
        labels: &[(&'static str, &str)],
        value: f64,
    ) {
        self.update(
            name,
            help,
            "histogram",
            labels,
            || Series::Histogram {
                buckets,
                counts: vec![0; buckets.len()],
                sum: 0.0,
                count: 0,
            },
            |s| {
                if let Series::Histogram {
                    buckets,
                    counts,
                    sum,
                    count,
                } = s
                {
                    if let Some(i) = buckets.iter().position(|bound| value <= *bound) {
                        counts[i] += 1;
                    }
                    *sum += value;
                    *count += 1;
                }
            },
        );
    }

    /// Every family in the Prometheus text exposition format (version 0.0.4).
    pub fn encode(&self) -> String {
        let families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        for (name, family) in families.iter() {
            let _ = writeln!(out, "# HELP {name} {}", escape_help(family.help));
            let _ = writeln!(out, "# TYPE {name} {}", family.kind);
            for (labels, series) in &family.series {
                match series {
                    Series::Counter(value) => {
                        let _ = writeln!(out, "{name}{} {value}", label_set(labels, None));
                    }
                    Series::Gauge(value) => {
                        let _ = writeln!(out, "{name}{} {value}", label_set(labels, None));
                    }
                    Series::Histogram {
                        buckets,
                        counts,
                        sum,
                        count,
                    } => {
                        let mut cumulative = 0;
                        for (bound, n) in buckets.iter().zip(counts) {
                            cumulative += n;
                            let le = format_float(*bound);
                            let _ = writeln!(
                                out,
                                "{name}_bucket{} {cumulative}",
                                label_set(labels, Some(&le))
                            );
                        }
                        let _ = writeln!(
                            out,
                            "{name}_bucket{} {count}",
                            label_set(labels, Some("+Inf"))
                        );
                        let _ = writeln!(
                            out,
                            "{name}_sum{} {}",
                            label_set(labels, None),
                            format_float(*sum)
                        );
                        let _ = writeln!(out, "{name}_count{} {count}", label_set(labels, None));
                    }
                }
            }
        }
        out
    }
}

/// A float as Prometheus reads it (Rust's `Display` never uses an exponent, so it always is).
fn format_float(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{value}")
    }
}

fn escape_help(text: &str) -> String {
    text.replace('\\', r"\\").replace('\n', r"\n")
}

fn escape_label_value(text: &str) -> String {
    text.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

fn label_set(labels: &Labels, le: Option<&str>) -> String {
    if labels.is_empty() && le.is_none() {
        return String::new();
    }
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label_value(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    format!("{{{}}}", parts.join(","))
}

/// The process-wide registry every service records into and `/metrics` serves.
pub fn global() -> &'static Registry {
    static GLOBAL: OnceLock<Registry> = OnceLock::new();
    GLOBAL.get_or_init(Registry::new)
}

/// The canonical name of a gRPC status code, as the `code` label carries it.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The gRPC code in a `grpc-status` header or trailer, if there is one.
pub fn grpc_code(headers: &http::HeaderMap) -> Option<tonic::Code> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(tonic::Code::from)
}

/// Counts one finished RPC of `service` and records its latency.
pub fn record_rpc(service: &str, method: &str, code: tonic::Code, elapsed: Duration) {
    let registry = global();
    registry.counter_add(
        RPC_REQUESTS,
        "RPCs served, by method and gRPC status code.",
        &[
            ("service", service),
            ("method", method),
            ("code", code_name(code)),
        ],
        1,
    );
    registry.observe(
        RPC_DURATION,
        "Time from an RPC's arrival to its last response byte.",
        LATENCY_BUCKETS,
        &[("service", service), ("method", method)],
        elapsed.as_secs_f64(),
    );
}

/// Moves the in-flight gauge of `service` by `delta`.
pub fn in_flight(service: &str, delta: i64) {
    global().gauge_add(
        RPC_IN_FLIGHT,
        "RPCs being served.",
        &[("service", service)],
        delta,
    );
}

/// Counts one RPC refused by the admission layer.
pub fn record_shed(service: &str, method: &str) {
    global().counter_add(
        RPC_SHED,
        "RPCs refused RESOURCE_EXHAUSTED at the concurrent request limit.",
        &[("service", service), ("method", method)],
        1,
    );
}

/// How a call to another service ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered OK.
    Ok,
    /// UNAVAILABLE, or no connection.
    Unavailable,
    /// DEADLINE_EXCEEDED, or abandoned by the caller before it answered (its deadline passed).
    Deadline,
    /// Any other code.
    Other,
}

impl Outcome {
    /// The outcome of a call answered with `code`.
    pub fn of(code: tonic::Code) -> Self {
        match code {
            tonic::Code::Ok => Outcome::Ok,
            tonic::Code::Unavailable => Outcome::Unavailable,
            tonic::Code::DeadlineExceeded => Outcome::Deadline,
            _ => Outcome::Other,
        }
    }

    /// The `outcome` label.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Unavailable => "unavailable",
            Outcome::Deadline => "deadline",
            Outcome::Other => "other",
        }
    }
}

/// Counts one call from `service` to `method` of `target` and records its latency.
pub fn record_backend_call(
    service: &str,
    target: &str,
    method: &str,
    outcome: Outcome,
    elapsed: Duration,
) {
    let registry = global();
    registry.counter_add(
        BACKEND_CALLS,
        "Calls to other services, by target service, method and outcome.",
        &[
            ("service", service),
            ("target", target),
            ("method", method),
            ("outcome", outcome.label()),
        ],
        1,
    );
    registry.observe(
        BACKEND_CALL_DURATION,
        "Latency of calls to other services.",
        LATENCY_BUCKETS,
        &[("service", service), ("target", target), ("method", method)],
        elapsed.as_secs_f64(),
    );
}

/// Name of the gauge of open circuit breakers (1 while `service`'s circuit to `target` is open
/// or half-open, see [`crate::breaker`]).
pub const BACKEND_CIRCUIT_OPEN: &str = "chancery_backend_circuit_open";
/// Name of the counter of calls an open circuit refused without making them.
pub const BACKEND_SHORT_CIRCUITED: &str = "chancery_backend_short_circuited_total";

/// Moves the open-circuit gauge of `service`'s calls to `target` by `delta` (+1 when the
/// circuit opens, -1 when it closes).
pub fn circuit_open(service: &str, target: &str, delta: i64) {
    global().gauge_add(
        BACKEND_CIRCUIT_OPEN,
        "1 while the circuit breaker of calls to the target service is open or half-open.",
        &[("service", service), ("target", target)],
        delta,
    );
}

/// Counts one call from `service` to `target` refused by an open circuit breaker.
pub fn record_short_circuit(service: &str, target: &str) {
    global().counter_add(
        BACKEND_SHORT_CIRCUITED,
        "Calls to other services refused at once because their circuit breaker is open.",
        &[("service", service), ("target", target)],
        1,
    );
}

/// Records `chancery_build_info{service, version, revision} 1` for `service` (a short name such
/// as `actors`); calling it again changes nothing.
pub fn record_build_info(service: &str) {
    global().gauge_set(
        BUILD_INFO,
        "Always 1: the version and revision of the binary serving this service.",
        &[
            ("service", service),
            ("version", VERSION),
            ("revision", REVISION),
        ],
        1,
    );
}

/// Records how long a store `operation` of `service` took.
pub fn observe_store(service: &str, operation: &str, elapsed: Duration) {
    global().observe(
        STORE_SECONDS,
        "Latency of store operations.",
        LATENCY_BUCKETS,
        &[("service", service), ("operation", operation)],
        elapsed.as_secs_f64(),
    );
}

/// Runs the store `operation` `future` and records its latency under the service of the RPC
/// being served (see [`crate::trace_context::current`]).
pub async fn time_store<F: Future>(operation: &str, future: F) -> F::Output {
    let started = std::time::Instant::now();
    let output = future.await;
    let service = crate::trace_context::current().map_or("unknown", |c| c.service);
    observe_store(service, operation, started.elapsed());
    output
}

/// Why the metrics server could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen for metrics on {address}: {source}")]
pub struct MetricsError {
    /// The address.
    pub address: std::net::SocketAddr,
    /// Why.
    pub source: std::io::Error,
}

/// Binds the metrics listener.
pub async fn bind(address: std::net::SocketAddr) -> Result<TcpListener, MetricsError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| MetricsError { address, source })
}

fn respond(request: &http::Request<hyper::body::Incoming>) -> http::Response<String> {
    let mut response = http::Response::new(String::new());
    if request.uri().path() != "/metrics" {
        *response.status_mut() = http::StatusCode::NOT_FOUND;
        *response.body_mut() = "not found; metrics are at /metrics\n".to_owned();
        return response;
    }
    if request.method() != http::Method::GET && request.method() != http::Method::HEAD {
        *response.status_mut() = http::StatusCode::METHOD_NOT_ALLOWED;
        response.headers_mut().insert(
            http::header::ALLOW,
            http::HeaderValue::from_static("GET, HEAD"),
        );
        return response;
    }
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    if request.method() == http::Method::GET {
        let mut body = global().encode();
        body.push_str(&process::encode());
        *response.body_mut() = body;
    }
    response
}

/// Serves `GET /metrics` (404 elsewhere) over HTTP/1.1 on `listener` until `shutdown`
/// resolves; scrapes still in progress then are cut off.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()> + Send) {
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    tracing::info!(address = %crate::telemetry::optional(&listener.local_addr().ok()), "serving metrics at /metrics");
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        tracing::warn!(%error, "metrics listener: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                connections.spawn(async move {
                    let service = hyper::service::service_fn(|request| async move {
                        Ok::<_, Infallible>(respond(&request))
                    });
                    let connection = hyper::server::conn::http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(10))
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "metrics connection ended with an error");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
    tracing::info!("metrics server stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_has_help_type_and_escaped_labels() {
        let registry = Registry::new();
        registry.counter_add(
            "chancery_test_total",
            "A test\\counter.\nSecond line.",
            &[("service", "actors"), ("method", "Get\"Actor\"\n\\x")],
            2,
        );
        registry.counter_add(
            "chancery_test_total",
            "ignored",
            &[("service", "actors"), ("method", "Get\"Actor\"\n\\x")],
            3,
        );
        registry.gauge_add("chancery_up", "Up.", &[], 1);
        registry.gauge_add("chancery_up", "Up.", &[], -3);
        assert_eq!(
            registry.encode(),
            "# HELP chancery_test_total A test\\\\counter.\\nSecond line.\n\
             # TYPE chancery_test_total counter\n\
             chancery_test_total{service=\"actors\",method=\"Get\\\"Actor\\\"\\n\\\\x\"} 5\n\
             # HELP chancery_up Up.\n\
             # TYPE chancery_up gauge\n\
             chancery_up -2\n"
        );
    }

    #[test]
    fn histograms_are_cumulative_with_sum_count_and_inf() {
        let registry = Registry::new();
        static BUCKETS: &[f64] = &[0.125, 1.0, 2.5];
        for value in [0.0625, 0.125, 0.5, 3.0] {
            registry.observe(
                "chancery_h_seconds",
                "H.",
                BUCKETS,
                &[("service", "s")],
                value,
            );
        }
        assert_eq!(
            registry.encode(),
            "# HELP chancery_h_seconds H.\n\
             # TYPE chancery_h_seconds histogram\n\
             chancery_h_seconds_bucket{service=\"s\",le=\"0.125\"} 2\n\
             chancery_h_seconds_bucket{service=\"s\",le=\"1\"} 3\n\
             chancery_h_seconds_bucket{service=\"s\",le=\"2.5\"} 3\n\
             chancery_h_seconds_bucket{service=\"s\",le=\"+Inf\"} 4\n\
             chancery_h_seconds_sum{service=\"s\"} 3.6875\n\
             chancery_h_seconds_count{service=\"s\"} 4\n"
        );
    }

    #[test]
    fn build_info_is_one_per_service_with_version_and_revision() {
        record_build_info("actors");
        record_build_info("actors");
        let text = global().encode();
        let line = format!(
            "chancery_build_info{{service=\"actors\",version=\"{VERSION}\",revision=\"{REVISION}\"}} 1\n"
        );
        assert!(text.contains(&line), "{text}");
        assert_eq!(VERSION, "0.1.0");
        assert!(!REVISION.is_empty());
    }

    #[test]
    fn code_names_are_canonical_and_outcomes_group_them() {
        assert_eq!(code_name(tonic::Code::Ok), "OK");
        assert_eq!(
            code_name(tonic::Code::ResourceExhausted),
            "RESOURCE_EXHAUSTED"
        );
        assert_eq!(Outcome::of(tonic::Code::Ok).label(), "ok");
        assert_eq!(Outcome::of(tonic::Code::Unavailable).label(), "unavailable");
        assert_eq!(
            Outcome::of(tonic::Code::DeadlineExceeded).label(),
            "deadline"
        );
        assert_eq!(Outcome::of(tonic::Code::NotFound).label(), "other");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(1e-7), "0.0000001");
    }
}
