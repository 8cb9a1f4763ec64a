//! The SourceDocument RPCs: `CreateSourceDocument`, `GetSourceDocument`,
//! `ListSourceDocuments`, `BatchGetSourceDocuments`, `UpdateSourceDocument`,
//! `DeleteSourceDocument`. Each handler reads top to bottom: decode → validate (the request
//! validators of [`crate::domain`]) → check references (the actors service, one look-up) →
//! apply (the store method of the same name) → encode.

use chancery_proto::statements::v1::{
    BatchGetSourceDocumentsRequest, BatchGetSourceDocumentsResponse, CreateSourceDocumentRequest,
    DeleteSourceDocumentRequest, GetSourceDocumentRequest, ListSourceDocumentsRequest,
    ListSourceDocumentsResponse, SourceDocument, UpdateSourceDocumentRequest,
};
use chancery_runtime::db::etag;
use chancery_runtime::errors::{Error, Result, Violations};
use chancery_runtime::idempotency::request_key;
use chancery_runtime::lookup::Actors;
use chancery_runtime::names::{self, id_of};
use chancery_runtime::page_token::page;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use crate::Api;
use crate::domain::{self, MAX_BATCH};

/// How many times an update without an etag is retried when another write overtakes it.
const UPDATE_ATTEMPTS: usize = 3;

/// `CreateSourceDocument`: validates the document, answers a retried request from its record,
/// checks the actors it names, then stores it.
#[tracing::instrument(skip_all, fields(document_id = %request.get_ref().document_id))]
pub(crate) async fn create_source_document(
    api: &Api,
    request: Request<CreateSourceDocumentRequest>,
) -> Result<Response<SourceDocument>, Status> {
    let (metadata, _, request) = request.into_parts();
    let valid = domain::validate_create_source_document(&request).map_err(Error::from)?;
    let valid =
        valid.ok_or_else(|| Error::Internal("document validated without a result".into()))?;
    let key = request_key("CreateSourceDocument", &request.request_id, &request);
    if let Some(replayed) = api.store.replayed(key.as_ref()).await? {
        return Ok(Response::new(replayed));
    }
    let remote = api.actors(&metadata).check::<Actors>(&valid.actors).await?;
    let id = if request.document_id.is_empty() {
        names::generate_id("doc")
    } else {
        request.document_id.clone()
    };
    let created = api
        .store
        .create_source_document(&id, valid, remote, key.as_ref())
        .await?;
    tracing::info!(name = %created.name, "source document created");
    Ok(Response::new(created))
}

/// `GetSourceDocument`: one source document by name.
#[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
pub(crate) async fn get_source_document(
    api: &Api,
    request: Request<GetSourceDocumentRequest>,
) -> Result<Response<SourceDocument>, Status> {
    let request = request.into_inner();
    let id = names::read_name(&request.name, "documents").map_err(Error::from)?;
    let document = api.store.get_source_document(&id).await?;
    Ok(Response::new(
        document.ok_or(Error::NotFound(request.name))?,
    ))
}

/// `ListSourceDocuments`: a page of source documents ordered by id.
#[tracing::instrument(skip_all)]
pub(crate) async fn list_source_documents(
    api: &Api,
    request: Request<ListSourceDocumentsRequest>,
) -> Result<Response<ListSourceDocumentsResponse>, Status> {
    let list = domain::read_list_source_documents(&request.into_inner()).map_err(Error::from)?;
    let (publisher_id, size, query) = (list.filter, list.size, list.query);
    let after = list.after.as_deref();
    let documents = api
        .store
        .list_source_documents(&publisher_id, after, size + 1)
        .await?;
    let (source_documents, next_page_token) =
        page(documents, size, |d| vec![id_of(&d.name).to_owned()], &query);
    Ok(Response::new(ListSourceDocumentsResponse {
        source_documents,
        next_page_token,
    }))
}

/// `BatchGetSourceDocuments`: many source documents by name, in one query.
#[tracing::instrument(skip_all, fields(count = request.get_ref().names.len()))]
pub(crate) async fn batch_get_source_documents(
    api: &Api,
    request: Request<BatchGetSourceDocumentsRequest>,
) -> Result<Response<BatchGetSourceDocumentsResponse>, Status> {
    let request = request.into_inner();
    let mut violations = Violations::default();
    let ids = names::check_batch(&mut violations, &request.names, "documents", MAX_BATCH);
    violations.into_result().map_err(Error::from)?;
    let found = api.store.batch_get_source_documents(&ids).await?;
    let (source_documents, missing_names) =
        names::assemble_batch(&request.names, &ids, &found, request.allow_missing)?;
    Ok(Response::new(BatchGetSourceDocumentsResponse {
        source_documents,
        missing_names,
    }))
}

/// `UpdateSourceDocument`: as for statements, merges the patch into the stored document,
/// validates the result, checks the actors the update changes, and writes it if nobody changed
/// the document meanwhile; without an etag, a write that was overtaken is merged again (at most
/// [`UPDATE_ATTEMPTS`] times).
#[tracing::instrument(skip_all)]
pub(crate) async fn update_source_document(
    api: &Api,
    request: Request<UpdateSourceDocumentRequest>,
) -> Result<Response<SourceDocument>, Status> {
    let (metadata, _, request) = request.into_parts();
    let (id, patch, paths) = domain::read_update_source_document(&request).map_err(Error::from)?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match merge_and_update_source_document(api, &metadata, &id, &patch, &paths).await {
            Err(Error::EtagMismatch(_)) if patch.etag.is_empty() && attempt < UPDATE_ATTEMPTS => {
                continue;
            }
            outcome => {
                let updated = outcome?;
                tracing::info!(name = %updated.name, etag = %updated.etag, "source document updated");
                return Ok(Response::new(updated));
            }
        }
    }
}

/// One attempt of an update: reads the stored document and its revision, merges `patch` on
/// `paths` and validates the result outside the transaction, checks the actors it changes,
/// then writes only if the document is still at that revision ([`Error::EtagMismatch`]
/// otherwise).
async fn merge_and_update_source_document(
    api: &Api,
    metadata: &MetadataMap,
    id: &str,
    patch: &SourceDocument,
    paths: &[String],
) -> Result<SourceDocument> {
    let (current, revision) = api
        .store
        .get_source_document_revision(id)
        .await?
        .ok_or_else(|| Error::NotFound(patch.name.clone()))?;
    if !patch.etag.is_empty() && patch.etag != etag(revision) {
        return Err(Error::EtagMismatch(patch.name.clone()));
    }
    let mut merged = current;
    domain::apply_document_mask(&mut merged, patch, paths);
    let mut violations = Violations::default();
    let valid = domain::validate_document(&mut violations, &merged);
    violations.into_result()?;
    let valid =
        valid.ok_or_else(|| Error::Internal("document validated without a result".into()))?;
    let mut changed = valid.actors.clone();
    domain::restrict_references(&mut changed, paths);
    let remote = api.actors(metadata).check::<Actors>(&changed).await?;
    api.store
        .update_source_document(id, revision, valid, remote)
        .await
}

/// `DeleteSourceDocument`: deletes a source document no statement cites.
#[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
pub(crate) async fn delete_source_document(
    api: &Api,
    request: Request<DeleteSourceDocumentRequest>,
) -> Result<Response<()>, Status> {
    let request = request.into_inner();
    let id = names::read_name(&request.name, "documents").map_err(Error::from)?;
    api.store.delete_source_document(&id, &request.etag).await?;
    tracing::info!(name = %request.name, "source document deleted");
    Ok(Response::new(()))
}
