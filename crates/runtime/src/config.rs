//! Configuration from the environment, in one typed struct per process.
//!
//! Every variable has a default that works on a laptop. A process reads only the variables it
//! uses; a bad value stops start-up with `invalid configuration: CHANCERY_LISTEN: …` and exit
//! code 64 (`EX_USAGE`).

use std::net::SocketAddr;
use std::time::Duration;

/// `host:port` the gRPC server listens on.
pub const LISTEN: &str = "CHANCERY_LISTEN";
/// `sqlite://PATH` (created if missing), `sqlite::memory:`, or `postgres://…`.
pub const DATABASE_URL: &str = "CHANCERY_DATABASE_URL";
/// `pretty` (default) or `json`.
pub const LOG_FORMAT: &str = "CHANCERY_LOG_FORMAT";
/// Longest a graceful shutdown waits for in-flight requests, such as `20s`.
pub const DRAIN_TIMEOUT: &str = "CHANCERY_DRAIN_TIMEOUT";
/// How long the server keeps serving, reporting NOT_SERVING, before it stops accepting
/// connections on shutdown; lets load balancers notice first. Such as `5s`; default `0s`.
pub const SHUTDOWN_DELAY: &str = "CHANCERY_SHUTDOWN_DELAY";
/// Longest any one request may run, whatever deadline the client sent, such as `30s`.
pub const REQUEST_TIMEOUT: &str = "CHANCERY_REQUEST_TIMEOUT";
/// Requests served at once; beyond it new requests fail fast with RESOURCE_EXHAUSTED.
pub const MAX_CONCURRENT_REQUESTS: &str = "CHANCERY_MAX_CONCURRENT_REQUESTS";

/// `host:port` of the Prometheus metrics HTTP server (`GET /metrics`); unset, none is started.
pub const METRICS_LISTEN: &str = "CHANCERY_METRICS_LISTEN";

/// URI of the actors service, such as `http://actors:50052`.
pub const ACTORS_ADDR: &str = "CHANCERY_ACTORS_ADDR";
/// URI of the communications service, such as `http://communications:50053`.
pub const COMMUNICATIONS_ADDR: &str = "CHANCERY_COMMUNICATIONS_ADDR";
/// URI of the statements service, such as `http://statements:50054`.
pub const STATEMENTS_ADDR: &str = "CHANCERY_STATEMENTS_ADDR";

/// `true` (default) or `false`: whether server reflection is served. Health stays on either way.
pub const REFLECTION: &str = "CHANCERY_REFLECTION";

/// Path of the tokens file (a mounted Secret): `<role> <principal> <token>` per line, role
/// `reader` or `writer`. Unset: authentication is off and every start logs a warning.
pub const TOKENS_FILE: &str = "CHANCERY_TOKENS_FILE";
/// `true` or `false` (default): whether read RPCs are allowed without a token when
/// authentication is on. Writes always need a writer token.
pub const OPEN_READS: &str = "CHANCERY_OPEN_READS";
/// Path of a file holding the token this service sends on its calls to other services.
pub const SERVICE_TOKEN_FILE: &str = "CHANCERY_SERVICE_TOKEN_FILE";

/// Path of the PEM certificate chain the gRPC listener serves (and presents to other services
/// as its client certificate); set with [`TLS_KEY`], the listener speaks TLS only.
pub const TLS_CERT: &str = "CHANCERY_TLS_CERT";
/// Path of the PEM private key of [`TLS_CERT`]; both or neither.
pub const TLS_KEY: &str = "CHANCERY_TLS_KEY";
/// Path of a PEM CA bundle: clients must present a certificate it signed (mutual TLS).
pub const TLS_CLIENT_CA: &str = "CHANCERY_TLS_CLIENT_CA";
/// Path of a PEM CA bundle that `https://` backends' certificates are verified against.
pub const TLS_CA: &str = "CHANCERY_TLS_CA";
/// `host:port` of a second, plaintext listener serving only `grpc.health.v1.Health` (for
/// kubelet probes when the gRPC listener speaks TLS); unset, none is started.
pub const HEALTH_LISTEN: &str = "CHANCERY_HEALTH_LISTEN";
/// `gzip`, `zstd` or `none` (default): whether the gateway asks the services it composes for
/// compressed answers (see [`crate::compression`]).
pub const BACKEND_COMPRESSION: &str = "CHANCERY_BACKEND_COMPRESSION";
/// Comma-separated web origins (`https://app.example.org,http://localhost:5173`) whose pages
/// may call a gRPC-Web listener from a browser, or `*` for any; unset, none (see
/// [`crate::grpc_web`]). Read by the gateway only.
pub const CORS_ALLOWED_ORIGINS: &str = "CHANCERY_CORS_ALLOWED_ORIGINS";

