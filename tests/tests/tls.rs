//! TLS end to end: services on real sockets with certificates made at test time (a CA, one
//! certificate per service, client certificates, and a foreign CA nobody trusts); the
//! plaintext health port; the wired suite over mutual TLS with tokens; the real binaries for
//! start-up checks; and the real grpcurl with a CA and a client certificate.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chancery_proto::actors::v1::ListActorsRequest;
use chancery_proto::actors::v1::actor_service_client::ActorServiceClient;
use chancery_proto::communications::v1::communication_service_client::CommunicationServiceClient;
use chancery_proto::gateway::v1::episode_service_client::EpisodeServiceClient;
use chancery_proto::gateway::v1::{GetEpisodeViewRequest, ImportBundleRequest};
use chancery_runtime::tls::TlsConfig;
use chancery_testkit::tls::{TestCa, TestCert, client_tls, connect_tls, server_tls};
use chancery_testkit::{
    Backend, Options, Service, Suite, TempDir, TestDatabase, auth_config, field_violations, seed,
    spawn_suite_options, spawn_with, with_token,
};
use tonic::Code;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

mod support;

use support::process::{binaries, free_port, run_to_exit};

/// A writer (imports the bundle).
const ALICE: &str = "alice-writer-token-0000000001";
/// The gateway's own credential: a writer (imports write through the backends).
const GATEWAY: &str = "gateway-service-token-000001";
/// The communications service's own credential: a reader (reference checks read).
const COMMUNICATIONS: &str = "communications-service-tok01";
/// The statements service's own credential: a reader.
const STATEMENTS: &str = "statements-service-token-0001";

fn tokens() -> String {
    format!(
        "writer alice {ALICE}\n\
         writer gateway {GATEWAY}\n\
         reader communications {COMMUNICATIONS}\n\
         reader statements {STATEMENTS}\n"
    )
}

fn own_token(service: Service) -> Option<&'static str> {
    match service {
        Service::Actors => None,
        Service::Communications => Some(COMMUNICATIONS),
        Service::Statements => Some(STATEMENTS),
        Service::Gateway => Some(GATEWAY),
    }
}

/// The health of the whole server at `addr`, asked over TLS with `tls`: the status, or the
/// error of the handshake or of the call (with mutual TLS under TLS 1.3 a refused client
/// certificate shows on the first call, not on connect).
async fn health_over_tls(addr: SocketAddr, tls: ClientTlsConfig) -> Result<i32, String> {
    let channel = connect_tls(addr, tls)
        .await
        .map_err(|error| format!("connect: {error:?}"))?;
    health_on(channel, "").await
}

async fn health_on(channel: Channel, service: &str) -> Result<i32, String> {
    tokio::time::timeout(
        Duration::from_secs(5),
        HealthClient::new(channel).check(HealthCheckRequest {
            service: service.to_owned(),
        }),
    )
    .await
    .map_err(|_| "no answer within 5s".to_owned())?
    .map(|response| response.into_inner().status)
    .map_err(|status| format!("call: {status:?}"))
}

/// A plaintext channel to `addr` (connected lazily, so a refusal shows on the first call).
fn plaintext(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(2))
        .connect_lazy()
}

fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

#[tokio::test]
async fn a_tls_listener_serves_clients_that_trust_its_ca_and_no_one_else() {
    let ca = TestCa::new("chancery test CA");
    let foreign = TestCa::new("someone else's CA");
    let mut options = Options {
        client_tls: Some(client_tls(&ca, None)),
        ..Options::default()
    };
    options.server.tls = server_tls(&ca.issue("actors"), None, None);
    let actors = spawn_with(Service::Actors, options).await;

    // A client trusting the CA: health and the API answer.
    assert_eq!(
        health_over_tls(actors.addr, client_tls(&ca, None)).await,
        Ok(ServingStatus::Serving as i32)
    );
    actors
        .actors()
        .list_actors(ListActorsRequest::default())
        .await
        .expect("the API over TLS");

    // Plaintext HTTP/2 on the TLS port: no answer.
    let plain = health_on(plaintext(actors.addr), "").await;
    assert!(plain.is_err(), "plaintext was served: {plain:?}");
    // A client trusting another CA refuses the server's certificate.
    let untrusted = health_over_tls(actors.addr, client_tls(&foreign, None)).await;
    let error = untrusted.expect_err("a certificate from an untrusted CA was accepted");
    assert!(error.starts_with("connect:"), "{error}");

    actors.stop().await.expect("a clean stop");
}

