//! The rules of statements and source documents. The generated protobuf messages are the
//! resource types; this module decides what a valid one is (every field that can be wrong is
//! checked and each problem reported under its full path), derives what the server computes
//! (normalized dates, hop positions) and lists the references a write makes, so the handlers
//! can check them: actors and communications with one call to their services, documents and
//! statements in the write's own transaction. It does no I/O.
//!
//! [`requests`] holds the validators of the service's requests (`read_list_statements`,
//! `validate_create_statement`, `read_update_source_document`, …), re-exported here.

use std::collections::BTreeSet;

use chancery_proto::common::v1::FuzzyDate;
use chancery_proto::statements::v1::{
    AttributionHop, Channel, Content, ContentMode, DocumentPlacement, DocumentSection, HopRelation,
    MediaAsset, MediaKind, QuotedSpan, Readout, RelayedSpeech, SourceDocument, SpeechAct,
    Statement, Topic,
};
use chancery_runtime::backends::Reference;
use chancery_runtime::errors::Violations;
use chancery_runtime::fuzzy_date;
use chancery_runtime::names;
use chancery_runtime::text::{self, check_optional, check_required};

pub use crate::checks::check_enum;

pub mod requests;
pub use requests::*;

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
/// Deepest nesting of relayed speech: `statement.relayed` is level 1.
pub const MAX_RELAYED_DEPTH: usize = 5;
/// Most relayed speeches of a statement, counted at every level.
pub const MAX_RELAYED: usize = 20;
/// Most speakers of one relayed speech.
pub const MAX_RELAYED_SPEAKERS: usize = 20;
/// Largest placement ordinal.
pub const MAX_PLACEMENT_ORDINAL: i32 = 100_000;
/// Most statements one statement names as reporting the same utterance.
pub const MAX_SAME_UTTERANCE: usize = 20;
/// Most related communications of a statement, beyond `communication`.
pub const MAX_RELATED_COMMUNICATIONS: usize = 50;
/// Longest unnamed source of a hop.
pub const MAX_UNNAMED_SOURCE_CHARS: usize = 200;
/// Most author actors of a document.
pub const MAX_AUTHOR_ACTORS: usize = 20;

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
    "relayed",
    "placement",
    "same_utterance_as",
    "related_communications",
];

/// The fields of a source document an update mask may name.
pub const DOCUMENT_MASK_PATHS: &[&str] = &[
    "url",
    "publisher",
    "title",
    "published",
    "language_code",
    "authors",
    "author_actors",
    "media_assets",
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
    /// A speaker of relayed speech, at any level: never a speaker of the statement itself.
    RelayedSpeaker,
    /// An addressee of relayed speech, at any level.
    RelayedAddressee,
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
            ActorRole::RelayedSpeaker => "relayed_speaker",
            ActorRole::RelayedAddressee => "relayed_addressee",
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
    /// Ids of the communications of `related_communications` (not `communication`).
    pub related_communications: BTreeSet<String>,
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
    /// The statements reporting the same utterance, checked in the write's transaction.
    pub same_utterance_as: Vec<Reference>,
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
        self.same_utterance_as.retain(named);
        if !self.in_reply_to.as_ref().is_some_and(named) {
            self.in_reply_to = None;
        }
    }
}

/// The top-level field of a statement (or a source document) a field path is in:
/// `attribution_chain` for `statement.attribution_chain[1].reporter`, `media_assets` for
/// `source_document.media_assets[0].credit_actor`.
pub fn top_level_field(path: &str) -> &str {
    let path = path
        .strip_prefix("statement.")
        .or_else(|| path.strip_prefix("source_document."))
        .unwrap_or(path);
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
    check_spans(violations, field, "quoted_spans", text, spans);
}

/// Checks the attributed spans of a content whose text is `text`: the same rules as quoted
/// spans (code point offsets, non-empty, within the text, sorted, disjoint, at most
/// [`MAX_QUOTED_SPANS`]), in every mode. `field` is the path of the content.
pub fn check_attributed_spans(
    violations: &mut Violations,
    field: &str,
    text: &str,
    spans: &[QuotedSpan],
) {
    check_spans(violations, field, "attributed_spans", text, spans);
}

