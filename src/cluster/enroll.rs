//! Enrollment: a signer node makes its own secrets on its own host (`zkquorum node init`),
//! and only public material leaves it.
//!
//! [`node_init`] creates the node's directory (mode 0700) with
//!
//! - `node.db` (0600): the node's BIP-340 identity key and its X25519 DKG key, sealed under
//!   the node's passphrase (Argon2id → XChaCha20-Poly1305). The passphrase comes from the
//!   caller (`ZKQUORUM_PASSPHRASE` or a `--passphrase-file` outside the directory); this
//!   function never writes it;
//! - `tls.key` (0600): a fresh TLS key, and `tls.csr`: a certificate signing request for it
//!   whose subject alternative names are the node's host names and IP addresses;
//! - `node.toml`: the node's configuration, naming `tls.pem` (the certificate the CA will
//!   return) and the shared `cluster.toml`;
//! - `enrollment.json` ([`Enrollment`]): id, URL, identity key, DKG key, hosts, the CSR and
//!   its key fingerprint — everything the admins need, nothing secret.
//!
//! The admins check the request and issue the node's certificate from it
//! (`zkquorum ca issue --role node --csr enrollment.json`), and the node's entry in the
//! roster is [`Enrollment::node_entry`]. `zkquorum init` (one machine) provisions each of
//! its nodes through this same function.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use serde_with::{hex::Hex, serde_as};
use signer::session::Identity;
use signer::{KdfParams, SignerId};

use crate::cluster::config::{
    create_private_dir, write_atomic, write_toml, NodeConfig, NodeEntry, DEFAULT_CLOCK_SKEW_SECS,
};
use crate::net::dkg_seal::HpkeKey;
use crate::net::tls::{read_csr, CertRequest, TlsError};
use crate::node::store::{IdentitySecrets, NodeStore};

/// The enrollment file's name in a node directory.
pub const ENROLLMENT_FILE: &str = "enrollment.json";
/// The node database's file name.
pub const NODE_DB_FILE: &str = "node.db";
/// The TLS key's file name (0600).
pub const TLS_KEY_FILE: &str = "tls.key";
/// The certificate signing request's file name.
pub const TLS_CSR_FILE: &str = "tls.csr";
/// The file the node's certificate is expected in once issued.
pub const TLS_CERT_FILE: &str = "tls.pem";
/// The node configuration's file name.
pub const NODE_CONFIG_FILE: &str = "node.toml";

/// What a node sends the admins: only public material.
#[serde_as]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrollment {
    /// The node's signer id.
    pub id: SignerId,
    /// The URL the coordinator will call it at (`https://host:port`).
    pub url: String,
    /// Its BIP-340 identity key (x-only).
    #[serde_as(as = "Hex")]
    pub identity_key: [u8; 32],
    /// Its X25519 DKG key.
    #[serde_as(as = "Hex")]
    pub hpke_key: [u8; 32],
    /// The host names and IP addresses its certificate is requested for.
    pub hosts: Vec<String>,
    /// The certificate signing request, PEM.
    pub csr: String,
    /// The key fingerprint of the request ([`crate::net::tls::key_fingerprint`]): what the
    /// roster pins.
    #[serde_as(as = "Hex")]
    pub tls_fingerprint: [u8; 32],
}

impl Enrollment {
    /// Reads an enrollment file and [checks](Self::check) it.
    pub fn load(path: &Path) -> Result<Self, EnrollError> {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        let e: Self = serde_json::from_str(&text).map_err(|e| EnrollError::Invalid {
            what: path.display().to_string(),
            reason: e.to_string(),
        })?;
        e.check()?;
        Ok(e)
    }

    /// Checks what can be checked without the node: the request's self-signature, that its
    /// key and hosts are the ones listed, and that the URL is https to one of those hosts
    /// (else the coordinator could not verify the node's name).
    pub fn check(&self) -> Result<(), EnrollError> {
        let invalid = |reason: String| EnrollError::Invalid {
            what: format!("enrollment of node {}", self.id),
            reason,
        };
        let csr = read_csr(&self.csr).map_err(|e| invalid(e.to_string()))?;
        if csr.key_fingerprint != self.tls_fingerprint {
            return Err(invalid(
                "tls_fingerprint is not the key of the request".into(),
            ));
        }
        let mut asked = csr.hosts.clone();
        let mut listed = self.hosts.clone();
        asked.sort();
        listed.sort();
        if asked != listed {
            return Err(invalid(format!(
                "the request asks for hosts {asked:?}, the enrollment lists {listed:?}"
            )));
        }
        let host = url_host(&self.url).map_err(invalid)?;
        if !self.hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
            return Err(invalid(format!(
                "the url's host {host:?} is not among the requested hosts {:?}",
                self.hosts
            )));
        }
        Ok(())
    }

    /// The node's entry in `cluster.toml` (the roster).
    pub fn node_entry(&self) -> NodeEntry {
        NodeEntry {
            id: self.id,
            url: self.url.clone(),
            identity_key: self.identity_key,
            hpke_key: self.hpke_key,
            tls_fingerprint: self.tls_fingerprint,
        }
    }
}

