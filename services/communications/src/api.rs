//! The `chancery.communications.v1.CommunicationService` handlers: decode → validate → check
//! references → store → encode. Each handler validates the whole request before anything else,
//! so a rejected request costs no call to another service and writes nothing, and reports every
//! problem at once. Actor references are then checked with one `BatchGetActors` call, before
//! the store opens its write transaction: no transaction waits on the network.

use chancery_proto::actors::v1::BatchGetActorsRequest;
use chancery_proto::actors::v1::actor_service_client::ActorServiceClient;
use chancery_proto::common::v1::FuzzyDate;
use chancery_proto::communications::v1::communication_service_server::CommunicationService;
use chancery_proto::communications::v1::{
    AppendStatusRequest, BatchGetCommunicationsRequest, BatchGetCommunicationsResponse,
    Communication, CommunicationKind, CreateCommunicationRequest, DeleteCommunicationRequest,
    GetCommunicationRequest, Lifecycle, ListCommunicationsRequest, ListCommunicationsResponse,
    StatusAssertion, UpdateCommunicationRequest, Verification,
};
use chancery_runtime::backends::{
    CALL_TIMEOUT, Reference, call_timeout, check_references, outbound,
};
use chancery_runtime::errors::Violations;
use chancery_runtime::idempotency::request_key;
use chancery_runtime::page_token::{self, ListPage, QueryFingerprint, page};
use chancery_runtime::{fuzzy_date, names};
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use crate::Backends;
use crate::domain::{self, MAX_BATCH, ReferenceScope};
use crate::store::{Cursor, ListFilter, Store};
use chancery_runtime::errors::{Error, Result};

/// How the actors service is named in errors and logs.
const ACTORS_SERVICE: &str = "the actors service";

/// The communications service, serving one store and checking actor references through
/// `backends`.
#[derive(Debug, Clone)]
pub struct Api {
    store: Store,
    backends: Backends,
    /// The circuit breaker of every call to the actors service.
    actors_breaker: chancery_runtime::breaker::Breaker,
}

impl Api {
    /// The service on `store`, checking references through `backends`.
    pub fn new(store: Store, backends: Backends) -> Self {
        Self {
            store,
            backends,
            actors_breaker: chancery_runtime::breaker::Breaker::new("communications", "actors"),
        }
    }

    /// Asks the actors service, in one `BatchGetActors` call, which referenced actors do not
    /// exist, within the caller's deadline. Returns one violation per reference to a missing
    /// actor; fails with UNAVAILABLE when the actors service cannot answer in time. Makes no
    /// call when there is nothing to check.
    async fn check_actors(
        &self,
        incoming: &MetadataMap,
        references: &[Reference],
    ) -> Result<Violations> {
        let timeout = call_timeout(incoming, CALL_TIMEOUT);
        let mut client = ActorServiceClient::new(
            outbound(self.backends.actors.clone()).with_breaker(&self.actors_breaker),
        );
        check_references(references, ACTORS_SERVICE, |names| async move {
            let mut request = Request::new(BatchGetActorsRequest {
                names,
                allow_missing: true,
            });
            request.set_timeout(timeout);
            // The channel enforces the timeout once a connection is up; this bound also covers
            // a connection that never completes its handshake.
            let response = tokio::time::timeout(timeout, client.batch_get_actors(request))
                .await
                .map_err(|_| {
                    Status::deadline_exceeded(format!("no answer within {timeout:?}"))
                })??;
            Ok(response.into_inner().missing_names)
        })
        .await
    }
}

fn check_enum_filter<E: TryFrom<i32>>(violations: &mut Violations, field: &str, value: i32) {
    if E::try_from(value).is_err() {
        violations.add(field, format!("unknown value {value}"));
    }
}

fn date_filter(
    violations: &mut Violations,
    field: &str,
    date: Option<&FuzzyDate>,
) -> Option<(i64, i64)> {
    date.and_then(|date| fuzzy_date::normalize(violations, field, date))
        .as_ref()
        .map(fuzzy_date::bounds_of)
}

