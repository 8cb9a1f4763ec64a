//! The `chancery.actors.v1.ActorService` handlers: decode → validate → store → encode. Each
//! handler validates the whole request before touching the store, so a rejected request writes
//! nothing, and reports every problem at once.

use std::collections::HashSet;

use chancery_proto::actors::v1::actor_service_server::ActorService;
use chancery_proto::actors::v1::{
    Actor, ActorKind, BatchGetActorsRequest, BatchGetActorsResponse, CreateActorRequest,
    CreatePostRequest, CreateTenureRequest, DeleteActorRequest, DeletePostRequest,
    DeleteTenureRequest, GetActorRequest, GetPostRequest, GetTenureRequest, HeldOffice,
    ListActorsRequest, ListActorsResponse, ListPostsRequest, ListPostsResponse, ListTenuresRequest,
    ListTenuresResponse, OfficeAnswer, Post, PostClass, ResolveOfficesRequest,
    ResolveOfficesResponse, Tenure, UpdatePostRequest, UpdateTenureRequest,
};
use chancery_proto::common::v1::FuzzyDate;
use chancery_runtime::errors::Violations;
use chancery_runtime::idempotency::request_key;
use chancery_runtime::names::id_of;
use chancery_runtime::page_token::{self, ListPage, QueryFingerprint, page};
use chancery_runtime::{fuzzy_date, names, text};
use tonic::{Request, Response, Status};

use crate::domain::{self, MAX_BATCH};
use crate::store::{ActorFilter, PostFilter, Store};
use chancery_runtime::errors::{Error, Result};

/// The actors service, serving one store.
#[derive(Debug, Clone)]
pub struct ActorApi {
    store: Store,
}

impl ActorApi {
    /// The service on `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

fn check_kind_filter<E: TryFrom<i32>>(violations: &mut Violations, field: &str, value: i32) {
    if E::try_from(value).is_err() {
        violations.add(field, format!("unknown value {value}"));
    }
}

fn check_country_filter(violations: &mut Violations, field: &str, value: &str) {
    if !value.is_empty() {
        text::check_country_alpha3(violations, field, value);
    }
}

#[tonic::async_trait]
impl ActorService for ActorApi {
    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_actor(
        &self,
        request: Request<GetActorRequest>,
    ) -> Result<Response<Actor>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let id = names::check(&mut violations, "name", &request.name, "actors");
        violations.into_result().map_err(Error::from)?;
        let actor = self.store.get_actor(id.unwrap_or_default()).await?;
        Ok(Response::new(actor.ok_or(Error::NotFound(request.name))?))
    }

