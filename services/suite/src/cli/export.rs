//! `chancery export episodes/ID`: the gateway's `ExportBundle` written as a bundle file, the
//! same JSON `chancery import` reads.

use std::time::Duration;

use chancery_proto::gateway::v1::ExportBundleRequest;

use crate::cli::args::ExportOptions;
use crate::cli::client::{self, EXIT_CANNOT_WRITE, Failure};

/// Longest an export may take, as this command asks the gateway.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `chancery export`.
pub async fn run(options: &ExportOptions) -> Result<(), Failure> {
    let mut client = client::gateway(
        &options.gateway,
        options.token_file.as_deref(),
        &options.tls,
    )
    .await?;
    let request = client::request(
        ExportBundleRequest {
            name: options.episode.clone(),
        },
        EXPORT_TIMEOUT,
    );
    let bundle = client
        .export_bundle(request)
        .await
        .map_err(|status| Failure::from_status("export", &status))?
        .into_inner();
    let json = chancery_proto::bundle_to_json(&bundle);
    match &options.output {
        None => print!("{json}"),
        Some(path) => {
            std::fs::write(path, json).map_err(|error| {
                Failure::new(
                    EXIT_CANNOT_WRITE,
                    format!("cannot write {}: {error}", path.display()),
                )
            })?;
            eprintln!(
                "exported {} to {}: {} actors, {} posts, {} tenures, {} documents, {} communications, {} statements",
                options.episode,
                path.display(),
                bundle.actors.len(),
                bundle.posts.len(),
                bundle.tenures.len(),
                bundle.documents.len(),
                bundle.communications.len(),
                bundle.statements.len()
            );
        }
    }
    Ok(())
}
