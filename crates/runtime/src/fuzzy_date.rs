//! Fuzzy dates: parsing the EDTF subset Chancery accepts into a precision and UTC bounds.
//!
//! Stores keep `earliest` and `latest` (microseconds, inclusive) in indexed columns, so "what
//! overlaps March 2022" is two comparisons: `earliest <= range_end AND latest >= range_start`.

use chancery_proto::common::v1::{DatePrecision, FuzzyDate};

use crate::errors::Violations;
use crate::time::{micros_from_timestamp, timestamp_from_micros};

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// Longest `edtf` text accepted.
pub const MAX_EDTF_LEN: usize = 64;

/// A parsed fuzzy date: what the text means, as bounds in microseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// How precise the date is.
    pub precision: DatePrecision,
    /// First instant the date can denote.
    pub earliest: i64,
    /// Last instant the date can denote (inclusive).
    pub latest: i64,
    /// `?` or `%` was given.
    pub uncertain: bool,
    /// `~` or `%` was given.
    pub approximate: bool,
}

impl Bounds {
    /// Whether the two spans share at least one instant.
    pub fn overlaps(&self, other: &Bounds) -> bool {
        self.earliest <= other.latest && other.earliest <= self.latest
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

fn day_start(year: i64, month: i64, day: i64) -> i64 {
    days_from_civil(year, month, day) * MICROS_PER_DAY
}

/// Span from the first day of `(y1, m1)` to the last instant of `(y2, m2)`.
fn month_span(y1: i64, m1: i64, y2: i64, m2: i64) -> (i64, i64) {
    (
        day_start(y1, m1, 1),
        day_start(y2, m2, days_in_month(y2, m2)) + MICROS_PER_DAY - 1,
    )
}

fn number(text: &str, digits: usize, what: &str) -> Result<i64, String> {
    if text.len() != digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} must be {digits} digits (got {text:?})"));
    }
    text.parse().map_err(|_| format!("{what} is not a number"))
}

fn ranged(value: i64, low: i64, high: i64, what: &str) -> Result<i64, String> {
    if (low..=high).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{what} must be between {low} and {high} (got {value})"
        ))
    }
}

/// Parses one EDTF date (no interval, qualifiers already removed).
fn parse_point(text: &str) -> Result<(DatePrecision, i64, i64), String> {
    if let Some((date, time)) = text.split_once('T') {
        return parse_date_time(date, time);
    }
    let parts: Vec<&str> = text.split('-').collect();
    let year_text = parts[0];
    if year_text.len() == 4 && year_text.ends_with('X') && !year_text[..3].contains('X') {
        if parts.len() > 1 {
            return Err("a decade such as `202X` takes no month or day".into());
        }
        let decade = number(&year_text[..3], 3, "the decade")? * 10;
        let decade = ranged(decade, 1, 9990, "the year")?;
        let (earliest, _) = month_span(decade, 1, decade, 1);
        let (_, latest) = month_span(decade + 9, 12, decade + 9, 12);
        return Ok((DatePrecision::Decade, earliest, latest));
    }
    let year = ranged(number(year_text, 4, "the year")?, 1, 9999, "the year")?;
    match parts.len() {
        1 => {
            let (earliest, latest) = month_span(year, 1, year, 12);
            Ok((DatePrecision::Year, earliest, latest))
        }
        2 => {
            let month = number(parts[1], 2, "the month")?;
            match month {
                1..=12 => {
                    let (earliest, latest) = month_span(year, month, year, month);
                    Ok((DatePrecision::Month, earliest, latest))
                }
                21..=24 => {
                    // Northern-hemisphere meteorological seasons: spring is March to May, …,
                    // winter is December to February of the next year.
                    let first_month = 3 + (month - 21) * 3;
                    let (end_year, end_month) = if first_month + 2 > 12 {
                        (year + 1, first_month + 2 - 12)
                    } else {
                        (year, first_month + 2)
                    };
                    if end_year > 9999 {
                        return Err("the year must be at most 9999".into());
                    }
                    let (earliest, latest) = month_span(year, first_month, end_year, end_month);
                    Ok((DatePrecision::Season, earliest, latest))
                }
                _ => Err(format!(
                    "the month must be 01 to 12, or 21 to 24 for a season (got {:02})",
                    month
                )),
            }
        }
        3 => {
            let month = ranged(number(parts[1], 2, "the month")?, 1, 12, "the month")?;
            if parts[2] == "XX" {
                let (earliest, latest) = month_span(year, month, year, month);
                return Ok((DatePrecision::Month, earliest, latest));
            }
            let day = number(parts[2], 2, "the day")?;
            let day = ranged(day, 1, days_in_month(year, month), "the day of that month")?;
            let earliest = day_start(year, month, day);
            Ok((DatePrecision::Day, earliest, earliest + MICROS_PER_DAY - 1))
        }
        _ => Err("expected YYYY, YYYY-MM or YYYY-MM-DD".into()),
    }
}

