//! The `chancery.statements.v1.StatementService` handlers: decode → validate → check references →
//! store → encode. Each handler validates the whole request before anything else, so a rejected
//! request writes nothing and reports every problem at once. A write then checks the actors it
//! names with one `BatchGetActors` call and its communication with one `BatchGetCommunications`
//! call, both at once and before the write's transaction opens (no transaction ever waits on
//! the network); the store checks the references it holds itself inside the transaction.

use chancery_proto::actors::v1::BatchGetActorsRequest;
use chancery_proto::actors::v1::actor_service_client::ActorServiceClient;
use chancery_proto::communications::v1::BatchGetCommunicationsRequest;
use chancery_proto::communications::v1::communication_service_client::CommunicationServiceClient;
use chancery_proto::statements::v1::statement_service_server::StatementService;
use chancery_proto::statements::v1::{
    BatchGetSourceDocumentsRequest, BatchGetSourceDocumentsResponse, BatchGetStatementsRequest,
    BatchGetStatementsResponse, Channel, ContentMode, CreateSourceDocumentRequest,
    CreateStatementRequest, DeleteSourceDocumentRequest, DeleteStatementRequest,
    GetSourceDocumentRequest, GetStatementRequest, ListSourceDocumentsRequest,
    ListSourceDocumentsResponse, ListStatementsRequest, ListStatementsResponse, SourceDocument,
    SpeechAct, Statement, UpdateSourceDocumentRequest, UpdateStatementRequest,
};
use chancery_runtime::backends::{self, CALL_TIMEOUT, Reference, call_timeout, check_references};
use chancery_runtime::breaker::Breaker;
use chancery_runtime::db::{Database, etag};
use chancery_runtime::errors::Violations;
use chancery_runtime::idempotency::request_key;
use chancery_runtime::names::{self, id_of};
use chancery_runtime::page_token::{self, ListPage, QueryFingerprint, page};
use std::time::Duration;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use crate::Backends;
use crate::domain::{self, MAX_BATCH, check_enum};
use crate::store::{StatementFilter, Store};
use chancery_runtime::errors::{Error, Result};

/// How the actors service is named in errors.
const ACTORS_SERVICE: &str = "the actors service";
/// How the communications service is named in errors.
const COMMUNICATIONS_SERVICE: &str = "the communications service";
/// How many times an update without an etag is retried when another write overtakes it.
const UPDATE_ATTEMPTS: usize = 3;

/// The statements service, serving one store and checking references through the backends.
#[derive(Debug, Clone)]
pub struct Api {
    store: Store,
    backends: Backends,
    /// The circuit breaker of every call to the actors service.
    actors_breaker: Breaker,
    /// The circuit breaker of every call to the communications service.
    communications_breaker: Breaker,
}

impl Api {
    /// The service on `database`, checking references through `backends`.
    pub fn new(database: Database, backends: Backends) -> Self {
        Self {
            store: Store::new(database),
            backends,
            actors_breaker: Breaker::new("statements", "actors"),
            communications_breaker: Breaker::new("statements", "communications"),
        }
    }

    /// Checks actor references with one `BatchGetActors` call and communication references with
    /// one `BatchGetCommunications` call, concurrently; a call is skipped when it has nothing to
    /// check. Returns a violation per reference to something missing;
    /// [`Error::DependencyUnavailable`] when a service cannot answer in time.
    async fn check_remote(
        &self,
        incoming: &MetadataMap,
        actors: &[Reference],
        communications: &[Reference],
    ) -> Result<Violations> {
        let timeout = call_timeout(incoming, CALL_TIMEOUT);
        let actor_check = check_references(actors, ACTORS_SERVICE, |names| {
            missing_actors(
                backends::outbound(self.backends.actors.clone()).with_breaker(&self.actors_breaker),
                names,
                timeout,
            )
        });
        let communication_check =
            check_references(communications, COMMUNICATIONS_SERVICE, |names| {
                missing_communications(
                    backends::outbound(self.backends.communications.clone())
                        .with_breaker(&self.communications_breaker),
                    names,
                    timeout,
                )
            });
        let (actors, communications) = tokio::join!(actor_check, communication_check);
        let mut violations = actors?;
        violations.extend(communications?);
        Ok(violations)
    }
}

/// A request to another service, carrying `timeout` as its deadline.
fn outbound<T>(message: T, timeout: Duration) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(timeout);
    request
}

