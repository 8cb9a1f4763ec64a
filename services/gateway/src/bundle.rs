//! `ImportBundle` and `ExportBundle`: a whole episode written to, or read from, the services.
//!
//! # Import
//!
//! 1. **Validate** the bundle as a whole before anything else: every name parses, no name
//!    appears twice, the episode's own fields are valid, and the in-bundle references that fix
//!    the write order (actor parents and affiliations, `previous_in_series`, `in_reply_to`) form
//!    no cycle. Problems are INVALID_ARGUMENT with paths such as `bundle.actors[3].name`.
//! 2. **Read** what the services already hold of it, one batch call per collection that has
//!    one (posts and tenures, which have none, with one concurrent get each), and the episode's
//!    members that are not in the bundle, which must exist. Each resource is then to be
//!    created, left unchanged (equal on the fields clients set), or updated. A difference that
//!    cannot be written — a post, tenure or document (they have no update method), or a
//!    communication whose stored status log is not a prefix of the bundle's (the log is
//!    append-only) — fails the import with FAILED_PRECONDITION **before anything is written**.
//! 3. **Write** in dependency order: actors (in topological levels, parents and affiliations
//!    first), posts, tenures, documents, communications (previous in series first; new status
//!    entries appended after the stored ones), statements (the statement replied to first), and
//!    last the episode into the gateway's store. Resources of one level are written
//!    concurrently. A backend's error comes back with the bundle path of the resource it is
//!    about: `bundle.statements[4].speaker: actors/x does not exist`.
//!
//! Importing the same bundle again finds everything unchanged and writes nothing; an import cut
//! short (a backend down, the deadline passed) is finished by importing again.
//!
//! # Export
//!
//! Reads the episode, its members (one batch call per service), the communications and
//! statements they lead to (`previous_in_series`, a statement's `communication`,
//! `in_reply_to`), then, until nothing new turns up, every actor referenced (with parents and
//! affiliations), each actor's tenures and their posts, and every cited document. The bundle
//! holds only the fields clients set (no times, etags, computed status or derived date fields),
//! each collection sorted by name, so exporting twice gives the same bytes and the export
//! imports back to the same state.

mod client;
mod export;
mod import;
mod order;
mod read;
mod remote;

use chancery_proto::gateway::v1::{
    Bundle, ExportBundleRequest, ImportBundleRequest, ImportBundleResponse,
};
use tonic::Status;
use tonic::metadata::MetadataMap;

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
pub async fn import(
    gateway: &Gateway,
    request: ImportBundleRequest,
    metadata: &MetadataMap,
) -> Result<ImportBundleResponse, Status> {
    import::import(gateway, request, metadata).await
}

/// Validates a bundle as `ImportBundle` does before reading anything (names, duplicates, the
/// episode, the write order); the error is the status the RPC answers. Lets the fuzz targets
/// (`tests/fuzz`) run the check without a database.
pub fn validate(bundle: &Bundle) -> Result<(), Status> {
    import::check(bundle)
}

/// `ExportBundle`: reads an episode and everything it refers to back as a bundle.
pub async fn export(
    gateway: &Gateway,
    request: ExportBundleRequest,
    metadata: &MetadataMap,
) -> Result<Bundle, Status> {
    export::export(gateway, request, metadata).await
}
