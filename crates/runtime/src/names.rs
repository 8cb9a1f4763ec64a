//! Resource names (`actors/emmanuel-macron`), the syntax of ids, generated ids, and request ids.

use crate::errors::{Error, Violations};

/// Longest id a client may choose (AIP-122: 63 characters).
pub const MAX_ID_LEN: usize = 63;
/// Longest request id.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Whether `id` is a valid resource id: 1 to 63 lowercase ASCII letters, digits and hyphens,
/// starting with a letter and not ending with a hyphen.
pub fn is_valid_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_ID_LEN
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// Checks a client-chosen id; an empty one is fine (the server generates one).
pub fn check_optional_id(violations: &mut Violations, field: &str, id: &str) {
    if !id.is_empty() && !is_valid_id(id) {
        violations.add(
            field,
            format!(
                "must be 1 to {MAX_ID_LEN} lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (got {id:?})"
            ),
        );
    }
}

/// Checks a request id: empty, or 1 to 128 printable ASCII characters.
pub fn check_request_id(violations: &mut Violations, field: &str, request_id: &str) {
    if request_id.len() > MAX_REQUEST_ID_LEN || !request_id.bytes().all(|b| b.is_ascii_graphic()) {
        violations.add(
            field,
            format!(
                "must be at most {MAX_REQUEST_ID_LEN} printable ASCII characters without spaces"
            ),
        );
    }
}

/// The id in a request's `name` field, which must be `{collection}/{id}`; otherwise the one
/// violation on `name` saying why (as [`check`] words it).
pub fn read_name(name: &str, collection: &str) -> Result<String, Violations> {
    let mut violations = Violations::default();
    let id = check(&mut violations, "name", name, collection)
        .unwrap_or_default()
        .to_owned();
    violations.into_result()?;
    Ok(id)
}

/// A new id for a resource whose creator chose none: `prefix` and a time-ordered UUID (v7) in
/// lowercase hex, such as `act-01936f3a9c2e7b8d9a0b1c2d3e4f5a6b`.
pub fn generate_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

/// The id inside a resource name of one collection: `parse("actors/tass", "actors")` is
/// `Some("tass")`. `None` unless the name is exactly `{collection}/{valid id}`.
pub fn parse<'a>(name: &'a str, collection: &str) -> Option<&'a str> {
    let id = name.strip_prefix(collection)?.strip_prefix('/')?;
    is_valid_id(id).then_some(id)
}

/// Like [`parse`], recording a violation on `field` when the name is malformed. A required name
/// that is empty gets "is required".
pub fn check<'a>(
    violations: &mut Violations,
    field: &str,
    name: &'a str,
    collection: &str,
) -> Option<&'a str> {
    if name.is_empty() {
        violations.add(
            field,
            format!("is required: a resource name `{collection}/{{id}}`"),
        );
        return None;
    }
    let id = parse(name, collection);
    if id.is_none() {
        violations.add(
            field,
            format!("must be a resource name `{collection}/{{id}}` with a valid id (got {name:?})"),
        );
    }
    id
}

/// Like [`check`] but an empty name is allowed (for optional references).
pub fn check_optional<'a>(
    violations: &mut Violations,
    field: &str,
    name: &'a str,
    collection: &str,
) -> Option<&'a str> {
    if name.is_empty() {
        None
    } else {
        check(violations, field, name, collection)
    }
}

/// The last segment of a resource name: `tass` for `actors/tass`.
pub fn id_of(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or_default()
}

/// Checks the `names` of a batch get: at most `max`, each a valid name of `collection`. Returns
/// the ids, one per name, in order (empty when any name is malformed).
pub fn check_batch<'a>(
    violations: &mut Violations,
    names: &'a [String],
    collection: &str,
    max: usize,
) -> Vec<&'a str> {
    if names.len() > max {
        violations.add(
            "names",
            format!("must have at most {max} entries (got {})", names.len()),
        );
        return Vec::new();
    }
    names
        .iter()
        .enumerate()
        .filter_map(|(i, name)| check(violations, &format!("names[{i}]"), name, collection))
        .collect()
}

/// Answers a batch get from what the store `found` (by id): the resources in request order,
/// and the names that do not exist. Without `allow_missing`, any missing name fails the whole
/// call with [`Error::NotFoundMany`], each missing name reported on its request field.
pub fn assemble_batch<T: Clone>(
    names: &[String],
    ids: &[&str],
    found: &std::collections::HashMap<String, T>,
    allow_missing: bool,
) -> Result<(Vec<T>, Vec<String>), Error> {
    let mut resources = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    let mut violations = Violations::default();
    for (i, (name, id)) in names.iter().zip(ids).enumerate() {
        match found.get(*id) {
            Some(resource) => resources.push(resource.clone()),
            None => {
                violations.add(format!("names[{i}]"), format!("{name} does not exist"));
                missing.push(name.clone());
            }
        }
    }
    if !allow_missing && !missing.is_empty() {
        return Err(Error::NotFoundMany {
            names: missing,
            violations,
        });
    }
    Ok((resources, missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_aip_122() {
        for good in ["a", "emmanuel-macron", "tass", "g7", "x1-2"] {
            assert!(is_valid_id(good), "{good}");
        }
        let too_long = "a".repeat(64);
        for bad in [
            "",
            "Macron",
            "1abc",
            "abc-",
            "a_b",
            "a b",
            "é",
            too_long.as_str(),
        ] {
            assert!(!is_valid_id(bad), "{bad}");
        }
        assert!(is_valid_id(&generate_id("act")));
    }

    #[test]
    fn names_parse_only_their_collection() {
        assert_eq!(parse("actors/tass", "actors"), Some("tass"));
        assert_eq!(parse("posts/tass", "actors"), None);
        assert_eq!(parse("actors/tass/tenures/x", "actors"), None);
        assert_eq!(parse("actorstass", "actors"), None);
        let mut violations = Violations::default();
        assert_eq!(check(&mut violations, "name", "", "actors"), None);
        assert_eq!(check(&mut violations, "name", "actors/", "actors"), None);
        assert_eq!(
            check_optional(&mut violations, "parent", "", "actors"),
            None
        );
        assert_eq!(violations.iter().count(), 2);
    }

    #[test]
    fn request_ids_are_printable_ascii() {
        let mut violations = Violations::default();
        check_request_id(&mut violations, "request_id", "");
        check_request_id(
            &mut violations,
            "request_id",
            "6f1c0b7e-2a5d-4d3e-9d55-0a0c0f1e2d3c",
        );
        assert!(violations.is_empty());
        check_request_id(&mut violations, "request_id", "has space");
        check_request_id(&mut violations, "request_id", &"x".repeat(129));
        assert_eq!(violations.iter().count(), 2);
    }
}
