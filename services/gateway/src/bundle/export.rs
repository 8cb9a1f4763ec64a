//! `ExportBundle`: an episode and everything it refers to, read back as a bundle.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chancery_proto::actors::v1::{Actor, Post, Tenure};
use chancery_proto::communications::v1::Communication;
use chancery_proto::gateway::v1::{Bundle, Episode, ExportBundleRequest};
use chancery_proto::statements::v1::{SourceDocument, Statement};
use chancery_runtime::errors::{Error, failed_precondition};
use chancery_runtime::names;
use tonic::Status;
use tonic::metadata::MetadataMap;

use super::references::{self, Target};
use super::remote::Deadline;
use super::{client, read};
use crate::Gateway;

/// `ErrorInfo.reason` of an export refused because the episode refers to resources that no
/// longer exist, so no bundle of it could be imported.
pub(crate) const INCOMPLETE_REASON: &str = "BUNDLE_INCOMPLETE";

/// Exports the episode `request.name`; see the module documentation of `bundle`.
pub(crate) async fn export(
    gateway: &Gateway,
    request: ExportBundleRequest,
    metadata: &MetadataMap,
) -> Result<Bundle, Status> {
    let deadline = Deadline::of(metadata);
    let id = names::read_name(&request.name, "episodes").map_err(Error::from)?;
    let episode = gateway
        .store
        .get_episode(&id)
        .await?
        .ok_or_else(|| Error::NotFound(request.name.clone()))?;

    let mut collected = Collected::default();
    collected
        .communications_and_statements(gateway, &deadline, &episode)
        .await?;
    collected
        .actors_and_what_they_hold(gateway, &deadline, &episode)
        .await?;
    if !collected.missing.is_empty() {
        const SHOWN: usize = 20;
        let missing: Vec<&str> = collected.missing.iter().map(String::as_str).collect();
        let mut message = format!(
            "{} cannot be exported whole: it refers to resources that no longer exist: {}",
            request.name,
            missing[..missing.len().min(SHOWN)].join(", ")
        );
        if missing.len() > SHOWN {
            message.push_str(&format!(" and {} more", missing.len() - SHOWN));
        }
        return Err(failed_precondition(INCOMPLETE_REASON, message));
    }
    Ok(collected.into_bundle(&episode))
}

/// The resources of an episode found so far, by name, and the names found missing.
#[derive(Debug, Default)]
struct Collected {
    actors: BTreeMap<String, Actor>,
    posts: BTreeMap<String, Post>,
    tenures: BTreeMap<String, Tenure>,
    documents: BTreeMap<String, SourceDocument>,
    communications: BTreeMap<String, Communication>,
    statements: BTreeMap<String, Statement>,
    missing: BTreeSet<String>,
}

/// Adds a non-empty `name` to `wanted`.
fn want(wanted: &mut BTreeSet<String>, name: &str) {
    if !name.is_empty() {
        wanted.insert(name.to_owned());
    }
}

/// Adds each of `names` to `wanted`.
fn want_all<'a>(wanted: &mut BTreeSet<String>, names: impl Iterator<Item = &'a str>) {
    for name in names {
        want(wanted, name);
    }
}

/// Of `wanted`, those not yet read nor known missing.
fn unread<T>(
    wanted: BTreeSet<String>,
    have: &BTreeMap<String, T>,
    missing: &BTreeSet<String>,
) -> Vec<String> {
    wanted
        .into_iter()
        .filter(|name| !have.contains_key(name) && !missing.contains(name))
        .collect()
}

/// Moves what was `found` of `asked` into `into`, and the rest into `missing`; returns the
/// resources newly found.
fn take<T: Clone>(
    asked: &[String],
    mut found: HashMap<String, T>,
    into: &mut BTreeMap<String, T>,
    missing: &mut BTreeSet<String>,
) -> Vec<T> {
    let mut new = Vec::with_capacity(found.len());
    for name in asked {
        match found.remove(name) {
            Some(resource) => {
                new.push(resource.clone());
                into.insert(name.clone(), resource);
            }
            None => {
                missing.insert(name.clone());
            }
        }
    }
    new
}

