//! The command lines as a person types them, on the real binaries: `chancery`'s help for every
//! command (exit 0), typos answered with a suggestion (exit 64), unknown commands (exit 64),
//! `--flag=value`, the version, completion scripts (bash's checked by `bash -n`); and the
//! service binaries' `--help`, `--version` and unknown arguments, which must neither bind nor
//! create anything (each runs in an empty directory that must stay empty).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use chancery_testkit::TempDir;

/// Runs `binary` with `args` in `dir` and waits for it to exit: within 20 s, or it is killed
/// and the test fails (a binary that starts serving instead of answering never exits).
fn run_in(dir: &Path, binary: &str, args: &[&str]) -> Output {
    let mut child = Command::new(binary)
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!(
                "{binary} {args:?} did not exit within 20 s (did it start serving?): {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn chancery(args: &[&str]) -> Output {
    let dir = TempDir::new("cli").expect("a directory");
    run_in(dir.path(), env!("CARGO_BIN_EXE_chancery"), args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_help_of_every_command_exits_0_and_names_its_options() {
    let client = [
        "--gateway <URI>",
        "--token-file <FILE>",
        "--ca-file <FILE>",
        "--cert-file <FILE>",
        "--key-file <FILE>",
        "--server-name <NAME>",
    ];
    let up = [
        "--demo",
        "--in-memory",
        "--data-dir <DIR>",
        "--database-url <URL>",
        "--host <IP>",
        "--port-base <N>",
        "CHANCERY_METRICS_LISTEN",
    ];
    let commands = ["up", "import", "export", "view", "completions"];
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["--help"], commands.to_vec()),
        (vec!["-h"], commands.to_vec()),
        (vec!["help"], commands.to_vec()),
        (vec![], commands.to_vec()),
        (vec!["up", "--help"], up.to_vec()),
        (vec!["up", "-h"], up.to_vec()),
        (vec!["help", "up"], up.to_vec()),
        (
            vec!["import", "--help"],
            [&["<FILE>"][..], &client].concat(),
        ),
        (vec!["import", "-h"], client.to_vec()),
        (
            vec!["export", "--help"],
            [&["<episodes/ID>", "-o, --output <FILE>"][..], &client].concat(),
        ),
        (vec!["export", "-h"], client.to_vec()),
        (
            vec!["view", "--help"],
            [&["<episodes/ID>"][..], &client].concat(),
        ),
        (vec!["view", "-h"], client.to_vec()),
        (vec!["completions", "--help"], vec!["bash", "zsh", "fish"]),
    ];
    for (args, words) in cases {
        let output = chancery(&args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        let text = stdout(&output);
        for word in words {
            assert!(
                text.contains(word),
                "{args:?}: {word} missing from:\n{text}"
            );
        }
        assert!(stderr(&output).is_empty(), "{args:?}: {}", stderr(&output));
    }
}

#[test]
fn the_version_is_printed() {
    for flag in ["--version", "-V"] {
        let output = chancery(&[flag]);
        assert_eq!(output.status.code(), Some(0));
        assert_eq!(stdout(&output), "chancery 0.1.0\n");
    }
}

#[test]
fn a_typo_names_the_wrong_argument_suggests_the_right_one_and_exits_64() {
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["view", "x", "--gatway", "127.0.0.1:1"],
            &["'--gatway'", "a similar argument exists: '--gateway'"],
        ),
        (
            &["up", "--in-memroy"],
            &["'--in-memroy'", "a similar argument exists: '--in-memory'"],
        ),
        (
            &["export", "x", "--outptu", "x.json"],
            &["'--outptu'", "'--output'"],
        ),
        (
            &["imprt", "bundle.json"],
            &["unrecognized subcommand 'imprt'", "'import'"],
        ),
    ];
    for (args, words) in cases {
        let output = chancery(args);
        assert_eq!(output.status.code(), Some(64), "{args:?}");
        let text = stderr(&output);
        for word in words {
            assert!(
                text.contains(word),
                "{args:?}: {word} missing from:\n{text}"
            );
        }
        assert!(stdout(&output).is_empty(), "{args:?}");
    }
}

