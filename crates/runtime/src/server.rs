//! The gRPC server every service runs: its routes plus `grpc.health.v1.Health` and server
//! reflection (v1 and v1alpha, since grpcurl 1.8 speaks only v1alpha), behind the admission
//! layer, with a graceful shutdown.
//!
//! Health: the overall status `""` is liveness (SERVING until shutdown); each service's own name
//! is readiness, which [`serve_with_readiness`] makes follow the service's database (see
//! [`crate::readiness`]).
//!
//! Shutdown: when `shutdown` resolves, health turns NOT_SERVING (overall and per service), the
//! server keeps serving for `shutdown_delay` so load balancers can notice, then stops accepting
//! connections and lets in-flight RPCs finish for at most `drain_timeout`; connections still open
//! then are closed. The log says which of the two happened. Idle connections are told to go
//! away (HTTP/2 GOAWAY) and do not hold the drain, nor do connections whose client has not sent
//! a byte yet: they are closed with the listener (see `spoken_connections`).
//!
//! Every RPC but health and reflection goes through the observe layer (trace context, span,
//! metrics), then access control (bearer tokens, see [`crate::auth`]; health is open,
//! reflection is a read) and then the admission layer. With `metrics_listen` set, a Prometheus endpoint
//! (`GET /metrics`) serves on that address for as long as the server runs, drain included.
//!
//! With a certificate in [`ServerConfig::tls`] the listener speaks TLS only (and with a client
//! CA, mutual TLS; see [`crate::tls`]). With `health_listen` set, a second, plaintext listener
//! serves `grpc.health.v1.Health` only, with the same statuses (one reporter), for as long as
//! the server runs, drain included: kubelet probes cannot speak TLS.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::codegen::http;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::{Code, Status};
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_reflection::pb::v1::server_reflection_server::ServerReflectionServer as ReflectionV1;
use tonic_reflection::pb::v1alpha::server_reflection_server::ServerReflectionServer as ReflectionV1alpha;

use crate::auth::AuthLayer;
use crate::compression::Compressed;
use crate::config::ServerConfig;
use crate::layers::{AdmissionLayer, ObserveLayer};

/// Name of the health service, as probes and grpcurl call it.
pub const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

/// Most streams (RPCs) one HTTP/2 connection may have open at once, advertised to clients as
/// `SETTINGS_MAX_CONCURRENT_STREAMS`; a client queues the rest.
pub const MAX_CONCURRENT_STREAMS: u32 = 256;

/// Largest header list (a request's metadata, after HPACK decoding, with 32 bytes of overhead
/// per entry) accepted, in bytes, advertised as `SETTINGS_MAX_HEADER_LIST_SIZE`; a larger one
/// is refused without reaching a handler.
pub const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;

/// Streams a client may open and reset before the server has accepted them; one more and the
/// connection is closed with GOAWAY (the HTTP/2 rapid reset attack, CVE-2023-44487).
pub const MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;

/// Streams the server may reset for protocol errors on one connection before closing it with
/// GOAWAY (bounds the work a misbehaving client can cause).
pub const MAX_LOCAL_ERROR_RESET_STREAMS: usize = 1024;

/// Idle time after which the server PINGs a connection to check the client is still there.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// How long the server waits for the answer to a keepalive PING before closing the connection.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers two refusals tonic makes before a handler runs with the code the gRPC specification
/// gives them, keeping tonic's message:
///
/// - a request message over the service's limit (tonic: OUT_OF_RANGE, "decoded message length
///   too large: found N bytes, the limit is: L bytes") → RESOURCE_EXHAUSTED;
/// - request bytes that are not a valid encoding of the request message (tonic: INTERNAL,
///   "failed to decode Protobuf message: …") → INVALID_ARGUMENT, since the client sent them.
///
/// Both arrive as trailers-only responses, so only the response headers are looked at; every
/// other response passes untouched.
fn client_errors_as_client_codes<B: Default>(response: http::Response<B>) -> http::Response<B> {
    let code = match response.headers().get("grpc-status").map(|v| v.as_bytes()) {
        Some(b"11") => Code::ResourceExhausted,
        Some(b"13") => Code::InvalidArgument,
        _ => return response,
    };
    let Some(status) = Status::from_header_map(response.headers()) else {
        return response;
    };
    let refused = match code {
        Code::ResourceExhausted => status
            .message()
            .contains("decoded message length too large"),
        _ => status
            .message()
            .starts_with("failed to decode Protobuf message"),
    };
    if !refused {
        return response;
    }
    let (parts, body) = response.into_parts();
    let (mut mapped, _) = Status::new(code, status.message())
        .into_http::<B>()
        .into_parts();
    mapped.extensions = parts.extensions;
    http::Response::from_parts(mapped, body)
}

