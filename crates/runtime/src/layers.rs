//! The admission layer in front of every service's RPCs.
//!
//! - **Load shedding**: at most `max_concurrent_requests` RPCs run at once in the process; the
//!   next one is refused at once with RESOURCE_EXHAUSTED (and a retry hint) instead of queueing,
//!   so accepted requests keep their latency under overload.
//! - **Deadlines**: each RPC runs for at most the configured request timeout, or the client's
//!   `grpc-timeout` when shorter; past it the RPC is dropped and answered DEADLINE_EXCEEDED.
//!
//! Health checks and reflection are exempt: a probe must see an overloaded server as alive.
//!
//! [`ObserveLayer`] sits outside the admission layer: it gives each RPC its trace context and
//! tracing span (see [`crate::trace_context`]) and records its metrics (see [`crate::metrics`]),
//! shed and timed-out RPCs included.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tonic::codegen::http;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use tower::{Layer, Service};
use tracing::Instrument;

use crate::errors::ERROR_DOMAIN;
use crate::metrics;
use crate::trace_context::{self, RpcContext, TraceContext};

/// Builds [`Admission`] services sharing one pool of permits.
#[derive(Debug, Clone)]
pub struct AdmissionLayer {
    permits: Arc<Semaphore>,
    request_timeout: Duration,
}

impl AdmissionLayer {
    /// A layer admitting `max_concurrent_requests` RPCs at once, each for at most
    /// `request_timeout`.
    pub fn new(max_concurrent_requests: usize, request_timeout: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent_requests)),
            request_timeout,
        }
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Admission {
            inner,
            permits: self.permits.clone(),
            request_timeout: self.request_timeout,
        }
    }
}

/// The service [`AdmissionLayer`] wraps around the RPC router.
#[derive(Debug, Clone)]
pub struct Admission<S> {
    inner: S,
    permits: Arc<Semaphore>,
    request_timeout: Duration,
}

/// Marks a response the admission layer refused at the concurrent request limit.
#[derive(Debug, Clone, Copy)]
pub struct Shed;

fn is_exempt(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/") || path.starts_with("/grpc.reflection.")
}

/// Parses a `grpc-timeout` header value: up to eight digits and a unit (H, M, S, m, u, n).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

fn overloaded() -> Status {
    let mut details = ErrorDetails::with_retry_info(Some(Duration::from_millis(100)));
    details.set_error_info("OVERLOADED", ERROR_DOMAIN, std::collections::HashMap::new());
    Status::with_error_details(
        Code::ResourceExhausted,
        "the server is at its concurrent request limit; retry with backoff",
        details,
    )
}

fn deadline_exceeded(timeout: Duration) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(
        "DEADLINE_EXCEEDED",
        ERROR_DOMAIN,
        std::collections::HashMap::new(),
    );
    Status::with_error_details(
        Code::DeadlineExceeded,
        format!("the request did not finish within its deadline of {timeout:?}"),
        details,
    )
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B> Service<http::Request<B>> for Admission<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone that was polled ready serves this call; the fresh clone stays for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = request.uri().path().to_owned();
        if is_exempt(&path) {
            return Box::pin(inner.call(request));
        }
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            tracing::warn!(method = %path, "request shed: concurrent request limit reached");
            let mut response = overloaded().into_http();
            response.extensions_mut().insert(Shed);
            return Box::pin(std::future::ready(Ok(response)));
        };
        let client_timeout = request
            .headers()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout);
        let timeout = client_timeout.map_or(self.request_timeout, |t| t.min(self.request_timeout));
        let response = inner.call(request);
        Box::pin(async move {
            let started = Instant::now();
            let outcome = tokio::time::timeout(timeout, response).await;
            drop(permit);
            match outcome {
                Ok(result) => {
                    tracing::debug!(method = %path, elapsed_ms = started.elapsed().as_millis() as u64, "rpc finished");
                    result
                }
                Err(_) => {
                    tracing::warn!(method = %path, timeout_ms = timeout.as_millis() as u64, "rpc exceeded its deadline");
                    Ok(deadline_exceeded(timeout).into_http())
                }
            }
        })
    }
}