/// The rules every list of spans of `text` follows, the list being `{field}.{name}`.
fn check_spans(
    violations: &mut Violations,
    field: &str,
    name: &str,
    text: &str,
    spans: &[QuotedSpan],
) {
    let list = format!("{field}.{name}");
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
                        "must not be less than the start of {name}[{}] ({}): spans are sorted by start",
                        i - 1,
                        previous.start
                    ),
                );
            } else if span.start < previous.end {
                violations.add(
                    &start_field,
                    format!(
                        "must not be less than the end of {name}[{}] ({}): spans must not overlap",
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
    check_attributed_spans(violations, field, &content.text, &content.attributed_spans);
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

/// Checks an attribution chain, listed at `field`: 1 to [`MAX_HOPS`] hops, hop 0 being the
/// document we hold. Records the reporters and documents named, and returns the hops numbered.
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
        let checked = check_hop(
            violations,
            references,
            projection,
            &format!("{field}[{i}]"),
            i,
            hop,
        );
        hops.push(checked);
    }
    hops
}

/// Checks hop `i` of an attribution chain, at `field`: its unnamed source, reporter, relation,
/// cue and document. Records the reporter and document named, and returns the hop numbered.
fn check_hop(
    violations: &mut Violations,
    references: &mut StatementReferences,
    projection: &mut StatementProjection,
    field: &str,
    i: usize,
    hop: &AttributionHop,
) -> AttributionHop {
    let at = |name: &str| format!("{field}.{name}");
    let unnamed = check_unnamed_source(violations, &at("unnamed_source"), i, &hop.unnamed_source);
    check_hop_reporter(
        violations,
        references,
        projection,
        &at("reporter"),
        i,
        unnamed,
        &hop.reporter,
    );
    check_enum::<HopRelation>(violations, &at("relation"), hop.relation, true);
    check_optional(violations, &at("cue"), &hop.cue, MAX_CUE_CHARS);
    check_hop_document(
        violations,
        references,
        projection,
        &at("document"),
        i,
        &hop.document,
    );
    AttributionHop {
        position: i32::try_from(i).unwrap_or(i32::MAX),
        ..hop.clone()
    }
}

/// Checks the unnamed source of hop `i`, at `field`: empty on hop 0, else empty or not blank.
/// Returns whether it names a source (is not blank).
fn check_unnamed_source(
    violations: &mut Violations,
    field: &str,
    i: usize,
    unnamed_source: &str,
) -> bool {
    let unnamed = !unnamed_source.trim().is_empty();
    if !unnamed_source.is_empty() {
        if i == 0 {
            violations.add(
                field,
                "must be empty on hop 0: the publisher of the document we hold is always known",
            );
        } else if !unnamed {
            violations.add(field, "must not be blank");
        }
        check_optional(violations, field, unnamed_source, MAX_UNNAMED_SOURCE_CHARS);
    }
    unnamed
}

/// Checks the reporter of hop `i`, at `field`: required on hop 0 and on a hop without an
/// `unnamed` source. Records it as a reference and a side-table row.
fn check_hop_reporter(
    violations: &mut Violations,
    references: &mut StatementReferences,
    projection: &mut StatementProjection,
    field: &str,
    i: usize,
    unnamed: bool,
    reporter: &str,
) {
    if reporter.is_empty() && (i == 0 || !unnamed) {
        violations.add(
            field,
            if i == 0 {
                "is required on hop 0: the publisher of the document we hold, `actors/{actor_id}`"
            } else {
                "is required unless `unnamed_source` gives the source the text does not name: \
                 `actors/{actor_id}`"
            },
        );
    } else if let Some(id) = check_actor(violations, &mut references.actors, field, reporter, false)
    {
        projection.actors.insert((id, ActorRole::Reporter));
    }
}

/// Checks the document of hop `i`, at `field`: required on hop 0. Records it as a reference
/// and a side-table row.
fn check_hop_document(
    violations: &mut Violations,
    references: &mut StatementReferences,
    projection: &mut StatementProjection,
    field: &str,
    i: usize,
    document: &str,
) {
    let id = if i == 0 && document.is_empty() {
        violations.add(
            field,
            "is required on hop 0: the document we hold, `documents/{document_id}`",
        );
        None
    } else {
        names::check_optional(violations, field, document, "documents")
    };
    if let Some(id) = id {
        projection.documents.insert(id.to_owned());
        references
            .documents
            .push(Reference::new(field, document.to_owned()));
    }
}

/// How many relayed speeches `relayed` holds at every level.
fn relayed_count(relayed: &[RelayedSpeech]) -> usize {
    relayed
        .iter()
        .map(|speech| 1 + relayed_count(&speech.relayed))
        .sum()
}

/// Checks relayed speech at level `depth` (1 for `statement.relayed`), listed at `field`, as
/// relayed by the actors named `relaying`: each speech needs speakers (none of them a relaying
/// actor), a speech act and content; addressees and said are optional; nested speech is relayed
/// by this speech's speakers, at most [`MAX_RELAYED_DEPTH`] levels. Records every actor named as
/// a reference and a side-table row, and returns the speech with its dates normalized.
fn check_relayed(
    violations: &mut Violations,
    references: &mut StatementReferences,
    projection: &mut StatementProjection,
    field: &str,
    relayed: &[RelayedSpeech],
    relaying: &[&str],
    depth: usize,
) -> Vec<RelayedSpeech> {
    if relayed.is_empty() {
        return Vec::new();
    }
    if depth > MAX_RELAYED_DEPTH {
        violations.add(
            field,
            format!(
                "must be empty: relayed speech nests at most {MAX_RELAYED_DEPTH} levels deep \
                 (this is level {depth})"
            ),
        );
        return Vec::new();
    }
    let mut checked = Vec::with_capacity(relayed.len());
    for (i, speech) in relayed.iter().enumerate() {
        let speech = check_relayed_speech(
            violations,
            references,
            projection,
            &format!("{field}[{i}]"),
            speech,
            relaying,
            depth,
        );
        checked.push(speech);
    }
    checked
}

/// Checks one relayed speech at level `depth`, at `field`, as relayed by `relaying`: its
/// speakers, addressees, speech act, content, date and nested speech. Returns it with its
/// dates normalized.
fn check_relayed_speech(
    violations: &mut Violations,
    references: &mut StatementReferences,
    projection: &mut StatementProjection,
    field: &str,
    speech: &RelayedSpeech,
    relaying: &[&str],
    depth: usize,
) -> RelayedSpeech {
    let at = |name: &str| format!("{field}.{name}");
    check_relayed_speakers(
        violations,
        references,
        projection,
        &at("speakers"),
        &speech.speakers,
        relaying,
    );
    for (_, addressee) in check_actor_list(
        violations,
        &mut references.actors,
        &at("addressees"),
        &speech.addressees,
        MAX_ADDRESSEES,
    ) {
        projection
            .actors
            .insert((addressee, ActorRole::RelayedAddressee));
    }
    check_enum::<SpeechAct>(violations, &at("speech_act"), speech.speech_act, true);
    match &speech.content {
        Some(content) => check_content(violations, &at("content"), content),
        None => violations.add(
            at("content"),
            "is required: the relayed words, their language and their mode",
        ),
    }
    let said = speech
        .said
        .as_ref()
        .and_then(|said| fuzzy_date::normalize(violations, &at("said"), said));
    let speakers: Vec<&str> = speech.speakers.iter().map(String::as_str).collect();
    let nested = check_relayed(
        violations,
        references,
        projection,
        &at("relayed"),
        &speech.relayed,
        &speakers,
        depth + 1,
    );
    RelayedSpeech {
        said,
        relayed: nested,
        ..speech.clone()
    }
}

/// Checks the speakers of a relayed speech, listed at `field`: at least one, at most
/// [`MAX_RELAYED_SPEAKERS`], none of them an actor `relaying` it. Records each as a reference
/// and a side-table row.
fn check_relayed_speakers(
    violations: &mut Violations,
    references: &mut StatementReferences,
    projection: &mut StatementProjection,
    field: &str,
    speakers: &[String],
    relaying: &[&str],
) {
    if speakers.is_empty() {
        violations.add(
            field,
            "needs at least one speaker: who said it, according to the relaying speaker",
        );
    }
    for (j, speaker) in check_actor_list(
        violations,
        &mut references.actors,
        field,
        speakers,
        MAX_RELAYED_SPEAKERS,
    ) {
        if relaying.contains(&speakers[j].as_str()) {
            violations.add(
                format!("{field}[{j}]"),
                format!("must not be the actor relaying it ({})", speakers[j]),
            );
        }
        projection
            .actors
            .insert((speaker, ActorRole::RelayedSpeaker));
    }
}

/// Checks a statement's placement in its document: a known section, and an ordinal of 0
/// (unset) or 1 to [`MAX_PLACEMENT_ORDINAL`].
fn check_placement(violations: &mut Violations, field: &str, placement: &DocumentPlacement) {
    check_enum::<DocumentSection>(
        violations,
        &format!("{field}.section"),
        placement.section,
        false,
    );
    if !(0..=MAX_PLACEMENT_ORDINAL).contains(&placement.ordinal) {
        violations.add(
            format!("{field}.ordinal"),
            format!(
                "must be 0 (unset) or from 1 to {MAX_PLACEMENT_ORDINAL} (got {})",
                placement.ordinal
            ),
        );
    }
}

/// Checks `same_utterance_as`: at most [`MAX_SAME_UTTERANCE`] statement names, none of them
/// the statement `id` itself, none repeated; records a reference for each.
fn check_same_utterance(
    violations: &mut Violations,
    references: &mut StatementReferences,
    field: &str,
    names_: &[String],
    id: &str,
) {
    if names_.len() > MAX_SAME_UTTERANCE {
        violations.add(
            field,
            format!(
                "must have at most {MAX_SAME_UTTERANCE} entries (got {})",
                names_.len()
            ),
        );
        return;
    }
    for (i, name) in names_.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if let Some(other) = names::check(violations, &at, name, "statements") {
            if other == id {
                violations.add(at, "must not be the statement itself");
            } else if names_[..i].contains(name) {
                violations.add(at, format!("repeats {name}"));
            } else {
                references
                    .same_utterance_as
                    .push(Reference::new(at, name.clone()));
            }
        }
    }
}

