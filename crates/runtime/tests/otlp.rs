//! OTLP trace export (the `otlp` feature): one RPC served with a known `traceparent` reaches a
//! fake collector as a span of that trace. Telemetry is global, so this binary holds one test.
#![cfg(feature = "otlp")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chancery_runtime::config::{LogFormat, ServerConfig};
use chancery_runtime::telemetry::{self, otlp::OtlpConfig};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// Keeps every export request it receives.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rpc_span_is_exported_with_the_incoming_trace_id() {
    // The fake collector.
    let collector = Collector::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_addr = listener.local_addr().unwrap();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(incoming),
    );

    telemetry::init_with_otlp(
        LogFormat::Pretty,
        OtlpConfig {
            endpoint: Some(format!("http://{collector_addr}")),
            service_name: "otlp-test".to_owned(),
        },
    );

    // A Chancery server; any service does, so it serves a (second, silent) TraceService.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut config = ServerConfig::new(addr);
    config.drain_timeout = Duration::from_secs(5);
    let server = tokio::spawn(async move {
        chancery_runtime::server::serve(
            listener,
            &config,
            Routes::new(TraceServiceServer::new(Collector::default())),
            &["opentelemetry.proto.collector.trace.v1.TraceService"],
            async {
                let _ = stopped.await;
            },
        )
        .await
    });

    let mut client = TraceServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let mut request = Request::new(ExportTraceServiceRequest::default());
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-{PARENT_ID}-01").parse().unwrap(),
    );
    client.export(request).await.expect("the RPC succeeds");
    drop(client);
    let _ = stop.send(());
    server.await.unwrap().unwrap();

    // Flushes the batch exporter: the span is at the collector when this returns.
    telemetry::shutdown().await;

    let received = collector.0.lock().unwrap().clone();
    let spans: Vec<_> = received
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    let rpc = spans
        .iter()
        .find(|s| s.name == "rpc")
        .unwrap_or_else(|| panic!("no rpc span among {} exported", spans.len()));
    assert_eq!(hex(&rpc.trace_id), TRACE_ID);
    assert_eq!(hex(&rpc.parent_span_id), PARENT_ID);
    let service_name = received[0].resource_spans[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|a| a.key == "service.name")
        .and_then(|a| a.value.clone())
        .expect("service.name");
    assert!(format!("{service_name:?}").contains("otlp-test"));
}