/// Builds [`Observe`] services: trace context, span and metrics for every RPC of one service.
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    service: &'static str,
    methods: Arc<BTreeSet<String>>,
}

/// The short name of a gRPC service, as the `service` and `target` labels carry it:
/// `chancery.actors.v1.ActorService` is `actors`; names outside `chancery.` stay whole.
pub fn short_service_name(full: &str) -> &str {
    match full.strip_prefix("chancery.") {
        Some(rest) => rest.split('.').next().unwrap_or(full),
        None => full,
    }
}

impl ObserveLayer {
    /// A layer for a server of `service` (its `service` label) whose RPCs are the paths
    /// `methods` (`/chancery.actors.v1.ActorService/GetActor`); other paths are counted as
    /// method `unknown`.
    pub fn new(service: &'static str, methods: impl IntoIterator<Item = String>) -> Self {
        Self {
            service,
            methods: Arc::new(methods.into_iter().collect()),
        }
    }

    /// A layer for a server of the services `service_names`, as described in
    /// [`chancery_proto::FILE_DESCRIPTOR_SET`]; labelled with the first one's short name.
    pub fn for_services(service_names: &[&'static str]) -> Self {
        use prost::Message;
        let service = service_names
            .first()
            .map_or("unknown", |name| short_service_name(name));
        let mut methods = Vec::new();
        match prost_types::FileDescriptorSet::decode(chancery_proto::FILE_DESCRIPTOR_SET) {
            Ok(set) => {
                for file in set.file {
                    let package = file.package.unwrap_or_default();
                    for described in file.service {
                        let full = format!("{package}.{}", described.name());
                        if service_names.contains(&full.as_str()) {
                            methods.extend(
                                described
                                    .method
                                    .iter()
                                    .map(|m| format!("/{full}/{}", m.name())),
                            );
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read the descriptor set: every method is counted as `unknown`");
            }
        }
        Self::new(service, methods)
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            service: self.service,
            methods: self.methods.clone(),
        }
    }
}

/// The service [`ObserveLayer`] wraps around the admission layer.
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
    service: &'static str,
    methods: Arc<BTreeSet<String>>,
}

/// Records one RPC once: when its status is known, or as CANCELLED when dropped before.
struct Finish {
    service: &'static str,
    method: String,
    started: Instant,
    recorded: bool,
}

impl Finish {
    fn record(&mut self, code: Code) {
        if !self.recorded {
            self.recorded = true;
            metrics::record_rpc(self.service, &self.method, code, self.started.elapsed());
            metrics::in_flight(self.service, -1);
        }
    }
}

impl Drop for Finish {
    fn drop(&mut self) {
        self.record(Code::Cancelled);
    }
}

/// How a response body observed by [`ObservedBody`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyEnd {
    /// Trailers came, with this `grpc-status` if any.
    Trailers(Option<Code>),
    /// The body ended without trailers.
    Finished,
    /// The body failed.
    Failed,
    /// The body was dropped before its end.
    Dropped,
}

/// A response body that reports how it ended (to read `grpc-status` from the trailers).
pub(crate) struct ObservedBody {
    inner: tonic::body::Body,
    on_end: Option<Box<dyn FnOnce(BodyEnd) + Send>>,
}

impl ObservedBody {
    pub(crate) fn new(
        inner: tonic::body::Body,
        on_end: impl FnOnce(BodyEnd) + Send + 'static,
    ) -> Self {
        Self {
            inner,
            on_end: Some(Box::new(on_end)),
        }
    }

