//! The seed episode — every fact of `shared/seed/article.txt` (the Macron–Putin calls of March
//! 2022) — and [`load`] to record it in a running suite through the public APIs of the three data
//! services, in dependency order.
//!
//! The single source of truth is the demo bundle file,
//! `services/suite/demo/macron-putin-2022-03.json` (the JSON form of `chancery.gateway.v1.Bundle`,
//! embedded here and in the `chancery` binary): [`bundle`] parses it, and [`episode`] turns it
//! into the create requests [`load`] sends. To change the seed, edit the file.
//!
//! Where the article leaves something unsaid, the data says so instead of inventing it: the
//! article's publisher and title are not in the text, nor the exact day Legendre spoke, which
//! is recorded as the interval the article allows (after the call of 22 March, before the one
//! of 29 March).

use chancery_proto::actors::v1::{CreateActorRequest, CreatePostRequest, CreateTenureRequest};
use chancery_proto::communications::v1::CreateCommunicationRequest;
use chancery_proto::gateway::v1::{Bundle, Episode};
use chancery_proto::statements::v1::{CreateSourceDocumentRequest, CreateStatementRequest};

use crate::Suite;

/// The resource name of the seed article, the one document the episode is read from.
pub const SEED_DOCUMENT: &str = "documents/seed-article";
/// When Legendre spoke, as far as the article tells: after 22 March, before 29 March 2022.
pub const LEGENDRE_SPOKE: &str = "2022-03-23/2022-03-28";
/// The resource name of the seed episode.
pub const EPISODE: &str = "episodes/macron-putin-2022-03";
/// The demo bundle file, as committed.
pub const BUNDLE_JSON: &str =
    include_str!("../../../services/suite/demo/macron-putin-2022-03.json");
/// Where the demo bundle file is, for tests that hand it to `chancery import`.
pub const BUNDLE_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../services/suite/demo/macron-putin-2022-03.json"
);

/// Every create request of the seed episode, by service, in the order they must be sent, and
/// the episode itself.
#[derive(Debug, Clone, Default)]
pub struct SeedEpisode {
    /// Actors: people, states, bodies, outlets, anonymous sources; parents and affiliations
    /// first.
    pub actors: Vec<CreateActorRequest>,
    /// Offices.
    pub posts: Vec<CreatePostRequest>,
    /// Who held which office from when.
    pub tenures: Vec<CreateTenureRequest>,
    /// The source documents.
    pub documents: Vec<CreateSourceDocumentRequest>,
    /// The three calls, the one each refers to as previous first.
    pub communications: Vec<CreateCommunicationRequest>,
    /// What was said, a statement before any that replies to it.
    pub statements: Vec<CreateStatementRequest>,
    /// The episode, `episodes/macron-putin-2022-03`, naming every communication and statement
    /// (the gateway stores it; [`load`] does not).
    pub episode: Episode,
}

/// The demo bundle, parsed from [`BUNDLE_JSON`]. Panics if the committed file is not a valid
/// bundle (a test checks it is).
pub fn bundle() -> Bundle {
    chancery_proto::bundle_from_json(BUNDLE_JSON).unwrap_or_else(|problem| {
        panic!("services/suite/demo/macron-putin-2022-03.json: {problem}")
    })
}

/// The seed episode as create requests, from [`bundle`].
pub fn episode() -> SeedEpisode {
    from_bundle(&bundle())
}

/// The id in a resource name: `tass` for `actors/tass`.
fn id_of(name: &str) -> String {
    name.rsplit('/').next().unwrap_or_default().to_owned()
}

