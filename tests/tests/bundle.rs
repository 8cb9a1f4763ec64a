//! Episode bundles end to end: the demo bundle imported through the gateway into the real
//! services, imported again (nothing changes), exported back (the same bundle, modulo the fields
//! servers set), changed (what can be updated is, what cannot is refused before anything is
//! written), and broken (refused with the path of each problem).

use std::collections::HashMap;

use chancery_proto::actors::v1::{
    Actor, ActorKind, GetActorRequest, ListActorsRequest, Post, Tenure,
};
use chancery_proto::common::v1::FuzzyDate;
use chancery_proto::communications::v1::{
    Communication, GetCommunicationRequest, Lifecycle, StatusAssertion, Verification,
};
use chancery_proto::gateway::v1::{
    Bundle, Episode, ExportBundleRequest, GetEpisodeRequest, ImportBundleRequest,
    ImportBundleResponse,
};
use chancery_proto::statements::v1::{SourceDocument, Statement};
use chancery_testkit::{Backend, Suite, error_reason, field_violations, seed, spawn_suite_on};
use tonic::Code;

async fn import(suite: &Suite, bundle: &Bundle) -> Result<ImportBundleResponse, tonic::Status> {
    suite
        .gateway
        .gateway()
        .import_bundle(ImportBundleRequest {
            bundle: Some(bundle.clone()),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn export(suite: &Suite, name: &str) -> Result<Bundle, tonic::Status> {
    suite
        .gateway
        .gateway()
        .export_bundle(ExportBundleRequest { name: name.into() })
        .await
        .map(tonic::Response::into_inner)
}

/// The counts of one map of an import response, in collection order.
fn counts(map: &HashMap<String, i32>) -> [i32; 7] {
    [
        "actors",
        "posts",
        "tenures",
        "documents",
        "communications",
        "statements",
        "episodes",
    ]
    .map(|collection| map.get(collection).copied().unwrap_or(-1))
}

/// A date as a client writes it: the derived precision, bounds and flags dropped.
fn date(date: &Option<FuzzyDate>) -> Option<FuzzyDate> {
    date.as_ref().map(|d| FuzzyDate {
        edtf: d.edtf.clone(),
        time_zone: d.time_zone.clone(),
        as_reported: d.as_reported.clone(),
        ..Default::default()
    })
}

/// The bundle without the fields servers set (create and update times, etags, computed
/// lifecycle and verification, derived date fields, hop positions), each collection sorted by
/// name: what an import of it determines.
fn client_side(bundle: &Bundle) -> Bundle {
    fn sorted<T: Clone>(
        items: &[T],
        name: impl Fn(&T) -> String,
        clean: impl Fn(T) -> T,
    ) -> Vec<T> {
        let mut items: Vec<T> = items.iter().cloned().map(clean).collect();
        items.sort_by_key(|item| name(item));
        items
    }
    Bundle {
        episode: bundle.episode.clone().map(|e| Episode {
            span: date(&e.span),
            create_time: None,
            update_time: None,
            etag: String::new(),
            ..e
        }),
        actors: sorted(
            &bundle.actors,
            |a| a.name.clone(),
            |a| Actor {
                create_time: None,
                update_time: None,
                etag: String::new(),
                ..a
            },
        ),
        posts: sorted(
            &bundle.posts,
            |p| p.name.clone(),
            |p| Post {
                create_time: None,
                etag: String::new(),
                ..p
            },
        ),
        tenures: sorted(
            &bundle.tenures,
            |t| t.name.clone(),
            |t| Tenure {
                start: date(&t.start),
                end: date(&t.end),
                create_time: None,
                etag: String::new(),
                ..t
            },
        ),
        documents: sorted(
            &bundle.documents,
            |d| d.name.clone(),
            |d| SourceDocument {
                published: date(&d.published),
                create_time: None,
                etag: String::new(),
                ..d
            },
        ),
        communications: sorted(
            &bundle.communications,
            |c| c.name.clone(),
            |c| Communication {
                planned: date(&c.planned),
                occurred: date(&c.occurred),
                status_log: c
                    .status_log
                    .iter()
                    .map(|s| StatusAssertion {
                        as_of: date(&s.as_of),
                        create_time: None,
                        ..s.clone()
                    })
                    .collect(),
                lifecycle: 0,
                verification: 0,
                create_time: None,
                update_time: None,
                etag: String::new(),
                ..c
            },
        ),
        statements: sorted(
            &bundle.statements,
            |s| s.name.clone(),
            |s| {
                let mut s = Statement {
                    said: date(&s.said),
                    create_time: None,
                    update_time: None,
                    etag: String::new(),
                    ..s
                };
                for hop in &mut s.attribution_chain {
                    hop.position = 0;
                }
                s
            },
        ),
    }
}

/// Compares collection by collection, so a difference names the resource.
fn assert_same(actual: &Bundle, expected: &Bundle) {
    let (actual, expected) = (client_side(actual), client_side(expected));
    assert_eq!(actual.episode, expected.episode);
    macro_rules! same {
        ($field:ident) => {
            assert_eq!(
                actual.$field.iter().map(|r| &r.name).collect::<Vec<_>>(),
                expected.$field.iter().map(|r| &r.name).collect::<Vec<_>>(),
                stringify!($field)
            );
            for (a, e) in actual.$field.iter().zip(&expected.$field) {
                assert_eq!(a, e, "{}", e.name);
            }
        };
    }
    same!(actors);
    same!(posts);
    same!(tenures);
    same!(documents);
    same!(communications);
    same!(statements);
}

async fn the_demo_bundle_imports_once_and_exports_back_the_same(backend: Backend) {
    let suite = spawn_suite_on(backend).await;
    let bundle = seed::bundle();

    let first = import(&suite, &bundle)
        .await
        .expect("the demo bundle imports");
    assert_eq!(counts(&first.created), [25, 5, 5, 1, 3, 12, 1]);
    assert_eq!(counts(&first.unchanged), [0; 7]);
    assert_eq!(counts(&first.updated), [0; 7]);
    let episode = first.episode.expect("the stored episode");
    assert_eq!(episode.name, seed::EPISODE);
    assert_eq!(
        episode.span.as_ref().unwrap().precision,
        chancery_proto::common::v1::DatePrecision::Month as i32,
        "the span is normalized like every fuzzy date"
    );

    // The writes went through the owning services, which computed what they compute.
    let expected_call = suite
        .communications
        .communications()
        .get_communication(GetCommunicationRequest {
            name: "communications/macron-putin-2022-03-29".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(expected_call.lifecycle, Lifecycle::Expected as i32);
    assert_eq!(
        expected_call.verification,
        Verification::ConfirmedByOneParty as i32
    );
    let stored_episode = suite
        .gateway
        .gateway()
        .get_episode(GetEpisodeRequest {
            name: seed::EPISODE.into(),
        })
        .await
        .expect("the gateway serves the imported episode")
        .into_inner();
    assert_eq!(stored_episode, episode);
    assert_eq!(stored_episode.statements.len(), 12);

    // Again: everything is found as it is, nothing is written, nothing is duplicated.
    let second = import(&suite, &bundle).await.expect("imports again");
    assert_eq!(counts(&second.created), [0; 7]);
    assert_eq!(counts(&second.unchanged), [25, 5, 5, 1, 3, 12, 1]);
    assert_eq!(counts(&second.updated), [0; 7]);
    assert_eq!(second.episode.unwrap().etag, episode.etag, "not rewritten");
    let actors = suite
        .actors
        .actors()
        .list_actors(ListActorsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .actors;
    assert_eq!(actors.len(), 25);

    // Export: the same bundle, each collection in name order, only client-set fields.
    let exported = export(&suite, seed::EPISODE).await.expect("exports");
    assert_same(&exported, &bundle);
    let names: Vec<&str> = exported.actors.iter().map(|a| a.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "collections are sorted by name");
    assert!(exported.actors.iter().all(|a| a.etag.is_empty()));
    assert!(exported.communications.iter().all(|c| c.lifecycle == 0));
    assert_eq!(
        chancery_proto::bundle_to_json(&exported),
        chancery_proto::bundle_to_json(&export(&suite, seed::EPISODE).await.unwrap()),
        "exporting twice gives the same bytes"
    );

    // The export imports into a fresh suite to the same state.
    let elsewhere = spawn_suite_on(backend).await;
    let imported = import(&elsewhere, &exported)
        .await
        .expect("the export imports");
    assert_eq!(counts(&imported.created), [25, 5, 5, 1, 3, 12, 1]);
    assert_same(&export(&elsewhere, seed::EPISODE).await.unwrap(), &exported);

    let missing = export(&suite, "episodes/nothing-here").await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

async fn changes_are_updated_where_services_can_and_refused_where_they_cannot(backend: Backend) {
    let suite = spawn_suite_on(backend).await;
    let mut bundle = seed::bundle();
    import(&suite, &bundle).await.unwrap();

    // An actor's description and a new status entry of the 29 March call: updates.
    let tass = bundle
        .actors
        .iter_mut()
        .find(|a| a.name == "actors/tass")
        .unwrap();
    tass.description = "Russian state news agency (ITAR-TASS)".into();
    let call = bundle
        .communications
        .iter_mut()
        .find(|c| c.name == "communications/macron-putin-2022-03-29")
        .unwrap();
    let mut held = call.status_log[0].clone();
    held.lifecycle = Lifecycle::Held as i32;
    held.verification = 0;
    held.as_of = Some(FuzzyDate {
        edtf: "2022-03-29".into(),
        ..Default::default()
    });
    held.note = "a later report that the call took place (a test's invention)".into();
    call.status_log.push(held);
    call.title = "Macron–Putin phone call of 29 March".into();
    let changed = import(&suite, &bundle).await.expect("the changes import");
    assert_eq!(counts(&changed.updated), [1, 0, 0, 0, 1, 0, 0]);
    assert_eq!(counts(&changed.created), [0; 7]);
    let stored = suite
        .communications
        .communications()
        .get_communication(GetCommunicationRequest {
            name: "communications/macron-putin-2022-03-29".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored.status_log.len(), 2, "the new entry was appended");
    assert_eq!(stored.lifecycle, Lifecycle::Held as i32);
    assert_eq!(stored.title, "Macron–Putin phone call of 29 March");
    let again = import(&suite, &bundle).await.unwrap();
    assert_eq!(counts(&again.updated), [0; 7], "and then it is unchanged");

    // A post cannot be updated, nor a status entry removed: refused, and nothing else in the
    // same bundle is written.
    let mut refused = bundle.clone();
    refused.actors[0].description = "should not be written".into();
    refused.posts[0].title = "President of France".into();
    refused
        .communications
        .iter_mut()
        .find(|c| c.name == "communications/macron-putin-2022-03-29")
        .unwrap()
        .status_log
        .pop();
    let status = import(&suite, &refused).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(error_reason(&status), "BUNDLE_CONFLICT");
    assert!(
        status
            .message()
            .contains("bundle.posts[0] (posts/president-of-france)")
            && status.message().contains("title"),
        "{}",
        status.message()
    );
    assert!(
        status
            .message()
            .contains("communications/macron-putin-2022-03-29"),
        "{}",
        status.message()
    );
    let first_actor = suite
        .actors
        .actors()
        .get_actor(GetActorRequest {
            name: bundle.actors[0].name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first_actor.description, bundle.actors[0].description);
}

async fn invalid_bundles_are_refused_with_the_path_of_each_problem(backend: Backend) {
    let suite = spawn_suite_on(backend).await;
    let bundle = seed::bundle();

    // Names and duplicates: checked before anything is read or written.
    let mut broken = bundle.clone();
    broken.actors[3].name = broken.actors[1].name.clone();
    broken.statements[2].name = "statement/oops".into();
    broken.episode.as_mut().unwrap().title.clear();
    let status = import(&suite, &broken).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields = field_violations(&status);
    for expected in [
        "bundle.actors[3].name",
        "bundle.statements[2].name",
        "bundle.episode.title",
    ] {
        assert!(
            fields.iter().any(|f| f == expected),
            "{expected} in {fields:?}"
        );
    }
    let nothing = suite
        .actors
        .actors()
        .list_actors(ListActorsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .actors;
    assert!(nothing.is_empty(), "a refused bundle writes nothing");

    // A member that is neither in the bundle nor in its service.
    let mut outside = bundle.clone();
    outside
        .episode
        .as_mut()
        .unwrap()
        .communications
        .push("communications/never-recorded".into());
    let status = import(&suite, &outside).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&status),
        ["bundle.episode.communications[3]"]
    );

    // A problem only the owning service finds comes back on the bundle's path.
    let mut invalid_actor = bundle.clone();
    invalid_actor.actors.push(Actor {
        name: "actors/nobody-in-particular".into(),
        kind: ActorKind::Unspecified as i32,
        display_name: "Nobody".into(),
        ..Default::default()
    });
    let status = import(&suite, &invalid_actor).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&status), ["bundle.actors[25].kind"]);

    let mut dangling = bundle.clone();
    dangling.statements[0].speaker = "actors/not-in-the-bundle".into();
    let status = import(&suite, &dangling).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&status), ["bundle.statements[0].speaker"]);

    // A cycle of previous calls cannot be written in any order.
    let mut cycle = bundle.clone();
    cycle.communications[1].previous_in_series = cycle.communications[2].name.clone();
    let status = import(&suite, &cycle).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields = field_violations(&status);
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert!(fields[0].ends_with("].previous_in_series"), "{fields:?}");

    let empty = suite
        .gateway
        .gateway()
        .import_bundle(ImportBundleRequest { bundle: None })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&empty), ["bundle"]);
}

chancery_testkit::backend_tests!(
    the_demo_bundle_imports_once_and_exports_back_the_same,
    changes_are_updated_where_services_can_and_refused_where_they_cannot,
    invalid_bundles_are_refused_with_the_path_of_each_problem,
);
