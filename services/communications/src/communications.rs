//! The handlers of every `CommunicationService` RPC. Each reads top to bottom: decode →
//! validate (the request validators of [`crate::domain`]) → check actor references (one
//! `BatchGetActors` call through [`chancery_runtime::lookup`]) → apply (the [`Store`] method
//! of the same name) → encode. Each handler validates the whole request before anything else,
//! so a rejected request costs no call to another service and writes nothing, and reports every
//! problem at once. Actor references are checked before the store opens its write transaction:
//! no transaction waits on the network.
//!
//! [`Store`]: crate::store::Store

use chancery_proto::communications::v1::{
    AppendStatusRequest, BatchGetCommunicationsRequest, BatchGetCommunicationsResponse,
    Communication, CreateCommunicationRequest, DeleteCommunicationRequest, GetCommunicationRequest,
    ListCommunicationsRequest, ListCommunicationsResponse, UpdateCommunicationRequest,
};
use chancery_runtime::backends::{CALL_TIMEOUT, Reference, call_timeout, outbound};
use chancery_runtime::errors::{Error, Violations};
use chancery_runtime::idempotency::request_key;
use chancery_runtime::lookup::{Actors, Lookup};
use chancery_runtime::names;
use chancery_runtime::page_token::page;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use crate::Api;
use crate::domain::{self, MAX_BATCH, ReferenceScope};

/// Look-ups in the actors service, through its breaker, within the caller's deadline.
fn actors(api: &Api, incoming: &MetadataMap) -> Lookup {
    Lookup::new(
        outbound(api.backends.actors.clone()).with_breaker(&api.actors_breaker),
        call_timeout(incoming, CALL_TIMEOUT),
    )
}

/// `GetCommunication`: one communication by name.
#[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
pub(crate) async fn get_communication(
    api: &Api,
    request: Request<GetCommunicationRequest>,
) -> Result<Response<Communication>, Status> {
    let request = request.into_inner();
    let id = names::read_name(&request.name, "communications").map_err(Error::from)?;
    let communication = api.store.get_communication(&id).await?;
    Ok(Response::new(
        communication.ok_or(Error::NotFound(request.name))?,
    ))
}

/// `BatchGetCommunications`: many communications by name, in the order asked.
#[tracing::instrument(skip_all, fields(count = request.get_ref().names.len()))]
pub(crate) async fn batch_get_communications(
    api: &Api,
    request: Request<BatchGetCommunicationsRequest>,
) -> Result<Response<BatchGetCommunicationsResponse>, Status> {
    let request = request.into_inner();
    let mut violations = Violations::default();
    let ids = names::check_batch(&mut violations, &request.names, "communications", MAX_BATCH);
    violations.into_result().map_err(Error::from)?;
    let found = api.store.batch_get_communications(&ids).await?;
    let (communications, missing_names) =
        names::assemble_batch(&request.names, &ids, &found, request.allow_missing)?;
    Ok(Response::new(BatchGetCommunicationsResponse {
        communications,
        missing_names,
    }))
}

/// `ListCommunications`: a page of communications in date order.
#[tracing::instrument(skip_all)]
pub(crate) async fn list_communications(
    api: &Api,
    request: Request<ListCommunicationsRequest>,
) -> Result<Response<ListCommunicationsResponse>, Status> {
    let list = domain::read_list_communications(&request.into_inner()).map_err(Error::from)?;
    let (filter, after, size, query) = (list.filter, list.after, list.size, list.query);
    let listed = api
        .store
        .list_communications(&filter, after.as_ref(), size + 1)
        .await?;
    let (listed, next_page_token) = page(
        listed,
        size,
        |l| {
            vec![
                l.key.earliest.to_string(),
                l.key.latest.to_string(),
                l.key.id.clone(),
            ]
        },
        &query,
    );
    Ok(Response::new(ListCommunicationsResponse {
        communications: listed.into_iter().map(|l| l.communication).collect(),
        next_page_token,
    }))
}

