//! Episodes: create, read, update, delete, list, and membership. Members are checked in their
//! owning services with one batch call per service.
//!
//! Every handler validates the whole request first and reports every problem at once, so a
//! rejected request writes nothing. A write then checks the members it **adds** (never those the
//! episode already has) with one `BatchGetCommunications`, one `BatchGetStatements` and one
//! `BatchGetActors` call, run concurrently and skipped when there is nothing to check, before the
//! store's transaction opens: no transaction waits on the network. A member that does not exist
//! is INVALID_ARGUMENT on its request field; a service that cannot answer within the caller's
//! deadline (at most [`CALL_TIMEOUT`]) is UNAVAILABLE, and nothing is written.
//!
//! Because the checks run outside the transaction, a write remembers the revision it read and
//! the store writes only if it is still current. A request without an etag asked for no
//! condition, so when another write overtakes it, it is merged again on the newer revision (a
//! few times at most); a request with an etag fails with ABORTED.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use chancery_proto::actors::v1::BatchGetActorsRequest;
use chancery_proto::communications::v1::BatchGetCommunicationsRequest;
use chancery_proto::gateway::v1::{
    AddEpisodeMembersRequest, CreateEpisodeRequest, DeleteEpisodeRequest, Episode,
    GetEpisodeRequest, ListEpisodesRequest, ListEpisodesResponse, RemoveEpisodeMembersRequest,
    UpdateEpisodeRequest,
};
use chancery_proto::statements::v1::BatchGetStatementsRequest;
use chancery_runtime::backends::{CALL_TIMEOUT, Reference, call_timeout, check_references};
use chancery_runtime::errors::{Error, Violations};
use chancery_runtime::idempotency::request_key;
use chancery_runtime::names::{self, id_of};
use chancery_runtime::page_token::{self, ListPage, QueryFingerprint, page};
use chancery_runtime::{fuzzy_date, text};
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use crate::Gateway;
use crate::store::client_fields;

/// Longest `title`, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest `summary`, in characters.
pub const MAX_SUMMARY_CHARS: usize = 4000;
/// Most member communications, and most member statements, of one episode.
pub const MAX_MEMBERS: usize = 10_000;
/// Most actors of interest of one episode.
pub const MAX_ACTORS_OF_INTEREST: usize = 1000;
/// Most tags of one episode.
pub const MAX_TAGS: usize = 50;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 63;
/// The fields of an episode an update mask may name (besides `*`).
pub const EPISODE_MASK_PATHS: &[&str] = &[
    "title",
    "summary",
    "span",
    "communications",
    "statements",
    "actors_of_interest",
    "tags",
    "other_actors",
];

/// How many times a write without an etag is merged again when another write overtakes it.
const WRITE_ATTEMPTS: usize = 3;
/// How the actors service is named in errors.
const ACTORS_SERVICE: &str = "the actors service";
/// How the communications service is named in errors.
const COMMUNICATIONS_SERVICE: &str = "the communications service";
/// How the statements service is named in errors.
const STATEMENTS_SERVICE: &str = "the statements service";

/// One of the three member lists of an episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MemberList {
    Communications,
    Statements,
    ActorsOfInterest,
    OtherActors,
}

impl MemberList {
    const ALL: [MemberList; 4] = [
        MemberList::Communications,
        MemberList::Statements,
        MemberList::ActorsOfInterest,
        MemberList::OtherActors,
    ];

    /// The field's name, in `Episode` and in the membership requests alike.
    fn field(self) -> &'static str {
        match self {
            MemberList::Communications => "communications",
            MemberList::Statements => "statements",
            MemberList::ActorsOfInterest => "actors_of_interest",
            MemberList::OtherActors => "other_actors",
        }
    }

    /// The collection its resource names belong to.
    fn collection(self) -> &'static str {
        match self {
            MemberList::Communications => "communications",
            MemberList::Statements => "statements",
            MemberList::ActorsOfInterest | MemberList::OtherActors => "actors",
        }
    }

    /// Most entries an episode may have in the list.
    fn max(self) -> usize {
        match self {
            MemberList::Communications | MemberList::Statements => MAX_MEMBERS,
            MemberList::ActorsOfInterest | MemberList::OtherActors => MAX_ACTORS_OF_INTEREST,
        }
    }

    fn of(self, episode: &Episode) -> &Vec<String> {
        match self {
            MemberList::Communications => &episode.communications,
            MemberList::Statements => &episode.statements,
            MemberList::ActorsOfInterest => &episode.actors_of_interest,
            MemberList::OtherActors => &episode.other_actors,
        }
    }

    fn of_mut(self, episode: &mut Episode) -> &mut Vec<String> {
        match self {
            MemberList::Communications => &mut episode.communications,
            MemberList::Statements => &mut episode.statements,
            MemberList::ActorsOfInterest => &mut episode.actors_of_interest,
            MemberList::OtherActors => &mut episode.other_actors,
        }
    }
}

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

