//! Calls to the owning services on behalf of one bundle request: each bounded by what is left
//! of the caller's deadline, and each error told in terms of the bundle (`bundle.actors[3]`)
//! rather than of the backend request (`actor`).

use std::future::Future;
use std::time::{Duration, Instant};

use chancery_runtime::backends::CALL_TIMEOUT;
use chancery_runtime::errors::{Violations, invalid_argument};
use chancery_runtime::layers::parse_grpc_timeout;
use prost::Message;
use tonic::metadata::MetadataMap;
use tonic::{Code, Request, Response, Status};

/// Kept back from the caller's deadline so the answer still reaches the caller in time.
const MARGIN: Duration = Duration::from_millis(50);

/// Concurrent calls per step of a bundle request: enough to overlap round trips, few enough
/// to leave the backends' admission limits to other callers.
pub(crate) const CONCURRENCY: usize = 16;

/// Most names in one batch get (the backends' limit).
pub(crate) const BATCH: usize = 10_000;

/// The caller's deadline, when it sent one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    /// The deadline of the request whose metadata this is.
    pub(crate) fn of(metadata: &MetadataMap) -> Self {
        Self(
            metadata
                .get("grpc-timeout")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_grpc_timeout)
                .map(|timeout| Instant::now() + timeout),
        )
    }

    /// What is left of the deadline for one backend call (at most [`CALL_TIMEOUT`]);
    /// DEADLINE_EXCEEDED when nothing is left.
    fn timeout(&self) -> Result<Duration, Status> {
        match self.0 {
            None => Ok(CALL_TIMEOUT),
            Some(end) => {
                let left = end.saturating_duration_since(Instant::now());
                if left <= MARGIN {
                    return Err(Status::deadline_exceeded(
                        "the bundle request ran out of time; what was written stays written, \
                         and importing again finishes the rest",
                    ));
                }
                Ok((left - MARGIN).min(CALL_TIMEOUT))
            }
        }
    }

    /// Sends `message` with `call`, carrying what is left of the deadline; a backend that does
    /// not answer in that time (one that accepts connections but hangs) is DEADLINE_EXCEEDED.
    pub(crate) async fn call<M, T, F, Fut>(&self, message: M, call: F) -> Result<T, Status>
    where
        F: FnOnce(Request<M>) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let timeout = self.timeout()?;
        let mut request = Request::new(message);
        request.set_timeout(timeout);
        match tokio::time::timeout(timeout, call(request)).await {
            Ok(answer) => answer.map(Response::into_inner),
            Err(_) => Err(Status::deadline_exceeded(format!(
                "no answer within {timeout:?}"
            ))),
        }
    }
}

/// `google.rpc.Status`, to read the details of a backend's error.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

/// `google.rpc.BadRequest`.
#[derive(Clone, PartialEq, Message)]
struct BadRequest {
    #[prost(message, repeated, tag = "1")]
    field_violations: Vec<FieldViolation>,
}

/// `google.rpc.BadRequest.FieldViolation` (the fields Chancery sets).
#[derive(Clone, PartialEq, Message)]
struct FieldViolation {
    #[prost(string, tag = "1")]
    field: String,
    #[prost(string, tag = "2")]
    description: String,
}

const BAD_REQUEST_TYPE: &str = "type.googleapis.com/google.rpc.BadRequest";

/// The field violations of a status, in order; empty when it has none.
fn field_violations(status: &Status) -> Vec<FieldViolation> {
    let Ok(rpc) = RpcStatus::decode(status.details()) else {
        return Vec::new();
    };
    rpc.details
        .iter()
        .filter(|any| any.type_url == BAD_REQUEST_TYPE)
        .filter_map(|any| BadRequest::decode(any.value.as_slice()).ok())
        .flat_map(|bad| bad.field_violations)
        .collect()
}

