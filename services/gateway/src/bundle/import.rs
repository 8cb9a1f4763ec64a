//! `ImportBundle`: validate, read what exists, decide, then write in dependency order.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;

use chancery_proto::actors::v1::{
    Actor, CreateActorRequest, CreatePostRequest, CreateTenureRequest, Post, Tenure,
    UpdateActorRequest,
};
use chancery_proto::communications::v1::{
    AppendStatusRequest, Communication, CreateCommunicationRequest, UpdateCommunicationRequest,
};
use chancery_proto::gateway::v1::{Bundle, Episode, ImportBundleRequest, ImportBundleResponse};
use chancery_proto::statements::v1::{
    CreateSourceDocumentRequest, CreateStatementRequest, SourceDocument, Statement,
    UpdateStatementRequest,
};
use chancery_runtime::errors::{Error, Violations, failed_precondition};
use chancery_runtime::names::{self, id_of};
use futures::{StreamExt, TryStreamExt};
use prost_types::FieldMask;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

use super::order::{Edge, levels};
use super::remote::{CONCURRENCY, Deadline, Place};
use super::{COLLECTIONS, client, read};
use crate::store::Outcome;
use crate::{Gateway, episodes};

/// `ErrorInfo.reason` of an import refused because the services hold a version of a resource
/// that the bundle cannot overwrite.
pub(crate) const CONFLICT_REASON: &str = "BUNDLE_CONFLICT";

/// Imports `request.bundle`; see the module documentation of `bundle` for the steps.
pub(crate) async fn import(
    gateway: &Gateway,
    request: ImportBundleRequest,
    metadata: &MetadataMap,
) -> Result<ImportBundleResponse, Status> {
    let deadline = Deadline::of(metadata);
    let Some(bundle) = request.bundle else {
        let mut violations = Violations::default();
        violations.add(
            "bundle",
            "is required: the episode and the resources it consists of",
        );
        return Err(Error::Invalid(violations).into());
    };
    let plan = validate(&bundle)?;
    let stored = Stored::read(gateway, &deadline, &bundle).await?;
    check_outside_members(&bundle, &stored)?;
    let steps = decide(&bundle, &stored)?;

    let mut counts = Counts::default();
    let writer = Writer {
        gateway,
        deadline: &deadline,
        bundle: &bundle,
        steps: &steps,
    };
    for level in &plan.actors {
        let outcomes = each(level, |i| writer.actor(i)).await?;
        counts.add("actors", outcomes);
    }
    let all = |n: usize| (0..n).collect::<Vec<_>>();
    let outcomes = each(&all(bundle.posts.len()), |i| writer.post(i)).await?;
    counts.add("posts", outcomes);
    let outcomes = each(&all(bundle.tenures.len()), |i| {
        writer.tenure(i, &plan.tenure_parents[i])
    })
    .await?;
    counts.add("tenures", outcomes);
    let outcomes = each(&all(bundle.documents.len()), |i| writer.document(i)).await?;
    counts.add("documents", outcomes);
    for level in &plan.communications {
        let outcomes = each(level, |i| writer.communication(i)).await?;
        counts.add("communications", outcomes);
    }
    for level in &plan.statements {
        let outcomes = each(level, |i| writer.statement(i)).await?;
        counts.add("statements", outcomes);
    }
    let (episode, outcome) = gateway
        .store
        .put_episode(&plan.episode_id, plan.episode)
        .await?;
    counts.add("episodes", [outcome]);

    tracing::info!(
        episode = %episode.name,
        created = ?counts.created,
        updated = ?counts.updated,
        "bundle imported"
    );
    Ok(ImportBundleResponse {
        episode: Some(episode),
        created: owned(counts.created),
        unchanged: owned(counts.unchanged),
        updated: owned(counts.updated),
    })
}

/// What validation found out about the bundle: the episode to store and the write order.
#[derive(Debug)]
struct Plan {
    /// Id of the episode.
    episode_id: String,
    /// The episode as stored: validated, its span normalized.
    episode: Episode,
    /// Indexes of `bundle.actors` in levels: parents and affiliations first.
    actors: Vec<Vec<usize>>,
    /// Indexes of `bundle.communications` in levels: the previous in a series first.
    communications: Vec<Vec<usize>>,
    /// Indexes of `bundle.statements` in levels: the statement replied to first.
    statements: Vec<Vec<usize>>,
    /// For each tenure, its actor (`actors/{id}`) and its own id.
    tenure_parents: Vec<(String, String)>,
}

