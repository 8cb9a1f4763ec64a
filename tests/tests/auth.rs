//! Access control end to end: the four services on real sockets with a tokens file, driven by
//! clients that send (or do not send) bearer tokens; service-to-service credentials in a wired
//! suite; and the real binaries as processes, for start-up checks and for logs that must never
//! hold a token.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chancery_proto::actors::v1::actor_service_client::ActorServiceClient;
use chancery_proto::actors::v1::{
    Actor, ActorKind, CreateActorRequest, GetActorRequest, ListActorsRequest,
};
use chancery_proto::communications::v1::communication_service_client::CommunicationServiceClient;
use chancery_proto::communications::v1::{
    CreateCommunicationRequest, GetCommunicationRequest, ListCommunicationsRequest,
};
use chancery_proto::gateway::v1::episode_service_client::EpisodeServiceClient;
use chancery_proto::gateway::v1::{
    CreateEpisodeRequest, GetEpisodeRequest, GetEpisodeViewRequest, ImportBundleRequest,
    ListEpisodesRequest,
};
use chancery_proto::statements::v1::statement_service_client::StatementServiceClient;
use chancery_proto::statements::v1::{
    CreateStatementRequest, GetSourceDocumentRequest, ListSourceDocumentsRequest,
};
use chancery_runtime::auth::Bearer;
use chancery_testkit::{
    Backend, Service, Suite, TempDir, TestDatabase, TestServer, auth_config, error_reason, seed,
    spawn_suite_with, with_token,
};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_health::pb::HealthCheckRequest;

mod support;

use support::process::{Service as Process, binaries, run_to_exit};

/// A writer.
const ALICE: &str = "alice-writer-token-0000000001";
/// A reader.
const BOB: &str = "bob-reader-token-00000000001";
/// The gateway's own credential: a writer (ImportBundle writes through the backends).
const GATEWAY: &str = "gateway-service-token-000001";
/// The communications service's own credential: a reader (reference checks read).
const COMMUNICATIONS: &str = "communications-service-tok01";
/// The statements service's own credential: a reader.
const STATEMENTS: &str = "statements-service-token-0001";
/// Well formed, but in no tokens file.
const UNKNOWN: &str = "nobody-knows-this-token-00001";

const EPISODE: &str = "episodes/macron-putin-2022-03";

fn tokens() -> String {
    format!(
        "# the test suite's credentials\n\
         writer alice {ALICE}\n\
         reader bob {BOB}\n\
         writer gateway {GATEWAY}\n\
         reader communications {COMMUNICATIONS}\n\
         reader statements {STATEMENTS}\n"
    )
}

/// Every token of these tests: none may ever show in a log or an error.
const ALL_TOKENS: [&str; 6] = [ALICE, BOB, GATEWAY, COMMUNICATIONS, STATEMENTS, UNKNOWN];

type Authed = InterceptedService<Channel, Bearer>;

fn actors(server: &TestServer, token: Option<&str>) -> ActorServiceClient<Authed> {
    ActorServiceClient::new(with_token(server.channel.clone(), token))
}

fn communications(server: &TestServer, token: Option<&str>) -> CommunicationServiceClient<Authed> {
    CommunicationServiceClient::new(with_token(server.channel.clone(), token))
}

fn statements(server: &TestServer, token: Option<&str>) -> StatementServiceClient<Authed> {
    StatementServiceClient::new(with_token(server.channel.clone(), token))
}

fn gateway(server: &TestServer, token: Option<&str>) -> EpisodeServiceClient<Authed> {
    EpisodeServiceClient::new(with_token(server.channel.clone(), token))
        .max_decoding_message_size(64 * 1024 * 1024)
}

/// The suite with the tokens file on every service, reads open or not, and each service's own
/// credential as `service_token` gives it.
async fn suite_on(
    database: Arc<TestDatabase>,
    open_reads: bool,
    service_token: impl Fn(Service) -> Option<&'static str>,
) -> Suite {
    let tokens = tokens();
    spawn_suite_with(database, |service| {
        let mut server = chancery_testkit::Options::default().server;
        server.auth = auth_config(&tokens, open_reads, service_token(service));
        server
    })
    .await
}