/// Whether `tag` is a valid tag: 1 to 63 lowercase ASCII letters, digits and hyphens, neither
/// starting nor ending with a hyphen (`russia-ukraine-war`, `2022`).
pub fn is_valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= MAX_TAG_CHARS
        && !tag.starts_with('-')
        && !tag.ends_with('-')
        && tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn check_tag(violations: &mut Violations, field: &str, tag: &str) {
    if !is_valid_tag(tag) {
        violations.add(
            field,
            format!(
                "must be 1 to {MAX_TAG_CHARS} lowercase letters, digits and hyphens, such as `russia-ukraine-war` (got {tag:?})"
            ),
        );
    }
}

/// Records a violation on `{field}[i]` for each entry that repeats an earlier one.
fn check_unique(violations: &mut Violations, field: &str, values: &[String]) {
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        match first.entry(value.as_str()) {
            Entry::Occupied(earlier) => violations.add(
                format!("{field}[{i}]"),
                format!(
                    "duplicates {field}[{}] ({value:?}); each may appear once",
                    earlier.get()
                ),
            ),
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
        }
    }
}

/// Checks the resource names of one member list under `field`: at most `max` of them, each a
/// valid name of the list's collection.
fn check_member_names(
    violations: &mut Violations,
    field: &str,
    values: &[String],
    list: MemberList,
    max: usize,
) {
    if values.len() > max {
        violations.add(
            field,
            format!("must have at most {max} entries (got {})", values.len()),
        );
        return;
    }
    for (i, name) in values.iter().enumerate() {
        names::check(
            violations,
            &format!("{field}[{i}]"),
            name,
            list.collection(),
        );
    }
}

/// Validates an episode a client sent, recording each problem under `field` (such as
/// `episode.communications[3]`), and returns it as it is stored: output-only fields cleared and
/// `span` normalized (precision and bounds derived). Member existence is not checked here.
pub fn validate_episode(violations: &mut Violations, field: &str, episode: &Episode) -> Episode {
    text::check_required(
        violations,
        &format!("{field}.title"),
        &episode.title,
        MAX_TITLE_CHARS,
    );
    text::check_optional(
        violations,
        &format!("{field}.summary"),
        &episode.summary,
        MAX_SUMMARY_CHARS,
    );
    let span = episode
        .span
        .as_ref()
        .and_then(|span| fuzzy_date::normalize(violations, &format!("{field}.span"), span));
    for list in MemberList::ALL {
        let path = format!("{field}.{}", list.field());
        let values = list.of(episode);
        check_member_names(violations, &path, values, list, list.max());
        if values.len() <= list.max() {
            check_unique(violations, &path, values);
        }
    }
    let tags_path = format!("{field}.tags");
    if episode.tags.len() > MAX_TAGS {
        violations.add(
            &tags_path,
            format!(
                "must have at most {MAX_TAGS} entries (got {})",
                episode.tags.len()
            ),
        );
    } else {
        for (i, tag) in episode.tags.iter().enumerate() {
            check_tag(violations, &format!("{tags_path}[{i}]"), tag);
        }
        check_unique(violations, &tags_path, &episode.tags);
    }
    Episode {
        name: String::new(),
        create_time: None,
        update_time: None,
        etag: String::new(),
        span,
        ..episode.clone()
    }
}

