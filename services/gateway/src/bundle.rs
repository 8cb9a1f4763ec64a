//! `ImportBundle` and `ExportBundle`: a whole episode written to, or read from, the services.
//!
//! # Import
//!
//! All or nothing, as far as services that each keep their own database allow:
//!
//! 1. **Validate** the bundle before anything is read: every name parses, no name appears
//!    twice, the episode's own fields are valid, **every field of every resource** passes the
//!    rules its service applies (`chancery-domain`, paths such as
//!    `bundle.statements[4].content.quoted_spans[0].end`), and the in-bundle references that fix
//!    the write order (actor parents and affiliations, `previous_in_series` and topic
//!    communications, `in_reply_to` and `same_utterance_as`) form no cycle. The episode to store
//!    records in `other_actors` every actor of the bundle nothing else of it leads to.
//! 2. **Read** what the services already hold of the bundle's resources and of every resource
//!    the bundle refers to outside itself (`check`), one batch call per collection. **Every
//!    reference** must name a resource of the bundle or of the suite, or the import is
//!    INVALID_ARGUMENT on the referring field. Each resource is then to be created, left
//!    unchanged (equal on the fields clients set), or updated — posts, tenures and documents
//!    included. A status log is append-only: entries are matched to the logged ones by `id`
//!    (or by content, for entries without one) and only the new ones are appended; a logged
//!    entry the bundle lacks or changes fails the import with FAILED_PRECONDITION **before
//!    anything is written**.
//! 3. **Write** in dependency order: actors (in topological levels, parents and affiliations
//!    first), posts, tenures, documents, communications, statements, and last the episode into
//!    the gateway's store. Resources of one level are written concurrently; after a failure no
//!    new write starts and those in flight finish, so the import knows everything it wrote. A
//!    failure before any write is the backend's error on the bundle's path
//!    (`bundle.statements[4].speaker: …`), saying nothing was written; a failure after some is
//!    ABORTED `BUNDLE_PARTIALLY_WRITTEN` with an `ImportProgress` detail listing every resource
//!    written (`Progress`).
//!
//! Importing the same bundle again finds everything unchanged and writes nothing; an import cut
//! short (a backend down, the deadline passed) is finished by importing again.
//!
//! # Export
//!
//! Reads the episode, its members (one batch call per service), the communications and
//! statements they lead to (every reference `references` lists: `previous_in_series`, topic
//! communications, a statement's communications, `in_reply_to`, `same_utterance_as`, the
//! statements of status entries), then, until nothing new turns up, every actor referenced
//! (the episode's actors of interest and other actors, parents and affiliations, authors),
//! each actor's tenures and their posts, and every cited document. The bundle
//! holds only the fields clients set (no times, etags, computed status or derived date fields),
//! each collection sorted by name, so exporting twice gives the same bytes and the export
//! imports back to the same state.

mod check;
mod client;
mod export;
mod import;
mod order;
mod read;
mod references;
mod remote;

use chancery_proto::gateway::v1::{
    Bundle, ExportBundleRequest, ImportBundleRequest, ImportBundleResponse,
};
use tonic::{Request, Response, Status};

use crate::Gateway;

pub use client::client_fields;

/// The collections of a bundle, as the keys of `ImportBundleResponse`'s counts.
pub const COLLECTIONS: [&str; 7] = [
    "actors",
    "posts",
    "tenures",
    "documents",
    "communications",
    "statements",
    "episodes",
];

/// `ImportBundle`: writes every resource of the bundle to its owning service, idempotently.
pub(crate) async fn import_bundle(
    gateway: &Gateway,
    request: Request<ImportBundleRequest>,
) -> Result<Response<ImportBundleResponse>, Status> {
    let (metadata, _, request) = request.into_parts();
    Ok(Response::new(
        import::import(gateway, request, &metadata).await?,
    ))
}

/// Validates a bundle as `ImportBundle` does before reading anything (names, duplicates, the
/// episode, the write order); the error is the status the RPC answers. Lets the fuzz targets
/// (`tests/fuzz`) run the check without a database.
pub fn validate(bundle: &Bundle) -> Result<(), Status> {
    import::check(bundle)
}

/// `ExportBundle`: reads an episode and everything it refers to back as a bundle.
pub(crate) async fn export_bundle(
    gateway: &Gateway,
    request: Request<ExportBundleRequest>,
) -> Result<Response<Bundle>, Status> {
    let (metadata, _, request) = request.into_parts();
    Ok(Response::new(
        export::export(gateway, request, &metadata).await?,
    ))
}
