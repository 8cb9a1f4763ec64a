//! What every Chancery service shares, written once: typed configuration from the environment,
//! tracing, the gRPC server with health, reflection, admission control and graceful shutdown,
//! the database connection with embedded migrations, error helpers that map to rich
//! `tonic::Status`es, validated page tokens, resource names, fuzzy dates and search folding.
//!
//! # Layout
//!
//! - [`auth`]: bearer tokens: who may call, reads vs writes, the service's own credential.
//! - [`backends`]: channels to other services, deadlines, one-call reference checks.
//! - [`lookup`]: typed batch look-ups by name in another service (found and missing, in one
//!   `BatchGet…` call within the caller's deadline).
//! - [`breaker`]: the circuit breaker of calls to one backend (fail fast while it is down).
//! - [`compression`]: gzip and zstd on every server; compressed answers from backends.
//! - [`config`]: one typed struct read from `CHANCERY_*` variables; bad values name the variable.
//! - [`telemetry`]: `RUST_LOG` filtering and `CHANCERY_LOG_FORMAT` (pretty or JSON).
//! - [`server`]: [`server::serve`] runs a service's routes with health, reflection v1 and v1alpha,
//!   the admission layer and a bounded drain on shutdown.
//! - [`grpc_web`]: gRPC-Web for browsers (tonic-web) and its CORS allow-list.
//! - [`layers`]: the tower layers that shed load and enforce deadlines, and that give every RPC
//!   its trace context, span and metrics.
//! - [`metrics`]: the Prometheus registry, its text format, and the `/metrics` HTTP server
//!   (`CHANCERY_METRICS_LISTEN`).
//! - [`trace_context`]: W3C `traceparent` parsing and propagation.
//! - [`shutdown`]: SIGTERM / SIGINT as a future.
//! - [`db`]: SQLite or PostgreSQL through one `AnyPool`, migrations run at start-up.
//! - [`idempotency`]: request ids that make creates safe to retry.
//! - [`errors`]: field violations and the canonical-code constructors every service maps to.
//! - [`readiness`]: health per service follows the database (readiness), `""` stays liveness.
//! - [`page_token`]: opaque, integrity-checked keyset cursors bound to the query that made them.
//! - [`names`]: resource names, id syntax, generated ids, request ids.
//! - [`fuzzy_date`]: EDTF parsing into precision and bounds.
//! - [`text`]: case- and accent-folding for name search, and text field checks.
//! - [`tls`]: TLS and mutual TLS of the listener and of calls to other services (rustls).

pub mod auth;
pub mod backends;
pub mod breaker;
pub mod compression;
pub mod config;
pub mod db;
pub mod errors;
pub mod fuzzy_date;
pub mod grpc_web;
pub mod idempotency;
pub mod layers;
pub mod lookup;
pub mod metrics;
pub mod names;
pub mod page_token;
pub mod readiness;
pub mod server;
pub mod shutdown;
pub mod telemetry;
pub mod text;
pub mod time;
pub mod tls;
pub mod trace_context;
