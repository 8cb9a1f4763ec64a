//! The README's command blocks, run as written: the grpcurl walkthrough against a fresh suite
//! (twice on the same data: it must be re-runnable), the demo block against the demo episode,
//! and the `chancery` block with the real binary. Every command must succeed (or fail as its
//! comment says), so the README cannot drift from the API. Every other `sh` block of the README
//! says, in a comment just above it, why no test runs it here (a cluster, a long run…), and a
//! test checks that none is left unaccounted for.
//!
//! A comment line applies to the command after it: `(expect: TEXT)` requires TEXT in the output;
//! `(fails: CODE, with A and B)` requires a non-zero exit, the gRPC code, and each named field.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use chancery_proto::gateway::v1::ImportBundleRequest;
use chancery_testkit::seed;
use chancery_testkit::{Suite, TempDir, grpcurl, spawn_suite};

mod support;

/// The README blocks (`<!-- NAME:start -->` … `<!-- NAME:end -->`) this file runs.
const RUN_HERE: [&str; 3] = ["walkthrough", "demo", "cli"];

/// What a `sh` block of the README says, just above it, when no test here runs it.
const NOT_RUN: &str = "<!-- not run by tests/tests/readme.rs: ";

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
    let again = walkthrough("walkthrough");
    tokio::task::spawn_blocking(move || {
        run_steps(&suite, steps);
        // On the same data, as after a restart of `chancery up` over ./data: no ALREADY_EXISTS.
        run_steps(&suite, again);
    })
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

/// The command lines of the README block `marker` (comments and blank lines dropped).
fn commands(marker: &str) -> Vec<String> {
    let readme = include_str!("../../README.md");
    let start = readme
        .find(&format!("<!-- {marker}:start -->"))
        .expect("block start marker");
    let end = readme
        .find(&format!("<!-- {marker}:end -->"))
        .expect("block end marker");
    readme[start..end]
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with("```"))
        .filter(|line| !line.starts_with("<!--"))
        .map(|line| line.split(" # ").next().unwrap_or(line).trim().to_owned())
        .collect()
}

#[test]
fn the_readme_chancery_commands_work_as_written() {
    let lines = commands("cli");
    assert!(
        lines.len() >= 4,
        "the chancery block has its commands: {lines:?}"
    );
    let binary = support::process::binaries().join("chancery");
    let program = |line: &str| -> Vec<String> {
        let rest = line
            .strip_prefix("cargo run --bin chancery -- ")
            .unwrap_or_else(|| panic!("a chancery command: {line}"));
        rest.split_whitespace().map(str::to_owned).collect()
    };
    let dir = TempDir::new("readme-cli").expect("a temporary directory");
    // Terminal 1: `up`, on free ports (the README's defaults may be taken on a test machine).
    let mut up_args = program(&lines[0]);
    assert_eq!(up_args[0], "up", "the block starts the suite");
    up_args.extend(["--port-base".to_owned(), "0".to_owned()]);
    let mut up = Stopped(
        Command::new(&binary)
            .args(&up_args)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chancery up"),
    );
    let mut gateway = None;
    let mut loaded = false;
    for line in BufReader::new(up.0.stdout.take().expect("piped stdout")).lines() {
        let line = line.expect("a line of chancery up");
        if line.starts_with("gateway") {
            gateway = line.split_whitespace().nth(1).map(str::to_owned);
        }
        if line.contains("imported") {
            loaded = true;
            break;
        }
    }
    assert!(loaded, "chancery up --demo said it imported the demo");
    let gateway = format!(
        "http://{}",
        gateway.expect("chancery up printed the gateway")
    );
    // Terminal 2: every other command, against that gateway.
    for line in &lines[1..] {
        let mut args = program(line);
        args.extend(["--gateway".to_owned(), gateway.clone()]);
        let output = Command::new(&binary)
            .args(&args)
            .current_dir(dir.path())
            .output()
            .expect("run chancery");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "`{line}` failed:\n{text}");
        if args[0] == "view" {
            assert!(text.contains("Timeline"), "`{line}`: {text}");
        }
    }
    assert!(
        dir.path().join("episode.json").is_file(),
        "export -o episode.json wrote the bundle where the commands ran"
    );
}

/// A child process killed and reaped when dropped (the test's end, or its panic).
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn every_command_block_of_the_readme_is_run_here_or_says_why_not() {
    let readme = include_str!("../../README.md");
    let lines: Vec<&str> = readme.lines().collect();
    let mut unaccounted = Vec::new();
    let mut blocks = 0;
    let mut inside = false;
    for (number, line) in lines.iter().enumerate() {
        // Blocks inside a list item are indented.
        let line = line.trim();
        if !line.starts_with("```") {
            continue;
        }
        inside = !inside;
        if !inside || line != "```sh" {
            continue;
        }
        blocks += 1;
        let above = lines[..number]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .copied()
            .unwrap_or("");
        let run_here = RUN_HERE
            .iter()
            .any(|marker| above.trim() == format!("<!-- {marker}:start -->"));
        let above = above.trim();
        let explained = above.starts_with(NOT_RUN) && above.ends_with("-->");
        if !run_here && !explained {
            unaccounted.push(format!("README.md:{}", number + 1));
        }
    }
    assert!(blocks >= 5, "the README has its command blocks ({blocks})");
    assert!(
        unaccounted.is_empty(),
        "sh blocks neither run by tests/tests/readme.rs nor saying why not ({NOT_RUN}… -->): {unaccounted:?}"
    );
}