/// Each service with its own valid credential.
fn own_tokens(service: Service) -> Option<&'static str> {
    match service {
        Service::Actors => None,
        Service::Communications => Some(COMMUNICATIONS),
        Service::Statements => Some(STATEMENTS),
        Service::Gateway => Some(GATEWAY),
    }
}

/// The suite with closed reads, each service with its own credential, the demo episode
/// imported through the gateway by a writer.
async fn seeded_suite(database: Arc<TestDatabase>) -> Suite {
    let suite = suite_on(database, false, own_tokens).await;
    gateway(&suite.gateway, Some(ALICE))
        .import_bundle(ImportBundleRequest {
            bundle: Some(seed::bundle()),
        })
        .await
        .expect("a writer imports the demo bundle through the gateway");
    suite
}

/// Asserts `result` failed with `code` and ErrorInfo `reason`, and that no token shows in the
/// status's message or details.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, reason: &str) -> Status {
    let status = result.expect_err("refused");
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(error_reason(&status), reason, "{status:?}");
    assert_no_token(&format!("{} {:?}", status.message(), status.details()));
    status
}

#[track_caller]
fn assert_no_token(text: &str) {
    for token in ALL_TOKENS {
        assert!(!text.contains(token), "a token shows in: {text}");
    }
}

/// A request carrying `authorization: <value>` as given, for malformed credentials.
fn with_authorization<T>(message: T, value: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", value.parse().expect("ASCII"));
    request
}

fn clear_name<T>(message: Option<T>, clear: impl FnOnce(&mut T)) -> Option<T> {
    message.map(|mut message| {
        clear(&mut message);
        message
    })
}

