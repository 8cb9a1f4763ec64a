//! The pure half of `GetEpisodeView`: what to ask the backends for, and how to assemble what they
//! answered into an [`EpisodeView`]. Nothing here does I/O, so every rule is unit-tested below.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chancery_proto::actors::v1::{Actor, HeldOffice, OfficeAnswer, OfficeQuery};
use chancery_proto::common::v1::FuzzyDate;
use chancery_proto::communications::v1::{Communication, CommunicationKind, Lifecycle};
use chancery_proto::gateway::v1::{
    CommunicationEntry, ContactPair, Episode, InvolvedActor, Involvement, KindCount, OfficeAtTime,
    ReadoutGroup, ResolvedHop, SourceUse, StatementEntry, TimelineEntry, timeline_entry,
};
use chancery_proto::statements::v1::{
    AttributionHop, ContentMode, HopRelation, SourceDocument, Statement,
};
use chancery_runtime::fuzzy_date::bounds_of;

/// Longest statement text quoted whole in a headline, in characters.
const HEADLINE_TEXT_CHARS: usize = 200;

/// The sort key of a fuzzy date: its earliest then its latest bound (microseconds). An unset
/// date sorts first and spans everything.
pub(crate) fn date_key(date: Option<&FuzzyDate>) -> (i64, i64) {
    date.map_or((i64::MIN, i64::MAX), bounds_of)
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

/// One member at its place on the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slot {
    /// Earliest bound of its date.
    pub(crate) earliest: i64,
    /// Latest bound of its date.
    pub(crate) latest: i64,
    /// Its resource name.
    pub(crate) subject: String,
    /// Which member it is.
    pub(crate) member: Member,
}

impl Slot {
    /// The keyset position of the slot: `(earliest, latest, subject)`.
    pub(crate) fn key(&self) -> (i64, i64, &str) {
        (self.earliest, self.latest, &self.subject)
    }
}

/// Every member on the timeline, oldest first: ordered by the earliest then the latest bound of
/// its date, then by resource name (which also makes the order total, so pages never overlap).
pub(crate) fn timeline_order(
    communications: &[Communication],
    statements: &[Statement],
) -> Vec<Slot> {
    let mut slots: Vec<Slot> = communications
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (earliest, latest) = date_key(communication_date(c).0);
            Slot {
                earliest,
                latest,
                subject: c.name.clone(),
                member: Member::Communication(i),
            }
        })
        .chain(statements.iter().enumerate().map(|(i, s)| {
            let (earliest, latest) = date_key(s.said.as_ref());
            Slot {
                earliest,
                latest,
                subject: s.name.clone(),
                member: Member::Statement(i),
            }
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
            ask_office(&participant.actor, date);
        }
        for topic in &communication.topics {
            actors.extend(topic.mentioned_actors.iter().cloned());
            documents.extend(topic.sources.iter().map(|s| s.document.clone()));
        }
        for status in &communication.status_log {
            actors.insert(status.asserted_by.clone());
            documents.extend(status.source.iter().map(|s| s.document.clone()));
        }
        documents.extend(communication.sources.iter().map(|s| s.document.clone()));
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
    }
    actors.extend(episode.actors_of_interest.iter().cloned());
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

    /// The office line of `actor` on `date`: the titles of the posts held, surely held ones
    /// first, those the fuzzy dates only allow marked `(possibly)`; empty when none is recorded.
    pub(crate) fn office_line(&self, actor: &str, date: Option<&FuzzyDate>) -> String {
        self.offices_at(actor, date)
            .into_iter()
            .filter_map(|held| {
                let title = held.post.as_ref()?.title.as_str();
                (!title.is_empty()).then(|| {
                    if held.certain {
                        title.to_owned()
                    } else {
                        format!("{title} (possibly)")
                    }
                })
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
    /// Per communication: the statements about it that belong to no readout.
    pub(crate) others: HashMap<String, Vec<String>>,
}

/// Groups statements (given in timeline order) by (communication, readout issuer).
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

/// The contact pairs of the communications (given oldest first): every pair of distinct
/// participants of each, counted overall and by kind, ordered by count (highest first) then by
/// the two resource names.
pub(crate) fn contact_pairs<'a>(
    communications: impl IntoIterator<Item = &'a Communication>,
    resolved: &Resolved,
) -> Vec<ContactPair> {
    #[derive(Default)]
    struct Tally<'c> {
        by_kind: BTreeMap<i32, i32>,
        communications: Vec<&'c str>,
    }
    let mut pairs: HashMap<(&str, &str), Tally<'_>> = HashMap::new();
    for communication in communications {
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
                *tally.by_kind.entry(communication.kind).or_default() += 1;
                tally.communications.push(&communication.name);
            }
        }
    }
    let mut contacts: Vec<ContactPair> = pairs
        .into_iter()
        .map(|((a, b), tally)| ContactPair {
            actor_a: a.to_owned(),
            actor_b: b.to_owned(),
            actor_a_display_name: resolved.display_name(a),
            actor_b_display_name: resolved.display_name(b),
            count: tally.communications.len() as i32,
            by_kind: tally
                .by_kind
                .into_iter()
                .map(|(kind, count)| KindCount { kind, count })
                .collect(),
            communications: tally
                .communications
                .into_iter()
                .map(str::to_owned)
                .collect(),
            not_held: Vec::new(),
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

/// The chain as a sentence, from the document we hold to the speaker: each reporter's name,
/// joined to the next layer's by its relation, such as `Publisher of the seed article, reporting
/// TASS, citing BFM TV, told by Anne-Claire Legendre`. When the last reporter is the speaker
/// itself (an outlet's own words), the sentence ends with it.
pub(crate) fn attribution_sentence(
    hops: &[(&str, i32)],
    speaker: &str,
    speaker_name: &str,
    name_of: impl Fn(&str) -> String,
) -> String {
    let mut sentence = String::new();
    for (i, (reporter, relation)) in hops.iter().enumerate() {
        if i == 0 {
            sentence.push_str(&name_of(reporter));
        }
        let next_name = match hops.get(i + 1) {
            Some((next, _)) => name_of(next),
            None if *reporter == speaker => break,
            None => speaker_name.to_owned(),
        };
        sentence.push_str(", ");
        sentence.push_str(relation_words(*relation));
        sentence.push(' ');
        sentence.push_str(&next_name);
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

/// A communication's headline, such as `Phone call: Emmanuel Macron, Vladimir Putin — expected`:
/// its kind, its participants' names, and its computed lifecycle (or `planned` when only its
/// planned date is known and no lifecycle was asserted).
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
    let status = match lifecycle_label(communication.lifecycle) {
        "" if planned => "planned",
        status => status,
    };
    if !status.is_empty() {
        headline.push_str(" — ");
        headline.push_str(status);
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
            ..Default::default()
        })),
    }
}

