//! The actors service's request validators: each reads one request as its handler does before
//! the store, and answers what the handler needs (ids, the resource, a listing's filter and
//! cursor) or every problem at once, each on its field path. The store then checks what needs
//! the database (existence of referenced actors and posts, cycles of parents).

use chancery_proto::actors::v1::{
    Actor, ActorKind, BatchGetActorsRequest, CreateActorRequest, CreatePostRequest,
    CreateTenureRequest, DeleteActorRequest, DeletePostRequest, DeleteTenureRequest,
    GetActorRequest, GetPostRequest, GetTenureRequest, ListActorsRequest, ListPostsRequest,
    ListTenuresRequest, Post, PostClass, ResolveOfficesRequest, Tenure, UpdateActorRequest,
    UpdatePostRequest, UpdateTenureRequest,
};
use chancery_proto::common::v1::FuzzyDate;
use chancery_runtime::errors::Violations;
use chancery_runtime::page_token::{self, ListPage, QueryFingerprint};
use chancery_runtime::{fuzzy_date, names, text};

use super::{
    ACTOR_MASK_PATHS, ActorReferences, MAX_BATCH, MAX_NAME_CHARS, POST_MASK_PATHS,
    TENURE_MASK_PATHS, ValidTenure, implied_actor_mask, implied_post_mask, implied_tenure_mask,
    validate_actor, validate_post, validate_tenure,
};
use crate::checks::check_enum;

/// Filters of an actor listing; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct ActorFilter {
    /// Kind number, 0 for any.
    pub kind: i32,
    /// ISO alpha-3 country.
    pub country: String,
    /// Id of the parent actor.
    pub parent_id: String,
    /// Folded text to find in any name.
    pub name_folded: String,
}

/// Filters of a post listing; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct PostFilter {
    /// Id of the organization.
    pub organization_id: String,
    /// Class number, 0 for any.
    pub post_class: i32,
    /// ISO alpha-3 country.
    pub country: String,
}

/// The filter of a tenure listing: the actor's id (`None` for `actors/-`, every actor) and the
/// post's id (empty: any post).
pub type TenureFilter = (Option<String>, String);

/// The sort key a tenure page resumes after: start (microseconds), actor id, tenure id.
pub type TenureCursor = (i64, String, String);

/// An `UpdateTenure` request read by [`read_update_tenure`].
#[derive(Debug, Clone, PartialEq)]
pub struct TenureUpdate {
    /// The actor of the tenure.
    pub actor_id: String,
    /// The tenure's own id.
    pub tenure_id: String,
    /// The new values (and the etag to check).
    pub patch: Tenure,
    /// The fields to replace.
    pub paths: Vec<String>,
}

/// Validates a `GetActor` request: the actor's id.
pub fn read_get_actor(request: &GetActorRequest) -> Result<String, Violations> {
    names::read_name(&request.name, "actors")
}

/// Validates a `BatchGetActors` request: the id of each name, in order (at most
/// [`MAX_BATCH`]).
pub fn read_batch_get_actors(request: &BatchGetActorsRequest) -> Result<Vec<&str>, Violations> {
    let mut violations = Violations::default();
    let ids = names::check_batch(&mut violations, &request.names, "actors", MAX_BATCH);
    violations.into_result()?;
    Ok(ids)
}