/// The host of an `https://` URL.
fn url_host(url: &str) -> Result<String, String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("url {url:?}: {e}"))?;
    if u.scheme() != "https" {
        return Err(format!("url {url:?} is not https"));
    }
    // `host_str` writes an IPv6 address in brackets; certificates hold it bare.
    u.host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
        .ok_or_else(|| format!("url {url:?} has no host"))
}

/// How to make a node.
#[derive(Clone, Debug)]
pub struct NodeInitOptions {
    /// Its signer id.
    pub id: SignerId,
    /// The URL the coordinator will call it at.
    pub url: String,
    /// Host names / IP addresses for its certificate; empty: the URL's host alone.
    pub hosts: Vec<String>,
    /// The address it listens on (written to `node.toml`).
    pub listen: SocketAddr,
    /// The shared cluster file as `node.toml` names it (relative to the node directory).
    pub cluster: PathBuf,
    /// A passphrase file for `node.toml` to name, if any (never written here).
    pub passphrase_file: Option<PathBuf>,
    /// Argon2id cost of the database passphrase.
    pub kdf: KdfParams,
}

/// Why a node could not be made or its enrollment used.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    /// The options or an enrollment are not usable.
    #[error("{what}: {reason}")]
    Invalid {
        /// What was wrong (a file, a node, an option).
        what: String,
        /// Why.
        reason: String,
    },
    /// The directory exists and is not empty: a node is never overwritten.
    #[error("{0} exists and is not empty; a node directory is never overwritten")]
    NotEmpty(PathBuf),
    /// A file or directory could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TLS key or request could not be made.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The node database could not be created.
    #[error("node {id} database: {source}")]
    Store {
        /// The node.
        id: SignerId,
        /// The store error.
        source: crate::store::StoreError,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EnrollError + '_ {
    move |source| EnrollError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Makes node `opts.id` in `dir` (absent or empty): its sealed database, TLS key and
/// request, `node.toml` and `enrollment.json` (see the module documentation). `passphrase`
/// seals the database; it is not written anywhere.
pub fn node_init(
    dir: &Path,
    opts: &NodeInitOptions,
    passphrase: &[u8],
) -> Result<Enrollment, EnrollError> {
    let invalid = |reason: String| EnrollError::Invalid {
        what: format!("node {}", opts.id),
        reason,
    };
    if passphrase.is_empty() {
        return Err(invalid("the passphrase is empty".into()));
    }
    let host = url_host(&opts.url).map_err(invalid)?;
    let hosts = if opts.hosts.is_empty() {
        vec![host.clone()]
    } else {
        opts.hosts.clone()
    };
    if !hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
        return Err(invalid(format!(
            "the url's host {host:?} is not among --host {hosts:?}"
        )));
    }
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io_err(dir))?;
        if entries.next().is_some() {
            return Err(EnrollError::NotEmpty(dir.to_path_buf()));
        }
    }
    create_private_dir(dir).map_err(io_err(dir))?;

    let identity = Identity::random(&mut OsRng);
    let hpke = HpkeKey::generate(&mut OsRng);
    let db = dir.join(NODE_DB_FILE);
    // SQLite creates files with the process umask (0644 typically) and gives its -wal and
    // -shm files the database's mode: made 0600 first, all three stay private.
    create_secret_file(&db)?;
    NodeStore::create(
        &db,
        opts.id,
        passphrase,
        opts.kdf,
        &IdentitySecrets {
            signing: identity.to_bytes(),
            hpke: hpke.secret_bytes(),
        },
    )
    .map_err(|source| EnrollError::Store {
        id: opts.id,
        source,
    })?;

    let request = CertRequest::generate(&format!("node-{}", opts.id.get()), &hosts)?;
    let key = dir.join(TLS_KEY_FILE);
    write_atomic(&key, request.key_pem.as_bytes(), true).map_err(io_err(&key))?;
    let csr = dir.join(TLS_CSR_FILE);
    write_atomic(&csr, request.csr_pem.as_bytes(), false).map_err(io_err(&csr))?;

    let config = NodeConfig {
        id: opts.id,
        listen: opts.listen,
        db: NODE_DB_FILE.into(),
        tls_cert: TLS_CERT_FILE.into(),
        tls_key: TLS_KEY_FILE.into(),
        passphrase_file: opts.passphrase_file.clone(),
        cluster: opts.cluster.clone(),
        max_clock_skew_secs: DEFAULT_CLOCK_SKEW_SECS,
        warm_provers: false,
    };
    let toml = dir.join(NODE_CONFIG_FILE);
    write_toml(&toml, &config).map_err(io_err(&toml))?;

    let enrollment = Enrollment {
        id: opts.id,
        url: opts.url.clone(),
        identity_key: identity.public_key(),
        hpke_key: hpke.public_bytes(),
        hosts,
        tls_fingerprint: read_csr(&request.csr_pem)?.key_fingerprint,
        csr: request.csr_pem,
    };
    let path = dir.join(ENROLLMENT_FILE);
    let json = serde_json::to_string_pretty(&enrollment).map_err(|e| EnrollError::Invalid {
        what: path.display().to_string(),
        reason: e.to_string(),
    })?;
    write_atomic(&path, json.as_bytes(), false).map_err(io_err(&path))?;
    Ok(enrollment)
}

