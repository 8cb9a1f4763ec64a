//! `GetEpisodeView`: the composed, sourced view of an episode.
//!
//! # How a view is made
//!
//! 1. The request is checked (`name`, `page_size`, `page_token`) and the episode read from the
//!    gateway's own store. This is the only step whose failure fails the call: NOT_FOUND when the
//!    episode does not exist, UNAVAILABLE when the store cannot be read.
//! 2. **Round one**, concurrently: `BatchGetCommunications` for every member communication and
//!    `BatchGetStatements` for every member statement, with `allow_missing` (members that no
//!    longer exist are listed in `missing_members`).
//! 3. **Round two**, concurrently, from what round one answered and the episode's actors of
//!    interest: `BatchGetActors` for every actor referenced (participants, actors mentioned by
//!    topics, status asserters, speakers, co-speakers, `on_behalf_of`, addressees, actors spoken
//!    about, readout issuers, hop reporters, relayed speakers and their addressees, outcome
//!    parties, the asserters of durations, outcomes and initiatives, the episode's other actors),
//!    `ResolveOffices` for each distinct (actor, date) —
//!    participants at their communication's date, speakers and co-speakers at the statement's
//!    `said` — and `BatchGetSourceDocuments` for every document cited.
//! 4. The view is assembled without further calls (see [`assemble`]).
//!
//! So a view costs two sequential rounds and five batch calls whatever its size; lists longer
//! than a backend's batch limit (10000) are split into chunks sent concurrently within the same
//! round.
//!
//! # What two rounds cannot resolve
//!
//! Documents arrive in round two, so the actors they alone name — a document's `publisher`, a
//! medium's `credit_actor`, an `author_actors` entry — cannot be read without a third round. Unless they are also named
//! by a member (a publisher is usually hop 0 of a chain) or are actors of interest, they are
//! listed in `actors` by name only, with their kind unset and no display name, and a source's
//! `publisher_display_name` is then empty. An episode that wants them shown in full names them
//! as actors of interest.
//!
//! # Deadlines and partial views
//!
//! The whole view must answer within the caller's deadline (its `grpc-timeout`, less a margin),
//! or [`DEFAULT_TIMEOUT`] when it sent none (see [`chancery_runtime::backends::call_timeout`]).
//! A tenth of it (at most 250 ms) is kept back for assembly; of the rest, round one gets half of
//! what remains once the episode is read, round two everything left after round one. Each call carries its
//! round's remaining time as its own deadline (`grpc-timeout`) and is also cut off locally when
//! that time is up. A call that fails with UNAVAILABLE is retried once when enough of its
//! round's time remains (these are all reads).
//!
//! A backend call that fails or times out leaves its part of the view missing and names it in
//! `unreachable` (AIP-217): `communications`, `statements`, `actors` (also when only the offices
//! could not be resolved) or `documents`. The view still answers OK, in time. When `actors` is
//! unreachable the `actors` list is empty, and names elsewhere fall back to resource names in
//! headlines and attribution sentences (display-name fields stay empty).
//!
//! # Paging
//!
//! Only the timeline pages (`page_size` 0 means [`DEFAULT_PAGE_SIZE`], more than
//! [`MAX_PAGE_SIZE`] means that many). Its order — dated entries before those of unknown date,
//! then earliest bound, latest bound, placement ordinal (unset last), resource name — is total,
//! so the token is a keyset cursor on those five values, sealed and bound to the
//! episode's name: pages never overlap nor skip an entry, even when members are added between
//! two pages. The other fields (actors, contacts, sources, `unreachable`, `missing_members`)
//! describe the whole episode and come with every page.

mod assemble;
mod fetch;

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use chancery_proto::gateway::v1::{EpisodeView, GetEpisodeViewRequest};
use chancery_runtime::backends::call_timeout;
use chancery_runtime::errors::{Error, Violations};
use chancery_runtime::names;
use chancery_runtime::page_token::{self, QueryFingerprint};
use tokio::time::Instant;
use tonic::Status;
use tonic::metadata::MetadataMap;

use crate::Gateway;
use assemble::{Member, Resolved};
use fetch::Budget;

/// Time a view may take when the caller sent no deadline.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeline entries per page when the request says 0.
pub const DEFAULT_PAGE_SIZE: usize = 500;
/// Most timeline entries per page; larger requests get this many.
pub const MAX_PAGE_SIZE: usize = 5000;

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

/// The distinct well-formed names of `collection` in `names`, in order, and the malformed ones
/// (which cannot exist, so they are reported missing without asking).
fn split_names(names: &[String], collection: &str) -> (Vec<String>, Vec<String>) {
    let mut seen = HashSet::new();
    let mut valid = Vec::with_capacity(names.len());
    let mut malformed = Vec::new();
    for name in names {
        if !seen.insert(name.as_str()) {
            continue;
        }
        if names::parse(name, collection).is_some() {
            valid.push(name.clone());
        } else {
            malformed.push(name.clone());
        }
    }
    (valid, malformed)
}