/// Exit code for a bad configuration (`EX_USAGE` of sysexits.h).
pub const EXIT_CONFIG: i32 = 64;

/// A variable with a bad value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {variable}: {problem}")]
pub struct ConfigError {
    /// The variable's name.
    pub variable: &'static str,
    /// What is wrong with its value.
    pub problem: String,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, for terminals.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Settings of the gRPC server every service runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Longest the drain on shutdown may take.
    pub drain_timeout: Duration,
    /// How long NOT_SERVING is reported before the listener closes.
    pub shutdown_delay: Duration,
    /// Longest one request may run.
    pub request_timeout: Duration,
    /// Requests admitted at once.
    pub max_concurrent_requests: usize,
    /// Where the Prometheus metrics server listens; `None` (the default) starts none.
    pub metrics_listen: Option<SocketAddr>,
    /// Whether server reflection (v1 and v1alpha) is served; on by default.
    pub reflection: bool,
    /// Access control: who may call, and the token sent to other services; off by default.
    pub auth: crate::auth::AuthConfig,
    /// TLS of the listener and of calls to other services; off by default.
    pub tls: crate::tls::TlsConfig,
    /// Where the plaintext health-only listener listens; `None` (the default) starts none.
    pub health_listen: Option<SocketAddr>,
    /// Whether answers from the services this one calls are asked for compressed; none by
    /// default.
    pub backend_compression: crate::compression::BackendCompression,
    /// gRPC-Web (HTTP/1.1 beside HTTP/2) and its CORS allow-list; `None` (the default): gRPC
    /// over HTTP/2 only. The composition root sets it for the gateway.
    pub grpc_web: Option<crate::grpc_web::GrpcWebConfig>,
}

impl ServerConfig {
    /// Defaults for a server on `listen`.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            drain_timeout: Duration::from_secs(20),
            shutdown_delay: Duration::ZERO,
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 512,
            metrics_listen: None,
            reflection: true,
            auth: crate::auth::AuthConfig::default(),
            tls: crate::tls::TlsConfig::default(),
            health_listen: None,
            backend_compression: crate::compression::BackendCompression::None,
            grpc_web: None,
        }
    }
}

/// What one data service needs: its server, its database and its log format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// The gRPC server.
    pub server: ServerConfig,
    /// Where the service keeps its data.
    pub database_url: String,
    /// How log lines are written.
    pub log_format: LogFormat,
}

/// A service's defaults: its port and its SQLite file under `./data`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceDefaults {
    /// Default port, such as 50052 for actors.
    pub port: u16,
    /// Default database URL, such as `sqlite://data/actors.db`.
    pub database_url: &'static str,
}

/// Reads variables through a lookup function, so tests need not touch the process environment.
pub struct Env<F: Fn(&str) -> Option<String>> {
    lookup: F,
}

impl Env<fn(&str) -> Option<String>> {
    /// The process environment. A variable that is set but empty counts as unset.
    pub fn process() -> Self {
        Env {
            lookup: |name| std::env::var(name).ok().filter(|v| !v.is_empty()),
        }
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// An environment backed by `lookup`.
    pub fn from_lookup(lookup: F) -> Self {
        Env { lookup }
    }

    /// The raw value of a variable, if set.
    pub fn raw(&self, variable: &str) -> Option<String> {
        (self.lookup)(variable)
    }

    /// Parses a variable with `parse`, or returns `default` when it is unset.
    pub fn parse_or<T>(
        &self,
        variable: &'static str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match self.raw(variable) {
            None => Ok(default),
            Some(value) => parse(value.trim()).map_err(|problem| ConfigError { variable, problem }),
        }
    }

