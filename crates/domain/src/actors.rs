//! The rules of actors, posts and tenures. The generated protobuf messages are the resource
//! types; this module decides what a valid one is (every field that can be wrong is checked and
//! each problem reported under its field path), derives what is computed from them (search
//! text, tenure bounds) and answers "did this tenure cover that date?". It does no I/O: rules
//! that need the database (existence of referenced actors, cycles) live in the store.
//!
//! The service's request validators (`read_list_actors`, `validate_create_tenure`, …) are in
//! [`requests`], re-exported here.

use chancery_proto::actors::v1::{
    Actor, ActorKind, ActorName, AnonymousProfile, MediaProfile, MediaType, NameKind, Post,
    PostClass, Tenure, TenureQualifier,
};
use chancery_proto::common::v1::{ExternalId, ExternalIdScheme, LocalizedText, SourceRef};
use chancery_runtime::errors::Violations;
use chancery_runtime::fuzzy_date;
use chancery_runtime::names;
use chancery_runtime::text::{self, check_optional, check_required};

use crate::checks::check_enum;

pub mod requests;
pub use requests::*;

/// Longest display name or title.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Most names per actor.
pub const MAX_NAMES: usize = 100;
/// Most external ids per actor or post.
pub const MAX_EXTERNAL_IDS: usize = 50;
/// Most source references per resource.
pub const MAX_SOURCES: usize = 100;
/// Most names in one batch get, and queries in one office resolution.
pub const MAX_BATCH: usize = 10_000;
/// An open end of a tenure, as stored.
pub const OPEN_END: i64 = i64::MAX;

/// The fields of an actor an update mask may name.
pub const ACTOR_MASK_PATHS: &[&str] = &[
    "kind",
    "display_name",
    "names",
    "external_ids",
    "country",
    "parent",
    "description",
    "media",
    "anonymous",
    "sources",
];

/// The fields of a post an update mask may name.
pub const POST_MASK_PATHS: &[&str] = &[
    "title",
    "titles",
    "post_class",
    "organization",
    "country",
    "external_ids",
];

/// The fields of a tenure an update mask may name.
pub const TENURE_MASK_PATHS: &[&str] = &[
    "post",
    "start",
    "end",
    "qualifier",
    "on_behalf_of",
    "sources",
];

/// References an actor makes to other actors, which must exist.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ActorReferences {
    /// Id of the parent actor, or empty.
    pub parent_id: String,
    /// Id of the anonymous source's affiliation, or empty.
    pub affiliation_id: String,
}

/// Checks external ids against their schemes' syntax, and for duplicates.
pub fn check_external_ids(violations: &mut Violations, field: &str, ids: &[ExternalId]) {
    if ids.len() > MAX_EXTERNAL_IDS {
        violations.add(
            field,
            format!("must have at most {MAX_EXTERNAL_IDS} entries"),
        );
        return;
    }
    for (i, id) in ids.iter().enumerate() {
        let field = format!("{field}[{i}]");
        check_enum::<ExternalIdScheme>(violations, &format!("{field}.scheme"), id.scheme, true);
        let value = id.value.as_str();
        let all = |f: fn(&u8) -> bool| !value.is_empty() && value.as_bytes().iter().all(f);
        let (ok, expected) = match ExternalIdScheme::try_from(id.scheme) {
            Ok(ExternalIdScheme::Wikidata) => (
                value.len() <= 12
                    && value.starts_with('Q')
                    && value.len() > 1
                    && !value[1..].starts_with('0')
                    && value[1..].bytes().all(|b| b.is_ascii_digit()),
                "a Wikidata item id such as `Q3052772`",
            ),
            Ok(ExternalIdScheme::Iso3166Alpha2) => (
                value.len() == 2 && all(u8::is_ascii_uppercase),
                "two capital letters such as `FR`",
            ),
            Ok(ExternalIdScheme::Iso3166Alpha3) => (
                value.len() == 3 && all(u8::is_ascii_uppercase),
                "three capital letters such as `FRA`",
            ),
            Ok(ExternalIdScheme::Cameo) => (
                (3..=15).contains(&value.len()) && all(u8::is_ascii_uppercase),
                "3 to 15 capital letters such as `FRAGOV`",
            ),
            Ok(ExternalIdScheme::Geonames | ExternalIdScheme::Viaf) => {
                (value.len() <= 20 && all(u8::is_ascii_digit), "digits")
            }
            Ok(ExternalIdScheme::Website) => (
                value.len() <= 2000
                    && (value.starts_with("https://") || value.starts_with("http://"))
                    && all(u8::is_ascii_graphic),
                "an absolute http(s) URL",
            ),
            Ok(ExternalIdScheme::Other) => (
                value.len() <= 200 && value.contains(':') && all(u8::is_ascii_graphic),
                "`register:id` without spaces",
            ),
            _ => (true, ""),
        };
        if !ok {
            violations.add(
                format!("{field}.value"),
                format!("must be {expected} (got {value:?})"),
            );
        }
        if ids[..i]
            .iter()
            .any(|earlier| earlier.scheme == id.scheme && earlier.value == id.value)
        {
            violations.add(field, "repeats an earlier external id");
        }
    }
}

