//! Text handling shared by the services: folding names for case- and accent-insensitive search,
//! and the checks every free-text field goes through.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::errors::Violations;

/// Folds text for matching: compatibility-decomposes it, drops accents, lowercases it and spells
/// out the few letters that do not decompose (`ø`, `ß`, `æ`, `œ`, `ł`, `đ`). `Élysée` and
/// `ELYSEE` fold to the same `elysee`.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        match c {
            'ø' | 'Ø' => folded.push('o'),
            'ß' | 'ẞ' => folded.push_str("ss"),
            'æ' | 'Æ' => folded.push_str("ae"),
            'œ' | 'Œ' => folded.push_str("oe"),
            'ł' | 'Ł' => folded.push('l'),
            'đ' | 'Đ' => folded.push('d'),
            c => folded.extend(c.to_lowercase()),
        }
    }
    folded
}

/// Checks a required free-text field: present, at most `max_chars` characters, no control
/// characters. Records a violation on `field` for each problem.
pub fn check_required(violations: &mut Violations, field: &str, value: &str, max_chars: usize) {
    if value.trim().is_empty() {
        violations.add(field, "is required and must not be blank");
    } else {
        check_optional(violations, field, value, max_chars);
    }
}

/// Checks an optional free-text field: at most `max_chars` characters, no control characters
/// other than newlines and tabs.
pub fn check_optional(violations: &mut Violations, field: &str, value: &str, max_chars: usize) {
    let length = value.chars().count();
    if length > max_chars {
        violations.add(
            field,
            format!("must be at most {max_chars} characters (got {length})"),
        );
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        violations.add(field, "must not contain control characters");
    }
}

/// Checks a BCP 47 language tag loosely: 2–8 letter primary subtag, then alphanumeric subtags of
/// 1–8 characters separated by hyphens (`en`, `fr`, `ru-Latn`, `zh-Hant-TW`).
pub fn check_language_code(violations: &mut Violations, field: &str, value: &str) {
    let mut subtags = value.split('-');
    let primary_ok = subtags
        .next()
        .is_some_and(|s| (2..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphabetic()));
    let rest_ok =
        subtags.all(|s| (1..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric()));
    if !(primary_ok && rest_ok) {
        violations.add(
            field,
            format!("must be a BCP 47 language tag such as `en` or `ru-Latn` (got {value:?})"),
        );
    }
}

/// Checks an ISO 3166-1 alpha-3 country code: three capital ASCII letters.
pub fn check_country_alpha3(violations: &mut Violations, field: &str, value: &str) {
    if !(value.len() == 3 && value.chars().all(|c| c.is_ascii_uppercase())) {
        violations.add(
            field,
            format!("must be an ISO 3166-1 alpha-3 code such as `FRA` (got {value:?})"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_and_accents() {
        assert_eq!(fold("Élysée"), "elysee");
        assert_eq!(fold("ELYSEE"), "elysee");
        assert_eq!(fold("Anne-Claire Legendre"), "anne-claire legendre");
        assert_eq!(fold("Straße Łódź Øresund"), "strasse lodz oresund");
        // Cyrillic folds too: the breve of й goes like any accent.
        assert_eq!(fold("Сергей"), fold("СЕРГЕИ"));
    }

    #[test]
    fn text_checks_name_the_field() {
        let mut violations = Violations::default();
        check_required(&mut violations, "actor.display_name", "  ", 10);
        check_optional(&mut violations, "actor.description", "a\u{0}b", 10);
        check_optional(&mut violations, "actor.description", "far too long", 5);
        check_language_code(&mut violations, "actor.names[0].language_code", "english!");
        check_country_alpha3(&mut violations, "actor.country", "fr");
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "actor.display_name",
                "actor.description",
                "actor.description",
                "actor.names[0].language_code",
                "actor.country"
            ]
        );
        let mut fine = Violations::default();
        check_language_code(&mut fine, "f", "ru-Latn");
        check_country_alpha3(&mut fine, "f", "FRA");
        check_required(&mut fine, "f", "Olaf Scholz", 200);
        assert!(fine.is_empty());
    }
}
