//! TLS for the gRPC listener and for calls to other services (rustls on ring, through tonic).
//!
//! - **Listener**: with a certificate and key (`CHANCERY_TLS_CERT`, `CHANCERY_TLS_KEY`, PEM
//!   files, both or neither) the gRPC listener speaks TLS only. With `CHANCERY_TLS_CLIENT_CA`
//!   as well, every client must present a certificate signed by one of that bundle's CAs
//!   (mutual TLS); others are refused during the handshake, before any RPC.
//! - **Calls to other services**: a backend address `https://…` is verified against
//!   `CHANCERY_TLS_CA`; when the service has its own certificate and key it presents them as its
//!   client certificate, so one certificate per service is enough for mutual TLS between
//!   services. `http://` addresses stay plaintext.
//! - **Health**: kubelet gRPC probes cannot speak TLS, so `CHANCERY_HEALTH_LISTEN` opens a
//!   second, plaintext listener that serves `grpc.health.v1.Health` only (see
//!   [`crate::server`]).
//!
//! Every file is read and checked at start-up: a missing file, a file without the expected PEM
//! blocks, or a key that does not belong to its certificate stops the process with a
//! configuration error naming the variable and the path. Files are not re-read: a rotated
//! certificate takes effect on restart.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

/// Longest a client may take to complete the TLS handshake before its connection is closed.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A PEM file read at start-up: where it came from and its bytes. Its `Debug` shows the path
/// only, so a private key never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct PemFile {
    path: PathBuf,
    pem: Vec<u8>,
}

impl fmt::Debug for PemFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PemFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl PemFile {
    /// Reads one or more certificates (`-----BEGIN CERTIFICATE-----` blocks) from `path`.
    pub fn certificates(path: &Path) -> Result<Self, String> {
        let pem = read(path)?;
        Self::parse_certificates(path, pem)
    }

    /// Reads one private key (PKCS#8, PKCS#1 or SEC1 PEM) from `path`.
    pub fn private_key(path: &Path) -> Result<Self, String> {
        let pem = read(path)?;
        Self::parse_private_key(path, pem)
    }

    /// Certificates given as PEM text; `label` stands for the path in messages.
    pub fn parse_certificates(label: &Path, pem: impl Into<Vec<u8>>) -> Result<Self, String> {
        let pem = pem.into();
        let certificates = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| format!("{}: not valid PEM: {error}", label.display()))?;
        if certificates.is_empty() {
            return Err(format!(
                "{}: no PEM certificate (-----BEGIN CERTIFICATE-----) found",
                label.display()
            ));
        }
        Ok(Self {
            path: label.to_owned(),
            pem,
        })
    }

    /// A private key given as PEM text; `label` stands for the path in messages.
    pub fn parse_private_key(label: &Path, pem: impl Into<Vec<u8>>) -> Result<Self, String> {
        let pem = pem.into();
        PrivateKeyDer::from_pem_slice(&pem).map_err(|error| {
            format!(
                "{}: no PEM private key (-----BEGIN PRIVATE KEY-----) found: {error}",
                label.display()
            )
        })?;
        Ok(Self {
            path: label.to_owned(),
            pem,
        })
    }

    /// Where the file was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The PEM text.
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
}

/// A certificate chain and the private key that belongs to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsIdentity {
    cert: PemFile,
    key: PemFile,
}

impl TlsIdentity {
    /// Pairs `cert` with `key`, checking that the key belongs to the certificate.
    pub fn new(cert: PemFile, key: PemFile) -> Result<Self, String> {
        let identity = Self { cert, key };
        // rustls checks the pair when it builds a server configuration.
        tonic::transport::Server::builder()
            .tls_config(ServerTlsConfig::new().identity(identity.tonic()))
            .map_err(|error| {
                format!(
                    "{} and {} do not make a usable certificate and key: {}",
                    identity.cert.path.display(),
                    identity.key.path.display(),
                    error_chain(&error)
                )
            })?;
        Ok(identity)
    }