/// `GetEpisodeView`: reads the episode, fetches its members in two rounds of batch calls within
/// the caller's deadline, and assembles the view; see the module documentation.
pub async fn get_view(
    gateway: &Gateway,
    request: GetEpisodeViewRequest,
    metadata: &MetadataMap,
) -> Result<EpisodeView, Status> {
    let start = Instant::now();
    let budget = Budget::new(start, call_timeout(metadata, DEFAULT_TIMEOUT));
    let page = read_request(&request).map_err(Error::from)?;
    let episode = gateway
        .store
        .get_episode(&page.id)
        .await?
        .ok_or_else(|| Error::NotFound(request.name.clone()))?;

    let mut unreachable = BTreeSet::new();
    let (communication_names, malformed_communications) =
        split_names(&episode.communications, "communications");
    let (statement_names, malformed_statements) = split_names(&episode.statements, "statements");
    let (communications, statements) = fetch::round_one(
        gateway,
        budget.round_one(Instant::now()),
        &communication_names,
        &statement_names,
    )
    .await;
    if communications.failed {
        unreachable.insert("communications");
    }
    if statements.failed {
        unreachable.insert("statements");
    }
    let missing_members: Vec<String> = communications
        .missing
        .into_iter()
        .chain(malformed_communications)
        .chain(statements.missing)
        .chain(malformed_statements)
        .collect();
    let communications = communications.items;
    let statements = statements.items;

    let mut wanted = assemble::wanted(&episode, &communications, &statements);
    wanted
        .actors
        .retain(|n| names::parse(n, "actors").is_some());
    wanted
        .offices
        .retain(|q| names::parse(&q.actor, "actors").is_some());
    wanted
        .documents
        .retain(|n| names::parse(n, "documents").is_some());
    let round_two = fetch::round_two(gateway, budget.round_two(), &wanted).await;
    let actors_failed = round_two.actors.failed;
    if actors_failed || round_two.offices_failed {
        unreachable.insert("actors");
    }
    if round_two.documents.failed {
        unreachable.insert("documents");
    }
    let resolved = Resolved::new(
        round_two.actors.items,
        round_two.offices,
        round_two.documents.items,
    );

    let timeline = assemble::timeline_order(&communications, &statements);
    let in_order = |want_statements: bool| {
        timeline.iter().filter_map(move |slot| match slot.member {
            Member::Communication(i) if !want_statements => Some(Member::Communication(i)),
            Member::Statement(i) if want_statements => Some(Member::Statement(i)),
            _ => None,
        })
    };
    let readouts = assemble::group_readouts(in_order(true).filter_map(|m| match m {
        Member::Statement(i) => Some(&statements[i]),
        Member::Communication(_) => None,
    }));
    let contacts = assemble::contact_pairs(
        in_order(false).filter_map(|m| match m {
            Member::Communication(i) => Some(&communications[i]),
            Member::Statement(_) => None,
        }),
        &resolved,
    );
    let sources = assemble::sources(
        &wanted.documents,
        &timeline,
        &communications,
        &statements,
        &resolved,
    );
    let actors = if actors_failed {
        Vec::new()
    } else {
        let documents: Vec<_> = wanted
            .documents
            .iter()
            .filter_map(|d| resolved.documents.get(d))
            .collect();
        assemble::involved_actors(
            assemble::involvements(&episode, &communications, &statements, &documents),
            &resolved,
        )
    };

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
            &fingerprint(&request.name),
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
    let entries = slots
        .iter()
        .map(|slot| match slot.member {
            Member::Communication(i) => {
                assemble::communication_entry(&communications[i], &readouts, &resolved)
            }
            Member::Statement(i) => assemble::statement_entry(&statements[i], &resolved),
        })
        .collect();

    let unreachable: Vec<String> = unreachable.into_iter().map(str::to_owned).collect();
    tracing::info!(
        episode = %episode.name,
        communications = communications.len(),
        statements = statements.len(),
        ?unreachable,
        elapsed_ms = start.elapsed().as_millis() as u64,
        "episode view composed"
    );
    Ok(EpisodeView {
        episode: Some(episode),
        actors,
        timeline: entries,
        contacts,
        sources,
        unreachable,
        next_page_token,
        missing_members,
    })
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

    #[test]
    fn member_names_are_deduplicated_and_malformed_ones_set_apart() {
        let names = vec![
            "statements/a".to_owned(),
            "statements/a".to_owned(),
            "communications/b".to_owned(),
            "statements/b".to_owned(),
        ];
        let (valid, malformed) = split_names(&names, "statements");
        assert_eq!(valid, ["statements/a", "statements/b"]);
        assert_eq!(malformed, ["communications/b"]);
    }
}
