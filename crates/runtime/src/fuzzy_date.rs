//! Fuzzy dates: parsing the EDTF subset Chancery accepts into a precision and UTC bounds.
//!
//! Accepted forms (see `chancery.common.v1.FuzzyDate.edtf`): a decade `202X`, a year `2022`, a
//! season `2022-21`..`2022-24`, a month `2022-03` or `2022-03-XX`, a day `2022-03-29`, an hour,
//! minute or second `2022-03-29T14:30:05+01:00`, and an interval of two of them,
//! `2022-03-10/2022-03-12`. Either end of an interval may be open (`..`: `../2022-05-03`,
//! `2021/..`) or unknown (nothing: `/2022-05-03`, `2021/`); both mean the same for the bounds,
//! and an interval needs at least one known end.
//!
//! Qualifiers: `?` uncertain, `~` approximate, `%` both. A trailing qualifier applies to the
//! whole date, or to the whole interval; the start of an interval may also carry its own, just
//! before the `/` (`2022-03-10~/2022-03-12`, `2021?/2022`). The end of an interval has no
//! qualifier of its own, since a trailing one already qualifies the whole interval.
//!
//! Approximation widens the bounds by one unit of the precision on each side: a day, a month,
//! a season (three months), a year, a decade (ten years), an hour, a minute or a second.
//! Months and years are calendar units, so `2022-01~` runs from 1 December 2021 to the end of
//! February 2022. A `~` on the start of an interval widens only the start (earlier); a `~` on
//! the whole interval widens the start earlier and the end later, each by its own unit. `?`
//! never changes the bounds. Known bounds are kept within 0001-01-01T00:00:00Z and
//! 9999-12-31T23:59:59.999999Z, the range of a protobuf `Timestamp`.
//!
//! A date the text does not give has `source` DATE_SOURCE_UNKNOWN and an empty `edtf`: it has
//! no precision and no bounds.
//!
//! Stores keep `earliest` and `latest` (microseconds, inclusive) in indexed columns, so "what
//! overlaps March 2022" is two comparisons: `earliest <= range_end AND latest >= range_start`.
//! An open or unknown bound is [`i64::MIN`] or [`i64::MAX`] there (see [`bounds_of`]), so such a
//! date may fall anywhere on that side and overlaps every range it could reach.

use chancery_proto::common::v1::{DatePrecision, DateSource, FuzzyDate};

use crate::errors::Violations;
use crate::time::{micros_from_timestamp, timestamp_from_micros};

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// 0001-01-01T00:00:00Z, the first instant a protobuf `Timestamp` can hold, in microseconds.
const MIN_INSTANT: i64 = -62_135_596_800 * MICROS_PER_SECOND;
/// 9999-12-31T23:59:59.999999Z, the last instant a protobuf `Timestamp` can hold (to the
/// microsecond).
const MAX_INSTANT: i64 = 253_402_300_800 * MICROS_PER_SECOND - 1;
/// Longest `edtf` text accepted.
pub const MAX_EDTF_LEN: usize = 64;

/// A parsed fuzzy date: what the text means, as bounds in microseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// How precise the date is; for an interval, the coarser of its known ends.
    pub precision: DatePrecision,
    /// First instant the date can denote; [`i64::MIN`] for an interval with an open or unknown
    /// start.
    pub earliest: i64,
    /// Last instant the date can denote (inclusive); [`i64::MAX`] for an interval with an open
    /// or unknown end.
    pub latest: i64,
    /// `?` or `%` was given, on the whole date or on the start of an interval.
    pub uncertain: bool,
    /// `~` or `%` was given, on the whole date or on the start of an interval.
    pub approximate: bool,
    /// For an interval, the precision of its start; unspecified for an open or unknown start
    /// and for a date that is not an interval.
    pub start_precision: DatePrecision,
    /// For an interval, the precision of its end; unspecified for an open or unknown end and
    /// for a date that is not an interval.
    pub end_precision: DatePrecision,
}

impl Bounds {
    /// Whether the two spans share at least one instant.
    pub fn overlaps(&self, other: &Bounds) -> bool {
        self.earliest <= other.latest && other.earliest <= self.latest
    }

    /// Whether the date is an interval whose start is open or unknown (no earliest instant).
    pub fn open_start(&self) -> bool {
        self.earliest == i64::MIN
    }

