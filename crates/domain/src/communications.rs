//! The rules of communications. The generated protobuf messages are the resource types; this
//! module decides what a valid communication and a valid status assertion are (every field that
//! can be wrong is checked and each problem reported under its full field path), computes the
//! current lifecycle and verification from the status log, picks the date a communication is
//! ordered and filtered by, and applies update masks. It does no I/O: whether referenced actors
//! exist is asked of the actors service, and whether `previous_in_series` and the communications
//! topics name exist is asked of the store.
//!
//! The service's request validators (`read_list_communications`,
//! `validate_create_communication`, `read_update_communication`, `validate_append_status`) and
//! the listing's filter and cursor live in [`requests`], re-exported here.

pub mod requests;
pub use requests::*;

use std::collections::{BTreeSet, HashMap, HashSet};

use chancery_proto::common::v1::{DateSource, FuzzyDate, LocalizedText, SourceRef};
use chancery_proto::communications::v1::{
    Communication, CommunicationKind, ContentDisclosure, DurationClaim, Lifecycle, Modality,
    Outcome, OutcomeKind, Participant, ParticipantRole, StatusAssertion, Topic, Verification,
};
use chancery_runtime::backends::Reference;
use chancery_runtime::errors::Violations;
use chancery_runtime::fuzzy_date;
use chancery_runtime::names;
use chancery_runtime::text::{self, check_optional, check_required};

use crate::checks::check_enum;

/// Longest title, location, topic label or side of free text.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, note or source excerpt.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Longest `side`.
pub const MAX_SIDE_CHARS: usize = 100;
/// Most participants of one communication.
pub const MAX_PARTICIPANTS: usize = 100;
/// Most topics of one communication.
pub const MAX_TOPICS: usize = 50;
/// Most actors mentioned by one topic.
pub const MAX_MENTIONED_ACTORS: usize = 50;
/// Most translated labels of one topic.
pub const MAX_LABELS: usize = 100;
/// Most source references of one communication or topic.
pub const MAX_SOURCES: usize = 100;
/// Most entries of a status log.
pub const MAX_STATUS_LOG: usize = 1000;
/// Most duration claims of one communication.
pub const MAX_DURATIONS: usize = 20;
/// Most outcomes of one communication.
pub const MAX_OUTCOMES: usize = 50;
/// Most parties of one outcome.
pub const MAX_OUTCOME_PARTIES: usize = 50;
/// Longest `as_reported` of a duration claim.
pub const MAX_AS_REPORTED_CHARS: usize = 200;
/// Most names in one batch get.
pub const MAX_BATCH: usize = 10_000;
/// Most distinct actors one write may name: they are all checked with a single `BatchGetActors`
/// call, which takes at most this many names.
pub const MAX_ACTOR_REFERENCES: usize = 1000;

/// The fields of a communication an update mask may name.
pub const MASK_PATHS: &[&str] = &[
    "kind",
    "title",
    "description",
    "participants",
    "planned",
    "occurred",
    "location",
    "topics",
    "previous_in_series",
    "disclosure",
    "sources",
    "durations",
    "outcomes",
];

/// Fields an update mask must not name: the status log (extended only by `AppendStatus`) and
/// the output-only fields.
pub const NOT_UPDATABLE_PATHS: &[&str] = &[
    "name",
    "status_log",
    "lifecycle",
    "verification",
    "create_time",
    "update_time",
    "etag",
];

/// Every officially assigned ISO 3166-1 alpha-3 code, sorted, plus `XKX`, the user-assigned
/// code in general use for Kosovo (EU, IMF, World Bank).
const ISO_3166_ALPHA3: &[&str] = &[
    "ABW", "AFG", "AGO", "AIA", "ALA", "ALB", "AND", "ARE", "ARG", "ARM", "ASM", "ATA", "ATF",
    "ATG", "AUS", "AUT", "AZE", "BDI", "BEL", "BEN", "BES", "BFA", "BGD", "BGR", "BHR", "BHS",
    "BIH", "BLM", "BLR", "BLZ", "BMU", "BOL", "BRA", "BRB", "BRN", "BTN", "BVT", "BWA", "CAF",
    "CAN", "CCK", "CHE", "CHL", "CHN", "CIV", "CMR", "COD", "COG", "COK", "COL", "COM", "CPV",
    "CRI", "CUB", "CUW", "CXR", "CYM", "CYP", "CZE", "DEU", "DJI", "DMA", "DNK", "DOM", "DZA",
    "ECU", "EGY", "ERI", "ESH", "ESP", "EST", "ETH", "FIN", "FJI", "FLK", "FRA", "FRO", "FSM",
    "GAB", "GBR", "GEO", "GGY", "GHA", "GIB", "GIN", "GLP", "GMB", "GNB", "GNQ", "GRC", "GRD",
    "GRL", "GTM", "GUF", "GUM", "GUY", "HKG", "HMD", "HND", "HRV", "HTI", "HUN", "IDN", "IMN",
    "IND", "IOT", "IRL", "IRN", "IRQ", "ISL", "ISR", "ITA", "JAM", "JEY", "JOR", "JPN", "KAZ",
    "KEN", "KGZ", "KHM", "KIR", "KNA", "KOR", "KWT", "LAO", "LBN", "LBR", "LBY", "LCA", "LIE",
    "LKA", "LSO", "LTU", "LUX", "LVA", "MAC", "MAF", "MAR", "MCO", "MDA", "MDG", "MDV", "MEX",
    "MHL", "MKD", "MLI", "MLT", "MMR", "MNE", "MNG", "MNP", "MOZ", "MRT", "MSR", "MTQ", "MUS",
    "MWI", "MYS", "MYT", "NAM", "NCL", "NER", "NFK", "NGA", "NIC", "NIU", "NLD", "NOR", "NPL",
    "NRU", "NZL", "OMN", "PAK", "PAN", "PCN", "PER", "PHL", "PLW", "PNG", "POL", "PRI", "PRK",
    "PRT", "PRY", "PSE", "PYF", "QAT", "REU", "ROU", "RUS", "RWA", "SAU", "SDN", "SEN", "SGP",
    "SGS", "SHN", "SJM", "SLB", "SLE", "SLV", "SMR", "SOM", "SPM", "SRB", "SSD", "STP", "SUR",
    "SVK", "SVN", "SWE", "SWZ", "SXM", "SYC", "SYR", "TCA", "TCD", "TGO", "THA", "TJK", "TKL",
    "TKM", "TLS", "TON", "TTO", "TUN", "TUR", "TUV", "TWN", "TZA", "UGA", "UKR", "UMI", "URY",
    "USA", "UZB", "VAT", "VCT", "VEN", "VGB", "VIR", "VNM", "VUT", "WLF", "WSM", "XKX", "YEM",
    "ZAF", "ZMB", "ZWE",
];

/// Whether `code` is an ISO 3166-1 alpha-3 code Chancery accepts as a side.
pub fn is_country_code(code: &str) -> bool {
    ISO_3166_ALPHA3.binary_search(&code).is_ok()
}

/// Whether a side is written as a country code: exactly three capital ASCII letters.
fn looks_like_code(side: &str) -> bool {
    side.len() == 3 && side.bytes().all(|b| b.is_ascii_uppercase())
}

/// Checks a `side`: empty, a valid ISO 3166-1 alpha-3 code, or a free text of at most
/// [`MAX_SIDE_CHARS`] characters on one line.
pub fn check_side(violations: &mut Violations, field: &str, side: &str) {
    if side.is_empty() {
        return;
    }
    let trimmed = side.trim();
    if trimmed.is_empty() {
        violations.add(field, "must not be blank; leave it empty for no side");
    } else if looks_like_code(trimmed) {
        if !is_country_code(trimmed) {
            violations.add(
                field,
                format!(
                    "three capital letters are read as an ISO 3166-1 alpha-3 code, and {trimmed:?} is not one; write a party that is not a state in words, such as `European Union`"
                ),
            );
        }
    } else {
        check_optional(violations, field, side, MAX_SIDE_CHARS);
        if side.contains(['\n', '\t']) {
            violations.add(field, "must be on one line");
        }
    }
}

/// Checks source references: a document name (syntax only) and an optional excerpt.
pub fn check_sources(violations: &mut Violations, field: &str, sources: &[SourceRef]) {
    if sources.len() > MAX_SOURCES {
        violations.add(
            field,
            format!(
                "must have at most {MAX_SOURCES} entries (got {})",
                sources.len()
            ),
        );
        return;
    }
    for (i, source) in sources.iter().enumerate() {
        check_source(violations, &format!("{field}[{i}]"), source);
    }
}

fn check_source(violations: &mut Violations, field: &str, source: &SourceRef) {
    names::check(
        violations,
        &format!("{field}.document"),
        &source.document,
        "documents",
    );
    check_optional(
        violations,
        &format!("{field}.excerpt"),
        &source.excerpt,
        MAX_DESCRIPTION_CHARS,
    );
}

fn check_labels(violations: &mut Violations, field: &str, labels: &[LocalizedText]) {
    if labels.len() > MAX_LABELS {
        violations.add(
            field,
            format!(
                "must have at most {MAX_LABELS} entries (got {})",
                labels.len()
            ),
        );
        return;
    }
    for (i, label) in labels.iter().enumerate() {
        text::check_language_code(
            violations,
            &format!("{field}[{i}].language_code"),
            &label.language_code,
        );
        check_required(
            violations,
            &format!("{field}[{i}].text"),
            &label.text,
            MAX_TITLE_CHARS,
        );
    }
}