/// Reads the `[earliest, latest, id]` cursor of a page token.
fn read_cursor(violations: &mut Violations, cursor: Option<Vec<String>>) -> Option<Cursor> {
    let parsed = match cursor.as_deref() {
        None => return None,
        Some([earliest, latest, id]) => {
            earliest
                .parse()
                .ok()
                .zip(latest.parse().ok())
                .map(|(earliest, latest)| Cursor {
                    earliest,
                    latest,
                    id: id.clone(),
                })
        }
        Some(_) => None,
    };
    if parsed.is_none() {
        violations.add("page_token", "is not a valid page token");
    }
    parsed
}

#[tonic::async_trait]
impl CommunicationService for Api {
    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_communication(
        &self,
        request: Request<GetCommunicationRequest>,
    ) -> Result<Response<Communication>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let id = names::check(&mut violations, "name", &request.name, "communications");
        violations.into_result().map_err(Error::from)?;
        let communication = self.store.get(id.unwrap_or_default()).await?;
        Ok(Response::new(
            communication.ok_or(Error::NotFound(request.name))?,
        ))
    }

    #[tracing::instrument(skip_all, fields(count = request.get_ref().names.len()))]
    async fn batch_get_communications(
        &self,
        request: Request<BatchGetCommunicationsRequest>,
    ) -> Result<Response<BatchGetCommunicationsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let ids = names::check_batch(&mut violations, &request.names, "communications", MAX_BATCH);
        violations.into_result().map_err(Error::from)?;
        let found = self.store.get_many(&ids).await?;
        let (communications, missing_names) =
            names::assemble_batch(&request.names, &ids, &found, request.allow_missing)?;
        Ok(Response::new(BatchGetCommunicationsResponse {
            communications,
            missing_names,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_communications(
        &self,
        request: Request<ListCommunicationsRequest>,
    ) -> Result<Response<ListCommunicationsResponse>, Status> {
        let list = read_list_communications(&request.into_inner()).map_err(Error::from)?;
        let (filter, after, size, query) = (list.filter, list.after, list.size, list.query);
        let listed = self.store.list(&filter, after.as_ref(), size + 1).await?;
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

    #[tracing::instrument(skip_all, fields(communication_id = %request.get_ref().communication_id))]
    async fn create_communication(
        &self,
        request: Request<CreateCommunicationRequest>,
    ) -> Result<Response<Communication>, Status> {
        let (metadata, _, request) = request.into_parts();
        let (valid, references) = validate_create_communication(&request).map_err(Error::from)?;
        let id =
            (!request.communication_id.is_empty()).then_some(request.communication_id.as_str());

        let key = request_key("CreateCommunication", &request.request_id, &request);
        if let Some(replayed) = self.store.replayed(key.as_ref()).await? {
            tracing::info!(name = %replayed.name, "create replayed");
            return Ok(Response::new(replayed));
        }
        let missing = self.check_actors(&metadata, &references).await?;
        let id = id.map_or_else(|| names::generate_id("com"), str::to_owned);
        let created = self.store.create(&id, valid, missing, key.as_ref()).await?;
        tracing::info!(name = %created.name, "communication created");
        Ok(Response::new(created))
    }

    #[tracing::instrument(
        skip_all,
        fields(name = %request.get_ref().communication.as_ref().map_or("", |c| c.name.as_str()))
    )]
    async fn update_communication(
        &self,
        request: Request<UpdateCommunicationRequest>,
    ) -> Result<Response<Communication>, Status> {
        let (metadata, _, request) = request.into_parts();
        let (id, patch, paths) = read_update_communication(&request).map_err(Error::from)?;

        // Merge onto the current version and validate the result before asking the actors
        // service anything; the store merges again in its transaction, onto what it reads there.
        let merge = |mut current: Communication, violations: &mut Violations| {
            domain::apply_mask(&mut current, &patch, &paths);
            let status_log = std::mem::take(&mut current.status_log);
            let mut merged =
                domain::validate_communication(violations, "communication", &current, Some(&id));
            merged.status_log = status_log;
            merged
        };
        let current = self
            .store
            .get(&id)
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

        let missing = self.check_actors(&metadata, &references).await?;
        let topics_replaced = paths.iter().any(|p| p == "*" || p == "topics");
        let updated = self
            .store
            .update(&id, &patch.etag, missing, topics_replaced, merge)
            .await?;
        tracing::info!(name = %updated.name, etag = %updated.etag, "communication updated");
        Ok(Response::new(updated))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn delete_communication(
        &self,
        request: Request<DeleteCommunicationRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let id = names::check(&mut violations, "name", &request.name, "communications")
            .unwrap_or_default()
            .to_owned();
        violations.into_result().map_err(Error::from)?;
        self.store.delete(&id, &request.etag).await?;
        tracing::info!(name = %request.name, "communication deleted");
        Ok(Response::new(()))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn append_status(
        &self,
        request: Request<AppendStatusRequest>,
    ) -> Result<Response<Communication>, Status> {
        let (metadata, _, request) = request.into_parts();
        let (id, status) = validate_append_status(&request).map_err(Error::from)?;

        let key = request_key("AppendStatus", &request.request_id, &request);
        if let Some(replayed) = self.store.replayed(key.as_ref()).await? {
            tracing::info!(name = %replayed.name, "append replayed");
            return Ok(Response::new(replayed));
        }
        let references: Vec<Reference> = names::parse(&status.asserted_by, "actors")
            .map(|_| Reference::new("status.asserted_by", status.asserted_by.clone()))
            .into_iter()
            .collect();
        let missing = self.check_actors(&metadata, &references).await?;
        let updated = self
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
}

/// Validates a `ListCommunications` request as the handler does, without the store: the filter,
/// the query its page tokens are bound to, the page size and the key to resume after, or every
/// problem on its field path.
pub fn read_list_communications(
    request: &ListCommunicationsRequest,
) -> std::result::Result<ListPage<ListFilter, Cursor>, Violations> {
    let mut violations = Violations::default();
    let participant_id = names::check_optional(
        &mut violations,
        "participant",
        &request.participant,
        "actors",
    )
    .unwrap_or_default();
    let counterpart_id = names::check_optional(
        &mut violations,
        "counterpart",
        &request.counterpart,
        "actors",
    )
    .unwrap_or_default();
    if !request.counterpart.is_empty() && request.participant.is_empty() {
        violations.add(
            "counterpart",
            "needs `participant`: the pair query asks for communications between the two",
        );
    }
    check_enum_filter::<CommunicationKind>(&mut violations, "kind", request.kind);
    check_enum_filter::<Lifecycle>(&mut violations, "lifecycle", request.lifecycle);
    check_enum_filter::<Verification>(&mut violations, "verification", request.verification);
    let from = date_filter(&mut violations, "date_from", request.date_from.as_ref());
    let to = date_filter(&mut violations, "date_to", request.date_to.as_ref());
    if let (Some(from), Some(to)) = (from, to)
        && to.1 < from.0
    {
        violations.add("date_to", "must not end before `date_from` begins");
    }
    if !request.topic.is_empty() && !names::is_valid_id(&request.topic) {
        violations.add(
            "topic",
            format!(
                "must be a topic id such as `mariupol-evacuation` (got {:?})",
                request.topic
            ),
        );
    }
    let filter = ListFilter {
        participant_id: participant_id.to_owned(),
        counterpart_id: counterpart_id.to_owned(),
        kind: request.kind,
        lifecycle: request.lifecycle,
        verification: request.verification,
        from: from.map(|(earliest, _)| earliest),
        to: to.map(|(_, latest)| latest),
        topic_id: request.topic.clone(),
    };
    let bound = |value: Option<i64>| value.map_or_else(String::new, |v| v.to_string());
    let query = QueryFingerprint::new("ListCommunications")
        .with("participant", &filter.participant_id)
        .with("counterpart", &filter.counterpart_id)
        .with("kind", filter.kind)
        .with("lifecycle", filter.lifecycle)
        .with("verification", filter.verification)
        .with("date_from", bound(filter.from))
        .with("date_to", bound(filter.to))
        .with("topic", &filter.topic_id);
    let (size, cursor) = page_token::read_page_request(
        &mut violations,
        request.page_size,
        &request.page_token,
        &query,
    );
    let after = read_cursor(&mut violations, cursor);
    violations.into_result()?;
    Ok(ListPage {
        filter,
        query,
        size,
        after,
    })
}

/// Validates a `CreateCommunication` request as the handler does before any remote call or
/// store access: the communication to store and the actor references to check, or every problem
/// on its field path.
pub fn validate_create_communication(
    request: &CreateCommunicationRequest,
) -> std::result::Result<(Communication, Vec<Reference>), Violations> {
    let mut violations = Violations::default();
    names::check_optional_id(
        &mut violations,
        "communication_id",
        &request.communication_id,
    );
    names::check_request_id(&mut violations, "request_id", &request.request_id);
    let Some(communication) = &request.communication else {
        violations.add("communication", "is required");
        return Err(violations);
    };
    let id = (!request.communication_id.is_empty()).then_some(request.communication_id.as_str());
    let mut valid =
        domain::validate_communication(&mut violations, "communication", communication, id);
    valid.status_log = domain::validate_status_log(
        &mut violations,
        "communication.status_log",
        &communication.status_log,
    );
    let references = domain::actor_references("communication", &valid, ReferenceScope::ALL);
    domain::check_reference_count(&mut violations, "communication", &references);
    violations.into_result()?;
    Ok((valid, references))
}

/// Validates an `UpdateCommunication` request as the handler does before reading the stored
/// version: the communication's id, the patch and the paths to replace. The handler then merges
/// with [`domain::apply_mask`] and validates the result with [`domain::validate_communication`].
pub fn read_update_communication(
    request: &UpdateCommunicationRequest,
) -> std::result::Result<(String, Communication, Vec<String>), Violations> {
    let mut violations = Violations::default();
    let Some(patch) = request.communication.clone() else {
        violations.add("communication", "is required");
        return Err(violations);
    };
    let id = names::check(
        &mut violations,
        "communication.name",
        &patch.name,
        "communications",
    )
    .unwrap_or_default()
    .to_owned();
    let paths = domain::check_mask(&mut violations, request.update_mask.as_ref(), &patch);
    violations.into_result()?;
    Ok((id, patch, paths))
}

/// Validates an `AppendStatus` request as the handler does before any remote call or store
/// access: the communication's id and the status to append, or every problem on its field path.
pub fn validate_append_status(
    request: &AppendStatusRequest,
) -> std::result::Result<(String, StatusAssertion), Violations> {
    let mut violations = Violations::default();
    let id = names::check(&mut violations, "name", &request.name, "communications")
        .unwrap_or_default()
        .to_owned();
    names::check_request_id(&mut violations, "request_id", &request.request_id);
    let status = match &request.status {
        Some(status) => domain::validate_status(&mut violations, "status", status),
        None => {
            violations.add("status", "is required");
            Default::default()
        }
    };
    violations.into_result()?;
    Ok((id, status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_need_three_parts_and_two_numbers() {
        let mut violations = Violations::default();
        assert_eq!(read_cursor(&mut violations, None), None);
        let cursor = read_cursor(
            &mut violations,
            Some(vec!["-5".into(), "7".into(), "com-a".into()]),
        );
        assert_eq!(
            cursor,
            Some(Cursor {
                earliest: -5,
                latest: 7,
                id: "com-a".into()
            })
        );
        assert!(violations.is_empty());
        read_cursor(
            &mut violations,
            Some(vec!["x".into(), "7".into(), "a".into()]),
        );
        read_cursor(&mut violations, Some(vec!["1".into()]));
        assert_eq!(violations.iter().count(), 2);
    }
}