/// `CreateCommunication`: a new communication, status log included; a retry with the same
/// request id is answered from the record, without asking the actors service again.
#[tracing::instrument(skip_all, fields(communication_id = %request.get_ref().communication_id))]
pub(crate) async fn create_communication(
    api: &Api,
    request: Request<CreateCommunicationRequest>,
) -> Result<Response<Communication>, Status> {
    let (metadata, _, request) = request.into_parts();
    let (valid, references) =
        domain::validate_create_communication(&request).map_err(Error::from)?;
    let id = (!request.communication_id.is_empty()).then_some(request.communication_id.as_str());

    let key = request_key("CreateCommunication", &request.request_id, &request);
    if let Some(replayed) = api.store.replayed(key.as_ref()).await? {
        tracing::info!(name = %replayed.name, "create replayed");
        return Ok(Response::new(replayed));
    }
    let missing = actors(api, &metadata).check::<Actors>(&references).await?;
    let id = id.map_or_else(|| names::generate_id("com"), str::to_owned);
    let created = api
        .store
        .create_communication(&id, valid, missing, key.as_ref())
        .await?;
    tracing::info!(name = %created.name, "communication created");
    Ok(Response::new(created))
}

/// `UpdateCommunication`: the fields of the mask replaced. The merge is validated onto the
/// current version before the actors service is asked anything; the store merges again in its
/// transaction, onto what it reads there.
#[tracing::instrument(
    skip_all,
    fields(name = %request.get_ref().communication.as_ref().map_or("", |c| c.name.as_str()))
)]
pub(crate) async fn update_communication(
    api: &Api,
    request: Request<UpdateCommunicationRequest>,
) -> Result<Response<Communication>, Status> {
    let (metadata, _, request) = request.into_parts();
    let (id, patch, paths) = domain::read_update_communication(&request).map_err(Error::from)?;

    let merge = |mut current: Communication, violations: &mut Violations| {
        domain::apply_mask(&mut current, &patch, &paths);
        let status_log = std::mem::take(&mut current.status_log);
        let mut merged =
            domain::validate_communication(violations, "communication", &current, Some(&id));
        merged.status_log = status_log;
        merged
    };
    let current = api
        .store
        .get_communication(&id)
        .await?
        .ok_or_else(|| Error::NotFound(patch.name.clone()))?;
    if !patch.etag.is_empty() && patch.etag != current.etag {
        return Err(Error::EtagMismatch(patch.name.clone()).into());
    }
    let mut violations = Violations::default();
    let merged = merge(current, &mut violations);
    let references =
        domain::actor_references("communication", &merged, ReferenceScope::of_mask(&paths));
    domain::check_reference_count(&mut violations, "communication", &references);
    violations.into_result().map_err(Error::from)?;

    let missing = actors(api, &metadata).check::<Actors>(&references).await?;
    let topics_replaced = paths.iter().any(|p| p == "*" || p == "topics");
    let updated = api
        .store
        .update_communication(&id, &patch.etag, missing, topics_replaced, merge)
        .await?;
    tracing::info!(name = %updated.name, etag = %updated.etag, "communication updated");
    Ok(Response::new(updated))
}

/// `DeleteCommunication`: the communication and its status log, unless a later one names it.
#[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
pub(crate) async fn delete_communication(
    api: &Api,
    request: Request<DeleteCommunicationRequest>,
) -> Result<Response<()>, Status> {
    let request = request.into_inner();
    let id = names::read_name(&request.name, "communications").map_err(Error::from)?;
    api.store.delete_communication(&id, &request.etag).await?;
    tracing::info!(name = %request.name, "communication deleted");
    Ok(Response::new(()))
}

/// `AppendStatus`: one status assertion appended to the log, the status recomputed; a retry
/// with the same request id is answered from the record.
#[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
pub(crate) async fn append_status(
    api: &Api,
    request: Request<AppendStatusRequest>,
) -> Result<Response<Communication>, Status> {
    let (metadata, _, request) = request.into_parts();
    let (id, status) = domain::validate_append_status(&request).map_err(Error::from)?;

    let key = request_key("AppendStatus", &request.request_id, &request);
    if let Some(replayed) = api.store.replayed(key.as_ref()).await? {
        tracing::info!(name = %replayed.name, "append replayed");
        return Ok(Response::new(replayed));
    }
    let references: Vec<Reference> = names::parse(&status.asserted_by, "actors")
        .map(|_| Reference::new("status.asserted_by", status.asserted_by.clone()))
        .into_iter()
        .collect();
    let missing = actors(api, &metadata).check::<Actors>(&references).await?;
    let updated = api
        .store
        .append_status(&id, &request.etag, status, missing, key.as_ref())
        .await?;
    tracing::info!(
        name = %updated.name,
        etag = %updated.etag,
        lifecycle = updated.lifecycle,
        verification = updated.verification,
        "status appended"
    );
    Ok(Response::new(updated))
}