fn normalize_date(
    violations: &mut Violations,
    field: &str,
    date: Option<&FuzzyDate>,
) -> Option<FuzzyDate> {
    date.and_then(|date| fuzzy_date::normalize(violations, field, date))
}

fn check_participants(violations: &mut Violations, field: &str, participants: &[Participant]) {
    if participants.is_empty() {
        violations.add(field, "is required: at least one actor takes part");
        return;
    }
    if participants.len() > MAX_PARTICIPANTS {
        violations.add(
            field,
            format!(
                "must have at most {MAX_PARTICIPANTS} entries (got {})",
                participants.len()
            ),
        );
        return;
    }
    for (i, participant) in participants.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let actor = names::check(
            violations,
            &format!("{at}.actor"),
            &participant.actor,
            "actors",
        );
        if actor.is_some()
            && let Some(first) = participants[..i]
                .iter()
                .position(|p| p.actor == participant.actor)
        {
            violations.add(
                format!("{at}.actor"),
                format!(
                    "{} already takes part as {field}[{first}]; an actor appears at most once",
                    participant.actor
                ),
            );
        }
        check_enum::<ParticipantRole>(violations, &format!("{at}.role"), participant.role, true);
        check_side(violations, &format!("{at}.side"), &participant.side);
        let asserted_by = format!("{at}.initiative_asserted_by");
        names::check_optional(
            violations,
            &asserted_by,
            &participant.initiative_asserted_by,
            "actors",
        );
        if !participant.initiator && !participant.initiative_asserted_by.is_empty() {
            violations.add(
                asserted_by,
                "is set only with `initiator`: who claims the participant took the initiative",
            );
        }
        if let Some(source) = &participant.initiative_source {
            let source_at = format!("{at}.initiative_source");
            check_source(violations, &source_at, source);
            if !participant.initiator {
                violations.add(
                    source_at,
                    "is set only with `initiator`: where the initiative was claimed",
                );
            }
        }
    }
}

/// Checks the topics of a communication, listed at `field`: at most [`MAX_TOPICS`], each with
/// a unique id, a label, translated labels, mentioned actors (none of them a participant),
/// sources and an optional communication other than the communication `id` itself.
fn check_topics(
    violations: &mut Violations,
    field: &str,
    topics: &[Topic],
    participants: &[Participant],
    id: Option<&str>,
) {
    if topics.len() > MAX_TOPICS {
        violations.add(
            field,
            format!(
                "must have at most {MAX_TOPICS} entries (got {})",
                topics.len()
            ),
        );
        return;
    }
    let taking_part: HashSet<&str> = participants.iter().map(|p| p.actor.as_str()).collect();
    for (i, topic) in topics.iter().enumerate() {
        let at = format!("{field}[{i}]");
        check_topic_id(violations, field, topics, i);
        check_required(
            violations,
            &format!("{at}.label"),
            &topic.label,
            MAX_TITLE_CHARS,
        );
        check_labels(violations, &format!("{at}.labels"), &topic.labels);
        check_mentioned_actors(
            violations,
            &format!("{at}.mentioned_actors"),
            &topic.mentioned_actors,
            &taking_part,
        );
        check_sources(violations, &format!("{at}.sources"), &topic.sources);
        check_topic_communication(
            violations,
            &format!("{at}.communication"),
            &topic.communication,
            id,
        );
    }
}

/// Checks the id of `topics[i]`, the list being at `field`: a valid slug no earlier topic has.
fn check_topic_id(violations: &mut Violations, field: &str, topics: &[Topic], i: usize) {
    let topic = &topics[i];
    let at = format!("{field}[{i}].id");
    if topic.id.is_empty() {
        violations.add(at, "is required: a slug such as `mariupol-evacuation`");
    } else if !names::is_valid_id(&topic.id) {
        violations.add(
            at,
            format!(
                "must be 1 to {} lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (got {:?})",
                names::MAX_ID_LEN,
                topic.id
            ),
        );
    } else if let Some(first) = topics[..i].iter().position(|t| t.id == topic.id) {
        violations.add(
            at,
            format!("repeats the id of {field}[{first}]; topic ids are unique"),
        );
    }
}

/// Checks the actors a topic mentions, listed at `field`: at most [`MAX_MENTIONED_ACTORS`],
/// none repeated, none of them `taking_part` in the communication.
fn check_mentioned_actors(
    violations: &mut Violations,
    field: &str,
    mentioned: &[String],
    taking_part: &HashSet<&str>,
) {
    if mentioned.len() > MAX_MENTIONED_ACTORS {
        violations.add(
            field,
            format!(
                "must have at most {MAX_MENTIONED_ACTORS} entries (got {})",
                mentioned.len()
            ),
        );
        return;
    }
    for (j, actor) in mentioned.iter().enumerate() {
        let path = format!("{field}[{j}]");
        if names::check(violations, &path, actor, "actors").is_none() {
            continue;
        }
        if mentioned[..j].contains(actor) {
            violations.add(path, format!("repeats {actor}"));
        } else if taking_part.contains(actor.as_str()) {
            violations.add(
                path,
                format!(
                    "{actor} takes part in the communication; mentioned actors are those who do not"
                ),
            );
        }
    }
}

/// Checks a topic's optional `communication`, at `field`: a communication name other than the
/// communication `id` itself.
fn check_topic_communication(
    violations: &mut Violations,
    field: &str,
    communication: &str,
    id: Option<&str>,
) {
    let communication = names::check_optional(violations, field, communication, "communications");
    if let (Some(communication), Some(id)) = (communication, id)
        && communication == id
    {
        violations.add(field, "must not be the communication itself");
    }
}

fn check_durations(violations: &mut Violations, field: &str, durations: &[DurationClaim]) {
    if durations.len() > MAX_DURATIONS {
        violations.add(
            field,
            format!(
                "must have at most {MAX_DURATIONS} entries (got {})",
                durations.len()
            ),
        );
        return;
    }
    for (i, duration) in durations.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if duration.seconds < 0 {
            violations.add(
                format!("{at}.seconds"),
                format!(
                    "must not be negative (got {}): a length in whole seconds, such as 3600 for an hour",
                    duration.seconds
                ),
            );
        } else if duration.seconds == 0 && duration.as_reported.trim().is_empty() {
            violations.add(
                format!("{at}.seconds"),
                "is required: a length in whole seconds, such as 3600 for an hour (zero only with `as_reported`)",
            );
        }
        check_optional(
            violations,
            &format!("{at}.as_reported"),
            &duration.as_reported,
            MAX_AS_REPORTED_CHARS,
        );
        names::check_optional(
            violations,
            &format!("{at}.asserted_by"),
            &duration.asserted_by,
            "actors",
        );
        if let Some(source) = &duration.source {
            check_source(violations, &format!("{at}.source"), source);
        }
    }
}

fn check_outcomes(violations: &mut Violations, field: &str, outcomes: &[Outcome]) {
    if outcomes.len() > MAX_OUTCOMES {
        violations.add(
            field,
            format!(
                "must have at most {MAX_OUTCOMES} entries (got {})",
                outcomes.len()
            ),
        );
        return;
    }
    for (i, outcome) in outcomes.iter().enumerate() {
        let at = format!("{field}[{i}]");
        check_required(
            violations,
            &format!("{at}.text"),
            &outcome.text,
            MAX_DESCRIPTION_CHARS,
        );
        check_enum::<OutcomeKind>(violations, &format!("{at}.kind"), outcome.kind, false);
        if outcome.parties.len() > MAX_OUTCOME_PARTIES {
            violations.add(
                format!("{at}.parties"),
                format!(
                    "must have at most {MAX_OUTCOME_PARTIES} entries (got {})",
                    outcome.parties.len()
                ),
            );
        } else {
            for (j, party) in outcome.parties.iter().enumerate() {
                names::check(violations, &format!("{at}.parties[{j}]"), party, "actors");
            }
        }
        names::check_optional(
            violations,
            &format!("{at}.asserted_by"),
            &outcome.asserted_by,
            "actors",
        );
        if let Some(source) = &outcome.source {
            check_source(violations, &format!("{at}.source"), source);
        }
    }
}

/// Validates a communication's own fields, everything but its status log (see
/// [`validate_status_log`]), and returns it with its dates normalized. `field` is the path of
/// the communication in the request; `id` is its id when known, to refuse a series that starts
/// at itself. Whether the actors and the previous communication exist is checked elsewhere.
pub fn validate_communication(
    violations: &mut Violations,
    field: &str,
    communication: &Communication,
    id: Option<&str>,
) -> Communication {
    let at = |name: &str| format!("{field}.{name}");
    check_enum::<CommunicationKind>(violations, &at("kind"), communication.kind, true);
    check_optional(
        violations,
        &at("title"),
        &communication.title,
        MAX_TITLE_CHARS,
    );
    check_optional(
        violations,
        &at("description"),
        &communication.description,
        MAX_DESCRIPTION_CHARS,
    );
    check_participants(violations, &at("participants"), &communication.participants);
    let planned = normalize_date(violations, &at("planned"), communication.planned.as_ref());
    let occurred = normalize_date(violations, &at("occurred"), communication.occurred.as_ref());
    if communication.planned.is_none() && communication.occurred.is_none() {
        violations.add(
            field,
            "needs a date: set `occurred` when it took place, `planned` when it is expected, or both",
        );
    }
    check_optional(
        violations,
        &at("location"),
        &communication.location,
        MAX_TITLE_CHARS,
    );
    check_topics(
        violations,
        &at("topics"),
        &communication.topics,
        &communication.participants,
        id,
    );
    let previous = names::check_optional(
        violations,
        &at("previous_in_series"),
        &communication.previous_in_series,
        "communications",
    );
    if let (Some(previous), Some(id)) = (previous, id)
        && previous == id
    {
        violations.add(
            at("previous_in_series"),
            "must not be the communication itself",
        );
    }
    check_enum::<ContentDisclosure>(
        violations,
        &at("disclosure"),
        communication.disclosure,
        false,
    );
    check_sources(violations, &at("sources"), &communication.sources);
    check_durations(violations, &at("durations"), &communication.durations);
    check_outcomes(violations, &at("outcomes"), &communication.outcomes);
    Communication {
        planned,
        occurred,
        ..communication.clone()
    }
}

