//! Field checks the modules of this crate share.

use chancery_runtime::errors::Violations;

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
