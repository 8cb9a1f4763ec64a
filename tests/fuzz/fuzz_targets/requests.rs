//! Request validators: every service's create, update and list checks, and the runtime parsers
//! they are built on (fuzzy dates, names, text).
//!
//! Input: one byte choosing the request type, then its bytes (protobuf; bytes that are not an
//! encoding of that message are refused by tonic before any handler runs, so they are skipped
//! here). Each request goes through the same function its handler calls before touching a
//! store or another service; an update's patch is also merged onto an empty resource and
//! validated, as the store does with the stored version.
//!
//! Properties, for every input: no panic; the same answer twice (validation is deterministic);
//! every violation names a field path (the `BadRequest` the client gets); an accepted create
//! always yields what the store needs (never the handlers' INTERNAL "validated without a
//! result"); a normalized fuzzy date normalizes to itself (stored dates are validated again on
//! update) and its bounds are ordered.

#![no_main]

use std::fmt::Debug;

use chancery_proto::actors::v1::{
    Actor, CreateActorRequest, CreatePostRequest, CreateTenureRequest, ListActorsRequest,
    ListPostsRequest, ListTenuresRequest, ResolveOfficesRequest, UpdateActorRequest,
};
use chancery_proto::common::v1::FuzzyDate;
use chancery_proto::communications::v1::{
    AppendStatusRequest, Communication, CreateCommunicationRequest, ListCommunicationsRequest,
    UpdateCommunicationRequest,
};
use chancery_proto::gateway::v1::{
    CreateEpisodeRequest, Episode, GetEpisodeViewRequest, ImportBundleRequest, ListEpisodesRequest,
    UpdateEpisodeRequest,
};
use chancery_proto::statements::v1::{
    CreateSourceDocumentRequest, CreateStatementRequest, ListSourceDocumentsRequest,
    ListStatementsRequest, Statement, UpdateStatementRequest,
};
use chancery_runtime::errors::Violations;
use chancery_runtime::{fuzzy_date, names, text};
use libfuzzer_sys::fuzz_target;
use prost::Message;

use chancery_actors::domain as actors;
use chancery_communications::{domain as communication_domain, domain as communications};
use chancery_gateway::{bundle, domain as episodes, view};
use chancery_statements::{domain as statement_domain, domain as statements};

/// Checks that every violation names its field.
fn named(violations: &Violations) {
    for violation in violations.iter() {
        assert!(
            !violation.field.is_empty(),
            "violation without a field: {violation:?}"
        );
    }
}

/// Runs `validate` twice on the request in `bytes`: same answer, violations named. Returns the
/// request and the answer.
fn check<R, T, F>(bytes: &[u8], validate: F) -> Option<(R, Result<T, Violations>)>
where
    R: Message + Default,
    T: Debug + PartialEq,
    F: Fn(&R) -> Result<T, Violations>,
{
    let request = R::decode(bytes).ok()?;
    let answer = validate(&request);
    assert_eq!(answer, validate(&request), "not deterministic");
    if let Err(violations) = &answer {
        named(violations);
    }
    Some((request, answer))
}

/// Runs one validation on an already built value: same answer twice, violations named.
fn twice<T: Debug + PartialEq>(validate: impl Fn(&mut Violations) -> T) -> (T, Violations) {
    let mut violations = Violations::default();
    let answer = validate(&mut violations);
    let mut again = Violations::default();
    assert_eq!(answer, validate(&mut again), "not deterministic");
    assert_eq!(violations, again, "not deterministic");
    named(&violations);
    (answer, violations)
}

/// The parts of a list answer that can be compared.
fn page<F: Debug, C: Debug>(
    list: chancery_runtime::page_token::ListPage<F, C>,
) -> (String, String, usize) {
    let probe = chancery_runtime::page_token::encode(&list.query, &["probe"]);
    (
        format!("{:?} {:?}", list.filter, list.after),
        probe,
        list.size,
    )
}

fn fuzzy_date(bytes: &[u8]) {
    let Ok(date) = FuzzyDate::decode(bytes) else {
        return;
    };
    let (normalized, violations) = twice(|v| fuzzy_date::normalize(v, "date", &date));
    // With violations the request is refused, whatever `normalize` returned.
    if let (Some(normalized), true) = (normalized, violations.is_empty()) {
        let (earliest, latest) = fuzzy_date::bounds_of(&normalized);
        assert!(earliest <= latest, "bounds out of order: {normalized:?}");
        let (again, violations) = twice(|v| fuzzy_date::normalize(v, "date", &normalized));
        assert!(
            violations.is_empty(),
            "normalized date refused: {violations:?}"
        );
        assert_eq!(
            again.as_ref(),
            Some(&normalized),
            "normalize is not idempotent"
        );
    }
    if let Ok(bounds) = fuzzy_date::parse(&date.edtf) {
        assert!(
            bounds.earliest <= bounds.latest,
            "{:?}: {bounds:?}",
            date.edtf
        );
    }
}

fn runtime_text(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let text = text.as_ref();
    let (id, _) = twice(|v| names::check(v, "name", text, "actors").map(str::to_owned));
    if let Some(id) = id {
        assert!(names::is_valid_id(&id));
        assert_eq!(names::parse(text, "actors"), Some(id.as_str()));
    }
    twice(|v| names::check_optional_id(v, "id", text));
    twice(|v| names::check_request_id(v, "request_id", text));
    twice(|v| names::check_batch(v, &[text.to_owned()], "actors", 10).len());
    twice(|v| text::check_required(v, "text", text, 200));
    twice(|v| text::check_optional(v, "text", text, 200));
    twice(|v| text::check_language_code(v, "language", text));
    twice(|v| text::check_country_alpha3(v, "country", text));
    assert_eq!(text::fold(text), text::fold(text));
    let _ = names::id_of(text);
}

