//! In-process fakes of the actors, communications and statements services, for tests of the
//! gateway's fan-out and partial views.
//!
//! Each fake listens on `127.0.0.1:0` and
//!
//! - answers the batch reads the gateway makes (`BatchGetActors`, `ResolveOffices`,
//!   `BatchGetCommunications`, `BatchGetStatements`, `BatchGetSourceDocuments`) with synthetic,
//!   deterministic data for **any** well-formed name, so an episode of 3 or 3000 members can be
//!   created and viewed without loading anything (see [`synthetic_communication`] and its
//!   siblings for what the data looks like); names made [missing](Control::set_missing) are
//!   reported missing; more than 10000 names fail with INVALID_ARGUMENT, as the real services do;
//! - counts every call per RPC, including the RPCs it does not serve (which fail UNIMPLEMENTED),
//!   so a test can assert exactly which calls a request made;
//! - can be switched to fail every call with UNAVAILABLE, to never answer, or to answer late
//!   ([`Behaviour`]).
//!
//! ```no_run
//! # async fn demo() {
//! use chancery_testkit::fakes::{Behaviour, spawn_fakes};
//! let fakes = spawn_fakes().await;
//! let gateway = fakes.spawn_gateway().await;
//! fakes.statements.control.set_behaviour(Behaviour::Hang);
//! fakes.reset_calls();
//! // … view an episode through `gateway`, then:
//! assert_eq!(fakes.statements.control.calls("BatchGetStatements"), 1);
//! # }
//! ```

use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use chancery_proto::actors::v1::actor_service_server::{ActorService, ActorServiceServer};
use chancery_proto::actors::v1::{
    Actor, ActorKind, BatchGetActorsRequest, BatchGetActorsResponse, CreateActorRequest,
    CreatePostRequest, CreateTenureRequest, DeleteActorRequest, DeletePostRequest,
    DeleteTenureRequest, GetActorRequest, GetPostRequest, GetTenureRequest, HeldOffice,
    ListActorsRequest, ListActorsResponse, ListPostsRequest, ListPostsResponse, ListTenuresRequest,
    ListTenuresResponse, OfficeAnswer, Post, PostClass, ResolveOfficesRequest,
    ResolveOfficesResponse, Tenure, UpdateActorRequest, UpdatePostRequest, UpdateTenureRequest,
};
use chancery_proto::common::v1::{FuzzyDate, SourceRef};
use chancery_proto::communications::v1::communication_service_server::{
    CommunicationService, CommunicationServiceServer,
};
use chancery_proto::communications::v1::{
    AppendStatusRequest, BatchGetCommunicationsRequest, BatchGetCommunicationsResponse,
    Communication, CommunicationKind, CreateCommunicationRequest, DeleteCommunicationRequest,
    GetCommunicationRequest, Lifecycle, ListCommunicationsRequest, ListCommunicationsResponse,
    Participant, ParticipantRole, StatusAssertion, UpdateCommunicationRequest,
};
use chancery_proto::statements::v1::statement_service_server::{
    StatementService, StatementServiceServer,
};
use chancery_proto::statements::v1::{
    AttributionHop, BatchGetSourceDocumentsRequest, BatchGetSourceDocumentsResponse,
    BatchGetStatementsRequest, BatchGetStatementsResponse, Content, ContentMode,
    CreateSourceDocumentRequest, CreateStatementRequest, DeleteSourceDocumentRequest,
    DeleteStatementRequest, GetSourceDocumentRequest, GetStatementRequest, HopRelation,
    ListSourceDocumentsRequest, ListSourceDocumentsResponse, ListStatementsRequest,
    ListStatementsResponse, SourceDocument, SpeechAct, Statement, UpdateSourceDocumentRequest,
    UpdateStatementRequest,
};
use chancery_runtime::errors::Violations;
use chancery_runtime::fuzzy_date::normalize;
use chancery_runtime::names;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use crate::{Options, Service, TestServer, spawn_with};

/// Most names one batch call may carry, as in the real services.
pub const MAX_BATCH: usize = 10_000;
/// How many distinct people the synthetic data draws participants and speakers from.
pub const PEOPLE: u64 = 6;
/// How many distinct outlets report the synthetic statements.
pub const OUTLETS: u64 = 3;
/// How many distinct documents the synthetic members cite.
pub const DOCUMENTS: u64 = 4;

/// How a fake answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behaviour {
    /// Serve synthetic data.
    #[default]
    Serve,
    /// Fail every call with UNAVAILABLE at once.
    Unavailable,
    /// Never answer (until the caller gives up).
    Hang,
    /// Serve synthetic data, after this long: lets a test tell calls made one after the other
    /// from calls made at once.
    Delay(std::time::Duration),
}