/// Validates a `ListActors` request as the handler does, without the store: the filter, the
/// query its page tokens are bound to, the page size and the id to resume after, or every
/// problem on its field path.
pub fn read_list_actors(
    request: &ListActorsRequest,
) -> Result<ListPage<ActorFilter, String>, Violations> {
    let mut violations = Violations::default();
    check_enum::<ActorKind>(&mut violations, "kind", request.kind, false);
    check_country_filter(&mut violations, "country", &request.country);
    let parent_id = names::check_optional(&mut violations, "parent", &request.parent, "actors")
        .unwrap_or_default();
    text::check_optional(
        &mut violations,
        "name_contains",
        &request.name_contains,
        MAX_NAME_CHARS,
    );
    if request.name_contains.contains('\n') {
        violations.add("name_contains", "must be on one line");
    }
    let filter = ActorFilter {
        kind: request.kind,
        country: request.country.clone(),
        parent_id: parent_id.to_owned(),
        name_folded: text::fold(request.name_contains.trim()),
    };
    let query = QueryFingerprint::new("ListActors")
        .with("kind", filter.kind)
        .with("country", &filter.country)
        .with("parent", &filter.parent_id)
        .with("name_contains", &filter.name_folded);
    let (size, cursor) = page_token::read_page_request(
        &mut violations,
        request.page_size,
        &request.page_token,
        &query,
    );
    violations.into_result()?;
    let after = cursor.and_then(|c| c.into_iter().next());
    Ok(ListPage {
        filter,
        query,
        size,
        after,
    })
}

/// Validates a `CreateActor` request as the handler does before the store: the actor and the
/// references the store must check, or every problem on its field path.
pub fn validate_create_actor(
    request: &CreateActorRequest,
) -> Result<(Actor, ActorReferences), Violations> {
    let mut violations = Violations::default();
    names::check_optional_id(&mut violations, "actor_id", &request.actor_id);
    names::check_request_id(&mut violations, "request_id", &request.request_id);
    let Some(actor) = request.actor.clone() else {
        violations.add("actor", "is required");
        return Err(violations);
    };
    let references = validate_actor(&mut violations, "actor", &actor);
    violations.into_result()?;
    Ok((actor, references))
}

/// Validates an `UpdateActor` request as the handler does before the store: the actor's id, the
/// patch and the paths to replace. The store then validates the merged actor with
/// [`validate_actor`].
pub fn read_update_actor(
    request: &UpdateActorRequest,
) -> Result<(String, Actor, Vec<String>), Violations> {
    let mut violations = Violations::default();
    let Some(patch) = request.actor.clone() else {
        violations.add("actor", "is required");
        return Err(violations);
    };
    let id = names::check(&mut violations, "actor.name", &patch.name, "actors")
        .unwrap_or_default()
        .to_owned();
    let paths = read_mask(
        &mut violations,
        request.update_mask.as_ref(),
        ACTOR_MASK_PATHS,
        || implied_actor_mask(&patch),
    );
    violations.into_result()?;
    Ok((id, patch, paths))
}

/// Validates a `DeleteActor` request: the actor's id.
pub fn read_delete_actor(request: &DeleteActorRequest) -> Result<String, Violations> {
    names::read_name(&request.name, "actors")
}

/// Validates a `CreatePost` request as the handler does before the store: the post and its
/// organization's id, or every problem on its field path.
pub fn validate_create_post(request: &CreatePostRequest) -> Result<(Post, String), Violations> {
    let mut violations = Violations::default();
    names::check_optional_id(&mut violations, "post_id", &request.post_id);
    names::check_request_id(&mut violations, "request_id", &request.request_id);
    let Some(post) = request.post.clone() else {
        violations.add("post", "is required");
        return Err(violations);
    };
    let organization_id = validate_post(&mut violations, &post);
    violations.into_result()?;
    Ok((post, organization_id))
}

/// Validates a `GetPost` request: the post's id.
pub fn read_get_post(request: &GetPostRequest) -> Result<String, Violations> {
    names::read_name(&request.name, "posts")
}

