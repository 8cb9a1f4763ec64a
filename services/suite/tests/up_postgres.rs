//! `chancery up --database-url postgres://…`: the whole suite on one PostgreSQL database, each
//! service in its own schema; the demo imported once is still there, the same, after a restart
//! without `--demo`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chancery_testkit::{Backend, TestDatabase, postgres_available};

/// Starts `chancery up` on free ports over `url`; returns the process, the gateway's address
/// and the line about the demo (empty without `--demo`).
fn start(url: &str, demo: bool) -> (Child, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chancery"));
    command.args(["up", "--port-base", "0", "--database-url", url]);
    if demo {
        command.arg("--demo");
    }
    let mut child = command
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start chancery up");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut gateway = String::new();
    let mut data = String::new();
    let last = loop {
        let line = lines
            .next()
            .expect("a line of chancery up")
            .expect("readable");
        let mut words = line.split_whitespace();
        match words.next() {
            Some("gateway") => gateway = words.next().expect("address").to_owned(),
            Some("data") => {
                data = line.clone();
                if !demo {
                    break String::new();
                }
            }
            Some("demo") => break line,
            _ => {}
        }
    };
    assert!(data.contains("a schema per service"), "{data}");
    std::thread::spawn(move || for _ in lines {});
    (child, gateway, last)
}

fn terminate(mut child: Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "chancery up did not stop within 30s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn view(gateway: &str) -> String {
    let view = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["view", "macron-putin-2022-03", "--gateway", gateway])
        .output()
        .unwrap();
    assert!(
        view.status.success(),
        "{}",
        String::from_utf8_lossy(&view.stderr)
    );
    String::from_utf8(view.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_on_postgres_keeps_each_service_in_its_schema_and_the_demo_across_restarts() {
    if !postgres_available("up_on_postgres_keeps_each_service_in_its_schema") {
        return;
    }
    let database = TestDatabase::create(Backend::Postgres).await;
    let url = database.postgres_url().unwrap().to_owned();

    let (child, gateway, demo) = start(&url, true);
    assert!(
        demo.contains(
            "episodes/macron-putin-2022-03 imported (52 created, 0 unchanged, 0 updated)"
        ),
        "{demo}"
    );
    let first = view(&gateway);
    assert!(first.contains("Timeline (15 entries)"), "{first}");
    assert!(terminate(child).success(), "a clean exit after SIGTERM");

    // Each service has its tables, and its own migration history, in its own schema.
    let tables = database.postgres_tables().await;
    for expected in [
        "actors.actors",
        "actors._sqlx_migrations",
        "communications.communications",
        "communications._sqlx_migrations",
        "statements.statements",
        "gateway.episodes",
        "gateway._sqlx_migrations",
    ] {
        assert!(
            tables.iter().any(|t| t == expected),
            "{expected} in {tables:?}"
        );
    }
    assert!(
        !tables.iter().any(|t| t.starts_with("public.")),
        "nothing in public: {tables:?}"
    );

    // Started again without --demo: the same view, from what PostgreSQL kept.
    let (child, gateway, _) = start(&url, false);
    assert_eq!(view(&gateway), first);
    assert!(terminate(child).success());
}
