//! TLS for the cluster: the private CA and the certificates it issues (rcgen), and the
//! rustls configurations for mutual TLS.
//!
//! **The CA** ([`ClusterCa`]) lives in a directory of its own (`zkquorum ca init`): `ca.pem`
//! (the certificate every member trusts) and `ca.key` (mode 0600, in a 0700 directory),
//! which the admins keep offline and bring out only to issue, renew or revoke. The one-machine
//! `zkquorum init` either uses such a directory (`--ca`) or makes a throw-away CA in memory
//! whose key is never written.
//!
//! **Certificates** are issued from a certificate signing request only ([`ClusterCa::issue`]):
//! the private key never leaves the host that made it ([`CertRequest`], `zkquorum node init`,
//! `zkquorum csr`). The CA checks the request's self-signature, then writes its own grant
//! ([`Grant`]): the role as the subject OU, the principal's name as the CN, an operator's key
//! scope as `urn:zkquorum:key:` URIs (see [`crate::net::roles`]), a random serial, and a short
//! validity (servers 90 days, people 30; `--days`). It takes only DNS names and IP addresses
//! from the request, and only for servers, so a requester cannot grant itself a scope.
//! Renewal is issuing again from the same request: same key, new serial and dates.
//!
//! **Reloading.** Servers and the coordinator's client present their certificate through
//! [`ReloadingCert`], which re-reads the certificate and key files at the next handshake
//! after either file changes (their modification time, size or inode), so a renewed
//! certificate is used without a restart. A pair that does not load (half-copied, key not
//! matching) is logged and the previous one kept.
//!
//! **Verification.** Every listener requires a client certificate signed by the cluster CA
//! (a client without one is refused during the handshake); what the certificate may do is
//! decided per request from its role ([`crate::net::serve`], [`crate::net::roles`]). A
//! client verifies its server with [`RoleServerVerifier`]: the CA's chain and host name
//! (webpki), then the role it expects, and for a signer node the rostered key fingerprint
//! of that very node, all before a byte of the request is sent.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore, ServerConfig,
    SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::net::revocation::{stamp, Revocations, Stamp};
use crate::net::roles::{KeyScope, Peer, Role};

/// The CA certificate's file name in a CA directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// The CA private key's file name in a CA directory (mode 0600).
pub const CA_KEY_FILE: &str = "ca.key";

/// Validity of the CA certificate, days (ten years: the CA key is kept offline).
const CA_DAYS: i64 = 3650;

/// Why TLS material could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file is missing or holds no usable item.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// Certificate generation failed.
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    /// A certificate signing request was refused: unparseable, or its self-signature does
    /// not verify.
    #[error("certificate signing request: {0}")]
    Csr(String),
    /// The grant is not one the CA issues.
    #[error("grant: {0}")]
    Grant(String),
    /// rustls refused the configuration (e.g. a key that does not match its certificate).
    #[error("TLS configuration: {0}")]
    Config(String),
    /// A file or directory of the CA could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What the CA writes into a certificate besides the requester's key and host names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The role (subject OU).
    pub role: Role,
    /// The principal's name (subject CN), e.g. `alice` or `node-3`.
    pub name: String,
    /// The keys an operator may use; must be [`KeyScope::None`] for other roles.
    pub scope: KeyScope,
    /// Validity from now, days.
    pub days: u32,
}

impl Grant {
    /// A grant of `role` to `name` with the role's default validity and no key scope.
    pub fn new(role: Role, name: &str) -> Self {
        Self {
            role,
            name: name.to_string(),
            scope: KeyScope::None,
            days: role.default_days(),
        }
    }

    /// The same grant with key scope `scope` (operators).
    pub fn with_scope(mut self, scope: KeyScope) -> Self {
        self.scope = scope;
        self
    }

    /// The same grant valid for `days` days.
    pub fn with_days(mut self, days: u32) -> Self {
        self.days = days;
        self
    }

    fn check(&self) -> Result<(), TlsError> {
        let bad = |m: String| Err(TlsError::Grant(m));
        if self.name.is_empty() || self.name.len() > 64 || self.name.chars().any(char::is_control) {
            return bad(format!(
                "name {:?} must be 1 to 64 printable characters",
                self.name
            ));
        }
        if self.role != Role::Operator && self.scope != KeyScope::None {
            return bad(format!(
                "a {} certificate cannot carry a key scope",
                self.role
            ));
        }
        if self.days == 0 || self.days > 3650 {
            return bad(format!(
                "validity {} days is not within 1..=3650",
                self.days
            ));
        }
        Ok(())
    }
}

