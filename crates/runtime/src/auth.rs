//! Access control with bearer tokens.
//!
//! - **Credentials** come from a tokens file (`CHANCERY_TOKENS_FILE`, a mounted Kubernetes
//!   Secret in a cluster): one `<role> <principal> <token>` per line, role `reader` or `writer`.
//!   Only SHA-256 digests of the tokens are kept in memory. The file is checked for changes
//!   (modification time and size) at most every [`RELOAD_CHECK_INTERVAL`], so a rotated Secret
//!   takes effect without a restart; a rotated file that does not parse is logged and the
//!   previous credentials stay in force.
//! - **Enforcement**: [`AuthLayer`] sits between the observe layer and the admission layer, so
//!   refusals are counted and logged like any RPC and come before any validation. Health is
//!   always open; reflection is a read. Reads are the RPCs whose verb is `Get`, `BatchGet`,
//!   `List`, `Resolve` or `Export`; every other RPC, an unknown verb included, is a write.
//!   Writes need a writer token; reads need a reader or writer token unless reads are open
//!   (`CHANCERY_OPEN_READS=true`). Without a tokens file everything is allowed, and every start
//!   logs a loud warning.
//! - **Service-to-service**: the token this service sends on its own calls to other services
//!   (`CHANCERY_SERVICE_TOKEN_FILE`) is put in scope by the layer for every RPC it serves;
//!   [`crate::backends::Outbound`] adds it to each call as `authorization: Bearer …`.
//!
//! Tokens never appear in logs or errors: statuses say only that a token is missing or
//! unknown, configuration errors name the file and line, and the `authorization` header is
//! removed from the request before the handlers see it.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};
use tonic::codegen::http;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use tower::{Layer, Service};

use crate::errors::ERROR_DOMAIN;

/// The request header that carries the credential.
pub const AUTHORIZATION: &str = "authorization";
/// The fewest characters a token may have.
pub const MIN_TOKEN_LEN: usize = 16;
/// How often, at most, the tokens file is checked for changes.
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// What a credential may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Calls read RPCs only.
    Reader,
    /// Calls every RPC.
    Writer,
}

impl Role {
    /// The role as the tokens file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
        }
    }
}

/// Who a credential belongs to: a short name for logs, and its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The name, such as `gateway` or `alice`.
    pub name: String,
    /// What it may do.
    pub role: Role,
}

/// The credentials of a tokens file: principals by the SHA-256 digest of their token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    path: PathBuf,
    /// Modification time and size of the file when read, to notice rotations.
    stamp: Option<(SystemTime, u64)>,
    by_digest: HashMap<[u8; 32], Principal>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("path", &self.path)
            .field("count", &self.by_digest.len())
            .finish()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `token` is acceptable as a token: at least [`MIN_TOKEN_LEN`] printable ASCII
/// characters, none of them a space.
fn token_problem(token: &str) -> Option<String> {
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        Some("the token must be printable ASCII without spaces".to_owned())
    } else if token.len() < MIN_TOKEN_LEN {
        Some(format!(
            "the token is too short: at least {MIN_TOKEN_LEN} characters"
        ))
    } else {
        None
    }
}

fn stamp_of(path: &Path) -> Option<(SystemTime, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

impl Credentials {
    /// Parses the text of a tokens file read from `path`. Errors name the file and the line,
    /// never a token.
    pub fn parse(path: &Path, text: &str) -> Result<Self, String> {
        let mut by_digest: HashMap<[u8; 32], Principal> = HashMap::new();
        let mut lines_of: HashMap<[u8; 32], usize> = HashMap::new();
        let at =
            |number: usize, problem: &str| format!("{}: line {number}: {problem}", path.display());
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [role, name, token] = fields[..] else {
                return Err(at(
                    number,
                    &format!(
                        "expected three fields `<role> <principal> <token>`, found {}",
                        fields.len()
                    ),
                ));
            };
            let role = match role {
                "reader" => Role::Reader,
                "writer" => Role::Writer,
                _ => return Err(at(number, "the role must be `reader` or `writer`")),
            };
            if name.len() > 64
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
            {
                return Err(at(
                    number,
                    "the principal must be 1 to 64 letters, digits, `.`, `_`, `@` or `-`",
                ));
            }
            if let Some(problem) = token_problem(token) {
                return Err(at(number, &problem));
            }
            let key = digest(token);
            if let Some(first) = lines_of.insert(key, number) {
                return Err(at(
                    number,
                    &format!("the token is already on line {first}; tokens must be unique"),
                ));
            }
            by_digest.insert(
                key,
                Principal {
                    name: name.to_owned(),
                    role,
                },
            );
        }
        if by_digest.is_empty() {
            return Err(format!(
                "{}: holds no credentials (lines `<role> <principal> <token>`)",
                path.display()
            ));
        }
        Ok(Self {
            path: path.to_owned(),
            stamp: None,
            by_digest,
        })
    }

    /// Reads and parses the tokens file at `path`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let stamp = stamp_of(path);
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let mut credentials = Self::parse(path, &text)?;
        credentials.stamp = stamp;
        Ok(credentials)
    }

    /// The file the credentials were read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many credentials there are.
    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    /// Whether there are none (never true of a parsed file).
    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }

    /// The principal whose token is `token`, if any.
    pub fn principal(&self, token: &str) -> Option<&Principal> {
        self.by_digest.get(&digest(token))
    }
}