/// The update mask an update without one implies: every field the patch sets.
fn implied_mask(patch: &Episode) -> Vec<String> {
    [
        ("title", !patch.title.is_empty()),
        ("summary", !patch.summary.is_empty()),
        ("span", patch.span.is_some()),
        ("communications", !patch.communications.is_empty()),
        ("statements", !patch.statements.is_empty()),
        ("actors_of_interest", !patch.actors_of_interest.is_empty()),
        ("tags", !patch.tags.is_empty()),
        ("other_actors", !patch.other_actors.is_empty()),
    ]
    .iter()
    .filter(|(_, set)| *set)
    .map(|(path, _)| (*path).to_owned())
    .collect()
}

/// Whether `paths` (an update mask) names `field`, directly or with `*`.
fn masks(paths: &[String], field: &str) -> bool {
    paths.iter().any(|p| p == "*" || p == field)
}

/// Replaces in `current` the fields of `patch` that `paths` names.
pub fn apply_mask(current: &mut Episode, patch: &Episode, paths: &[String]) {
    if masks(paths, "title") {
        current.title.clone_from(&patch.title);
    }
    if masks(paths, "summary") {
        current.summary.clone_from(&patch.summary);
    }
    if masks(paths, "span") {
        current.span.clone_from(&patch.span);
    }
    for list in MemberList::ALL {
        if masks(paths, list.field()) {
            list.of_mut(current).clone_from(list.of(patch));
        }
    }
    if masks(paths, "tags") {
        current.tags.clone_from(&patch.tags);
    }
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

/// A request to another service, carrying `timeout` as its deadline.
fn outbound<T>(message: T, timeout: Duration) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(timeout);
    request
}

/// The answer of a call to another service, or DEADLINE_EXCEEDED when it does not come within
/// `timeout` (a service that accepts connections but never answers).
async fn answer<T>(
    method: &str,
    timeout: Duration,
    call: impl Future<Output = Result<Response<T>, Status>>,
) -> Result<T, Status> {
    match tokio::time::timeout(timeout, call).await {
        Ok(answer) => answer.map(Response::into_inner),
        Err(_) => Err(Status::deadline_exceeded(format!(
            "{method} did not answer within {timeout:?}"
        ))),
    }
}

/// Which of `names` the communications service does not know, in one call.
async fn missing_communications(
    gateway: &Gateway,
    names: Vec<String>,
    timeout: Duration,
) -> Result<Vec<String>, Status> {
    let mut client = gateway.communications();
    let request = outbound(
        BatchGetCommunicationsRequest {
            names,
            allow_missing: true,
        },
        timeout,
    );
    let call = client.batch_get_communications(request);
    Ok(answer("BatchGetCommunications", timeout, call)
        .await?
        .missing_names)
}

/// Which of `names` the statements service does not know, in one call.
async fn missing_statements(
    gateway: &Gateway,
    names: Vec<String>,
    timeout: Duration,
) -> Result<Vec<String>, Status> {
    let mut client = gateway.statements();
    let request = outbound(
        BatchGetStatementsRequest {
            names,
            allow_missing: true,
        },
        timeout,
    );
    let call = client.batch_get_statements(request);
    Ok(answer("BatchGetStatements", timeout, call)
        .await?
        .missing_names)
}

