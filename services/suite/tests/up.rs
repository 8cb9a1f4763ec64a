//! `chancery up` as a person runs it: the real binary, real ports, the real grpcurl, a signal to
//! stop it, and the data still there when it starts again; `--demo` loading the seed episode,
//! and the client commands against it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chancery_proto::actors::v1::actor_service_client::ActorServiceClient;
use chancery_proto::actors::v1::{Actor, ActorKind, CreateActorRequest, GetActorRequest};
use chancery_testkit::{TempDir, connect, grpcurl};

/// Starts `chancery up` on free ports; returns the process and the actors address it printed.
fn start(data_dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["up", "--port-base", "0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start chancery up");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    // One line per service, `NAME ADDRESS GRPC-SERVICE`, gateway first.
    let addr = loop {
        let line = lines.next().expect("a line per service").expect("readable");
        let mut words = line.split_whitespace();
        if words.next() == Some("actors") {
            break words.next().expect("address").to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_actors_and_keeps_data_across_restarts() {
    let data = TempDir::new("up").unwrap();
    let (child, addr) = start(data.path());

    let listed = Command::new(grpcurl())
        .args(["-plaintext", &addr, "list"])
        .output()
        .expect("run grpcurl");
    let listed = String::from_utf8_lossy(&listed.stdout);
    for service in [
        "chancery.actors.v1.ActorService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(
            listed.lines().any(|l| l == service),
            "{service} missing from:\n{listed}"
        );
    }

    let mut client = ActorServiceClient::new(connect(addr.parse().unwrap()).await);
    let actor = Actor {
        kind: ActorKind::State as i32,
        display_name: "France".into(),
        country: "FRA".into(),
        ..Default::default()
    };
    client
        .create_actor(CreateActorRequest {
            actor: Some(actor),
            actor_id: "france".into(),
            request_id: String::new(),
        })
        .await
        .unwrap();
    drop(client);
    assert!(terminate(child).success(), "a clean exit after SIGTERM");
    assert!(data.path().join("actors.db").exists());

    let (child, addr) = start(data.path());
    let mut client = ActorServiceClient::new(connect(addr.parse().unwrap()).await);
    let france = client
        .get_actor(GetActorRequest {
            name: "actors/france".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(france.display_name, "France");
    drop(client);
    assert!(terminate(child).success());
}

/// Starts `chancery up --demo` on free ports; returns the process, the gateway's address and the
/// line it printed about the demo.
fn start_demo(data_dir: &std::path::Path) -> (Child, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["up", "--demo", "--port-base", "0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start chancery up --demo");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut gateway = String::new();
    let demo = loop {
        let line = lines
            .next()
            .expect("a line about the demo")
            .expect("readable");
        let mut words = line.split_whitespace();
        match words.next() {
            Some("gateway") => gateway = words.next().expect("address").to_owned(),
            Some("demo") => break line,
            _ => {}
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, gateway, demo)
}

#[test]
fn up_demo_loads_the_seed_episode_once_and_the_client_commands_read_it() {
    let data = TempDir::new("up-demo").unwrap();
    let (child, gateway, demo) = start_demo(data.path());
    assert!(
        demo.contains(
            "episodes/macron-putin-2022-03 imported (52 created, 0 unchanged, 0 updated)"
        ),
        "{demo}"
    );
    let view = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["view", "macron-putin-2022-03", "--gateway", &gateway])
        .output()
        .unwrap();
    assert!(
        view.status.success(),
        "{}",
        String::from_utf8_lossy(&view.stderr)
    );
    let view = String::from_utf8_lossy(&view.stdout);
    assert!(
        view.starts_with("Macron–Putin calls, March 2022\n"),
        "{view}"
    );
    assert!(view.contains("Timeline (15 entries)"), "{view}");

    let exported = data.path().join("exported.json");
    let export = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args([
            "export",
            "episodes/macron-putin-2022-03",
            "--gateway",
            &gateway,
            "-o",
        ])
        .arg(&exported)
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let bundle =
        chancery_proto::bundle_from_json(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    assert_eq!(bundle.statements.len(), 12);
    let missing = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["export", "episodes/nothing", "--gateway", &gateway])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("NOT_FOUND"));
    assert!(terminate(child).success());

    // Started again over the same data, the demo is already there.
    let (child, _, demo) = start_demo(data.path());
    assert!(
        demo.contains("(0 created, 52 unchanged, 0 updated)"),
        "{demo}"
    );
    assert!(terminate(child).success());
}

#[test]
fn client_commands_explain_an_absent_gateway_and_a_bad_file() {
    let absent = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["view", "episodes/x", "--gateway", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(absent.status.code(), Some(69));
    assert!(String::from_utf8_lossy(&absent.stderr).contains("cannot reach the gateway"));
    let unreadable = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["import", "/nonexistent/bundle.json"])
        .output()
        .unwrap();
    assert_eq!(unreadable.status.code(), Some(66));
}

#[test]
fn bad_arguments_exit_64_with_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["up", "--port-base", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--port-base") && stderr.contains("Usage: chancery"),
        "{stderr}"
    );
}
