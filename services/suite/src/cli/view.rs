//! `chancery view episodes/ID`: the gateway's `GetEpisodeView` as a timeline to read in a
//! terminal: each entry's date with its precision, its kind and headline, the readouts under
//! their call, each statement's attribution; then who talked to whom, the sources and the
//! actors with their offices at the time. Parts the gateway could not read are named in a
//! warning at the top; the view is still shown, and the command still succeeds.
//!
//! Everything the view knows is shown, and nothing more: a communication's status claims with
//! who makes each (and how firmly, and why), its durations, outcomes and initiative claims; a
//! statement's relayed speech (nested as deep as it goes), its place in its document, the other
//! reports of the same words, the further communications it is about, the unnamed sources and
//! carried-over cues of its chain and the passages its attribution covers; offices with their
//! qualifier (`(elect)`, `(acting)`); dates as precise as they are (`date unknown`, `on or before
//! 3 May 2022`, `from 2021`, `about …`); and contacts as the held ones only, with the
//! communications that were not held listed apart with their status.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use chancery_proto::common::v1::{DatePrecision, DateSource, FuzzyDate};
use chancery_proto::communications::v1::{
    Communication, CommunicationKind, Lifecycle, Modality, OutcomeKind, StatusAssertion,
    Verification,
};
use chancery_proto::gateway::v1::{
    CommunicationEntry, EpisodeView, GetEpisodeViewRequest, Involvement, StatementEntry,
    TimelineEntry, timeline_entry::Entry,
};
use chancery_proto::statements::v1::{
    ContentMode, DocumentSection, QuotedSpan, RelayedSpeech, SpeechAct,
};

use crate::cli::args::ViewOptions;
use crate::cli::client::{self, Failure};

/// Longest one page of the view may take, as this command asks the gateway.
const VIEW_TIMEOUT: Duration = Duration::from_secs(30);
/// Width text is wrapped to.
const WIDTH: usize = 100;
/// Most pages read (at 500 entries each, far beyond any episode's size).
const MAX_PAGES: usize = 1000;

/// Reads every page of the view of `episode` and merges them: the timeline of every page, the
/// rest from the first, `unreachable` from all.
/// Sends the token of `token_file` (see [`client::token`]).
pub async fn fetch(
    gateway: &str,
    token_file: Option<&Path>,
    tls: &client::TlsFiles,
    episode: &str,
) -> Result<EpisodeView, Failure> {
    let mut client = client::gateway(gateway, token_file, tls).await?;
    let mut view: Option<EpisodeView> = None;
    let mut page_token = String::new();
    for _ in 0..MAX_PAGES {
        let request = client::request(
            GetEpisodeViewRequest {
                name: episode.to_owned(),
                page_size: 0,
                page_token: page_token.clone(),
            },
            VIEW_TIMEOUT,
        );
        let page = client
            .get_episode_view(request)
            .await
            .map_err(|status| Failure::from_status("view", &status))?
            .into_inner();
        page_token.clone_from(&page.next_page_token);
        match &mut view {
            None => view = Some(page),
            Some(view) => {
                view.timeline.extend(page.timeline);
                for part in page.unreachable {
                    if !view.unreachable.contains(&part) {
                        view.unreachable.push(part);
                    }
                }
            }
        }
        if page_token.is_empty() {
            break;
        }
    }
    let mut view = view.unwrap_or_default();
    view.next_page_token.clear();
    Ok(view)
}

/// Runs `chancery view`.
pub async fn run(options: &ViewOptions) -> Result<(), Failure> {
    let view = fetch(
        &options.gateway,
        options.token_file.as_deref(),
        &options.tls,
        &options.episode,
    )
    .await?;
    print!("{}", render(&view));
    Ok(())
}

/// `CONSTANT_NAME` of an enum value without its type's prefix, in lower-case words:
/// `COMMUNICATION_KIND_PHONE_CALL` → `phone call`.
fn words(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_lowercase()
        .replace('_', " ")
}

fn precision(date: &FuzzyDate) -> String {
    DatePrecision::try_from(date.precision)
        .ok()
        .filter(|p| *p != DatePrecision::Unspecified)
        .map(|p| words(p.as_str_name(), "DATE_PRECISION_"))
        .unwrap_or_else(|| "precision unknown".to_owned())
}