    /// Whether the date is an interval whose end is open or unknown (no latest instant).
    pub fn open_end(&self) -> bool {
        self.latest == i64::MAX
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

/// The proleptic Gregorian `(year, month, day)` of a count of days from 1970-01-01: the inverse
/// of [`days_from_civil`], on the same March-based 400-year eras.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The calendar month `months` months after (or, negative, before) `(year, month)`.
fn add_months(year: i64, month: i64, months: i64) -> (i64, i64) {
    let index = year * 12 + (month - 1) + months;
    (index.div_euclid(12), index.rem_euclid(12) + 1)
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

/// `problem` with the input it is about, named once: a problem that already quotes the whole
/// `edtf` (`the year must be 4 digits (got "march")`) is left as it is.
fn with_input(problem: String, edtf: &str) -> String {
    let got = format!("(got {edtf:?})");
    if problem.contains(&got) {
        problem
    } else {
        format!("{problem} {got}")
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

/// How far approximation moves a bound of the given precision: calendar months, or a fixed
/// number of microseconds.
enum Unit {
    Months(i64),
    Micros(i64),
}

fn unit_of(precision: DatePrecision) -> Unit {
    match precision {
        DatePrecision::Decade => Unit::Months(120),
        DatePrecision::Year => Unit::Months(12),
        DatePrecision::Season => Unit::Months(3),
        DatePrecision::Month => Unit::Months(1),
        DatePrecision::Day => Unit::Micros(MICROS_PER_DAY),
        DatePrecision::Hour => Unit::Micros(3_600 * MICROS_PER_SECOND),
        DatePrecision::Minute => Unit::Micros(60 * MICROS_PER_SECOND),
        DatePrecision::Second | DatePrecision::Unspecified => Unit::Micros(MICROS_PER_SECOND),
    }
}

/// Moves `earliest`, the first instant of a date of `precision`, one unit earlier. For the
/// calendar precisions `earliest` is the first instant of a month (UTC), and stays one.
fn widen_earlier(precision: DatePrecision, earliest: i64) -> i64 {
    match unit_of(precision) {
        Unit::Months(months) => {
            let (year, month, _) = civil_from_days(earliest.div_euclid(MICROS_PER_DAY));
            let (year, month) = add_months(year, month, -months);
            day_start(year, month, 1)
        }
        Unit::Micros(micros) => earliest - micros,
    }
}

/// Moves `latest`, the last instant of a date of `precision`, one unit later. For the calendar
/// precisions `latest` is the last instant of a month (UTC), and stays one.
fn widen_later(precision: DatePrecision, latest: i64) -> i64 {
    match unit_of(precision) {
        Unit::Months(months) => {
            let (year, month, _) = civil_from_days(latest.div_euclid(MICROS_PER_DAY));
            let (year, month) = add_months(year, month, months);
            day_start(year, month, days_in_month(year, month)) + MICROS_PER_DAY - 1
        }
        Unit::Micros(micros) => latest + micros,
    }
}

/// The qualifiers written after a date or an interval end.
#[derive(Debug, Clone, Copy, Default)]
struct Qualifier {
    uncertain: bool,
    approximate: bool,
}

/// Splits one trailing `?`, `~` or `%` off `text`.
fn strip_qualifier(text: &str) -> (&str, Qualifier) {
    let (uncertain, approximate) = match text.as_bytes().last() {
        Some(b'?') => (true, false),
        Some(b'~') => (false, true),
        Some(b'%') => (true, true),
        _ => return (text, Qualifier::default()),
    };
    (
        &text[..text.len() - 1],
        Qualifier {
            uncertain,
            approximate,
        },
    )
}

/// A known end of an interval, or a date that is not one.
#[derive(Debug, Clone, Copy)]
struct Point {
    precision: DatePrecision,
    earliest: i64,
    latest: i64,
}

fn point(text: &str) -> Result<Point, String> {
    let (precision, earliest, latest) = parse_point(text)?;
    Ok(Point {
        precision,
        earliest,
        latest,
    })
}

/// Parses one end of an interval: `None` when it is open (`..`) or unknown (empty). Only the
/// start may carry a qualifier of its own.
fn parse_end(text: &str, which: &str) -> Result<Option<(Point, Qualifier)>, String> {
    if text.is_empty() || text == ".." {
        return Ok(None);
    }
    let (date, qualifier) = strip_qualifier(text);
    if date.len() != text.len() {
        if which == "end" {
            return Err(
                "the end of an interval takes no qualifier of its own: a trailing `?`, `~` or `%` \
                 qualifies the whole interval"
                    .into(),
            );
        }
        if date.is_empty() || date == ".." {
            return Err("an open or unknown start takes no qualifier".into());
        }
    }
    let point = point(date).map_err(|problem| format!("the {which} of the interval: {problem}"))?;
    Ok(Some((point, qualifier)))
}

/// Keeps a known bound within the range of a protobuf `Timestamp`.
fn clamp_instant(micros: i64) -> i64 {
    micros.clamp(MIN_INSTANT, MAX_INSTANT)
}

/// Parses the EDTF subset documented on `chancery.common.v1.FuzzyDate.edtf` (and in this
/// module's documentation), approximation included in the bounds.
pub fn parse(edtf: &str) -> Result<Bounds, String> {
    if edtf.len() > MAX_EDTF_LEN {
        return Err(format!("must be at most {MAX_EDTF_LEN} characters"));
    }
    let (text, whole) = strip_qualifier(edtf);
    if text.is_empty() {
        return Err("is required, such as `2022-03-29`".into());
    }
    let Some((start, end)) = text.split_once('/') else {
        if text == ".." {
            return Err("`..` is an open end of an interval, such as `../2022-05-03`".into());
        }
        let date = point(text)?;
        let (earliest, latest) = if whole.approximate {
            (
                widen_earlier(date.precision, date.earliest),
                widen_later(date.precision, date.latest),
            )
        } else {
            (date.earliest, date.latest)
        };
        return Ok(Bounds {
            precision: date.precision,
            earliest: clamp_instant(earliest),
            latest: clamp_instant(latest),
            uncertain: whole.uncertain,
            approximate: whole.approximate,
            start_precision: DatePrecision::Unspecified,
            end_precision: DatePrecision::Unspecified,
        });
    };
    if end.contains('/') {
        return Err("an interval has a single `/`".into());
    }
    let start = parse_end(start, "start")?;
    let end = parse_end(end, "end")?;
    let precision =
        match (start, end) {
            (None, None) => return Err(
                "an interval needs at least one known end, such as `../2022-05-03` or `2021/..`"
                    .into(),
            ),
            (Some((start, _)), Some((end, _))) => {
                if end.earliest < start.earliest {
                    return Err("an interval must not end before it starts".into());
                }
                // The coarser end sets the precision of the whole interval.
                start.precision.min(end.precision)
            }
            (Some((known, _)), None) | (None, Some((known, _))) => known.precision,
        };
    let earliest = start.map_or(i64::MIN, |(date, own)| {
        let earliest = if own.approximate || whole.approximate {
            widen_earlier(date.precision, date.earliest)
        } else {
            date.earliest
        };
        clamp_instant(earliest)
    });
    let latest = end.map_or(i64::MAX, |(date, _)| {
        let latest = if whole.approximate {
            widen_later(date.precision, date.latest)
        } else {
            date.latest
        };
        clamp_instant(latest)
    });
    let start_qualifier = start.map(|(_, own)| own).unwrap_or_default();
    Ok(Bounds {
        precision,
        earliest,
        latest,
        uncertain: whole.uncertain || start_qualifier.uncertain,
        approximate: whole.approximate || start_qualifier.approximate,
        start_precision: start.map_or(DatePrecision::Unspecified, |(date, _)| date.precision),
        end_precision: end.map_or(DatePrecision::Unspecified, |(date, _)| date.precision),
    })
}

/// Validates a fuzzy date sent by a client and returns it with its output-only fields derived
/// (`precision`, `start_precision`, `end_precision`, `earliest`, `latest`, `uncertain`,
/// `approximate`), recording violations under `field`. Output-only fields the client sent are
/// ignored; `source`, `time_zone` and `as_reported` are kept.
///
/// A date with `source` DATE_SOURCE_UNKNOWN must have an empty `edtf`, and comes back with no
/// precision and no `earliest` or `latest`. An interval open or unknown at one end comes back
/// without the bound of that end.
pub fn normalize(violations: &mut Violations, field: &str, date: &FuzzyDate) -> Option<FuzzyDate> {
    let edtf = date.edtf.trim();
    let source = match DateSource::try_from(date.source) {
        Ok(source) => Some(source),
        Err(_) => {
            violations.add(
                format!("{field}.source"),
                format!("unknown value {}", date.source),
            );
            None
        }
    };
    // `Some(None)`: a valid unknown date; `None`: refused.
    let bounds = if source == Some(DateSource::Unknown) {
        if edtf.is_empty() {
            Some(None)
        } else {
            violations.add(
                format!("{field}.edtf"),
                format!(
                    "must be empty when source is DATE_SOURCE_UNKNOWN (got {:?})",
                    date.edtf
                ),
            );
            None
        }
    } else {
        match parse(edtf) {
            Ok(bounds) => Some(Some(bounds)),
            Err(problem) => {
                violations.add(format!("{field}.edtf"), with_input(problem, edtf));
                None
            }
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
    let source = source?;
    let normalized = FuzzyDate {
        edtf: edtf.to_owned(),
        time_zone: date.time_zone.clone(),
        as_reported: date.as_reported.clone(),
        source: source as i32,
        ..FuzzyDate::default()
    };
    let Some(bounds) = bounds? else {
        return Some(normalized);
    };
    Some(FuzzyDate {
        precision: bounds.precision as i32,
        start_precision: bounds.start_precision as i32,
        end_precision: bounds.end_precision as i32,
        earliest: (!bounds.open_start()).then(|| timestamp_from_micros(bounds.earliest)),
        latest: (!bounds.open_end()).then(|| timestamp_from_micros(bounds.latest)),
        uncertain: bounds.uncertain,
        approximate: bounds.approximate,
        ..normalized
    })
}

/// Whether the date is one the text does not give: `source` is DATE_SOURCE_UNKNOWN. Once
/// normalized, such a date has no `edtf`, no precision and no bounds, so it may fall anywhere
/// ([`bounds_of`] answers `(i64::MIN, i64::MAX)`).
pub fn is_unknown(date: &FuzzyDate) -> bool {
    date.source == DateSource::Unknown as i32
}

/// The bounds of a date already normalized by [`normalize`], in microseconds: an unset
/// `earliest` (an unknown date, or an interval open at its start) is [`i64::MIN`], an unset
/// `latest` (an unknown date, or an interval open at its end) is [`i64::MAX`].
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

    const HOUR: i64 = 3_600 * MICROS_PER_SECOND;
    const MINUTE: i64 = 60 * MICROS_PER_SECOND;

    fn span(edtf: &str) -> (i64, i64) {
        let bounds = parse(edtf).unwrap_or_else(|e| panic!("{edtf:?}: {e}"));
        (bounds.earliest, bounds.latest)
    }

    fn refusal(edtf: &str) -> String {
        match parse(edtf) {
            Ok(bounds) => panic!("{edtf:?} should be refused, got {bounds:?}"),
            Err(problem) => problem,
        }
    }

    fn fields(violations: &Violations) -> Vec<(&str, &str)> {
        violations
            .iter()
            .map(|v| (v.field.as_str(), v.description.as_str()))
            .collect()
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2022, 3, 29), 19_080);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    #[test]
    fn civil_from_days_inverts_days_from_civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(19_080), (2022, 3, 29));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        // Every day from year 0 to year 10000, through leap and century years.
        let first = days_from_civil(0, 1, 1);
        let last = days_from_civil(10_000, 12, 31);
        let mut expected = (0, 1, 1);
        for days in first..=last {
            assert_eq!(civil_from_days(days), expected, "day {days}");
            let (y, m, d) = expected;
            expected = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }

    #[test]
    fn month_arithmetic_crosses_years() {
        assert_eq!(add_months(2022, 1, -1), (2021, 12));
        assert_eq!(add_months(2022, 12, 1), (2023, 1));
        assert_eq!(add_months(2022, 3, -120), (2012, 3));
        assert_eq!(add_months(2022, 11, 3), (2023, 2));
        assert_eq!(add_months(1, 1, -1), (0, 12));
    }

    #[test]
    fn timestamp_limits_are_year_one_and_year_9999() {
        assert_eq!(MIN_INSTANT, utc(1, 1, 1));
        assert_eq!(MAX_INSTANT, utc(10_000, 1, 1) - 1);
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
    fn uncertainty_alone_keeps_the_bounds() {
        assert_eq!(span("2022-03-29?"), span("2022-03-29"));
        assert_eq!(span("2022?"), span("2022"));
        assert_eq!(span("2021?/2022"), span("2021/2022"));
    }

    #[test]
    fn approximate_day_widens_by_one_day() {
        let around = parse("2022-03-29~").unwrap();
        assert!(around.approximate && !around.uncertain);
        assert_eq!(around.precision, DatePrecision::Day);
        assert_eq!(
            (around.earliest, around.latest),
            (utc(2022, 3, 28), utc(2022, 3, 31) - 1)
        );
        // `%` is approximate as well as uncertain, so it widens too.
        let both = parse("2022-03-29%").unwrap();
        assert!(both.approximate && both.uncertain);
        assert_eq!(
            (both.earliest, both.latest),
            (around.earliest, around.latest)
        );
    }

    #[test]
    fn approximate_day_widens_across_month_and_year_edges() {
        assert_eq!(
            span("2022-12-31~"),
            (utc(2022, 12, 30), utc(2023, 1, 2) - 1)
        );
        assert_eq!(
            span("2022-01-01~"),
            (utc(2021, 12, 31), utc(2022, 1, 3) - 1)
        );
        assert_eq!(span("2024-03-01~"), (utc(2024, 2, 29), utc(2024, 3, 3) - 1));
        assert_eq!(span("2023-02-28~"), (utc(2023, 2, 27), utc(2023, 3, 2) - 1));
    }

    #[test]
    fn approximate_month_widens_by_one_calendar_month() {
        assert_eq!(span("2022-03~"), (utc(2022, 2, 1), utc(2022, 5, 1) - 1));
        assert_eq!(span("2022-01~"), (utc(2021, 12, 1), utc(2022, 3, 1) - 1));
        assert_eq!(span("2022-12~"), (utc(2022, 11, 1), utc(2023, 2, 1) - 1));
        // The month after January 2024 is a leap February.
        assert_eq!(span("2024-01~"), (utc(2023, 12, 1), utc(2024, 3, 1) - 1));
        assert_eq!(span("2022-03-XX~"), span("2022-03~"));
        assert_eq!(parse("2022-03~").unwrap().precision, DatePrecision::Month);
    }

    #[test]
    fn approximate_year_season_and_decade_widen_by_their_unit() {
        assert_eq!(span("2022~"), (utc(2021, 1, 1), utc(2024, 1, 1) - 1));
        // Winter 2022 (December 2022 to February 2023) give or take a season: autumn 2022 to
        // spring 2023.
        assert_eq!(span("2022-24~"), (utc(2022, 9, 1), utc(2023, 6, 1) - 1));
        // Spring 2022 (March to May): winter 2021 to summer 2022.
        assert_eq!(span("2022-21~"), (utc(2021, 12, 1), utc(2022, 9, 1) - 1));
        assert_eq!(span("202X~"), (utc(2010, 1, 1), utc(2040, 1, 1) - 1));
    }

    #[test]
    fn approximate_times_widen_by_their_unit() {
        let two_pm = utc(2022, 3, 29) + 14 * HOUR;
        assert_eq!(
            span("2022-03-29T14Z~"),
            (two_pm - HOUR, two_pm + 2 * HOUR - 1)
        );
        let half_past = two_pm + 30 * MINUTE;
        assert_eq!(
            span("2022-03-29T14:30Z~"),
            (half_past - MINUTE, half_past + 2 * MINUTE - 1)
        );
        let second = half_past + 5 * MICROS_PER_SECOND;
        assert_eq!(
            span("2022-03-29T14:30:05Z~"),
            (
                second - MICROS_PER_SECOND,
                second + 2 * MICROS_PER_SECOND - 1
            )
        );
        // 23:30 on New Year's Eve, give or take a minute, runs into the new year.
        let late = utc(2023, 1, 1) - 30 * MINUTE;
        assert_eq!(
            span("2022-12-31T23:30+00:00~"),
            (late - MINUTE, late + 2 * MINUTE - 1)
        );
        assert_eq!(
            span("2022-12-31T23:59Z~"),
            (utc(2023, 1, 1) - 2 * MINUTE, utc(2023, 1, 1) + MINUTE - 1)
        );
    }

    #[test]
    fn approximate_bounds_stay_within_timestamp_range() {
        // Year 0 is outside the range: the widened start stops at 1 January of year 1.
        assert_eq!(span("0001~"), (MIN_INSTANT, utc(3, 1, 1) - 1));
        assert_eq!(span("9999-12-31~"), (utc(9999, 12, 30), MAX_INSTANT));
        assert_eq!(span("0001-01~").0, MIN_INSTANT);
    }

    #[test]
    fn a_qualified_start_widens_only_the_start() {
        let interval = parse("2022-03-10~/2022-03-12").unwrap();
        assert!(interval.approximate && !interval.uncertain);
        assert_eq!(
            (interval.earliest, interval.latest),
            (utc(2022, 3, 9), utc(2022, 3, 13) - 1)
        );
        // The start widens by its own unit, a month, and the end keeps its bound.
        assert_eq!(
            span("2022-03~/2022-04-10"),
            (utc(2022, 2, 1), utc(2022, 4, 11) - 1)
        );
        let unsure = parse("2021?/2022").unwrap();
        assert!(unsure.uncertain && !unsure.approximate);
    }

    #[test]
    fn a_qualified_interval_widens_both_ends_by_their_own_unit() {
        let interval = parse("2022-03-10/2022-03-12~").unwrap();
        assert!(interval.approximate);
        assert_eq!(
            (interval.earliest, interval.latest),
            (utc(2022, 3, 9), utc(2022, 3, 14) - 1)
        );
        assert_eq!(
            span("2021/2022-12-31~"),
            (utc(2020, 1, 1), utc(2023, 1, 2) - 1)
        );
        // The start's own `~` and the whole interval's do not add up.
        assert_eq!(
            span("2022-03-10~/2022-03-12~"),
            span("2022-03-10/2022-03-12~")
        );
        let mixed = parse("2022-03-10?/2022-03-12~").unwrap();
        assert!(mixed.uncertain && mixed.approximate);
    }

    #[test]
    fn intervals_keep_the_precision_of_each_end() {
        let interval = parse("2021/2022-03-12").unwrap();
        assert_eq!(interval.precision, DatePrecision::Year);
        assert_eq!(interval.start_precision, DatePrecision::Year);
        assert_eq!(interval.end_precision, DatePrecision::Day);
        let reversed = parse("2022-03-12T10:00Z/2022-04").unwrap();
        assert_eq!(reversed.precision, DatePrecision::Month);
        assert_eq!(reversed.start_precision, DatePrecision::Minute);
        assert_eq!(reversed.end_precision, DatePrecision::Month);
        let single = parse("2022-03-12").unwrap();
        assert_eq!(single.start_precision, DatePrecision::Unspecified);
        assert_eq!(single.end_precision, DatePrecision::Unspecified);
    }

    #[test]
    fn open_and_unknown_ends_leave_that_side_unbounded() {
        let before = parse("../2022-05-03").unwrap();
        assert_eq!(
            (before.earliest, before.latest),
            (i64::MIN, utc(2022, 5, 4) - 1)
        );
        assert!(before.open_start() && !before.open_end());
        assert_eq!(before.precision, DatePrecision::Day);
        assert_eq!(before.start_precision, DatePrecision::Unspecified);
        assert_eq!(before.end_precision, DatePrecision::Day);
        assert_eq!(parse("/2022-05-03").unwrap(), before);

        let after = parse("2021/..").unwrap();
        assert_eq!((after.earliest, after.latest), (utc(2021, 1, 1), i64::MAX));
        assert!(!after.open_start() && after.open_end());
        assert_eq!(after.precision, DatePrecision::Year);
        assert_eq!(after.start_precision, DatePrecision::Year);
        assert_eq!(after.end_precision, DatePrecision::Unspecified);
        assert_eq!(parse("2021/").unwrap(), after);

        // An open interval overlaps everything on its open side.
        assert!(before.overlaps(&parse("0001").unwrap()));
        assert!(!before.overlaps(&parse("2022-05-04").unwrap()));
        assert!(after.overlaps(&parse("9999").unwrap()));
        assert!(!after.overlaps(&parse("2020-12-31").unwrap()));
    }

    #[test]
    fn approximation_of_a_half_open_interval_widens_its_known_end() {
        assert_eq!(span("../2022-05-03~"), (i64::MIN, utc(2022, 5, 5) - 1));
        assert_eq!(span("2021/..~"), (utc(2020, 1, 1), i64::MAX));
        assert_eq!(span("2021~/.."), (utc(2020, 1, 1), i64::MAX));
        assert_eq!(span("2021~/"), (utc(2020, 1, 1), i64::MAX));
        assert!(parse("../2022?").unwrap().uncertain);
    }

    #[test]
    fn an_interval_needs_a_known_end() {
        for both_open in ["../..", "/", "../", "/..", "../..~", "/?"] {
            assert!(
                refusal(both_open).contains("at least one known end"),
                "{both_open:?}: {}",
                refusal(both_open)
            );
        }
        assert!(refusal("..").contains("open end of an interval"));
        assert!(refusal("..~/2022").contains("open or unknown start"));
        assert!(refusal("~/2022").contains("open or unknown start"));
    }

    #[test]
    fn the_end_of_an_interval_has_no_qualifier_of_its_own() {
        assert!(refusal("2021/2022~?").contains("qualifies the whole interval"));
        assert!(refusal("2021/2022~~").contains("qualifies the whole interval"));
    }

    #[test]
    fn impossible_dates_are_refused_with_a_reason() {
        for bad in [
            "",
            "?",
            "~",
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
            "2022-03-12~/2022-03-11",
            "march",
            "2022-03-29T10:00+15:00",
            "2022-25",
            "20XX",
            "9999-24",
            "2022??",
            "2022~~",
            "2022??~",
            "2022-03-29/2022-03-30/2022-03-31",
            "2021//2022",
            "2022/march",
            "...",
            ".../2022",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse(&"2".repeat(100)).unwrap_err().contains("at most"));
        assert!(refusal("2022/march").contains("the end of the interval"));
        assert!(refusal("2022-03-12/2022-03-10").contains("end before it starts"));
    }

    #[test]
    fn a_refused_date_names_its_input_once() {
        for (edtf, expected) in [
            ("march", "the year must be 4 digits (got \"march\")"),
            (" 22 ", "the year must be 4 digits (got \"22\")"),
            (
                "2022-3-29",
                "the month must be 2 digits (got \"3\") (got \"2022-3-29\")",
            ),
            (
                "2022/march",
                "the end of the interval: the year must be 4 digits (got \"march\") \
                 (got \"2022/march\")",
            ),
            (
                "2022-13",
                "the month must be 01 to 12, or 21 to 24 for a season (got 13) (got \"2022-13\")",
            ),
        ] {
            let mut violations = Violations::default();
            let date = FuzzyDate {
                edtf: edtf.into(),
                ..Default::default()
            };
            assert!(normalize(&mut violations, "occurred", &date).is_none());
            assert_eq!(
                fields(&violations),
                [("occurred.edtf", expected)],
                "{edtf:?}"
            );
            let input = format!("{:?}", edtf.trim());
            assert_eq!(expected.matches(&input).count(), 1, "{expected}");
        }
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
        assert_eq!(normalized.source, DateSource::Unspecified as i32);
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
    fn normalize_copies_the_source_and_ignores_sent_output_fields() {
        let mut violations = Violations::default();
        let sent = FuzzyDate {
            edtf: "2021/2022-03-12~".into(),
            source: DateSource::InferredFromDateline as i32,
            precision: DatePrecision::Second as i32,
            start_precision: DatePrecision::Second as i32,
            end_precision: DatePrecision::Decade as i32,
            earliest: Some(timestamp_from_micros(0)),
            latest: Some(timestamp_from_micros(1)),
            uncertain: true,
            approximate: false,
            as_reported: "on Friday".into(),
            time_zone: "Europe/Paris".into(),
        };
        let normalized = normalize(&mut violations, "said", &sent).unwrap();
        assert!(violations.is_empty(), "{violations}");
        assert_eq!(
            normalized,
            FuzzyDate {
                edtf: "2021/2022-03-12~".into(),
                source: DateSource::InferredFromDateline as i32,
                precision: DatePrecision::Year as i32,
                start_precision: DatePrecision::Year as i32,
                end_precision: DatePrecision::Day as i32,
                earliest: Some(timestamp_from_micros(utc(2020, 1, 1))),
                latest: Some(timestamp_from_micros(utc(2022, 3, 14) - 1)),
                uncertain: false,
                approximate: true,
                as_reported: "on Friday".into(),
                time_zone: "Europe/Paris".into(),
            }
        );
        for source in [
            DateSource::Stated,
            DateSource::InferredFromContext,
            DateSource::Unspecified,
        ] {
            let date = FuzzyDate {
                edtf: "2022".into(),
                source: source as i32,
                ..Default::default()
            };
            let normalized = normalize(&mut violations, "said", &date).unwrap();
            assert_eq!(normalized.source, source as i32);
            assert_eq!(normalized.start_precision, 0);
            assert_eq!(normalized.end_precision, 0);
            assert!(!is_unknown(&normalized));
        }
        assert!(violations.is_empty());
    }

    #[test]
    fn normalize_leaves_an_open_end_unset() {
        let mut violations = Violations::default();
        let date = FuzzyDate {
            edtf: "../2022-05-03".into(),
            earliest: Some(timestamp_from_micros(0)),
            ..Default::default()
        };
        let normalized = normalize(&mut violations, "d", &date).unwrap();
        assert!(violations.is_empty());
        assert_eq!(normalized.earliest, None);
        assert_eq!(
            normalized.latest,
            Some(timestamp_from_micros(utc(2022, 5, 4) - 1))
        );
        assert_eq!(normalized.precision, DatePrecision::Day as i32);
        assert_eq!(normalized.start_precision, 0);
        assert_eq!(normalized.end_precision, DatePrecision::Day as i32);
        assert_eq!(bounds_of(&normalized), (i64::MIN, utc(2022, 5, 4) - 1));

        let from = normalize(
            &mut violations,
            "d",
            &FuzzyDate {
                edtf: "2021/".into(),
                latest: Some(timestamp_from_micros(0)),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(from.latest, None);
        assert_eq!(bounds_of(&from), (utc(2021, 1, 1), i64::MAX));
        assert!(violations.is_empty());
    }

    #[test]
    fn an_unknown_date_has_no_precision_and_no_bounds() {
        let mut violations = Violations::default();
        let date = FuzzyDate {
            edtf: " ".into(),
            source: DateSource::Unknown as i32,
            precision: DatePrecision::Day as i32,
            earliest: Some(timestamp_from_micros(0)),
            latest: Some(timestamp_from_micros(1)),
            approximate: true,
            as_reported: "one day".into(),
            time_zone: "Europe/Kyiv".into(),
            ..Default::default()
        };
        let normalized = normalize(&mut violations, "said", &date).unwrap();
        assert!(violations.is_empty(), "{violations}");
        assert_eq!(
            normalized,
            FuzzyDate {
                source: DateSource::Unknown as i32,
                as_reported: "one day".into(),
                time_zone: "Europe/Kyiv".into(),
                ..Default::default()
            }
        );
        assert!(is_unknown(&normalized));
        assert_eq!(bounds_of(&normalized), (i64::MIN, i64::MAX));
    }

    #[test]
    fn an_unknown_date_must_not_give_a_date() {
        let mut violations = Violations::default();
        let date = FuzzyDate {
            edtf: "2022-03-29".into(),
            source: DateSource::Unknown as i32,
            ..Default::default()
        };
        assert!(normalize(&mut violations, "said", &date).is_none());
        assert_eq!(
            fields(&violations),
            [(
                "said.edtf",
                "must be empty when source is DATE_SOURCE_UNKNOWN (got \"2022-03-29\")"
            )]
        );
    }

    #[test]
    fn an_empty_date_is_required_unless_unknown() {
        for source in [DateSource::Unspecified, DateSource::Stated] {
            let mut violations = Violations::default();
            let date = FuzzyDate {
                source: source as i32,
                ..Default::default()
            };
            assert!(normalize(&mut violations, "said", &date).is_none());
            let found = fields(&violations);
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].0, "said.edtf");
            assert!(found[0].1.starts_with("is required"), "{}", found[0].1);
        }
    }

    #[test]
    fn an_unknown_source_value_is_refused_on_the_source_field() {
        for value in [5, -1, i32::MAX] {
            let mut violations = Violations::default();
            let date = FuzzyDate {
                edtf: "2022".into(),
                source: value,
                ..Default::default()
            };
            assert!(normalize(&mut violations, "said", &date).is_none());
            assert_eq!(
                fields(&violations),
                [("said.source", format!("unknown value {value}").as_str())]
            );
        }
    }

    #[test]
    fn normalize_is_idempotent() {
        for (edtf, source) in [
            ("2022-03-29~", DateSource::Stated),
            ("../2022-05-03", DateSource::Unspecified),
            ("2021~/", DateSource::InferredFromContext),
            ("2021?/2022-03~", DateSource::InferredFromDateline),
            ("", DateSource::Unknown),
        ] {
            let mut violations = Violations::default();
            let date = FuzzyDate {
                edtf: edtf.into(),
                source: source as i32,
                ..Default::default()
            };
            let once = normalize(&mut violations, "d", &date).unwrap();
            let twice = normalize(&mut violations, "d", &once).unwrap();
            assert!(violations.is_empty(), "{edtf:?}: {violations}");
            assert_eq!(once, twice, "{edtf:?}");
            let (earliest, latest) = bounds_of(&once);
            assert!(earliest <= latest, "{edtf:?}");
        }
    }

    #[test]
    fn overlap_is_symmetric_and_inclusive() {
        let march = parse("2022-03").unwrap();
        let day = parse("2022-03-31").unwrap();
        let april = parse("2022-04-01").unwrap();
        assert!(march.overlaps(&day) && day.overlaps(&march));
        assert!(!march.overlaps(&april));
        // Around March reaches into April.
        assert!(parse("2022-03~").unwrap().overlaps(&april));
    }
}
