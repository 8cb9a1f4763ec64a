//! Calls from one service to another: lazily connected channels with connect and request
//! timeouts, deadlines that respect the caller's, and reference checks that ask the owning
//! service once for every name a write mentions.
//!
//! Every client of another service is built on [`outbound`]: it sends the W3C `traceparent` of
//! the RPC being served (same trace, new span id) and records each call's outcome and latency
//! in `chancery_backend_calls_total` / `chancery_backend_call_duration_seconds`. Guarded with
//! [`Outbound::with_breaker`], its calls stop reaching a backend that keeps failing (see
//! [`crate::breaker`]).

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tonic::codegen::http;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Code, Status};
use tower::Service;

use crate::breaker::{Breaker, Permit};
use crate::errors::{Error, Violations};
use crate::layers::{BodyEnd, ObservedBody, parse_grpc_timeout, short_service_name};
use crate::metrics::{self, Outcome};
use crate::trace_context::{self, TRACEPARENT};

/// Longest wait for a TCP (and HTTP/2) connection to another service.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest one call to another service may take, whatever the caller allows.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Kept back from the caller's deadline so the answer still reaches the caller in time: a tenth
/// of the deadline, at least [`MIN_DEADLINE_MARGIN`] and at most [`MAX_DEADLINE_MARGIN`], so a
/// busy machine's scheduling delays do not turn our UNAVAILABLE into the caller's
/// DEADLINE_EXCEEDED.
fn deadline_margin(deadline: Duration) -> Duration {
    (deadline / 10).clamp(MIN_DEADLINE_MARGIN, MAX_DEADLINE_MARGIN)
}
/// The smallest margin kept back from a caller's deadline.
const MIN_DEADLINE_MARGIN: Duration = Duration::from_millis(20);
/// The largest margin kept back from a caller's deadline.
const MAX_DEADLINE_MARGIN: Duration = Duration::from_millis(500);

/// A channel to `uri` that connects on first use (so a service starts while its dependencies
/// are still starting) and reconnects after failures.
pub fn lazy_channel(uri: &Uri) -> Channel {
    Endpoint::from(uri.clone())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(CALL_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true)
        .connect_lazy()
}

/// [`lazy_channel`] with TLS for an `https://` URI: the backend's certificate is verified
/// against the CA of `tls`, and this process's certificate (if it has one) is presented as
/// its client certificate. An `http://` URI gets a plaintext channel, whatever `tls` holds.
/// Fails when the TLS settings do not load. (An `https://` URI without a CA in `tls` makes a
/// channel whose every call fails; the configuration refuses that combination.)
pub fn lazy_channel_with(
    uri: &Uri,
    tls: &crate::tls::TlsConfig,
) -> Result<Channel, tonic::transport::Error> {
    if uri.scheme_str() != Some("https") {
        return Ok(lazy_channel(uri));
    }
    let mut endpoint = Endpoint::from(uri.clone());
    if let Some(client) = tls.client() {
        endpoint = endpoint.tls_config(client)?;
    }
    Ok(endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(CALL_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true)
        .connect_lazy())
}

/// `channel`, for a client of another service: each call carries the trace context and is
/// counted. Build every client on it: `ActorServiceClient::new(outbound(channel))`.
pub fn outbound(channel: Channel) -> Outbound {
    Outbound {
        channel,
        breaker: None,
    }
}

/// A channel to another service that propagates trace context and records call outcomes;
/// see [`outbound`].
#[derive(Debug, Clone)]
pub struct Outbound {
    channel: Channel,
    breaker: Option<Breaker>,
}

impl Outbound {
    /// The same channel with its calls guarded by `breaker` (shared with its clones; keep one
    /// breaker per backend for the life of the service): while it is open, calls fail at once
    /// with UNAVAILABLE (reason `CIRCUIT_OPEN`) without touching the network; see
    /// [`crate::breaker`].
    pub fn with_breaker(mut self, breaker: &Breaker) -> Self {
        self.breaker = Some(breaker.clone());
        self
    }
}

/// Records one outbound call once: when its outcome is known, or as abandoned when dropped.
struct CallRecord {
    service: &'static str,
    target: String,
    method: String,
    started: Instant,
    recorded: bool,
    /// The breaker's permit for this call, told the outcome with the metrics.
    permit: Option<Permit>,
}

