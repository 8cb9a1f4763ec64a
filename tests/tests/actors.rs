//! The actors service end to end: a real server on 127.0.0.1:0, a real SQLite file, a tonic
//! client over TCP.

use std::collections::HashSet;
use std::time::Duration;

use chancery_proto::actors::v1::{
    Actor, ActorKind, ActorName, AnonymousProfile, BatchGetActorsRequest, CreateActorRequest,
    CreatePostRequest, CreateTenureRequest, DeleteActorRequest, GetActorRequest, GetTenureRequest,
    ListActorsRequest, ListPostsRequest, ListTenuresRequest, MediaProfile, MediaType, NameKind,
    OfficeQuery, Post, PostClass, ResolveOfficesRequest, Tenure, TenureQualifier,
    UpdateActorRequest, actor_service_client::ActorServiceClient,
};
use chancery_proto::common::v1::{DatePrecision, ExternalId, ExternalIdScheme, FuzzyDate};
use chancery_testkit::{
    Backend, Options, Service, error_reason, field_violations, spawn_on, spawn_with,
};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;

type Client = ActorServiceClient<Channel>;

fn person(name: &str) -> Actor {
    Actor {
        kind: ActorKind::Person as i32,
        display_name: name.into(),
        ..Default::default()
    }
}

fn date(edtf: &str) -> Option<FuzzyDate> {
    Some(FuzzyDate {
        edtf: edtf.into(),
        ..Default::default()
    })
}

async fn create(client: &mut Client, id: &str, actor: Actor) -> Actor {
    client
        .create_actor(CreateActorRequest {
            actor: Some(actor),
            actor_id: id.into(),
            request_id: String::new(),
        })
        .await
        .unwrap_or_else(|status| panic!("create {id}: {status:?}"))
        .into_inner()
}