/// A PEM certificate and its private key.
pub struct IssuedCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM (PKCS#8). Written with mode 0600.
    pub key_pem: zeroize::Zeroizing<String>,
}

/// A fresh private key and a certificate signing request for it, made where the key is to
/// stay (a node's host, a person's machine).
pub struct CertRequest {
    /// The private key, PEM (PKCS#8). Written with mode 0600.
    pub key_pem: zeroize::Zeroizing<String>,
    /// The request, PEM: the public key, `name` as its CN and `hosts` as its subject
    /// alternative names, self-signed.
    pub csr_pem: String,
}

impl CertRequest {
    /// A new ECDSA P-256 key and a request for `name` with `hosts` (DNS names or IP
    /// addresses; none for a person).
    pub fn generate(name: &str, hosts: &[String]) -> Result<Self, TlsError> {
        let mut params = CertificateParams::new(hosts.to_vec())?;
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate()?;
        let csr = params.serialize_request(&key)?;
        Ok(Self {
            key_pem: zeroize::Zeroizing::new(key.serialize_pem()),
            csr_pem: csr.pem()?,
        })
    }
}

/// What a certificate signing request asks for, read and its self-signature checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsrInfo {
    /// Its subject CN, if any (the CA writes its own).
    pub name: Option<String>,
    /// The DNS names and IP addresses it asks for.
    pub hosts: Vec<String>,
    /// BLAKE3 of its SubjectPublicKeyInfo: the key fingerprint every certificate issued
    /// from it will have ([`key_fingerprint`]).
    pub key_fingerprint: [u8; 32],
}

/// Reads a CSR (PEM) and checks its self-signature.
pub fn read_csr(csr_pem: &str) -> Result<CsrInfo, TlsError> {
    let params = CertificateSigningRequestParams::from_pem(csr_pem)
        .map_err(|e| TlsError::Csr(csr_error(e)))?;
    let der = rustls_pki_types::CertificateSigningRequestDer::from_pem_slice(csr_pem.as_bytes())
        .map_err(|e| TlsError::Csr(e.to_string()))?;
    use x509_parser::prelude::FromDer;
    let (_, csr) =
        x509_parser::certification_request::X509CertificationRequest::from_der(der.as_ref())
            .map_err(|e| TlsError::Csr(e.to_string()))?;
    let info = &csr.certification_request_info;
    let name = info
        .subject
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_owned);
    Ok(CsrInfo {
        name,
        hosts: params
            .params
            .subject_alt_names
            .iter()
            .filter_map(host_of)
            .collect(),
        key_fingerprint: *blake3::hash(info.subject_pki.raw).as_bytes(),
    })
}

fn csr_error(e: rcgen::Error) -> String {
    match e {
        // rcgen reports a failed self-signature check as ring's unspecified error.
        rcgen::Error::RingUnspecified => "its self-signature does not verify".into(),
        rcgen::Error::UnsupportedExtension => {
            "it asks for an extension the CA does not copy (only subject alternative names)".into()
        }
        other => other.to_string(),
    }
}

/// A DNS name or IP address SAN as text; `None` for other kinds (URIs, e-mail).
fn host_of(san: &SanType) -> Option<String> {
    match san {
        SanType::DnsName(n) => Some(n.as_str().to_string()),
        SanType::IpAddress(ip) => Some(ip.to_string()),
        _ => None,
    }
}

/// The cluster CA.
pub struct ClusterCa {
    cert: rcgen::Certificate,
    key: KeyPair,
    cert_pem: String,
}

impl ClusterCa {
    /// A fresh CA named after the cluster, in memory.
    pub fn generate(name: &str) -> Result<Self, TlsError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, format!("zkquorum cluster CA {name}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(CA_DAYS);
        params.serial_number = Some(random_serial());
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        let cert_pem = cert.pem();
        Ok(Self {
            cert,
            key,
            cert_pem,
        })
    }

