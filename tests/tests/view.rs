//! `GetEpisodeView` end to end: a real gateway over counting fake backends (fan-out, partial
//! views, deadlines, paging), and over the real suite with the seed article loaded.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use chancery_proto::communications::v1::CommunicationKind;
use chancery_proto::gateway::v1::timeline_entry::Entry;
use chancery_proto::gateway::v1::{
    CommunicationEntry, CreateEpisodeRequest, Episode, EpisodeView, GetEpisodeViewRequest,
    Involvement, StatementEntry, TimelineEntry,
};
use chancery_testkit::fakes::{Behaviour, spawn_fakes};
use chancery_testkit::{Backend, TestServer, seed, spawn_suite, spawn_suite_on};
use tonic::{Code, Request, Status};

/// The five batch calls of one view, once each: two rounds whatever the episode's size.
const ONE_VIEW: [(&str, usize); 5] = [
    ("BatchGetActors", 1),
    ("BatchGetCommunications", 1),
    ("BatchGetSourceDocuments", 1),
    ("BatchGetStatements", 1),
    ("ResolveOffices", 1),
];

fn one_view() -> BTreeMap<String, usize> {
    ONE_VIEW
        .iter()
        .map(|(rpc, calls)| ((*rpc).to_owned(), *calls))
        .collect()
}

fn names(collection: &str, prefix: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("{collection}/{prefix}-{i}"))
        .collect()
}

/// Creates `episodes/{id}` through the gateway's CreateEpisode.
async fn create_episode(
    gateway: &TestServer,
    id: &str,
    communications: Vec<String>,
    statements: Vec<String>,
    actors_of_interest: Vec<String>,
) -> Episode {
    gateway
        .gateway()
        .create_episode(CreateEpisodeRequest {
            episode: Some(Episode {
                title: format!("Episode {id}"),
                communications,
                statements,
                actors_of_interest,
                ..Default::default()
            }),
            episode_id: id.into(),
            request_id: String::new(),
        })
        .await
        .unwrap_or_else(|status| panic!("CreateEpisode {id}: {status:?}"))
        .into_inner()
}

/// An episode of `communications` synthetic communications and `statements` synthetic
/// statements, with one actor of interest.
async fn synthetic_episode(
    gateway: &TestServer,
    id: &str,
    communications: usize,
    statements: usize,
) -> String {
    create_episode(
        gateway,
        id,
        names("communications", id, communications),
        names("statements", id, statements),
        vec!["actors/of-interest".into()],
    )
    .await
    .name
}

/// Views `name`, with the caller's deadline when given (sent as `grpc-timeout` and enforced
/// here too, so an answer after it fails the call).
async fn view(
    gateway: &TestServer,
    name: &str,
    page_size: i32,
    page_token: &str,
    deadline: Option<Duration>,
) -> Result<EpisodeView, Status> {
    let mut request = Request::new(GetEpisodeViewRequest {
        name: name.into(),
        page_size,
        page_token: page_token.into(),
    });
    let mut client = gateway.gateway();
    match deadline {
        Some(deadline) => {
            request.set_timeout(deadline);
            match tokio::time::timeout(deadline, client.get_episode_view(request)).await {
                Ok(answer) => answer.map(|r| r.into_inner()),
                Err(_) => Err(Status::deadline_exceeded("the view came too late")),
            }
        }
        None => client
            .get_episode_view(request)
            .await
            .map(|r| r.into_inner()),
    }
}

fn subjects(view: &EpisodeView) -> Vec<String> {
    view.timeline.iter().map(|e| e.subject.clone()).collect()
}

fn communication(entry: &TimelineEntry) -> &CommunicationEntry {
    match &entry.entry {
        Some(Entry::Communication(c)) => c,
        other => panic!("{} is not a communication: {other:?}", entry.subject),
    }
}

fn statement(entry: &TimelineEntry) -> &StatementEntry {
    match &entry.entry {
        Some(Entry::Statement(s)) => s,
        other => panic!("{} is not a statement: {other:?}", entry.subject),
    }
}