    /// The certificate chain.
    pub fn cert(&self) -> &PemFile {
        &self.cert
    }

    fn tonic(&self) -> Identity {
        Identity::from_pem(&self.cert.pem, &self.key.pem)
    }
}

/// The whole error chain of `error`, as one line.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        text.push_str(": ");
        text.push_str(&error.to_string());
        cause = error.source();
    }
    text
}

/// The TLS settings of one process; the default is no TLS at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// The certificate served on the gRPC listener and presented to other services; `None`:
    /// the listener is plaintext.
    pub identity: Option<TlsIdentity>,
    /// CAs whose certificates clients must present (mutual TLS); needs `identity`.
    pub client_ca: Option<PemFile>,
    /// CAs that other services' certificates are verified against, for `https://` backends.
    pub ca: Option<PemFile>,
}

impl TlsConfig {
    /// Whether the gRPC listener speaks TLS.
    pub fn serves_tls(&self) -> bool {
        self.identity.is_some()
    }

    /// The listener's TLS settings, when it has a certificate.
    pub fn server(&self) -> Option<ServerTlsConfig> {
        let identity = self.identity.as_ref()?;
        let mut config = ServerTlsConfig::new()
            .identity(identity.tonic())
            .timeout(HANDSHAKE_TIMEOUT);
        if let Some(client_ca) = &self.client_ca {
            config = config.client_ca_root(Certificate::from_pem(&client_ca.pem));
        }
        Some(config)
    }

    /// The settings for calls to `https://` backends: verified against `ca`, presenting this
    /// process's certificate when it has one. `None` without `ca`.
    pub fn client(&self) -> Option<ClientTlsConfig> {
        let ca = self.ca.as_ref()?;
        let mut config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&ca.pem))
            .assume_http2(true);
        if let Some(identity) = &self.identity {
            config = config.identity(identity.tonic());
        }
        Some(config)
    }

    /// What the start-up log says about TLS.
    pub fn describe(&self) -> &'static str {
        match (&self.identity, &self.client_ca) {
            (None, _) => "off: the gRPC listener is plaintext",
            (Some(_), None) => "on: the gRPC listener speaks TLS only",
            (Some(_), Some(_)) => {
                "on with client certificates: the gRPC listener speaks TLS only and refuses clients without a certificate signed by CHANCERY_TLS_CLIENT_CA"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A PEM certificate block (its DER is not checked when parsing PEM).
    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";

    #[test]
    fn certificates_need_a_certificate_block() {
        let label = Path::new("/etc/tls/tls.crt");
        let error = PemFile::parse_certificates(label, "not pem at all").unwrap_err();
        assert!(error.contains("/etc/tls/tls.crt"), "{error}");
        assert!(error.contains("no PEM certificate"), "{error}");
        let key_only = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(PemFile::parse_certificates(label, key_only).is_err());
        let parsed = PemFile::parse_certificates(label, CERT).unwrap();
        assert_eq!(parsed.path(), label);
        assert_eq!(parsed.pem(), CERT.as_bytes());
    }

    #[test]
    fn a_private_key_needs_a_key_block() {
        let label = Path::new("/etc/tls/tls.key");
        let error = PemFile::parse_private_key(label, CERT).unwrap_err();
        assert!(error.contains("/etc/tls/tls.key"), "{error}");
        assert!(error.contains("no PEM private key"), "{error}");
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let error = PemFile::certificates(Path::new("/nonexistent/chancery/ca.crt")).unwrap_err();
        assert!(
            error.starts_with("cannot read /nonexistent/chancery/ca.crt"),
            "{error}"
        );
    }

    #[test]
    fn debug_never_shows_the_pem() {
        let key = PemFile {
            path: "/k".into(),
            pem: b"SECRET KEY BYTES".to_vec(),
        };
        let shown = format!("{key:?}");
        assert!(shown.contains("/k") && !shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn no_tls_is_the_default() {
        let config = TlsConfig::default();
        assert!(!config.serves_tls());
        assert!(config.server().is_none());
        assert!(config.client().is_none());
    }
}