    /// Reads the server settings, listening on `default_port` of 127.0.0.1 unless told otherwise.
    pub fn server(&self, default_port: u16) -> Result<ServerConfig, ConfigError> {
        let defaults = ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], default_port)));
        Ok(ServerConfig {
            listen: self.parse_or(LISTEN, defaults.listen, parse_socket_addr)?,
            drain_timeout: self.parse_or(DRAIN_TIMEOUT, defaults.drain_timeout, parse_duration)?,
            shutdown_delay: self.parse_or(
                SHUTDOWN_DELAY,
                defaults.shutdown_delay,
                parse_duration,
            )?,
            request_timeout: self.parse_or(REQUEST_TIMEOUT, defaults.request_timeout, |v| {
                parse_duration(v).and_then(|d| {
                    if d.is_zero() {
                        Err("must be more than zero".into())
                    } else {
                        Ok(d)
                    }
                })
            })?,
            max_concurrent_requests: self.parse_or(
                MAX_CONCURRENT_REQUESTS,
                defaults.max_concurrent_requests,
                |v| match v.parse::<usize>() {
                    Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
                    _ => Err(format!(
                        "must be a whole number from 1 to 1000000 (got {v:?})"
                    )),
                },
            )?,
            metrics_listen: self
                .parse_or(METRICS_LISTEN, None, |v| parse_socket_addr(v).map(Some))?,
            reflection: self.parse_or(REFLECTION, defaults.reflection, |v| match v {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(format!("must be `true` or `false` (got {other:?})")),
            })?,
            auth: self.auth()?,
            tls: self.tls()?,
            health_listen: self
                .parse_or(HEALTH_LISTEN, None, |v| parse_socket_addr(v).map(Some))?,
            backend_compression: self.parse_or(
                BACKEND_COMPRESSION,
                defaults.backend_compression,
                crate::compression::BackendCompression::parse,
            )?,
            grpc_web: None,
        })
    }

    /// Reads the gRPC-Web settings ([`CORS_ALLOWED_ORIGINS`]) of a server that speaks it.
    pub fn grpc_web(&self) -> Result<crate::grpc_web::GrpcWebConfig, ConfigError> {
        Ok(crate::grpc_web::GrpcWebConfig {
            allowed_origins: self.parse_or(
                CORS_ALLOWED_ORIGINS,
                crate::grpc_web::AllowedOrigins::None,
                crate::grpc_web::AllowedOrigins::parse,
            )?,
        })
    }

    /// Reads the TLS settings; the files named are read (and checked) now.
    pub fn tls(&self) -> Result<crate::tls::TlsConfig, ConfigError> {
        use crate::tls::{PemFile, TlsConfig, TlsIdentity};
        use std::path::Path;
        match (self.raw(TLS_CERT).is_some(), self.raw(TLS_KEY).is_some()) {
            (true, false) => {
                return Err(ConfigError {
                    variable: TLS_KEY,
                    problem: format!("must be set when {TLS_CERT} is (both or neither)"),
                });
            }
            (false, true) => {
                return Err(ConfigError {
                    variable: TLS_CERT,
                    problem: format!("must be set when {TLS_KEY} is (both or neither)"),
                });
            }
            _ => {}
        }
        let cert = self.parse_or(TLS_CERT, None, |v| {
            PemFile::certificates(Path::new(v)).map(Some)
        })?;
        let key = self.parse_or(TLS_KEY, None, |v| {
            PemFile::private_key(Path::new(v)).map(Some)
        })?;
        let identity = match cert.zip(key) {
            Some((cert, key)) => {
                Some(TlsIdentity::new(cert, key).map_err(|problem| ConfigError {
                    variable: TLS_KEY,
                    problem,
                })?)
            }
            None => None,
        };
        let client_ca = self.parse_or(TLS_CLIENT_CA, None, |v| {
            PemFile::certificates(Path::new(v)).map(Some)
        })?;
        if client_ca.is_some() && identity.is_none() {
            return Err(ConfigError {
                variable: TLS_CLIENT_CA,
                problem: format!(
                    "needs {TLS_CERT} and {TLS_KEY}: client certificates are checked on a TLS listener only"
                ),
            });
        }
        let ca = self.parse_or(TLS_CA, None, |v| {
            PemFile::certificates(Path::new(v)).map(Some)
        })?;
        Ok(TlsConfig {
            identity,
            client_ca,
            ca,
        })
    }

    /// Reads the access control settings; the files named are read (and checked) now.
    pub fn auth(&self) -> Result<crate::auth::AuthConfig, ConfigError> {
        use crate::auth::{Credentials, ServiceToken};
        use std::path::Path;
        Ok(crate::auth::AuthConfig {
            credentials: self.parse_or(TOKENS_FILE, None, |v| {
                Credentials::load(Path::new(v)).map(Some)
            })?,
            open_reads: self.parse_or(OPEN_READS, false, |v| match v {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(format!("must be `true` or `false` (got {other:?})")),
            })?,
            service_token: self.parse_or(SERVICE_TOKEN_FILE, None, |v| {
                ServiceToken::load(Path::new(v)).map(Some)
            })?,
        })
    }

    /// Reads the URI of another service from `variable`, defaulting to `default`.
    pub fn backend(
        &self,
        variable: &'static str,
        default: &str,
    ) -> Result<tonic::transport::Uri, ConfigError> {
        let default = default.parse().map_err(|_| ConfigError {
            variable,
            problem: format!("bad default {default:?}"),
        })?;
        let uri = self.parse_or(variable, default, parse_backend_uri)?;
        if uri.scheme_str() == Some("https") && self.raw(TLS_CA).is_none() {
            return Err(ConfigError {
                variable,
                problem: format!(
                    "https:// needs {TLS_CA}, the CA bundle the service's certificate is verified against"
                ),
            });
        }
        Ok(uri)
    }

    /// Reads the log format.
    pub fn log_format(&self) -> Result<LogFormat, ConfigError> {
        self.parse_or(LOG_FORMAT, LogFormat::Pretty, |v| match v {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("must be `pretty` or `json` (got {other:?})")),
        })
    }

    /// Reads everything a data service needs.
    pub fn service(&self, defaults: ServiceDefaults) -> Result<ServiceConfig, ConfigError> {
        Ok(ServiceConfig {
            server: self.server(defaults.port)?,
            database_url: self.parse_or(
                DATABASE_URL,
                defaults.database_url.to_owned(),
                parse_database_url,
            )?,
            log_format: self.log_format()?,
        })
    }
}

