//! The statements service end to end: the actors, communications and statements services on
//! real sockets, each with its own SQLite file, wired to each other as in production, driven
//! through tonic clients over TCP.

use std::collections::HashSet;

use chancery_proto::actors::v1::{
    Actor, ActorKind, CreateActorRequest, MediaProfile, MediaType,
    actor_service_client::ActorServiceClient,
};
use chancery_proto::common::v1::{DatePrecision, FuzzyDate};
use chancery_proto::communications::v1::{
    Communication, CommunicationKind, CreateCommunicationRequest, Participant, ParticipantRole,
};
use chancery_proto::statements::v1::{
    AttributionHop, BatchGetSourceDocumentsRequest, BatchGetStatementsRequest, Channel, Content,
    ContentMode, CreateSourceDocumentRequest, CreateStatementRequest, DeleteSourceDocumentRequest,
    DeleteStatementRequest, DocumentPlacement, DocumentSection, GetSourceDocumentRequest,
    GetStatementRequest, HopRelation, ListSourceDocumentsRequest, ListStatementsRequest,
    MediaAsset, MediaKind, QuotedSpan, Readout, RelayedSpeech, SourceDocument, SpeechAct,
    Statement, Topic, UpdateSourceDocumentRequest, UpdateStatementRequest,
    statement_service_client::StatementServiceClient,
};
use chancery_testkit::{
    Backend, Options, Service, Suite, TestServer, error_reason, field_violations, spawn_on,
    spawn_suite_on, spawn_with,
};
use tonic::Code;
use tonic::transport::Channel as GrpcChannel;

type Statements = StatementServiceClient<GrpcChannel>;

fn actor(id: &str) -> String {
    format!("actors/{id}")
}

fn document(id: &str) -> String {
    format!("documents/{id}")
}

fn date(edtf: &str) -> Option<FuzzyDate> {
    Some(FuzzyDate {
        edtf: edtf.into(),
        ..Default::default()
    })
}

fn hop(reporter: &str, relation: HopRelation, doc: &str) -> AttributionHop {
    AttributionHop {
        position: 0,
        reporter: if reporter.is_empty() {
            String::new()
        } else {
            actor(reporter)
        },
        relation: relation as i32,
        cue: String::new(),
        document: if doc.is_empty() {
            String::new()
        } else {
            document(doc)
        },
        ..Default::default()
    }
}

/// A statement of `speaker` read in the seed report, summarised.
fn statement(speaker: &str, text: &str, said: &str) -> Statement {
    Statement {
        speaker: actor(speaker),
        content: Some(Content {
            text: text.into(),
            language_code: "en".into(),
            mode: ContentMode::Summary as i32,
            ..Default::default()
        }),
        speech_act: SpeechAct::Assertion as i32,
        said: date(said),
        attribution_chain: vec![hop("republic-world", HopRelation::Reported, "seed")],
        ..Default::default()
    }
}

/// The people, bodies, states and outlets of the seed article that the tests name.
const PEOPLE: &[&str] = &[
    "anne-claire-legendre",
    "emmanuel-macron",
    "olaf-scholz",
    "vladimir-putin",
    "dmitry-peskov",
];
const BODIES: &[&str] = &[
    "french-foreign-ministry",
    "kremlin-press-service",
    "german-government-spokesperson",
];
const STATES: &[&str] = &["ukraine", "russia"];
const OUTLETS: &[(&str, MediaType)] = &[
    ("republic-world", MediaType::Online),
    ("tass", MediaType::NewsAgency),
    ("bfm-tv", MediaType::Broadcaster),
    ("the-guardian", MediaType::Newspaper),
    ("associated-press", MediaType::NewsAgency),
];

async fn create_actors(client: &mut ActorServiceClient<GrpcChannel>) {
    let mut actors: Vec<(&str, Actor)> = Vec::new();
    for (ids, kind) in [
        (PEOPLE, ActorKind::Person),
        (BODIES, ActorKind::GovernmentBody),
        (STATES, ActorKind::State),
    ] {
        for id in ids {
            actors.push((
                id,
                Actor {
                    kind: kind as i32,
                    display_name: (*id).into(),
                    ..Default::default()
                },
            ));
        }
    }
    for (id, media_type) in OUTLETS {
        actors.push((
            id,
            Actor {
                kind: ActorKind::MediaOutlet as i32,
                display_name: (*id).into(),
                media: Some(MediaProfile {
                    media_type: *media_type as i32,
                    state_owned: false,
                }),
                ..Default::default()
            },
        ));
    }
    for (id, actor) in actors {
        client
            .create_actor(CreateActorRequest {
                actor: Some(actor),
                actor_id: id.into(),
                request_id: String::new(),
            })
            .await
            .unwrap_or_else(|status| panic!("create actor {id}: {status:?}"));
    }
}

async fn create_document(client: &mut Statements, id: &str, doc: SourceDocument) -> SourceDocument {
    client
        .create_source_document(CreateSourceDocumentRequest {
            source_document: Some(doc),
            document_id: id.into(),
            request_id: String::new(),
        })
        .await
        .unwrap_or_else(|status| panic!("create document {id}: {status:?}"))
        .into_inner()
}

fn article(publisher: &str, url: &str) -> SourceDocument {
    SourceDocument {
        url: url.into(),
        publisher: actor(publisher),
        title: format!("A report by {publisher}"),
        published: date("2022-03-26"),
        language_code: "en".into(),
        ..Default::default()
    }
}

/// The three services, the seed's actors and three documents: the seed report, a TASS dispatch
/// and the Kremlin readout.
async fn world(backend: Backend) -> (Suite, Statements) {
    let suite = spawn_suite_on(backend).await;
    create_actors(&mut suite.actors.actors()).await;
    let mut client = suite.statements.statements();
    create_document(
        &mut client,
        "seed",
        article(
            "republic-world",
            "https://www.republicworld.com/world-news/macron-putin-call",
        ),
    )
    .await;
    create_document(
        &mut client,
        "tass-dispatch",
        article("tass", "https://tass.com/politics/1428561"),
    )
    .await;
    create_document(
        &mut client,
        "kremlin-readout",
        article(
            "kremlin-press-service",
            "http://en.kremlin.ru/events/president/news/68000",
        ),
    )
    .await;
    (suite, client)
}

async fn create(client: &mut Statements, id: &str, statement: Statement) -> Statement {
    client
        .create_statement(CreateStatementRequest {
            statement: Some(statement),
            statement_id: id.into(),
            request_id: String::new(),
        })
        .await
        .unwrap_or_else(|status| panic!("create statement {id}: {status:?}"))
        .into_inner()
}

/// Every statement a listing returns, following its pages; the names in order.
async fn list(client: &mut Statements, request: ListStatementsRequest) -> Vec<String> {
    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_statements(ListStatementsRequest {
                page_token: token,
                ..request.clone()
            })
            .await
            .unwrap_or_else(|status| panic!("list {request:?}: {status:?}"))
            .into_inner();
        names.extend(page.statements.into_iter().map(|s| s.name));
        if page.next_page_token.is_empty() {
            return names;
        }
        token = page.next_page_token;
    }
}

async fn count_statements(client: &mut Statements) -> usize {
    list(client, ListStatementsRequest::default()).await.len()
}

async fn count_documents(client: &mut Statements) -> usize {
    client
        .list_source_documents(ListSourceDocumentsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .source_documents
        .len()
}

fn names(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| format!("statements/{id}")).collect()
}

