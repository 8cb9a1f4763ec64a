//! Typed batch look-ups in another service: "which of these names exist there, and what are
//! they", asked in **one** `BatchGet…` call with `allow_missing = true`, within the caller's
//! deadline.
//!
//! A [`Resource`] names one kind of resource and the RPC that fetches it by name ([`Actors`],
//! [`Communications`], [`Statements`], [`SourceDocuments`]). A [`Lookup`] holds one backend's
//! [`Outbound`] channel (so calls carry the trace context and the service credential, are
//! counted, and stop at an open circuit breaker when the channel has one), the timeout the
//! caller allows, and optionally a decode limit:
//!
//! ```no_run
//! # async fn example(
//! #     channel: tonic::transport::Channel,
//! #     breaker: &chancery_runtime::breaker::Breaker,
//! #     incoming: &tonic::metadata::MetadataMap,
//! #     references: &[chancery_runtime::backends::Reference],
//! # ) -> Result<(), chancery_runtime::errors::Error> {
//! use chancery_runtime::backends::{CALL_TIMEOUT, call_timeout, outbound};
//! use chancery_runtime::lookup::{Actors, Lookup};
//!
//! let actors = Lookup::new(
//!     outbound(channel).with_breaker(breaker),
//!     call_timeout(incoming, CALL_TIMEOUT),
//! );
//! let violations = actors.check::<Actors>(references).await?;
//! # let _ = violations;
//! # Ok(())
//! # }
//! ```
//!
//! [`Lookup::batch_get`] answers the found resources and the missing names,
//! [`Lookup::missing`] only the missing names, and [`Lookup::check`] turns references into
//! field violations with [`check_references`]. A backend that does not answer in time (a
//! connection whose handshake never completes included) fails with DEADLINE_EXCEEDED
//! `"{METHOD} did not answer within {timeout:?}"`.
//!
//! A caller with its own timing (per-call budgets, retries) calls [`Resource::batch_get`]
//! directly on [`Lookup::client`], which adds no timeout of its own beyond the request's
//! deadline.

use std::future::Future;
use std::time::Duration;

use chancery_proto::actors::v1::actor_service_client::ActorServiceClient;
use chancery_proto::actors::v1::{Actor, BatchGetActorsRequest};
use chancery_proto::communications::v1::communication_service_client::CommunicationServiceClient;
use chancery_proto::communications::v1::{BatchGetCommunicationsRequest, Communication};
use chancery_proto::statements::v1::statement_service_client::StatementServiceClient;
use chancery_proto::statements::v1::{
    BatchGetSourceDocumentsRequest, BatchGetStatementsRequest, SourceDocument, Statement,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Status};

use crate::backends::{Outbound, Reference, check_references};
use crate::errors::{Error, Violations};

/// One kind of resource another service looks up by name in a batch.
pub trait Resource {
    /// The message a found resource comes back as (e.g. `chancery_proto::actors::v1::Actor`).
    type Found: Send + 'static;
    /// The RPC, as errors name it: `"BatchGetActors"`.
    const METHOD: &'static str;
    /// The owning service, as errors name it: `"the actors service"`.
    const SERVICE: &'static str;
    /// One `BatchGet…(names, allow_missing = true)` on `client`'s channel, with `timeout` as
    /// the request's deadline (`grpc-timeout`): the found resources and the missing names.
    /// Adds no local timeout (a backend that never answers is bounded only by the channel's
    /// own timeouts); [`Lookup::batch_get`] adds one.
    fn batch_get(
        client: LookupClient,
        names: Vec<String>,
        timeout: Duration,
    ) -> impl Future<Output = Result<(Vec<Self::Found>, Vec<String>), Status>> + Send;
}

/// What a [`Resource::batch_get`] call is made on: a backend's [`Outbound`] channel, the
/// largest answer it may decode (tonic's default, 4 MiB, when unset), and the encoding answers
/// are asked for in (none when unset).
#[derive(Debug, Clone)]
pub struct LookupClient {
    channel: Outbound,
    max_decoding_message_size: Option<usize>,
    accept_compressed: Option<CompressionEncoding>,
}

impl LookupClient {
    /// Calls on `channel`, with tonic's default decode limit.
    pub fn new(channel: Outbound) -> Self {
        Self {
            channel,
            max_decoding_message_size: None,
            accept_compressed: None,
        }
    }

