//! Rich gRPC errors: the canonical code, a message a person can act on, a `google.rpc.ErrorInfo`
//! with a machine-readable reason, and for bad requests one `google.rpc.BadRequest` field
//! violation per problem. [`Error`] is the one error type of every service's handlers and
//! stores; its single `From<Error> for Status` builds the status with these functions, so every
//! service answers alike.
//!
//! This module is a leaf: it uses no other module of the crate. The conversion of database
//! errors (`From<sqlx::Error> for Error`) lives in the db module, beside the checks it needs.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// `ErrorInfo.domain` of every Chancery error.
pub const ERROR_DOMAIN: &str = "chancery";

/// The `reason` of the ErrorInfo a call fails with, without being made, while the circuit
/// breaker of its backend is open (see [`circuit_open`]).
pub const CIRCUIT_OPEN_REASON: &str = "CIRCUIT_OPEN";

/// One problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Path of the field, as in `actor.names[2].text`.
    pub field: String,
    /// What is wrong and what would be right.
    pub description: String,
    /// Set by [`Violations::add_listing`]: the description's problem and its list of choices,
    /// which a status reports whole.
    listing: Option<Listing>,
}

/// A description made of a problem and the choices that would be right (`"x" is not an
/// updatable field` / `use one of a, b, c`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listing {
    problem: String,
    choices: String,
}

/// The problems found while validating a request; empty when the request is valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// Records a problem with `field`.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(Violation {
            field: field.into(),
            description: description.into(),
            listing: None,
        });
    }

    /// Records a problem with `field` whose description ends with the `choices` that would be
    /// right (`"{problem}; {choices}"`). The choices are the server's own text (a list of
    /// fields, say), so a status reports them whole (up to [`MAX_LISTING_CHARS`]), in the first
    /// such violation; later violations with the same choices refer to that one. `problem` is
    /// cut at [`MAX_DETAIL_CHARS`] like any description: quote values with [`echoed`].
    pub fn add_listing(
        &mut self,
        field: impl Into<String>,
        problem: impl Into<String>,
        choices: impl Into<String>,
    ) {
        let (problem, choices) = (problem.into(), choices.into());
        self.0.push(Violation {
            field: field.into(),
            description: format!("{problem}; {choices}"),
            listing: Some(Listing { problem, choices }),
        });
    }

    /// True when no problem was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &Violation> {
        self.0.iter()
    }

    /// `Ok(())` when there is no problem, else the violations themselves as the error.
    pub fn into_result(self) -> Result<(), Violations> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }

    /// Moves the problems of `other` into this set.
    pub fn extend(&mut self, other: Violations) {
        self.0.extend(other.0);
    }
}

impl std::fmt::Display for Violations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, violation) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", violation.field, violation.description)?;
        }
        Ok(())
    }
}

/// Most field violations one status reports; the message counts the ones left out. Together
/// with [`MAX_DETAIL_CHARS`] and [`MAX_MESSAGE_CHARS`] this keeps an error's headers
/// (`grpc-message`, `grpc-status-details-bin`) under 8 KiB whatever the request held, so
/// every client can read them (gRPC C-core's default metadata limit is 8 KiB) and a huge
/// request cannot make a huge error.
pub const MAX_REPORTED_VIOLATIONS: usize = 20;

/// Longest field path or violation description reported, in characters (an echoed value is
/// cut, ending in `…`).
pub const MAX_DETAIL_CHARS: usize = 120;

/// Longest status message (and `ErrorInfo` metadata value), in characters.
pub const MAX_MESSAGE_CHARS: usize = 1024;

/// Longest list of choices a violation from [`Violations::add_listing`] reports, in
/// characters; one violation per status reports its list this long.
pub const MAX_LISTING_CHARS: usize = 512;

/// Longest value [`echoed`] quotes, in characters.
pub const MAX_ECHO_CHARS: usize = 64;

/// `value` quoted (Rust string syntax, as `{:?}` writes it) for a violation's description, cut
/// at [`MAX_ECHO_CHARS`] characters, the cut marked with `…` inside the quotes.
pub fn echoed(value: &str) -> String {
    if value.chars().count() <= MAX_ECHO_CHARS {
        return format!("{value:?}");
    }
    let kept: String = value.chars().take(MAX_ECHO_CHARS - 1).collect();
    let quoted = format!("{kept:?}");
    format!("{}…\"", &quoted[..quoted.len() - 1])
}

