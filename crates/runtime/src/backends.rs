//! Calls from one service to another: lazily connected channels with connect and request
//! timeouts, deadlines that respect the caller's, and reference checks that ask the owning
//! service once for every name a write mentions.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Code, Status};

use crate::errors::{Error, Violations};
use crate::layers::parse_grpc_timeout;

/// Longest wait for a TCP (and HTTP/2) connection to another service.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest one call to another service may take, whatever the caller allows.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Kept back from the caller's deadline so the answer still reaches the caller in time.
const DEADLINE_MARGIN: Duration = Duration::from_millis(20);

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

/// The timeout for a downstream call made while serving `incoming`: the caller's remaining
/// deadline (its `grpc-timeout`, less a margin) when it sent one, never more than `cap`.
pub fn call_timeout(incoming: &tonic::metadata::MetadataMap, cap: Duration) -> Duration {
    incoming
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_grpc_timeout)
        .map_or(cap, |deadline| {
            deadline.saturating_sub(DEADLINE_MARGIN).min(cap)
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
            if is_unreachable(&status) {
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
            Duration::from_millis(980)
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