impl CallRecord {
    fn record(&mut self, outcome: Outcome) {
        if let Some(permit) = self.permit.take() {
            if matches!(outcome, Outcome::Unavailable | Outcome::Deadline) {
                permit.failed(Instant::now());
            } else {
                permit.succeeded(Instant::now());
            }
        }
        if !self.recorded {
            self.recorded = true;
            metrics::record_backend_call(
                self.service,
                &self.target,
                &self.method,
                outcome,
                self.started.elapsed(),
            );
        }
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        // The caller stopped waiting before an answer: its deadline passed.
        self.record(Outcome::Deadline);
    }
}

/// Whether a transport error is the channel's own request timeout.
fn is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.is::<tonic::TimeoutExpired>() {
            return true;
        }
        cause = error.source();
    }
    false
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl Service<http::Request<tonic::body::Body>> for Outbound {
    type Response = http::Response<tonic::body::Body>;
    type Error = tonic::transport::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.channel.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<tonic::body::Body>) -> Self::Future {
        let current = trace_context::current();
        let traceparent = trace_context::outbound_traceparent();
        if let Ok(value) = http::HeaderValue::from_str(&traceparent) {
            request.headers_mut().insert(TRACEPARENT, value);
        }
        if let Some(credential) = crate::auth::outbound_credential() {
            request
                .headers_mut()
                .insert(crate::auth::AUTHORIZATION, credential);
        }
        let permit = match self.breaker.as_ref().map(|b| (b, b.admit(Instant::now()))) {
            None => None,
            Some((_, Ok(permit))) => Some(permit),
            Some((breaker, Err(refused))) => {
                let refusal = breaker.refusal(refused);
                return Box::pin(async move { Ok(refusal.into_http()) });
            }
        };
        let path = request.uri().path();
        let (target, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or((path, ""));
        let mut record = CallRecord {
            service: current.map_or("unknown", |c| c.service),
            target: short_service_name(target).to_owned(),
            method: method.to_owned(),
            started: Instant::now(),
            recorded: false,
            permit,
        };
        let response = self.channel.call(request);
        Box::pin(async move {
            let response = match response.await {
                Ok(response) => response,
                Err(error) if is_timeout(&error) => {
                    record.record(Outcome::Deadline);
                    // tonic reports the channel's own timeout as CANCELLED, which reads as if
                    // the caller gave up; for the caller, a backend did not answer in time.
                    tracing::warn!(
                        target_service = %record.target,
                        method = %record.method,
                        "the backend did not answer within the call timeout"
                    );
                    let what = format!("the {} service", record.target);
                    return Ok(crate::errors::unavailable(&what).into_http());
                }
                Err(error) => {
                    record.record(Outcome::Unavailable);
                    return Err(error);
                }
            };
            if let Some(code) = metrics::grpc_code(response.headers()) {
                record.record(Outcome::of(code));
                if matches!(code, Code::Unauthenticated | Code::PermissionDenied) {
                    return Ok(credential_refused(&record, code));
                }
                return Ok(response);
            }
            let (parts, body) = response.into_parts();
            let body = ObservedBody::new(body, move |end| {
                record.record(match end {
                    BodyEnd::Trailers(Some(code)) => Outcome::of(code),
                    BodyEnd::Failed => Outcome::Unavailable,
                    BodyEnd::Dropped => Outcome::Deadline,
                    BodyEnd::Trailers(None) | BodyEnd::Finished => Outcome::Other,
                });
            });
            Ok(http::Response::from_parts(
                parts,
                tonic::body::Body::new(body),
            ))
        })
    }
}

/// The answer given in place of a backend's UNAUTHENTICATED or PERMISSION_DENIED: that refused
/// this service's own credential, not the end user's, so passing the code on would mislead the
/// caller. It becomes UNAVAILABLE naming the misconfiguration
/// ([`crate::errors::backend_refused_credential`]), logged at ERROR.
fn credential_refused(record: &CallRecord, code: Code) -> http::Response<tonic::body::Body> {
    tracing::error!(
        target_service = %record.target,
        method = %record.method,
        ?code,
        "the backend refused this service's credential: check CHANCERY_SERVICE_TOKEN_FILE"
    );
    crate::errors::backend_refused_credential(&format!("the {} service", record.target)).into_http()
}

/// Whether `status` says a backend refused this service's credential (see
/// [`crate::errors::backend_refused_credential`]).
pub fn is_credential_refused(status: &Status) -> bool {
    use tonic_types::StatusExt;
    status.code() == Code::Unavailable
        && status
            .get_error_details()
            .error_info()
            .is_some_and(|info| info.reason == "BACKEND_REFUSED_CREDENTIAL")
}

