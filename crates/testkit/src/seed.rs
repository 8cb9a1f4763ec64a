//! The seed episode — every fact of `shared/seed/article.txt` (the Macron–Putin calls of March
//! 2022) — as the create requests that record it, and [`load`] to send them to a running suite
//! through the public APIs, in dependency order.
//!
//! Where the article leaves something unsaid, the data says so instead of inventing it: the
//! article's publisher and title are not in the text, nor the exact day Legendre spoke, which
//! is recorded as the interval the article allows (after the call of 22 March, before the one
//! of 29 March).

use chancery_proto::actors::v1::{
    Actor, ActorKind, ActorName, AnonymousProfile, CreateActorRequest, CreatePostRequest,
    CreateTenureRequest, MediaProfile, MediaType, NameKind, Post, PostClass, Tenure,
};
use chancery_proto::common::v1::{ExternalId, ExternalIdScheme, FuzzyDate, SourceRef};
use chancery_proto::communications::v1::{
    Communication, CommunicationKind, ContentDisclosure, CreateCommunicationRequest, Lifecycle,
    Participant, ParticipantRole, StatusAssertion, Topic as CommunicationTopic, Verification,
};
use chancery_proto::statements::v1::{
    AttributionHop, Channel, Content, ContentMode, CreateSourceDocumentRequest,
    CreateStatementRequest, HopRelation, MediaAsset, MediaKind, QuotedSpan, Readout,
    SourceDocument, SpeechAct, Statement, Topic as StatementTopic,
};

use crate::Suite;

/// The resource name of the seed article, the one document the episode is read from.
pub const SEED_DOCUMENT: &str = "documents/seed-article";
/// When Legendre spoke, as far as the article tells: after 22 March, before 29 March 2022.
pub const LEGENDRE_SPOKE: &str = "2022-03-23/2022-03-28";

/// Every create request of the seed episode, by service, in the order they must be sent.
#[derive(Debug, Clone, Default)]
pub struct SeedEpisode {
    /// Actors: people, states, bodies, outlets, anonymous sources.
    pub actors: Vec<CreateActorRequest>,
    /// Offices.
    pub posts: Vec<CreatePostRequest>,
    /// Who held which office from when.
    pub tenures: Vec<CreateTenureRequest>,
    /// The source documents.
    pub documents: Vec<CreateSourceDocumentRequest>,
    /// The three calls, the one each refers to as previous first.
    pub communications: Vec<CreateCommunicationRequest>,
    /// What was said, a statement before any that replies to it.
    pub statements: Vec<CreateStatementRequest>,
}

fn date(edtf: &str, as_reported: &str) -> Option<FuzzyDate> {
    Some(FuzzyDate {
        edtf: edtf.into(),
        as_reported: as_reported.into(),
        ..Default::default()
    })
}

fn actor_request(id: &str, actor: Actor) -> CreateActorRequest {
    CreateActorRequest {
        actor: Some(actor),
        actor_id: id.into(),
        request_id: format!("seed-actor-{id}"),
    }
}

fn state(id: &str, name: &str, alpha3: &str, alpha2: &str) -> CreateActorRequest {
    actor_request(
        id,
        Actor {
            kind: ActorKind::State as i32,
            display_name: name.into(),
            country: alpha3.into(),
            external_ids: vec![
                ExternalId {
                    scheme: ExternalIdScheme::Iso3166Alpha3 as i32,
                    value: alpha3.into(),
                },
                ExternalId {
                    scheme: ExternalIdScheme::Iso3166Alpha2 as i32,
                    value: alpha2.into(),
                },
            ],
            ..Default::default()
        },
    )
}

