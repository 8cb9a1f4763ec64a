//! The communications service end to end: the real actors, communications and statements
//! servers on 127.0.0.1:0, each with its own SQLite file, driven by tonic clients over TCP.
//! Actor references are checked against the real actors service.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chancery_proto::actors::v1::{
    Actor, ActorKind, CreateActorRequest, DeleteActorRequest,
    actor_service_client::ActorServiceClient,
};
use chancery_proto::common::v1::{DateSource, FuzzyDate, SourceRef};
use chancery_proto::communications::v1::{
    AppendStatusRequest, BatchGetCommunicationsRequest, Communication, CommunicationKind,
    CreateCommunicationRequest, DeleteCommunicationRequest, DurationClaim, GetCommunicationRequest,
    Lifecycle, ListCommunicationsRequest, Modality, Outcome, OutcomeKind, Participant,
    ParticipantRole, StatusAssertion, Topic, UpdateCommunicationRequest, Verification,
    communication_service_client::CommunicationServiceClient,
};
use chancery_runtime::fuzzy_date;
use chancery_testkit::{
    Backend, Options, Service, Suite, error_reason, field_violations, spawn_on, spawn_suite_on,
    spawn_with,
};
use tonic::Code;
use tonic::transport::Channel;

type Client = CommunicationServiceClient<Channel>;

const MACRON: &str = "actors/emmanuel-macron";
const PUTIN: &str = "actors/vladimir-putin";
const SCHOLZ: &str = "actors/olaf-scholz";
const LEGENDRE: &str = "actors/anne-claire-legendre";
const PESKOV: &str = "actors/dmitry-peskov";
const GREECE: &str = "actors/greece";
const TURKEY: &str = "actors/turkey";

/// The suite with the actors of the seed article created, and a communications client.
async fn suite_with_actors(backend: Backend) -> (Suite, Client) {
    let suite = spawn_suite_on(backend).await;
    let mut actors = suite.actors.actors();
    for name in [MACRON, PUTIN, SCHOLZ, LEGENDRE, PESKOV] {
        create_actor(&mut actors, name, ActorKind::Person).await;
    }
    for name in [GREECE, TURKEY] {
        create_actor(&mut actors, name, ActorKind::State).await;
    }
    let client = suite.communications.communications();
    (suite, client)
}

async fn create_actor(client: &mut ActorServiceClient<Channel>, name: &str, kind: ActorKind) {
    let id = name.trim_start_matches("actors/");
    client
        .create_actor(CreateActorRequest {
            actor: Some(Actor {
                kind: kind as i32,
                display_name: id.replace('-', " "),
                ..Default::default()
            }),
            actor_id: id.into(),
            request_id: String::new(),
        })
        .await
        .unwrap_or_else(|status| panic!("create {name}: {status:?}"));
}

fn date(edtf: &str) -> Option<FuzzyDate> {
    Some(FuzzyDate {
        edtf: edtf.into(),
        ..Default::default()
    })
}

fn principal(actor: &str, side: &str) -> Participant {
    Participant {
        actor: actor.into(),
        role: ParticipantRole::Principal as i32,
        initiator: false,
        side: side.into(),
        ..Default::default()
    }
}

/// A phone call between `actors` (each on its own side) that occurred on `occurred`.
fn call(actors: &[&str], occurred: &str) -> Communication {
    Communication {
        kind: CommunicationKind::PhoneCall as i32,
        participants: actors.iter().map(|a| principal(a, "")).collect(),
        occurred: date(occurred),
        ..Default::default()
    }
}

fn claim(
    lifecycle: Lifecycle,
    verification: Verification,
    by: &str,
    as_of: &str,
) -> StatusAssertion {
    StatusAssertion {
        lifecycle: lifecycle as i32,
        verification: verification as i32,
        asserted_by: by.into(),
        source: Some(SourceRef {
            document: "documents/seed-article".into(),
            excerpt: String::new(),
        }),
        as_of: date(as_of),
        ..Default::default()
    }
}

async fn create(client: &mut Client, id: &str, communication: Communication) -> Communication {
    client
        .create_communication(CreateCommunicationRequest {
            communication: Some(communication),
            communication_id: id.into(),
            request_id: String::new(),
        })
        .await
        .unwrap_or_else(|status| panic!("create {id}: {status:?}"))
        .into_inner()
}

async fn get(client: &mut Client, name: &str) -> Result<Communication, tonic::Status> {
    client
        .get_communication(GetCommunicationRequest { name: name.into() })
        .await
        .map(tonic::Response::into_inner)
}

