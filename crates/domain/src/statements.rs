//! The rules of statements and source documents. The generated protobuf messages are the
//! resource types; this module decides what a valid one is (every field that can be wrong is
//! checked and each problem reported under its full path), derives what the server computes
//! (normalized dates, hop positions) and lists the references a write makes, so the handlers
//! can check them: actors and communications with one call to their services, documents and
//! statements in the write's own transaction. It does no I/O.

use std::collections::BTreeSet;

use chancery_proto::common::v1::FuzzyDate;
use chancery_proto::statements::v1::{
    AttributionHop, Channel, Content, ContentMode, HopRelation, MediaAsset, MediaKind, QuotedSpan,
    Readout, SourceDocument, SpeechAct, Statement, Topic,
};
use chancery_runtime::backends::Reference;
use chancery_runtime::errors::Violations;
use chancery_runtime::fuzzy_date;
use chancery_runtime::names;
use chancery_runtime::text::{self, check_optional, check_required};

/// Longest statement text, and longest original text, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Most co-speakers of a statement.
pub const MAX_CO_SPEAKERS: usize = 20;
/// Most addressees of a statement.
pub const MAX_ADDRESSEES: usize = 50;
/// Most actors a statement is about.
pub const MAX_ABOUT_ACTORS: usize = 50;
/// Most topics of a statement.
pub const MAX_TOPICS: usize = 50;
/// Longest topic label.
pub const MAX_TOPIC_LABEL_CHARS: usize = 200;
/// Most quoted spans of a statement's content.
pub const MAX_QUOTED_SPANS: usize = 50;
/// Most hops of an attribution chain.
pub const MAX_HOPS: usize = 20;
/// Longest attribution cue.
pub const MAX_CUE_CHARS: usize = 200;
/// Longest URL, of a document or a media asset.
pub const MAX_URL_CHARS: usize = 2048;
/// Longest document title.
pub const MAX_TITLE_CHARS: usize = 500;
/// Most authors of a document.
pub const MAX_AUTHORS: usize = 20;
/// Longest author, as the byline gives it.
pub const MAX_AUTHOR_CHARS: usize = 200;
/// Most media assets of a document.
pub const MAX_MEDIA_ASSETS: usize = 50;
/// Longest credit of a media asset.
pub const MAX_CREDIT_CHARS: usize = 200;
/// Longest caption of a media asset.
pub const MAX_CAPTION_CHARS: usize = 2000;
/// Most names in one batch get.
pub const MAX_BATCH: usize = 10_000;

/// The fields of a statement an update mask may name.
pub const STATEMENT_MASK_PATHS: &[&str] = &[
    "speaker",
    "co_speakers",
    "on_behalf_of",
    "addressees",
    "content",
    "speech_act",
    "channel",
    "said",
    "about_actors",
    "topics",
    "communication",
    "readout",
    "in_reply_to",
    "attribution_chain",
];

/// The part an actor plays in a statement, as the `statement_actors` side table records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ActorRole {
    /// `speaker`.
    Speaker,
    /// One of `co_speakers`.
    CoSpeaker,
    /// `on_behalf_of`.
    OnBehalfOf,
    /// One of `addressees`.
    Addressee,
    /// One of `about_actors`.
    About,
    /// `readout.issuer`.
    ReadoutIssuer,
    /// The reporter of a hop of the attribution chain.
    Reporter,
}

impl ActorRole {
    /// The role as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorRole::Speaker => "speaker",
            ActorRole::CoSpeaker => "co_speaker",
            ActorRole::OnBehalfOf => "on_behalf_of",
            ActorRole::Addressee => "addressee",
            ActorRole::About => "about",
            ActorRole::ReadoutIssuer => "readout_issuer",
            ActorRole::Reporter => "reporter",
        }
    }
}

/// The columns and side-table rows a statement is stored with, for filters and constraints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementProjection {
    /// Id of the speaker.
    pub speaker_id: String,
    /// Id of the communication, or empty.
    pub communication_id: String,
    /// Id of the readout's issuer, or empty.
    pub readout_issuer_id: String,
    /// Id of the statement this one answers, or empty.
    pub in_reply_to_id: String,
    /// Speech act number.
    pub speech_act: i32,
    /// Channel number.
    pub channel: i32,
    /// Content mode number.
    pub content_mode: i32,
    /// Bounds of `said`, microseconds.
    pub said: (i64, i64),
    /// Every actor the statement names, with the part it plays.
    pub actors: BTreeSet<(String, ActorRole)>,
    /// The topic ids.
    pub topics: BTreeSet<String>,
    /// Every document the statement names (hops and readout).
    pub documents: BTreeSet<String>,
}

/// What a statement refers to: checked before it is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementReferences {
    /// Actors, checked with one call to the actors service.
    pub actors: Vec<Reference>,
    /// The communication, checked with one call to the communications service.
    pub communications: Vec<Reference>,
    /// Source documents, checked in the write's transaction.
    pub documents: Vec<Reference>,
    /// The statement answered, checked in the write's transaction.
    pub in_reply_to: Option<Reference>,
}

impl StatementReferences {
    /// Keeps only the references made by the top-level fields in `paths` (`*` keeps them all):
    /// an update checks what it changes, not what it leaves alone.
    pub fn restrict_to(&mut self, paths: &[String]) {
        if paths.iter().any(|p| p == "*") {
            return;
        }
        let named = |reference: &Reference| {
            paths
                .iter()
                .any(|path| top_level_field(&reference.field) == path)
        };
        self.actors.retain(named);
        self.communications.retain(named);
        self.documents.retain(named);
        if !self.in_reply_to.as_ref().is_some_and(named) {
            self.in_reply_to = None;
        }
    }
}