/// Checks source references: a document name and an optional excerpt.
pub fn check_sources(violations: &mut Violations, field: &str, sources: &[SourceRef]) {
    if sources.len() > MAX_SOURCES {
        violations.add(field, format!("must have at most {MAX_SOURCES} entries"));
        return;
    }
    for (i, source) in sources.iter().enumerate() {
        names::check(
            violations,
            &format!("{field}[{i}].document"),
            &source.document,
            "documents",
        );
        check_optional(
            violations,
            &format!("{field}[{i}].excerpt"),
            &source.excerpt,
            MAX_DESCRIPTION_CHARS,
        );
    }
}

fn check_localized(violations: &mut Violations, field: &str, texts: &[LocalizedText]) {
    if texts.len() > MAX_NAMES {
        violations.add(field, format!("must have at most {MAX_NAMES} entries"));
        return;
    }
    for (i, localized) in texts.iter().enumerate() {
        text::check_language_code(
            violations,
            &format!("{field}[{i}].language_code"),
            &localized.language_code,
        );
        check_required(
            violations,
            &format!("{field}[{i}].text"),
            &localized.text,
            MAX_NAME_CHARS,
        );
    }
}

/// Validates an actor's own fields (not whether the actors it names exist) and returns the
/// references the store must check. `field` is the path of the actor in the request.
pub fn validate_actor(violations: &mut Violations, field: &str, actor: &Actor) -> ActorReferences {
    let at = |name: &str| format!("{field}.{name}");
    check_enum::<ActorKind>(violations, &at("kind"), actor.kind, true);
    check_required(
        violations,
        &at("display_name"),
        &actor.display_name,
        MAX_NAME_CHARS,
    );
    check_actor_names(violations, &at("names"), &actor.names);
    check_external_ids(violations, &at("external_ids"), &actor.external_ids);
    if !actor.country.is_empty() {
        text::check_country_alpha3(violations, &at("country"), &actor.country);
    }
    let parent_id = names::check_optional(violations, &at("parent"), &actor.parent, "actors")
        .unwrap_or_default()
        .to_owned();
    check_optional(
        violations,
        &at("description"),
        &actor.description,
        MAX_DESCRIPTION_CHARS,
    );

    let kind = ActorKind::try_from(actor.kind).ok();
    check_media(violations, &at("media"), actor.media.as_ref(), kind);
    let affiliation_id =
        check_anonymous(violations, &at("anonymous"), actor.anonymous.as_ref(), kind);
    check_sources(violations, &at("sources"), &actor.sources);
    ActorReferences {
        parent_id,
        affiliation_id,
    }
}

/// Checks an actor's names, listed at `field`: at most [`MAX_NAMES`], each a text, an optional
/// language and a kind.
fn check_actor_names(violations: &mut Violations, field: &str, names_: &[ActorName]) {
    if names_.len() > MAX_NAMES {
        violations.add(field, format!("must have at most {MAX_NAMES} entries"));
        return;
    }
    for (i, name) in names_.iter().enumerate() {
        check_required(
            violations,
            &format!("{field}[{i}].text"),
            &name.text,
            MAX_NAME_CHARS,
        );
        if !name.language_code.is_empty() {
            text::check_language_code(
                violations,
                &format!("{field}[{i}].language_code"),
                &name.language_code,
            );
        }
        check_enum::<NameKind>(violations, &format!("{field}[{i}].kind"), name.kind, true);
    }
}

