//! What an import checks before its first write: every field of every resource, by the same
//! rules its owning service applies (`chancery-domain`), and every reference, which must name a
//! resource of the bundle or one the suite already holds. And which actors of the bundle nothing
//! else of the episode leads to, so the episode keeps them (`Episode.other_actors`).

use std::collections::{BTreeSet, HashMap, HashSet};

use chancery_domain::{actors, communications, statements};
use chancery_proto::gateway::v1::Bundle;
use chancery_runtime::errors::Violations;
use chancery_runtime::names::id_of;

use super::references::{self, References, Target};

/// Moves `found` into `into`, each path under the backend's field `from` (`post`, `statement`)
/// put under the bundle's path `to` (`bundle.posts[2]`).
fn moved(found: Violations, from: &str, to: &str, into: &mut Violations) {
    for violation in found.iter() {
        let field = match violation.field.strip_prefix(from) {
            Some(rest) if rest.is_empty() || rest.starts_with(['.', '[']) => format!("{to}{rest}"),
            _ => to.to_owned(),
        };
        into.add(field, violation.description.clone());
    }
}

/// Validates every field of every resource of the bundle as its service would on create, with
/// paths under `bundle.` (`bundle.statements[4].content.quoted_spans[0].end`). The episode and
/// the bundle's names are checked by the import's own validation.
pub(super) fn check_fields(bundle: &Bundle, violations: &mut Violations) {
    let mut external_ids: HashMap<(i32, &str), usize> = HashMap::new();
    for (i, actor) in bundle.actors.iter().enumerate() {
        actors::validate_actor(violations, &format!("bundle.actors[{i}]"), actor);
        for (k, external) in actor.external_ids.iter().enumerate() {
            if let Some(first) = external_ids.insert((external.scheme, &external.value), i)
                && first != i
            {
                violations.add(
                    format!("bundle.actors[{i}].external_ids[{k}]"),
                    format!(
                        "{} is also an external id of bundle.actors[{first}]; an external id belongs to one actor",
                        external.value
                    ),
                );
            }
        }
    }
    for (i, post) in bundle.posts.iter().enumerate() {
        let mut found = Violations::default();
        actors::validate_post(&mut found, post);
        moved(found, "post", &format!("bundle.posts[{i}]"), violations);
    }
    for (i, tenure) in bundle.tenures.iter().enumerate() {
        let mut found = Violations::default();
        actors::validate_tenure(&mut found, tenure);
        moved(found, "tenure", &format!("bundle.tenures[{i}]"), violations);
    }
    for (i, document) in bundle.documents.iter().enumerate() {
        let mut found = Violations::default();
        statements::validate_document(&mut found, document);
        moved(
            found,
            "source_document",
            &format!("bundle.documents[{i}]"),
            violations,
        );
    }
    for (i, communication) in bundle.communications.iter().enumerate() {
        let at = format!("bundle.communications[{i}]");
        let id = id_of(&communication.name);
        communications::validate_communication(violations, &at, communication, Some(id));
        communications::validate_status_log(
            violations,
            &format!("{at}.status_log"),
            &communication.status_log,
        );
    }
    for (i, statement) in bundle.statements.iter().enumerate() {
        let mut found = Violations::default();
        statements::validate_statement(&mut found, statement, id_of(&statement.name));
        moved(
            found,
            "statement",
            &format!("bundle.statements[{i}]"),
            violations,
        );
    }
}

/// The names of each collection the bundle holds.
#[derive(Debug, Default)]
pub(super) struct InBundle<'a> {
    names: HashMap<Target, HashSet<&'a str>>,
}

impl<'a> InBundle<'a> {
    /// The names of `bundle`'s resources, by collection.
    pub(super) fn of(bundle: &'a Bundle) -> Self {
        let mut names: HashMap<Target, HashSet<&'a str>> = HashMap::new();
        let mut add = |target, name: &'a str| {
            names.entry(target).or_default().insert(name);
        };
        bundle
            .actors
            .iter()
            .for_each(|a| add(Target::Actor, &a.name));
        bundle.posts.iter().for_each(|p| add(Target::Post, &p.name));
        bundle
            .documents
            .iter()
            .for_each(|d| add(Target::Document, &d.name));
        bundle
            .communications
            .iter()
            .for_each(|c| add(Target::Communication, &c.name));
        bundle
            .statements
            .iter()
            .for_each(|s| add(Target::Statement, &s.name));
        Self { names }
    }

    /// Whether the bundle holds `name` of `target`'s collection.
    pub(super) fn has(&self, target: Target, name: &str) -> bool {
        self.names
            .get(&target)
            .is_some_and(|names| names.contains(name))
    }
}

