//! The pure half of `GetEpisodeView`: what to ask the backends for, and how to assemble what they
//! answered into an [`EpisodeView`]. Nothing here does I/O, so every rule is unit-tested below.
//!
//! # Rules the assembly keeps
//!
//! - **Offices** carry the tenure's qualifier, and their `label` says it (`President of the
//!   United States (elect)`), so an elect, acting, interim or designate holder never reads as
//!   the plain holder; a statement's `speaker_office` is made of labels.
//! - **Status**: each communication carries its status log as [`StatusClaim`]s, in the order the
//!   computed state takes them (dated entries by the earliest bound of `as_of`, undated ones
//!   after them, each group in append order), with the asserter named (else the publisher of the
//!   claim's document), and a `status_summary` naming who claims what. A communication whose
//!   computed verification is DENIED_BY_PARTY or DISPUTED never reads as plainly held: its
//!   headline says `reported held, denied`.
//! - **Contacts** count only held communications (computed lifecycle HELD or IN_PROGRESS, not
//!   denied nor disputed); the others both actors are named in are listed in `not_held`.
//! - **Timeline order**: dated entries first, by (earliest, latest) bound, then by the placement
//!   ordinal of statements in their document (entries without one after those with one), then
//!   by name; entries whose date is unknown (no bound at all) come last, by ordinal then name.
//! - **Involvements** (beyond participants, speakers and the like): relayed speakers at any
//!   depth are RELAYED_SPEAKER and their addressees ADDRESSEE; document authors AUTHOR; the
//!   episode's `other_actors` RECORDED; the parties of an outcome MENTIONED; whoever asserts a
//!   duration, an outcome or a participant's initiative STATUS_SOURCE (a claim about the
//!   communication, as a status claim is). Every one of these is asked for in round two, except
//!   document authors, who are known only once the documents arrive in round two: they are
//!   listed by name only unless something else names them (as publishers are).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chancery_domain::communications::is_undated;
use chancery_proto::actors::v1::{Actor, HeldOffice, OfficeAnswer, OfficeQuery, TenureQualifier};
use chancery_proto::common::v1::FuzzyDate;
use chancery_proto::communications::v1::{
    Communication, CommunicationKind, Lifecycle, Modality, StatusAssertion, Verification,
};
use chancery_proto::gateway::v1::{
    CommunicationEntry, ContactPair, Episode, InvolvedActor, Involvement, KindCount, OfficeAtTime,
    ReadoutGroup, ResolvedHop, SourceUse, StatementEntry, StatusClaim, TimelineEntry,
    timeline_entry,
};
use chancery_proto::statements::v1::{
    AttributionHop, ContentMode, HopRelation, RelayedSpeech, SourceDocument, Statement,
};
use chancery_runtime::fuzzy_date::bounds_of;

/// Longest statement text quoted whole in a headline, in characters.
const HEADLINE_TEXT_CHARS: usize = 200;

/// The sort key of a fuzzy date: its earliest then its latest bound (microseconds). An unset
/// date sorts first and spans everything.
pub(crate) fn date_key(date: Option<&FuzzyDate>) -> (i64, i64) {
    date.map_or((i64::MIN, i64::MAX), bounds_of)
}

/// Whether a date is unknown on the timeline: unset, or with neither bound (a date the source
/// does not give). An interval open at one end still has the other bound and is dated.
pub(crate) fn is_unknown_date(date: Option<&FuzzyDate>) -> bool {
    date.is_none_or(|d| d.earliest.is_none() && d.latest.is_none())
}

/// The sort key of a placement ordinal: the ordinal when set (from 1), after every set one
/// when unset (0).
pub(crate) fn ordinal_key(ordinal: i32) -> i64 {
    if ordinal > 0 {
        i64::from(ordinal)
    } else {
        i64::MAX
    }
}

/// A communication's date on the timeline: `occurred` when set, else `planned`; the flag is true
/// when the date is the planned one.
pub(crate) fn communication_date(communication: &Communication) -> (Option<&FuzzyDate>, bool) {
    match (&communication.occurred, &communication.planned) {
        (Some(occurred), _) => (Some(occurred), false),
        (None, Some(planned)) => (Some(planned), true),
        (None, None) => (None, false),
    }
}

/// Which member a timeline position is: an index into the communications or the statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Member {
    /// `communications[i]`.
    Communication(usize),
    /// `statements[i]`.
    Statement(usize),
}

/// The keyset position of a timeline entry: (unknown date, earliest, latest, ordinal key,
/// subject). Also what a page token carries.
pub(crate) type SlotKey<'a> = (bool, i64, i64, i64, &'a str);

/// One member at its place on the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slot {
    /// True when its date is unknown (it goes after every dated entry).
    pub(crate) unknown_date: bool,
    /// Earliest bound of its date.
    pub(crate) earliest: i64,
    /// Latest bound of its date.
    pub(crate) latest: i64,
    /// Its placement ordinal in its document ([`ordinal_key`]); `i64::MAX` when it has none.
    pub(crate) ordinal: i64,
    /// Its resource name.
    pub(crate) subject: String,
    /// Which member it is.
    pub(crate) member: Member,
}

impl Slot {
    /// The keyset position of the slot.
    pub(crate) fn key(&self) -> SlotKey<'_> {
        (
            self.unknown_date,
            self.earliest,
            self.latest,
            self.ordinal,
            &self.subject,
        )
    }
}

/// Every member on the timeline, oldest first: dated entries by the earliest then the latest
/// bound of their date, then by placement ordinal (statements of one date keep the order their
/// document gives; entries without an ordinal after those with one), then by resource name;
/// entries of unknown date after all of them, by ordinal then name. The order is total, so pages
/// never overlap.
pub(crate) fn timeline_order(
    communications: &[Communication],
    statements: &[Statement],
) -> Vec<Slot> {
    let slot = |date: Option<&FuzzyDate>, ordinal: i32, subject: &str, member: Member| {
        let (earliest, latest) = date_key(date);
        Slot {
            unknown_date: is_unknown_date(date),
            earliest,
            latest,
            ordinal: ordinal_key(ordinal),
            subject: subject.to_owned(),
            member,
        }
    };
    let mut slots: Vec<Slot> = communications
        .iter()
        .enumerate()
        .map(|(i, c)| {
            slot(
                communication_date(c).0,
                0,
                &c.name,
                Member::Communication(i),
            )
        })
        .chain(statements.iter().enumerate().map(|(i, s)| {
            slot(
                s.said.as_ref(),
                s.placement.as_ref().map_or(0, |p| p.ordinal),
                &s.name,
                Member::Statement(i),
            )
        }))
        .collect();
    slots.sort_by(|a, b| a.key().cmp(&b.key()));
    slots
}

/// What the second round must ask for, every list deduplicated and sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Wanted {
    /// Every actor the members and the episode name.
    pub(crate) actors: Vec<String>,
    /// One question per distinct (actor, date): participants at their communication's date,
    /// speakers and co-speakers at the statement's `said`.
    pub(crate) offices: Vec<OfficeQuery>,
    /// Every document the members cite.
    pub(crate) documents: Vec<String>,
}

/// The date as asked about: its text and zone, without the source's own words (a date shared
/// by several members is asked once).
fn office_date(date: &FuzzyDate) -> FuzzyDate {
    FuzzyDate {
        as_reported: String::new(),
        ..date.clone()
    }
}

/// Calls `visit(speakers, addressees)` for every relayed speech, at every depth.
fn walk_relayed<'a>(relayed: &'a [RelayedSpeech], visit: &mut impl FnMut(&'a RelayedSpeech)) {
    for speech in relayed {
        visit(speech);
        walk_relayed(&speech.relayed, visit);
    }
}

/// The documents a communication cites: its sources, its topics' sources, its status log's,
/// its durations', its outcomes' and its initiative claims'.
fn communication_documents(communication: &Communication) -> impl Iterator<Item = &str> {
    communication
        .sources
        .iter()
        .chain(communication.topics.iter().flat_map(|t| &t.sources))
        .chain(
            communication
                .status_log
                .iter()
                .filter_map(|s| s.source.as_ref()),
        )
        .chain(
            communication
                .durations
                .iter()
                .filter_map(|d| d.source.as_ref()),
        )
        .chain(
            communication
                .outcomes
                .iter()
                .filter_map(|o| o.source.as_ref()),
        )
        .chain(
            communication
                .participants
                .iter()
                .filter_map(|p| p.initiative_source.as_ref()),
        )
        .map(|s| s.document.as_str())
}

/// Adds to `actors` those a communication names besides its participants: the actors its topics
/// mention, the asserters of its status entries, durations and outcomes, and outcome parties.
fn add_claim_actors(actors: &mut BTreeSet<String>, communication: &Communication) {
    for topic in &communication.topics {
        actors.extend(topic.mentioned_actors.iter().cloned());
    }
    for status in &communication.status_log {
        actors.insert(status.asserted_by.clone());
    }
    for duration in &communication.durations {
        actors.insert(duration.asserted_by.clone());
    }
    for outcome in &communication.outcomes {
        actors.extend(outcome.parties.iter().cloned());
        actors.insert(outcome.asserted_by.clone());
    }
}

