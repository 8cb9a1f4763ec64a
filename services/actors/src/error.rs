//! The actors service's one error type, and the one place it becomes a `tonic::Status`.

use chancery_runtime::errors::{self, Violations};
use tonic::Status;

/// Everything an actors RPC can fail with.
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
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// Anything else: a bug or a corrupt row.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Shorthand for results of this service.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        if chancery_runtime::db::is_unique_violation(&error) {
            Error::Duplicate(error.to_string())
        } else if chancery_runtime::db::is_unavailable(&error) {
            Error::Unavailable(error)
        } else {
            Error::Internal(format!("database: {error}"))
        }
    }
}

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
            Error::Invalid(violations) => errors::invalid_argument(&violations),
            Error::NotFound(name) => errors::not_found(&name),
            Error::AlreadyExists { name, detail } => errors::already_exists(&name, &detail),
            Error::EtagMismatch(name) => errors::etag_mismatch(&name),
            Error::RequestIdReused(request_id) => errors::failed_precondition(
                "REQUEST_ID_REUSED",
                format!(
                    "request_id {request_id:?} was already used for a different request; use a new request_id for a new request"
                ),
            ),
            Error::InUse { name, by } => errors::failed_precondition(
                "RESOURCE_IN_USE",
                format!("{name} cannot be deleted while {by} refers to it"),
            ),
            Error::Duplicate(cause) => {
                tracing::info!(error = %cause, "write lost a race on a unique key");
                errors::already_exists("the resource", ": a concurrent write created it first")
            }
            Error::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                errors::unavailable("the actors database")
            }
            Error::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                errors::internal()
            }
        }
    }
}
