//! Episodes: create, read, update, delete, list, and membership. Members are checked in their
//! owning services with one batch call per service.
//!
//! Every handler validates the whole request first (with its validator in
//! [`chancery_domain::episodes`], re-exported as [`crate::domain`]) and reports every problem
//! at once, so a rejected request writes nothing. A write then checks the members it **adds**
//! (never those the episode already has) with one `BatchGetCommunications`, one
//! `BatchGetStatements` and one `BatchGetActors` call ([`chancery_runtime::lookup`]), run
//! concurrently and skipped when there is nothing to check, before the store's transaction
//! opens: no transaction waits on the network. A member that does not exist is INVALID_ARGUMENT
//! on its request field; a service that cannot answer within the caller's deadline (at most
//! [`CALL_TIMEOUT`]) is UNAVAILABLE, and nothing is written.
//!
//! Because the checks run outside the transaction, a write remembers the revision it read and
//! the store writes only if it is still current. A request without an etag asked for no
//! condition, so when another write overtakes it, it is merged again on the newer revision (a
//! few times at most); a request with an etag fails with ABORTED.

use std::collections::HashSet;

use chancery_proto::gateway::v1::{
    AddEpisodeMembersRequest, CreateEpisodeRequest, DeleteEpisodeRequest, Episode,
    GetEpisodeRequest, ListEpisodesRequest, ListEpisodesResponse, RemoveEpisodeMembersRequest,
    UpdateEpisodeRequest,
};
use chancery_runtime::backends::{CALL_TIMEOUT, Reference, call_timeout};
use chancery_runtime::errors::{Error, Violations};
use chancery_runtime::idempotency::request_key;
use chancery_runtime::lookup::{Actors, Communications, Statements};
use chancery_runtime::names::{self, id_of};
use chancery_runtime::page_token::page;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use crate::Gateway;
use crate::domain::{
    MemberList, apply_mask, membership_lists, read_add_episode_members, read_delete_episode,
    read_get_episode, read_list_episodes, read_remove_episode_members, read_update_episode,
    validate_create_episode, validate_episode,
};
use crate::store::client_fields;

/// How many times a write without an etag is merged again when another write overtakes it.
const WRITE_ATTEMPTS: usize = 3;

/// Members a write adds, by the service that owns them, each with the request field naming it.
#[derive(Debug, Default)]
struct NewMembers {
    communications: Vec<Reference>,
    statements: Vec<Reference>,
    actors: Vec<Reference>,
}

impl NewMembers {
    fn of_mut(&mut self, list: MemberList) -> &mut Vec<Reference> {
        match list {
            MemberList::Communications => &mut self.communications,
            MemberList::Statements => &mut self.statements,
            MemberList::ActorsOfInterest | MemberList::OtherActors => &mut self.actors,
        }
    }

    fn is_empty(&self) -> bool {
        self.communications.is_empty() && self.statements.is_empty() && self.actors.is_empty()
    }
}

/// `Ok(())` when nothing was found wrong, else INVALID_ARGUMENT with every violation.
fn valid(violations: Violations) -> Result<(), Error> {
    violations.into_result().map_err(Error::from)
}

/// The members of `episode` that `before` lacks (all of them when `before` is `None`), each
/// referenced from its field under `field`, such as `episode.statements[2]`.
fn added_members(field: &str, episode: &Episode, before: Option<&Episode>) -> NewMembers {
    let mut added = NewMembers::default();
    for list in MemberList::ALL {
        let known: HashSet<&str> = before
            .map(|b| list.of(b).iter().map(String::as_str).collect())
            .unwrap_or_default();
        let references = added.of_mut(list);
        for (i, name) in list.of(episode).iter().enumerate() {
            if !known.contains(name.as_str()) {
                references.push(Reference::new(
                    format!("{field}{}[{i}]", list.field()),
                    name.clone(),
                ));
            }
        }
    }
    added
}

/// Checks that every new member exists in its owning service: one batch call per service that
/// has something to check, all at once, within the caller's deadline. A service out of reach is
/// [`Error::DependencyUnavailable`] (even when another found a missing member: the request can
/// only be judged whole once every service answers); missing members are INVALID_ARGUMENT on
/// their fields.
async fn check_members(
    gateway: &Gateway,
    metadata: &MetadataMap,
    members: &NewMembers,
) -> Result<(), Error> {
    if members.is_empty() {
        return Ok(());
    }
    let timeout = call_timeout(metadata, CALL_TIMEOUT);
    let (communications, statements, actors) = (
        gateway.communications_lookup(timeout),
        gateway.statements_lookup(timeout),
        gateway.actors_lookup(timeout),
    );
    let (communications, statements, actors) = tokio::join!(
        communications.check::<Communications>(&members.communications),
        statements.check::<Statements>(&members.statements),
        actors.check::<Actors>(&members.actors),
    );
    let mut violations = Violations::default();
    let mut failure = None;
    for outcome in [communications, statements, actors] {
        match outcome {
            Ok(found) => violations.extend(found),
            Err(error) => {
                let unreachable = matches!(error, Error::DependencyUnavailable { .. });
                if failure.is_none() || unreachable {
                    failure = Some(error);
                }
            }
        }
    }
    match failure {
        Some(error) => Err(error),
        None => valid(violations),
    }
}

