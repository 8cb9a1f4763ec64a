//! The rules of episodes, the gateway's own resource: what a valid episode is (every field,
//! with its path), how update masks apply, and the gateway's episode request validators
//! (`read_get_episode`, `read_list_episodes`, `validate_create_episode`, `read_update_episode`,
//! `read_delete_episode`, `read_add_episode_members`, `read_remove_episode_members`), each run
//! by its handler before any store access or remote call. No I/O: whether members exist is
//! asked of their owning services by the gateway, which re-exports this module as
//! `chancery_gateway::domain`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chancery_proto::gateway::v1::{
    AddEpisodeMembersRequest, CreateEpisodeRequest, DeleteEpisodeRequest, Episode,
    GetEpisodeRequest, ListEpisodesRequest, RemoveEpisodeMembersRequest, UpdateEpisodeRequest,
};
use chancery_runtime::errors::Violations;
use chancery_runtime::names;
use chancery_runtime::page_token::{self, ListPage, QueryFingerprint};
use chancery_runtime::{fuzzy_date, text};

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

/// One of the member lists of an episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberList {
    /// `communications`: member communications.
    Communications,
    /// `statements`: member statements.
    Statements,
    /// `actors_of_interest`: the actors the episode is about.
    ActorsOfInterest,
    /// `other_actors`: further actors the episode records.
    OtherActors,
}

impl MemberList {
    /// Every member list, in the order of `Episode`'s fields.
    pub const ALL: [MemberList; 4] = [
        MemberList::Communications,
        MemberList::Statements,
        MemberList::ActorsOfInterest,
        MemberList::OtherActors,
    ];

    /// The field's name, in `Episode` and in the membership requests alike.
    pub fn field(self) -> &'static str {
        match self {
            MemberList::Communications => "communications",
            MemberList::Statements => "statements",
            MemberList::ActorsOfInterest => "actors_of_interest",
            MemberList::OtherActors => "other_actors",
        }
    }

    /// The collection its resource names belong to.
    pub fn collection(self) -> &'static str {
        match self {
            MemberList::Communications => "communications",
            MemberList::Statements => "statements",
            MemberList::ActorsOfInterest | MemberList::OtherActors => "actors",
        }
    }

    /// Most entries an episode may have in the list.
    pub fn max(self) -> usize {
        match self {
            MemberList::Communications | MemberList::Statements => MAX_MEMBERS,
            MemberList::ActorsOfInterest | MemberList::OtherActors => MAX_ACTORS_OF_INTEREST,
        }
    }

    /// The list in `episode`.
    pub fn of(self, episode: &Episode) -> &Vec<String> {
        match self {
            MemberList::Communications => &episode.communications,
            MemberList::Statements => &episode.statements,
            MemberList::ActorsOfInterest => &episode.actors_of_interest,
            MemberList::OtherActors => &episode.other_actors,
        }
    }

    /// The list in `episode`, to change it.
    pub fn of_mut(self, episode: &mut Episode) -> &mut Vec<String> {
        match self {
            MemberList::Communications => &mut episode.communications,
            MemberList::Statements => &mut episode.statements,
            MemberList::ActorsOfInterest => &mut episode.actors_of_interest,
            MemberList::OtherActors => &mut episode.other_actors,
        }
    }
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

/// The id of `episodes/{id}` in `field`, recording a violation when the name is malformed.
fn episode_id(violations: &mut Violations, field: &str, name: &str) -> String {
    names::check(violations, field, name, "episodes")
        .unwrap_or_default()
        .to_owned()
}

/// The member lists of a membership request, by list.
pub fn membership_lists<'a>(
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
                    crate::checks::not_updatable(&mut violations, i, path, EPISODE_MASK_PATHS);
                }
            }
            mask.paths.clone()
        }
        None => implied_mask(&patch),
    };
    violations.into_result()?;
    Ok((id, patch, paths))
}

/// Validates a `GetEpisode` request as the handler does before reading the store: the
/// episode's id, or the problem with `name`.
pub fn read_get_episode(request: &GetEpisodeRequest) -> Result<String, Violations> {
    names::read_name(&request.name, "episodes")
}

/// Validates a `DeleteEpisode` request as the handler does before writing: the episode's id,
/// or the problem with `name`.
pub fn read_delete_episode(request: &DeleteEpisodeRequest) -> Result<String, Violations> {
    names::read_name(&request.name, "episodes")
}

/// Validates an `AddEpisodeMembers` request as the handler does before reading the episode:
/// the episode's id, or every problem (a malformed name, a list longer than the episode may
/// hold) on its field path. Whether the merged episode stays within the limits is checked
/// once it is read.
pub fn read_add_episode_members(request: &AddEpisodeMembersRequest) -> Result<String, Violations> {
    let mut violations = Violations::default();
    let id = episode_id(&mut violations, "name", &request.name);
    let lists = membership_lists(
        &request.communications,
        &request.statements,
        &request.actors_of_interest,
    );
    for (list, values) in lists {
        check_member_names(&mut violations, list.field(), values, list, list.max());
    }
    violations.into_result()?;
    Ok(id)
}

/// Validates a `RemoveEpisodeMembers` request as the handler does before writing: the
/// episode's id, or every problem on its field path (each list may name at most
/// [`MAX_MEMBERS`] entries).
pub fn read_remove_episode_members(
    request: &RemoveEpisodeMembersRequest,
) -> Result<String, Violations> {
    let mut violations = Violations::default();
    let id = episode_id(&mut violations, "name", &request.name);
    let lists = membership_lists(
        &request.communications,
        &request.statements,
        &request.actors_of_interest,
    );
    for (list, values) in lists {
        check_member_names(&mut violations, list.field(), values, list, MAX_MEMBERS);
    }
    violations.into_result()?;
    Ok(id)
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
}
