//! How the statements service checks references held by other services, against stand-ins for
//! the actors and communications services that record every call: one `BatchGetActors` and at
//! most one `BatchGetCommunications` per write, both at once, none when there is nothing to
//! check, and a service too slow for the caller's deadline makes the write UNAVAILABLE with
//! nothing stored.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chancery_proto::actors::v1::actor_service_server::{ActorService, ActorServiceServer};
use chancery_proto::actors::v1::{
    Actor, BatchGetActorsRequest, BatchGetActorsResponse, CreateActorRequest, CreatePostRequest,
    CreateTenureRequest, DeleteActorRequest, DeletePostRequest, DeleteTenureRequest,
    GetActorRequest, GetPostRequest, GetTenureRequest, ListActorsRequest, ListActorsResponse,
    ListPostsRequest, ListPostsResponse, ListTenuresRequest, ListTenuresResponse, Post,
    ResolveOfficesRequest, ResolveOfficesResponse, Tenure, UpdateActorRequest, UpdatePostRequest,
    UpdateTenureRequest,
};
use chancery_proto::common::v1::FuzzyDate;
use chancery_proto::communications::v1::communication_service_server::{
    CommunicationService, CommunicationServiceServer,
};
use chancery_proto::communications::v1::{
    AppendStatusRequest, BatchGetCommunicationsRequest, BatchGetCommunicationsResponse,
    Communication, CreateCommunicationRequest, DeleteCommunicationRequest, GetCommunicationRequest,
    ListCommunicationsRequest, ListCommunicationsResponse, UpdateCommunicationRequest,
};
use chancery_proto::statements::v1::statement_service_client::StatementServiceClient;
use chancery_proto::statements::v1::{
    AttributionHop, Content, ContentMode, CreateSourceDocumentRequest, CreateStatementRequest,
    HopRelation, ListSourceDocumentsRequest, ListStatementsRequest, MediaAsset, MediaKind, Readout,
    RelayedSpeech, SourceDocument, SpeechAct, Statement, UpdateSourceDocumentRequest,
    UpdateStatementRequest,
};
use chancery_runtime::backends::lazy_channel;
use chancery_runtime::config::ServerConfig;
use chancery_runtime::layers::parse_grpc_timeout;
use tokio::net::TcpListener;
use tokio::sync::Barrier;
use tonic::service::Routes;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};

/// A stand-in for a service that answers batch gets: it knows some names, records each call's
/// names and deadline, and can be made slow, or wait for a call to the other stand-in.
#[derive(Debug, Clone, Default)]
struct Backend {
    known: Arc<HashSet<String>>,
    calls: Arc<Mutex<Vec<Vec<String>>>>,
    deadlines: Arc<Mutex<Vec<Option<Duration>>>>,
    delay: Duration,
    rendezvous: Arc<Mutex<Option<Arc<Barrier>>>>,
}

impl Backend {
    fn knowing(names: &[&str]) -> Self {
        Self {
            known: Arc::new(names.iter().map(|n| (*n).to_owned()).collect()),
            ..Self::default()
        }
    }

    async fn answer(
        &self,
        metadata: &tonic::metadata::MetadataMap,
        names: Vec<String>,
    ) -> Result<Vec<String>, Status> {
        self.calls.lock().unwrap().push(names.clone());
        self.deadlines.lock().unwrap().push(
            metadata
                .get("grpc-timeout")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_grpc_timeout),
        );
        let rendezvous = self.rendezvous.lock().unwrap().clone();
        if let Some(rendezvous) = rendezvous {
            tokio::time::timeout(Duration::from_secs(3), rendezvous.wait())
                .await
                .map_err(|_| Status::internal("the other service was not called meanwhile"))?;
        }
        tokio::time::sleep(self.delay).await;
        Ok(names
            .into_iter()
            .filter(|n| !self.known.contains(n))
            .collect())
    }

    /// From now on, answers only once `barrier` is reached by another call too.
    fn meet_at(&self, barrier: &Arc<Barrier>) {
        *self.rendezvous.lock().unwrap() = Some(barrier.clone());
    }

    fn calls(&self) -> Vec<Vec<String>> {
        self.calls.lock().unwrap().clone()
    }
}

