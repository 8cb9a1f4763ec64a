//! What the client commands share: a connection to the gateway, and failures as a person reads
//! them, each with its exit status.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chancery_proto::gateway::v1::episode_service_client::EpisodeServiceClient;
use chancery_runtime::auth::{Bearer, ServiceToken};
use chancery_runtime::metrics::code_name;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Exit status for a request the gateway refused.
pub const EXIT_REFUSED: u8 = 1;
/// Exit status for bad arguments (`EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;
/// Exit status for a bundle file that is not a valid bundle (`EX_DATAERR`).
pub const EXIT_DATA: u8 = 65;
/// Exit status for a bundle file that cannot be read (`EX_NOINPUT`).
pub const EXIT_NO_INPUT: u8 = 66;
/// Exit status when the gateway cannot be reached (`EX_UNAVAILABLE`).
pub const EXIT_UNAVAILABLE: u8 = 69;
/// Exit status when the output cannot be written (`EX_CANTCREAT`).
pub const EXIT_CANNOT_WRITE: u8 = 73;

/// The variable naming the bearer token file of `import`, `export` and `view` when
/// `--token-file` is not given.
pub const TOKEN_FILE: &str = "CHANCERY_TOKEN_FILE";

/// A client of the gateway that sends the command's bearer token, if it has one.
pub type GatewayClient = EpisodeServiceClient<InterceptedService<Channel, Bearer>>;

/// The files of the TLS options of `import`, `export` and `view` (`--ca-file`, `--cert-file`,
/// `--key-file`), for an `https://` gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct TlsFiles {
    /// For an https:// gateway (required with one): the PEM CA bundle its certificate is
    /// verified against.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// With --key-file: the PEM client certificate to present, for a gateway that asks for one
    /// (mutual TLS).
    #[arg(long, value_name = "FILE", requires = "key_file")]
    pub cert_file: Option<PathBuf>,
    /// The PEM private key of --cert-file.
    #[arg(long, value_name = "FILE", requires = "cert_file")]
    pub key_file: Option<PathBuf>,
    /// The name the gateway's certificate must carry, when it differs from the --gateway host
    /// (through `kubectl port-forward`: --server-name gateway).
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
}

impl TlsFiles {
    /// The client TLS settings, the files read and checked; `None` without a CA file.
    /// EXIT_USAGE naming the option and file when one cannot be read or is not PEM.
    pub fn load(&self) -> Result<Option<ClientTlsConfig>, Failure> {
        use chancery_runtime::tls::PemFile;
        let bad = |option: &'static str| {
            move |problem: String| Failure::new(EXIT_USAGE, format!("{option}: {problem}"))
        };
        let Some(ca_file) = &self.ca_file else {
            return Ok(None);
        };
        let ca = PemFile::certificates(ca_file).map_err(bad("--ca-file"))?;
        let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca.pem()));
        if let (Some(cert_file), Some(key_file)) = (&self.cert_file, &self.key_file) {
            let cert = PemFile::certificates(cert_file).map_err(bad("--cert-file"))?;
            let key = PemFile::private_key(key_file).map_err(bad("--key-file"))?;
            config = config.identity(Identity::from_pem(cert.pem(), key.pem()));
        }
        if let Some(name) = &self.server_name {
            config = config.domain_name(name.clone());
        }
        Ok(Some(config))
    }
}

/// Longest wait for the connection to the gateway.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest message accepted from the gateway: an exported bundle can be large.
const MAX_MESSAGE_BYTES: usize = 4 * chancery_gateway::MAX_MESSAGE_BYTES;

/// Why a command failed: what to tell the person, and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The exit status, one of the `EXIT_*` constants.
    pub exit: u8,
    /// What went wrong, in one or more lines.
    pub message: String,
}