#[tokio::test]
async fn a_view_of_3_or_3000_members_makes_the_same_backend_calls() {
    let fakes = spawn_fakes().await;
    let gateway = fakes.spawn_gateway().await;
    let small = synthetic_episode(&gateway, "small", 2, 1).await;
    let large = synthetic_episode(&gateway, "large", 1500, 1500).await;

    let mut calls = Vec::new();
    for (name, members) in [(&small, 3), (&large, 3000)] {
        fakes.reset_calls();
        let view = view(&gateway, name, 5000, "", None).await.unwrap();
        assert!(view.unreachable.is_empty(), "{:?}", view.unreachable);
        assert!(view.missing_members.is_empty());
        assert_eq!(view.timeline.len(), members, "every member on one page");
        assert!(view.next_page_token.is_empty());
        assert!(!view.actors.is_empty() && !view.contacts.is_empty() && !view.sources.is_empty());
        calls.push(fakes.calls());
    }
    assert_eq!(calls[0], one_view(), "3 members");
    assert_eq!(calls[1], one_view(), "3000 members: the same calls");
    // … because each batch carried the whole list.
    assert_eq!(
        fakes
            .communications
            .control
            .largest_batch("BatchGetCommunications"),
        1500
    );
    assert_eq!(
        fakes.statements.control.largest_batch("BatchGetStatements"),
        1500
    );
}

#[tokio::test]
async fn a_view_takes_two_sequential_rounds_of_concurrent_calls() {
    let fakes = spawn_fakes().await;
    let gateway = fakes.spawn_gateway().await;
    let name = synthetic_episode(&gateway, "rounds", 20, 20).await;
    // Long enough that a loaded CI machine's scheduling noise stays well under one step.
    let delay = Duration::from_millis(500);
    for fake in [&fakes.actors, &fakes.communications, &fakes.statements] {
        fake.control.set_behaviour(Behaviour::Delay(delay));
    }
    fakes.reset_calls();
    let started = Instant::now();
    let view = view(&gateway, &name, 0, "", None).await.unwrap();
    let elapsed = started.elapsed();
    assert!(view.unreachable.is_empty(), "{:?}", view.unreachable);
    assert_eq!(fakes.calls(), one_view());
    // Five calls of 500 ms each: two rounds take 1 s; any third sequential step would take
    // 1.5 s or more.
    assert!(
        elapsed >= 2 * delay && elapsed < 3 * delay,
        "two rounds take about {:?}, this view took {elapsed:?}",
        2 * delay
    );
}

#[tokio::test]
async fn a_failing_backend_gives_a_partial_view_naming_it() {
    // (which fake fails, the RPC retried, what `unreachable` says)
    let cases = [
        (
            "communications",
            "BatchGetCommunications",
            vec!["communications"],
        ),
        // Documents are read from the statements service too.
        (
            "statements",
            "BatchGetStatements",
            vec!["documents", "statements"],
        ),
        ("actors", "BatchGetActors", vec!["actors"]),
    ];
    for (failing, rpc, unreachable) in cases {
        let fakes = spawn_fakes().await;
        let gateway = fakes.spawn_gateway().await;
        let name = synthetic_episode(&gateway, "partial", 4, 5).await;
        let fake = match failing {
            "communications" => &fakes.communications,
            "statements" => &fakes.statements,
            _ => &fakes.actors,
        };
        fake.control.set_behaviour(Behaviour::Unavailable);
        fakes.reset_calls();

        let view = view(&gateway, &name, 0, "", Some(Duration::from_secs(5)))
            .await
            .unwrap_or_else(|status| panic!("{failing} down: {status:?}"));
        assert_eq!(view.unreachable, unreachable, "{failing} down");
        assert_eq!(fake.control.calls(rpc), 2, "{rpc} is retried once");
        assert_eq!(
            view.episode.as_ref().map(|e| e.name.as_str()),
            Some(name.as_str())
        );
        match failing {
            "communications" => {
                assert_eq!(view.timeline.len(), 5, "the statements only");
                assert!(view.contacts.is_empty());
                assert!(!view.actors.is_empty(), "the statements' actors");
            }
            "statements" => {
                assert_eq!(view.timeline.len(), 4, "the communications only");
                assert!(!view.contacts.is_empty() && !view.actors.is_empty());
                let source = &view.sources[0];
                assert!(
                    source.document.as_ref().unwrap().title.is_empty(),
                    "documents by name only"
                );
                assert!(!source.communications.is_empty());
            }
            _ => {
                assert_eq!(view.timeline.len(), 9);
                assert!(view.actors.is_empty(), "missing with the actors service");
                let said = view
                    .timeline
                    .iter()
                    .find(|e| matches!(e.entry, Some(Entry::Statement(_))))
                    .unwrap();
                assert!(statement(said).speaker_display_name.is_empty());
                assert!(statement(said).speaker_office.is_empty());
                assert!(
                    said.headline.starts_with("actors/person-"),
                    "names fall back to resource names: {}",
                    said.headline
                );
            }
        }
    }
}