/// The top-level field of a statement a field path is in: `attribution_chain` for
/// `statement.attribution_chain[1].reporter`.
pub fn top_level_field(path: &str) -> &str {
    let path = path.strip_prefix("statement.").unwrap_or(path);
    let end = path.find(['.', '[']).unwrap_or(path.len());
    &path[..end]
}

/// A statement that passed validation, with its derived fields filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidStatement {
    /// The statement as it will be stored (without name, times and etag, which the store sets).
    pub statement: Statement,
    /// Its stored columns and side-table rows.
    pub projection: StatementProjection,
    /// What it refers to.
    pub references: StatementReferences,
}

/// A source document that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidDocument {
    /// The document as it will be stored (without name, time and etag).
    pub document: SourceDocument,
    /// Id of the publisher.
    pub publisher_id: String,
    /// The actors it names (publisher, credited actors), checked with one call.
    pub actors: Vec<Reference>,
}

/// Records a violation when `value` is not a known value of `E`, or is 0 while `required`.
pub fn check_enum<E: TryFrom<i32>>(
    violations: &mut Violations,
    field: &str,
    value: i32,
    required: bool,
) {
    if E::try_from(value).is_err() {
        violations.add(field, format!("unknown value {value}"));
    } else if required && value == 0 {
        violations.add(field, "is required");
    }
}

/// Checks an absolute `http://` or `https://` URL of at most [`MAX_URL_CHARS`] characters,
/// with a host and without spaces or control characters.
pub fn check_url(violations: &mut Violations, field: &str, url: &str) {
    let length = url.chars().count();
    if length > MAX_URL_CHARS {
        violations.add(
            field,
            format!("must be at most {MAX_URL_CHARS} characters (got {length})"),
        );
        return;
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    let clean = !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !(host.is_some_and(|h| !h.is_empty()) && clean) {
        violations.add(
            field,
            format!("must be an absolute `https://` or `http://` URL without spaces (got {url:?})"),
        );
    }
}

/// Checks a list of actor names: at most `max`, each `actors/{id}`, none repeated. Records a
/// reference per well-formed name and returns their ids with their indexes in the list.
fn check_actor_list(
    violations: &mut Violations,
    references: &mut Vec<Reference>,
    field: &str,
    names_: &[String],
    max: usize,
) -> Vec<(usize, String)> {
    if names_.len() > max {
        violations.add(
            field,
            format!("must have at most {max} entries (got {})", names_.len()),
        );
        return Vec::new();
    }
    let mut ids = Vec::with_capacity(names_.len());
    for (i, name) in names_.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if let Some(id) = names::check(violations, &at, name, "actors") {
            if names_[..i].contains(name) {
                violations.add(at, format!("repeats {name}"));
                continue;
            }
            references.push(Reference::new(at, name.clone()));
            ids.push((i, id.to_owned()));
        }
    }
    ids
}

/// Checks one actor name, required or not; records its reference and returns its id.
fn check_actor(
    violations: &mut Violations,
    references: &mut Vec<Reference>,
    field: &str,
    name: &str,
    required: bool,
) -> Option<String> {
    let id = if required {
        names::check(violations, field, name, "actors")
    } else {
        names::check_optional(violations, field, name, "actors")
    }?;
    references.push(Reference::new(field, name));
    Some(id.to_owned())
}

/// Checks the quoted spans of a content whose text is `text` and whose mode is `mode`: offsets
/// in Unicode code points, each span non-empty and within the text, sorted by start and not
/// overlapping; at least one for a partial quote, none for a verbatim text. `field` is the path
/// of the content.
pub fn check_quoted_spans(
    violations: &mut Violations,
    field: &str,
    text: &str,
    mode: i32,
    spans: &[QuotedSpan],
) {
    let list = format!("{field}.quoted_spans");
    match ContentMode::try_from(mode) {
        Ok(ContentMode::Verbatim) if !spans.is_empty() => {
            violations.add(
                list,
                "must be empty for CONTENT_MODE_VERBATIM, where the whole text is quoted",
            );
            return;
        }
        Ok(ContentMode::PartialQuote) if spans.is_empty() => {
            violations.add(
                list,
                "needs at least one span for CONTENT_MODE_PARTIAL_QUOTE: mark the speaker's own words",
            );
            return;
        }
        _ => {}
    }
    if spans.len() > MAX_QUOTED_SPANS {
        violations.add(
            list,
            format!(
                "must have at most {MAX_QUOTED_SPANS} entries (got {})",
                spans.len()
            ),
        );
        return;
    }
    let length = text.chars().count();
    for (i, span) in spans.iter().enumerate() {
        let start_field = format!("{list}[{i}].start");
        let end_field = format!("{list}[{i}].end");
        if span.start < 0 {
            violations.add(
                &start_field,
                format!("must be at least 0 (got {})", span.start),
            );
        } else if let Some(previous) = i.checked_sub(1).map(|p| &spans[p]) {
            if span.start < previous.start {
                violations.add(
                    &start_field,
                    format!(
                        "must not be less than the start of quoted_spans[{}] ({}): spans are sorted by start",
                        i - 1,
                        previous.start
                    ),
                );
            } else if span.start < previous.end {
                violations.add(
                    &start_field,
                    format!(
                        "must not be less than the end of quoted_spans[{}] ({}): spans must not overlap",
                        i - 1,
                        previous.end
                    ),
                );
            }
        }
        if span.end <= span.start {
            violations.add(
                &end_field,
                format!(
                    "must be greater than start (got end {} and start {})",
                    span.end, span.start
                ),
            );
        } else if usize::try_from(span.end).is_ok_and(|end| end > length) {
            violations.add(
                &end_field,
                format!(
                    "must be at most the length of the text, {length} code points (got {})",
                    span.end
                ),
            );
        }
    }
}

