//! The request validators of the statements service: each reads one request as its handler
//! does before any remote call or store access, and answers what the handler needs next (the
//! filter and page of a listing, the statement or document to store, the patch of an update) or
//! every problem on its field path. The fuzz targets (`tests/fuzz`) run the same functions.

use chancery_proto::statements::v1::{
    Channel, ContentMode, CreateSourceDocumentRequest, CreateStatementRequest,
    ListSourceDocumentsRequest, ListStatementsRequest, SourceDocument, SpeechAct, Statement,
    UpdateSourceDocumentRequest, UpdateStatementRequest,
};
use chancery_runtime::errors::Violations;
use chancery_runtime::names;
use chancery_runtime::page_token::{self, ListPage, QueryFingerprint};

use super::{
    ValidDocument, ValidStatement, check_date_range, check_document_mask_paths, check_enum,
    check_mask_paths, implied_document_mask, implied_statement_mask, validate_document,
    validate_statement,
};

/// Filters of a statement listing; empty fields and zeros do not filter.
#[derive(Debug, Clone, Default)]
pub struct StatementFilter {
    /// Id of an actor who made the statement, as speaker or co-speaker (the speakers of speech
    /// it relays do not count).
    pub speaker_id: String,
    /// Id of an actor the statement is about.
    pub about_actor_id: String,
    /// Id of a communication the statement is about, as `communication` or one of
    /// `related_communications`.
    pub communication_id: String,
    /// Id of the issuer of the readout the statement belongs to.
    pub readout_issuer_id: String,
    /// A topic id.
    pub topic: String,
    /// Speech act number.
    pub speech_act: i32,
    /// Channel number.
    pub channel: i32,
    /// Content mode number.
    pub content_mode: i32,
    /// Only statements whose latest `said` bound is at or after this, microseconds.
    pub said_from: Option<i64>,
    /// Only statements whose earliest `said` bound is at or before this, microseconds.
    pub said_to: Option<i64>,
}

/// The sort key of a listed statement, and the cursor of a statement listing: the bounds of
/// `said` (earliest, latest, microseconds), then the id.
pub type StatementKey = (i64, i64, String);

/// Validates a `ListStatements` request as the handler does, without the store: the filter, the
/// query its page tokens are bound to, the page size and the key (earliest, latest, id) to
/// resume after, or every problem on its field path.
pub fn read_list_statements(
    request: &ListStatementsRequest,
) -> Result<ListPage<StatementFilter, StatementKey>, Violations> {
    let mut violations = Violations::default();
    let filter = read_statement_filter(&mut violations, request);
    let query = statement_query(&filter);
    let (size, cursor) = page_token::read_page_request(
        &mut violations,
        request.page_size,
        &request.page_token,
        &query,
    );
    let after = read_statement_cursor(&mut violations, cursor.as_deref());
    violations.into_result()?;
    Ok(ListPage {
        filter,
        query,
        size,
        after,
    })
}

/// The filter of a `ListStatements` request, every problem with it added to `violations`.
fn read_statement_filter(
    violations: &mut Violations,
    request: &ListStatementsRequest,
) -> StatementFilter {
    let speaker_id = actor_filter(violations, "speaker", &request.speaker);
    let about_actor_id = actor_filter(violations, "about_actor", &request.about_actor);
    let communication_id = names::check_optional(
        violations,
        "communication",
        &request.communication,
        "communications",
    )
    .unwrap_or_default()
    .to_owned();
    let readout_issuer_id = actor_filter(violations, "readout_issuer", &request.readout_issuer);
    if !request.topic.is_empty() && !names::is_valid_id(&request.topic) {
        violations.add(
            "topic",
            format!(
                "must be a topic id such as `mariupol-evacuation` (got {:?})",
                request.topic
            ),
        );
    }
    check_enum::<SpeechAct>(violations, "speech_act", request.speech_act, false);
    check_enum::<Channel>(violations, "channel", request.channel, false);
    check_enum::<ContentMode>(violations, "content_mode", request.content_mode, false);
    let (said_from, said_to) = check_date_range(
        violations,
        request.date_from.as_ref(),
        request.date_to.as_ref(),
    );
    StatementFilter {
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
    }
}