/// Checks an actor's media profile, at `field`: required for a media outlet, and only for one.
fn check_media(
    violations: &mut Violations,
    field: &str,
    media: Option<&MediaProfile>,
    kind: Option<ActorKind>,
) {
    match (media, kind) {
        (Some(media), Some(ActorKind::MediaOutlet)) => {
            check_enum::<MediaType>(
                violations,
                &format!("{field}.media_type"),
                media.media_type,
                true,
            );
        }
        (None, Some(ActorKind::MediaOutlet)) => {
            violations.add(
                field,
                "is required for a media outlet: say what kind of outlet it is",
            );
        }
        (Some(_), _) => violations.add(field, "is only for actors of kind ACTOR_KIND_MEDIA_OUTLET"),
        (None, _) => {}
    }
}

/// Checks an actor's anonymous-source profile, at `field`: required for an anonymous source,
/// and only for one. Returns the id of its affiliation (or empty).
fn check_anonymous(
    violations: &mut Violations,
    field: &str,
    anonymous: Option<&AnonymousProfile>,
    kind: Option<ActorKind>,
) -> String {
    match (anonymous, kind) {
        (Some(anonymous), Some(ActorKind::AnonymousSource)) => {
            check_required(
                violations,
                &format!("{field}.descriptor"),
                &anonymous.descriptor,
                MAX_NAME_CHARS,
            );
            return names::check_optional(
                violations,
                &format!("{field}.affiliation"),
                &anonymous.affiliation,
                "actors",
            )
            .unwrap_or_default()
            .to_owned();
        }
        (None, Some(ActorKind::AnonymousSource)) => {
            violations.add(
                field,
                "is required for an anonymous source: give at least its descriptor",
            );
        }
        (Some(_), _) => violations.add(
            field,
            "is only for actors of kind ACTOR_KIND_ANONYMOUS_SOURCE",
        ),
        (None, _) => {}
    }
    String::new()
}

/// Copies the fields named by `paths` from `patch` onto `current` (`*` copies them all).
pub fn apply_actor_mask(current: &mut Actor, patch: &Actor, paths: &[String]) {
    let all = paths.iter().any(|p| p == "*");
    let wants = |field: &str| all || paths.iter().any(|p| p == field);
    if wants("kind") {
        current.kind = patch.kind;
    }
    if wants("display_name") {
        current.display_name.clone_from(&patch.display_name);
    }
    if wants("names") {
        current.names.clone_from(&patch.names);
    }
    if wants("external_ids") {
        current.external_ids.clone_from(&patch.external_ids);
    }
    if wants("country") {
        current.country.clone_from(&patch.country);
    }
    if wants("parent") {
        current.parent.clone_from(&patch.parent);
    }
    if wants("description") {
        current.description.clone_from(&patch.description);
    }
    if wants("media") {
        current.media = patch.media;
    }
    if wants("anonymous") {
        current.anonymous.clone_from(&patch.anonymous);
    }
    if wants("sources") {
        current.sources.clone_from(&patch.sources);
    }
}

/// The mask implied by an update without one (AIP-134): every field the patch sets.
pub fn implied_actor_mask(patch: &Actor) -> Vec<String> {
    let set = [
        ("kind", patch.kind != 0),
        ("display_name", !patch.display_name.is_empty()),
        ("names", !patch.names.is_empty()),
        ("external_ids", !patch.external_ids.is_empty()),
        ("country", !patch.country.is_empty()),
        ("parent", !patch.parent.is_empty()),
        ("description", !patch.description.is_empty()),
        ("media", patch.media.is_some()),
        ("anonymous", patch.anonymous.is_some()),
        ("sources", !patch.sources.is_empty()),
    ];
    set.iter()
        .filter(|(_, is_set)| *is_set)
        .map(|(path, _)| (*path).to_owned())
        .collect()
}

