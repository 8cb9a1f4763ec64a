//! The actors service explored the way a person would: the real grpcurl 1.8.6 (which speaks only
//! the v1alpha reflection protocol) against a running server. grpcurl runs as a blocking child
//! process, so the server needs runtime threads of its own: hence the multi-threaded runtime.

use std::process::{Command, Output};

use chancery_testkit::{Service, TestServer, grpcurl, spawn};

/// `grpcurl -plaintext [-d DATA] ADDRESS WORDS…`.
fn run(server: &TestServer, data: Option<&str>, words: &[&str]) -> Output {
    let mut command = Command::new(grpcurl());
    command.arg("-plaintext");
    if let Some(data) = data {
        command.args(["-d", data]);
    }
    command
        .arg(server.target())
        .args(words)
        .output()
        .expect("run grpcurl")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "grpcurl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_lists_describes_creates_and_gets() {
    let server = spawn(Service::Actors).await;

    let listed = stdout(&run(&server, None, &["list"]));
    let services: Vec<&str> = listed.lines().collect();
    assert!(
        services.contains(&"chancery.actors.v1.ActorService"),
        "{listed}"
    );
    assert!(services.contains(&"grpc.health.v1.Health"), "{listed}");
    assert!(
        services.contains(&"grpc.reflection.v1alpha.ServerReflection"),
        "{listed}"
    );

    let described = stdout(&run(
        &server,
        None,
        &["describe", "chancery.actors.v1.ActorService"],
    ));
    assert!(described.contains("rpc ResolveOffices"), "{described}");
    assert!(
        described.contains("Answers, for each (actor, date) asked, which offices"),
        "comments are shown:\n{described}"
    );
    let message = stdout(&run(
        &server,
        None,
        &["describe", "chancery.actors.v1.Actor"],
    ));
    assert!(
        message.contains("Resource name, `actors/{actor_id}`"),
        "{message}"
    );

    let created = stdout(&run(
        &server,
        Some(
            r#"{"actor_id": "anne-claire-legendre", "actor": {"kind": "ACTOR_KIND_PERSON", "display_name": "Anne-Claire Legendre", "country": "FRA"}}"#,
        ),
        &["chancery.actors.v1.ActorService/CreateActor"],
    ));
    let created: serde_json::Value = serde_json::from_str(&created).expect("JSON output");
    assert_eq!(created["name"], "actors/anne-claire-legendre");
    assert_eq!(created["kind"], "ACTOR_KIND_PERSON");

    let fetched = stdout(&run(
        &server,
        Some(r#"{"name": "actors/anne-claire-legendre"}"#),
        &["chancery.actors.v1.ActorService/GetActor"],
    ));
    let fetched: serde_json::Value = serde_json::from_str(&fetched).expect("JSON output");
    assert_eq!(fetched["displayName"], "Anne-Claire Legendre");
    assert_eq!(fetched["etag"], "1");

    let rejected = run(
        &server,
        Some(r#"{"actor": {}}"#),
        &["chancery.actors.v1.ActorService/CreateActor"],
    );
    assert!(!rejected.status.success());
    let error = String::from_utf8_lossy(&rejected.stderr);
    assert!(error.contains("Code: InvalidArgument"), "{error}");
    assert!(
        error.contains("actor.kind") && error.contains("actor.display_name"),
        "{error}"
    );

    let health = Command::new(grpcurl())
        .args(["-plaintext", "-import-path"])
        .arg(proto_dir())
        .args(["-proto", "grpc/health/v1/health.proto", "-d"])
        .arg(r#"{"service": "chancery.actors.v1.ActorService"}"#)
        .arg(server.target())
        .arg("grpc.health.v1.Health/Check")
        .output()
        .expect("run grpcurl");
    let health = stdout(&health);
    assert!(health.contains("SERVING"), "{health}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_lists_and_describes_communications_statements_and_the_gateway() {
    let suite = chancery_testkit::spawn_suite().await;
    for (server, service, comment) in [
        (
            &suite.communications,
            "chancery.communications.v1.CommunicationService",
            "Appends one assertion to a communication's status log",
        ),
        (
            &suite.statements,
            "chancery.statements.v1.StatementService",
            "Records a source document",
        ),
        (
            &suite.gateway,
            "chancery.gateway.v1.EpisodeService",
            "Composes the sourced view of an episode",
        ),
    ] {
        let listed = stdout(&run(server, None, &["list"]));
        let services: Vec<&str> = listed.lines().collect();
        assert!(
            services.contains(&service),
            "{service} missing from {listed}"
        );
        assert!(services.contains(&"grpc.health.v1.Health"), "{listed}");
        assert!(
            !services.contains(&"chancery.actors.v1.ActorService"),
            "a server lists only what it serves: {listed}"
        );
        let described = stdout(&run(server, None, &["describe", service]));
        assert!(described.contains(comment), "{described}");
    }
    let attribution = stdout(&run(
        &suite.statements,
        None,
        &["describe", "chancery.statements.v1.AttributionHop"],
    ));
    assert!(
        attribution.contains("How this layer's reporter got the statement"),
        "{attribution}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_reflection_switched_off_grpcurl_cannot_list_but_health_answers() {
    let mut options = chancery_testkit::Options::default();
    options.server.reflection = false;
    let server = chancery_testkit::spawn_with(Service::Actors, options).await;
    let listed = run(&server, None, &["list"]);
    assert!(
        !listed.status.success(),
        "list must fail without reflection"
    );
    let error = String::from_utf8_lossy(&listed.stderr);
    assert!(error.contains("reflection"), "{error}");
    let health = Command::new(grpcurl())
        .args(["-plaintext", "-import-path"])
        .arg(proto_dir())
        .args(["-proto", "grpc/health/v1/health.proto", "-d"])
        .arg(r#"{"service": "chancery.actors.v1.ActorService"}"#)
        .arg(server.target())
        .arg("grpc.health.v1.Health/Check")
        .output()
        .expect("run grpcurl");
    let health = stdout(&health);
    assert!(health.contains("SERVING"), "{health}");
}

/// A directory holding `grpc/health/v1/health.proto`, for calling health without reflection.
fn proto_dir() -> String {
    let dir = std::env::temp_dir().join(format!("chancery-health-proto-{}", std::process::id()));
    let file = dir.join("grpc/health/v1/health.proto");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        "syntax = \"proto3\";\npackage grpc.health.v1;\nmessage HealthCheckRequest { string service = 1; }\n\
         message HealthCheckResponse { enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }\n\
         ServingStatus status = 1; }\nservice Health { rpc Check(HealthCheckRequest) returns (HealthCheckResponse); }\n",
    )
    .unwrap();
    dir.display().to_string()
}