/// `actors/{actor_id}` and `{tenure_id}` of a tenure's name, when it is well formed.
fn split_tenure_name(name: &str) -> Option<(&str, &str)> {
    let (parent, id) = name.split_once("/tenures/")?;
    names::parse(parent, "actors")?;
    names::is_valid_id(id).then_some((parent, id))
}

/// Records a violation on `bundle.{collection}[i].name` for each name that repeats an earlier.
fn check_unique(violations: &mut Violations, collection: &str, names: &[&str]) {
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            continue;
        }
        match first.entry(name) {
            Entry::Occupied(earlier) => violations.add(
                format!("bundle.{collection}[{i}].name"),
                format!(
                    "duplicates bundle.{collection}[{}].name ({name}); each resource appears once in a bundle",
                    earlier.get()
                ),
            ),
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
        }
    }
}

/// Checks the names of one collection (`actors`, of resources `actors/{id}`) and that none
/// repeats.
fn check_names(violations: &mut Violations, collection: &str, names: &[&str]) {
    for (i, name) in names.iter().enumerate() {
        names::check(
            violations,
            &format!("bundle.{collection}[{i}].name"),
            name,
            collection,
        );
    }
    check_unique(violations, collection, names);
}

/// [`validate`] without its plan, for `bundle::validate`.
pub(super) fn check(bundle: &Bundle) -> Result<(), Status> {
    validate(bundle).map(drop)
}

/// Validates the bundle as a whole (not each resource's fields, which their services check):
/// names, duplicates, the episode, and the write order.
fn validate(bundle: &Bundle) -> Result<Plan, Status> {
    let mut violations = Violations::default();
    let (episode_id, episode) = match &bundle.episode {
        None => {
            violations.add(
                "bundle.episode",
                "is required: the episode the bundle is about, with its name",
            );
            (String::new(), Episode::default())
        }
        Some(episode) => {
            let id = names::check(
                &mut violations,
                "bundle.episode.name",
                &episode.name,
                "episodes",
            )
            .unwrap_or_default()
            .to_owned();
            let valid = episodes::validate_episode(&mut violations, "bundle.episode", episode);
            (id, valid)
        }
    };

    let actor_names: Vec<&str> = bundle.actors.iter().map(|a| a.name.as_str()).collect();
    check_names(&mut violations, "actors", &actor_names);
    let post_names: Vec<&str> = bundle.posts.iter().map(|p| p.name.as_str()).collect();
    check_names(&mut violations, "posts", &post_names);
    let document_names: Vec<&str> = bundle.documents.iter().map(|d| d.name.as_str()).collect();
    check_names(&mut violations, "documents", &document_names);
    let communication_names: Vec<&str> = bundle
        .communications
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    check_names(&mut violations, "communications", &communication_names);
    let statement_names: Vec<&str> = bundle.statements.iter().map(|s| s.name.as_str()).collect();
    check_names(&mut violations, "statements", &statement_names);

    let mut tenure_parents = Vec::with_capacity(bundle.tenures.len());
    for (i, tenure) in bundle.tenures.iter().enumerate() {
        match split_tenure_name(&tenure.name) {
            Some((parent, id)) => tenure_parents.push((parent.to_owned(), id.to_owned())),
            None => {
                violations.add(
                    format!("bundle.tenures[{i}].name"),
                    format!(
                        "must be a resource name `actors/{{actor_id}}/tenures/{{tenure_id}}` with valid ids (got {:?})",
                        tenure.name
                    ),
                );
                tenure_parents.push((String::new(), String::new()));
            }
        }
    }
    let tenure_names: Vec<&str> = bundle.tenures.iter().map(|t| t.name.as_str()).collect();
    check_unique(&mut violations, "tenures", &tenure_names);

    let actors = levels(
        &actor_names,
        |i| {
            let actor = &bundle.actors[i];
            let mut edges = vec![Edge::new(
                format!("bundle.actors[{i}].parent"),
                &actor.parent,
            )];
            if let Some(anonymous) = &actor.anonymous {
                edges.push(Edge::new(
                    format!("bundle.actors[{i}].anonymous.affiliation"),
                    &anonymous.affiliation,
                ));
            }
            edges
        },
        &mut violations,
    );
    let communications = levels(
        &communication_names,
        |i| {
            vec![Edge::new(
                format!("bundle.communications[{i}].previous_in_series"),
                &bundle.communications[i].previous_in_series,
            )]
        },
        &mut violations,
    );
    let statements = levels(
        &statement_names,
        |i| {
            vec![Edge::new(
                format!("bundle.statements[{i}].in_reply_to"),
                &bundle.statements[i].in_reply_to,
            )]
        },
        &mut violations,
    );
    violations.into_result().map_err(Error::from)?;
    Ok(Plan {
        episode_id,
        episode,
        actors,
        communications,
        statements,
        tenure_parents,
    })
}