#[test]
fn an_unknown_command_exits_64_naming_it() {
    let output = chancery(&["down"]);
    assert_eq!(output.status.code(), Some(64));
    assert!(
        stderr(&output).contains("unrecognized subcommand 'down'"),
        "{}",
        stderr(&output)
    );
    let output = chancery(&["up", "--port-base", "70000"]);
    assert_eq!(output.status.code(), Some(64));
    assert!(
        stderr(&output).contains("--port-base"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_value_may_follow_an_equals_sign() {
    // The gateway named with `=` is the one dialled: nothing listens on port 1, so exit 69
    // naming it (not 64 for an unknown option).
    let output = chancery(&["view", "x", "--gateway=127.0.0.1:1"]);
    assert_eq!(output.status.code(), Some(69), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cannot reach the gateway at http://127.0.0.1:1"),
        "{}",
        stderr(&output)
    );
    let output = chancery(&["up", "--port-base=70000"]);
    assert_eq!(output.status.code(), Some(64));
    assert!(
        stderr(&output).contains("'--port-base <N>'"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn completion_scripts_are_printed_and_bash_accepts_its_own() {
    let dir = TempDir::new("completions").expect("a directory");
    for shell in ["bash", "zsh", "fish"] {
        let output = chancery(&["completions", shell]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{shell}: {}",
            stderr(&output)
        );
        let script = stdout(&output);
        for word in ["up", "import", "export", "view", "completions", "gateway"] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
        if shell == "bash" {
            let file = dir.path().join("chancery.bash");
            std::fs::write(&file, &script).expect("write the script");
            let checked = Command::new("bash")
                .arg("-n")
                .arg(&file)
                .output()
                .expect("run bash -n");
            assert!(
                checked.status.success(),
                "bash -n refuses the script: {}",
                String::from_utf8_lossy(&checked.stderr)
            );
            assert!(
                script.contains("complete -F"),
                "bash registers a completion"
            );
        }
    }
    let output = chancery(&["completions", "tcsh"]);
    assert_eq!(output.status.code(), Some(64));
}

/// Each service binary, the variables its `--help` must name (those `Service::config` reads),
/// and its default port.
const BINARIES: [(&str, &str, &[&str]); 4] = [
    (
        env!("CARGO_BIN_EXE_chancery-actors"),
        "chancery-actors",
        &[],
    ),
    (
        env!("CARGO_BIN_EXE_chancery-communications"),
        "chancery-communications",
        &["CHANCERY_ACTORS_ADDR"],
    ),
    (
        env!("CARGO_BIN_EXE_chancery-statements"),
        "chancery-statements",
        &["CHANCERY_ACTORS_ADDR", "CHANCERY_COMMUNICATIONS_ADDR"],
    ),
    (
        env!("CARGO_BIN_EXE_chancery-gateway"),
        "chancery-gateway",
        &[
            "CHANCERY_ACTORS_ADDR",
            "CHANCERY_COMMUNICATIONS_ADDR",
            "CHANCERY_STATEMENTS_ADDR",
        ],
    ),
];

/// What every service's help names: the variables every service reads, and its default database.
const EVERY_HELP_NAMES: [&str; 19] = [
    "CHANCERY_LISTEN",
    "CHANCERY_DATABASE_URL",
    "CHANCERY_LOG_FORMAT",
    "CHANCERY_REFLECTION",
    "CHANCERY_METRICS_LISTEN",
    "CHANCERY_HEALTH_LISTEN",
    "CHANCERY_REQUEST_TIMEOUT",
    "CHANCERY_MAX_CONCURRENT_REQUESTS",
    "CHANCERY_SHUTDOWN_DELAY",
    "CHANCERY_DRAIN_TIMEOUT",
    "CHANCERY_TOKENS_FILE",
    "CHANCERY_OPEN_READS",
    "CHANCERY_SERVICE_TOKEN_FILE",
    "CHANCERY_TLS_CERT",
    "CHANCERY_TLS_KEY",
    "CHANCERY_TLS_CLIENT_CA",
    "CHANCERY_TLS_CA",
    "RUST_LOG",
    "sqlite://data/",
];

#[test]
fn service_binaries_answer_help_and_version_without_binding_or_creating_anything() {
    for (path, name, backends) in BINARIES {
        let dir = TempDir::new("service-help").expect("a directory");
        for flag in ["--help", "-h"] {
            let output = run_in(dir.path(), path, &[flag]);
            assert_eq!(
                output.status.code(),
                Some(0),
                "{name} {flag}: {}",
                stderr(&output)
            );
            let text = stdout(&output);
            assert!(text.contains(&format!("Usage: {name}")), "{name}: {text}");
            for variable in EVERY_HELP_NAMES.iter().chain(backends) {
                assert!(
                    text.contains(variable),
                    "{name}: {variable} missing from:\n{text}"
                );
            }
        }
        let output = run_in(dir.path(), path, &["--version"]);
        assert_eq!(output.status.code(), Some(0), "{name}");
        assert_eq!(stdout(&output), format!("{name} 0.1.0\n"));
        let created: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read the directory")
            .map(|entry| entry.expect("an entry").file_name())
            .collect();
        assert!(created.is_empty(), "{name} created {created:?}");
    }
}

#[test]
fn service_binaries_refuse_any_other_argument_with_exit_64_creating_nothing() {
    for (path, name, _) in BINARIES {
        let dir = TempDir::new("service-args").expect("a directory");
        for args in [&["serve"][..], &["--port", "1"], &["--verison"]] {
            let output = run_in(dir.path(), path, args);
            assert_eq!(output.status.code(), Some(64), "{name} {args:?}");
            assert!(
                stderr(&output).contains(&format!("'{}'", args[0])),
                "{name} {args:?}: {}",
                stderr(&output)
            );
        }
        let output = run_in(dir.path(), path, &["--verison"]);
        assert!(
            stderr(&output).contains("'--version'"),
            "a suggestion: {}",
            stderr(&output)
        );
        let created = std::fs::read_dir(dir.path()).expect("read").count();
        assert_eq!(created, 0, "{name} created files");
    }
}