/// `text` cut to at most `max` characters, the cut marked with `…`.
fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// The violations a status reports (at most [`MAX_REPORTED_VIOLATIONS`], each bounded), and a
/// message listing them with the count of those left out.
fn reported(prefix: &str, violations: &Violations) -> (Vec<FieldViolation>, String) {
    // The first violation with a list of choices reports it whole; the others name that one.
    let mut listed: Option<(&str, String)> = None;
    let shown: Vec<FieldViolation> = violations
        .iter()
        .take(MAX_REPORTED_VIOLATIONS)
        .map(|v| {
            let field = bounded(&v.field, MAX_DETAIL_CHARS);
            let description = match (&v.listing, &listed) {
                (None, _) => bounded(&v.description, MAX_DETAIL_CHARS),
                (Some(listing), None) => {
                    listed = Some((&listing.choices, field.clone()));
                    format!(
                        "{}; {}",
                        bounded(&listing.problem, MAX_DETAIL_CHARS),
                        bounded(&listing.choices, MAX_LISTING_CHARS)
                    )
                }
                (Some(listing), Some((choices, first))) if *choices == listing.choices => {
                    let problem = bounded(&listing.problem, MAX_DETAIL_CHARS / 2);
                    bounded(
                        &format!("{problem}; the choices are listed at {first}"),
                        MAX_DETAIL_CHARS,
                    )
                }
                (Some(_), Some(_)) => bounded(&v.description, MAX_DETAIL_CHARS),
            };
            FieldViolation::new(field, description)
        })
        .collect();
    let mut message = String::from(prefix);
    for (i, v) in shown.iter().enumerate() {
        message.push_str(if i == 0 { ": " } else { "; " });
        message.push_str(&format!("{}: {}", v.field, v.description));
    }
    let total = violations.iter().count();
    if total > shown.len() {
        let mut message = bounded(&message, MAX_MESSAGE_CHARS - 64);
        message.push_str(&format!(" ({} of {total} problems reported)", shown.len()));
        return (shown, message);
    }
    (shown, bounded(&message, MAX_MESSAGE_CHARS))
}

fn with_info(code: Code, message: String, reason: &str, mut details: ErrorDetails) -> Status {
    details.set_error_info(reason, ERROR_DOMAIN, std::collections::HashMap::new());
    Status::with_error_details(code, bounded(&message, MAX_MESSAGE_CHARS), details)
}

fn with_info_metadata(
    code: Code,
    message: String,
    reason: &str,
    metadata: &[(&str, &str)],
) -> Status {
    let mut details = ErrorDetails::new();
    let metadata: std::collections::HashMap<String, String> = metadata
        .iter()
        .map(|(k, v)| ((*k).to_owned(), bounded(v, MAX_MESSAGE_CHARS)))
        .collect();
    details.set_error_info(reason, ERROR_DOMAIN, metadata);
    Status::with_error_details(code, bounded(&message, MAX_MESSAGE_CHARS), details)
}

/// A status about one resource: `ErrorInfo` (`reason`, the name under `resource`) and a
/// `ResourceInfo` (AIP-193) naming it, its type being the collection the name ends in
/// (`actors/x/tenures/y` is a `tenures`), and `description`.
fn with_resource_info(
    code: Code,
    message: String,
    reason: &str,
    resource_name: &str,
    description: &str,
) -> Status {
    let name = bounded(resource_name, MAX_MESSAGE_CHARS);
    let mut details = ErrorDetails::new();
    let metadata: std::collections::HashMap<String, String> =
        [("resource".to_owned(), name.clone())]
            .into_iter()
            .collect();
    details.set_error_info(reason, ERROR_DOMAIN, metadata);
    details.set_resource_info(resource_type(&name), name, "", description);
    Status::with_error_details(code, bounded(&message, MAX_MESSAGE_CHARS), details)
}

/// The collection a resource name ends in: `actors` for `actors/x`, `tenures` for
/// `actors/x/tenures/y`; empty for a name without a collection.
fn resource_type(name: &str) -> String {
    let segments: Vec<&str> = name.split('/').collect();
    if segments.len() >= 2 {
        segments[segments.len() - 2].to_owned()
    } else {
        String::new()
    }
}

/// INVALID_ARGUMENT with one `BadRequest` field violation per problem (reason `INVALID_REQUEST`).
pub fn invalid_argument(violations: &Violations) -> Status {
    let (field_violations, message) = reported("invalid request", violations);
    with_info(
        Code::InvalidArgument,
        message,
        "INVALID_REQUEST",
        ErrorDetails::with_bad_request(field_violations),
    )
}