async fn create_get_update_delete_with_etags(backend: Backend) {
    let (_suite, mut client) = world(backend).await;
    let legendre = Statement {
        on_behalf_of: actor("french-foreign-ministry"),
        addressees: vec![actor("vladimir-putin")],
        content: Some(Content {
            text: "France seeks to keep the channel for dialogue open with the Élysée's partner"
                .into(),
            language_code: "en".into(),
            mode: ContentMode::PartialQuote as i32,
            quoted_spans: vec![QuotedSpan { start: 0, end: 50 }],
            original_text: "La France cherche à garder ouvert le canal du dialogue".into(),
            original_language_code: "fr".into(),
            ..Default::default()
        }),
        speech_act: SpeechAct::Intent as i32,
        channel: Channel::Interview as i32,
        topics: vec![Topic {
            id: "dialogue-with-russia".into(),
            label: "Keeping a channel open to Moscow".into(),
        }],
        ..statement(
            "anne-claire-legendre",
            "placeholder, replaced by content above",
            "2022-03-26",
        )
    };
    let created = create(&mut client, "legendre-intent", legendre.clone()).await;
    assert_eq!(created.name, "statements/legendre-intent");
    assert_eq!(created.etag, "1");
    assert!(created.create_time.is_some());
    assert_eq!(created.update_time, created.create_time);
    assert_eq!(created.content, legendre.content);
    let said = created.said.clone().unwrap();
    assert_eq!(said.precision, DatePrecision::Day as i32);
    assert!(said.earliest.is_some() && said.latest.is_some());

    let fetched = client
        .get_statement(GetStatementRequest {
            name: created.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched, created);

    let updated = client
        .update_statement(UpdateStatementRequest {
            statement: Some(Statement {
                name: created.name.clone(),
                etag: created.etag.clone(),
                channel: Channel::PressBriefing as i32,
                speaker: actor("dmitry-peskov"),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["channel".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.channel, Channel::PressBriefing as i32);
    assert_eq!(
        updated.speaker,
        actor("anne-claire-legendre"),
        "fields outside the mask are kept"
    );
    assert_eq!(updated.etag, "2");
    assert_eq!(updated.create_time, created.create_time);
    assert_ne!(updated.update_time, created.update_time);

    // Without a mask, every field the patch sets is replaced.
    let implied = client
        .update_statement(UpdateStatementRequest {
            statement: Some(Statement {
                name: created.name.clone(),
                speech_act: SpeechAct::Confirmation as i32,
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(implied.speech_act, SpeechAct::Confirmation as i32);
    assert_eq!(implied.channel, Channel::PressBriefing as i32);
    assert_eq!(implied.etag, "3");

    // The first etag is stale now: the update is refused and changes nothing.
    let stale = client
        .update_statement(UpdateStatementRequest {
            statement: Some(Statement {
                name: created.name.clone(),
                etag: created.etag.clone(),
                channel: Channel::Speech as i32,
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(error_reason(&stale), "ETAG_MISMATCH");
    let after = client
        .get_statement(GetStatementRequest {
            name: created.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after, implied);

    // Only updatable fields may be named, and the merged statement must still be valid.
    let bad_mask = client
        .update_statement(UpdateStatementRequest {
            statement: Some(Statement {
                name: created.name.clone(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["channel".into(), "etag".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_mask.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&bad_mask), ["update_mask.paths[1]"]);
    let invalid = client
        .update_statement(UpdateStatementRequest {
            statement: Some(Statement {
                name: created.name.clone(),
                attribution_chain: vec![hop("tass", HopRelation::Reported, "")],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["attribution_chain".into(), "content".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&invalid),
        [
            "statement.content",
            "statement.attribution_chain[0].document"
        ]
    );

    let stale_delete = client
        .delete_statement(DeleteStatementRequest {
            name: created.name.clone(),
            etag: "1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(stale_delete.code(), Code::Aborted);
    client
        .delete_statement(DeleteStatementRequest {
            name: created.name.clone(),
            etag: "3".into(),
        })
        .await
        .unwrap();
    let gone = client
        .get_statement(GetStatementRequest {
            name: created.name.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    assert!(gone.message().contains("statements/legendre-intent"));
    let again = client
        .delete_statement(DeleteStatementRequest {
            name: created.name,
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
    assert_eq!(count_statements(&mut client).await, 0);
}

async fn a_retried_create_returns_the_first_result_and_creates_nothing_more(backend: Backend) {
    let (_suite, mut client) = world(backend).await;
    let request = CreateStatementRequest {
        statement: Some(statement(
            "dmitry-peskov",
            "Peskov declined to comment",
            "2022-03-27",
        )),
        statement_id: String::new(),
        request_id: "8d3f8a52-7f0e-4c1b-9a55-3f4d1c2b0a11".into(),
    };
    let first = client
        .create_statement(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(
        first.name.starts_with("statements/stm-"),
        "a generated id: {}",
        first.name
    );
    let retry = client
        .create_statement(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retry, first);
    assert_eq!(count_statements(&mut client).await, 1);

    let reused = client
        .create_statement(CreateStatementRequest {
            statement: Some(statement("dmitry-peskov", "Something else", "2022-03-27")),
            ..request
        })
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::FailedPrecondition);
    assert_eq!(error_reason(&reused), "REQUEST_ID_REUSED");
    assert_eq!(count_statements(&mut client).await, 1);

    let taken = client
        .create_statement(CreateStatementRequest {
            statement: Some(statement("dmitry-peskov", "Again", "2022-03-27")),
            statement_id: first.name.trim_start_matches("statements/").into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);

    // Documents are created idempotently too.
    let document_request = CreateSourceDocumentRequest {
        source_document: Some(article(
            "the-guardian",
            "https://www.theguardian.com/world/x",
        )),
        document_id: String::new(),
        request_id: "guardian-1".into(),
    };
    let first_document = client
        .create_source_document(document_request.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(first_document.name.starts_with("documents/doc-"));
    let retried_document = client
        .create_source_document(document_request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried_document, first_document);
    assert_eq!(count_documents(&mut client).await, 4);
}

async fn batch_gets_answer_in_order_and_name_the_missing(backend: Backend) {
    let (_suite, mut client) = world(backend).await;
    for id in ["a-one", "b-two", "c-three"] {
        create(&mut client, id, statement("olaf-scholz", id, "2022-03-12")).await;
    }
    let all = client
        .batch_get_statements(BatchGetStatementsRequest {
            names: names(&["c-three", "a-one", "c-three"]),
            allow_missing: false,
        })
        .await
        .unwrap()
        .into_inner();
    let got: Vec<_> = all.statements.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        got,
        [
            "statements/c-three",
            "statements/a-one",
            "statements/c-three"
        ]
    );

    let missing = client
        .batch_get_statements(BatchGetStatementsRequest {
            names: names(&["a-one", "nobody", "b-two", "ghost"]),
            allow_missing: false,
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(field_violations(&missing), ["names[1]", "names[3]"]);
    assert!(missing.message().contains("statements/nobody"));

    let partial = client
        .batch_get_statements(BatchGetStatementsRequest {
            names: names(&["a-one", "nobody", "b-two"]),
            allow_missing: true,
        })
        .await
        .unwrap()
        .into_inner();
    let got: Vec<_> = partial.statements.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(got, ["statements/a-one", "statements/b-two"]);
    assert_eq!(partial.missing_names, ["statements/nobody"]);

    let malformed = client
        .batch_get_statements(BatchGetStatementsRequest {
            names: vec!["statements/a-one".into(), "documents/seed".into()],
            allow_missing: true,
        })
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&malformed), ["names[1]"]);

    let documents = client
        .batch_get_source_documents(BatchGetSourceDocumentsRequest {
            names: vec![
                document("tass-dispatch"),
                document("nope"),
                document("seed"),
            ],
            allow_missing: true,
        })
        .await
        .unwrap()
        .into_inner();
    let got: Vec<_> = documents
        .source_documents
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(got, ["documents/tass-dispatch", "documents/seed"]);
    assert_eq!(documents.missing_names, ["documents/nope"]);
    let strict = client
        .batch_get_source_documents(BatchGetSourceDocumentsRequest {
            names: vec![document("nope")],
            allow_missing: false,
        })
        .await
        .unwrap_err();
    assert_eq!(strict.code(), Code::NotFound);
}

fn sort_key(statement: &Statement) -> (i64, i32, i64, i32, String) {
    let said = statement.said.as_ref().unwrap();
    let (earliest, latest) = (said.earliest.unwrap(), said.latest.unwrap());
    (
        earliest.seconds,
        earliest.nanos,
        latest.seconds,
        latest.nanos,
        statement.name.clone(),
    )
}

async fn paging_60_statements_by_7_has_no_gap_and_no_duplicate(backend: Backend) {
    let (_suite, mut client) = world(backend).await;
    let mut created = Vec::new();
    for i in 0..60 {
        // Days, minutes, a whole month and a whole year: bounds tie and interleave, and ids are
        // not in creation order.
        let said = match i % 4 {
            0 => format!("2022-03-{:02}", 1 + i / 4),
            1 => "2022-03".to_owned(),
            2 => format!("2022-03-{:02}T12:00Z", 1 + i / 4),
            _ => "2022".to_owned(),
        };
        let id = format!("s-{:02}", (i * 37 + 11) % 60);
        created.push(create(&mut client, &id, statement("vladimir-putin", &id, &said)).await);
    }
    created.sort_by_key(sort_key);
    let expected: Vec<String> = created.into_iter().map(|s| s.name).collect();

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_statements(ListStatementsRequest {
                page_size: 7,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.statements.len() <= 7);
        seen.extend(page.statements.into_iter().map(|s| s.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 9, "60 items at 7 a page");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        60,
        "no duplicates"
    );
    assert_eq!(
        seen, expected,
        "ordered by said (earliest, latest) then name, none missing"
    );
}

async fn tampered_or_foreign_page_tokens_are_invalid_argument(backend: Backend) {
    let (_suite, mut client) = world(backend).await;
    for i in 0..5 {
        let id = format!("p-{i}");
        create(
            &mut client,
            &id,
            statement("olaf-scholz", &id, "2022-03-12"),
        )
        .await;
    }
    let first = client
        .list_statements(ListStatementsRequest {
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
            .list_statements(ListStatementsRequest {
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
        .list_statements(ListStatementsRequest {
            page_size: 2,
            page_token: token.clone(),
            speaker: actor("olaf-scholz"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::InvalidArgument);
    assert!(foreign.message().contains("different query"));
    let documents = client
        .list_source_documents(ListSourceDocumentsRequest {
            page_token: token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(documents.code(), Code::InvalidArgument);
    let negative = client
        .list_statements(ListStatementsRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&negative), ["page_size"]);
}

async fn filters_return_exactly_the_expected_statements(backend: Backend) {
    let (_suite, mut client) = world(backend).await;
    // 12 March: Scholz and Macron jointly call for a ceasefire; the Kremlin says Putin accused
    // Kyiv. Some day in March: a Scholz press release, quoted verbatim. 26 March: Legendre, partly
    // quoted, in an interview. 2 April: Peskov declines to comment, verbatim.
    let ceasefire = Statement {
        co_speakers: vec![actor("emmanuel-macron")],
        about_actors: vec![actor("ukraine"), actor("russia")],
        speech_act: SpeechAct::Appeal as i32,
        channel: Channel::Broadcast as i32,
        topics: vec![Topic {
            id: "ceasefire".into(),
            label: "An immediate ceasefire".into(),
        }],
        ..statement(
            "olaf-scholz",
            "Scholz and Macron called for an immediate ceasefire",
            "2022-03-12",
        )
    };
    let accusation = Statement {
        about_actors: vec![actor("ukraine")],
        speech_act: SpeechAct::Accusation as i32,
        channel: Channel::OfficialReadout as i32,
        content: Some(Content {
            text: "Putin accused Kyiv of using civilians as human shields".into(),
            language_code: "en".into(),
            mode: ContentMode::Characterization as i32,
            ..Default::default()
        }),
        ..statement("vladimir-putin", "", "2022-03-12")
    };
    let verbatim = |text: &str| {
        Some(Content {
            text: text.into(),
            language_code: "en".into(),
            mode: ContentMode::Verbatim as i32,
            ..Default::default()
        })
    };
    let release = Statement {
        content: verbatim("Germany stands with Ukraine."),
        channel: Channel::PressRelease as i32,
        ..statement("olaf-scholz", "", "2022-03")
    };
    let legendre = Statement {
        on_behalf_of: actor("french-foreign-ministry"),
        speech_act: SpeechAct::Confirmation as i32,
        channel: Channel::Interview as i32,
        content: Some(Content {
            text: "She confirmed that Macron would call Putin".into(),
            language_code: "en".into(),
            mode: ContentMode::PartialQuote as i32,
            quoted_spans: vec![QuotedSpan { start: 19, end: 42 }],
            ..Default::default()
        }),
        ..statement("anne-claire-legendre", "", "2022-03-26")
    };
    let peskov = Statement {
        content: verbatim("No comment."),
        speech_act: SpeechAct::NoComment as i32,
        channel: Channel::ToldReporters as i32,
        ..statement("dmitry-peskov", "", "2022-04-02")
    };
    for (id, s) in [
        ("ceasefire", ceasefire),
        ("accusation", accusation),
        ("release", release),
        ("legendre", legendre),
        ("peskov", peskov),
    ] {
        create(&mut client, id, s).await;
    }

    let cases = [
        (
            "everything, by said",
            ListStatementsRequest::default(),
            vec!["release", "accusation", "ceasefire", "legendre", "peskov"],
        ),
        (
            "a speaker, as speaker or co-speaker",
            ListStatementsRequest {
                speaker: actor("olaf-scholz"),
                ..Default::default()
            },
            vec!["release", "ceasefire"],
        ),
        (
            "a co-speaker only",
            ListStatementsRequest {
                speaker: actor("emmanuel-macron"),
                ..Default::default()
            },
            vec!["ceasefire"],
        ),
        (
            "an actor spoken about",
            ListStatementsRequest {
                about_actor: actor("ukraine"),
                ..Default::default()
            },
            vec!["accusation", "ceasefire"],
        ),
        (
            "an actor spoken for is not a speaker",
            ListStatementsRequest {
                speaker: actor("french-foreign-ministry"),
                ..Default::default()
            },
            vec![],
        ),
        (
            "verbatim only",
            ListStatementsRequest {
                content_mode: ContentMode::Verbatim as i32,
                ..Default::default()
            },
            vec!["release", "peskov"],
        ),
        (
            "a speech act",
            ListStatementsRequest {
                speech_act: SpeechAct::Accusation as i32,
                ..Default::default()
            },
            vec!["accusation"],
        ),
        (
            "a channel",
            ListStatementsRequest {
                channel: Channel::Interview as i32,
                ..Default::default()
            },
            vec!["legendre"],
        ),
        (
            "a topic",
            ListStatementsRequest {
                topic: "ceasefire".into(),
                ..Default::default()
            },
            vec!["ceasefire"],
        ),
        (
            "a range that overlaps the month-precision date",
            ListStatementsRequest {
                date_from: date("2022-03-20"),
                date_to: date("2022-03-31"),
                ..Default::default()
            },
            vec!["release", "legendre"],
        ),
        (
            "from April on",
            ListStatementsRequest {
                date_from: date("2022-04"),
                ..Default::default()
            },
            vec!["peskov"],
        ),
        (
            "up to an instant before 12 March",
            ListStatementsRequest {
                date_to: date("2022-03-11T23:59Z"),
                ..Default::default()
            },
            vec!["release"],
        ),
        (
            "filters combine",
            ListStatementsRequest {
                speaker: actor("olaf-scholz"),
                content_mode: ContentMode::Verbatim as i32,
                ..Default::default()
            },
            vec!["release"],
        ),
    ];
    for (what, request, expected) in cases {
        assert_eq!(list(&mut client, request).await, names(&expected), "{what}");
    }

    let backwards = client
        .list_statements(ListStatementsRequest {
            date_from: date("2022-04"),
            date_to: date("2022-03"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(backwards.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&backwards), ["date_to"]);
    let malformed = client
        .list_statements(ListStatementsRequest {
            speaker: "olaf-scholz".into(),
            communication: "calls/x".into(),
            topic: "Cease Fire".into(),
            content_mode: 42,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&malformed),
        ["speaker", "communication", "topic", "content_mode"]
    );
}

async fn the_attribution_chain_comes_back_in_order_with_positions(backend: Backend) {
    let (_suite, mut client) = world(backend).await;
    // "seed report ← TASS (reported) ← BFM TV (interview) ← Legendre", with positions the
    // client got wrong: the server numbers the hops itself.
    let chain = vec![
        AttributionHop {
            position: 5,
            cue: "as per the news report".into(),
            ..hop("republic-world", HopRelation::Reported, "seed")
        },
        AttributionHop {
            position: 0,
            cue: "TASS reported".into(),
            ..hop("tass", HopRelation::Citing, "tass-dispatch")
        },
        AttributionHop {
            position: 0,
            cue: "While speaking to BFM TV".into(),
            ..hop("bfm-tv", HopRelation::Told, "")
        },
    ];
    let created = create(
        &mut client,
        "legendre-confirms",
        Statement {
            attribution_chain: chain.clone(),
            ..statement(
                "anne-claire-legendre",
                "Legendre confirmed the call",
                "2022-03-26",
            )
        },
    )
    .await;
    let fetched = client
        .get_statement(GetStatementRequest { name: created.name })
        .await
        .unwrap()
        .into_inner();
    let positions: Vec<i32> = fetched
        .attribution_chain
        .iter()
        .map(|h| h.position)
        .collect();
    assert_eq!(positions, [0, 1, 2]);
    let reporters: Vec<&str> = fetched
        .attribution_chain
        .iter()
        .map(|h| h.reporter.as_str())
        .collect();
    assert_eq!(
        reporters,
        ["actors/republic-world", "actors/tass", "actors/bfm-tv"]
    );
    for (got, sent) in fetched.attribution_chain.iter().zip(&chain) {
        assert_eq!(
            (&got.cue, &got.document, got.relation),
            (&sent.cue, &sent.document, sent.relation)
        );
    }
    // A reporter is not a speaker.
    assert!(
        list(
            &mut client,
            ListStatementsRequest {
                speaker: actor("tass"),
                ..Default::default()
            }
        )
        .await
        .is_empty()
    );
}

async fn unknown_actors_documents_and_statements_are_invalid_argument_with_their_paths(
    backend: Backend,
) {
    let (_suite, mut client) = world(backend).await;
    let unknown_reporter = client
        .create_statement(CreateStatementRequest {
            statement: Some(Statement {
                attribution_chain: vec![
                    hop("republic-world", HopRelation::Reported, "seed"),
                    hop("ria-novosti", HopRelation::Citing, ""),
                ],
                ..statement("vladimir-putin", "Putin said so", "2022-03-12")
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown_reporter.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&unknown_reporter),
        ["statement.attribution_chain[1].reporter"]
    );
    assert!(
        unknown_reporter
            .message()
            .contains("actors/ria-novosti does not exist"),
        "{}",
        unknown_reporter.message()
    );

    // Every missing reference is reported at once: the actors service's answer and the
    // documents and statements this service holds.
    let everything = client
        .create_statement(CreateStatementRequest {
            statement: Some(Statement {
                speaker: actor("nobody"),
                addressees: vec![actor("vladimir-putin"), actor("ghost")],
                readout: None,
                in_reply_to: "statements/never-said".into(),
                attribution_chain: vec![
                    hop("republic-world", HopRelation::Reported, "lost-article"),
                    hop("tass", HopRelation::Citing, "seed"),
                ],
                ..statement("nobody", "Nobody said it", "2022-03-12")
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(everything.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&everything),
        [
            "statement.speaker",
            "statement.addressees[1]",
            "statement.attribution_chain[0].document",
            "statement.in_reply_to",
        ]
    );

    // Updates check what they change.
    create(
        &mut client,
        "putin-said",
        statement("vladimir-putin", "Putin said so", "2022-03-12"),
    )
    .await;
    let bad_update = client
        .update_statement(UpdateStatementRequest {
            statement: Some(Statement {
                name: "statements/putin-said".into(),
                about_actors: vec![actor("ukraine"), actor("atlantis")],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["about_actors".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&bad_update), ["statement.about_actors[1]"]);

    // A document's publisher and credited actors must exist too.
    let bad_document = client
        .create_source_document(CreateSourceDocumentRequest {
            source_document: Some(SourceDocument {
                media_assets: vec![MediaAsset {
                    kind: MediaKind::Image as i32,
                    credit: "Image: Reuters".into(),
                    credit_actor: actor("reuters"),
                    ..Default::default()
                }],
                ..article("le-monde", "https://www.lemonde.fr/x")
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&bad_document),
        [
            "source_document.publisher",
            "source_document.media_assets[0].credit_actor"
        ]
    );
    assert_eq!(count_statements(&mut client).await, 1);
    assert_eq!(count_documents(&mut client).await, 3);
}

async fn invalid_statements_name_every_field_and_store_nothing(backend: Backend) {
    let (_suite, mut client) = world(backend).await;
    let empty = client
        .create_statement(CreateStatementRequest::default())
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&empty), ["statement"]);
    assert_eq!(error_reason(&empty), "INVALID_REQUEST");

    // "Élysée" is 6 code points and 8 bytes: a span ending at 8 is past the end of the text.
    let wrong = client
        .create_statement(CreateStatementRequest {
            statement: Some(Statement {
                content: Some(Content {
                    text: "Élysée".into(),
                    language_code: "fr".into(),
                    mode: ContentMode::PartialQuote as i32,
                    quoted_spans: vec![
                        QuotedSpan { start: 0, end: 6 },
                        QuotedSpan { start: 2, end: 8 },
                    ],
                    ..Default::default()
                }),
                readout: Some(Readout {
                    issuer: actor("kremlin-press-service"),
                    document: String::new(),
                }),
                attribution_chain: vec![hop("republic-world", HopRelation::Unspecified, "")],
                ..statement("emmanuel-macron", "", "2022-03-12")
            }),
            statement_id: "Bad Id".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&wrong),
        [
            "statement_id",
            "statement.content.quoted_spans[1].start",
            "statement.content.quoted_spans[1].end",
            "statement.readout",
            "statement.attribution_chain[0].relation",
            "statement.attribution_chain[0].document",
        ]
    );

    let verbatim_with_spans = client
        .create_statement(CreateStatementRequest {
            statement: Some(Statement {
                content: Some(Content {
                    text: "Élysée".into(),
                    language_code: "fr".into(),
                    mode: ContentMode::Verbatim as i32,
                    quoted_spans: vec![QuotedSpan { start: 0, end: 6 }],
                    ..Default::default()
                }),
                ..statement("emmanuel-macron", "", "2022-03-12")
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&verbatim_with_spans),
        ["statement.content.quoted_spans"]
    );

    let too_long_a_chain = client
        .create_statement(CreateStatementRequest {
            statement: Some(Statement {
                attribution_chain: vec![hop("tass", HopRelation::Reported, "seed"); 21],
                ..statement("emmanuel-macron", "x", "2022-03-12")
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&too_long_a_chain),
        ["statement.attribution_chain"]
    );

    let bad_document = client
        .create_source_document(CreateSourceDocumentRequest {
            source_document: Some(SourceDocument {
                publisher: actor("tass"),
                authors: vec!["a".into(); 21],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&bad_document),
        ["source_document.url", "source_document.authors"]
    );
    assert_eq!(count_statements(&mut client).await, 0);
    assert_eq!(count_documents(&mut client).await, 3);
}

async fn a_statement_answered_by_another_cannot_be_deleted(backend: Backend) {
    let (_suite, mut client) = world(backend).await;
    create(
        &mut client,
        "lavrov-remark",
        statement("vladimir-putin", "A remark", "2022-03-20"),
    )
    .await;
    create(
        &mut client,
        "peskov-answer",
        Statement {
            in_reply_to: "statements/lavrov-remark".into(),
            ..statement("dmitry-peskov", "An answer", "2022-03-21")
        },
    )
    .await;
    let refused = client
        .delete_statement(DeleteStatementRequest {
            name: "statements/lavrov-remark".into(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(error_reason(&refused), "RESOURCE_IN_USE");
    assert!(refused.message().contains("statements/peskov-answer"));

    let itself = client
        .update_statement(UpdateStatementRequest {
            statement: Some(Statement {
                name: "statements/peskov-answer".into(),
                in_reply_to: "statements/peskov-answer".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&itself), ["statement.in_reply_to"]);

    for name in ["statements/peskov-answer", "statements/lavrov-remark"] {
        client
            .delete_statement(DeleteStatementRequest {
                name: name.into(),
                etag: String::new(),
            })
            .await
            .unwrap_or_else(|status| panic!("delete {name}: {status:?}"));
    }
    assert_eq!(count_statements(&mut client).await, 0);
}

async fn source_documents_list_by_publisher_in_id_order_and_credits_are_no_sources(
    backend: Backend,
) {
    let (_suite, mut client) = world(backend).await;
    let guardian = create_document(
        &mut client,
        "guardian-2022-03-12",
        SourceDocument {
            authors: vec!["Jon Henley".into()],
            media_assets: vec![MediaAsset {
                kind: MediaKind::Image as i32,
                url: "https://i.guim.co.uk/img/x.jpg".into(),
                credit: "Photograph: AP".into(),
                credit_actor: actor("associated-press"),
                caption: "Emmanuel Macron".into(),
            }],
            ..article(
                "the-guardian",
                "https://www.theguardian.com/world/2022/mar/12/x",
            )
        },
    )
    .await;
    assert_eq!(guardian.etag, "1");
    assert_eq!(
        guardian.published.as_ref().unwrap().precision,
        DatePrecision::Day as i32
    );
    let fetched = client
        .get_source_document(GetSourceDocumentRequest {
            name: guardian.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched, guardian);
    let missing = client
        .get_source_document(GetSourceDocumentRequest {
            name: document("nope"),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    for i in 0..9 {
        create_document(
            &mut client,
            &format!("tass-{i}"),
            SourceDocument {
                url: String::new(),
                ..article("tass", "")
            },
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_source_documents(ListSourceDocumentsRequest {
                page_size: 4,
                page_token: token,
                publisher: actor("tass"),
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.source_documents.into_iter().map(|d| d.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut expected: Vec<String> = (0..9).map(|i| document(&format!("tass-{i}"))).collect();
    expected.push(document("tass-dispatch"));
    assert_eq!(seen, expected);
    assert_eq!(count_documents(&mut client).await, 13);

    // A statement read in the Guardian piece: the photo agency credited for its image is no
    // source of it.
    create(
        &mut client,
        "anonymous-official",
        Statement {
            attribution_chain: vec![hop(
                "the-guardian",
                HopRelation::Reported,
                "guardian-2022-03-12",
            )],
            ..statement(
                "emmanuel-macron",
                "There was no agreement from Putin to end the war",
                "2022-03-12",
            )
        },
    )
    .await;
    for request in [
        ListStatementsRequest {
            speaker: actor("associated-press"),
            ..Default::default()
        },
        ListStatementsRequest {
            about_actor: actor("associated-press"),
            ..Default::default()
        },
    ] {
        assert!(list(&mut client, request).await.is_empty());
    }
}

#[tokio::test]
async fn a_write_while_the_actors_service_is_down_is_unavailable_and_stores_nothing() {
    let statements = spawn_with(
        Service::Statements,
        Options {
            actors: None,
            communications: None,
            ..Options::default()
        },
    )
    .await;
    let mut client = statements.statements();
    let status = client
        .create_statement(CreateStatementRequest {
            statement: Some(statement("vladimir-putin", "Putin said so", "2022-03-12")),
            statement_id: "putin-said".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(error_reason(&status), "DEPENDENCY_UNAVAILABLE");
    assert!(status.message().contains("the actors service"));
    let document = client
        .create_source_document(CreateSourceDocumentRequest {
            source_document: Some(article("tass", "https://tass.com/x")),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(document.code(), Code::Unavailable);
    assert_eq!(count_statements(&mut client).await, 0);
    assert_eq!(count_documents(&mut client).await, 0);
}

async fn a_write_while_the_communications_service_is_down_is_unavailable_and_stores_nothing(
    backend: Backend,
) {
    let actors = spawn_on(Service::Actors, backend).await;
    create_actors(&mut actors.actors()).await;
    let statements: TestServer = spawn_with(
        Service::Statements,
        Options {
            actors: Some(actors.addr),
            communications: None,
            backend,
            ..Options::default()
        },
    )
    .await;
    let mut client = statements.statements();
    create_document(
        &mut client,
        "seed",
        article("republic-world", "https://www.republicworld.com/x"),
    )
    .await;
    // Without a communication there is nothing to ask the communications service.
    create(
        &mut client,
        "no-call",
        statement("vladimir-putin", "Putin said so", "2022-03-12"),
    )
    .await;
    let status = client
        .create_statement(CreateStatementRequest {
            statement: Some(Statement {
                communication: "communications/macron-putin-2022-03-29".into(),
                ..statement("emmanuel-macron", "Macron will call Putin", "2022-03-26")
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("the communications service"));
    assert_eq!(count_statements(&mut client).await, 1);
}

async fn create_call(suite: &Suite, id: &str, parties: &[&str], occurred: &str) {
    let communication = Communication {
        kind: CommunicationKind::PhoneCall as i32,
        title: format!("Call {id}"),
        participants: parties
            .iter()
            .map(|party| Participant {
                actor: actor(party),
                role: ParticipantRole::Principal as i32,
                initiator: false,
                side: String::new(),
                ..Default::default()
            })
            .collect(),
        occurred: date(occurred),
        ..Default::default()
    };
    suite
        .communications
        .communications()
        .create_communication(CreateCommunicationRequest {
            communication: Some(communication),
            communication_id: id.into(),
            request_id: String::new(),
        })
        .await
        .unwrap_or_else(|status| panic!("create communication {id}: {status:?}"));
}

async fn each_partys_readout_of_a_call_is_read_on_its_own(backend: Backend) {
    let (suite, mut client) = world(backend).await;
    create_call(
        &suite,
        "macron-scholz-putin-2022-03-12",
        &["emmanuel-macron", "olaf-scholz", "vladimir-putin"],
        "2022-03-12",
    )
    .await;
    create_call(
        &suite,
        "macron-putin-2022-03-29",
        &["emmanuel-macron", "vladimir-putin"],
        "2022-03-29",
    )
    .await;
    let call = "communications/macron-scholz-putin-2022-03-12";
    let readout = |issuer: &str, document: &str| {
        Some(Readout {
            issuer: actor(issuer),
            document: document.into(),
        })
    };
    let statements = [
        (
            "kremlin-negotiations",
            Statement {
                communication: call.into(),
                readout: readout("kremlin-press-service", "documents/kremlin-readout"),
                ..statement(
                    "vladimir-putin",
                    "Putin shared details of the negotiations between Moscow and Kyiv",
                    "2022-03-12",
                )
            },
        ),
        (
            "kremlin-human-shields",
            Statement {
                communication: call.into(),
                readout: readout("kremlin-press-service", ""),
                speech_act: SpeechAct::Accusation as i32,
                ..statement(
                    "vladimir-putin",
                    "Putin accused Kyiv of using civilians as human shields",
                    "2022-03-12",
                )
            },
        ),
        (
            "german-ceasefire",
            Statement {
                communication: call.into(),
                readout: readout("german-government-spokesperson", ""),
                co_speakers: vec![actor("emmanuel-macron")],
                ..statement(
                    "olaf-scholz",
                    "Scholz and Macron called for an immediate ceasefire",
                    "2022-03-12",
                )
            },
        ),
        (
            "no-agreement",
            Statement {
                communication: call.into(),
                ..statement(
                    "emmanuel-macron",
                    "There was no agreement from Putin to end the war",
                    "2022-03-12",
                )
            },
        ),
        (
            "legendre-confirms",
            Statement {
                communication: "communications/macron-putin-2022-03-29".into(),
                ..statement("anne-claire-legendre", "The call is planned", "2022-03-26")
            },
        ),
    ];
    for (id, s) in statements {
        create(&mut client, id, s).await;
    }
    let cases = [
        (
            ListStatementsRequest {
                communication: call.into(),
                ..Default::default()
            },
            vec![
                "german-ceasefire",
                "kremlin-human-shields",
                "kremlin-negotiations",
                "no-agreement",
            ],
        ),
        (
            ListStatementsRequest {
                communication: call.into(),
                readout_issuer: actor("kremlin-press-service"),
                ..Default::default()
            },
            vec!["kremlin-human-shields", "kremlin-negotiations"],
        ),
        (
            ListStatementsRequest {
                communication: call.into(),
                readout_issuer: actor("german-government-spokesperson"),
                ..Default::default()
            },
            vec!["german-ceasefire"],
        ),
        (
            ListStatementsRequest {
                communication: "communications/macron-putin-2022-03-29".into(),
                ..Default::default()
            },
            vec!["legendre-confirms"],
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(
            list(&mut client, request.clone()).await,
            names(&expected),
            "{request:?}"
        );
    }
}

async fn a_statement_about_an_unknown_communication_is_invalid_argument(backend: Backend) {
    let (suite, mut client) = world(backend).await;
    create_call(
        &suite,
        "macron-putin-2022-03-29",
        &["emmanuel-macron", "vladimir-putin"],
        "2022-03-29",
    )
    .await;
    let status = client
        .create_statement(CreateStatementRequest {
            statement: Some(Statement {
                communication: "communications/macron-putin-2022-03-30".into(),
                ..statement("anne-claire-legendre", "The call is planned", "2022-03-26")
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(field_violations(&status), ["statement.communication"]);
    assert!(
        status
            .message()
            .contains("communications/macron-putin-2022-03-30 does not exist")
    );
    assert_eq!(count_statements(&mut client).await, 0);

    // Moving a statement to an unknown communication is refused the same way.
    create(
        &mut client,
        "legendre-confirms",
        Statement {
            communication: "communications/macron-putin-2022-03-29".into(),
            ..statement("anne-claire-legendre", "The call is planned", "2022-03-26")
        },
    )
    .await;
    let moved = client
        .update_statement(UpdateStatementRequest {
            statement: Some(Statement {
                name: "statements/legendre-confirms".into(),
                communication: "communications/nothing".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&moved), ["statement.communication"]);
}

fn relayed(speakers: &[&str], text: &str, nested: Vec<RelayedSpeech>) -> RelayedSpeech {
    RelayedSpeech {
        speakers: speakers.iter().map(|s| actor(s)).collect(),
        addressees: vec![],
        speech_act: SpeechAct::Assertion as i32,
        content: Some(Content {
            text: text.into(),
            language_code: "en".into(),
            mode: ContentMode::Paraphrase as i32,
            ..Default::default()
        }),
        said: None,
        relayed: nested,
    }
}

async fn get(client: &mut Statements, name: &str) -> Statement {
    client
        .get_statement(GetStatementRequest { name: name.into() })
        .await
        .unwrap_or_else(|status| panic!("get {name}: {status:?}"))
        .into_inner()
}

/// The Kremlin relays Putin's words to Scholz, themselves relaying Peskov's; read in the seed
/// report, placed in its lead, the same words as a TASS statement, about two calls.
fn kremlin_relaying_putin() -> Statement {
    let text = "The Kremlin said Putin told Scholz that talks were possible, but no date was set";
    Statement {
        content: Some(Content {
            text: text.into(),
            language_code: "en".into(),
            mode: ContentMode::PartialQuote as i32,
            quoted_spans: vec![QuotedSpan { start: 40, end: 59 }],
            // The attribution covers the first clause only.
            attributed_spans: vec![QuotedSpan { start: 0, end: 59 }],
            ..Default::default()
        }),
        speech_act: SpeechAct::Proposal as i32,
        communication: "communications/macron-scholz-putin-2022-03-12".into(),
        related_communications: vec!["communications/macron-putin-2022-03-29".into()],
        same_utterance_as: vec!["statements/tass-version".into()],
        placement: Some(DocumentPlacement {
            section: DocumentSection::Lead as i32,
            ordinal: 3,
        }),
        relayed: vec![RelayedSpeech {
            addressees: vec![actor("olaf-scholz")],
            speech_act: SpeechAct::Offer as i32,
            ..relayed(
                &["vladimir-putin"],
                "talks were possible",
                vec![relayed(&["dmitry-peskov"], "no date was set", vec![])],
            )
        }],
        attribution_chain: vec![
            hop("republic-world", HopRelation::Reported, "seed"),
            AttributionHop {
                unnamed_source: "local media".into(),
                cue: "as per local media reports".into(),
                cue_carried_over: true,
                ..hop("", HopRelation::AccordingTo, "")
            },
            hop("tass", HopRelation::Citing, "tass-dispatch"),
        ],
        ..statement("kremlin-press-service", "", "2022-03-12")
    }
}

async fn create_the_two_calls(suite: &Suite) {
    create_call(
        suite,
        "macron-scholz-putin-2022-03-12",
        &["emmanuel-macron", "olaf-scholz", "vladimir-putin"],
        "2022-03-12",
    )
    .await;
    create_call(
        suite,
        "macron-putin-2022-03-29",
        &["emmanuel-macron", "vladimir-putin"],
        "2022-03-29",
    )
    .await;
}

async fn relayed_speech_placement_and_the_new_references_come_back_exactly(backend: Backend) {
    let (suite, mut client) = world(backend).await;
    create_the_two_calls(&suite).await;
    create(
        &mut client,
        "tass-version",
        statement(
            "kremlin-press-service",
            "The same words, in TASS",
            "2022-03-12",
        ),
    )
    .await;
    let sent = kremlin_relaying_putin();
    let created = create(&mut client, "kremlin-relays-putin", sent.clone()).await;
    let fetched = get(&mut client, "statements/kremlin-relays-putin").await;
    assert_eq!(fetched, created);
    assert_eq!(fetched.relayed, sent.relayed, "two levels, as sent");
    assert_eq!(
        fetched.relayed[0].relayed[0].speakers,
        [actor("dmitry-peskov")]
    );
    assert_eq!(fetched.placement, sent.placement);
    assert_eq!(fetched.same_utterance_as, ["statements/tass-version"]);
    assert_eq!(
        fetched.related_communications,
        ["communications/macron-putin-2022-03-29"]
    );
    assert_eq!(fetched.content, sent.content, "attributed spans included");
    let unnamed = &fetched.attribution_chain[1];
    assert_eq!(
        (
            unnamed.position,
            unnamed.reporter.as_str(),
            unnamed.unnamed_source.as_str(),
            unnamed.cue_carried_over
        ),
        (1, "", "local media", true)
    );
    assert_eq!(fetched.speech_act, SpeechAct::Proposal as i32);

    let reader = client.clone();
    let listed = |request: ListStatementsRequest| {
        let mut client = reader.clone();
        async move { list(&mut client, request).await }
    };
    assert_eq!(
        listed(ListStatementsRequest {
            communication: "communications/macron-putin-2022-03-29".into(),
            ..Default::default()
        })
        .await,
        names(&["kremlin-relays-putin"]),
        "a related communication finds it"
    );
    assert_eq!(
        listed(ListStatementsRequest {
            communication: "communications/macron-scholz-putin-2022-03-12".into(),
            ..Default::default()
        })
        .await,
        names(&["kremlin-relays-putin"]),
        "its own communication still finds it"
    );
    for relayed_speaker in ["vladimir-putin", "dmitry-peskov", "olaf-scholz"] {
        assert!(
            listed(ListStatementsRequest {
                speaker: actor(relayed_speaker),
                ..Default::default()
            })
            .await
            .is_empty(),
            "{relayed_speaker} is relayed, not a speaker"
        );
    }
    assert_eq!(
        listed(ListStatementsRequest {
            speaker: actor("kremlin-press-service"),
            ..Default::default()
        })
        .await,
        names(&["kremlin-relays-putin", "tass-version"])
    );

    // The new fields are updatable; the related communication's row goes with the update.
    let updated = client
        .update_statement(UpdateStatementRequest {
            statement: Some(Statement {
                name: created.name.clone(),
                etag: created.etag.clone(),
                related_communications: vec![],
                relayed: vec![relayed(&["olaf-scholz"], "a ceasefire was needed", vec![])],
                placement: Some(DocumentPlacement {
                    section: DocumentSection::Body as i32,
                    ordinal: 7,
                }),
                same_utterance_as: vec![],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec![
                    "related_communications".into(),
                    "relayed".into(),
                    "placement".into(),
                    "same_utterance_as".into(),
                ],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.etag, "2");
    assert!(updated.related_communications.is_empty());
    assert_eq!(updated.relayed[0].speakers, [actor("olaf-scholz")]);
    assert_eq!(updated.placement.unwrap().ordinal, 7);
    assert_eq!(
        updated.content, sent.content,
        "fields outside the mask are kept"
    );
    assert!(
        listed(ListStatementsRequest {
            communication: "communications/macron-putin-2022-03-29".into(),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    // The statement named as the same utterance can now be deleted, and so can this one,
    // leaving no side rows behind.
    for name in ["statements/tass-version", "statements/kremlin-relays-putin"] {
        client
            .delete_statement(DeleteStatementRequest {
                name: name.into(),
                etag: String::new(),
            })
            .await
            .unwrap_or_else(|status| panic!("delete {name}: {status:?}"));
    }
    assert_eq!(count_statements(&mut client).await, 0);
}

async fn relayed_speech_naming_the_actor_relaying_it_is_refused_and_stores_nothing(
    backend: Backend,
) {
    let (suite, mut client) = world(backend).await;
    create_the_two_calls(&suite).await;
    let himself = Statement {
        same_utterance_as: vec![],
        relayed: vec![relayed(
            &["dmitry-peskov", "kremlin-press-service"],
            "the Kremlin said it",
            vec![],
        )],
        ..kremlin_relaying_putin()
    };
    let refused = client
        .create_statement(CreateStatementRequest {
            statement: Some(himself),
            statement_id: "self-relay".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert_eq!(
        field_violations(&refused),
        ["statement.relayed[0].speakers[1]"]
    );
    assert!(
        refused
            .message()
            .contains("must not be the actor relaying it"),
        "{}",
        refused.message()
    );

    // Deeper down, the relaying actor is the enclosing speech's speaker.
    let nested = Statement {
        same_utterance_as: vec![],
        relayed: vec![relayed(
            &["vladimir-putin"],
            "talks were possible",
            vec![relayed(&["vladimir-putin"], "he said so himself", vec![])],
        )],
        ..kremlin_relaying_putin()
    };
    let refused = client
        .create_statement(CreateStatementRequest {
            statement: Some(nested),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&refused),
        ["statement.relayed[0].relayed[0].speakers[0]"]
    );

    // An update making the statement's own speaker its relayed speaker is refused too.
    create(
        &mut client,
        "peskov-relays-putin",
        Statement {
            relayed: vec![relayed(&["vladimir-putin"], "talks were possible", vec![])],
            ..statement(
                "dmitry-peskov",
                "Peskov said Putin wanted talks",
                "2022-03-12",
            )
        },
    )
    .await;
    let refused = client
        .update_statement(UpdateStatementRequest {
            statement: Some(Statement {
                name: "statements/peskov-relays-putin".into(),
                speaker: actor("vladimir-putin"),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["speaker".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&refused),
        ["statement.relayed[0].speakers[0]"]
    );
    assert_eq!(
        get(&mut client, "statements/peskov-relays-putin")
            .await
            .speaker,
        actor("dmitry-peskov")
    );
    assert_eq!(
        list(&mut client, ListStatementsRequest::default()).await,
        names(&["peskov-relays-putin"]),
        "nothing else stored"
    );
}

async fn unknown_relayed_speakers_and_references_are_refused_naming_their_paths(backend: Backend) {
    let (suite, mut client) = world(backend).await;
    create_the_two_calls(&suite).await;
    let unknown = Statement {
        relayed: vec![RelayedSpeech {
            addressees: vec![actor("olaf-scholz"), actor("nobody-at-all")],
            ..relayed(
                &["vladimir-putin"],
                "talks were possible",
                vec![relayed(&["ghost"], "no date was set", vec![])],
            )
        }],
        related_communications: vec!["communications/never-held".into()],
        same_utterance_as: vec!["statements/never-said".into()],
        ..kremlin_relaying_putin()
    };
    let refused = client
        .create_statement(CreateStatementRequest {
            statement: Some(unknown),
            statement_id: "unknown".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert_eq!(
        field_violations(&refused),
        [
            "statement.relayed[0].addressees[1]",
            "statement.relayed[0].relayed[0].speakers[0]",
            "statement.related_communications[0]",
            "statement.same_utterance_as[0]",
        ]
    );
    assert!(
        refused.message().contains("actors/ghost does not exist"),
        "{}",
        refused.message()
    );
    assert!(
        refused
            .message()
            .contains("communications/never-held does not exist")
    );

    // Statement rules the domain checks: a statement naming itself as the same utterance, a
    // related communication repeating `communication`, a placement out of range, a hop with
    // neither reporter nor unnamed source.
    let wrong = Statement {
        same_utterance_as: vec!["statements/wrong".into()],
        related_communications: vec!["communications/macron-scholz-putin-2022-03-12".into()],
        placement: Some(DocumentPlacement {
            section: DocumentSection::Body as i32,
            ordinal: 100_001,
        }),
        attribution_chain: vec![
            hop("republic-world", HopRelation::Reported, "seed"),
            hop("", HopRelation::Citing, ""),
        ],
        ..kremlin_relaying_putin()
    };
    let refused = client
        .create_statement(CreateStatementRequest {
            statement: Some(wrong),
            statement_id: "wrong".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&refused),
        [
            "statement.attribution_chain[1].reporter",
            "statement.placement.ordinal",
            "statement.same_utterance_as[0]",
            "statement.related_communications[0]",
        ]
    );
    assert_eq!(count_statements(&mut client).await, 0);
}

async fn source_documents_update_with_etags_and_cannot_be_deleted_while_cited(backend: Backend) {
    let (suite, mut client) = world(backend).await;
    let created = create_document(
        &mut client,
        "tass-interview",
        SourceDocument {
            authors: vec!["Ivan Petrov".into()],
            ..article("tass", "https://tass.com/politics/1428600")
        },
    )
    .await;
    let update = |patch: SourceDocument, paths: &[&str]| UpdateSourceDocumentRequest {
        source_document: Some(SourceDocument {
            name: document("tass-interview"),
            ..patch
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
    };
    let updated = client
        .update_source_document(update(
            SourceDocument {
                etag: created.etag.clone(),
                publisher: actor("bfm-tv"),
                title: "Legendre on BFM TV".into(),
                author_actors: vec![actor("anne-claire-legendre")],
                url: "https://ignored.example".into(),
                ..Default::default()
            },
            &["publisher", "title", "author_actors"],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.etag, "2");
    assert_eq!(updated.publisher, actor("bfm-tv"));
    assert_eq!(updated.title, "Legendre on BFM TV");
    assert_eq!(updated.author_actors, [actor("anne-claire-legendre")]);
    assert_eq!(updated.url, created.url, "fields outside the mask are kept");
    assert_eq!(updated.authors, created.authors);
    assert_eq!(updated.create_time, created.create_time);
    let fetched = client
        .get_source_document(GetSourceDocumentRequest {
            name: document("tass-interview"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched, updated);
    // The publisher column moved with the body.
    let by_publisher = |publisher: &str| ListSourceDocumentsRequest {
        page_size: 100,
        page_token: String::new(),
        publisher: actor(publisher),
    };
    let bfm: Vec<String> = client
        .list_source_documents(by_publisher("bfm-tv"))
        .await
        .unwrap()
        .into_inner()
        .source_documents
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(bfm, [document("tass-interview")]);
    let tass: Vec<String> = client
        .list_source_documents(by_publisher("tass"))
        .await
        .unwrap()
        .into_inner()
        .source_documents
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(tass, [document("tass-dispatch")]);

    // A stale etag, an output-only path, an unknown actor, a missing document.
    let stale = client
        .update_source_document(update(
            SourceDocument {
                etag: created.etag.clone(),
                title: "Stale".into(),
                ..Default::default()
            },
            &["title"],
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(error_reason(&stale), "ETAG_MISMATCH");
    let bad_mask = client
        .update_source_document(update(SourceDocument::default(), &["title", "etag"]))
        .await
        .unwrap_err();
    assert_eq!(bad_mask.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&bad_mask), ["update_mask.paths[1]"]);
    let unknown = client
        .update_source_document(update(
            SourceDocument {
                author_actors: vec![actor("anne-claire-legendre"), actor("ivan-petrov")],
                ..Default::default()
            },
            &["author_actors"],
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&unknown),
        ["source_document.author_actors[1]"]
    );
    let invalid = client
        .update_source_document(update(SourceDocument::default(), &["publisher"]))
        .await
        .unwrap_err();
    assert_eq!(field_violations(&invalid), ["source_document.publisher"]);
    let missing = client
        .update_source_document(UpdateSourceDocumentRequest {
            source_document: Some(SourceDocument {
                name: document("nope"),
                title: "x".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let after = client
        .get_source_document(GetSourceDocumentRequest {
            name: document("tass-interview"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after, updated, "refused updates changed nothing");

    // Cited in a chain, or only in a readout: the document stays.
    create(
        &mut client,
        "cites-in-chain",
        Statement {
            attribution_chain: vec![
                hop("republic-world", HopRelation::Reported, "seed"),
                hop("bfm-tv", HopRelation::Citing, "tass-interview"),
            ],
            ..statement("anne-claire-legendre", "The call is planned", "2022-03-26")
        },
    )
    .await;
    let refused = client
        .delete_source_document(DeleteSourceDocumentRequest {
            name: document("tass-interview"),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(error_reason(&refused), "RESOURCE_IN_USE");
    assert!(
        refused.message().contains("statements/cites-in-chain"),
        "{}",
        refused.message()
    );
    assert!(
        client
            .delete_source_document(DeleteSourceDocumentRequest {
                name: document("seed"),
                etag: String::new(),
            })
            .await
            .is_err_and(|s| s.code() == Code::FailedPrecondition)
    );
    client
        .delete_statement(DeleteStatementRequest {
            name: "statements/cites-in-chain".into(),
            etag: String::new(),
        })
        .await
        .unwrap();
    create_call(
        &suite,
        "macron-putin-2022-03-29",
        &["emmanuel-macron", "vladimir-putin"],
        "2022-03-29",
    )
    .await;
    create(
        &mut client,
        "cites-in-readout",
        Statement {
            communication: "communications/macron-putin-2022-03-29".into(),
            readout: Some(Readout {
                issuer: actor("french-foreign-ministry"),
                document: document("tass-interview"),
            }),
            ..statement("emmanuel-macron", "Macron will call Putin", "2022-03-26")
        },
    )
    .await;
    let refused = client
        .delete_source_document(DeleteSourceDocumentRequest {
            name: document("tass-interview"),
            etag: "2".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("statements/cites-in-readout"));
    client
        .delete_statement(DeleteStatementRequest {
            name: "statements/cites-in-readout".into(),
            etag: String::new(),
        })
        .await
        .unwrap();
    let stale_delete = client
        .delete_source_document(DeleteSourceDocumentRequest {
            name: document("tass-interview"),
            etag: "1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(stale_delete.code(), Code::Aborted);
    client
        .delete_source_document(DeleteSourceDocumentRequest {
            name: document("tass-interview"),
            etag: "2".into(),
        })
        .await
        .unwrap();
    let gone = client
        .get_source_document(GetSourceDocumentRequest {
            name: document("tass-interview"),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let again = client
        .delete_source_document(DeleteSourceDocumentRequest {
            name: document("tass-interview"),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
    let malformed = client
        .delete_source_document(DeleteSourceDocumentRequest {
            name: "statements/x".into(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&malformed), ["name"]);
    assert_eq!(count_documents(&mut client).await, 3);
}

async fn a_statement_said_on_an_unknown_date_sorts_first_and_may_fall_in_any_range(
    backend: Backend,
) {
    let (_suite, mut client) = world(backend).await;
    create(
        &mut client,
        "dated",
        statement("olaf-scholz", "Scholz spoke on 12 March", "2022-03-12"),
    )
    .await;
    let undated = create(
        &mut client,
        "undated",
        Statement {
            said: Some(FuzzyDate {
                source: chancery_proto::common::v1::DateSource::Unknown as i32,
                as_reported: "at some point".into(),
                ..Default::default()
            }),
            ..statement("vladimir-putin", "Putin once said so", "")
        },
    )
    .await;
    let said = undated.said.clone().unwrap();
    assert_eq!(
        (said.edtf.as_str(), said.earliest, said.latest),
        ("", None, None)
    );
    assert_eq!(said.as_reported, "at some point");
    assert_eq!(get(&mut client, "statements/undated").await, undated);
    assert_eq!(
        list(&mut client, ListStatementsRequest::default()).await,
        names(&["undated", "dated"])
    );
    assert_eq!(
        list(
            &mut client,
            ListStatementsRequest {
                date_from: date("2023"),
                ..Default::default()
            }
        )
        .await,
        names(&["undated"]),
        "an unknown date may fall in any range"
    );
}

chancery_testkit::backend_tests!(
    create_get_update_delete_with_etags,
    a_retried_create_returns_the_first_result_and_creates_nothing_more,
    batch_gets_answer_in_order_and_name_the_missing,
    paging_60_statements_by_7_has_no_gap_and_no_duplicate,
    tampered_or_foreign_page_tokens_are_invalid_argument,
    filters_return_exactly_the_expected_statements,
    the_attribution_chain_comes_back_in_order_with_positions,
    unknown_actors_documents_and_statements_are_invalid_argument_with_their_paths,
    invalid_statements_name_every_field_and_store_nothing,
    a_statement_answered_by_another_cannot_be_deleted,
    source_documents_list_by_publisher_in_id_order_and_credits_are_no_sources,
    a_write_while_the_communications_service_is_down_is_unavailable_and_stores_nothing,
    each_partys_readout_of_a_call_is_read_on_its_own,
    a_statement_about_an_unknown_communication_is_invalid_argument,
    relayed_speech_placement_and_the_new_references_come_back_exactly,
    relayed_speech_naming_the_actor_relaying_it_is_refused_and_stores_nothing,
    unknown_relayed_speakers_and_references_are_refused_naming_their_paths,
    source_documents_update_with_etags_and_cannot_be_deleted_while_cited,
    a_statement_said_on_an_unknown_date_sorts_first_and_may_fall_in_any_range,
);