/// Why a server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The transport failed.
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The reflection descriptors could not be loaded.
    #[error("cannot build reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The server task panicked.
    #[error("gRPC server task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The metrics listener could not be bound.
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    /// An RPC of the descriptor set declares no access (`option (chancery.common.v1.access)`),
    /// so the auth layer could not tell whether it reads or writes.
    #[error(
        "these RPCs declare no access (add `option (chancery.common.v1.access) = ACCESS_READ;` or ACCESS_WRITE beside each in proto/): {0}"
    )]
    UndeclaredAccess(String),
    /// The plaintext health listener (`CHANCERY_HEALTH_LISTEN`) could not be bound.
    #[error("cannot listen for health checks on {address}: {source}")]
    HealthListen {
        /// The address asked for.
        address: std::net::SocketAddr,
        /// Why binding failed.
        source: std::io::Error,
    },
}

/// Stops a side server (metrics, plaintext health) when dropped, so it stops with the gRPC
/// server on every path.
struct MetricsServer(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for MetricsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.0.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `routes` (the services named `service_names`, such as
/// `chancery.actors.v1.ActorService`) on `listener` until `shutdown` resolves, then drains.
/// Readiness does not follow a database: see [`serve_with_readiness`].
pub async fn serve(
    listener: TcpListener,
    config: &ServerConfig,
    routes: Routes,
    service_names: &[&'static str],
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    serve_with_readiness(listener, config, routes, service_names, None, shutdown).await
}

/// [`serve`], with the health status of each of `service_names` (readiness) following
/// `database` while the server runs: NOT_SERVING while it does not answer, SERVING again when
/// it does (see [`crate::readiness`]). The overall status `""` (liveness) stays SERVING until
/// shutdown.
pub async fn serve_with_readiness(
    listener: TcpListener,
    config: &ServerConfig,
    routes: Routes,
    service_names: &[&'static str],
    database: Option<crate::db::Database>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let gate = crate::readiness::ReadyGate::open();
    serve_behind_gate(
        listener,
        config,
        routes,
        service_names,
        database,
        gate,
        shutdown,
    )
    .await
}

/// [`serve_with_readiness`], with health (overall and per service) NOT_SERVING until `gate`
/// opens, while RPCs are already served; SERVING from then on, readiness following `database`
/// (see [`crate::readiness::ReadyGate`]). `chancery up --demo` serves behind one until the
/// demo is imported.
pub async fn serve_behind_gate(
    listener: TcpListener,
    config: &ServerConfig,
    routes: Routes,
    service_names: &[&'static str],
    database: Option<crate::db::Database>,
    gate: crate::readiness::ReadyGate,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    refuse_undeclared_access()?;
    let _metrics = start_metrics(config).await?;
    for name in service_names {
        crate::metrics::record_build_info(crate::layers::short_service_name(name));
    }

    let (health, health_service) = tonic_health::server::health_reporter();
    let health_service = health_service.compressed();
    let readiness =
        crate::readiness::start(gate, health.clone(), service_names.to_vec(), database).await;
    let _health_port = start_health_port(config, health_service.clone()).await?;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (server, local_addr) = grpc_server(
        listener,
        config,
        routes,
        service_names,
        health_service,
        stopped,
    )?;
    let mut server = tokio::spawn(server);
    tracing::info!(
        address = %crate::telemetry::optional(&local_addr),
        services = %crate::telemetry::list(service_names),
        tls = config.tls.describe(),
        health_listen = %crate::telemetry::optional(&config.health_listen),
        "serving"
    );

    tokio::select! {
        result = &mut server => return Ok(result??),
        () = shutdown => {}
    }
    drain(server, stop, &health, readiness, config, service_names).await
}

/// Refuses to start when an RPC of the descriptor set declares no access: the auth layer could
/// not tell whether it reads or writes.
fn refuse_undeclared_access() -> Result<(), ServeError> {
    let undeclared = crate::auth::rpcs_without_access();
    if undeclared.is_empty() {
        Ok(())
    } else {
        Err(ServeError::UndeclaredAccess(undeclared.join(", ")))
    }
}

/// The `/metrics` endpoint on `config.metrics_listen`, when set; it stops when the returned
/// guard is dropped.
async fn start_metrics(config: &ServerConfig) -> Result<MetricsServer, ServeError> {
    let Some(address) = config.metrics_listen else {
        return Ok(MetricsServer(None));
    };
    let listener = crate::metrics::bind(address).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(crate::metrics::serve(listener, async {
        let _ = stopped.await;
    }));
    Ok(MetricsServer(Some(stop)))
}

/// Sets the overall status `""` and that of each of `service_names` to `status`.
async fn set_health(
    health: &tonic_health::server::HealthReporter,
    service_names: &[&'static str],
    status: ServingStatus,
) {
    health.set_service_status("", status).await;
    for name in service_names {
        health.set_service_status(*name, status).await;
    }
}

/// Plaintext, health only, same statuses, on `config.health_listen` when set: for probes that
/// cannot speak TLS (kubelet's). It stops when the returned guard is dropped.
async fn start_health_port<H: Health>(
    config: &ServerConfig,
    health_service: HealthServer<H>,
) -> Result<MetricsServer, ServeError> {
    let Some(address) = config.health_listen else {
        return Ok(MetricsServer(None));
    };
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::HealthListen { address, source })?;
    // Reflection describing health alone, so `grpcurl -plaintext host:port
    // grpc.health.v1.Health/Check` works here whether or not the gRPC port wants tokens.
    let (reflection_v1alpha, reflection_v1) =
        reflection_servers(config.reflection, health_reflection)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(
        Server::builder()
            .add_service(health_service)
            .add_optional_service(reflection_v1)
            .add_optional_service(reflection_v1alpha)
            .serve_with_incoming_shutdown(
                spoken_connections(listener, FIRST_BYTES_TIMEOUT),
                async {
                    let _ = stopped.await;
                },
            ),
    );
    Ok(MetricsServer(Some(stop)))
}

/// The reflection service (either version) describing every Chancery file, health, reflection
/// itself, and the services of `service_names`. Both reflection versions are served, so each
/// one advertises (and describes) both.
fn reflection(service_names: &[&'static str]) -> tonic_reflection::server::Builder<'static> {
    let mut builder = tonic_reflection::server::Builder::configure()
        .include_reflection_service(false)
        .register_encoded_file_descriptor_set(chancery_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
        .with_service_name(HEALTH_SERVICE)
        .with_service_name("grpc.reflection.v1.ServerReflection")
        .with_service_name("grpc.reflection.v1alpha.ServerReflection");
    for name in service_names {
        builder = builder.with_service_name(*name);
    }
    builder
}

/// The reflection service of the plaintext health port: health and reflection only, no API.
fn health_reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .include_reflection_service(false)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
        .with_service_name(HEALTH_SERVICE)
        .with_service_name("grpc.reflection.v1.ServerReflection")
        .with_service_name("grpc.reflection.v1alpha.ServerReflection")
}

/// Reflection v1alpha and v1 built from `builder` (answering compressed when asked), or
/// neither when `on` is false (`CHANCERY_REFLECTION=false`).
#[allow(clippy::type_complexity)]
fn reflection_servers(
    on: bool,
    builder: impl Fn() -> tonic_reflection::server::Builder<'static>,
) -> Result<
    (
        Option<ReflectionV1alpha<impl tonic_reflection::server::v1alpha::ServerReflection>>,
        Option<ReflectionV1<impl tonic_reflection::server::v1::ServerReflection>>,
    ),
    ServeError,
> {
    if !on {
        return Ok((None, None));
    }
    Ok((
        Some(builder().build_v1alpha()?.compressed()),
        Some(builder().build_v1()?.compressed()),
    ))
}

/// The main gRPC server on `listener`, not yet started: `routes`, health and (unless
/// `config.reflection` is off) reflection, behind the observe, auth and admission layers, with
/// TLS when configured; it stops accepting and drains once `stopped` fires. Also the address
/// it listens on, for the log.
fn grpc_server<H: Health>(
    listener: TcpListener,
    config: &ServerConfig,
    routes: Routes,
    service_names: &[&'static str],
    health_service: HealthServer<H>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) -> Result<
    (
        impl Future<Output = Result<(), tonic::transport::Error>> + Send + use<H>,
        Option<std::net::SocketAddr>,
    ),
    ServeError,
> {
    // Operators may switch reflection off (CHANCERY_REFLECTION=false); health stays either way.
    let (reflection_v1alpha, reflection_v1) =
        reflection_servers(config.reflection, || reflection(service_names))?;

    AuthLayer::log_startup(&config.auth);
    let local_addr = listener.local_addr().ok();
    let incoming = spoken_connections(listener, FIRST_BYTES_TIMEOUT);
    // gRPC-Web (when configured) needs HTTP/1.1 on this port too; see crate::grpc_web.
    let mut builder = Server::builder().accept_http1(config.grpc_web.is_some());
    if let Some(tls) = config.tls.server() {
        builder = builder.tls_config(tls)?;
    }
    let server = builder
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        .max_concurrent_streams(Some(MAX_CONCURRENT_STREAMS))
        .http2_max_header_list_size(Some(MAX_HEADER_LIST_BYTES))
        .http2_max_pending_accept_reset_streams(Some(MAX_PENDING_ACCEPT_RESET_STREAMS))
        .http2_max_local_error_reset_streams(Some(MAX_LOCAL_ERROR_RESET_STREAMS))
        // Outermost: CORS, then gRPC-Web calls become gRPC calls every layer below sees.
        .layer(tower::util::option_layer(
            config.grpc_web.as_ref().map(crate::grpc_web::layer),
        ))
        .layer(ObserveLayer::for_services(service_names))
        // After observe (refusals are counted and logged), before admission and the handlers
        // (a request without a valid token is refused before anything looks at it).
        .layer(AuthLayer::new(&config.auth))
        .layer(AdmissionLayer::new(
            config.max_concurrent_requests,
            config.request_timeout,
        ))
        .layer(tower::util::MapResponseLayer::new(
            client_errors_as_client_codes::<tonic::body::Body>,
        ))
        .add_routes(routes)
        .add_service(health_service)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(incoming, async {
            let _ = stopped.await;
        });
    Ok((server, local_addr))
}

/// The graceful shutdown of a running server: readiness stops following the database, health
/// turns NOT_SERVING, `config.shutdown_delay` passes (so load balancers notice), then `stop`
/// tells the server to stop accepting and in-flight requests get `config.drain_timeout` to
/// finish before the connections still open are closed.
async fn drain(
    mut server: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
    stop: tokio::sync::oneshot::Sender<()>,
    health: &tonic_health::server::HealthReporter,
    readiness: Option<crate::readiness::Watcher>,
    config: &ServerConfig,
    service_names: &[&'static str],
) -> Result<(), ServeError> {
    // Stopped first, so it cannot turn a draining server ready again.
    if let Some(readiness) = readiness {
        readiness.stop().await;
    }
    tracing::info!("shutdown started: health is NOT_SERVING");
    set_health(health, service_names, ServingStatus::NotServing).await;
    if !config.shutdown_delay.is_zero() {
        tokio::time::sleep(config.shutdown_delay).await;
    }
    let _ = stop.send(());
    match tokio::time::timeout(config.drain_timeout, &mut server).await {
        Ok(result) => {
            result??;
            tracing::info!("drain finished: every in-flight request completed");
        }
        Err(_) => {
            server.abort();
            tracing::warn!(
                drain_timeout_ms = config.drain_timeout.as_millis() as u64,
                "drain timed out: closed the connections still open"
            );
        }
    }
    Ok(())
}

/// Longest a client may stay silent after connecting: a connection that has not sent its first
/// bytes by then is closed, so idle sockets cannot pile up (a slow-loris of silent connections).
pub const FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(10);

/// The connections of `listener` whose client has sent at least one byte (an HTTP/2 client
/// sends its connection preface first), with `TCP_NODELAY`. A connection enters the server only
/// once its client has spoken, so one that connects and stays silent (no request can be in
/// flight on it) never holds up a drain: it is closed when the server stops accepting, which is
/// when the server drops this stream (and with it the listener, so new connections are refused),
/// or when it has said nothing for `first_bytes_within`.
fn spoken_connections(
    listener: TcpListener,
    first_bytes_within: Duration,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> + Send + 'static {
    let (spoken, connections) = tokio::sync::mpsc::channel::<std::io::Result<_>>(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = spoken.closed() => return,
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Such as too many open files: wait a little rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let spoken = spoken.clone();
            tokio::spawn(async move {
                let mut first = [0_u8; 1];
                tokio::select! {
                    () = spoken.closed() => {}
                    () = tokio::time::sleep(first_bytes_within) => {}
                    peeked = stream.peek(&mut first) => {
                        if matches!(peeked, Ok(n) if n > 0) {
                            let _ = spoken.send(Ok(stream)).await;
                        }
                    }
                }
            });
        }
    });
    futures::stream::unfold(connections, |mut connections| async move {
        connections
            .recv()
            .await
            .map(|connection| (connection, connections))
    })
}

#[cfg(test)]
mod spoken_connections_tests {
    use std::time::Duration;

    use futures::StreamExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::time::timeout;

    use super::spoken_connections;

    #[tokio::test]
    async fn only_connections_that_spoke_enter_and_the_silent_ones_close_with_the_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut connections = Box::pin(spoken_connections(listener, Duration::from_secs(60)));
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut speaking = TcpStream::connect(addr).await.unwrap();
        speaking.write_all(b"PRI").await.unwrap();

        let mut entered = timeout(Duration::from_secs(2), connections.next())
            .await
            .expect("the speaking connection enters")
            .expect("a connection")
            .expect("accepted");
        assert_eq!(entered.peer_addr().unwrap(), speaking.local_addr().unwrap());
        let mut first = [0_u8; 3];
        entered.read_exact(&mut first).await.unwrap();
        assert_eq!(
            &first, b"PRI",
            "the server still reads what the client sent"
        );
        assert!(
            timeout(Duration::from_millis(200), connections.next())
                .await
                .is_err(),
            "the silent connection does not enter"
        );

        // The server stops accepting: the silent connection is closed, new ones are refused.
        drop(connections);
        let mut buffer = [0_u8; 1];
        let read = timeout(Duration::from_secs(2), silent.read(&mut buffer))
            .await
            .expect("the silent connection is closed, not left open");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        let mut refused = false;
        for _ in 0..100 {
            if TcpStream::connect(addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(refused, "the listener is closed");
    }

    #[tokio::test]
    async fn a_connection_silent_past_the_first_bytes_timeout_is_closed() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut connections = Box::pin(spoken_connections(listener, Duration::from_millis(200)));
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut buffer = [0_u8; 1];
        let read = timeout(Duration::from_secs(3), silent.read(&mut buffer))
            .await
            .expect("the silent connection is closed while the server keeps accepting");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        // The server still accepts, and a client that speaks in time enters.
        let mut speaking = TcpStream::connect(addr).await.unwrap();
        speaking.write_all(b"PRI").await.unwrap();
        timeout(Duration::from_secs(2), connections.next())
            .await
            .expect("a speaking connection enters")
            .expect("a connection")
            .expect("accepted");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(code: Code, message: &str) -> http::Response<tonic::body::Body> {
        Status::new(code, message).into_http()
    }

    fn status_of(response: &http::Response<tonic::body::Body>) -> Status {
        Status::from_header_map(response.headers()).expect("a grpc-status header")
    }

    #[test]
    fn an_oversized_request_is_resource_exhausted_with_the_limit_in_the_message() {
        let message = "Error, decoded message length too large: found 4194400 bytes, the limit is: 4194304 bytes";
        let status = status_of(&client_errors_as_client_codes(refusal(
            Code::OutOfRange,
            message,
        )));
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.message(), message);
    }

    #[test]
    fn undecodable_request_bytes_are_invalid_argument() {
        let message = "failed to decode Protobuf message: invalid wire type value: 7";
        let status = status_of(&client_errors_as_client_codes(refusal(
            Code::Internal,
            message,
        )));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), message);
    }

    #[test]
    fn other_responses_pass_untouched() {
        for (code, message) in [
            (Code::Internal, "database unavailable"),
            (Code::OutOfRange, "page_size out of range"),
            (Code::InvalidArgument, "failed to decode Protobuf message"),
        ] {
            let status = status_of(&client_errors_as_client_codes(refusal(code, message)));
            assert_eq!((status.code(), status.message()), (code, message));
        }
        let ok = http::Response::new(tonic::body::Body::default());
        assert!(client_errors_as_client_codes(ok).headers().is_empty());
    }
}