#[tokio::test]
async fn mutual_tls_refuses_clients_without_a_certificate_from_the_client_ca() {
    let ca = TestCa::new("chancery test CA");
    let foreign = TestCa::new("someone else's CA");
    let good = ca.issue("alice");
    let mut options = Options {
        client_tls: Some(client_tls(&ca, Some(&good))),
        ..Options::default()
    };
    options.server.tls = server_tls(&ca.issue("actors"), Some(&ca), None);
    let actors = spawn_with(Service::Actors, options).await;

    let no_certificate = health_over_tls(actors.addr, client_tls(&ca, None)).await;
    assert!(
        no_certificate.is_err(),
        "a client without a certificate was served: {no_certificate:?}"
    );
    let mallory = foreign.issue("mallory");
    let foreign_certificate = health_over_tls(actors.addr, client_tls(&ca, Some(&mallory))).await;
    assert!(
        foreign_certificate.is_err(),
        "a certificate from a foreign CA was accepted: {foreign_certificate:?}"
    );
    assert_eq!(
        health_over_tls(actors.addr, client_tls(&ca, Some(&good))).await,
        Ok(ServingStatus::Serving as i32)
    );
    actors
        .actors()
        .list_actors(ListActorsRequest::default())
        .await
        .expect("the API with a good client certificate");
    actors.stop().await.expect("a clean stop");
}

#[tokio::test]
async fn the_plaintext_health_port_mirrors_health_serves_nothing_else_and_stops_with_the_server() {
    let ca = TestCa::new("chancery test CA");
    let health_addr = free_addr();
    let mut options = Options {
        client_tls: Some(client_tls(&ca, Some(&ca.issue("alice")))),
        ..Options::default()
    };
    options.server.tls = server_tls(&ca.issue("actors"), Some(&ca), None);
    options.server.health_listen = Some(health_addr);
    options.server.shutdown_delay = Duration::from_secs(2);
    let mut actors = spawn_with(Service::Actors, options).await;

    let health = plaintext(health_addr);
    for service in ["", "chancery.actors.v1.ActorService"] {
        assert_eq!(
            health_on(health.clone(), service).await,
            Ok(ServingStatus::Serving as i32),
            "{service:?}"
        );
    }
    // The API is not on the health port.
    let api = ActorServiceClient::new(health.clone())
        .list_actors(ListActorsRequest::default())
        .await
        .expect_err("the API on the health port");
    assert_eq!(api.code(), Code::Unimplemented, "{api:?}");

    // Shutdown: NOT_SERVING on the health port while the server delays, then the port closes.
    actors.begin_shutdown();
    let mut not_serving = false;
    for _ in 0..100 {
        if health_on(health.clone(), "").await == Ok(ServingStatus::NotServing as i32) {
            not_serving = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(not_serving, "the health port never said NOT_SERVING");
    assert_eq!(
        health_on(health.clone(), "chancery.actors.v1.ActorService").await,
        Ok(ServingStatus::NotServing as i32)
    );
    actors.stop().await.expect("a clean stop");
    let mut closed = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(health_addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        closed,
        "the health port still accepts connections after the stop"
    );
}

/// The suite over mutual TLS, tokens on: every service serves its own certificate, requires a
/// client certificate from `ca`, and calls its backends over `https://` presenting its own.
async fn tls_suite(database: Arc<TestDatabase>, ca: &TestCa, client: &TestCert) -> Suite {
    let tokens = tokens();
    spawn_suite_options(database, |service| {
        let mut options = Options {
            client_tls: Some(client_tls(ca, Some(client))),
            ..Options::default()
        };
        options.server.tls = server_tls(&ca.issue(service.name()), Some(ca), Some(ca));
        options.server.auth = auth_config(&tokens, false, own_token(service));
        options
    })
    .await
}

#[tokio::test]
async fn the_gateway_composes_a_complete_view_over_mutual_tls_with_tokens() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let ca = TestCa::new("chancery test CA");
    let client = ca.issue("alice");
    let suite = tls_suite(database.clone(), &ca, &client).await;

    // The import writes through all three services over mutual TLS (references checked).
    let mut gateway =
        EpisodeServiceClient::new(with_token(suite.gateway.channel.clone(), Some(ALICE)))
            .max_decoding_message_size(64 * 1024 * 1024);
    gateway
        .import_bundle(ImportBundleRequest {
            bundle: Some(seed::bundle()),
        })
        .await
        .expect("a writer imports the demo bundle over TLS");
    let view = gateway
        .get_episode_view(GetEpisodeViewRequest {
            name: seed::EPISODE.into(),
            ..Default::default()
        })
        .await
        .expect("the view")
        .into_inner();
    assert!(view.unreachable.is_empty(), "{:?}", view.unreachable);
    assert!(!view.timeline.is_empty() && !view.actors.is_empty());

    // communications → actors: a participant that does not exist is found missing by the
    // actors service over TLS (INVALID_ARGUMENT on its field, not UNAVAILABLE).
    let mut call = seed::episode().communications[0].clone();
    call.communication_id = "tls-test-call".into();
    call.request_id.clear();
    if let Some(communication) = call.communication.as_mut() {
        communication.name.clear();
        communication.participants[0].actor = "actors/nobody-of-that-name".into();
    }
    let refused = CommunicationServiceClient::new(with_token(
        suite.communications.channel.clone(),
        Some(ALICE),
    ))
    .create_communication(call)
    .await
    .expect_err("a missing participant");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        field_violations(&refused)
            .iter()
            .any(|path| path.ends_with("participants[0].actor")),
        "{:?}",
        field_violations(&refused)
    );

    // A gateway that trusts the CA but has no certificate to present: the backends refuse it
    // at the handshake, so every part of the view is unreachable.
    let mut anonymous = Options {
        database: Some(database.clone()),
        actors: Some(suite.actors.addr),
        communications: Some(suite.communications.addr),
        statements: Some(suite.statements.addr),
        ..Options::default()
    };
    anonymous.server.tls = TlsConfig {
        ca: server_tls(&client, None, Some(&ca)).ca,
        ..TlsConfig::default()
    };
    anonymous.server.auth = auth_config(&tokens(), false, Some(GATEWAY));
    let anonymous = spawn_with(Service::Gateway, anonymous).await;
    let view = EpisodeServiceClient::new(with_token(anonymous.channel.clone(), Some(ALICE)))
        .get_episode_view(GetEpisodeViewRequest {
            name: seed::EPISODE.into(),
            ..Default::default()
        })
        .await
        .expect("a partial view")
        .into_inner();
    assert!(
        !view.unreachable.is_empty() && view.timeline.is_empty(),
        "the backends served a gateway without a client certificate: {:?}",
        view.unreachable
    );
    anonymous.stop().await.expect("a clean stop");
    suite.stop().await;
}

