//! `chancery import FILE`: a bundle file sent to the gateway's `ImportBundle`, and what it did
//! printed as a table. Also the demo bundle that `chancery up --demo` imports.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use chancery_proto::gateway::v1::{Bundle, ImportBundleRequest, ImportBundleResponse};

use crate::cli::args::ImportOptions;
use crate::cli::client::{self, EXIT_DATA, EXIT_NO_INPUT, Failure};

/// The demo bundle: the seed article's episode, `episodes/macron-putin-2022-03`, as committed in
/// `services/suite/demo/macron-putin-2022-03.json`.
pub const DEMO_BUNDLE_JSON: &str = include_str!("../../demo/macron-putin-2022-03.json");

/// Longest an import may take, as this command asks the gateway (which has its own limit,
/// `CHANCERY_REQUEST_TIMEOUT`).
const IMPORT_TIMEOUT: Duration = Duration::from_secs(300);

/// The demo bundle, parsed.
pub fn demo_bundle() -> Bundle {
    chancery_proto::bundle_from_json(DEMO_BUNDLE_JSON)
        .expect("the embedded demo bundle is valid (a test checks it)")
}

/// Reads a bundle file (`-` for standard input).
pub fn read_bundle(file: &Path) -> Result<Bundle, Failure> {
    let shown = file.display();
    let json = if file.as_os_str() == "-" {
        let mut json = String::new();
        std::io::stdin()
            .read_to_string(&mut json)
            .map_err(|error| {
                Failure::new(
                    EXIT_NO_INPUT,
                    format!("cannot read standard input: {error}"),
                )
            })?;
        json
    } else {
        std::fs::read_to_string(file)
            .map_err(|error| Failure::new(EXIT_NO_INPUT, format!("cannot read {shown}: {error}")))?
    };
    chancery_proto::bundle_from_json(&json)
        .map_err(|problem| Failure::new(EXIT_DATA, format!("{shown}: {problem}")))
}

/// Sends `bundle` to the gateway at `gateway`, with the token of `token_file` (see
/// [`client::token`]), and returns what the import did.
pub async fn send(
    gateway: &str,
    token_file: Option<&Path>,
    tls: &client::TlsFiles,
    bundle: Bundle,
) -> Result<ImportBundleResponse, Failure> {
    let mut client = client::gateway(gateway, token_file, tls).await?;
    let request = client::request(
        ImportBundleRequest {
            bundle: Some(bundle),
        },
        IMPORT_TIMEOUT,
    );
    client
        .import_bundle(request)
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| Failure::from_status("import", &status))
}

/// One line of what an import did: `25 created, 0 unchanged, 0 updated`.
pub fn totals(response: &ImportBundleResponse) -> String {
    let sum = |map: &std::collections::HashMap<String, i32>| map.values().sum::<i32>();
    format!(
        "{} created, {} unchanged, {} updated",
        sum(&response.created),
        sum(&response.unchanged),
        sum(&response.updated)
    )
}

/// What an import did, as a table of counts by collection.
pub fn report(response: &ImportBundleResponse) -> String {
    let episode = response
        .episode
        .as_ref()
        .map_or("the episode", |e| e.name.as_str());
    let mut text = format!("imported {episode}: {}\n", totals(response));
    text.push_str(&format!(
        "  {:<16}{:>8}{:>11}{:>9}\n",
        "", "created", "unchanged", "updated"
    ));
    let count = |map: &std::collections::HashMap<String, i32>, collection: &str| {
        map.get(collection).copied().unwrap_or(0)
    };
    // The gateway's own list: the order bundles are written in, and shown in.
    for collection in chancery_gateway::bundle::COLLECTIONS {
        text.push_str(&format!(
            "  {:<16}{:>8}{:>11}{:>9}\n",
            collection,
            count(&response.created, collection),
            count(&response.unchanged, collection),
            count(&response.updated, collection)
        ));
    }
    text
}

/// Runs `chancery import`.
pub async fn run(options: &ImportOptions) -> Result<(), Failure> {
    let bundle = read_bundle(&options.file)?;
    let response = send(
        &options.gateway,
        options.token_file.as_deref(),
        &options.tls,
        bundle,
    )
    .await?;
    print!("{}", report(&response));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_proto::gateway::v1::Episode;

    #[test]
    fn the_embedded_demo_is_the_seed_episode() {
        let demo = demo_bundle();
        assert_eq!(demo.episode.unwrap().name, "episodes/macron-putin-2022-03");
        assert!(demo.actors.iter().any(|a| a.name == "actors/tass"));
    }

    #[test]
    fn unreadable_and_invalid_files_have_their_own_exit_status() {
        let missing = read_bundle(Path::new("/nonexistent/bundle.json")).unwrap_err();
        assert_eq!(missing.exit, EXIT_NO_INPUT);
        let dir = std::env::temp_dir().join(format!("chancery-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let invalid = dir.join("invalid.json");
        std::fs::write(&invalid, r#"{"actors": [{"displayNme": "France"}]}"#).unwrap();
        let failure = read_bundle(&invalid).unwrap_err();
        assert_eq!(failure.exit, EXIT_DATA);
        assert!(
            failure.message.contains("invalid.json") && failure.message.contains("displayNme"),
            "{}",
            failure.message
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_report_is_a_table_by_collection() {
        let response = ImportBundleResponse {
            episode: Some(Episode {
                name: "episodes/e".into(),
                ..Default::default()
            }),
            created: [("actors".to_owned(), 2), ("episodes".to_owned(), 1)].into(),
            unchanged: [("posts".to_owned(), 4)].into(),
            updated: Default::default(),
        };
        let report = report(&response);
        assert!(report.starts_with("imported episodes/e: 3 created, 4 unchanged, 0 updated\n"));
        assert!(
            report.contains("  actors                 2          0        0\n"),
            "{report}"
        );
        assert!(
            report.contains("  posts                  0          4        0\n"),
            "{report}"
        );
    }
}