#[tokio::test]
async fn a_backend_that_hangs_gives_a_partial_view_within_the_deadline() {
    let deadline = Duration::from_secs(1);
    for (hanging, unreachable) in [
        ("communications", vec!["communications"]),
        ("statements", vec!["documents", "statements"]),
        ("actors", vec!["actors"]),
    ] {
        let fakes = spawn_fakes().await;
        let gateway = fakes.spawn_gateway().await;
        let name = synthetic_episode(&gateway, "slow", 3, 3).await;
        let fake = match hanging {
            "communications" => &fakes.communications,
            "statements" => &fakes.statements,
            _ => &fakes.actors,
        };
        fake.control.set_behaviour(Behaviour::Hang);
        fakes.reset_calls();

        let started = Instant::now();
        let view = view(&gateway, &name, 0, "", Some(deadline))
            .await
            .unwrap_or_else(|status| panic!("{hanging} hangs: {status:?}"));
        let elapsed = started.elapsed();
        assert!(
            elapsed < deadline,
            "{hanging} hangs: answered in {elapsed:?}"
        );
        assert_eq!(view.unreachable, unreachable, "{hanging} hangs");
        if hanging != "actors" {
            // A hang in round one leaves round two its own budget: the other members' actors
            // are still resolved.
            assert!(!view.actors.is_empty(), "{hanging} hangs");
            assert!(
                view.actors[0]
                    .actor
                    .as_ref()
                    .unwrap()
                    .display_name
                    .starts_with("Actor ")
            );
        }
    }
}

#[tokio::test]
async fn the_timeline_pages_without_gap_or_duplicate() {
    let fakes = spawn_fakes().await;
    let gateway = fakes.spawn_gateway().await;
    let name = synthetic_episode(&gateway, "paged", 1200, 1200).await;
    let whole = view(&gateway, &name, 5000, "", None).await.unwrap();
    assert_eq!(whole.timeline.len(), 2400);

    fakes.reset_calls();
    let mut paged = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = view(&gateway, &name, 500, &token, None).await.unwrap();
        pages += 1;
        assert!(page.timeline.len() <= 500);
        paged.extend(subjects(&page));
        assert_eq!(
            page.contacts, whole.contacts,
            "every page has the whole episode's contacts"
        );
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(
        paged,
        subjects(&whole),
        "the same entries in the same order"
    );
    let distinct: HashSet<&String> = paged.iter().collect();
    assert_eq!(distinct.len(), 2400, "no duplicate");
    let per_page: BTreeMap<String, usize> = one_view()
        .into_iter()
        .map(|(rpc, calls)| (rpc, calls * pages))
        .collect();
    assert_eq!(fakes.calls(), per_page, "each page is one view's calls");

    // Oldest first: by the earliest, then the latest bound, then the name (synthetic statements
    // carry no placement, and every synthetic date is known).
    let keys: Vec<_> = whole
        .timeline
        .iter()
        .map(|e| {
            let when = e.when.as_ref().unwrap();
            (
                when.earliest.as_ref().map(|t| t.seconds),
                when.latest.as_ref().map(|t| t.seconds),
                e.subject.clone(),
            )
        })
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "strictly ordered");

    // The default page is 500; a token is bound to its episode; bad input is refused.
    let first = view(&gateway, &name, 0, "", None).await.unwrap();
    assert_eq!(first.timeline.len(), 500);
    let other = synthetic_episode(&gateway, "other", 1, 1).await;
    for (name, size, token) in [
        (other.as_str(), 0, first.next_page_token.as_str()),
        (name.as_str(), -1, ""),
        (name.as_str(), 0, "not-a-token"),
        ("episodes/Not Valid", 0, ""),
    ] {
        let status = view(&gateway, name, size, token, None).await.unwrap_err();
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{name} {size} {token}"
        );
    }
    let status = view(&gateway, "episodes/nothing-here", 0, "", None)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn members_gone_from_their_service_are_listed_missing() {
    let fakes = spawn_fakes().await;
    let gateway = fakes.spawn_gateway().await;
    let name = synthetic_episode(&gateway, "gone", 3, 3).await;
    fakes
        .communications
        .control
        .set_missing(["communications/gone-1"]);
    fakes.statements.control.set_missing(["statements/gone-2"]);
    let view = view(&gateway, &name, 0, "", None).await.unwrap();
    assert_eq!(
        view.missing_members,
        ["communications/gone-1", "statements/gone-2"]
    );
    assert!(view.unreachable.is_empty());
    assert_eq!(view.timeline.len(), 4);
}