#[test]
fn bad_tls_settings_stop_start_up_with_exit_64_naming_the_variable() {
    let dir = TempDir::new("tls-config").expect("a directory");
    let ca = TestCa::new("chancery test CA");
    let (cert, key) = ca.issue("actors").write_to(dir.path());
    let other = dir.path().join("other");
    std::fs::create_dir(&other).expect("a directory");
    let (_, other_key) = ca.issue("someone-else").write_to(&other);
    let (cert, key, other_key) = (
        cert.display().to_string(),
        key.display().to_string(),
        other_key.display().to_string(),
    );
    let missing = dir.path().join("missing.crt").display().to_string();

    // (binary, environment, the variable named, also in the message)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: [Case<'_>; 7] = [
        (
            "chancery-actors",
            vec![("CHANCERY_TLS_CERT", cert.as_str())],
            "CHANCERY_TLS_KEY",
            "",
        ),
        (
            "chancery-gateway",
            vec![("CHANCERY_TLS_KEY", key.as_str())],
            "CHANCERY_TLS_CERT",
            "",
        ),
        (
            "chancery-actors",
            vec![
                ("CHANCERY_TLS_CERT", missing.as_str()),
                ("CHANCERY_TLS_KEY", key.as_str()),
            ],
            "CHANCERY_TLS_CERT",
            &missing,
        ),
        (
            "chancery-statements",
            vec![
                ("CHANCERY_TLS_CERT", cert.as_str()),
                ("CHANCERY_TLS_KEY", cert.as_str()),
            ],
            "CHANCERY_TLS_KEY",
            &cert,
        ),
        (
            "chancery-actors",
            vec![
                ("CHANCERY_TLS_CERT", cert.as_str()),
                ("CHANCERY_TLS_KEY", other_key.as_str()),
            ],
            "CHANCERY_TLS_KEY",
            &other_key,
        ),
        (
            "chancery-actors",
            vec![("CHANCERY_TLS_CLIENT_CA", cert.as_str())],
            "CHANCERY_TLS_CLIENT_CA",
            "",
        ),
        (
            "chancery-communications",
            vec![("CHANCERY_ACTORS_ADDR", "https://actors:50052")],
            "CHANCERY_ACTORS_ADDR",
            "CHANCERY_TLS_CA",
        ),
    ];
    for (binary, env, variable, also) in cases {
        let (code, output) = run_to_exit(binary, &env);
        assert_eq!(code, Some(64), "{binary} {env:?}: {output}");
        assert!(
            output.contains(&format!("invalid configuration: {variable}: "))
                && output.contains(also),
            "{binary} {env:?}: {output}"
        );
    }
}