/// What the services hold of the bundle's resources (and of the episode's members that are
/// not in the bundle), by name.
#[derive(Debug, Default)]
struct Stored {
    actors: HashMap<String, Actor>,
    posts: HashMap<String, Post>,
    tenures: HashMap<String, Tenure>,
    documents: HashMap<String, SourceDocument>,
    communications: HashMap<String, Communication>,
    statements: HashMap<String, Statement>,
}

/// The names of `items`, then those of `extra` not among them, each once.
fn with_extra<'a>(
    items: impl Iterator<Item = &'a String>,
    extra: impl Iterator<Item = &'a String>,
) -> Vec<String> {
    let mut seen = HashSet::new();
    items
        .chain(extra)
        .filter(|name| seen.insert(name.as_str()))
        .cloned()
        .collect()
}

impl Stored {
    /// Reads every collection from its service, concurrently.
    async fn read(gateway: &Gateway, deadline: &Deadline, bundle: &Bundle) -> Result<Self, Status> {
        let episode = bundle.episode.clone().unwrap_or_default();
        let actors = with_extra(
            bundle.actors.iter().map(|a| &a.name),
            episode.actors_of_interest.iter(),
        );
        let communications = with_extra(
            bundle.communications.iter().map(|c| &c.name),
            episode.communications.iter(),
        );
        let statements = with_extra(
            bundle.statements.iter().map(|s| &s.name),
            episode.statements.iter(),
        );
        let posts: Vec<String> = bundle.posts.iter().map(|p| p.name.clone()).collect();
        let tenures: Vec<String> = bundle.tenures.iter().map(|t| t.name.clone()).collect();
        let documents: Vec<String> = bundle.documents.iter().map(|d| d.name.clone()).collect();
        let (actors, posts, tenures, documents, communications, statements) = tokio::try_join!(
            read::actors(gateway, deadline, &actors),
            read::posts(gateway, deadline, &posts),
            read::tenures(gateway, deadline, &tenures),
            read::documents(gateway, deadline, &documents),
            read::communications(gateway, deadline, &communications),
            read::statements(gateway, deadline, &statements),
        )?;
        Ok(Self {
            actors,
            posts,
            tenures,
            documents,
            communications,
            statements,
        })
    }
}

/// The episode's members that are not in the bundle must exist already.
fn check_outside_members(bundle: &Bundle, stored: &Stored) -> Result<(), Status> {
    let Some(episode) = &bundle.episode else {
        return Ok(());
    };
    let mut violations = Violations::default();
    let mut check = |list: &str, service: &str, members: &[String], in_bundle: HashSet<&str>| {
        for (i, name) in members.iter().enumerate() {
            let known = match service {
                "actors" => stored.actors.contains_key(name),
                "communications" => stored.communications.contains_key(name),
                _ => stored.statements.contains_key(name),
            };
            if !in_bundle.contains(name.as_str()) && !known {
                violations.add(
                    format!("bundle.episode.{list}[{i}]"),
                    format!("{name} is neither in the bundle nor in the {service} service"),
                );
            }
        }
    };
    check(
        "communications",
        "communications",
        &episode.communications,
        bundle
            .communications
            .iter()
            .map(|c| c.name.as_str())
            .collect(),
    );
    check(
        "statements",
        "statements",
        &episode.statements,
        bundle.statements.iter().map(|s| s.name.as_str()).collect(),
    );
    check(
        "actors_of_interest",
        "actors",
        &episode.actors_of_interest,
        bundle.actors.iter().map(|a| a.name.as_str()).collect(),
    );
    violations.into_result().map_err(Error::from)?;
    Ok(())
}