fn check_content(violations: &mut Violations, field: &str, content: &Content) {
    let at = |name: &str| format!("{field}.{name}");
    check_required(violations, &at("text"), &content.text, MAX_TEXT_CHARS);
    if content.language_code.is_empty() {
        violations.add(at("language_code"), "is required, such as `en`");
    } else {
        text::check_language_code(violations, &at("language_code"), &content.language_code);
    }
    check_enum::<ContentMode>(violations, &at("mode"), content.mode, true);
    check_quoted_spans(
        violations,
        field,
        &content.text,
        content.mode,
        &content.quoted_spans,
    );
    check_optional(
        violations,
        &at("original_text"),
        &content.original_text,
        MAX_TEXT_CHARS,
    );
    if !content.original_language_code.is_empty() {
        text::check_language_code(
            violations,
            &at("original_language_code"),
            &content.original_language_code,
        );
    } else if !content.original_text.is_empty() {
        violations.add(
            at("original_language_code"),
            "is required with original_text, such as `fr`",
        );
    }
}

fn check_topics(violations: &mut Violations, field: &str, topics: &[Topic]) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    if topics.len() > MAX_TOPICS {
        violations.add(
            field,
            format!(
                "must have at most {MAX_TOPICS} entries (got {})",
                topics.len()
            ),
        );
        return ids;
    }
    for (i, topic) in topics.iter().enumerate() {
        let at = format!("{field}[{i}].id");
        if topic.id.is_empty() {
            violations.add(at, "is required, such as `mariupol-evacuation`");
        } else if !names::is_valid_id(&topic.id) {
            violations.add(
                at,
                format!(
                    "must be 1 to 63 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (got {:?})",
                    topic.id
                ),
            );
        } else if !ids.insert(topic.id.clone()) {
            violations.add(at, format!("repeats topic {:?}", topic.id));
        }
        check_optional(
            violations,
            &format!("{field}[{i}].label"),
            &topic.label,
            MAX_TOPIC_LABEL_CHARS,
        );
    }
    ids
}

fn check_readout(
    violations: &mut Violations,
    references: &mut StatementReferences,
    projection: &mut StatementProjection,
    field: &str,
    readout: &Readout,
    has_communication: bool,
) {
    if !has_communication {
        violations.add(
            field,
            "requires `communication`: a readout is the account of one communication",
        );
    }
    let issuer = format!("{field}.issuer");
    if let Some(id) = check_actor(
        violations,
        &mut references.actors,
        &issuer,
        &readout.issuer,
        true,
    ) {
        projection.readout_issuer_id.clone_from(&id);
        projection.actors.insert((id, ActorRole::ReadoutIssuer));
    }
    let document = format!("{field}.document");
    if let Some(id) = names::check_optional(violations, &document, &readout.document, "documents") {
        projection.documents.insert(id.to_owned());
        references
            .documents
            .push(Reference::new(document, readout.document.clone()));
    }
}

fn check_chain(
    violations: &mut Violations,
    references: &mut StatementReferences,
    projection: &mut StatementProjection,
    field: &str,
    chain: &[AttributionHop],
) -> Vec<AttributionHop> {
    if chain.is_empty() {
        violations.add(
            field,
            "needs at least one hop: the document we hold, at position 0",
        );
        return Vec::new();
    }
    if chain.len() > MAX_HOPS {
        violations.add(
            field,
            format!("must have at most {MAX_HOPS} hops (got {})", chain.len()),
        );
        return Vec::new();
    }
    let mut hops = Vec::with_capacity(chain.len());
    for (i, hop) in chain.iter().enumerate() {
        let at = |name: &str| format!("{field}[{i}].{name}");
        if let Some(id) = check_actor(
            violations,
            &mut references.actors,
            &at("reporter"),
            &hop.reporter,
            true,
        ) {
            projection.actors.insert((id, ActorRole::Reporter));
        }
        check_enum::<HopRelation>(violations, &at("relation"), hop.relation, true);
        check_optional(violations, &at("cue"), &hop.cue, MAX_CUE_CHARS);
        let document = if i == 0 && hop.document.is_empty() {
            violations.add(
                at("document"),
                "is required on hop 0: the document we hold, `documents/{document_id}`",
            );
            None
        } else {
            names::check_optional(violations, &at("document"), &hop.document, "documents")
        };
        if let Some(id) = document {
            projection.documents.insert(id.to_owned());
            references
                .documents
                .push(Reference::new(at("document"), hop.document.clone()));
        }
        hops.push(AttributionHop {
            position: i32::try_from(i).unwrap_or(i32::MAX),
            ..hop.clone()
        });
    }
    hops
}