/// Which of `names` the actors service does not know, in one `BatchGetActors` call.
async fn missing_actors(
    channel: backends::Outbound,
    names: Vec<String>,
    timeout: Duration,
) -> Result<Vec<String>, Status> {
    let request = outbound(
        BatchGetActorsRequest {
            names,
            allow_missing: true,
        },
        timeout,
    );
    let mut client = ActorServiceClient::new(channel);
    let call = client.batch_get_actors(request);
    let response = tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| Status::deadline_exceeded("BatchGetActors did not answer in time"))??;
    Ok(response.into_inner().missing_names)
}

/// Which of `names` the communications service does not know, in one
/// `BatchGetCommunications` call.
async fn missing_communications(
    channel: backends::Outbound,
    names: Vec<String>,
    timeout: Duration,
) -> Result<Vec<String>, Status> {
    let request = outbound(
        BatchGetCommunicationsRequest {
            names,
            allow_missing: true,
        },
        timeout,
    );
    let mut client = CommunicationServiceClient::new(channel);
    let call = client.batch_get_communications(request);
    let response = tokio::time::timeout(timeout, call).await.map_err(|_| {
        Status::deadline_exceeded("BatchGetCommunications did not answer in time")
    })??;
    Ok(response.into_inner().missing_names)
}

/// Checks a list's optional actor filter and returns its id (empty when unset).
fn actor_filter(violations: &mut Violations, field: &str, name: &str) -> String {
    names::check_optional(violations, field, name, "actors")
        .unwrap_or_default()
        .to_owned()
}