/// Creates an empty file with mode 0600 (refusing one that exists).
fn create_secret_file(path: &Path) -> Result<(), EnrollError> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    open.open(path).map_err(io_err(path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(id: u16, host: &str) -> NodeInitOptions {
        NodeInitOptions {
            id: SignerId::new(id).unwrap(),
            url: format!("https://{host}:7701"),
            hosts: vec![host.to_string(), "localhost".into()],
            listen: "127.0.0.1:7701".parse().unwrap(),
            cluster: "cluster.toml".into(),
            passphrase_file: None,
            kdf: crate::store::seal::TEST_KDF,
        }
    }

    #[test]
    fn enrollment_holds_public_material_only_and_checks() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("n1");
        let e = node_init(&dir, &opts(1, "10.0.0.1"), b"pass").unwrap();
        e.check().unwrap();
        let text = std::fs::read_to_string(dir.join(ENROLLMENT_FILE)).unwrap();
        assert!(!text.contains("PRIVATE"), "{text}");
        assert_eq!(Enrollment::load(&dir.join(ENROLLMENT_FILE)).unwrap(), e);
        assert_eq!(e.hosts, vec!["10.0.0.1".to_string(), "localhost".into()]);
        // The database opens with the passphrase and holds the listed identity.
        let store = NodeStore::open(&dir.join(NODE_DB_FILE), b"pass").unwrap();
        let id = Identity::from_bytes(&store.identity().unwrap().signing).unwrap();
        assert_eq!(id.public_key(), e.identity_key);

        // Tampering is named: another key's fingerprint, hosts the request does not ask
        // for, a url outside the hosts.
        let mut bad = e.clone();
        bad.tls_fingerprint[0] ^= 1;
        assert!(bad
            .check()
            .unwrap_err()
            .to_string()
            .contains("tls_fingerprint"));
        let mut bad = e.clone();
        bad.hosts.push("evil.example".into());
        assert!(bad
            .check()
            .unwrap_err()
            .to_string()
            .contains("asks for hosts"));
        let mut bad = e.clone();
        bad.url = "https://10.9.9.9:7701".into();
        assert!(bad.check().unwrap_err().to_string().contains("not among"));

        // A non-empty directory is never overwritten; a url host not among the hosts and
        // an empty passphrase are refused before anything is written.
        assert!(matches!(
            node_init(&dir, &opts(1, "10.0.0.1"), b"pass"),
            Err(EnrollError::NotEmpty(_))
        ));
        let mut o = opts(2, "10.0.0.2");
        o.hosts = vec!["10.0.0.3".into()];
        let other = tmp.path().join("n2");
        assert!(node_init(&other, &o, b"pass").is_err());
        assert!(node_init(&other, &opts(2, "10.0.0.2"), b"").is_err());
        assert!(!other.exists());
    }

    #[cfg(unix)]
    #[test]
    fn secrets_are_0600_in_a_0700_directory() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("n1");
        node_init(&dir, &opts(1, "127.0.0.1"), b"pass").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        for f in [NODE_DB_FILE, TLS_KEY_FILE] {
            assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            assert_eq!(mode(&p) & 0o077, 0, "{} is readable by others", p.display());
        }
    }
}