/// Validates a `ListPosts` request as the handler does, without the store (see
/// [`read_list_actors`]).
pub fn read_list_posts(
    request: &ListPostsRequest,
) -> Result<ListPage<PostFilter, String>, Violations> {
    let mut violations = Violations::default();
    let organization_id = names::check_optional(
        &mut violations,
        "organization",
        &request.organization,
        "actors",
    )
    .unwrap_or_default();
    check_enum::<PostClass>(&mut violations, "post_class", request.post_class, false);
    check_country_filter(&mut violations, "country", &request.country);
    let filter = PostFilter {
        organization_id: organization_id.to_owned(),
        post_class: request.post_class,
        country: request.country.clone(),
    };
    let query = QueryFingerprint::new("ListPosts")
        .with("organization", &filter.organization_id)
        .with("post_class", filter.post_class)
        .with("country", &filter.country);
    let (size, cursor) = page_token::read_page_request(
        &mut violations,
        request.page_size,
        &request.page_token,
        &query,
    );
    violations.into_result()?;
    let after = cursor.and_then(|c| c.into_iter().next());
    Ok(ListPage {
        filter,
        query,
        size,
        after,
    })
}

/// Validates an `UpdatePost` request as the handler does before the store: the post's id, the
/// patch and the paths to replace. The store then validates the merged post with
/// [`validate_post`] (field paths `post.…`) and checks its organization exists.
pub fn read_update_post(
    request: &UpdatePostRequest,
) -> Result<(String, Post, Vec<String>), Violations> {
    let mut violations = Violations::default();
    let Some(patch) = request.post.clone() else {
        violations.add("post", "is required");
        return Err(violations);
    };
    let id = names::check(&mut violations, "post.name", &patch.name, "posts")
        .unwrap_or_default()
        .to_owned();
    let paths = read_mask(
        &mut violations,
        request.update_mask.as_ref(),
        POST_MASK_PATHS,
        || implied_post_mask(&patch),
    );
    violations.into_result()?;
    Ok((id, patch, paths))
}

/// Validates a `DeletePost` request: the post's id.
pub fn read_delete_post(request: &DeletePostRequest) -> Result<String, Violations> {
    names::read_name(&request.name, "posts")
}

/// Validates a `CreateTenure` request as the handler does before the store: the actor's id and
/// the tenure with its computed bounds, or every problem on its field path. The tenure is
/// `None` only if [`validate_tenure`] broke its contract (no result, no violation), which the
/// handler answers INTERNAL.
pub fn validate_create_tenure(
    request: &CreateTenureRequest,
) -> Result<(String, Option<ValidTenure>), Violations> {
    let mut violations = Violations::default();
    let actor_id = names::check(&mut violations, "parent", &request.parent, "actors")
        .unwrap_or_default()
        .to_owned();
    names::check_optional_id(&mut violations, "tenure_id", &request.tenure_id);
    names::check_request_id(&mut violations, "request_id", &request.request_id);
    let valid = match &request.tenure {
        Some(tenure) => validate_tenure(&mut violations, tenure),
        None => {
            violations.add("tenure", "is required");
            None
        }
    };
    violations.into_result()?;
    Ok((actor_id, valid))
}

/// Validates a `GetTenure` request: the actor's id and the tenure's own id.
pub fn read_get_tenure(request: &GetTenureRequest) -> Result<(String, String), Violations> {
    read_tenure_name(&request.name)
}

/// Validates a `ListTenures` request as the handler does, without the store (see
/// [`read_list_actors`]); a token whose key is not a tenure key is refused on `page_token`.
pub fn read_list_tenures(
    request: &ListTenuresRequest,
) -> Result<ListPage<TenureFilter, TenureCursor>, Violations> {
    let mut violations = Violations::default();
    let actor_id = if request.parent == "actors/-" {
        None
    } else {
        Some(
            names::check(&mut violations, "parent", &request.parent, "actors")
                .unwrap_or_default()
                .to_owned(),
        )
    };
    let post_id = names::check_optional(&mut violations, "post", &request.post, "posts")
        .unwrap_or_default()
        .to_owned();
    let query = QueryFingerprint::new("ListTenures")
        .with("parent", &request.parent)
        .with("post", &post_id);
    let (size, cursor) = page_token::read_page_request(
        &mut violations,
        request.page_size,
        &request.page_token,
        &query,
    );
    let after = cursor.and_then(|cursor| {
        let after = tenure_cursor(cursor);
        if after.is_none() {
            violations.add("page_token", "is not a valid page token");
        }
        after
    });
    violations.into_result()?;
    Ok(ListPage {
        filter: (actor_id, post_id),
        query,
        size,
        after,
    })
}