/// Validates a statement's own fields (not whether what it names exists), normalizes its date,
/// numbers its hops, and lists its references and stored projections. `id` is the statement's
/// own id, which `in_reply_to` must not name. Every problem is recorded under its path below
/// `statement`; the result is `None` only when a problem was recorded.
pub fn validate_statement(
    violations: &mut Violations,
    statement: &Statement,
    id: &str,
) -> Option<ValidStatement> {
    const FIELD: &str = "statement";
    let at = |name: &str| format!("{FIELD}.{name}");
    let before = violations.iter().count();
    let mut references = StatementReferences::default();
    let mut projection = StatementProjection::default();

    if let Some(speaker) = check_actor(
        violations,
        &mut references.actors,
        &at("speaker"),
        &statement.speaker,
        true,
    ) {
        projection.speaker_id.clone_from(&speaker);
        projection.actors.insert((speaker, ActorRole::Speaker));
    }
    for (i, co_speaker) in check_actor_list(
        violations,
        &mut references.actors,
        &at("co_speakers"),
        &statement.co_speakers,
        MAX_CO_SPEAKERS,
    ) {
        if co_speaker == projection.speaker_id {
            violations.add(
                format!("{FIELD}.co_speakers[{i}]"),
                "must not be the speaker",
            );
        }
        projection.actors.insert((co_speaker, ActorRole::CoSpeaker));
    }
    if let Some(id) = check_actor(
        violations,
        &mut references.actors,
        &at("on_behalf_of"),
        &statement.on_behalf_of,
        false,
    ) {
        projection.actors.insert((id, ActorRole::OnBehalfOf));
    }
    for (_, addressee) in check_actor_list(
        violations,
        &mut references.actors,
        &at("addressees"),
        &statement.addressees,
        MAX_ADDRESSEES,
    ) {
        projection.actors.insert((addressee, ActorRole::Addressee));
    }

    match &statement.content {
        Some(content) => {
            check_content(violations, &at("content"), content);
            projection.content_mode = content.mode;
        }
        None => violations.add(
            at("content"),
            "is required: what was said, its language and its mode",
        ),
    }
    check_enum::<SpeechAct>(violations, &at("speech_act"), statement.speech_act, true);
    check_enum::<Channel>(violations, &at("channel"), statement.channel, false);
    projection.speech_act = statement.speech_act;
    projection.channel = statement.channel;

    let said = match &statement.said {
        Some(said) => fuzzy_date::normalize(violations, &at("said"), said),
        None => {
            violations.add(
                at("said"),
                "is required: when it was said, such as `2022-03`",
            );
            None
        }
    };
    if let Some(said) = &said {
        projection.said = fuzzy_date::bounds_of(said);
    }

    for (_, about) in check_actor_list(
        violations,
        &mut references.actors,
        &at("about_actors"),
        &statement.about_actors,
        MAX_ABOUT_ACTORS,
    ) {
        projection.actors.insert((about, ActorRole::About));
    }
    projection.topics = check_topics(violations, &at("topics"), &statement.topics);

    if let Some(communication) = names::check_optional(
        violations,
        &at("communication"),
        &statement.communication,
        "communications",
    ) {
        projection.communication_id = communication.to_owned();
        references.communications.push(Reference::new(
            at("communication"),
            statement.communication.clone(),
        ));
    }
    if let Some(readout) = &statement.readout {
        check_readout(
            violations,
            &mut references,
            &mut projection,
            &at("readout"),
            readout,
            !statement.communication.is_empty(),
        );
    }
    if let Some(answered) = names::check_optional(
        violations,
        &at("in_reply_to"),
        &statement.in_reply_to,
        "statements",
    ) {
        if answered == id {
            violations.add(at("in_reply_to"), "must not be the statement itself");
        } else {
            projection.in_reply_to_id = answered.to_owned();
            references.in_reply_to = Some(Reference::new(
                at("in_reply_to"),
                statement.in_reply_to.clone(),
            ));
        }
    }
    let attribution_chain = check_chain(
        violations,
        &mut references,
        &mut projection,
        &at("attribution_chain"),
        &statement.attribution_chain,
    );

    if violations.iter().count() > before {
        return None;
    }
    Some(ValidStatement {
        statement: Statement {
            name: String::new(),
            said,
            attribution_chain,
            create_time: None,
            update_time: None,
            etag: String::new(),
            ..statement.clone()
        },
        projection,
        references,
    })
}

/// Copies the fields named by `paths` from `patch` onto `current` (`*` copies them all).
pub fn apply_statement_mask(current: &mut Statement, patch: &Statement, paths: &[String]) {
    let all = paths.iter().any(|p| p == "*");
    let wants = |field: &str| all || paths.iter().any(|p| p == field);
    if wants("speaker") {
        current.speaker.clone_from(&patch.speaker);
    }
    if wants("co_speakers") {
        current.co_speakers.clone_from(&patch.co_speakers);
    }
    if wants("on_behalf_of") {
        current.on_behalf_of.clone_from(&patch.on_behalf_of);
    }
    if wants("addressees") {
        current.addressees.clone_from(&patch.addressees);
    }
    if wants("content") {
        current.content.clone_from(&patch.content);
    }
    if wants("speech_act") {
        current.speech_act = patch.speech_act;
    }
    if wants("channel") {
        current.channel = patch.channel;
    }
    if wants("said") {
        current.said.clone_from(&patch.said);
    }
    if wants("about_actors") {
        current.about_actors.clone_from(&patch.about_actors);
    }
    if wants("topics") {
        current.topics.clone_from(&patch.topics);
    }
    if wants("communication") {
        current.communication.clone_from(&patch.communication);
    }
    if wants("readout") {
        current.readout.clone_from(&patch.readout);
    }
    if wants("in_reply_to") {
        current.in_reply_to.clone_from(&patch.in_reply_to);
    }
    if wants("attribution_chain") {
        current
            .attribution_chain
            .clone_from(&patch.attribution_chain);
    }
}