fn person(
    id: &str,
    name: &str,
    country: &str,
    wikidata: Option<&str>,
    names: Vec<ActorName>,
) -> CreateActorRequest {
    actor_request(
        id,
        Actor {
            kind: ActorKind::Person as i32,
            display_name: name.into(),
            country: country.into(),
            names,
            external_ids: wikidata
                .map(|q| ExternalId {
                    scheme: ExternalIdScheme::Wikidata as i32,
                    value: q.into(),
                })
                .into_iter()
                .collect(),
            ..Default::default()
        },
    )
}

fn body(
    id: &str,
    name: &str,
    country: &str,
    parent: &str,
    description: &str,
) -> CreateActorRequest {
    actor_request(
        id,
        Actor {
            kind: ActorKind::GovernmentBody as i32,
            display_name: name.into(),
            country: country.into(),
            parent: format!("actors/{parent}"),
            description: description.into(),
            ..Default::default()
        },
    )
}

fn outlet(
    id: &str,
    name: &str,
    country: &str,
    media_type: MediaType,
    state_owned: bool,
    description: &str,
) -> CreateActorRequest {
    actor_request(
        id,
        Actor {
            kind: ActorKind::MediaOutlet as i32,
            display_name: name.into(),
            country: country.into(),
            media: Some(MediaProfile {
                media_type: media_type as i32,
                state_owned,
            }),
            description: description.into(),
            ..Default::default()
        },
    )
}

fn anonymous(id: &str, descriptor: &str, country: &str, affiliation: &str) -> CreateActorRequest {
    actor_request(
        id,
        Actor {
            kind: ActorKind::AnonymousSource as i32,
            display_name: descriptor.into(),
            country: country.into(),
            anonymous: Some(AnonymousProfile {
                descriptor: descriptor.into(),
                affiliation: format!("actors/{affiliation}"),
                plural: false,
            }),
            ..Default::default()
        },
    )
}

fn post(
    id: &str,
    title: &str,
    class: PostClass,
    organization: &str,
    country: &str,
) -> CreatePostRequest {
    CreatePostRequest {
        post: Some(Post {
            title: title.into(),
            post_class: class as i32,
            organization: format!("actors/{organization}"),
            country: country.into(),
            ..Default::default()
        }),
        post_id: id.into(),
        request_id: format!("seed-post-{id}"),
    }
}

fn tenure(
    actor: &str,
    id: &str,
    post: &str,
    start: Option<FuzzyDate>,
    end: Option<FuzzyDate>,
    on_behalf_of: &str,
) -> CreateTenureRequest {
    CreateTenureRequest {
        parent: format!("actors/{actor}"),
        tenure: Some(Tenure {
            post: format!("posts/{post}"),
            start,
            end,
            on_behalf_of: if on_behalf_of.is_empty() {
                String::new()
            } else {
                format!("actors/{on_behalf_of}")
            },
            ..Default::default()
        }),
        tenure_id: id.into(),
        request_id: format!("seed-tenure-{actor}-{id}"),
    }
}

fn seed_source(excerpt: &str) -> SourceRef {
    SourceRef {
        document: SEED_DOCUMENT.into(),
        excerpt: excerpt.into(),
    }
}

fn principal(actor: &str, side: &str) -> Participant {
    Participant {
        actor: format!("actors/{actor}"),
        role: ParticipantRole::Principal as i32,
        initiator: false,
        side: side.into(),
    }
}

fn hop(reporter: &str, relation: HopRelation, cue: &str, document: &str) -> AttributionHop {
    AttributionHop {
        position: 0,
        reporter: format!("actors/{reporter}"),
        relation: relation as i32,
        cue: cue.into(),
        document: document.into(),
    }
}

/// The chain of Legendre's words: the seed article relays TASS, which cites BFM TV, which heard
/// Legendre in an interview.
fn via_tass_and_bfm(first_cue: &str) -> Vec<AttributionHop> {
    vec![
        hop(
            "seed-article-publisher",
            HopRelation::Reported,
            first_cue,
            SEED_DOCUMENT,
        ),
        hop("tass", HopRelation::Citing, "citing BFM TV", ""),
        hop("bfm-tv", HopRelation::Told, "While speaking to BFM TV", ""),
    ]
}

