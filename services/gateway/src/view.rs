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
mod page;

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use chancery_proto::communications::v1::Communication;
use chancery_proto::gateway::v1::Episode;
use chancery_proto::gateway::v1::{
    EpisodeView, GetEpisodeViewRequest, InvolvedActor, TimelineEntry,
};
use chancery_proto::statements::v1::Statement;
use chancery_runtime::backends::call_timeout;
use chancery_runtime::errors::Error;
use chancery_runtime::names;
use tokio::time::Instant;
use tonic::{Request, Response, Status};

use crate::Gateway;
use assemble::{Member, Readouts, Resolved, Slot, Wanted};
use fetch::Budget;

pub use page::{PageRequest, fingerprint, read_request};

/// Time a view may take when the caller sent no deadline.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeline entries per page when the request says 0.
pub const DEFAULT_PAGE_SIZE: usize = 500;
/// Most timeline entries per page; larger requests get this many.
pub const MAX_PAGE_SIZE: usize = 5000;

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
pub(crate) async fn get_episode_view(
    gateway: &Gateway,
    request: Request<GetEpisodeViewRequest>,
) -> Result<Response<EpisodeView>, Status> {
    let (metadata, _, request) = request.into_parts();
    let start = Instant::now();
    let budget = Budget::new(start, call_timeout(&metadata, DEFAULT_TIMEOUT));
    let page = read_request(&request).map_err(Error::from)?;
    let episode = gateway
        .store
        .get_episode(&page.id)
        .await?
        .ok_or_else(|| Error::NotFound(request.name.clone()))?;

    let mut unreachable = BTreeSet::new();
    let members = round_one(gateway, &budget, &episode, &mut unreachable).await;
    let wanted = wanted(&episode, &members);
    let (resolved, actors_failed) = round_two(gateway, &budget, &wanted, &mut unreachable).await;

    let timeline = assemble::timeline_order(&members.communications, &members.statements);
    let readouts = assemble::group_readouts(statements_in_order(&timeline, &members.statements));
    let contacts = assemble::contact_pairs(
        communications_in_order(&timeline, &members.communications),
        &resolved,
    );
    let sources = assemble::sources(
        &wanted.documents,
        &timeline,
        &members.communications,
        &members.statements,
        &resolved,
    );
    let actors = if actors_failed {
        Vec::new()
    } else {
        involved_actors(&episode, &members, &wanted, &resolved)
    };
    let (slots, next_page_token) = page::page_of(&timeline, &page, &request.name);
    let entries = entries(slots, &members, &readouts, &resolved);

    let unreachable: Vec<String> = unreachable.into_iter().map(str::to_owned).collect();
    tracing::info!(
        episode = %episode.name,
        communications = members.communications.len(),
        statements = members.statements.len(),
        unreachable = %chancery_runtime::telemetry::list(&unreachable),
        elapsed_ms = start.elapsed().as_millis() as u64,
        "episode view composed"
    );
    Ok(Response::new(EpisodeView {
        episode: Some(episode),
        actors,
        timeline: entries,
        contacts,
        sources,
        unreachable,
        next_page_token,
        missing_members: members.missing,
    }))
}

/// What round one found of an episode's members.
#[derive(Debug)]
struct Members {
    /// The member communications the communications service answered.
    communications: Vec<Communication>,
    /// The member statements the statements service answered.
    statements: Vec<Statement>,
    /// Members that do not exist: those the services reported missing and the malformed names,
    /// communications first.
    missing: Vec<String>,
}

/// Round one: the episode's well-formed member communications and statements, asked for within
/// half of what remains of `budget`; a part that fails is named in `unreachable`.
async fn round_one(
    gateway: &Gateway,
    budget: &Budget,
    episode: &Episode,
    unreachable: &mut BTreeSet<&'static str>,
) -> Members {
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
    let missing = communications
        .missing
        .into_iter()
        .chain(malformed_communications)
        .chain(statements.missing)
        .chain(malformed_statements)
        .collect();
    Members {
        communications: communications.items,
        statements: statements.items,
        missing,
    }
}

/// What round two must ask for, only the well-formed names (the others cannot exist).
fn wanted(episode: &Episode, members: &Members) -> Wanted {
    let mut wanted = assemble::wanted(episode, &members.communications, &members.statements);
    wanted
        .actors
        .retain(|n| names::parse(n, "actors").is_some());
    wanted
        .offices
        .retain(|q| names::parse(&q.actor, "actors").is_some());
    wanted
        .documents
        .retain(|n| names::parse(n, "documents").is_some());
    wanted
}

/// Round two: the actors, offices and documents `wanted` names, keyed for assembly, and whether
/// the actors could not be read; a part that fails is named in `unreachable` (`actors` also
/// when only the offices could not be resolved).
async fn round_two(
    gateway: &Gateway,
    budget: &Budget,
    wanted: &Wanted,
    unreachable: &mut BTreeSet<&'static str>,
) -> (Resolved, bool) {
    let round_two = fetch::round_two(gateway, budget.round_two(), wanted).await;
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
    (resolved, actors_failed)
}

/// The member communications in timeline order.
fn communications_in_order<'m>(
    timeline: &'m [Slot],
    communications: &'m [Communication],
) -> impl Iterator<Item = &'m Communication> + 'm {
    timeline.iter().filter_map(move |slot| match slot.member {
        Member::Communication(i) => Some(&communications[i]),
        Member::Statement(_) => None,
    })
}

/// The member statements in timeline order.
fn statements_in_order<'m>(
    timeline: &'m [Slot],
    statements: &'m [Statement],
) -> impl Iterator<Item = &'m Statement> + 'm {
    timeline.iter().filter_map(move |slot| match slot.member {
        Member::Statement(i) => Some(&statements[i]),
        Member::Communication(_) => None,
    })
}

/// The involved actors of the view, from the members and the documents that could be read.
fn involved_actors(
    episode: &Episode,
    members: &Members,
    wanted: &Wanted,
    resolved: &Resolved,
) -> Vec<InvolvedActor> {
    let documents: Vec<_> = wanted
        .documents
        .iter()
        .filter_map(|d| resolved.documents.get(d))
        .collect();
    assemble::involved_actors(
        assemble::involvements(
            episode,
            &members.communications,
            &members.statements,
            &documents,
        ),
        resolved,
    )
}

/// The timeline entries of `slots`.
fn entries(
    slots: &[Slot],
    members: &Members,
    readouts: &Readouts,
    resolved: &Resolved,
) -> Vec<TimelineEntry> {
    slots
        .iter()
        .map(|slot| match slot.member {
            Member::Communication(i) => {
                assemble::communication_entry(&members.communications[i], readouts, resolved)
            }
            Member::Statement(i) => assemble::statement_entry(&members.statements[i], resolved),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