/// The token this service sends on its calls to other services, ready to use as the value of
/// an `authorization` header (marked sensitive, so HTTP/2 never indexes it and `Debug` hides it).
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceToken(http::HeaderValue);

impl std::fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceToken(<redacted>)")
    }
}

impl ServiceToken {
    /// A token given as text; refused (without echoing it) unless it is a valid token.
    pub fn new(token: &str) -> Result<Self, String> {
        if let Some(problem) = token_problem(token) {
            return Err(problem);
        }
        let mut value = http::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "the token must be printable ASCII without spaces".to_owned())?;
        value.set_sensitive(true);
        Ok(Self(value))
    }

    /// Reads a token from the file at `path`: its only content, surrounding whitespace ignored.
    /// Errors name the file, never the token.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        Self::new(text.trim()).map_err(|problem| format!("{}: {problem}", path.display()))
    }

    /// The `authorization` header value: `Bearer <token>`.
    pub fn header_value(&self) -> &http::HeaderValue {
        &self.0
    }
}

/// A client interceptor that sends a token on every call (none when built with `None`):
/// `ActorServiceClient::with_interceptor(channel, Bearer::new(Some(token)))`.
#[derive(Debug, Clone, Default)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl Bearer {
    /// Sends `token`, when there is one.
    pub fn new(token: Option<&ServiceToken>) -> Self {
        Self(token.and_then(|token| {
            let mut value: tonic::metadata::MetadataValue<_> =
                token.header_value().to_str().ok()?.parse().ok()?;
            value.set_sensitive(true);
            Some(value)
        }))
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert(AUTHORIZATION, value.clone());
        }
        Ok(request)
    }
}

/// Access control settings of a server; the default has authentication off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthConfig {
    /// Who may call; `None` turns authentication off (everything is allowed).
    pub credentials: Option<Credentials>,
    /// Whether read RPCs are allowed without a token.
    pub open_reads: bool,
    /// The token this service sends to other services, if any.
    pub service_token: Option<ServiceToken>,
}

/// What an RPC needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nothing: health checks.
    Open,
    /// A reader or writer token, unless reads are open.
    Read,
    /// A writer token.
    Write,
}

/// The parts of a `FileDescriptorSet` that say which access each RPC declares: prost keeps
/// only the fields named here, among them the `chancery.common.v1.access` extension (50001) of
/// `google.protobuf.MethodOptions`, which `prost_types` would drop as unknown.
mod declared {
    use std::collections::HashMap;