/// Checks `related_communications`: at most [`MAX_RELATED_COMMUNICATIONS`] communication names,
/// only beside a `communication`, which none may repeat, none repeated; records a reference and
/// a side-table row for each.
fn check_related_communications(
    violations: &mut Violations,
    references: &mut StatementReferences,
    projection: &mut StatementProjection,
    field: &str,
    statement: &Statement,
) {
    let related = &statement.related_communications;
    if related.is_empty() {
        return;
    }
    if statement.communication.is_empty() {
        violations.add(
            field,
            "requires `communication`: name the main communication there, the further ones here",
        );
    }
    if related.len() > MAX_RELATED_COMMUNICATIONS {
        violations.add(
            field,
            format!(
                "must have at most {MAX_RELATED_COMMUNICATIONS} entries (got {})",
                related.len()
            ),
        );
        return;
    }
    for (i, name) in related.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if let Some(other) = names::check(violations, &at, name, "communications") {
            if *name == statement.communication {
                violations.add(at, format!("repeats `communication` ({name})"));
            } else if related[..i].contains(name) {
                violations.add(at, format!("repeats {name}"));
            } else {
                projection.related_communications.insert(other.to_owned());
                references
                    .communications
                    .push(Reference::new(at, name.clone()));
            }
        }
    }
}

/// The path a statement's fields are reported under.
const STATEMENT: &str = "statement";

/// The path of the statement's field `name`, such as `statement.speaker`.
fn statement_field(name: &str) -> String {
    format!("{STATEMENT}.{name}")
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
    let at = statement_field;
    let before = violations.iter().count();
    let mut references = StatementReferences::default();
    let mut projection = StatementProjection::default();

    check_speakers(violations, &mut references, &mut projection, statement);
    check_utterance(violations, &mut projection, statement);
    let said = check_said(violations, &mut projection, statement);
    check_about(violations, &mut references, &mut projection, statement);
    check_communication(violations, &mut references, &mut projection, statement);
    check_in_reply_to(violations, &mut references, &mut projection, statement, id);
    let attribution_chain = check_chain(
        violations,
        &mut references,
        &mut projection,
        &at("attribution_chain"),
        &statement.attribution_chain,
    );
    let relayed = check_statement_relayed(violations, &mut references, &mut projection, statement);
    if let Some(placement) = &statement.placement {
        check_placement(violations, &at("placement"), placement);
    }
    check_same_utterance(
        violations,
        &mut references,
        &at("same_utterance_as"),
        &statement.same_utterance_as,
        id,
    );
    check_related_communications(
        violations,
        &mut references,
        &mut projection,
        &at("related_communications"),
        statement,
    );

    if violations.iter().count() > before {
        return None;
    }
    Some(ValidStatement {
        statement: Statement {
            name: String::new(),
            said,
            attribution_chain,
            relayed,
            create_time: None,
            update_time: None,
            etag: String::new(),
            ..statement.clone()
        },
        projection,
        references,
    })
}

/// Checks who speaks and to whom: the speaker (required), co-speakers (never the speaker),
/// `on_behalf_of` and addressees. Records each as a reference and a side-table row.
fn check_speakers(
    violations: &mut Violations,
    references: &mut StatementReferences,
    projection: &mut StatementProjection,
    statement: &Statement,
) {
    let at = statement_field;
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
                format!("{STATEMENT}.co_speakers[{i}]"),
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
}

/// Checks what was said and how: the content (required), the speech act (required) and the
/// channel; projects the content mode, speech act and channel.
fn check_utterance(
    violations: &mut Violations,
    projection: &mut StatementProjection,
    statement: &Statement,
) {
    let at = statement_field;
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
}

/// Checks when it was said (required) and projects its bounds; returns the date normalized.
fn check_said(
    violations: &mut Violations,
    projection: &mut StatementProjection,
    statement: &Statement,
) -> Option<FuzzyDate> {
    let at = statement_field;
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
    said
}