/// What every service must do with one write and the read of what it writes: without a token,
/// or with an unknown one, even an invalid write (`write(token, false)`) is UNAUTHENTICATED —
/// credentials come before validation; a reader's valid write is PERMISSION_DENIED and stores
/// nothing (a writer then reads NOT_FOUND); a writer's write succeeds; the read needs a token,
/// and a reader's is enough.
async fn writes_need_a_writer_and_reads_a_token(
    write: impl AsyncFn(Option<&'static str>, bool) -> Result<(), Status>,
    read: impl AsyncFn(Option<&'static str>) -> Result<(), Status>,
) {
    refused(
        write(None, false).await,
        Code::Unauthenticated,
        "MISSING_CREDENTIAL",
    );
    refused(
        write(Some(UNKNOWN), false).await,
        Code::Unauthenticated,
        "UNKNOWN_CREDENTIAL",
    );
    refused(
        write(Some(BOB), true).await,
        Code::PermissionDenied,
        "WRITER_ROLE_REQUIRED",
    );
    let missing = read(Some(ALICE))
        .await
        .expect_err("the reader's write stored nothing");
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    write(Some(ALICE), true).await.expect("a writer writes");
    refused(
        read(None).await,
        Code::Unauthenticated,
        "MISSING_CREDENTIAL",
    );
    read(Some(BOB)).await.expect("a reader reads");
}

#[tokio::test]
async fn every_service_wants_a_writer_for_writes_and_a_token_for_reads() {
    let suite = seeded_suite(TestDatabase::create(Backend::Sqlite).await).await;
    let seed = seed::episode();

    // actors: malformed credentials are unknown ones; a refusal names principal, role and
    // method; a writer's invalid create is INVALID_ARGUMENT (validation comes after).
    let invalid = CreateActorRequest::default();
    for malformed in [
        format!("Basic {ALICE}"),
        ALICE.to_owned(),
        "Bearer".to_owned(),
    ] {
        refused(
            actors(&suite.actors, None)
                .create_actor(with_authorization(invalid.clone(), &malformed))
                .await,
            Code::Unauthenticated,
            "UNKNOWN_CREDENTIAL",
        );
    }
    let actor = CreateActorRequest {
        actor_id: "auth-test".into(),
        actor: Some(Actor {
            kind: ActorKind::Person as i32,
            display_name: "Auth Test".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let denied = refused(
        actors(&suite.actors, Some(BOB))
            .create_actor(actor.clone())
            .await,
        Code::PermissionDenied,
        "WRITER_ROLE_REQUIRED",
    );
    assert!(
        denied.message().contains("bob has the reader role")
            && denied.message().contains("ActorService/CreateActor"),
        "{denied:?}"
    );
    refused(
        actors(&suite.actors, Some(ALICE))
            .create_actor(invalid.clone())
            .await,
        Code::InvalidArgument,
        "INVALID_REQUEST",
    );
    writes_need_a_writer_and_reads_a_token(
        async |token, valid| {
            let request = if valid { &actor } else { &invalid };
            actors(&suite.actors, token)
                .create_actor(request.clone())
                .await
                .map(drop)
        },
        async |token| {
            let read = GetActorRequest {
                name: "actors/auth-test".into(),
            };
            actors(&suite.actors, token).get_actor(read).await.map(drop)
        },
    )
    .await;

    // communications: the create's actor references are checked with the service's own
    // (reader) credential.
    let mut call = seed.communications[0].clone();
    call.communication_id = "auth-test-call".into();
    call.request_id.clear();
    call.communication = clear_name(call.communication, |c| c.name.clear());
    writes_need_a_writer_and_reads_a_token(
        async |token, valid| {
            let request = if valid {
                call.clone()
            } else {
                Default::default()
            };
            communications(&suite.communications, token)
                .create_communication(request)
                .await
                .map(drop)
        },
        async |token| {
            let read = GetCommunicationRequest {
                name: "communications/auth-test-call".into(),
            };
            communications(&suite.communications, token)
                .get_communication(read)
                .await
                .map(drop)
        },
    )
    .await;

    // statements: a source document (its publisher checked with statements' credential).
    let mut document = seed.documents[0].clone();
    document.document_id = "auth-test-document".into();
    document.request_id.clear();
    document.source_document = clear_name(document.source_document, |d| d.name.clear());
    writes_need_a_writer_and_reads_a_token(
        async |token, valid| {
            let request = if valid {
                document.clone()
            } else {
                Default::default()
            };
            statements(&suite.statements, token)
                .create_source_document(request)
                .await
                .map(drop)
        },
        async |token| {
            let read = GetSourceDocumentRequest {
                name: "documents/auth-test-document".into(),
            };
            statements(&suite.statements, token)
                .get_source_document(read)
                .await
                .map(drop)
        },
    )
    .await;

    // gateway: an episode (its members checked with the gateway's credential).
    let episode = CreateEpisodeRequest {
        episode_id: "auth-test-episode".into(),
        episode: clear_name(Some(seed.episode.clone()), |e| e.name.clear()),
        request_id: String::new(),
    };
    writes_need_a_writer_and_reads_a_token(
        async |token, valid| {
            let request = if valid {
                episode.clone()
            } else {
                Default::default()
            };
            gateway(&suite.gateway, token)
                .create_episode(request)
                .await
                .map(drop)
        },
        async |token| {
            let read = GetEpisodeRequest {
                name: "episodes/auth-test-episode".into(),
            };
            gateway(&suite.gateway, token)
                .get_episode(read)
                .await
                .map(drop)
        },
    )
    .await;
    // ImportBundle is a write too: refused before its (empty, invalid) bundle is looked at.
    refused(
        gateway(&suite.gateway, Some(UNKNOWN))
            .import_bundle(ImportBundleRequest::default())
            .await,
        Code::Unauthenticated,
        "UNKNOWN_CREDENTIAL",
    );

    // Health answers without a token, on every service.
    for server in [
        &suite.actors,
        &suite.communications,
        &suite.statements,
        &suite.gateway,
    ] {
        server
            .health()
            .check(HealthCheckRequest::default())
            .await
            .expect("health needs no token");
    }
    suite.stop().await;
}

/// The access an RPC declares in `proto/` (`option (chancery.common.v1.access)`), read from
/// the descriptor set the servers are built from: `Some(true)` for a write, `Some(false)` for a
/// read, `None` when it declares none.
fn declared_access(method: &prost_reflect::MethodDescriptor) -> Option<bool> {
    let pool = method.parent_pool();
    let access = pool
        .get_extension_by_name("chancery.common.v1.access")
        .expect("the access option is in the descriptor set");
    let options = method.options();
    if !options.has_extension(&access) {
        return None;
    }
    match options.get_extension(&access).as_enum_number() {
        Some(1) => Some(false),
        Some(2) => Some(true),
        _ => None,
    }
}

/// Sends an empty request to `path` with `token`; the status (OK when it succeeded).
async fn call_empty(channel: Channel, path: &str, token: Option<&str>, streaming: bool) -> Status {
    let mut grpc = tonic::client::Grpc::new(with_token(channel, token));
    grpc.ready().await.expect("the channel is ready");
    let path: tonic::codegen::http::uri::PathAndQuery = path.parse().expect("an RPC path");
    let mut request = tonic::Request::new(());
    request.set_timeout(Duration::from_secs(10));
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let outcome = if streaming {
        match grpc.server_streaming(request, path, codec).await {
            Ok(mut stream) => stream.get_mut().message().await.map(drop),
            Err(status) => Err(status),
        }
    } else {
        grpc.unary(request, path, codec).await.map(drop)
    };
    outcome.err().unwrap_or_else(|| Status::ok(""))
}

#[tokio::test]
async fn every_rpc_of_every_service_is_guarded_by_its_declared_access() {
    let suite = suite_on(
        TestDatabase::create(Backend::Sqlite).await,
        false,
        own_tokens,
    )
    .await;
    let pool = prost_reflect::DescriptorPool::decode(chancery_proto::FILE_DESCRIPTOR_SET)
        .expect("the descriptor set decodes");
    let mut checked = 0;
    for service in pool.services() {
        let server = match service.full_name() {
            "chancery.actors.v1.ActorService" => &suite.actors,
            "chancery.communications.v1.CommunicationService" => &suite.communications,
            "chancery.statements.v1.StatementService" => &suite.statements,
            "chancery.gateway.v1.EpisodeService" => &suite.gateway,
            other => panic!("a service no server hosts: {other}"),
        };
        for method in service.methods() {
            let path = format!("/{}/{}", service.full_name(), method.name());
            let write = declared_access(&method)
                .unwrap_or_else(|| panic!("{path} declares no access in proto/"));
            let streaming = method.is_server_streaming();
            let anonymous = call_empty(server.channel.clone(), &path, None, streaming).await;
            assert_eq!(
                anonymous.code(),
                Code::Unauthenticated,
                "{path}: {anonymous:?}"
            );
            assert_eq!(error_reason(&anonymous), "MISSING_CREDENTIAL", "{path}");
            let reader = call_empty(server.channel.clone(), &path, Some(BOB), streaming).await;
            if write {
                assert_eq!(reader.code(), Code::PermissionDenied, "{path}: {reader:?}");
                assert_eq!(error_reason(&reader), "WRITER_ROLE_REQUIRED", "{path}");
            } else {
                assert!(
                    !matches!(
                        reader.code(),
                        Code::Unauthenticated | Code::PermissionDenied | Code::Unimplemented
                    ),
                    "{path} is a read, yet a reader was refused: {reader:?}"
                );
            }
            let writer = call_empty(server.channel.clone(), &path, Some(ALICE), streaming).await;
            assert!(
                !matches!(
                    writer.code(),
                    Code::Unauthenticated | Code::PermissionDenied | Code::Unimplemented
                ),
                "{path}: a writer was refused: {writer:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 46, "every RPC of the four services ({checked})");
    suite.stop().await;
}

#[tokio::test]
async fn open_reads_need_no_token_but_writes_still_do() {
    let suite = suite_on(
        TestDatabase::create(Backend::Sqlite).await,
        true,
        own_tokens,
    )
    .await;
    actors(&suite.actors, None)
        .list_actors(ListActorsRequest::default())
        .await
        .expect("an open read");
    communications(&suite.communications, None)
        .list_communications(ListCommunicationsRequest::default())
        .await
        .expect("an open read");
    statements(&suite.statements, None)
        .list_source_documents(ListSourceDocumentsRequest::default())
        .await
        .expect("an open read");
    gateway(&suite.gateway, None)
        .list_episodes(ListEpisodesRequest::default())
        .await
        .expect("an open read");

    refused(
        actors(&suite.actors, None)
            .create_actor(CreateActorRequest::default())
            .await,
        Code::Unauthenticated,
        "MISSING_CREDENTIAL",
    );
    refused(
        communications(&suite.communications, None)
            .create_communication(CreateCommunicationRequest::default())
            .await,
        Code::Unauthenticated,
        "MISSING_CREDENTIAL",
    );
    refused(
        statements(&suite.statements, Some(BOB))
            .create_statement(CreateStatementRequest::default())
            .await,
        Code::PermissionDenied,
        "WRITER_ROLE_REQUIRED",
    );
    refused(
        gateway(&suite.gateway, None)
            .import_bundle(ImportBundleRequest::default())
            .await,
        Code::Unauthenticated,
        "MISSING_CREDENTIAL",
    );
    suite.stop().await;
}

/// The demo bundle with one actor more, so importing it must write.
fn bundle_with_a_new_actor() -> chancery_proto::gateway::v1::Bundle {
    let mut bundle = seed::bundle();
    bundle.actors.push(Actor {
        name: "actors/auth-newcomer".into(),
        kind: ActorKind::Person as i32,
        display_name: "Auth Newcomer".into(),
        ..Default::default()
    });
    bundle
}

#[tokio::test]
async fn each_service_calls_the_others_with_its_own_credential() {
    let database = TestDatabase::create(Backend::Sqlite).await;

    // All credentials valid: the gateway imports (writes through every backend) and composes
    // the view; communications checks its actors.
    let suite = seeded_suite(database.clone()).await;
    let view = gateway(&suite.gateway, Some(BOB))
        .get_episode_view(GetEpisodeViewRequest {
            name: EPISODE.into(),
            ..Default::default()
        })
        .await
        .expect("the view")
        .into_inner();
    assert!(view.unreachable.is_empty(), "{:?}", view.unreachable);
    assert!(!view.timeline.is_empty() && !view.actors.is_empty());
    let imported = gateway(&suite.gateway, Some(ALICE))
        .import_bundle(ImportBundleRequest {
            bundle: Some(bundle_with_a_new_actor()),
        })
        .await
        .expect("the gateway's writer credential writes through the backends")
        .into_inner();
    assert_eq!(imported.created.get("actors"), Some(&1), "{imported:?}");
    suite.stop().await;

    // The same data; the gateway sends no credential, communications an unknown one,
    // statements a valid one.
    let suite = suite_on(database.clone(), false, |service| match service {
        Service::Communications => Some(UNKNOWN),
        Service::Statements => Some(STATEMENTS),
        _ => None,
    })
    .await;
    let mut call = seed::episode().communications[0].clone();
    call.communication_id = "auth-refused-call".into();
    call.request_id.clear();
    let status = refused(
        communications(&suite.communications, Some(ALICE))
            .create_communication(call)
            .await,
        Code::Unavailable,
        "BACKEND_REFUSED_CREDENTIAL",
    );
    assert!(
        status
            .message()
            .contains("the actors service refused this service's credential"),
        "{status:?}"
    );
    let status = refused(
        gateway(&suite.gateway, Some(ALICE))
            .import_bundle(ImportBundleRequest {
                bundle: Some(bundle_with_a_new_actor()),
            })
            .await,
        Code::Unavailable,
        "BACKEND_REFUSED_CREDENTIAL",
    );
    assert!(
        status
            .message()
            .contains("refused this service's credential"),
        "{status:?}"
    );
    // A view never fails for a backend: the parts the gateway could not read are named.
    let view = gateway(&suite.gateway, Some(BOB))
        .get_episode_view(GetEpisodeViewRequest {
            name: EPISODE.into(),
            ..Default::default()
        })
        .await
        .expect("the view still answers")
        .into_inner();
    assert!(
        !view.unreachable.is_empty() && view.timeline.is_empty(),
        "{:?}",
        view.unreachable
    );
    suite.stop().await;

    // The gateway with a reader's credential: it reads (the view is whole) but its import
    // writes are PERMISSION_DENIED by the backends, which the end user sees as UNAVAILABLE.
    let suite = suite_on(database, false, |service| match service {
        Service::Gateway => Some(COMMUNICATIONS),
        other => own_tokens(other),
    })
    .await;
    let view = gateway(&suite.gateway, Some(BOB))
        .get_episode_view(GetEpisodeViewRequest {
            name: EPISODE.into(),
            ..Default::default()
        })
        .await
        .expect("the view")
        .into_inner();
    assert!(view.unreachable.is_empty(), "{:?}", view.unreachable);
    let mut bundle = bundle_with_a_new_actor();
    bundle.actors.last_mut().expect("the newcomer").name = "actors/auth-second-newcomer".into();
    let status = refused(
        gateway(&suite.gateway, Some(ALICE))
            .import_bundle(ImportBundleRequest {
                bundle: Some(bundle),
            })
            .await,
        Code::Unavailable,
        "BACKEND_REFUSED_CREDENTIAL",
    );
    assert!(
        status
            .message()
            .contains("the actors service refused this service's credential"),
        "{status:?}"
    );
    suite.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_sends_a_bearer_token_and_reflection_is_a_read() {
    let suite = suite_on(
        TestDatabase::create(Backend::Sqlite).await,
        false,
        own_tokens,
    )
    .await;
    let addr = suite.actors.addr.to_string();
    let grpcurl = |args: &[&str]| {
        Command::new(chancery_testkit::grpcurl())
            .arg("-plaintext")
            .args(args)
            .output()
            .expect("run grpcurl")
    };
    let list = grpcurl(&[&addr, "list"]);
    assert!(
        !list.status.success(),
        "reflection without a token is refused"
    );
    let stderr = String::from_utf8_lossy(&list.stderr);
    assert!(stderr.contains("Unauthenticated"), "{stderr}");

    let header = format!("authorization: Bearer {BOB}");
    let list = grpcurl(&["-H", &header, &addr, "list"]);
    assert!(list.status.success(), "{list:?}");
    assert!(String::from_utf8_lossy(&list.stdout).contains("chancery.actors.v1.ActorService"));

    let create = r#"{"actor_id": "grpcurl-actor", "actor": {"kind": "ACTOR_KIND_STATE", "display_name": "Grpcurl"}}"#;
    let method = "chancery.actors.v1.ActorService/CreateActor";
    let denied = grpcurl(&["-H", &header, "-d", create, &addr, method]);
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(stderr.contains("PermissionDenied"), "{stderr}");
    let writer = format!("authorization: bearer {ALICE}");
    let created = grpcurl(&["-H", &writer, "-d", create, &addr, method]);
    assert!(created.status.success(), "{created:?}");
    suite.stop().await;
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a file");
    path.display().to_string()
}

#[test]
fn a_bad_tokens_file_stops_start_up_naming_the_file_and_line_but_not_the_token() {
    let dir = TempDir::new("auth-bad").expect("a directory");
    let tokens = write(
        dir.path(),
        "tokens",
        &format!("# ok so far\nwriter alice {ALICE}\nwriter alice-again {ALICE}\n"),
    );
    let (code, output) = run_to_exit("chancery-actors", &[("CHANCERY_TOKENS_FILE", &tokens)]);
    assert_eq!(code, Some(64), "{output}");
    assert!(
        output.contains("CHANCERY_TOKENS_FILE")
            && output.contains(&tokens)
            && output.contains("line 3"),
        "{output}"
    );
    assert_no_token(&output);

    let short = write(dir.path(), "service-token", "too-short\n");
    let (code, output) = run_to_exit(
        "chancery-gateway",
        &[("CHANCERY_SERVICE_TOKEN_FILE", &short)],
    );
    assert_eq!(code, Some(64), "{output}");
    assert!(
        output.contains("CHANCERY_SERVICE_TOKEN_FILE") && output.contains(&short),
        "{output}"
    );
    assert!(!output.contains("too-short"), "{output}");

    let (code, output) = run_to_exit(
        "chancery-actors",
        &[("CHANCERY_TOKENS_FILE", "/nonexistent/chancery-tokens")],
    );
    assert_eq!(code, Some(64), "{output}");
    assert!(output.contains("/nonexistent/chancery-tokens"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_tokens_file_every_start_warns_and_everything_is_allowed() {
    let data = TempDir::new("auth-off").expect("a directory");
    let mut actors = Process::start("chancery-actors", data.path(), &[]);
    actors.wait_serving().await;
    let channel = chancery_testkit::connect(actors.addr).await;
    ActorServiceClient::new(channel)
        .create_actor(CreateActorRequest {
            actor_id: "open".into(),
            actor: Some(Actor {
                kind: ActorKind::State as i32,
                display_name: "Open".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("auth off: a write without a token");
    let output = std::fs::read_to_string(&actors.log).expect("the log");
    assert!(
        output.contains("AUTHENTICATION IS OFF") && output.contains("CHANCERY_TOKENS_FILE"),
        "{output}"
    );
    assert!(output.contains("\"level\":\"WARN\""), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_reach_the_logs_or_the_errors() {
    let data = TempDir::new("auth-logs").expect("a directory");
    let tokens = write(data.path(), "tokens", &tokens());
    let own = write(
        data.path(),
        "communications-token",
        &format!("{COMMUNICATIONS}\n"),
    );
    let debug = |extra: &[(&'static str, String)]| {
        let mut env = vec![
            ("CHANCERY_TOKENS_FILE", tokens.clone()),
            ("RUST_LOG", "debug".to_owned()),
        ];
        env.extend(extra.iter().cloned());
        env
    };
    let mut actors = Process::start("chancery-actors", data.path(), &debug(&[]));
    actors.wait_serving().await;
    let mut communications = Process::start(
        "chancery-communications",
        data.path(),
        &debug(&[
            ("CHANCERY_ACTORS_ADDR", actors.uri()),
            ("CHANCERY_SERVICE_TOKEN_FILE", own),
            ("CHANCERY_LOG_FORMAT", "pretty".to_owned()),
        ]),
    );
    communications.wait_serving().await;

    let actors_channel = chancery_testkit::connect(actors.addr).await;
    let client =
        |token: Option<&str>| ActorServiceClient::new(with_token(actors_channel.clone(), token));
    client(Some(ALICE))
        .create_actor(CreateActorRequest {
            actor_id: "logged".into(),
            actor: Some(Actor {
                kind: ActorKind::State as i32,
                display_name: "Logged".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("a writer writes");
    let mut errors = Vec::new();
    for token in [None, Some(UNKNOWN), Some(BOB), Some(GATEWAY)] {
        if let Err(status) = client(token)
            .create_actor(CreateActorRequest::default())
            .await
        {
            errors.push(status);
        }
    }
    for malformed in [format!("Basic {ALICE}"), format!("Bearer  {UNKNOWN} extra")] {
        errors.push(
            client(None)
                .get_actor(with_authorization(
                    GetActorRequest {
                        name: "actors/x".into(),
                    },
                    &malformed,
                ))
                .await
                .expect_err("refused"),
        );
    }
    let codes: Vec<Code> = errors.iter().map(Status::code).collect();
    assert_eq!(
        codes,
        [
            Code::Unauthenticated,
            Code::Unauthenticated,
            Code::PermissionDenied,
            Code::InvalidArgument,
            Code::Unauthenticated,
            Code::Unauthenticated,
        ]
    );
    // A write that makes communications call actors with its own credential.
    let mut call = seed::episode().communications[0].clone();
    call.request_id.clear();
    let communications_channel = chancery_testkit::connect(communications.addr).await;
    let result = CommunicationServiceClient::new(with_token(communications_channel, Some(ALICE)))
        .create_communication(call)
        .await;
    // None of its participants exists: the reference check ran (with communications'
    // credential, which the actors service accepted) and named the missing ones.
    let status = result.expect_err("missing participants");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    errors.push(status);

    for status in &errors {
        assert_no_token(&format!(
            "{} {:?} {:?}",
            status.message(),
            status.details(),
            status.metadata()
        ));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = format!(
        "{}{}",
        std::fs::read_to_string(&actors.log).expect("the actors log"),
        std::fs::read_to_string(&communications.log).expect("the communications log")
    );
    assert!(
        logs.contains("DEBUG") || logs.contains("\"level\":\"DEBUG\""),
        "debug logs are on"
    );
    assert!(logs.contains("request refused"), "the refusals are logged");
    assert!(
        logs.contains("\"principal\":\"bob\""),
        "the principal names the caller"
    );
    assert_no_token(&logs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_sends_its_token_from_a_file_or_the_environment() {
    let suite = suite_on(
        TestDatabase::create(Backend::Sqlite).await,
        false,
        own_tokens,
    )
    .await;
    let dir = TempDir::new("auth-cli").expect("a directory");
    let writer = write(dir.path(), "writer-token", &format!("{ALICE}\n"));
    let reader = write(dir.path(), "reader-token", &format!("{BOB}\n"));
    let gateway = suite.gateway.addr.to_string();
    let chancery = |args: &[&str], env: &[(&str, &str)]| {
        let output = Command::new(binaries().join("chancery"))
            .args(args)
            .env_remove("CHANCERY_TOKEN_FILE")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("run chancery");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_no_token(&text);
        (output.status.code(), text)
    };
    let bundle = seed::BUNDLE_PATH;

    let (code, text) = chancery(&["import", bundle, "--gateway", &gateway], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("UNAUTHENTICATED") && text.contains("--token-file"),
        "{text}"
    );
    let (code, text) = chancery(
        &[
            "import",
            bundle,
            "--gateway",
            &gateway,
            "--token-file",
            &reader,
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("PERMISSION_DENIED"), "{text}");
    let (code, text) = chancery(
        &[
            "import",
            bundle,
            "--gateway",
            &gateway,
            "--token-file",
            &writer,
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{text}");

    let (code, text) = chancery(
        &["view", EPISODE, "--gateway", &gateway],
        &[("CHANCERY_TOKEN_FILE", &reader)],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Emmanuel Macron"), "{text}");
    let (code, text) = chancery(
        &[
            "export",
            EPISODE,
            "--gateway",
            &gateway,
            "--token-file",
            &reader,
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("actors/associated-press"), "{text}");
    let (code, text) = chancery(&["export", EPISODE, "--gateway", &gateway], &[]);
    assert_eq!(code, Some(1), "{text}");

    let bad = write(dir.path(), "bad-token", "short\n");
    let (code, text) = chancery(
        &["view", EPISODE, "--gateway", &gateway, "--token-file", &bad],
        &[],
    );
    assert_eq!(code, Some(64), "{text}");
    assert!(text.contains(&bad) && !text.contains("short\n"), "{text}");
    suite.stop().await;
}