async fn count_actors(client: &mut Client) -> usize {
    let mut total = 0;
    let mut token = String::new();
    loop {
        let page = client
            .list_actors(ListActorsRequest {
                page_size: 1000,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        total += page.actors.len();
        if page.next_page_token.is_empty() {
            return total;
        }
        token = page.next_page_token;
    }
}

async fn create_get_update_delete(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();

    let macron = Actor {
        names: vec![ActorName {
            text: "Эмманюэль Макрон".into(),
            language_code: "ru".into(),
            kind: NameKind::Transliteration as i32,
        }],
        external_ids: vec![ExternalId {
            scheme: ExternalIdScheme::Wikidata as i32,
            value: "Q3052772".into(),
        }],
        country: "FRA".into(),
        ..person("Emmanuel Macron")
    };
    let created = create(&mut client, "emmanuel-macron", macron.clone()).await;
    assert_eq!(created.name, "actors/emmanuel-macron");
    assert_eq!(created.etag, "1");
    assert!(created.create_time.is_some());
    assert_eq!(created.names, macron.names);

    let fetched = client
        .get_actor(GetActorRequest {
            name: created.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched, created);

    let updated = client
        .update_actor(UpdateActorRequest {
            actor: Some(Actor {
                name: created.name.clone(),
                etag: created.etag.clone(),
                description: "President of France".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.description, "President of France");
    assert_eq!(
        updated.display_name, "Emmanuel Macron",
        "fields outside the mask are kept"
    );
    assert_eq!(updated.etag, "2");
    assert_eq!(updated.create_time, created.create_time);

    // The first etag is stale now: the update is refused and changes nothing.
    let stale = client
        .update_actor(UpdateActorRequest {
            actor: Some(Actor {
                name: created.name.clone(),
                etag: created.etag.clone(),
                display_name: "Someone else".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(error_reason(&stale), "ETAG_MISMATCH");
    let after = client
        .get_actor(GetActorRequest {
            name: created.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after, updated);

    let stale_delete = client
        .delete_actor(DeleteActorRequest {
            name: created.name.clone(),
            etag: "1".into(),
            force: false,
        })
        .await
        .unwrap_err();
    assert_eq!(stale_delete.code(), Code::Aborted);
    client
        .delete_actor(DeleteActorRequest {
            name: created.name.clone(),
            etag: "2".into(),
            force: false,
        })
        .await
        .unwrap();
    let gone = client
        .get_actor(GetActorRequest {
            name: created.name.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    assert!(gone.message().contains("actors/emmanuel-macron"));
    let again = client
        .delete_actor(DeleteActorRequest {
            name: created.name,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
}

async fn taken_ids_and_external_ids_are_already_exists(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();
    let with_qid = |name: &str| Actor {
        external_ids: vec![ExternalId {
            scheme: ExternalIdScheme::Wikidata as i32,
            value: "Q7747".into(),
        }],
        ..person(name)
    };
    create(&mut client, "vladimir-putin", with_qid("Vladimir Putin")).await;
    let taken = client
        .create_actor(CreateActorRequest {
            actor: Some(person("Another")),
            actor_id: "vladimir-putin".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    let same_qid = client
        .create_actor(CreateActorRequest {
            actor: Some(with_qid("V. Putin")),
            actor_id: "v-putin".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(same_qid.code(), Code::AlreadyExists);
    assert!(
        same_qid.message().contains("actors/vladimir-putin"),
        "{}",
        same_qid.message()
    );
    assert_eq!(count_actors(&mut client).await, 1);
}

async fn batch_get_answers_in_order_and_names_the_missing(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();
    for id in ["a-one", "b-two", "c-three"] {
        create(&mut client, id, person(id)).await;
    }
    let names = |ids: &[&str]| {
        ids.iter()
            .map(|id| format!("actors/{id}"))
            .collect::<Vec<_>>()
    };

    let all = client
        .batch_get_actors(BatchGetActorsRequest {
            names: names(&["c-three", "a-one", "c-three"]),
            allow_missing: false,
        })
        .await
        .unwrap()
        .into_inner();
    let got: Vec<_> = all.actors.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(got, ["actors/c-three", "actors/a-one", "actors/c-three"]);

    let missing = client
        .batch_get_actors(BatchGetActorsRequest {
            names: names(&["a-one", "nobody", "b-two", "ghost"]),
            allow_missing: false,
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(field_violations(&missing), ["names[1]", "names[3]"]);
    assert!(
        missing.message().contains("actors/nobody") && missing.message().contains("actors/ghost")
    );

    let partial = client
        .batch_get_actors(BatchGetActorsRequest {
            names: names(&["a-one", "nobody", "b-two"]),
            allow_missing: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(partial.actors.len(), 2);
    assert_eq!(partial.missing_names, ["actors/nobody"]);

    let malformed = client
        .batch_get_actors(BatchGetActorsRequest {
            names: vec!["actors/a-one".into(), "a-one".into()],
            allow_missing: true,
        })
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&malformed), ["names[1]"]);

    let too_many = client
        .batch_get_actors(BatchGetActorsRequest {
            names: vec!["actors/a-one".into(); 10_001],
            allow_missing: true,
        })
        .await
        .unwrap_err();
    assert_eq!(too_many.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&too_many), ["names"]);
}

async fn paging_250_actors_by_7_has_no_gap_and_no_duplicate(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();
    let mut expected = Vec::new();
    for i in 0..250 {
        let id = format!("actor-{i:03}");
        let kind = if i % 5 == 0 {
            ActorKind::State
        } else {
            ActorKind::Person
        };
        create(
            &mut client,
            &id,
            Actor {
                kind: kind as i32,
                display_name: format!("Actor {i}"),
                ..Default::default()
            },
        )
        .await;
        expected.push(format!("actors/{id}"));
    }

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_actors(ListActorsRequest {
                page_size: 7,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.actors.len() <= 7);
        seen.extend(page.actors.into_iter().map(|a| a.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 36, "250 items at 7 a page");
    assert_eq!(seen.len(), 250);
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        250,
        "no duplicates"
    );
    assert_eq!(seen, expected, "ordered by id, none missing");

    // A filtered listing pages too, and only returns matching actors.
    let mut states = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_actors(ListActorsRequest {
                page_size: 7,
                page_token: token,
                kind: ActorKind::State as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            page.actors
                .iter()
                .all(|a| a.kind == ActorKind::State as i32)
        );
        states.extend(page.actors.into_iter().map(|a| a.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(states.len(), 50);
}

async fn tampered_or_foreign_page_tokens_are_invalid_argument(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();
    for i in 0..5 {
        create(&mut client, &format!("p-{i}"), person(&format!("P {i}"))).await;
    }
    let first = client
        .list_actors(ListActorsRequest {
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
            .list_actors(ListActorsRequest {
                page_size: 2,
                page_token: bad,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(field_violations(&status), ["page_token"]);
    }
    // The same token with other filters belongs to another query.
    let foreign = client
        .list_actors(ListActorsRequest {
            page_size: 2,
            page_token: token.clone(),
            kind: ActorKind::State as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::InvalidArgument);
    assert!(foreign.message().contains("different query"));
    let posts = client
        .list_posts(ListPostsRequest {
            page_token: token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(posts.code(), Code::InvalidArgument);
}

async fn invalid_requests_name_every_field_and_store_nothing(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();

    let empty = client
        .create_actor(CreateActorRequest::default())
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&empty), ["actor"]);
    assert_eq!(error_reason(&empty), "INVALID_REQUEST");

    let blank = client
        .create_actor(CreateActorRequest {
            actor: Some(Actor::default()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&blank),
        ["actor.kind", "actor.display_name"]
    );

    let wrong = client
        .create_actor(CreateActorRequest {
            actor: Some(Actor {
                kind: ActorKind::MediaOutlet as i32,
                display_name: "TASS".into(),
                country: "russia".into(),
                parent: "actors/nobody".into(),
                external_ids: vec![ExternalId {
                    scheme: ExternalIdScheme::Wikidata as i32,
                    value: "TASS".into(),
                }],
                ..Default::default()
            }),
            actor_id: "Bad Id".into(),
            request_id: "has spaces".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&wrong),
        [
            "actor_id",
            "request_id",
            "actor.external_ids[0].value",
            "actor.country",
            "actor.media"
        ]
    );

    // References are checked too: a parent that does not exist.
    let orphan = client
        .create_actor(CreateActorRequest {
            actor: Some(Actor {
                parent: "actors/nobody".into(),
                ..person("Orphan")
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(orphan.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&orphan), ["actor.parent"]);
    assert!(orphan.message().contains("actors/nobody does not exist"));

    let huge = client
        .create_actor(CreateActorRequest {
            actor: Some(Actor {
                names: vec![
                    ActorName {
                        text: "x".into(),
                        language_code: String::new(),
                        kind: 1
                    };
                    5000
                ],
                ..person("Many")
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&huge), ["actor.names"]);

    let bad_mask = client
        .update_actor(UpdateActorRequest {
            actor: Some(Actor {
                name: "actors/x".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["etag".into(), "display_name".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&bad_mask), ["update_mask.paths[0]"]);

    let negative = client
        .list_actors(ListActorsRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&negative), ["page_size"]);

    assert_eq!(
        count_actors(&mut client).await,
        0,
        "no rejected request stored anything"
    );
}

async fn a_retried_create_returns_the_first_result(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();
    let request = CreateActorRequest {
        actor: Some(person("Olaf Scholz")),
        actor_id: String::new(),
        request_id: "9b2f7c1e-5d8a-4e0b-8f3a-2c6d1e9f0a7b".into(),
    };
    let first = client
        .create_actor(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(
        first.name.starts_with("actors/act-"),
        "a generated id: {}",
        first.name
    );
    let second = client
        .create_actor(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second, first, "same name, same create_time, same etag");

    // Concurrent retries still create one actor.
    let mut retries = Vec::new();
    for _ in 0..8 {
        let mut client = client.clone();
        let request = request.clone();
        retries.push(tokio::spawn(async move {
            client.create_actor(request).await.map(|r| r.into_inner())
        }));
    }
    for retry in retries {
        assert_eq!(retry.await.unwrap().unwrap(), first);
    }
    assert_eq!(count_actors(&mut client).await, 1);

    let reused = client
        .create_actor(CreateActorRequest {
            actor: Some(person("Someone Else")),
            ..request
        })
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::FailedPrecondition);
    assert_eq!(error_reason(&reused), "REQUEST_ID_REUSED");
    assert_eq!(count_actors(&mut client).await, 1);
}

async fn names_are_found_ignoring_case_and_accents(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();
    create(
        &mut client,
        "elysee",
        Actor {
            kind: ActorKind::GovernmentBody as i32,
            display_name: "Élysée Palace".into(),
            country: "FRA".into(),
            ..Default::default()
        },
    )
    .await;
    create(
        &mut client,
        "sergey-lavrov",
        Actor {
            names: vec![
                ActorName {
                    text: "Сергей Лавров".into(),
                    language_code: "ru".into(),
                    kind: NameKind::Preferred as i32,
                },
                ActorName {
                    text: "Sergei Lavrov".into(),
                    language_code: "en".into(),
                    kind: NameKind::Transliteration as i32,
                },
            ],
            country: "RUS".into(),
            ..person("Sergey Lavrov")
        },
    )
    .await;
    create(
        &mut client,
        "anne-claire-legendre",
        Actor {
            country: "FRA".into(),
            ..person("Anne-Claire Legendre")
        },
    )
    .await;

    let find = |text: &str, country: &str| ListActorsRequest {
        name_contains: text.into(),
        country: country.into(),
        ..Default::default()
    };
    let names = |request: ListActorsRequest| {
        let mut client = client.clone();
        async move {
            client
                .list_actors(request)
                .await
                .unwrap()
                .into_inner()
                .actors
                .into_iter()
                .map(|a| a.name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names(find("ELYSEE", "")).await, ["actors/elysee"]);
    assert_eq!(names(find("élysée", "FRA")).await, ["actors/elysee"]);
    assert_eq!(names(find("sergei", "")).await, ["actors/sergey-lavrov"]);
    assert_eq!(names(find("лавров", "")).await, ["actors/sergey-lavrov"]);
    assert_eq!(
        names(find("legendre", "FRA")).await,
        ["actors/anne-claire-legendre"]
    );
    assert!(names(find("legendre", "RUS")).await.is_empty());
    assert!(
        names(find("%", "")).await.is_empty(),
        "LIKE wildcards are matched literally"
    );
    assert_eq!(names(find("", "FRA")).await.len(), 2);
}

async fn parents_must_exist_and_never_form_a_cycle(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();
    let body = |name: &str, parent: &str| Actor {
        kind: ActorKind::GovernmentBody as i32,
        display_name: name.into(),
        parent: parent.into(),
        ..Default::default()
    };
    create(
        &mut client,
        "france",
        Actor {
            kind: ActorKind::State as i32,
            display_name: "France".into(),
            ..Default::default()
        },
    )
    .await;
    create(
        &mut client,
        "french-government",
        body("Government of France", "actors/france"),
    )
    .await;
    create(
        &mut client,
        "meae",
        body(
            "Ministry for Europe and Foreign Affairs",
            "actors/french-government",
        ),
    )
    .await;

    let children = client
        .list_actors(ListActorsRequest {
            parent: "actors/french-government".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(children.actors.len(), 1);

    let cycle = client
        .update_actor(UpdateActorRequest {
            actor: Some(Actor {
                name: "actors/france".into(),
                parent: "actors/meae".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["parent".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(cycle.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&cycle), ["actor.parent"]);
    assert!(cycle.message().contains("cycle"));

    let in_use = client
        .delete_actor(DeleteActorRequest {
            name: "actors/france".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(in_use.code(), Code::FailedPrecondition);
    assert!(in_use.message().contains("actors/french-government"));
}

async fn offices_are_resolved_at_the_date_asked(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();
    create(
        &mut client,
        "germany",
        Actor {
            kind: ActorKind::State as i32,
            display_name: "Germany".into(),
            country: "DEU".into(),
            ..Default::default()
        },
    )
    .await;
    create(&mut client, "olaf-scholz", person("Olaf Scholz")).await;
    create(&mut client, "angela-merkel", person("Angela Merkel")).await;
    create(
        &mut client,
        "anne-claire-legendre",
        person("Anne-Claire Legendre"),
    )
    .await;
    create(
        &mut client,
        "meae",
        Actor {
            kind: ActorKind::GovernmentBody as i32,
            display_name: "Ministry for Europe and Foreign Affairs".into(),
            ..Default::default()
        },
    )
    .await;

    let post = |id: &str, title: &str, class: PostClass, organization: &str| CreatePostRequest {
        post: Some(Post {
            title: title.into(),
            post_class: class as i32,
            organization: organization.into(),
            ..Default::default()
        }),
        post_id: id.into(),
        request_id: String::new(),
    };
    client
        .create_post(post(
            "chancellor-of-germany",
            "Federal Chancellor of Germany",
            PostClass::HeadOfGovernment,
            "actors/germany",
        ))
        .await
        .unwrap();
    client
        .create_post(post(
            "meae-spokesperson",
            "Spokesperson of the Ministry for Europe and Foreign Affairs",
            PostClass::Spokesperson,
            "actors/meae",
        ))
        .await
        .unwrap();

    let tenure =
        |actor: &str, id: &str, post: &str, start: &str, end: Option<&str>| CreateTenureRequest {
            parent: format!("actors/{actor}"),
            tenure: Some(Tenure {
                post: format!("posts/{post}"),
                start: date(start),
                end: end.and_then(date),
                on_behalf_of: if post == "meae-spokesperson" {
                    "actors/meae".into()
                } else {
                    String::new()
                },
                ..Default::default()
            }),
            tenure_id: id.into(),
            request_id: String::new(),
        };
    client
        .create_tenure(tenure(
            "angela-merkel",
            "chancellor",
            "chancellor-of-germany",
            "2005-11-22",
            Some("2021-12-08"),
        ))
        .await
        .unwrap();
    client
        .create_tenure(tenure(
            "olaf-scholz",
            "chancellor",
            "chancellor-of-germany",
            "2021-12-08",
            Some("2025-05-06"),
        ))
        .await
        .unwrap();
    // Only the month is known: March 2022 is possible, not certain.
    let legendre = client
        .create_tenure(tenure(
            "anne-claire-legendre",
            "spokesperson",
            "meae-spokesperson",
            "2021-04",
            None,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        legendre.name,
        "actors/anne-claire-legendre/tenures/spokesperson"
    );
    assert_eq!(
        legendre.start.as_ref().unwrap().precision,
        DatePrecision::Month as i32
    );

    let query = |actor: &str, on: &str| OfficeQuery {
        actor: format!("actors/{actor}"),
        date: date(on),
    };
    let answers = client
        .resolve_offices(ResolveOfficesRequest {
            queries: vec![
                query("olaf-scholz", "2022-03-12"),
                query("angela-merkel", "2022-03-12"),
                query("angela-merkel", "2019"),
                query("anne-claire-legendre", "2022-03-29"),
                query("anne-claire-legendre", "2021-04-10"),
                query("nobody", "2022-03-12"),
            ],
        })
        .await
        .unwrap()
        .into_inner()
        .answers;
    assert_eq!(answers.len(), 6);
    let titles = |i: usize| {
        answers[i]
            .offices
            .iter()
            .map(|o| o.post.as_ref().unwrap().title.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(titles(0), ["Federal Chancellor of Germany"]);
    assert!(answers[0].offices[0].certain);
    assert!(titles(1).is_empty(), "Merkel had left office by March 2022");
    assert_eq!(titles(2), ["Federal Chancellor of Germany"]);
    assert_eq!(
        titles(3),
        ["Spokesperson of the Ministry for Europe and Foreign Affairs"]
    );
    assert!(answers[3].offices[0].certain);
    assert!(
        !answers[4].offices[0].certain,
        "a month-precision start may be after 10 April"
    );
    assert!(!answers[5].actor_found && answers[5].offices.is_empty());
    assert_eq!(
        answers[3].offices[0].tenure.as_ref().unwrap().on_behalf_of,
        "actors/meae"
    );

    let listed = client
        .list_tenures(ListTenuresRequest {
            parent: "actors/-".into(),
            post: "posts/chancellor-of-germany".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let order: Vec<_> = listed.tenures.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        order,
        [
            "actors/angela-merkel/tenures/chancellor",
            "actors/olaf-scholz/tenures/chancellor"
        ]
    );
    let fetched = client
        .get_tenure(GetTenureRequest {
            name: "actors/olaf-scholz/tenures/chancellor".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched.qualifier, TenureQualifier::Unspecified as i32);

    let bad = client
        .create_tenure(CreateTenureRequest {
            parent: "actors/olaf-scholz".into(),
            tenure: Some(Tenure {
                post: "posts/nowhere".into(),
                start: date("2022-02-30"),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&bad), ["tenure.start.edtf"]);
    let missing_post = client
        .create_tenure(CreateTenureRequest {
            parent: "actors/olaf-scholz".into(),
            tenure: Some(Tenure {
                post: "posts/nowhere".into(),
                start: date("2022-02"),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&missing_post), ["tenure.post"]);
    let missing_actor = client
        .create_tenure(CreateTenureRequest {
            parent: "actors/nobody".into(),
            ..tenure("x", "y", "chancellor-of-germany", "2022", None)
        })
        .await
        .unwrap_err();
    assert_eq!(missing_actor.code(), Code::NotFound);

    let forced = client
        .delete_actor(DeleteActorRequest {
            name: "actors/olaf-scholz".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(forced.code(), Code::FailedPrecondition);
    client
        .delete_actor(DeleteActorRequest {
            name: "actors/olaf-scholz".into(),
            etag: String::new(),
            force: true,
        })
        .await
        .unwrap();
}

async fn profiles_of_outlets_and_anonymous_sources_are_kept(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();
    create(
        &mut client,
        "elysee",
        Actor {
            kind: ActorKind::GovernmentBody as i32,
            display_name: "French Presidency".into(),
            ..Default::default()
        },
    )
    .await;
    let tass = create(
        &mut client,
        "tass",
        Actor {
            kind: ActorKind::MediaOutlet as i32,
            display_name: "TASS".into(),
            media: Some(MediaProfile {
                media_type: MediaType::NewsAgency as i32,
                state_owned: true,
            }),
            ..Default::default()
        },
    )
    .await;
    assert!(tass.media.unwrap().state_owned);
    let official = create(
        &mut client,
        "french-presidency-official",
        Actor {
            kind: ActorKind::AnonymousSource as i32,
            display_name: "a French Presidency official".into(),
            anonymous: Some(AnonymousProfile {
                descriptor: "a French Presidency official".into(),
                affiliation: "actors/elysee".into(),
                plural: false,
            }),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(official.anonymous.unwrap().affiliation, "actors/elysee");
    let in_use = client
        .delete_actor(DeleteActorRequest {
            name: "actors/elysee".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(in_use.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn health_is_serving_then_not_serving_once_shutdown_starts() {
    let mut options = Options::default();
    options.server.shutdown_delay = Duration::from_secs(2);
    let mut server = spawn_with(Service::Actors, options).await;
    let mut health = server.health();
    for service in ["", "chancery.actors.v1.ActorService"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "chancery.nothing.v1.Nothing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    let mut watch = health
        .watch(HealthCheckRequest {
            service: "chancery.actors.v1.ActorService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.message().await.unwrap().unwrap().status,
        ServingStatus::Serving as i32
    );

    server.begin_shutdown();
    let update = tokio::time::timeout(Duration::from_secs(5), watch.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(update.status, ServingStatus::NotServing as i32);
    // During the shutdown delay the server still answers, and says it is not serving.
    let status = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::NotServing as i32);
    drop(watch);
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("drained in time")
        .unwrap();
}

chancery_testkit::backend_tests!(
    create_get_update_delete,
    taken_ids_and_external_ids_are_already_exists,
    batch_get_answers_in_order_and_names_the_missing,
    paging_250_actors_by_7_has_no_gap_and_no_duplicate,
    tampered_or_foreign_page_tokens_are_invalid_argument,
    invalid_requests_name_every_field_and_store_nothing,
    a_retried_create_returns_the_first_result,
    names_are_found_ignoring_case_and_accents,
    parents_must_exist_and_never_form_a_cycle,
    offices_are_resolved_at_the_date_asked,
    profiles_of_outlets_and_anonymous_sources_are_kept,
);