/// Checks what the statement is about: the actors (recorded as references and side-table rows)
/// and the topics (projected).
fn check_about(
    violations: &mut Violations,
    references: &mut StatementReferences,
    projection: &mut StatementProjection,
    statement: &Statement,
) {
    let at = statement_field;
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
}

/// Checks the communication the statement belongs to and the readout that reports it;
/// records and projects what they name.
fn check_communication(
    violations: &mut Violations,
    references: &mut StatementReferences,
    projection: &mut StatementProjection,
    statement: &Statement,
) {
    let at = statement_field;
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
            references,
            projection,
            &at("readout"),
            readout,
            !statement.communication.is_empty(),
        );
    }
}

/// Checks `in_reply_to`: a statement name other than the statement `id` itself; records and
/// projects it.
fn check_in_reply_to(
    violations: &mut Violations,
    references: &mut StatementReferences,
    projection: &mut StatementProjection,
    statement: &Statement,
    id: &str,
) {
    let at = statement_field;
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
}

/// Checks the statement's relayed speech: at most [`MAX_RELAYED`] speeches in all, relayed by
/// the speaker and co-speakers. Returns it with its dates normalized.
fn check_statement_relayed(
    violations: &mut Violations,
    references: &mut StatementReferences,
    projection: &mut StatementProjection,
    statement: &Statement,
) -> Vec<RelayedSpeech> {
    let at = statement_field;
    let relayed_count = relayed_count(&statement.relayed);
    if relayed_count > MAX_RELAYED {
        violations.add(
            at("relayed"),
            format!(
                "must hold at most {MAX_RELAYED} relayed speeches in all, counting every level \
                 (got {relayed_count})"
            ),
        );
        return Vec::new();
    }
    let relaying: Vec<&str> = std::iter::once(statement.speaker.as_str())
        .chain(statement.co_speakers.iter().map(String::as_str))
        .filter(|name| !name.is_empty())
        .collect();
    check_relayed(
        violations,
        references,
        projection,
        &at("relayed"),
        &statement.relayed,
        &relaying,
        1,
    )
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
    if wants("relayed") {
        current.relayed.clone_from(&patch.relayed);
    }
    if wants("placement") {
        current.placement = patch.placement;
    }
    if wants("same_utterance_as") {
        current
            .same_utterance_as
            .clone_from(&patch.same_utterance_as);
    }
    if wants("related_communications") {
        current
            .related_communications
            .clone_from(&patch.related_communications);
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
        ("relayed", !patch.relayed.is_empty()),
        ("placement", patch.placement.is_some()),
        ("same_utterance_as", !patch.same_utterance_as.is_empty()),
        (
            "related_communications",
            !patch.related_communications.is_empty(),
        ),
    ];
    set.iter()
        .filter(|(_, is_set)| *is_set)
        .map(|(path, _)| (*path).to_owned())
        .collect()
}

/// Checks a statement update mask's paths; records a violation per unknown path.
pub fn check_mask_paths(violations: &mut Violations, paths: &[String]) {
    check_mask_paths_among(violations, paths, STATEMENT_MASK_PATHS);
}

/// Checks a source document update mask's paths; records a violation per unknown or output-only
/// path.
pub fn check_document_mask_paths(violations: &mut Violations, paths: &[String]) {
    check_mask_paths_among(violations, paths, DOCUMENT_MASK_PATHS);
}

fn check_mask_paths_among(violations: &mut Violations, paths: &[String], updatable: &[&str]) {
    if paths.is_empty() {
        violations.add("update_mask.paths", "must name at least one field, or `*`");
    }
    for (i, path) in paths.iter().enumerate() {
        if path != "*" && !updatable.contains(&path.as_str()) {
            crate::checks::not_updatable(violations, i, path, updatable);
        }
    }
}

/// Copies the fields named by `paths` from `patch` onto `current` (`*` copies them all).
pub fn apply_document_mask(current: &mut SourceDocument, patch: &SourceDocument, paths: &[String]) {
    let all = paths.iter().any(|p| p == "*");
    let wants = |field: &str| all || paths.iter().any(|p| p == field);
    if wants("url") {
        current.url.clone_from(&patch.url);
    }
    if wants("publisher") {
        current.publisher.clone_from(&patch.publisher);
    }
    if wants("title") {
        current.title.clone_from(&patch.title);
    }
    if wants("published") {
        current.published.clone_from(&patch.published);
    }
    if wants("language_code") {
        current.language_code.clone_from(&patch.language_code);
    }
    if wants("authors") {
        current.authors.clone_from(&patch.authors);
    }
    if wants("author_actors") {
        current.author_actors.clone_from(&patch.author_actors);
    }
    if wants("media_assets") {
        current.media_assets.clone_from(&patch.media_assets);
    }
}

/// The mask implied by a document update without one (AIP-134): every field the patch sets.
pub fn implied_document_mask(patch: &SourceDocument) -> Vec<String> {
    let set = [
        ("url", !patch.url.is_empty()),
        ("publisher", !patch.publisher.is_empty()),
        ("title", !patch.title.is_empty()),
        ("published", patch.published.is_some()),
        ("language_code", !patch.language_code.is_empty()),
        ("authors", !patch.authors.is_empty()),
        ("author_actors", !patch.author_actors.is_empty()),
        ("media_assets", !patch.media_assets.is_empty()),
    ];
    set.iter()
        .filter(|(_, is_set)| *is_set)
        .map(|(path, _)| (*path).to_owned())
        .collect()
}

