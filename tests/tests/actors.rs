//! The actors service end to end: a real server on 127.0.0.1:0, a real SQLite file, a tonic
//! client over TCP.

use std::collections::HashSet;
use std::time::Duration;

use chancery_proto::actors::v1::{
    Actor, ActorKind, ActorName, AnonymousProfile, BatchGetActorsRequest, CreateActorRequest,
    CreatePostRequest, CreateTenureRequest, DeleteActorRequest, DeletePostRequest,
    DeleteTenureRequest, GetActorRequest, GetPostRequest, GetTenureRequest, ListActorsRequest,
    ListPostsRequest, ListTenuresRequest, MediaProfile, MediaType, NameKind, OfficeQuery, Post,
    PostClass, ResolveOfficesRequest, Tenure, TenureQualifier, UpdateActorRequest,
    UpdatePostRequest, UpdateTenureRequest, actor_service_client::ActorServiceClient,
};
use chancery_proto::common::v1::{
    DatePrecision, DateSource, ExternalId, ExternalIdScheme, FuzzyDate, LocalizedText,
};
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

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

fn organization(name: &str) -> Actor {
    Actor {
        kind: ActorKind::GovernmentBody as i32,
        display_name: name.into(),
        ..Default::default()
    }
}

async fn create_post(client: &mut Client, id: &str, title: &str, organization: &str) -> Post {
    client
        .create_post(CreatePostRequest {
            post: Some(Post {
                title: title.into(),
                post_class: PostClass::Spokesperson as i32,
                organization: organization.into(),
                ..Default::default()
            }),
            post_id: id.into(),
            request_id: String::new(),
        })
        .await
        .unwrap_or_else(|status| panic!("create post {id}: {status:?}"))
        .into_inner()
}

async fn create_tenure(
    client: &mut Client,
    actor: &str,
    id: &str,
    post: &str,
    start: Option<FuzzyDate>,
    end: Option<FuzzyDate>,
) -> Tenure {
    client
        .create_tenure(CreateTenureRequest {
            parent: format!("actors/{actor}"),
            tenure: Some(Tenure {
                post: format!("posts/{post}"),
                start,
                end,
                ..Default::default()
            }),
            tenure_id: id.into(),
            request_id: String::new(),
        })
        .await
        .unwrap_or_else(|status| panic!("create tenure {id}: {status:?}"))
        .into_inner()
}