/// The mask implied by an update without one (AIP-134): every field the patch sets.
pub fn implied_statement_mask(patch: &Statement) -> Vec<String> {
    let set = [
        ("speaker", !patch.speaker.is_empty()),
        ("co_speakers", !patch.co_speakers.is_empty()),
        ("on_behalf_of", !patch.on_behalf_of.is_empty()),
        ("addressees", !patch.addressees.is_empty()),
        ("content", patch.content.is_some()),
        ("speech_act", patch.speech_act != 0),
        ("channel", patch.channel != 0),
        ("said", patch.said.is_some()),
        ("about_actors", !patch.about_actors.is_empty()),
        ("topics", !patch.topics.is_empty()),
        ("communication", !patch.communication.is_empty()),
        ("readout", patch.readout.is_some()),
        ("in_reply_to", !patch.in_reply_to.is_empty()),
        ("attribution_chain", !patch.attribution_chain.is_empty()),
    ];
    set.iter()
        .filter(|(_, is_set)| *is_set)
        .map(|(path, _)| (*path).to_owned())
        .collect()
}

/// Checks an update mask's paths; records a violation per unknown path.
pub fn check_mask_paths(violations: &mut Violations, paths: &[String]) {
    if paths.is_empty() {
        violations.add("update_mask.paths", "must name at least one field, or `*`");
    }
    for (i, path) in paths.iter().enumerate() {
        if path != "*" && !STATEMENT_MASK_PATHS.contains(&path.as_str()) {
            violations.add(
                format!("update_mask.paths[{i}]"),
                format!(
                    "{path:?} is not an updatable field; use one of {}, or `*`",
                    STATEMENT_MASK_PATHS.join(", ")
                ),
            );
        }
    }
}

fn check_media_asset(
    violations: &mut Violations,
    actors: &mut Vec<Reference>,
    field: &str,
    asset: &MediaAsset,
) {
    let at = |name: &str| format!("{field}.{name}");
    check_enum::<MediaKind>(violations, &at("kind"), asset.kind, true);
    if !asset.url.is_empty() {
        check_url(violations, &at("url"), &asset.url);
    }
    check_optional(violations, &at("credit"), &asset.credit, MAX_CREDIT_CHARS);
    // The credited actor must exist, but it is a credit only: nothing makes it a source of the
    // document's statements.
    check_actor(
        violations,
        actors,
        &at("credit_actor"),
        &asset.credit_actor,
        false,
    );
    check_optional(
        violations,
        &at("caption"),
        &asset.caption,
        MAX_CAPTION_CHARS,
    );
}

/// Validates a source document's own fields (not whether the actors it names exist) and
/// normalizes its date. Problems are recorded under `source_document`; the result is `None`
/// only when a problem was recorded.
pub fn validate_document(
    violations: &mut Violations,
    document: &SourceDocument,
) -> Option<ValidDocument> {
    const FIELD: &str = "source_document";
    let at = |name: &str| format!("{FIELD}.{name}");
    let before = violations.iter().count();
    let mut actors = Vec::new();

    if document.url.is_empty() && document.title.trim().is_empty() {
        violations.add(
            at("url"),
            "at least one of `url` and `title` is required, to say which document it is",
        );
    } else if !document.url.is_empty() {
        check_url(violations, &at("url"), &document.url);
    }
    let publisher_id = check_actor(
        violations,
        &mut actors,
        &at("publisher"),
        &document.publisher,
        true,
    );
    check_optional(violations, &at("title"), &document.title, MAX_TITLE_CHARS);
    let published = document
        .published
        .as_ref()
        .map(|date| fuzzy_date::normalize(violations, &at("published"), date));
    if !document.language_code.is_empty() {
        text::check_language_code(violations, &at("language_code"), &document.language_code);
    }
    if document.authors.len() > MAX_AUTHORS {
        violations.add(
            at("authors"),
            format!(
                "must have at most {MAX_AUTHORS} entries (got {})",
                document.authors.len()
            ),
        );
    } else {
        for (i, author) in document.authors.iter().enumerate() {
            check_required(
                violations,
                &at(&format!("authors[{i}]")),
                author,
                MAX_AUTHOR_CHARS,
            );
        }
    }
    if document.media_assets.len() > MAX_MEDIA_ASSETS {
        violations.add(
            at("media_assets"),
            format!(
                "must have at most {MAX_MEDIA_ASSETS} entries (got {})",
                document.media_assets.len()
            ),
        );
    } else {
        for (i, asset) in document.media_assets.iter().enumerate() {
            check_media_asset(
                violations,
                &mut actors,
                &at(&format!("media_assets[{i}]")),
                asset,
            );
        }
    }

    if violations.iter().count() > before {
        return None;
    }
    Some(ValidDocument {
        document: SourceDocument {
            name: String::new(),
            published: published.flatten(),
            create_time: None,
            etag: String::new(),
            ..document.clone()
        },
        publisher_id: publisher_id.unwrap_or_default(),
        actors,
    })
}