/// Collects what the second round resolves from the first round's members.
pub(crate) fn wanted(
    episode: &Episode,
    communications: &[Communication],
    statements: &[Statement],
) -> Wanted {
    let mut actors = BTreeSet::new();
    let mut offices: BTreeMap<(String, String), FuzzyDate> = BTreeMap::new();
    let mut documents = BTreeSet::new();
    let mut ask_office = |actor: &str, date: Option<&FuzzyDate>| {
        if let Some(date) = date.filter(|d| !d.edtf.is_empty() && !actor.is_empty()) {
            offices
                .entry((actor.to_owned(), date.edtf.clone()))
                .or_insert_with(|| office_date(date));
        }
    };
    for communication in communications {
        let (date, _) = communication_date(communication);
        for participant in &communication.participants {
            actors.insert(participant.actor.clone());
            actors.insert(participant.initiative_asserted_by.clone());
            ask_office(&participant.actor, date);
        }
        add_claim_actors(&mut actors, communication);
        documents.extend(communication_documents(communication).map(str::to_owned));
    }
    for statement in statements {
        actors.insert(statement.speaker.clone());
        ask_office(&statement.speaker, statement.said.as_ref());
        for co_speaker in &statement.co_speakers {
            actors.insert(co_speaker.clone());
            ask_office(co_speaker, statement.said.as_ref());
        }
        actors.insert(statement.on_behalf_of.clone());
        actors.extend(statement.addressees.iter().cloned());
        actors.extend(statement.about_actors.iter().cloned());
        if let Some(readout) = &statement.readout {
            actors.insert(readout.issuer.clone());
            documents.insert(readout.document.clone());
        }
        for hop in &statement.attribution_chain {
            actors.insert(hop.reporter.clone());
            documents.insert(hop.document.clone());
        }
        // A relayed speaker's office at the date the relayed words were said, or, when the text
        // does not give it, at the statement's date.
        walk_relayed(&statement.relayed, &mut |speech| {
            let date = speech.said.as_ref().or(statement.said.as_ref());
            for speaker in &speech.speakers {
                ask_office(speaker, date);
            }
            actors.extend(speech.speakers.iter().cloned());
            actors.extend(speech.addressees.iter().cloned());
        });
    }
    actors.extend(episode.actors_of_interest.iter().cloned());
    actors.extend(episode.other_actors.iter().cloned());
    actors.remove("");
    documents.remove("");
    Wanted {
        actors: actors.into_iter().collect(),
        offices: offices
            .into_iter()
            .map(|((actor, _), date)| OfficeQuery {
                actor,
                date: Some(date),
            })
            .collect(),
        documents: documents.into_iter().collect(),
    }
}

/// How a tenure's qualifier is written after the title; empty when the post is held plainly.
fn qualifier_words(qualifier: i32) -> &'static str {
    match TenureQualifier::try_from(qualifier).unwrap_or(TenureQualifier::Unspecified) {
        TenureQualifier::Acting => "acting",
        TenureQualifier::Interim => "interim",
        TenureQualifier::Elect => "elect",
        TenureQualifier::Designate => "designate",
        TenureQualifier::Unspecified => "",
    }
}

/// A title with its qualifier, as people read it: `President of the United States (elect)`;
/// the title alone when held plainly.
pub(crate) fn office_label(title: &str, qualifier: i32) -> String {
    match qualifier_words(qualifier) {
        "" => title.to_owned(),
        words => format!("{title} ({words})"),
    }
}

/// The label of a held office: its post's title with its tenure's qualifier.
fn held_label(held: &HeldOffice) -> String {
    let title = held.post.as_ref().map_or("", |p| p.title.as_str());
    office_label(title, held.tenure.as_ref().map_or(0, |t| t.qualifier))
}

/// What the second round answered, keyed for assembly.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    /// Actors by resource name.
    pub(crate) actors: HashMap<String, Actor>,
    /// Offices by (actor, date as EDTF), with the date asked.
    pub(crate) offices: HashMap<(String, String), (FuzzyDate, Vec<HeldOffice>)>,
    /// Documents by resource name.
    pub(crate) documents: HashMap<String, SourceDocument>,
}

impl Resolved {
    /// Keys the answers; `answers` are those of `queries`, in order (a missing chunk leaves its
    /// queries unanswered).
    pub(crate) fn new(
        actors: Vec<Actor>,
        answers: impl IntoIterator<Item = (OfficeQuery, OfficeAnswer)>,
        documents: Vec<SourceDocument>,
    ) -> Self {
        Self {
            actors: actors.into_iter().map(|a| (a.name.clone(), a)).collect(),
            offices: answers
                .into_iter()
                .filter_map(|(query, answer)| {
                    let date = query.date?;
                    Some(((query.actor, date.edtf.clone()), (date, answer.offices)))
                })
                .collect(),
            documents: documents.into_iter().map(|d| (d.name.clone(), d)).collect(),
        }
    }

    /// The actor's display name, or empty when it could not be read.
    pub(crate) fn display_name(&self, actor: &str) -> String {
        self.actors
            .get(actor)
            .map(|a| a.display_name.clone())
            .unwrap_or_default()
    }

    /// A name to show people: the display name, else the resource name.
    pub(crate) fn label<'a>(&'a self, actor: &'a str) -> &'a str {
        match self.actors.get(actor) {
            Some(a) if !a.display_name.is_empty() => &a.display_name,
            _ => actor,
        }
    }

    /// The publisher of `document`, when the document could be read.
    fn publisher_of(&self, document: &str) -> Option<&str> {
        self.documents
            .get(document)
            .map(|d| d.publisher.as_str())
            .filter(|p| !p.is_empty())
    }

    /// The offices `actor` held on `date`, surely held ones first.
    fn offices_at(&self, actor: &str, date: Option<&FuzzyDate>) -> Vec<&HeldOffice> {
        let Some(date) = date else {
            return Vec::new();
        };
        let mut offices: Vec<&HeldOffice> = self
            .offices
            .get(&(actor.to_owned(), date.edtf.clone()))
            .map(|(_, offices)| offices.iter().collect())
            .unwrap_or_default();
        offices.sort_by_key(|o| !o.certain);
        offices
    }

    /// The office line of `actor` on `date`: the labels of the posts held (titles with their
    /// qualifier, so an elect or acting holder never reads as the holder), surely held ones
    /// first, those the fuzzy dates only allow marked `(possibly)`; empty when none is recorded.
    pub(crate) fn office_line(&self, actor: &str, date: Option<&FuzzyDate>) -> String {
        self.offices_at(actor, date)
            .into_iter()
            .filter(|held| held.post.as_ref().is_some_and(|p| !p.title.is_empty()))
            .map(|held| {
                let label = held_label(held);
                if held.certain {
                    label
                } else {
                    format!("{label} (possibly)")
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The readouts of the episode's statements and the other statements about each
/// communication, in timeline order.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Readouts {
    /// Per communication: each issuer and its statements, in order of first appearance.
    pub(crate) groups: HashMap<String, Vec<(String, Vec<String>)>>,
    /// Per communication: the statements about it that belong to no readout of it (including
    /// those naming it in `related_communications`).
    pub(crate) others: HashMap<String, Vec<String>>,
}

/// Groups statements (given in timeline order) by (communication, readout issuer). A readout
/// is of the statement's `communication`; a statement is listed among the other statements of
/// each of its `related_communications`.
pub(crate) fn group_readouts<'a>(statements: impl IntoIterator<Item = &'a Statement>) -> Readouts {
    let mut readouts = Readouts::default();
    for statement in statements {
        if statement.communication.is_empty() {
            continue;
        }
        match statement.readout.as_ref().filter(|r| !r.issuer.is_empty()) {
            Some(readout) => {
                let groups = readouts
                    .groups
                    .entry(statement.communication.clone())
                    .or_default();
                match groups
                    .iter_mut()
                    .find(|(issuer, _)| *issuer == readout.issuer)
                {
                    Some((_, members)) => members.push(statement.name.clone()),
                    None => groups.push((readout.issuer.clone(), vec![statement.name.clone()])),
                }
            }
            None => readouts
                .others
                .entry(statement.communication.clone())
                .or_default()
                .push(statement.name.clone()),
        }
        let mut related: Vec<&String> = Vec::new();
        for communication in &statement.related_communications {
            if !communication.is_empty()
                && *communication != statement.communication
                && !related.contains(&communication)
            {
                related.push(communication);
                readouts
                    .others
                    .entry(communication.clone())
                    .or_default()
                    .push(statement.name.clone());
            }
        }
    }
    readouts
}

/// The readout groups of one communication, with issuer names, in the order of their first
/// statement on the timeline.
fn readout_groups(
    groups: Option<&Vec<(String, Vec<String>)>>,
    resolved: &Resolved,
) -> Vec<ReadoutGroup> {
    groups
        .into_iter()
        .flatten()
        .map(|(issuer, statements)| ReadoutGroup {
            issuer: issuer.clone(),
            issuer_display_name: resolved.display_name(issuer),
            statements: statements.clone(),
        })
        .collect()
}

/// Whether a communication counts as a contact: its computed lifecycle is HELD or IN_PROGRESS
/// and no party denied it (verification neither DENIED_BY_PARTY nor DISPUTED).
pub(crate) fn is_held(communication: &Communication) -> bool {
    matches!(
        Lifecycle::try_from(communication.lifecycle),
        Ok(Lifecycle::Held | Lifecycle::InProgress)
    ) && !is_denied(communication)
}

/// Whether a party denied the communication: verification DENIED_BY_PARTY or DISPUTED.
pub(crate) fn is_denied(communication: &Communication) -> bool {
    matches!(
        Verification::try_from(communication.verification),
        Ok(Verification::DeniedByParty | Verification::Disputed)
    )
}

/// The contact pairs of the communications (given oldest first): every pair of distinct
/// participants of each. Held communications ([`is_held`]) are counted overall and by kind;
/// the others go to `not_held`, so a pair with only those has count 0. Ordered by count
/// (highest first) then by the two resource names.
pub(crate) fn contact_pairs<'a>(
    communications: impl IntoIterator<Item = &'a Communication>,
    resolved: &Resolved,
) -> Vec<ContactPair> {
    #[derive(Default)]
    struct Tally<'c> {
        by_kind: BTreeMap<i32, i32>,
        held: Vec<&'c str>,
        not_held: Vec<&'c str>,
    }
    let mut pairs: HashMap<(&str, &str), Tally<'_>> = HashMap::new();
    for communication in communications {
        let held = is_held(communication);
        let mut actors: Vec<&str> = communication
            .participants
            .iter()
            .map(|p| p.actor.as_str())
            .filter(|a| !a.is_empty())
            .collect();
        actors.sort_unstable();
        actors.dedup();
        for (i, a) in actors.iter().enumerate() {
            for b in &actors[i + 1..] {
                let tally = pairs.entry((a, b)).or_default();
                if held {
                    *tally.by_kind.entry(communication.kind).or_default() += 1;
                    tally.held.push(&communication.name);
                } else {
                    tally.not_held.push(&communication.name);
                }
            }
        }
    }
    let owned = |names: Vec<&str>| names.into_iter().map(str::to_owned).collect();
    let mut contacts: Vec<ContactPair> = pairs
        .into_iter()
        .map(|((a, b), tally)| ContactPair {
            actor_a: a.to_owned(),
            actor_b: b.to_owned(),
            actor_a_display_name: resolved.display_name(a),
            actor_b_display_name: resolved.display_name(b),
            count: tally.held.len() as i32,
            by_kind: tally
                .by_kind
                .into_iter()
                .map(|(kind, count)| KindCount { kind, count })
                .collect(),
            communications: owned(tally.held),
            not_held: owned(tally.not_held),
        })
        .collect();
    contacts.sort_by(|x, y| {
        y.count
            .cmp(&x.count)
            .then_with(|| (&x.actor_a, &x.actor_b).cmp(&(&y.actor_a, &y.actor_b)))
    });
    contacts
}

/// How a reporter got the statement from the next layer, as words that join the two names.
fn relation_words(relation: i32) -> &'static str {
    match HopRelation::try_from(relation).unwrap_or(HopRelation::Unspecified) {
        HopRelation::Reported => "reporting",
        HopRelation::Citing => "citing",
        HopRelation::Quoting => "quoting",
        HopRelation::AccordingTo => "according to",
        HopRelation::Told => "told by",
        HopRelation::RepublishedFrom => "republishing",
        HopRelation::TranslatedFrom => "translating",
        HopRelation::Unspecified => "from",
    }
}