/// NOT_FOUND for a resource name (reason `RESOURCE_NOT_FOUND`, metadata `resource`).
pub fn not_found(resource_name: &str) -> Status {
    with_resource_info(
        Code::NotFound,
        format!("{resource_name} does not exist"),
        "RESOURCE_NOT_FOUND",
        resource_name,
        "does not exist",
    )
}

/// NOT_FOUND for several resources of one batch: the message lists them, `ErrorInfo.metadata`
/// has them comma-separated under `resources`, and a `BadRequest` names the request field of each.
pub fn not_found_many(resource_names: &[String], violations: &Violations) -> Status {
    let joined = bounded(&resource_names.join(", "), MAX_MESSAGE_CHARS);
    let (field_violations, _) = reported("", violations);
    let mut details = ErrorDetails::with_bad_request(field_violations);
    let metadata: std::collections::HashMap<String, String> =
        [("resources".to_owned(), joined.clone())]
            .into_iter()
            .collect();
    details.set_error_info("RESOURCE_NOT_FOUND", ERROR_DOMAIN, metadata);
    Status::with_error_details(
        Code::NotFound,
        format!("these do not exist: {joined}"),
        details,
    )
}

/// ALREADY_EXISTS for a resource name (reason `RESOURCE_ALREADY_EXISTS`).
pub fn already_exists(resource_name: &str, detail: &str) -> Status {
    with_resource_info(
        Code::AlreadyExists,
        format!("{resource_name} already exists{detail}"),
        "RESOURCE_ALREADY_EXISTS",
        resource_name,
        "already exists",
    )
}

/// ABORTED because the caller's etag is stale (reason `ETAG_MISMATCH`).
pub fn etag_mismatch(resource_name: &str) -> Status {
    with_info_metadata(
        Code::Aborted,
        format!(
            "{resource_name} was changed since the etag you sent was read; read it again and retry"
        ),
        "ETAG_MISMATCH",
        &[("resource", resource_name)],
    )
}

/// FAILED_PRECONDITION with a reason code and a message saying what must change first.
pub fn failed_precondition(reason: &str, message: String) -> Status {
    with_info(
        Code::FailedPrecondition,
        message,
        reason,
        ErrorDetails::new(),
    )
}

/// UNAVAILABLE: a dependency (database, another service) cannot be reached; safe to retry.
pub fn unavailable(what: &str) -> Status {
    with_info_metadata(
        Code::Unavailable,
        format!("{what} is unavailable; retry later"),
        "DEPENDENCY_UNAVAILABLE",
        &[("dependency", what)],
    )
}

/// UNAVAILABLE: `service` (such as `the actors service`) refused the credential this service
/// sends it (reason `BACKEND_REFUSED_CREDENTIAL`). The caller's own credential is not in
/// question: the deployment is misconfigured, and a retry helps only once it is fixed.
pub fn backend_refused_credential(service: &str) -> Status {
    with_info_metadata(
        Code::Unavailable,
        format!(
            "{service} refused this service's credential: its service token \
             (CHANCERY_SERVICE_TOKEN_FILE) is missing, unknown there or lacks the writer role; \
             an operator must fix the deployment"
        ),
        "BACKEND_REFUSED_CREDENTIAL",
        &[("dependency", service)],
    )
}

/// UNAVAILABLE without a call: the circuit breaker of `target` (a backend's short name, such
/// as `actors`) is open (reason [`CIRCUIT_OPEN_REASON`], set by the breaker module); `message`
/// says when the next attempt goes through.
pub fn circuit_open(target: &str, message: String) -> Status {
    with_info_metadata(
        Code::Unavailable,
        message,
        CIRCUIT_OPEN_REASON,
        &[("dependency", target)],
    )
}

/// INTERNAL without any detail of the cause, which the caller has already logged.
pub fn internal() -> Status {
    with_info(
        Code::Internal,
        "internal error; the server logged the cause".to_owned(),
        "INTERNAL",
        ErrorDetails::new(),
    )
}