/// Validates the two date filters of a listing: each a valid fuzzy date, `date_to` not ending
/// before `date_from` begins. Returns the earliest bound of `date_from` and the latest bound of
/// `date_to`, when given.
pub fn check_date_range(
    violations: &mut Violations,
    date_from: Option<&FuzzyDate>,
    date_to: Option<&FuzzyDate>,
) -> (Option<i64>, Option<i64>) {
    let from = date_from
        .and_then(|d| fuzzy_date::normalize(violations, "date_from", d))
        .map(|d| fuzzy_date::bounds_of(&d));
    let to = date_to
        .and_then(|d| fuzzy_date::normalize(violations, "date_to", d))
        .map(|d| fuzzy_date::bounds_of(&d));
    if let (Some(from), Some(to)) = (from, to)
        && to.1 < from.0
    {
        violations.add("date_to", "must not end before date_from begins");
    }
    (from.map(|b| b.0), to.map(|b| b.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(violations: &Violations) -> Vec<String> {
        violations.iter().map(|v| v.field.clone()).collect()
    }

    fn span(start: i32, end: i32) -> QuotedSpan {
        QuotedSpan { start, end }
    }

    fn hop(reporter: &str, relation: HopRelation, document: &str) -> AttributionHop {
        AttributionHop {
            position: 0,
            reporter: reporter.into(),
            relation: relation as i32,
            cue: String::new(),
            document: document.into(),
            ..Default::default()
        }
    }

    /// Legendre's confirmation of the planned call, as TASS reported it citing BFM TV.
    fn legendre() -> Statement {
        Statement {
            speaker: "actors/anne-claire-legendre".into(),
            on_behalf_of: "actors/french-foreign-ministry".into(),
            content: Some(Content {
                text: "France seeks to keep the channel for dialogue open".into(),
                language_code: "en".into(),
                mode: ContentMode::PartialQuote as i32,
                quoted_spans: vec![span(25, 50)],
                original_text: String::new(),
                original_language_code: String::new(),
                ..Default::default()
            }),
            speech_act: SpeechAct::Confirmation as i32,
            channel: Channel::Interview as i32,
            said: Some(FuzzyDate {
                edtf: "2022-03-26".into(),
                ..Default::default()
            }),
            about_actors: vec!["actors/vladimir-putin".into()],
            topics: vec![Topic {
                id: "dialogue-with-russia".into(),
                label: "Keeping a channel open to Moscow".into(),
            }],
            communication: "communications/macron-putin-2022-03-29".into(),
            attribution_chain: vec![
                hop(
                    "actors/republic-world",
                    HopRelation::Reported,
                    "documents/seed",
                ),
                hop("actors/tass", HopRelation::Citing, ""),
                hop("actors/bfm-tv", HopRelation::Told, ""),
            ],
            ..Default::default()
        }
    }

    fn spans_violations(text: &str, mode: ContentMode, spans: &[QuotedSpan]) -> Vec<String> {
        let mut violations = Violations::default();
        check_quoted_spans(&mut violations, "c", text, mode as i32, spans);
        fields(&violations)
    }

    #[test]
    fn a_valid_statement_passes_with_hops_numbered_and_its_references_listed() {
        let mut statement = legendre();
        statement.attribution_chain[2].position = 7;
        statement.etag = "client-sent".into();
        let mut violations = Violations::default();
        let valid = validate_statement(&mut violations, &statement, "legendre-confirms").unwrap();
        assert!(violations.is_empty(), "{violations}");
        let positions: Vec<i32> = valid
            .statement
            .attribution_chain
            .iter()
            .map(|h| h.position)
            .collect();
        assert_eq!(positions, [0, 1, 2]);
        assert_eq!(valid.statement.etag, "");
        let said = valid.statement.said.as_ref().unwrap();
        assert!(said.earliest.is_some() && said.latest.is_some());
        assert_eq!(valid.projection.said, fuzzy_date::bounds_of(said));

        let actor_fields: Vec<&str> = valid
            .references
            .actors
            .iter()
            .map(|r| r.field.as_str())
            .collect();
        assert_eq!(
            actor_fields,
            [
                "statement.speaker",
                "statement.on_behalf_of",
                "statement.about_actors[0]",
                "statement.attribution_chain[0].reporter",
                "statement.attribution_chain[1].reporter",
                "statement.attribution_chain[2].reporter",
            ]
        );
        assert_eq!(
            valid.references.communications,
            [Reference::new(
                "statement.communication",
                "communications/macron-putin-2022-03-29"
            )]
        );
        assert_eq!(
            valid.references.documents,
            [Reference::new(
                "statement.attribution_chain[0].document",
                "documents/seed"
            )]
        );
        assert_eq!(valid.projection.speaker_id, "anne-claire-legendre");
        assert_eq!(valid.projection.communication_id, "macron-putin-2022-03-29");
        assert!(
            valid
                .projection
                .actors
                .contains(&("tass".to_owned(), ActorRole::Reporter))
        );
        assert_eq!(
            valid.projection.topics,
            BTreeSet::from(["dialogue-with-russia".to_owned()])
        );
    }

    #[test]
    fn an_empty_statement_names_each_required_field() {
        let mut violations = Violations::default();
        assert!(validate_statement(&mut violations, &Statement::default(), "s").is_none());
        assert_eq!(
            fields(&violations),
            [
                "statement.speaker",
                "statement.content",
                "statement.speech_act",
                "statement.said",
                "statement.attribution_chain",
            ]
        );
    }

    #[test]
    fn every_wrong_field_is_reported_with_its_path() {
        let statement = Statement {
            speaker: "people/legendre".into(),
            co_speakers: vec!["actors/olaf-scholz".into(), "actors/olaf-scholz".into()],
            addressees: vec!["actors/Bad".into()],
            content: Some(Content {
                text: String::new(),
                language_code: "english!".into(),
                mode: 0,
                quoted_spans: vec![],
                original_text: "Texte".into(),
                original_language_code: String::new(),
                ..Default::default()
            }),
            speech_act: 99,
            channel: 42,
            said: Some(FuzzyDate {
                edtf: "March".into(),
                ..Default::default()
            }),
            topics: vec![
                Topic {
                    id: "Mariupol".into(),
                    label: String::new(),
                },
                Topic {
                    id: "ceasefire".into(),
                    label: "x".repeat(201),
                },
                Topic {
                    id: "ceasefire".into(),
                    label: String::new(),
                },
            ],
            communication: "calls/x".into(),
            readout: Some(Readout {
                issuer: String::new(),
                document: "docs/x".into(),
            }),
            in_reply_to: "statements/s".into(),
            attribution_chain: vec![
                hop("actors/republic-world", HopRelation::Reported, ""),
                AttributionHop {
                    cue: "y".repeat(201),
                    ..hop("", HopRelation::Unspecified, "documents/")
                },
            ],
            ..Default::default()
        };
        let mut violations = Violations::default();
        assert!(validate_statement(&mut violations, &statement, "s").is_none());
        assert_eq!(
            fields(&violations),
            [
                "statement.speaker",
                "statement.co_speakers[1]",
                "statement.addressees[0]",
                "statement.content.text",
                "statement.content.language_code",
                "statement.content.mode",
                "statement.content.original_language_code",
                "statement.speech_act",
                "statement.channel",
                "statement.said.edtf",
                "statement.topics[0].id",
                "statement.topics[1].label",
                "statement.topics[2].id",
                "statement.communication",
                "statement.readout.issuer",
                "statement.readout.document",
                "statement.in_reply_to",
                "statement.attribution_chain[0].document",
                "statement.attribution_chain[1].reporter",
                "statement.attribution_chain[1].relation",
                "statement.attribution_chain[1].cue",
                "statement.attribution_chain[1].document",
            ]
        );
    }

    #[test]
    fn a_readout_needs_a_communication_and_a_co_speaker_is_not_the_speaker() {
        let statement = Statement {
            co_speakers: vec!["actors/anne-claire-legendre".into()],
            communication: String::new(),
            readout: Some(Readout {
                issuer: "actors/kremlin-press-service".into(),
                document: String::new(),
            }),
            ..legendre()
        };
        let mut violations = Violations::default();
        validate_statement(&mut violations, &statement, "s");
        assert_eq!(
            fields(&violations),
            ["statement.co_speakers[0]", "statement.readout"]
        );
    }

    #[test]
    fn chains_have_one_to_twenty_hops_and_a_document_at_hop_zero() {
        let mut violations = Violations::default();
        let statement = Statement {
            attribution_chain: vec![hop("actors/tass", HopRelation::Reported, "documents/d"); 21],
            ..legendre()
        };
        validate_statement(&mut violations, &statement, "s");
        assert_eq!(fields(&violations), ["statement.attribution_chain"]);

        let mut violations = Violations::default();
        let statement = Statement {
            attribution_chain: vec![hop("actors/tass", HopRelation::Reported, "documents/d"); 20],
            ..legendre()
        };
        let valid = validate_statement(&mut violations, &statement, "s").unwrap();
        assert_eq!(valid.statement.attribution_chain[19].position, 19);
        assert_eq!(valid.projection.documents.len(), 1);
        assert_eq!(valid.references.documents.len(), 20);
    }

    #[test]
    fn a_statement_cannot_answer_itself() {
        let mut violations = Violations::default();
        let statement = Statement {
            in_reply_to: "statements/s".into(),
            ..legendre()
        };
        assert!(validate_statement(&mut violations, &statement, "s").is_none());
        assert_eq!(fields(&violations), ["statement.in_reply_to"]);
        let mut violations = Violations::default();
        let valid = validate_statement(&mut violations, &statement, "other").unwrap();
        assert_eq!(valid.projection.in_reply_to_id, "s");
    }

    #[test]
    fn span_offsets_count_code_points_not_bytes() {
        // "Élysée" is 6 code points but 8 UTF-8 bytes.
        let text = "Élysée";
        assert_eq!(text.len(), 8);
        assert!(spans_violations(text, ContentMode::PartialQuote, &[span(0, 6)]).is_empty());
        assert_eq!(
            spans_violations(text, ContentMode::PartialQuote, &[span(0, 7)]),
            ["c.quoted_spans[0].end"]
        );
        let text = "the Élysée said «no»";
        assert_eq!(text.chars().count(), 20);
        assert!(
            spans_violations(
                text,
                ContentMode::PartialQuote,
                &[span(4, 10), span(16, 20)]
            )
            .is_empty()
        );
    }

    #[test]
    fn spans_are_within_the_text_sorted_and_disjoint() {
        let text = "0123456789";
        let mode = ContentMode::Paraphrase;
        assert!(spans_violations(text, mode, &[]).is_empty());
        assert!(spans_violations(text, mode, &[span(0, 3), span(3, 10)]).is_empty());
        assert_eq!(
            spans_violations(text, mode, &[span(-1, 2)]),
            ["c.quoted_spans[0].start"]
        );
        assert_eq!(
            spans_violations(text, mode, &[span(4, 4)]),
            ["c.quoted_spans[0].end"]
        );
        assert_eq!(
            spans_violations(text, mode, &[span(0, 5), span(4, 8)]),
            ["c.quoted_spans[1].start"]
        );
        assert_eq!(
            spans_violations(text, mode, &[span(5, 8), span(1, 3)]),
            ["c.quoted_spans[1].start"]
        );
        assert_eq!(
            spans_violations(text, mode, &[span(0, 2), span(3, 11)]),
            ["c.quoted_spans[1].end"]
        );
        let many: Vec<QuotedSpan> = (0..51).map(|i| span(i, i + 1)).collect();
        assert_eq!(
            spans_violations(&"x".repeat(60), mode, &many),
            ["c.quoted_spans"]
        );
    }

    #[test]
    fn partial_quotes_need_spans_and_verbatim_texts_have_none() {
        assert_eq!(
            spans_violations("abc", ContentMode::PartialQuote, &[]),
            ["c.quoted_spans"]
        );
        assert_eq!(
            spans_violations("abc", ContentMode::Verbatim, &[span(0, 1)]),
            ["c.quoted_spans"]
        );
        assert!(spans_violations("abc", ContentMode::Verbatim, &[]).is_empty());
        assert!(spans_violations("abc", ContentMode::Summary, &[span(0, 3)]).is_empty());
    }

    #[test]
    fn masks_copy_only_named_fields_and_restrict_the_references_checked() {
        let mut current = legendre();
        let patch = Statement {
            channel: Channel::PressBriefing as i32,
            speaker: String::new(),
            ..Default::default()
        };
        apply_statement_mask(&mut current, &patch, &["channel".to_owned()]);
        assert_eq!(current.channel, Channel::PressBriefing as i32);
        assert_eq!(current.speaker, "actors/anne-claire-legendre");
        assert_eq!(implied_statement_mask(&patch), ["channel"]);

        let mut violations = Violations::default();
        let valid = validate_statement(&mut violations, &current, "s").unwrap();
        let mut references = valid.references.clone();
        references.restrict_to(&["channel".to_owned()]);
        assert_eq!(references, StatementReferences::default());
        let mut references = valid.references.clone();
        references.restrict_to(&["attribution_chain".to_owned()]);
        assert_eq!(references.actors.len(), 3);
        assert_eq!(references.documents.len(), 1);
        assert!(references.communications.is_empty());
        let mut references = valid.references.clone();
        references.restrict_to(&["*".to_owned()]);
        assert_eq!(references, valid.references);

        let mut violations = Violations::default();
        check_mask_paths(&mut violations, &["channel".into(), "name".into()]);
        assert_eq!(fields(&violations), ["update_mask.paths[1]"]);
    }

    #[test]
    fn documents_need_a_publisher_and_a_url_or_a_title() {
        let mut violations = Violations::default();
        assert!(validate_document(&mut violations, &SourceDocument::default()).is_none());
        assert_eq!(
            fields(&violations),
            ["source_document.url", "source_document.publisher"]
        );

        let document = SourceDocument {
            url: "ftp://example.org/x".into(),
            publisher: "actors/republic-world".into(),
            title: "t".repeat(501),
            published: Some(FuzzyDate {
                edtf: "2022-13".into(),
                ..Default::default()
            }),
            language_code: "e".into(),
            authors: vec!["Ann".into(), " ".into()],
            media_assets: vec![MediaAsset {
                kind: 0,
                url: "https://".into(),
                credit: "c".repeat(201),
                credit_actor: "actors/".into(),
                caption: String::new(),
            }],
            ..Default::default()
        };
        let mut violations = Violations::default();
        validate_document(&mut violations, &document);
        assert_eq!(
            fields(&violations),
            [
                "source_document.url",
                "source_document.title",
                "source_document.published.edtf",
                "source_document.language_code",
                "source_document.authors[1]",
                "source_document.media_assets[0].kind",
                "source_document.media_assets[0].url",
                "source_document.media_assets[0].credit",
                "source_document.media_assets[0].credit_actor",
            ]
        );
    }

    #[test]
    fn an_image_credit_is_checked_but_is_no_source() {
        let document = SourceDocument {
            url: "https://www.republicworld.com/world-news/macron-putin".into(),
            publisher: "actors/republic-world".into(),
            media_assets: vec![MediaAsset {
                kind: MediaKind::Image as i32,
                url: String::new(),
                credit: "Image: AP".into(),
                credit_actor: "actors/associated-press".into(),
                caption: "Macron".into(),
            }],
            ..Default::default()
        };
        let mut violations = Violations::default();
        let valid = validate_document(&mut violations, &document).unwrap();
        assert!(violations.is_empty(), "{violations}");
        assert_eq!(valid.publisher_id, "republic-world");
        assert_eq!(
            valid.actors,
            [
                Reference::new("source_document.publisher", "actors/republic-world"),
                Reference::new(
                    "source_document.media_assets[0].credit_actor",
                    "actors/associated-press"
                ),
            ]
        );
    }

    #[test]
    fn urls_are_absolute_http_without_spaces() {
        let mut violations = Violations::default();
        for good in [
            "https://tass.com/politics/1428561",
            "http://example.org",
            "https://ru.wikipedia.org/wiki/Макрон",
        ] {
            check_url(&mut violations, "u", good);
        }
        assert!(violations.is_empty(), "{violations}");
        for bad in [
            "tass.com/x",
            "https:///x",
            "https://a b.com",
            "javascript:alert(1)",
        ] {
            check_url(&mut violations, "u", bad);
        }
        check_url(
            &mut violations,
            "u",
            &format!("https://x.org/{}", "a".repeat(2040)),
        );
        assert_eq!(violations.iter().count(), 5);
    }

    #[test]
    fn date_ranges_must_not_end_before_they_begin() {
        let date = |edtf: &str| FuzzyDate {
            edtf: edtf.into(),
            ..Default::default()
        };
        let mut violations = Violations::default();
        let (from, to) = check_date_range(
            &mut violations,
            Some(&date("2022-03")),
            Some(&date("2022-03")),
        );
        assert!(violations.is_empty());
        assert!(from.unwrap() < to.unwrap());
        check_date_range(
            &mut violations,
            Some(&date("2022-04")),
            Some(&date("2022-03")),
        );
        assert_eq!(fields(&violations), ["date_to"]);
        assert_eq!(
            top_level_field("statement.attribution_chain[1].reporter"),
            "attribution_chain"
        );
        assert_eq!(top_level_field("statement.readout.issuer"), "readout");
    }
}