/// The stored episode `id` (named `name` in errors), NOT_FOUND when it does not exist, ABORTED
/// when `etag` is set and no longer current.
async fn current_episode(
    gateway: &Gateway,
    id: &str,
    name: &str,
    etag: &str,
) -> Result<Episode, Error> {
    let current = gateway
        .store
        .get_episode(id)
        .await?
        .ok_or_else(|| Error::NotFound(name.to_owned()))?;
    if !etag.is_empty() && etag != current.etag {
        return Err(Error::EtagMismatch(name.to_owned()));
    }
    Ok(current)
}

/// `GetEpisode`: one episode, NOT_FOUND when it does not exist.
pub(crate) async fn get_episode(
    gateway: &Gateway,
    request: Request<GetEpisodeRequest>,
) -> Result<Response<Episode>, Status> {
    let request = request.into_inner();
    let id = read_get_episode(&request).map_err(Error::from)?;
    let episode = gateway.store.get_episode(&id).await?;
    Ok(Response::new(episode.ok_or(Error::NotFound(request.name))?))
}

/// `ListEpisodes`: a page of episodes ordered by id, only those with `tag` and/or `member` when
/// set. Page tokens are bound to the filters they were issued for.
pub(crate) async fn list_episodes(
    gateway: &Gateway,
    request: Request<ListEpisodesRequest>,
) -> Result<Response<ListEpisodesResponse>, Status> {
    let list = read_list_episodes(request.get_ref()).map_err(Error::from)?;
    let (members, size, query) = (list.filter, list.size, list.query);
    let after = list.after.as_deref();
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    let episodes = gateway
        .store
        .list_episodes(&members, after, size + 1)
        .await?;
    let (episodes, next_page_token) =
        page(episodes, size, |e| vec![id_of(&e.name).to_owned()], &query);
    Ok(Response::new(ListEpisodesResponse {
        episodes,
        next_page_token,
    }))
}

/// `CreateEpisode`: validates the episode, answers a retried request with its first result,
/// checks every member in its owning service, then stores the episode.
pub(crate) async fn create_episode(
    gateway: &Gateway,
    request: Request<CreateEpisodeRequest>,
) -> Result<Response<Episode>, Status> {
    let (metadata, _, request) = request.into_parts();
    let episode = validate_create_episode(&request).map_err(Error::from)?;
    let key = request_key("CreateEpisode", &request.request_id, &request);
    if let Some(replayed) = gateway.store.replayed(key.as_ref()).await? {
        return Ok(Response::new(replayed));
    }
    check_members(
        gateway,
        &metadata,
        &added_members("episode.", &episode, None),
    )
    .await?;
    let id = if request.episode_id.is_empty() {
        names::generate_id("epi")
    } else {
        request.episode_id.clone()
    };
    let created = gateway
        .store
        .create_episode(&id, episode, key.as_ref())
        .await?;
    tracing::info!(name = %created.name, "episode created");
    Ok(Response::new(created))
}

/// `UpdateEpisode`: replaces the fields the update mask names (or, without a mask, every field
/// the patch sets), checks the members it adds, and writes if the episode is still as read.
pub(crate) async fn update_episode(
    gateway: &Gateway,
    request: Request<UpdateEpisodeRequest>,
) -> Result<Response<Episode>, Status> {
    let (metadata, _, request) = request.into_parts();
    let (id, patch, paths) = read_update_episode(&request).map_err(Error::from)?;

    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = current_episode(gateway, &id, &patch.name, &patch.etag).await?;
        let mut merged = current.clone();
        apply_mask(&mut merged, &patch, &paths);
        let mut violations = Violations::default();
        let merged = validate_episode(&mut violations, "episode", &merged);
        valid(violations)?;
        if client_fields(&merged) == client_fields(&current) {
            return Ok(Response::new(current));
        }
        check_members(
            gateway,
            &metadata,
            &added_members("episode.", &merged, Some(&current)),
        )
        .await?;
        match gateway
            .store
            .update_episode(&id, &current.etag, |_| Ok(Some(merged)))
            .await
        {
            Err(Error::EtagMismatch(_)) if patch.etag.is_empty() && attempt < WRITE_ATTEMPTS => {
                continue;
            }
            outcome => {
                let updated = outcome?;
                tracing::info!(name = %updated.name, etag = %updated.etag, "episode updated");
                return Ok(Response::new(updated));
            }
        }
    }
}

