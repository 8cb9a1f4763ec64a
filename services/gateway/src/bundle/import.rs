//! `ImportBundle`: validate, read what exists, decide, then write in dependency order.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use chancery_proto::actors::v1::{
    Actor, CreateActorRequest, CreatePostRequest, CreateTenureRequest, Post, Tenure,
    UpdateActorRequest, UpdatePostRequest, UpdateTenureRequest,
};
use chancery_proto::communications::v1::{
    AppendStatusRequest, Communication, CreateCommunicationRequest, StatusAssertion,
    UpdateCommunicationRequest,
};
use chancery_proto::gateway::v1::{
    Bundle, Episode, ImportBundleRequest, ImportBundleResponse, ImportProgress,
};
use chancery_proto::statements::v1::{
    CreateSourceDocumentRequest, CreateStatementRequest, SourceDocument, Statement,
    UpdateSourceDocumentRequest, UpdateStatementRequest,
};
use chancery_runtime::errors::{Error, Violations, failed_precondition};
use chancery_runtime::names::{self, id_of};
use futures::StreamExt;
use prost_types::FieldMask;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

use super::check;
use super::order::{Edge, levels};
use super::references::Target;
use super::remote::{CONCURRENCY, Deadline, Place};
use super::{COLLECTIONS, client, read};
use crate::store::Outcome;
use crate::{Gateway, domain};

/// `ErrorInfo.reason` of an import refused because the services hold a version of a resource
/// that the bundle cannot overwrite.
pub(crate) const CONFLICT_REASON: &str = "BUNDLE_CONFLICT";