/// Where a backend call stands in the bundle: the resource's path and name, and how the
/// backend request's fields map onto the bundle (`actor.kind` → `bundle.actors[3].kind`).
#[derive(Debug, Clone)]
pub(crate) struct Place {
    /// Path of the resource in the request, such as `bundle.actors[3]`.
    pub(crate) path: String,
    /// The resource's name, such as `actors/tass`.
    pub(crate) name: String,
    /// Backend field prefixes and the bundle paths they stand for, first match wins.
    fields: Vec<(&'static str, String)>,
}

impl Place {
    /// The resource at `path`, named `name`, sent to its backend in the request field
    /// `message_field` (`actor`), with its id in `id_fields` (`actor_id`).
    pub(crate) fn new(
        path: String,
        name: &str,
        message_field: &'static str,
        id_fields: &[&'static str],
    ) -> Self {
        let mut fields: Vec<(&'static str, String)> = id_fields
            .iter()
            .map(|field| (*field, format!("{path}.name")))
            .collect();
        fields.push((message_field, path.clone()));
        Self {
            path,
            name: name.to_owned(),
            fields,
        }
    }

    /// The same resource, with `message_field` of the backend request standing for
    /// `bundle_path` (an appended status entry: `status` → `….status_log[2]`).
    pub(crate) fn with_field(mut self, message_field: &'static str, bundle_path: String) -> Self {
        self.fields.insert(0, (message_field, bundle_path));
        self
    }

    /// The bundle path of a backend request field.
    fn map_field(&self, field: &str) -> String {
        for (prefix, path) in &self.fields {
            if let Some(rest) = field.strip_prefix(prefix)
                && (rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
            {
                return format!("{path}{rest}");
            }
        }
        self.path.clone()
    }

    /// A backend's error about this resource, told in terms of the bundle: field violations
    /// move to the resource's path in the bundle; other errors keep their code and details and
    /// name the resource in their message.
    pub(crate) fn error(&self, status: Status) -> Status {
        if status.code() == Code::InvalidArgument {
            let found = field_violations(&status);
            if !found.is_empty() {
                let mut violations = Violations::default();
                for violation in found {
                    violations.add(self.map_field(&violation.field), violation.description);
                }
                return invalid_argument(&violations);
            }
        }
        Status::with_details(
            status.code(),
            format!("{} ({}): {}", self.path, self.name, status.message()),
            status.details().to_vec().into(),
        )
    }
}

/// A backend's error while reading for a bundle request, naming the backend.
pub(crate) fn reading(service: &str, status: Status) -> Status {
    Status::with_details(
        status.code(),
        format!("reading from the {service} service: {}", status.message()),
        status.details().to_vec().into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_runtime::errors::{Error, Violations};

    fn violations_of(status: &Status) -> Vec<(String, String)> {
        field_violations(status)
            .into_iter()
            .map(|v| (v.field, v.description))
            .collect()
    }

    #[test]
    fn violations_move_to_the_bundle_path() {
        let mut found = Violations::default();
        found.add("actor.kind", "is required");
        found.add("actor.names[2].text", "is required");
        found.add("actor_id", "is not valid");
        found.add("request_id", "odd");
        let backend = Status::from(Error::Invalid(found));
        let place = Place::new(
            "bundle.actors[3]".into(),
            "actors/x",
            "actor",
            &["actor_id"],
        );
        let status = place.error(backend);
        assert_eq!(status.code(), Code::InvalidArgument);
        let fields: Vec<String> = violations_of(&status).into_iter().map(|v| v.0).collect();
        assert_eq!(
            fields,
            [
                "bundle.actors[3].kind",
                "bundle.actors[3].names[2].text",
                "bundle.actors[3].name",
                "bundle.actors[3]"
            ]
        );
        assert!(
            status
                .message()
                .contains("bundle.actors[3].kind: is required")
        );
    }

    #[test]
    fn appended_statuses_map_to_their_log_entry() {
        let mut found = Violations::default();
        found.add("status.as_of.edtf", "bad");
        let place = Place::new(
            "bundle.communications[1]".into(),
            "communications/c",
            "communication",
            &["communication_id"],
        )
        .with_field("status", "bundle.communications[1].status_log[4]".into());
        let status = place.error(Status::from(Error::Invalid(found)));
        assert_eq!(
            violations_of(&status)[0].0,
            "bundle.communications[1].status_log[4].as_of.edtf"
        );
    }

    #[test]
    fn other_errors_keep_their_code_and_name_the_resource() {
        let place = Place::new("bundle.posts[0]".into(), "posts/p", "post", &["post_id"]);
        let status = place.error(Status::from(Error::EtagMismatch("posts/p".into())));
        assert_eq!(status.code(), Code::Aborted);
        assert!(status.message().starts_with("bundle.posts[0] (posts/p): "));
        assert!(!status.details().is_empty(), "ErrorInfo is kept");
        let unavailable = place.error(Status::unavailable("connection refused"));
        assert_eq!(unavailable.code(), Code::Unavailable);
    }

    #[tokio::test]
    async fn an_expired_deadline_refuses_further_calls_and_hangs_are_cut() {
        let mut metadata = MetadataMap::new();
        metadata.insert("grpc-timeout", "1m".parse().unwrap());
        let expired = Deadline::of(&metadata);
        let refused = expired
            .call((), |_| async { Ok(Response::new(())) })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::DeadlineExceeded);

        metadata.insert("grpc-timeout", "200m".parse().unwrap());
        let short = Deadline::of(&metadata);
        let started = Instant::now();
        let hung = short
            .call((), |request| async move {
                assert!(request.metadata().get("grpc-timeout").is_some());
                std::future::pending::<Result<Response<()>, Status>>().await
            })
            .await
            .unwrap_err();
        assert_eq!(hung.code(), Code::DeadlineExceeded);
        assert!(started.elapsed() < Duration::from_secs(1));

        let open = Deadline::of(&MetadataMap::new());
        assert!(
            open.call((), |_| async { Ok(Response::new(())) })
                .await
                .is_ok()
        );
    }
}