    fn end(&mut self, end: BodyEnd) {
        if let Some(on_end) = self.on_end.take() {
            on_end(end);
        }
    }
}

impl Drop for ObservedBody {
    fn drop(&mut self) {
        let end = if http_body::Body::is_end_stream(&self.inner) {
            BodyEnd::Finished
        } else {
            BodyEnd::Dropped
        };
        self.end(end);
    }
}

impl http_body::Body for ObservedBody {
    type Data = tonic::codegen::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    this.end(BodyEnd::Trailers(metrics::grpc_code(trailers)));
                }
            }
            Poll::Ready(Some(Err(_))) => this.end(BodyEnd::Failed),
            Poll::Ready(None) => this.end(BodyEnd::Finished),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl<S, B> Service<http::Request<B>> for Observe<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = request.uri().path();
        if is_exempt(path) {
            return Box::pin(inner.call(request));
        }
        let method = if self.methods.contains(path) {
            path.rsplit('/').next().unwrap_or(path).to_owned()
        } else {
            "unknown".to_owned()
        };
        let trace = TraceContext::from_headers(request.headers());
        // ERROR level so the span (and the trace id in every log line) survives any filter
        // that lets log lines through; spans print no lines of their own.
        let span = tracing::error_span!(
            "rpc",
            trace_id = %trace.trace_id_hex(),
            span_id = %trace.span_id_hex(),
            method = %path,
            principal = tracing::field::Empty,
        );
        #[cfg(feature = "otlp")]
        crate::telemetry::set_parent(&span, &trace);
        let context = RpcContext {
            service: self.service,
            trace,
        };
        metrics::in_flight(self.service, 1);
        let mut finish = Finish {
            service: self.service,
            method,
            started: Instant::now(),
            recorded: false,
        };
        let response = {
            let _entered = span.enter();
            trace_context::sync_scope(context.clone(), || inner.call(request))
        };
        let observed = async move {
            let response = match response.await {
                Ok(response) => response,
                Err(error) => {
                    finish.record(Code::Unknown);
                    return Err(error);
                }
            };
            if response.extensions().get::<Shed>().is_some() {
                metrics::record_shed(finish.service, &finish.method);
            }
            if let Some(code) = metrics::grpc_code(response.headers()) {
                finish.record(code);
                return Ok(response);
            }
            let (parts, body) = response.into_parts();
            let body = ObservedBody::new(body, move |end| {
                finish.record(match end {
                    BodyEnd::Trailers(Some(code)) => code,
                    BodyEnd::Trailers(None) | BodyEnd::Finished | BodyEnd::Failed => Code::Unknown,
                    BodyEnd::Dropped => Code::Cancelled,
                });
            });
            Ok(http::Response::from_parts(
                parts,
                tonic::body::Body::new(body),
            ))
        };
        Box::pin(trace_context::scope(context, observed).instrument(span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_every_unit() {
        assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_grpc_timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(
            parse_grpc_timeout("99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in ["", "S", "5", "5s", "123456789S", "-5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad}");
        }
    }

    type Response = http::Response<tonic::body::Body>;

    /// An RPC that takes `delay` to answer OK.
    fn slow(
        delay: Duration,
    ) -> impl Service<
        http::Request<()>,
        Response = Response,
        Error = std::convert::Infallible,
        Future = impl Send,
    > + Clone
    + Send
    + 'static {
        tower::service_fn(move |_request: http::Request<()>| async move {
            tokio::time::sleep(delay).await;
            Ok::<_, std::convert::Infallible>(http::Response::new(tonic::body::Body::empty()))
        })
    }

    fn rpc(path: &str) -> http::Request<()> {
        http::Request::builder().uri(path).body(()).unwrap()
    }

    fn grpc_status(response: &Response) -> Option<Code> {
        response
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i32>().ok())
            .map(Code::from)
    }

    #[tokio::test]
    async fn beyond_the_limit_requests_are_shed_at_once_but_probes_pass() {
        let layer = AdmissionLayer::new(1, Duration::from_secs(5));
        let mut service = layer.layer(slow(Duration::from_millis(300)));
        let first = service.call(rpc("/chancery.actors.v1.ActorService/GetActor"));
        let first = tokio::spawn(first);
        tokio::time::sleep(Duration::from_millis(50)).await;

        let started = Instant::now();
        let shed = service
            .call(rpc("/chancery.actors.v1.ActorService/GetActor"))
            .await
            .unwrap();
        assert_eq!(grpc_status(&shed), Some(Code::ResourceExhausted));
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "shed without waiting"
        );

        let probe = service
            .call(rpc("/grpc.health.v1.Health/Check"))
            .await
            .unwrap();
        assert_eq!(
            grpc_status(&probe),
            None,
            "a probe is served even at the limit"
        );

        let first = first.await.unwrap().unwrap();
        assert_eq!(grpc_status(&first), None, "the admitted request completes");
        let after = service
            .call(rpc("/chancery.actors.v1.ActorService/GetActor"))
            .await
            .unwrap();
        assert_eq!(grpc_status(&after), None, "the permit came back");
    }

    #[tokio::test]
    async fn deadlines_end_slow_requests_with_deadline_exceeded() {
        let mut service =
            AdmissionLayer::new(8, Duration::from_millis(100)).layer(slow(Duration::from_secs(5)));
        let started = Instant::now();
        let response = service
            .call(rpc("/chancery.actors.v1.ActorService/ListActors"))
            .await
            .unwrap();
        assert_eq!(grpc_status(&response), Some(Code::DeadlineExceeded));
        assert!(started.elapsed() < Duration::from_secs(1));

        let mut service =
            AdmissionLayer::new(8, Duration::from_secs(30)).layer(slow(Duration::from_secs(5)));
        let mut request = rpc("/chancery.actors.v1.ActorService/ListActors");
        request
            .headers_mut()
            .insert("grpc-timeout", http::HeaderValue::from_static("50m"));
        let started = Instant::now();
        let response = service.call(request).await.unwrap();
        assert_eq!(grpc_status(&response), Some(Code::DeadlineExceeded));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the client's shorter deadline wins"
        );
    }

    /// Log lines written to memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn an_rpc_runs_in_its_trace_and_its_json_log_lines_carry_the_trace_id() {
        let captured = Captured::default();
        let writer = captured.clone();
        // As `telemetry::init(LogFormat::Json)` configures it.
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let handler = tower::service_fn(|_request: http::Request<()>| async {
            let current = trace_context::current().expect("the RPC's context");
            assert_eq!(current.service, "actors");
            assert_eq!(
                current.trace.trace_id_hex(),
                "4bf92f3577b34da6a3ce929d0e0e4736"
            );
            tracing::info!("handled");
            Ok::<_, std::convert::Infallible>(Status::not_found("no").into_http())
        });
        let mut service = ObserveLayer::new(
            "actors",
            ["/chancery.actors.v1.ActorService/GetActor".to_owned()],
        )
        .layer(handler);
        let mut request = rpc("/chancery.actors.v1.ActorService/GetActor");
        request.headers_mut().insert(
            "traceparent",
            http::HeaderValue::from_static(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        );
        let response = service.call(request).await.unwrap();
        assert_eq!(grpc_status(&response), Some(Code::NotFound));

        let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let line = logs
            .lines()
            .find(|line| line.contains("handled"))
            .unwrap_or_else(|| panic!("the handler's line in {logs}"));
        assert!(
            line.contains(r#""trace_id":"4bf92f3577b34da6a3ce929d0e0e4736""#),
            "{line}"
        );
        assert!(line.contains(r#""name":"rpc""#), "{line}");
        assert!(
            metrics::global().encode().contains(
                "chancery_rpc_requests_total{service=\"actors\",method=\"GetActor\",code=\"NOT_FOUND\"} 1\n"
            ),
            "{}",
            metrics::global().encode()
        );
    }

    #[test]
    fn rpc_names_and_service_labels() {
        assert_eq!(
            short_service_name("chancery.actors.v1.ActorService"),
            "actors"
        );
        assert_eq!(
            short_service_name("grpc.health.v1.Health"),
            "grpc.health.v1.Health"
        );
        let layer = ObserveLayer::for_services(&["chancery.gateway.v1.EpisodeService"]);
        assert_eq!(layer.service, "gateway");
        assert!(
            layer
                .methods
                .contains("/chancery.gateway.v1.EpisodeService/GetEpisodeView")
        );
        assert!(
            !layer
                .methods
                .contains("/chancery.actors.v1.ActorService/GetActor")
        );
    }

    #[test]
    fn health_and_reflection_are_never_shed() {
        assert!(is_exempt("/grpc.health.v1.Health/Check"));
        assert!(is_exempt(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
        ));
        assert!(!is_exempt("/chancery.actors.v1.ActorService/GetActor"));
    }
}