/// What the page tokens of a statement listing with `filter` are bound to.
fn statement_query(filter: &StatementFilter) -> QueryFingerprint {
    let bound = |b: Option<i64>| b.map_or_else(String::new, |b| b.to_string());
    QueryFingerprint::new("ListStatements")
        .with("speaker", &filter.speaker_id)
        .with("about_actor", &filter.about_actor_id)
        .with("communication", &filter.communication_id)
        .with("readout_issuer", &filter.readout_issuer_id)
        .with("topic", &filter.topic)
        .with("speech_act", filter.speech_act)
        .with("channel", filter.channel)
        .with("content_mode", filter.content_mode)
        .with("date_from", bound(filter.said_from))
        .with("date_to", bound(filter.said_to))
}

/// The key a page token's cursor resumes after (earliest, latest, id); a cursor of another
/// shape is a `page_token` violation.
fn read_statement_cursor(
    violations: &mut Violations,
    cursor: Option<&[String]>,
) -> Option<StatementKey> {
    match cursor {
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
    }
}

/// Validates a `ListSourceDocuments` request as the handler does, without the store: the
/// publisher's id (empty: any), the query its page tokens are bound to, the page size and the id
/// to resume after, or every problem on its field path.
pub fn read_list_source_documents(
    request: &ListSourceDocumentsRequest,
) -> Result<ListPage<String, String>, Violations> {
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
/// [`validate_statement`] broke its contract (no result, no violation), which the handler
/// answers INTERNAL.
pub fn validate_create_statement(
    request: &CreateStatementRequest,
    id: &str,
) -> Result<Option<ValidStatement>, Violations> {
    let mut violations = Violations::default();
    names::check_optional_id(&mut violations, "statement_id", &request.statement_id);
    names::check_request_id(&mut violations, "request_id", &request.request_id);
    let valid = match &request.statement {
        Some(statement) => validate_statement(&mut violations, statement, id),
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
/// [`apply_statement_mask`](super::apply_statement_mask) and validates the result with
/// [`validate_statement`].
pub fn read_update_statement(
    request: &UpdateStatementRequest,
) -> Result<(String, Statement, Vec<String>), Violations> {
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
            check_mask_paths(&mut violations, &mask.paths);
            mask.paths.clone()
        }
        None => implied_statement_mask(&patch),
    };
    violations.into_result()?;
    Ok((id, patch, paths))
}

/// Validates a `CreateSourceDocument` request as the handler does before any remote call or
/// store access: the document to store, or every problem on its field path. `None` only if
/// [`validate_document`] broke its contract, which the handler answers INTERNAL.
pub fn validate_create_source_document(
    request: &CreateSourceDocumentRequest,
) -> Result<Option<ValidDocument>, Violations> {
    let mut violations = Violations::default();
    names::check_optional_id(&mut violations, "document_id", &request.document_id);
    names::check_request_id(&mut violations, "request_id", &request.request_id);
    let valid = match &request.source_document {
        Some(document) => validate_document(&mut violations, document),
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
/// [`apply_document_mask`](super::apply_document_mask) and validates the result with
/// [`validate_document`].
pub fn read_update_source_document(
    request: &UpdateSourceDocumentRequest,
) -> Result<(String, SourceDocument, Vec<String>), Violations> {
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
            check_document_mask_paths(&mut violations, &mask.paths);
            mask.paths.clone()
        }
        None => implied_document_mask(&patch),
    };
    violations.into_result()?;
    Ok((id, patch, paths))
}

/// Checks a list's optional actor filter and returns its id (empty when unset).
fn actor_filter(violations: &mut Violations, field: &str, name: &str) -> String {
    names::check_optional(violations, field, name, "actors")
        .unwrap_or_default()
        .to_owned()
}