/// Every reference of the bundle, each with the bundle path of its resource (`bundle.tenures[2]`
/// for a tenure; its actor, named by its name, counts as a reference at `.name`).
pub(super) fn all_references(bundle: &Bundle) -> Vec<(String, References<'_>)> {
    let mut all = Vec::new();
    if let Some(episode) = &bundle.episode {
        all.push(("bundle.episode".to_owned(), references::of_episode(episode)));
    }
    for (i, actor) in bundle.actors.iter().enumerate() {
        all.push((format!("bundle.actors[{i}]"), references::of_actor(actor)));
    }
    for (i, post) in bundle.posts.iter().enumerate() {
        all.push((format!("bundle.posts[{i}]"), references::of_post(post)));
    }
    for (i, tenure) in bundle.tenures.iter().enumerate() {
        let mut refs = references::of_tenure(tenure);
        if let Some((actor, _)) = tenure.name.split_once("/tenures/") {
            refs.0.push(references::Reference {
                field: "name".to_owned(),
                name: actor,
                target: Target::Actor,
            });
        }
        all.push((format!("bundle.tenures[{i}]"), refs));
    }
    for (i, document) in bundle.documents.iter().enumerate() {
        all.push((
            format!("bundle.documents[{i}]"),
            references::of_document(document),
        ));
    }
    for (i, communication) in bundle.communications.iter().enumerate() {
        all.push((
            format!("bundle.communications[{i}]"),
            references::of_communication(communication),
        ));
    }
    for (i, statement) in bundle.statements.iter().enumerate() {
        all.push((
            format!("bundle.statements[{i}]"),
            references::of_statement(statement),
        ));
    }
    all
}

/// The names outside the bundle that its references need, by collection: what the import must
/// read from the suite to know they exist.
pub(super) fn outside_names(bundle: &Bundle) -> HashMap<Target, BTreeSet<String>> {
    let in_bundle = InBundle::of(bundle);
    let mut outside: HashMap<Target, BTreeSet<String>> = HashMap::new();
    for (_, refs) in all_references(bundle) {
        for reference in refs.0 {
            if !in_bundle.has(reference.target, reference.name) {
                outside
                    .entry(reference.target)
                    .or_default()
                    .insert(reference.name.to_owned());
            }
        }
    }
    outside
}

/// Records a violation for each reference that names neither a resource of the bundle nor one
/// `exists` says the suite holds.
pub(super) fn check_references(
    bundle: &Bundle,
    exists: impl Fn(Target, &str) -> bool,
    violations: &mut Violations,
) {
    let in_bundle = InBundle::of(bundle);
    for (path, refs) in all_references(bundle) {
        for reference in refs.0 {
            if in_bundle.has(reference.target, reference.name)
                || exists(reference.target, reference.name)
            {
                continue;
            }
            violations.add(
                format!("{path}.{}", reference.field),
                format!(
                    "{} is neither in the bundle nor in the {} service",
                    reference.name,
                    reference.target.service()
                ),
            );
        }
    }
}