fn parse_date_time(date: &str, time: &str) -> Result<(DatePrecision, i64, i64), String> {
    let (precision, day_earliest, _) = parse_point(date)?;
    if precision != DatePrecision::Day {
        return Err("a time needs a full date, YYYY-MM-DDThh:mm".into());
    }
    let (clock, offset_minutes) = if let Some(clock) = time.strip_suffix('Z') {
        (clock, 0)
    } else if let Some(index) = time.rfind(['+', '-']) {
        let (clock, offset) = time.split_at(index);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = offset[1..]
            .split_once(':')
            .ok_or("the UTC offset must be written ±hh:mm")?;
        let hours = ranged(
            number(hours, 2, "the offset hours")?,
            0,
            14,
            "the offset hours",
        )?;
        let minutes = ranged(
            number(minutes, 2, "the offset minutes")?,
            0,
            59,
            "the offset minutes",
        )?;
        (clock, sign * (hours * 60 + minutes))
    } else {
        (time, 0)
    };
    let fields: Vec<&str> = clock.split(':').collect();
    let hour = ranged(number(fields[0], 2, "the hour")?, 0, 23, "the hour")?;
    let minute = match fields.get(1) {
        Some(m) => ranged(number(m, 2, "the minute")?, 0, 59, "the minute")?,
        None => 0,
    };
    let second = match fields.get(2) {
        Some(s) => ranged(number(s, 2, "the second")?, 0, 59, "the second")?,
        None => 0,
    };
    if fields.len() > 3 {
        return Err("expected hh, hh:mm or hh:mm:ss".into());
    }
    let (precision, width) = match fields.len() {
        1 => (DatePrecision::Hour, 3600),
        2 => (DatePrecision::Minute, 60),
        _ => (DatePrecision::Second, 1),
    };
    let earliest =
        day_earliest + ((hour * 60 + minute - offset_minutes) * 60 + second) * MICROS_PER_SECOND;
    Ok((
        precision,
        earliest,
        earliest + width * MICROS_PER_SECOND - 1,
    ))
}

/// Parses the EDTF subset documented on `chancery.common.v1.FuzzyDate.edtf`.
pub fn parse(edtf: &str) -> Result<Bounds, String> {
    if edtf.len() > MAX_EDTF_LEN {
        return Err(format!("must be at most {MAX_EDTF_LEN} characters"));
    }
    let (text, uncertain, approximate) = match edtf.as_bytes().last() {
        Some(b'?') => (&edtf[..edtf.len() - 1], true, false),
        Some(b'~') => (&edtf[..edtf.len() - 1], false, true),
        Some(b'%') => (&edtf[..edtf.len() - 1], true, true),
        _ => (edtf, false, false),
    };
    if text.is_empty() {
        return Err("is required, such as `2022-03-29`".into());
    }
    let (precision, earliest, latest) = match text.split_once('/') {
        Some((start, end)) => {
            let (start_precision, earliest, _) = parse_point(start)?;
            let (end_precision, end_earliest, latest) = parse_point(end)?;
            if end_earliest < earliest {
                return Err("an interval must not end before it starts".into());
            }
            // The coarser end sets the precision of the whole interval.
            (start_precision.min(end_precision), earliest, latest)
        }
        None => parse_point(text)?,
    };
    Ok(Bounds {
        precision,
        earliest,
        latest,
        uncertain,
        approximate,
    })
}

/// Validates a fuzzy date sent by a client and returns it with its output-only fields derived
/// (`precision`, `earliest`, `latest`, `uncertain`, `approximate`), recording violations under
/// `field`. Output-only fields the client sent are ignored.
pub fn normalize(violations: &mut Violations, field: &str, date: &FuzzyDate) -> Option<FuzzyDate> {
    let edtf = date.edtf.trim();
    let bounds = match parse(edtf) {
        Ok(bounds) => Some(bounds),
        Err(problem) => {
            violations.add(
                format!("{field}.edtf"),
                format!("{problem} (got {:?})", date.edtf),
            );
            None
        }
    };
    if date.time_zone.len() > 64
        || !date
            .time_zone
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b))
    {
        violations.add(
            format!("{field}.time_zone"),
            "must be an IANA time zone name such as `Europe/Paris`",
        );
    }
    crate::text::check_optional(
        violations,
        &format!("{field}.as_reported"),
        &date.as_reported,
        200,
    );
    let bounds = bounds?;
    Some(FuzzyDate {
        edtf: edtf.to_owned(),
        precision: bounds.precision as i32,
        earliest: Some(timestamp_from_micros(bounds.earliest)),
        latest: Some(timestamp_from_micros(bounds.latest)),
        time_zone: date.time_zone.clone(),
        uncertain: bounds.uncertain,
        approximate: bounds.approximate,
        as_reported: date.as_reported.clone(),
        ..FuzzyDate::default()
    })
}

