//! Logging: `RUST_LOG` filters (default `info`), `CHANCERY_LOG_FORMAT` picks pretty or JSON lines.
//! Lines go to standard output, coloured (ANSI) only when it is a terminal and `NO_COLOR` is unset
//! or empty ([`use_color`]). Fields are recorded as plain values (an absent value is empty, a
//! list is comma-separated: [`optional`], [`list`]), never as Rust's `Debug` forms.
//!
//! With the `otlp` cargo feature (off by default) and `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are
//! also exported over OTLP/gRPC by a batch exporter, under the service name `OTEL_SERVICE_NAME`
//! (default: the binary's name). Each RPC's `rpc` span continues the incoming `traceparent`, so the
//! exported spans carry the trace id the logs and outgoing calls carry. [`shutdown`] flushes them.

use std::ffi::OsStr;
use std::fmt;
use std::io::IsTerminal as _;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;

/// Installs the global subscriber. Safe to call more than once (later calls do nothing), which
/// matters when several services share one process or one test binary.
pub fn init(format: LogFormat) {
    #[cfg(feature = "otlp")]
    init_with_otlp(format, otlp::OtlpConfig::from_env());
    #[cfg(not(feature = "otlp"))]
    let _ = subscriber(format).try_init();
}

/// The registry with the filter and the fmt layer, as [`init`] installs it.
fn subscriber(
    format: LogFormat,
) -> impl tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a> + Send + Sync {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let color = use_color(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stdout)
        .with_ansi(color)
        .with_target(true);
    let fmt = match format {
        LogFormat::Pretty => fmt.boxed(),
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
    };
    tracing_subscriber::registry().with(filter).with(fmt)
}

/// Whether log lines get ANSI colours: only when the output is a terminal, and never when
/// `NO_COLOR` holds a value (<https://no-color.org>: any non-empty value turns colour off).
pub fn use_color(output_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    output_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

/// A log field's value that may be absent: the value's `Display`, or nothing at all (never
/// `Some(…)` / `None`). Record it with `%`: `address = %telemetry::optional(&addr)`.
pub fn optional<T: fmt::Display>(value: &Option<T>) -> impl fmt::Display + '_ {
    Optional(value)
}

struct Optional<'a, T>(&'a Option<T>);

impl<T: fmt::Display> fmt::Display for Optional<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(value) => value.fmt(f),
            None => Ok(()),
        }
    }
}

/// A list as a log field's value: the items' `Display`, separated by `", "` (no brackets, no
/// quotes). Record it with `%`: `services = %telemetry::list(names)`.
pub fn list<I>(items: I) -> impl fmt::Display
where
    I: IntoIterator + Clone,
    I::Item: fmt::Display,
{
    List(items)
}

struct List<I>(I);

impl<I> fmt::Display for List<I>
where
    I: IntoIterator + Clone,
    I::Item: fmt::Display,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, item) in self.0.clone().into_iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            item.fmt(f)?;
        }
        Ok(())
    }
}

/// Flushes and stops the OTLP exporter, if [`init`] installed one; does nothing otherwise (and
/// always without the `otlp` feature). Call it once, as the process ends. The flush runs on a
/// blocking thread, so the runtime keeps driving the export while it waits.
pub async fn shutdown() {
    #[cfg(feature = "otlp")]
    if tokio::task::spawn_blocking(otlp::shutdown).await.is_err() {
        tracing::warn!("OTLP exporter shutdown panicked: some spans may be lost");
    }
}

/// [`init`] with the OTLP settings given rather than read from the environment: with an
/// endpoint, spans are exported there. Later calls do nothing.
#[cfg(feature = "otlp")]
pub fn init_with_otlp(format: LogFormat, config: otlp::OtlpConfig) {
    let Some(endpoint) = config.endpoint else {
        let _ = subscriber(format).try_init();
        return;
    };
    match otlp::provider(&endpoint, config.service_name) {
        Ok(provider) => {
            use opentelemetry::trace::TracerProvider as _;
            let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("chancery"));
            if subscriber(format).with(layer).try_init().is_ok() {
                otlp::keep(provider);
            } else {
                let _ = provider.shutdown();
            }
        }
        Err(error) => {
            let _ = subscriber(format).try_init();
            tracing::error!(%error, %endpoint, "OTLP exporter not started: spans are not exported");
        }
    }
}

