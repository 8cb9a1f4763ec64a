//! The Statement RPCs: `GetStatement`, `BatchGetStatements`, `ListStatements`,
//! `CreateStatement`, `UpdateStatement`, `DeleteStatement`. Each handler reads top to bottom:
//! decode → validate (the request validators of [`crate::domain`]) → check references (the
//! actors and communications services, one look-up each, at once) → apply (the store method of
//! the same name) → encode.

use chancery_proto::statements::v1::{
    BatchGetStatementsRequest, BatchGetStatementsResponse, CreateStatementRequest,
    DeleteStatementRequest, GetStatementRequest, ListStatementsRequest, ListStatementsResponse,
    Statement, UpdateStatementRequest,
};
use chancery_runtime::backends::Reference;
use chancery_runtime::db::etag;
use chancery_runtime::errors::{Error, Result, Violations};
use chancery_runtime::idempotency::request_key;
use chancery_runtime::lookup::{Actors, Communications};
use chancery_runtime::names;
use chancery_runtime::page_token::page;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use crate::Api;
use crate::domain::{self, MAX_BATCH};

/// How many times an update without an etag is retried when another write overtakes it.
const UPDATE_ATTEMPTS: usize = 3;

/// `GetStatement`: one statement by name.
#[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
pub(crate) async fn get_statement(
    api: &Api,
    request: Request<GetStatementRequest>,
) -> Result<Response<Statement>, Status> {
    let request = request.into_inner();
    let id = names::read_name(&request.name, "statements").map_err(Error::from)?;
    let statement = api.store.get_statement(&id).await?;
    Ok(Response::new(
        statement.ok_or(Error::NotFound(request.name))?,
    ))
}

/// `BatchGetStatements`: many statements by name, in one query.
#[tracing::instrument(skip_all, fields(count = request.get_ref().names.len()))]
pub(crate) async fn batch_get_statements(
    api: &Api,
    request: Request<BatchGetStatementsRequest>,
) -> Result<Response<BatchGetStatementsResponse>, Status> {
    let request = request.into_inner();
    let mut violations = Violations::default();
    let ids = names::check_batch(&mut violations, &request.names, "statements", MAX_BATCH);
    violations.into_result().map_err(Error::from)?;
    let found = api.store.batch_get_statements(&ids).await?;
    let (statements, missing_names) =
        names::assemble_batch(&request.names, &ids, &found, request.allow_missing)?;
    Ok(Response::new(BatchGetStatementsResponse {
        statements,
        missing_names,
    }))
}

/// `ListStatements`: a page of statements ordered by the bounds of `said` and id.
#[tracing::instrument(skip_all)]
pub(crate) async fn list_statements(
    api: &Api,
    request: Request<ListStatementsRequest>,
) -> Result<Response<ListStatementsResponse>, Status> {
    let list = domain::read_list_statements(&request.into_inner()).map_err(Error::from)?;
    let (filter, after, size, query) = (list.filter, list.after, list.size, list.query);
    let listed = api
        .store
        .list_statements(&filter, after.as_ref(), size + 1)
        .await?;
    let (listed, next_page_token) = page(
        listed,
        size,
        |l| {
            let (earliest, latest, id) = &l.key;
            vec![earliest.to_string(), latest.to_string(), id.clone()]
        },
        &query,
    );
    Ok(Response::new(ListStatementsResponse {
        statements: listed.into_iter().map(|l| l.statement).collect(),
        next_page_token,
    }))
}

/// `CreateStatement`: validates the statement, answers a retried request from its record,
/// checks the actors and communications it names, then stores it.
#[tracing::instrument(skip_all, fields(statement_id = %request.get_ref().statement_id))]
pub(crate) async fn create_statement(
    api: &Api,
    request: Request<CreateStatementRequest>,
) -> Result<Response<Statement>, Status> {
    let (metadata, _, request) = request.into_parts();
    let id = if request.statement_id.is_empty() {
        names::generate_id("stm")
    } else {
        request.statement_id.clone()
    };
    let valid = domain::validate_create_statement(&request, &id).map_err(Error::from)?;
    let valid =
        valid.ok_or_else(|| Error::Internal("statement validated without a result".into()))?;
    let key = request_key("CreateStatement", &request.request_id, &request);
    if let Some(replayed) = api.store.replayed(key.as_ref()).await? {
        return Ok(Response::new(replayed));
    }
    let remote = check_references(
        api,
        &metadata,
        &valid.references.actors,
        &valid.references.communications,
    )
    .await?;
    let created = api
        .store
        .create_statement(&id, valid, remote, key.as_ref())
        .await?;
    tracing::info!(name = %created.name, "statement created");
    Ok(Response::new(created))
}