impl Collected {
    /// The members, then the communications and statements they lead to, until none is new.
    async fn communications_and_statements(
        &mut self,
        gateway: &Gateway,
        deadline: &Deadline,
        episode: &Episode,
    ) -> Result<(), Status> {
        let mut communications: BTreeSet<String> = episode.communications.iter().cloned().collect();
        let mut statements: BTreeSet<String> = episode.statements.iter().cloned().collect();
        loop {
            let asked_communications = unread(communications, &self.communications, &self.missing);
            let asked_statements = unread(statements, &self.statements, &self.missing);
            if asked_communications.is_empty() && asked_statements.is_empty() {
                return Ok(());
            }
            let (found_communications, found_statements) = tokio::try_join!(
                read::communications(gateway, deadline, &asked_communications),
                read::statements(gateway, deadline, &asked_statements),
            )?;
            communications = BTreeSet::new();
            statements = BTreeSet::new();
            for communication in take(
                &asked_communications,
                found_communications,
                &mut self.communications,
                &mut self.missing,
            ) {
                let refs = references::of_communication(&communication);
                want_all(&mut communications, refs.names(Target::Communication));
                want_all(&mut statements, refs.names(Target::Statement));
            }
            for statement in take(
                &asked_statements,
                found_statements,
                &mut self.statements,
                &mut self.missing,
            ) {
                let refs = references::of_statement(&statement);
                want_all(&mut communications, refs.names(Target::Communication));
                want_all(&mut statements, refs.names(Target::Statement));
            }
        }
    }

    /// Every actor and document the episode, its communications and its statements name, then,
    /// until nothing new turns up: the parents and affiliations of actors, their tenures and the
    /// posts held, the actors those name, and every document any of them cites.
    async fn actors_and_what_they_hold(
        &mut self,
        gateway: &Gateway,
        deadline: &Deadline,
        episode: &Episode,
    ) -> Result<(), Status> {
        let mut actors = BTreeSet::new();
        let mut documents = BTreeSet::new();
        let mut posts = BTreeSet::new();
        want_all(
            &mut actors,
            references::of_episode(episode).names(Target::Actor),
        );
        let member_refs = self
            .communications
            .values()
            .map(references::of_communication)
            .chain(self.statements.values().map(references::of_statement));
        for refs in member_refs {
            want_all(&mut actors, refs.names(Target::Actor));
            want_all(&mut documents, refs.names(Target::Document));
        }
        loop {
            let asked_actors = unread(actors, &self.actors, &self.missing);
            let asked_documents = unread(documents, &self.documents, &self.missing);
            let asked_posts = unread(posts, &self.posts, &self.missing);
            if asked_actors.is_empty() && asked_documents.is_empty() && asked_posts.is_empty() {
                return Ok(());
            }
            let (found_actors, found_documents, found_posts) = tokio::try_join!(
                read::actors(gateway, deadline, &asked_actors),
                read::documents(gateway, deadline, &asked_documents),
                read::posts(gateway, deadline, &asked_posts),
            )?;
            actors = BTreeSet::new();
            documents = BTreeSet::new();
            posts = BTreeSet::new();
            let new_actors = take(
                &asked_actors,
                found_actors,
                &mut self.actors,
                &mut self.missing,
            );
            for actor in &new_actors {
                let refs = references::of_actor(actor);
                want_all(&mut actors, refs.names(Target::Actor));
                want_all(&mut documents, refs.names(Target::Document));
            }
            for document in take(
                &asked_documents,
                found_documents,
                &mut self.documents,
                &mut self.missing,
            ) {
                want_all(
                    &mut actors,
                    references::of_document(&document).names(Target::Actor),
                );
            }
            for post in take(
                &asked_posts,
                found_posts,
                &mut self.posts,
                &mut self.missing,
            ) {
                want_all(&mut actors, references::of_post(&post).names(Target::Actor));
            }
            let holders: Vec<String> = new_actors.iter().map(|a| a.name.clone()).collect();
            for tenure in read::tenures_of(gateway, deadline, &holders).await? {
                let refs = references::of_tenure(&tenure);
                want_all(&mut posts, refs.names(Target::Post));
                want_all(&mut actors, refs.names(Target::Actor));
                want_all(&mut documents, refs.names(Target::Document));
                self.tenures.insert(tenure.name.clone(), tenure);
            }
        }
    }

    /// The bundle: client fields only, each collection in name order.
    fn into_bundle(self, episode: &Episode) -> Bundle {
        Bundle {
            episode: Some(client::episode(episode)),
            actors: self.actors.values().map(client::actor).collect(),
            posts: self.posts.values().map(client::post).collect(),
            tenures: self.tenures.values().map(client::tenure).collect(),
            documents: self.documents.values().map(client::document).collect(),
            communications: self
                .communications
                .values()
                .map(client::communication)
                .collect(),
            statements: self.statements.values().map(client::statement).collect(),
        }
    }
}