#[tokio::test]
async fn the_seed_episode_reads_as_one_sourced_view() {
    let suite = spawn_suite().await;
    let seed = seed::episode();
    seed::load(&suite, &seed)
        .await
        .expect("the seed episode loads");
    let communications: Vec<String> = seed
        .communications
        .iter()
        .map(|c| format!("communications/{}", c.communication_id))
        .collect();
    let statements: Vec<String> = seed
        .statements
        .iter()
        .map(|s| format!("statements/{}", s.statement_id))
        .collect();
    create_episode(
        &suite.gateway,
        "macron-putin-2022-03",
        communications,
        statements,
        vec![
            "actors/associated-press".into(),
            "actors/seed-article-publisher".into(),
        ],
    )
    .await;

    let view = view(
        &suite.gateway,
        "episodes/macron-putin-2022-03",
        0,
        "",
        Some(Duration::from_secs(10)),
    )
    .await
    .unwrap();
    assert!(view.unreachable.is_empty(), "{:?}", view.unreachable);
    assert!(view.missing_members.is_empty());
    assert!(view.next_page_token.is_empty());

    // Q5, Q14: the timeline, oldest first. Lavrov's words are dated "in March, by the 28th", so
    // they start first; Legendre's interval comes after the call of 22 March.
    assert_eq!(
        subjects(&view),
        [
            "statements/lavrov-retaliatory-measures",
            "communications/macron-scholz-putin-2022-03-12",
            "statements/french-official-no-agreement",
            "statements/putin-human-shields-accusation",
            "statements/putin-humanitarian-situation",
            "statements/putin-shared-negotiation-details",
            "statements/scholz-macron-ceasefire",
            "communications/macron-putin-2022-03-22",
            "statements/legendre-channel-for-dialogue",
            "statements/legendre-confirms-call",
            "statements/legendre-long-conversations",
            "statements/legendre-mariupol-evacuation",
            "statements/legendre-visa-measures",
            "statements/seed-war-context",
            "communications/macron-putin-2022-03-29",
        ]
    );
    let entry = |subject: &str| {
        view.timeline
            .iter()
            .find(|e| e.subject == subject)
            .unwrap_or_else(|| panic!("{subject} is on the timeline"))
    };
    let call_12 = entry("communications/macron-scholz-putin-2022-03-12");
    assert!(!communication(call_12).planned);
    assert_eq!(
        call_12.headline,
        "Phone call: Emmanuel Macron, Olaf Scholz, Vladimir Putin — held"
    );
    let call_29 = entry("communications/macron-putin-2022-03-29");
    assert!(communication(call_29).planned, "29 March: the planned date");
    assert_eq!(call_29.when.as_ref().unwrap().edtf, "2022-03-29");
    assert_eq!(
        call_29.headline,
        "Phone call: Emmanuel Macron, Vladimir Putin — expected"
    );
    assert!(!communication(entry("communications/macron-putin-2022-03-22")).planned);

    // Q12: the two readouts of the 12 March call, by issuer.
    let readouts: Vec<(&str, &str, usize)> = communication(call_12)
        .readouts
        .iter()
        .map(|r| {
            (
                r.issuer.as_str(),
                r.issuer_display_name.as_str(),
                r.statements.len(),
            )
        })
        .collect();
    assert_eq!(
        readouts,
        [
            ("actors/kremlin-press-service", "Kremlin press service", 3),
            ("actors/german-spokesperson", "a German spokesperson", 1),
        ]
    );
    assert_eq!(
        communication(call_12).readouts[1].statements,
        ["statements/scholz-macron-ceasefire"]
    );
    assert_eq!(
        communication(call_12).other_statements,
        ["statements/french-official-no-agreement"]
    );

    // Q1, Q6: Legendre's confirmation, her office then, and its chain with outlets named.
    let confirmation = entry("statements/legendre-confirms-call");
    let said = statement(confirmation);
    assert_eq!(said.speaker_display_name, "Anne-Claire Legendre");
    assert_eq!(
        said.speaker_office,
        "Spokesperson of the Ministry for Europe and Foreign Affairs"
    );
    let reporters: Vec<&str> = said
        .chain
        .iter()
        .map(|h| h.reporter_display_name.as_str())
        .collect();
    assert_eq!(
        reporters,
        ["Publisher of the seed article", "TASS", "BFM TV"]
    );
    assert!(
        said.chain[0]
            .document_title
            .starts_with("Macron expected to hold phone call")
    );
    assert_eq!(
        said.attribution,
        "Publisher of the seed article, reporting TASS, citing BFM TV, told by Anne-Claire Legendre"
    );
    // Q9: a partial quote shows the quoted words.
    assert_eq!(
        entry("statements/legendre-channel-for-dialogue").headline,
        "Anne-Claire Legendre (Spokesperson of the Ministry for Europe and Foreign Affairs): \u{201c}channel for dialogue open\u{201d}"
    );
    // Q13: the official, reported by The Guardian.
    assert_eq!(
        statement(entry("statements/french-official-no-agreement")).attribution,
        "Publisher of the seed article, reporting The Guardian, told by a French Presidency official"
    );

    // Status: who claims what, in the order the computed state takes the log.
    assert_eq!(
        communication(call_29).status_summary,
        "expected, confirmed by Anne-Claire Legendre"
    );
    let claims: Vec<(&str, &str)> = communication(call_29)
        .status_claims
        .iter()
        .map(|c| {
            (
                c.status.as_ref().unwrap().asserted_by.as_str(),
                c.asserted_by_display_name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        claims,
        [("actors/anne-claire-legendre", "Anne-Claire Legendre")]
    );
    // The article's own claim is named by the article's publisher.
    assert_eq!(
        communication(call_12).status_summary,
        "held (Publisher of the seed article)"
    );
    assert_eq!(
        communication(call_12).status_claims[0].asserted_by_display_name,
        "Publisher of the seed article"
    );

    // Q15: who talked to whom. The 29 March call was only expected, so it is no contact yet:
    // it is listed as not held.
    let contacts: Vec<(&str, &str, i32, Vec<&str>)> = view
        .contacts
        .iter()
        .map(|c| {
            (
                c.actor_a.as_str(),
                c.actor_b.as_str(),
                c.count,
                c.not_held.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        contacts,
        [
            (
                "actors/emmanuel-macron",
                "actors/vladimir-putin",
                2,
                vec!["communications/macron-putin-2022-03-29"]
            ),
            ("actors/emmanuel-macron", "actors/olaf-scholz", 1, vec![]),
            ("actors/olaf-scholz", "actors/vladimir-putin", 1, vec![]),
        ]
    );
    let macron_putin = &view.contacts[0];
    assert_eq!(
        (
            macron_putin.actor_a_display_name.as_str(),
            macron_putin.actor_b_display_name.as_str()
        ),
        ("Emmanuel Macron", "Vladimir Putin")
    );
    assert_eq!(macron_putin.by_kind.len(), 1);
    assert_eq!(
        (macron_putin.by_kind[0].kind, macron_putin.by_kind[0].count),
        (CommunicationKind::PhoneCall as i32, 2)
    );
    assert_eq!(
        macron_putin.communications,
        [
            "communications/macron-scholz-putin-2022-03-12",
            "communications/macron-putin-2022-03-22",
        ]
    );

    // Q2, Q4: actors with their roles and offices at the time.
    let actor = |name: &str| {
        view.actors
            .iter()
            .find(|a| a.actor.as_ref().unwrap().name == name)
            .unwrap_or_else(|| panic!("{name} is involved"))
    };
    let involvements = |name: &str| -> Vec<Involvement> {
        actor(name)
            .involvements
            .iter()
            .map(|i| Involvement::try_from(*i).unwrap())
            .collect()
    };
    assert_eq!(
        involvements("actors/associated-press"),
        [Involvement::MediaCredit, Involvement::OfInterest],
        "AP is credited for the image, and is no source"
    );
    assert!(involvements("actors/tass").contains(&Involvement::Reporter));
    assert!(involvements("actors/the-guardian").contains(&Involvement::Reporter));
    assert!(involvements("actors/seed-article-publisher").contains(&Involvement::Publisher));
    assert!(involvements("actors/meae").contains(&Involvement::PrincipalOfSpeaker));
    let offices = |name: &str| -> HashSet<String> {
        actor(name)
            .offices
            .iter()
            .map(|o| o.title.clone())
            .collect()
    };
    for (name, title) in [
        ("actors/emmanuel-macron", "President of the French Republic"),
        (
            "actors/vladimir-putin",
            "President of the Russian Federation",
        ),
        ("actors/olaf-scholz", "Federal Chancellor of Germany"),
        (
            "actors/sergey-lavrov",
            "Minister of Foreign Affairs of Russia",
        ),
    ] {
        assert_eq!(offices(name), HashSet::from([title.to_owned()]), "{name}");
        for office in &actor(name).offices {
            assert_eq!(
                (office.label.as_str(), office.qualifier),
                (title, 0),
                "{name}: held plainly, so the label is the title"
            );
        }
    }
    let display_names: Vec<&str> = view
        .actors
        .iter()
        .map(|a| a.actor.as_ref().unwrap().display_name.as_str())
        .collect();
    let mut sorted = display_names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(display_names, sorted, "ordered by display name");

    // The one source document, and what cites it.
    assert_eq!(view.sources.len(), 1);
    let source = &view.sources[0];
    assert_eq!(source.document.as_ref().unwrap().name, seed::SEED_DOCUMENT);
    assert_eq!(
        source.publisher_display_name,
        "Publisher of the seed article"
    );
    assert_eq!(source.statements.len(), 12);
    assert_eq!(source.communications.len(), 3);
}

/// A small episode exercising what the view makes of qualifiers, denials, placements, unknown
/// dates, relayed speech, authors and recorded actors, imported whole through `ImportBundle`.
const NEW_FIELDS_BUNDLE: &str = r#"{
  "episode": {
    "name": "episodes/new-fields",
    "title": "New fields",
    "communications": ["communications/c-held", "communications/c-denied"],
    "statements": ["statements/s-elect", "statements/s-z-first", "statements/s-unknown"],
    "otherActors": ["actors/background"]
  },
  "actors": [
    {"name": "actors/usa", "kind": "ACTOR_KIND_STATE", "displayName": "United States", "country": "USA"},
    {"name": "actors/trump", "kind": "ACTOR_KIND_PERSON", "displayName": "Donald Trump"},
    {"name": "actors/putin", "kind": "ACTOR_KIND_PERSON", "displayName": "Vladimir Putin"},
    {"name": "actors/scholz", "kind": "ACTOR_KIND_PERSON", "displayName": "Olaf Scholz"},
    {"name": "actors/lavrov", "kind": "ACTOR_KIND_PERSON", "displayName": "Sergey Lavrov"},
    {"name": "actors/kremlin", "kind": "ACTOR_KIND_GOVERNMENT_BODY", "displayName": "Kremlin press service"},
    {"name": "actors/elysee", "kind": "ACTOR_KIND_GOVERNMENT_BODY", "displayName": "Élysée"},
    {"name": "actors/outlet", "kind": "ACTOR_KIND_MEDIA_OUTLET", "displayName": "The Outlet",
     "media": {"mediaType": "MEDIA_TYPE_NEWS_AGENCY"}},
    {"name": "actors/author", "kind": "ACTOR_KIND_PERSON", "displayName": "A. Writer"},
    {"name": "actors/background", "kind": "ACTOR_KIND_STATE", "displayName": "Background State", "country": "NOR"}
  ],
  "posts": [
    {"name": "posts/us-president", "title": "President of the United States",
     "postClass": "POST_CLASS_HEAD_OF_STATE", "organization": "actors/usa", "country": "USA"}
  ],
  "tenures": [
    {"name": "actors/trump/tenures/elect", "post": "posts/us-president",
     "start": {"edtf": "2024-11-06"}, "end": {"edtf": "2025-01-19"},
     "qualifier": "TENURE_QUALIFIER_ELECT"}
  ],
  "documents": [
    {"name": "documents/doc", "publisher": "actors/outlet", "title": "The report",
     "authors": ["A. Writer"], "authorActors": ["actors/author"]}
  ],
  "communications": [
    {"name": "communications/c-held", "kind": "COMMUNICATION_KIND_PHONE_CALL",
     "participants": [
       {"actor": "actors/trump", "role": "PARTICIPANT_ROLE_PRINCIPAL"},
       {"actor": "actors/putin", "role": "PARTICIPANT_ROLE_PRINCIPAL"}],
     "occurred": {"edtf": "2024-12-09"},
     "sources": [{"document": "documents/doc"}],
     "statusLog": [
       {"id": "held", "lifecycle": "LIFECYCLE_HELD", "source": {"document": "documents/doc"},
        "asOf": {"edtf": "2024-12-09"}}]},
    {"name": "communications/c-denied", "kind": "COMMUNICATION_KIND_PHONE_CALL",
     "participants": [
       {"actor": "actors/trump", "role": "PARTICIPANT_ROLE_PRINCIPAL"},
       {"actor": "actors/putin", "role": "PARTICIPANT_ROLE_PRINCIPAL"}],
     "occurred": {"edtf": "2024-12-11"},
     "sources": [{"document": "documents/doc"}],
     "statusLog": [
       {"id": "reported", "lifecycle": "LIFECYCLE_HELD",
        "verification": "VERIFICATION_REPORTED_UNCONFIRMED", "assertedBy": "actors/kremlin",
        "source": {"document": "documents/doc"}, "asOf": {"edtf": "2024-12-11"}},
       {"id": "denied", "verification": "VERIFICATION_DENIED_BY_PARTY",
        "assertedBy": "actors/elysee", "source": {"document": "documents/doc"},
        "asOf": {"edtf": "2024-12-12"}}]}
  ],
  "statements": [
    {"name": "statements/s-elect", "speaker": "actors/trump",
     "content": {"text": "Trump said Putin told Scholz that Lavrov would call.", "languageCode": "en",
                 "mode": "CONTENT_MODE_PARAPHRASE"},
     "speechAct": "SPEECH_ACT_ASSERTION", "said": {"edtf": "2024-12-10"},
     "attributionChain": [{"reporter": "actors/outlet", "relation": "HOP_RELATION_REPORTED",
                           "document": "documents/doc"}],
     "placement": {"section": "DOCUMENT_SECTION_BODY", "ordinal": 2},
     "relayed": [{"speakers": ["actors/putin"], "addressees": ["actors/scholz"],
                  "speechAct": "SPEECH_ACT_ASSERTION",
                  "content": {"text": "Lavrov would call.", "languageCode": "en",
                              "mode": "CONTENT_MODE_PARAPHRASE"},
                  "relayed": [{"speakers": ["actors/lavrov"], "speechAct": "SPEECH_ACT_INTENT",
                               "content": {"text": "I will call.", "languageCode": "en",
                                           "mode": "CONTENT_MODE_PARAPHRASE"}}]}]},
    {"name": "statements/s-z-first", "speaker": "actors/kremlin",
     "content": {"text": "The Kremlin spoke first.", "languageCode": "en",
                 "mode": "CONTENT_MODE_PARAPHRASE"},
     "speechAct": "SPEECH_ACT_ASSERTION", "said": {"edtf": "2024-12-10"},
     "attributionChain": [{"reporter": "actors/outlet", "relation": "HOP_RELATION_REPORTED",
                           "document": "documents/doc"}],
     "placement": {"section": "DOCUMENT_SECTION_LEAD", "ordinal": 1}},
    {"name": "statements/s-unknown", "speaker": "actors/elysee",
     "content": {"text": "Some time, the Élysée said something.", "languageCode": "en",
                 "mode": "CONTENT_MODE_PARAPHRASE"},
     "speechAct": "SPEECH_ACT_ASSERTION", "said": {"source": "DATE_SOURCE_UNKNOWN"},
     "attributionChain": [{"reporter": "actors/outlet", "relation": "HOP_RELATION_REPORTED",
                           "document": "documents/doc"}]}
  ]
}"#;

async fn the_view_shows_qualifiers_denials_held_contacts_source_order_and_relayed_speakers(
    backend: Backend,
) {
    let suite = spawn_suite_on(backend).await;
    let bundle =
        chancery_proto::bundle_from_json(NEW_FIELDS_BUNDLE).expect("the test bundle parses");
    suite
        .gateway
        .gateway()
        .import_bundle(chancery_proto::gateway::v1::ImportBundleRequest {
            bundle: Some(bundle),
        })
        .await
        .unwrap_or_else(|status| panic!("ImportBundle: {status:?}"));
    let view = view(&suite.gateway, "episodes/new-fields", 0, "", None)
        .await
        .unwrap();
    assert!(view.unreachable.is_empty(), "{:?}", view.unreachable);

    // Statements of one date in the document's order; the unknown date last.
    assert_eq!(
        subjects(&view),
        [
            "communications/c-held",
            "statements/s-z-first",
            "statements/s-elect",
            "communications/c-denied",
            "statements/s-unknown",
        ]
    );
    // Paging follows the same order.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = self::view(&suite.gateway, "episodes/new-fields", 2, &token, None)
            .await
            .unwrap();
        paged.extend(subjects(&page));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(paged, subjects(&view));

    let entry = |subject: &str| {
        view.timeline
            .iter()
            .find(|e| e.subject == subject)
            .unwrap_or_else(|| panic!("{subject} is on the timeline"))
    };
    // The president-elect is never shown as the president.
    let elect = entry("statements/s-elect");
    assert_eq!(
        statement(elect).speaker_office,
        "President of the United States (elect)"
    );
    assert!(
        elect
            .headline
            .starts_with("Donald Trump (President of the United States (elect)), paraphrased:"),
        "{}",
        elect.headline
    );
    // A report then a denial: disputed, never held.
    let denied = entry("communications/c-denied");
    assert_eq!(
        denied.headline,
        "Phone call: Donald Trump, Vladimir Putin — reported held, denied"
    );
    assert_eq!(
        communication(denied).status_summary,
        "reported held by Kremlin press service; denied by Élysée"
    );
    let asserters: Vec<&str> = communication(denied)
        .status_claims
        .iter()
        .map(|c| c.asserted_by_display_name.as_str())
        .collect();
    assert_eq!(asserters, ["Kremlin press service", "Élysée"]);
    assert_eq!(
        communication(entry("communications/c-held")).status_summary,
        "held (The Outlet)"
    );

    // Contacts: the held call counts, the disputed one is listed apart.
    type Row<'a> = (&'a str, &'a str, i32, Vec<&'a str>, Vec<&'a str>);
    let contacts: Vec<Row<'_>> = view
        .contacts
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
        contacts,
        [(
            "actors/putin",
            "actors/trump",
            1,
            vec!["communications/c-held"],
            vec!["communications/c-denied"]
        )]
    );

    // Involvements, with every member-named actor read in round two (display names set).
    let involved = |name: &str| {
        let actor = view
            .actors
            .iter()
            .find(|a| a.actor.as_ref().unwrap().name == name)
            .unwrap_or_else(|| panic!("{name} is involved"));
        let how: Vec<Involvement> = actor
            .involvements
            .iter()
            .map(|i| Involvement::try_from(*i).unwrap())
            .collect();
        (actor.actor.as_ref().unwrap().display_name.clone(), how)
    };
    assert_eq!(
        involved("actors/putin"),
        (
            "Vladimir Putin".to_owned(),
            vec![Involvement::Participant, Involvement::RelayedSpeaker]
        )
    );
    assert_eq!(
        involved("actors/lavrov"),
        (
            "Sergey Lavrov".to_owned(),
            vec![Involvement::RelayedSpeaker]
        )
    );
    assert_eq!(
        involved("actors/scholz"),
        ("Olaf Scholz".to_owned(), vec![Involvement::Addressee])
    );
    assert_eq!(
        involved("actors/background"),
        ("Background State".to_owned(), vec![Involvement::Recorded])
    );
    assert_eq!(involved("actors/author").1, [Involvement::Author]);
    let trump = view
        .actors
        .iter()
        .find(|a| a.actor.as_ref().unwrap().name == "actors/trump")
        .unwrap();
    let offices: Vec<(&str, i32, bool)> = trump
        .offices
        .iter()
        .map(|o| (o.label.as_str(), o.qualifier, o.certain))
        .collect();
    assert!(
        offices.iter().all(|o| *o
            == (
                "President of the United States (elect)",
                chancery_proto::actors::v1::TenureQualifier::Elect as i32,
                true
            ))
            && !offices.is_empty(),
        "{offices:?}"
    );
}

chancery_testkit::backend_tests!(
    the_view_shows_qualifiers_denials_held_contacts_source_order_and_relayed_speakers,
);