/// Everything a Chancery RPC can fail with. Each variant maps to one canonical code in the single
/// `From<Error> for Status` below, so every service answers alike.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or names things that do not exist.
    #[error("invalid request: {0}")]
    Invalid(Violations),
    /// The resource does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// The id is taken, or an external id belongs to another actor.
    #[error("{name} already exists{detail}")]
    AlreadyExists {
        /// The resource (or external id) that conflicts.
        name: String,
        /// More about the conflict, starting with a separator.
        detail: String,
    },
    /// The caller's etag is stale.
    #[error("{0} was changed since its etag was read")]
    EtagMismatch(String),
    /// A request id came back with a different request.
    #[error("request_id {0} was already used for a different request")]
    RequestIdReused(String),
    /// The resource is referenced and cannot be deleted.
    #[error("{name} is still referenced by {by}")]
    InUse {
        /// The resource that cannot be deleted.
        name: String,
        /// What refers to it.
        by: String,
    },
    /// A unique constraint refused a write that raced with another; stores turn it into
    /// [`Error::AlreadyExists`] or a replayed response.
    #[error("unique constraint violated: {0}")]
    Duplicate(String),
    /// The service's database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// Another service this one depends on cannot be reached, or did not answer in time.
    #[error("{service} unavailable: {cause}")]
    DependencyUnavailable {
        /// The service, such as `the actors service`.
        service: String,
        /// What went wrong, for the log.
        cause: String,
    },
    /// Another service refused this service's own credential (a misconfiguration).
    #[error("{service} refused this service's credential")]
    CredentialRefused {
        /// The service, such as `the actors service`.
        service: String,
    },
    /// Several resources of a batch do not exist; each is named by its request field.
    #[error("not found: {}", names.join(", "))]
    NotFoundMany {
        /// The resource names.
        names: Vec<String>,
        /// One violation per missing name, on its request field.
        violations: Violations,
    },
    /// Anything else: a bug or a corrupt row.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Shorthand for results of RPC handlers and stores.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<prost::DecodeError> for Error {
    fn from(error: prost::DecodeError) -> Self {
        Error::Internal(format!("stored message does not decode: {error}"))
    }
}

impl From<Violations> for Error {
    fn from(violations: Violations) -> Self {
        Error::Invalid(violations)
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Invalid(violations) => invalid_argument(&violations),
            Error::NotFound(name) => not_found(&name),
            Error::NotFoundMany { names, violations } => not_found_many(&names, &violations),
            Error::AlreadyExists { name, detail } => already_exists(&name, &detail),
            Error::EtagMismatch(name) => etag_mismatch(&name),
            Error::RequestIdReused(request_id) => failed_precondition(
                "REQUEST_ID_REUSED",
                format!(
                    "request_id {request_id:?} was already used for a different request; use a new request_id for a new request"
                ),
            ),
            Error::InUse { name, by } => failed_precondition(
                "RESOURCE_IN_USE",
                format!("{name} cannot be deleted while {by} refers to it"),
            ),
            Error::Duplicate(cause) => {
                tracing::info!(error = %cause, "write lost a race on a unique key");
                already_exists("the resource", ": a concurrent write created it first")
            }
            Error::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                unavailable("the database")
            }
            Error::DependencyUnavailable { service, cause } => {
                tracing::warn!(%service, %cause, "dependency unavailable");
                unavailable(&service)
            }
            Error::CredentialRefused { service } => {
                tracing::error!(%service, "a backend refused this service's credential: check CHANCERY_SERVICE_TOKEN_FILE");
                backend_refused_credential(&service)
            }
            Error::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                internal()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_every_violation_and_error_info() {
        let mut violations = Violations::default();
        violations.add("actor.kind", "is required");
        violations.add("actor.display_name", "is required");
        let status = invalid_argument(&violations);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("actor.kind: is required"));
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .expect("bad request")
            .field_violations
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(fields, ["actor.kind", "actor.display_name"]);
        let info = details.error_info().expect("error info");
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("INVALID_REQUEST", ERROR_DOMAIN)
        );
    }

    #[test]
    fn not_found_names_the_resource() {
        let status = not_found("actors/nobody");
        assert_eq!(status.code(), Code::NotFound);
        let details = status.get_error_details();
        let info = details.error_info().expect("error info");
        assert_eq!(info.metadata.get("resource").unwrap(), "actors/nobody");
    }
}

#[cfg(test)]
mod bounded_errors {
    use super::*;

    /// Bytes of the headers an error status becomes.
    fn header_bytes(status: &Status) -> usize {
        status
            .clone()
            .into_http::<()>()
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum()
    }

