//! The suite as Kubernetes runs it: the gateway and the three services as **separate processes**
//! (the real binaries), each configured only by its environment, driven by the real `chancery`
//! command: import the demo bundle, view it, stop the statements process, view again — a
//! partial view that names what is missing, and still exit status 0.
//!
//! The binaries are found next to this test's own executable (`target/debug/`). `cargo test`
//! builds a package's binaries only for that package's own integration tests, so this test runs
//! `cargo build --bins` for the five it needs first (a no-op when they are fresh); run directly,
//! without cargo, it uses whatever binaries are there and says how to build them if any is
//! missing.

use chancery_testkit::{TempDir, seed};

mod support;

use support::process::{Service, chancery, succeeded, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_processes_import_view_and_survive_losing_statements() {
    let data = TempDir::new("processes").expect("a temporary directory");
    let mut actors = Service::start("chancery-actors", data.path(), &[]);
    let mut communications = Service::start(
        "chancery-communications",
        data.path(),
        &[("CHANCERY_ACTORS_ADDR", actors.uri())],
    );
    let mut statements = Service::start(
        "chancery-statements",
        data.path(),
        &[
            ("CHANCERY_ACTORS_ADDR", actors.uri()),
            ("CHANCERY_COMMUNICATIONS_ADDR", communications.uri()),
        ],
    );
    let mut gateway = Service::start(
        "chancery-gateway",
        data.path(),
        &[
            ("CHANCERY_ACTORS_ADDR", actors.uri()),
            ("CHANCERY_COMMUNICATIONS_ADDR", communications.uri()),
            ("CHANCERY_STATEMENTS_ADDR", statements.uri()),
        ],
    );
    for service in [
        &mut actors,
        &mut communications,
        &mut statements,
        &mut gateway,
    ] {
        service.wait_serving().await;
    }
    let gateway_uri = gateway.uri();
    let at = ["--gateway", gateway_uri.as_str()];

    // Import the committed demo bundle file, then again: nothing changes the second time.
    let imported = succeeded(
        "chancery import",
        &chancery(&[&["import", seed::BUNDLE_PATH][..], &at].concat()),
    );
    assert!(
        imported.starts_with(
            "imported episodes/macron-putin-2022-03: 52 created, 0 unchanged, 0 updated"
        ),
        "{imported}"
    );
    let again = succeeded(
        "chancery import (again)",
        &chancery(&[&["import", seed::BUNDLE_PATH][..], &at].concat()),
    );
    assert!(
        again.contains("0 created, 52 unchanged, 0 updated"),
        "{again}"
    );

    // Export: a bundle file holding everything.
    let exported = succeeded(
        "chancery export",
        &chancery(&[&["export", seed::EPISODE][..], &at].concat()),
    );
    let bundle = chancery_proto::bundle_from_json(&exported).expect("the export is a bundle");
    assert_eq!(bundle.episode.unwrap().name, seed::EPISODE);
    assert_eq!(
        (
            bundle.actors.len(),
            bundle.communications.len(),
            bundle.statements.len()
        ),
        (25, 3, 12)
    );

    // The whole view.
    let whole = succeeded(
        "chancery view",
        &chancery(&[&["view", seed::EPISODE][..], &at].concat()),
    );
    assert!(!whole.contains("WARNING"), "{whole}");
    assert!(whole.contains("Timeline (15 entries)"), "{whole}");
    for expected in [
        "■ 2022-03-12 (day) · phone call",
        "■ 2022-03-22 (day) · phone call",
        "■ 2022-03-29 (day) · planned date · phone call",
        "readout by Kremlin press service (3 statements):",
        "Putin accused Kyiv of using civilians as human shields.",
        "Anne-Claire Legendre (Spokesperson of the Ministry for Europe and Foreign Affairs)",
        "attribution: Publisher of the seed article, reporting TASS, citing BFM TV, told by",
    ] {
        assert!(whole.contains(expected), "{expected:?} in:\n{whole}");
    }

    // The statements process goes away: the view is partial, says so, and still succeeds.
    statements.kill();
    let partial = chancery(&[&["view", seed::EPISODE][..], &at].concat());
    let partial_text = succeeded("chancery view without statements", &partial);
    let warning = partial_text
        .lines()
        .find(|line| line.starts_with("WARNING: partial view"))
        .unwrap_or_else(|| panic!("a warning line in:\n{partial_text}"));
    assert!(warning.contains("statements"), "{warning}");
    assert!(
        partial_text.contains("■ 2022-03-29 (day) · planned date · phone call"),
        "the communications are still shown:\n{partial_text}"
    );
    assert!(
        !partial_text.contains("human shields."),
        "no statement can be shown:\n{partial_text}"
    );

    // Writing needs every service: the import now fails, saying which is unavailable.
    let refused = chancery(&[&["import", seed::BUNDLE_PATH][..], &at].concat());
    assert_eq!(refused.status.code(), Some(69), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("UNAVAILABLE"),
        "{}",
        text(&refused.stderr)
    );
}