    /// Makes a new CA in `dir`, which must not exist: the directory (0700), `ca.pem` and
    /// `ca.key` (0600).
    pub fn create_dir(dir: &Path, name: &str) -> Result<Self, TlsError> {
        if dir.exists() {
            return Err(TlsError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "already exists; a CA is never overwritten",
                ),
            });
        }
        let ca = Self::generate(name)?;
        crate::cluster::config::create_private_dir(dir).map_err(io_err(dir))?;
        let key = dir.join(CA_KEY_FILE);
        crate::cluster::config::write_atomic(&key, ca.key.serialize_pem().as_bytes(), true)
            .map_err(io_err(&key))?;
        let cert = dir.join(CA_CERT_FILE);
        crate::cluster::config::write_atomic(&cert, ca.cert_pem.as_bytes(), false)
            .map_err(io_err(&cert))?;
        Ok(ca)
    }

    /// Loads the CA of `dir` (`ca.pem`, `ca.key`).
    pub fn load_dir(dir: &Path) -> Result<Self, TlsError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        let cert_pem = std::fs::read_to_string(&cert_path).map_err(io_err(&cert_path))?;
        let key_pem =
            zeroize::Zeroizing::new(std::fs::read_to_string(&key_path).map_err(io_err(&key_path))?);
        let key = KeyPair::from_pem(&key_pem).map_err(|e| pem_err(&key_path, e))?;
        let params =
            CertificateParams::from_ca_cert_pem(&cert_pem).map_err(|e| pem_err(&cert_path, e))?;
        // The same subject and key identifier as ca.pem, so certificates issued from it
        // chain to ca.pem; its own signature is never used.
        let cert = params.self_signed(&key)?;
        let stored = load_certs(&cert_path)?;
        let stored_key = key_fingerprint(&stored[0]).map_err(|e| pem_err(&cert_path, e))?;
        let loaded_key = key_fingerprint(cert.der()).map_err(|e| pem_err(&key_path, e))?;
        if stored_key != loaded_key {
            return Err(pem_err(&key_path, "is not the key of ca.pem"));
        }
        Ok(Self {
            cert,
            key,
            cert_pem,
        })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// Issues a certificate for the key of `csr_pem` (whose self-signature must verify)
    /// under `grant`. Servers get the request's DNS names and IP addresses, server and client
    /// authentication; people get no host names and client authentication only. Returns
    /// the certificate, PEM.
    pub fn issue(&self, csr_pem: &str, grant: &Grant) -> Result<String, TlsError> {
        grant.check()?;
        let csr = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| TlsError::Csr(csr_error(e)))?;
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, grant.role.as_str());
        params
            .distinguished_name
            .push(DnType::CommonName, grant.name.as_str());
        if grant.role.is_server() {
            params.subject_alt_names = csr
                .params
                .subject_alt_names
                .iter()
                .filter(|s| host_of(s).is_some())
                .cloned()
                .collect();
            if params.subject_alt_names.is_empty() {
                return Err(TlsError::Grant(format!(
                    "a {} certificate needs host names; the request has none",
                    grant.role
                )));
            }
            params.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
        } else {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        }
        for uri in grant.scope.uris() {
            params.subject_alt_names.push(SanType::URI(
                uri.try_into()
                    .map_err(|e: rcgen::Error| TlsError::Grant(e.to_string()))?,
            ));
        }
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial());
        let now = time::OffsetDateTime::now_utc();
        // An hour back for clocks slightly behind; never past the CA's own end.
        params.not_before = now - time::Duration::hours(1);
        params.not_after =
            (now + time::Duration::days(i64::from(grant.days))).min(self.cert.params().not_after);
        let cert = params.signed_by(&csr.public_key, &self.cert, &self.key)?;
        Ok(cert.pem())
    }
}

impl ClusterCa {
    /// Makes a key and a request for `hosts` here and issues `grant` for it: the
    /// [`CertRequest`] → [`ClusterCa::issue`] path in one call, for the one-machine demo's
    /// people and for tests (a real principal makes its request on its own machine).
    pub fn issue_with_new_key(
        &self,
        grant: &Grant,
        hosts: &[String],
    ) -> Result<IssuedCert, TlsError> {
        let req = CertRequest::generate(&grant.name, hosts)?;
        Ok(IssuedCert {
            cert_pem: self.issue(&req.csr_pem, grant)?,
            key_pem: req.key_pem,
        })
    }
}