/// Copies the fields of a post named by `paths` from `patch` onto `current` (`*` copies them
/// all).
pub fn apply_post_mask(current: &mut Post, patch: &Post, paths: &[String]) {
    let all = paths.iter().any(|p| p == "*");
    let wants = |field: &str| all || paths.iter().any(|p| p == field);
    if wants("title") {
        current.title.clone_from(&patch.title);
    }
    if wants("titles") {
        current.titles.clone_from(&patch.titles);
    }
    if wants("post_class") {
        current.post_class = patch.post_class;
    }
    if wants("organization") {
        current.organization.clone_from(&patch.organization);
    }
    if wants("country") {
        current.country.clone_from(&patch.country);
    }
    if wants("external_ids") {
        current.external_ids.clone_from(&patch.external_ids);
    }
}

/// The mask implied by a post update without one (AIP-134): every field the patch sets.
pub fn implied_post_mask(patch: &Post) -> Vec<String> {
    let set = [
        ("title", !patch.title.is_empty()),
        ("titles", !patch.titles.is_empty()),
        ("post_class", patch.post_class != 0),
        ("organization", !patch.organization.is_empty()),
        ("country", !patch.country.is_empty()),
        ("external_ids", !patch.external_ids.is_empty()),
    ];
    set.iter()
        .filter(|(_, is_set)| *is_set)
        .map(|(path, _)| (*path).to_owned())
        .collect()
}

/// Copies the fields of a tenure named by `paths` from `patch` onto `current` (`*` copies them
/// all). Replacing `start` or `end` with an unset date makes the start unknown or the end open.
pub fn apply_tenure_mask(current: &mut Tenure, patch: &Tenure, paths: &[String]) {
    let all = paths.iter().any(|p| p == "*");
    let wants = |field: &str| all || paths.iter().any(|p| p == field);
    if wants("post") {
        current.post.clone_from(&patch.post);
    }
    if wants("start") {
        current.start.clone_from(&patch.start);
    }
    if wants("end") {
        current.end.clone_from(&patch.end);
    }
    if wants("qualifier") {
        current.qualifier = patch.qualifier;
    }
    if wants("on_behalf_of") {
        current.on_behalf_of.clone_from(&patch.on_behalf_of);
    }
    if wants("sources") {
        current.sources.clone_from(&patch.sources);
    }
}

/// The mask implied by a tenure update without one (AIP-134): every field the patch sets.
pub fn implied_tenure_mask(patch: &Tenure) -> Vec<String> {
    let set = [
        ("post", !patch.post.is_empty()),
        ("start", patch.start.is_some()),
        ("end", patch.end.is_some()),
        ("qualifier", patch.qualifier != 0),
        ("on_behalf_of", !patch.on_behalf_of.is_empty()),
        ("sources", !patch.sources.is_empty()),
    ];
    set.iter()
        .filter(|(_, is_set)| *is_set)
        .map(|(path, _)| (*path).to_owned())
        .collect()
}

/// The text name searches run against: every name of the actor, folded, separated by U+001F.
pub fn search_text(actor: &Actor) -> String {
    let mut parts = vec![text::fold(&actor.display_name)];
    parts.extend(actor.names.iter().map(|n| text::fold(&n.text)));
    if let Some(anonymous) = &actor.anonymous {
        parts.push(text::fold(&anonymous.descriptor));
    }
    parts.join("\u{1f}")
}

/// Validates a post's own fields; returns the id of its organization (or empty).
pub fn validate_post(violations: &mut Violations, post: &Post) -> String {
    check_required(violations, "post.title", &post.title, MAX_NAME_CHARS);
    check_localized(violations, "post.titles", &post.titles);
    check_enum::<PostClass>(violations, "post.post_class", post.post_class, true);
    if !post.country.is_empty() {
        text::check_country_alpha3(violations, "post.country", &post.country);
    }
    check_external_ids(violations, "post.external_ids", &post.external_ids);
    names::check_optional(
        violations,
        "post.organization",
        &post.organization,
        "actors",
    )
    .unwrap_or_default()
    .to_owned()
}

/// A tenure checked and with its dates normalized, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidTenure {
    /// The tenure with derived date fields filled in.
    pub tenure: Tenure,
    /// Id of the post held.
    pub post_id: String,
    /// Id of the actor it was held on behalf of, or empty.
    pub on_behalf_of_id: String,
    /// Bounds of the start, microseconds; [`UNKNOWN_START`] when the source does not give it
    /// (so tenures of unknown start sort first by their earliest bound).
    pub start: (i64, i64),
    /// Bounds of the end, microseconds; [`OPEN_END`] twice while it goes on.
    pub end: (i64, i64),
}

