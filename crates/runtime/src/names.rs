//! Resource names (`actors/emmanuel-macron`), the syntax of ids, generated ids, and request ids.

use crate::errors::Violations;

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