/// The bounds of a date already normalized by [`normalize`], in microseconds.
pub fn bounds_of(date: &FuzzyDate) -> (i64, i64) {
    let earliest = date
        .earliest
        .as_ref()
        .map_or(i64::MIN, micros_from_timestamp);
    let latest = date.latest.as_ref().map_or(i64::MAX, micros_from_timestamp);
    (earliest, latest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i64, m: i64, d: i64) -> i64 {
        day_start(y, m, d)
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2022, 3, 29), 19_080);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    #[test]
    fn days_months_years_and_seasons_have_their_bounds() {
        let day = parse("2022-03-29").unwrap();
        assert_eq!(day.precision, DatePrecision::Day);
        assert_eq!(
            (day.earliest, day.latest),
            (utc(2022, 3, 29), utc(2022, 3, 30) - 1)
        );

        let month = parse("2022-03").unwrap();
        assert_eq!(month.precision, DatePrecision::Month);
        assert_eq!(
            (month.earliest, month.latest),
            (utc(2022, 3, 1), utc(2022, 4, 1) - 1)
        );
        assert_eq!(parse("2022-03-XX").unwrap(), month);

        let february = parse("2024-02").unwrap();
        assert_eq!(february.latest, utc(2024, 3, 1) - 1);

        let year = parse("2022").unwrap();
        assert_eq!(
            (year.earliest, year.latest),
            (utc(2022, 1, 1), utc(2023, 1, 1) - 1)
        );

        let winter = parse("2022-24").unwrap();
        assert_eq!(winter.precision, DatePrecision::Season);
        assert_eq!(
            (winter.earliest, winter.latest),
            (utc(2022, 12, 1), utc(2023, 3, 1) - 1)
        );

        let decade = parse("202X").unwrap();
        assert_eq!(
            (decade.earliest, decade.latest),
            (utc(2020, 1, 1), utc(2030, 1, 1) - 1)
        );
    }

    #[test]
    fn times_honour_offsets_and_precision() {
        let minute = parse("2022-03-29T14:30+02:00").unwrap();
        assert_eq!(minute.precision, DatePrecision::Minute);
        let expected = utc(2022, 3, 29) + (12 * 60 + 30) * 60 * MICROS_PER_SECOND;
        assert_eq!(
            (minute.earliest, minute.latest),
            (expected, expected + 60 * MICROS_PER_SECOND - 1)
        );
        assert_eq!(parse("2022-03-29T12:30:00Z").unwrap().earliest, expected);
        assert_eq!(
            parse("2022-03-29T12Z").unwrap().precision,
            DatePrecision::Hour
        );
    }

    #[test]
    fn qualifiers_and_intervals() {
        let uncertain = parse("2022-03-29?").unwrap();
        assert!(uncertain.uncertain && !uncertain.approximate);
        let both = parse("2022-03%").unwrap();
        assert!(both.uncertain && both.approximate);
        let interval = parse("2022-03-10/2022-03-12").unwrap();
        assert_eq!(
            (interval.earliest, interval.latest),
            (utc(2022, 3, 10), utc(2022, 3, 13) - 1)
        );
        assert_eq!(interval.precision, DatePrecision::Day);
        assert_eq!(
            parse("2022/2022-03-12").unwrap().precision,
            DatePrecision::Year
        );
    }

    #[test]
    fn impossible_dates_are_refused_with_a_reason() {
        for bad in [
            "",
            "?",
            "22-03-29",
            "2022-13",
            "2022-02-30",
            "2023-02-29",
            "2022-00",
            "2022-3-29",
            "0000",
            "2022-03-29T24:00Z",
            "2022-03T10:00Z",
            "2022-03-12/2022-03-10",
            "march",
            "2022-03-29T10:00+15:00",
            "2022-25",
            "20XX",
            "2022-03-29/",
            "9999-24",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse(&"2".repeat(100)).unwrap_err().contains("at most"));
    }

    #[test]
    fn normalize_fills_output_fields_and_names_the_field() {
        let mut violations = Violations::default();
        let date = FuzzyDate {
            edtf: " 2022-03 ".into(),
            precision: DatePrecision::Second as i32,
            as_reported: "in March".into(),
            ..Default::default()
        };
        let normalized = normalize(&mut violations, "tenure.start", &date).unwrap();
        assert!(violations.is_empty());
        assert_eq!(normalized.edtf, "2022-03");
        assert_eq!(normalized.precision, DatePrecision::Month as i32);
        assert_eq!(
            bounds_of(&normalized),
            (utc(2022, 3, 1), utc(2022, 4, 1) - 1)
        );

        let bad = FuzzyDate {
            edtf: "2022-02-31".into(),
            time_zone: "Europe/Paris; DROP".into(),
            ..Default::default()
        };
        assert!(normalize(&mut violations, "tenure.start", &bad).is_none());
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["tenure.start.edtf", "tenure.start.time_zone"]);
    }

    #[test]
    fn overlap_is_symmetric_and_inclusive() {
        let march = parse("2022-03").unwrap();
        let day = parse("2022-03-31").unwrap();
        let april = parse("2022-04-01").unwrap();
        assert!(march.overlaps(&day) && day.overlaps(&march));
        assert!(!march.overlaps(&april));
    }
}