// grpcurl runs as a blocking child process: the server needs a thread of its own meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_lists_a_mutual_tls_service_with_a_ca_and_a_client_certificate() {
    let dir = TempDir::new("tls-grpcurl").expect("a directory");
    let ca = TestCa::new("chancery test CA");
    let mut options = Options {
        client_tls: Some(client_tls(&ca, Some(&ca.issue("alice")))),
        ..Options::default()
    };
    options.server.tls = server_tls(&ca.issue("actors"), Some(&ca), None);
    let actors = spawn_with(Service::Actors, options).await;
    let ca_file = dir.path().join("ca.crt");
    std::fs::write(&ca_file, ca.cert_pem()).expect("write ca.crt");
    let (cert, key) = ca.issue("grpcurl").write_to(dir.path());
    let addr = actors.addr.to_string();
    let grpcurl = |args: &[&str]| {
        Command::new(chancery_testkit::grpcurl())
            .args(["-cacert", &ca_file.display().to_string()])
            .args(args)
            .output()
            .expect("run grpcurl")
    };

    let listed = grpcurl(&[
        "-cert",
        &cert.display().to_string(),
        "-key",
        &key.display().to_string(),
        &addr,
        "list",
    ]);
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{listed:?}");
    assert!(
        stdout
            .lines()
            .any(|line| line == "chancery.actors.v1.ActorService"),
        "{stdout}"
    );
    let without_certificate = grpcurl(&["-connect-timeout", "3", &addr, "list"]);
    assert!(
        !without_certificate.status.success(),
        "grpcurl without a client certificate was served: {without_certificate:?}"
    );
    actors.stop().await.expect("a clean stop");
}

/// `chancery view --server-name`: through `kubectl port-forward` the CLI dials 127.0.0.1 while
/// the gateway's certificate names only `gateway`; the name check fails without the option and
/// passes with it (the episode then is simply not found), and a wrong name still fails.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_checks_the_gateway_certificate_against_server_name() {
    let ca = TestCa::new("chancery-test-ca");
    let mut options = Options::default();
    options.server.tls = server_tls(&ca.issue_for("gateway", &["gateway"]), None, None);
    let gateway = spawn_with(Service::Gateway, options).await;
    let dir = TempDir::new("server-name").expect("a temporary directory");
    let ca_file = dir.path().join("ca.crt");
    std::fs::write(&ca_file, ca.cert_pem()).expect("write ca.crt");
    let view = |server_name: Option<&str>| {
        let mut command = Command::new(binaries().join("chancery"));
        command
            .args(["view", "episodes/none", "--gateway"])
            .arg(format!("https://{}", gateway.addr))
            .arg("--ca-file")
            .arg(&ca_file);
        if let Some(name) = server_name {
            command.args(["--server-name", name]);
        }
        let output = command.stdin(Stdio::null()).output().expect("run chancery");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code(), said.to_lowercase())
    };
    let (_, without) = view(None);
    assert!(
        !without.contains("not_found"),
        "the certificate names only `gateway`, yet 127.0.0.1 was accepted: {without}"
    );
    let (_, wrong) = view(Some("actors"));
    assert!(
        !wrong.contains("not_found"),
        "a wrong --server-name was accepted: {wrong}"
    );
    let (code, with) = view(Some("gateway"));
    assert_eq!(code, Some(1), "{with}");
    assert!(with.contains("not_found"), "{with}");
    gateway.stop().await.expect("a clean stop");
}