/// What to do with a resource of a service that can update it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// It does not exist yet.
    Create,
    /// It exists exactly as the bundle has it.
    Unchanged,
    /// It exists and differs; update the revision with this etag.
    Update { etag: String },
}

/// What to do with a communication.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CommunicationStep {
    /// It does not exist yet: create it with its whole status log.
    Create,
    /// It exists: update its fields when they differ, then append the bundle's status entries
    /// from `append_from` on.
    Existing {
        etag: String,
        update: bool,
        append_from: usize,
    },
}

/// What to do with each resource, by index in its collection. Posts, tenures and documents are
/// only ever created or left unchanged.
#[derive(Debug, Default)]
struct Steps {
    actors: Vec<Step>,
    posts: Vec<Step>,
    tenures: Vec<Step>,
    documents: Vec<Step>,
    communications: Vec<CommunicationStep>,
    statements: Vec<Step>,
}

fn step<T: PartialEq>(
    wanted: &T,
    current: Option<&T>,
    clean: fn(&T) -> T,
    etag: fn(&T) -> &str,
) -> Step {
    match current {
        None => Step::Create,
        Some(current) if clean(current) == clean(wanted) => Step::Unchanged,
        Some(current) => Step::Update {
            etag: etag(current).to_owned(),
        },
    }
}

