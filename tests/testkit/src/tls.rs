//! Certificates made at test time (rcgen on ring): a CA, certificates it signs for servers and
//! clients, the TLS settings of a test server, and channels that trust a CA (and present a
//! client certificate).
//!
//! Every certificate a [`TestCa`] signs names `localhost` and `127.0.0.1`, so one serves as a
//! server's certificate on `127.0.0.1:0` and, for mutual TLS, as the client certificate of the
//! same service when it calls another: the layout of one certificate per service.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chancery_runtime::tls::{PemFile, TlsConfig, TlsIdentity};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// The names every certificate of a [`TestCa`] carries as subject alternative names.
pub const NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// A certificate and its private key, PEM.
#[derive(Debug, Clone)]
pub struct TestCert {
    /// The certificate (PEM).
    pub cert_pem: String,
    /// Its private key (PKCS#8 PEM).
    pub key_pem: String,
}

impl TestCa {
    /// A new CA called `name`.
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).expect("self-signed CA"),
        }
    }

    /// The CA's certificate (PEM): what clients trust, or servers verify clients against.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `name` (its common name), signed by this CA, valid for both server
    /// and client authentication, with the subject alternative names [`NAMES`].
    pub fn issue(&self, name: &str) -> TestCert {
        self.issue_for(name, &NAMES)
    }

    /// Like [`TestCa::issue`], with the subject alternative names `dns_names` instead of
    /// [`NAMES`] (such as only `gateway`, as a cluster's certificate names the service).
    pub fn issue_for(&self, name: &str, dns_names: &[&str]) -> TestCert {
        let mut params = CertificateParams::new(
            dns_names
                .iter()
                .map(|n| (*n).to_owned())
                .collect::<Vec<_>>(),
        )
        .expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed leaf");
        TestCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// The CA as a tonic certificate, for [`ClientTlsConfig::ca_certificate`].
    pub fn certificate(&self) -> Certificate {
        Certificate::from_pem(self.cert_pem())
    }
}

impl TestCert {
    /// The certificate and key as a tonic identity (a client certificate).
    pub fn identity(&self) -> Identity {
        Identity::from_pem(&self.cert_pem, &self.key_pem)
    }

    /// The certificate and key as a server's (or service's) TLS identity.
    pub fn tls_identity(&self) -> TlsIdentity {
        TlsIdentity::new(
            PemFile::parse_certificates(Path::new("test.crt"), self.cert_pem.as_bytes())
                .expect("test certificate"),
            PemFile::parse_private_key(Path::new("test.key"), self.key_pem.as_bytes())
                .expect("test key"),
        )
        .expect("test certificate and key")
    }

    /// Writes `tls.crt` and `tls.key` into `dir` (the layout of a mounted TLS Secret) and
    /// returns their paths.
    pub fn write_to(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let cert = dir.join("tls.crt");
        let key = dir.join("tls.key");
        std::fs::write(&cert, &self.cert_pem).expect("write tls.crt");
        std::fs::write(&key, &self.key_pem).expect("write tls.key");
        (cert, key)
    }
}

fn ca_file(ca: &TestCa) -> PemFile {
    PemFile::parse_certificates(Path::new("ca.crt"), ca.cert_pem().into_bytes()).expect("test CA")
}

/// A test server's TLS settings: it serves `cert`; with `client_ca`, clients must present a
/// certificate that CA signed (mutual TLS); its `https://` backends are verified against
/// `backend_ca` (and it presents `cert` to them).
pub fn server_tls(
    cert: &TestCert,
    client_ca: Option<&TestCa>,
    backend_ca: Option<&TestCa>,
) -> TlsConfig {
    TlsConfig {
        identity: Some(cert.tls_identity()),
        client_ca: client_ca.map(ca_file),
        ca: backend_ca.map(ca_file),
    }
}

/// Client TLS settings trusting `ca`, presenting `identity` when given.
pub fn client_tls(ca: &TestCa, identity: Option<&TestCert>) -> ClientTlsConfig {
    let mut config = ClientTlsConfig::new()
        .ca_certificate(ca.certificate())
        .domain_name("localhost");
    if let Some(identity) = identity {
        config = config.identity(identity.identity());
    }
    config
}

/// Connects to `addr` over TLS with `tls` (see [`client_tls`]); the error is the handshake's
/// (or the connection's) when the server or the client refuses.
pub async fn connect_tls(
    addr: SocketAddr,
    tls: ClientTlsConfig,
) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_shared(format!("https://{addr}"))
        .expect("endpoint")
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
}