/// Which of `names` the actors service does not know, in one call.
async fn missing_actors(
    gateway: &Gateway,
    names: Vec<String>,
    timeout: Duration,
) -> Result<Vec<String>, Status> {
    let mut client = gateway.actors();
    let request = outbound(
        BatchGetActorsRequest {
            names,
            allow_missing: true,
        },
        timeout,
    );
    let call = client.batch_get_actors(request);
    Ok(answer("BatchGetActors", timeout, call).await?.missing_names)
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
    let (communications, statements, actors) = tokio::join!(
        check_references(&members.communications, COMMUNICATIONS_SERVICE, |names| {
            missing_communications(gateway, names, timeout)
        }),
        check_references(&members.statements, STATEMENTS_SERVICE, |names| {
            missing_statements(gateway, names, timeout)
        }),
        check_references(&members.actors, ACTORS_SERVICE, |names| {
            missing_actors(gateway, names, timeout)
        }),
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

/// The id of `episodes/{id}` in `field`, recording a violation when the name is malformed.
fn episode_id(violations: &mut Violations, field: &str, name: &str) -> String {
    names::check(violations, field, name, "episodes")
        .unwrap_or_default()
        .to_owned()
}

/// `GetEpisode`: one episode, NOT_FOUND when it does not exist.
pub async fn get(
    gateway: &Gateway,
    request: GetEpisodeRequest,
    _metadata: &MetadataMap,
) -> Result<Episode, Status> {
    let mut violations = Violations::default();
    let id = episode_id(&mut violations, "name", &request.name);
    valid(violations)?;
    let episode = gateway.store.get_episode(&id).await?;
    Ok(episode.ok_or(Error::NotFound(request.name))?)
}

/// `ListEpisodes`: a page of episodes ordered by id, only those with `tag` and/or `member` when
/// set. Page tokens are bound to the filters they were issued for.
pub async fn list(
    gateway: &Gateway,
    request: ListEpisodesRequest,
    _metadata: &MetadataMap,
) -> Result<ListEpisodesResponse, Status> {
    let list = read_list_episodes(&request).map_err(Error::from)?;
    let (members, size, query) = (list.filter, list.size, list.query);
    let after = list.after.as_deref();
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    let episodes = gateway
        .store
        .list_episodes_with_all(&members, after, size + 1)
        .await?;
    let (episodes, next_page_token) =
        page(episodes, size, |e| vec![id_of(&e.name).to_owned()], &query);
    Ok(ListEpisodesResponse {
        episodes,
        next_page_token,
    })
}

/// `CreateEpisode`: validates the episode, answers a retried request with its first result,
/// checks every member in its owning service, then stores the episode.
pub async fn create(
    gateway: &Gateway,
    request: CreateEpisodeRequest,
    metadata: &MetadataMap,
) -> Result<Episode, Status> {
    let episode = validate_create_episode(&request).map_err(Error::from)?;
    let key = request_key("CreateEpisode", &request.request_id, &request);
    if let Some(replayed) = gateway.store.replayed(key.as_ref()).await? {
        return Ok(replayed);
    }
    check_members(
        gateway,
        metadata,
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
    Ok(created)
}

/// `UpdateEpisode`: replaces the fields the update mask names (or, without a mask, every field
/// the patch sets), checks the members it adds, and writes if the episode is still as read.
pub async fn update(
    gateway: &Gateway,
    request: UpdateEpisodeRequest,
    metadata: &MetadataMap,
) -> Result<Episode, Status> {
    let (id, patch, paths) = read_update_episode(&request).map_err(Error::from)?;

    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = gateway
            .store
            .get_episode(&id)
            .await?
            .ok_or_else(|| Error::NotFound(patch.name.clone()))?;
        if !patch.etag.is_empty() && patch.etag != current.etag {
            return Err(Error::EtagMismatch(patch.name.clone()).into());
        }
        let mut merged = current.clone();
        apply_mask(&mut merged, &patch, &paths);
        let mut violations = Violations::default();
        let merged = validate_episode(&mut violations, "episode", &merged);
        valid(violations)?;
        if client_fields(&merged) == client_fields(&current) {
            return Ok(current);
        }
        check_members(
            gateway,
            metadata,
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
                return Ok(updated);
            }
        }
    }
}

/// `DeleteEpisode`: deletes the episode (never its members); a stale etag is ABORTED.
pub async fn delete(
    gateway: &Gateway,
    request: DeleteEpisodeRequest,
    _metadata: &MetadataMap,
) -> Result<(), Status> {
    let mut violations = Violations::default();
    let id = episode_id(&mut violations, "name", &request.name);
    valid(violations)?;
    gateway.store.delete_episode(&id, &request.etag).await?;
    tracing::info!(name = %request.name, "episode deleted");
    Ok(())
}

/// The member lists of a membership request, by list.
fn request_lists<'a>(
    communications: &'a [String],
    statements: &'a [String],
    actors_of_interest: &'a [String],
) -> [(MemberList, &'a [String]); 3] {
    [
        (MemberList::Communications, communications),
        (MemberList::Statements, statements),
        (MemberList::ActorsOfInterest, actors_of_interest),
    ]
}

/// `AddEpisodeMembers`: appends the names the episode does not have yet (once each, in request
/// order), after checking them in their owning services; members already there stay as they
/// are. Nothing to add writes nothing.
pub async fn add_members(
    gateway: &Gateway,
    request: AddEpisodeMembersRequest,
    metadata: &MetadataMap,
) -> Result<Episode, Status> {
    let mut violations = Violations::default();
    let id = episode_id(&mut violations, "name", &request.name);
    let lists = request_lists(
        &request.communications,
        &request.statements,
        &request.actors_of_interest,
    );
    for (list, values) in lists {
        check_member_names(&mut violations, list.field(), values, list, list.max());
    }
    valid(violations)?;

    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = gateway
            .store
            .get_episode(&id)
            .await?
            .ok_or_else(|| Error::NotFound(request.name.clone()))?;
        if !request.etag.is_empty() && request.etag != current.etag {
            return Err(Error::EtagMismatch(request.name.clone()).into());
        }
        let mut merged = current.clone();
        let mut added = NewMembers::default();
        let mut violations = Violations::default();
        for (list, values) in lists {
            let members = list.of_mut(&mut merged);
            let mut present: HashSet<&str> = list.of(&current).iter().map(String::as_str).collect();
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
        if added.is_empty() {
            return Ok(current);
        }
        check_members(gateway, metadata, &added).await?;
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
                return Ok(updated);
            }
        }
    }
}