#[derive(Debug, Clone)]
struct FakeActors(Backend);

#[derive(Debug, Clone)]
struct FakeCommunications(Backend);

/// Implements a service trait on a stand-in: its batch get answers from the [`Backend`], every
/// other method is UNIMPLEMENTED.
macro_rules! stand_in {
    (
        $service:ident for $fake:ident,
        $batch:ident($batch_request:ty) -> $batch_response:ty,
        $($method:ident($request:ty) -> $response:ty),* $(,)?
    ) => {
        #[tonic::async_trait]
        impl $service for $fake {
            async fn $batch(
                &self,
                request: Request<$batch_request>,
            ) -> Result<Response<$batch_response>, Status> {
                let (metadata, _, request) = request.into_parts();
                assert!(request.allow_missing, "reference checks ask with allow_missing");
                let mut response = <$batch_response>::default();
                response.missing_names = self.0.answer(&metadata, request.names).await?;
                Ok(Response::new(response))
            }
            $(
                async fn $method(
                    &self,
                    _request: Request<$request>,
                ) -> Result<Response<$response>, Status> {
                    Err(Status::unimplemented(stringify!($method)))
                }
            )*
        }
    };
}

stand_in!(
    ActorService for FakeActors,
    batch_get_actors(BatchGetActorsRequest) -> BatchGetActorsResponse,
    get_actor(GetActorRequest) -> Actor,
    list_actors(ListActorsRequest) -> ListActorsResponse,
    create_actor(CreateActorRequest) -> Actor,
    update_actor(UpdateActorRequest) -> Actor,
    delete_actor(DeleteActorRequest) -> (),
    create_post(CreatePostRequest) -> Post,
    get_post(GetPostRequest) -> Post,
    list_posts(ListPostsRequest) -> ListPostsResponse,
    create_tenure(CreateTenureRequest) -> Tenure,
    get_tenure(GetTenureRequest) -> Tenure,
    list_tenures(ListTenuresRequest) -> ListTenuresResponse,
    resolve_offices(ResolveOfficesRequest) -> ResolveOfficesResponse,
    update_post(UpdatePostRequest) -> Post,
    delete_post(DeletePostRequest) -> (),
    update_tenure(UpdateTenureRequest) -> Tenure,
    delete_tenure(DeleteTenureRequest) -> (),
);

stand_in!(
    CommunicationService for FakeCommunications,
    batch_get_communications(BatchGetCommunicationsRequest) -> BatchGetCommunicationsResponse,
    get_communication(GetCommunicationRequest) -> Communication,
    list_communications(ListCommunicationsRequest) -> ListCommunicationsResponse,
    create_communication(CreateCommunicationRequest) -> Communication,
    update_communication(UpdateCommunicationRequest) -> Communication,
    delete_communication(DeleteCommunicationRequest) -> (),
    append_status(AppendStatusRequest) -> Communication,
);

async fn serve(routes: Routes, name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let config = ServerConfig::new(addr);
        chancery_runtime::server::serve(listener, &config, routes, &[name], std::future::pending())
            .await
    });
    addr
}

/// The statements service on an in-memory database, wired to the two stand-ins.
async fn statements_with(
    actors: &Backend,
    communications: &Backend,
) -> StatementServiceClient<Channel> {
    let actors_addr = serve(
        Routes::new(ActorServiceServer::new(FakeActors(actors.clone()))),
        "chancery.actors.v1.ActorService",
    )
    .await;
    let communications_addr = serve(
        Routes::new(CommunicationServiceServer::new(FakeCommunications(
            communications.clone(),
        ))),
        "chancery.communications.v1.CommunicationService",
    )
    .await;
    let uri = |addr: SocketAddr| format!("http://{addr}").parse().unwrap();
    let backends = chancery_statements::Backends {
        actors: lazy_channel(&uri(actors_addr)),
        communications: lazy_channel(&uri(communications_addr)),
    };
    let database =
        chancery_runtime::db::connect("sqlite::memory:", &chancery_statements::MIGRATIONS)
            .await
            .unwrap();
    let addr = serve(
        chancery_statements::routes(database, backends),
        chancery_statements::SERVICE_NAME,
    )
    .await;
    StatementServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
}