/// Turns a bundle into create requests in the bundle's order, each with the id from its name
/// and a request id (`seed-actor-{id}`, …) so that sending them twice creates nothing twice.
pub fn from_bundle(bundle: &Bundle) -> SeedEpisode {
    let actors = bundle
        .actors
        .iter()
        .map(|actor| {
            let id = id_of(&actor.name);
            CreateActorRequest {
                request_id: format!("seed-actor-{id}"),
                actor: Some(actor.clone()),
                actor_id: id,
            }
        })
        .collect();
    let posts = bundle
        .posts
        .iter()
        .map(|post| {
            let id = id_of(&post.name);
            CreatePostRequest {
                request_id: format!("seed-post-{id}"),
                post: Some(post.clone()),
                post_id: id,
            }
        })
        .collect();
    let tenures = bundle
        .tenures
        .iter()
        .map(|tenure| {
            // `actors/{actor_id}/tenures/{tenure_id}`
            let parent = tenure
                .name
                .split("/tenures/")
                .next()
                .unwrap_or_default()
                .to_owned();
            let id = id_of(&tenure.name);
            CreateTenureRequest {
                request_id: format!("seed-tenure-{}-{id}", id_of(&parent)),
                parent,
                tenure: Some(tenure.clone()),
                tenure_id: id,
            }
        })
        .collect();
    let documents = bundle
        .documents
        .iter()
        .map(|document| {
            let id = id_of(&document.name);
            CreateSourceDocumentRequest {
                request_id: format!("seed-document-{id}"),
                source_document: Some(document.clone()),
                document_id: id,
            }
        })
        .collect();
    let communications = bundle
        .communications
        .iter()
        .map(|communication| {
            let id = id_of(&communication.name);
            CreateCommunicationRequest {
                request_id: format!("seed-communication-{id}"),
                communication: Some(communication.clone()),
                communication_id: id,
            }
        })
        .collect();
    let statements = bundle
        .statements
        .iter()
        .map(|statement| {
            let id = id_of(&statement.name);
            CreateStatementRequest {
                request_id: format!("seed-statement-{id}"),
                statement: Some(statement.clone()),
                statement_id: id,
            }
        })
        .collect();
    SeedEpisode {
        actors,
        posts,
        tenures,
        documents,
        communications,
        statements,
        episode: bundle.episode.clone().unwrap_or_default(),
    }
}

