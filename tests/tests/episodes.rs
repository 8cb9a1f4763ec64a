//! Episodes end to end: the gateway with the actors, communications and statements services on
//! real sockets, each with its own SQLite file, wired as in production. Members are created in
//! their owning services first; the gateway checks them there.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chancery_proto::actors::v1::{
    Actor, ActorKind, CreateActorRequest, MediaProfile, MediaType,
    actor_service_client::ActorServiceClient,
};
use chancery_proto::common::v1::{DatePrecision, FuzzyDate};
use chancery_proto::communications::v1::{
    Communication, CommunicationKind, CreateCommunicationRequest, Participant, ParticipantRole,
};
use chancery_proto::gateway::v1::{
    AddEpisodeMembersRequest, CreateEpisodeRequest, DeleteEpisodeRequest, Episode,
    GetEpisodeRequest, ListEpisodesRequest, RemoveEpisodeMembersRequest, UpdateEpisodeRequest,
    episode_service_client::EpisodeServiceClient,
};
use chancery_proto::statements::v1::{
    AttributionHop, Content, ContentMode, CreateSourceDocumentRequest, CreateStatementRequest,
    GetStatementRequest, HopRelation, SourceDocument, SpeechAct, Statement,
};
use chancery_testkit::{
    Backend, Options, Service, Suite, error_reason, field_violations, spawn_suite_on, spawn_with,
};
use tonic::Code;
use tonic::transport::Channel;

type Episodes = EpisodeServiceClient<Channel>;

const MACRON: &str = "actors/emmanuel-macron";
const PUTIN: &str = "actors/vladimir-putin";
const SCHOLZ: &str = "actors/olaf-scholz";
const OUTLET: &str = "actors/republic-world";
const CALLS: [&str; 3] = [
    "communications/call-03-03",
    "communications/call-03-06",
    "communications/call-03-12",
];
const STATEMENTS: [&str; 3] = [
    "statements/elysee-readout",
    "statements/kremlin-readout",
    "statements/legendre-dialogue",
];

fn date(edtf: &str) -> Option<FuzzyDate> {
    Some(FuzzyDate {
        edtf: edtf.into(),
        ..Default::default()
    })
}