/// The actors of the bundle that an export of its episode would not reach from the episode's
/// members and actors of interest, in bundle order: the episode records them in `other_actors`
/// so it keeps every actor its bundle brought. The walk follows what an export follows:
/// members to the communications and statements they name, those to the actors and documents
/// they name, actors to their parents, affiliations, sources and tenures, tenures to their posts
/// and principals, posts to their organizations, documents to their publishers, authors and
/// credited actors.
pub(super) fn unreached_actors(bundle: &Bundle) -> Vec<String> {
    let Some(episode) = &bundle.episode else {
        return Vec::new();
    };
    let communications: HashMap<&str, _> = bundle
        .communications
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect();
    let statements: HashMap<&str, _> = bundle
        .statements
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let actors: HashMap<&str, _> = bundle.actors.iter().map(|a| (a.name.as_str(), a)).collect();
    let documents: HashMap<&str, _> = bundle
        .documents
        .iter()
        .map(|d| (d.name.as_str(), d))
        .collect();
    let posts: HashMap<&str, _> = bundle.posts.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut tenures_of: HashMap<&str, Vec<_>> = HashMap::new();
    for tenure in &bundle.tenures {
        if let Some((actor, _)) = tenure.name.split_once("/tenures/") {
            tenures_of.entry(actor).or_default().push(tenure);
        }
    }

    let mut reached: HashSet<(Target, &str)> = HashSet::new();
    let mut queue: Vec<(Target, &str)> = references::of_episode(episode)
        .0
        .into_iter()
        .map(|r| (r.target, r.name))
        .collect();
    while let Some((target, name)) = queue.pop() {
        if !reached.insert((target, name)) {
            continue;
        }
        let refs = match target {
            Target::Communication => communications
                .get(name)
                .map(|c| references::of_communication(c)),
            Target::Statement => statements.get(name).map(|s| references::of_statement(s)),
            Target::Document => documents.get(name).map(|d| references::of_document(d)),
            Target::Post => posts.get(name).map(|p| references::of_post(p)),
            Target::Actor => {
                for tenure in tenures_of.get(name).into_iter().flatten() {
                    queue.extend(
                        references::of_tenure(tenure)
                            .0
                            .into_iter()
                            .map(|r| (r.target, r.name)),
                    );
                }
                actors.get(name).map(|a| references::of_actor(a))
            }
        };
        if let Some(refs) = refs {
            queue.extend(refs.0.into_iter().map(|r| (r.target, r.name)));
        }
    }
    bundle
        .actors
        .iter()
        .filter(|a| !reached.contains(&(Target::Actor, a.name.as_str())))
        .map(|a| a.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_proto::actors::v1::{Actor, Tenure};
    use chancery_proto::gateway::v1::Episode;
    use chancery_proto::statements::v1::{SourceDocument, Statement};

    fn actor(name: &str, parent: &str) -> Actor {
        Actor {
            name: format!("actors/{name}"),
            parent: if parent.is_empty() {
                String::new()
            } else {
                format!("actors/{parent}")
            },
            ..Default::default()
        }
    }

    #[test]
    fn actors_reached_through_members_parents_documents_and_tenures_are_not_other_actors() {
        let bundle = Bundle {
            episode: Some(Episode {
                statements: vec!["statements/s".into()],
                ..Default::default()
            }),
            actors: vec![
                actor("speaker", "ministry"),
                actor("ministry", ""),
                actor("publisher", ""),
                actor("author", ""),
                actor("principal", ""),
                actor("bystander", ""),
            ],
            tenures: vec![Tenure {
                name: "actors/speaker/tenures/t".into(),
                on_behalf_of: "actors/principal".into(),
                ..Default::default()
            }],
            documents: vec![SourceDocument {
                name: "documents/d".into(),
                publisher: "actors/publisher".into(),
                author_actors: vec!["actors/author".into()],
                ..Default::default()
            }],
            statements: vec![Statement {
                name: "statements/s".into(),
                speaker: "actors/speaker".into(),
                attribution_chain: vec![chancery_proto::statements::v1::AttributionHop {
                    reporter: "actors/publisher".into(),
                    document: "documents/d".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(unreached_actors(&bundle), ["actors/bystander"]);
    }

    #[test]
    fn references_to_nothing_are_named_with_their_bundle_path() {
        let bundle = Bundle {
            episode: Some(Episode {
                actors_of_interest: vec!["actors/ghost".into()],
                ..Default::default()
            }),
            actors: vec![actor("a", "nobody")],
            tenures: vec![Tenure {
                name: "actors/stranger/tenures/t".into(),
                post: "posts/p".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut violations = Violations::default();
        check_references(&bundle, |_, name| name == "posts/p", &mut violations);
        let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "bundle.episode.actors_of_interest[0]",
                "bundle.actors[0].parent",
                "bundle.tenures[0].name",
            ]
        );
        let outside = outside_names(&bundle);
        assert_eq!(
            outside[&Target::Actor],
            ["actors/ghost", "actors/nobody", "actors/stranger"]
                .into_iter()
                .map(str::to_owned)
                .collect()
        );
    }

    #[test]
    fn field_problems_of_every_collection_are_moved_under_the_bundle() {
        let bundle = Bundle {
            posts: vec![Default::default()],
            documents: vec![Default::default()],
            statements: vec![Statement {
                name: "statements/s".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut violations = Violations::default();
        check_fields(&bundle, &mut violations);
        for prefix in [
            "bundle.posts[0].",
            "bundle.documents[0].",
            "bundle.statements[0].",
        ] {
            assert!(
                violations.iter().any(|v| v.field.starts_with(prefix)),
                "{prefix} in {violations}"
            );
        }
        assert!(
            violations.iter().all(|v| v.field.starts_with("bundle.")),
            "{violations}"
        );
    }
}