impl Failure {
    /// A failure with exit status `exit`.
    pub fn new(exit: u8, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    /// The gateway's answer to `what` (such as `import`) was an error.
    pub fn from_status(what: &str, status: &Status) -> Self {
        let exit = match status.code() {
            Code::Unavailable => EXIT_UNAVAILABLE,
            _ => EXIT_REFUSED,
        };
        let hint = match status.code() {
            Code::Unauthenticated => {
                " (send a token: --token-file FILE, or CHANCERY_TOKEN_FILE naming the file)"
            }
            Code::PermissionDenied => " (this needs a writer's token)",
            _ => "",
        };
        Self::new(exit, format!("{what} failed: {}{hint}", describe(status)))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A status as a person reads it: the code and message, then each field violation of its
/// `BadRequest` on its own line.
pub fn describe(status: &Status) -> String {
    let details = status.get_error_details();
    let violations = details
        .bad_request()
        .map(|bad| bad.field_violations.clone())
        .unwrap_or_default();
    if violations.is_empty() {
        return format!("{}: {}", code_name(status.code()), status.message());
    }
    let mut text = format!(
        "{}: the request has {} problem{}:",
        code_name(status.code()),
        violations.len(),
        if violations.len() == 1 { "" } else { "s" }
    );
    for violation in violations {
        text.push_str(&format!(
            "\n  {}: {}",
            violation.field, violation.description
        ));
    }
    text
}

/// The bearer token in `token_file`, else in the file [`TOKEN_FILE`] names, else none.
/// EXIT_USAGE when the file cannot be read or holds no valid token (never shown).
pub fn token(token_file: Option<&Path>) -> Result<Option<ServiceToken>, Failure> {
    let path = match token_file {
        Some(path) => path.to_owned(),
        None => match std::env::var_os(TOKEN_FILE).filter(|v| !v.is_empty()) {
            Some(path) => PathBuf::from(path),
            None => return Ok(None),
        },
    };
    ServiceToken::load(&path)
        .map(Some)
        .map_err(|problem| Failure::new(EXIT_USAGE, format!("bad token file: {problem}")))
}

/// A client of the gateway at `uri`, connected (over TLS with `tls` for an `https://` URI),
/// sending the token of `token_file` (see [`token`]); EXIT_UNAVAILABLE when it cannot be
/// reached (a refused handshake included).
pub async fn gateway(
    uri: &str,
    token_file: Option<&Path>,
    tls: &TlsFiles,
) -> Result<GatewayClient, Failure> {
    let token = token(token_file)?;
    let mut endpoint = Endpoint::from_shared(uri.to_owned())
        .map_err(|error| Failure::new(EXIT_USAGE, format!("bad gateway URI {uri:?}: {error}")))?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true);
    if let Some(config) = tls.load()? {
        endpoint = endpoint
            .tls_config(config)
            .map_err(|error| Failure::new(EXIT_USAGE, format!("bad TLS files: {error}")))?;
    }
    let channel = endpoint.connect().await.map_err(|error| {
        Failure::new(
            EXIT_UNAVAILABLE,
            format!(
                "cannot reach the gateway at {uri}: {error}{} (is it running? `chancery up` starts it; --gateway names another)",
                std::error::Error::source(&error)
                    .map(|cause| format!(": {cause}"))
                    .unwrap_or_default()
            ),
        )
    })?;
    Ok(EpisodeServiceClient::new(InterceptedService::new(
        channel,
        Bearer::new(token.as_ref()),
    ))
    .max_decoding_message_size(MAX_MESSAGE_BYTES)
    .max_encoding_message_size(chancery_gateway::MAX_MESSAGE_BYTES))
}

/// A request carrying `timeout` as its deadline.
pub fn request<T>(message: T, timeout: Duration) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(timeout);
    request
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_runtime::errors::{Violations, invalid_argument};

    #[test]
    fn statuses_read_as_code_message_and_one_line_per_problem() {
        assert_eq!(
            describe(&Status::not_found("episodes/x does not exist")),
            "NOT_FOUND: episodes/x does not exist"
        );
        let mut violations = Violations::default();
        violations.add("bundle.actors[3].name", "duplicates bundle.actors[1].name");
        violations.add("bundle.episode.title", "is required");
        assert_eq!(
            describe(&invalid_argument(&violations)),
            "INVALID_ARGUMENT: the request has 2 problems:\n  bundle.actors[3].name: duplicates bundle.actors[1].name\n  bundle.episode.title: is required"
        );
        let unavailable = Failure::from_status("view", &Status::unavailable("down"));
        assert_eq!(unavailable.exit, EXIT_UNAVAILABLE);
        assert_eq!(unavailable.message, "view failed: UNAVAILABLE: down");
        assert_eq!(
            Failure::from_status("view", &Status::internal("x")).exit,
            EXIT_REFUSED
        );
    }

    #[tokio::test]
    async fn an_unreachable_gateway_is_exit_69() {
        let failure = gateway("http://127.0.0.1:1", None, &TlsFiles::default())
            .await
            .unwrap_err();
        assert_eq!(failure.exit, EXIT_UNAVAILABLE);
        assert!(
            failure
                .message
                .contains("cannot reach the gateway at http://127.0.0.1:1")
        );
    }
}
