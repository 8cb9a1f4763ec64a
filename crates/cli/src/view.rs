//! `chancery view episodes/ID`: the gateway's `GetEpisodeView` as a timeline to read in a
//! terminal: each entry's date with its precision, its kind and headline, the readouts under
//! their call, each statement's attribution; then who talked to whom, the sources and the
//! actors with their offices at the time. Parts the gateway could not read are named in a
//! warning at the top; the view is still shown, and the command still succeeds.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use chancery_proto::common::v1::{DatePrecision, FuzzyDate};
use chancery_proto::communications::v1::{CommunicationKind, Lifecycle, Verification};
use chancery_proto::gateway::v1::{
    EpisodeView, GetEpisodeViewRequest, TimelineEntry, timeline_entry::Entry,
};
use chancery_proto::statements::v1::{ContentMode, SpeechAct};

use crate::args::ViewOptions;
use crate::client::{self, Failure};

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

/// A date as `2022-03-29 (day)`, with its qualifiers: `2021? (year, uncertain)`.
fn date(date: Option<&FuzzyDate>) -> String {
    let Some(date) = date else {
        return "date unknown".to_owned();
    };
    let mut qualifiers = vec![precision(date)];
    if date.uncertain {
        qualifiers.push("uncertain".into());
    }
    if date.approximate {
        qualifiers.push("approximate".into());
    }
    format!("{} ({})", date.edtf, qualifiers.join(", "))
}

/// A date with the source's own words, when it has them: `2022-03 (month) “March 2022”`.
fn date_as_reported(fuzzy: Option<&FuzzyDate>) -> String {
    let mut text = date(fuzzy);
    if let Some(reported) = fuzzy
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

fn render_entry(out: &mut String, view: &EpisodeView, entry: &TimelineEntry) {
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
        .map(|d| d.as_reported.as_str())
        .filter(|r| !r.is_empty())
    {
        out.push_str(&wrap(&format!("date as reported: “{reported}”"), "  "));
    }
    match &entry.entry {
        Some(Entry::Communication(c)) => {
            if let Some(communication) = &c.communication {
                let mut status = Vec::new();
                if let Ok(lifecycle) = Lifecycle::try_from(communication.lifecycle)
                    && lifecycle != Lifecycle::Unspecified
                {
                    status.push(words(lifecycle.as_str_name(), "LIFECYCLE_"));
                }
                if let Ok(verification) = Verification::try_from(communication.verification)
                    && verification != Verification::Unspecified
                {
                    status.push(words(verification.as_str_name(), "VERIFICATION_"));
                }
                if !status.is_empty() {
                    let _ = writeln!(out, "  status: {}", status.join(", "));
                }
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
                let _ = writeln!(out, "  also about it: {}", c.other_statements.join(", "));
            }
        }
        Some(Entry::Statement(s)) if !s.attribution.is_empty() => {
            out.push_str(&wrap(&format!("attribution: {}", s.attribution), "  "));
        }
        Some(Entry::Statement(_)) | None => {}
    }
    let _ = writeln!(out, "  ({})", entry.subject);
}

/// The view as text for a terminal.
pub fn render(view: &EpisodeView) -> String {
    let mut out = String::new();
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

    let _ = writeln!(
        out,
        "\nTimeline ({} entr{})\n",
        view.timeline.len(),
        if view.timeline.len() == 1 { "y" } else { "ies" }
    );
    for entry in &view.timeline {
        render_entry(&mut out, view, entry);
        out.push('\n');
    }

    if !view.contacts.is_empty() {
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
                "  {} ↔ {}: {} time{}{}",
                name(&contact.actor_a_display_name, &contact.actor_a),
                name(&contact.actor_b_display_name, &contact.actor_b),
                contact.count,
                if contact.count == 1 { "" } else { "s" },
                if kinds.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", kinds.join(", "))
                }
            );
        }
        out.push('\n');
    }

    if !view.sources.is_empty() {
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

    if !view.actors.is_empty() {
        let _ = writeln!(out, "Actors\n");
        for involved in &view.actors {
            let actor = involved.actor.clone().unwrap_or_default();
            let mut offices: Vec<String> = Vec::new();
            for office in &involved.offices {
                let title = if office.certain {
                    office.title.clone()
                } else {
                    format!("{} (possibly)", office.title)
                };
                if !offices.contains(&title) {
                    offices.push(title);
                }
            }
            let line = if offices.is_empty() {
                format!("{} ({})", actor.display_name, actor.name)
            } else {
                format!(
                    "{} ({}) — {}",
                    actor.display_name,
                    actor.name,
                    offices.join("; ")
                )
            };
            out.push_str(&item(&line, "  "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_proto::actors::v1::Actor;
    use chancery_proto::communications::v1::Communication;
    use chancery_proto::gateway::v1::{
        CommunicationEntry, ContactPair, Episode, InvolvedActor, KindCount, OfficeAtTime,
        ReadoutGroup, SourceUse, StatementEntry,
    };
    use chancery_proto::statements::v1::{Content, SourceDocument, Statement};

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
        assert!(text.contains("  Emmanuel Macron ↔ Vladimir Putin: 3 times (phone call ×3)\n"));
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
}