async fn get_post(client: &mut Client, id: &str) -> Result<Post, tonic::Status> {
    client
        .get_post(GetPostRequest {
            name: format!("posts/{id}"),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// The offices `actor` held on `on`: (post name, tenure name, certain), earliest first.
async fn offices_on(client: &mut Client, actor: &str, on: &str) -> Vec<(String, String, bool)> {
    let answers = client
        .resolve_offices(ResolveOfficesRequest {
            queries: vec![OfficeQuery {
                actor: format!("actors/{actor}"),
                date: date(on),
            }],
        })
        .await
        .unwrap()
        .into_inner()
        .answers;
    assert_eq!(answers.len(), 1);
    assert!(answers[0].actor_found, "actors/{actor} exists");
    answers[0]
        .offices
        .iter()
        .map(|o| {
            (
                o.post.as_ref().unwrap().name.clone(),
                o.tenure.as_ref().unwrap().name.clone(),
                o.certain,
            )
        })
        .collect()
}

async fn posts_update_with_a_mask_and_a_current_etag(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();
    create(&mut client, "meae", organization("MEAE")).await;
    create(&mut client, "elysee", organization("French Presidency")).await;
    let created = client
        .create_post(CreatePostRequest {
            post: Some(Post {
                title: "Spokesperson".into(),
                post_class: PostClass::Spokesperson as i32,
                organization: "actors/meae".into(),
                country: "FRA".into(),
                ..Default::default()
            }),
            post_id: "meae-spokesperson".into(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.etag, "1");

    // Only the fields in the mask change; the title in the patch is ignored without it.
    let updated = client
        .update_post(UpdatePostRequest {
            post: Some(Post {
                name: created.name.clone(),
                etag: created.etag.clone(),
                title: "Spokesperson of the Ministry for Europe and Foreign Affairs".into(),
                titles: vec![LocalizedText {
                    text: "Porte-parole du ministère de l'Europe et des Affaires étrangères".into(),
                    language_code: "fr".into(),
                }],
                country: String::new(),
                ..Default::default()
            }),
            update_mask: mask(&["title", "titles"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        updated.title,
        "Spokesperson of the Ministry for Europe and Foreign Affairs"
    );
    assert_eq!(updated.titles.len(), 1);
    assert_eq!(updated.country, "FRA", "fields outside the mask are kept");
    assert_eq!(updated.organization, "actors/meae");
    assert_eq!(updated.etag, "2");
    assert_eq!(updated.create_time, created.create_time);
    assert_eq!(
        get_post(&mut client, "meae-spokesperson").await.unwrap(),
        updated
    );

    // The first etag is stale now: ABORTED, and nothing changes.
    let stale = client
        .update_post(UpdatePostRequest {
            post: Some(Post {
                name: created.name.clone(),
                etag: created.etag.clone(),
                title: "Someone else's title".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(error_reason(&stale), "ETAG_MISMATCH");
    assert_eq!(
        get_post(&mut client, "meae-spokesperson").await.unwrap(),
        updated
    );

    // Without a mask, the fields the patch sets are replaced (and only those).
    let moved = client
        .update_post(UpdatePostRequest {
            post: Some(Post {
                name: created.name.clone(),
                etag: "2".into(),
                organization: "actors/elysee".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.organization, "actors/elysee");
    assert_eq!(moved.title, updated.title);
    assert_eq!(moved.etag, "3");
    let by_organization = client
        .list_posts(ListPostsRequest {
            organization: "actors/elysee".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        by_organization.posts,
        std::slice::from_ref(&moved),
        "the organization column follows the body"
    );
    assert!(
        client
            .list_posts(ListPostsRequest {
                organization: "actors/meae".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .posts
            .is_empty()
    );

    // The merged post is validated, with `post.` paths, and its organization must exist.
    let invalid = client
        .update_post(UpdatePostRequest {
            post: Some(Post {
                name: created.name.clone(),
                country: "France".into(),
                ..Default::default()
            }),
            update_mask: mask(&["title", "post_class", "country"]),
        })
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&invalid),
        ["post.title", "post.post_class", "post.country"]
    );
    let orphan = client
        .update_post(UpdatePostRequest {
            post: Some(Post {
                name: created.name.clone(),
                organization: "actors/nobody".into(),
                ..Default::default()
            }),
            update_mask: mask(&["organization"]),
        })
        .await
        .unwrap_err();
    assert_eq!(orphan.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&orphan), ["post.organization"]);
    assert!(orphan.message().contains("actors/nobody does not exist"));
    assert_eq!(
        get_post(&mut client, "meae-spokesperson").await.unwrap(),
        moved
    );

    // `*` replaces every updatable field, clearing what the patch leaves empty.
    let replaced = client
        .update_post(UpdatePostRequest {
            post: Some(Post {
                name: created.name.clone(),
                title: "Spokesperson".into(),
                post_class: PostClass::Other as i32,
                ..Default::default()
            }),
            update_mask: mask(&["*"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            replaced.organization.as_str(),
            replaced.country.as_str(),
            replaced.titles.len()
        ),
        ("", "", 0)
    );
    assert_eq!(replaced.post_class, PostClass::Other as i32);
    assert_eq!(replaced.etag, "4");

    let missing = client
        .update_post(UpdatePostRequest {
            post: Some(Post {
                name: "posts/nowhere".into(),
                title: "Nothing".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert!(missing.message().contains("posts/nowhere"));
}

async fn bad_update_masks_and_names_are_invalid_argument_on_their_field(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();
    create(&mut client, "meae", organization("MEAE")).await;
    create(&mut client, "legendre", person("Anne-Claire Legendre")).await;
    let post = create_post(&mut client, "spokesperson", "Spokesperson", "actors/meae").await;
    let tenure = create_tenure(
        &mut client,
        "legendre",
        "t1",
        "spokesperson",
        date("2021-04"),
        None,
    )
    .await;

    let post_patch = |mask_paths: &[&str], name: &str| UpdatePostRequest {
        post: Some(Post {
            name: name.into(),
            title: "Changed".into(),
            ..Default::default()
        }),
        update_mask: mask(mask_paths),
    };
    for (paths, expected) in [
        (&["title", "etag"][..], &["update_mask.paths[1]"][..]),
        (&["create_time"], &["update_mask.paths[0]"]),
        (
            &["name", "title", "titel"],
            &["update_mask.paths[0]", "update_mask.paths[2]"],
        ),
        (&[], &["update_mask.paths"]),
    ] {
        let status = client
            .update_post(post_patch(paths, &post.name))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{paths:?}");
        assert_eq!(error_reason(&status), "INVALID_REQUEST");
        assert_eq!(field_violations(&status), expected, "{paths:?}");
    }
    let named = client
        .update_post(post_patch(&["etag"], "post/spokesperson"))
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&named),
        ["post.name", "update_mask.paths[0]"],
        "every problem at once"
    );
    assert!(
        named
            .message()
            .contains("\"etag\" is not an updatable field"),
        "{}",
        named.message()
    );
    let no_post = client
        .update_post(UpdatePostRequest::default())
        .await
        .unwrap_err();
    assert_eq!(field_violations(&no_post), ["post"]);

    let tenure_patch = |mask_paths: &[&str], name: &str| UpdateTenureRequest {
        tenure: Some(Tenure {
            name: name.into(),
            qualifier: TenureQualifier::Acting as i32,
            ..Default::default()
        }),
        update_mask: mask(mask_paths),
    };
    for (paths, expected) in [
        (
            &["qualifier", "create_time"][..],
            &["update_mask.paths[1]"][..],
        ),
        (&["name"], &["update_mask.paths[0]"]),
        (&["start.edtf"], &["update_mask.paths[0]"]),
    ] {
        let status = client
            .update_tenure(tenure_patch(paths, &tenure.name))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{paths:?}");
        assert_eq!(field_violations(&status), expected, "{paths:?}");
    }
    let bad_name = client
        .update_tenure(tenure_patch(&["qualifier"], "actors/legendre/t1"))
        .await
        .unwrap_err();
    assert_eq!(field_violations(&bad_name), ["tenure.name"]);
    let bad_delete = client
        .delete_tenure(DeleteTenureRequest {
            name: "tenures/t1".into(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&bad_delete), ["name"]);
    let bad_post_delete = client
        .delete_post(DeletePostRequest {
            name: "actors/meae".into(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_post_delete.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&bad_post_delete), ["name"]);

    // The merged tenure is validated with `tenure.` paths; nothing was written by any of it.
    let invalid = client
        .update_tenure(UpdateTenureRequest {
            tenure: Some(Tenure {
                name: tenure.name.clone(),
                end: date("2021-02-30"),
                qualifier: 42,
                ..Default::default()
            }),
            update_mask: mask(&["end", "qualifier"]),
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&invalid),
        ["tenure.end.edtf", "tenure.qualifier"]
    );
    assert_eq!(get_post(&mut client, "spokesperson").await.unwrap(), post);
    let stored = client
        .get_tenure(GetTenureRequest {
            name: tenure.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored, tenure);
}

async fn a_post_is_deleted_only_once_no_tenure_holds_it(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();
    create(&mut client, "meae", organization("MEAE")).await;
    create(&mut client, "legendre", person("Anne-Claire Legendre")).await;
    let post = create_post(&mut client, "spokesperson", "Spokesperson", "actors/meae").await;
    let tenure = create_tenure(
        &mut client,
        "legendre",
        "spokesperson",
        "spokesperson",
        date("2021-04"),
        None,
    )
    .await;

    let held = client
        .delete_post(DeletePostRequest {
            name: post.name.clone(),
            etag: post.etag.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(held.code(), Code::FailedPrecondition);
    assert_eq!(error_reason(&held), "RESOURCE_IN_USE");
    assert!(
        held.message()
            .contains("actors/legendre/tenures/spokesperson"),
        "names the tenure that holds it: {}",
        held.message()
    );
    assert_eq!(get_post(&mut client, "spokesperson").await.unwrap(), post);

    // Deleting the tenure: a stale etag is refused, the current one works, then it is gone.
    let stale = client
        .delete_tenure(DeleteTenureRequest {
            name: tenure.name.clone(),
            etag: "7".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(error_reason(&stale), "ETAG_MISMATCH");
    client
        .get_tenure(GetTenureRequest {
            name: tenure.name.clone(),
        })
        .await
        .expect("a refused delete keeps the tenure");
    client
        .delete_tenure(DeleteTenureRequest {
            name: tenure.name.clone(),
            etag: tenure.etag.clone(),
        })
        .await
        .unwrap();
    let gone = client
        .get_tenure(GetTenureRequest {
            name: tenure.name.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let again = client
        .delete_tenure(DeleteTenureRequest {
            name: tenure.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
    assert!(
        again
            .message()
            .contains("actors/legendre/tenures/spokesperson")
    );
    let listed = client
        .list_tenures(ListTenuresRequest {
            parent: "actors/legendre".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.tenures.is_empty());
    assert!(
        offices_on(&mut client, "legendre", "2022-03-29")
            .await
            .is_empty()
    );

    // No tenure holds the post any more: a stale etag is still refused, the current one works.
    let stale = client
        .delete_post(DeletePostRequest {
            name: post.name.clone(),
            etag: "2".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    client
        .delete_post(DeletePostRequest {
            name: post.name.clone(),
            etag: post.etag.clone(),
        })
        .await
        .unwrap();
    let gone = get_post(&mut client, "spokesperson").await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let again = client
        .delete_post(DeletePostRequest {
            name: post.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
    // The organization is no longer referred to by the post either.
    client
        .delete_actor(DeleteActorRequest {
            name: "actors/meae".into(),
            ..Default::default()
        })
        .await
        .unwrap();
}

async fn an_updated_tenure_resolves_to_its_new_post_and_dates(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();
    create(&mut client, "meae", organization("MEAE")).await;
    create(&mut client, "elysee", organization("French Presidency")).await;
    create(&mut client, "legendre", person("Anne-Claire Legendre")).await;
    create_post(
        &mut client,
        "meae-spokesperson",
        "MEAE spokesperson",
        "actors/meae",
    )
    .await;
    create_post(&mut client, "elysee-adviser", "Adviser", "actors/elysee").await;
    let tenure = create_tenure(
        &mut client,
        "legendre",
        "t1",
        "meae-spokesperson",
        date("2021-04-01"),
        None,
    )
    .await;
    assert_eq!(
        offices_on(&mut client, "legendre", "2022-03-29").await,
        [(
            "posts/meae-spokesperson".to_owned(),
            tenure.name.clone(),
            true
        )]
    );

    let updated = client
        .update_tenure(UpdateTenureRequest {
            tenure: Some(Tenure {
                name: tenure.name.clone(),
                etag: tenure.etag.clone(),
                post: "posts/elysee-adviser".into(),
                start: date("2022-09"),
                end: date("2024-01-31"),
                qualifier: TenureQualifier::Acting as i32,
                ..Default::default()
            }),
            update_mask: mask(&["post", "start", "end"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.post, "posts/elysee-adviser");
    assert_eq!(
        updated.start.as_ref().unwrap().precision,
        DatePrecision::Month as i32,
        "the new dates are normalized"
    );
    assert!(updated.end.as_ref().unwrap().latest.is_some());
    assert_eq!(
        updated.qualifier,
        TenureQualifier::Unspecified as i32,
        "outside the mask"
    );
    assert_eq!(updated.etag, "2");
    assert_eq!(updated.create_time, tenure.create_time);
    let fetched = client
        .get_tenure(GetTenureRequest {
            name: tenure.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched, updated);

    // Office resolution reads the rewritten post and bounds.
    assert!(
        offices_on(&mut client, "legendre", "2022-03-29")
            .await
            .is_empty(),
        "the old dates no longer match"
    );
    assert_eq!(
        offices_on(&mut client, "legendre", "2022-09-10").await,
        [(
            "posts/elysee-adviser".to_owned(),
            tenure.name.clone(),
            false
        )],
        "a month-precision start may be after the 10th"
    );
    assert_eq!(
        offices_on(&mut client, "legendre", "2023-06").await,
        [("posts/elysee-adviser".to_owned(), tenure.name.clone(), true)]
    );
    assert!(
        offices_on(&mut client, "legendre", "2024-02-01")
            .await
            .is_empty()
    );
    let by_post = |post: &str| ListTenuresRequest {
        parent: "actors/-".into(),
        post: format!("posts/{post}"),
        ..Default::default()
    };
    let listed = client
        .list_tenures(by_post("elysee-adviser"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.tenures, std::slice::from_ref(&updated));
    let listed = client
        .list_tenures(by_post("meae-spokesperson"))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.tenures.is_empty());
    // The old post is no longer held, so it can go.
    client
        .delete_post(DeletePostRequest {
            name: "posts/meae-spokesperson".into(),
            etag: String::new(),
        })
        .await
        .unwrap();

    // The same checks as a create: the post and on_behalf_of must exist, end not before start.
    let refused = |tenure: Tenure, paths: &[&str]| UpdateTenureRequest {
        tenure: Some(tenure),
        update_mask: mask(paths),
    };
    let backwards = client
        .update_tenure(refused(
            Tenure {
                name: tenure.name.clone(),
                end: date("2022-08-31"),
                ..Default::default()
            },
            &["end"],
        ))
        .await
        .unwrap_err();
    assert_eq!(backwards.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&backwards), ["tenure.end"]);
    let nowhere = client
        .update_tenure(refused(
            Tenure {
                name: tenure.name.clone(),
                post: "posts/meae-spokesperson".into(),
                on_behalf_of: "actors/nobody".into(),
                ..Default::default()
            },
            &["post", "on_behalf_of"],
        ))
        .await
        .unwrap_err();
    assert_eq!(nowhere.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&nowhere),
        ["tenure.post", "tenure.on_behalf_of"]
    );
    let stale = client
        .update_tenure(refused(
            Tenure {
                name: tenure.name.clone(),
                etag: tenure.etag.clone(),
                qualifier: TenureQualifier::Interim as i32,
                ..Default::default()
            },
            &["qualifier"],
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(error_reason(&stale), "ETAG_MISMATCH");
    let missing = client
        .update_tenure(refused(
            Tenure {
                name: "actors/legendre/tenures/t2".into(),
                qualifier: TenureQualifier::Interim as i32,
                ..Default::default()
            },
            &["qualifier"],
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let fetched = client
        .get_tenure(GetTenureRequest {
            name: tenure.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched, updated, "no refused update changed anything");

    // Without a mask, the fields the patch sets are replaced; `on_behalf_of` now refers to an
    // actor, which then cannot be deleted.
    let behalf = client
        .update_tenure(UpdateTenureRequest {
            tenure: Some(Tenure {
                name: tenure.name.clone(),
                etag: "2".into(),
                on_behalf_of: "actors/meae".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(behalf.on_behalf_of, "actors/meae");
    assert_eq!(behalf.post, "posts/elysee-adviser");
    assert_eq!(behalf.start, updated.start);
    assert_eq!(behalf.etag, "3");
    let in_use = client
        .delete_actor(DeleteActorRequest {
            name: "actors/meae".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(in_use.code(), Code::FailedPrecondition);
    assert!(
        in_use.message().contains(&tenure.name),
        "{}",
        in_use.message()
    );
}

async fn a_tenure_of_unknown_start_may_cover_any_date_before_its_end_never_certainly(
    backend: Backend,
) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();
    create(&mut client, "meae", organization("MEAE")).await;
    create(&mut client, "legendre", person("Anne-Claire Legendre")).await;
    create(&mut client, "von-der-muhll", person("Agnès von der Mühll")).await;
    create_post(
        &mut client,
        "meae-spokesperson",
        "MEAE spokesperson",
        "actors/meae",
    )
    .await;

    // Unset: the source does not say when she took up the post, only when she left it.
    let unset = create_tenure(
        &mut client,
        "von-der-muhll",
        "spokesperson",
        "meae-spokesperson",
        None,
        date("2021-03-31"),
    )
    .await;
    assert_eq!(unset.start, None);
    let known = create_tenure(
        &mut client,
        "legendre",
        "spokesperson",
        "meae-spokesperson",
        date("2021-04-01"),
        None,
    )
    .await;

    for on in ["1990", "2019-06-15", "2021-03-31"] {
        assert_eq!(
            offices_on(&mut client, "von-der-muhll", on).await,
            [(
                "posts/meae-spokesperson".to_owned(),
                unset.name.clone(),
                false
            )],
            "{on}: possible, never certain"
        );
    }
    assert!(
        offices_on(&mut client, "von-der-muhll", "2021-04-01")
            .await
            .is_empty(),
        "not after the end"
    );
    assert_eq!(
        offices_on(&mut client, "legendre", "2022").await,
        [(
            "posts/meae-spokesperson".to_owned(),
            known.name.clone(),
            true
        )]
    );

    // Listing by start puts the unknown start first (its earliest bound is the smallest).
    let listed = client
        .list_tenures(ListTenuresRequest {
            parent: "actors/-".into(),
            post: "posts/meae-spokesperson".into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.tenures, std::slice::from_ref(&unset));
    let rest = client
        .list_tenures(ListTenuresRequest {
            parent: "actors/-".into(),
            post: "posts/meae-spokesperson".into(),
            page_size: 1,
            page_token: listed.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        rest.tenures,
        std::slice::from_ref(&known),
        "the page after an unknown start"
    );
    assert!(rest.next_page_token.is_empty());

    // An update can make a known start unknown (the start in the mask, unset in the patch);
    // the office is then no longer certain.
    let forgotten = client
        .update_tenure(UpdateTenureRequest {
            tenure: Some(Tenure {
                name: known.name.clone(),
                etag: known.etag.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["start"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(forgotten.start, None);
    assert_eq!(
        offices_on(&mut client, "legendre", "2022").await,
        [(
            "posts/meae-spokesperson".to_owned(),
            known.name.clone(),
            false
        )]
    );
    assert_eq!(offices_on(&mut client, "legendre", "1950").await.len(), 1);
}

async fn a_start_written_as_unknown_is_accepted_and_never_certain(backend: Backend) {
    let server = spawn_on(Service::Actors, backend).await;
    let mut client = server.actors();
    create(&mut client, "meae", organization("MEAE")).await;
    create(&mut client, "von-der-muhll", person("Agnès von der Mühll")).await;
    create_post(
        &mut client,
        "meae-spokesperson",
        "MEAE spokesperson",
        "actors/meae",
    )
    .await;
    let unknown = FuzzyDate {
        source: DateSource::Unknown as i32,
        as_reported: "long-time spokesperson".into(),
        ..Default::default()
    };
    let tenure = create_tenure(
        &mut client,
        "von-der-muhll",
        "spokesperson",
        "meae-spokesperson",
        Some(unknown),
        date("2021-03-31"),
    )
    .await;
    let start = tenure
        .start
        .clone()
        .expect("the unknown start is kept as written");
    assert_eq!(start.source, DateSource::Unknown as i32);
    assert!(start.earliest.is_none() && start.latest.is_none());
    assert_eq!(
        offices_on(&mut client, "von-der-muhll", "2020-01-01").await,
        [(
            "posts/meae-spokesperson".to_owned(),
            tenure.name.clone(),
            false
        )]
    );
    assert!(
        offices_on(&mut client, "von-der-muhll", "2022")
            .await
            .is_empty()
    );

    // An unknown date must not carry an `edtf` (FuzzyDate's rule).
    let contradictory = client
        .create_tenure(CreateTenureRequest {
            parent: "actors/von-der-muhll".into(),
            tenure: Some(Tenure {
                post: "posts/meae-spokesperson".into(),
                start: Some(FuzzyDate {
                    edtf: "2019".into(),
                    source: DateSource::Unknown as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(contradictory.code(), Code::InvalidArgument);
    assert!(
        field_violations(&contradictory)
            .iter()
            .all(|f| f.starts_with("tenure.start")),
        "{:?}",
        field_violations(&contradictory)
    );
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
    posts_update_with_a_mask_and_a_current_etag,
    bad_update_masks_and_names_are_invalid_argument_on_their_field,
    a_post_is_deleted_only_once_no_tenure_holds_it,
    an_updated_tenure_resolves_to_its_new_post_and_dates,
    a_tenure_of_unknown_start_may_cover_any_date_before_its_end_never_certainly,
    a_start_written_as_unknown_is_accepted_and_never_certain,
);
