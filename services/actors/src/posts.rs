//! The post (office) RPCs: CreatePost, GetPost, ListPosts, UpdatePost, DeletePost. Each
//! handler decodes, validates with the domain crate's request validator, applies the store
//! method of the same name, and encodes.

use chancery_proto::actors::v1::{
    CreatePostRequest, DeletePostRequest, GetPostRequest, ListPostsRequest, ListPostsResponse,
    Post, UpdatePostRequest,
};
use chancery_runtime::errors::{Error, Violations};
use chancery_runtime::idempotency::request_key;
use chancery_runtime::names::{self, id_of};
use chancery_runtime::page_token::page;
use tonic::{Request, Response, Status};

use crate::Api;
use crate::domain;

/// CreatePost: the id is the request's or a generated one; the organization must exist; a
/// retried `request_id` answers the first result.
#[tracing::instrument(skip_all, fields(post_id = %request.get_ref().post_id))]
pub(crate) async fn create_post(
    api: &Api,
    request: Request<CreatePostRequest>,
) -> Result<Response<Post>, Status> {
    let request = request.into_inner();
    let (post, organization_id) = domain::validate_create_post(&request).map_err(Error::from)?;
    let id = if request.post_id.is_empty() {
        names::generate_id("pst")
    } else {
        request.post_id.clone()
    };
    let key = request_key("CreatePost", &request.request_id, &request);
    let created = api
        .store
        .create_post(&id, post, &organization_id, key.as_ref())
        .await?;
    tracing::info!(name = %created.name, "post created");
    Ok(Response::new(created))
}

/// GetPost: one post by name; NOT_FOUND when it does not exist.
#[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
pub(crate) async fn get_post(
    api: &Api,
    request: Request<GetPostRequest>,
) -> Result<Response<Post>, Status> {
    let request = request.into_inner();
    let id = domain::read_get_post(&request).map_err(Error::from)?;
    let post = api.store.get_post(&id).await?;
    Ok(Response::new(post.ok_or(Error::NotFound(request.name))?))
}

/// ListPosts: a page of posts ordered by id.
#[tracing::instrument(skip_all)]
pub(crate) async fn list_posts(
    api: &Api,
    request: Request<ListPostsRequest>,
) -> Result<Response<ListPostsResponse>, Status> {
    let list = domain::read_list_posts(&request.into_inner()).map_err(Error::from)?;
    let posts = api
        .store
        .list_posts(&list.filter, list.after.as_deref(), list.size + 1)
        .await?;
    let (posts, next_page_token) = page(
        posts,
        list.size,
        |p| vec![id_of(&p.name).to_owned()],
        &list.query,
    );
    Ok(Response::new(ListPostsResponse {
        posts,
        next_page_token,
    }))
}

/// UpdatePost: the mask's fields of the patch replace the stored ones, the merged post is
/// validated whole and its organization must exist.
#[tracing::instrument(skip_all)]
pub(crate) async fn update_post(
    api: &Api,
    request: Request<UpdatePostRequest>,
) -> Result<Response<Post>, Status> {
    let (id, patch, paths) =
        domain::read_update_post(&request.into_inner()).map_err(Error::from)?;
    let updated = api
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

/// DeletePost: refused while a tenure holds the post.
#[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
pub(crate) async fn delete_post(
    api: &Api,
    request: Request<DeletePostRequest>,
) -> Result<Response<()>, Status> {
    let request = request.into_inner();
    let id = domain::read_delete_post(&request).map_err(Error::from)?;
    api.store.delete_post(&id, &request.etag).await?;
    tracing::info!(name = %request.name, "post deleted");
    Ok(Response::new(()))
}