/// The bounds of a start the source does not give: it may lie at any time (before the end).
pub const UNKNOWN_START: (i64, i64) = (i64::MIN, i64::MAX);

/// Validates a tenure's own fields and normalizes its dates. `tenure` is the path of the tenure
/// in both `CreateTenureRequest` and `UpdateTenureRequest`. An unset start, or one written
/// `{source: DATE_SOURCE_UNKNOWN}` without `edtf`, is an unknown start.
pub fn validate_tenure(violations: &mut Violations, tenure: &Tenure) -> Option<ValidTenure> {
    let post_id = names::check(violations, "tenure.post", &tenure.post, "posts").map(str::to_owned);
    // `Some(None)`: the start is unknown; `None`: the start is invalid (already reported).
    let start = match &tenure.start {
        Some(start) => fuzzy_date::normalize(violations, "tenure.start", start).map(Some),
        None => Some(None),
    };
    let end = tenure
        .end
        .as_ref()
        .map(|end| fuzzy_date::normalize(violations, "tenure.end", end));
    check_enum::<TenureQualifier>(violations, "tenure.qualifier", tenure.qualifier, false);
    let on_behalf_of_id = names::check_optional(
        violations,
        "tenure.on_behalf_of",
        &tenure.on_behalf_of,
        "actors",
    )
    .unwrap_or_default()
    .to_owned();
    check_sources(violations, "tenure.sources", &tenure.sources);

    let start = start?;
    let end = match end {
        Some(None) => return None,
        Some(Some(end)) => Some(end),
        None => None,
    };
    let start_bounds = start.as_ref().map_or(UNKNOWN_START, fuzzy_date::bounds_of);
    let end_bounds = end
        .as_ref()
        .map_or((OPEN_END, OPEN_END), fuzzy_date::bounds_of);
    if end_bounds.1 < start_bounds.0 {
        violations.add("tenure.end", "must not end before the tenure starts");
        return None;
    }
    let post_id = post_id?;
    Some(ValidTenure {
        tenure: Tenure {
            start,
            end,
            ..tenure.clone()
        },
        post_id,
        on_behalf_of_id,
        start: start_bounds,
        end: end_bounds,
    })
}

