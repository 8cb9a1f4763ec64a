//! Safe retries of creates (AIP-155). A create that carries a `request_id` records the request's
//! fingerprint and its response in the service's `create_requests` table, in the same
//! transaction as the write. A retry with the same id and the same request gets the recorded
//! response and writes nothing; the same id with a different request is refused.
//!
//! Every service's migrations create the table:
//! `create_requests(method, request_id, fingerprint, response, create_time)` keyed by
//! `(method, request_id)`.

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::errors::Error;

/// The request id of a create, with the fingerprint of the request it came with.
#[derive(Debug, Clone)]
pub struct RequestKey {
    /// The RPC, such as `CreateActor`.
    pub method: &'static str,
    /// The caller's request id.
    pub request_id: String,
    /// Fingerprint of the whole request.
    pub fingerprint: String,
}

/// The key of a create request, or `None` when it carries no request id.
pub fn request_key(
    method: &'static str,
    request_id: &str,
    request: &impl prost::Message,
) -> Option<RequestKey> {
    (!request_id.is_empty()).then(|| RequestKey {
        method,
        request_id: request_id.to_owned(),
        fingerprint: fingerprint(request),
    })
}

/// Inside a create's transaction: the recorded response when this request was served before,
/// `None` when it is new (or carries no request id), and [`Error::RequestIdReused`] when the id
/// came with a different request.
pub async fn replay<M: prost::Message + Default>(
    connection: &mut AnyConnection,
    request: Option<&RequestKey>,
) -> Result<Option<M>, Error> {
    let Some(request) = request else {
        return Ok(None);
    };
    match prior(
        connection,
        request.method,
        &request.request_id,
        &request.fingerprint,
    )
    .await?
    {
        Prior::None => Ok(None),
        Prior::Replay(response) => Ok(Some(M::decode(response.as_slice())?)),
        Prior::Conflict => Err(Error::RequestIdReused(request.request_id.clone())),
    }
}

/// Records the response of a keyed create, in the create's transaction; does nothing without a key.
pub async fn record_response(
    connection: &mut AnyConnection,
    request: Option<&RequestKey>,
    response: &impl prost::Message,
) -> Result<(), Error> {
    if let Some(request) = request {
        record(
            connection,
            request.method,
            &request.request_id,
            &request.fingerprint,
            response,
        )
        .await?;
    }
    Ok(())
}

/// Turns a create that lost a race into the right answer. When two creates with one request id
/// run at once (PostgreSQL lets both start), the loser's unique violation becomes the winner's
/// recorded response; any other unique violation means the id was taken: ALREADY_EXISTS `name`.
pub async fn settle_create<M: prost::Message + Default>(
    pool: &sqlx::AnyPool,
    outcome: Result<M, Error>,
    request: Option<&RequestKey>,
    name: String,
) -> Result<M, Error> {
    match outcome {
        Err(Error::Duplicate(_)) => {
            if let Some(request) = request {
                let mut connection = pool.acquire().await?;
                if let Some(replayed) = replay(&mut connection, Some(request)).await? {
                    return Ok(replayed);
                }
            }
            Err(Error::AlreadyExists {
                name,
                detail: String::new(),
            })
        }
        other => other,
    }
}

/// What an earlier create with the same request id left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prior {
    /// No create used this request id yet.
    None,
    /// The same request was served before; this is its encoded response.
    Replay(Vec<u8>),
    /// The request id was used for a different request.
    Conflict,
}

/// A fingerprint of a request message: hex SHA-256 of its protobuf encoding.
pub fn fingerprint(request: &impl prost::Message) -> String {
    let digest = Sha256::digest(request.encode_to_vec());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Looks up an earlier create of `method` with `request_id`.
pub async fn prior(
    connection: &mut AnyConnection,
    method: &str,
    request_id: &str,
    fingerprint: &str,
) -> Result<Prior, sqlx::Error> {
    let row = sqlx::query(
        "SELECT fingerprint, response FROM create_requests WHERE method = $1 AND request_id = $2",
    )
    .bind(method)
    .bind(request_id)
    .fetch_optional(&mut *connection)
    .await?;
    Ok(match row {
        None => Prior::None,
        Some(row) if row.try_get::<String, _>("fingerprint")? == fingerprint => {
            Prior::Replay(row.try_get("response")?)
        }
        Some(_) => Prior::Conflict,
    })
}

/// Records the response of a create made with `request_id`, in the create's transaction.
pub async fn record(
    connection: &mut AnyConnection,
    method: &str,
    request_id: &str,
    fingerprint: &str,
    response: &impl prost::Message,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO create_requests (method, request_id, fingerprint, response, create_time) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(method)
    .bind(request_id)
    .bind(fingerprint)
    .bind(response.encode_to_vec())
    .bind(crate::time::now_micros())
    .execute(&mut *connection)
    .await?;
    Ok(())
}