/// Sends the seed episode to `suite` through the public APIs, in dependency order. Safe to
/// run twice: every request carries a request id.
pub async fn load(suite: &Suite, seed: &SeedEpisode) -> Result<(), tonic::Status> {
    let mut actors = suite.actors.actors();
    for request in &seed.actors {
        actors.create_actor(request.clone()).await?;
    }
    for request in &seed.posts {
        actors.create_post(request.clone()).await?;
    }
    for request in &seed.tenures {
        actors.create_tenure(request.clone()).await?;
    }
    let mut statements = suite.statements.statements();
    for request in &seed.documents {
        statements.create_source_document(request.clone()).await?;
    }
    let mut communications = suite.communications.communications();
    for request in &seed.communications {
        communications.create_communication(request.clone()).await?;
    }
    for request in &seed.statements {
        statements.create_statement(request.clone()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn names<'a>(items: impl IntoIterator<Item = &'a String>) -> HashSet<&'a str> {
        items.into_iter().map(String::as_str).collect()
    }

    #[test]
    fn the_committed_bundle_is_canonical_json() {
        let bundle = bundle();
        assert_eq!(
            chancery_proto::bundle_to_json(&bundle),
            BUNDLE_JSON,
            "the demo file is not in canonical form: write it with chancery_proto::bundle_to_json"
        );
        assert_eq!(
            std::fs::read_to_string(BUNDLE_PATH).unwrap(),
            BUNDLE_JSON,
            "BUNDLE_PATH names the embedded file"
        );
    }

    #[test]
    fn the_bundle_holds_every_resource_of_the_seed() {
        let bundle = bundle();
        let seed = from_bundle(&bundle);
        assert_eq!(
            (
                seed.actors.len(),
                seed.posts.len(),
                seed.tenures.len(),
                seed.documents.len(),
                seed.communications.len(),
                seed.statements.len()
            ),
            (25, 5, 5, 1, 3, 12)
        );
        let actors = names(bundle.actors.iter().map(|a| &a.name));
        for id in [
            "emmanuel-macron",
            "vladimir-putin",
            "olaf-scholz",
            "anne-claire-legendre",
            "sergey-lavrov",
            "tass",
            "bfm-tv",
            "the-guardian",
            "associated-press",
            "seed-article-publisher",
            "french-presidency-official",
            "german-spokesperson",
            "kremlin-press-service",
            "france",
            "russia",
            "germany",
            "ukraine",
            "greece",
            "turkey",
            "united-states",
        ] {
            assert!(actors.contains(format!("actors/{id}").as_str()), "{id}");
        }
        let episode = &seed.episode;
        assert_eq!(episode.name, EPISODE);
        assert!(!episode.title.is_empty() && !episode.summary.is_empty());
        assert_eq!(episode.span.as_ref().unwrap().edtf, "2022-03");
        assert_eq!(
            names(&episode.communications),
            names(bundle.communications.iter().map(|c| &c.name))
        );
        assert_eq!(
            names(&episode.statements),
            names(bundle.statements.iter().map(|s| &s.name))
        );
        // The outlets named only inside the document, and the seven states the article involves.
        assert_eq!(
            episode.actors_of_interest,
            [
                "actors/associated-press",
                "actors/france",
                "actors/germany",
                "actors/greece",
                "actors/russia",
                "actors/seed-article-publisher",
                "actors/turkey",
                "actors/ukraine",
                "actors/united-states"
            ]
        );
        assert_eq!(bundle.documents[0].name, SEED_DOCUMENT);
        assert_eq!(
            seed.tenures[4].parent, "actors/anne-claire-legendre",
            "tenures are split into parent and id"
        );
        assert_eq!(seed.tenures[4].tenure_id, "spokesperson");
        assert!(
            bundle
                .statements
                .iter()
                .any(|s| s.said.as_ref().unwrap().edtf == LEGENDRE_SPOKE)
        );
    }

    fn check(seen: &HashSet<String>, from: &str, to: &str) {
        if !to.is_empty() {
            assert!(seen.contains(to), "{from} refers to {to} before it exists");
        }
    }

    /// [`load`] sends the requests in file order, so every reference must point backwards (or
    /// into an earlier collection), and resolve within the bundle.
    #[test]
    fn every_reference_resolves_to_an_earlier_resource() {
        let bundle = bundle();
        let documents = names(bundle.documents.iter().map(|d| &d.name));
        let mut seen: HashSet<String> = HashSet::new();
        for actor in &bundle.actors {
            check(&seen, &actor.name, &actor.parent);
            if let Some(anonymous) = &actor.anonymous {
                check(&seen, &actor.name, &anonymous.affiliation);
            }
            // Actors cite documents by syntax only, so those may come later.
            for source in &actor.sources {
                assert!(documents.contains(source.document.as_str()));
            }
            seen.insert(actor.name.clone());
        }
        for post in &bundle.posts {
            check(&seen, &post.name, &post.organization);
        }
        seen.extend(bundle.posts.iter().map(|p| p.name.clone()));
        for tenure in &bundle.tenures {
            let actor = tenure.name.split("/tenures/").next().unwrap();
            check(&seen, &tenure.name, actor);
            check(&seen, &tenure.name, &tenure.post);
            check(&seen, &tenure.name, &tenure.on_behalf_of);
        }
        for document in &bundle.documents {
            check(&seen, &document.name, &document.publisher);
            for asset in &document.media_assets {
                check(&seen, &document.name, &asset.credit_actor);
            }
        }
        seen.extend(bundle.documents.iter().map(|d| d.name.clone()));
        for communication in &bundle.communications {
            let from = communication.name.as_str();
            for participant in &communication.participants {
                check(&seen, from, &participant.actor);
            }
            for topic in &communication.topics {
                for actor in &topic.mentioned_actors {
                    check(&seen, from, actor);
                }
                for source in &topic.sources {
                    check(&seen, from, &source.document);
                }
            }
            for source in &communication.sources {
                check(&seen, from, &source.document);
            }
            for status in &communication.status_log {
                check(&seen, from, &status.asserted_by);
                if let Some(source) = &status.source {
                    check(&seen, from, &source.document);
                }
            }
            check(&seen, from, &communication.previous_in_series);
            seen.insert(communication.name.clone());
        }
        for statement in &bundle.statements {
            let from = statement.name.as_str();
            for actor in std::iter::once(&statement.speaker)
                .chain(&statement.co_speakers)
                .chain(std::iter::once(&statement.on_behalf_of))
                .chain(&statement.addressees)
                .chain(&statement.about_actors)
            {
                check(&seen, from, actor);
            }
            check(&seen, from, &statement.communication);
            check(&seen, from, &statement.in_reply_to);
            if let Some(readout) = &statement.readout {
                check(&seen, from, &readout.issuer);
                check(&seen, from, &readout.document);
            }
            for hop in &statement.attribution_chain {
                check(&seen, from, &hop.reporter);
                check(&seen, from, &hop.document);
            }
            seen.insert(statement.name.clone());
        }
        // Status claims name statements by syntax only; they must still be in the bundle.
        let statements = names(bundle.statements.iter().map(|s| &s.name));
        for communication in &bundle.communications {
            for status in &communication.status_log {
                assert!(
                    status.statement.is_empty() || statements.contains(status.statement.as_str())
                );
            }
        }
    }
}