/// Validates one status assertion and returns it with `as_of` normalized and its output-only
/// `create_time` cleared. `field` is its path in the request, such as `status` or
/// `communication.status_log[2]`.
pub fn validate_status(
    violations: &mut Violations,
    field: &str,
    status: &StatusAssertion,
) -> StatusAssertion {
    let at = |name: &str| format!("{field}.{name}");
    check_enum::<Lifecycle>(violations, &at("lifecycle"), status.lifecycle, false);
    check_enum::<Verification>(violations, &at("verification"), status.verification, false);
    if status.verification == Verification::Disputed as i32 {
        violations.add(
            at("verification"),
            "VERIFICATION_DISPUTED is computed from the log, never asserted; assert what was said (such as VERIFICATION_DENIED_BY_PARTY)",
        );
    }
    if status.lifecycle == 0 && status.verification == 0 {
        violations.add(field, "must assert a `lifecycle`, a `verification` or both");
    }
    names::check_optional(
        violations,
        &at("asserted_by"),
        &status.asserted_by,
        "actors",
    );
    check_side(violations, &at("side"), &status.side);
    names::check_optional(
        violations,
        &at("statement"),
        &status.statement,
        "statements",
    );
    if let Some(source) = &status.source {
        check_source(violations, &at("source"), source);
    }
    if status.statement.is_empty() && status.source.is_none() {
        violations.add(
            field,
            "must say what the claim rests on: a `statement`, a `source` or both",
        );
    }
    let as_of = match &status.as_of {
        Some(as_of) => fuzzy_date::normalize(violations, &at("as_of"), as_of),
        None => {
            violations.add(
                at("as_of"),
                "is required: when the claim was made, such as `2022-03-26T18:05Z`",
            );
            None
        }
    };
    check_optional(violations, &at("note"), &status.note, MAX_DESCRIPTION_CHARS);
    if !status.id.is_empty() && !names::is_valid_id(&status.id) {
        violations.add(
            at("id"),
            format!(
                "must be 1 to {} lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (got {:?})",
                names::MAX_ID_LEN,
                status.id
            ),
        );
    }
    check_optional(
        violations,
        &at("reason"),
        &status.reason,
        MAX_DESCRIPTION_CHARS,
    );
    check_enum::<Modality>(violations, &at("modality"), status.modality, false);
    StatusAssertion {
        as_of,
        create_time: None,
        ..status.clone()
    }
}

/// Validates the first entries of a status log, given on create, and returns them normalized.
pub fn validate_status_log(
    violations: &mut Violations,
    field: &str,
    log: &[StatusAssertion],
) -> Vec<StatusAssertion> {
    if log.len() > MAX_STATUS_LOG {
        violations.add(
            field,
            format!(
                "must have at most {MAX_STATUS_LOG} entries (got {})",
                log.len()
            ),
        );
        return Vec::new();
    }
    let valid: Vec<StatusAssertion> = log
        .iter()
        .enumerate()
        .map(|(i, status)| validate_status(violations, &format!("{field}[{i}]"), status))
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, status) in log.iter().enumerate() {
        if status.id.is_empty() || !names::is_valid_id(&status.id) {
            continue;
        }
        if let Some(first) = seen.get(status.id.as_str()) {
            violations.add(
                format!("{field}[{i}].id"),
                format!(
                    "repeats the id {:?} of {field}[{first}]; entry ids are unique within a log",
                    status.id
                ),
            );
        } else {
            seen.insert(&status.id, i);
        }
    }
    valid
}

/// Whether two validated status entries say the same thing: every client-set field equal, the
/// output-only `create_time` ignored. An `AppendStatus` whose entry `id` is already logged
/// appends nothing when this holds, and fails with ALREADY_EXISTS otherwise.
pub fn same_status(logged: &StatusAssertion, sent: &StatusAssertion) -> bool {
    // Only what the client sent counts: the entry's `create_time` and the bounds and precision
    // the server derived for `as_of` are left out.
    let client_set = |status: &StatusAssertion| StatusAssertion {
        create_time: None,
        as_of: status.as_of.as_ref().map(|date| FuzzyDate {
            edtf: date.edtf.trim().to_owned(),
            time_zone: date.time_zone.clone(),
            as_reported: date.as_reported.clone(),
            source: date.source,
            ..FuzzyDate::default()
        }),
        ..status.clone()
    };
    client_set(logged) == client_set(sent)
}

/// The logged entry with `id`, if any (an empty id matches nothing).
pub fn logged_status<'a>(log: &'a [StatusAssertion], id: &str) -> Option<&'a StatusAssertion> {
    if id.is_empty() {
        return None;
    }
    log.iter().find(|status| status.id == id)
}

/// Which parts of a communication to collect actor references from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceScope {
    /// `participants[].actor` and `participants[].initiative_asserted_by`.
    pub participants: bool,
    /// `topics[].mentioned_actors[]`.
    pub topics: bool,
    /// `status_log[].asserted_by`.
    pub status_log: bool,
    /// `durations[].asserted_by`.
    pub durations: bool,
    /// `outcomes[].parties[]` and `outcomes[].asserted_by`.
    pub outcomes: bool,
}

impl ReferenceScope {
    /// Every reference, as on create.
    pub const ALL: Self = Self {
        participants: true,
        topics: true,
        status_log: true,
        durations: true,
        outcomes: true,
    };

    /// The references an update replaces: those of the fields its mask names.
    pub fn of_mask(paths: &[String]) -> Self {
        let wants = |field: &str| paths.iter().any(|p| p == "*" || p == field);
        Self {
            participants: wants("participants"),
            topics: wants("topics"),
            status_log: false,
            durations: wants("durations"),
            outcomes: wants("outcomes"),
        }
    }
}

/// The actor references of a communication within `scope`, each with its field path under
/// `field`, in field order. Names that are not `actors/{id}` are skipped: validation reports them.
pub fn actor_references(
    field: &str,
    communication: &Communication,
    scope: ReferenceScope,
) -> Vec<Reference> {
    let mut references = Vec::new();
    let mut add = |path: String, name: &str| {
        if names::parse(name, "actors").is_some() {
            references.push(Reference::new(path, name));
        }
    };
    if scope.participants {
        for (i, participant) in communication.participants.iter().enumerate() {
            add(
                format!("{field}.participants[{i}].actor"),
                &participant.actor,
            );
            add(
                format!("{field}.participants[{i}].initiative_asserted_by"),
                &participant.initiative_asserted_by,
            );
        }
    }
    if scope.topics {
        for (i, topic) in communication.topics.iter().enumerate() {
            for (j, actor) in topic.mentioned_actors.iter().enumerate() {
                add(format!("{field}.topics[{i}].mentioned_actors[{j}]"), actor);
            }
        }
    }
    if scope.status_log {
        for (i, status) in communication.status_log.iter().enumerate() {
            add(
                format!("{field}.status_log[{i}].asserted_by"),
                &status.asserted_by,
            );
        }
    }
    if scope.durations {
        for (i, duration) in communication.durations.iter().enumerate() {
            add(
                format!("{field}.durations[{i}].asserted_by"),
                &duration.asserted_by,
            );
        }
    }
    if scope.outcomes {
        for (i, outcome) in communication.outcomes.iter().enumerate() {
            for (j, party) in outcome.parties.iter().enumerate() {
                add(format!("{field}.outcomes[{i}].parties[{j}]"), party);
            }
            add(
                format!("{field}.outcomes[{i}].asserted_by"),
                &outcome.asserted_by,
            );
        }
    }
    references
}

/// Refuses a write naming more distinct actors than one reference check can ask about.
pub fn check_reference_count(violations: &mut Violations, field: &str, references: &[Reference]) {
    let distinct: BTreeSet<&str> = references.iter().map(|r| r.name.as_str()).collect();
    if distinct.len() > MAX_ACTOR_REFERENCES {
        violations.add(
            field,
            format!(
                "names {} distinct actors; a communication may name at most {MAX_ACTOR_REFERENCES}",
                distinct.len()
            ),
        );
    }
}

/// Checks an update mask: every path updatable, at least one. Returns the paths to apply; with
/// no mask, every field `patch` sets (AIP-134).
pub fn check_mask(
    violations: &mut Violations,
    mask: Option<&prost_types::FieldMask>,
    patch: &Communication,
) -> Vec<String> {
    let Some(mask) = mask else {
        return implied_mask(patch);
    };
    if mask.paths.is_empty() {
        violations.add("update_mask.paths", "must name at least one field, or `*`");
    }
    for (i, path) in mask.paths.iter().enumerate() {
        if path == "*" || MASK_PATHS.contains(&path.as_str()) {
            continue;
        }
        let field = format!("update_mask.paths[{i}]");
        if path == "status_log" {
            violations.add(
                field,
                "the status log is append-only: add entries with AppendStatus",
            );
        } else if NOT_UPDATABLE_PATHS.contains(&path.as_str()) {
            violations.add(field, format!("{path:?} is output only"));
        } else {
            crate::checks::not_updatable(violations, i, path, MASK_PATHS);
        }
    }
    mask.paths.clone()
}