/// The fields in which two resources differ, by name, for a conflict message.
fn differing(fields: &[(&'static str, bool)]) -> String {
    let names: Vec<&str> = fields
        .iter()
        .filter(|(_, differs)| *differs)
        .map(|(name, _)| *name)
        .collect();
    names.join(", ")
}

fn post_difference(a: &Post, b: &Post) -> String {
    let (a, b) = (client::post(a), client::post(b));
    differing(&[
        ("title", a.title != b.title),
        ("titles", a.titles != b.titles),
        ("post_class", a.post_class != b.post_class),
        ("organization", a.organization != b.organization),
        ("country", a.country != b.country),
        ("external_ids", a.external_ids != b.external_ids),
    ])
}

fn tenure_difference(a: &Tenure, b: &Tenure) -> String {
    let (a, b) = (client::tenure(a), client::tenure(b));
    differing(&[
        ("post", a.post != b.post),
        ("start", a.start != b.start),
        ("end", a.end != b.end),
        ("qualifier", a.qualifier != b.qualifier),
        ("on_behalf_of", a.on_behalf_of != b.on_behalf_of),
        ("sources", a.sources != b.sources),
    ])
}

fn document_difference(a: &SourceDocument, b: &SourceDocument) -> String {
    let (a, b) = (client::document(a), client::document(b));
    differing(&[
        ("url", a.url != b.url),
        ("publisher", a.publisher != b.publisher),
        ("title", a.title != b.title),
        ("published", a.published != b.published),
        ("language_code", a.language_code != b.language_code),
        ("authors", a.authors != b.authors),
        ("media_assets", a.media_assets != b.media_assets),
    ])
}

/// Decides what to do with every resource. Differences that cannot be written fail the whole
/// import here, before anything is written.
fn decide(bundle: &Bundle, stored: &Stored) -> Result<Steps, Status> {
    let mut conflicts: Vec<String> = Vec::new();
    let mut steps = Steps {
        actors: bundle
            .actors
            .iter()
            .map(|a| step(a, stored.actors.get(&a.name), client::actor, |a| &a.etag))
            .collect(),
        statements: bundle
            .statements
            .iter()
            .map(|s| {
                step(s, stored.statements.get(&s.name), client::statement, |s| {
                    &s.etag
                })
            })
            .collect(),
        ..Steps::default()
    };
    let mut create_only = |path: String, name: &str, difference: Option<String>, kind: &str| {
        match difference {
            None => Step::Create,
            Some(fields) if fields.is_empty() => Step::Unchanged,
            Some(fields) => {
                conflicts.push(format!(
                    "{path} ({name}) differs from the stored {kind} in {fields}, and {kind}s cannot be updated"
                ));
                Step::Unchanged
            }
        }
    };
    steps.posts = bundle
        .posts
        .iter()
        .enumerate()
        .map(|(i, post)| {
            let difference = stored
                .posts
                .get(&post.name)
                .map(|c| post_difference(c, post));
            create_only(format!("bundle.posts[{i}]"), &post.name, difference, "post")
        })
        .collect();
    steps.tenures = bundle
        .tenures
        .iter()
        .enumerate()
        .map(|(i, tenure)| {
            let difference = stored
                .tenures
                .get(&tenure.name)
                .map(|c| tenure_difference(c, tenure));
            create_only(
                format!("bundle.tenures[{i}]"),
                &tenure.name,
                difference,
                "tenure",
            )
        })
        .collect();
    steps.documents = bundle
        .documents
        .iter()
        .enumerate()
        .map(|(i, document)| {
            let difference = stored
                .documents
                .get(&document.name)
                .map(|c| document_difference(c, document));
            create_only(
                format!("bundle.documents[{i}]"),
                &document.name,
                difference,
                "document",
            )
        })
        .collect();
    for (i, wanted) in bundle.communications.iter().enumerate() {
        let Some(current) = stored.communications.get(&wanted.name) else {
            steps.communications.push(CommunicationStep::Create);
            continue;
        };
        let update =
            client::communication_without_log(current) != client::communication_without_log(wanted);
        let stored_log = client::communication(current).status_log;
        let wanted_log = client::communication(wanted).status_log;
        let is_prefix = stored_log.len() <= wanted_log.len()
            && wanted_log[..stored_log.len()] == stored_log[..];
        if !is_prefix {
            conflicts.push(format!(
                "bundle.communications[{i}] ({}) has a status log whose first entries are not the {} stored ones, and a status log is append-only",
                wanted.name,
                stored_log.len()
            ));
        }
        steps.communications.push(CommunicationStep::Existing {
            etag: current.etag.clone(),
            update,
            append_from: stored_log.len().min(wanted_log.len()),
        });
    }
    if conflicts.is_empty() {
        return Ok(steps);
    }
    const SHOWN: usize = 20;
    let more = conflicts.len().saturating_sub(SHOWN);
    let mut message = format!(
        "the bundle cannot be imported, and nothing was written: {}",
        conflicts[..conflicts.len().min(SHOWN)].join("; ")
    );
    if more > 0 {
        message.push_str(&format!("; and {more} more"));
    }
    Err(failed_precondition(CONFLICT_REASON, message))
}

/// Runs `write` on each of `indices`, up to [`CONCURRENCY`] at a time; the outcomes in order,
/// or the first error in order.
async fn each<F, Fut>(indices: &[usize], write: F) -> Result<Vec<Outcome>, Status>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<Outcome, Status>>,
{
    futures::stream::iter(indices.iter().copied())
        .map(write)
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

/// A create that found the resource already there: someone wrote it after this import read.
fn raced(status: Status) -> Status {
    if status.code() == Code::AlreadyExists {
        Status::aborted(format!(
            "{} — it was created by another writer after this import read it; import again",
            status.message()
        ))
    } else {
        status
    }
}

fn update_all() -> Option<FieldMask> {
    Some(FieldMask {
        paths: vec!["*".to_owned()],
    })
}

/// Writes the resources of one bundle as `steps` says.
struct Writer<'a> {
    gateway: &'a Gateway,
    deadline: &'a Deadline,
    bundle: &'a Bundle,
    steps: &'a Steps,
}

impl Writer<'_> {
    async fn actor(&self, i: usize) -> Result<Outcome, Status> {
        let actor = &self.bundle.actors[i];
        let place = Place::new(
            format!("bundle.actors[{i}]"),
            &actor.name,
            "actor",
            &["actor_id"],
        );
        let mut client = self.gateway.actors();
        match &self.steps.actors[i] {
            Step::Unchanged => Ok(Outcome::Unchanged),
            Step::Create => {
                let request = CreateActorRequest {
                    actor: Some(Actor {
                        name: String::new(),
                        ..client::actor(actor)
                    }),
                    actor_id: id_of(&actor.name).to_owned(),
                    request_id: String::new(),
                };
                self.deadline
                    .call(request, |r| client.create_actor(r))
                    .await
                    .map_err(|status| place.error(raced(status)))?;
                Ok(Outcome::Created)
            }
            Step::Update { etag } => {
                let request = UpdateActorRequest {
                    actor: Some(Actor {
                        etag: etag.clone(),
                        ..client::actor(actor)
                    }),
                    update_mask: update_all(),
                };
                self.deadline
                    .call(request, |r| client.update_actor(r))
                    .await
                    .map_err(|status| place.error(status))?;
                Ok(Outcome::Updated)
            }
        }
    }

    async fn post(&self, i: usize) -> Result<Outcome, Status> {
        let post = &self.bundle.posts[i];
        if self.steps.posts[i] != Step::Create {
            return Ok(Outcome::Unchanged);
        }
        let place = Place::new(
            format!("bundle.posts[{i}]"),
            &post.name,
            "post",
            &["post_id"],
        );
        let mut client = self.gateway.actors();
        let request = CreatePostRequest {
            post: Some(Post {
                name: String::new(),
                ..client::post(post)
            }),
            post_id: id_of(&post.name).to_owned(),
            request_id: String::new(),
        };
        self.deadline
            .call(request, |r| client.create_post(r))
            .await
            .map_err(|status| place.error(raced(status)))?;
        Ok(Outcome::Created)
    }

    async fn tenure(&self, i: usize, (parent, id): &(String, String)) -> Result<Outcome, Status> {
        let tenure = &self.bundle.tenures[i];
        if self.steps.tenures[i] != Step::Create {
            return Ok(Outcome::Unchanged);
        }
        let place = Place::new(
            format!("bundle.tenures[{i}]"),
            &tenure.name,
            "tenure",
            &["tenure_id", "parent"],
        );
        let mut client = self.gateway.actors();
        let request = CreateTenureRequest {
            parent: parent.clone(),
            tenure: Some(Tenure {
                name: String::new(),
                ..client::tenure(tenure)
            }),
            tenure_id: id.clone(),
            request_id: String::new(),
        };
        self.deadline
            .call(request, |r| client.create_tenure(r))
            .await
            .map_err(|status| place.error(raced(status)))?;
        Ok(Outcome::Created)
    }

    async fn document(&self, i: usize) -> Result<Outcome, Status> {
        let document = &self.bundle.documents[i];
        if self.steps.documents[i] != Step::Create {
            return Ok(Outcome::Unchanged);
        }
        let place = Place::new(
            format!("bundle.documents[{i}]"),
            &document.name,
            "source_document",
            &["document_id"],
        );
        let mut client = self.gateway.statements();
        let request = CreateSourceDocumentRequest {
            source_document: Some(SourceDocument {
                name: String::new(),
                ..client::document(document)
            }),
            document_id: id_of(&document.name).to_owned(),
            request_id: String::new(),
        };
        self.deadline
            .call(request, |r| client.create_source_document(r))
            .await
            .map_err(|status| place.error(raced(status)))?;
        Ok(Outcome::Created)
    }

    async fn communication(&self, i: usize) -> Result<Outcome, Status> {
        let communication = &self.bundle.communications[i];
        let place = Place::new(
            format!("bundle.communications[{i}]"),
            &communication.name,
            "communication",
            &["communication_id"],
        );
        let mut client = self.gateway.communications();
        let (etag, update, append_from) = match &self.steps.communications[i] {
            CommunicationStep::Create => {
                let request = CreateCommunicationRequest {
                    communication: Some(Communication {
                        name: String::new(),
                        ..client::communication(communication)
                    }),
                    communication_id: id_of(&communication.name).to_owned(),
                    request_id: String::new(),
                };
                self.deadline
                    .call(request, |r| client.create_communication(r))
                    .await
                    .map_err(|status| place.error(raced(status)))?;
                return Ok(Outcome::Created);
            }
            CommunicationStep::Existing {
                etag,
                update,
                append_from,
            } => (etag.clone(), *update, *append_from),
        };
        let mut etag = etag;
        if update {
            let request = UpdateCommunicationRequest {
                communication: Some(Communication {
                    etag: etag.clone(),
                    ..client::communication_without_log(communication)
                }),
                update_mask: update_all(),
            };
            let updated = self
                .deadline
                .call(request, |r| client.update_communication(r))
                .await
                .map_err(|status| place.error(status))?;
            etag = updated.etag;
        }
        let log = &communication.status_log;
        for (j, status) in log.iter().enumerate().skip(append_from) {
            let request = AppendStatusRequest {
                name: communication.name.clone(),
                status: Some(client::status(status)),
                etag: etag.clone(),
                request_id: String::new(),
            };
            let entry = format!("bundle.communications[{i}].status_log[{j}]");
            let appended = self
                .deadline
                .call(request, |r| client.append_status(r))
                .await
                .map_err(|status| place.clone().with_field("status", entry).error(status))?;
            etag = appended.etag;
        }
        Ok(if update || append_from < log.len() {
            Outcome::Updated
        } else {
            Outcome::Unchanged
        })
    }

    async fn statement(&self, i: usize) -> Result<Outcome, Status> {
        let statement = &self.bundle.statements[i];
        let place = Place::new(
            format!("bundle.statements[{i}]"),
            &statement.name,
            "statement",
            &["statement_id"],
        );
        let mut client = self.gateway.statements();
        match &self.steps.statements[i] {
            Step::Unchanged => Ok(Outcome::Unchanged),
            Step::Create => {
                let request = CreateStatementRequest {
                    statement: Some(Statement {
                        name: String::new(),
                        ..client::statement(statement)
                    }),
                    statement_id: id_of(&statement.name).to_owned(),
                    request_id: String::new(),
                };
                self.deadline
                    .call(request, |r| client.create_statement(r))
                    .await
                    .map_err(|status| place.error(raced(status)))?;
                Ok(Outcome::Created)
            }
            Step::Update { etag } => {
                let request = UpdateStatementRequest {
                    statement: Some(Statement {
                        etag: etag.clone(),
                        ..client::statement(statement)
                    }),
                    update_mask: update_all(),
                };
                self.deadline
                    .call(request, |r| client.update_statement(r))
                    .await
                    .map_err(|status| place.error(status))?;
                Ok(Outcome::Updated)
            }
        }
    }
}

/// How many resources of each collection the import created, left unchanged and updated.
#[derive(Debug)]
struct Counts {
    created: BTreeMap<&'static str, i32>,
    unchanged: BTreeMap<&'static str, i32>,
    updated: BTreeMap<&'static str, i32>,
}

impl Default for Counts {
    fn default() -> Self {
        let zero: BTreeMap<&'static str, i32> = COLLECTIONS.iter().map(|c| (*c, 0)).collect();
        Self {
            created: zero.clone(),
            unchanged: zero.clone(),
            updated: zero,
        }
    }
}

impl Counts {
    fn add(&mut self, collection: &'static str, outcomes: impl IntoIterator<Item = Outcome>) {
        for outcome in outcomes {
            let counts = match outcome {
                Outcome::Created => &mut self.created,
                Outcome::Unchanged => &mut self.unchanged,
                Outcome::Updated => &mut self.updated,
            };
            *counts.entry(collection).or_default() += 1;
        }
    }
}

fn owned(counts: BTreeMap<&'static str, i32>) -> HashMap<String, i32> {
    counts
        .into_iter()
        .map(|(collection, n)| (collection.to_owned(), n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_proto::actors::v1::AnonymousProfile;
    use chancery_proto::communications::v1::StatusAssertion;

    fn fields(status: &Status) -> Vec<String> {
        use prost::Message;
        #[derive(Clone, PartialEq, Message)]
        struct RpcStatus {
            #[prost(message, repeated, tag = "3")]
            details: Vec<prost_types::Any>,
        }
        #[derive(Clone, PartialEq, Message)]
        struct BadRequest {
            #[prost(message, repeated, tag = "1")]
            field_violations: Vec<Violation>,
        }
        #[derive(Clone, PartialEq, Message)]
        struct Violation {
            #[prost(string, tag = "1")]
            field: String,
        }
        let rpc = RpcStatus::decode(status.details()).unwrap();
        rpc.details
            .iter()
            .filter(|d| d.type_url.ends_with("BadRequest"))
            .flat_map(|d| {
                BadRequest::decode(d.value.as_slice())
                    .unwrap()
                    .field_violations
            })
            .map(|v| v.field)
            .collect()
    }

    fn episode() -> Episode {
        Episode {
            name: "episodes/e".into(),
            title: "E".into(),
            ..Default::default()
        }
    }

    fn actor(id: &str, parent: &str) -> Actor {
        Actor {
            name: format!("actors/{id}"),
            parent: parent.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_plan_orders_parents_and_affiliations_first() {
        let mut source = actor("source", "");
        source.anonymous = Some(AnonymousProfile {
            affiliation: "actors/ministry".into(),
            ..Default::default()
        });
        let bundle = Bundle {
            episode: Some(episode()),
            actors: vec![
                source,
                actor("ministry", "actors/state"),
                actor("state", ""),
            ],
            tenures: vec![Tenure {
                name: "actors/state/tenures/t1".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let plan = validate(&bundle).unwrap();
        assert_eq!(plan.actors, vec![vec![2], vec![1], vec![0]]);
        assert_eq!(
            plan.tenure_parents,
            [("actors/state".to_owned(), "t1".to_owned())]
        );
        assert_eq!(plan.episode_id, "e");
    }

    #[test]
    fn every_bundle_problem_is_reported_with_its_path() {
        let bundle = Bundle {
            episode: Some(Episode {
                name: "episode/e".into(),
                ..Default::default()
            }),
            actors: vec![
                actor("a", "actors/b"),
                actor("b", "actors/a"),
                actor("c", ""),
                actor("c", ""),
                Actor {
                    name: "Actors/X".into(),
                    ..Default::default()
                },
            ],
            tenures: vec![Tenure {
                name: "actors/a/tenure/t".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let status = validate(&bundle).unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let found = fields(&status);
        for expected in [
            "bundle.episode.name",
            "bundle.episode.title",
            "bundle.actors[3].name",
            "bundle.actors[4].name",
            "bundle.actors[0].parent",
            "bundle.tenures[0].name",
        ] {
            assert!(
                found.iter().any(|f| f == expected),
                "{expected} in {found:?}"
            );
        }
        let missing = validate(&Bundle::default()).unwrap_err();
        assert_eq!(fields(&missing), ["bundle.episode"]);
    }

    #[test]
    fn unchanged_updated_and_conflicting_resources_are_told_apart() {
        let stored_actor = Actor {
            etag: "3".into(),
            display_name: "Old".into(),
            ..actor("a", "")
        };
        let held = |note: &str| StatusAssertion {
            note: note.into(),
            ..Default::default()
        };
        let stored = Stored {
            actors: [("actors/a".to_owned(), stored_actor)].into(),
            posts: [(
                "posts/p".to_owned(),
                Post {
                    name: "posts/p".into(),
                    title: "Old title".into(),
                    etag: "1".into(),
                    ..Default::default()
                },
            )]
            .into(),
            communications: [(
                "communications/c".to_owned(),
                Communication {
                    name: "communications/c".into(),
                    status_log: vec![held("one")],
                    lifecycle: 5,
                    etag: "9".into(),
                    ..Default::default()
                },
            )]
            .into(),
            ..Default::default()
        };
        let mut bundle = Bundle {
            episode: Some(episode()),
            actors: vec![
                Actor {
                    display_name: "New".into(),
                    ..actor("a", "")
                },
                actor("b", ""),
            ],
            communications: vec![Communication {
                name: "communications/c".into(),
                status_log: vec![held("one"), held("two")],
                ..Default::default()
            }],
            ..Default::default()
        };
        let steps = decide(&bundle, &stored).unwrap();
        assert_eq!(
            steps.actors,
            [Step::Update { etag: "3".into() }, Step::Create]
        );
        assert_eq!(
            steps.communications,
            [CommunicationStep::Existing {
                etag: "9".into(),
                update: false,
                append_from: 1
            }]
        );

        bundle.posts = vec![Post {
            name: "posts/p".into(),
            title: "New title".into(),
            ..Default::default()
        }];
        bundle.communications[0].status_log = vec![held("other")];
        let conflict = decide(&bundle, &stored).unwrap_err();
        assert_eq!(conflict.code(), Code::FailedPrecondition);
        assert!(
            conflict
                .message()
                .contains("bundle.posts[0] (posts/p) differs from the stored post in title"),
            "{}",
            conflict.message()
        );
        assert!(
            conflict.message().contains("bundle.communications[0]"),
            "{}",
            conflict.message()
        );
    }
}