/// Validates an `UpdateTenure` request as the handler does before the store: the tenure's
/// name, the patch and the paths to replace. The store then validates the merged tenure with
/// [`validate_tenure`] (field paths `tenure.…`) and checks its references.
pub fn read_update_tenure(request: &UpdateTenureRequest) -> Result<TenureUpdate, Violations> {
    let mut violations = Violations::default();
    let Some(patch) = request.tenure.clone() else {
        violations.add("tenure", "is required");
        return Err(violations);
    };
    let (actor_id, tenure_id) = check_tenure_name(&mut violations, "tenure.name", &patch.name)
        .map(|(actor, id)| (actor.to_owned(), id.to_owned()))
        .unwrap_or_default();
    let paths = read_mask(
        &mut violations,
        request.update_mask.as_ref(),
        TENURE_MASK_PATHS,
        || implied_tenure_mask(&patch),
    );
    violations.into_result()?;
    Ok(TenureUpdate {
        actor_id,
        tenure_id,
        patch,
        paths,
    })
}

/// Validates a `DeleteTenure` request: the actor's id and the tenure's own id.
pub fn read_delete_tenure(request: &DeleteTenureRequest) -> Result<(String, String), Violations> {
    read_tenure_name(&request.name)
}

/// Validates a `ResolveOffices` request as the handler does before the store: per answerable
/// query, its actor name, actor id and normalized date; or every problem on its field path.
pub fn read_resolve_offices(
    request: &ResolveOfficesRequest,
) -> Result<Vec<(String, String, FuzzyDate)>, Violations> {
    let mut violations = Violations::default();
    if request.queries.len() > MAX_BATCH {
        violations.add(
            "queries",
            format!(
                "must have at most {MAX_BATCH} entries (got {})",
                request.queries.len()
            ),
        );
    }
    let mut questions = Vec::with_capacity(request.queries.len());
    for (i, query) in request.queries.iter().enumerate().take(MAX_BATCH) {
        let actor_id = names::check(
            &mut violations,
            &format!("queries[{i}].actor"),
            &query.actor,
            "actors",
        );
        let date = match &query.date {
            Some(date) => {
                fuzzy_date::normalize(&mut violations, &format!("queries[{i}].date"), date)
            }
            None => {
                violations.add(format!("queries[{i}].date"), "is required");
                None
            }
        };
        if let (Some(actor_id), Some(date)) = (actor_id, date) {
            questions.push((query.actor.clone(), actor_id.to_owned(), date));
        }
    }
    violations.into_result()?;
    Ok(questions)
}

/// The actor and tenure ids of the tenure `name` on field `name`, or why it is not one.
fn read_tenure_name(name: &str) -> Result<(String, String), Violations> {
    let mut violations = Violations::default();
    let parsed = check_tenure_name(&mut violations, "name", name);
    violations.into_result()?;
    let (actor_id, id) = parsed.unwrap_or_default();
    Ok((actor_id.to_owned(), id.to_owned()))
}

/// A country filter is empty (any country) or an ISO alpha-3 code.
fn check_country_filter(violations: &mut Violations, field: &str, value: &str) {
    if !value.is_empty() {
        text::check_country_alpha3(violations, field, value);
    }
}

/// The sort key of a tenure page token (start, actor id, tenure id), if it is one.
fn tenure_cursor(cursor: Vec<String>) -> Option<TenureCursor> {
    let [start, actor, id] = <[String; 3]>::try_from(cursor).ok()?;
    Some((start.parse::<i64>().ok()?, actor, id))
}