    #[derive(Clone, PartialEq, prost::Message)]
    struct FileSet {
        #[prost(message, repeated, tag = "1")]
        file: Vec<File>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct File {
        #[prost(string, optional, tag = "2")]
        package: Option<String>,
        #[prost(message, repeated, tag = "6")]
        service: Vec<ServiceProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct ServiceProto {
        #[prost(string, optional, tag = "1")]
        name: Option<String>,
        #[prost(message, repeated, tag = "2")]
        method: Vec<Method>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct Method {
        #[prost(string, optional, tag = "1")]
        name: Option<String>,
        #[prost(message, optional, tag = "4")]
        options: Option<MethodOptions>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct MethodOptions {
        #[prost(int32, optional, tag = "50001")]
        access: Option<i32>,
    }

    /// Every RPC of the encoded descriptor set `bytes`, by path (`/package.Service/Method`),
    /// with the number of the access it declares (`None` when it declares none).
    pub(super) fn accesses(bytes: &[u8]) -> Result<HashMap<String, Option<i32>>, String> {
        let set = <FileSet as prost::Message>::decode(bytes)
            .map_err(|error| format!("the descriptor set does not decode: {error}"))?;
        let mut found = HashMap::new();
        for file in set.file {
            let package = file.package.unwrap_or_default();
            for service in file.service {
                let service_name = service.name.unwrap_or_default();
                for method in service.method {
                    let path = format!(
                        "/{package}.{service_name}/{}",
                        method.name.unwrap_or_default()
                    );
                    let access = method.options.and_then(|options| options.access);
                    found.insert(path, access);
                }
            }
        }
        Ok(found)
    }
}

/// The access each RPC of the suite declares beside it in `proto/`
/// (`option (chancery.common.v1.access) = ACCESS_READ;`), read once from the descriptor set the
/// servers also hand to reflection; RPCs that declare none are absent.
fn declared_accesses() -> &'static HashMap<String, Access> {
    static DECLARED: std::sync::OnceLock<HashMap<String, Access>> = std::sync::OnceLock::new();
    DECLARED.get_or_init(|| {
        declared::accesses(chancery_proto::FILE_DESCRIPTOR_SET)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(path, access)| {
                match access.and_then(|n| chancery_proto::common::v1::Access::try_from(n).ok()) {
                    Some(chancery_proto::common::v1::Access::Read) => Some((path, Access::Read)),
                    Some(chancery_proto::common::v1::Access::Write) => Some((path, Access::Write)),
                    _ => None,
                }
            })
            .collect()
    })
}

/// The RPCs of the suite's descriptor set that declare no access (or one that is neither read
/// nor write), sorted; empty when every RPC declares its access. A server refuses to start
/// otherwise (see `server::serve`).
pub fn rpcs_without_access() -> Vec<String> {
    undeclared_in(chancery_proto::FILE_DESCRIPTOR_SET)
}

/// [`rpcs_without_access`] of any encoded descriptor set.
fn undeclared_in(bytes: &[u8]) -> Vec<String> {
    let read = chancery_proto::common::v1::Access::Read as i32;
    let write = chancery_proto::common::v1::Access::Write as i32;
    match declared::accesses(bytes) {
        Ok(found) => {
            let mut missing: Vec<String> = found
                .into_iter()
                .filter(|(_, access)| *access != Some(read) && *access != Some(write))
                .map(|(path, _)| path)
                .collect();
            missing.sort();
            missing
        }
        Err(problem) => vec![problem],
    }
}

/// What the RPC at `path` (`/package.Service/Method`) needs: health is open, reflection reads,
/// every RPC of the suite what it declares in `proto/`, and anything else (an RPC declaring
/// nothing, an unknown path) writes — failing closed.
pub fn access_of(path: &str) -> Access {
    if path.starts_with("/grpc.health.v1.Health/") {
        return Access::Open;
    }
    if path.starts_with("/grpc.reflection.") {
        return Access::Read;
    }
    declared_accesses()
        .get(path)
        .copied()
        .unwrap_or(Access::Write)
}

fn refusal(code: Code, message: String, reason: &str, metadata: &[(&str, &str)]) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(
        reason,
        ERROR_DOMAIN,
        metadata
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<HashMap<_, _>>(),
    );
    Status::with_error_details(code, message, details)
}

/// UNAUTHENTICATED: the request carries no `authorization` header (reason `MISSING_CREDENTIAL`).
pub fn missing_credential() -> Status {
    refusal(
        Code::Unauthenticated,
        "missing bearer token: send the metadata `authorization: Bearer <token>`".to_owned(),
        "MISSING_CREDENTIAL",
        &[],
    )
}

/// UNAUTHENTICATED: the token is malformed or unknown (reason `UNKNOWN_CREDENTIAL`); the token
/// itself is never echoed.
pub fn unknown_credential() -> Status {
    refusal(
        Code::Unauthenticated,
        "unknown bearer token".to_owned(),
        "UNKNOWN_CREDENTIAL",
        &[],
    )
}

/// PERMISSION_DENIED: a reader called a write (reason `WRITER_ROLE_REQUIRED`).
pub fn writer_required(principal: &Principal, method: &str) -> Status {
    refusal(
        Code::PermissionDenied,
        format!(
            "{} has the {} role; {method} writes and needs a writer token",
            principal.name,
            principal.role.as_str()
        ),
        "WRITER_ROLE_REQUIRED",
        &[
            ("principal", &principal.name),
            ("role", principal.role.as_str()),
            ("method", method),
        ],
    )
}

/// The token of an `authorization` header value `Bearer <token>` (scheme in any case).
fn bearer_token(value: &http::HeaderValue) -> Option<&str> {
    let value = value.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// The tokens file's credentials, re-read when the file changes.
struct Keyring {
    current: RwLock<Arc<Credentials>>,
    next_check: Mutex<Instant>,
    check_every: Duration,
}

impl Keyring {
    fn new(credentials: Credentials, check_every: Duration) -> Self {
        Self {
            current: RwLock::new(Arc::new(credentials)),
            next_check: Mutex::new(Instant::now() + check_every),
            check_every,
        }
    }

    /// The credentials in force, after re-reading the file if it is time to look and it changed.
    fn current(&self) -> Arc<Credentials> {
        let current = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let due = {
            let mut next = self
                .next_check
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Instant::now();
            if now >= *next {
                *next = now + self.check_every;
                true
            } else {
                false
            }
        };
        if !due || stamp_of(current.path()) == current.stamp {
            return current;
        }
        match Credentials::load(current.path()) {
            Ok(fresh) => {
                tracing::info!(
                    file = %fresh.path().display(),
                    credentials = fresh.len(),
                    "tokens file changed: credentials reloaded"
                );
                let fresh = Arc::new(fresh);
                *self
                    .current
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh.clone();
                fresh
            }
            Err(problem) => {
                tracing::error!(%problem, "tokens file changed but cannot be used: the previous credentials stay in force");
                // Do not retry the same bad file on every check: remember its stamp.
                let mut kept = (*current).clone();
                kept.stamp = stamp_of(current.path());
                let kept = Arc::new(kept);
                *self
                    .current
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = kept.clone();
                kept
            }
        }
    }
}

struct AuthState {
    keyring: Option<Keyring>,
    open_reads: bool,
    service_token: Option<ServiceToken>,
}

/// Builds [`Auth`] services enforcing one [`AuthConfig`].
#[derive(Clone)]
pub struct AuthLayer {
    state: Arc<AuthState>,
}

impl std::fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLayer")
            .field("enabled", &self.state.keyring.is_some())
            .field("open_reads", &self.state.open_reads)
            .finish()
    }
}