#[derive(Debug, Default)]
struct ControlState {
    behaviour: Behaviour,
    calls: BTreeMap<String, usize>,
    largest_batch: BTreeMap<String, usize>,
    missing: HashSet<String>,
}

/// Steers one fake and reads what it saw; clones share the same state.
#[derive(Debug, Clone, Default)]
pub struct Control(Arc<Mutex<ControlState>>);

impl Control {
    fn state(&self) -> MutexGuard<'_, ControlState> {
        // A test that panicked while holding the lock has failed already; its state is still
        // worth reading.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes every later call behave as `behaviour`.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.state().behaviour = behaviour;
    }

    /// How many calls of `rpc` (such as `BatchGetActors`) the fake received.
    pub fn calls(&self, rpc: &str) -> usize {
        self.state().calls.get(rpc).copied().unwrap_or(0)
    }

    /// Every RPC called, with its number of calls.
    pub fn all_calls(&self) -> BTreeMap<String, usize> {
        self.state().calls.clone()
    }

    /// The most names (or questions) one call of `rpc` carried.
    pub fn largest_batch(&self, rpc: &str) -> usize {
        self.state().largest_batch.get(rpc).copied().unwrap_or(0)
    }

    /// Forgets the calls counted so far.
    pub fn reset_calls(&self) {
        let mut state = self.state();
        state.calls.clear();
        state.largest_batch.clear();
    }

    /// Makes these resource names not exist from now on.
    pub fn set_missing(&self, names: impl IntoIterator<Item = impl Into<String>>) {
        self.state()
            .missing
            .extend(names.into_iter().map(Into::into));
    }

    fn is_missing(&self, name: &str) -> bool {
        self.state().missing.contains(name)
    }

    /// Counts a call of `rpc` carrying `batch` items, then applies the behaviour: `Ok` to serve,
    /// UNAVAILABLE, or never returning.
    async fn enter(&self, rpc: &str, batch: usize) -> Result<(), Status> {
        let behaviour = {
            let mut state = self.state();
            *state.calls.entry(rpc.to_owned()).or_default() += 1;
            let largest = state.largest_batch.entry(rpc.to_owned()).or_default();
            *largest = (*largest).max(batch);
            state.behaviour
        };
        match behaviour {
            Behaviour::Serve => Ok(()),
            Behaviour::Unavailable => Err(Status::unavailable(format!(
                "the fake is switched to fail {rpc}"
            ))),
            Behaviour::Hang => std::future::pending().await,
            Behaviour::Delay(delay) => {
                tokio::time::sleep(delay).await;
                Ok(())
            }
        }
    }
}