/// The paths of an update mask (AIP-134): each must be one of `updatable` or `*`, and a mask
/// that is set must name at least one; an unset mask means every field the patch sets
/// (`implied`). Each wrong path is a violation on `update_mask.paths[i]`.
fn read_mask(
    violations: &mut Violations,
    mask: Option<&prost_types::FieldMask>,
    updatable: &[&str],
    implied: impl FnOnce() -> Vec<String>,
) -> Vec<String> {
    let Some(mask) = mask else {
        return implied();
    };
    for (i, path) in mask.paths.iter().enumerate() {
        if path != "*" && !updatable.contains(&path.as_str()) {
            crate::checks::not_updatable(violations, i, path, updatable);
        }
    }
    if mask.paths.is_empty() {
        violations.add("update_mask.paths", "must name at least one field, or `*`");
    }
    mask.paths.clone()
}

/// Splits a tenure name at `field`, or records why it is not one.
fn check_tenure_name<'a>(
    violations: &mut Violations,
    field: &str,
    name: &'a str,
) -> Option<(&'a str, &'a str)> {
    let parsed = parse_tenure_name(name);
    if parsed.is_none() {
        violations.add(
            field,
            format!("must be `actors/{{actor_id}}/tenures/{{tenure_id}}` (got {name:?})"),
        );
    }
    parsed
}

/// Splits `actors/{actor_id}/tenures/{tenure_id}`.
fn parse_tenure_name(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("actors/")?;
    let (actor_id, tenure_id) = rest.split_once("/tenures/")?;
    (names::is_valid_id(actor_id) && names::is_valid_id(tenure_id)).then_some((actor_id, tenure_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenure_names_parse() {
        assert_eq!(parse_tenure_name("actors/a/tenures/b"), Some(("a", "b")));
        assert_eq!(parse_tenure_name("actors/a/tenures/"), None);
        assert_eq!(parse_tenure_name("posts/a/tenures/b"), None);
        assert_eq!(parse_tenure_name("actors/A/tenures/b"), None);
    }

    #[test]
    fn tenure_listings_resume_only_after_an_issued_tenure_key() {
        let request = ListTenuresRequest {
            parent: "actors/-".into(),
            ..Default::default()
        };
        let query = read_list_tenures(&request).unwrap().query;
        let with_token = |cursor: &[&str]| ListTenuresRequest {
            page_token: page_token::encode(&query, cursor),
            ..request.clone()
        };
        let list = read_list_tenures(&with_token(&["-5", "a", "t"])).unwrap();
        assert_eq!(list.after, Some((-5, "a".to_owned(), "t".to_owned())));
        for bad in [&["x", "a", "t"][..], &["1"], &["1", "a", "t", "u"]] {
            let violations = read_list_tenures(&with_token(bad)).unwrap_err();
            let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
            assert_eq!(fields, ["page_token"], "{bad:?}");
        }
        let other = ListTenuresRequest {
            parent: "actors/a".into(),
            ..with_token(&["-5", "a", "t"])
        };
        assert!(read_list_tenures(&other).is_err());
    }

    #[test]
    fn get_and_delete_name_the_name_field() {
        let bad = GetTenureRequest {
            name: "actors/a".into(),
        };
        let violations = read_get_tenure(&bad).unwrap_err();
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["name"]);
        let good = DeleteTenureRequest {
            name: "actors/a/tenures/b".into(),
            ..Default::default()
        };
        assert_eq!(
            read_delete_tenure(&good).unwrap(),
            ("a".to_owned(), "b".to_owned())
        );
        let post = GetPostRequest {
            name: "actors/a".into(),
        };
        assert!(read_get_post(&post).is_err());
        let actor = DeleteActorRequest {
            name: "actors/a".into(),
            ..Default::default()
        };
        assert_eq!(read_delete_actor(&actor).unwrap(), "a");
    }
}