/// The timeout for a downstream call made while serving `incoming`: the caller's remaining
/// deadline (its `grpc-timeout`, less a margin) when it sent one, never more than `cap`.
pub fn call_timeout(incoming: &tonic::metadata::MetadataMap, cap: Duration) -> Duration {
    incoming
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_grpc_timeout)
        .map_or(cap, |deadline| {
            deadline.saturating_sub(deadline_margin(deadline)).min(cap)
        })
}

/// Whether a status from another service means it is out of reach (down, overloaded, too slow)
/// rather than that our request was wrong.
pub fn is_unreachable(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Cancelled
            | Code::ResourceExhausted
            | Code::Unknown
    )
}

/// One reference a write makes: the request field and the resource name in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Path of the field, such as `communication.participants[1].actor`.
    pub field: String,
    /// The resource name, such as `actors/vladimir-putin`.
    pub name: String,
}

impl Reference {
    /// A reference from `field` to `name`.
    pub fn new(field: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            name: name.into(),
        }
    }
}

/// Checks that every referenced resource exists with **one** call to its owning service.
/// `missing_of` receives the distinct names and answers which of them do not exist (a batch get
/// with `allow_missing`). Each reference to a missing resource becomes a violation on its field;
/// an unreachable service becomes [`Error::DependencyUnavailable`] naming `service`.
pub async fn check_references<F, Fut>(
    references: &[Reference],
    service: &str,
    missing_of: F,
) -> Result<Violations, Error>
where
    F: FnOnce(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<String>, Status>>,
{
    let mut violations = Violations::default();
    let distinct: BTreeSet<&str> = references.iter().map(|r| r.name.as_str()).collect();
    if distinct.is_empty() {
        return Ok(violations);
    }
    let missing = missing_of(distinct.into_iter().map(str::to_owned).collect())
        .await
        .map_err(|status| {
            if is_credential_refused(&status) {
                Error::CredentialRefused {
                    service: service.to_owned(),
                }
            } else if is_unreachable(&status) {
                Error::DependencyUnavailable {
                    service: service.to_owned(),
                    cause: format!("{:?}: {}", status.code(), status.message()),
                }
            } else {
                Error::Internal(format!("{service} refused a reference check: {status:?}"))
            }
        })?;
    let missing: BTreeSet<&str> = missing.iter().map(String::as_str).collect();
    for reference in references {
        if missing.contains(reference.name.as_str()) {
            violations.add(
                &reference.field,
                format!("{} does not exist", reference.name),
            );
        }
    }
    Ok(violations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downstream_calls_respect_the_callers_deadline() {
        let mut metadata = tonic::metadata::MetadataMap::new();
        assert_eq!(call_timeout(&metadata, CALL_TIMEOUT), CALL_TIMEOUT);
        metadata.insert("grpc-timeout", "1S".parse().unwrap());
        assert_eq!(
            call_timeout(&metadata, CALL_TIMEOUT),
            Duration::from_millis(900)
        );
        metadata.insert("grpc-timeout", "100m".parse().unwrap());
        assert_eq!(
            call_timeout(&metadata, CALL_TIMEOUT),
            Duration::from_millis(80),
            "at least 20 ms kept back"
        );
        metadata.insert("grpc-timeout", "1H".parse().unwrap());
        assert_eq!(call_timeout(&metadata, CALL_TIMEOUT), CALL_TIMEOUT);
    }

    #[tokio::test]
    async fn one_call_checks_every_reference() {
        let references = vec![
            Reference::new("a.speaker", "actors/x"),
            Reference::new("a.addressees[0]", "actors/y"),
            Reference::new("a.addressees[1]", "actors/x"),
        ];
        let mut calls = 0;
        let violations = check_references(&references, "the actors service", |names| {
            calls += 1;
            assert_eq!(names, ["actors/x", "actors/y"]);
            async { Ok(vec!["actors/x".to_owned()]) }
        })
        .await
        .unwrap();
        assert_eq!(calls, 1);
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["a.speaker", "a.addressees[1]"]);
    }

    #[tokio::test]
    async fn an_unreachable_service_is_unavailable_and_no_references_means_no_call() {
        let references = vec![Reference::new("a.speaker", "actors/x")];
        let error = check_references(&references, "the actors service", |_| async {
            Err(Status::unavailable("connection refused"))
        })
        .await
        .unwrap_err();
        assert!(matches!(error, Error::DependencyUnavailable { .. }));
        assert_eq!(Status::from(error).code(), Code::Unavailable);
        let none = check_references(&[], "the actors service", |_| async {
            panic!("no call without references")
        })
        .await
        .unwrap();
        assert!(none.is_empty());
    }
}
