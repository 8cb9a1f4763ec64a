//! The actor RPCs: GetActor, BatchGetActors, ListActors, CreateActor, UpdateActor,
//! DeleteActor. Each handler decodes, validates with the domain crate's request validator,
//! applies the store method of the same name, and encodes.

use chancery_proto::actors::v1::{
    Actor, BatchGetActorsRequest, BatchGetActorsResponse, CreateActorRequest, DeleteActorRequest,
    GetActorRequest, ListActorsRequest, ListActorsResponse, UpdateActorRequest,
};
use chancery_runtime::errors::{Error, Violations};
use chancery_runtime::idempotency::request_key;
use chancery_runtime::names::{self, id_of};
use chancery_runtime::page_token::page;
use tonic::{Request, Response, Status};

use crate::Api;
use crate::domain;

/// GetActor: one actor by name; NOT_FOUND when it does not exist.
#[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
pub(crate) async fn get_actor(
    api: &Api,
    request: Request<GetActorRequest>,
) -> Result<Response<Actor>, Status> {
    let request = request.into_inner();
    let id = domain::read_get_actor(&request).map_err(Error::from)?;
    let actor = api.store.get_actor(&id).await?;
    Ok(Response::new(actor.ok_or(Error::NotFound(request.name))?))
}

/// BatchGetActors: actors by name, in request order; missing ones fail the call unless
/// `allow_missing`, which lists them instead.
#[tracing::instrument(skip_all, fields(count = request.get_ref().names.len()))]
pub(crate) async fn batch_get_actors(
    api: &Api,
    request: Request<BatchGetActorsRequest>,
) -> Result<Response<BatchGetActorsResponse>, Status> {
    let request = request.into_inner();
    let ids = domain::read_batch_get_actors(&request).map_err(Error::from)?;
    let found = api.store.batch_get_actors(&ids).await?;
    let (actors, missing_names) =
        names::assemble_batch(&request.names, &ids, &found, request.allow_missing)?;
    Ok(Response::new(BatchGetActorsResponse {
        actors,
        missing_names,
    }))
}

/// ListActors: a page of actors ordered by id.
#[tracing::instrument(skip_all)]
pub(crate) async fn list_actors(
    api: &Api,
    request: Request<ListActorsRequest>,
) -> Result<Response<ListActorsResponse>, Status> {
    let list = domain::read_list_actors(&request.into_inner()).map_err(Error::from)?;
    let actors = api
        .store
        .list_actors(&list.filter, list.after.as_deref(), list.size + 1)
        .await?;
    let (actors, next_page_token) = page(
        actors,
        list.size,
        |a| vec![id_of(&a.name).to_owned()],
        &list.query,
    );
    Ok(Response::new(ListActorsResponse {
        actors,
        next_page_token,
    }))
}

/// CreateActor: the id is the request's or a generated one; a retried `request_id` answers
/// the first result.
#[tracing::instrument(skip_all, fields(actor_id = %request.get_ref().actor_id))]
pub(crate) async fn create_actor(
    api: &Api,
    request: Request<CreateActorRequest>,
) -> Result<Response<Actor>, Status> {
    let request = request.into_inner();
    let (actor, references) = domain::validate_create_actor(&request).map_err(Error::from)?;
    let id = if request.actor_id.is_empty() {
        names::generate_id("act")
    } else {
        request.actor_id.clone()
    };
    let key = request_key("CreateActor", &request.request_id, &request);
    let created = api
        .store
        .create_actor(&id, actor, &references, key.as_ref())
        .await?;
    tracing::info!(name = %created.name, "actor created");
    Ok(Response::new(created))
}

/// UpdateActor: the mask's fields of the patch replace the stored ones, and the merged actor
/// is validated whole.
#[tracing::instrument(skip_all)]
pub(crate) async fn update_actor(
    api: &Api,
    request: Request<UpdateActorRequest>,
) -> Result<Response<Actor>, Status> {
    let (id, patch, paths) =
        domain::read_update_actor(&request.into_inner()).map_err(Error::from)?;
    let updated = api
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

/// DeleteActor: refused while anything refers to the actor; `force` deletes its tenures too.
#[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
pub(crate) async fn delete_actor(
    api: &Api,
    request: Request<DeleteActorRequest>,
) -> Result<Response<()>, Status> {
    let request = request.into_inner();
    let id = domain::read_delete_actor(&request).map_err(Error::from)?;
    api.store
        .delete_actor(&id, &request.etag, request.force)
        .await?;
    tracing::info!(name = %request.name, "actor deleted");
    Ok(Response::new(()))
}