impl AuthLayer {
    /// A layer enforcing `config`, checking the tokens file for changes every
    /// [`RELOAD_CHECK_INTERVAL`].
    pub fn new(config: &AuthConfig) -> Self {
        Self::with_reload_interval(config, RELOAD_CHECK_INTERVAL)
    }

    /// A layer enforcing `config`, checking the tokens file for changes every `check_every`.
    pub fn with_reload_interval(config: &AuthConfig, check_every: Duration) -> Self {
        Self {
            state: Arc::new(AuthState {
                keyring: config
                    .credentials
                    .clone()
                    .map(|credentials| Keyring::new(credentials, check_every)),
                open_reads: config.open_reads,
                service_token: config.service_token.clone(),
            }),
        }
    }

    /// Logs how access is controlled: a loud warning when it is not.
    pub fn log_startup(config: &AuthConfig) {
        match &config.credentials {
            None => tracing::warn!(
                "AUTHENTICATION IS OFF: every RPC, writes included, is allowed without a token. \
                 Set CHANCERY_TOKENS_FILE to a tokens file (`<role> <principal> <token>` per line) \
                 to require bearer tokens"
            ),
            Some(credentials) => tracing::info!(
                file = %credentials.path().display(),
                credentials = credentials.len(),
                open_reads = config.open_reads,
                "authentication on: writes need a writer token{}",
                if config.open_reads {
                    ", reads are open"
                } else {
                    ", reads need a reader or writer token"
                }
            ),
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            state: self.state.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around the admission layer.
#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    state: Arc<AuthState>,
}

impl<S> std::fmt::Debug for Auth<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").finish_non_exhaustive()
    }
}

tokio::task_local! {
    static SERVICE_TOKEN: ServiceToken;
}

/// The `authorization` value this service sends on calls made while serving an RPC, if it has
/// a service token.
pub fn outbound_credential() -> Option<http::HeaderValue> {
    SERVICE_TOKEN
        .try_with(|token| token.header_value().clone())
        .ok()
}