/// Parses `host:port` (IP literals only; names need DNS the config step should not depend on).
pub fn parse_socket_addr(value: &str) -> Result<SocketAddr, String> {
    value.parse().map_err(|_| {
        format!("must be host:port with an IP address, such as 0.0.0.0:50052 (got {value:?})")
    })
}

/// Parses a duration written `250ms`, `20s`, `2m`, or a bare number of seconds.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let problem = || format!("must be a duration such as `500ms`, `20s` or `2m` (got {value:?})");
    let (digits, unit) = match value.find(|c: char| !c.is_ascii_digit()) {
        Some(index) => value.split_at(index),
        None => (value, "s"),
    };
    let amount: u64 = digits.parse().map_err(|_| problem())?;
    let duration = match unit {
        "ms" => Duration::from_millis(amount),
        "s" => Duration::from_secs(amount),
        "m" => Duration::from_secs(amount.checked_mul(60).ok_or_else(problem)?),
        _ => return Err(problem()),
    };
    if duration > Duration::from_secs(24 * 3600) {
        return Err(format!("must be at most 24h (got {value:?})"));
    }
    Ok(duration)
}

/// Parses the URI of another service: `http://host:port` (plaintext) or `https://host:port`
/// (TLS, verified against [`TLS_CA`], which [`Env::backend`] requires for it).
pub fn parse_backend_uri(value: &str) -> Result<tonic::transport::Uri, String> {
    let uri: tonic::transport::Uri = value
        .parse()
        .map_err(|_| format!("must be a URI such as http://actors:50052 (got {value:?})"))?;
    match (uri.scheme_str(), uri.host(), uri.port_u16()) {
        (Some("http" | "https"), Some(_), Some(_))
            if uri.path() == "/" || uri.path().is_empty() =>
        {
            Ok(uri)
        }
        _ => Err(format!(
            "must be http://host:port or https://host:port (got {value:?})"
        )),
    }
}

/// Checks a database URL's scheme: `sqlite:` or `postgres://` / `postgresql://`.
pub fn parse_database_url(value: &str) -> Result<String, String> {
    if value.starts_with("sqlite:")
        || value.starts_with("postgres://")
        || value.starts_with("postgresql://")
    {
        Ok(value.to_owned())
    } else {
        Err("must start with `sqlite:` or `postgres://`".to_owned())
    }
}

