//! The tenure RPCs: CreateTenure, GetTenure, ListTenures, UpdateTenure, DeleteTenure, and
//! ResolveOffices (which offices an actor held on a date). Each handler decodes, validates with
//! the domain crate's request validator, applies the store method of the same name, and
//! encodes.

use std::collections::HashSet;

use chancery_proto::actors::v1::{
    CreateTenureRequest, DeleteTenureRequest, GetTenureRequest, HeldOffice, ListTenuresRequest,
    ListTenuresResponse, OfficeAnswer, ResolveOfficesRequest, ResolveOfficesResponse, Tenure,
    UpdateTenureRequest,
};
use chancery_proto::common::v1::FuzzyDate;
use chancery_runtime::errors::{Error, Violations};
use chancery_runtime::fuzzy_date;
use chancery_runtime::idempotency::request_key;
use chancery_runtime::names::{self, id_of};
use chancery_runtime::page_token::page;
use tonic::{Request, Response, Status};

use crate::Api;
use crate::domain;
use crate::store::Offices;

/// CreateTenure: a tenure of the parent actor; the id is the request's or a generated one; a
/// retried `request_id` answers the first result.
#[tracing::instrument(skip_all, fields(parent = %request.get_ref().parent))]
pub(crate) async fn create_tenure(
    api: &Api,
    request: Request<CreateTenureRequest>,
) -> Result<Response<Tenure>, Status> {
    let request = request.into_inner();
    let (actor_id, valid) = domain::validate_create_tenure(&request).map_err(Error::from)?;
    let valid = valid.ok_or_else(|| Error::Internal("tenure validated without a result".into()))?;
    let id = if request.tenure_id.is_empty() {
        names::generate_id("ten")
    } else {
        request.tenure_id.clone()
    };
    let key = request_key("CreateTenure", &request.request_id, &request);
    let created = api
        .store
        .create_tenure(&actor_id, &id, valid, key.as_ref())
        .await?;
    tracing::info!(name = %created.name, "tenure created");
    Ok(Response::new(created))
}

/// GetTenure: one tenure by name; NOT_FOUND when it does not exist.
#[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
pub(crate) async fn get_tenure(
    api: &Api,
    request: Request<GetTenureRequest>,
) -> Result<Response<Tenure>, Status> {
    let request = request.into_inner();
    let (actor_id, id) = domain::read_get_tenure(&request).map_err(Error::from)?;
    let tenure = api.store.get_tenure(&actor_id, &id).await?;
    Ok(Response::new(tenure.ok_or(Error::NotFound(request.name))?))
}

/// ListTenures: a page of one actor's tenures (or every actor's, `actors/-`), ordered by
/// start, actor and id.
#[tracing::instrument(skip_all, fields(parent = %request.get_ref().parent))]
pub(crate) async fn list_tenures(
    api: &Api,
    request: Request<ListTenuresRequest>,
) -> Result<Response<ListTenuresResponse>, Status> {
    let list = domain::read_list_tenures(request.get_ref()).map_err(Error::from)?;
    let (actor_id, post_id) = &list.filter;
    let after = list
        .after
        .as_ref()
        .map(|(start, actor, id)| (*start, actor.as_str(), id.as_str()));
    let tenures = api
        .store
        .list_tenures(actor_id.as_deref(), post_id, after, list.size + 1)
        .await?;
    let (tenures, next_page_token) = page(
        tenures,
        list.size,
        |t| {
            vec![
                t.start.0.to_string(),
                t.actor_id.clone(),
                id_of(&t.tenure.name).to_owned(),
            ]
        },
        &list.query,
    );
    Ok(Response::new(ListTenuresResponse {
        tenures: tenures.into_iter().map(|t| t.tenure).collect(),
        next_page_token,
    }))
}

/// UpdateTenure: the mask's fields of the patch replace the stored ones; the merged tenure is
/// validated whole and its post and `on_behalf_of` actor must exist.
#[tracing::instrument(skip_all)]
pub(crate) async fn update_tenure(
    api: &Api,
    request: Request<UpdateTenureRequest>,
) -> Result<Response<Tenure>, Status> {
    let update = domain::read_update_tenure(&request.into_inner()).map_err(Error::from)?;
    let (patch, paths) = (&update.patch, &update.paths);
    let updated = api
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

/// DeleteTenure: deletes one tenure (checking a non-empty etag).
#[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
pub(crate) async fn delete_tenure(
    api: &Api,
    request: Request<DeleteTenureRequest>,
) -> Result<Response<()>, Status> {
    let request = request.into_inner();
    let (actor_id, id) = domain::read_delete_tenure(&request).map_err(Error::from)?;
    api.store
        .delete_tenure(&actor_id, &id, &request.etag)
        .await?;
    tracing::info!(name = %request.name, "tenure deleted");
    Ok(Response::new(()))
}

/// ResolveOffices: per (actor, date) asked, in order, whether the actor exists and the offices
/// it may have held then (`certain` when its tenure surely covers the whole date).
#[tracing::instrument(skip_all, fields(count = request.get_ref().queries.len()))]
pub(crate) async fn resolve_offices(
    api: &Api,
    request: Request<ResolveOfficesRequest>,
) -> Result<Response<ResolveOfficesResponse>, Status> {
    let questions = domain::read_resolve_offices(&request.into_inner()).map_err(Error::from)?;
    let actor_ids: HashSet<&str> = questions.iter().map(|(_, id, _)| id.as_str()).collect();
    let offices = api.store.resolve_offices(&actor_ids).await?;
    let answers = questions
        .into_iter()
        .map(|(actor, actor_id, date)| answer(&offices, actor, &actor_id, date))
        .collect();
    Ok(Response::new(ResolveOfficesResponse { answers }))
}

/// The answer to one question of ResolveOffices: what `offices` says of `actor_id` at `date`.
fn answer(offices: &Offices, actor: String, actor_id: &str, date: FuzzyDate) -> OfficeAnswer {
    let bounds = fuzzy_date::bounds_of(&date);
    let held = offices
        .tenures
        .iter()
        .filter(|t| t.actor_id == actor_id)
        .filter_map(|t| {
            let certain = domain::covers(t.start, t.end, bounds)?;
            Some(HeldOffice {
                tenure: Some(t.tenure.clone()),
                post: offices.posts.get(&t.post_id).cloned(),
                certain,
            })
        })
        .collect();
    OfficeAnswer {
        actor_found: offices.existing.contains(actor_id),
        actor,
        date: Some(date),
        offices: held,
    }
}