/// A random positive 128-bit serial: certificates renewed from one request differ in
/// serial (rcgen's default derives it from the key, the same at every renewal).
fn random_serial() -> rcgen::SerialNumber {
    let mut b = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    b[0] &= 0x7f;
    b[0] |= 0x01;
    rcgen::SerialNumber::from_slice(&b)
}

fn pem_err(path: &Path, reason: impl ToString) -> TlsError {
    TlsError::Pem {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Loads every certificate of a PEM file (at least one).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_err(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(path, e))?;
    if certs.is_empty() {
        return Err(pem_err(path, "no certificate in the file"));
    }
    Ok(certs)
}

/// Loads a private key from a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| pem_err(path, e))
}

/// BLAKE3 of the certificate's DER: names one certificate (revocation lists).
pub fn fingerprint(cert: &CertificateDer<'_>) -> [u8; 32] {
    *blake3::hash(cert.as_ref()).as_bytes()
}

/// BLAKE3 of the certificate's SubjectPublicKeyInfo: names its key, the same across
/// renewals from one request (the roster's `tls_fingerprint`, the nodes' coordinator pin).
pub fn key_fingerprint(cert: &CertificateDer<'_>) -> Result<[u8; 32], String> {
    let (_, x509) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| format!("certificate cannot be parsed: {e}"))?;
    Ok(*blake3::hash(x509.public_key().raw).as_bytes())
}

/// The key fingerprint of the first certificate of a PEM file.
pub fn key_fingerprint_of_file(path: &Path) -> Result<[u8; 32], TlsError> {
    key_fingerprint(&load_certs(path)?[0]).map_err(|e| pem_err(path, e))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(ca: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let mut roots = RootCertStore::empty();
    for c in load_certs(ca)? {
        roots.add(c).map_err(|e| pem_err(ca, e))?;
    }
    Ok(Arc::new(roots))
}

struct Loaded {
    stamps: (Stamp, Stamp),
    key: Arc<CertifiedKey>,
    /// Stamps of a pair that failed to load, so it is reported once, not per handshake.
    failed: Option<(Stamp, Stamp)>,
}

/// A certificate and key read from two files and re-read at the next handshake after
/// either changes: what servers present and the coordinator's client authenticates with.
pub struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    loaded: Mutex<Loaded>,
}

impl fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCert")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl ReloadingCert {
    /// Loads `cert`/`key` (which must load and match now).
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let provider = provider();
        let stamps = (stamp(cert), stamp(key));
        let loaded = Self::read(cert, key, &provider)?;
        Ok(Self {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            provider,
            loaded: Mutex::new(Loaded {
                stamps,
                key: Arc::new(loaded),
                failed: None,
            }),
        })
    }

    fn read(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
        CertifiedKey::from_der(load_certs(cert)?, load_key(key)?, provider)
            .map_err(|e| TlsError::Config(format!("{}: {e}", key.display())))
    }

    /// The current pair, re-read first if a file changed.
    pub fn current(&self) -> Arc<CertifiedKey> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        let now = (stamp(&self.cert), stamp(&self.key));
        if now != loaded.stamps && loaded.failed != Some(now) {
            match Self::read(&self.cert, &self.key, &self.provider) {
                Ok(k) => {
                    tracing::info!(cert = %self.cert.display(), "certificate reloaded");
                    loaded.key = Arc::new(k);
                    loaded.stamps = now;
                    loaded.failed = None;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "new certificate not loaded; keeping the previous one");
                    loaded.failed = Some(now);
                }
            }
        }
        loaded.key.clone()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

impl ResolvesClientCert for ReloadingCert {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A server configuration that presents `cert`/`key` (re-read when they change) and
/// requires a client certificate signed by the CA in `ca`.
pub fn server_config(cert: &Path, key: &Path, ca: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(ca)?, provider.clone())
        .build()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(ReloadingCert::load(cert, key)?));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client configuration that trusts only the CA in `ca` and authenticates with
/// `cert`/`key`. It checks the server's chain and host name only; clients of the cluster
/// use [`client_config_expecting`].
pub fn client_config(cert: &Path, key: &Path, ca: &Path) -> Result<ClientConfig, TlsError> {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots(ca)?)
        .with_client_auth_cert(load_certs(cert)?, load_key(key)?)
        .map_err(|e| TlsError::Config(e.to_string()))
}