/// The mask implied by an update without one: every updatable field `patch` sets.
pub fn implied_mask(patch: &Communication) -> Vec<String> {
    let set = [
        ("kind", patch.kind != 0),
        ("title", !patch.title.is_empty()),
        ("description", !patch.description.is_empty()),
        ("participants", !patch.participants.is_empty()),
        ("planned", patch.planned.is_some()),
        ("occurred", patch.occurred.is_some()),
        ("location", !patch.location.is_empty()),
        ("topics", !patch.topics.is_empty()),
        ("previous_in_series", !patch.previous_in_series.is_empty()),
        ("disclosure", patch.disclosure != 0),
        ("sources", !patch.sources.is_empty()),
        ("durations", !patch.durations.is_empty()),
        ("outcomes", !patch.outcomes.is_empty()),
    ];
    set.iter()
        .filter(|(_, is_set)| *is_set)
        .map(|(path, _)| (*path).to_owned())
        .collect()
}

/// Copies the fields named by `paths` from `patch` onto `current` (`*` copies them all). The
/// status log and output-only fields are never copied.
pub fn apply_mask(current: &mut Communication, patch: &Communication, paths: &[String]) {
    let wants = |field: &str| paths.iter().any(|p| p == "*" || p == field);
    if wants("kind") {
        current.kind = patch.kind;
    }
    if wants("title") {
        current.title.clone_from(&patch.title);
    }
    if wants("description") {
        current.description.clone_from(&patch.description);
    }
    if wants("participants") {
        current.participants.clone_from(&patch.participants);
    }
    if wants("planned") {
        current.planned.clone_from(&patch.planned);
    }
    if wants("occurred") {
        current.occurred.clone_from(&patch.occurred);
    }
    if wants("location") {
        current.location.clone_from(&patch.location);
    }
    if wants("topics") {
        current.topics.clone_from(&patch.topics);
    }
    if wants("previous_in_series") {
        current
            .previous_in_series
            .clone_from(&patch.previous_in_series);
    }
    if wants("disclosure") {
        current.disclosure = patch.disclosure;
    }
    if wants("sources") {
        current.sources.clone_from(&patch.sources);
    }
    if wants("durations") {
        current.durations.clone_from(&patch.durations);
    }
    if wants("outcomes") {
        current.outcomes.clone_from(&patch.outcomes);
    }
}

/// The date a communication is ordered and filtered by: `occurred` when set, else `planned`.
pub fn date_of(communication: &Communication) -> Option<&FuzzyDate> {
    communication
        .occurred
        .as_ref()
        .or(communication.planned.as_ref())
}

/// The bounds (microseconds) of [`date_of`] a normalized communication.
pub fn date_bounds(communication: &Communication) -> (i64, i64) {
    date_of(communication).map_or((i64::MIN, i64::MAX), fuzzy_date::bounds_of)
}

/// A party to a communication, as sides are compared: a side written as a country code, a side
/// in words (folded, so `European Union` and `european union` are one party), or a participant
/// without a side, who is a party of its own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Party {
    Side(String),
    Actor(String),
}

fn side_party(side: &str) -> Option<Party> {
    let trimmed = side.trim();
    if trimmed.is_empty() {
        None
    } else if looks_like_code(trimmed) {
        Some(Party::Side(trimmed.to_owned()))
    } else {
        Some(Party::Side(text::fold(trimmed)))
    }
}

fn participant_party(participant: &Participant) -> Party {
    side_party(&participant.side).unwrap_or_else(|| Party::Actor(participant.actor.clone()))
}

/// Whether a role makes its participant one of the parties whose confirmations
/// CONFIRMED_BY_ALL_PARTIES needs.
fn is_party_role(role: i32) -> bool {
    matches!(
        ParticipantRole::try_from(role),
        Ok(ParticipantRole::Principal
            | ParticipantRole::Host
            | ParticipantRole::Visitor
            | ParticipantRole::Sender
            | ParticipantRole::Addressee)
    )
}

/// The party a claim is made for: its `side`, else the side of `asserted_by` among the
/// participants, else none.
fn claim_party(status: &StatusAssertion, participants: &[Participant]) -> Option<Party> {
    side_party(&status.side).or_else(|| {
        participants
            .iter()
            .find(|p| !status.asserted_by.is_empty() && p.actor == status.asserted_by)
            .map(participant_party)
    })
}

/// One step of the verification rules documented on `Communication.verification`.
/// `all_confirmed` says whether the sides of every confirming entry so far, this one included,
/// cover every party.
fn next_verification(
    current: Verification,
    asserted: Verification,
    all_confirmed: bool,
) -> Verification {
    use Verification::{
        ConfirmedByAllParties as All, ConfirmedByOneParty as One, DeniedByParty as Denied,
        Disputed, NoComment, ReportedUnconfirmed as Reported, Unspecified,
    };
    match asserted {
        All => All,
        Denied if matches!(current, Reported | One | All | Disputed) => Disputed,
        Denied => Denied,
        Reported | One if matches!(current, Denied | Disputed) => Disputed,
        One if all_confirmed => All,
        One if current == All => All,
        One => One,
        Reported | NoComment if matches!(current, Unspecified | NoComment) => asserted,
        Reported | NoComment | Unspecified | Disputed => current,
    }
}

/// Whether a status entry's `as_of` is an unknown date (`source` DATE_SOURCE_UNKNOWN, or no
/// bound at all): such entries are taken after the dated ones.
pub fn is_undated(status: &StatusAssertion) -> bool {
    status.as_of.as_ref().is_none_or(|date| {
        date.source == DateSource::Unknown as i32
            || (date.earliest.is_none() && date.latest.is_none())
    })
}

/// The key entries of a status log are taken in, before append order: dated entries by the
/// earliest bound of `as_of` (an interval open at its start comes first), then undated ones.
fn status_order_key(status: &StatusAssertion) -> (bool, i64) {
    if is_undated(status) {
        (true, 0)
    } else {
        (
            false,
            status
                .as_of
                .as_ref()
                .map_or(i64::MIN, |d| fuzzy_date::bounds_of(d).0),
        )
    }
}

/// The lifecycle and verification computed from a communication's status log and participants,
/// by the rules documented on `Communication.lifecycle` and `Communication.verification`:
/// entries in order of the earliest bound of `as_of`, then in the order they were appended;
/// entries whose `as_of` is unknown come after every dated one, in the order they were appended.
pub fn computed_status(communication: &Communication) -> (Lifecycle, Verification) {
    let log = &communication.status_log;
    let mut order: Vec<usize> = (0..log.len()).collect();
    // A stable sort keeps the append order among entries with the same key.
    order.sort_by_key(|&i| status_order_key(&log[i]));

    let parties: BTreeSet<Party> = communication
        .participants
        .iter()
        .filter(|p| is_party_role(p.role))
        .map(participant_party)
        .collect();
    let mut confirmed = BTreeSet::new();
    let mut lifecycle = Lifecycle::Unspecified;
    let mut verification = Verification::Unspecified;
    for status in order.into_iter().map(|i| &log[i]) {
        if let Ok(asserted) = Lifecycle::try_from(status.lifecycle)
            && asserted != Lifecycle::Unspecified
        {
            lifecycle = asserted;
        }
        let Ok(asserted) = Verification::try_from(status.verification) else {
            continue;
        };
        if asserted == Verification::Unspecified {
            continue;
        }
        if matches!(
            asserted,
            Verification::ConfirmedByOneParty | Verification::ConfirmedByAllParties
        ) && let Some(party) = claim_party(status, &communication.participants)
        {
            confirmed.insert(party);
        }
        let all_confirmed = parties.is_subset(&confirmed);
        verification = next_verification(verification, asserted, all_confirmed);
    }
    (lifecycle, verification)
}

/// Sets a communication's computed `lifecycle` and `verification` from its log.
pub fn recompute(communication: &mut Communication) {
    let (lifecycle, verification) = computed_status(communication);
    communication.lifecycle = lifecycle as i32;
    communication.verification = verification as i32;
}

/// The columns a stored communication is filtered and ordered by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    /// Kind number.
    pub kind: i64,
    /// Computed lifecycle number.
    pub lifecycle: i64,
    /// Computed verification number.
    pub verification: i64,
    /// Earliest bound of the date, microseconds.
    pub earliest: i64,
    /// Latest bound of the date, microseconds.
    pub latest: i64,
    /// Id of the previous communication of the series, or empty.
    pub previous_id: String,
    /// Ids of the participating actors.
    pub participant_ids: Vec<String>,
    /// Ids of the topics.
    pub topic_ids: Vec<String>,
}