    /// The same client, decoding answers of up to `bytes` (as the generated clients'
    /// `max_decoding_message_size`).
    pub fn max_decoding_message_size(mut self, bytes: usize) -> Self {
        self.max_decoding_message_size = Some(bytes);
        self
    }

    /// The channel calls are made on.
    pub fn channel(&self) -> &Outbound {
        &self.channel
    }

    /// The decode limit, when one was set.
    pub fn decoding_limit(&self) -> Option<usize> {
        self.max_decoding_message_size
    }
}

/// The request of a batch get: `message` with `timeout` as its deadline.
fn with_deadline<T>(message: T, timeout: Duration) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(timeout);
    request
}

/// Declares a [`Resource`]: its marker type, and its `batch_get` on the generated client.
macro_rules! resource {
    (
        $(#[$doc:meta])*
        $kind:ident {
            found: $found:ty,
            method: $method:literal,
            service: $service:literal,
            client: $client:ident,
            rpc: $rpc:ident($request:ident) -> $field:ident,
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub enum $kind {}

        impl Resource for $kind {
            type Found = $found;
            const METHOD: &'static str = $method;
            const SERVICE: &'static str = $service;

            async fn batch_get(
                client: LookupClient,
                names: Vec<String>,
                timeout: Duration,
            ) -> Result<(Vec<$found>, Vec<String>), Status> {
                let mut grpc = $client::new(client.channel);
                if let Some(bytes) = client.max_decoding_message_size {
                    grpc = grpc.max_decoding_message_size(bytes);
                }
                if let Some(encoding) = client.accept_compressed {
                    grpc = grpc.accept_compressed(encoding);
                }
                let request = with_deadline(
                    $request {
                        names,
                        allow_missing: true,
                    },
                    timeout,
                );
                let response = grpc.$rpc(request).await?.into_inner();
                Ok((response.$field, response.missing_names))
            }
        }
    };
}

resource! {
    /// Actors, looked up in the actors service with `BatchGetActors`.
    Actors {
        found: Actor,
        method: "BatchGetActors",
        service: "the actors service",
        client: ActorServiceClient,
        rpc: batch_get_actors(BatchGetActorsRequest) -> actors,
    }
}

resource! {
    /// Communications, looked up in the communications service with `BatchGetCommunications`.
    Communications {
        found: Communication,
        method: "BatchGetCommunications",
        service: "the communications service",
        client: CommunicationServiceClient,
        rpc: batch_get_communications(BatchGetCommunicationsRequest) -> communications,
    }
}

resource! {
    /// Statements, looked up in the statements service with `BatchGetStatements`.
    Statements {
        found: Statement,
        method: "BatchGetStatements",
        service: "the statements service",
        client: StatementServiceClient,
        rpc: batch_get_statements(BatchGetStatementsRequest) -> statements,
    }
}

resource! {
    /// Source documents, looked up in the statements service with `BatchGetSourceDocuments`.
    SourceDocuments {
        found: SourceDocument,
        method: "BatchGetSourceDocuments",
        service: "the statements service",
        client: StatementServiceClient,
        rpc: batch_get_source_documents(BatchGetSourceDocumentsRequest) -> source_documents,
    }
}

/// Batch look-ups on one backend: its outbound channel (trace context, metrics, breaker,
/// service credential: whatever the [`Outbound`] carries), the caller's deadline, a decode
/// limit. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Lookup {
    channel: Outbound,
    timeout: Duration,
    max_decoding_message_size: Option<usize>,
    accept_compressed: Option<CompressionEncoding>,
}

impl Lookup {
    /// Look-ups on `channel` that must be answered within `timeout` (usually
    /// [`call_timeout`](crate::backends::call_timeout) of the incoming request).
    pub fn new(channel: Outbound, timeout: Duration) -> Self {
        Self {
            channel,
            timeout,
            max_decoding_message_size: None,
            accept_compressed: None,
        }
    }

    /// The same look-ups, decoding answers of up to `bytes` (tonic's default is 4 MiB).
    pub fn max_decoding_message_size(mut self, bytes: usize) -> Self {
        self.max_decoding_message_size = Some(bytes);
        self
    }

    /// The same look-ups, asking for answers compressed with `encoding` when it is set (see
    /// [`crate::compression`]); uncompressed answers are still read.
    pub fn accept_compressed(mut self, encoding: Option<CompressionEncoding>) -> Self {
        self.accept_compressed = encoding;
        self
    }

    /// How long each call may take: the deadline it is sent with, and the local bound on it.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The client a [`Resource::batch_get`] call is made on: this look-up's channel and
    /// decode limit.
    pub fn client(&self) -> LookupClient {
        LookupClient {
            channel: self.channel.clone(),
            max_decoding_message_size: self.max_decoding_message_size,
            accept_compressed: self.accept_compressed,
        }
    }

    /// The found resources and the missing names of `names`, in one call. DEADLINE_EXCEEDED
    /// `"{METHOD} did not answer within {timeout:?}"` when no answer comes in time (the bound
    /// also covers a connection whose handshake never completes); any other failure is the
    /// backend's status. No names means no call.
    pub async fn batch_get<R: Resource>(
        &self,
        names: Vec<String>,
    ) -> Result<(Vec<R::Found>, Vec<String>), Status> {
        if names.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let timeout = self.timeout;
        // The request carries the deadline once a connection is up; this bound also covers a
        // connection that never completes its handshake. It is started first and polled first,
        // so when the channel's own timer (set from the same deadline) expires in the same
        // instant, the answer is still this DEADLINE_EXCEEDED rather than the channel's
        // UNAVAILABLE.
        let expired = tokio::time::sleep(timeout);
        let call = R::batch_get(self.client(), names, timeout);
        tokio::select! {
            biased;
            () = expired => Err(Status::deadline_exceeded(format!(
                "{} did not answer within {timeout:?}",
                R::METHOD
            ))),
            answer = call => answer,
        }
    }

    /// Only the names of `names` that do not exist, in one call; fails as [`Lookup::batch_get`].
    pub async fn missing<R: Resource>(&self, names: Vec<String>) -> Result<Vec<String>, Status> {
        Ok(self.batch_get::<R>(names).await?.1)
    }

    /// One violation per reference to a missing resource, with one [`Lookup::missing`] call
    /// for the distinct names (none when there is nothing to check); see [`check_references`]
    /// for how failures become errors naming [`Resource::SERVICE`].
    pub async fn check<R: Resource>(&self, references: &[Reference]) -> Result<Violations, Error> {
        check_references(references, R::SERVICE, |names| self.missing::<R>(names)).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use chancery_proto::actors::v1::actor_service_server::{ActorService, ActorServiceServer};
    use chancery_proto::actors::v1::{
        BatchGetActorsResponse, CreateActorRequest, CreatePostRequest, CreateTenureRequest,
        DeleteActorRequest, DeletePostRequest, DeleteTenureRequest, GetActorRequest,
        GetPostRequest, GetTenureRequest, ListActorsRequest, ListActorsResponse, ListPostsRequest,
        ListPostsResponse, ListTenuresRequest, ListTenuresResponse, Post, ResolveOfficesRequest,
        ResolveOfficesResponse, Tenure, UpdateActorRequest, UpdatePostRequest, UpdateTenureRequest,
    };
    use tokio::net::TcpListener;
    use tonic::service::Routes;
    use tonic::{Code, Response};

    use super::*;
    use crate::backends::{lazy_channel, outbound};
    use crate::config::ServerConfig;
    use crate::layers::parse_grpc_timeout;

    /// What the stand-in actors service was asked: the names and the deadline of each call.
    type Calls = Arc<Mutex<Vec<(Vec<String>, Option<Duration>)>>>;

    /// A stand-in for the actors service: it knows some actors (each with a long description,
    /// to test decode limits) and records every `BatchGetActors`; every other RPC is
    /// UNIMPLEMENTED.
    #[derive(Debug, Clone, Default)]
    struct FakeActors {
        known: Arc<HashSet<String>>,
        calls: Calls,
    }

    impl FakeActors {
        fn knowing(names: &[&str]) -> Self {
            Self {
                known: Arc::new(names.iter().map(|n| (*n).to_owned()).collect()),
                calls: Calls::default(),
            }
        }

        fn calls(&self) -> Vec<(Vec<String>, Option<Duration>)> {
            self.calls.lock().unwrap().clone()
        }
    }

    /// Implements `ActorService` on [`FakeActors`]: `batch_get_actors` answers, the listed
    /// methods are UNIMPLEMENTED.
    macro_rules! fake_actor_service {
        ($($method:ident($request:ty) -> $response:ty),* $(,)?) => {
            #[tonic::async_trait]
            impl ActorService for FakeActors {
                async fn batch_get_actors(
                    &self,
                    request: Request<BatchGetActorsRequest>,
                ) -> Result<Response<BatchGetActorsResponse>, Status> {
                    let (metadata, _, request) = request.into_parts();
                    if !request.allow_missing {
                        return Err(Status::invalid_argument("look-ups ask with allow_missing"));
                    }
                    let deadline = metadata
                        .get("grpc-timeout")
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_grpc_timeout);
                    self.calls.lock().unwrap().push((request.names.clone(), deadline));
                    let (found, missing): (Vec<String>, Vec<String>) =
                        request.names.into_iter().partition(|n| self.known.contains(n));
                    let actors = found
                        .into_iter()
                        .map(|name| Actor {
                            display_name: format!("the actor {name}"),
                            description: "x".repeat(1000),
                            name,
                            ..Actor::default()
                        })
                        .collect();
                    Ok(Response::new(BatchGetActorsResponse {
                        actors,
                        missing_names: missing,
                    }))
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

    fake_actor_service!(
        get_actor(GetActorRequest) -> Actor,
        list_actors(ListActorsRequest) -> ListActorsResponse,
        create_actor(CreateActorRequest) -> Actor,
        update_actor(UpdateActorRequest) -> Actor,
        delete_actor(DeleteActorRequest) -> (),
        create_post(CreatePostRequest) -> Post,
        get_post(GetPostRequest) -> Post,
        list_posts(ListPostsRequest) -> ListPostsResponse,
        update_post(UpdatePostRequest) -> Post,
        delete_post(DeletePostRequest) -> (),
        create_tenure(CreateTenureRequest) -> Tenure,
        get_tenure(GetTenureRequest) -> Tenure,
        list_tenures(ListTenuresRequest) -> ListTenuresResponse,
        update_tenure(UpdateTenureRequest) -> Tenure,
        delete_tenure(DeleteTenureRequest) -> (),
        resolve_offices(ResolveOfficesRequest) -> ResolveOfficesResponse,
    );

    fn channel_to(addr: SocketAddr) -> Outbound {
        outbound(lazy_channel(&format!("http://{addr}").parse().unwrap()))
    }

    /// The stand-in, served on a free port of 127.0.0.1.
    async fn serve(actors: &FakeActors) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routes = Routes::new(ActorServiceServer::new(actors.clone()));
        tokio::spawn(async move {
            let config = ServerConfig::new(addr);
            crate::server::serve(
                listener,
                &config,
                routes,
                &["chancery.actors.v1.ActorService"],
                std::future::pending(),
            )
            .await
        });
        addr
    }

    /// A port that accepts connections and never says a word (no HTTP/2 handshake, no answer).
    async fn silent() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        addr
    }

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[tokio::test]
    async fn one_call_answers_found_and_missing_within_the_deadline() {
        let actors = FakeActors::knowing(&["actors/a", "actors/c"]);
        let lookup = Lookup::new(channel_to(serve(&actors).await), Duration::from_secs(3));
        assert_eq!(lookup.timeout(), Duration::from_secs(3));
        let (found, missing) = lookup
            .batch_get::<Actors>(names(&["actors/a", "actors/b", "actors/c"]))
            .await
            .unwrap();
        let found: Vec<_> = found.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(found, ["actors/a", "actors/c"]);
        assert_eq!(missing, ["actors/b"]);
        let calls = actors.calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].0, ["actors/a", "actors/b", "actors/c"]);
        let deadline = calls[0].1.expect("the call carries a deadline");
        assert!(
            deadline <= Duration::from_secs(3) && deadline > Duration::from_secs(2),
            "{deadline:?}"
        );

        let missing = lookup
            .missing::<Actors>(names(&["actors/c", "actors/d"]))
            .await
            .unwrap();
        assert_eq!(missing, ["actors/d"]);
        assert_eq!(actors.calls().len(), 2);

        let nothing = lookup.batch_get::<Actors>(Vec::new()).await.unwrap();
        assert!(nothing.0.is_empty() && nothing.1.is_empty());
        assert_eq!(actors.calls().len(), 2, "no names, no call");
    }

    #[tokio::test]
    async fn check_asks_once_for_the_distinct_names_and_names_the_fields() {
        let actors = FakeActors::knowing(&["actors/a"]);
        let lookup = Lookup::new(channel_to(serve(&actors).await), Duration::from_secs(3));
        let references = vec![
            Reference::new("s.speaker", "actors/b"),
            Reference::new("s.addressees[0]", "actors/a"),
            Reference::new("s.addressees[1]", "actors/b"),
        ];
        let violations = lookup.check::<Actors>(&references).await.unwrap();
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["s.speaker", "s.addressees[1]"]);
        assert_eq!(
            violations.iter().next().unwrap().description,
            "actors/b does not exist"
        );
        let calls = actors.calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].0, ["actors/a", "actors/b"]);

        assert!(lookup.check::<Actors>(&[]).await.unwrap().is_empty());
        assert_eq!(actors.calls().len(), 1, "nothing to check, no call");
    }

    #[tokio::test]
    async fn a_backend_that_never_answers_is_deadline_exceeded_in_time() {
        let timeout = Duration::from_millis(200);
        let lookup = Lookup::new(channel_to(silent().await), timeout);
        let started = Instant::now();
        let status = lookup
            .batch_get::<Actors>(names(&["actors/a"]))
            .await
            .unwrap_err();
        let elapsed = started.elapsed();
        assert_eq!(status.code(), Code::DeadlineExceeded);
        assert_eq!(
            status.message(),
            "BatchGetActors did not answer within 200ms"
        );
        // Well before the channel's own connect timeout (2 s) could end the call.
        assert!(
            elapsed >= timeout && elapsed < Duration::from_secs(1),
            "{elapsed:?}"
        );

        let references = [Reference::new("s.speaker", "actors/a")];
        match lookup.check::<Actors>(&references).await.unwrap_err() {
            Error::DependencyUnavailable { service, cause } => {
                assert_eq!(service, "the actors service");
                assert!(cause.contains("did not answer within"), "{cause}");
            }
            other => panic!("expected DependencyUnavailable, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_decode_limit_applies_to_the_answer() {
        let actors = FakeActors::knowing(&["actors/a"]);
        let addr = serve(&actors).await;
        let small =
            Lookup::new(channel_to(addr), Duration::from_secs(3)).max_decoding_message_size(100);
        assert_eq!(small.client().decoding_limit(), Some(100));
        let status = small
            .batch_get::<Actors>(names(&["actors/a"]))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
        let large = small.max_decoding_message_size(1 << 20);
        let (found, _) = large
            .batch_get::<Actors>(names(&["actors/a"]))
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
    }

    /// Handlers run their look-ups on tonic's multi-threaded runtime: the futures must be Send.
    #[tokio::test]
    async fn look_up_futures_are_send() {
        fn send<T: Send>(value: T) -> T {
            value
        }
        let lookup = Lookup::new(channel_to(silent().await), Duration::from_millis(1));
        let references = [Reference::new("s.document", "sourceDocuments/d")];
        let _ = send(lookup.check::<SourceDocuments>(&references)).await;
        let _ = send(lookup.batch_get::<Communications>(names(&["communications/c"]))).await;
        let _ = send(lookup.missing::<Statements>(names(&["statements/s"]))).await;
        drop(send(Actors::batch_get(
            lookup.client(),
            Vec::new(),
            lookup.timeout(),
        )));
    }

    #[test]
    fn resources_name_their_rpc_and_service() {
        assert_eq!(
            (Actors::METHOD, Actors::SERVICE),
            ("BatchGetActors", "the actors service")
        );
        assert_eq!(
            (Communications::METHOD, Communications::SERVICE),
            ("BatchGetCommunications", "the communications service")
        );
        assert_eq!(
            (Statements::METHOD, Statements::SERVICE),
            ("BatchGetStatements", "the statements service")
        );
        assert_eq!(
            (SourceDocuments::METHOD, SourceDocuments::SERVICE),
            ("BatchGetSourceDocuments", "the statements service")
        );
    }
}