/// One hop as the attribution sentence names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HopName<'a> {
    /// The reporter's resource name (empty for an unnamed source).
    pub(crate) reporter: &'a str,
    /// How the hop is named: the reporter's name, with the unnamed source's words when the text
    /// gives some (`TASS (“reports”)`), or those words alone (`local media`).
    pub(crate) name: String,
    /// The hop's relation.
    pub(crate) relation: i32,
}

/// How a hop is named in the sentence: see [`HopName::name`]; `an unnamed source` when the
/// text gives neither a reporter nor words for it.
fn hop_name(hop: &AttributionHop, resolved: &Resolved) -> String {
    match (hop.reporter.is_empty(), hop.unnamed_source.is_empty()) {
        (false, true) => resolved.label(&hop.reporter).to_owned(),
        (false, false) => format!(
            "{} (“{}”)",
            resolved.label(&hop.reporter),
            hop.unnamed_source
        ),
        (true, false) => hop.unnamed_source.clone(),
        (true, true) => "an unnamed source".to_owned(),
    }
}

/// The chain as a sentence, from the document we hold to the speaker: each reporter's name,
/// joined to the next layer's by its relation, such as `Publisher of the seed article, reporting
/// TASS, citing BFM TV, told by Anne-Claire Legendre`. When the last reporter is the speaker
/// itself (an outlet's own words), the sentence ends with it.
pub(crate) fn attribution_sentence(
    hops: &[HopName<'_>],
    speaker: &str,
    speaker_name: &str,
) -> String {
    let mut sentence = String::new();
    for (i, hop) in hops.iter().enumerate() {
        if i == 0 {
            sentence.push_str(&hop.name);
        }
        let next_name = match hops.get(i + 1) {
            Some(next) => next.name.as_str(),
            None if !hop.reporter.is_empty() && hop.reporter == speaker => break,
            None => speaker_name,
        };
        sentence.push_str(", ");
        sentence.push_str(relation_words(hop.relation));
        sentence.push(' ');
        sentence.push_str(next_name);
    }
    if sentence.is_empty() {
        sentence.push_str(speaker_name);
    }
    sentence
}

/// The resolved chain of a statement: each hop with its reporter's name and its document's
/// title.
fn resolved_chain(chain: &[AttributionHop], resolved: &Resolved) -> Vec<ResolvedHop> {
    chain
        .iter()
        .map(|hop| ResolvedHop {
            hop: Some(hop.clone()),
            reporter_display_name: resolved.display_name(&hop.reporter),
            document_title: resolved
                .documents
                .get(&hop.document)
                .map(|d| d.title.clone())
                .unwrap_or_default(),
        })
        .collect()
}

/// What a communication kind is called in a headline.
fn kind_label(kind: i32) -> &'static str {
    match CommunicationKind::try_from(kind).unwrap_or(CommunicationKind::Unspecified) {
        CommunicationKind::PhoneCall => "Phone call",
        CommunicationKind::VideoCall => "Video call",
        CommunicationKind::Meeting => "Meeting",
        CommunicationKind::Visit => "Visit",
        CommunicationKind::Summit => "Summit",
        CommunicationKind::Letter => "Letter",
        CommunicationKind::Message => "Message",
        CommunicationKind::PressConference => "Press conference",
        CommunicationKind::Notification => "Notification",
        CommunicationKind::Talks => "Talks",
        CommunicationKind::Other | CommunicationKind::Unspecified => "Communication",
    }
}

/// What a lifecycle is called in a headline; empty when unset.
fn lifecycle_label(lifecycle: i32) -> &'static str {
    match Lifecycle::try_from(lifecycle).unwrap_or(Lifecycle::Unspecified) {
        Lifecycle::Proposed => "proposed",
        Lifecycle::Requested => "requested",
        Lifecycle::Expected => "expected",
        Lifecycle::Scheduled => "scheduled",
        Lifecycle::Held => "held",
        Lifecycle::Postponed => "postponed",
        Lifecycle::Cancelled => "cancelled",
        Lifecycle::InProgress => "in progress",
        Lifecycle::Unspecified => "",
    }
}

/// A lifecycle word as firmly as the claim makes it: `possibly held` when hedged, `due to be
/// held` when stated as expected (a lifecycle that is already a plan, such as `expected` or
/// `scheduled`, stays as it is); empty when no lifecycle is set.
fn modal_lifecycle(lifecycle: i32, modality: i32) -> String {
    let word = lifecycle_label(lifecycle);
    if word.is_empty() {
        return String::new();
    }
    let planned = matches!(
        Lifecycle::try_from(lifecycle),
        Ok(Lifecycle::Proposed | Lifecycle::Requested | Lifecycle::Expected | Lifecycle::Scheduled)
    );
    match Modality::try_from(modality).unwrap_or(Modality::Unspecified) {
        Modality::Hedged => format!("possibly {word}"),
        Modality::Expected if !planned => format!("due to be {word}"),
        _ => word.to_owned(),
    }
}

/// The order in which the computed state takes a status log: dated entries by the earliest
/// bound of `as_of` (an interval open at its start first), then undated ones (see
/// [`is_undated`]), each group in the order appended.
pub(crate) fn status_order(log: &[StatusAssertion]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..log.len()).collect();
    order.sort_by_key(|&i| {
        let status = &log[i];
        if is_undated(status) {
            (true, 0)
        } else {
            (false, date_key(status.as_of.as_ref()).0)
        }
    });
    order
}

/// The claims of a communication's status log, in [`status_order`], each with its asserter's
/// display name, else its document's publisher's (when both could be read), else empty.
pub(crate) fn status_claims(
    communication: &Communication,
    resolved: &Resolved,
) -> Vec<StatusClaim> {
    status_order(&communication.status_log)
        .into_iter()
        .map(|i| {
            let status = &communication.status_log[i];
            let asserted_by_display_name = if status.asserted_by.is_empty() {
                status
                    .source
                    .as_ref()
                    .and_then(|s| resolved.publisher_of(&s.document))
                    .map(|p| resolved.display_name(p))
                    .unwrap_or_default()
            } else {
                resolved.display_name(&status.asserted_by)
            };
            StatusClaim {
                status: Some(status.clone()),
                asserted_by_display_name,
            }
        })
        .collect()
}

/// Who makes a claim, to name in words: the asserter (its display name, else its resource
/// name), else the publisher of the claim's document when it could be read; empty otherwise.
fn claimant<'a>(status: &'a StatusAssertion, resolved: &'a Resolved) -> &'a str {
    if !status.asserted_by.is_empty() {
        return resolved.label(&status.asserted_by);
    }
    status
        .source
        .as_ref()
        .and_then(|s| resolved.publisher_of(&s.document))
        .map_or("", |p| resolved.label(p))
}

/// One status claim in words, naming who makes it: `reported held by Kremlin press service`,
/// `denied by Élysée`, `expected, confirmed by Anne-Claire Legendre`, `possibly held (TASS)`,
/// `cancelled (Kremlin press service; reason: the situation on the ground)`. A claim with a
/// verification names its claimant with `by`; one asserting a lifecycle only names it in
/// parentheses (`held by X` would read as X holding it).
pub(crate) fn claim_words(status: &StatusAssertion, who: &str) -> String {
    let lifecycle = modal_lifecycle(status.lifecycle, status.modality);
    let hedged = status.modality == Modality::Hedged as i32;
    let verification =
        Verification::try_from(status.verification).unwrap_or(Verification::Unspecified);
    let joined = |before: &str, after: &str| match (before.is_empty(), after.is_empty()) {
        (true, _) => after.to_owned(),
        (_, true) => before.to_owned(),
        _ => format!("{before}, {after}"),
    };
    let possibly = |words: &str| {
        if hedged && lifecycle.is_empty() {
            format!("possibly {words}")
        } else {
            words.to_owned()
        }
    };
    let mut remarks = Vec::new();
    let (what, by) = match verification {
        Verification::Unspecified => (lifecycle.clone(), None),
        Verification::ReportedUnconfirmed => (
            possibly(format!("reported {lifecycle}").trim_end()),
            Some("by"),
        ),
        Verification::ConfirmedByOneParty => {
            (joined(&lifecycle, &possibly("confirmed")), Some("by"))
        }
        Verification::ConfirmedByAllParties => (
            joined(&lifecycle, &possibly("confirmed for all parties")),
            Some("by"),
        ),
        Verification::DeniedByParty | Verification::Disputed => {
            if !lifecycle.is_empty() {
                remarks.push(format!("as {lifecycle}"));
            }
            (possibly("denied"), Some("by"))
        }
        Verification::NoComment => (joined(&lifecycle, "no comment"), Some("from")),
    };
    let what = if what.is_empty() {
        "status claim".to_owned()
    } else {
        what
    };
    let mut words = what;
    let mut before = Vec::new();
    match by {
        Some(by) if !who.is_empty() => {
            words.push(' ');
            words.push_str(by);
            words.push(' ');
            words.push_str(who);
        }
        None if !who.is_empty() => before.push(who.to_owned()),
        _ => {}
    }
    before.append(&mut remarks);
    let mut remarks = before;
    if !status.reason.is_empty() {
        remarks.push(format!("reason: {}", status.reason));
    }
    if !remarks.is_empty() {
        words.push_str(&format!(" ({})", remarks.join("; ")));
    }
    words
}