    #[test]
    fn a_huge_request_cannot_make_a_huge_error() {
        let huge = "x".repeat(4 << 20);
        let mut violations = Violations::default();
        violations.add("names[0]", format!("is not valid (got {huge:?})"));
        for i in 1..5000 {
            violations.add(format!("names[{i}]"), format!("is not valid (got \"{i}\")"));
        }
        let status = invalid_argument(&violations);
        assert!(
            header_bytes(&status) < 8 * 1024,
            "{}",
            header_bytes(&status)
        );
        assert!(
            status
                .message()
                .starts_with("invalid request: names[0]: is not valid")
                && status
                    .message()
                    .ends_with(" (20 of 5000 problems reported)"),
            "{}",
            status.message()
        );
        let details = status.get_error_details();
        let reported = &details.bad_request().expect("bad request").field_violations;
        assert_eq!(reported.len(), MAX_REPORTED_VIOLATIONS);
        assert_eq!(reported[0].field, "names[0]");
        assert_eq!(reported[0].description.chars().count(), MAX_DETAIL_CHARS);
        assert!(reported[0].description.ends_with('…'));

        let names: Vec<String> = (0..10_000).map(|i| format!("actors/missing-{i}")).collect();
        let missing = not_found_many(&names, &violations);
        assert!(
            header_bytes(&missing) < 8 * 1024,
            "{}",
            header_bytes(&missing)
        );
        assert!(header_bytes(&not_found(&huge)) < 8 * 1024);
    }

    #[test]
    fn a_list_of_choices_is_reported_whole_once_and_stays_bounded() {
        let choices: Vec<String> = (0..18).map(|i| format!("field_number_{i}")).collect();
        let choices = format!("use one of {}, or `*`", choices.join(", "));
        assert!(choices.chars().count() > MAX_DETAIL_CHARS);
        let huge = "x".repeat(4 << 20);
        let mut violations = Violations::default();
        for i in 0..5000 {
            let path = if i == 0 {
                huge.clone()
            } else {
                format!("p{i}")
            };
            violations.add_listing(
                format!("update_mask.paths[{i}]"),
                format!("{} is not an updatable field", echoed(&path)),
                choices.clone(),
            );
        }
        let status = invalid_argument(&violations);
        assert!(
            header_bytes(&status) < 8 * 1024,
            "{}",
            header_bytes(&status)
        );
        let details = status.get_error_details();
        let reported = &details.bad_request().expect("bad request").field_violations;
        assert_eq!(reported.len(), MAX_REPORTED_VIOLATIONS);
        let first = &reported[0].description;
        assert!(first.ends_with(&format!("; {choices}")), "{first}");
        let echo = format!("\"{}…\"", "x".repeat(MAX_ECHO_CHARS - 1));
        assert!(
            first.starts_with(&format!("{echo} is not an updatable field;")),
            "{first}"
        );
        assert_eq!(
            reported[1].description,
            "\"p1\" is not an updatable field; the choices are listed at update_mask.paths[0]"
        );
        assert!(status.message().contains(&choices), "{}", status.message());
        // The violations themselves keep the whole text, as the domain's tests read them.
        let second = violations.iter().nth(1).unwrap();
        assert_eq!(
            second.description,
            format!("\"p1\" is not an updatable field; {choices}")
        );
    }

    #[test]
    fn echoed_values_are_quoted_and_cut() {
        assert_eq!(echoed("etag"), "\"etag\"");
        assert_eq!(echoed("a\"b"), "\"a\\\"b\"");
        let long = echoed(&"é".repeat(100));
        assert_eq!(long, format!("\"{}…\"", "é".repeat(MAX_ECHO_CHARS - 1)));
    }

    #[test]
    fn short_texts_are_kept_whole() {
        assert_eq!(bounded("actor.kind", 10), "actor.kind");
        assert_eq!(bounded("actor.kinds", 10), "actor.kin…");
        assert_eq!(bounded("ééééé", 3), "éé…");
    }

    #[test]
    fn a_missing_or_existing_resource_is_named_in_resource_info() {
        use tonic_types::StatusExt;
        let status = Status::from(Error::NotFound("actors/x/tenures/president".into()));
        let details = status.get_error_details();
        let info = details.resource_info().expect("a ResourceInfo");
        assert_eq!(info.resource_type, "tenures");
        assert_eq!(info.resource_name, "actors/x/tenures/president");
        assert_eq!(info.description, "does not exist");
        assert_eq!(
            details.error_info().expect("an ErrorInfo").metadata["resource"],
            "actors/x/tenures/president"
        );
        let exists = already_exists("actors/x", "");
        let exists = exists.get_error_details();
        let info = exists.resource_info().expect("a ResourceInfo");
        assert_eq!(
            (info.resource_type.as_str(), info.resource_name.as_str()),
            ("actors", "actors/x")
        );
        assert_eq!(resource_type("odd"), "");
    }
}