/// The server a client expects at the other end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedServer {
    /// Who, for error messages: `node 3`, `the coordinator`.
    pub label: String,
    /// The role its certificate must carry.
    pub role: Role,
    /// The key fingerprint its certificate must carry ([`key_fingerprint`]), if pinned.
    pub key: Option<[u8; 32]>,
}

impl ExpectedServer {
    /// Signer node `id` with the rostered TLS key fingerprint `key`.
    pub fn node(id: impl fmt::Display, key: [u8; 32]) -> Self {
        Self {
            label: format!("node {id}"),
            role: Role::Node,
            key: Some(key),
        }
    }

    /// The cluster's coordinator (any key the CA certified for the role).
    pub fn coordinator() -> Self {
        Self {
            label: "the coordinator".into(),
            role: Role::Coordinator,
            key: None,
        }
    }
}

/// Why a server's certificate was refused.
#[derive(thiserror::Error)]
#[error("{label}: {reason}")]
pub struct ServerRefused {
    /// The server expected.
    pub label: String,
    /// What was wrong.
    pub reason: String,
}

/// As its message: rustls shows a refusal with `Debug` in its own error text, which ends up
/// in the client's error.
impl fmt::Debug for ServerRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A `ServerCertVerifier` that runs webpki (the cluster CA's chain, validity, host name),
/// then requires the role and, if pinned, the key of one expected server, and refuses a
/// revoked certificate: a signer node presenting another node's certificate, or the
/// operator's, is refused during the handshake, naming the node.
#[derive(Debug)]
pub struct RoleServerVerifier {
    inner: Arc<WebPkiServerVerifier>,
    expect: ExpectedServer,
    revocations: Option<Arc<Revocations>>,
}

impl RoleServerVerifier {
    /// A verifier trusting the CA in `ca` and expecting `expect`.
    pub fn new(
        ca: &Path,
        expect: ExpectedServer,
        revocations: Option<Arc<Revocations>>,
    ) -> Result<Self, TlsError> {
        let inner = WebPkiServerVerifier::builder_with_provider(roots(ca)?, provider())
            .build()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        Ok(Self {
            inner,
            expect,
            revocations,
        })
    }

    /// The grant checks alone (after webpki accepted the chain): `Ok` or what was wrong.
    pub fn check(&self, end_entity: &CertificateDer<'_>) -> Result<Peer, ServerRefused> {
        let refuse = |reason: String| ServerRefused {
            label: self.expect.label.clone(),
            reason,
        };
        let peer = Peer::from_der(end_entity).map_err(|e| refuse(e.to_string()))?;
        if peer.role != self.expect.role {
            return Err(refuse(format!(
                "presented the {} certificate {:?}, not a {} one",
                peer.role, peer.name, self.expect.role
            )));
        }
        if let Some(k) = self.expect.key {
            if peer.key_fingerprint != k {
                return Err(refuse(format!(
                    "presented the certificate of {:?} whose key {} is not the rostered key {}",
                    peer.name,
                    hex::encode(&peer.key_fingerprint[..8]),
                    hex::encode(&k[..8]),
                )));
            }
        }
        if let Some(r) = &self.revocations {
            r.check(&peer)
                .map_err(|e| refuse(format!("certificate of {:?}: {e}", peer.name)))?;
        }
        Ok(peer)
    }
}

impl ServerCertVerifier for RoleServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let refused = |e: ServerRefused| {
            tracing::warn!(error = %e, "server certificate refused");
            rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
        };
        // webpki's refusals (another CA, expired, wrong host, a certificate not for server
        // authentication, as a person's is) get the expected server's name too.
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .map_err(|e| {
                refused(ServerRefused {
                    label: self.expect.label.clone(),
                    reason: e.to_string(),
                })
            })?;
        self.check(end_entity).map_err(refused)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A client configuration that authenticates with `identity` (re-read when its files
/// change) and accepts only the server `expect` under the CA in `ca`.
pub fn client_config_expecting(
    identity: Arc<ReloadingCert>,
    ca: &Path,
    expect: ExpectedServer,
    revocations: Option<Arc<Revocations>>,
) -> Result<ClientConfig, TlsError> {
    let verifier = RoleServerVerifier::new(ca, expect, revocations)?;
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_cert_resolver(identity))
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