/// `ErrorInfo.reason` of an import that failed after writing part of its bundle; an
/// `ImportProgress` detail names what was written.
pub(crate) const PARTIAL_REASON: &str = "BUNDLE_PARTIALLY_WRITTEN";

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
    let mut violations = Violations::default();
    check::check_references(
        &bundle,
        |target, name| stored.has(target, name),
        &mut violations,
    );
    violations.into_result().map_err(Error::from)?;
    let steps = decide(&bundle, &stored)?;

    let progress = Progress::default();
    let writer = Writer {
        gateway,
        deadline: &deadline,
        bundle: &bundle,
        steps: &steps,
    };
    let written = async {
        writer.write_resources(&plan, &progress).await?;
        writer.write_episode(&plan, &progress).await
    };
    let episode = written
        .await
        .map_err(|(failed, status)| progress.failure(&failed, status))?;
    let counts = progress.counts();

    tracing::info!(
        episode = %episode.name,
        created = %chancery_runtime::telemetry::list(counts.created.iter().map(count)),
        updated = %chancery_runtime::telemetry::list(counts.updated.iter().map(count)),
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

/// Validates the bundle before anything is read or written: names, duplicates, the episode,
/// every field of every resource (by its service's rules), and the write order. The episode to
/// store also records the bundle's actors nothing else of it leads to (`other_actors`).
fn validate(bundle: &Bundle) -> Result<Plan, Status> {
    let mut violations = Violations::default();
    let (episode_id, episode) = episode_to_store(bundle, &mut violations);

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
    let tenure_parents = tenure_parents(bundle, &mut violations);

    let actors = actor_levels(bundle, &actor_names, &mut violations);
    let communications = communication_levels(bundle, &communication_names, &mut violations);
    let statements = statement_levels(bundle, &statement_names, &mut violations);
    check::check_fields(bundle, &mut violations);
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

/// The id of the bundle's episode and the episode to store: validated, its span normalized,
/// and recording in `other_actors` the bundle's actors nothing else of it leads to.
fn episode_to_store(bundle: &Bundle, violations: &mut Violations) -> (String, Episode) {
    match &bundle.episode {
        None => {
            violations.add(
                "bundle.episode",
                "is required: the episode the bundle is about, with its name",
            );
            (String::new(), Episode::default())
        }
        Some(episode) => {
            let id = names::check(violations, "bundle.episode.name", &episode.name, "episodes")
                .unwrap_or_default()
                .to_owned();
            let mut valid = domain::validate_episode(violations, "bundle.episode", episode);
            for actor in check::unreached_actors(bundle) {
                if !valid.other_actors.contains(&actor) {
                    valid.other_actors.push(actor);
                }
            }
            (id, valid)
        }
    }
}

/// For each tenure, its actor (`actors/{id}`) and its own id (both empty, with a violation,
/// when its name is malformed); a tenure named twice is a violation too.
fn tenure_parents(bundle: &Bundle, violations: &mut Violations) -> Vec<(String, String)> {
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
    check_unique(violations, "tenures", &tenure_names);
    tenure_parents
}

/// The bundle's actors in write levels: an actor after its parent and its affiliation.
fn actor_levels(bundle: &Bundle, names: &[&str], violations: &mut Violations) -> Vec<Vec<usize>> {
    levels(
        names,
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
        violations,
    )
}

/// The bundle's communications in write levels. A communication is written after those it
/// names (the service checks they exist): the previous of its series and the communications
/// its topics are.
fn communication_levels(
    bundle: &Bundle,
    names: &[&str],
    violations: &mut Violations,
) -> Vec<Vec<usize>> {
    levels(
        names,
        |i| {
            let communication = &bundle.communications[i];
            let mut edges = vec![Edge::new(
                format!("bundle.communications[{i}].previous_in_series"),
                &communication.previous_in_series,
            )];
            for (t, topic) in communication.topics.iter().enumerate() {
                edges.push(Edge::new(
                    format!("bundle.communications[{i}].topics[{t}].communication"),
                    &topic.communication,
                ));
            }
            edges
        },
        violations,
    )
}

/// The bundle's statements in write levels. A statement is written after the one it answers
/// and those reporting the same utterance (one side of such a link is enough; both sides form
/// a cycle).
fn statement_levels(
    bundle: &Bundle,
    names: &[&str],
    violations: &mut Violations,
) -> Vec<Vec<usize>> {
    levels(
        names,
        |i| {
            let statement = &bundle.statements[i];
            let mut edges = vec![Edge::new(
                format!("bundle.statements[{i}].in_reply_to"),
                &statement.in_reply_to,
            )];
            for (k, same) in statement.same_utterance_as.iter().enumerate() {
                edges.push(Edge::new(
                    format!("bundle.statements[{i}].same_utterance_as[{k}]"),
                    same,
                ));
            }
            edges
        },
        violations,
    )
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
        let outside = check::outside_names(bundle);
        let beyond = |target: Target| outside.get(&target).into_iter().flatten();
        let actors = with_extra(bundle.actors.iter().map(|a| &a.name), beyond(Target::Actor));
        let communications = with_extra(
            bundle.communications.iter().map(|c| &c.name),
            beyond(Target::Communication),
        );
        let statements = with_extra(
            bundle.statements.iter().map(|s| &s.name),
            beyond(Target::Statement),
        );
        let posts = with_extra(bundle.posts.iter().map(|p| &p.name), beyond(Target::Post));
        let tenures: Vec<String> = bundle.tenures.iter().map(|t| t.name.clone()).collect();
        let documents = with_extra(
            bundle.documents.iter().map(|d| &d.name),
            beyond(Target::Document),
        );
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

    /// Whether the suite holds `name` of `target`'s collection.
    fn has(&self, target: Target, name: &str) -> bool {
        match target {
            Target::Actor => self.actors.contains_key(name),
            Target::Post => self.posts.contains_key(name),
            Target::Document => self.documents.contains_key(name),
            Target::Communication => self.communications.contains_key(name),
            Target::Statement => self.statements.contains_key(name),
        }
    }
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
    /// of indexes `append` (those not logged yet), in bundle order.
    Existing {
        etag: String,
        update: bool,
        append: Vec<usize>,
    },
}

/// What to do with each resource, by index in its collection.
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

/// Which entries of the bundle's status log `wanted` are not logged yet in `stored` (both
/// client fields only), or why the bundle's log cannot be written. An entry with an `id` is
/// logged when an entry with that id is (and must then equal it); an entry without one is
/// logged when an equal entry is that no other entry of the bundle matched. Every logged entry
/// must be matched: the log is append-only.
fn entries_to_append(
    stored: &[StatusAssertion],
    wanted: &[StatusAssertion],
) -> Result<Vec<usize>, String> {
    let mut matched = vec![false; stored.len()];
    let mut append = Vec::new();
    for (j, entry) in wanted.iter().enumerate() {
        let logged = if entry.id.is_empty() {
            (0..stored.len()).find(|&k| !matched[k] && stored[k] == *entry)
        } else {
            match stored.iter().position(|logged| logged.id == entry.id) {
                Some(k) if stored[k] != *entry => {
                    return Err(format!(
                        "status_log[{j}] (id {:?}) differs from the logged entry with that id, and logged entries never change",
                        entry.id
                    ));
                }
                found => found,
            }
        };
        match logged {
            Some(k) => matched[k] = true,
            None => append.push(j),
        }
    }
    if let Some(k) = matched.iter().position(|m| !m) {
        return Err(format!(
            "the stored status log has an entry the bundle lacks (entry {k} of {}), and a status log is append-only",
            stored.len()
        ));
    }
    Ok(append)
}

/// Decides what to do with every resource. Differences that cannot be written (a status log
/// that would lose entries) fail the whole import here, before anything is written.
fn decide(bundle: &Bundle, stored: &Stored) -> Result<Steps, Status> {
    let mut conflicts: Vec<String> = Vec::new();
    let mut steps = Steps {
        actors: bundle
            .actors
            .iter()
            .map(|a| step(a, stored.actors.get(&a.name), client::actor, |a| &a.etag))
            .collect(),
        posts: bundle
            .posts
            .iter()
            .map(|p| step(p, stored.posts.get(&p.name), client::post, |p| &p.etag))
            .collect(),
        tenures: bundle
            .tenures
            .iter()
            .map(|t| step(t, stored.tenures.get(&t.name), client::tenure, |t| &t.etag))
            .collect(),
        documents: bundle
            .documents
            .iter()
            .map(|d| {
                step(d, stored.documents.get(&d.name), client::document, |d| {
                    &d.etag
                })
            })
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
    for (i, wanted) in bundle.communications.iter().enumerate() {
        let Some(current) = stored.communications.get(&wanted.name) else {
            steps.communications.push(CommunicationStep::Create);
            continue;
        };
        let update =
            client::communication_without_log(current) != client::communication_without_log(wanted);
        let stored_log = client::communication(current).status_log;
        let wanted_log = client::communication(wanted).status_log;
        let append = match entries_to_append(&stored_log, &wanted_log) {
            Ok(append) => append,
            Err(problem) => {
                conflicts.push(format!(
                    "bundle.communications[{i}] ({}): {problem}",
                    wanted.name
                ));
                Vec::new()
            }
        };
        steps.communications.push(CommunicationStep::Existing {
            etag: current.etag.clone(),
            update,
            append,
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

/// Runs `write` on each of `indices` of `collection`, up to [`CONCURRENCY`] at a time,
/// recording each success in `progress`. After a failure no further write starts, but those in
/// flight run to their end, so `progress` knows every write that took effect; the error is the
/// first failure in order, with the name (`name_of`) of the resource it is about.
async fn each<'n, F, Fut>(
    progress: &Progress,
    collection: &'static str,
    indices: &[usize],
    name_of: impl Fn(usize) -> &'n String,
    write: F,
) -> Result<(), (String, Status)>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<Outcome, Status>>,
{
    let failed = AtomicBool::new(false);
    let (write, failed) = (&write, &failed);
    let results: Vec<Option<Result<Outcome, Status>>> =
        futures::stream::iter(indices.iter().copied())
            .map(|i| async move {
                if failed.load(Ordering::SeqCst) {
                    return None;
                }
                let result = write(i).await;
                if result.is_err() {
                    failed.store(true, Ordering::SeqCst);
                }
                Some(result)
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
    let mut first_error = None;
    for (&i, result) in indices.iter().zip(results) {
        match result {
            Some(Ok(outcome)) => progress.record(collection, name_of(i), outcome),
            Some(Err(status)) if first_error.is_none() => {
                first_error = Some((name_of(i).clone(), status));
            }
            _ => {}
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// What an import has written so far, for its answer and for the error of an import that
/// stops midway.
#[derive(Debug, Default)]
struct Progress {
    /// Each resource handled, in the order recorded: its collection, its name, the outcome.
    handled: Mutex<Vec<(&'static str, String, Outcome)>>,
}

/// Most names an `ImportProgress` lists.
const LISTED: usize = 1000;

impl Progress {
    fn record(&self, collection: &'static str, name: &str, outcome: Outcome) {
        self.handled
            .lock()
            .expect("no writer panics while holding the progress")
            .push((collection, name.to_owned(), outcome));
    }

    fn counts(&self) -> Counts {
        counts_of(&self.handled.lock().expect("not poisoned"))
    }

    /// The error of an import that stopped at `failed` with `status`. When nothing was written
    /// yet it is `status` itself, saying so; otherwise ABORTED `BUNDLE_PARTIALLY_WRITTEN`
    /// with an `ImportProgress` detail naming every resource written.
    fn failure(&self, failed: &str, status: Status) -> Status {
        let handled = self.handled.lock().expect("not poisoned");
        let written: Vec<&str> = handled
            .iter()
            .filter(|(_, _, outcome)| *outcome != Outcome::Unchanged)
            .map(|(_, name, _)| name.as_str())
            .collect();
        let unsure = matches!(
            status.code(),
            Code::DeadlineExceeded | Code::Unavailable | Code::Cancelled | Code::Unknown
        );
        let outcome_of_failed = if unsure {
            "its own write may or may not have taken effect"
        } else {
            "its own write did not take effect"
        };
        if written.is_empty() {
            return Status::with_details(
                status.code(),
                format!(
                    "nothing was written ({outcome_of_failed}): {}",
                    status.message()
                ),
                status.details().to_vec().into(),
            );
        }
        let counts = counts_of(&handled);
        let progress = ImportProgress {
            created: owned(counts.created.clone()),
            updated: owned(counts.updated.clone()),
            written: written
                .iter()
                .take(LISTED)
                .map(|n| (*n).to_owned())
                .collect(),
            written_count: written.len() as i32,
            failed: failed.to_owned(),
            failure: format!("{:?}: {}", status.code(), status.message()),
        };
        let summary: Vec<String> = COLLECTIONS
            .iter()
            .filter_map(|c| {
                let n = counts.created.get(c).copied().unwrap_or(0)
                    + counts.updated.get(c).copied().unwrap_or(0);
                (n > 0).then(|| format!("{n} {c}"))
            })
            .collect();
        let message = format!(
            "the import stopped at {failed} ({outcome_of_failed}: {}) after writing {} resources ({}); \
             the ImportProgress detail lists them; importing the same bundle again writes the rest",
            status.message(),
            written.len(),
            summary.join(", ")
        );
        partially_written(message, &progress, failed)
    }
}

/// One collection's count as a log field shows it: `actors=3`.
fn count((collection, n): (&&'static str, &i32)) -> String {
    format!("{collection}={n}")
}

/// The counts by collection and outcome of the resources `handled`.
fn counts_of(handled: &[(&'static str, String, Outcome)]) -> Counts {
    let mut counts = Counts::default();
    for (collection, _, outcome) in handled {
        counts.add(collection, [*outcome]);
    }
    counts
}

/// ABORTED with `ErrorInfo` (reason [`PARTIAL_REASON`]) and the `ImportProgress` detail.
fn partially_written(message: String, progress: &ImportProgress, failed: &str) -> Status {
    use prost::Message;
    #[derive(Clone, PartialEq, Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
        #[prost(message, repeated, tag = "3")]
        details: Vec<prost_types::Any>,
    }
    #[derive(Clone, PartialEq, Message)]
    struct ErrorInfo {
        #[prost(string, tag = "1")]
        reason: String,
        #[prost(string, tag = "2")]
        domain: String,
        #[prost(map = "string, string", tag = "3")]
        metadata: HashMap<String, String>,
    }
    let info = ErrorInfo {
        reason: PARTIAL_REASON.to_owned(),
        domain: chancery_runtime::errors::ERROR_DOMAIN.to_owned(),
        metadata: [
            ("failed".to_owned(), failed.to_owned()),
            ("written".to_owned(), progress.written_count.to_string()),
        ]
        .into(),
    };
    let details = RpcStatus {
        code: Code::Aborted as i32,
        message: message.clone(),
        details: vec![
            prost_types::Any {
                type_url: "type.googleapis.com/google.rpc.ErrorInfo".to_owned(),
                value: info.encode_to_vec(),
            },
            prost_types::Any {
                type_url: "type.googleapis.com/chancery.gateway.v1.ImportProgress".to_owned(),
                value: progress.encode_to_vec(),
            },
        ],
    };
    Status::with_details(Code::Aborted, message, details.encode_to_vec().into())
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
    /// Writes the bundle's resources in dependency order: actors (level by level), posts,
    /// tenures, documents, communications and statements (level by level). The error names
    /// the resource that failed; `progress` has every write that took effect.
    async fn write_resources(
        &self,
        plan: &Plan,
        progress: &Progress,
    ) -> Result<(), (String, Status)> {
        let bundle = self.bundle;
        let all = |n: usize| (0..n).collect::<Vec<_>>();
        for level in &plan.actors {
            each(
                progress,
                "actors",
                level,
                |i| &bundle.actors[i].name,
                |i| self.actor(i),
            )
            .await?;
        }
        each(
            progress,
            "posts",
            &all(bundle.posts.len()),
            |i| &bundle.posts[i].name,
            |i| self.post(i),
        )
        .await?;
        each(
            progress,
            "tenures",
            &all(bundle.tenures.len()),
            |i| &bundle.tenures[i].name,
            |i| self.tenure(i, &plan.tenure_parents[i]),
        )
        .await?;
        each(
            progress,
            "documents",
            &all(bundle.documents.len()),
            |i| &bundle.documents[i].name,
            |i| self.document(i),
        )
        .await?;
        for level in &plan.communications {
            each(
                progress,
                "communications",
                level,
                |i| &bundle.communications[i].name,
                |i| self.communication(i),
            )
            .await?;
        }
        for level in &plan.statements {
            each(
                progress,
                "statements",
                level,
                |i| &bundle.statements[i].name,
                |i| self.statement(i),
            )
            .await?;
        }
        Ok(())
    }

    /// Writes the episode, last, into the gateway's store.
    async fn write_episode(
        &self,
        plan: &Plan,
        progress: &Progress,
    ) -> Result<Episode, (String, Status)> {
        let episode_name = format!("episodes/{}", plan.episode_id);
        match self
            .gateway
            .store
            .put_episode(&plan.episode_id, plan.episode.clone())
            .await
        {
            Ok((episode, outcome)) => {
                progress.record("episodes", &episode_name, outcome);
                Ok(episode)
            }
            Err(error) => Err((episode_name, Status::from(error))),
        }
    }

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
        let place = Place::new(
            format!("bundle.posts[{i}]"),
            &post.name,
            "post",
            &["post_id"],
        );
        let mut client = self.gateway.actors();
        match &self.steps.posts[i] {
            Step::Create => {}
            Step::Unchanged => return Ok(Outcome::Unchanged),
            Step::Update { etag } => {
                let request = UpdatePostRequest {
                    post: Some(Post {
                        etag: etag.clone(),
                        ..client::post(post)
                    }),
                    update_mask: update_all(),
                };
                self.deadline
                    .call(request, |r| client.update_post(r))
                    .await
                    .map_err(|status| place.error(status))?;
                return Ok(Outcome::Updated);
            }
        }
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
        let place = Place::new(
            format!("bundle.tenures[{i}]"),
            &tenure.name,
            "tenure",
            &["tenure_id", "parent"],
        );
        let mut client = self.gateway.actors();
        match &self.steps.tenures[i] {
            Step::Create => {}
            Step::Unchanged => return Ok(Outcome::Unchanged),
            Step::Update { etag } => {
                let request = UpdateTenureRequest {
                    tenure: Some(Tenure {
                        etag: etag.clone(),
                        ..client::tenure(tenure)
                    }),
                    update_mask: update_all(),
                };
                self.deadline
                    .call(request, |r| client.update_tenure(r))
                    .await
                    .map_err(|status| place.error(status))?;
                return Ok(Outcome::Updated);
            }
        }
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
        let place = Place::new(
            format!("bundle.documents[{i}]"),
            &document.name,
            "source_document",
            &["document_id"],
        );
        let mut client = self.gateway.statements();
        match &self.steps.documents[i] {
            Step::Create => {}
            Step::Unchanged => return Ok(Outcome::Unchanged),
            Step::Update { etag } => {
                let request = UpdateSourceDocumentRequest {
                    source_document: Some(SourceDocument {
                        etag: etag.clone(),
                        ..client::document(document)
                    }),
                    update_mask: update_all(),
                };
                self.deadline
                    .call(request, |r| client.update_source_document(r))
                    .await
                    .map_err(|status| place.error(status))?;
                return Ok(Outcome::Updated);
            }
        }
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
        let (etag, update, append) = match &self.steps.communications[i] {
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
                append,
            } => (etag.clone(), *update, append),
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
        for &j in append {
            let status = &log[j];
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
        Ok(if update || !append.is_empty() {
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
            kind: chancery_proto::actors::v1::ActorKind::GovernmentBody as i32,
            display_name: id.into(),
            parent: parent.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_plan_orders_parents_and_affiliations_first() {
        let mut source = actor("source", "");
        source.kind = chancery_proto::actors::v1::ActorKind::AnonymousSource as i32;
        source.anonymous = Some(AnonymousProfile {
            descriptor: "a ministry official".into(),
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
                post: "posts/p".into(),
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
                append: vec![1]
            }]
        );
        assert_eq!(steps.posts, []);

        bundle.posts = vec![Post {
            name: "posts/p".into(),
            title: "New title".into(),
            ..Default::default()
        }];
        let steps = decide(&bundle, &stored).unwrap();
        assert_eq!(steps.posts, [Step::Update { etag: "1".into() }]);

        bundle.communications[0].status_log = vec![held("other")];
        let conflict = decide(&bundle, &stored).unwrap_err();
        assert_eq!(conflict.code(), Code::FailedPrecondition);
        assert!(
            conflict.message().contains("bundle.communications[0]")
                && conflict.message().contains("append-only"),
            "{}",
            conflict.message()
        );
    }

    fn entry(id: &str, note: &str) -> StatusAssertion {
        StatusAssertion {
            id: id.into(),
            note: note.into(),
            ..Default::default()
        }
    }

    #[test]
    fn logged_entries_are_matched_by_id_or_by_content_and_never_lost() {
        let stored = [entry("", "a"), entry("b", "b"), entry("", "a")];
        // Reordered, repeated content matched once each, a new entry with an id and one without.
        let wanted = [
            entry("b", "b"),
            entry("", "a"),
            entry("", "a"),
            entry("c", "c"),
            entry("", "a"),
        ];
        assert_eq!(entries_to_append(&stored, &wanted), Ok(vec![3, 4]));
        assert_eq!(entries_to_append(&stored, &stored), Ok(vec![]));
        let changed = [entry("", "a"), entry("b", "B"), entry("", "a")];
        let problem = entries_to_append(&stored, &changed).unwrap_err();
        assert!(problem.contains("status_log[1] (id \"b\")"), "{problem}");
        let lost = [entry("", "a"), entry("b", "b")];
        let problem = entries_to_append(&stored, &lost).unwrap_err();
        assert!(problem.contains("entry 2 of 3"), "{problem}");
    }
}