impl AuthState {
    /// `Ok(())` when the request at `path` may go on, else the refusal.
    fn check(&self, path: &str, headers: &http::HeaderMap) -> Result<(), Status> {
        let access = access_of(path);
        let Some(keyring) = &self.keyring else {
            return Ok(());
        };
        if access == Access::Open || (access == Access::Read && self.open_reads) {
            return Ok(());
        }
        let Some(value) = headers.get(AUTHORIZATION) else {
            tracing::info!(method = %path, "request refused: no bearer token");
            return Err(missing_credential());
        };
        let credentials = keyring.current();
        let Some(principal) = bearer_token(value).and_then(|token| credentials.principal(token))
        else {
            tracing::warn!(method = %path, "request refused: unknown bearer token");
            return Err(unknown_credential());
        };
        tracing::Span::current().record("principal", principal.name.as_str());
        if access == Access::Write && principal.role != Role::Writer {
            tracing::warn!(method = %path, principal = %principal.name, "request refused: a reader called a write");
            return Err(writer_required(principal, path.trim_start_matches('/')));
        }
        Ok(())
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B> Service<http::Request<B>> for Auth<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if let Err(status) = self.state.check(request.uri().path(), request.headers()) {
            return Box::pin(std::future::ready(Ok(status.into_http())));
        }
        // The handlers have no use for the credential: it goes no further.
        request.headers_mut().remove(AUTHORIZATION);
        match &self.state.service_token {
            None => Box::pin(inner.call(request)),
            Some(token) => {
                let response = SERVICE_TOKEN.sync_scope(token.clone(), || inner.call(request));
                Box::pin(SERVICE_TOKEN.scope(token.clone(), response))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRITER: &str = "writer-token-0123456789";
    const READER: &str = "reader-token-0123456789";

    fn credentials(text: &str) -> Result<Credentials, String> {
        Credentials::parse(Path::new("/etc/chancery/tokens"), text)
    }

    #[test]
    fn a_tokens_file_parses_with_comments_and_blank_lines() {
        let parsed = credentials(&format!(
            "# who may call\n\nwriter gateway {WRITER}\n  reader\talice   {READER}  \n"
        ))
        .unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(
            parsed.principal(WRITER),
            Some(&Principal {
                name: "gateway".into(),
                role: Role::Writer
            })
        );
        assert_eq!(parsed.principal(READER).unwrap().role, Role::Reader);
        assert_eq!(parsed.principal("reader-token-012345678"), None);
        assert!(
            !format!("{parsed:?}").contains(WRITER),
            "Debug shows no token"
        );
    }

    #[test]
    fn a_bad_tokens_file_names_the_file_and_line_but_never_the_token() {
        let secret = "s3cr3t-s3cr3t-s3cr3t";
        for (text, line, problem) in [
            (
                format!("writer a {secret}\nwriter b {secret}\n"),
                2,
                "already on line 1",
            ),
            (format!("admin a {secret}\n"), 1, "role"),
            (format!("# c\nwriter {secret}\n"), 2, "three fields"),
            (format!("writer a {secret} extra\n"), 1, "three fields"),
            ("reader a short-s3cr3t\n".to_owned(), 1, "too short"),
            (format!("reader a/b {secret}\n"), 1, "principal"),
            (format!("reader a {secret}\u{e9}\n"), 1, "printable ASCII"),
        ] {
            let error = credentials(&text).unwrap_err();
            assert!(
                error.starts_with(&format!("/etc/chancery/tokens: line {line}: ")),
                "{error}"
            );
            assert!(error.contains(problem), "{error}");
            assert!(!error.contains("s3cr3t"), "{error}");
        }
        let empty = credentials("# nothing yet\n").unwrap_err();
        assert!(empty.contains("holds no credentials"), "{empty}");
    }

    #[test]
    fn reads_and_writes_follow_the_declared_access_failing_closed() {
        for read in [
            "/chancery.actors.v1.ActorService/GetActor",
            "/chancery.actors.v1.ActorService/BatchGetActors",
            "/chancery.actors.v1.ActorService/ListTenures",
            "/chancery.actors.v1.ActorService/ResolveOffices",
            "/chancery.gateway.v1.EpisodeService/ExportBundle",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            assert_eq!(access_of(read), Access::Read, "{read}");
        }
        for write in [
            "/chancery.actors.v1.ActorService/CreateActor",
            "/chancery.gateway.v1.EpisodeService/ImportBundle",
            "/chancery.gateway.v1.EpisodeService/AddEpisodeMembers",
            "/chancery.communications.v1.CommunicationService/AppendStatus",
            "/chancery.actors.v1.ActorService/Getaway",
            "/chancery.actors.v1.ActorService/Listen",
            "/chancery.actors.v1.ActorService/BatchGetter",
            "/chancery.actors.v1.ActorService/PurgeEverything",
            "/chancery.actors.v1.ActorService/",
            "/nonsense",
        ] {
            assert_eq!(access_of(write), Access::Write, "{write}");
        }
        assert_eq!(access_of("/grpc.health.v1.Health/Check"), Access::Open);
        assert_eq!(access_of("/grpc.health.v1.Health/Watch"), Access::Open);
    }

    #[test]
    fn every_rpc_of_the_suite_declares_its_access() {
        assert_eq!(rpcs_without_access(), Vec::<String>::new());
        assert!(declared_accesses().len() >= 46, "{:?}", declared_accesses());
    }

    #[test]
    fn an_rpc_declaring_no_access_is_found() {
        use prost::Message;
        use prost_types::{
            FileDescriptorProto, FileDescriptorSet, MethodDescriptorProto, ServiceDescriptorProto,
        };
        let set = FileDescriptorSet {
            file: vec![FileDescriptorProto {
                package: Some("chancery.example.v1".into()),
                service: vec![ServiceDescriptorProto {
                    name: Some("ExampleService".into()),
                    method: vec![MethodDescriptorProto {
                        name: Some("SearchEverything".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        assert_eq!(
            undeclared_in(&set.encode_to_vec()),
            ["/chancery.example.v1.ExampleService/SearchEverything"]
        );
        assert_eq!(
            access_of("/chancery.example.v1.ExampleService/SearchEverything"),
            Access::Write,
            "an RPC that declares nothing is a write"
        );
        assert_eq!(
            undeclared_in(b"\xff\xff").len(),
            1,
            "garbage is reported, not passed"
        );
    }

    /// Every RPC of the four services, with the access it must need. A new RPC fails this test
    /// until it is listed here, so its class is a decision, not an accident.
    #[test]
    fn every_rpc_of_the_suite_gets_its_intended_class() {
        use prost::Message;
        const READS: &[&str] = &[
            "actors.v1.ActorService/GetActor",
            "actors.v1.ActorService/BatchGetActors",
            "actors.v1.ActorService/ListActors",
            "actors.v1.ActorService/GetPost",
            "actors.v1.ActorService/ListPosts",
            "actors.v1.ActorService/GetTenure",
            "actors.v1.ActorService/ListTenures",
            "actors.v1.ActorService/ResolveOffices",
            "communications.v1.CommunicationService/GetCommunication",
            "communications.v1.CommunicationService/BatchGetCommunications",
            "communications.v1.CommunicationService/ListCommunications",
            "statements.v1.StatementService/GetStatement",
            "statements.v1.StatementService/BatchGetStatements",
            "statements.v1.StatementService/ListStatements",
            "statements.v1.StatementService/GetSourceDocument",
            "statements.v1.StatementService/BatchGetSourceDocuments",
            "statements.v1.StatementService/ListSourceDocuments",
            "gateway.v1.EpisodeService/GetEpisode",
            "gateway.v1.EpisodeService/ListEpisodes",
            "gateway.v1.EpisodeService/GetEpisodeView",
            "gateway.v1.EpisodeService/ExportBundle",
        ];
        const WRITES: &[&str] = &[
            "actors.v1.ActorService/CreateActor",
            "actors.v1.ActorService/UpdateActor",
            "actors.v1.ActorService/DeleteActor",
            "actors.v1.ActorService/CreatePost",
            "actors.v1.ActorService/CreateTenure",
            "actors.v1.ActorService/UpdatePost",
            "actors.v1.ActorService/DeletePost",
            "actors.v1.ActorService/UpdateTenure",
            "actors.v1.ActorService/DeleteTenure",
            "communications.v1.CommunicationService/CreateCommunication",
            "communications.v1.CommunicationService/UpdateCommunication",
            "communications.v1.CommunicationService/DeleteCommunication",
            "communications.v1.CommunicationService/AppendStatus",
            "statements.v1.StatementService/CreateStatement",
            "statements.v1.StatementService/UpdateStatement",
            "statements.v1.StatementService/DeleteStatement",
            "statements.v1.StatementService/CreateSourceDocument",
            "statements.v1.StatementService/UpdateSourceDocument",
            "statements.v1.StatementService/DeleteSourceDocument",
            "gateway.v1.EpisodeService/CreateEpisode",
            "gateway.v1.EpisodeService/UpdateEpisode",
            "gateway.v1.EpisodeService/DeleteEpisode",
            "gateway.v1.EpisodeService/AddEpisodeMembers",
            "gateway.v1.EpisodeService/RemoveEpisodeMembers",
            "gateway.v1.EpisodeService/ImportBundle",
        ];
        let set = prost_types::FileDescriptorSet::decode(chancery_proto::FILE_DESCRIPTOR_SET)
            .expect("the descriptor set decodes");
        let mut seen = Vec::new();
        for file in set.file {
            let package = file.package().to_owned();
            for service in &file.service {
                for method in &service.method {
                    let path = format!("/{package}.{}/{}", service.name(), method.name());
                    let short = path.trim_start_matches("/chancery.").to_owned();
                    let expected = if READS.contains(&short.as_str()) {
                        Access::Read
                    } else if WRITES.contains(&short.as_str()) {
                        Access::Write
                    } else {
                        panic!("{path} is new: list it in READS or WRITES of this test")
                    };
                    assert_eq!(access_of(&path), expected, "{path}");
                    seen.push(short);
                }
            }
        }
        seen.sort();
        let mut listed: Vec<String> = READS.iter().chain(WRITES).map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(seen, listed, "every listed RPC exists, once");
    }

    #[test]
    fn the_environment_configures_access_control() {
        use crate::config::{Env, OPEN_READS, SERVICE_TOKEN_FILE, TOKENS_FILE};
        fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            Env::from_lookup(move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
        }
        assert_eq!(env(&[]).auth().unwrap(), AuthConfig::default());
        assert!(env(&[(OPEN_READS, "true")]).auth().unwrap().open_reads);
        for (variable, value) in [
            (OPEN_READS, "yes"),
            (TOKENS_FILE, "/nonexistent/tokens"),
            (SERVICE_TOKEN_FILE, "/nonexistent/token"),
        ] {
            let error = env(&[(variable, value)]).auth().unwrap_err();
            assert_eq!(error.variable, variable);
            assert!(error.to_string().contains(value), "{error}");
        }
    }

    #[test]
    fn bearer_tokens_are_read_whatever_the_scheme_case() {
        let value = |v: &str| http::HeaderValue::from_str(v).unwrap();
        assert_eq!(
            bearer_token(&value(&format!("Bearer {WRITER}"))),
            Some(WRITER)
        );
        assert_eq!(
            bearer_token(&value(&format!("bEaReR {WRITER}"))),
            Some(WRITER)
        );
        assert_eq!(bearer_token(&value(&format!("Basic {WRITER}"))), None);
        assert_eq!(bearer_token(&value(WRITER)), None);
        assert_eq!(bearer_token(&value("Bearer ")), None);
    }

    #[test]
    fn a_service_token_is_checked_and_never_shown() {
        let token = ServiceToken::new(WRITER).unwrap();
        assert_eq!(
            token.header_value().to_str().unwrap(),
            format!("Bearer {WRITER}")
        );
        assert!(token.header_value().is_sensitive());
        assert!(!format!("{token:?}").contains(WRITER));
        assert!(ServiceToken::new("short").is_err());
        assert!(ServiceToken::new("has a space in it, long enough").is_err());
    }

    type Response = http::Response<tonic::body::Body>;

    fn grpc_status(response: &Response) -> Option<Code> {
        crate::metrics::grpc_code(response.headers())
    }

    /// A handler answering OK, recording whether it ran and what `authorization` it saw.
    fn handler(
        seen: Arc<Mutex<Vec<Option<http::HeaderValue>>>>,
    ) -> impl Service<
        http::Request<()>,
        Response = Response,
        Error = std::convert::Infallible,
        Future = impl Send,
    > + Clone
    + Send
    + 'static {
        tower::service_fn(move |request: http::Request<()>| {
            seen.lock()
                .unwrap()
                .push(request.headers().get(AUTHORIZATION).cloned());
            let outbound = outbound_credential();
            async move {
                assert_eq!(outbound_credential(), outbound, "in scope while running");
                let mut response = http::Response::new(tonic::body::Body::empty());
                if let Some(value) = outbound {
                    response.headers_mut().insert("x-outbound", value);
                }
                Ok::<_, std::convert::Infallible>(response)
            }
        })
    }

    fn request(path: &str, token: Option<&str>) -> http::Request<()> {
        let mut builder = http::Request::builder().uri(path);
        if let Some(token) = token {
            builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        builder.body(()).unwrap()
    }

    fn config(open_reads: bool) -> AuthConfig {
        AuthConfig {
            credentials: Some(
                credentials(&format!("writer w {WRITER}\nreader r {READER}\n")).unwrap(),
            ),
            open_reads,
            service_token: None,
        }
    }

    const WRITE: &str = "/chancery.actors.v1.ActorService/CreateActor";
    const READ: &str = "/chancery.actors.v1.ActorService/GetActor";

    #[tokio::test]
    async fn writes_need_a_writer_and_reads_a_reader_unless_open() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut closed = AuthLayer::new(&config(false)).layer(handler(seen.clone()));
        let mut call = async |path: &str, token: Option<&str>| {
            grpc_status(&closed.call(request(path, token)).await.unwrap())
        };
        assert_eq!(call(WRITE, None).await, Some(Code::Unauthenticated));
        assert_eq!(
            call(WRITE, Some("nobody-0123456789")).await,
            Some(Code::Unauthenticated)
        );
        assert_eq!(
            call(WRITE, Some(READER)).await,
            Some(Code::PermissionDenied)
        );
        assert_eq!(call(READ, None).await, Some(Code::Unauthenticated));
        assert!(seen.lock().unwrap().is_empty(), "no refused call ran");
        assert_eq!(call(WRITE, Some(WRITER)).await, None);
        assert_eq!(call(READ, Some(READER)).await, None);
        assert_eq!(call(READ, Some(WRITER)).await, None);
        assert_eq!(call("/grpc.health.v1.Health/Check", None).await, None);
        assert_eq!(seen.lock().unwrap().len(), 4);
        assert!(
            seen.lock().unwrap().iter().all(Option::is_none),
            "the handlers never see the credential"
        );

        let mut open = AuthLayer::new(&config(true)).layer(handler(seen.clone()));
        let read = open.call(request(READ, None)).await.unwrap();
        assert_eq!(grpc_status(&read), None);
        let write = open.call(request(WRITE, None)).await.unwrap();
        assert_eq!(grpc_status(&write), Some(Code::Unauthenticated));

        let mut off = AuthLayer::new(&AuthConfig::default()).layer(handler(seen));
        let write = off.call(request(WRITE, None)).await.unwrap();
        assert_eq!(grpc_status(&write), None, "no tokens file: auth is off");
    }

    #[tokio::test]
    async fn refusals_carry_error_info_and_never_the_token() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut service = AuthLayer::new(&config(false)).layer(handler(seen));
        for (token, reason) in [
            (None, "MISSING_CREDENTIAL"),
            (Some("unknown-token-0123456789"), "UNKNOWN_CREDENTIAL"),
            (Some(READER), "WRITER_ROLE_REQUIRED"),
        ] {
            let response = service.call(request(WRITE, token)).await.unwrap();
            let status = Status::from_header_map(response.headers()).expect("a status");
            let details = status.get_error_details();
            let info = details.error_info().expect("error info");
            assert_eq!(
                (info.reason.as_str(), info.domain.as_str()),
                (reason, ERROR_DOMAIN)
            );
            let shown = format!("{} {:?}", status.message(), info.metadata);
            assert!(!shown.contains("0123456789"), "{shown}");
            if reason == "WRITER_ROLE_REQUIRED" {
                assert!(
                    status.message().contains("r has the reader role"),
                    "{shown}"
                );
                assert!(status.message().contains("CreateActor"), "{shown}");
            }
        }
    }

    #[tokio::test]
    async fn the_service_token_is_in_scope_for_calls_made_while_serving() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let token = ServiceToken::new(WRITER).unwrap();
        let config = AuthConfig {
            service_token: Some(token.clone()),
            ..AuthConfig::default()
        };
        let mut service = AuthLayer::new(&config).layer(handler(seen));
        let response = service.call(request(READ, None)).await.unwrap();
        assert_eq!(
            response.headers().get("x-outbound"),
            Some(token.header_value())
        );
        assert_eq!(outbound_credential(), None, "outside an RPC: none");
    }

    #[tokio::test]
    async fn a_rotated_tokens_file_takes_effect_and_a_broken_one_is_ignored() {
        let dir = std::env::temp_dir().join(format!(
            "chancery-auth-{}-{}",
            std::process::id(),
            crate::time::now_micros()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens");
        std::fs::write(&path, format!("writer w {WRITER}\n")).unwrap();
        let config = AuthConfig {
            credentials: Some(Credentials::load(&path).unwrap()),
            ..AuthConfig::default()
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut service =
            AuthLayer::with_reload_interval(&config, Duration::ZERO).layer(handler(seen));
        let rotated = "rotated-writer-token-0123456789";
        let mut status = async |token: &str| {
            grpc_status(&service.call(request(WRITE, Some(token))).await.unwrap())
        };
        assert_eq!(status(WRITER).await, None);
        std::fs::write(&path, format!("# rotated\nwriter w {rotated}\n")).unwrap();
        assert_eq!(status(rotated).await, None, "the new token works");
        assert_eq!(
            status(WRITER).await,
            Some(Code::Unauthenticated),
            "the old one no longer"
        );
        std::fs::write(&path, "writer w too-short\n").unwrap();
        assert_eq!(
            status(rotated).await,
            None,
            "a broken file keeps the last good set"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
