//! Opaque page tokens for keyset pagination.
//!
//! A token carries the sort key of the last item served and a fingerprint of the query that
//! produced it (method and every filter), sealed with a SHA-256 check value. Decoding rejects a
//! token that was altered, truncated, made by another query, or made by another token version:
//! such a token can never page through another query's data. The check value is an integrity
//! check, not a secret: a forged token could at most start a listing at a chosen key of the same
//! query, which the caller may list anyway.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::errors::Violations;

const VERSION: u8 = 1;
const SEAL: &[u8] = b"chancery page token v1";
const CHECK_LEN: usize = 12;
const FINGERPRINT_LEN: usize = 16;

/// Default number of items per page when the request says 0.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page; larger requests are served this many items.
pub const MAX_PAGE_SIZE: usize = 1000;

/// What a query is, for binding tokens to it: built from the method and each filter's value.
#[derive(Debug, Clone)]
pub struct QueryFingerprint(Sha256);

impl QueryFingerprint {
    /// Starts a fingerprint for one list method, such as `ListActors`.
    pub fn new(method: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(method.as_bytes());
        hasher.update([0]);
        Self(hasher)
    }

    /// Adds one filter and its value.
    pub fn with(mut self, filter: &str, value: impl std::fmt::Display) -> Self {
        let value = value.to_string();
        for part in [filter.as_bytes(), value.as_bytes()] {
            self.0.update((part.len() as u64).to_le_bytes());
            self.0.update(part);
        }
        self
    }

    fn finish(&self) -> [u8; FINGERPRINT_LEN] {
        let digest = self.0.clone().finalize();
        let mut fingerprint = [0; FINGERPRINT_LEN];
        fingerprint.copy_from_slice(&digest[..FINGERPRINT_LEN]);
        fingerprint
    }
}

fn check_value(body: &[u8]) -> [u8; CHECK_LEN] {
    let digest = Sha256::new()
        .chain_update(SEAL)
        .chain_update(body)
        .finalize();
    let mut check = [0; CHECK_LEN];
    check.copy_from_slice(&digest[..CHECK_LEN]);
    check
}

/// Encodes a token for the page after the item whose sort key is `cursor` (one string per sort
/// column).
pub fn encode(query: &QueryFingerprint, cursor: &[&str]) -> String {
    let mut body = Vec::with_capacity(1 + FINGERPRINT_LEN + cursor.len() * 24);
    body.push(VERSION);
    body.extend_from_slice(&query.finish());
    for part in cursor {
        body.extend_from_slice(&(part.len() as u32).to_le_bytes());
        body.extend_from_slice(part.as_bytes());
    }
    let check = check_value(&body);
    body.extend_from_slice(&check);
    URL_SAFE_NO_PAD.encode(body)
}

/// Why a token was refused; shown to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PageTokenError {
    /// Not a token this server made, or altered since.
    #[error(
        "is not a valid page token (it was altered or truncated, or never issued by this service)"
    )]
    Malformed,
    /// A valid token, but from a query with other filters or another method.
    #[error("belongs to a different query; keep the filters of the request that returned it")]
    OtherQuery,
}

/// Decodes a token made by [`encode`] for the same query, returning the cursor. An empty token
/// means the first page and yields `None`.
pub fn decode(
    token: &str,
    query: &QueryFingerprint,
) -> Result<Option<Vec<String>>, PageTokenError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| PageTokenError::Malformed)?;
    if bytes.len() < 1 + FINGERPRINT_LEN + CHECK_LEN {
        return Err(PageTokenError::Malformed);
    }
    let (body, check) = bytes.split_at(bytes.len() - CHECK_LEN);
    if check != check_value(body) || body[0] != VERSION {
        return Err(PageTokenError::Malformed);
    }
    if body[1..=FINGERPRINT_LEN] != query.finish() {
        return Err(PageTokenError::OtherQuery);
    }
    let mut rest = &body[1 + FINGERPRINT_LEN..];
    let mut cursor = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest.split_at_checked(4).ok_or(PageTokenError::Malformed)?;
        let len =
            u32::from_le_bytes(len.try_into().map_err(|_| PageTokenError::Malformed)?) as usize;
        let (part, tail) = tail
            .split_at_checked(len)
            .ok_or(PageTokenError::Malformed)?;
        cursor.push(String::from_utf8(part.to_vec()).map_err(|_| PageTokenError::Malformed)?);
        rest = tail;
    }
    Ok(Some(cursor))
}