/// `DeleteEpisode`: deletes the episode (never its members); a stale etag is ABORTED.
pub(crate) async fn delete_episode(
    gateway: &Gateway,
    request: Request<DeleteEpisodeRequest>,
) -> Result<Response<()>, Status> {
    let request = request.into_inner();
    let id = read_delete_episode(&request).map_err(Error::from)?;
    gateway.store.delete_episode(&id, &request.etag).await?;
    tracing::info!(name = %request.name, "episode deleted");
    Ok(Response::new(()))
}

/// `current` with the names of `lists` it does not have yet appended (once each, in request
/// order), and the members added, each referenced from its request field; or a violation per
/// list that would grow past its limit.
fn merge_new_members(
    current: &Episode,
    lists: [(MemberList, &[String]); 3],
) -> Result<(Episode, NewMembers), Error> {
    let mut merged = current.clone();
    let mut added = NewMembers::default();
    let mut violations = Violations::default();
    for (list, values) in lists {
        let members = list.of_mut(&mut merged);
        let mut present: HashSet<&str> = list.of(current).iter().map(String::as_str).collect();
        for (i, name) in values.iter().enumerate() {
            if present.insert(name.as_str()) {
                members.push(name.clone());
                added.of_mut(list).push(Reference::new(
                    format!("{}[{i}]", list.field()),
                    name.clone(),
                ));
            }
        }
        if members.len() > list.max() {
            violations.add(
                list.field(),
                format!(
                    "would give the episode {} {}, more than the {} allowed",
                    members.len(),
                    list.field(),
                    list.max()
                ),
            );
        }
    }
    valid(violations)?;
    Ok((merged, added))
}

/// `AddEpisodeMembers`: appends the names the episode does not have yet (once each, in request
/// order), after checking them in their owning services; members already there stay as they
/// are. Nothing to add writes nothing.
pub(crate) async fn add_episode_members(
    gateway: &Gateway,
    request: Request<AddEpisodeMembersRequest>,
) -> Result<Response<Episode>, Status> {
    let (metadata, _, request) = request.into_parts();
    let id = read_add_episode_members(&request).map_err(Error::from)?;
    let lists = membership_lists(
        &request.communications,
        &request.statements,
        &request.actors_of_interest,
    );

    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = current_episode(gateway, &id, &request.name, &request.etag).await?;
        let (merged, added) = merge_new_members(&current, lists)?;
        if added.is_empty() {
            return Ok(Response::new(current));
        }
        check_members(gateway, &metadata, &added).await?;
        match gateway
            .store
            .update_episode(&id, &current.etag, |_| Ok(Some(merged)))
            .await
        {
            Err(Error::EtagMismatch(_)) if request.etag.is_empty() && attempt < WRITE_ATTEMPTS => {
                continue;
            }
            outcome => {
                let updated = outcome?;
                tracing::info!(name = %updated.name, etag = %updated.etag, "episode members added");
                return Ok(Response::new(updated));
            }
        }
    }
}

/// `RemoveEpisodeMembers`: removes the named members; names that are not members are ignored,
/// and removing nothing writes nothing.
pub(crate) async fn remove_episode_members(
    gateway: &Gateway,
    request: Request<RemoveEpisodeMembersRequest>,
) -> Result<Response<Episode>, Status> {
    let request = request.into_inner();
    let id = read_remove_episode_members(&request).map_err(Error::from)?;
    let lists = membership_lists(
        &request.communications,
        &request.statements,
        &request.actors_of_interest,
    );
    let updated = gateway
        .store
        .update_episode(&id, &request.etag, |mut episode| {
            let mut removed = false;
            for (list, values) in lists {
                let gone: HashSet<&str> = values.iter().map(String::as_str).collect();
                let members = list.of_mut(&mut episode);
                let before = members.len();
                members.retain(|name| !gone.contains(name.as_str()));
                removed |= members.len() != before;
            }
            Ok(removed.then_some(episode))
        })
        .await?;
    tracing::info!(name = %updated.name, etag = %updated.etag, "episode members removed");
    Ok(Response::new(updated))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_proto::common::v1::FuzzyDate;

    fn episode() -> Episode {
        Episode {
            title: "Macron–Putin calls, March 2022".into(),
            communications: vec!["communications/call-1".into()],
            statements: vec!["statements/s1".into()],
            actors_of_interest: vec!["actors/olaf-scholz".into()],
            tags: vec!["russia-ukraine-war".into()],
            span: Some(FuzzyDate {
                edtf: "2022-03".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn only_members_the_episode_lacks_are_checked() {
        let before = episode();
        let mut after = episode();
        after.statements.push("statements/s2".into());
        let added = added_members("episode.", &after, Some(&before));
        assert!(added.communications.is_empty() && added.actors.is_empty());
        assert_eq!(
            added.statements,
            [Reference::new("episode.statements[1]", "statements/s2")]
        );
        let all = added_members("episode.", &after, None);
        assert_eq!(
            (
                all.communications.len(),
                all.statements.len(),
                all.actors.len()
            ),
            (1, 2, 1)
        );
    }
}