/// What is known of a communication's status, in words: each claim of its log in
/// [`status_order`], as [`claim_words`], joined by `; `, such as `reported held by Kremlin
/// press service; denied by Élysée`. Empty when the log is.
pub(crate) fn status_summary(communication: &Communication, resolved: &Resolved) -> String {
    status_order(&communication.status_log)
        .into_iter()
        .map(|i| {
            let status = &communication.status_log[i];
            claim_words(status, claimant(status, resolved))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The computed lifecycle as firmly as the claim that set it makes it: the lifecycle word,
/// `possibly …` when the last claim setting a lifecycle (in [`status_order`]) is hedged.
fn computed_lifecycle_words(communication: &Communication) -> String {
    let log = &communication.status_log;
    let modality = status_order(log)
        .into_iter()
        .rev()
        .map(|i| &log[i])
        .find(|s| s.lifecycle != Lifecycle::Unspecified as i32)
        .filter(|s| s.lifecycle == communication.lifecycle)
        .map_or(0, |s| s.modality);
    modal_lifecycle(communication.lifecycle, modality)
}

/// A communication's headline, such as `Phone call: Emmanuel Macron, Vladimir Putin — expected`:
/// its kind, its participants' names, and its computed lifecycle (`possibly held` when the claim
/// that set it is hedged), or `planned` when only its planned date is known and no lifecycle was
/// asserted. A communication a party denied (verification DENIED_BY_PARTY or DISPUTED) never
/// reads as held: `— reported held, denied`.
pub(crate) fn communication_headline(
    communication: &Communication,
    planned: bool,
    resolved: &Resolved,
) -> String {
    let participants: Vec<&str> = communication
        .participants
        .iter()
        .map(|p| resolved.label(&p.actor))
        .collect();
    let mut headline = format!(
        "{}: {}",
        kind_label(communication.kind),
        participants.join(", ")
    );
    let lifecycle = computed_lifecycle_words(communication);
    let status = match (lifecycle.as_str(), is_denied(communication)) {
        ("", false) if planned => "planned".to_owned(),
        ("", true) if planned => "planned, denied".to_owned(),
        ("", true) => "denied".to_owned(),
        (lifecycle, true) => format!("reported {lifecycle}, denied"),
        (lifecycle, false) => lifecycle.to_owned(),
    };
    if !status.is_empty() {
        headline.push_str(" — ");
        headline.push_str(&status);
    }
    headline
}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text.to_owned(),
    }
}

/// The quoted passages of a statement's text (code-point offsets, clamped to the text).
fn quoted_passages(text: &str, spans: &[(i32, i32)]) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    spans
        .iter()
        .filter_map(|&(start, end)| {
            let start = usize::try_from(start).ok()?.min(chars.len());
            let end = usize::try_from(end).ok()?.min(chars.len());
            (start < end).then(|| chars[start..end].iter().collect())
        })
        .collect()
}

/// A statement's headline: who spoke (with the office held then and any co-speakers) and what
/// was said — the quoted words in quotation marks (the whole text when verbatim), otherwise
/// the text with its mode, such as `Vladimir Putin (President of the Russian Federation),
/// summarised: Putin shared details …`.
pub(crate) fn statement_headline(
    statement: &Statement,
    speaker_office: &str,
    resolved: &Resolved,
) -> String {
    let mut who = resolved.label(&statement.speaker).to_owned();
    if !speaker_office.is_empty() {
        who.push_str(&format!(" ({speaker_office})"));
    }
    if !statement.co_speakers.is_empty() {
        let others: Vec<&str> = statement
            .co_speakers
            .iter()
            .map(|c| resolved.label(c))
            .collect();
        who.push_str(" with ");
        who.push_str(&others.join(", "));
    }
    let Some(content) = &statement.content else {
        return who;
    };
    let mode = ContentMode::try_from(content.mode).unwrap_or(ContentMode::Unspecified);
    let spans: Vec<(i32, i32)> = content
        .quoted_spans
        .iter()
        .map(|s| (s.start, s.end))
        .collect();
    let quotes = quoted_passages(&content.text, &spans);
    if mode == ContentMode::Verbatim {
        return format!("{who}: “{}”", shorten(&content.text, HEADLINE_TEXT_CHARS));
    }
    if !quotes.is_empty() {
        let quotes: Vec<String> = quotes.iter().map(|q| format!("“{q}”")).collect();
        return format!("{who}: {}", quotes.join(" … "));
    }
    let manner = match mode {
        ContentMode::Paraphrase => ", paraphrased",
        ContentMode::Summary => ", summarised",
        ContentMode::Characterization => ", characterised",
        _ => "",
    };
    format!(
        "{who}{manner}: {}",
        shorten(&content.text, HEADLINE_TEXT_CHARS)
    )
}

/// The timeline entry of a communication.
pub(crate) fn communication_entry(
    communication: &Communication,
    readouts: &Readouts,
    resolved: &Resolved,
) -> TimelineEntry {
    let (when, planned) = communication_date(communication);
    TimelineEntry {
        when: when.cloned(),
        headline: communication_headline(communication, planned, resolved),
        subject: communication.name.clone(),
        entry: Some(timeline_entry::Entry::Communication(CommunicationEntry {
            communication: Some(communication.clone()),
            planned,
            readouts: readout_groups(readouts.groups.get(&communication.name), resolved),
            other_statements: readouts
                .others
                .get(&communication.name)
                .cloned()
                .unwrap_or_default(),
            status_claims: status_claims(communication, resolved),
            status_summary: status_summary(communication, resolved),
        })),
    }
}

/// The timeline entry of a statement.
pub(crate) fn statement_entry(statement: &Statement, resolved: &Resolved) -> TimelineEntry {
    let speaker_office = resolved.office_line(&statement.speaker, statement.said.as_ref());
    let hops: Vec<HopName<'_>> = statement
        .attribution_chain
        .iter()
        .map(|h| HopName {
            reporter: &h.reporter,
            name: hop_name(h, resolved),
            relation: h.relation,
        })
        .collect();
    let attribution = attribution_sentence(
        &hops,
        &statement.speaker,
        resolved.label(&statement.speaker),
    );
    TimelineEntry {
        when: statement.said.clone(),
        headline: statement_headline(statement, &speaker_office, resolved),
        subject: statement.name.clone(),
        entry: Some(timeline_entry::Entry::Statement(StatementEntry {
            statement: Some(statement.clone()),
            speaker_display_name: resolved.display_name(&statement.speaker),
            speaker_office,
            chain: resolved_chain(&statement.attribution_chain, resolved),
            attribution,
        })),
    }
}

/// How the actors a communication names take part in it: participants, actors its topics and
/// outcomes mention, and the sources of its initiative, status, duration and outcome claims.
fn communication_involvements(
    communication: &Communication,
    add: &mut impl FnMut(&str, Involvement),
) {
    for participant in &communication.participants {
        add(&participant.actor, Involvement::Participant);
        add(
            &participant.initiative_asserted_by,
            Involvement::StatusSource,
        );
    }
    for topic in &communication.topics {
        for actor in &topic.mentioned_actors {
            add(actor, Involvement::Mentioned);
        }
    }
    for status in &communication.status_log {
        add(&status.asserted_by, Involvement::StatusSource);
    }
    for duration in &communication.durations {
        add(&duration.asserted_by, Involvement::StatusSource);
    }
    for outcome in &communication.outcomes {
        for party in &outcome.parties {
            add(party, Involvement::Mentioned);
        }
        add(&outcome.asserted_by, Involvement::StatusSource);
    }
}

/// How every actor takes part in the episode, from the members, the documents they cite and the
/// episode's actors of interest and other actors (see the module documentation for the new
/// fields' involvements).
pub(crate) fn involvements(
    episode: &Episode,
    communications: &[Communication],
    statements: &[Statement],
    documents: &[&SourceDocument],
) -> BTreeMap<String, BTreeSet<Involvement>> {
    let mut involved: BTreeMap<String, BTreeSet<Involvement>> = BTreeMap::new();
    let mut add = |actor: &str, how: Involvement| {
        if !actor.is_empty() {
            involved.entry(actor.to_owned()).or_default().insert(how);
        }
    };
    for communication in communications {
        communication_involvements(communication, &mut add);
    }
    for statement in statements {
        add(&statement.speaker, Involvement::Speaker);
        for actor in &statement.co_speakers {
            add(actor, Involvement::Speaker);
        }
        add(&statement.on_behalf_of, Involvement::PrincipalOfSpeaker);
        for actor in &statement.addressees {
            add(actor, Involvement::Addressee);
        }
        for actor in &statement.about_actors {
            add(actor, Involvement::Mentioned);
        }
        if let Some(readout) = &statement.readout {
            add(&readout.issuer, Involvement::ReadoutIssuer);
        }
        for hop in &statement.attribution_chain {
            add(&hop.reporter, Involvement::Reporter);
        }
        walk_relayed(&statement.relayed, &mut |speech| {
            for actor in &speech.speakers {
                add(actor, Involvement::RelayedSpeaker);
            }
            for actor in &speech.addressees {
                add(actor, Involvement::Addressee);
            }
        });
    }
    for document in documents {
        add(&document.publisher, Involvement::Publisher);
        for asset in &document.media_assets {
            add(&asset.credit_actor, Involvement::MediaCredit);
        }
        for author in &document.author_actors {
            add(author, Involvement::Author);
        }
    }
    for actor in &episode.actors_of_interest {
        add(actor, Involvement::OfInterest);
    }
    for actor in &episode.other_actors {
        add(actor, Involvement::Recorded);
    }
    involved
}

