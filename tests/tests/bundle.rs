//! Episode bundles end to end: the demo bundle imported through the gateway into the real
//! services, imported again (nothing changes), exported back (the same bundle, modulo the fields
//! servers set), changed (what can be updated is, what cannot is refused before anything is
//! written), and broken (refused with the path of each problem).

use std::collections::HashMap;

use chancery_proto::actors::v1::{
    Actor, ActorKind, CreateActorRequest, GetActorRequest, ListActorsRequest, Post, Tenure,
};
use chancery_proto::common::v1::{ExternalId, ExternalIdScheme, FuzzyDate};
use chancery_proto::communications::v1::{
    Communication, DurationClaim, GetCommunicationRequest, Lifecycle, ListCommunicationsRequest,
    Modality, StatusAssertion, Verification,
};
use chancery_proto::gateway::v1::{
    Bundle, Episode, ExportBundleRequest, GetEpisodeRequest, GetEpisodeViewRequest,
    ImportBundleRequest, ImportBundleResponse, ImportProgress, Involvement,
};
use chancery_proto::statements::v1::{
    ContentMode, ListSourceDocumentsRequest, ListStatementsRequest, QuotedSpan, RelayedSpeech,
    SourceDocument, SpeechAct, Statement,
};
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
        source: d.source,
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

    // Posts, tenures and documents are updated like the rest, so a corrected bundle converges.
    let mut corrected = bundle.clone();
    corrected.posts[0].title = "President of France".into();
    corrected.tenures[0].start.as_mut().unwrap().as_reported = "took office on 14 May 2017".into();
    corrected.documents[0].title = "Macron, Putin expected to talk on March 29".into();
    let changed = import(&suite, &corrected)
        .await
        .expect("posts, tenures and documents update");
    assert_eq!(counts(&changed.updated), [0, 1, 1, 1, 0, 0, 0]);
    assert_same(&export(&suite, seed::EPISODE).await.unwrap(), &corrected);
    let again = import(&suite, &corrected).await.unwrap();
    assert_eq!(counts(&again.updated), [0; 7]);
    let bundle = corrected;

    // A status entry cannot be removed (the log is append-only): refused, and nothing else in
    // the same bundle is written.
    let mut refused = bundle.clone();
    refused.actors[0].description = "should not be written".into();
    refused.posts[0].title = "President of the Fifth Republic".into();
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
        status.message().contains("append-only"),
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
    let exported = export(&suite, seed::EPISODE).await.unwrap();
    assert_same(&exported, &bundle);
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
    assert_nothing_stored(&suite, &bundle).await;

    // A cycle of previous calls cannot be written in any order.
    let mut cycle = bundle.clone();
    cycle.communications[1].previous_in_series = cycle.communications[2].name.clone();
    let status = import(&suite, &cycle).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields = field_violations(&status);
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert!(fields[0].ends_with("].previous_in_series"), "{fields:?}");

    // The refusals, all at once and before anything is written: an interval with both
    // ends open, relayed speech naming the actor relaying it, a duration below zero.
    let mut news = bundle.clone();
    news.statements[0].said = Some(FuzzyDate {
        edtf: "../..".into(),
        ..Default::default()
    });
    news.statements[1].relayed = vec![RelayedSpeech {
        speakers: vec![news.statements[1].speaker.clone()],
        speech_act: SpeechAct::Assertion as i32,
        content: news.statements[1].content.clone(),
        ..Default::default()
    }];
    news.communications[0].durations = vec![DurationClaim {
        seconds: -60,
        ..Default::default()
    }];
    let status = import(&suite, &news).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&status),
        [
            "bundle.communications[0].durations[0].seconds",
            "bundle.statements[0].said.edtf",
            "bundle.statements[1].relayed[0].speakers[0]",
        ]
    );
    assert_nothing_stored(&suite, &bundle).await;

    let empty = suite
        .gateway
        .gateway()
        .import_bundle(ImportBundleRequest { bundle: None })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&empty), ["bundle"]);
}

