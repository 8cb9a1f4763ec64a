//! The paging of `GetEpisodeView`: reading a request's name, page size and token, and cutting
//! one page out of the timeline, with the token of the next (see "Paging" in [`super`]).

use chancery_proto::gateway::v1::GetEpisodeViewRequest;
use chancery_runtime::errors::Violations;
use chancery_runtime::names;
use chancery_runtime::page_token::{self, QueryFingerprint};

use super::assemble::Slot;
use super::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// A checked request: the episode id, the page size and where the page starts.
#[derive(Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// The episode's id.
    pub id: String,
    /// Timeline entries to serve (defaulted and capped).
    pub size: usize,
    /// The sort key of the last entry already served: (unknown date, earliest bound, latest
    /// bound, placement ordinal key, subject), as the timeline is ordered.
    pub after: Option<(bool, i64, i64, i64, String)>,
}

/// What page tokens of a view are bound to: the method and the episode.
pub fn fingerprint(name: &str) -> QueryFingerprint {
    QueryFingerprint::new("GetEpisodeView").with("name", name)
}

/// Checks a `GetEpisodeView` request's fields as the handler does, without any backend, naming
/// each bad one.
pub fn read_request(request: &GetEpisodeViewRequest) -> Result<PageRequest, Violations> {
    let mut violations = Violations::default();
    let id = names::check(&mut violations, "name", &request.name, "episodes").map(str::to_owned);
    let size = match request.page_size {
        0 => DEFAULT_PAGE_SIZE,
        n if n < 0 => {
            violations.add("page_size", format!("must not be negative (got {n})"));
            DEFAULT_PAGE_SIZE
        }
        n => (n as usize).min(MAX_PAGE_SIZE),
    };
    let after = match page_token::decode(&request.page_token, &fingerprint(&request.name)) {
        Ok(None) => None,
        Ok(Some(cursor)) => match cursor.as_slice() {
            [unknown, earliest, latest, ordinal, subject] => match (
                unknown.as_str(),
                earliest.parse(),
                latest.parse(),
                ordinal.parse(),
            ) {
                (unknown @ ("0" | "1"), Ok(earliest), Ok(latest), Ok(ordinal)) => {
                    Some((unknown == "1", earliest, latest, ordinal, subject.clone()))
                }
                _ => {
                    violations.add("page_token", "is not a valid page token");
                    None
                }
            },
            _ => {
                violations.add("page_token", "is not a valid page token");
                None
            }
        },
        Err(error) => {
            violations.add("page_token", error.to_string());
            None
        }
    };
    violations.into_result()?;
    Ok(PageRequest {
        id: id.unwrap_or_default(),
        size,
        after,
    })
}

/// The page of `timeline` that `page` asks for, and the token of the next page (empty when
/// this is the last), bound to the episode `name`.
pub(crate) fn page_of<'t>(
    timeline: &'t [Slot],
    page: &PageRequest,
    name: &str,
) -> (&'t [Slot], String) {
    let first = page
        .after
        .as_ref()
        .map_or(0, |(unknown, earliest, latest, ordinal, subject)| {
            let after = (*unknown, *earliest, *latest, *ordinal, subject.as_str());
            timeline.partition_point(|slot| slot.key() <= after)
        });
    let end = (first + page.size).min(timeline.len());
    let slots = &timeline[first..end];
    let next_page_token = match slots.last() {
        Some(last) if end < timeline.len() => page_token::encode(
            &fingerprint(name),
            &[
                if last.unknown_date { "1" } else { "0" },
                &last.earliest.to_string(),
                &last.latest.to_string(),
                &last.ordinal.to_string(),
                &last.subject,
            ],
        ),
        _ => String::new(),
    };
    (slots, next_page_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, page_size: i32, page_token: &str) -> GetEpisodeViewRequest {
        GetEpisodeViewRequest {
            name: name.into(),
            page_size,
            page_token: page_token.into(),
        }
    }

    fn fields(violations: &Violations) -> Vec<&str> {
        violations.iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn page_sizes_default_cap_and_reject_negatives() {
        let read = |size| read_request(&request("episodes/x", size, "")).unwrap().size;
        assert_eq!(read(0), DEFAULT_PAGE_SIZE);
        assert_eq!(read(7), 7);
        assert_eq!(read(1_000_000), MAX_PAGE_SIZE);
        let bad = read_request(&request("episodes/X", -1, "garbage")).unwrap_err();
        assert_eq!(fields(&bad), ["name", "page_size", "page_token"]);
        let missing = read_request(&request("", 0, "")).unwrap_err();
        assert_eq!(fields(&missing), ["name"]);
    }

    #[test]
    fn tokens_carry_the_keyset_and_belong_to_one_episode() {
        let token = page_token::encode(
            &fingerprint("episodes/x"),
            &["0", "-5", "9", "3", "statements/s"],
        );
        let page = read_request(&request("episodes/x", 0, &token)).unwrap();
        assert_eq!(page.id, "x");
        assert_eq!(
            page.after,
            Some((false, -5, 9, 3, "statements/s".to_owned()))
        );
        let unknown = page_token::encode(
            &fingerprint("episodes/x"),
            &[
                "1",
                &i64::MIN.to_string(),
                &i64::MAX.to_string(),
                &i64::MAX.to_string(),
                "s",
            ],
        );
        assert_eq!(
            read_request(&request("episodes/x", 0, &unknown))
                .unwrap()
                .after,
            Some((true, i64::MIN, i64::MAX, i64::MAX, "s".to_owned()))
        );
        // The three-part tokens of the old order, and a flag that is neither 0 nor 1, are refused.
        let old = page_token::encode(&fingerprint("episodes/x"), &["-5", "9", "statements/s"]);
        assert!(read_request(&request("episodes/x", 0, &old)).is_err());
        let flag = page_token::encode(&fingerprint("episodes/x"), &["2", "-5", "9", "3", "s"]);
        assert!(read_request(&request("episodes/x", 0, &flag)).is_err());
        let other = read_request(&request("episodes/y", 0, &token)).unwrap_err();
        assert_eq!(fields(&other), ["page_token"]);
        let not_numbers =
            page_token::encode(&fingerprint("episodes/x"), &["0", "a", "b", "c", "d"]);
        assert!(read_request(&request("episodes/x", 0, &not_numbers)).is_err());
    }
}