/// The involved actors: each as the actors service has it (by name only, kind unset, when it
/// could not be read), with its involvements and its offices at the episode's dates, ordered by
/// display name (actors known by name only last), then name.
pub(crate) fn involved_actors(
    involvements: BTreeMap<String, BTreeSet<Involvement>>,
    resolved: &Resolved,
) -> Vec<InvolvedActor> {
    let mut offices: HashMap<&str, Vec<OfficeAtTime>> = HashMap::new();
    for ((actor, _), (date, held)) in &resolved.offices {
        for office in held {
            let tenure = office.tenure.as_ref();
            offices
                .entry(actor.as_str())
                .or_default()
                .push(OfficeAtTime {
                    date: Some(date.clone()),
                    title: office
                        .post
                        .as_ref()
                        .map(|p| p.title.clone())
                        .unwrap_or_default(),
                    post: tenure.map(|t| t.post.clone()).unwrap_or_default(),
                    tenure: tenure.map(|t| t.name.clone()).unwrap_or_default(),
                    certain: office.certain,
                    qualifier: tenure.map_or(0, |t| t.qualifier),
                    label: held_label(office),
                });
        }
    }
    let mut actors: Vec<InvolvedActor> = involvements
        .into_iter()
        .map(|(name, how)| {
            let mut at_times = offices.remove(name.as_str()).unwrap_or_default();
            at_times.sort_by(|a, b| {
                let key = |o: &OfficeAtTime| {
                    let (earliest, latest) = date_key(o.date.as_ref());
                    (
                        earliest,
                        latest,
                        o.date.as_ref().map(|d| d.edtf.clone()),
                        o.tenure.clone(),
                    )
                };
                key(a).cmp(&key(b))
            });
            InvolvedActor {
                actor: Some(resolved.actors.get(&name).cloned().unwrap_or(Actor {
                    name,
                    ..Default::default()
                })),
                involvements: how.into_iter().map(|i| i as i32).collect(),
                offices: at_times,
            }
        })
        .collect();
    actors.sort_by(|a, b| {
        let key = |i: &InvolvedActor| {
            let actor = i.actor.as_ref().expect("every involved actor is set");
            (
                actor.display_name.is_empty(),
                actor.display_name.to_lowercase(),
                actor.name.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    actors
}

/// The source documents: every document cited (by name only when it could not be read), with
/// the statements and communications citing it in timeline order, ordered by name. A
/// communication cites the documents of its sources, topics, status log, durations, outcomes and
/// initiative claims.
pub(crate) fn sources(
    cited: &[String],
    timeline: &[Slot],
    communications: &[Communication],
    statements: &[Statement],
    resolved: &Resolved,
) -> Vec<SourceUse> {
    let mut uses: BTreeMap<&str, SourceUse> = cited
        .iter()
        .map(|name| {
            let document =
                resolved
                    .documents
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| SourceDocument {
                        name: name.clone(),
                        ..Default::default()
                    });
            let publisher_display_name = resolved.display_name(&document.publisher);
            (
                name.as_str(),
                SourceUse {
                    document: Some(document),
                    publisher_display_name,
                    statements: Vec::new(),
                    communications: Vec::new(),
                },
            )
        })
        .collect();
    for slot in timeline {
        let (cites, is_statement): (BTreeSet<&str>, bool) = match slot.member {
            Member::Communication(i) => {
                (communication_documents(&communications[i]).collect(), false)
            }
            Member::Statement(i) => {
                let s = &statements[i];
                let cites = s
                    .attribution_chain
                    .iter()
                    .map(|h| h.document.as_str())
                    .chain(s.readout.iter().map(|r| r.document.as_str()))
                    .collect();
                (cites, true)
            }
        };
        for document in cites {
            if let Some(used) = uses.get_mut(document) {
                let list = if is_statement {
                    &mut used.statements
                } else {
                    &mut used.communications
                };
                list.push(slot.subject.clone());
            }
        }
    }
    uses.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_proto::actors::v1::{Post, Tenure};
    use chancery_proto::communications::v1::{DurationClaim, Outcome, Participant};
    use chancery_proto::statements::v1::{
        Content, DocumentPlacement, DocumentSection, QuotedSpan, Readout,
    };
    use chancery_runtime::errors::Violations;
    use chancery_runtime::fuzzy_date::normalize;

    fn date(edtf: &str) -> Option<FuzzyDate> {
        let mut violations = Violations::default();
        let date = normalize(
            &mut violations,
            "date",
            &FuzzyDate {
                edtf: edtf.into(),
                ..Default::default()
            },
        );
        assert!(violations.is_empty(), "{violations}");
        date
    }

    fn call(
        name: &str,
        occurred: Option<&str>,
        planned: Option<&str>,
        actors: &[&str],
    ) -> Communication {
        Communication {
            name: format!("communications/{name}"),
            kind: CommunicationKind::PhoneCall as i32,
            occurred: occurred.and_then(date),
            planned: planned.and_then(date),
            participants: actors
                .iter()
                .map(|a| Participant {
                    actor: format!("actors/{a}"),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn said(name: &str, when: &str) -> Statement {
        Statement {
            name: format!("statements/{name}"),
            speaker: "actors/x".into(),
            said: date(when),
            ..Default::default()
        }
    }

    fn person(name: &str, display: &str) -> Actor {
        Actor {
            name: name.into(),
            display_name: display.into(),
            ..Default::default()
        }
    }

    #[test]
    fn fuzzy_dates_order_by_earliest_then_latest_then_name() {
        let communications = vec![
            call("c-29", None, Some("2022-03-29"), &["a", "b"]),
            call("c-12", Some("2022-03-12"), Some("2022-03-01"), &["a", "b"]),
        ];
        let statements = vec![
            said("s-month", "2022-03"),
            said("s-interval", "2022-03-23/2022-03-28"),
            said("s-b", "2022-03-12"),
            said("s-a", "2022-03-12"),
            said("s-day-12-noon", "2022-03-12T12:00Z"),
            said("s-12-to-14", "2022-03-12/2022-03-14"),
        ];
        let order: Vec<String> = timeline_order(&communications, &statements)
            .into_iter()
            .map(|s| s.subject)
            .collect();
        assert_eq!(
            order,
            [
                // The month starts first. Then 12 March: equal bounds fall back to names, a
                // span starting the same day but ending later comes after them, and noon,
                // which starts later, after that.
                "statements/s-month",
                "communications/c-12",
                "statements/s-a",
                "statements/s-b",
                "statements/s-12-to-14",
                "statements/s-day-12-noon",
                "statements/s-interval",
                "communications/c-29",
            ]
        );
        assert!(communication_date(&communications[0]).1, "planned only");
        assert!(!communication_date(&communications[1]).1, "occurred wins");
    }

    /// A communication whose computed state is `lifecycle` and `verification`.
    fn with_status(
        mut communication: Communication,
        lifecycle: Lifecycle,
        verification: Verification,
    ) -> Communication {
        communication.lifecycle = lifecycle as i32;
        communication.verification = verification as i32;
        communication
    }

    #[test]
    fn contacts_count_held_communications_only_and_list_the_others_as_not_held() {
        use Lifecycle::{Cancelled, Expected, Held, InProgress, Unspecified};
        use Verification::{ConfirmedByOneParty, DeniedByParty, Disputed};
        let v0 = Verification::Unspecified;
        let communications = vec![
            with_status(
                call(
                    "c1",
                    Some("2022-03-12"),
                    None,
                    &["macron", "scholz", "putin"],
                ),
                Held,
                v0,
            ),
            with_status(
                call("c2", Some("2022-03-22"), None, &["putin", "macron"]),
                InProgress,
                ConfirmedByOneParty,
            ),
            with_status(
                call(
                    "c3",
                    None,
                    Some("2022-03-29"),
                    &["macron", "putin", "macron"],
                ),
                Expected,
                ConfirmedByOneParty,
            ),
            with_status(
                call("c4", Some("2022-03-30"), None, &["macron", "putin"]),
                Held,
                Disputed,
            ),
            with_status(
                call("c5", Some("2022-03-31"), None, &["macron", "putin"]),
                Held,
                DeniedByParty,
            ),
            with_status(
                call("c6", Some("2022-04-01"), None, &["macron", "zelensky"]),
                Cancelled,
                v0,
            ),
            with_status(
                call("c7", Some("2022-04-02"), None, &["macron", "zelensky"]),
                Unspecified,
                v0,
            ),
        ];
        let resolved = Resolved::new(
            vec![person("actors/macron", "Emmanuel Macron")],
            Vec::new(),
            Vec::new(),
        );
        let contacts = contact_pairs(&communications, &resolved);
        type Row<'a> = (&'a str, &'a str, i32, Vec<&'a str>, Vec<&'a str>);
        let summary: Vec<Row<'_>> = contacts
            .iter()
            .map(|c| {
                (
                    c.actor_a.as_str(),
                    c.actor_b.as_str(),
                    c.count,
                    c.communications.iter().map(String::as_str).collect(),
                    c.not_held.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "actors/macron",
                    "actors/putin",
                    2,
                    vec!["communications/c1", "communications/c2"],
                    vec![
                        "communications/c3",
                        "communications/c4",
                        "communications/c5"
                    ],
                ),
                (
                    "actors/macron",
                    "actors/scholz",
                    1,
                    vec!["communications/c1"],
                    vec![]
                ),
                (
                    "actors/putin",
                    "actors/scholz",
                    1,
                    vec!["communications/c1"],
                    vec![]
                ),
                (
                    "actors/macron",
                    "actors/zelensky",
                    0,
                    vec![],
                    vec!["communications/c6", "communications/c7"],
                ),
            ]
        );
        assert_eq!(contacts[0].actor_a_display_name, "Emmanuel Macron");
        assert_eq!(
            contacts[0].actor_b_display_name, "",
            "unknown names stay empty"
        );
        assert_eq!(
            contacts[0].by_kind,
            [KindCount {
                kind: CommunicationKind::PhoneCall as i32,
                count: 2
            }],
            "only held ones are counted by kind"
        );
        assert!(contacts[3].by_kind.is_empty());
    }

    #[test]
    fn readouts_group_by_communication_and_issuer_in_timeline_order() {
        let readout = |name: &str, call: &str, issuer: &str| Statement {
            name: format!("statements/{name}"),
            communication: format!("communications/{call}"),
            readout: (!issuer.is_empty()).then(|| Readout {
                issuer: format!("actors/{issuer}"),
                document: String::new(),
            }),
            ..Default::default()
        };
        let statements = vec![
            readout("k1", "c12", "kremlin"),
            readout("g1", "c12", "german"),
            readout("k2", "c12", "kremlin"),
            readout("o1", "c12", ""),
            readout("k3", "c22", "kremlin"),
            Statement {
                name: "statements/free".into(),
                ..Default::default()
            },
        ];
        let readouts = group_readouts(&statements);
        assert_eq!(
            readouts.groups["communications/c12"],
            [
                (
                    "actors/kremlin".to_owned(),
                    vec!["statements/k1".to_owned(), "statements/k2".to_owned()]
                ),
                ("actors/german".to_owned(), vec!["statements/g1".to_owned()]),
            ]
        );
        assert_eq!(readouts.groups["communications/c22"].len(), 1);
        assert_eq!(readouts.others["communications/c12"], ["statements/o1"]);
        assert_eq!(
            readouts.others.len(),
            1,
            "a statement about no call is no readout"
        );

        let resolved = Resolved::new(
            vec![
                person("actors/kremlin", "Kremlin press service"),
                person("actors/german", "a German spokesperson"),
            ],
            Vec::new(),
            Vec::new(),
        );
        let groups = readout_groups(readouts.groups.get("communications/c12"), &resolved);
        let issuers: Vec<(&str, usize)> = groups
            .iter()
            .map(|g| (g.issuer_display_name.as_str(), g.statements.len()))
            .collect();
        assert_eq!(
            issuers,
            [("Kremlin press service", 2), ("a German spokesperson", 1)]
        );
    }

    #[test]
    fn attribution_reads_from_the_document_to_the_speaker() {
        let hop = |reporter: &'static str, name: &str, relation: HopRelation| HopName {
            reporter,
            name: name.to_owned(),
            relation: relation as i32,
        };
        let chain = [
            hop(
                "actors/pub",
                "Publisher of the seed article",
                HopRelation::Reported,
            ),
            hop("actors/tass", "TASS", HopRelation::Citing),
            hop("actors/bfm", "BFM TV", HopRelation::Told),
        ];
        assert_eq!(
            attribution_sentence(&chain, "actors/legendre", "Anne-Claire Legendre"),
            "Publisher of the seed article, reporting TASS, citing BFM TV, told by Anne-Claire Legendre"
        );
        // An outlet's own words end with the outlet.
        assert_eq!(
            attribution_sentence(
                &[hop(
                    "actors/pub",
                    "Publisher of the seed article",
                    HopRelation::Reported
                )],
                "actors/pub",
                "Publisher of the seed article",
            ),
            "Publisher of the seed article"
        );
        assert_eq!(attribution_sentence(&[], "actors/s", "S"), "S");
    }

    #[test]
    fn hops_are_named_by_reporter_unnamed_source_or_both() {
        let resolved = Resolved::new(
            vec![
                person("actors/pub", "The Publisher"),
                person("actors/tass", "TASS"),
            ],
            Vec::new(),
            Vec::new(),
        );
        let statement = Statement {
            speaker: "actors/peskov".into(),
            attribution_chain: vec![
                AttributionHop {
                    reporter: "actors/pub".into(),
                    relation: HopRelation::Reported as i32,
                    ..Default::default()
                },
                AttributionHop {
                    reporter: "actors/tass".into(),
                    relation: HopRelation::Citing as i32,
                    unnamed_source: "reports".into(),
                    ..Default::default()
                },
                AttributionHop {
                    relation: HopRelation::Citing as i32,
                    unnamed_source: "sources familiar with the matter".into(),
                    ..Default::default()
                },
                AttributionHop {
                    relation: HopRelation::Told as i32,
                    ..Default::default()
                },
                AttributionHop {
                    reporter: "actors/unknown".into(),
                    relation: HopRelation::AccordingTo as i32,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let entry = statement_entry(&statement, &resolved);
        let Some(timeline_entry::Entry::Statement(said)) = entry.entry else {
            panic!("a statement entry");
        };
        assert_eq!(
            said.attribution,
            "The Publisher, reporting TASS (“reports”), citing sources familiar with the matter, \
             citing an unnamed source, told by actors/unknown, according to actors/peskov"
        );
    }

    #[test]
    fn headlines_name_people_offices_quotes_and_status() {
        let resolved = Resolved::new(
            vec![
                person("actors/macron", "Emmanuel Macron"),
                person("actors/putin", "Vladimir Putin"),
                person("actors/legendre", "Anne-Claire Legendre"),
            ],
            vec![(
                OfficeQuery {
                    actor: "actors/legendre".into(),
                    date: date("2022-03-23/2022-03-28"),
                },
                OfficeAnswer {
                    offices: vec![HeldOffice {
                        tenure: Some(Tenure::default()),
                        post: Some(Post {
                            title: "Spokesperson".into(),
                            ..Default::default()
                        }),
                        certain: true,
                    }],
                    ..Default::default()
                },
            )],
            Vec::new(),
        );
        let mut expected = call("c29", None, Some("2022-03-29"), &["macron", "putin"]);
        assert_eq!(
            communication_headline(&expected, true, &resolved),
            "Phone call: Emmanuel Macron, Vladimir Putin — planned"
        );
        expected.lifecycle = Lifecycle::Expected as i32;
        assert_eq!(
            communication_headline(&expected, true, &resolved),
            "Phone call: Emmanuel Macron, Vladimir Putin — expected"
        );

        let text = "France seeks to keep the “channel for dialogue open.”";
        let start = text.chars().position(|c| c == '“').unwrap() as i32 + 1;
        let statement = Statement {
            speaker: "actors/legendre".into(),
            said: date("2022-03-23/2022-03-28"),
            content: Some(Content {
                text: text.into(),
                mode: ContentMode::PartialQuote as i32,
                quoted_spans: vec![QuotedSpan {
                    start,
                    end: start + "channel for dialogue open".chars().count() as i32,
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let office = resolved.office_line(&statement.speaker, statement.said.as_ref());
        assert_eq!(office, "Spokesperson");
        assert_eq!(
            statement_headline(&statement, &office, &resolved),
            "Anne-Claire Legendre (Spokesperson): “channel for dialogue open”"
        );
        let summary = Statement {
            speaker: "actors/putin".into(),
            co_speakers: vec!["actors/macron".into()],
            content: Some(Content {
                text: "x".repeat(300),
                mode: ContentMode::Summary as i32,
                ..Default::default()
            }),
            ..Default::default()
        };
        let headline = statement_headline(&summary, "", &resolved);
        assert!(
            headline.starts_with("Vladimir Putin with Emmanuel Macron, summarised: xxx"),
            "{headline}"
        );
        assert!(headline.ends_with('…') && headline.chars().count() < 260);
    }

    #[test]
    fn relayed_speakers_are_asked_their_office_at_the_relayed_date_or_the_statement_date() {
        let mut statement = said("s", "2026-04-21");
        statement.speaker = "actors/ministry".into();
        statement.relayed = vec![RelayedSpeech {
            speakers: vec!["actors/minister".into()],
            relayed: vec![RelayedSpeech {
                speakers: vec!["actors/prime-minister".into()],
                said: Some(FuzzyDate {
                    edtf: "2026-04-19".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }];
        let wanted = wanted(&Episode::default(), &[], &[statement]);
        let questions: Vec<(&str, &str)> = wanted
            .offices
            .iter()
            .map(|q| (q.actor.as_str(), q.date.as_ref().unwrap().edtf.as_str()))
            .collect();
        assert_eq!(
            questions,
            [
                ("actors/minister", "2026-04-21"),
                ("actors/ministry", "2026-04-21"),
                ("actors/prime-minister", "2026-04-19"),
            ]
        );
    }

    #[test]
    fn wanted_dedups_actors_office_questions_and_documents() {
        let episode = Episode {
            actors_of_interest: vec!["actors/ap".into()],
            ..Default::default()
        };
        let mut c = call("c", Some("2022-03-12"), None, &["a", "b"]);
        c.sources.push(chancery_proto::common::v1::SourceRef {
            document: "documents/d".into(),
            excerpt: String::new(),
        });
        let mut s1 = said("s1", "2022-03-12");
        s1.speaker = "actors/a".into();
        s1.attribution_chain.push(AttributionHop {
            reporter: "actors/r".into(),
            document: "documents/d".into(),
            ..Default::default()
        });
        let mut s2 = said("s2", "2022-03-13");
        s2.speaker = "actors/a".into();
        let wanted = wanted(&episode, &[c], &[s1, s2]);
        assert_eq!(
            wanted.actors,
            ["actors/a", "actors/ap", "actors/b", "actors/r"]
        );
        assert_eq!(wanted.documents, ["documents/d"]);
        let questions: Vec<(&str, &str)> = wanted
            .offices
            .iter()
            .map(|q| (q.actor.as_str(), q.date.as_ref().unwrap().edtf.as_str()))
            .collect();
        assert_eq!(
            questions,
            [
                ("actors/a", "2022-03-12"),
                ("actors/a", "2022-03-13"),
                ("actors/b", "2022-03-12")
            ]
        );
    }

    #[test]
    fn involved_actors_list_involvements_in_enum_order_and_unknown_actors_last() {
        let episode = Episode {
            actors_of_interest: vec!["actors/ap".into()],
            ..Default::default()
        };
        let document = SourceDocument {
            name: "documents/d".into(),
            publisher: "actors/pub".into(),
            media_assets: vec![chancery_proto::statements::v1::MediaAsset {
                credit_actor: "actors/ap".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut statement = said("s", "2022-03-12");
        statement.speaker = "actors/pub".into();
        statement.attribution_chain.push(AttributionHop {
            reporter: "actors/pub".into(),
            ..Default::default()
        });
        let involved = involvements(&episode, &[], &[statement], &[&document]);
        let resolved = Resolved::new(vec![person("actors/ap", "AP")], Vec::new(), Vec::new());
        let actors = involved_actors(involved, &resolved);
        let summary: Vec<(&str, Vec<i32>)> = actors
            .iter()
            .map(|a| {
                (
                    a.actor.as_ref().unwrap().name.as_str(),
                    a.involvements.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "actors/ap",
                    vec![
                        Involvement::MediaCredit as i32,
                        Involvement::OfInterest as i32
                    ]
                ),
                (
                    "actors/pub",
                    vec![
                        Involvement::Speaker as i32,
                        Involvement::Reporter as i32,
                        Involvement::Publisher as i32
                    ]
                ),
            ]
        );
        assert_eq!(
            actors[1].actor.as_ref().unwrap().kind,
            0,
            "known by name only"
        );
    }

    fn unknown(as_reported: &str) -> Option<FuzzyDate> {
        let mut violations = Violations::default();
        let date = normalize(
            &mut violations,
            "date",
            &FuzzyDate {
                as_reported: as_reported.into(),
                source: chancery_proto::common::v1::DateSource::Unknown as i32,
                ..Default::default()
            },
        );
        assert!(violations.is_empty(), "{violations}");
        date
    }

    fn placed(name: &str, when: Option<FuzzyDate>, ordinal: i32) -> Statement {
        Statement {
            name: format!("statements/{name}"),
            speaker: "actors/x".into(),
            said: when,
            placement: Some(DocumentPlacement {
                section: DocumentSection::Body as i32,
                ordinal,
            }),
            ..Default::default()
        }
    }

    fn held_office(title: &str, qualifier: TenureQualifier, certain: bool) -> HeldOffice {
        HeldOffice {
            tenure: Some(Tenure {
                name: "actors/vance/tenures/t1".into(),
                post: "posts/vp".into(),
                qualifier: qualifier as i32,
                ..Default::default()
            }),
            post: Some(Post {
                title: title.into(),
                ..Default::default()
            }),
            certain,
        }
    }

    #[test]
    fn offices_carry_their_qualifier_and_the_label_says_it() {
        assert_eq!(
            office_label(
                "President of the United States",
                TenureQualifier::Elect as i32
            ),
            "President of the United States (elect)"
        );
        assert_eq!(
            office_label("Minister", TenureQualifier::Acting as i32),
            "Minister (acting)"
        );
        assert_eq!(
            office_label("Minister", TenureQualifier::Interim as i32),
            "Minister (interim)"
        );
        assert_eq!(
            office_label("Minister", TenureQualifier::Designate as i32),
            "Minister (designate)"
        );
        assert_eq!(office_label("Minister", 0), "Minister", "plainly held");

        let resolved = Resolved::new(
            vec![person("actors/trump", "Donald Trump")],
            vec![(
                OfficeQuery {
                    actor: "actors/trump".into(),
                    date: date("2024-12-10"),
                },
                OfficeAnswer {
                    offices: vec![
                        held_office(
                            "President of the United States",
                            TenureQualifier::Elect,
                            true,
                        ),
                        held_office("Chair", TenureQualifier::Acting, false),
                    ],
                    ..Default::default()
                },
            )],
            Vec::new(),
        );
        let mut statement = said("s", "2024-12-10");
        statement.speaker = "actors/trump".into();
        let entry = statement_entry(&statement, &resolved);
        let Some(timeline_entry::Entry::Statement(said)) = &entry.entry else {
            panic!("a statement entry");
        };
        assert_eq!(
            said.speaker_office,
            "President of the United States (elect); Chair (acting) (possibly)"
        );
        assert_eq!(
            entry.headline,
            "Donald Trump (President of the United States (elect); Chair (acting) (possibly))"
        );

        let involved = involvements(&Episode::default(), &[], &[statement], &[]);
        let actors = involved_actors(involved, &resolved);
        let offices: Vec<(&str, &str, i32, &str, bool)> = actors[0]
            .offices
            .iter()
            .map(|o| {
                (
                    o.title.as_str(),
                    o.label.as_str(),
                    o.qualifier,
                    o.tenure.as_str(),
                    o.certain,
                )
            })
            .collect();
        assert_eq!(
            offices,
            [
                (
                    "President of the United States",
                    "President of the United States (elect)",
                    TenureQualifier::Elect as i32,
                    "actors/vance/tenures/t1",
                    true
                ),
                (
                    "Chair",
                    "Chair (acting)",
                    TenureQualifier::Acting as i32,
                    "actors/vance/tenures/t1",
                    false
                ),
            ]
        );
    }

    fn claim(
        lifecycle: Lifecycle,
        verification: Verification,
        asserted_by: &str,
        as_of: Option<FuzzyDate>,
    ) -> StatusAssertion {
        StatusAssertion {
            lifecycle: lifecycle as i32,
            verification: verification as i32,
            asserted_by: asserted_by.into(),
            as_of,
            ..Default::default()
        }
    }

    fn status_resolved() -> Resolved {
        Resolved::new(
            vec![
                person("actors/macron", "Emmanuel Macron"),
                person("actors/putin", "Vladimir Putin"),
                person("actors/kremlin", "Kremlin press service"),
                person("actors/elysee", "Élysée"),
                person("actors/legendre", "Anne-Claire Legendre"),
                person("actors/pub", "The Publisher"),
            ],
            Vec::new(),
            vec![SourceDocument {
                name: "documents/d".into(),
                publisher: "actors/pub".into(),
                ..Default::default()
            }],
        )
    }

    #[test]
    fn a_denied_or_disputed_communication_never_reads_as_held() {
        let resolved = status_resolved();
        let mut c = call("c", Some("2022-03-26"), None, &["macron", "putin"]);
        c.status_log = vec![
            claim(
                Lifecycle::Held,
                Verification::ReportedUnconfirmed,
                "actors/kremlin",
                date("2022-03-26"),
            ),
            claim(
                Lifecycle::Unspecified,
                Verification::DeniedByParty,
                "actors/elysee",
                date("2022-03-27"),
            ),
        ];
        chancery_domain::communications::recompute(&mut c);
        assert_eq!(c.verification, Verification::Disputed as i32);
        assert_eq!(c.lifecycle, Lifecycle::Held as i32);
        let entry = communication_entry(&c, &Readouts::default(), &resolved);
        assert_eq!(
            entry.headline,
            "Phone call: Emmanuel Macron, Vladimir Putin — reported held, denied"
        );
        let Some(timeline_entry::Entry::Communication(e)) = &entry.entry else {
            panic!("a communication entry");
        };
        assert_eq!(
            e.status_summary,
            "reported held by Kremlin press service; denied by Élysée"
        );
        assert!(!is_held(&c), "not a contact");

        // Denied only (no earlier report): still never held.
        let denied = with_status(
            call("d", Some("2022-03-26"), None, &["macron"]),
            Lifecycle::Held,
            Verification::DeniedByParty,
        );
        assert_eq!(
            communication_headline(&denied, false, &resolved),
            "Phone call: Emmanuel Macron — reported held, denied"
        );
        let planned_denied = with_status(
            call("p", None, Some("2022-03-29"), &["macron"]),
            Lifecycle::Unspecified,
            Verification::DeniedByParty,
        );
        assert_eq!(
            communication_headline(&planned_denied, true, &resolved),
            "Phone call: Emmanuel Macron — planned, denied"
        );
        let confirmed = with_status(
            call("h", Some("2022-03-26"), None, &["macron"]),
            Lifecycle::Held,
            Verification::ConfirmedByOneParty,
        );
        assert_eq!(
            communication_headline(&confirmed, false, &resolved),
            "Phone call: Emmanuel Macron — held"
        );
    }

    #[test]
    fn status_claims_follow_the_computed_order_and_name_who_claims_what() {
        let resolved = status_resolved();
        let mut c = call("c", None, Some("2022-03-29"), &["macron", "putin"]);
        let mut hedged = claim(
            Lifecycle::Held,
            Verification::Unspecified,
            "actors/unknown-outlet",
            unknown("at some point"),
        );
        hedged.modality = Modality::Hedged as i32;
        let mut cancelled = claim(
            Lifecycle::Cancelled,
            Verification::Unspecified,
            "actors/kremlin",
            unknown(""),
        );
        cancelled.reason = "the situation on the ground".into();
        let mut own = claim(
            Lifecycle::Scheduled,
            Verification::Unspecified,
            "",
            date("2022-03-25"),
        );
        own.source = Some(chancery_proto::common::v1::SourceRef {
            document: "documents/d".into(),
            excerpt: String::new(),
        });
        let mut unsourced = claim(
            Lifecycle::Unspecified,
            Verification::NoComment,
            "",
            date("2022-03-28"),
        );
        unsourced.source = Some(chancery_proto::common::v1::SourceRef {
            document: "documents/not-read".into(),
            excerpt: String::new(),
        });
        let mut due = claim(
            Lifecycle::Held,
            Verification::Unspecified,
            "actors/putin",
            date("2022-03-27"),
        );
        due.modality = Modality::Expected as i32;
        c.status_log = vec![
            hedged,
            claim(
                Lifecycle::Expected,
                Verification::ConfirmedByOneParty,
                "actors/legendre",
                date("2022-03-23/2022-03-28"),
            ),
            cancelled,
            own,
            unsourced,
            due,
        ];
        // Dated ones by earliest bound (23, 25, 27, 28 March), then the undated in log order.
        assert_eq!(status_order(&c.status_log), [1, 3, 5, 4, 0, 2]);
        let claims = status_claims(&c, &resolved);
        let named: Vec<(i32, &str)> = claims
            .iter()
            .map(|k| {
                (
                    k.status.as_ref().unwrap().lifecycle,
                    k.asserted_by_display_name.as_str(),
                )
            })
            .collect();
        assert_eq!(
            named,
            [
                (Lifecycle::Expected as i32, "Anne-Claire Legendre"),
                (Lifecycle::Scheduled as i32, "The Publisher"),
                (Lifecycle::Held as i32, "Vladimir Putin"),
                (Lifecycle::Unspecified as i32, ""),
                (Lifecycle::Held as i32, ""),
                (Lifecycle::Cancelled as i32, "Kremlin press service"),
            ]
        );
        assert_eq!(
            status_summary(&c, &resolved),
            "expected, confirmed by Anne-Claire Legendre; scheduled (The Publisher); \
             due to be held (Vladimir Putin); no comment; \
             possibly held (actors/unknown-outlet); \
             cancelled (Kremlin press service; reason: the situation on the ground)"
        );
        // The computed lifecycle comes from the last claim taken: the cancellation.
        chancery_domain::communications::recompute(&mut c);
        assert_eq!(
            communication_headline(&c, true, &resolved),
            "Phone call: Emmanuel Macron, Vladimir Putin — cancelled"
        );
        // When the deciding claim is hedged, the headline says so.
        c.status_log.truncate(2);
        c.status_log.swap(0, 1);
        c.status_log[0].as_of = date("2022-03-20");
        c.status_log[1].as_of = date("2022-03-30");
        chancery_domain::communications::recompute(&mut c);
        assert_eq!(c.lifecycle, Lifecycle::Held as i32);
        assert_eq!(
            communication_headline(&c, true, &resolved),
            "Phone call: Emmanuel Macron, Vladimir Putin — possibly held"
        );
        assert!(status_summary(&call("e", None, Some("2022"), &[]), &resolved).is_empty());
    }

    #[test]
    fn claims_in_words_cover_every_verification() {
        let words = |lifecycle, verification, modality: Modality, who: &str| {
            let mut status = claim(lifecycle, verification, "", None);
            status.modality = modality as i32;
            claim_words(&status, who)
        };
        use Lifecycle as L;
        use Modality as M;
        use Verification as V;
        assert_eq!(
            words(L::Unspecified, V::ConfirmedByAllParties, M::Certain, "X"),
            "confirmed for all parties by X"
        );
        assert_eq!(
            words(L::Cancelled, V::DeniedByParty, M::Unspecified, "X"),
            "denied by X (as cancelled)"
        );
        assert_eq!(
            words(L::Unspecified, V::ReportedUnconfirmed, M::Hedged, ""),
            "possibly reported"
        );
        assert_eq!(
            words(L::Held, V::ReportedUnconfirmed, M::Hedged, "TASS"),
            "reported possibly held by TASS"
        );
        assert_eq!(
            words(L::Scheduled, V::Unspecified, M::Expected, ""),
            "scheduled"
        );
        assert_eq!(
            words(L::Unspecified, V::NoComment, M::Certain, "Élysée"),
            "no comment from Élysée"
        );
    }

    #[test]
    fn statements_of_one_date_keep_the_document_order_and_unknown_dates_go_last() {
        let communications = vec![call("c", Some("2022-03-12"), None, &["a", "b"])];
        let statements = vec![
            placed("z-first", date("2022-03-12"), 1),
            placed("a-third", date("2022-03-12"), 3),
            placed("m-second", date("2022-03-12"), 2),
            placed("b-unplaced", date("2022-03-12"), 0),
            placed("y-later-day", date("2022-03-13"), 1),
            placed("u-unknown-2", unknown("one day"), 2),
            placed("v-unknown-unplaced", unknown(""), 0),
            placed("w-unknown-1", unknown(""), 1),
            placed("open-start", date("../2022-03-12"), 0),
            placed("open-end", date("2022-03-14/.."), 0),
        ];
        let timeline = timeline_order(&communications, &statements);
        let order: Vec<&str> = timeline.iter().map(|s| s.subject.as_str()).collect();
        assert_eq!(
            order,
            [
                // Open at the start: the earliest possible bound, so first.
                "statements/open-start",
                // 12 March: ordinals 1, 2, 3, then the unplaced ones by name.
                "statements/z-first",
                "statements/m-second",
                "statements/a-third",
                "communications/c",
                "statements/b-unplaced",
                "statements/y-later-day",
                // Open at the end is dated by its start.
                "statements/open-end",
                // Unknown dates after every dated entry, by ordinal then name.
                "statements/w-unknown-1",
                "statements/u-unknown-2",
                "statements/v-unknown-unplaced",
            ]
        );
        let keys: Vec<_> = timeline.iter().map(Slot::key).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "a total order");
        assert!(timeline[8].unknown_date && !timeline[7].unknown_date);
        assert_eq!(timeline[1].ordinal, 1);
        assert_eq!(timeline[4].ordinal, i64::MAX, "communications have none");
        // A page ending on any entry resumes exactly after it.
        for (i, slot) in timeline.iter().enumerate() {
            let after = slot.key();
            assert_eq!(timeline.partition_point(|s| s.key() <= after), i + 1);
        }
    }

    #[test]
    fn relayed_speakers_authors_recorded_and_claimants_are_involved_and_fetched() {
        let episode = Episode {
            other_actors: vec!["actors/background-state".into()],
            ..Default::default()
        };
        let mut c = call("c", Some("2022-03-12"), None, &["macron", "putin"]);
        c.participants[0].initiator = true;
        c.participants[0].initiative_asserted_by = "actors/elysee".into();
        c.durations.push(DurationClaim {
            seconds: 3600,
            approximate: true,
            as_reported: "about an hour".into(),
            asserted_by: "actors/kremlin".into(),
            source: Some(chancery_proto::common::v1::SourceRef {
                document: "documents/kremlin-readout".into(),
                excerpt: String::new(),
            }),
        });
        c.outcomes.push(Outcome {
            text: "agreed to continue contacts".into(),
            parties: vec!["actors/macron".into(), "actors/ukraine".into()],
            asserted_by: "actors/tass".into(),
            ..Default::default()
        });
        let mut s = said("s", "2022-03-12");
        s.speaker = "actors/kremlin".into();
        s.relayed = vec![RelayedSpeech {
            speakers: vec!["actors/putin".into()],
            addressees: vec!["actors/scholz".into()],
            relayed: vec![RelayedSpeech {
                speakers: vec!["actors/lavrov".into()],
                addressees: vec!["actors/blinken".into()],
                ..Default::default()
            }],
            ..Default::default()
        }];
        let wanted = wanted(&episode, std::slice::from_ref(&c), std::slice::from_ref(&s));
        assert_eq!(
            wanted.actors,
            [
                "actors/background-state",
                "actors/blinken",
                "actors/elysee",
                "actors/kremlin",
                "actors/lavrov",
                "actors/macron",
                "actors/putin",
                "actors/scholz",
                "actors/tass",
                "actors/ukraine",
            ]
        );
        assert_eq!(wanted.documents, ["documents/kremlin-readout"]);

        let document = SourceDocument {
            name: "documents/kremlin-readout".into(),
            publisher: "actors/kremlin".into(),
            author_actors: vec!["actors/author".into()],
            ..Default::default()
        };
        let involved = involvements(&episode, &[c], &[s], &[&document]);
        let summary: Vec<(&str, Vec<Involvement>)> = involved
            .iter()
            .map(|(name, how)| (name.as_str(), how.iter().copied().collect()))
            .collect();
        use Involvement as I;
        assert_eq!(
            summary,
            [
                ("actors/author", vec![I::Author]),
                ("actors/background-state", vec![I::Recorded]),
                ("actors/blinken", vec![I::Addressee]),
                ("actors/elysee", vec![I::StatusSource]),
                (
                    "actors/kremlin",
                    vec![I::Speaker, I::StatusSource, I::Publisher]
                ),
                ("actors/lavrov", vec![I::RelayedSpeaker]),
                ("actors/macron", vec![I::Participant, I::Mentioned]),
                ("actors/putin", vec![I::Participant, I::RelayedSpeaker]),
                ("actors/scholz", vec![I::Addressee]),
                ("actors/tass", vec![I::StatusSource]),
                ("actors/ukraine", vec![I::Mentioned]),
            ]
        );
    }

    #[test]
    fn related_communications_list_the_statement_among_their_other_statements() {
        let statement = Statement {
            name: "statements/s".into(),
            communication: "communications/c1".into(),
            readout: Some(Readout {
                issuer: "actors/kremlin".into(),
                document: String::new(),
            }),
            related_communications: vec![
                "communications/c2".into(),
                "communications/c3".into(),
                "communications/c2".into(),
            ],
            ..Default::default()
        };
        let readouts = group_readouts([&statement]);
        assert_eq!(
            readouts.groups["communications/c1"],
            [("actors/kremlin".to_owned(), vec!["statements/s".to_owned()])]
        );
        assert_eq!(readouts.others["communications/c2"], ["statements/s"]);
        assert_eq!(readouts.others["communications/c3"], ["statements/s"]);
        assert!(!readouts.others.contains_key("communications/c1"));
    }
}
