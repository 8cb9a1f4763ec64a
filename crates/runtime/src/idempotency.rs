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