/// Keeps only the references made by the top-level fields in `paths` (`*` keeps them all): a
/// document update checks the actors it changes, not those it leaves alone.
pub fn restrict_references(references: &mut Vec<Reference>, paths: &[String]) {
    if paths.iter().any(|p| p == "*") {
        return;
    }
    references.retain(|reference| {
        paths
            .iter()
            .any(|path| top_level_field(&reference.field) == path)
    });
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

/// Checks a document's `url`, at `field`: a valid URL, required unless the document has a
/// title.
fn check_document_url(violations: &mut Violations, field: &str, document: &SourceDocument) {
    if document.url.is_empty() && document.title.trim().is_empty() {
        violations.add(
            field,
            "at least one of `url` and `title` is required, to say which document it is",
        );
    } else if !document.url.is_empty() {
        check_url(violations, field, &document.url);
    }
}

/// Checks a document's authors as the byline gives them, listed at `field`: at most
/// [`MAX_AUTHORS`], each a text of at most [`MAX_AUTHOR_CHARS`] characters.
fn check_authors(violations: &mut Violations, field: &str, authors: &[String]) {
    if authors.len() > MAX_AUTHORS {
        violations.add(
            field,
            format!(
                "must have at most {MAX_AUTHORS} entries (got {})",
                authors.len()
            ),
        );
        return;
    }
    for (i, author) in authors.iter().enumerate() {
        check_required(
            violations,
            &format!("{field}[{i}]"),
            author,
            MAX_AUTHOR_CHARS,
        );
    }
}

/// Checks a document's media assets, listed at `field`: at most [`MAX_MEDIA_ASSETS`], each
/// checked by [`check_media_asset`]; records the actors they credit.
fn check_media_assets(
    violations: &mut Violations,
    actors: &mut Vec<Reference>,
    field: &str,
    assets: &[MediaAsset],
) {
    if assets.len() > MAX_MEDIA_ASSETS {
        violations.add(
            field,
            format!(
                "must have at most {MAX_MEDIA_ASSETS} entries (got {})",
                assets.len()
            ),
        );
        return;
    }
    for (i, asset) in assets.iter().enumerate() {
        check_media_asset(violations, actors, &format!("{field}[{i}]"), asset);
    }
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

    check_document_url(violations, &at("url"), document);
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
    check_authors(violations, &at("authors"), &document.authors);
    check_actor_list(
        violations,
        &mut actors,
        &at("author_actors"),
        &document.author_actors,
        MAX_AUTHOR_ACTORS,
    );
    check_media_assets(
        violations,
        &mut actors,
        &at("media_assets"),
        &document.media_assets,
    );

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

    #[test]
    fn a_wrong_mask_path_is_answered_with_every_updatable_field() {
        let request = chancery_proto::statements::v1::UpdateStatementRequest {
            statement: Some(Statement {
                name: "statements/s1".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["etag".into(), "said".into(), "create_time".into()],
            }),
        };
        let violations = read_update_statement(&request).expect_err("etag is output only");
        assert_eq!(
            fields(&violations),
            ["update_mask.paths[0]", "update_mask.paths[2]"]
        );
        let status = chancery_runtime::errors::invalid_argument(&violations);
        let list = format!("use one of {}, or `*`", STATEMENT_MASK_PATHS.join(", "));
        assert!(list.chars().count() > chancery_runtime::errors::MAX_DETAIL_CHARS);
        assert!(
            status
                .message()
                .contains(&format!("\"etag\" is not an updatable field; {list}")),
            "{}",
            status.message()
        );
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

    fn content(text: &str, mode: ContentMode) -> Content {
        Content {
            text: text.into(),
            language_code: "en".into(),
            mode: mode as i32,
            ..Default::default()
        }
    }

    fn relayed(speakers: &[&str], nested: Vec<RelayedSpeech>) -> RelayedSpeech {
        RelayedSpeech {
            speakers: speakers.iter().map(|s| format!("actors/{s}")).collect(),
            addressees: vec![],
            speech_act: SpeechAct::Assertion as i32,
            content: Some(content("talks were possible", ContentMode::Paraphrase)),
            said: None,
            relayed: nested,
        }
    }

    /// `levels` speeches nested one in the other, each by a different speaker.
    fn chain_of(levels: usize) -> Vec<RelayedSpeech> {
        (0..levels).rev().fold(Vec::new(), |nested, level| {
            vec![relayed(&[&format!("speaker-{level}")], nested)]
        })
    }

    fn valid(statement: &Statement) -> ValidStatement {
        let mut violations = Violations::default();
        let valid = validate_statement(&mut violations, statement, "s");
        assert!(violations.is_empty(), "{violations}");
        valid.unwrap()
    }

    fn violation_fields(statement: &Statement) -> Vec<String> {
        let mut violations = Violations::default();
        let valid = validate_statement(&mut violations, statement, "s");
        assert_eq!(valid.is_none(), !violations.is_empty());
        fields(&violations)
    }

    #[test]
    fn relayed_speech_nests_and_every_actor_in_it_is_one_reference_of_the_write() {
        // "The Kremlin said Putin told Scholz that Peskov had said talks were possible."
        let statement = Statement {
            speaker: "actors/kremlin-press-service".into(),
            relayed: vec![RelayedSpeech {
                addressees: vec!["actors/olaf-scholz".into()],
                speech_act: SpeechAct::Proposal as i32,
                said: Some(FuzzyDate {
                    edtf: "2022-03-12".into(),
                    ..Default::default()
                }),
                ..relayed(
                    &["vladimir-putin"],
                    vec![relayed(&["dmitry-peskov"], vec![])],
                )
            }],
            ..legendre()
        };
        let valid = valid(&statement);
        let relayed_fields: Vec<&str> = valid
            .references
            .actors
            .iter()
            .map(|r| r.field.as_str())
            .filter(|f| f.starts_with("statement.relayed"))
            .collect();
        assert_eq!(
            relayed_fields,
            [
                "statement.relayed[0].speakers[0]",
                "statement.relayed[0].addressees[0]",
                "statement.relayed[0].relayed[0].speakers[0]",
            ]
        );
        let said = valid.statement.relayed[0].said.as_ref().unwrap();
        assert_eq!(
            said.precision,
            chancery_proto::common::v1::DatePrecision::Day as i32
        );
        assert!(said.earliest.is_some(), "a relayed date is normalized");
        assert_eq!(
            valid.statement.relayed[0].relayed[0].speakers,
            ["actors/dmitry-peskov"]
        );
        let roles = &valid.projection.actors;
        assert!(roles.contains(&("vladimir-putin".to_owned(), ActorRole::RelayedSpeaker)));
        assert!(roles.contains(&("dmitry-peskov".to_owned(), ActorRole::RelayedSpeaker)));
        assert!(roles.contains(&("olaf-scholz".to_owned(), ActorRole::RelayedAddressee)));
        assert!(
            !roles.contains(&("vladimir-putin".to_owned(), ActorRole::Speaker)),
            "a relayed speaker is no speaker of the statement"
        );
        let mut restricted = valid.references.clone();
        restricted.restrict_to(&["relayed".to_owned()]);
        assert_eq!(restricted.actors.len(), 3);
    }

    #[test]
    fn a_relayed_speaker_must_not_be_the_actor_relaying_it() {
        let statement = Statement {
            co_speakers: vec!["actors/olaf-scholz".into()],
            relayed: vec![
                relayed(&["vladimir-putin", "anne-claire-legendre"], vec![]),
                relayed(&["olaf-scholz"], vec![]),
                relayed(
                    &["vladimir-putin"],
                    vec![relayed(&["dmitry-peskov", "vladimir-putin"], vec![])],
                ),
            ],
            ..legendre()
        };
        assert_eq!(
            violation_fields(&statement),
            [
                "statement.relayed[0].speakers[1]",
                "statement.relayed[1].speakers[0]",
                "statement.relayed[2].relayed[0].speakers[1]",
            ]
        );
        // Deeper down, the statement's own speaker may be quoted back: only the enclosing
        // speech's speakers relay it.
        let statement = Statement {
            relayed: vec![relayed(
                &["vladimir-putin"],
                vec![relayed(&["anne-claire-legendre"], vec![])],
            )],
            ..legendre()
        };
        valid(&statement);
    }

    #[test]
    fn relayed_speech_needs_speakers_a_speech_act_and_content() {
        let statement = Statement {
            relayed: vec![RelayedSpeech {
                speakers: vec![],
                addressees: vec!["people/x".into()],
                speech_act: 0,
                content: None,
                said: Some(FuzzyDate {
                    edtf: "someday".into(),
                    ..Default::default()
                }),
                relayed: vec![RelayedSpeech {
                    speakers: vec!["actors/a".into(); MAX_RELAYED_SPEAKERS + 1],
                    speech_act: 99,
                    content: Some(Content {
                        quoted_spans: vec![span(0, 100)],
                        ..content("x", ContentMode::Verbatim)
                    }),
                    ..Default::default()
                }],
            }],
            ..legendre()
        };
        assert_eq!(
            violation_fields(&statement),
            [
                "statement.relayed[0].speakers",
                "statement.relayed[0].addressees[0]",
                "statement.relayed[0].speech_act",
                "statement.relayed[0].content",
                "statement.relayed[0].said.edtf",
                "statement.relayed[0].relayed[0].speakers",
                "statement.relayed[0].relayed[0].speech_act",
                "statement.relayed[0].relayed[0].content.quoted_spans",
            ]
        );
    }

    #[test]
    fn relayed_speech_nests_at_most_five_levels_and_twenty_speeches_in_all() {
        valid(&Statement {
            relayed: chain_of(MAX_RELAYED_DEPTH),
            ..legendre()
        });
        assert_eq!(
            violation_fields(&Statement {
                relayed: chain_of(MAX_RELAYED_DEPTH + 1),
                ..legendre()
            }),
            ["statement.relayed[0].relayed[0].relayed[0].relayed[0].relayed[0].relayed"]
        );
        let many = |count: usize| -> Vec<RelayedSpeech> {
            // One speech relaying the others: count them at every level.
            vec![relayed(
                &["vladimir-putin"],
                (1..count)
                    .map(|i| relayed(&[&format!("speaker-{i}")], vec![]))
                    .collect(),
            )]
        };
        valid(&Statement {
            relayed: many(MAX_RELAYED),
            ..legendre()
        });
        assert_eq!(
            violation_fields(&Statement {
                relayed: many(MAX_RELAYED + 1),
                ..legendre()
            }),
            ["statement.relayed"]
        );
    }

    #[test]
    fn placement_has_a_known_section_and_an_ordinal_of_zero_or_one_to_100000() {
        for ordinal in [0, 1, MAX_PLACEMENT_ORDINAL] {
            let statement = Statement {
                placement: Some(DocumentPlacement {
                    section: DocumentSection::Lead as i32,
                    ordinal,
                }),
                ..legendre()
            };
            assert_eq!(valid(&statement).statement.placement, statement.placement);
        }
        for ordinal in [-1, MAX_PLACEMENT_ORDINAL + 1, i32::MIN, i32::MAX] {
            let statement = Statement {
                placement: Some(DocumentPlacement {
                    section: DocumentSection::Body as i32,
                    ordinal,
                }),
                ..legendre()
            };
            assert_eq!(
                violation_fields(&statement),
                ["statement.placement.ordinal"],
                "{ordinal}"
            );
        }
        let statement = Statement {
            placement: Some(DocumentPlacement {
                section: 42,
                ordinal: 3,
            }),
            ..legendre()
        };
        assert_eq!(
            violation_fields(&statement),
            ["statement.placement.section"]
        );
    }

    #[test]
    fn same_utterance_as_names_other_statements_once_each_at_most_twenty() {
        let statement = Statement {
            same_utterance_as: vec![
                "statements/tass-version".into(),
                "statements/s".into(),
                "statements/tass-version".into(),
                "documents/x".into(),
                String::new(),
            ],
            ..legendre()
        };
        assert_eq!(
            violation_fields(&statement),
            [
                "statement.same_utterance_as[1]",
                "statement.same_utterance_as[2]",
                "statement.same_utterance_as[3]",
                "statement.same_utterance_as[4]",
            ]
        );
        let statement = Statement {
            same_utterance_as: vec!["statements/tass-version".into(), "statements/bfm".into()],
            ..legendre()
        };
        let valid = valid(&statement);
        assert_eq!(
            valid.references.same_utterance_as,
            [
                Reference::new("statement.same_utterance_as[0]", "statements/tass-version"),
                Reference::new("statement.same_utterance_as[1]", "statements/bfm"),
            ]
        );
        let mut restricted = valid.references.clone();
        restricted.restrict_to(&["channel".to_owned()]);
        assert!(restricted.same_utterance_as.is_empty());
        let too_many = Statement {
            same_utterance_as: (0..=MAX_SAME_UTTERANCE)
                .map(|i| format!("statements/other-{i}"))
                .collect(),
            ..legendre()
        };
        assert_eq!(violation_fields(&too_many), ["statement.same_utterance_as"]);
    }

    #[test]
    fn related_communications_need_a_communication_and_repeat_nothing() {
        let statement = Statement {
            related_communications: vec![
                "communications/macron-scholz-putin-2022-03-12".into(),
                "communications/macron-putin-2022-03-29".into(),
                "communications/macron-scholz-putin-2022-03-12".into(),
                "calls/x".into(),
            ],
            ..legendre()
        };
        assert_eq!(
            violation_fields(&statement),
            [
                "statement.related_communications[1]",
                "statement.related_communications[2]",
                "statement.related_communications[3]",
            ]
        );
        let without = Statement {
            communication: String::new(),
            related_communications: vec!["communications/a".into()],
            ..legendre()
        };
        assert_eq!(
            violation_fields(&without),
            ["statement.related_communications"]
        );
        let too_many = Statement {
            related_communications: (0..=MAX_RELATED_COMMUNICATIONS)
                .map(|i| format!("communications/call-{i}"))
                .collect(),
            ..legendre()
        };
        assert_eq!(
            violation_fields(&too_many),
            ["statement.related_communications"]
        );
        let statement = Statement {
            related_communications: vec!["communications/macron-scholz-putin-2022-03-12".into()],
            ..legendre()
        };
        let valid = valid(&statement);
        assert_eq!(
            valid.references.communications,
            [
                Reference::new(
                    "statement.communication",
                    "communications/macron-putin-2022-03-29"
                ),
                Reference::new(
                    "statement.related_communications[0]",
                    "communications/macron-scholz-putin-2022-03-12"
                ),
            ],
            "both go into the one BatchGetCommunications check"
        );
        assert_eq!(
            valid.projection.related_communications,
            BTreeSet::from(["macron-scholz-putin-2022-03-12".to_owned()])
        );
        assert_eq!(valid.projection.communication_id, "macron-putin-2022-03-29");
    }

    #[test]
    fn attributed_spans_follow_the_quoted_span_rules_in_every_mode() {
        let text = "Peskov said talks were possible, but no date has been set";
        for mode in [
            ContentMode::Verbatim,
            ContentMode::PartialQuote,
            ContentMode::Paraphrase,
            ContentMode::Summary,
            ContentMode::Characterization,
        ] {
            let statement = Statement {
                content: Some(Content {
                    quoted_spans: if mode == ContentMode::PartialQuote {
                        vec![span(12, 31)]
                    } else {
                        vec![]
                    },
                    attributed_spans: vec![span(0, 31)],
                    ..content(text, mode)
                }),
                ..legendre()
            };
            assert_eq!(
                valid(&statement)
                    .statement
                    .content
                    .unwrap()
                    .attributed_spans,
                [span(0, 31)],
                "{mode:?}"
            );
        }
        let statement = Statement {
            content: Some(Content {
                attributed_spans: vec![span(-1, 3), span(2, 5), span(10, 10), span(20, 100)],
                ..content(text, ContentMode::Summary)
            }),
            ..legendre()
        };
        assert_eq!(
            violation_fields(&statement),
            [
                "statement.content.attributed_spans[0].start",
                "statement.content.attributed_spans[1].start",
                "statement.content.attributed_spans[2].end",
                "statement.content.attributed_spans[3].end",
            ]
        );
        let mut violations = Violations::default();
        let many: Vec<QuotedSpan> = (0..51).map(|i| span(i, i + 1)).collect();
        check_attributed_spans(&mut violations, "c", &"x".repeat(60), &many);
        assert_eq!(fields(&violations), ["c.attributed_spans"]);
    }

    #[test]
    fn an_unnamed_source_stands_in_for_a_reporter_except_on_hop_zero() {
        let statement = Statement {
            attribution_chain: vec![
                hop(
                    "actors/republic-world",
                    HopRelation::Reported,
                    "documents/seed",
                ),
                AttributionHop {
                    unnamed_source: "local media".into(),
                    cue_carried_over: true,
                    cue: "as per reports".into(),
                    ..hop("", HopRelation::AccordingTo, "")
                },
            ],
            ..legendre()
        };
        let valid = valid(&statement);
        assert_eq!(
            valid.statement.attribution_chain[1].unnamed_source,
            "local media"
        );
        assert!(valid.statement.attribution_chain[1].cue_carried_over);
        assert_eq!(
            valid
                .references
                .actors
                .iter()
                .filter(|r| r.field.starts_with("statement.attribution_chain"))
                .count(),
            1
        );
        let statement = Statement {
            attribution_chain: vec![
                AttributionHop {
                    unnamed_source: "sources".into(),
                    ..hop("", HopRelation::Reported, "documents/seed")
                },
                hop("", HopRelation::Citing, ""),
                AttributionHop {
                    unnamed_source: "x".repeat(MAX_UNNAMED_SOURCE_CHARS + 1),
                    ..hop("", HopRelation::Citing, "")
                },
                AttributionHop {
                    unnamed_source: "  ".into(),
                    ..hop("", HopRelation::Citing, "")
                },
                AttributionHop {
                    unnamed_source: "officials".into(),
                    ..hop("actors/tass", HopRelation::Citing, "")
                },
            ],
            ..legendre()
        };
        assert_eq!(
            violation_fields(&statement),
            [
                "statement.attribution_chain[0].unnamed_source",
                "statement.attribution_chain[0].reporter",
                "statement.attribution_chain[1].reporter",
                "statement.attribution_chain[2].unnamed_source",
                "statement.attribution_chain[3].unnamed_source",
                "statement.attribution_chain[3].reporter",
            ]
        );
    }

    #[test]
    fn the_new_speech_acts_are_accepted() {
        for act in [
            SpeechAct::Explanation,
            SpeechAct::Characterization,
            SpeechAct::Proposal,
            SpeechAct::Offer,
            SpeechAct::Commitment,
        ] {
            valid(&Statement {
                speech_act: act as i32,
                relayed: vec![RelayedSpeech {
                    speech_act: act as i32,
                    ..relayed(&["vladimir-putin"], vec![])
                }],
                ..legendre()
            });
        }
        assert_eq!(
            violation_fields(&Statement {
                speech_act: 21,
                ..legendre()
            }),
            ["statement.speech_act"]
        );
    }

    #[test]
    fn statement_masks_cover_the_new_fields() {
        let mut current = legendre();
        let patch = Statement {
            relayed: vec![relayed(&["vladimir-putin"], vec![])],
            placement: Some(DocumentPlacement {
                section: DocumentSection::Headline as i32,
                ordinal: 1,
            }),
            same_utterance_as: vec!["statements/other".into()],
            related_communications: vec!["communications/other".into()],
            ..Default::default()
        };
        let paths = implied_statement_mask(&patch);
        assert_eq!(
            paths,
            [
                "relayed",
                "placement",
                "same_utterance_as",
                "related_communications"
            ]
        );
        let mut violations = Violations::default();
        check_mask_paths(&mut violations, &paths);
        assert!(violations.is_empty(), "{violations}");
        apply_statement_mask(&mut current, &patch, &paths);
        assert_eq!(current.relayed, patch.relayed);
        assert_eq!(current.placement, patch.placement);
        assert_eq!(current.same_utterance_as, patch.same_utterance_as);
        assert_eq!(current.related_communications, patch.related_communications);
        assert_eq!(current.speaker, "actors/anne-claire-legendre");
        apply_statement_mask(&mut current, &Statement::default(), &["placement".into()]);
        assert_eq!(current.placement, None);
    }

    #[test]
    fn documents_name_at_most_twenty_author_actors_each_checked() {
        let document = SourceDocument {
            url: "https://tass.com/politics/1428561".into(),
            publisher: "actors/tass".into(),
            author_actors: vec![
                "actors/ivan-petrov".into(),
                "actors/ivan-petrov".into(),
                "people/x".into(),
            ],
            ..Default::default()
        };
        let mut violations = Violations::default();
        assert!(validate_document(&mut violations, &document).is_none());
        assert_eq!(
            fields(&violations),
            [
                "source_document.author_actors[1]",
                "source_document.author_actors[2]"
            ]
        );
        let document = SourceDocument {
            author_actors: vec!["actors/ivan-petrov".into()],
            ..document
        };
        let mut violations = Violations::default();
        let valid = validate_document(&mut violations, &document).unwrap();
        assert_eq!(
            valid.actors,
            [
                Reference::new("source_document.publisher", "actors/tass"),
                Reference::new("source_document.author_actors[0]", "actors/ivan-petrov"),
            ]
        );
        let too_many = SourceDocument {
            author_actors: (0..=MAX_AUTHOR_ACTORS)
                .map(|i| format!("actors/author-{i}"))
                .collect(),
            ..document
        };
        let mut violations = Violations::default();
        validate_document(&mut violations, &too_many);
        assert_eq!(fields(&violations), ["source_document.author_actors"]);
    }

    #[test]
    fn document_masks_copy_only_named_fields_and_refuse_output_only_paths() {
        let mut current = SourceDocument {
            url: "https://tass.com/a".into(),
            publisher: "actors/tass".into(),
            title: "Old".into(),
            authors: vec!["Ivan Petrov".into()],
            ..Default::default()
        };
        let patch = SourceDocument {
            publisher: "actors/ria-novosti".into(),
            title: "New".into(),
            author_actors: vec!["actors/ivan-petrov".into()],
            ..Default::default()
        };
        assert_eq!(
            implied_document_mask(&patch),
            ["publisher", "title", "author_actors"]
        );
        apply_document_mask(&mut current, &patch, &["title".into()]);
        assert_eq!(current.title, "New");
        assert_eq!(current.publisher, "actors/tass");
        apply_document_mask(&mut current, &patch, &["*".into()]);
        assert_eq!(current, patch);

        let mut violations = Violations::default();
        check_document_mask_paths(
            &mut violations,
            &[
                "url".into(),
                "etag".into(),
                "name".into(),
                "create_time".into(),
                "media_assets".into(),
                "speaker".into(),
            ],
        );
        assert_eq!(
            fields(&violations),
            [
                "update_mask.paths[1]",
                "update_mask.paths[2]",
                "update_mask.paths[3]",
                "update_mask.paths[5]"
            ]
        );

        let mut references = vec![
            Reference::new("source_document.publisher", "actors/tass"),
            Reference::new("source_document.author_actors[0]", "actors/ivan-petrov"),
            Reference::new("source_document.media_assets[0].credit_actor", "actors/ap"),
        ];
        let all = references.clone();
        restrict_references(&mut references, &["*".into()]);
        assert_eq!(references, all);
        restrict_references(&mut references, &["author_actors".into(), "title".into()]);
        assert_eq!(references, all[1..2]);
        assert_eq!(
            top_level_field("source_document.media_assets[0].credit_actor"),
            "media_assets"
        );
    }

    #[test]
    fn a_statement_said_on_an_unknown_date_may_fall_anywhere() {
        let unknown = FuzzyDate {
            source: chancery_proto::common::v1::DateSource::Unknown as i32,
            ..Default::default()
        };
        let statement = Statement {
            said: Some(unknown.clone()),
            relayed: vec![RelayedSpeech {
                said: Some(unknown.clone()),
                ..relayed(&["vladimir-putin"], vec![])
            }],
            ..legendre()
        };
        let valid = valid(&statement);
        let said = valid.statement.said.as_ref().unwrap();
        assert!(said.earliest.is_none() && said.latest.is_none());
        assert_eq!(valid.projection.said, (i64::MIN, i64::MAX));
        assert!(valid.statement.relayed[0].said.is_some());
        let dated_unknown = Statement {
            said: Some(FuzzyDate {
                edtf: "2022-03".into(),
                ..unknown
            }),
            ..legendre()
        };
        assert_eq!(violation_fields(&dated_unknown), ["statement.said.edtf"]);
    }
}