    #[tracing::instrument(skip_all, fields(count = request.get_ref().names.len()))]
    async fn batch_get_actors(
        &self,
        request: Request<BatchGetActorsRequest>,
    ) -> Result<Response<BatchGetActorsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let ids = names::check_batch(&mut violations, &request.names, "actors", MAX_BATCH);
        violations.into_result().map_err(Error::from)?;
        let found = self.store.get_actors(&ids).await?;
        let (actors, missing_names) =
            names::assemble_batch(&request.names, &ids, &found, request.allow_missing)?;
        let response = BatchGetActorsResponse {
            actors,
            missing_names,
        };
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn list_actors(
        &self,
        request: Request<ListActorsRequest>,
    ) -> Result<Response<ListActorsResponse>, Status> {
        let list = read_list_actors(&request.into_inner()).map_err(Error::from)?;
        let query = list.query;
        let actors = self
            .store
            .list_actors(&list.filter, list.after.as_deref(), list.size + 1)
            .await?;
        let (actors, next_page_token) = page(
            actors,
            list.size,
            |a| vec![id_of(&a.name).to_owned()],
            &query,
        );
        Ok(Response::new(ListActorsResponse {
            actors,
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(actor_id = %request.get_ref().actor_id))]
    async fn create_actor(
        &self,
        request: Request<CreateActorRequest>,
    ) -> Result<Response<Actor>, Status> {
        let request = request.into_inner();
        let (actor, references) = validate_create_actor(&request).map_err(Error::from)?;
        let id = if request.actor_id.is_empty() {
            names::generate_id("act")
        } else {
            request.actor_id.clone()
        };
        let key = request_key("CreateActor", &request.request_id, &request);
        let created = self
            .store
            .create_actor(&id, actor, &references, key.as_ref())
            .await?;
        tracing::info!(name = %created.name, "actor created");
        Ok(Response::new(created))
    }

    #[tracing::instrument(skip_all)]
    async fn update_actor(
        &self,
        request: Request<UpdateActorRequestAlias>,
    ) -> Result<Response<Actor>, Status> {
        let (id, patch, paths) = read_update_actor(&request.into_inner()).map_err(Error::from)?;
        let updated = self
            .store
            .update_actor(&id, &patch.etag, |mut current| {
                domain::apply_actor_mask(&mut current, &patch, &paths);
                let mut violations = Violations::default();
                let references = domain::validate_actor(&mut violations, "actor", &current);
                violations.into_result()?;
                Ok((current, references))
            })
            .await?;
        tracing::info!(name = %updated.name, etag = %updated.etag, "actor updated");
        Ok(Response::new(updated))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn delete_actor(
        &self,
        request: Request<DeleteActorRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let id = names::check(&mut violations, "name", &request.name, "actors")
            .unwrap_or_default()
            .to_owned();
        violations.into_result().map_err(Error::from)?;
        self.store
            .delete_actor(&id, &request.etag, request.force)
            .await?;
        tracing::info!(name = %request.name, "actor deleted");
        Ok(Response::new(()))
    }

    #[tracing::instrument(skip_all, fields(post_id = %request.get_ref().post_id))]
    async fn create_post(
        &self,
        request: Request<CreatePostRequest>,
    ) -> Result<Response<Post>, Status> {
        let request = request.into_inner();
        let (post, organization_id) = validate_create_post(&request).map_err(Error::from)?;
        let id = if request.post_id.is_empty() {
            names::generate_id("pst")
        } else {
            request.post_id.clone()
        };
        let key = request_key("CreatePost", &request.request_id, &request);
        let created = self
            .store
            .create_post(&id, post, &organization_id, key.as_ref())
            .await?;
        tracing::info!(name = %created.name, "post created");
        Ok(Response::new(created))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_post(&self, request: Request<GetPostRequest>) -> Result<Response<Post>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let id = names::check(&mut violations, "name", &request.name, "posts")
            .unwrap_or_default()
            .to_owned();
        violations.into_result().map_err(Error::from)?;
        let post = self.store.get_post(&id).await?;
        Ok(Response::new(post.ok_or(Error::NotFound(request.name))?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_posts(
        &self,
        request: Request<ListPostsRequest>,
    ) -> Result<Response<ListPostsResponse>, Status> {
        let list = read_list_posts(&request.into_inner()).map_err(Error::from)?;
        let query = list.query;
        let posts = self
            .store
            .list_posts(&list.filter, list.after.as_deref(), list.size + 1)
            .await?;
        let (posts, next_page_token) = page(
            posts,
            list.size,
            |p| vec![id_of(&p.name).to_owned()],
            &query,
        );
        Ok(Response::new(ListPostsResponse {
            posts,
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(parent = %request.get_ref().parent))]
    async fn create_tenure(
        &self,
        request: Request<CreateTenureRequest>,
    ) -> Result<Response<Tenure>, Status> {
        let request = request.into_inner();
        let (actor_id, valid) = validate_create_tenure(&request).map_err(Error::from)?;
        let valid =
            valid.ok_or_else(|| Error::Internal("tenure validated without a result".into()))?;
        let id = if request.tenure_id.is_empty() {
            names::generate_id("ten")
        } else {
            request.tenure_id.clone()
        };
        let key = request_key("CreateTenure", &request.request_id, &request);
        let created = self
            .store
            .create_tenure(&actor_id, &id, valid, key.as_ref())
            .await?;
        tracing::info!(name = %created.name, "tenure created");
        Ok(Response::new(created))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_tenure(
        &self,
        request: Request<GetTenureRequest>,
    ) -> Result<Response<Tenure>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let parsed = check_tenure_name(&mut violations, "name", &request.name);
        violations.into_result().map_err(Error::from)?;
        let (actor_id, id) = parsed.unwrap_or_default();
        let tenure = self.store.get_tenure(actor_id, id).await?;
        Ok(Response::new(tenure.ok_or(Error::NotFound(request.name))?))
    }

    #[tracing::instrument(skip_all, fields(parent = %request.get_ref().parent))]
    async fn list_tenures(
        &self,
        request: Request<ListTenuresRequest>,
    ) -> Result<Response<ListTenuresResponse>, Status> {
        let request = request.into_inner();
        let list = read_list_tenures(&request).map_err(Error::from)?;
        let (actor_id, post_id) = &list.filter;
        let after = list
            .after
            .as_ref()
            .map(|(start, actor, id)| (*start, actor.as_str(), id.as_str()));
        let tenures = self
            .store
            .list_tenures(actor_id.as_deref(), post_id, after, list.size + 1)
            .await?;
        let query = list.query;
        let size = list.size;
        let (tenures, next_page_token) = page(
            tenures,
            size,
            |t| {
                vec![
                    t.start.0.to_string(),
                    t.actor_id.clone(),
                    id_of(&t.tenure.name).to_owned(),
                ]
            },
            &query,
        );
        Ok(Response::new(ListTenuresResponse {
            tenures: tenures.into_iter().map(|t| t.tenure).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(count = request.get_ref().queries.len()))]
    async fn resolve_offices(
        &self,
        request: Request<ResolveOfficesRequest>,
    ) -> Result<Response<ResolveOfficesResponse>, Status> {
        let questions = read_resolve_offices(&request.into_inner()).map_err(Error::from)?;

        let actor_ids: HashSet<&str> = questions.iter().map(|(_, id, _)| id.as_str()).collect();
        let existing = self.store.existing_actor_ids(&actor_ids).await?;
        let tenures = self.store.tenures_of(&actor_ids).await?;
        let post_ids: HashSet<&str> = tenures.iter().map(|t| t.post_id.as_str()).collect();
        let posts = self.store.get_posts(&post_ids).await?;

        let answers = questions
            .into_iter()
            .map(|(actor, actor_id, date)| {
                let bounds = fuzzy_date::bounds_of(&date);
                let offices = tenures
                    .iter()
                    .filter(|t| t.actor_id == actor_id)
                    .filter_map(|t| {
                        let certain = domain::covers(t.start, t.end, bounds)?;
                        Some(HeldOffice {
                            tenure: Some(t.tenure.clone()),
                            post: posts.get(&t.post_id).cloned(),
                            certain,
                        })
                    })
                    .collect();
                OfficeAnswer {
                    actor_found: existing.contains(actor_id.as_str()),
                    actor,
                    date: Some(date),
                    offices,
                }
            })
            .collect();
        Ok(Response::new(ResolveOfficesResponse { answers }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_post(
        &self,
        request: Request<UpdatePostRequest>,
    ) -> Result<Response<Post>, Status> {
        let (id, patch, paths) = read_update_post(&request.into_inner()).map_err(Error::from)?;
        let updated = self
            .store
            .update_post(&id, &patch.etag, |mut current| {
                domain::apply_post_mask(&mut current, &patch, &paths);
                let mut violations = Violations::default();
                let organization_id = domain::validate_post(&mut violations, &current);
                violations.into_result()?;
                Ok((current, organization_id))
            })
            .await?;
        tracing::info!(name = %updated.name, etag = %updated.etag, "post updated");
        Ok(Response::new(updated))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn delete_post(
        &self,
        request: Request<DeletePostRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let id = names::check(&mut violations, "name", &request.name, "posts")
            .unwrap_or_default()
            .to_owned();
        violations.into_result().map_err(Error::from)?;
        self.store.delete_post(&id, &request.etag).await?;
        tracing::info!(name = %request.name, "post deleted");
        Ok(Response::new(()))
    }

    #[tracing::instrument(skip_all)]
    async fn update_tenure(
        &self,
        request: Request<UpdateTenureRequest>,
    ) -> Result<Response<Tenure>, Status> {
        let update = read_update_tenure(&request.into_inner()).map_err(Error::from)?;
        let (patch, paths) = (&update.patch, &update.paths);
        let updated = self
            .store
            .update_tenure(
                &update.actor_id,
                &update.tenure_id,
                &patch.etag,
                |mut current| {
                    domain::apply_tenure_mask(&mut current, patch, paths);
                    let mut violations = Violations::default();
                    let valid = domain::validate_tenure(&mut violations, &current);
                    violations.into_result()?;
                    valid.ok_or_else(|| Error::Internal("tenure validated without a result".into()))
                },
            )
            .await?;
        tracing::info!(name = %updated.name, etag = %updated.etag, "tenure updated");
        Ok(Response::new(updated))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn delete_tenure(
        &self,
        request: Request<DeleteTenureRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let parsed = check_tenure_name(&mut violations, "name", &request.name);
        violations.into_result().map_err(Error::from)?;
        let (actor_id, id) = parsed.unwrap_or_default();
        self.store
            .delete_tenure(actor_id, id, &request.etag)
            .await?;
        tracing::info!(name = %request.name, "tenure deleted");
        Ok(Response::new(()))
    }
}

/// Validates a `ListActors` request as the handler does, without the store: the filter, the
/// query its page tokens are bound to, the page size and the id to resume after, or every
/// problem on its field path.
pub fn read_list_actors(
    request: &ListActorsRequest,
) -> std::result::Result<ListPage<ActorFilter, String>, Violations> {
    let mut violations = Violations::default();
    check_kind_filter::<ActorKind>(&mut violations, "kind", request.kind);
    check_country_filter(&mut violations, "country", &request.country);
    let parent_id = names::check_optional(&mut violations, "parent", &request.parent, "actors")
        .unwrap_or_default();
    text::check_optional(
        &mut violations,
        "name_contains",
        &request.name_contains,
        domain::MAX_NAME_CHARS,
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

/// Validates a `ListPosts` request as the handler does, without the store (see
/// [`read_list_actors`]).
pub fn read_list_posts(
    request: &ListPostsRequest,
) -> std::result::Result<ListPage<PostFilter, String>, Violations> {
    let mut violations = Violations::default();
    let organization_id = names::check_optional(
        &mut violations,
        "organization",
        &request.organization,
        "actors",
    )
    .unwrap_or_default();
    check_kind_filter::<PostClass>(&mut violations, "post_class", request.post_class);
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

/// The filter of a tenure listing: the actor's id (`None` for `actors/-`, every actor) and the
/// post's id (empty: any post).
pub type TenureFilter = (Option<String>, String);

/// The sort key a tenure page resumes after: start (microseconds), actor id, tenure id.
pub type TenureCursor = (i64, String, String);

/// Validates a `ListTenures` request as the handler does, without the store (see
/// [`read_list_actors`]); a token whose key is not a tenure key is refused on `page_token`.
pub fn read_list_tenures(
    request: &ListTenuresRequest,
) -> std::result::Result<ListPage<TenureFilter, TenureCursor>, Violations> {
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
    let after = match cursor {
        None => None,
        Some(cursor) => match <[String; 3]>::try_from(cursor) {
            Ok([start, actor, id]) => match start.parse::<i64>() {
                Ok(start) => Some((start, actor, id)),
                Err(_) => {
                    violations.add("page_token", "is not a valid page token");
                    None
                }
            },
            Err(_) => {
                violations.add("page_token", "is not a valid page token");
                None
            }
        },
    };
    violations.into_result()?;
    Ok(ListPage {
        filter: (actor_id, post_id),
        query,
        size,
        after,
    })
}

/// Validates a `CreateActor` request as the handler does before the store: the actor and the
/// references the store must check, or every problem on its field path.
pub fn validate_create_actor(
    request: &CreateActorRequest,
) -> std::result::Result<(Actor, domain::ActorReferences), Violations> {
    let mut violations = Violations::default();
    names::check_optional_id(&mut violations, "actor_id", &request.actor_id);
    names::check_request_id(&mut violations, "request_id", &request.request_id);
    let Some(actor) = request.actor.clone() else {
        violations.add("actor", "is required");
        return Err(violations);
    };
    let references = domain::validate_actor(&mut violations, "actor", &actor);
    violations.into_result()?;
    Ok((actor, references))
}

/// Validates an `UpdateActor` request as the handler does before the store: the actor's id, the
/// patch and the paths to replace. The store then validates the merged actor with
/// [`domain::validate_actor`].
pub fn read_update_actor(
    request: &UpdateActorRequestAlias,
) -> std::result::Result<(String, Actor, Vec<String>), Violations> {
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
        domain::ACTOR_MASK_PATHS,
        || domain::implied_actor_mask(&patch),
    );
    violations.into_result()?;
    Ok((id, patch, paths))
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
            violations.add(
                format!("update_mask.paths[{i}]"),
                format!(
                    "{path:?} is not an updatable field; use one of {}, or `*`",
                    updatable.join(", ")
                ),
            );
        }
    }
    if mask.paths.is_empty() {
        violations.add("update_mask.paths", "must name at least one field, or `*`");
    }
    mask.paths.clone()
}

/// Validates an `UpdatePost` request as the handler does before the store: the post's id, the
/// patch and the paths to replace. The store then validates the merged post with
/// [`domain::validate_post`] (field paths `post.…`) and checks its organization exists.
pub fn read_update_post(
    request: &UpdatePostRequest,
) -> std::result::Result<(String, Post, Vec<String>), Violations> {
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
        domain::POST_MASK_PATHS,
        || domain::implied_post_mask(&patch),
    );
    violations.into_result()?;
    Ok((id, patch, paths))
}

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

/// Validates an `UpdateTenure` request as the handler does before the store: the tenure's
/// name, the patch and the paths to replace. The store then validates the merged tenure with
/// [`domain::validate_tenure`] (field paths `tenure.…`) and checks its references.
pub fn read_update_tenure(
    request: &UpdateTenureRequest,
) -> std::result::Result<TenureUpdate, Violations> {
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
        domain::TENURE_MASK_PATHS,
        || domain::implied_tenure_mask(&patch),
    );
    violations.into_result()?;
    Ok(TenureUpdate {
        actor_id,
        tenure_id,
        patch,
        paths,
    })
}

/// Validates a `CreatePost` request as the handler does before the store: the post and its
/// organization's id, or every problem on its field path.
pub fn validate_create_post(
    request: &CreatePostRequest,
) -> std::result::Result<(Post, String), Violations> {
    let mut violations = Violations::default();
    names::check_optional_id(&mut violations, "post_id", &request.post_id);
    names::check_request_id(&mut violations, "request_id", &request.request_id);
    let Some(post) = request.post.clone() else {
        violations.add("post", "is required");
        return Err(violations);
    };
    let organization_id = domain::validate_post(&mut violations, &post);
    violations.into_result()?;
    Ok((post, organization_id))
}

/// Validates a `CreateTenure` request as the handler does before the store: the actor's id and
/// the tenure with its computed bounds, or every problem on its field path. The tenure is
/// `None` only if [`domain::validate_tenure`] broke its contract (no result, no violation),
/// which the handler answers INTERNAL.
pub fn validate_create_tenure(
    request: &CreateTenureRequest,
) -> std::result::Result<(String, Option<domain::ValidTenure>), Violations> {
    let mut violations = Violations::default();
    let actor_id = names::check(&mut violations, "parent", &request.parent, "actors")
        .unwrap_or_default()
        .to_owned();
    names::check_optional_id(&mut violations, "tenure_id", &request.tenure_id);
    names::check_request_id(&mut violations, "request_id", &request.request_id);
    let valid = match &request.tenure {
        Some(tenure) => domain::validate_tenure(&mut violations, tenure),
        None => {
            violations.add("tenure", "is required");
            None
        }
    };
    violations.into_result()?;
    Ok((actor_id, valid))
}

/// Validates a `ResolveOffices` request as the handler does before the store: per answerable
/// query, its actor name, actor id and normalized date; or every problem on its field path.
pub fn read_resolve_offices(
    request: &ResolveOfficesRequest,
) -> std::result::Result<Vec<(String, String, FuzzyDate)>, Violations> {
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

type UpdateActorRequestAlias = chancery_proto::actors::v1::UpdateActorRequest;

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
}
