//! The README's grpcurl walkthrough, run as written against a fresh suite (actors,
//! communications and statements, wired together): every command must succeed (or fail as its
//! comment says), so the README cannot drift from the API.
//!
//! A comment line applies to the command after it: `(expect: TEXT)` requires TEXT in the output;
//! `(fails: CODE, with A and B)` requires a non-zero exit, the gRPC code, and each named field.

use std::process::Command;

use chancery_proto::gateway::v1::ImportBundleRequest;
use chancery_testkit::seed;
use chancery_testkit::{Suite, grpcurl, spawn_suite};

struct Step {
    command: String,
    expect: Option<String>,
    fails: Option<Vec<String>>,
}

/// The steps of the README block between `<!-- {marker}:start -->` and `<!-- {marker}:end -->`.
fn walkthrough(marker: &str) -> Vec<Step> {
    let readme = include_str!("../../README.md");
    let start = readme
        .find(&format!("<!-- {marker}:start -->"))
        .expect("walkthrough start marker");
    let end = readme
        .find(&format!("<!-- {marker}:end -->"))
        .expect("walkthrough end marker");
    let mut steps = Vec::new();
    let (mut expect, mut fails) = (None, None);
    let mut pending = String::new();
    for line in readme[start..end].lines() {
        let line = line.trim();
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(at) = comment.find("(expect: ") {
                expect = Some(comment[at + 9..].trim_end_matches(')').to_owned());
            }
            if let Some(at) = comment.find("(fails: ") {
                let spec = comment[at + 8..].trim_end_matches(')');
                let words = spec.replace(", with", "").replace(" and ", " ");
                fails = Some(words.split_whitespace().map(str::to_owned).collect());
            }
            continue;
        }
        if line.starts_with("grpcurl") || !pending.is_empty() {
            pending.push_str(line.trim_end_matches('\\'));
            pending.push(' ');
            if !line.ends_with('\\') {
                steps.push(Step {
                    command: std::mem::take(&mut pending),
                    expect: expect.take(),
                    fails: fails.take(),
                });
            }
        }
    }
    steps
}

/// Runs `steps` against `suite`, with the README's default ports replaced by the suite's.
fn run_steps(suite: &Suite, steps: Vec<Step>) {
    for step in steps {
        let command = step
            .command
            .replacen("grpcurl", &grpcurl().display().to_string(), 1)
            .replace("127.0.0.1:50051", &suite.gateway.target())
            .replace("127.0.0.1:50052", &suite.actors.target())
            .replace("127.0.0.1:50053", &suite.communications.target())
            .replace("127.0.0.1:50054", &suite.statements.target());
        let output = Command::new("sh")
            .arg("-c")
            .arg(&command)
            .output()
            .expect("run sh");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        match &step.fails {
            None => assert!(
                output.status.success(),
                "`{}` failed:\n{text}",
                step.command
            ),
            Some(words) => {
                assert!(!output.status.success(), "`{}` should fail", step.command);
                for word in words {
                    assert!(
                        text.contains(word.as_str()),
                        "`{}`: {word} missing from\n{text}",
                        step.command
                    );
                }
            }
        }
        if let Some(expected) = &step.expect {
            assert!(
                text.contains(expected.as_str()),
                "`{}`: {expected} missing from\n{text}",
                step.command
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_works_as_written() {
    let suite = spawn_suite().await;
    let steps = walkthrough("walkthrough");
    assert!(
        steps.len() >= 10,
        "the walkthrough has its commands ({})",
        steps.len()
    );
    tokio::task::spawn_blocking(move || run_steps(&suite, steps))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_demo_commands_work_as_written() {
    let suite = spawn_suite().await;
    suite
        .gateway
        .gateway()
        .import_bundle(ImportBundleRequest {
            bundle: Some(seed::bundle()),
        })
        .await
        .expect("the demo imports, as `chancery up --demo` does");
    let steps = walkthrough("demo");
    assert!(
        steps.len() >= 3,
        "the demo block has its commands ({})",
        steps.len()
    );
    tokio::task::spawn_blocking(move || run_steps(&suite, steps))
        .await
        .unwrap();
}
