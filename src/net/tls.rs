//! TLS for the cluster: a private CA, node and client certificates (rcgen), and the rustls
//! configurations for mutual TLS.
//!
//! `zkquorum init` makes one CA per cluster and signs with it every certificate the cluster
//! uses: each node's (server and client auth), the coordinator's (server auth for the client
//! API, client auth towards the nodes) and an operator client certificate. The CA's private
//! key is not written to disk: a cluster that needs new certificates is re-initialised.
//!
//! Every listener requires a client certificate signed by the CA (a client without one is
//! refused during the handshake). A node additionally pins the coordinator: requests whose
//! certificate fingerprint is not the coordinator's are answered 403 (see
//! [`crate::net::serve::PeerCert`]).

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

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
    /// rustls refused the configuration (e.g. a key that does not match its certificate).
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// A PEM certificate and its private key.
pub struct IssuedCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM (PKCS#8). Written with mode 0600.
    pub key_pem: zeroize::Zeroizing<String>,
}

/// The cluster CA, held in memory by `zkquorum init` only.
pub struct ClusterCa {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn validity(params: &mut CertificateParams) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(5 * 365);
}

impl ClusterCa {
    /// A fresh CA named after the cluster.
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
        validity(&mut params);
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Self { cert, key })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// Issues a certificate for `name`, valid for server and client authentication, with
    /// `hosts` (DNS names or IP addresses) as subject alternative names.
    pub fn issue(&self, name: &str, hosts: &[String]) -> Result<IssuedCert, TlsError> {
        let mut params = CertificateParams::new(hosts.to_vec())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        validity(&mut params);
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.cert, &self.key)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: zeroize::Zeroizing::new(key.serialize_pem()),
        })
    }
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

/// The fingerprint by which a node pins the coordinator: BLAKE3 of the certificate's DER.
pub fn fingerprint(cert: &CertificateDer<'_>) -> [u8; 32] {
    *blake3::hash(cert.as_ref()).as_bytes()
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

/// A server configuration that presents `cert`/`key` and requires a client certificate
/// signed by the CA in `ca`.
pub fn server_config(cert: &Path, key: &Path, ca: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(ca)?, provider.clone())
        .build()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(load_certs(cert)?, load_key(key)?)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client configuration that trusts only the CA in `ca` and authenticates with
/// `cert`/`key`.
pub fn client_config(cert: &Path, key: &Path, ca: &Path) -> Result<ClientConfig, TlsError> {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots(ca)?)
        .with_client_auth_cert(load_certs(cert)?, load_key(key)?)
        .map_err(|e| TlsError::Config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_certificates_load_into_mutual_tls_configs() {
        let dir = tempfile::tempdir().unwrap();
        let ca = ClusterCa::generate("test").unwrap();
        let leaf = ca
            .issue("node-1", &["localhost".into(), "127.0.0.1".into()])
            .unwrap();
        let p = |n: &str| dir.path().join(n);
        std::fs::write(p("ca.pem"), ca.cert_pem()).unwrap();
        std::fs::write(p("n.pem"), &leaf.cert_pem).unwrap();
        std::fs::write(p("n.key"), leaf.key_pem.as_bytes()).unwrap();
        server_config(&p("n.pem"), &p("n.key"), &p("ca.pem")).unwrap();
        client_config(&p("n.pem"), &p("n.key"), &p("ca.pem")).unwrap();
        // A key that is not the certificate's is refused.
        let other = ca.issue("other", &["localhost".into()]).unwrap();
        std::fs::write(p("o.key"), other.key_pem.as_bytes()).unwrap();
        match server_config(&p("n.pem"), &p("o.key"), &p("ca.pem")) {
            Err(TlsError::Config(reason)) => assert!(!reason.is_empty()),
            other => panic!("expected a TLS configuration error, got {:?}", other.err()),
        }
        // Missing and empty files name the file.
        std::fs::write(p("empty.pem"), "").unwrap();
        let err = load_certs(&p("empty.pem")).unwrap_err().to_string();
        assert!(err.contains("empty.pem"), "{err}");
        match load_certs(&p("missing.pem")) {
            Err(TlsError::Pem { path, .. }) => assert!(path.contains("missing.pem"), "{path}"),
            other => panic!(
                "expected a PEM error naming the file, got {:?}",
                other.err()
            ),
        }
    }
}