/// Whether a tenure with these bounds may cover the date `(earliest, latest)`, and whether it
/// surely covers all of it. A start whose latest bound is unknown (an unknown start) may lie
/// anywhere before the end, so such a tenure covers a date only possibly, never certainly.
pub fn covers(start: (i64, i64), end: (i64, i64), date: (i64, i64)) -> Option<bool> {
    let may = start.0 <= date.1 && end.1 >= date.0;
    let start_known = start.1 != UNKNOWN_START.1;
    may.then_some(start_known && start.1 <= date.0 && end.0 >= date.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_proto::actors::v1::{ActorName, AnonymousProfile, MediaProfile};
    use chancery_proto::common::v1::FuzzyDate;

    fn fields(violations: &Violations) -> Vec<String> {
        violations.iter().map(|v| v.field.clone()).collect()
    }

    fn macron() -> Actor {
        Actor {
            kind: ActorKind::Person as i32,
            display_name: "Emmanuel Macron".into(),
            names: vec![ActorName {
                text: "Macron".into(),
                language_code: "fr".into(),
                kind: NameKind::Alias as i32,
            }],
            external_ids: vec![ExternalId {
                scheme: ExternalIdScheme::Wikidata as i32,
                value: "Q3052772".into(),
            }],
            country: "FRA".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_actor_passes() {
        let mut violations = Violations::default();
        let references = validate_actor(&mut violations, "actor", &macron());
        assert!(violations.is_empty(), "{violations}");
        assert_eq!(references, ActorReferences::default());
    }

    #[test]
    fn an_empty_actor_names_each_missing_field() {
        let mut violations = Violations::default();
        validate_actor(&mut violations, "actor", &Actor::default());
        assert_eq!(fields(&violations), ["actor.kind", "actor.display_name"]);
    }

    #[test]
    fn every_wrong_field_is_reported_with_its_path() {
        let actor = Actor {
            kind: 42,
            display_name: "x".repeat(201),
            names: vec![ActorName {
                text: String::new(),
                language_code: "not a tag".into(),
                kind: 0,
            }],
            external_ids: vec![
                ExternalId {
                    scheme: ExternalIdScheme::Wikidata as i32,
                    value: "3052772".into(),
                },
                ExternalId {
                    scheme: ExternalIdScheme::Iso3166Alpha3 as i32,
                    value: "fr".into(),
                },
                ExternalId {
                    scheme: 0,
                    value: "x".into(),
                },
            ],
            country: "France".into(),
            parent: "people/x".into(),
            media: Some(MediaProfile::default()),
            sources: vec![SourceRef {
                document: "doc".into(),
                excerpt: String::new(),
            }],
            ..Default::default()
        };
        let mut violations = Violations::default();
        validate_actor(&mut violations, "actor", &actor);
        assert_eq!(
            fields(&violations),
            [
                "actor.kind",
                "actor.display_name",
                "actor.names[0].text",
                "actor.names[0].language_code",
                "actor.names[0].kind",
                "actor.external_ids[0].value",
                "actor.external_ids[1].value",
                "actor.external_ids[2].scheme",
                "actor.country",
                "actor.parent",
                "actor.media",
                "actor.sources[0].document",
            ]
        );
    }

    #[test]
    fn profiles_belong_to_their_kinds() {
        let mut violations = Violations::default();
        let outlet = Actor {
            kind: ActorKind::MediaOutlet as i32,
            display_name: "TASS".into(),
            ..Default::default()
        };
        validate_actor(&mut violations, "actor", &outlet);
        let anonymous = Actor {
            kind: ActorKind::AnonymousSource as i32,
            display_name: "a French Presidency official".into(),
            anonymous: Some(AnonymousProfile {
                descriptor: String::new(),
                affiliation: "actors/elysee".into(),
                plural: false,
            }),
            ..Default::default()
        };
        let references = validate_actor(&mut violations, "actor", &anonymous);
        assert_eq!(
            fields(&violations),
            ["actor.media", "actor.anonymous.descriptor"]
        );
        assert_eq!(references.affiliation_id, "elysee");
    }

    #[test]
    fn masks_copy_only_named_fields() {
        let mut current = macron();
        let patch = Actor {
            display_name: "E. Macron".into(),
            country: String::new(),
            ..Default::default()
        };
        apply_actor_mask(&mut current, &patch, &["display_name".to_owned()]);
        assert_eq!(current.display_name, "E. Macron");
        assert_eq!(current.country, "FRA");
        assert_eq!(implied_actor_mask(&patch), ["display_name"]);
        apply_actor_mask(&mut current, &patch, &["*".to_owned()]);
        assert_eq!(current.country, "");
    }

    #[test]
    fn search_text_folds_every_name() {
        assert_eq!(search_text(&macron()), "emmanuel macron\u{1f}macron");
    }

    #[test]
    fn tenures_need_a_post_and_a_start_not_after_their_end() {
        let mut violations = Violations::default();
        assert!(validate_tenure(&mut violations, &Tenure::default()).is_none());
        assert_eq!(fields(&violations), ["tenure.post"]);

        let mut violations = Violations::default();
        let backwards = Tenure {
            post: "posts/president-of-france".into(),
            start: Some(FuzzyDate {
                edtf: "2017-05-14".into(),
                ..Default::default()
            }),
            end: Some(FuzzyDate {
                edtf: "2017-05-13".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(validate_tenure(&mut violations, &backwards).is_none());
        assert_eq!(fields(&violations), ["tenure.end"]);

        let mut violations = Violations::default();
        let open = Tenure {
            end: None,
            ..backwards
        };
        let valid = validate_tenure(&mut violations, &open).unwrap();
        assert_eq!(valid.end, (OPEN_END, OPEN_END));
        assert_eq!(valid.post_id, "president-of-france");
    }

    #[test]
    fn a_tenure_may_have_an_unknown_start() {
        let mut violations = Violations::default();
        let unknown = Tenure {
            post: "posts/spokesperson".into(),
            start: None,
            end: Some(FuzzyDate {
                edtf: "2020-06-30".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let valid = validate_tenure(&mut violations, &unknown).unwrap();
        assert!(violations.is_empty(), "{violations}");
        assert_eq!(valid.start, UNKNOWN_START);
        assert_eq!(valid.tenure.start, None);
        assert!(valid.end.0 > i64::MIN && valid.end.1 < OPEN_END);

        let written = Tenure {
            start: Some(FuzzyDate {
                source: chancery_proto::common::v1::DateSource::Unknown as i32,
                ..Default::default()
            }),
            ..unknown
        };
        let valid = validate_tenure(&mut violations, &written).unwrap();
        assert!(violations.is_empty(), "{violations}");
        assert_eq!(valid.start, UNKNOWN_START);
        assert!(valid.tenure.start.unwrap().earliest.is_none());
    }

    #[test]
    fn an_unknown_start_covers_every_date_before_the_end_and_none_certainly() {
        let day = |d: &str| {
            fuzzy_date::parse(d)
                .map(|b| (b.earliest, b.latest))
                .unwrap()
        };
        let end = day("2020-06-30");
        assert_eq!(covers(UNKNOWN_START, end, day("1900")), Some(false));
        assert_eq!(covers(UNKNOWN_START, end, day("2020-06-30")), Some(false));
        assert_eq!(covers(UNKNOWN_START, end, day("2020-07-01")), None);
        let open = (OPEN_END, OPEN_END);
        assert_eq!(covers(UNKNOWN_START, open, day("2024-01-01")), Some(false));
        // An exact instant end and the same instant asked: still not certain.
        let instant = (end.1, end.1);
        assert_eq!(covers(UNKNOWN_START, instant, instant), Some(false));
        // A start known only as "on or before" a day is certain after that day.
        let on_or_before = (i64::MIN, day("2017-05-14").1);
        assert_eq!(covers(on_or_before, open, day("2018")), Some(true));
    }

    #[test]
    fn post_and_tenure_masks_copy_only_named_fields() {
        let mut post = Post {
            title: "President".into(),
            post_class: PostClass::HeadOfState as i32,
            country: "FRA".into(),
            ..Default::default()
        };
        let patch = Post {
            title: "President of the French Republic".into(),
            ..Default::default()
        };
        assert_eq!(implied_post_mask(&patch), ["title"]);
        apply_post_mask(&mut post, &patch, &implied_post_mask(&patch));
        assert_eq!(post.title, "President of the French Republic");
        assert_eq!(post.country, "FRA");
        apply_post_mask(&mut post, &patch, &["*".to_owned()]);
        assert_eq!((post.post_class, post.country.as_str()), (0, ""));

        let mut tenure = Tenure {
            post: "posts/a".into(),
            start: Some(FuzzyDate {
                edtf: "2017".into(),
                ..Default::default()
            }),
            qualifier: TenureQualifier::Acting as i32,
            ..Default::default()
        };
        let patch = Tenure {
            post: "posts/b".into(),
            ..Default::default()
        };
        assert_eq!(implied_tenure_mask(&patch), ["post"]);
        apply_tenure_mask(
            &mut tenure,
            &patch,
            &["post".to_owned(), "start".to_owned()],
        );
        assert_eq!(tenure.post, "posts/b");
        assert_eq!(
            tenure.start, None,
            "a start in the mask but not the patch is unset"
        );
        assert_eq!(tenure.qualifier, TenureQualifier::Acting as i32);
        for path in POST_MASK_PATHS.iter().chain(TENURE_MASK_PATHS) {
            assert!(!["name", "etag", "create_time"].contains(path));
        }
    }

    #[test]
    fn coverage_distinguishes_certain_from_possible() {
        let day = |d: &str| {
            fuzzy_date::parse(d)
                .map(|b| (b.earliest, b.latest))
                .unwrap()
        };
        let open = (OPEN_END, OPEN_END);
        assert_eq!(
            covers(day("2017-05-14"), open, day("2022-03-29")),
            Some(true)
        );
        assert_eq!(covers(day("2022-03"), open, day("2022-03-10")), Some(false));
        assert_eq!(covers(day("2022-04-01"), open, day("2022-03-29")), None);
        assert_eq!(
            covers(day("2005-11-22"), day("2021-12-08"), day("2022-03-12")),
            None
        );
    }
}