fn hop(reporter: &str, document: &str) -> AttributionHop {
    AttributionHop {
        reporter: reporter.into(),
        relation: HopRelation::Reported as i32,
        document: document.into(),
        ..Default::default()
    }
}

fn statement(speaker: &str) -> Statement {
    Statement {
        speaker: speaker.into(),
        content: Some(Content {
            text: "Putin accused Kyiv of using civilians as human shields".into(),
            language_code: "en".into(),
            mode: ContentMode::Characterization as i32,
            ..Default::default()
        }),
        speech_act: SpeechAct::Accusation as i32,
        said: Some(FuzzyDate {
            edtf: "2022-03-12".into(),
            ..Default::default()
        }),
        attribution_chain: vec![hop("actors/tass", "documents/seed")],
        ..Default::default()
    }
}

fn seed_document() -> CreateSourceDocumentRequest {
    CreateSourceDocumentRequest {
        source_document: Some(SourceDocument {
            url: "https://tass.com/politics/1".into(),
            publisher: "actors/tass".into(),
            media_assets: vec![
                MediaAsset {
                    kind: MediaKind::Image as i32,
                    credit_actor: "actors/associated-press".into(),
                    ..Default::default()
                },
                MediaAsset {
                    kind: MediaKind::Video as i32,
                    credit_actor: "actors/tass".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }),
        document_id: "seed".into(),
        request_id: String::new(),
    }
}

const ACTORS: &[&str] = &[
    "actors/tass",
    "actors/associated-press",
    "actors/vladimir-putin",
    "actors/olaf-scholz",
    "actors/kremlin-press-service",
    "actors/ukraine",
];

#[tokio::test]
async fn each_write_asks_each_service_once_and_only_for_what_it_names() {
    let actors = Backend::knowing(ACTORS);
    let communications = Backend::knowing(&["communications/call"]);
    let mut client = statements_with(&actors, &communications).await;

    client
        .create_source_document(seed_document())
        .await
        .unwrap();
    assert_eq!(
        actors.calls(),
        [["actors/associated-press", "actors/tass"]],
        "one call, each distinct name once"
    );
    assert!(communications.calls().is_empty());

    let readout = Statement {
        co_speakers: vec!["actors/olaf-scholz".into()],
        addressees: vec!["actors/olaf-scholz".into()],
        about_actors: vec!["actors/ukraine".into()],
        communication: "communications/call".into(),
        readout: Some(Readout {
            issuer: "actors/kremlin-press-service".into(),
            document: String::new(),
        }),
        attribution_chain: vec![
            hop("actors/tass", "documents/seed"),
            hop("actors/kremlin-press-service", ""),
        ],
        ..statement("actors/vladimir-putin")
    };
    client
        .create_statement(CreateStatementRequest {
            statement: Some(readout),
            statement_id: "readout".into(),
            request_id: "first".into(),
        })
        .await
        .unwrap();
    assert_eq!(actors.calls().len(), 2);
    assert_eq!(
        actors.calls()[1],
        [
            "actors/kremlin-press-service",
            "actors/olaf-scholz",
            "actors/tass",
            "actors/ukraine",
            "actors/vladimir-putin",
        ]
    );
    assert_eq!(communications.calls(), [["communications/call"]]);

    // A retry is answered from the record, without asking anyone again.
    client
        .create_statement(CreateStatementRequest {
            statement: Some(Statement {
                co_speakers: vec!["actors/olaf-scholz".into()],
                ..statement("actors/vladimir-putin")
            }),
            statement_id: "other".into(),
            request_id: "second".into(),
        })
        .await
        .unwrap();
    let retry = client
        .create_statement(CreateStatementRequest {
            statement: Some(Statement {
                co_speakers: vec!["actors/olaf-scholz".into()],
                ..statement("actors/vladimir-putin")
            }),
            statement_id: "other".into(),
            request_id: "second".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retry.name, "statements/other");
    assert_eq!(actors.calls().len(), 3, "no call for the retry");
    assert_eq!(
        communications.calls().len(),
        1,
        "no communication, no call to the communications service"
    );

    // An update checks only the references it changes; none, no call.
    let update = |statement: Statement, path: &str| UpdateStatementRequest {
        statement: Some(Statement {
            name: "statements/readout".into(),
            ..statement
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec![path.into()],
        }),
    };
    client
        .update_statement(update(
            Statement {
                channel: 1,
                ..Default::default()
            },
            "channel",
        ))
        .await
        .unwrap();
    assert_eq!(actors.calls().len(), 3);
    client
        .update_statement(update(
            Statement {
                speaker: "actors/kremlin-press-service".into(),
                ..Default::default()
            },
            "speaker",
        ))
        .await
        .unwrap();
    assert_eq!(
        actors.calls()[3],
        ["actors/kremlin-press-service"],
        "only the new speaker"
    );
    assert_eq!(communications.calls().len(), 1);

    // A request that fails validation asks nobody.
    client
        .create_statement(CreateStatementRequest {
            statement: Some(Statement {
                speech_act: 0,
                ..statement("actors/vladimir-putin")
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(actors.calls().len(), 4);

    // Every call carried a deadline no longer than the service's cap.
    let deadlines = actors.deadlines.lock().unwrap().clone();
    assert!(
        deadlines
            .iter()
            .all(|d| d.is_some_and(|d| d <= Duration::from_secs(5))),
        "{deadlines:?}"
    );
}

fn relayed(speakers: &[&str], addressees: &[&str], nested: Vec<RelayedSpeech>) -> RelayedSpeech {
    RelayedSpeech {
        speakers: speakers.iter().map(|s| (*s).to_owned()).collect(),
        addressees: addressees.iter().map(|s| (*s).to_owned()).collect(),
        speech_act: SpeechAct::Assertion as i32,
        content: Some(Content {
            text: "talks were possible".into(),
            language_code: "en".into(),
            mode: ContentMode::Paraphrase as i32,
            ..Default::default()
        }),
        said: None,
        relayed: nested,
    }
}

#[tokio::test]
async fn relayed_speakers_related_communications_and_author_actors_join_the_one_call_per_service() {
    let actors = Backend::knowing(ACTORS);
    let communications = Backend::knowing(&["communications/call", "communications/other-call"]);
    let mut client = statements_with(&actors, &communications).await;
    client
        .create_source_document(seed_document())
        .await
        .unwrap();
    let relaying = Statement {
        communication: "communications/call".into(),
        related_communications: vec![
            "communications/other-call".into(),
            "communications/never-held".into(),
        ],
        relayed: vec![relayed(
            &["actors/vladimir-putin"],
            &["actors/olaf-scholz"],
            vec![relayed(&["actors/ghost"], &["actors/ukraine"], vec![])],
        )],
        ..statement("actors/kremlin-press-service")
    };
    let status = client
        .create_statement(CreateStatementRequest {
            statement: Some(relaying),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(actors.calls().len(), 2, "one call for the statement");
    assert_eq!(
        actors.calls()[1],
        [
            "actors/ghost",
            "actors/kremlin-press-service",
            "actors/olaf-scholz",
            "actors/tass",
            "actors/ukraine",
            "actors/vladimir-putin",
        ]
    );
    assert_eq!(
        communications.calls(),
        [[
            "communications/call",
            "communications/never-held",
            "communications/other-call"
        ]],
        "the communication and the related ones in one call"
    );
    let message = status.message();
    for expected in [
        "statement.relayed[0].relayed[0].speakers[0]: actors/ghost does not exist",
        "statement.related_communications[1]: communications/never-held does not exist",
    ] {
        assert!(message.contains(expected), "{expected} in {message}");
    }

    // A document update asks once, only for the actors it changes.
    client
        .update_source_document(UpdateSourceDocumentRequest {
            source_document: Some(SourceDocument {
                name: "documents/seed".into(),
                author_actors: vec!["actors/olaf-scholz".into(), "actors/ukraine".into()],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["author_actors".into()],
            }),
        })
        .await
        .unwrap();
    assert_eq!(actors.calls().len(), 3);
    assert_eq!(actors.calls()[2], ["actors/olaf-scholz", "actors/ukraine"]);
    client
        .update_source_document(UpdateSourceDocumentRequest {
            source_document: Some(SourceDocument {
                name: "documents/seed".into(),
                title: "A title".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap();
    assert_eq!(actors.calls().len(), 3, "a new title names no actor");
}

#[tokio::test]
async fn missing_names_become_violations_on_their_fields() {
    let actors = Backend::knowing(ACTORS);
    let communications = Backend::knowing(&[]);
    let mut client = statements_with(&actors, &communications).await;
    client
        .create_source_document(seed_document())
        .await
        .unwrap();
    let status = client
        .create_statement(CreateStatementRequest {
            statement: Some(Statement {
                co_speakers: vec!["actors/olaf-scholz".into(), "actors/ghost".into()],
                communication: "communications/never-held".into(),
                attribution_chain: vec![
                    hop("actors/tass", "documents/seed"),
                    hop("actors/ria-novosti", ""),
                ],
                ..statement("actors/vladimir-putin")
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let message = status.message();
    for expected in [
        "statement.co_speakers[1]: actors/ghost does not exist",
        "statement.attribution_chain[1].reporter: actors/ria-novosti does not exist",
        "statement.communication: communications/never-held does not exist",
    ] {
        assert!(message.contains(expected), "{expected} in {message}");
    }
    let listed = client
        .list_statements(ListStatementsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.statements.is_empty());
}

#[tokio::test]
async fn both_services_are_asked_at_the_same_time() {
    let actors = Backend::knowing(ACTORS);
    let communications = Backend::knowing(&["communications/call"]);
    let mut client = statements_with(&actors, &communications).await;
    client
        .create_source_document(seed_document())
        .await
        .unwrap();
    // From now on each stand-in answers only once the other has been called too: checks made
    // one after the other would never complete.
    let rendezvous = Arc::new(Barrier::new(2));
    actors.meet_at(&rendezvous);
    communications.meet_at(&rendezvous);
    let created = client
        .create_statement(CreateStatementRequest {
            statement: Some(Statement {
                communication: "communications/call".into(),
                ..statement("actors/vladimir-putin")
            }),
            statement_id: "about-the-call".into(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.communication, "communications/call");
    assert_eq!((actors.calls().len(), communications.calls().len()), (2, 1));
}

#[tokio::test]
async fn a_service_too_slow_for_the_callers_deadline_makes_the_write_unavailable() {
    let actors = Backend {
        delay: Duration::from_secs(30),
        ..Backend::knowing(ACTORS)
    };
    let communications = Backend::knowing(&[]);
    let mut client = statements_with(&actors, &communications).await;
    let mut request = Request::new(seed_document());
    request.set_timeout(Duration::from_millis(800));
    let started = Instant::now();
    let status = client.create_source_document(request).await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("the actors service"));
    assert!(
        elapsed < Duration::from_secs(2),
        "answered after {elapsed:?}"
    );
    let deadline = actors.deadlines.lock().unwrap()[0];
    assert!(
        deadline.is_some_and(|d| d < Duration::from_millis(800)),
        "the outbound call carried what was left of the caller's deadline: {deadline:?}"
    );
    let listed = client
        .list_source_documents(ListSourceDocumentsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.source_documents.is_empty());
}