/// Prints a configuration error and exits with [`EXIT_CONFIG`]; for `main` functions.
pub fn exit_with(error: ConfigError) -> ! {
    eprintln!("{error}");
    std::process::exit(EXIT_CONFIG)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const ACTORS: ServiceDefaults = ServiceDefaults {
        port: 50052,
        database_url: "sqlite://data/actors.db",
    };

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Env::from_lookup(move |name| map.get(name).cloned())
    }

    #[test]
    fn defaults_work_on_a_laptop() {
        let config = env(&[]).service(ACTORS).unwrap();
        assert_eq!(config.server.listen, "127.0.0.1:50052".parse().unwrap());
        assert_eq!(config.database_url, "sqlite://data/actors.db");
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.server.metrics_listen, None);
        assert_eq!(
            config.server.backend_compression,
            crate::compression::BackendCompression::None
        );
        let zstd = env(&[(BACKEND_COMPRESSION, "zstd")])
            .service(ACTORS)
            .unwrap();
        assert_eq!(
            zstd.server.backend_compression,
            crate::compression::BackendCompression::Zstd
        );
    }

    #[test]
    fn values_are_read() {
        let config = env(&[
            (LISTEN, "0.0.0.0:6000"),
            (DATABASE_URL, "postgres://db/chancery"),
            (LOG_FORMAT, "json"),
            (DRAIN_TIMEOUT, "1500ms"),
            (SHUTDOWN_DELAY, "5"),
            (REQUEST_TIMEOUT, "2m"),
            (MAX_CONCURRENT_REQUESTS, "8"),
            (METRICS_LISTEN, "0.0.0.0:9090"),
        ])
        .service(ACTORS)
        .unwrap();
        assert_eq!(config.server.listen.port(), 6000);
        assert_eq!(config.server.drain_timeout, Duration::from_millis(1500));
        assert_eq!(config.server.shutdown_delay, Duration::from_secs(5));
        assert_eq!(config.server.request_timeout, Duration::from_secs(120));
        assert_eq!(config.server.max_concurrent_requests, 8);
        assert_eq!(
            config.server.metrics_listen,
            Some("0.0.0.0:9090".parse().unwrap())
        );
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn backend_addresses_are_http_uris_with_a_port() {
        let env = env(&[(ACTORS_ADDR, "http://actors:50052")]);
        assert_eq!(
            env.backend(ACTORS_ADDR, "http://127.0.0.1:1")
                .unwrap()
                .to_string(),
            "http://actors:50052/"
        );
        assert_eq!(
            env.backend(STATEMENTS_ADDR, "http://127.0.0.1:50054")
                .unwrap()
                .port_u16(),
            Some(50054)
        );
        for bad in [
            "actors:50052",
            "http://actors",
            "ftp://actors:1",
            "https://actors:50052",
            "http://a:1/x",
        ] {
            let error = self::env(&[(ACTORS_ADDR, bad)])
                .backend(ACTORS_ADDR, "http://127.0.0.1:1")
                .unwrap_err();
            assert_eq!(error.variable, ACTORS_ADDR, "{bad}");
        }
    }

    #[test]
    fn tls_files_come_in_pairs_and_https_backends_need_a_ca() {
        let error = env(&[(TLS_CERT, "/etc/tls/tls.crt")]).tls().unwrap_err();
        assert_eq!(error.variable, TLS_KEY, "{error}");
        let error = env(&[(TLS_KEY, "/etc/tls/tls.key")]).tls().unwrap_err();
        assert_eq!(error.variable, TLS_CERT, "{error}");
        let error = env(&[(TLS_CLIENT_CA, "/nonexistent/ca.crt")])
            .tls()
            .unwrap_err();
        assert_eq!(error.variable, TLS_CLIENT_CA, "{error}");
        assert!(error.problem.contains("/nonexistent/ca.crt"), "{error}");
        let error = env(&[(TLS_CA, "/nonexistent/ca.crt")]).tls().unwrap_err();
        assert_eq!(error.variable, TLS_CA, "{error}");
        assert_eq!(env(&[]).tls().unwrap(), crate::tls::TlsConfig::default());

        let error = env(&[(ACTORS_ADDR, "https://actors:50052")])
            .backend(ACTORS_ADDR, "http://127.0.0.1:1")
            .unwrap_err();
        assert_eq!(error.variable, ACTORS_ADDR);
        assert!(error.problem.contains(TLS_CA), "{error}");
        let uri = env(&[(ACTORS_ADDR, "https://actors:50052"), (TLS_CA, "/ca.crt")])
            .backend(ACTORS_ADDR, "http://127.0.0.1:1")
            .unwrap();
        assert_eq!(uri.to_string(), "https://actors:50052/");
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (variable, value) in [
            (LISTEN, "localhost"),
            (DATABASE_URL, "mysql://x"),
            (LOG_FORMAT, "xml"),
            (DRAIN_TIMEOUT, "soon"),
            (REQUEST_TIMEOUT, "0s"),
            (MAX_CONCURRENT_REQUESTS, "0"),
            (REFLECTION, "off"),
            (BACKEND_COMPRESSION, "brotli"),
            (METRICS_LISTEN, "9090"),
            (HEALTH_LISTEN, "8081"),
        ] {
            let error = env(&[(variable, value)]).service(ACTORS).unwrap_err();
            assert_eq!(error.variable, variable);
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("invalid configuration: {variable}: "))
            );
        }
    }
}
