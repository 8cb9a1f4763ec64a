//! The gRPC server every service runs: its routes plus `grpc.health.v1.Health` and server
//! reflection (v1 and v1alpha, since grpcurl 1.8 speaks only v1alpha), behind the admission
//! layer, with a graceful shutdown.
//!
//! Shutdown: when `shutdown` resolves, health turns NOT_SERVING (overall and per service), the
//! server keeps serving for `shutdown_delay` so load balancers can notice, then stops accepting
//! connections and lets in-flight RPCs finish for at most `drain_timeout`; connections still open
//! then are closed. The log says which of the two happened.
//!
//! Every RPC but health and reflection goes through the observe layer (trace context, span,
//! metrics) and then the admission layer. With `metrics_listen` set, a Prometheus endpoint
//! (`GET /metrics`) serves on that address for as long as the server runs, drain included.

use std::future::Future;

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;

use crate::config::ServerConfig;
use crate::layers::{AdmissionLayer, ObserveLayer};

/// Name of the health service, as probes and grpcurl call it.
pub const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

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
}

/// Stops the metrics server when dropped, so it stops with the gRPC server on every path.
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
pub async fn serve(
    listener: TcpListener,
    config: &ServerConfig,
    routes: Routes,
    service_names: &[&'static str],
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let _metrics = match config.metrics_listen {
        Some(address) => {
            let listener = crate::metrics::bind(address).await?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(crate::metrics::serve(listener, async {
                let _ = stopped.await;
            }));
            MetricsServer(Some(stop))
        }
        None => MetricsServer(None),
    };

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_service_status("", ServingStatus::Serving).await;
    for name in service_names {
        health
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }

    let reflection = || {
        // Both reflection versions are served, so each one advertises (and describes) both.
        let mut builder = tonic_reflection::server::Builder::configure()
            .include_reflection_service(false)
            .register_encoded_file_descriptor_set(chancery_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
            .with_service_name(HEALTH_SERVICE)
            .with_service_name("grpc.reflection.v1.ServerReflection")
            .with_service_name("grpc.reflection.v1alpha.ServerReflection");
        for name in service_names {
            builder = builder.with_service_name(*name);
        }
        builder
    };
    // Operators may switch reflection off (CHANCERY_REFLECTION=false); health stays either way.
    let (reflection_v1alpha, reflection_v1) = if config.reflection {
        (
            Some(reflection().build_v1alpha()?),
            Some(reflection().build_v1()?),
        )
    } else {
        (None, None)
    };

    let local_addr = listener.local_addr().ok();
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = Server::builder()
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(std::time::Duration::from_secs(10)))
        .max_concurrent_streams(Some(256))
        .layer(ObserveLayer::for_services(service_names))
        .layer(AdmissionLayer::new(
            config.max_concurrent_requests,
            config.request_timeout,
        ))
        .add_routes(routes)
        .add_service(health_service)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(incoming, async {
            let _ = stopped.await;
        });
    let mut server = tokio::spawn(server);
    tracing::info!(address = ?local_addr, services = ?service_names, "serving");

    tokio::select! {
        result = &mut server => return Ok(result??),
        () = shutdown => {}
    }

    tracing::info!("shutdown started: health is NOT_SERVING");
    health
        .set_service_status("", ServingStatus::NotServing)
        .await;
    for name in service_names {
        health
            .set_service_status(*name, ServingStatus::NotServing)
            .await;
    }
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
            tracing::warn!(drain_timeout = ?config.drain_timeout, "drain timed out: closed the connections still open");
        }
    }
    Ok(())
}