/// Makes `span` (an RPC's) a child of the trace context the RPC carries, so the exported span has
/// the trace id the logs show. Without an incoming parent the context's own span id stands in.
#[cfg(feature = "otlp")]
pub(crate) fn set_parent(span: &tracing::Span, trace: &crate::trace_context::TraceContext) {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let parent = SpanContext::new(
        TraceId::from_bytes(trace.trace_id),
        SpanId::from_bytes(trace.parent_id.unwrap_or(trace.span_id)),
        TraceFlags::new(trace.flags),
        true,
        TraceState::default(),
    );
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::net::SocketAddr;

    use super::{list, optional, use_color};

    #[test]
    fn colour_only_on_a_terminal_and_never_with_no_color() {
        assert!(use_color(true, None));
        assert!(
            use_color(true, Some(OsStr::new(""))),
            "an empty NO_COLOR is unset"
        );
        assert!(!use_color(true, Some(OsStr::new("1"))));
        assert!(
            !use_color(true, Some(OsStr::new("false"))),
            "any value counts"
        );
        assert!(!use_color(false, None), "a file or a pipe gets no escapes");
        assert!(!use_color(false, Some(OsStr::new("1"))));
    }

    #[test]
    fn fields_are_plain_values() {
        let addr: Option<SocketAddr> = Some(([127, 0, 0, 1], 8080).into());
        assert_eq!(optional(&addr).to_string(), "127.0.0.1:8080");
        assert_eq!(optional::<SocketAddr>(&None).to_string(), "");
        let names = ["chancery.actors.v1.ActorService", "grpc.health.v1.Health"];
        assert_eq!(
            list(&names).to_string(),
            "chancery.actors.v1.ActorService, grpc.health.v1.Health"
        );
        assert_eq!(list(Vec::<String>::new().iter()).to_string(), "");
    }
}

/// The OTLP exporter's settings and lifetime.
#[cfg(feature = "otlp")]
pub mod otlp {
    use std::sync::Mutex;

    use opentelemetry_sdk::trace::SdkTracerProvider;

    /// Where spans go and under which service name.
    #[derive(Debug, Clone, Default)]
    pub struct OtlpConfig {
        /// The collector's gRPC endpoint (`http://host:4317`); `None` exports nothing.
        pub endpoint: Option<String>,
        /// The `service.name` resource attribute.
        pub service_name: String,
    }

    impl OtlpConfig {
        /// `OTEL_EXPORTER_OTLP_ENDPOINT` (unset or empty: no export) and `OTEL_SERVICE_NAME`
        /// (default: the binary's file name, else `chancery`).
        pub fn from_env() -> Self {
            let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
            let service_name = var("OTEL_SERVICE_NAME").unwrap_or_else(|| {
                std::env::current_exe()
                    .ok()
                    .and_then(|exe| exe.file_stem()?.to_str().map(str::to_owned))
                    .unwrap_or_else(|| "chancery".to_owned())
            });
            Self {
                endpoint: var("OTEL_EXPORTER_OTLP_ENDPOINT"),
                service_name,
            }
        }
    }

    static PROVIDER: Mutex<Option<SdkTracerProvider>> = Mutex::new(None);

    pub(super) fn provider(
        endpoint: &str,
        service_name: String,
    ) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
        use opentelemetry_otlp::WithExportConfig as _;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(service_name)
            .build();
        Ok(SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build())
    }

    pub(super) fn keep(provider: SdkTracerProvider) {
        *PROVIDER.lock().unwrap_or_else(|e| e.into_inner()) = Some(provider);
    }

    pub(super) fn shutdown() {
        let provider = PROVIDER.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(provider) = provider
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "OTLP exporter shutdown failed: some spans may be lost");
        }
    }
}