/// The timeline entry of a statement.
pub(crate) fn statement_entry(statement: &Statement, resolved: &Resolved) -> TimelineEntry {
    let speaker_office = resolved.office_line(&statement.speaker, statement.said.as_ref());
    let hops: Vec<(&str, i32)> = statement
        .attribution_chain
        .iter()
        .map(|h| (h.reporter.as_str(), h.relation))
        .collect();
    let attribution = attribution_sentence(
        &hops,
        &statement.speaker,
        resolved.label(&statement.speaker),
        |actor| resolved.label(actor).to_owned(),
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

/// How every actor takes part in the episode, from the members, the documents they cite and the
/// episode's actors of interest.
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
        for participant in &communication.participants {
            add(&participant.actor, Involvement::Participant);
        }
        for topic in &communication.topics {
            for actor in &topic.mentioned_actors {
                add(actor, Involvement::Mentioned);
            }
        }
        for status in &communication.status_log {
            add(&status.asserted_by, Involvement::StatusSource);
        }
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
    }
    for document in documents {
        add(&document.publisher, Involvement::Publisher);
        for asset in &document.media_assets {
            add(&asset.credit_actor, Involvement::MediaCredit);
        }
    }
    for actor in &episode.actors_of_interest {
        add(actor, Involvement::OfInterest);
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
                    ..Default::default()
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
/// the statements and communications citing it in timeline order, ordered by name.
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
                let c = &communications[i];
                let cites = c
                    .sources
                    .iter()
                    .chain(c.topics.iter().flat_map(|t| &t.sources))
                    .chain(c.status_log.iter().filter_map(|s| s.source.as_ref()))
                    .map(|s| s.document.as_str())
                    .collect();
                (cites, false)
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
    use chancery_proto::communications::v1::Participant;
    use chancery_proto::statements::v1::{Content, QuotedSpan, Readout};
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

    #[test]
    fn contacts_count_every_pair_once_per_communication() {
        let communications = vec![
            call(
                "c1",
                Some("2022-03-12"),
                None,
                &["macron", "scholz", "putin"],
            ),
            call("c2", Some("2022-03-22"), None, &["putin", "macron"]),
            call(
                "c3",
                None,
                Some("2022-03-29"),
                &["macron", "putin", "macron"],
            ),
        ];
        let resolved = Resolved::new(
            vec![person("actors/macron", "Emmanuel Macron")],
            Vec::new(),
            Vec::new(),
        );
        let contacts = contact_pairs(&communications, &resolved);
        let summary: Vec<(&str, &str, i32)> = contacts
            .iter()
            .map(|c| (c.actor_a.as_str(), c.actor_b.as_str(), c.count))
            .collect();
        assert_eq!(
            summary,
            [
                ("actors/macron", "actors/putin", 3),
                ("actors/macron", "actors/scholz", 1),
                ("actors/putin", "actors/scholz", 1),
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
                count: 3
            }]
        );
        assert_eq!(
            contacts[0].communications,
            [
                "communications/c1",
                "communications/c2",
                "communications/c3"
            ]
        );
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
        let names: HashMap<&str, &str> = [
            ("actors/pub", "Publisher of the seed article"),
            ("actors/tass", "TASS"),
            ("actors/bfm", "BFM TV"),
        ]
        .into_iter()
        .collect();
        let name_of = |actor: &str| names.get(actor).copied().unwrap_or(actor).to_owned();
        let chain = [
            ("actors/pub", HopRelation::Reported as i32),
            ("actors/tass", HopRelation::Citing as i32),
            ("actors/bfm", HopRelation::Told as i32),
        ];
        assert_eq!(
            attribution_sentence(&chain, "actors/legendre", "Anne-Claire Legendre", name_of),
            "Publisher of the seed article, reporting TASS, citing BFM TV, told by Anne-Claire Legendre"
        );
        // An outlet's own words end with the outlet.
        assert_eq!(
            attribution_sentence(
                &[("actors/pub", HopRelation::Reported as i32)],
                "actors/pub",
                "Publisher of the seed article",
                name_of
            ),
            "Publisher of the seed article"
        );
        // Unknown names fall back to resource names; no chain is the speaker alone.
        assert_eq!(
            attribution_sentence(
                &[("actors/unknown", HopRelation::AccordingTo as i32)],
                "actors/s",
                "S",
                name_of
            ),
            "actors/unknown, according to S"
        );
        assert_eq!(attribution_sentence(&[], "actors/s", "S", name_of), "S");
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
}
