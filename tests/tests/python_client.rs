//! The API needs no Rust to use: a Python client whose stubs are generated from `proto/` at test
//! time (grpcio-tools from PyPI) reads the demo episode's view from a running gateway.

use chancery_proto::gateway::v1::ImportBundleRequest;
use chancery_testkit::python::{generate_stubs, run_script, workspace_root};
use chancery_testkit::seed::{self, EPISODE};
use chancery_testkit::{TempDir, spawn_suite};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_reads_the_demo_view() {
    let suite = spawn_suite().await;
    suite
        .gateway
        .gateway()
        .import_bundle(ImportBundleRequest {
            bundle: Some(seed::bundle()),
        })
        .await
        .expect("the demo bundle imports");

    let stubs = TempDir::new("python").unwrap();
    let generate = {
        let out = stubs.path().to_owned();
        tokio::task::spawn_blocking(move || generate_stubs(&out))
    };
    generate.await.unwrap();
    std::fs::copy(
        workspace_root().join("tests/python/read_view.py"),
        stubs.path().join("read_view.py"),
    )
    .unwrap();

    let target = suite.gateway.target();
    let dir = stubs.path().to_owned();
    let output =
        tokio::task::spawn_blocking(move || run_script(&dir, "read_view.py", &[&target, EPISODE]))
            .await
            .unwrap();
    let view: serde_json::Value = serde_json::from_str(&output).expect("the script prints JSON");
    assert_eq!(view["title"], "Macron–Putin calls, March 2022");
    assert_eq!(view["unreachable"], serde_json::json!([]));
    let timeline = view["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 15);
    let calls: Vec<_> = timeline
        .iter()
        .filter(|e| e["kind"] == "communication")
        .map(|e| {
            (
                e["when"].as_str().unwrap(),
                e["precision"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("2022-03-12", "DATE_PRECISION_DAY"),
            ("2022-03-22", "DATE_PRECISION_DAY"),
            ("2022-03-29", "DATE_PRECISION_DAY")
        ]
    );
    let attribution = view["attributions"]["statements/legendre-confirms-call"]
        .as_str()
        .unwrap();
    assert!(
        attribution.contains("TASS") && attribution.contains("BFM TV"),
        "{attribution}"
    );
    assert!(
        view["actors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "actors/anne-claire-legendre")
    );

    // Errors arrive as gRPC status codes in Python too.
    let target = suite.gateway.target();
    let dir = stubs.path().to_owned();
    let missing = tokio::task::spawn_blocking(move || {
        run_script(&dir, "read_view.py", &[&target, "episodes/no-such-episode"])
    })
    .await
    .unwrap();
    assert_eq!(missing.trim(), r#"{"code": "NOT_FOUND"}"#);
}