/// `RemoveEpisodeMembers`: removes the named members; names that are not members are ignored,
/// and removing nothing writes nothing.
pub async fn remove_members(
    gateway: &Gateway,
    request: RemoveEpisodeMembersRequest,
    _metadata: &MetadataMap,
) -> Result<Episode, Status> {
    let mut violations = Violations::default();
    let id = episode_id(&mut violations, "name", &request.name);
    let lists = request_lists(
        &request.communications,
        &request.statements,
        &request.actors_of_interest,
    );
    for (list, values) in lists {
        check_member_names(&mut violations, list.field(), values, list, MAX_MEMBERS);
    }
    valid(violations)?;
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
    Ok(updated)
}

/// Validates a `ListEpisodes` request as the handler does, without the store: the member keys
/// every listed episode must have (`tag:{tag}`, a member name), the query its page tokens are
/// bound to, the page size and the id to resume after; or every problem on its field path.
pub fn read_list_episodes(
    request: &ListEpisodesRequest,
) -> std::result::Result<ListPage<Vec<String>, String>, Violations> {
    let mut violations = Violations::default();
    let mut members = Vec::new();
    if !request.tag.is_empty() {
        check_tag(&mut violations, "tag", &request.tag);
        members.push(format!("tag:{}", request.tag));
    }
    if !request.member.is_empty() {
        let is_member_name = MemberList::ALL
            .iter()
            .any(|list| names::parse(&request.member, list.collection()).is_some());
        if !is_member_name {
            violations.add(
                "member",
                format!(
                    "must be a resource name `communications/{{id}}`, `statements/{{id}}` or `actors/{{id}}` (got {:?})",
                    request.member
                ),
            );
        }
        members.push(request.member.clone());
    }
    let query = QueryFingerprint::new("ListEpisodes")
        .with("tag", &request.tag)
        .with("member", &request.member);
    let (size, cursor) = page_token::read_page_request(
        &mut violations,
        request.page_size,
        &request.page_token,
        &query,
    );
    let after = match cursor.as_deref() {
        None => None,
        Some([id]) => Some(id.clone()),
        Some(_) => {
            violations.add("page_token", "is not a valid page token");
            None
        }
    };
    violations.into_result()?;
    Ok(ListPage {
        filter: members,
        query,
        size,
        after,
    })
}

/// Validates a `CreateEpisode` request as the handler does before any remote call or store
/// access: the episode to store (normalized, output fields cleared), or every problem on its
/// field path.
pub fn validate_create_episode(
    request: &CreateEpisodeRequest,
) -> std::result::Result<Episode, Violations> {
    let mut violations = Violations::default();
    names::check_optional_id(&mut violations, "episode_id", &request.episode_id);
    names::check_request_id(&mut violations, "request_id", &request.request_id);
    let episode = match &request.episode {
        Some(episode) => validate_episode(&mut violations, "episode", episode),
        None => {
            violations.add("episode", "is required");
            Episode::default()
        }
    };
    violations.into_result()?;
    Ok(episode)
}