/// `UpdateStatement`: merges the patch into the stored statement, validates the result, checks
/// the references the update changes, and writes it if nobody changed the statement meanwhile.
/// Without an etag the caller asked for no condition, so a write that was overtaken is merged
/// again on the newer revision (at most [`UPDATE_ATTEMPTS`] times).
#[tracing::instrument(skip_all)]
pub(crate) async fn update_statement(
    api: &Api,
    request: Request<UpdateStatementRequest>,
) -> Result<Response<Statement>, Status> {
    let (metadata, _, request) = request.into_parts();
    let (id, patch, paths) = domain::read_update_statement(&request).map_err(Error::from)?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match merge_and_update_statement(api, &metadata, &id, &patch, &paths).await {
            Err(Error::EtagMismatch(_)) if patch.etag.is_empty() && attempt < UPDATE_ATTEMPTS => {
                continue;
            }
            outcome => {
                let updated = outcome?;
                tracing::info!(name = %updated.name, etag = %updated.etag, "statement updated");
                return Ok(Response::new(updated));
            }
        }
    }
}

/// One attempt of an update: reads the stored statement and its revision, merges `patch` on
/// `paths` and validates the result outside the transaction, checks the references it changes
/// with the other services, then writes only if the statement is still at that revision
/// ([`Error::EtagMismatch`] otherwise).
async fn merge_and_update_statement(
    api: &Api,
    metadata: &MetadataMap,
    id: &str,
    patch: &Statement,
    paths: &[String],
) -> Result<Statement> {
    let (current, revision) = api
        .store
        .get_statement_revision(id)
        .await?
        .ok_or_else(|| Error::NotFound(patch.name.clone()))?;
    if !patch.etag.is_empty() && patch.etag != etag(revision) {
        return Err(Error::EtagMismatch(patch.name.clone()));
    }
    let mut merged = current;
    domain::apply_statement_mask(&mut merged, patch, paths);
    let mut violations = Violations::default();
    let valid = domain::validate_statement(&mut violations, &merged, id);
    violations.into_result()?;
    let valid =
        valid.ok_or_else(|| Error::Internal("statement validated without a result".into()))?;
    let mut changed = valid.references.clone();
    changed.restrict_to(paths);
    let remote = check_references(api, metadata, &changed.actors, &changed.communications).await?;
    api.store
        .update_statement(id, revision, valid, remote)
        .await
}

/// `DeleteStatement`: deletes a statement no other statement answers.
#[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
pub(crate) async fn delete_statement(
    api: &Api,
    request: Request<DeleteStatementRequest>,
) -> Result<Response<()>, Status> {
    let request = request.into_inner();
    let id = names::read_name(&request.name, "statements").map_err(Error::from)?;
    api.store.delete_statement(&id, &request.etag).await?;
    tracing::info!(name = %request.name, "statement deleted");
    Ok(Response::new(()))
}

/// Checks actor references with one `BatchGetActors` call and communication references with
/// one `BatchGetCommunications` call, concurrently; a call is skipped when it has nothing to
/// check. Returns a violation per reference to something missing;
/// [`Error::DependencyUnavailable`] when a service cannot answer in time.
async fn check_references(
    api: &Api,
    metadata: &MetadataMap,
    actors: &[Reference],
    communications: &[Reference],
) -> Result<Violations> {
    let actor_lookup = api.actors(metadata);
    let communication_lookup = api.communications(metadata);
    let (actors, communications) = tokio::join!(
        actor_lookup.check::<Actors>(actors),
        communication_lookup.check::<Communications>(communications),
    );
    let mut violations = actors?;
    violations.extend(communications?);
    Ok(violations)
}
