//! Field checks the modules of this crate share.

use chancery_runtime::errors::{Violations, echoed};

/// Records a violation when `value` is not a known value of `E`, or is 0 while `required`.
pub fn check_enum<E: TryFrom<i32>>(
    violations: &mut Violations,
    field: &str,
    value: i32,
    required: bool,
) {
    if E::try_from(value).is_err() {
        violations.add(field, format!("unknown value {value}"));
    } else if required && value == 0 {
        violations.add(field, "is required");
    }
}

/// Records that `path`, entry `index` of an update mask, is not one of the `updatable` fields,
/// listing them all (and `*`): the list is reported whole, the path quoted and cut
/// ([`chancery_runtime::errors::echoed`]).
pub(crate) fn not_updatable(
    violations: &mut Violations,
    index: usize,
    path: &str,
    updatable: &[&str],
) {
    violations.add_listing(
        format!("update_mask.paths[{index}]"),
        format!("{} is not an updatable field", echoed(path)),
        format!("use one of {}, or `*`", updatable.join(", ")),
    );
}

#[cfg(test)]
mod tests {
    use chancery_runtime::errors::{MAX_ECHO_CHARS, invalid_argument};

    use super::*;

    #[test]
    fn a_path_not_updatable_lists_every_updatable_field_and_a_long_path_is_cut() {
        let updatable: Vec<String> = (0..20).map(|i| format!("some.field_{i}")).collect();
        let updatable: Vec<&str> = updatable.iter().map(String::as_str).collect();
        let mut violations = Violations::default();
        not_updatable(&mut violations, 3, &"p".repeat(10_000), &updatable);
        let status = invalid_argument(&violations);
        let quoted = format!("\"{}…\"", "p".repeat(MAX_ECHO_CHARS - 1));
        let expected = format!(
            "update_mask.paths[3]: {quoted} is not an updatable field; use one of {}, or `*`",
            updatable.join(", ")
        );
        assert!(
            status.message().ends_with(&expected),
            "{}",
            status.message()
        );
    }
}