/// Whether a date is one the source does not give: marked DATE_SOURCE_UNKNOWN, or with neither
/// text nor bounds.
fn is_unknown(date: &FuzzyDate) -> bool {
    date.source == DateSource::Unknown as i32
        || (date.edtf.is_empty() && date.earliest.is_none() && date.latest.is_none())
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The precision of one end of an interval as its text shows it, when the server did not say.
fn precision_of_text(text: &str) -> DatePrecision {
    let (day, time) = text.split_once('T').unwrap_or((text, ""));
    if !time.is_empty() {
        let clock = time.trim_end_matches(|c: char| !c.is_ascii_digit());
        return match clock.matches(':').count() {
            0 => DatePrecision::Hour,
            1 => DatePrecision::Minute,
            _ => DatePrecision::Second,
        };
    }
    let parts: Vec<&str> = day.split('-').collect();
    match parts.as_slice() {
        [year] if year.contains('X') => DatePrecision::Decade,
        [_] => DatePrecision::Year,
        [_, m] if m.parse::<u32>().is_ok_and(|m| (21..=24).contains(&m)) => DatePrecision::Season,
        [_, _] => DatePrecision::Month,
        [_, _, _] => DatePrecision::Day,
        _ => DatePrecision::Unspecified,
    }
}

/// One known date (an interval's end, without its qualifier marks) in words, at `precision`:
/// `the 2020s`, `2021`, `autumn 2022`, `March 2022`, `3 May 2022`, `a day in March 2022`,
/// `29 March 2022, 14:30Z`; the text itself when it cannot be read so.
fn date_words(text: &str, precision: DatePrecision) -> String {
    let precision = if precision == DatePrecision::Unspecified {
        precision_of_text(text)
    } else {
        precision
    };
    let (day, time) = text.split_once('T').unwrap_or((text, ""));
    let parts: Vec<&str> = day.split('-').collect();
    let month = |m: &str| {
        m.parse::<usize>()
            .ok()
            .and_then(|m| m.checked_sub(1))
            .and_then(|m| MONTHS.get(m))
            .copied()
    };
    let words = match (precision, parts.as_slice()) {
        (DatePrecision::Decade, [year]) => Some(format!("the {}s", year.replace('X', "0"))),
        (DatePrecision::Year, [year]) => Some((*year).to_owned()),
        (DatePrecision::Season, [year, season]) => {
            let name = match *season {
                "21" => Some("spring"),
                "22" => Some("summer"),
                "23" => Some("autumn"),
                "24" => Some("winter"),
                _ => None,
            };
            name.map(|name| format!("{name} {year}"))
        }
        (DatePrecision::Month, [year, m]) => month(m).map(|m| format!("{m} {year}")),
        (_, [year, m, d]) => month(m).and_then(|m| {
            if d.contains('X') {
                Some(format!("a day in {m} {year}"))
            } else {
                d.parse::<u32>().ok().map(|d| format!("{d} {m} {year}"))
            }
        }),
        _ => None,
    };
    match words {
        Some(words) if time.is_empty() => words,
        Some(words) => format!("{words}, {time}"),
        None => text.to_owned(),
    }
}

/// `text` without its trailing qualifier (`?`, `~` or `%`), and whether that qualifier makes it
/// approximate and uncertain.
fn split_marks(text: &str) -> (&str, bool, bool) {
    let bare = text.trim_end_matches(['?', '~', '%']);
    let marks = &text[bare.len()..];
    (
        bare,
        marks.contains('~') || marks.contains('%'),
        marks.contains('?') || marks.contains('%'),
    )
}

/// One end of an interval in words at its own precision, `about` it when approximate (by its
/// own qualifier, which only a start may carry, or the whole interval's): `about 10 March
/// 2022`; `(uncertain)` after a start its own `?` qualifies.
fn end_words(text: &str, precision: i32, whole_approximate: bool) -> String {
    let (bare, approximate, uncertain) = split_marks(text);
    let precision = DatePrecision::try_from(precision).unwrap_or(DatePrecision::Unspecified);
    let mut words = date_words(bare, precision);
    if approximate || whole_approximate {
        words = format!("about {words}");
    }
    if uncertain {
        words.push_str(" (uncertain)");
    }
    words
}

/// An interval in words, each end at its own precision: `between 23 March 2022 and 28 March
/// 2022`, `on or before 3 May 2022`, `from 2021`, `from 2021, end unknown`. `start` may carry
/// its own qualifier; `whole_approximate` is the trailing one's, which widens both ends.
fn interval_words(date: &FuzzyDate, start: &str, end: &str, whole_approximate: bool) -> String {
    let start_words = || end_words(start, date.start_precision, whole_approximate);
    let end_words = || end_words(end, date.end_precision, whole_approximate);
    match (split_marks(start).0, end) {
        ("..", "..") | ("", "") | ("..", "") | ("", "..") => "date unknown".to_owned(),
        ("..", _) => format!("on or before {}", end_words()),
        ("", _) => format!("on or before {} (start unknown)", end_words()),
        (_, "..") => format!("from {}", start_words()),
        (_, "") => format!("from {}, end unknown", start_words()),
        _ => format!("between {} and {}", start_words(), end_words()),
    }
}

/// A date for people. A date the source does not give is `date unknown`, with the source's
/// words when it has some; an interval is read in words with its EDTF after it (`on or before
/// 3 May 2022 (../2022-05-03)`, `uncertain` there when its trailing `?` makes the whole interval
/// so); any other date is its EDTF with its precision and qualifiers, `about` when approximate:
/// `2021? (year, uncertain)`, `about 2022-03-29~ (day)`.
fn date(date: Option<&FuzzyDate>) -> String {
    let Some(date) = date else {
        return "date unknown".to_owned();
    };
    if is_unknown(date) {
        return match date.as_reported.as_str() {
            "" => "date unknown".to_owned(),
            reported => format!("date unknown (“{reported}”)"),
        };
    }
    let (body, whole_approximate, whole_uncertain) = split_marks(&date.edtf);
    if let Some((start, end)) = body.split_once('/') {
        let mut qualifiers = vec![date.edtf.clone()];
        if whole_uncertain {
            qualifiers.push("uncertain".into());
        }
        return format!(
            "{} ({})",
            interval_words(date, start, end, whole_approximate),
            qualifiers.join(", ")
        );
    }
    let mut qualifiers = vec![precision(date)];
    if date.uncertain {
        qualifiers.push("uncertain".into());
    }
    format!(
        "{}{} ({})",
        if date.approximate { "about " } else { "" },
        date.edtf,
        qualifiers.join(", ")
    )
}

/// A date with the source's own words, when it has them: `2022-03 (month) “March 2022”`.
fn date_as_reported(fuzzy: Option<&FuzzyDate>) -> String {
    let mut text = date(fuzzy);
    if let Some(reported) = fuzzy
        .filter(|d| !is_unknown(d))
        .map(|d| d.as_reported.as_str())
        .filter(|r| !r.is_empty())
    {
        let _ = write!(text, " “{reported}”");
    }
    text
}

/// `text` wrapped to [`WIDTH`], every line starting with `indent`.
fn wrap(text: &str, indent: &str) -> String {
    hang(text, indent, indent)
}

/// `text` wrapped to [`WIDTH`], its first line starting with `first` and the others with
/// `rest`.
fn hang(text: &str, first: &str, rest: &str) -> String {
    let mut out = String::new();
    for paragraph in text.lines() {
        let mut indent = first;
        let mut line = String::from(indent);
        for word in paragraph.split_whitespace() {
            if line.len() > indent.len() && line.chars().count() + 1 + word.chars().count() > WIDTH
            {
                out.push_str(line.trim_end());
                out.push('\n');
                indent = rest;
                line = String::from(indent);
            }
            if line.len() > indent.len() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A list item: `– text`, wrapped under its own text.
fn item(text: &str, indent: &str) -> String {
    hang(text, &format!("{indent}– "), &format!("{indent}  "))
}

/// A labelled line, `label: text`, its continuation lines indented under the text.
fn field(label: &str, text: &str, indent: &str) -> String {
    let first = format!("{indent}{label}: ");
    let rest = " ".repeat(first.chars().count());
    hang(text, &first, &rest)
}

/// The warning for a partial view, naming each part that could not be read; `None` when the
/// view is whole.
pub fn unreachable_warning(view: &EpisodeView) -> Option<String> {
    if view.unreachable.is_empty() {
        return None;
    }
    Some(format!(
        "WARNING: partial view: unreachable: {} — the gateway could not read {} in time, so {} missing below.",
        view.unreachable.join(", "),
        if view.unreachable.len() == 1 {
            "this part"
        } else {
            "these parts"
        },
        if view.unreachable.len() == 1 {
            "it is"
        } else {
            "they are"
        }
    ))
}

/// Display names of the view's actors, to name the actors that entries refer to by resource
/// name; a resource name stands for itself when its actor is not known.
struct Names<'v>(HashMap<&'v str, &'v str>);

impl<'v> Names<'v> {
    fn of(view: &'v EpisodeView) -> Self {
        Self(
            view.actors
                .iter()
                .filter_map(|a| a.actor.as_ref())
                .filter(|a| !a.display_name.is_empty())
                .map(|a| (a.name.as_str(), a.display_name.as_str()))
                .collect(),
        )
    }

    fn name<'a>(&'a self, actor: &'a str) -> &'a str {
        self.0.get(actor).copied().unwrap_or(actor)
    }

    fn list(&self, actors: &[String]) -> String {
        actors
            .iter()
            .map(|a| self.name(a))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn entry_kind(entry: &TimelineEntry) -> String {
    match &entry.entry {
        Some(Entry::Communication(c)) => {
            let kind = c.communication.as_ref().map_or(0, |c| c.kind);
            CommunicationKind::try_from(kind)
                .map(|k| words(k.as_str_name(), "COMMUNICATION_KIND_"))
                .unwrap_or_else(|_| "communication".into())
        }
        Some(Entry::Statement(s)) => {
            let mut kind = String::from("statement");
            if let Some(statement) = &s.statement {
                if let Ok(act) = SpeechAct::try_from(statement.speech_act)
                    && act != SpeechAct::Unspecified
                {
                    let _ = write!(kind, ", {}", words(act.as_str_name(), "SPEECH_ACT_"));
                }
                let mode = statement.content.as_ref().map_or(0, |c| c.mode);
                if let Ok(mode) = ContentMode::try_from(mode)
                    && mode != ContentMode::Unspecified
                {
                    let _ = write!(kind, ", {}", words(mode.as_str_name(), "CONTENT_MODE_"));
                }
            }
            kind
        }
        None => "entry".into(),
    }
}

/// The text of a statement of the timeline, by name, for readouts.
fn statement_text<'a>(view: &'a EpisodeView, name: &str) -> Option<&'a str> {
    view.timeline.iter().find_map(|entry| match &entry.entry {
        Some(Entry::Statement(s)) if entry.subject == name => s
            .statement
            .as_ref()
            .and_then(|s| s.content.as_ref())
            .map(|c| c.text.as_str()),
        _ => None,
    })
}

/// The communication of the timeline named `name`, when the view has it.
fn timeline_communication<'a>(view: &'a EpisodeView, name: &str) -> Option<&'a Communication> {
    view.timeline.iter().find_map(|entry| match &entry.entry {
        Some(Entry::Communication(c)) if entry.subject == name => c.communication.as_ref(),
        _ => None,
    })
}

fn lifecycle_word(lifecycle: i32) -> Option<String> {
    Lifecycle::try_from(lifecycle)
        .ok()
        .filter(|l| *l != Lifecycle::Unspecified)
        .map(|l| words(l.as_str_name(), "LIFECYCLE_"))
}

fn verification_word(verification: i32) -> Option<String> {
    Verification::try_from(verification)
        .ok()
        .filter(|v| *v != Verification::Unspecified)
        .map(|v| words(v.as_str_name(), "VERIFICATION_"))
}

/// A communication's computed status in words: `held, confirmed by one party`. A denied or
/// disputed one never reads as held: `reported held, disputed`.
fn computed_status(communication: &Communication) -> String {
    let denied = matches!(
        Verification::try_from(communication.verification),
        Ok(Verification::DeniedByParty | Verification::Disputed)
    );
    let lifecycle = lifecycle_word(communication.lifecycle)
        .map(|l| if denied { format!("reported {l}") } else { l });
    [lifecycle, verification_word(communication.verification)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

/// One entry of a status log: `23 March 2022 … (…): expected, confirmed by one party — by
/// Anne-Claire Legendre, for FRA; note: “…”`, with how firmly it is made (`possibly …` when
/// hedged), why (`reason: …`) and the statement making it.
fn claim_line(status: &StatusAssertion, display_name: &str, names: &Names<'_>) -> String {
    let what = [
        lifecycle_word(status.lifecycle),
        verification_word(status.verification),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let what = match Modality::try_from(status.modality).unwrap_or(Modality::Unspecified) {
        Modality::Hedged => format!("possibly {what} (hedged: might)"),
        Modality::Expected => format!("{what} (stated as expected)"),
        Modality::Certain | Modality::Unspecified => what,
    };
    let mut line = format!("{}: {what}", date(status.as_of.as_ref()));
    let mut details = Vec::new();
    if !status.asserted_by.is_empty() {
        let who = if display_name.is_empty() {
            names.name(&status.asserted_by)
        } else {
            display_name
        };
        details.push(format!("by {who}"));
    } else if !display_name.is_empty() {
        details.push(format!("per {display_name}"));
    }
    if !status.side.is_empty() {
        details.push(format!("for {}", status.side));
    }
    if !details.is_empty() {
        let _ = write!(line, " — {}", details.join(", "));
    }
    if !status.reason.is_empty() {
        let _ = write!(line, "; reason: {}", status.reason);
    }
    if !status.note.is_empty() {
        let _ = write!(line, "; note: “{}”", status.note);
    }
    if !status.statement.is_empty() {
        let _ = write!(line, " ({})", status.statement);
    }
    line
}

/// A length in seconds as people say it: `1 h 30 min`, `45 min`, `20 s`.
fn length(seconds: i64) -> String {
    let (hours, minutes, seconds) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let mut parts = Vec::new();
    if hours > 0 {
        parts.push(format!("{hours} h"));
    }
    if minutes > 0 {
        parts.push(format!("{minutes} min"));
    }
    if seconds > 0 || parts.is_empty() {
        parts.push(format!("{seconds} s"));
    }
    parts.join(" ")
}

/// A communication's reported facts: durations, initiative, outcomes, topics that are other
/// communications.
fn render_facts(out: &mut String, names: &Names<'_>, communication: &Communication) {
    let durations: Vec<String> = communication
        .durations
        .iter()
        .map(|d| {
            let mut text = if d.as_reported.is_empty() {
                format!(
                    "{}{}",
                    if d.approximate { "about " } else { "" },
                    length(d.seconds)
                )
            } else {
                d.as_reported.clone()
            };
            if !d.asserted_by.is_empty() {
                let _ = write!(text, " ({})", names.name(&d.asserted_by));
            }
            text
        })
        .collect();
    if !durations.is_empty() {
        out.push_str(&field("duration", &durations.join("; "), "  "));
    }
    for participant in communication.participants.iter().filter(|p| p.initiator) {
        let mut text = names.name(&participant.actor).to_owned();
        if !participant.initiative_asserted_by.is_empty() {
            let _ = write!(
                text,
                " (according to {})",
                names.name(&participant.initiative_asserted_by)
            );
        }
        out.push_str(&field("initiative", &text, "  "));
    }
    for outcome in &communication.outcomes {
        let mut about = Vec::new();
        if let Ok(kind) = OutcomeKind::try_from(outcome.kind)
            && kind != OutcomeKind::Unspecified
        {
            about.push(words(kind.as_str_name(), "OUTCOME_KIND_"));
        }
        if !outcome.parties.is_empty() {
            about.push(format!("parties: {}", names.list(&outcome.parties)));
        }
        if !outcome.asserted_by.is_empty() {
            about.push(format!("claimed by {}", names.name(&outcome.asserted_by)));
        }
        let text = if about.is_empty() {
            outcome.text.clone()
        } else {
            format!("{} ({})", outcome.text, about.join("; "))
        };
        out.push_str(&field("outcome", &text, "  "));
    }
    for topic in communication
        .topics
        .iter()
        .filter(|t| !t.communication.is_empty())
    {
        out.push_str(&field(
            "topic",
            &format!(
                "{} — the communication {}",
                topic.label, topic.communication
            ),
            "  ",
        ));
    }
}

fn render_communication(
    out: &mut String,
    view: &EpisodeView,
    names: &Names<'_>,
    c: &CommunicationEntry,
) {
    if let Some(communication) = &c.communication {
        let status = computed_status(communication);
        if !status.is_empty() {
            let _ = writeln!(out, "  status: {status}");
        }
    }
    if !c.status_summary.is_empty() {
        out.push_str(&field("claimed", &c.status_summary, "  "));
    }
    if !c.status_claims.is_empty() {
        let _ = writeln!(out, "  status log:");
        for claim in &c.status_claims {
            if let Some(status) = &claim.status {
                out.push_str(&item(
                    &claim_line(status, &claim.asserted_by_display_name, names),
                    "    ",
                ));
            }
        }
    }
    if let Some(communication) = &c.communication {
        render_facts(out, names, communication);
    }
    for readout in &c.readouts {
        let issuer = if readout.issuer_display_name.is_empty() {
            &readout.issuer
        } else {
            &readout.issuer_display_name
        };
        let _ = writeln!(
            out,
            "  readout by {issuer} ({} statement{}):",
            readout.statements.len(),
            if readout.statements.len() == 1 {
                ""
            } else {
                "s"
            }
        );
        for statement in &readout.statements {
            let text = statement_text(view, statement).unwrap_or(statement);
            out.push_str(&item(text, "    "));
        }
    }
    if !c.other_statements.is_empty() {
        out.push_str(&field(
            "also about it",
            &c.other_statements.join(", "),
            "  ",
        ));
    }
}

/// The passages of `text` the spans cover (code-point offsets, clamped), each in quotation
/// marks.
fn passages(text: &str, spans: &[QuotedSpan]) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    spans
        .iter()
        .filter_map(|span| {
            let start = usize::try_from(span.start).ok()?.min(chars.len());
            let end = usize::try_from(span.end).ok()?.min(chars.len());
            (start < end).then(|| format!("“{}”", chars[start..end].iter().collect::<String>()))
        })
        .collect()
}

/// Relayed speech, nested: `relays: Vladimir Putin → Olaf Scholz (assertion): “…”`, what each
/// relayed speaker relayed in turn two spaces further in.
fn render_relayed(out: &mut String, names: &Names<'_>, relayed: &[RelayedSpeech], indent: &str) {
    for speech in relayed {
        let mut who = names.list(&speech.speakers);
        if !speech.addressees.is_empty() {
            let _ = write!(who, " → {}", names.list(&speech.addressees));
        }
        let mut how = Vec::new();
        if let Ok(act) = SpeechAct::try_from(speech.speech_act)
            && act != SpeechAct::Unspecified
        {
            how.push(words(act.as_str_name(), "SPEECH_ACT_"));
        }
        let content = speech.content.clone().unwrap_or_default();
        if let Ok(mode) = ContentMode::try_from(content.mode)
            && !matches!(mode, ContentMode::Unspecified | ContentMode::Verbatim)
        {
            how.push(words(mode.as_str_name(), "CONTENT_MODE_"));
        }
        if speech.said.is_some() {
            how.push(date(speech.said.as_ref()));
        }
        if !how.is_empty() {
            let _ = write!(who, " ({})", how.join(", "));
        }
        out.push_str(&field(
            "relays",
            &format!("{who}: “{}”", content.text),
            indent,
        ));
        let quoted = passages(&content.text, &content.quoted_spans);
        if !quoted.is_empty() && content.mode != ContentMode::Verbatim as i32 {
            out.push_str(&field(
                "quoted",
                &quoted.join(" … "),
                &format!("{indent}  "),
            ));
        }
        render_relayed(out, names, &speech.relayed, &format!("{indent}  "));
    }
}

fn render_statement(out: &mut String, names: &Names<'_>, s: &StatementEntry) {
    let statement = s.statement.clone().unwrap_or_default();
    if !s.attribution.is_empty() {
        let mut line = s.attribution.clone();
        for hop in s.chain.iter().filter_map(|h| h.hop.as_ref()) {
            if hop.cue_carried_over && !hop.cue.is_empty() {
                let _ = write!(line, " (cue carried over: “{}”)", hop.cue);
            } else if hop.cue_carried_over {
                line.push_str(" (cue carried over from an earlier sentence)");
            }
        }
        out.push_str(&field("attribution", &line, "  "));
    }
    if let Some(content) = &statement.content {
        let attributed = passages(&content.text, &content.attributed_spans);
        if !attributed.is_empty() {
            out.push_str(&field("attribution covers", &attributed.join(" … "), "  "));
        }
    }
    render_relayed(out, names, &statement.relayed, "  ");
    if let Some(placement) = &statement.placement {
        let mut at = Vec::new();
        if let Ok(section) = DocumentSection::try_from(placement.section)
            && section != DocumentSection::Unspecified
        {
            at.push(words(section.as_str_name(), "DOCUMENT_SECTION_"));
        }
        if placement.ordinal > 0 {
            at.push(format!("statement {} of its document", placement.ordinal));
        }
        if !at.is_empty() {
            out.push_str(&field("placement", &at.join(", "), "  "));
        }
    }
    if !statement.same_utterance_as.is_empty() {
        out.push_str(&field(
            "same words as",
            &statement.same_utterance_as.join(", "),
            "  ",
        ));
    }
    if !statement.communication.is_empty() {
        let mut about = statement.communication.clone();
        if !statement.related_communications.is_empty() {
            let _ = write!(
                about,
                "; also {}",
                statement.related_communications.join(", ")
            );
        }
        out.push_str(&field("about", &about, "  "));
    }
}

fn render_entry(out: &mut String, view: &EpisodeView, names: &Names<'_>, entry: &TimelineEntry) {
    let planned = matches!(&entry.entry, Some(Entry::Communication(c)) if c.planned);
    let _ = writeln!(
        out,
        "■ {}{} · {}",
        date(entry.when.as_ref()),
        if planned { " · planned date" } else { "" },
        entry_kind(entry)
    );
    out.push_str(&wrap(&entry.headline, "  "));
    if let Some(reported) = entry
        .when
        .as_ref()
        .filter(|d| !is_unknown(d))
        .map(|d| d.as_reported.as_str())
        .filter(|r| !r.is_empty())
    {
        out.push_str(&wrap(&format!("date as reported: “{reported}”"), "  "));
    }
    match &entry.entry {
        Some(Entry::Communication(c)) => render_communication(out, view, names, c),
        Some(Entry::Statement(s)) => render_statement(out, names, s),
        None => {}
    }
    let _ = writeln!(out, "  ({})", entry.subject);
}

/// The view as text for a terminal: the heading, the timeline, who talked to whom, the
/// sources and the actors.
pub fn render(view: &EpisodeView) -> String {
    let mut out = String::new();
    let names = Names::of(view);
    render_heading(&mut out, view);
    let _ = writeln!(
        out,
        "\nTimeline ({} entr{})\n",
        view.timeline.len(),
        if view.timeline.len() == 1 { "y" } else { "ies" }
    );
    for entry in &view.timeline {
        render_entry(&mut out, view, &names, entry);
        out.push('\n');
    }
    render_contacts(&mut out, view);
    render_sources(&mut out, view);
    render_actors(&mut out, view);
    out
}

/// The episode's title, name, span, tags, summary, and what the view could not read.
fn render_heading(out: &mut String, view: &EpisodeView) {
    let episode = view.episode.clone().unwrap_or_default();
    let _ = writeln!(out, "{}", episode.title);
    let mut about = vec![episode.name.clone()];
    if episode.span.is_some() {
        about.push(date_as_reported(episode.span.as_ref()));
    }
    if !episode.tags.is_empty() {
        about.push(format!("tags: {}", episode.tags.join(", ")));
    }
    let _ = writeln!(out, "{}", about.join(" · "));
    if !episode.summary.is_empty() {
        out.push('\n');
        out.push_str(&wrap(&episode.summary, ""));
    }
    if let Some(warning) = unreachable_warning(view) {
        out.push('\n');
        out.push_str(&wrap(&warning, ""));
    }
    if !view.missing_members.is_empty() {
        out.push('\n');
        out.push_str(&wrap(
            &format!(
                "NOTE: members that no longer exist in their service: {}",
                view.missing_members.join(", ")
            ),
            "",
        ));
    }
}

/// "Who talked to whom": each pair, its held contacts by kind, and those not held.
fn render_contacts(out: &mut String, view: &EpisodeView) {
    if view.contacts.is_empty() {
        return;
    }
    let _ = writeln!(out, "Who talked to whom\n");
    for contact in &view.contacts {
        let name = |display: &str, name: &str| {
            if display.is_empty() {
                name.to_owned()
            } else {
                display.to_owned()
            }
        };
        let kinds: Vec<String> = contact
            .by_kind
            .iter()
            .map(|k| {
                let kind = CommunicationKind::try_from(k.kind)
                    .map(|k| words(k.as_str_name(), "COMMUNICATION_KIND_"))
                    .unwrap_or_else(|_| "other".into());
                format!("{kind} ×{}", k.count)
            })
            .collect();
        let _ = writeln!(
            out,
            "  {} ↔ {}: held {}{}",
            name(&contact.actor_a_display_name, &contact.actor_a),
            name(&contact.actor_b_display_name, &contact.actor_b),
            contact.count,
            if kinds.is_empty() {
                String::new()
            } else {
                format!(" ({})", kinds.join(", "))
            }
        );
        if !contact.not_held.is_empty() {
            let not_held: Vec<String> = contact
                .not_held
                .iter()
                .map(|name| {
                    let status = timeline_communication(view, name)
                        .map(computed_status)
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "no status".to_owned());
                    format!("{name} ({status})")
                })
                .collect();
            out.push_str(&field("not held", &not_held.join("; "), "    "));
        }
    }
    out.push('\n');
}

/// "Sources": each document, its publisher, and what cites it.
fn render_sources(out: &mut String, view: &EpisodeView) {
    if view.sources.is_empty() {
        return;
    }
    let _ = writeln!(out, "Sources\n");
    for source in &view.sources {
        let document = source.document.clone().unwrap_or_default();
        let title = if document.title.is_empty() {
            document.url.clone()
        } else {
            document.title.clone()
        };
        let publisher = if source.publisher_display_name.is_empty() {
            document.publisher.clone()
        } else {
            source.publisher_display_name.clone()
        };
        out.push_str(&item(
            &format!(
                "{title} — published by {publisher}; cited by {} statement{} and {} communication{} ({})",
                source.statements.len(),
                if source.statements.len() == 1 { "" } else { "s" },
                source.communications.len(),
                if source.communications.len() == 1 { "" } else { "s" },
                document.name
            ),
            "  ",
        ));
    }
    out.push('\n');
}

/// "Actors": each actor, its offices at the time (once each), and its involvements.
fn render_actors(out: &mut String, view: &EpisodeView) {
    if view.actors.is_empty() {
        return;
    }
    let _ = writeln!(out, "Actors\n");
    for involved in &view.actors {
        let actor = involved.actor.clone().unwrap_or_default();
        let mut offices: Vec<String> = Vec::new();
        for office in &involved.offices {
            let label = if office.label.is_empty() {
                &office.title
            } else {
                &office.label
            };
            let label = if office.certain {
                label.clone()
            } else {
                format!("{label} (possibly)")
            };
            if !offices.contains(&label) {
                offices.push(label);
            }
        }
        let mut line = if actor.display_name.is_empty() {
            format!("{} (not read)", actor.name)
        } else {
            format!("{} ({})", actor.display_name, actor.name)
        };
        if !offices.is_empty() {
            let _ = write!(line, " — {}", offices.join("; "));
        }
        let roles: Vec<String> = involved
            .involvements
            .iter()
            .filter_map(|i| Involvement::try_from(*i).ok())
            .filter(|i| *i != Involvement::Unspecified)
            .map(|i| words(i.as_str_name(), "INVOLVEMENT_"))
            .collect();
        if !roles.is_empty() {
            let _ = write!(line, " · {}", roles.join(", "));
        }
        out.push_str(&item(&line, "  "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_proto::actors::v1::{Actor, TenureQualifier};
    use chancery_proto::communications::v1::{DurationClaim, Outcome, Participant, Topic};
    use chancery_proto::gateway::v1::{
        ContactPair, Episode, InvolvedActor, KindCount, OfficeAtTime, ReadoutGroup, ResolvedHop,
        SourceUse, StatusClaim,
    };
    use chancery_proto::statements::v1::{
        AttributionHop, Content, DocumentPlacement, SourceDocument, Statement,
    };

    fn day(edtf: &str) -> Option<FuzzyDate> {
        Some(FuzzyDate {
            edtf: edtf.into(),
            precision: DatePrecision::Day as i32,
            ..Default::default()
        })
    }

    fn sample(unreachable: &[&str]) -> EpisodeView {
        EpisodeView {
            episode: Some(Episode {
                name: "episodes/macron-putin-2022-03".into(),
                title: "Macron–Putin calls, March 2022".into(),
                summary: "Three calls.".into(),
                span: Some(FuzzyDate {
                    edtf: "2022-03".into(),
                    precision: DatePrecision::Month as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            timeline: vec![
                TimelineEntry {
                    when: day("2022-03-12"),
                    headline: "Phone call: Emmanuel Macron, Olaf Scholz, Vladimir Putin — held"
                        .into(),
                    subject: "communications/c12".into(),
                    entry: Some(Entry::Communication(CommunicationEntry {
                        communication: Some(Communication {
                            kind: CommunicationKind::PhoneCall as i32,
                            lifecycle: Lifecycle::Held as i32,
                            ..Default::default()
                        }),
                        planned: false,
                        readouts: vec![ReadoutGroup {
                            issuer: "actors/kremlin-press-service".into(),
                            issuer_display_name: "Kremlin press service".into(),
                            statements: vec!["statements/shields".into()],
                        }],
                        other_statements: vec![],
                        ..Default::default()
                    })),
                },
                TimelineEntry {
                    when: day("2022-03-12"),
                    headline: "Vladimir Putin: accused Kyiv".into(),
                    subject: "statements/shields".into(),
                    entry: Some(Entry::Statement(StatementEntry {
                        statement: Some(Statement {
                            speech_act: SpeechAct::Accusation as i32,
                            content: Some(Content {
                                text: "Putin accused Kyiv of using civilians as human shields."
                                    .into(),
                                mode: ContentMode::Characterization as i32,
                                ..Default::default()
                            }),
                            ..Default::default()
                        }),
                        attribution:
                            "Publisher of the seed article, according to the Kremlin readout".into(),
                        ..Default::default()
                    })),
                },
                TimelineEntry {
                    when: day("2022-03-29"),
                    headline: "Phone call: Emmanuel Macron, Vladimir Putin — expected".into(),
                    subject: "communications/c29".into(),
                    entry: Some(Entry::Communication(CommunicationEntry {
                        communication: Some(Communication {
                            kind: CommunicationKind::PhoneCall as i32,
                            lifecycle: Lifecycle::Expected as i32,
                            verification: Verification::ConfirmedByOneParty as i32,
                            ..Default::default()
                        }),
                        planned: true,
                        ..Default::default()
                    })),
                },
            ],
            contacts: vec![ContactPair {
                actor_a: "actors/emmanuel-macron".into(),
                actor_b: "actors/vladimir-putin".into(),
                actor_a_display_name: "Emmanuel Macron".into(),
                actor_b_display_name: "Vladimir Putin".into(),
                count: 3,
                by_kind: vec![KindCount {
                    kind: CommunicationKind::PhoneCall as i32,
                    count: 3,
                }],
                communications: vec![],
                not_held: vec![],
            }],
            sources: vec![SourceUse {
                document: Some(SourceDocument {
                    name: "documents/seed-article".into(),
                    title: "The seed article".into(),
                    ..Default::default()
                }),
                publisher_display_name: "Publisher of the seed article".into(),
                statements: vec!["statements/shields".into()],
                communications: vec![],
            }],
            actors: vec![InvolvedActor {
                actor: Some(Actor {
                    name: "actors/olaf-scholz".into(),
                    display_name: "Olaf Scholz".into(),
                    ..Default::default()
                }),
                involvements: vec![],
                offices: vec![
                    OfficeAtTime {
                        title: "Federal Chancellor of Germany".into(),
                        certain: true,
                        ..Default::default()
                    };
                    2
                ],
            }],
            unreachable: unreachable.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_whole_view_reads_as_a_timeline_with_readouts_and_attribution() {
        let text = render(&sample(&[]));
        assert!(text.starts_with(
            "Macron–Putin calls, March 2022\nepisodes/macron-putin-2022-03 · 2022-03 (month)\n"
        ));
        assert!(!text.contains("WARNING"));
        assert!(text.contains("Timeline (3 entries)"));
        assert!(text.contains("■ 2022-03-12 (day) · phone call\n  Phone call: Emmanuel Macron"));
        assert!(text.contains("  status: held\n"));
        assert!(text.contains(
            "  readout by Kremlin press service (1 statement):\n    – Putin accused Kyiv of using civilians as human shields.\n"
        ));
        assert!(text.contains("■ 2022-03-12 (day) · statement, accusation, characterization\n"));
        assert!(text.contains(
            "  attribution: Publisher of the seed article, according to the Kremlin readout\n"
        ));
        assert!(text.contains("■ 2022-03-29 (day) · planned date · phone call\n"));
        assert!(text.contains("  status: expected, confirmed by one party\n"));
        assert!(text.contains("  Emmanuel Macron ↔ Vladimir Putin: held 3 (phone call ×3)\n"));
        assert!(text.contains("published by Publisher of the seed article; cited by 1 statement"));
        assert!(
            text.contains("– Olaf Scholz (actors/olaf-scholz) — Federal Chancellor of Germany\n"),
            "offices appear once: {text}"
        );
    }

    #[test]
    fn a_partial_view_says_which_parts_are_missing() {
        let text = render(&sample(&["statements"]));
        let warning = text
            .lines()
            .find(|line| line.starts_with("WARNING"))
            .expect("a warning line");
        assert!(warning.contains("unreachable: statements"), "{warning}");
        let two = unreachable_warning(&sample(&["statements", "documents"])).unwrap();
        assert!(two.contains("statements, documents") && two.contains("they are missing"));
    }

    #[test]
    fn dates_show_precision_qualifiers_and_the_sources_words() {
        let date_text = date_as_reported(Some(&FuzzyDate {
            edtf: "2021?".into(),
            precision: DatePrecision::Year as i32,
            uncertain: true,
            as_reported: "in office at the time".into(),
            ..Default::default()
        }));
        assert_eq!(date_text, "2021? (year, uncertain) “in office at the time”");
        assert_eq!(date(None), "date unknown");
    }

    #[test]
    fn long_text_wraps_under_its_indent() {
        let text = wrap(&"word ".repeat(60), "  ");
        assert!(text.lines().count() > 2);
        assert!(
            text.lines()
                .all(|l| l.starts_with("  word") && l.chars().count() <= WIDTH)
        );
    }

    fn names_of(actors: &[(&str, &str)]) -> Vec<InvolvedActor> {
        actors
            .iter()
            .map(|(name, display)| InvolvedActor {
                actor: Some(Actor {
                    name: (*name).into(),
                    display_name: (*display).into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect()
    }

    fn one_entry(entry: TimelineEntry, actors: &[(&str, &str)]) -> String {
        render(&EpisodeView {
            timeline: vec![entry],
            actors: names_of(actors),
            ..Default::default()
        })
    }

    fn interval(edtf: &str, start: DatePrecision, end: DatePrecision) -> FuzzyDate {
        FuzzyDate {
            edtf: edtf.into(),
            start_precision: start as i32,
            end_precision: end as i32,
            ..Default::default()
        }
    }

    #[test]
    fn unknown_open_and_approximate_dates_read_as_words() {
        use DatePrecision as P;
        let unknown = FuzzyDate {
            source: DateSource::Unknown as i32,
            as_reported: "at a date it has not disclosed".into(),
            ..Default::default()
        };
        assert_eq!(
            date(Some(&unknown)),
            "date unknown (“at a date it has not disclosed”)"
        );
        assert_eq!(
            date_as_reported(Some(&unknown)),
            "date unknown (“at a date it has not disclosed”)",
            "the words once"
        );
        assert_eq!(
            date(Some(&FuzzyDate {
                source: DateSource::Unknown as i32,
                ..Default::default()
            })),
            "date unknown"
        );
        assert_eq!(
            date(Some(&interval("../2022-05-03", P::Unspecified, P::Day))),
            "on or before 3 May 2022 (../2022-05-03)"
        );
        assert_eq!(
            date(Some(&interval("2021/..", P::Year, P::Unspecified))),
            "from 2021 (2021/..)"
        );
        assert_eq!(
            date(Some(&interval("2021-06/", P::Month, P::Unspecified))),
            "from June 2021, end unknown (2021-06/)"
        );
        // Each end at its own precision, with its own qualifier.
        assert_eq!(
            date(Some(&interval("2022-03-10~/2022-04", P::Day, P::Month))),
            "between about 10 March 2022 and April 2022 (2022-03-10~/2022-04)"
        );
        // A trailing qualifier is the whole interval's: both ends are about, or it is unsure.
        assert_eq!(
            date(Some(&interval("2022-23/2023?", P::Season, P::Year))),
            "between autumn 2022 and 2023 (2022-23/2023?, uncertain)"
        );
        assert_eq!(
            date(Some(&interval("2022-03-10/2022-03-12~", P::Day, P::Day))),
            "between about 10 March 2022 and about 12 March 2022 (2022-03-10/2022-03-12~)"
        );
        assert_eq!(
            date(Some(&interval("../2022-05-03%", P::Unspecified, P::Day))),
            "on or before about 3 May 2022 (../2022-05-03%, uncertain)"
        );
        assert_eq!(
            date(Some(&interval("2021?/..", P::Year, P::Unspecified))),
            "from 2021 (uncertain) (2021?/..)"
        );
        // Precision read from the text when the server did not give it.
        assert_eq!(
            date(Some(&interval(
                "2022-03-XX/2022-03-29T14:30Z",
                P::Unspecified,
                P::Unspecified
            ))),
            "between a day in March 2022 and 29 March 2022, 14:30Z (2022-03-XX/2022-03-29T14:30Z)"
        );
        assert_eq!(
            date(Some(&interval("202X/..", P::Decade, P::Unspecified))),
            "from the 2020s (202X/..)"
        );
        assert_eq!(
            date(Some(&FuzzyDate {
                edtf: "2022-03-29~".into(),
                precision: P::Day as i32,
                approximate: true,
                ..Default::default()
            })),
            "about 2022-03-29~ (day)"
        );
    }

    #[test]
    fn an_unknown_date_on_the_timeline_says_so_with_the_sources_words() {
        let text = one_entry(
            TimelineEntry {
                when: Some(FuzzyDate {
                    source: DateSource::Unknown as i32,
                    as_reported: "some time ago".into(),
                    ..Default::default()
                }),
                headline: "X: something".into(),
                subject: "statements/s".into(),
                entry: Some(Entry::Statement(StatementEntry::default())),
            },
            &[],
        );
        assert!(
            text.contains("■ date unknown (“some time ago”) · statement\n  X: something\n"),
            "{text}"
        );
        assert!(!text.contains("date as reported"), "{text}");
    }

    #[test]
    fn offices_show_their_qualifier() {
        let view = EpisodeView {
            actors: vec![InvolvedActor {
                actor: Some(Actor {
                    name: "actors/trump".into(),
                    display_name: "Donald Trump".into(),
                    ..Default::default()
                }),
                involvements: vec![],
                offices: vec![
                    OfficeAtTime {
                        title: "President of the United States".into(),
                        label: "President of the United States (elect)".into(),
                        qualifier: TenureQualifier::Elect as i32,
                        certain: true,
                        ..Default::default()
                    },
                    OfficeAtTime {
                        title: "Minister".into(),
                        label: "Minister (acting)".into(),
                        qualifier: TenureQualifier::Acting as i32,
                        certain: false,
                        ..Default::default()
                    },
                ],
            }],
            ..Default::default()
        };
        assert!(render(&view).contains(
            "  – Donald Trump (actors/trump) — President of the United States (elect); Minister (acting)\n    (possibly)\n"
        ));
    }

    fn communication_entry_with(c: CommunicationEntry) -> TimelineEntry {
        TimelineEntry {
            when: day("2026-02-15"),
            headline: "Phone call: A, B — reported held, denied".into(),
            subject: "communications/c".into(),
            entry: Some(Entry::Communication(c)),
        }
    }

    #[test]
    fn status_claims_durations_outcomes_and_initiative_are_shown_with_who_claims_them() {
        let mut hedged = StatusAssertion {
            lifecycle: Lifecycle::Held as i32,
            verification: Verification::ReportedUnconfirmed as i32,
            as_of: day("2026-02-15"),
            modality: Modality::Hedged as i32,
            note: "reported by local media".into(),
            ..Default::default()
        };
        let denial = StatusAssertion {
            verification: Verification::DeniedByParty as i32,
            asserted_by: "actors/togo-mfa".into(),
            side: "TGO".into(),
            statement: "statements/denial".into(),
            as_of: day("2026-02-16"),
            reason: "no such call took place".into(),
            modality: Modality::Certain as i32,
            ..Default::default()
        };
        let mut expected = denial.clone();
        expected.verification = 0;
        expected.lifecycle = Lifecycle::Scheduled as i32;
        expected.modality = Modality::Expected as i32;
        expected.asserted_by = "actors/unknown".into();
        expected.side.clear();
        expected.statement.clear();
        expected.reason.clear();
        expected.as_of = None;
        let entry = CommunicationEntry {
            communication: Some(Communication {
                kind: CommunicationKind::PhoneCall as i32,
                lifecycle: Lifecycle::Held as i32,
                verification: Verification::Disputed as i32,
                participants: vec![
                    Participant {
                        actor: "actors/ghana-mfa".into(),
                        initiator: true,
                        initiative_asserted_by: "actors/togo-mfa".into(),
                        ..Default::default()
                    },
                    Participant {
                        actor: "actors/togo".into(),
                        initiator: true,
                        ..Default::default()
                    },
                ],
                durations: vec![
                    DurationClaim {
                        seconds: 3600,
                        approximate: true,
                        as_reported: "about an hour".into(),
                        asserted_by: "actors/kremlin".into(),
                        ..Default::default()
                    },
                    DurationClaim {
                        seconds: 5400,
                        approximate: true,
                        ..Default::default()
                    },
                ],
                outcomes: vec![Outcome {
                    text: "agreed to reopen the market".into(),
                    kind: OutcomeKind::Agreement as i32,
                    parties: vec!["actors/ghana-mfa".into(), "actors/togo".into()],
                    asserted_by: "actors/kremlin".into(),
                    ..Default::default()
                }],
                topics: vec![Topic {
                    label: "The summit".into(),
                    communication: "communications/summit".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status_claims: vec![
                StatusClaim {
                    status: Some(hedged.clone()),
                    asserted_by_display_name: "Meridian News".into(),
                },
                StatusClaim {
                    status: Some(denial),
                    asserted_by_display_name: "Togolese foreign ministry".into(),
                },
                StatusClaim {
                    status: Some(expected),
                    asserted_by_display_name: String::new(),
                },
            ],
            status_summary: "reported possibly held (Meridian News); denied by Togolese foreign ministry (reason: no such call took place)".into(),
            ..Default::default()
        };
        let text = one_entry(
            communication_entry_with(entry.clone()),
            &[
                ("actors/kremlin", "Kremlin press service"),
                ("actors/ghana-mfa", "Ghana's foreign ministry"),
                ("actors/togo", "Togo"),
                ("actors/togo-mfa", "Togolese foreign ministry"),
            ],
        );
        for line in [
            "  status: reported held, disputed\n",
            "  claimed: reported possibly held (Meridian News); denied by Togolese foreign ministry (reason: no\n           such call took place)\n",
            "  status log:\n",
            "    – 2026-02-15 (day): possibly held, reported unconfirmed (hedged: might) — per Meridian News;\n      note: “reported by local media”\n",
            "    – 2026-02-16 (day): denied by party — by Togolese foreign ministry, for TGO; reason: no such\n      call took place (statements/denial)\n",
            "    – date unknown: scheduled (stated as expected) — by actors/unknown\n",
            "  duration: about an hour (Kremlin press service); about 1 h 30 min\n",
            "  initiative: Ghana's foreign ministry (according to Togolese foreign ministry)\n",
            "  initiative: Togo\n",
            "  outcome: agreed to reopen the market (agreement; parties: Ghana's foreign ministry, Togo; claimed\n           by Kremlin press service)\n",
            "  topic: The summit — the communication communications/summit\n",
        ] {
            assert!(text.contains(line), "{line:?} in:\n{text}");
        }
        assert!(
            !text.contains("status: held"),
            "never plainly held:\n{text}"
        );

        // A held, confirmed communication reads as held.
        hedged.modality = 0;
        let mut held = entry;
        let communication = held.communication.as_mut().unwrap();
        communication.verification = Verification::ConfirmedByOneParty as i32;
        let text = one_entry(communication_entry_with(held), &[]);
        assert!(
            text.contains("  status: held, confirmed by one party\n"),
            "{text}"
        );
    }

    #[test]
    fn relayed_speech_nests_and_statement_links_are_shown() {
        let text = "Peskov said talks were possible, but no date has been set.";
        let statement = Statement {
            communication: "communications/c1".into(),
            related_communications: vec!["communications/c2".into(), "communications/c3".into()],
            same_utterance_as: vec!["statements/other-outlet".into()],
            placement: Some(DocumentPlacement {
                section: DocumentSection::Lead as i32,
                ordinal: 3,
            }),
            content: Some(Content {
                text: text.into(),
                mode: ContentMode::Paraphrase as i32,
                attributed_spans: vec![QuotedSpan { start: 0, end: 31 }],
                ..Default::default()
            }),
            relayed: vec![RelayedSpeech {
                speakers: vec!["actors/putin".into()],
                addressees: vec!["actors/scholz".into()],
                speech_act: SpeechAct::Assertion as i32,
                content: Some(Content {
                    text: "Kyiv is stalling the talks".into(),
                    mode: ContentMode::Paraphrase as i32,
                    ..Default::default()
                }),
                said: day("2022-03-12"),
                relayed: vec![RelayedSpeech {
                    speakers: vec!["actors/lavrov".into(), "actors/peskov".into()],
                    speech_act: SpeechAct::Denial as i32,
                    content: Some(Content {
                        text: "No agreement was reached.".into(),
                        mode: ContentMode::Verbatim as i32,
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
            }],
            ..Default::default()
        };
        let entry = TimelineEntry {
            when: day("2022-03-13"),
            headline: "Kremlin press service, paraphrased: …".into(),
            subject: "statements/s".into(),
            entry: Some(Entry::Statement(StatementEntry {
                statement: Some(statement),
                attribution: "The Publisher, citing local media, told by Kremlin press service"
                    .into(),
                chain: vec![
                    ResolvedHop::default(),
                    ResolvedHop {
                        hop: Some(AttributionHop {
                            unnamed_source: "local media".into(),
                            cue: "Peskov said".into(),
                            cue_carried_over: true,
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            })),
        };
        let text = one_entry(
            entry,
            &[
                ("actors/putin", "Vladimir Putin"),
                ("actors/scholz", "Olaf Scholz"),
                ("actors/lavrov", "Sergey Lavrov"),
            ],
        );
        for line in [
            "  attribution: The Publisher, citing local media, told by Kremlin press service (cue carried over:\n               “Peskov said”)\n",
            "  attribution covers: “Peskov said talks were possible”\n",
            "  relays: Vladimir Putin → Olaf Scholz (assertion, paraphrase, 2022-03-12 (day)): “Kyiv is stalling\n          the talks”\n",
            "    relays: Sergey Lavrov, actors/peskov (denial): “No agreement was reached.”\n",
            "  placement: lead, statement 3 of its document\n",
            "  same words as: statements/other-outlet\n",
            "  about: communications/c1; also communications/c2, communications/c3\n",
        ] {
            assert!(text.contains(line), "{line:?} in:\n{text}");
        }
    }

    #[test]
    fn contacts_show_held_counts_and_the_communications_not_held_with_their_status() {
        let mut view = sample(&[]);
        view.contacts = vec![ContactPair {
            actor_a: "actors/emmanuel-macron".into(),
            actor_b: "actors/vladimir-putin".into(),
            actor_a_display_name: "Emmanuel Macron".into(),
            actor_b_display_name: "Vladimir Putin".into(),
            count: 1,
            by_kind: vec![KindCount {
                kind: CommunicationKind::PhoneCall as i32,
                count: 1,
            }],
            communications: vec!["communications/c12".into()],
            not_held: vec!["communications/c29".into(), "communications/gone".into()],
        }];
        view.contacts.push(ContactPair {
            actor_a: "actors/a".into(),
            actor_b: "actors/b".into(),
            count: 0,
            not_held: vec!["communications/c29".into()],
            ..Default::default()
        });
        let text = render(&view);
        assert!(
            text.contains(
                "  Emmanuel Macron ↔ Vladimir Putin: held 1 (phone call ×1)\n    not held: communications/c29 (expected, confirmed by one party); communications/gone (no status)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("  actors/a ↔ actors/b: held 0\n    not held: communications/c29 (expected, confirmed by one party)\n"),
            "{text}"
        );
    }

    #[test]
    fn actors_show_how_they_take_part_and_those_not_read_say_so() {
        let view = EpisodeView {
            actors: vec![
                InvolvedActor {
                    actor: Some(Actor {
                        name: "actors/putin".into(),
                        display_name: "Vladimir Putin".into(),
                        ..Default::default()
                    }),
                    involvements: vec![
                        Involvement::Participant as i32,
                        Involvement::RelayedSpeaker as i32,
                    ],
                    offices: vec![],
                },
                InvolvedActor {
                    actor: Some(Actor {
                        name: "actors/kofi-adjei".into(),
                        ..Default::default()
                    }),
                    involvements: vec![Involvement::Author as i32],
                    offices: vec![],
                },
                InvolvedActor {
                    actor: Some(Actor {
                        name: "actors/background".into(),
                        display_name: "Background".into(),
                        ..Default::default()
                    }),
                    involvements: vec![Involvement::Recorded as i32],
                    offices: vec![],
                },
            ],
            ..Default::default()
        };
        let text = render(&view);
        assert!(
            text.contains(
                "  – Vladimir Putin (actors/putin) · participant, relayed speaker\n  – actors/kofi-adjei (not read) · author\n  – Background (actors/background) · recorded\n"
            ),
            "{text}"
        );
    }
}