/// Fails unless no actor, document, communication, statement or episode of `bundle` is stored.
async fn assert_nothing_stored(suite: &Suite, bundle: &Bundle) {
    let actors = suite
        .actors
        .actors()
        .list_actors(ListActorsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .actors;
    assert!(
        actors.is_empty(),
        "a refused bundle stores no actor: {actors:?}"
    );
    let documents = suite
        .statements
        .statements()
        .list_source_documents(ListSourceDocumentsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .source_documents;
    assert!(documents.is_empty(), "nor a document");
    let communications = suite
        .communications
        .communications()
        .list_communications(ListCommunicationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .communications;
    assert!(communications.is_empty(), "nor a communication");
    let statements = suite
        .statements
        .statements()
        .list_statements(ListStatementsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .statements;
    assert!(statements.is_empty(), "nor a statement");
    let episode = suite
        .gateway
        .gateway()
        .get_episode(GetEpisodeRequest {
            name: bundle.episode.as_ref().unwrap().name.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(episode.code(), Code::NotFound, "nor the episode");
}

/// The case: the demo bundle plus one statement naming an unknown speaker, and one
/// whose content breaks a rule only the statements service used to check. Both are refused
/// before the first write, with the path of each problem; the corrected bundle then imports.
async fn a_bundle_refused_for_one_bad_statement_stores_nothing(backend: Backend) {
    let suite = spawn_suite_on(backend).await;
    let bundle = seed::bundle();
    let mut unknown_speaker = bundle.clone();
    let mut extra = bundle.statements[0].clone();
    extra.name = "statements/by-nobody".into();
    extra.speaker = "actors/nobody-we-know".into();
    unknown_speaker.statements.push(extra.clone());
    unknown_speaker
        .episode
        .as_mut()
        .unwrap()
        .statements
        .push(extra.name.clone());
    let status = import(&suite, &unknown_speaker).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&status), ["bundle.statements[12].speaker"]);
    assert_nothing_stored(&suite, &bundle).await;

    let mut bad_span = unknown_speaker.clone();
    bad_span.statements[12].speaker = bundle.statements[0].speaker.clone();
    let content = bad_span.statements[12].content.as_mut().unwrap();
    content.mode = ContentMode::PartialQuote as i32;
    content.quoted_spans = vec![QuotedSpan {
        start: 0,
        end: 100_000,
    }];
    let status = import(&suite, &bad_span).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&status),
        ["bundle.statements[12].content.quoted_spans[0].end"]
    );
    assert_nothing_stored(&suite, &bundle).await;

    let mut corrected = bad_span;
    corrected.statements[12].content = bundle.statements[0].content.clone();
    let imported = import(&suite, &corrected)
        .await
        .expect("the corrected bundle");
    assert_eq!(counts(&imported.created), [25, 5, 5, 1, 3, 13, 1]);
}

/// `google.rpc.Status`, to read an error's details.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

/// The `ImportProgress` detail of an error.
fn import_progress(status: &tonic::Status) -> ImportProgress {
    use prost::Message;
    let rpc = RpcStatus::decode(status.details()).expect("details decode");
    let any = rpc
        .details
        .iter()
        .find(|d| d.type_url.ends_with("chancery.gateway.v1.ImportProgress"))
        .expect("an ImportProgress detail");
    ImportProgress::decode(any.value.as_slice()).unwrap()
}

/// A write refused by a rule only the store can check (an external id another actor already
/// holds) after the first level of actors is written: the error names exactly what was stored,
/// and importing the corrected bundle completes it.
async fn a_write_failing_midway_names_what_was_stored_and_a_reimport_converges(backend: Backend) {
    let suite = spawn_suite_on(backend).await;
    suite
        .actors
        .actors()
        .create_actor(CreateActorRequest {
            actor_id: "someone-else".into(),
            actor: Some(Actor {
                kind: ActorKind::GovernmentBody as i32,
                display_name: "Someone else".into(),
                external_ids: vec![ExternalId {
                    scheme: ExternalIdScheme::Wikidata as i32,
                    value: "Q99999001".into(),
                }],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let bundle = seed::bundle();
    let mut taken = bundle.clone();
    // The Kremlin press service has a parent (Russia), so it is written in the second level.
    let kremlin = taken
        .actors
        .iter_mut()
        .find(|a| a.name == "actors/kremlin-press-service")
        .unwrap();
    kremlin.external_ids.push(ExternalId {
        scheme: ExternalIdScheme::Wikidata as i32,
        value: "Q99999001".into(),
    });
    let status = import(&suite, &taken).await.unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    assert_eq!(error_reason(&status), "BUNDLE_PARTIALLY_WRITTEN");
    let progress = import_progress(&status);
    assert_eq!(progress.failed, "actors/kremlin-press-service");
    // 18 actors without a parent, then the 4 others of the second level that were in flight.
    assert_eq!(progress.written_count, 22, "{progress:?}");
    assert_eq!(progress.written.len(), 22);
    assert_eq!(progress.created.get("actors"), Some(&22));
    for actor in &bundle.actors {
        let stored = suite
            .actors
            .actors()
            .get_actor(GetActorRequest {
                name: actor.name.clone(),
            })
            .await;
        assert_eq!(
            stored.is_ok(),
            progress.written.contains(&actor.name),
            "{} is stored exactly when the error says it was written",
            actor.name
        );
    }
    assert!(status.message().contains("importing the same bundle again"));

    let finished = import(&suite, &bundle).await.expect("the corrected bundle");
    assert_eq!(counts(&finished.created), [3, 5, 5, 1, 3, 12, 1]);
    assert_eq!(counts(&finished.unchanged), [22, 0, 0, 0, 0, 0, 0]);
    assert_same(&export(&suite, seed::EPISODE).await.unwrap(), &bundle);
}

/// Status entries with ids append once however often the bundle is imported; a logged entry
/// sent changed is refused before anything is written.
async fn status_entries_with_ids_append_once_and_never_change(backend: Backend) {
    let suite = spawn_suite_on(backend).await;
    let mut bundle = seed::bundle();
    import(&suite, &bundle).await.unwrap();
    let call = bundle
        .communications
        .iter_mut()
        .find(|c| c.name == "communications/macron-putin-2022-03-29")
        .unwrap();
    let mut held = call.status_log[0].clone();
    held.id = "held-per-elysee".into();
    held.lifecycle = Lifecycle::Held as i32;
    held.verification = Verification::ConfirmedByOneParty as i32;
    held.modality = Modality::Certain as i32;
    held.as_of = Some(FuzzyDate {
        edtf: "2022-03-29".into(),
        ..Default::default()
    });
    call.status_log.push(held);
    let first = import(&suite, &bundle).await.unwrap();
    assert_eq!(counts(&first.updated), [0, 0, 0, 0, 1, 0, 0]);
    let again = import(&suite, &bundle).await.unwrap();
    assert_eq!(counts(&again.updated), [0; 7]);
    let stored = suite
        .communications
        .communications()
        .get_communication(GetCommunicationRequest {
            name: "communications/macron-putin-2022-03-29".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored.status_log.len(), 2);
    assert_eq!(stored.status_log[1].id, "held-per-elysee");

    let mut changed = bundle.clone();
    changed.actors[0].description = "should not be written".into();
    let call = changed
        .communications
        .iter_mut()
        .find(|c| c.name == "communications/macron-putin-2022-03-29")
        .unwrap();
    call.status_log[1].note = "the same id, another claim".into();
    let status = import(&suite, &changed).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("\"held-per-elysee\""),
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

/// An actor nothing of the episode names, and a document's author, are kept: the episode
/// records the first in `other_actors`, the export brings both back, the view lists both.
async fn every_actor_a_bundle_brings_is_kept(backend: Backend) {
    let suite = spawn_suite_on(backend).await;
    let mut bundle = seed::bundle();
    let person = |id: &str, name: &str| Actor {
        name: format!("actors/{id}"),
        kind: ActorKind::Person as i32,
        display_name: name.into(),
        ..Default::default()
    };
    bundle
        .actors
        .push(person("a-bystander", "A bystander nobody quotes"));
    bundle.actors.push(person("a-reporter", "A reporter"));
    bundle.documents[0].author_actors = vec!["actors/a-reporter".into()];
    let imported = import(&suite, &bundle).await.unwrap();
    assert_eq!(
        imported.episode.as_ref().unwrap().other_actors,
        ["actors/a-bystander"]
    );
    let exported = export(&suite, seed::EPISODE).await.unwrap();
    let names: Vec<&str> = exported.actors.iter().map(|a| a.name.as_str()).collect();
    assert!(names.contains(&"actors/a-bystander"), "{names:?}");
    assert!(names.contains(&"actors/a-reporter"), "{names:?}");
    assert_eq!(exported.actors.len(), 27);
    // The exported bundle imports back unchanged, other_actors and all.
    let again = import(&suite, &exported).await.unwrap();
    assert_eq!(counts(&again.created), [0; 7]);
    assert_eq!(counts(&again.updated), [0; 7]);

    let view = suite
        .gateway
        .gateway()
        .get_episode_view(GetEpisodeViewRequest {
            name: seed::EPISODE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let involvement = |name: &str| {
        view.actors
            .iter()
            .find(|a| a.actor.as_ref().is_some_and(|a| a.name == name))
            .map(|a| a.involvements.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        involvement("actors/a-bystander"),
        [Involvement::Recorded as i32]
    );
    assert_eq!(
        involvement("actors/a-reporter"),
        [Involvement::Author as i32]
    );
}

chancery_testkit::backend_tests!(
    the_demo_bundle_imports_once_and_exports_back_the_same,
    changes_are_updated_where_services_can_and_refused_where_they_cannot,
    invalid_bundles_are_refused_with_the_path_of_each_problem,
    a_bundle_refused_for_one_bad_statement_stores_nothing,
    a_write_failing_midway_names_what_was_stored_and_a_reimport_converges,
    status_entries_with_ids_append_once_and_never_change,
    every_actor_a_bundle_brings_is_kept,
);