#[tonic::async_trait]
impl StatementService for Api {
    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_statement(
        &self,
        request: Request<GetStatementRequest>,
    ) -> Result<Response<Statement>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let id = names::check(&mut violations, "name", &request.name, "statements");
        violations.into_result().map_err(Error::from)?;
        let statement = self.store.get_statement(id.unwrap_or_default()).await?;
        Ok(Response::new(
            statement.ok_or(Error::NotFound(request.name))?,
        ))
    }

    #[tracing::instrument(skip_all, fields(count = request.get_ref().names.len()))]
    async fn batch_get_statements(
        &self,
        request: Request<BatchGetStatementsRequest>,
    ) -> Result<Response<BatchGetStatementsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let ids = names::check_batch(&mut violations, &request.names, "statements", MAX_BATCH);
        violations.into_result().map_err(Error::from)?;
        let found = self.store.get_statements(&ids).await?;
        let (statements, missing_names) =
            names::assemble_batch(&request.names, &ids, &found, request.allow_missing)?;
        Ok(Response::new(BatchGetStatementsResponse {
            statements,
            missing_names,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_statements(
        &self,
        request: Request<ListStatementsRequest>,
    ) -> Result<Response<ListStatementsResponse>, Status> {
        let list = read_list_statements(&request.into_inner()).map_err(Error::from)?;
        let (filter, after, size, query) = (list.filter, list.after, list.size, list.query);
        let listed = self
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

    #[tracing::instrument(skip_all, fields(statement_id = %request.get_ref().statement_id))]
    async fn create_statement(
        &self,
        request: Request<CreateStatementRequest>,
    ) -> Result<Response<Statement>, Status> {
        let (metadata, _, request) = request.into_parts();
        let id = if request.statement_id.is_empty() {
            names::generate_id("stm")
        } else {
            request.statement_id.clone()
        };
        let valid = validate_create_statement(&request, &id).map_err(Error::from)?;
        let valid =
            valid.ok_or_else(|| Error::Internal("statement validated without a result".into()))?;
        let key = request_key("CreateStatement", &request.request_id, &request);
        if let Some(replayed) = self.store.replayed(key.as_ref()).await? {
            return Ok(Response::new(replayed));
        }
        let remote = self
            .check_remote(
                &metadata,
                &valid.references.actors,
                &valid.references.communications,
            )
            .await?;
        let created = self
            .store
            .create_statement(&id, valid, remote, key.as_ref())
            .await?;
        tracing::info!(name = %created.name, "statement created");
        Ok(Response::new(created))
    }

    #[tracing::instrument(skip_all)]
    async fn update_statement(
        &self,
        request: Request<UpdateStatementRequest>,
    ) -> Result<Response<Statement>, Status> {
        let (metadata, _, request) = request.into_parts();
        let (id, patch, paths) = read_update_statement(&request).map_err(Error::from)?;

        // Merge and validate outside the transaction, check the other services, then write only
        // if nobody changed the statement in between. Without an etag the caller asked for no
        // condition, so a write that was overtaken is merged again on the newer revision.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (current, revision) = self
                .store
                .get_statement_revision(&id)
                .await?
                .ok_or_else(|| Error::NotFound(patch.name.clone()))?;
            if !patch.etag.is_empty() && patch.etag != etag(revision) {
                return Err(Error::EtagMismatch(patch.name.clone()).into());
            }
            let mut merged = current;
            domain::apply_statement_mask(&mut merged, &patch, &paths);
            let mut violations = Violations::default();
            let valid = domain::validate_statement(&mut violations, &merged, &id);
            violations.into_result().map_err(Error::from)?;
            let valid = valid
                .ok_or_else(|| Error::Internal("statement validated without a result".into()))?;
            let mut changed = valid.references.clone();
            changed.restrict_to(&paths);
            let remote = self
                .check_remote(&metadata, &changed.actors, &changed.communications)
                .await?;
            match self
                .store
                .update_statement(&id, revision, valid, remote)
                .await
            {
                Err(Error::EtagMismatch(_))
                    if patch.etag.is_empty() && attempt < UPDATE_ATTEMPTS =>
                {
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

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn delete_statement(
        &self,
        request: Request<DeleteStatementRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let id = names::check(&mut violations, "name", &request.name, "statements")
            .unwrap_or_default()
            .to_owned();
        violations.into_result().map_err(Error::from)?;
        self.store.delete_statement(&id, &request.etag).await?;
        tracing::info!(name = %request.name, "statement deleted");
        Ok(Response::new(()))
    }

    #[tracing::instrument(skip_all, fields(document_id = %request.get_ref().document_id))]
    async fn create_source_document(
        &self,
        request: Request<CreateSourceDocumentRequest>,
    ) -> Result<Response<SourceDocument>, Status> {
        let (metadata, _, request) = request.into_parts();
        let valid = validate_create_source_document(&request).map_err(Error::from)?;
        let valid =
            valid.ok_or_else(|| Error::Internal("document validated without a result".into()))?;
        let key = request_key("CreateSourceDocument", &request.request_id, &request);
        if let Some(replayed) = self.store.replayed(key.as_ref()).await? {
            return Ok(Response::new(replayed));
        }
        let remote = self.check_remote(&metadata, &valid.actors, &[]).await?;
        let id = if request.document_id.is_empty() {
            names::generate_id("doc")
        } else {
            request.document_id.clone()
        };
        let created = self
            .store
            .create_document(&id, valid, remote, key.as_ref())
            .await?;
        tracing::info!(name = %created.name, "source document created");
        Ok(Response::new(created))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_source_document(
        &self,
        request: Request<GetSourceDocumentRequest>,
    ) -> Result<Response<SourceDocument>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let id = names::check(&mut violations, "name", &request.name, "documents");
        violations.into_result().map_err(Error::from)?;
        let document = self.store.get_document(id.unwrap_or_default()).await?;
        Ok(Response::new(
            document.ok_or(Error::NotFound(request.name))?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_source_documents(
        &self,
        request: Request<ListSourceDocumentsRequest>,
    ) -> Result<Response<ListSourceDocumentsResponse>, Status> {
        let list = read_list_source_documents(&request.into_inner()).map_err(Error::from)?;
        let (publisher_id, size, query) = (list.filter, list.size, list.query);
        let after = list.after.as_deref();
        let documents = self
            .store
            .list_documents(&publisher_id, after, size + 1)
            .await?;
        let (source_documents, next_page_token) =
            page(documents, size, |d| vec![id_of(&d.name).to_owned()], &query);
        Ok(Response::new(ListSourceDocumentsResponse {
            source_documents,
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(count = request.get_ref().names.len()))]
    async fn batch_get_source_documents(
        &self,
        request: Request<BatchGetSourceDocumentsRequest>,
    ) -> Result<Response<BatchGetSourceDocumentsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let ids = names::check_batch(&mut violations, &request.names, "documents", MAX_BATCH);
        violations.into_result().map_err(Error::from)?;
        let found = self.store.get_documents(&ids).await?;
        let (source_documents, missing_names) =
            names::assemble_batch(&request.names, &ids, &found, request.allow_missing)?;
        Ok(Response::new(BatchGetSourceDocumentsResponse {
            source_documents,
            missing_names,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_source_document(
        &self,
        request: Request<UpdateSourceDocumentRequest>,
    ) -> Result<Response<SourceDocument>, Status> {
        let (metadata, _, request) = request.into_parts();
        let (id, patch, paths) = read_update_source_document(&request).map_err(Error::from)?;

        // As for statements: merge and validate outside the transaction, check the actors the
        // update changes, then write only if nobody changed the document in between.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (current, revision) = self
                .store
                .get_document_revision(&id)
                .await?
                .ok_or_else(|| Error::NotFound(patch.name.clone()))?;
            if !patch.etag.is_empty() && patch.etag != etag(revision) {
                return Err(Error::EtagMismatch(patch.name.clone()).into());
            }
            let mut merged = current;
            domain::apply_document_mask(&mut merged, &patch, &paths);
            let mut violations = Violations::default();
            let valid = domain::validate_document(&mut violations, &merged);
            violations.into_result().map_err(Error::from)?;
            let valid = valid
                .ok_or_else(|| Error::Internal("document validated without a result".into()))?;
            let mut changed = valid.actors.clone();
            domain::restrict_references(&mut changed, &paths);
            let remote = self.check_remote(&metadata, &changed, &[]).await?;
            match self
                .store
                .update_document(&id, revision, valid, remote)
                .await
            {
                Err(Error::EtagMismatch(_))
                    if patch.etag.is_empty() && attempt < UPDATE_ATTEMPTS =>
                {
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

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn delete_source_document(
        &self,
        request: Request<DeleteSourceDocumentRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let id = names::check(&mut violations, "name", &request.name, "documents")
            .unwrap_or_default()
            .to_owned();
        violations.into_result().map_err(Error::from)?;
        self.store.delete_document(&id, &request.etag).await?;
        tracing::info!(name = %request.name, "source document deleted");
        Ok(Response::new(()))
    }
}

/// Validates a `ListStatements` request as the handler does, without the store: the filter, the
/// query its page tokens are bound to, the page size and the key (earliest, latest, id) to
/// resume after, or every problem on its field path.
pub fn read_list_statements(
    request: &ListStatementsRequest,
) -> std::result::Result<ListPage<StatementFilter, (i64, i64, String)>, Violations> {
    let mut violations = Violations::default();
    let speaker_id = actor_filter(&mut violations, "speaker", &request.speaker);
    let about_actor_id = actor_filter(&mut violations, "about_actor", &request.about_actor);
    let communication_id = names::check_optional(
        &mut violations,
        "communication",
        &request.communication,
        "communications",
    )
    .unwrap_or_default()
    .to_owned();
    let readout_issuer_id =
        actor_filter(&mut violations, "readout_issuer", &request.readout_issuer);
    if !request.topic.is_empty() && !names::is_valid_id(&request.topic) {
        violations.add(
            "topic",
            format!(
                "must be a topic id such as `mariupol-evacuation` (got {:?})",
                request.topic
            ),
        );
    }
    check_enum::<SpeechAct>(&mut violations, "speech_act", request.speech_act, false);
    check_enum::<Channel>(&mut violations, "channel", request.channel, false);
    check_enum::<ContentMode>(&mut violations, "content_mode", request.content_mode, false);
    let (said_from, said_to) = domain::check_date_range(
        &mut violations,
        request.date_from.as_ref(),
        request.date_to.as_ref(),
    );
    let filter = StatementFilter {
        speaker_id,
        about_actor_id,
        communication_id,
        readout_issuer_id,
        topic: request.topic.clone(),
        speech_act: request.speech_act,
        channel: request.channel,
        content_mode: request.content_mode,
        said_from,
        said_to,
    };
    let bound = |b: Option<i64>| b.map_or_else(String::new, |b| b.to_string());
    let query = QueryFingerprint::new("ListStatements")
        .with("speaker", &filter.speaker_id)
        .with("about_actor", &filter.about_actor_id)
        .with("communication", &filter.communication_id)
        .with("readout_issuer", &filter.readout_issuer_id)
        .with("topic", &filter.topic)
        .with("speech_act", filter.speech_act)
        .with("channel", filter.channel)
        .with("content_mode", filter.content_mode)
        .with("date_from", bound(filter.said_from))
        .with("date_to", bound(filter.said_to));
    let (size, cursor) = page_token::read_page_request(
        &mut violations,
        request.page_size,
        &request.page_token,
        &query,
    );
    let after = match cursor.as_deref() {
        None => None,
        Some([earliest, latest, id]) => match (earliest.parse(), latest.parse()) {
            (Ok(earliest), Ok(latest)) => Some((earliest, latest, id.clone())),
            _ => {
                violations.add("page_token", "is not a valid page token");
                None
            }
        },
        Some(_) => {
            violations.add("page_token", "is not a valid page token");
            None
        }
    };
    violations.into_result()?;
    Ok(ListPage {
        filter,
        query,
        size,
        after,
    })
}

/// Validates a `ListSourceDocuments` request as the handler does, without the store: the
/// publisher's id (empty: any), the query its page tokens are bound to, the page size and the id
/// to resume after, or every problem on its field path.
pub fn read_list_source_documents(
    request: &ListSourceDocumentsRequest,
) -> std::result::Result<ListPage<String, String>, Violations> {
    let mut violations = Violations::default();
    let publisher_id = actor_filter(&mut violations, "publisher", &request.publisher);
    let query = QueryFingerprint::new("ListSourceDocuments").with("publisher", &publisher_id);
    let (size, cursor) = page_token::read_page_request(
        &mut violations,
        request.page_size,
        &request.page_token,
        &query,
    );
    violations.into_result()?;
    Ok(ListPage {
        filter: publisher_id,
        query,
        size,
        after: cursor.and_then(|c| c.into_iter().next()),
    })
}

/// Validates a `CreateStatement` request as the handler does before any remote call or store
/// access, for the statement id `id` (the requested one, or the one the handler generated): the
/// statement to store, or every problem on its field path. `None` only if
/// [`domain::validate_statement`] broke its contract (no result, no violation), which the
/// handler answers INTERNAL.
pub fn validate_create_statement(
    request: &CreateStatementRequest,
    id: &str,
) -> std::result::Result<Option<domain::ValidStatement>, Violations> {
    let mut violations = Violations::default();
    names::check_optional_id(&mut violations, "statement_id", &request.statement_id);
    names::check_request_id(&mut violations, "request_id", &request.request_id);
    let valid = match &request.statement {
        Some(statement) => domain::validate_statement(&mut violations, statement, id),
        None => {
            violations.add("statement", "is required");
            None
        }
    };
    violations.into_result()?;
    Ok(valid)
}

/// Validates an `UpdateStatement` request as the handler does before reading the stored
/// version: the statement's id, the patch and the paths to replace. The handler then merges with
/// [`domain::apply_statement_mask`] and validates the result with
/// [`domain::validate_statement`].
pub fn read_update_statement(
    request: &UpdateStatementRequest,
) -> std::result::Result<(String, Statement, Vec<String>), Violations> {
    let mut violations = Violations::default();
    let Some(patch) = request.statement.clone() else {
        violations.add("statement", "is required");
        return Err(violations);
    };
    let id = names::check(&mut violations, "statement.name", &patch.name, "statements")
        .unwrap_or_default()
        .to_owned();
    let paths = match &request.update_mask {
        Some(mask) => {
            domain::check_mask_paths(&mut violations, &mask.paths);
            mask.paths.clone()
        }
        None => domain::implied_statement_mask(&patch),
    };
    violations.into_result()?;
    Ok((id, patch, paths))
}

/// Validates a `CreateSourceDocument` request as the handler does before any remote call or
/// store access: the document to store, or every problem on its field path. `None` only if
/// [`domain::validate_document`] broke its contract, which the handler answers INTERNAL.
pub fn validate_create_source_document(
    request: &CreateSourceDocumentRequest,
) -> std::result::Result<Option<domain::ValidDocument>, Violations> {
    let mut violations = Violations::default();
    names::check_optional_id(&mut violations, "document_id", &request.document_id);
    names::check_request_id(&mut violations, "request_id", &request.request_id);
    let valid = match &request.source_document {
        Some(document) => domain::validate_document(&mut violations, document),
        None => {
            violations.add("source_document", "is required");
            None
        }
    };
    violations.into_result()?;
    Ok(valid)
}

/// Validates an `UpdateSourceDocument` request as the handler does before reading the stored
/// version: the document's id, the patch and the paths to replace. The handler then merges with
/// [`domain::apply_document_mask`] and validates the result with [`domain::validate_document`].
pub fn read_update_source_document(
    request: &UpdateSourceDocumentRequest,
) -> std::result::Result<(String, SourceDocument, Vec<String>), Violations> {
    let mut violations = Violations::default();
    let Some(patch) = request.source_document.clone() else {
        violations.add("source_document", "is required");
        return Err(violations);
    };
    let id = names::check(
        &mut violations,
        "source_document.name",
        &patch.name,
        "documents",
    )
    .unwrap_or_default()
    .to_owned();
    let paths = match &request.update_mask {
        Some(mask) => {
            domain::check_document_mask_paths(&mut violations, &mask.paths);
            mask.paths.clone()
        }
        None => domain::implied_document_mask(&patch),
    };
    violations.into_result()?;
    Ok((id, patch, paths))
}
