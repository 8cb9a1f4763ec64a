//! The request validators of the communications service: each reads one request as its handler
//! does before any remote call or store access, and answers what the handler needs next (the
//! communication to store, the references to check, the page to read) or every problem on its
//! field path. The fuzz targets and the gateway call them without a server.

use chancery_proto::common::v1::FuzzyDate;
use chancery_proto::communications::v1::{
    AppendStatusRequest, Communication, CommunicationKind, CreateCommunicationRequest, Lifecycle,
    ListCommunicationsRequest, StatusAssertion, UpdateCommunicationRequest, Verification,
};
use chancery_runtime::backends::Reference;
use chancery_runtime::errors::Violations;
use chancery_runtime::page_token::{self, ListPage, QueryFingerprint};
use chancery_runtime::{fuzzy_date, names};

use super::{
    ReferenceScope, actor_references, check_mask, check_reference_count, validate_communication,
    validate_status, validate_status_log,
};
use crate::checks::check_enum;

/// Filters of a communication listing; empty or zero fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Id of an actor who must take part.
    pub participant_id: String,
    /// Id of a second actor who must take part as well.
    pub counterpart_id: String,
    /// Kind number.
    pub kind: i32,
    /// Computed lifecycle number.
    pub lifecycle: i32,
    /// Computed verification number.
    pub verification: i32,
    /// Only dates whose latest bound is at or after this instant (microseconds).
    pub from: Option<i64>,
    /// Only dates whose earliest bound is at or before this instant (microseconds).
    pub to: Option<i64>,
    /// Id of a topic the communication must treat.
    pub topic_id: String,
}

/// Where a page starts: the sort key of the last communication served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Earliest bound of its date.
    pub earliest: i64,
    /// Latest bound of its date.
    pub latest: i64,
    /// Its id.
    pub id: String,
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

/// Reads the filter of a `ListCommunications` request: the actors, the enums, the dates and the
/// topic, each problem on its field.
fn read_list_filter(
    violations: &mut Violations,
    request: &ListCommunicationsRequest,
) -> ListFilter {
    let participant_id =
        names::check_optional(violations, "participant", &request.participant, "actors")
            .unwrap_or_default();
    let counterpart_id =
        names::check_optional(violations, "counterpart", &request.counterpart, "actors")
            .unwrap_or_default();
    if !request.counterpart.is_empty() && request.participant.is_empty() {
        violations.add(
            "counterpart",
            "needs `participant`: the pair query asks for communications between the two",
        );
    }
    check_enum::<CommunicationKind>(violations, "kind", request.kind, false);
    check_enum::<Lifecycle>(violations, "lifecycle", request.lifecycle, false);
    check_enum::<Verification>(violations, "verification", request.verification, false);
    let from = date_filter(violations, "date_from", request.date_from.as_ref());
    let to = date_filter(violations, "date_to", request.date_to.as_ref());
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
    ListFilter {
        participant_id: participant_id.to_owned(),
        counterpart_id: counterpart_id.to_owned(),
        kind: request.kind,
        lifecycle: request.lifecycle,
        verification: request.verification,
        from: from.map(|(earliest, _)| earliest),
        to: to.map(|(_, latest)| latest),
        topic_id: request.topic.clone(),
    }
}

/// The query a listing's page tokens are bound to: every filter, as read.
fn list_query(filter: &ListFilter) -> QueryFingerprint {
    let bound = |value: Option<i64>| value.map_or_else(String::new, |v| v.to_string());
    QueryFingerprint::new("ListCommunications")
        .with("participant", &filter.participant_id)
        .with("counterpart", &filter.counterpart_id)
        .with("kind", filter.kind)
        .with("lifecycle", filter.lifecycle)
        .with("verification", filter.verification)
        .with("date_from", bound(filter.from))
        .with("date_to", bound(filter.to))
        .with("topic", &filter.topic_id)
}

/// Validates a `ListCommunications` request as the handler does, without the store: the filter,
/// the query its page tokens are bound to, the page size and the key to resume after, or every
/// problem on its field path.
pub fn read_list_communications(
    request: &ListCommunicationsRequest,
) -> Result<ListPage<ListFilter, Cursor>, Violations> {
    let mut violations = Violations::default();
    let filter = read_list_filter(&mut violations, request);
    let query = list_query(&filter);
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
) -> Result<(Communication, Vec<Reference>), Violations> {
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
    let mut valid = validate_communication(&mut violations, "communication", communication, id);
    valid.status_log = validate_status_log(
        &mut violations,
        "communication.status_log",
        &communication.status_log,
    );
    let references = actor_references("communication", &valid, ReferenceScope::ALL);
    check_reference_count(&mut violations, "communication", &references);
    violations.into_result()?;
    Ok((valid, references))
}

/// Validates an `UpdateCommunication` request as the handler does before reading the stored
/// version: the communication's id, the patch and the paths to replace. The handler then merges
/// with [`apply_mask`](super::apply_mask) and validates the result with
/// [`validate_communication`].
pub fn read_update_communication(
    request: &UpdateCommunicationRequest,
) -> Result<(String, Communication, Vec<String>), Violations> {
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
    let paths = check_mask(&mut violations, request.update_mask.as_ref(), &patch);
    violations.into_result()?;
    Ok((id, patch, paths))
}

/// Validates an `AppendStatus` request as the handler does before any remote call or store
/// access: the communication's id and the status to append, or every problem on its field path.
pub fn validate_append_status(
    request: &AppendStatusRequest,
) -> Result<(String, StatusAssertion), Violations> {
    let mut violations = Violations::default();
    let id = names::check(&mut violations, "name", &request.name, "communications")
        .unwrap_or_default()
        .to_owned();
    names::check_request_id(&mut violations, "request_id", &request.request_id);
    let status = match &request.status {
        Some(status) => validate_status(&mut violations, "status", status),
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