/// Validates an `UpdateEpisode` request as the handler does before reading the stored episode:
/// the episode's id, the patch and the paths to replace. The handler then merges with
/// [`apply_mask`] and validates the result with [`validate_episode`].
pub fn read_update_episode(
    request: &UpdateEpisodeRequest,
) -> std::result::Result<(String, Episode, Vec<String>), Violations> {
    let mut violations = Violations::default();
    let Some(patch) = request.episode.clone() else {
        violations.add("episode", "is required");
        return Err(violations);
    };
    let id = episode_id(&mut violations, "episode.name", &patch.name);
    let paths = match &request.update_mask {
        Some(mask) => {
            if mask.paths.is_empty() {
                violations.add("update_mask.paths", "must name at least one field, or `*`");
            }
            for (i, path) in mask.paths.iter().enumerate() {
                if path != "*" && !EPISODE_MASK_PATHS.contains(&path.as_str()) {
                    violations.add(
                        format!("update_mask.paths[{i}]"),
                        format!(
                            "{path:?} is not an updatable field; use one of {}, or `*`",
                            EPISODE_MASK_PATHS.join(", ")
                        ),
                    );
                }
            }
            mask.paths.clone()
        }
        None => implied_mask(&patch),
    };
    violations.into_result()?;
    Ok((id, patch, paths))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_proto::common::v1::FuzzyDate;

    fn fields(violations: &Violations) -> Vec<&str> {
        violations.iter().map(|v| v.field.as_str()).collect()
    }

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
    fn a_valid_episode_comes_back_normalized_without_output_fields() {
        let mut violations = Violations::default();
        let sent = Episode {
            name: "episodes/ignored".into(),
            etag: "7".into(),
            ..episode()
        };
        let stored = validate_episode(&mut violations, "episode", &sent);
        assert!(violations.is_empty(), "{violations}");
        assert!(stored.name.is_empty() && stored.etag.is_empty());
        let span = stored.span.unwrap();
        assert!(span.earliest.is_some() && span.latest.is_some());
        assert_ne!(span.precision, 0);
    }

    #[test]
    fn every_problem_is_reported_on_its_field_path() {
        let mut violations = Violations::default();
        let bad = Episode {
            title: " ".into(),
            summary: "x".repeat(MAX_SUMMARY_CHARS + 1),
            span: Some(FuzzyDate {
                edtf: "March".into(),
                ..Default::default()
            }),
            communications: vec![
                "communications/a".into(),
                "statements/b".into(),
                "communications/a".into(),
            ],
            statements: vec!["statements/s".into()],
            actors_of_interest: vec!["actors/Bad".into()],
            tags: vec!["ok".into(), "Not OK".into(), "ok".into()],
            ..Default::default()
        };
        validate_episode(&mut violations, "episode", &bad);
        assert_eq!(
            fields(&violations),
            [
                "episode.title",
                "episode.summary",
                "episode.span.edtf",
                "episode.communications[1]",
                "episode.communications[2]",
                "episode.actors_of_interest[0]",
                "episode.tags[1]",
                "episode.tags[2]",
            ]
        );
    }

    #[test]
    fn list_limits_are_enforced() {
        let mut violations = Violations::default();
        let too_many = Episode {
            actors_of_interest: (0..=MAX_ACTORS_OF_INTEREST)
                .map(|i| format!("actors/a{i}"))
                .collect(),
            tags: (0..=MAX_TAGS).map(|i| format!("t{i}")).collect(),
            ..episode()
        };
        validate_episode(&mut violations, "episode", &too_many);
        assert_eq!(
            fields(&violations),
            ["episode.actors_of_interest", "episode.tags"]
        );
        assert!(is_valid_tag(&"a".repeat(MAX_TAG_CHARS)));
        assert!(!is_valid_tag(&"a".repeat(MAX_TAG_CHARS + 1)));
        assert!(!is_valid_tag(""));
    }

    #[test]
    fn masks_replace_only_what_they_name_and_imply_what_is_set() {
        let mut current = episode();
        let patch = Episode {
            title: "New".into(),
            statements: vec![],
            ..Default::default()
        };
        apply_mask(&mut current, &patch, &["statements".into()]);
        assert_eq!(current.title, episode().title);
        assert!(current.statements.is_empty());
        assert_eq!(implied_mask(&patch), ["title"]);
        apply_mask(&mut current, &patch, &["*".into()]);
        assert_eq!(current.title, "New");
        assert!(current.communications.is_empty() && current.span.is_none());
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