fn id(name: &str) -> String {
    name.rsplit('/').next().unwrap().to_owned()
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

async fn create_actors(client: &mut ActorServiceClient<Channel>) {
    for name in [MACRON, PUTIN, SCHOLZ, OUTLET] {
        let actor = if name == OUTLET {
            Actor {
                kind: ActorKind::MediaOutlet as i32,
                display_name: "Republic World".into(),
                media: Some(MediaProfile {
                    media_type: MediaType::Online as i32,
                    state_owned: false,
                }),
                ..Default::default()
            }
        } else {
            Actor {
                kind: ActorKind::Person as i32,
                display_name: id(name).replace('-', " "),
                ..Default::default()
            }
        };
        client
            .create_actor(CreateActorRequest {
                actor: Some(actor),
                actor_id: id(name),
                request_id: String::new(),
            })
            .await
            .unwrap_or_else(|status| panic!("create {name}: {status:?}"));
    }
}

/// The suite with the episode's members created in their services: four actors, three calls,
/// the seed report and three statements read in it.
async fn world(backend: Backend) -> (Suite, Episodes) {
    let suite = spawn_suite_on(backend).await;
    create_actors(&mut suite.actors.actors()).await;

    let mut communications = suite.communications.communications();
    for (name, day) in CALLS.iter().zip(["2022-03-03", "2022-03-06", "2022-03-12"]) {
        let call = Communication {
            kind: CommunicationKind::PhoneCall as i32,
            participants: [MACRON, PUTIN]
                .iter()
                .map(|actor| Participant {
                    actor: (*actor).into(),
                    role: ParticipantRole::Principal as i32,
                    initiator: false,
                    side: String::new(),
                    ..Default::default()
                })
                .collect(),
            occurred: date(day),
            ..Default::default()
        };
        communications
            .create_communication(CreateCommunicationRequest {
                communication: Some(call),
                communication_id: id(name),
                request_id: String::new(),
            })
            .await
            .unwrap_or_else(|status| panic!("create {name}: {status:?}"));
    }

    let mut statements = suite.statements.statements();
    statements
        .create_source_document(CreateSourceDocumentRequest {
            source_document: Some(SourceDocument {
                url: "https://www.republicworld.com/world-news/macron-putin-call".into(),
                publisher: OUTLET.into(),
                title: "Macron and Putin talk again".into(),
                published: date("2022-03-26"),
                language_code: "en".into(),
                ..Default::default()
            }),
            document_id: "seed".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_or_else(|status| panic!("create the seed document: {status:?}"));
    for name in STATEMENTS {
        let statement = Statement {
            speaker: MACRON.into(),
            content: Some(Content {
                text: format!("What {} says", id(name)),
                language_code: "en".into(),
                mode: ContentMode::Summary as i32,
                ..Default::default()
            }),
            speech_act: SpeechAct::Assertion as i32,
            said: date("2022-03-26"),
            attribution_chain: vec![AttributionHop {
                position: 0,
                reporter: OUTLET.into(),
                relation: HopRelation::Reported as i32,
                cue: String::new(),
                document: "documents/seed".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        statements
            .create_statement(CreateStatementRequest {
                statement: Some(statement),
                statement_id: id(name),
                request_id: String::new(),
            })
            .await
            .unwrap_or_else(|status| panic!("create {name}: {status:?}"));
    }
    let episodes = suite.gateway.gateway();
    (suite, episodes)
}

/// The Macron–Putin episode of March 2022, with members that exist in the `world`.
fn macron_putin() -> Episode {
    Episode {
        title: "Macron–Putin calls, March 2022".into(),
        summary: "France keeps a channel open to Moscow.".into(),
        span: date("2022-03"),
        communications: strings(&CALLS[..2]),
        statements: strings(&STATEMENTS[..1]),
        actors_of_interest: strings(&[SCHOLZ]),
        tags: strings(&["russia-ukraine-war", "france"]),
        ..Default::default()
    }
}

/// A bare episode: a title and tags, no members.
fn bare(title: &str, tags: &[&str]) -> Episode {
    Episode {
        title: title.into(),
        tags: strings(tags),
        ..Default::default()
    }
}

async fn create(client: &mut Episodes, episode_id: &str, episode: Episode) -> Episode {
    client
        .create_episode(CreateEpisodeRequest {
            episode: Some(episode),
            episode_id: episode_id.into(),
            request_id: String::new(),
        })
        .await
        .unwrap_or_else(|status| panic!("create {episode_id}: {status:?}"))
        .into_inner()
}

async fn get(client: &mut Episodes, name: &str) -> Result<Episode, tonic::Status> {
    client
        .get_episode(GetEpisodeRequest { name: name.into() })
        .await
        .map(tonic::Response::into_inner)
}

/// Every episode a listing returns, following its pages; the names in order, and how many
/// pages it took.
async fn list_all(client: &mut Episodes, request: ListEpisodesRequest) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut pages = 0;
    let mut token = String::new();
    loop {
        let page = client
            .list_episodes(ListEpisodesRequest {
                page_token: token,
                ..request.clone()
            })
            .await
            .unwrap_or_else(|status| panic!("list {request:?}: {status:?}"))
            .into_inner();
        pages += 1;
        if request.page_size > 0 {
            assert!(page.episodes.len() <= request.page_size as usize);
        }
        names.extend(page.episodes.into_iter().map(|e| e.name));
        if page.next_page_token.is_empty() {
            return (names, pages);
        }
        token = page.next_page_token;
    }
}

async fn all_names(client: &mut Episodes) -> Vec<String> {
    list_all(client, ListEpisodesRequest::default()).await.0
}

fn by_member(member: &str) -> ListEpisodesRequest {
    ListEpisodesRequest {
        member: member.into(),
        ..Default::default()
    }
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: strings(paths),
    })
}

async fn create_get_update_delete_with_etags(backend: Backend) {
    let (suite, mut client) = world(backend).await;
    let created = create(&mut client, "macron-putin-2022-03", macron_putin()).await;
    assert_eq!(created.name, "episodes/macron-putin-2022-03");
    assert_eq!(created.etag, "1");
    assert!(created.create_time.is_some());
    assert_eq!(created.update_time, created.create_time);
    assert_eq!(created.communications, macron_putin().communications);
    assert_eq!(created.tags, macron_putin().tags);
    let span = created.span.clone().unwrap();
    assert_eq!(span.edtf, "2022-03");
    assert_eq!(span.precision, DatePrecision::Month as i32);
    assert!(span.earliest.is_some() && span.latest.is_some());
    assert_eq!(get(&mut client, &created.name).await.unwrap(), created);

    // Output-only fields a client sends are ignored.
    let ignored = create(
        &mut client,
        "other",
        Episode {
            name: "episodes/elsewhere".into(),
            etag: "99".into(),
            ..bare("Other", &[])
        },
    )
    .await;
    assert_eq!(
        (ignored.name.as_str(), ignored.etag.as_str()),
        ("episodes/other", "1")
    );

    // A masked update replaces only the fields it names.
    let updated = client
        .update_episode(UpdateEpisodeRequest {
            episode: Some(Episode {
                name: created.name.clone(),
                etag: created.etag.clone(),
                title: "Macron–Putin calls".into(),
                summary: "not in the mask, so kept".into(),
                statements: strings(&STATEMENTS),
                ..Default::default()
            }),
            update_mask: mask(&["title", "statements"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.title, "Macron–Putin calls");
    assert_eq!(updated.summary, created.summary);
    assert_eq!(updated.statements, STATEMENTS);
    assert_eq!(updated.communications, created.communications);
    assert_eq!(updated.etag, "2");
    assert_eq!(updated.create_time, created.create_time);
    assert_ne!(updated.update_time, created.update_time);

    // Without a mask, every field the patch sets is replaced; the others are kept.
    let implied = client
        .update_episode(UpdateEpisodeRequest {
            episode: Some(Episode {
                name: created.name.clone(),
                tags: strings(&["ukraine"]),
                span: date("2022-03-01/2022-03-29"),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(implied.tags, ["ukraine"]);
    assert_eq!(implied.span.as_ref().unwrap().edtf, "2022-03-01/2022-03-29");
    assert_eq!(implied.title, updated.title);
    assert_eq!(implied.statements, updated.statements);
    assert_eq!(implied.etag, "3");

    // `*` replaces everything, clearing what the patch leaves empty.
    let cleared = client
        .update_episode(UpdateEpisodeRequest {
            episode: Some(Episode {
                name: created.name.clone(),
                ..bare("Only a title", &[])
            }),
            update_mask: mask(&["*"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cleared.title, "Only a title");
    assert!(cleared.span.is_none() && cleared.communications.is_empty());
    assert!(cleared.statements.is_empty() && cleared.tags.is_empty());
    assert_eq!(cleared.etag, "4");

    // A stale etag is ABORTED and changes nothing.
    let stale = client
        .update_episode(UpdateEpisodeRequest {
            episode: Some(Episode {
                name: created.name.clone(),
                etag: "2".into(),
                title: "Too late".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(error_reason(&stale), "ETAG_MISMATCH");
    assert_eq!(get(&mut client, &created.name).await.unwrap(), cleared);

    // Only updatable fields may be named, and the merged episode must be valid.
    let bad_mask = client
        .update_episode(UpdateEpisodeRequest {
            episode: Some(Episode {
                name: created.name.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["title", "etag"]),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_mask.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&bad_mask), ["update_mask.paths[1]"]);
    let invalid = client
        .update_episode(UpdateEpisodeRequest {
            episode: Some(Episode {
                name: created.name.clone(),
                title: " ".into(),
                tags: strings(&["Ukraine"]),
                ..Default::default()
            }),
            update_mask: mask(&["title", "tags"]),
        })
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&invalid),
        ["episode.title", "episode.tags[0]"]
    );
    let missing = client
        .update_episode(UpdateEpisodeRequest {
            episode: Some(Episode {
                name: "episodes/nothing-here".into(),
                title: "x".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(get(&mut client, &created.name).await.unwrap(), cleared);

    let stale_delete = client
        .delete_episode(DeleteEpisodeRequest {
            name: created.name.clone(),
            etag: "1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(stale_delete.code(), Code::Aborted);
    client
        .delete_episode(DeleteEpisodeRequest {
            name: created.name.clone(),
            etag: "4".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        get(&mut client, &created.name).await.unwrap_err().code(),
        Code::NotFound
    );
    let again = client
        .delete_episode(DeleteEpisodeRequest {
            name: created.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
    assert_eq!(all_names(&mut client).await, ["episodes/other"]);

    // Deleting an episode never deletes its members.
    suite
        .statements
        .statements()
        .get_statement(GetStatementRequest {
            name: STATEMENTS[0].into(),
        })
        .await
        .expect("the member statement outlives the episode");

    let malformed = get(&mut client, "actors/emmanuel-macron")
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&malformed), ["name"]);
}

async fn a_retried_create_returns_the_first_result(backend: Backend) {
    let (_suite, mut client) = world(backend).await;
    let request = CreateEpisodeRequest {
        episode: Some(macron_putin()),
        episode_id: String::new(),
        request_id: "2b1f0c52-retry".into(),
    };
    let first = client
        .create_episode(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(
        first.name.starts_with("episodes/epi-"),
        "a generated id: {}",
        first.name
    );
    let second = client
        .create_episode(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second, first);
    assert_eq!(all_names(&mut client).await, [first.name.as_str()]);

    let reused = client
        .create_episode(CreateEpisodeRequest {
            episode: Some(bare("Something else", &[])),
            ..request.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::FailedPrecondition);
    assert_eq!(error_reason(&reused), "REQUEST_ID_REUSED");

    create(&mut client, "taken", bare("Taken", &[])).await;
    let taken = client
        .create_episode(CreateEpisodeRequest {
            episode: Some(bare("Taken again", &[])),
            episode_id: "taken".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);

    let invalid = client
        .create_episode(CreateEpisodeRequest {
            episode: None,
            episode_id: "Bad_Id".into(),
            request_id: "has space".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&invalid),
        ["episode_id", "request_id", "episode"]
    );
    assert_eq!(all_names(&mut client).await.len(), 2);
}

async fn listing_by_tag_and_member_pages_30_episodes_by_7_without_gap_or_duplicate(
    backend: Backend,
) {
    let (_suite, mut client) = world(backend).await;
    let mut expected_all = Vec::new();
    let mut expected_even = Vec::new();
    let mut expected_with_call = Vec::new();
    let mut expected_even_with_call = Vec::new();
    for i in 0..30 {
        let episode_id = format!("ep-{i:02}");
        let mut tags = vec!["crisis"];
        if i % 2 == 0 {
            tags.push("even");
        }
        let mut episode = bare(&format!("Episode {i}"), &tags);
        if i % 3 == 0 {
            episode.communications = strings(&[CALLS[2]]);
            expected_with_call.push(format!("episodes/{episode_id}"));
            if i % 2 == 0 {
                expected_even_with_call.push(format!("episodes/{episode_id}"));
            }
        }
        if i % 2 == 0 {
            expected_even.push(format!("episodes/{episode_id}"));
        }
        expected_all.push(format!("episodes/{episode_id}"));
        create(&mut client, &episode_id, episode).await;
    }

    let (all, pages) = list_all(
        &mut client,
        ListEpisodesRequest {
            page_size: 7,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(all, expected_all, "ordered by id, no gap, no duplicate");
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 30);
    assert_eq!(pages, 5);

    let (crisis, _) = list_all(
        &mut client,
        ListEpisodesRequest {
            page_size: 7,
            tag: "crisis".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(crisis, expected_all);
    let (even, pages) = list_all(
        &mut client,
        ListEpisodesRequest {
            page_size: 7,
            tag: "even".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(even, expected_even);
    assert_eq!(pages, 3);
    let (with_call, _) = list_all(
        &mut client,
        ListEpisodesRequest {
            page_size: 3,
            ..by_member(CALLS[2])
        },
    )
    .await;
    assert_eq!(with_call, expected_with_call);
    let (both, _) = list_all(
        &mut client,
        ListEpisodesRequest {
            page_size: 2,
            tag: "even".into(),
            ..by_member(CALLS[2])
        },
    )
    .await;
    assert_eq!(both, expected_even_with_call, "filters combine with AND");
    assert!(
        list_all(&mut client, by_member(CALLS[0]))
            .await
            .0
            .is_empty()
    );
    let (no_such_tag, _) = list_all(
        &mut client,
        ListEpisodesRequest {
            tag: "odd".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(no_such_tag.is_empty());

    let invalid = client
        .list_episodes(ListEpisodesRequest {
            page_size: -1,
            tag: "Not A Tag".into(),
            member: "posts/president-of-france".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&invalid), ["tag", "member", "page_size"]);
}

async fn tampered_or_foreign_page_tokens_are_invalid_argument(backend: Backend) {
    let (_suite, mut client) = world(backend).await;
    for i in 0..5 {
        create(&mut client, &format!("e-{i}"), bare("An episode", &["x"])).await;
    }
    let first = client
        .list_episodes(ListEpisodesRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let token = first.next_page_token;
    assert!(!token.is_empty());

    for bad in chancery_testkit::tampered_page_tokens(&token) {
        let status = client
            .list_episodes(ListEpisodesRequest {
                page_size: 2,
                page_token: bad,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(field_violations(&status), ["page_token"]);
    }
    let foreign = client
        .list_episodes(ListEpisodesRequest {
            page_size: 2,
            page_token: token.clone(),
            tag: "x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::InvalidArgument);
    assert!(foreign.message().contains("different query"));
    let next = client
        .list_episodes(ListEpisodesRequest {
            page_size: 2,
            page_token: token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = next.episodes.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["episodes/e-2", "episodes/e-3"]);
}

async fn unknown_or_malformed_members_are_invalid_argument_on_their_field_paths(backend: Backend) {
    let (_suite, mut client) = world(backend).await;
    let unknown = client
        .create_episode(CreateEpisodeRequest {
            episode: Some(Episode {
                communications: vec![
                    CALLS[0].into(),
                    CALLS[1].into(),
                    "communications/never-held".into(),
                ],
                statements: vec!["statements/ghost".into(), STATEMENTS[0].into()],
                actors_of_interest: vec![SCHOLZ.into(), "actors/nobody".into()],
                ..macron_putin()
            }),
            episode_id: "unknown".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument, "{unknown:?}");
    assert_eq!(
        field_violations(&unknown),
        [
            "episode.communications[2]",
            "episode.statements[0]",
            "episode.actors_of_interest[1]"
        ]
    );
    assert!(
        unknown
            .message()
            .contains("communications/never-held does not exist")
    );
    assert!(all_names(&mut client).await.is_empty(), "nothing stored");

    // Syntax, limits and duplicates are checked before any service is asked.
    let malformed = client
        .create_episode(CreateEpisodeRequest {
            episode: Some(Episode {
                title: "t".repeat(201),
                summary: "s".repeat(4001),
                span: date("sometime in March"),
                communications: vec![CALLS[0].into(), STATEMENTS[0].into(), CALLS[0].into()],
                statements: vec!["statements/".into()],
                actors_of_interest: (0..1001).map(|i| format!("actors/a{i}")).collect(),
                tags: strings(&["ok", "no_underscores", "ok", &"x".repeat(64)]),
                ..Default::default()
            }),
            episode_id: "malformed".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&malformed),
        [
            "episode.title",
            "episode.summary",
            "episode.span.edtf",
            "episode.communications[1]",
            "episode.communications[2]",
            "episode.statements[0]",
            "episode.actors_of_interest",
            "episode.tags[1]",
            "episode.tags[3]",
            "episode.tags[2]",
        ]
    );
    let too_many_tags = client
        .create_episode(CreateEpisodeRequest {
            episode: Some(Episode {
                tags: (0..51).map(|i| format!("t{i}")).collect(),
                ..bare("Tagged", &[])
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&too_many_tags), ["episode.tags"]);

    // An update checks the members it adds, on the field of the patch that names them.
    let episode = create(&mut client, "checked", macron_putin()).await;
    let update = client
        .update_episode(UpdateEpisodeRequest {
            episode: Some(Episode {
                name: episode.name.clone(),
                statements: vec![STATEMENTS[0].into(), "statements/ghost".into()],
                ..Default::default()
            }),
            update_mask: mask(&["statements"]),
        })
        .await
        .unwrap_err();
    assert_eq!(update.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&update), ["episode.statements[1]"]);
    assert_eq!(get(&mut client, &episode.name).await.unwrap(), episode);
}

async fn members_are_added_once_and_removed_with_etags(backend: Backend) {
    let (_suite, mut client) = world(backend).await;
    let episode = create(
        &mut client,
        "membership",
        Episode {
            communications: strings(&[CALLS[0]]),
            statements: vec![],
            actors_of_interest: vec![],
            ..macron_putin()
        },
    )
    .await;
    let add = |communications: &[&str], statements: &[&str], actors: &[&str], etag: &str| {
        AddEpisodeMembersRequest {
            name: episode.name.clone(),
            communications: strings(communications),
            statements: strings(statements),
            actors_of_interest: strings(actors),
            etag: etag.into(),
        }
    };

    // Members already there stay where they are; duplicates in the request are added once.
    let added = client
        .add_episode_members(add(
            &[CALLS[1], CALLS[0], CALLS[1]],
            &[STATEMENTS[1], STATEMENTS[0]],
            &[SCHOLZ],
            "1",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(added.communications, [CALLS[0], CALLS[1]]);
    assert_eq!(added.statements, [STATEMENTS[1], STATEMENTS[0]]);
    assert_eq!(added.actors_of_interest, [SCHOLZ]);
    assert_eq!(added.etag, "2");
    assert_eq!(added.title, episode.title);
    let (listed, _) = list_all(&mut client, by_member(STATEMENTS[1])).await;
    assert_eq!(listed, [episode.name.as_str()]);

    // Adding what is there already changes nothing, not even the etag.
    let same = client
        .add_episode_members(add(&[CALLS[1]], &[STATEMENTS[0]], &[], ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(same, added);

    let stale = client
        .add_episode_members(add(&[CALLS[2]], &[], &[], "1"))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let unknown = client
        .add_episode_members(add(
            &[CALLS[2]],
            &[STATEMENTS[2], "statements/ghost"],
            &[],
            "2",
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&unknown), ["statements[1]"]);
    let malformed = client
        .add_episode_members(add(&[], &[], &[MACRON, "people/macron"], "2"))
        .await
        .unwrap_err();
    assert_eq!(field_violations(&malformed), ["actors_of_interest[1]"]);
    assert_eq!(get(&mut client, &episode.name).await.unwrap(), added);

    let missing = client
        .add_episode_members(AddEpisodeMembersRequest {
            name: "episodes/nothing-here".into(),
            ..add(&[CALLS[2]], &[], &[], "")
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    // Removing ignores names that are not members.
    let remove =
        |communications: &[&str], statements: &[&str], etag: &str| RemoveEpisodeMembersRequest {
            name: episode.name.clone(),
            communications: strings(communications),
            statements: strings(statements),
            actors_of_interest: vec![],
            etag: etag.into(),
        };
    let stale = client
        .remove_episode_members(remove(&[CALLS[0]], &[], "1"))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let removed = client
        .remove_episode_members(remove(&[CALLS[0], CALLS[2]], &["statements/ghost"], "2"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(removed.communications, [CALLS[1]]);
    assert_eq!(removed.statements, added.statements);
    assert_eq!(removed.etag, "3");
    let (listed, _) = list_all(&mut client, by_member(CALLS[0])).await;
    assert!(listed.is_empty(), "the member index follows removals");
    let nothing = client
        .remove_episode_members(remove(&[CALLS[0]], &[], ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(nothing, removed, "removing non-members writes nothing");
    let malformed = client
        .remove_episode_members(remove(&["calls/x"], &[], ""))
        .await
        .unwrap_err();
    assert_eq!(field_violations(&malformed), ["communications[0]"]);
}

async fn a_write_while_a_backend_is_down_is_unavailable_and_stores_nothing(backend: Backend) {
    let (suite, mut client) = world(backend).await;
    let Suite {
        actors: _actors,
        communications: _communications,
        statements,
        gateway: _gateway,
    } = suite;
    let kept = create(&mut client, "before", macron_putin()).await;
    assert_eq!(kept.statements, [STATEMENTS[0]]);
    let retried = CreateEpisodeRequest {
        episode: Some(macron_putin()),
        episode_id: "retried".into(),
        request_id: "retried-during-the-outage".into(),
    };
    let first = client
        .create_episode(retried.clone())
        .await
        .unwrap()
        .into_inner();
    statements.stop().await.unwrap();

    // A retry is answered with its first result without asking any service again.
    let replayed = client.create_episode(retried).await.unwrap().into_inner();
    assert_eq!(replayed, first);

    let status = client
        .create_episode(CreateEpisodeRequest {
            episode: Some(macron_putin()),
            episode_id: "during".into(),
            request_id: "during-the-outage".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(error_reason(&status), "DEPENDENCY_UNAVAILABLE");
    assert!(
        status.message().contains("statements service"),
        "{status:?}"
    );
    let added = client
        .add_episode_members(AddEpisodeMembersRequest {
            name: kept.name.clone(),
            communications: strings(&[CALLS[2]]),
            statements: strings(&[STATEMENTS[0], STATEMENTS[1]]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(added.code(), Code::Unavailable);
    let updated = client
        .update_episode(UpdateEpisodeRequest {
            episode: Some(Episode {
                name: kept.name.clone(),
                statements: strings(&[STATEMENTS[1], STATEMENTS[0]]),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(updated.code(), Code::Unavailable);
    assert_eq!(
        all_names(&mut client).await,
        [kept.name.as_str(), first.name.as_str()]
    );
    assert_eq!(get(&mut client, &kept.name).await.unwrap(), kept);

    // Writes that add no statement do not need the statements service: the statements an
    // episode already has are not checked again.
    let renamed = client
        .update_episode(UpdateEpisodeRequest {
            episode: Some(Episode {
                name: kept.name.clone(),
                title: "Renamed".into(),
                statements: strings(&[STATEMENTS[0]]),
                ..Default::default()
            }),
            update_mask: mask(&["title", "statements"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(renamed.title, "Renamed");
    assert_eq!(renamed.statements, [STATEMENTS[0]]);
    let added = client
        .add_episode_members(AddEpisodeMembersRequest {
            name: kept.name.clone(),
            communications: strings(&[CALLS[2]]),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(added.communications, [CALLS[0], CALLS[1], CALLS[2]]);
    let created = create(
        &mut client,
        "no-statements",
        Episode {
            statements: vec![],
            ..macron_putin()
        },
    )
    .await;
    assert_eq!(created.etag, "1");
}

#[tokio::test]
async fn a_gateway_without_backends_serves_what_needs_none_and_refuses_the_rest() {
    let gateway = spawn_with(Service::Gateway, Options::default()).await;
    let mut client = gateway.gateway();
    for (episode, service) in [
        (
            Episode {
                communications: strings(&[CALLS[0]]),
                ..bare("Calls", &[])
            },
            "communications service",
        ),
        (
            Episode {
                statements: strings(&[STATEMENTS[0]]),
                ..bare("Statements", &[])
            },
            "statements service",
        ),
        (
            Episode {
                actors_of_interest: strings(&[SCHOLZ]),
                ..bare("Actors", &[])
            },
            "actors service",
        ),
    ] {
        let status = client
            .create_episode(CreateEpisodeRequest {
                episode: Some(episode),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(status.message().contains(service), "{status:?}");
    }
    assert!(all_names(&mut client).await.is_empty(), "nothing stored");
    let bare = create(&mut client, "no-members", bare("No members", &["tag"])).await;
    assert_eq!(get(&mut client, &bare.name).await.unwrap(), bare);
}

#[tokio::test]
async fn a_backend_too_slow_to_answer_is_unavailable_within_the_callers_deadline() {
    // Accepts connections and never answers: the member check must give up on its own.
    let black_hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = black_hole.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = black_hole.accept().await {
            held.push(socket);
        }
    });
    let gateway = spawn_with(
        Service::Gateway,
        Options {
            actors: Some(addr),
            ..Options::default()
        },
    )
    .await;
    let mut client = gateway.gateway();
    let mut request = tonic::Request::new(CreateEpisodeRequest {
        episode: Some(Episode {
            actors_of_interest: strings(&[SCHOLZ]),
            ..bare("Slow", &[])
        }),
        ..Default::default()
    });
    request.set_timeout(Duration::from_millis(1500));
    let started = Instant::now();
    let status = client.create_episode(request).await.unwrap_err();
    let waited = started.elapsed();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(error_reason(&status), "DEPENDENCY_UNAVAILABLE");
    assert!(
        waited < Duration::from_millis(1500),
        "answered within the caller's deadline: {waited:?}"
    );
    assert!(all_names(&mut client).await.is_empty());
    holder.abort();
}

chancery_testkit::backend_tests!(
    create_get_update_delete_with_etags,
    a_retried_create_returns_the_first_result,
    listing_by_tag_and_member_pages_30_episodes_by_7_without_gap_or_duplicate,
    tampered_or_foreign_page_tokens_are_invalid_argument,
    unknown_or_malformed_members_are_invalid_argument_on_their_field_paths,
    members_are_added_once_and_removed_with_etags,
    a_write_while_a_backend_is_down_is_unavailable_and_stores_nothing,
);