/// Reads a list request's `page_size` and `page_token`, recording violations under their field
/// names. Returns the number of items to serve and the decoded cursor.
pub fn read_page_request(
    violations: &mut Violations,
    page_size: i32,
    page_token: &str,
    query: &QueryFingerprint,
) -> (usize, Option<Vec<String>>) {
    let size = match page_size {
        0 => DEFAULT_PAGE_SIZE,
        n if n < 0 => {
            violations.add("page_size", format!("must not be negative (got {n})"));
            DEFAULT_PAGE_SIZE
        }
        n => (n as usize).min(MAX_PAGE_SIZE),
    };
    let cursor = decode(page_token, query).unwrap_or_else(|error| {
        violations.add("page_token", error.to_string());
        None
    });
    (size, cursor)
}

/// A list request that passed validation: what the store filters on, the query its page tokens
/// are bound to, how many items to serve and the sort key to resume after. Each service builds
/// it without touching its store (`read_list_*` in its `api` module), so the handlers and the
/// fuzz targets (`tests/fuzz`) run the same checks.
#[derive(Debug, Clone)]
pub struct ListPage<F, C> {
    /// The store's filter.
    pub filter: F,
    /// What the request's page tokens are bound to; [`page`] seals the next token with it.
    pub query: QueryFingerprint,
    /// Items to serve (the page size, defaulted and capped).
    pub size: usize,
    /// The sort key of the last item already served; `None` for the first page.
    pub after: Option<C>,
}

/// Cuts a page from `items`, which were fetched with one row more than `size`: the extra row
/// proves there is a next page, whose token carries `cursor` of the page's last item.
pub fn page<T>(
    mut items: Vec<T>,
    size: usize,
    cursor: impl Fn(&T) -> Vec<String>,
    query: &QueryFingerprint,
) -> (Vec<T>, String) {
    if items.len() <= size {
        return (items, String::new());
    }
    items.truncate(size);
    let token = items.last().map_or_else(String::new, |last| {
        let key = cursor(last);
        let parts: Vec<&str> = key.iter().map(String::as_str).collect();
        encode(query, &parts)
    });
    (items, token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query() -> QueryFingerprint {
        QueryFingerprint::new("ListActors")
            .with("kind", 1)
            .with("country", "FRA")
    }

    #[test]
    fn a_token_round_trips_for_its_own_query() {
        let token = encode(&query(), &["emmanuel-macron", "x\u{0}y"]);
        assert_eq!(
            decode(&token, &query()).unwrap(),
            Some(vec!["emmanuel-macron".to_owned(), "x\u{0}y".to_owned()])
        );
        assert_eq!(decode("", &query()).unwrap(), None);
    }

    #[test]
    fn a_token_from_another_query_is_refused() {
        let token = encode(&query(), &["a"]);
        let other = QueryFingerprint::new("ListActors")
            .with("kind", 2)
            .with("country", "FRA");
        assert_eq!(decode(&token, &other), Err(PageTokenError::OtherQuery));
        let shifted = QueryFingerprint::new("ListActors")
            .with("kindc", "ountry")
            .with("", "FRA");
        assert_eq!(decode(&token, &shifted), Err(PageTokenError::OtherQuery));
    }

    #[test]
    fn every_single_byte_change_is_refused() {
        let token = encode(&query(), &["tass"]);
        let bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..bytes.len() {
            for flip in [1u8, 0x80] {
                let mut tampered = bytes.clone();
                tampered[i] ^= flip;
                let tampered = URL_SAFE_NO_PAD.encode(tampered);
                assert!(decode(&tampered, &query()).is_err(), "byte {i} flip {flip}");
            }
        }
        for bad in ["!!!", "AAAA", &token[..token.len() - 2]] {
            assert_eq!(decode(bad, &query()), Err(PageTokenError::Malformed));
        }
    }

    #[test]
    fn page_sizes_default_cap_and_reject_negatives() {
        let mut violations = Violations::default();
        assert_eq!(
            read_page_request(&mut violations, 0, "", &query()).0,
            DEFAULT_PAGE_SIZE
        );
        assert_eq!(
            read_page_request(&mut violations, 5000, "", &query()).0,
            MAX_PAGE_SIZE
        );
        assert!(violations.is_empty());
        read_page_request(&mut violations, -1, "garbage", &query());
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["page_size", "page_token"]);
    }
}