async fn append(
    client: &mut Client,
    name: &str,
    status: StatusAssertion,
) -> Result<Communication, tonic::Status> {
    client
        .append_status(AppendStatusRequest {
            name: name.into(),
            status: Some(status),
            etag: String::new(),
            request_id: String::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Every name a listing returns, following its pages; panics on a page larger than asked.
async fn list_all(client: &mut Client, request: ListCommunicationsRequest) -> Vec<String> {
    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_communications(ListCommunicationsRequest {
                page_token: token,
                ..request.clone()
            })
            .await
            .unwrap_or_else(|status| panic!("list: {status:?}"))
            .into_inner();
        if request.page_size > 0 {
            assert!(page.communications.len() <= request.page_size as usize);
        }
        names.extend(page.communications.into_iter().map(|c| c.name));
        if page.next_page_token.is_empty() {
            return names;
        }
        token = page.next_page_token;
    }
}

async fn count(client: &mut Client) -> usize {
    list_all(
        client,
        ListCommunicationsRequest {
            page_size: 1000,
            ..Default::default()
        },
    )
    .await
    .len()
}

fn pair(participant: &str, counterpart: &str) -> ListCommunicationsRequest {
    ListCommunicationsRequest {
        participant: participant.into(),
        counterpart: counterpart.into(),
        ..Default::default()
    }
}

fn range(from: &str, to: &str) -> ListCommunicationsRequest {
    ListCommunicationsRequest {
        date_from: (!from.is_empty()).then(|| date(from)).flatten(),
        date_to: (!to.is_empty()).then(|| date(to)).flatten(),
        ..Default::default()
    }
}

async fn create_get_update_delete_with_etags(backend: Backend) {
    let (_suite, mut client) = suite_with_actors(backend).await;
    let planned = Communication {
        kind: CommunicationKind::PhoneCall as i32,
        title: "Macron–Putin phone call".into(),
        participants: vec![principal(MACRON, "FRA"), principal(PUTIN, "RUS")],
        planned: date("2022-03-29"),
        topics: vec![Topic {
            id: "mariupol-evacuation".into(),
            label: "Humanitarian evacuation of civilians from Mariupol".into(),
            mentioned_actors: vec![GREECE.into(), TURKEY.into()],
            ..Default::default()
        }],
        // Output-only fields sent by the client are ignored.
        lifecycle: Lifecycle::Held as i32,
        etag: "99".into(),
        ..Default::default()
    };
    let created = create(&mut client, "macron-putin-2022-03-29", planned.clone()).await;
    assert_eq!(created.name, "communications/macron-putin-2022-03-29");
    assert_eq!(created.etag, "1");
    assert_eq!(
        created.lifecycle,
        Lifecycle::Unspecified as i32,
        "computed, never set"
    );
    assert!(created.create_time.is_some() && created.update_time == created.create_time);
    assert_eq!(created.topics, planned.topics);
    let day = created.planned.as_ref().unwrap();
    assert_eq!(day.precision, 5, "derived: day precision");
    assert!(day.earliest.is_some() && day.latest.is_some());
    assert_eq!(get(&mut client, &created.name).await.unwrap(), created);

    let updated = client
        .update_communication(UpdateCommunicationRequest {
            communication: Some(Communication {
                name: created.name.clone(),
                etag: created.etag.clone(),
                occurred: date("2022-03-29"),
                location: "ignored: not in the mask".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["occurred".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.occurred.as_ref().unwrap().edtf, "2022-03-29");
    assert_eq!(
        updated.planned, created.planned,
        "fields outside the mask are kept"
    );
    assert_eq!(updated.location, "");
    assert_eq!(updated.etag, "2");
    assert_eq!(updated.create_time, created.create_time);
    assert_ne!(updated.update_time, created.update_time);

    // Without a mask, every field the patch sets is replaced.
    let titled = client
        .update_communication(UpdateCommunicationRequest {
            communication: Some(Communication {
                name: created.name.clone(),
                title: "Call of 29 March".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(titled.title, "Call of 29 March");
    assert_eq!(titled.participants, updated.participants);
    assert_eq!(titled.etag, "3");

    // A stale etag is refused and changes nothing.
    let stale = client
        .update_communication(UpdateCommunicationRequest {
            communication: Some(Communication {
                name: created.name.clone(),
                etag: "2".into(),
                title: "Lost update".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(error_reason(&stale), "ETAG_MISMATCH");
    assert_eq!(get(&mut client, &created.name).await.unwrap(), titled);

    // The status log is not updatable; output-only fields neither.
    let log = client
        .update_communication(UpdateCommunicationRequest {
            communication: Some(Communication {
                name: created.name.clone(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into(), "status_log".into(), "lifecycle".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(log.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&log),
        ["update_mask.paths[1]", "update_mask.paths[2]"]
    );
    // Removing every date is refused.
    let dateless = client
        .update_communication(UpdateCommunicationRequest {
            communication: Some(Communication {
                name: created.name.clone(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["planned".into(), "occurred".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&dateless), ["communication"]);
    let missing = client
        .update_communication(UpdateCommunicationRequest {
            communication: Some(Communication {
                name: "communications/nothing".into(),
                title: "x".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    let stale_delete = client
        .delete_communication(DeleteCommunicationRequest {
            name: created.name.clone(),
            etag: "1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(stale_delete.code(), Code::Aborted);
    client
        .delete_communication(DeleteCommunicationRequest {
            name: created.name.clone(),
            etag: "3".into(),
        })
        .await
        .unwrap();
    let gone = get(&mut client, &created.name).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    assert!(
        gone.message()
            .contains("communications/macron-putin-2022-03-29")
    );
    let again = client
        .delete_communication(DeleteCommunicationRequest {
            name: created.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
    assert_eq!(count(&mut client).await, 0);

    let taken = create(&mut client, "taken", call(&[MACRON, PUTIN], "2022-03-22")).await;
    let twice = client
        .create_communication(CreateCommunicationRequest {
            communication: Some(call(&[MACRON, SCHOLZ], "2022-03-12")),
            communication_id: "taken".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::AlreadyExists);
    assert_eq!(get(&mut client, &taken.name).await.unwrap(), taken);
}

async fn a_retried_create_or_append_returns_the_first_result(backend: Backend) {
    let (_suite, mut client) = suite_with_actors(backend).await;
    let request = CreateCommunicationRequest {
        communication: Some(call(&[MACRON, PUTIN], "2022-03-22")),
        communication_id: String::new(),
        request_id: "5f0c2d9e-8a1b-4c3d-9e2f-1a2b3c4d5e6f".into(),
    };
    let first = client
        .create_communication(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(
        first.name.starts_with("communications/com-"),
        "a generated id: {}",
        first.name
    );
    let second = client
        .create_communication(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second, first);

    let mut retries = Vec::new();
    for _ in 0..8 {
        let (mut client, request) = (client.clone(), request.clone());
        retries.push(tokio::spawn(async move {
            client
                .create_communication(request)
                .await
                .map(|r| r.into_inner())
        }));
    }
    for retry in retries {
        assert_eq!(retry.await.unwrap().unwrap(), first);
    }
    assert_eq!(count(&mut client).await, 1);

    let reused = client
        .create_communication(CreateCommunicationRequest {
            communication: Some(call(&[MACRON, SCHOLZ], "2022-03-12")),
            ..request
        })
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::FailedPrecondition);
    assert_eq!(error_reason(&reused), "REQUEST_ID_REUSED");
    assert_eq!(count(&mut client).await, 1);

    // An append with a request id appends once, however often it is retried.
    let append_request = AppendStatusRequest {
        name: first.name.clone(),
        status: Some(claim(
            Lifecycle::Held,
            Verification::Unspecified,
            "",
            "2022-03-22",
        )),
        etag: first.etag.clone(),
        request_id: "append-1".into(),
    };
    let appended = client
        .append_status(append_request.clone())
        .await
        .unwrap()
        .into_inner();
    let retried = client
        .append_status(append_request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried, appended);
    let stored = get(&mut client, &first.name).await.unwrap();
    assert_eq!(stored.status_log.len(), 1);
    assert_eq!(stored.etag, "2");
}

async fn batch_get_answers_in_order_and_names_the_missing(backend: Backend) {
    let (_suite, mut client) = suite_with_actors(backend).await;
    for (id, day) in [
        ("c-one", "2022-03-12"),
        ("c-two", "2022-03-22"),
        ("c-three", "2022-03-29"),
    ] {
        create(&mut client, id, call(&[MACRON, PUTIN], day)).await;
    }
    let names = |ids: &[&str]| {
        ids.iter()
            .map(|id| format!("communications/{id}"))
            .collect::<Vec<_>>()
    };
    let all = client
        .batch_get_communications(BatchGetCommunicationsRequest {
            names: names(&["c-three", "c-one", "c-three"]),
            allow_missing: false,
        })
        .await
        .unwrap()
        .into_inner();
    let got: Vec<_> = all.communications.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        got,
        [
            "communications/c-three",
            "communications/c-one",
            "communications/c-three"
        ]
    );
    assert!(all.missing_names.is_empty());

    let missing = client
        .batch_get_communications(BatchGetCommunicationsRequest {
            names: names(&["c-one", "nobody", "c-two", "ghost"]),
            allow_missing: false,
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(field_violations(&missing), ["names[1]", "names[3]"]);
    assert!(missing.message().contains("communications/ghost"));

    let partial = client
        .batch_get_communications(BatchGetCommunicationsRequest {
            names: names(&["c-two", "nobody", "c-one"]),
            allow_missing: true,
        })
        .await
        .unwrap()
        .into_inner();
    let got: Vec<_> = partial
        .communications
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(got, ["communications/c-two", "communications/c-one"]);
    assert_eq!(partial.missing_names, ["communications/nobody"]);

    let malformed = client
        .batch_get_communications(BatchGetCommunicationsRequest {
            names: vec!["communications/c-one".into(), "actors/c-one".into()],
            allow_missing: true,
        })
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&malformed), ["names[1]"]);
}

async fn paging_60_communications_by_7_has_no_gap_and_no_duplicate(backend: Backend) {
    let (_suite, mut client) = suite_with_actors(backend).await;
    let mut expected = Vec::new();
    for i in 0..60 {
        let id = format!("c-{i:02}");
        let month = 1 + i % 4;
        // Many share a date, so the id breaks ties; every tenth is only known to the month,
        // which starts with its first day but ends later, so it sorts after that day.
        let edtf = if i % 10 == 0 {
            format!("2022-{month:02}")
        } else {
            format!("2022-{month:02}-{:02}", 1 + i % 7)
        };
        let mut communication = call(&[MACRON, PUTIN], &edtf);
        if i % 3 == 0 {
            // `occurred` decides the date, not `planned`.
            communication.planned = date("2021-12-31");
        }
        create(&mut client, &id, communication).await;
        let bounds = fuzzy_date::parse(&edtf).unwrap();
        expected.push((
            bounds.earliest,
            bounds.latest,
            format!("communications/{id}"),
        ));
    }
    expected.sort();
    let expected: Vec<String> = expected.into_iter().map(|(_, _, name)| name).collect();

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_communications(ListCommunicationsRequest {
                page_size: 7,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.communications.len() <= 7);
        seen.extend(page.communications.into_iter().map(|c| c.name));
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
        "ordered by date bounds then name, none missing"
    );

    // A filtered listing pages the same way.
    let march = list_all(
        &mut client,
        ListCommunicationsRequest {
            page_size: 4,
            ..range("2022-03", "2022-03")
        },
    )
    .await;
    let expected_march: Vec<_> = expected
        .iter()
        .filter(|name| {
            let i: usize = name
                .trim_start_matches("communications/c-")
                .parse()
                .unwrap();
            i % 4 == 2
        })
        .cloned()
        .collect();
    assert_eq!(march.len(), 15);
    assert_eq!(march, expected_march);
}

async fn tampered_or_foreign_page_tokens_are_invalid_argument(backend: Backend) {
    let (_suite, mut client) = suite_with_actors(backend).await;
    for i in 0..5 {
        create(
            &mut client,
            &format!("c-{i}"),
            call(&[MACRON, PUTIN], "2022-03-22"),
        )
        .await;
    }
    let first = client
        .list_communications(ListCommunicationsRequest {
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
            .list_communications(ListCommunicationsRequest {
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
        .list_communications(ListCommunicationsRequest {
            page_size: 2,
            page_token: token,
            participant: MACRON.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::InvalidArgument);
    assert!(foreign.message().contains("different query"));
}

async fn the_pair_query_returns_exactly_the_communications_between_the_two(backend: Backend) {
    let (_suite, mut client) = suite_with_actors(backend).await;
    create(
        &mut client,
        "macron-scholz-putin",
        call(&[MACRON, SCHOLZ, PUTIN], "2022-03-12"),
    )
    .await;
    create(
        &mut client,
        "macron-putin-22",
        call(&[MACRON, PUTIN], "2022-03-22"),
    )
    .await;
    create(
        &mut client,
        "macron-putin-29",
        Communication {
            planned: date("2022-03-29"),
            occurred: None,
            topics: vec![Topic {
                id: "mariupol-evacuation".into(),
                label: "Evacuation of Mariupol".into(),
                mentioned_actors: vec![GREECE.into(), TURKEY.into()],
                ..Default::default()
            }],
            ..call(&[MACRON, PUTIN], "")
        },
    )
    .await;
    create(
        &mut client,
        "macron-scholz",
        call(&[MACRON, SCHOLZ], "2022-03-15"),
    )
    .await;
    create(
        &mut client,
        "scholz-meets-greece",
        Communication {
            kind: CommunicationKind::Meeting as i32,
            topics: vec![Topic {
                id: "energy".into(),
                label: "Energy".into(),
                // Putin is only mentioned here: no participant filter matches him.
                mentioned_actors: vec![PUTIN.into()],
                ..Default::default()
            }],
            ..call(&[SCHOLZ, GREECE], "2022-03-20")
        },
    )
    .await;

    let names = |ids: &[&str]| {
        ids.iter()
            .map(|id| format!("communications/{id}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        list_all(&mut client, pair(MACRON, PUTIN)).await,
        names(&["macron-scholz-putin", "macron-putin-22", "macron-putin-29"])
    );
    assert_eq!(
        list_all(&mut client, pair(PUTIN, MACRON)).await,
        names(&["macron-scholz-putin", "macron-putin-22", "macron-putin-29"]),
        "the pair is unordered"
    );
    assert_eq!(
        list_all(&mut client, pair(SCHOLZ, PUTIN)).await,
        names(&["macron-scholz-putin"])
    );
    assert!(list_all(&mut client, pair(GREECE, PUTIN)).await.is_empty());
    assert_eq!(
        list_all(&mut client, pair(PUTIN, "")).await,
        names(&["macron-scholz-putin", "macron-putin-22", "macron-putin-29"]),
        "mentioned actors do not take part"
    );
    assert_eq!(
        list_all(
            &mut client,
            ListCommunicationsRequest {
                topic: "mariupol-evacuation".into(),
                ..Default::default()
            }
        )
        .await,
        names(&["macron-putin-29"])
    );
    assert_eq!(
        list_all(
            &mut client,
            ListCommunicationsRequest {
                kind: CommunicationKind::Meeting as i32,
                ..pair(SCHOLZ, "")
            }
        )
        .await,
        names(&["scholz-meets-greece"])
    );

    let alone = client
        .list_communications(pair("", PUTIN))
        .await
        .unwrap_err();
    assert_eq!(alone.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&alone), ["counterpart"]);
    let malformed = client
        .list_communications(ListCommunicationsRequest {
            topic: "Not A Slug".into(),
            kind: 42,
            ..pair("putin", "")
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&malformed),
        ["participant", "kind", "topic"]
    );
}

async fn a_date_range_overlaps_a_month_precision_date(backend: Backend) {
    let (_suite, mut client) = suite_with_actors(backend).await;
    create(
        &mut client,
        "sometime-in-march",
        Communication {
            planned: date("2022-03"),
            occurred: None,
            ..call(&[MACRON, PUTIN], "")
        },
    )
    .await;
    create(
        &mut client,
        "on-march-12",
        call(&[MACRON, SCHOLZ, PUTIN], "2022-03-12"),
    )
    .await;
    create(
        &mut client,
        "on-april-2",
        call(&[MACRON, PUTIN], "2022-04-02"),
    )
    .await;

    let found = |names: Vec<String>| {
        names
            .into_iter()
            .map(|n| n.trim_start_matches("communications/").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        found(list_all(&mut client, range("2022-03-20", "2022-03-25")).await),
        ["sometime-in-march"],
        "a month may fall on any of its days"
    );
    assert_eq!(
        found(list_all(&mut client, range("2022-04", "2022-04")).await),
        ["on-april-2"]
    );
    assert_eq!(
        found(list_all(&mut client, range("2022-03", "2022-03")).await),
        ["sometime-in-march", "on-march-12"]
    );
    assert_eq!(
        found(list_all(&mut client, range("2022-03-31T23:59Z", "")).await),
        ["sometime-in-march", "on-april-2"],
        "from the last minute of March on"
    );
    assert_eq!(
        found(list_all(&mut client, range("", "2022-03-01")).await),
        ["sometime-in-march"]
    );
    assert!(
        list_all(&mut client, range("2022-05-01", ""))
            .await
            .is_empty()
    );

    let backwards = client
        .list_communications(range("2022-04", "2022-03"))
        .await
        .unwrap_err();
    assert_eq!(backwards.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&backwards), ["date_to"]);
    let unreadable = client
        .list_communications(range("March 2022", ""))
        .await
        .unwrap_err();
    assert_eq!(field_violations(&unreadable), ["date_from.edtf"]);
}

async fn the_status_log_computes_lifecycle_and_verification(backend: Backend) {
    let (_suite, mut client) = suite_with_actors(backend).await;
    // The seed article's call of 29 March: expected, confirmed by the French side.
    let expected = create(
        &mut client,
        "macron-putin-2022-03-29",
        Communication {
            kind: CommunicationKind::PhoneCall as i32,
            participants: vec![principal(MACRON, "FRA"), principal(PUTIN, "RUS")],
            planned: date("2022-03-29"),
            status_log: vec![StatusAssertion {
                side: "FRA".into(),
                ..claim(
                    Lifecycle::Expected,
                    Verification::ConfirmedByOneParty,
                    LEGENDRE,
                    "2022-03-26",
                )
            }],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(expected.lifecycle, Lifecycle::Expected as i32);
    assert_eq!(
        expected.verification,
        Verification::ConfirmedByOneParty as i32
    );
    assert!(expected.status_log[0].create_time.is_some());

    let held = client
        .append_status(AppendStatusRequest {
            name: expected.name.clone(),
            status: Some(claim(
                Lifecycle::Held,
                Verification::ConfirmedByOneParty,
                PUTIN,
                "2022-03-29T18:00Z",
            )),
            etag: expected.etag.clone(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        held.lifecycle,
        Lifecycle::Held as i32,
        "expected then held computes held"
    );
    assert_eq!(
        held.verification,
        Verification::ConfirmedByAllParties as i32,
        "France and Russia both confirmed"
    );
    assert_eq!(held.status_log.len(), 2);
    assert_eq!(
        held.status_log[0], expected.status_log[0],
        "entries never change"
    );
    assert_eq!(held.etag, "2");
    assert_eq!(get(&mut client, &held.name).await.unwrap(), held);

    // A stale etag appends nothing.
    let stale = client
        .append_status(AppendStatusRequest {
            name: expected.name.clone(),
            status: Some(claim(
                Lifecycle::Cancelled,
                Verification::Unspecified,
                "",
                "2022-03-30",
            )),
            etag: expected.etag.clone(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(
        get(&mut client, &held.name).await.unwrap().status_log.len(),
        2
    );

    // Reported, then denied by a party: disputed.
    let reported = create(
        &mut client,
        "rumoured-call",
        Communication {
            planned: date("2022-04"),
            occurred: None,
            status_log: vec![claim(
                Lifecycle::Expected,
                Verification::ReportedUnconfirmed,
                "",
                "2022-03-30",
            )],
            ..call(&[MACRON, PUTIN], "")
        },
    )
    .await;
    assert_eq!(
        reported.verification,
        Verification::ReportedUnconfirmed as i32
    );
    let denied = append(
        &mut client,
        &reported.name,
        claim(
            Lifecycle::Unspecified,
            Verification::DeniedByParty,
            PESKOV,
            "2022-03-31",
        ),
    )
    .await
    .unwrap();
    assert_eq!(denied.verification, Verification::Disputed as i32);
    assert_eq!(
        denied.lifecycle,
        Lifecycle::Expected as i32,
        "a denial sets no lifecycle"
    );

    // The log is read by the date of each claim, not by when it was appended.
    let earlier = append(
        &mut client,
        &reported.name,
        claim(
            Lifecycle::Proposed,
            Verification::Unspecified,
            "",
            "2022-03-01",
        ),
    )
    .await
    .unwrap();
    assert_eq!(earlier.lifecycle, Lifecycle::Expected as i32);
    assert_eq!(
        earlier.status_log.last().unwrap().lifecycle,
        Lifecycle::Proposed as i32
    );

    // The computed values are filters.
    let by_lifecycle = list_all(
        &mut client,
        ListCommunicationsRequest {
            lifecycle: Lifecycle::Held as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(by_lifecycle, [held.name.as_str()]);
    let disputed = list_all(
        &mut client,
        ListCommunicationsRequest {
            verification: Verification::Disputed as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(disputed, [reported.name.as_str()]);

    // DISPUTED is computed, never asserted; an assertion needs evidence and a date.
    let asserted = append(
        &mut client,
        &reported.name,
        StatusAssertion {
            verification: Verification::Disputed as i32,
            source: None,
            as_of: None,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(asserted.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&asserted),
        ["status.verification", "status", "status.as_of"]
    );
    let nowhere = append(
        &mut client,
        "communications/nothing",
        claim(Lifecycle::Held, Verification::Unspecified, "", "2022-03-29"),
    )
    .await
    .unwrap_err();
    assert_eq!(nowhere.code(), Code::NotFound);
}

async fn an_unknown_actor_is_invalid_argument_with_its_field_path(backend: Backend) {
    let (suite, mut client) = suite_with_actors(backend).await;
    let status = client
        .create_communication(CreateCommunicationRequest {
            communication: Some(Communication {
                participants: vec![principal(MACRON, "FRA"), principal("actors/nobody", "")],
                topics: vec![Topic {
                    id: "mariupol-evacuation".into(),
                    label: "Evacuation of Mariupol".into(),
                    mentioned_actors: vec![GREECE.into(), "actors/atlantis".into()],
                    ..Default::default()
                }],
                status_log: vec![claim(
                    Lifecycle::Expected,
                    Verification::Unspecified,
                    "actors/nobody",
                    "2022-03-26",
                )],
                ..call(&[], "2022-03-29")
            }),
            communication_id: "with-ghosts".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&status),
        [
            "communication.participants[1].actor",
            "communication.topics[0].mentioned_actors[1]",
            "communication.status_log[0].asserted_by",
        ]
    );
    assert!(status.message().contains("actors/nobody does not exist"));
    assert!(status.message().contains("actors/atlantis does not exist"));
    assert_eq!(count(&mut client).await, 0, "nothing stored");

    // An actor deleted from the actors service can no longer be named.
    let created = create(&mut client, "call", call(&[MACRON, PUTIN], "2022-03-22")).await;
    suite
        .actors
        .actors()
        .delete_actor(DeleteActorRequest {
            name: SCHOLZ.into(),
            etag: String::new(),
            force: false,
        })
        .await
        .unwrap();
    let update = client
        .update_communication(UpdateCommunicationRequest {
            communication: Some(Communication {
                name: created.name.clone(),
                participants: vec![
                    principal(MACRON, ""),
                    principal(PUTIN, ""),
                    principal(SCHOLZ, ""),
                ],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["participants".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(update.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&update),
        ["communication.participants[2].actor"]
    );
    let appended = append(
        &mut client,
        &created.name,
        claim(
            Lifecycle::Held,
            Verification::Unspecified,
            SCHOLZ,
            "2022-03-22",
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(field_violations(&appended), ["status.asserted_by"]);
    assert_eq!(
        get(&mut client, &created.name).await.unwrap(),
        created,
        "unchanged"
    );

    // Syntax and rules are checked before any call, every problem at once.
    let invalid = client
        .create_communication(CreateCommunicationRequest {
            communication: Some(Communication {
                kind: 0,
                participants: vec![principal(MACRON, "EUR"), principal(MACRON, "")],
                ..call(&[], "2022-02-30")
            }),
            communication_id: "Bad Id".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&invalid),
        [
            "communication_id",
            "communication.kind",
            "communication.participants[0].side",
            "communication.participants[1].actor",
            "communication.occurred.edtf",
        ]
    );
    assert_eq!(count(&mut client).await, 1);
}

async fn a_write_while_the_actors_service_is_stopped_is_unavailable_and_stores_nothing(
    backend: Backend,
) {
    let (suite, mut client) = suite_with_actors(backend).await;
    let Suite {
        actors,
        communications: _communications,
        statements: _statements,
        gateway: _gateway,
    } = suite;
    let kept = create(&mut client, "before", call(&[MACRON, PUTIN], "2022-03-22")).await;
    actors.stop().await.unwrap();

    let status = client
        .create_communication(CreateCommunicationRequest {
            communication: Some(call(&[MACRON, PUTIN], "2022-03-29")),
            communication_id: "during".into(),
            request_id: "during-the-outage".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(error_reason(&status), "DEPENDENCY_UNAVAILABLE");
    assert!(status.message().contains("actors service"));
    let appended = append(
        &mut client,
        &kept.name,
        claim(
            Lifecycle::Held,
            Verification::Unspecified,
            PUTIN,
            "2022-03-22",
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(appended.code(), Code::Unavailable);
    assert_eq!(
        list_all(&mut client, ListCommunicationsRequest::default()).await,
        [kept.name.as_str()],
        "nothing stored"
    );
    assert_eq!(get(&mut client, &kept.name).await.unwrap(), kept);

    // Reads and writes that name no actor do not need the actors service.
    let appended = append(
        &mut client,
        &kept.name,
        claim(Lifecycle::Held, Verification::Unspecified, "", "2022-03-22"),
    )
    .await
    .unwrap();
    assert_eq!(appended.lifecycle, Lifecycle::Held as i32);
}

#[tokio::test]
async fn a_write_with_no_actors_service_at_all_is_unavailable() {
    let server = spawn_with(
        Service::Communications,
        Options {
            actors: None,
            ..Options::default()
        },
    )
    .await;
    let mut client = server.communications();
    let status = client
        .create_communication(CreateCommunicationRequest {
            communication: Some(call(&[MACRON, PUTIN], "2022-03-29")),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(count(&mut client).await, 0);
}

#[tokio::test]
async fn an_actors_service_too_slow_to_answer_is_unavailable() {
    // Accepts connections and never answers: the reference check must give up on its own.
    let black_hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = black_hole.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = black_hole.accept().await {
            held.push(socket);
        }
    });
    let server = spawn_with(
        Service::Communications,
        Options {
            actors: Some(addr),
            ..Options::default()
        },
    )
    .await;
    let mut client = server.communications();
    let started = Instant::now();
    let status = client
        .create_communication(CreateCommunicationRequest {
            communication: Some(call(&[MACRON, PUTIN], "2022-03-29")),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(error_reason(&status), "DEPENDENCY_UNAVAILABLE");
    assert!(
        waited < Duration::from_secs(10),
        "gave up after the call timeout, not never: {waited:?}"
    );
    assert_eq!(count(&mut client).await, 0);
    holder.abort();
}

async fn delete_is_refused_while_a_later_call_names_it_in_its_series(backend: Backend) {
    let (_suite, mut client) = suite_with_actors(backend).await;
    let first = create(&mut client, "call-22", call(&[MACRON, PUTIN], "2022-03-22")).await;
    let second = create(
        &mut client,
        "call-29",
        Communication {
            previous_in_series: first.name.clone(),
            ..call(&[MACRON, PUTIN], "2022-03-29")
        },
    )
    .await;
    assert_eq!(second.previous_in_series, first.name);

    let refused = client
        .delete_communication(DeleteCommunicationRequest {
            name: first.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(error_reason(&refused), "RESOURCE_IN_USE");
    assert!(refused.message().contains("communications/call-29"));
    assert_eq!(get(&mut client, &first.name).await.unwrap(), first);

    // A series never loops back, and never starts from nothing or from itself.
    let series = |previous: &str| UpdateCommunicationRequest {
        communication: Some(Communication {
            name: first.name.clone(),
            previous_in_series: previous.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["previous_in_series".into()],
        }),
    };
    for previous in [
        second.name.as_str(),
        "communications/nothing",
        first.name.as_str(),
    ] {
        let status = client
            .update_communication(series(previous))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{previous}");
        assert_eq!(
            field_violations(&status),
            ["communication.previous_in_series"],
            "{previous}"
        );
    }
    let dangling = client
        .create_communication(CreateCommunicationRequest {
            communication: Some(Communication {
                previous_in_series: "communications/nothing".into(),
                ..call(&[MACRON, PUTIN], "2022-04-05")
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&dangling),
        ["communication.previous_in_series"]
    );

    client
        .delete_communication(DeleteCommunicationRequest {
            name: second.name.clone(),
            etag: second.etag.clone(),
        })
        .await
        .unwrap();
    client
        .delete_communication(DeleteCommunicationRequest {
            name: first.name.clone(),
            etag: first.etag.clone(),
        })
        .await
        .unwrap();
    assert_eq!(count(&mut client).await, 0);
}

async fn the_service_runs_alone_and_answers_reads_without_the_actors_service(backend: Backend) {
    let server = spawn_on(Service::Communications, backend).await;
    let mut client = server.communications();
    assert_eq!(count(&mut client).await, 0);
    let missing = get(&mut client, "communications/anything")
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let malformed = get(&mut client, "communications/Not Valid")
        .await
        .unwrap_err();
    assert_eq!(field_violations(&malformed), ["name"]);
}

fn source(document: &str, excerpt: &str) -> Option<SourceRef> {
    Some(SourceRef {
        document: document.into(),
        excerpt: excerpt.into(),
    })
}

/// A date the source does not give.
fn unknown_date() -> Option<FuzzyDate> {
    Some(FuzzyDate {
        source: DateSource::Unknown as i32,
        ..Default::default()
    })
}

/// Talks between Macron and Putin at Macron's initiative (as the Élysée's spokesperson claims),
/// about the summit `summit`, with two conflicting duration claims and two outcomes.
fn talks_about(summit: &str) -> Communication {
    Communication {
        kind: CommunicationKind::Talks as i32,
        participants: vec![
            Participant {
                initiator: true,
                initiative_asserted_by: LEGENDRE.into(),
                initiative_source: source("documents/elysee-readout", "at France's request"),
                ..principal(MACRON, "FRA")
            },
            principal(PUTIN, "RUS"),
        ],
        topics: vec![Topic {
            id: "summit-preparation".into(),
            label: "Preparing the summit".into(),
            communication: summit.into(),
            ..Default::default()
        }],
        durations: vec![
            DurationClaim {
                seconds: 3600,
                approximate: true,
                as_reported: "about an hour".into(),
                asserted_by: PESKOV.into(),
                source: source("documents/kremlin-readout", "lasted about an hour"),
            },
            DurationClaim {
                seconds: 7200,
                approximate: false,
                as_reported: "more than two hours".into(),
                asserted_by: String::new(),
                source: source("documents/seed-article", ""),
            },
        ],
        outcomes: vec![
            Outcome {
                text: "agreed to continue contacts".into(),
                kind: OutcomeKind::FollowUp as i32,
                parties: vec![MACRON.into(), PUTIN.into()],
                asserted_by: LEGENDRE.into(),
                source: source("documents/elysee-readout", ""),
            },
            Outcome {
                text: "no agreement on a ceasefire".into(),
                kind: OutcomeKind::Disagreement as i32,
                parties: Vec::new(),
                asserted_by: String::new(),
                source: None,
            },
        ],
        ..call(&[], "2022-03-29")
    }
}

async fn durations_outcomes_initiatives_and_topic_communications_read_back_exactly(
    backend: Backend,
) {
    let (_suite, mut client) = suite_with_actors(backend).await;
    let summit = create(
        &mut client,
        "summit",
        Communication {
            kind: CommunicationKind::Summit as i32,
            ..call(&[MACRON, PUTIN, SCHOLZ], "2022-06")
        },
    )
    .await;
    let sent = talks_about(&summit.name);
    let created = create(&mut client, "talks", sent.clone()).await;
    assert_eq!(created.kind, CommunicationKind::Talks as i32);
    assert_eq!(created.participants, sent.participants);
    assert_eq!(created.topics, sent.topics);
    assert_eq!(created.durations, sent.durations);
    assert_eq!(created.outcomes, sent.outcomes);
    assert_eq!(get(&mut client, &created.name).await.unwrap(), created);

    // The mask replaces durations and outcomes, and checks the actors they name.
    let mask = |paths: &[&str]| {
        Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        })
    };
    let replaced = client
        .update_communication(UpdateCommunicationRequest {
            communication: Some(Communication {
                name: created.name.clone(),
                etag: created.etag.clone(),
                durations: vec![sent.durations[1].clone()],
                outcomes: Vec::new(),
                ..Default::default()
            }),
            update_mask: mask(&["durations", "outcomes"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replaced.durations, [sent.durations[1].clone()]);
    assert!(replaced.outcomes.is_empty());
    assert_eq!(replaced.participants, sent.participants, "untouched");
    assert_eq!(replaced.etag, "2");
    let ghosts = client
        .update_communication(UpdateCommunicationRequest {
            communication: Some(Communication {
                name: created.name.clone(),
                durations: vec![DurationClaim {
                    asserted_by: "actors/nobody".into(),
                    ..sent.durations[0].clone()
                }],
                outcomes: vec![Outcome {
                    parties: vec![MACRON.into(), "actors/atlantis".into()],
                    ..sent.outcomes[0].clone()
                }],
                ..Default::default()
            }),
            update_mask: mask(&["durations", "outcomes"]),
        })
        .await
        .unwrap_err();
    assert_eq!(ghosts.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&ghosts),
        [
            "communication.durations[0].asserted_by",
            "communication.outcomes[0].parties[1]",
        ]
    );
    assert_eq!(get(&mut client, &created.name).await.unwrap(), replaced);

    // An unknown planned date is a date; the communication still needs one of the two.
    let undated = create(
        &mut client,
        "undated",
        Communication {
            planned: unknown_date(),
            occurred: None,
            ..call(&[MACRON, PUTIN], "2022-03-29")
        },
    )
    .await;
    let planned = undated.planned.clone().unwrap();
    assert_eq!(planned.edtf, "");
    assert!(planned.earliest.is_none() && planned.latest.is_none());
    assert_eq!(get(&mut client, &undated.name).await.unwrap(), undated);
}

async fn a_negative_duration_or_an_unknown_outcome_party_is_refused_and_stores_nothing(
    backend: Backend,
) {
    let (_suite, mut client) = suite_with_actors(backend).await;
    let mut negative = talks_about("");
    negative.durations[1].seconds = -60;
    let status = client
        .create_communication(CreateCommunicationRequest {
            communication: Some(negative),
            communication_id: "negative".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&status),
        ["communication.durations[1].seconds"]
    );
    assert_eq!(count(&mut client).await, 0, "nothing stored");

    let mut ghost_party = talks_about("");
    ghost_party.outcomes[0].parties = vec!["actors/atlantis".into(), PUTIN.into()];
    let status = client
        .create_communication(CreateCommunicationRequest {
            communication: Some(ghost_party),
            communication_id: "ghost-party".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&status),
        ["communication.outcomes[0].parties[0]"]
    );
    assert!(status.message().contains("actors/atlantis does not exist"));

    // Every new actor reference is checked, each under its own path, in one answer.
    let mut ghosts = talks_about("");
    ghosts.participants[0].initiative_asserted_by = "actors/nobody".into();
    ghosts.durations[0].asserted_by = "actors/nobody".into();
    ghosts.outcomes[1].asserted_by = "actors/nobody".into();
    let status = client
        .create_communication(CreateCommunicationRequest {
            communication: Some(ghosts),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&status),
        [
            "communication.participants[0].initiative_asserted_by",
            "communication.durations[0].asserted_by",
            "communication.outcomes[1].asserted_by",
        ]
    );

    // Rules of the new fields, all at once and before any call.
    let mut wrong = talks_about("");
    wrong.participants[1].initiative_asserted_by = PESKOV.into();
    wrong.durations[0].seconds = 0;
    wrong.durations[0].as_reported = String::new();
    wrong.outcomes[0].text = String::new();
    let status = client
        .create_communication(CreateCommunicationRequest {
            communication: Some(wrong),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&status),
        [
            "communication.participants[1].initiative_asserted_by",
            "communication.durations[0].seconds",
            "communication.outcomes[0].text",
        ]
    );
    assert_eq!(count(&mut client).await, 0, "nothing stored");
}

async fn append_status_with_a_logged_id_appends_once_and_refuses_another_body(backend: Backend) {
    let (_suite, mut client) = suite_with_actors(backend).await;
    let expected = StatusAssertion {
        id: "expected".into(),
        modality: Modality::Expected as i32,
        ..claim(
            Lifecycle::Expected,
            Verification::ReportedUnconfirmed,
            "",
            "2022-03-26",
        )
    };
    let created = create(
        &mut client,
        "call",
        Communication {
            status_log: vec![expected.clone()],
            ..call(&[MACRON, PUTIN], "2022-03-29")
        },
    )
    .await;
    assert_eq!(created.status_log.len(), 1);

    // The logged entry again: nothing appended, the same communication, the same etag.
    let again = append(&mut client, &created.name, expected.clone())
        .await
        .unwrap();
    assert_eq!(again, created);
    // As read back, with its output-only fields, it is still the same entry.
    let as_read = append(&mut client, &created.name, created.status_log[0].clone())
        .await
        .unwrap();
    assert_eq!(as_read, created);

    let held = StatusAssertion {
        id: "held".into(),
        reason: "both sides published readouts".into(),
        ..claim(
            Lifecycle::Held,
            Verification::ConfirmedByOneParty,
            LEGENDRE,
            "2022-03-29T19:00Z",
        )
    };
    let appended = append(&mut client, &created.name, held.clone())
        .await
        .unwrap();
    assert_eq!(appended.status_log.len(), 2);
    assert_eq!(appended.etag, "2");
    assert_eq!(appended.lifecycle, Lifecycle::Held as i32);
    let twice = append(&mut client, &created.name, held.clone())
        .await
        .unwrap();
    assert_eq!(twice, appended, "appended once");
    // Same with a conditional append on the current etag and a request id.
    let conditional = client
        .append_status(AppendStatusRequest {
            name: created.name.clone(),
            status: Some(held.clone()),
            etag: appended.etag.clone(),
            request_id: "append-held-again".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(conditional, appended);

    // The same id with something else: ALREADY_EXISTS naming the id, nothing appended.
    let changed = append(
        &mut client,
        &created.name,
        StatusAssertion {
            note: "a different note".into(),
            ..held.clone()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(changed.code(), Code::AlreadyExists, "{changed:?}");
    assert!(changed.message().contains("\"held\""), "{changed:?}");
    let recast = append(
        &mut client,
        &created.name,
        StatusAssertion {
            lifecycle: Lifecycle::Cancelled as i32,
            ..expected.clone()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(recast.code(), Code::AlreadyExists);
    assert!(recast.message().contains("\"expected\""));
    let stored = get(&mut client, &created.name).await.unwrap();
    assert_eq!(stored, appended, "log length and etag unchanged");

    // Entries without an id are appended every time.
    let plain = claim(Lifecycle::Held, Verification::Unspecified, "", "2022-03-30");
    append(&mut client, &created.name, plain.clone())
        .await
        .unwrap();
    let plain_twice = append(&mut client, &created.name, plain).await.unwrap();
    assert_eq!(plain_twice.status_log.len(), 4);

    // Within one request, ids are unique.
    let duplicated = client
        .create_communication(CreateCommunicationRequest {
            communication: Some(Communication {
                status_log: vec![expected.clone(), held.clone(), expected],
                ..call(&[MACRON, PUTIN], "2022-03-29")
            }),
            communication_id: "duplicated".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(duplicated.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&duplicated),
        ["communication.status_log[2].id"]
    );
    assert_eq!(count(&mut client).await, 1);
}

async fn a_topic_naming_its_own_communication_or_a_missing_one_is_refused(backend: Backend) {
    let (_suite, mut client) = suite_with_actors(backend).await;
    let refused = |id: &str, communication: &str| CreateCommunicationRequest {
        communication: Some(talks_about(communication)),
        communication_id: id.into(),
        request_id: String::new(),
    };
    for (id, named) in [
        ("talks", "communications/talks"),
        ("talks", "communications/never-held"),
        ("talks", "summits/g20"),
    ] {
        let status = client
            .create_communication(refused(id, named))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{named}");
        assert_eq!(
            field_violations(&status),
            ["communication.topics[0].communication"],
            "{named}"
        );
    }
    let missing = client
        .create_communication(refused("talks", "communications/never-held"))
        .await
        .unwrap_err();
    assert!(
        missing
            .message()
            .contains("communications/never-held does not exist")
    );
    assert_eq!(count(&mut client).await, 0, "nothing stored");

    // Without a topic communication, then pointing it at itself, a missing one, a real one.
    let created = create(&mut client, "talks", talks_about("")).await;
    let summit = create(&mut client, "summit", call(&[MACRON, PUTIN], "2022-06")).await;
    let topics = |communication: &str| UpdateCommunicationRequest {
        communication: Some(Communication {
            name: created.name.clone(),
            topics: talks_about(communication).topics,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["topics".into()],
        }),
    };
    for named in ["communications/talks", "communications/never-held"] {
        let status = client
            .update_communication(topics(named))
            .await
            .unwrap_err();
        assert_eq!(
            field_violations(&status),
            ["communication.topics[0].communication"],
            "{named}"
        );
    }
    assert_eq!(get(&mut client, &created.name).await.unwrap(), created);
    let pointed = client
        .update_communication(topics(&summit.name))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pointed.topics[0].communication, summit.name);
    assert_eq!(get(&mut client, &created.name).await.unwrap(), pointed);
}

async fn an_undated_status_entry_is_taken_after_the_dated_ones(backend: Backend) {
    let (_suite, mut client) = suite_with_actors(backend).await;
    let created = create(&mut client, "talks", talks_about("")).await;
    let dated = append(
        &mut client,
        &created.name,
        claim(
            Lifecycle::InProgress,
            Verification::ReportedUnconfirmed,
            "",
            "2022-03-29T10:00Z",
        ),
    )
    .await
    .unwrap();
    assert_eq!(dated.lifecycle, Lifecycle::InProgress as i32);

    // Undated: "the talks were postponed", no date given.
    let postponed = StatusAssertion {
        as_of: unknown_date(),
        reason: "because of the situation on the ground".into(),
        ..claim(Lifecycle::Postponed, Verification::Unspecified, PESKOV, "")
    };
    let undated = append(&mut client, &created.name, postponed).await.unwrap();
    let as_of = undated.status_log[1].as_of.clone().unwrap();
    assert_eq!(as_of.source, DateSource::Unknown as i32);
    assert!(as_of.earliest.is_none() && as_of.latest.is_none());
    assert_eq!(undated.lifecycle, Lifecycle::Postponed as i32);

    // A dated entry appended later, dated after the first, still comes before the undated one.
    let later = append(
        &mut client,
        &created.name,
        claim(Lifecycle::Held, Verification::Unspecified, "", "2022-03-30"),
    )
    .await
    .unwrap();
    assert_eq!(later.status_log.len(), 3);
    assert_eq!(later.lifecycle, Lifecycle::Postponed as i32);
    // Another undated entry comes after the first, in append order.
    let resumed = append(
        &mut client,
        &created.name,
        StatusAssertion {
            as_of: unknown_date(),
            ..claim(Lifecycle::InProgress, Verification::Unspecified, "", "")
        },
    )
    .await
    .unwrap();
    assert_eq!(resumed.lifecycle, Lifecycle::InProgress as i32);
    assert_eq!(get(&mut client, &created.name).await.unwrap(), resumed);
    assert_eq!(
        list_all(
            &mut client,
            ListCommunicationsRequest {
                lifecycle: Lifecycle::InProgress as i32,
                ..Default::default()
            }
        )
        .await,
        [created.name.as_str()]
    );
}

chancery_testkit::backend_tests!(
    durations_outcomes_initiatives_and_topic_communications_read_back_exactly,
    a_negative_duration_or_an_unknown_outcome_party_is_refused_and_stores_nothing,
    append_status_with_a_logged_id_appends_once_and_refuses_another_body,
    a_topic_naming_its_own_communication_or_a_missing_one_is_refused,
    an_undated_status_entry_is_taken_after_the_dated_ones,
    create_get_update_delete_with_etags,
    a_retried_create_or_append_returns_the_first_result,
    batch_get_answers_in_order_and_names_the_missing,
    paging_60_communications_by_7_has_no_gap_and_no_duplicate,
    tampered_or_foreign_page_tokens_are_invalid_argument,
    the_pair_query_returns_exactly_the_communications_between_the_two,
    a_date_range_overlaps_a_month_precision_date,
    the_status_log_computes_lifecycle_and_verification,
    an_unknown_actor_is_invalid_argument_with_its_field_path,
    a_write_while_the_actors_service_is_stopped_is_unavailable_and_stores_nothing,
    delete_is_refused_while_a_later_call_names_it_in_its_series,
    the_service_runs_alone_and_answers_reads_without_the_actors_service,
);