/// A stable number derived from `text`, to vary the synthetic data.
fn hash_of(text: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// A date in the first quarter of 2022 picked by `seed`, with its bounds filled in as the real
/// services do.
fn synthetic_date(seed: u64) -> Option<FuzzyDate> {
    let month = 1 + seed % 3;
    let day = 1 + (seed / 3) % 28;
    let date = FuzzyDate {
        edtf: format!("2022-{month:02}-{day:02}"),
        ..Default::default()
    };
    normalize(&mut Violations::default(), "date", &date)
}

fn person(n: u64) -> String {
    format!("actors/person-{}", n % PEOPLE)
}

fn document(n: u64) -> String {
    format!("documents/doc-{}", n % DOCUMENTS)
}

/// The communication the fake serves for `name`: a phone call held between two of the
/// [`PEOPLE`] synthetic people (`actors/person-{i}`), on a day of the first quarter of 2022,
/// citing one of the [`DOCUMENTS`] synthetic documents, with one status assertion by its first
/// participant.
pub fn synthetic_communication(name: &str) -> Communication {
    let seed = hash_of(name);
    let first = seed % PEOPLE;
    let second = first + 1 + (seed / 7) % (PEOPLE - 1);
    let source = SourceRef {
        document: document(seed / 11),
        excerpt: String::new(),
    };
    let occurred = synthetic_date(seed / 13);
    Communication {
        name: name.to_owned(),
        kind: CommunicationKind::PhoneCall as i32,
        title: format!("Synthetic call {}", names::id_of(name)),
        participants: [first, second]
            .into_iter()
            .map(|n| Participant {
                actor: person(n),
                role: ParticipantRole::Principal as i32,
                ..Default::default()
            })
            .collect(),
        occurred: occurred.clone(),
        sources: vec![source.clone()],
        status_log: vec![StatusAssertion {
            lifecycle: Lifecycle::Held as i32,
            asserted_by: person(first),
            source: Some(source),
            as_of: occurred,
            ..Default::default()
        }],
        lifecycle: Lifecycle::Held as i32,
        ..Default::default()
    }
}

/// The statement the fake serves for `name`: said by one of the synthetic people on a day of
/// the first quarter of 2022, reported by one of the [`OUTLETS`] synthetic outlets
/// (`actors/outlet-{i}`) in one of the synthetic documents.
pub fn synthetic_statement(name: &str) -> Statement {
    let seed = hash_of(name);
    Statement {
        name: name.to_owned(),
        speaker: person(seed),
        content: Some(Content {
            text: format!("Synthetic statement {}.", names::id_of(name)),
            language_code: "en".into(),
            mode: ContentMode::Summary as i32,
            ..Default::default()
        }),
        speech_act: SpeechAct::Assertion as i32,
        said: synthetic_date(seed / 13),
        attribution_chain: vec![AttributionHop {
            position: 0,
            reporter: format!("actors/outlet-{}", (seed / 5) % OUTLETS),
            relation: HopRelation::Reported as i32,
            cue: "reported".into(),
            document: document(seed / 11),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The actor the fake serves for `name`: a person named `Actor {id}`.
pub fn synthetic_actor(name: &str) -> Actor {
    Actor {
        name: name.to_owned(),
        kind: ActorKind::Person as i32,
        display_name: format!("Actor {}", names::id_of(name)),
        ..Default::default()
    }
}

/// The document the fake serves for `name`: titled `Document {id}`, published by
/// `actors/publisher-{id}`.
pub fn synthetic_document(name: &str) -> SourceDocument {
    let id = names::id_of(name);
    SourceDocument {
        name: name.to_owned(),
        publisher: format!("actors/publisher-{id}"),
        title: format!("Document {id}"),
        ..Default::default()
    }
}

/// Answers a batch get: checks the names as the real services do, then serves `make(name)` for
/// each, except the missing ones.
fn batch<T>(
    control: &Control,
    names: &[String],
    collection: &str,
    allow_missing: bool,
    make: impl Fn(&str) -> T,
) -> Result<(Vec<T>, Vec<String>), Status> {
    let mut violations = Violations::default();
    names::check_batch(&mut violations, names, collection, MAX_BATCH);
    if !violations.is_empty() {
        return Err(Status::invalid_argument(violations.to_string()));
    }
    let (missing, found): (Vec<&String>, Vec<&String>) =
        names.iter().partition(|name| control.is_missing(name));
    if !allow_missing && !missing.is_empty() {
        return Err(Status::not_found(format!(
            "these do not exist: {}",
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok((
        found.into_iter().map(|name| make(name)).collect(),
        missing.into_iter().cloned().collect(),
    ))
}

/// Writes an implementation of a service trait whose unlisted-as-served RPCs count the call and
/// fail UNIMPLEMENTED.
macro_rules! fake_service {
    (
        impl $service:ident for $fake:ident {
            $($served:item)*
        }
        unimplemented {
            $($method:ident($request:ty) -> $response:ty = $rpc:literal;)*
        }
    ) => {
        #[tonic::async_trait]
        impl $service for $fake {
            $($served)*
            $(
                async fn $method(
                    &self,
                    _request: Request<$request>,
                ) -> Result<Response<$response>, Status> {
                    self.control.enter($rpc, 0).await?;
                    Err(Status::unimplemented(concat!("the fake does not serve ", $rpc)))
                }
            )*
        }
    };
}

/// The fake actors service.
#[derive(Debug, Clone)]
struct FakeActors {
    control: Control,
}

fake_service! {
    impl ActorService for FakeActors {
        async fn batch_get_actors(
            &self,
            request: Request<BatchGetActorsRequest>,
        ) -> Result<Response<BatchGetActorsResponse>, Status> {
            let request = request.into_inner();
            self.control.enter("BatchGetActors", request.names.len()).await?;
            let (actors, missing_names) = batch(
                &self.control,
                &request.names,
                "actors",
                request.allow_missing,
                synthetic_actor,
            )?;
            Ok(Response::new(BatchGetActorsResponse {
                actors,
                missing_names,
            }))
        }

        async fn resolve_offices(
            &self,
            request: Request<ResolveOfficesRequest>,
        ) -> Result<Response<ResolveOfficesResponse>, Status> {
            let request = request.into_inner();
            self.control.enter("ResolveOffices", request.queries.len()).await?;
            if request.queries.len() > MAX_BATCH {
                return Err(Status::invalid_argument(format!(
                    "queries: must have at most {MAX_BATCH} entries"
                )));
            }
            let mut violations = Violations::default();
            let answers = request
                .queries
                .into_iter()
                .enumerate()
                .map(|(i, query)| {
                    let id = names::check(
                        &mut violations,
                        &format!("queries[{i}].actor"),
                        &query.actor,
                        "actors",
                    )
                    .unwrap_or_default()
                    .to_owned();
                    let date = query
                        .date
                        .and_then(|d| normalize(&mut violations, &format!("queries[{i}].date"), &d));
                    let found = !self.control.is_missing(&query.actor);
                    let post = format!("posts/office-of-{id}");
                    OfficeAnswer {
                        offices: if found {
                            vec![HeldOffice {
                                tenure: Some(Tenure {
                                    name: format!("{}/tenures/office", query.actor),
                                    post: post.clone(),
                                    ..Default::default()
                                }),
                                post: Some(Post {
                                    name: post,
                                    title: format!("Office of {id}"),
                                    post_class: PostClass::Other as i32,
                                    ..Default::default()
                                }),
                                certain: true,
                            }]
                        } else {
                            Vec::new()
                        },
                        actor: query.actor,
                        date,
                        actor_found: found,
                    }
                })
                .collect();
            if !violations.is_empty() {
                return Err(Status::invalid_argument(violations.to_string()));
            }
            Ok(Response::new(ResolveOfficesResponse { answers }))
        }
    }
    unimplemented {
        get_actor(GetActorRequest) -> Actor = "GetActor";
        list_actors(ListActorsRequest) -> ListActorsResponse = "ListActors";
        create_actor(CreateActorRequest) -> Actor = "CreateActor";
        update_actor(UpdateActorRequest) -> Actor = "UpdateActor";
        delete_actor(DeleteActorRequest) -> () = "DeleteActor";
        create_post(CreatePostRequest) -> Post = "CreatePost";
        get_post(GetPostRequest) -> Post = "GetPost";
        list_posts(ListPostsRequest) -> ListPostsResponse = "ListPosts";
        create_tenure(CreateTenureRequest) -> Tenure = "CreateTenure";
        get_tenure(GetTenureRequest) -> Tenure = "GetTenure";
        list_tenures(ListTenuresRequest) -> ListTenuresResponse = "ListTenures";
        update_post(UpdatePostRequest) -> Post = "UpdatePost";
        delete_post(DeletePostRequest) -> () = "DeletePost";
        update_tenure(UpdateTenureRequest) -> Tenure = "UpdateTenure";
        delete_tenure(DeleteTenureRequest) -> () = "DeleteTenure";
    }
}

/// The fake communications service.
#[derive(Debug, Clone)]
struct FakeCommunications {
    control: Control,
}

fake_service! {
    impl CommunicationService for FakeCommunications {
        async fn batch_get_communications(
            &self,
            request: Request<BatchGetCommunicationsRequest>,
        ) -> Result<Response<BatchGetCommunicationsResponse>, Status> {
            let request = request.into_inner();
            self.control
                .enter("BatchGetCommunications", request.names.len())
                .await?;
            let (communications, missing_names) = batch(
                &self.control,
                &request.names,
                "communications",
                request.allow_missing,
                synthetic_communication,
            )?;
            Ok(Response::new(BatchGetCommunicationsResponse {
                communications,
                missing_names,
            }))
        }
    }
    unimplemented {
        get_communication(GetCommunicationRequest) -> Communication = "GetCommunication";
        list_communications(ListCommunicationsRequest) -> ListCommunicationsResponse = "ListCommunications";
        create_communication(CreateCommunicationRequest) -> Communication = "CreateCommunication";
        update_communication(UpdateCommunicationRequest) -> Communication = "UpdateCommunication";
        delete_communication(DeleteCommunicationRequest) -> () = "DeleteCommunication";
        append_status(AppendStatusRequest) -> Communication = "AppendStatus";
    }
}

/// The fake statements service.
#[derive(Debug, Clone)]
struct FakeStatements {
    control: Control,
}

fake_service! {
    impl StatementService for FakeStatements {
        async fn batch_get_statements(
            &self,
            request: Request<BatchGetStatementsRequest>,
        ) -> Result<Response<BatchGetStatementsResponse>, Status> {
            let request = request.into_inner();
            self.control
                .enter("BatchGetStatements", request.names.len())
                .await?;
            let (statements, missing_names) = batch(
                &self.control,
                &request.names,
                "statements",
                request.allow_missing,
                synthetic_statement,
            )?;
            Ok(Response::new(BatchGetStatementsResponse {
                statements,
                missing_names,
            }))
        }

        async fn batch_get_source_documents(
            &self,
            request: Request<BatchGetSourceDocumentsRequest>,
        ) -> Result<Response<BatchGetSourceDocumentsResponse>, Status> {
            let request = request.into_inner();
            self.control
                .enter("BatchGetSourceDocuments", request.names.len())
                .await?;
            let (source_documents, missing_names) = batch(
                &self.control,
                &request.names,
                "documents",
                request.allow_missing,
                synthetic_document,
            )?;
            Ok(Response::new(BatchGetSourceDocumentsResponse {
                source_documents,
                missing_names,
            }))
        }
    }
    unimplemented {
        get_statement(GetStatementRequest) -> Statement = "GetStatement";
        list_statements(ListStatementsRequest) -> ListStatementsResponse = "ListStatements";
        create_statement(CreateStatementRequest) -> Statement = "CreateStatement";
        update_statement(UpdateStatementRequest) -> Statement = "UpdateStatement";
        delete_statement(DeleteStatementRequest) -> () = "DeleteStatement";
        create_source_document(CreateSourceDocumentRequest) -> SourceDocument = "CreateSourceDocument";
        get_source_document(GetSourceDocumentRequest) -> SourceDocument = "GetSourceDocument";
        list_source_documents(ListSourceDocumentsRequest) -> ListSourceDocumentsResponse = "ListSourceDocuments";
        update_source_document(UpdateSourceDocumentRequest) -> SourceDocument = "UpdateSourceDocument";
        delete_source_document(DeleteSourceDocumentRequest) -> () = "DeleteSourceDocument";
    }
}

/// One fake service running on a real socket; stopped when dropped.
#[derive(Debug)]
pub struct FakeServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Steers it and reads its call counts.
    pub control: Control,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Hanging calls would keep a graceful shutdown waiting forever.
        self.task.abort();
    }
}

async fn start(routes: Routes, control: Control) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(
        Server::builder()
            .add_routes(routes)
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                let _ = stopped.await;
            }),
    );
    FakeServer {
        addr,
        control,
        stop: Some(stop),
        task,
    }
}

/// The three fake backends of a gateway.
#[derive(Debug)]
pub struct FakeBackends {
    /// The fake actors service.
    pub actors: FakeServer,
    /// The fake communications service.
    pub communications: FakeServer,
    /// The fake statements service.
    pub statements: FakeServer,
}

/// Starts the three fakes, each serving synthetic data.
pub async fn spawn_fakes() -> FakeBackends {
    let actors = Control::default();
    let communications = Control::default();
    let statements = Control::default();
    FakeBackends {
        actors: start(
            Routes::new(ActorServiceServer::new(FakeActors {
                control: actors.clone(),
            })),
            actors,
        )
        .await,
        communications: start(
            Routes::new(CommunicationServiceServer::new(FakeCommunications {
                control: communications.clone(),
            })),
            communications,
        )
        .await,
        statements: start(
            Routes::new(StatementServiceServer::new(FakeStatements {
                control: statements.clone(),
            })),
            statements,
        )
        .await,
    }
}

impl FakeBackends {
    /// Options that point a gateway at the three fakes.
    pub fn options(&self) -> Options {
        Options {
            actors: Some(self.actors.addr),
            communications: Some(self.communications.addr),
            statements: Some(self.statements.addr),
            ..Options::default()
        }
    }

    /// Starts a real gateway (with its own fresh database) whose backends are the fakes.
    pub async fn spawn_gateway(&self) -> TestServer {
        spawn_with(Service::Gateway, self.options()).await
    }

    /// Every RPC called on any of the three fakes, with its number of calls.
    pub fn calls(&self) -> BTreeMap<String, usize> {
        let mut calls = self.actors.control.all_calls();
        calls.extend(self.communications.control.all_calls());
        calls.extend(self.statements.control.all_calls());
        calls
    }

    /// Forgets the calls the three fakes counted so far.
    pub fn reset_calls(&self) {
        for fake in [&self.actors, &self.communications, &self.statements] {
            fake.control.reset_calls();
        }
    }

    /// Makes every fake serve again.
    pub fn serve_all(&self) {
        for fake in [&self.actors, &self.communications, &self.statements] {
            fake.control.set_behaviour(Behaviour::Serve);
        }
    }
}