fn update_actor(bytes: &[u8]) {
    let Some((_, Ok((_, patch, paths)))) =
        check::<UpdateActorRequest, _, _>(bytes, actors::read_update_actor)
    else {
        return;
    };
    let mut merged = Actor::default();
    chancery_actors::domain::apply_actor_mask(&mut merged, &patch, &paths);
    twice(|v| chancery_actors::domain::validate_actor(v, "actor", &merged));
}

fn update_communication(bytes: &[u8]) {
    let Some((_, Ok((id, patch, paths)))) =
        check::<UpdateCommunicationRequest, _, _>(bytes, communications::read_update_communication)
    else {
        return;
    };
    let mut merged = Communication::default();
    communication_domain::apply_mask(&mut merged, &patch, &paths);
    twice(|v| communication_domain::validate_communication(v, "communication", &merged, Some(&id)));
}

fn update_statement(bytes: &[u8]) {
    let Some((_, Ok((id, patch, paths)))) =
        check::<UpdateStatementRequest, _, _>(bytes, statements::read_update_statement)
    else {
        return;
    };
    let mut merged = Statement::default();
    statement_domain::apply_statement_mask(&mut merged, &patch, &paths);
    let (valid, violations) = twice(|v| statement_domain::validate_statement(v, &merged, &id));
    assert!(
        valid.is_some() || !violations.is_empty(),
        "no result, no violation"
    );
}

fn update_episode(bytes: &[u8]) {
    let Some((_, Ok((_, patch, paths)))) =
        check::<UpdateEpisodeRequest, _, _>(bytes, episodes::read_update_episode)
    else {
        return;
    };
    let mut merged = Episode::default();
    episodes::apply_mask(&mut merged, &patch, &paths);
    twice(|v| episodes::validate_episode(v, "episode", &merged));
}

fn import_bundle(bytes: &[u8]) {
    let Ok(request) = ImportBundleRequest::decode(bytes) else {
        return;
    };
    let Some(bundle) = &request.bundle else {
        return;
    };
    let outcome = |status: tonic::Status| {
        (
            status.code(),
            status.message().to_owned(),
            status.details().to_vec(),
        )
    };
    let first = bundle::validate(bundle).map_err(outcome);
    assert_eq!(
        first,
        bundle::validate(bundle).map_err(outcome),
        "not deterministic"
    );
    if let Err((code, _, _)) = &first {
        assert_eq!(*code, tonic::Code::InvalidArgument, "{first:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 24 {
        0 => {
            check::<CreateActorRequest, _, _>(bytes, actors::validate_create_actor);
        }
        1 => update_actor(bytes),
        2 => {
            check::<ListActorsRequest, _, _>(bytes, |r| actors::read_list_actors(r).map(page));
        }
        3 => {
            check::<CreatePostRequest, _, _>(bytes, actors::validate_create_post);
        }
        4 => {
            check::<ListPostsRequest, _, _>(bytes, |r| actors::read_list_posts(r).map(page));
        }
        5 => {
            if let Some((_, Ok((_, tenure)))) =
                check::<CreateTenureRequest, _, _>(bytes, actors::validate_create_tenure)
            {
                assert!(tenure.is_some(), "tenure accepted without a result");
            }
        }
        6 => {
            check::<ListTenuresRequest, _, _>(bytes, |r| actors::read_list_tenures(r).map(page));
        }
        7 => {
            check::<ResolveOfficesRequest, _, _>(bytes, actors::read_resolve_offices);
        }
        8 => {
            check::<CreateCommunicationRequest, _, _>(
                bytes,
                communications::validate_create_communication,
            );
        }
        9 => update_communication(bytes),
        10 => {
            check::<AppendStatusRequest, _, _>(bytes, communications::validate_append_status);
        }
        11 => {
            check::<ListCommunicationsRequest, _, _>(bytes, |r| {
                communications::read_list_communications(r).map(page)
            });
        }
        12 => {
            if let Some((_, Ok(valid))) = check::<CreateStatementRequest, _, _>(bytes, |r| {
                statements::validate_create_statement(r, "stm-fuzz")
            }) {
                assert!(valid.is_some(), "statement accepted without a result");
            }
        }
        13 => update_statement(bytes),
        14 => {
            check::<ListStatementsRequest, _, _>(bytes, |r| {
                statements::read_list_statements(r).map(page)
            });
        }
        15 => {
            if let Some((_, Ok(valid))) = check::<CreateSourceDocumentRequest, _, _>(
                bytes,
                statements::validate_create_source_document,
            ) {
                assert!(valid.is_some(), "document accepted without a result");
            }
        }
        16 => {
            check::<ListSourceDocumentsRequest, _, _>(bytes, |r| {
                statements::read_list_source_documents(r).map(page)
            });
        }
        17 => {
            check::<CreateEpisodeRequest, _, _>(bytes, episodes::validate_create_episode);
        }
        18 => update_episode(bytes),
        19 => {
            check::<ListEpisodesRequest, _, _>(bytes, |r| {
                episodes::read_list_episodes(r).map(page)
            });
        }
        20 => {
            check::<GetEpisodeViewRequest, _, _>(bytes, view::read_request);
        }
        21 => import_bundle(bytes),
        22 => fuzzy_date(bytes),
        _ => runtime_text(bytes),
    }
});
