//! The admission layer in front of every service's RPCs.
//!
//! - **Load shedding**: at most `max_concurrent_requests` RPCs run at once in the process; the
//!   next one is refused at once with RESOURCE_EXHAUSTED (and a retry hint) instead of queueing,
//!   so accepted requests keep their latency under overload.
//! - **Deadlines**: each RPC runs for at most the configured request timeout, or the client's
//!   `grpc-timeout` when shorter; past it the RPC is dropped and answered DEADLINE_EXCEEDED.
//!
//! Health checks and reflection are exempt: a probe must see an overloaded server as alive.

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

use crate::errors::ERROR_DOMAIN;

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
            return Box::pin(std::future::ready(Ok(overloaded().into_http())));
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
                    tracing::warn!(method = %path, ?timeout, "rpc exceeded its deadline");
                    Ok(deadline_exceeded(timeout).into_http())
                }
            }
        })
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

    #[test]
    fn health_and_reflection_are_never_shed() {
        assert!(is_exempt("/grpc.health.v1.Health/Check"));
        assert!(is_exempt(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
        ));
        assert!(!is_exempt("/chancery.actors.v1.ActorService/GetActor"));
    }
}