/// Spans of `text` (in code points) for each of `quotes`, which must occur in it.
fn spans(text: &str, quotes: &[&str]) -> Vec<QuotedSpan> {
    quotes
        .iter()
        .map(|quote| {
            let byte = text
                .find(quote)
                .unwrap_or_else(|| panic!("{quote:?} is not in {text:?}"));
            let start = text[..byte].chars().count() as i32;
            QuotedSpan {
                start,
                end: start + quote.chars().count() as i32,
            }
        })
        .collect()
}

fn content(text: &str, mode: ContentMode, quotes: &[&str]) -> Option<Content> {
    Some(Content {
        text: text.into(),
        language_code: "en".into(),
        mode: mode as i32,
        quoted_spans: spans(text, quotes),
        ..Default::default()
    })
}

fn topic(id: &str, label: &str) -> StatementTopic {
    StatementTopic {
        id: id.into(),
        label: label.into(),
    }
}

fn names(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| format!("actors/{id}")).collect()
}

fn statement_request(id: &str, statement: Statement) -> CreateStatementRequest {
    CreateStatementRequest {
        statement: Some(statement),
        statement_id: id.into(),
        request_id: format!("seed-statement-{id}"),
    }
}

/// The seed episode.
pub fn episode() -> SeedEpisode {
    let alias = |text: &str, kind: NameKind, lang: &str| ActorName {
        text: text.into(),
        language_code: lang.into(),
        kind: kind as i32,
    };
    let actors = vec![
        state("france", "France", "FRA", "FR"),
        state("russia", "Russia", "RUS", "RU"),
        state("germany", "Germany", "DEU", "DE"),
        state("ukraine", "Ukraine", "UKR", "UA"),
        state("greece", "Greece", "GRC", "GR"),
        state("turkey", "Turkey", "TUR", "TR"),
        state("united-states", "United States", "USA", "US"),
        state("united-kingdom", "United Kingdom", "GBR", "GB"),
        actor_request(
            "unfriendly-countries",
            Actor {
                kind: ActorKind::Collective as i32,
                display_name: "unfriendly countries".into(),
                description:
                    "The states Russia designates as unfriendly, in Russian official usage".into(),
                ..Default::default()
            },
        ),
        body(
            "french-presidency",
            "Presidency of the French Republic",
            "FRA",
            "france",
            "The Élysée",
        ),
        body(
            "meae",
            "Ministry for Europe and Foreign Affairs",
            "FRA",
            "france",
            "France's foreign ministry",
        ),
        body(
            "german-federal-government",
            "Federal Government of Germany",
            "DEU",
            "germany",
            "",
        ),
        body(
            "russian-foreign-ministry",
            "Ministry of Foreign Affairs of Russia",
            "RUS",
            "russia",
            "",
        ),
        body(
            "kremlin-press-service",
            "Kremlin press service",
            "RUS",
            "russia",
            "Issues the Kremlin's readouts of the president's calls",
        ),
        person(
            "emmanuel-macron",
            "Emmanuel Macron",
            "FRA",
            Some("Q3052772"),
            vec![],
        ),
        person(
            "vladimir-putin",
            "Vladimir Putin",
            "RUS",
            Some("Q7747"),
            vec![alias("Владимир Путин", NameKind::Preferred, "ru")],
        ),
        person("olaf-scholz", "Olaf Scholz", "DEU", Some("Q61053"), vec![]),
        person(
            "anne-claire-legendre",
            "Anne-Claire Legendre",
            "FRA",
            None,
            vec![alias("Anne Claire Legendre", NameKind::Alias, "en")],
        ),
        person(
            "sergey-lavrov",
            "Sergey Lavrov",
            "RUS",
            None,
            vec![
                alias("Сергей Лавров", NameKind::Preferred, "ru"),
                alias("Sergei Lavrov", NameKind::Transliteration, "en"),
            ],
        ),
        anonymous(
            "french-presidency-official",
            "a French Presidency official",
            "FRA",
            "french-presidency",
        ),
        anonymous(
            "german-spokesperson",
            "a German spokesperson",
            "DEU",
            "german-federal-government",
        ),
        outlet(
            "tass",
            "TASS",
            "RUS",
            MediaType::NewsAgency,
            true,
            "Russian state news agency",
        ),
        outlet(
            "bfm-tv",
            "BFM TV",
            "FRA",
            MediaType::Broadcaster,
            false,
            "French news channel",
        ),
        outlet(
            "the-guardian",
            "The Guardian",
            "GBR",
            MediaType::Newspaper,
            false,
            "British newspaper",
        ),
        outlet(
            "associated-press",
            "AP",
            "USA",
            MediaType::NewsAgency,
            false,
            "Associated Press; credited for the seed article's image only",
        ),
        outlet(
            "seed-article-publisher",
            "Publisher of the seed article",
            "",
            MediaType::Online,
            false,
            "The outlet that published the seed article; the text does not name it",
        ),
    ];

    let posts = vec![
        post(
            "president-of-france",
            "President of the French Republic",
            PostClass::HeadOfState,
            "france",
            "FRA",
        ),
        post(
            "president-of-russia",
            "President of the Russian Federation",
            PostClass::HeadOfState,
            "russia",
            "RUS",
        ),
        post(
            "chancellor-of-germany",
            "Federal Chancellor of Germany",
            PostClass::HeadOfGovernment,
            "germany",
            "DEU",
        ),
        post(
            "foreign-minister-of-russia",
            "Minister of Foreign Affairs of Russia",
            PostClass::ForeignMinister,
            "russian-foreign-ministry",
            "RUS",
        ),
        post(
            "meae-spokesperson",
            "Spokesperson of the Ministry for Europe and Foreign Affairs",
            PostClass::Spokesperson,
            "meae",
            "FRA",
        ),
    ];

    let tenures = vec![
        tenure(
            "emmanuel-macron",
            "president",
            "president-of-france",
            date("2017-05-14", "took office 14 May 2017"),
            None,
            "",
        ),
        tenure(
            "vladimir-putin",
            "president-2012",
            "president-of-russia",
            date("2012-05-07", "inaugurated 7 May 2012"),
            None,
            "",
        ),
        tenure(
            "olaf-scholz",
            "chancellor",
            "chancellor-of-germany",
            date("2021-12-08", "took office 8 December 2021"),
            date("2025-05-06", "succeeded 6 May 2025"),
            "",
        ),
        tenure(
            "sergey-lavrov",
            "foreign-minister",
            "foreign-minister-of-russia",
            date("2004-03-09", "appointed 9 March 2004"),
            None,
            "",
        ),
        tenure(
            "anne-claire-legendre",
            "spokesperson",
            "meae-spokesperson",
            date(
                "2021?",
                "in office at the time of the article; start not given in the source",
            ),
            None,
            "meae",
        ),
    ];

    let documents = vec![CreateSourceDocumentRequest {
        source_document: Some(SourceDocument {
            title: "Macron expected to hold phone call with Putin on March 29 (the seed article; its headline is not in the text)".into(),
            publisher: "actors/seed-article-publisher".into(),
            published: date(LEGENDRE_SPOKE, "not given; between the calls of 22 and 29 March 2022"),
            language_code: "en".into(),
            media_assets: vec![MediaAsset {
                kind: MediaKind::Image as i32,
                credit: "(Image: AP)".into(),
                credit_actor: "actors/associated-press".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        document_id: "seed-article".into(),
        request_id: "seed-document-seed-article".into(),
    }];

    let call = |id: &str, communication: Communication| CreateCommunicationRequest {
        communication: Some(communication),
        communication_id: id.into(),
        request_id: format!("seed-communication-{id}"),
    };
    let held = |as_of: &str, excerpt: &str| StatusAssertion {
        lifecycle: Lifecycle::Held as i32,
        source: Some(seed_source(excerpt)),
        as_of: date(as_of, ""),
        ..Default::default()
    };
    let communications = vec![
        call(
            "macron-scholz-putin-2022-03-12",
            Communication {
                kind: CommunicationKind::PhoneCall as i32,
                title: "Macron–Scholz–Putin phone call".into(),
                participants: vec![
                    principal("emmanuel-macron", "FRA"),
                    principal("olaf-scholz", "DEU"),
                    principal("vladimir-putin", "RUS"),
                ],
                occurred: date("2022-03-12", "Earlier on 12 March"),
                topics: vec![
                    CommunicationTopic {
                        id: "ukraine-ceasefire".into(),
                        label: "An immediate ceasefire in Ukraine".into(),
                        mentioned_actors: names(&["ukraine"]),
                        ..Default::default()
                    },
                    CommunicationTopic {
                        id: "russia-ukraine-negotiations".into(),
                        label: "Negotiations between Moscow and Kyiv".into(),
                        mentioned_actors: names(&["ukraine"]),
                        ..Default::default()
                    },
                    CommunicationTopic {
                        id: "ukraine-humanitarian-situation".into(),
                        label: "The humanitarian situation in Ukraine".into(),
                        mentioned_actors: names(&["ukraine"]),
                        ..Default::default()
                    },
                ],
                disclosure: ContentDisclosure::Partial as i32,
                sources: vec![seed_source("Earlier on 12 March, French President Emmanuel Macron had spoken to his Russian counterpart Vladimir Putin and German Chancellor Olaf Scholz.")],
                status_log: vec![held("2022-03-12", "Earlier on 12 March, French President Emmanuel Macron had spoken to his Russian counterpart Vladimir Putin and German Chancellor Olaf Scholz.")],
                ..Default::default()
            },
        ),
        call(
            "macron-putin-2022-03-22",
            Communication {
                kind: CommunicationKind::PhoneCall as i32,
                title: "Macron–Putin phone call".into(),
                participants: vec![principal("emmanuel-macron", "FRA"), principal("vladimir-putin", "RUS")],
                occurred: date("2022-03-22", "on March 22"),
                sources: vec![seed_source("The previous telephonic conversation between Putin and Macron took place on March 22.")],
                status_log: vec![held("2022-03-22", "The previous telephonic conversation between Putin and Macron took place on March 22.")],
                ..Default::default()
            },
        ),
        call(
            "macron-putin-2022-03-29",
            Communication {
                kind: CommunicationKind::PhoneCall as i32,
                title: "Macron–Putin phone call".into(),
                participants: vec![principal("emmanuel-macron", "FRA"), principal("vladimir-putin", "RUS")],
                planned: date("2022-03-29", "on March 29"),
                topics: vec![CommunicationTopic {
                    id: "mariupol-evacuation".into(),
                    label: "Humanitarian operations to evacuate civilians from Mariupol, with the assistance of Greece and Turkey".into(),
                    mentioned_actors: names(&["greece", "turkey", "ukraine"]),
                    sources: vec![seed_source("Macron is expected to talk about planned humanitarian operations for evacuating civilians from Mariupol with the assistance of Greece and Turkey")],
                    ..Default::default()
                }],
                previous_in_series: "communications/macron-putin-2022-03-22".into(),
                sources: vec![seed_source("French President Emmanuel Macron is expected to hold talks with his Russian counterpart, Vladimir Putin, over a phone call on March 29.")],
                status_log: vec![StatusAssertion {
                    lifecycle: Lifecycle::Expected as i32,
                    verification: Verification::ConfirmedByOneParty as i32,
                    asserted_by: "actors/anne-claire-legendre".into(),
                    side: "FRA".into(),
                    statement: "statements/legendre-confirms-call".into(),
                    source: Some(seed_source("The development has been confirmed by French Foreign Ministry Spokesperson Anne Claire Legendre, TASS reported citing BFM TV.")),
                    as_of: date(LEGENDRE_SPOKE, "before the call; the day is not given"),
                    note: "announced, not yet confirmed as held".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ),
    ];

    let legendre = |text: &str,
                    mode: ContentMode,
                    quotes: &[&str],
                    act: SpeechAct,
                    chain: Vec<AttributionHop>| Statement {
        speaker: "actors/anne-claire-legendre".into(),
        on_behalf_of: "actors/meae".into(),
        content: content(text, mode, quotes),
        speech_act: act as i32,
        channel: Channel::Interview as i32,
        said: date(
            LEGENDRE_SPOKE,
            "while speaking to BFM TV; the day is not given",
        ),
        attribution_chain: chain,
        ..Default::default()
    };
    let kremlin = |text: &str,
                   mode: ContentMode,
                   act: SpeechAct,
                   about: &[&str],
                   topics: Vec<StatementTopic>| Statement {
        speaker: "actors/vladimir-putin".into(),
        addressees: names(&["emmanuel-macron", "olaf-scholz"]),
        content: content(text, mode, &[]),
        speech_act: act as i32,
        channel: Channel::OfficialReadout as i32,
        said: date("2022-03-12", "during the call of 12 March"),
        about_actors: names(about),
        topics,
        communication: "communications/macron-scholz-putin-2022-03-12".into(),
        readout: Some(Readout {
            issuer: "actors/kremlin-press-service".into(),
            document: String::new(),
        }),
        attribution_chain: vec![
            hop(
                "seed-article-publisher",
                HopRelation::AccordingTo,
                "According to the Kremlin readout of the call",
                SEED_DOCUMENT,
            ),
            hop(
                "kremlin-press-service",
                HopRelation::Reported,
                "Kremlin readout",
                "",
            ),
        ],
        ..Default::default()
    };
    let visa_topic = || {
        vec![topic(
            "russian-visa-countermeasures",
            "Russia's retaliatory visa measures against unfriendly countries",
        )]
    };

    let statements = vec![
        statement_request(
            "legendre-confirms-call",
            Statement {
                about_actors: names(&["emmanuel-macron", "vladimir-putin"]),
                communication: "communications/macron-putin-2022-03-29".into(),
                ..legendre(
                    "French President Emmanuel Macron is expected to hold talks with his Russian counterpart, Vladimir Putin, over a phone call on March 29.",
                    ContentMode::Paraphrase,
                    &[],
                    SpeechAct::Confirmation,
                    via_tass_and_bfm("TASS reported"),
                )
            },
        ),
        statement_request(
            "legendre-long-conversations",
            Statement {
                about_actors: names(&["emmanuel-macron", "vladimir-putin"]),
                ..legendre(
                    "The French President has \u{201c}held a series of long conversations\u{201d} with his Russian counterpart Vladimir Putin.",
                    ContentMode::PartialQuote,
                    &["held a series of long conversations"],
                    SpeechAct::Assertion,
                    via_tass_and_bfm("TASS reported"),
                )
            },
        ),
        statement_request(
            "legendre-channel-for-dialogue",
            Statement {
                about_actors: names(&["france", "russia"]),
                ..legendre(
                    "France seeks to keep the \u{201c}channel for dialogue open.\u{201d}",
                    ContentMode::PartialQuote,
                    &["channel for dialogue open"],
                    SpeechAct::Intent,
                    via_tass_and_bfm("TASS reported"),
                )
            },
        ),
        statement_request(
            "legendre-mariupol-evacuation",
            Statement {
                about_actors: names(&["emmanuel-macron", "greece", "turkey", "ukraine"]),
                topics: vec![topic(
                    "mariupol-evacuation",
                    "Evacuating civilians from Mariupol",
                )],
                communication: "communications/macron-putin-2022-03-29".into(),
                ..legendre(
                    "During the phone call, Macron is expected to talk about planned humanitarian operations for evacuating civilians from Mariupol with the assistance of Greece and Turkey.",
                    ContentMode::Paraphrase,
                    &[],
                    SpeechAct::Announcement,
                    vec![
                        hop(
                            "seed-article-publisher",
                            HopRelation::Reported,
                            "as per the TASS report",
                            SEED_DOCUMENT,
                        ),
                        hop(
                            "tass",
                            HopRelation::AccordingTo,
                            "according to French Foreign Ministry Spokesperson Anne Claire Legendre",
                            "",
                        ),
                    ],
                )
            },
        ),
        statement_request(
            "lavrov-retaliatory-measures",
            Statement {
                speaker: "actors/sergey-lavrov".into(),
                on_behalf_of: "actors/russian-foreign-ministry".into(),
                content: content(
                    "Moscow is working on a package of measures, including retaliatory visa measures against unfriendly countries, in response to unfriendly decisions by the \u{201c}US and its minions.\u{201d}",
                    ContentMode::PartialQuote,
                    &["US and its minions"],
                ),
                speech_act: SpeechAct::Threat as i32,
                said: date("2022-03/2022-03-28", "earlier; the date is not given"),
                about_actors: names(&["united-states", "unfriendly-countries"]),
                topics: visa_topic(),
                attribution_chain: vec![hop(
                    "seed-article-publisher",
                    HopRelation::AccordingTo,
                    "as per the news report",
                    SEED_DOCUMENT,
                )],
                ..Default::default()
            },
        ),
        statement_request(
            "legendre-visa-measures",
            Statement {
                about_actors: names(&["russia", "sergey-lavrov"]),
                topics: visa_topic(),
                in_reply_to: "statements/lavrov-retaliatory-measures".into(),
                channel: Channel::Unspecified as i32,
                ..legendre(
                    "France was not aware of the approach; the measures may be \u{201c}one of the retaliatory measures\u{201d} announced earlier by Russia.",
                    ContentMode::PartialQuote,
                    &["one of the retaliatory measures"],
                    SpeechAct::Assessment,
                    vec![hop(
                        "seed-article-publisher",
                        HopRelation::Reported,
                        "In response to a question regarding Russian Foreign Minister Sergey Lavrov\u{2019}s remark",
                        SEED_DOCUMENT,
                    )],
                )
            },
        ),
        statement_request(
            "french-official-no-agreement",
            Statement {
                speaker: "actors/french-presidency-official".into(),
                content: content(
                    "There was no agreement from Putin to end the war with Ukraine.",
                    ContentMode::Paraphrase,
                    &[],
                ),
                speech_act: SpeechAct::Assessment as i32,
                channel: Channel::ToldReporters as i32,
                said: date("2022-03-12", "after the call of 12 March"),
                about_actors: names(&["vladimir-putin", "ukraine"]),
                communication: "communications/macron-scholz-putin-2022-03-12".into(),
                attribution_chain: vec![
                    hop(
                        "seed-article-publisher",
                        HopRelation::Reported,
                        "The Guardian reported",
                        SEED_DOCUMENT,
                    ),
                    hop(
                        "the-guardian",
                        HopRelation::Told,
                        "A French Presidency official stressed",
                        "",
                    ),
                ],
                ..Default::default()
            },
        ),
        statement_request(
            "scholz-macron-ceasefire",
            Statement {
                speaker: "actors/olaf-scholz".into(),
                co_speakers: names(&["emmanuel-macron"]),
                addressees: names(&["vladimir-putin"]),
                content: content(
                    "Scholz and Macron called for an immediate ceasefire in Ukraine.",
                    ContentMode::Summary,
                    &[],
                ),
                speech_act: SpeechAct::Appeal as i32,
                channel: Channel::OfficialReadout as i32,
                said: date("2022-03-12", "during the telephonic conversation"),
                about_actors: names(&["ukraine"]),
                topics: vec![topic(
                    "ukraine-ceasefire",
                    "An immediate ceasefire in Ukraine",
                )],
                communication: "communications/macron-scholz-putin-2022-03-12".into(),
                readout: Some(Readout {
                    issuer: "actors/german-spokesperson".into(),
                    document: String::new(),
                }),
                attribution_chain: vec![
                    hop(
                        "seed-article-publisher",
                        HopRelation::Reported,
                        "A German spokesperson revealed",
                        SEED_DOCUMENT,
                    ),
                    hop("german-spokesperson", HopRelation::Reported, "revealed", ""),
                ],
                ..Default::default()
            },
        ),
        statement_request(
            "putin-shared-negotiation-details",
            kremlin(
                "Putin shared details regarding negotiations between Moscow and Kyiv with Macron and Scholz.",
                ContentMode::Summary,
                SpeechAct::Assertion,
                &["russia", "ukraine"],
                vec![topic(
                    "russia-ukraine-negotiations",
                    "Negotiations between Moscow and Kyiv",
                )],
            ),
        ),
        statement_request(
            "putin-humanitarian-situation",
            kremlin(
                "Putin responded to the concern raised regarding the humanitarian situation in Ukraine.",
                ContentMode::Summary,
                SpeechAct::Assertion,
                &["ukraine"],
                vec![topic(
                    "ukraine-humanitarian-situation",
                    "The humanitarian situation in Ukraine",
                )],
            ),
        ),
        statement_request(
            "putin-human-shields-accusation",
            kremlin(
                "Putin accused Kyiv of using civilians as human shields.",
                ContentMode::Characterization,
                SpeechAct::Accusation,
                &["ukraine"],
                vec![topic(
                    "ukraine-humanitarian-situation",
                    "The humanitarian situation in Ukraine",
                )],
            ),
        ),
        statement_request(
            "seed-war-context",
            Statement {
                speaker: "actors/seed-article-publisher".into(),
                content: content(
                    "The talks come at a time the Russia-Ukraine war between Moscow and Kyiv continues for a second month. Russia launched a military offensive in Ukraine on February 24.",
                    ContentMode::Verbatim,
                    &[],
                ),
                speech_act: SpeechAct::Assertion as i32,
                said: date(
                    LEGENDRE_SPOKE,
                    "the article's own words; its date is not given",
                ),
                about_actors: names(&["russia", "ukraine"]),
                topics: vec![topic(
                    "russia-ukraine-war",
                    "The Russia-Ukraine war, from 24 February 2022",
                )],
                attribution_chain: vec![hop(
                    "seed-article-publisher",
                    HopRelation::Reported,
                    "",
                    SEED_DOCUMENT,
                )],
                ..Default::default()
            },
        ),
    ];

    SeedEpisode {
        actors,
        posts,
        tenures,
        documents,
        communications,
        statements,
    }
}

/// Sends the seed episode to `suite` through the public APIs, in dependency order. Safe to
/// run twice: every request carries a request id.
pub async fn load(suite: &Suite, seed: &SeedEpisode) -> Result<(), tonic::Status> {
    let mut actors = suite.actors.actors();
    for request in &seed.actors {
        actors.create_actor(request.clone()).await?;
    }
    for request in &seed.posts {
        actors.create_post(request.clone()).await?;
    }
    for request in &seed.tenures {
        actors.create_tenure(request.clone()).await?;
    }
    let mut statements = suite.statements.statements();
    for request in &seed.documents {
        statements.create_source_document(request.clone()).await?;
    }
    let mut communications = suite.communications.communications();
    for request in &seed.communications {
        communications.create_communication(request.clone()).await?;
    }
    for request in &seed.statements {
        statements.create_statement(request.clone()).await?;
    }
    Ok(())
}