/// The projection of a validated, recomputed communication.
pub fn project(communication: &Communication) -> Projection {
    let (earliest, latest) = date_bounds(communication);
    Projection {
        kind: i64::from(communication.kind),
        lifecycle: i64::from(communication.lifecycle),
        verification: i64::from(communication.verification),
        earliest,
        latest,
        previous_id: names::parse(&communication.previous_in_series, "communications")
            .unwrap_or_default()
            .to_owned(),
        participant_ids: communication
            .participants
            .iter()
            .map(|p| names::id_of(&p.actor).to_owned())
            .collect(),
        topic_ids: communication.topics.iter().map(|t| t.id.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(violations: &Violations) -> Vec<String> {
        violations.iter().map(|v| v.field.clone()).collect()
    }

    fn date(edtf: &str) -> Option<FuzzyDate> {
        Some(FuzzyDate {
            edtf: edtf.into(),
            ..Default::default()
        })
    }

    fn participant(actor: &str, role: ParticipantRole, side: &str) -> Participant {
        Participant {
            actor: format!("actors/{actor}"),
            role: role as i32,
            initiator: false,
            side: side.into(),
            ..Default::default()
        }
    }

    fn call() -> Communication {
        Communication {
            kind: CommunicationKind::PhoneCall as i32,
            title: "Macron–Putin phone call".into(),
            participants: vec![
                participant("emmanuel-macron", ParticipantRole::Principal, "FRA"),
                participant("vladimir-putin", ParticipantRole::Principal, "RUS"),
            ],
            planned: date("2022-03-29"),
            topics: vec![Topic {
                id: "mariupol-evacuation".into(),
                label: "Humanitarian evacuation of civilians from Mariupol".into(),
                mentioned_actors: vec!["actors/greece".into(), "actors/turkey".into()],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn claim(
        lifecycle: Lifecycle,
        verification: Verification,
        asserted_by: &str,
        side: &str,
        as_of: &str,
    ) -> StatusAssertion {
        StatusAssertion {
            lifecycle: lifecycle as i32,
            verification: verification as i32,
            asserted_by: if asserted_by.is_empty() {
                String::new()
            } else {
                format!("actors/{asserted_by}")
            },
            side: side.into(),
            source: Some(SourceRef {
                document: "documents/seed".into(),
                excerpt: String::new(),
            }),
            as_of: date(as_of),
            ..Default::default()
        }
    }

    fn status_of(
        mut communication: Communication,
        log: Vec<StatusAssertion>,
    ) -> (Lifecycle, Verification) {
        let mut violations = Violations::default();
        communication.status_log = validate_status_log(&mut violations, "log", &log);
        assert!(violations.is_empty(), "{violations}");
        computed_status(&communication)
    }

    #[test]
    fn the_country_list_is_sorted_and_complete() {
        assert!(ISO_3166_ALPHA3.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ISO_3166_ALPHA3.len(), 250, "249 official codes and XKX");
        for code in ["FRA", "RUS", "DEU", "UKR", "GRC", "TUR", "USA", "XKX"] {
            assert!(is_country_code(code), "{code}");
        }
        for code in ["EUR", "SUN", "FRX", "fra"] {
            assert!(!is_country_code(code), "{code}");
        }
    }

    #[test]
    fn a_valid_call_passes_and_gets_normalized_dates() {
        let mut violations = Violations::default();
        let valid = validate_communication(&mut violations, "communication", &call(), None);
        assert!(violations.is_empty(), "{violations}");
        let planned = valid.planned.unwrap();
        assert_eq!(planned.precision, 5, "day precision");
        assert!(planned.earliest.is_some() && planned.latest.is_some());
    }

    #[test]
    fn an_empty_communication_names_each_missing_field() {
        let mut violations = Violations::default();
        validate_communication(
            &mut violations,
            "communication",
            &Communication::default(),
            None,
        );
        assert_eq!(
            fields(&violations),
            [
                "communication.kind",
                "communication.participants",
                "communication"
            ]
        );
    }

    #[test]
    fn every_wrong_field_is_reported_with_its_full_path() {
        let communication = Communication {
            kind: 42,
            title: "x".repeat(201),
            participants: vec![
                participant("emmanuel-macron", ParticipantRole::Principal, "FRA"),
                Participant {
                    actor: "people/putin".into(),
                    role: 0,
                    initiator: false,
                    side: "XYZ".into(),
                    ..Default::default()
                },
                participant(
                    "emmanuel-macron",
                    ParticipantRole::Adviser,
                    "European\nUnion",
                ),
            ],
            occurred: date("2022-13-01"),
            topics: vec![
                Topic {
                    id: "Mariupol".into(),
                    label: String::new(),
                    mentioned_actors: vec![
                        "actors/greece".into(),
                        "actors/greece".into(),
                        "actors/emmanuel-macron".into(),
                    ],
                    ..Default::default()
                },
                Topic {
                    id: "ceasefire".into(),
                    label: "Ceasefire".into(),
                    labels: vec![LocalizedText {
                        language_code: "not a tag".into(),
                        text: "Cessez-le-feu".into(),
                    }],
                    ..Default::default()
                },
                Topic {
                    id: "ceasefire".into(),
                    label: "Ceasefire again".into(),
                    ..Default::default()
                },
            ],
            previous_in_series: "communications/this-call".into(),
            disclosure: 9,
            sources: vec![SourceRef {
                document: "seed".into(),
                excerpt: String::new(),
            }],
            ..Default::default()
        };
        let mut violations = Violations::default();
        validate_communication(
            &mut violations,
            "communication",
            &communication,
            Some("this-call"),
        );
        assert_eq!(
            fields(&violations),
            [
                "communication.kind",
                "communication.title",
                "communication.participants[1].actor",
                "communication.participants[1].role",
                "communication.participants[1].side",
                "communication.participants[2].actor",
                "communication.participants[2].side",
                "communication.occurred.edtf",
                "communication.topics[0].id",
                "communication.topics[0].label",
                "communication.topics[0].mentioned_actors[1]",
                "communication.topics[0].mentioned_actors[2]",
                "communication.topics[1].labels[0].language_code",
                "communication.topics[2].id",
                "communication.previous_in_series",
                "communication.disclosure",
                "communication.sources[0].document",
            ]
        );
    }

    #[test]
    fn limits_are_enforced_on_lists() {
        let many = Communication {
            participants: (0..101)
                .map(|i| participant(&format!("a{i}"), ParticipantRole::Principal, ""))
                .collect(),
            topics: vec![
                Topic {
                    id: "t".into(),
                    label: "T".into(),
                    ..Default::default()
                };
                51
            ],
            ..call()
        };
        let mut violations = Violations::default();
        validate_communication(&mut violations, "communication", &many, None);
        assert_eq!(
            fields(&violations),
            ["communication.participants", "communication.topics"]
        );
        let mut violations = Violations::default();
        let log = vec![StatusAssertion::default(); MAX_STATUS_LOG + 1];
        assert!(validate_status_log(&mut violations, "communication.status_log", &log).is_empty());
        assert_eq!(fields(&violations), ["communication.status_log"]);
    }

    #[test]
    fn sides_are_codes_or_words() {
        let mut violations = Violations::default();
        for good in ["", "FRA", "European Union", "Hamas", "fra"] {
            check_side(&mut violations, "side", good);
        }
        assert!(violations.is_empty(), "{violations}");
        for bad in ["EUR", " ", "a\u{0}b"] {
            check_side(&mut violations, "side", bad);
        }
        check_side(&mut violations, "side", &"x".repeat(101));
        assert_eq!(violations.iter().count(), 4);
    }

    #[test]
    fn status_assertions_are_validated_with_their_paths() {
        let mut violations = Violations::default();
        validate_status(&mut violations, "status", &StatusAssertion::default());
        assert_eq!(fields(&violations), ["status", "status", "status.as_of"]);

        let mut violations = Violations::default();
        let wrong = StatusAssertion {
            lifecycle: 17,
            verification: Verification::Disputed as i32,
            asserted_by: "legendre".into(),
            side: "ZZZ".into(),
            statement: "statements/Bad".into(),
            source: Some(SourceRef::default()),
            as_of: date("sometime"),
            note: "n".repeat(2001),
            ..Default::default()
        };
        validate_status(&mut violations, "communication.status_log[0]", &wrong);
        assert_eq!(
            fields(&violations),
            [
                "communication.status_log[0].lifecycle",
                "communication.status_log[0].verification",
                "communication.status_log[0].asserted_by",
                "communication.status_log[0].side",
                "communication.status_log[0].statement",
                "communication.status_log[0].source.document",
                "communication.status_log[0].as_of.edtf",
                "communication.status_log[0].note",
            ]
        );

        let mut violations = Violations::default();
        let valid = validate_status(
            &mut violations,
            "status",
            &StatusAssertion {
                create_time: Some(prost_types::Timestamp::default()),
                ..claim(
                    Lifecycle::Expected,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03-26T18:05Z",
                )
            },
        );
        assert!(violations.is_empty(), "{violations}");
        assert!(valid.create_time.is_none(), "output only");
        assert_eq!(valid.as_of.unwrap().precision, 7, "minute precision");
    }

    #[test]
    fn expected_then_held_computes_held() {
        let (lifecycle, _) = status_of(
            call(),
            vec![
                claim(
                    Lifecycle::Expected,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03-26",
                ),
                claim(
                    Lifecycle::Held,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03-29",
                ),
            ],
        );
        assert_eq!(lifecycle, Lifecycle::Held);
    }

    #[test]
    fn the_log_is_read_in_date_order_then_append_order() {
        // "held" appended first but dated later still wins over a later-appended "expected".
        let (lifecycle, _) = status_of(
            call(),
            vec![
                claim(
                    Lifecycle::Held,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03-29T20:00Z",
                ),
                claim(
                    Lifecycle::Expected,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03-26",
                ),
            ],
        );
        assert_eq!(lifecycle, Lifecycle::Held);
        // Same earliest bound: append order decides.
        let (lifecycle, _) = status_of(
            call(),
            vec![
                claim(
                    Lifecycle::Scheduled,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03",
                ),
                claim(
                    Lifecycle::Postponed,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03-01",
                ),
            ],
        );
        assert_eq!(lifecycle, Lifecycle::Postponed);
        // Entries that set only a verification leave the lifecycle alone.
        let (lifecycle, verification) = status_of(
            call(),
            vec![
                claim(
                    Lifecycle::Cancelled,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03-20",
                ),
                claim(
                    Lifecycle::Unspecified,
                    Verification::NoComment,
                    "",
                    "",
                    "2022-03-21",
                ),
            ],
        );
        assert_eq!(
            (lifecycle, verification),
            (Lifecycle::Cancelled, Verification::NoComment)
        );
        assert_eq!(
            status_of(call(), vec![]),
            (Lifecycle::Unspecified, Verification::Unspecified)
        );
    }

    #[test]
    fn a_report_then_a_denial_computes_disputed() {
        let (lifecycle, verification) = status_of(
            call(),
            vec![
                claim(
                    Lifecycle::Expected,
                    Verification::ReportedUnconfirmed,
                    "",
                    "",
                    "2022-03-26",
                ),
                claim(
                    Lifecycle::Unspecified,
                    Verification::DeniedByParty,
                    "dmitry-peskov",
                    "RUS",
                    "2022-03-27",
                ),
            ],
        );
        assert_eq!(
            (lifecycle, verification),
            (Lifecycle::Expected, Verification::Disputed)
        );
        // A denial alone is a denial; a report after it disputes it.
        let (_, verification) = status_of(
            call(),
            vec![claim(
                Lifecycle::Unspecified,
                Verification::DeniedByParty,
                "",
                "RUS",
                "2022-03-27",
            )],
        );
        assert_eq!(verification, Verification::DeniedByParty);
        let (_, verification) = status_of(
            call(),
            vec![
                claim(
                    Lifecycle::Unspecified,
                    Verification::DeniedByParty,
                    "",
                    "RUS",
                    "2022-03-27",
                ),
                claim(
                    Lifecycle::Unspecified,
                    Verification::ReportedUnconfirmed,
                    "",
                    "",
                    "2022-03-28",
                ),
            ],
        );
        assert_eq!(verification, Verification::Disputed);
    }

    #[test]
    fn confirmations_by_every_principal_side_compute_confirmed_by_all() {
        let fra = claim(
            Lifecycle::Held,
            Verification::ConfirmedByOneParty,
            "anne-claire-legendre",
            "FRA",
            "2022-03-29T19:00Z",
        );
        let (_, verification) = status_of(call(), vec![fra.clone()]);
        assert_eq!(verification, Verification::ConfirmedByOneParty);

        // Putin takes part on side RUS: his own confirmation counts for RUS without a side.
        let rus = claim(
            Lifecycle::Held,
            Verification::ConfirmedByOneParty,
            "vladimir-putin",
            "",
            "2022-03-29T19:30Z",
        );
        let (_, verification) = status_of(call(), vec![fra.clone(), rus.clone()]);
        assert_eq!(verification, Verification::ConfirmedByAllParties);

        // Two confirmations for the same side are still one party.
        let (_, verification) = status_of(call(), vec![fra.clone(), fra.clone()]);
        assert_eq!(verification, Verification::ConfirmedByOneParty);

        // A claim by a non-participant without a side counts for no party.
        let outsider = claim(
            Lifecycle::Held,
            Verification::ConfirmedByOneParty,
            "tass",
            "",
            "2022-03-29T19:30Z",
        );
        let (_, verification) = status_of(call(), vec![fra.clone(), outsider]);
        assert_eq!(verification, Verification::ConfirmedByOneParty);

        // Advisers and interpreters are not parties that must confirm.
        let mut with_adviser = call();
        with_adviser.participants.push(participant(
            "interpreter",
            ParticipantRole::Interpreter,
            "Swiss",
        ));
        let (_, verification) = status_of(with_adviser, vec![fra.clone(), rus.clone()]);
        assert_eq!(verification, Verification::ConfirmedByAllParties);

        // A participant without a side is a party of its own.
        let mut three = call();
        three
            .participants
            .push(participant("olaf-scholz", ParticipantRole::Principal, ""));
        let (_, verification) = status_of(three.clone(), vec![fra.clone(), rus.clone()]);
        assert_eq!(verification, Verification::ConfirmedByOneParty);
        let scholz = claim(
            Lifecycle::Held,
            Verification::ConfirmedByOneParty,
            "olaf-scholz",
            "",
            "2022-03-29T20:00Z",
        );
        let (_, verification) = status_of(three, vec![fra.clone(), rus.clone(), scholz]);
        assert_eq!(verification, Verification::ConfirmedByAllParties);

        // Sides in words compare folded.
        let mut union = call();
        union.participants[0].side = "European Union".into();
        let eu = claim(
            Lifecycle::Held,
            Verification::ConfirmedByOneParty,
            "",
            "european union",
            "2022-03-29",
        );
        let (_, verification) = status_of(union, vec![eu, rus]);
        assert_eq!(verification, Verification::ConfirmedByAllParties);
    }

    #[test]
    fn each_verification_rule_applies_in_turn() {
        use Verification::*;
        let all = [
            Unspecified,
            ReportedUnconfirmed,
            ConfirmedByOneParty,
            ConfirmedByAllParties,
            DeniedByParty,
            Disputed,
            NoComment,
        ];
        for current in all {
            assert_eq!(
                next_verification(current, ConfirmedByAllParties, false),
                ConfirmedByAllParties
            );
        }
        let denied: Vec<_> = all
            .iter()
            .map(|&c| next_verification(c, DeniedByParty, false))
            .collect();
        assert_eq!(
            denied,
            [
                DeniedByParty,
                Disputed,
                Disputed,
                Disputed,
                DeniedByParty,
                Disputed,
                DeniedByParty
            ]
        );
        let reported: Vec<_> = all
            .iter()
            .map(|&c| next_verification(c, ReportedUnconfirmed, false))
            .collect();
        assert_eq!(
            reported,
            [
                ReportedUnconfirmed,
                ReportedUnconfirmed,
                ConfirmedByOneParty,
                ConfirmedByAllParties,
                Disputed,
                Disputed,
                ReportedUnconfirmed
            ]
        );
        let confirmed: Vec<_> = all
            .iter()
            .map(|&c| next_verification(c, ConfirmedByOneParty, false))
            .collect();
        assert_eq!(
            confirmed,
            [
                ConfirmedByOneParty,
                ConfirmedByOneParty,
                ConfirmedByOneParty,
                ConfirmedByAllParties,
                Disputed,
                Disputed,
                ConfirmedByOneParty
            ]
        );
        assert_eq!(
            next_verification(ReportedUnconfirmed, ConfirmedByOneParty, true),
            ConfirmedByAllParties
        );
        assert_eq!(
            next_verification(DeniedByParty, ConfirmedByOneParty, true),
            Disputed
        );
        let no_comment: Vec<_> = all
            .iter()
            .map(|&c| next_verification(c, NoComment, false))
            .collect();
        assert_eq!(
            no_comment,
            [
                NoComment,
                ReportedUnconfirmed,
                ConfirmedByOneParty,
                ConfirmedByAllParties,
                DeniedByParty,
                Disputed,
                NoComment
            ]
        );
    }

    #[test]
    fn the_date_is_occurred_else_planned() {
        let mut violations = Violations::default();
        let planned_only = validate_communication(&mut violations, "c", &call(), None);
        let occurred = validate_communication(
            &mut violations,
            "c",
            &Communication {
                occurred: date("2022-03-22"),
                ..call()
            },
            None,
        );
        assert!(violations.is_empty(), "{violations}");
        assert_eq!(date_of(&planned_only).unwrap().edtf, "2022-03-29");
        assert_eq!(date_of(&occurred).unwrap().edtf, "2022-03-22");
        let march = fuzzy_date::parse("2022-03").unwrap();
        let month = validate_communication(
            &mut violations,
            "c",
            &Communication {
                planned: date("2022-03"),
                ..call()
            },
            None,
        );
        assert_eq!(date_bounds(&month), (march.earliest, march.latest));
        let projection = project(&month);
        assert_eq!(
            (projection.earliest, projection.latest),
            (march.earliest, march.latest)
        );
        assert_eq!(
            projection.participant_ids,
            ["emmanuel-macron", "vladimir-putin"]
        );
        assert_eq!(projection.topic_ids, ["mariupol-evacuation"]);
    }

    #[test]
    fn masks_copy_only_named_fields_and_refuse_the_log() {
        let mut current = call();
        let patch = Communication {
            title: "Call".into(),
            location: "Élysée Palace".into(),
            ..Default::default()
        };
        apply_mask(&mut current, &patch, &["title".to_owned()]);
        assert_eq!(current.title, "Call");
        assert_eq!(current.location, "");
        assert_eq!(current.participants.len(), 2);
        assert_eq!(implied_mask(&patch), ["title", "location"]);

        let mut violations = Violations::default();
        let mask = prost_types::FieldMask {
            paths: vec![
                "title".into(),
                "status_log".into(),
                "etag".into(),
                "nope".into(),
            ],
        };
        check_mask(&mut violations, Some(&mask), &patch);
        assert_eq!(
            fields(&violations),
            [
                "update_mask.paths[1]",
                "update_mask.paths[2]",
                "update_mask.paths[3]"
            ]
        );
        let mut violations = Violations::default();
        check_mask(
            &mut violations,
            Some(&prost_types::FieldMask::default()),
            &patch,
        );
        assert_eq!(fields(&violations), ["update_mask.paths"]);
    }

    #[test]
    fn references_carry_their_field_paths() {
        let mut communication = call();
        communication.status_log = vec![claim(
            Lifecycle::Expected,
            Verification::ConfirmedByOneParty,
            "anne-claire-legendre",
            "FRA",
            "2022-03-26",
        )];
        let fields: Vec<_> = actor_references("communication", &communication, ReferenceScope::ALL)
            .into_iter()
            .map(|r| r.field)
            .collect();
        assert_eq!(
            fields,
            [
                "communication.participants[0].actor",
                "communication.participants[1].actor",
                "communication.topics[0].mentioned_actors[0]",
                "communication.topics[0].mentioned_actors[1]",
                "communication.status_log[0].asserted_by",
            ]
        );
        let only_topics = actor_references(
            "communication",
            &communication,
            ReferenceScope::of_mask(&["topics".to_owned()]),
        );
        assert_eq!(only_topics.len(), 2);

        let mut violations = Violations::default();
        let many: Vec<_> = (0..=MAX_ACTOR_REFERENCES)
            .map(|i| Reference::new("f", format!("actors/a{i}")))
            .collect();
        check_reference_count(
            &mut violations,
            "communication",
            &many[..MAX_ACTOR_REFERENCES],
        );
        assert!(violations.is_empty());
        check_reference_count(&mut violations, "communication", &many);
        assert_eq!(violations.iter().count(), 1);
    }

    fn unknown_date() -> Option<FuzzyDate> {
        // As `fuzzy_date::normalize` leaves an unknown date: no edtf, no bounds.
        Some(FuzzyDate {
            source: DateSource::Unknown as i32,
            ..Default::default()
        })
    }

    fn undated(lifecycle: Lifecycle, verification: Verification, by: &str) -> StatusAssertion {
        StatusAssertion {
            as_of: unknown_date(),
            ..claim(lifecycle, verification, by, "", "2000")
        }
    }

    /// The log of `communication` with each entry that has an edtf normalized (as the service
    /// stores it) and the others (unknown dates, open starts) kept as given.
    fn computed_with(
        mut communication: Communication,
        log: Vec<StatusAssertion>,
    ) -> (Lifecycle, Verification) {
        let mut violations = Violations::default();
        communication.status_log = log
            .iter()
            .map(|status| {
                // Dates without edtf are given here as normalized already.
                let given = status.as_of.as_ref().is_some_and(|d| d.edtf.is_empty());
                if given {
                    status.clone()
                } else {
                    validate_status(&mut violations, "log", status)
                }
            })
            .collect();
        assert!(violations.is_empty(), "{violations}");
        computed_status(&communication)
    }

    fn source(document: &str) -> Option<SourceRef> {
        Some(SourceRef {
            document: document.into(),
            excerpt: String::new(),
        })
    }

    #[test]
    fn durations_outcomes_and_initiatives_that_follow_the_rules_pass() {
        let mut communication = call();
        communication.participants[0].initiator = true;
        communication.participants[0].initiative_asserted_by = "actors/elysee".into();
        communication.participants[0].initiative_source = source("documents/readout");
        communication.participants[1].initiator = true;
        communication.topics[0].communication = "communications/summit".into();
        communication.durations = vec![
            DurationClaim {
                seconds: 3600,
                approximate: true,
                as_reported: "about an hour".into(),
                asserted_by: "actors/kremlin".into(),
                source: source("documents/readout"),
            },
            DurationClaim {
                seconds: 0,
                as_reported: "a long call".into(),
                ..Default::default()
            },
        ];
        communication.outcomes = vec![Outcome {
            text: "agreed to continue contacts".into(),
            kind: OutcomeKind::FollowUp as i32,
            parties: vec![
                "actors/emmanuel-macron".into(),
                "actors/vladimir-putin".into(),
            ],
            asserted_by: "actors/elysee".into(),
            source: source("documents/readout"),
        }];
        let mut violations = Violations::default();
        let valid =
            validate_communication(&mut violations, "communication", &communication, Some("c"));
        assert!(violations.is_empty(), "{violations}");
        assert_eq!(valid.durations, communication.durations);
        assert_eq!(valid.outcomes, communication.outcomes);
        assert_eq!(valid.participants, communication.participants);
        assert_eq!(valid.topics, communication.topics);
    }

    #[test]
    fn wrong_durations_outcomes_initiatives_and_topic_communications_name_their_fields() {
        let mut communication = call();
        communication.participants[0].initiative_asserted_by = "actors/elysee".into();
        communication.participants[1].initiative_source = source("nowhere");
        communication.participants[1].initiator = true;
        communication.participants[1].initiative_asserted_by = "kremlin".into();
        communication.topics[0].communication = "communications/this-call".into();
        communication.topics.push(Topic {
            id: "summit".into(),
            label: "The summit".into(),
            communication: "summits/g20".into(),
            ..Default::default()
        });
        communication.durations = vec![
            DurationClaim {
                seconds: -1,
                ..Default::default()
            },
            DurationClaim::default(),
            DurationClaim {
                seconds: 60,
                as_reported: "x".repeat(201),
                asserted_by: "kremlin".into(),
                source: source("seed"),
                ..Default::default()
            },
        ];
        communication.outcomes = vec![
            Outcome {
                text: " ".into(),
                kind: 42,
                parties: vec!["actors/greece".into(), "greece".into(), String::new()],
                asserted_by: "actors/Bad".into(),
                source: source("documents/Bad"),
            },
            Outcome {
                text: "t".repeat(2001),
                parties: vec!["actors/greece".into(); 51],
                ..Default::default()
            },
        ];
        let mut violations = Violations::default();
        validate_communication(
            &mut violations,
            "communication",
            &communication,
            Some("this-call"),
        );
        assert_eq!(
            fields(&violations),
            [
                "communication.participants[0].initiative_asserted_by",
                "communication.participants[1].initiative_asserted_by",
                "communication.participants[1].initiative_source.document",
                "communication.topics[0].communication",
                "communication.topics[1].communication",
                "communication.durations[0].seconds",
                "communication.durations[1].seconds",
                "communication.durations[2].as_reported",
                "communication.durations[2].asserted_by",
                "communication.durations[2].source.document",
                "communication.outcomes[0].text",
                "communication.outcomes[0].kind",
                "communication.outcomes[0].parties[1]",
                "communication.outcomes[0].parties[2]",
                "communication.outcomes[0].asserted_by",
                "communication.outcomes[0].source.document",
                "communication.outcomes[1].text",
                "communication.outcomes[1].parties",
            ]
        );

        // A source of the initiative without `initiator` is refused too.
        let mut communication = call();
        communication.participants[0].initiative_source = source("documents/readout");
        let mut violations = Violations::default();
        validate_communication(&mut violations, "c", &communication, None);
        assert_eq!(fields(&violations), ["c.participants[0].initiative_source"]);

        // Too many durations or outcomes: one violation on the list.
        let many = Communication {
            durations: vec![
                DurationClaim {
                    seconds: 60,
                    ..Default::default()
                };
                MAX_DURATIONS + 1
            ],
            outcomes: vec![
                Outcome {
                    text: "agreed".into(),
                    ..Default::default()
                };
                MAX_OUTCOMES + 1
            ],
            ..call()
        };
        let mut violations = Violations::default();
        validate_communication(&mut violations, "c", &many, None);
        assert_eq!(fields(&violations), ["c.durations", "c.outcomes"]);
        let at_the_limit = Communication {
            durations: many.durations[..MAX_DURATIONS].to_vec(),
            outcomes: many.outcomes[..MAX_OUTCOMES].to_vec(),
            ..call()
        };
        let mut violations = Violations::default();
        validate_communication(&mut violations, "c", &at_the_limit, None);
        assert!(violations.is_empty(), "{violations}");
    }

    #[test]
    fn status_ids_reasons_and_modalities_are_checked_and_ids_are_unique_in_a_log() {
        let mut good = claim(
            Lifecycle::Cancelled,
            Verification::Unspecified,
            "",
            "",
            "2022-03-29",
        );
        good.id = "cancelled-1".into();
        good.reason = "because of the situation on the ground".into();
        good.modality = Modality::Hedged as i32;
        let mut violations = Violations::default();
        let valid = validate_status(&mut violations, "status", &good);
        assert!(violations.is_empty(), "{violations}");
        assert_eq!(
            (valid.id.as_str(), valid.modality),
            ("cancelled-1", Modality::Hedged as i32)
        );

        for bad_id in ["Held", "held-", "-held", "1held", &"h".repeat(64)] {
            let mut violations = Violations::default();
            validate_status(
                &mut violations,
                "status",
                &StatusAssertion {
                    id: bad_id.into(),
                    ..good.clone()
                },
            );
            assert_eq!(fields(&violations), ["status.id"], "{bad_id:?}");
        }
        let mut violations = Violations::default();
        validate_status(
            &mut violations,
            "status",
            &StatusAssertion {
                reason: "r".repeat(2001),
                modality: 7,
                ..good.clone()
            },
        );
        assert_eq!(fields(&violations), ["status.reason", "status.modality"]);

        let other = StatusAssertion {
            id: "held".into(),
            ..good.clone()
        };
        let unnamed = StatusAssertion {
            id: String::new(),
            ..good.clone()
        };
        let log = [
            good.clone(),
            other.clone(),
            unnamed.clone(),
            unnamed,
            good.clone(),
            other,
            good,
        ];
        let mut violations = Violations::default();
        let valid = validate_status_log(&mut violations, "communication.status_log", &log);
        assert_eq!(valid.len(), 7);
        assert_eq!(
            fields(&violations),
            [
                "communication.status_log[4].id",
                "communication.status_log[5].id",
                "communication.status_log[6].id",
            ]
        );
        assert!(
            violations
                .to_string()
                .contains("communication.status_log[0]")
        );
    }

    #[test]
    fn the_same_entry_compares_client_set_fields_only() {
        let sent = StatusAssertion {
            id: "held".into(),
            ..claim(
                Lifecycle::Held,
                Verification::ConfirmedByOneParty,
                "anne-claire-legendre",
                "FRA",
                "2022-03-29T19:00Z",
            )
        };
        let mut violations = Violations::default();
        let normalized = validate_status(&mut violations, "status", &sent);
        let logged = StatusAssertion {
            create_time: Some(prost_types::Timestamp {
                seconds: 1_648_580_400,
                nanos: 0,
            }),
            ..normalized.clone()
        };
        assert!(same_status(&logged, &normalized));
        // Derived fields of the date do not count either (an older server may have derived
        // fewer of them).
        let mut older = logged.clone();
        if let Some(as_of) = older.as_of.as_mut() {
            as_of.precision = 0;
            as_of.earliest = None;
        }
        assert!(same_status(&older, &normalized));
        for changed in [
            StatusAssertion {
                note: "a note".into(),
                ..normalized.clone()
            },
            StatusAssertion {
                lifecycle: Lifecycle::InProgress as i32,
                ..normalized.clone()
            },
            StatusAssertion {
                modality: Modality::Expected as i32,
                ..normalized.clone()
            },
            StatusAssertion {
                as_of: validate_status(
                    &mut violations,
                    "status",
                    &StatusAssertion {
                        as_of: date("2022-03-29T19:01Z"),
                        ..sent.clone()
                    },
                )
                .as_of,
                ..normalized.clone()
            },
        ] {
            assert!(!same_status(&logged, &changed), "{changed:?}");
        }
        assert!(violations.is_empty(), "{violations}");
        let log = [logged.clone()];
        assert_eq!(logged_status(&log, "held"), Some(&logged));
        assert_eq!(logged_status(&log, "other"), None);
        assert_eq!(logged_status(&[StatusAssertion::default()], ""), None);
    }

    #[test]
    fn undated_entries_come_after_the_dated_ones_in_append_order() {
        // An undated "held" appended first still comes after a dated "cancelled".
        let (lifecycle, _) = computed_with(
            call(),
            vec![
                undated(Lifecycle::Held, Verification::Unspecified, ""),
                claim(
                    Lifecycle::Cancelled,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03-29",
                ),
            ],
        );
        assert_eq!(lifecycle, Lifecycle::Held);
        // Undated entries keep their append order among themselves, even with a dated entry
        // appended in between or after them.
        let (lifecycle, _) = computed_with(
            call(),
            vec![
                undated(Lifecycle::Scheduled, Verification::Unspecified, ""),
                claim(
                    Lifecycle::Held,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03-30",
                ),
                undated(Lifecycle::Postponed, Verification::Unspecified, ""),
                claim(
                    Lifecycle::Expected,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03-26",
                ),
            ],
        );
        assert_eq!(lifecycle, Lifecycle::Postponed);
        // Verification follows the same order: a dated confirmation, then an undated denial.
        let (_, verification) = computed_with(
            call(),
            vec![
                undated(
                    Lifecycle::Unspecified,
                    Verification::DeniedByParty,
                    "vladimir-putin",
                ),
                claim(
                    Lifecycle::Unspecified,
                    Verification::ConfirmedByOneParty,
                    "",
                    "FRA",
                    "2022-03-29",
                ),
            ],
        );
        assert_eq!(verification, Verification::Disputed);
        // An undated "no comment" comes after a dated denial, and leaves it alone.
        let (_, verification) = computed_with(
            call(),
            vec![
                claim(
                    Lifecycle::Unspecified,
                    Verification::DeniedByParty,
                    "",
                    "RUS",
                    "2022-03-29",
                ),
                undated(Lifecycle::Unspecified, Verification::NoComment, ""),
            ],
        );
        assert_eq!(
            verification,
            Verification::DeniedByParty,
            "no comment after a denial"
        );
        // No bounds at all also reads as undated; an interval open at its start is dated, and
        // comes first.
        let no_bounds = StatusAssertion {
            as_of: Some(FuzzyDate::default()),
            ..claim(Lifecycle::Held, Verification::Unspecified, "", "", "2000")
        };
        assert!(is_undated(&no_bounds));
        let mut open_start = claim(
            Lifecycle::Expected,
            Verification::Unspecified,
            "",
            "",
            "2000",
        );
        open_start.as_of = Some(FuzzyDate {
            latest: Some(prost_types::Timestamp::default()),
            ..Default::default()
        });
        assert!(!is_undated(&open_start));
        let (lifecycle, _) = computed_with(
            call(),
            vec![
                claim(
                    Lifecycle::Scheduled,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03-01",
                ),
                open_start,
            ],
        );
        assert_eq!(lifecycle, Lifecycle::Scheduled);
    }

    #[test]
    fn in_progress_is_a_lifecycle_like_the_others() {
        let (lifecycle, _) = status_of(
            call(),
            vec![
                claim(
                    Lifecycle::Scheduled,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03-28",
                ),
                claim(
                    Lifecycle::InProgress,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03-29T10:00Z",
                ),
            ],
        );
        assert_eq!(lifecycle, Lifecycle::InProgress);
        let (lifecycle, _) = status_of(
            call(),
            vec![
                claim(
                    Lifecycle::InProgress,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03-29T10:00Z",
                ),
                claim(
                    Lifecycle::Held,
                    Verification::Unspecified,
                    "",
                    "",
                    "2022-03-30",
                ),
            ],
        );
        assert_eq!(lifecycle, Lifecycle::Held);
        let mut violations = Violations::default();
        validate_status(
            &mut violations,
            "status",
            &claim(
                Lifecycle::InProgress,
                Verification::Unspecified,
                "",
                "",
                "2022-03-29",
            ),
        );
        assert!(violations.is_empty(), "{violations}");
        let mut recomputed = call();
        recomputed.status_log = vec![claim(
            Lifecycle::InProgress,
            Verification::Unspecified,
            "",
            "",
            "2022-03-29",
        )];
        recompute(&mut recomputed);
        assert_eq!(project(&recomputed).lifecycle, Lifecycle::InProgress as i64);
        assert_eq!(
            CommunicationKind::try_from(9),
            Ok(CommunicationKind::Notification)
        );
        assert_eq!(
            CommunicationKind::try_from(10),
            Ok(CommunicationKind::Talks)
        );
        for kind in [CommunicationKind::Notification, CommunicationKind::Talks] {
            let mut violations = Violations::default();
            validate_communication(
                &mut violations,
                "c",
                &Communication {
                    kind: kind as i32,
                    ..call()
                },
                None,
            );
            assert!(violations.is_empty(), "{violations}");
        }
    }

    #[test]
    fn new_references_join_the_one_check_with_their_paths() {
        let mut communication = call();
        communication.participants[0].initiator = true;
        communication.participants[0].initiative_asserted_by = "actors/elysee".into();
        communication.status_log = vec![claim(
            Lifecycle::Held,
            Verification::Unspecified,
            "dmitry-peskov",
            "",
            "2022-03-29",
        )];
        communication.durations = vec![
            DurationClaim {
                seconds: 3600,
                asserted_by: "actors/kremlin".into(),
                ..Default::default()
            },
            DurationClaim {
                seconds: 60,
                ..Default::default()
            },
        ];
        communication.outcomes = vec![Outcome {
            text: "agreed".into(),
            parties: vec!["actors/emmanuel-macron".into(), "actors/nobody".into()],
            asserted_by: "actors/elysee".into(),
            ..Default::default()
        }];
        let fields: Vec<_> = actor_references("communication", &communication, ReferenceScope::ALL)
            .into_iter()
            .map(|r| r.field)
            .collect();
        assert_eq!(
            fields,
            [
                "communication.participants[0].actor",
                "communication.participants[0].initiative_asserted_by",
                "communication.participants[1].actor",
                "communication.topics[0].mentioned_actors[0]",
                "communication.topics[0].mentioned_actors[1]",
                "communication.status_log[0].asserted_by",
                "communication.durations[0].asserted_by",
                "communication.outcomes[0].parties[0]",
                "communication.outcomes[0].parties[1]",
                "communication.outcomes[0].asserted_by",
            ]
        );
        let scoped = |paths: &[&str]| -> Vec<String> {
            let paths: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
            actor_references(
                "communication",
                &communication,
                ReferenceScope::of_mask(&paths),
            )
            .into_iter()
            .map(|r| r.field)
            .collect()
        };
        assert_eq!(
            scoped(&["durations"]),
            ["communication.durations[0].asserted_by"]
        );
        assert_eq!(scoped(&["outcomes"]).len(), 3);
        assert_eq!(scoped(&["title"]).len(), 0);
        assert_eq!(scoped(&["*"]).len(), 9, "everything but the status log");
    }

    #[test]
    fn masks_copy_durations_and_outcomes() {
        let mut current = call();
        let patch = Communication {
            durations: vec![DurationClaim {
                seconds: 3600,
                ..Default::default()
            }],
            outcomes: vec![Outcome {
                text: "agreed".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(implied_mask(&patch), ["durations", "outcomes"]);
        apply_mask(&mut current, &patch, &["durations".to_owned()]);
        assert_eq!(current.durations, patch.durations);
        assert!(current.outcomes.is_empty());
        apply_mask(&mut current, &patch, &["outcomes".to_owned()]);
        assert_eq!(current.outcomes, patch.outcomes);
        apply_mask(&mut current, &Communication::default(), &["*".to_owned()]);
        assert!(current.durations.is_empty() && current.outcomes.is_empty());
        let mut violations = Violations::default();
        let mask = prost_types::FieldMask {
            paths: vec!["durations".into(), "outcomes".into()],
        };
        let paths = check_mask(&mut violations, Some(&mask), &patch);
        assert!(violations.is_empty(), "{violations}");
        assert_eq!(paths, ["durations", "outcomes"]);
    }
}
