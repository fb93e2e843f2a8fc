//! Configuration files (TOML) of a cluster, as `zkquorum init` writes them.
//!
//! - `cluster.toml`, shared: threshold, backend, proving-key directory, CA, the
//!   coordinator's certificate (its key pinned by the nodes), the revocation list's path, the
//!   admins' trust root, and every node's id, URL, identity key, DKG encryption key and TLS
//!   key fingerprint (pinned by the coordinator);
//! - `node-<i>/node.toml`: a signer node's listen address, database, TLS files, passphrase;
//! - `coordinator/coordinator.toml`: the coordinator's listen address, database, TLS files,
//!   timeouts;
//! - `client/client.toml` (and `client-admin/`, `client-auditor/`): how the CLI reaches the
//!   coordinator's client API, with which certificate (role).
//!
//! Relative paths are relative to the file that names them. Unknown fields are refused, so
//! a misspelt setting is an error rather than a silent default. The CLI overrides the
//! listen address, the database and the coordinator URL from flags or the environment
//! (`ZKQUORUM_LISTEN`, `ZKQUORUM_DB`, `ZKQUORUM_COORDINATOR_URL`), and a node's passphrase
//! from `ZKQUORUM_PASSPHRASE`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use circuits::BackendId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_with::{hex::Hex, serde_as};
use signer::{SignerId, Threshold};

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this kind of configuration.
    #[error("{path}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// The values are inconsistent.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
}

/// The proof backend as configuration files and API replies write it: its short name
/// (`groth16`, `halo2`, see [`BackendId::short_name`]), for `#[serde(with = ...)]` (the one
/// implementation, shared with governance records).
pub use verifier::governance::backend_name;

/// One node as every member of the cluster knows it.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEntry {
    /// The node's signer id (`1..=n`).
    pub id: SignerId,
    /// Base URL of its API, e.g. `https://127.0.0.1:7701`.
    pub url: String,
    /// Its BIP-340 identity key (x-only), which signs its session replies.
    #[serde_as(as = "Hex")]
    pub identity_key: [u8; 32],
    /// Its X25519 key, to which DKG secret shares for it are encrypted (HPKE).
    #[serde_as(as = "Hex")]
    pub hpke_key: [u8; 32],
    /// The fingerprint of its TLS key ([`crate::net::tls::key_fingerprint`]: BLAKE3 of the
    /// certificate's SubjectPublicKeyInfo). The coordinator talks to this node only if the
    /// server at `url` presents a node certificate with this key; a certificate renewed from
    /// the node's request keeps it.
    #[serde_as(as = "Hex")]
    pub tls_fingerprint: [u8; 32],
}

/// `cluster.toml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// A name for people and certificates.
    pub name: String,
    /// Signers needed for a signature.
    pub threshold: u16,
    /// The proof system.
    #[serde(with = "backend_name")]
    pub backend: BackendId,
    /// Directory of the Groth16 keys (`zkquorum init` runs the setup); unused for halo2.
    pub keys_dir: PathBuf,
    /// The cluster CA certificate (PEM).
    pub ca: PathBuf,
    /// The coordinator's certificate: nodes serve only requests authenticated with a
    /// coordinator certificate of its key.
    pub coordinator_cert: PathBuf,
    /// The revocation list every server enforces and reloads when it changes
    /// ([`crate::net::revocation`]); `revoked.txt` next to this file unless set. A missing
    /// file revokes nothing.
    #[serde(default = "default_revoked")]
    pub revoked: PathBuf,
    /// The policy admins' trust root (JSON, see `verifier::governance::TrustRoot`): the
    /// keys and threshold every governance record is checked against. Defaults to
    /// `trust-root.json` next to this file.
    #[serde(default = "default_trust_root")]
    pub trust_root: PathBuf,
    /// The Bitcoin network the cluster's keys spend on (`bitcoin`, `testnet`, `signet`,
    /// `regtest`); none: the cluster signs no Bitcoin spends. Nodes take it from here, not
    /// from the coordinator's request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// The spend size classes (by output slots: 2, 16, 256) whose keys are in `keys_dir`
    /// (Groth16; halo2's are recomputed) and pinned in the roster. A spend with more
    /// external outputs than the largest is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spend_classes: Vec<u16>,
    /// Every node, ordered by id.
    pub nodes: Vec<NodeEntry>,
}

fn default_revoked() -> PathBuf {
    crate::net::revocation::REVOKED_FILE.into()
}

fn default_trust_root() -> PathBuf {
    verifier::governance::trust::TRUST_ROOT_FILE.into()
}

impl ClusterConfig {
    /// The threshold as a checked `t`-of-`n`.
    pub fn threshold(&self) -> Threshold {
        // Checked in `load`.
        Threshold::new(self.threshold, self.nodes.len() as u16)
            .unwrap_or_else(|_| unreachable!("validated on load"))
    }

    /// The Bitcoin network the cluster spends on, if it signs spends.
    pub fn bitcoin_network(&self) -> Option<verifier::bitcoin::Network> {
        // Checked in `load`.
        self.network
            .as_deref()
            .and_then(|n| verifier::bitcoin::parse_network(n).ok())
    }

    /// The spend size classes the cluster signs, smallest first.
    pub fn spend_classes(&self) -> Vec<circuits::spend::SizeClass> {
        // Checked in `load`.
        let mut classes: Vec<_> = self
            .spend_classes
            .iter()
            .filter_map(|s| verifier::keys::spend_class(usize::from(*s)).ok())
            .collect();
        classes.sort();
        classes
    }

    /// The node with id `id`.
    pub fn node(&self, id: SignerId) -> Option<&NodeEntry> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The identity keys of all nodes, as sessions check them.
    pub fn roster(&self) -> signer::session::Roster {
        self.nodes.iter().map(|n| (n.id, n.identity_key)).collect()
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            path: path.display().to_string(),
            reason,
        };
        let n = u16::try_from(self.nodes.len()).map_err(|_| invalid("too many nodes".into()))?;
        Threshold::new(self.threshold, n).map_err(|e| invalid(e.to_string()))?;
        for (i, node) in self.nodes.iter().enumerate() {
            if node.id.get() as usize != i + 1 {
                return Err(invalid(format!(
                    "nodes must be listed by id 1..={n}; entry {} has id {}",
                    i + 1,
                    node.id
                )));
            }
            if !node.url.starts_with("https://") {
                return Err(invalid(format!(
                    "node {} url {:?} is not https",
                    node.id, node.url
                )));
            }
            // The coordinator picks the pinned client for a call by its URL.
            if let Some(other) = self.nodes[..i].iter().find(|o| o.url == node.url) {
                return Err(invalid(format!(
                    "nodes {} and {} share the url {:?}",
                    other.id, node.id, node.url
                )));
            }
        }
        if let Some(name) = &self.network {
            verifier::bitcoin::parse_network(name).map_err(|e| invalid(e.to_string()))?;
        }
        for (i, slots) in self.spend_classes.iter().enumerate() {
            verifier::keys::spend_class(usize::from(*slots))
                .map_err(|e| invalid(format!("spend_classes: {e}")))?;
            if self.spend_classes[..i].contains(slots) {
                return Err(invalid(format!("spend_classes: {slots} listed twice")));
            }
        }
        Ok(())
    }
}

/// The default largest accepted difference between the coordinator's session time and a
/// node's clock (the auditor allows this plus the request timeout between a record's session
/// time and its append time, see `verifier::audit::DEFAULT_MAX_SKEW_SECS`).
pub const DEFAULT_CLOCK_SKEW_SECS: u64 = 30;

/// `node.toml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// This node's signer id.
    pub id: SignerId,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The node's SQLite database.
    pub db: PathBuf,
    /// Server/client certificate (PEM).
    pub tls_cert: PathBuf,
    /// Its private key (PEM).
    pub tls_key: PathBuf,
    /// A file holding the database passphrase (`ZKQUORUM_PASSPHRASE` overrides it).
    pub passphrase_file: Option<PathBuf>,
    /// The shared cluster file.
    pub cluster: PathBuf,
    /// Largest accepted difference between the coordinator's session time and this
    /// node's clock, in seconds (the policy's time rules are evaluated at that time).
    #[serde(default = "default_skew")]
    pub max_clock_skew_secs: u64,
    /// Build the provers' per-key tables (Groth16 fixed-base tables, within
    /// `ZKQ_FIXED_BASE_MB`) in the background at startup, so that the first session does
    /// not pay for them. Off by default: a node then builds them at its first proof.
    #[serde(default)]
    pub warm_provers: bool,
}

fn default_skew() -> u64 {
    DEFAULT_CLOCK_SKEW_SECS
}

/// `coordinator.toml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinatorConfig {
    /// Address of the client API.
    pub listen: SocketAddr,
    /// The coordinator's SQLite database (keys, requests, audit log).
    pub db: PathBuf,
    /// Server/client certificate (PEM).
    pub tls_cert: PathBuf,
    /// Its private key (PEM).
    pub tls_key: PathBuf,
    /// The shared cluster file.
    pub cluster: PathBuf,
    /// How long one call to a signer may take before the signer is replaced.
    #[serde(default = "default_signer_timeout")]
    pub signer_timeout_secs: u64,
    /// How long a whole client request (a DKG or a signing) may take.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// The largest reply body read from a node, bytes (default 4 MiB); a larger reply is
    /// refused unread. Not written by `init` unless it differs from the default.
    #[serde(
        default = "default_max_reply_bytes",
        skip_serializing_if = "is_default_max_reply_bytes"
    )]
    pub max_reply_bytes: usize,
}

fn default_signer_timeout() -> u64 {
    30
}

fn default_max_reply_bytes() -> usize {
    crate::net::client::DEFAULT_REPLY_LIMIT
}

fn is_default_max_reply_bytes(n: &usize) -> bool {
    *n == default_max_reply_bytes()
}

fn default_request_timeout() -> u64 {
    120
}

impl CoordinatorConfig {
    /// [`Self::signer_timeout_secs`] as a duration.
    pub fn signer_timeout(&self) -> Duration {
        Duration::from_secs(self.signer_timeout_secs)
    }
}

/// `client.toml`: how the CLI (`keygen`, `sign`) reaches the coordinator.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Base URL of the coordinator's client API.
    pub coordinator_url: String,
    /// The cluster CA certificate (PEM).
    pub ca: PathBuf,
    /// The client certificate (PEM).
    pub tls_cert: PathBuf,
    /// Its private key (PEM).
    pub tls_key: PathBuf,
}

/// Reads a TOML configuration and makes its relative paths absolute.
fn read<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn resolve(base: &Path, p: &mut PathBuf) {
    if p.is_relative() {
        *p = base.join(&*p);
    }
}

fn dir_of(path: &Path) -> PathBuf {
    path.parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

impl ClusterConfig {
    /// Loads and validates `cluster.toml`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let mut c: Self = read(path)?;
        let base = dir_of(path);
        for p in [
            &mut c.keys_dir,
            &mut c.ca,
            &mut c.coordinator_cert,
            &mut c.revoked,
            &mut c.trust_root,
        ] {
            resolve(&base, p);
        }
        c.validate(path)?;
        Ok(c)
    }
}

impl NodeConfig {
    /// Loads `node.toml` and the cluster file it names; checks that this node is in it.
    pub fn load(path: &Path) -> Result<(Self, ClusterConfig), ConfigError> {
        let mut c: Self = read(path)?;
        let base = dir_of(path);
        for p in [&mut c.db, &mut c.tls_cert, &mut c.tls_key, &mut c.cluster] {
            resolve(&base, p);
        }
        if let Some(p) = c.passphrase_file.as_mut() {
            resolve(&base, p);
        }
        let cluster = ClusterConfig::load(&c.cluster)?;
        if cluster.node(c.id).is_none() {
            return Err(ConfigError::Invalid {
                path: path.display().to_string(),
                reason: format!("node {} is not in {}", c.id, c.cluster.display()),
            });
        }
        Ok((c, cluster))
    }

    /// The database passphrase: `ZKQUORUM_PASSPHRASE` if set, else the passphrase file.
    pub fn passphrase(&self) -> Result<zeroize::Zeroizing<String>, ConfigError> {
        if let Ok(p) = std::env::var("ZKQUORUM_PASSPHRASE") {
            return Ok(zeroize::Zeroizing::new(p));
        }
        let path = self
            .passphrase_file
            .as_ref()
            .ok_or_else(|| ConfigError::Invalid {
                path: "node.toml".into(),
                reason: "no passphrase: set ZKQUORUM_PASSPHRASE or passphrase_file".into(),
            })?;
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Ok(zeroize::Zeroizing::new(
            text.trim_end_matches(['\r', '\n']).to_string(),
        ))
    }
}

impl CoordinatorConfig {
    /// Loads `coordinator.toml` and the cluster file it names.
    pub fn load(path: &Path) -> Result<(Self, ClusterConfig), ConfigError> {
        let mut c: Self = read(path)?;
        let base = dir_of(path);
        for p in [&mut c.db, &mut c.tls_cert, &mut c.tls_key, &mut c.cluster] {
            resolve(&base, p);
        }
        let cluster = ClusterConfig::load(&c.cluster)?;
        Ok((c, cluster))
    }
}

impl ClientConfig {
    /// Loads `client.toml`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let mut c: Self = read(path)?;
        let base = dir_of(path);
        for p in [&mut c.ca, &mut c.tls_cert, &mut c.tls_key] {
            resolve(&base, p);
        }
        Ok(c)
    }
}

/// Writes `value` as TOML to `path` atomically (temporary file, fsync, rename).
pub fn write_toml<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let text = toml::to_string_pretty(value).map_err(std::io::Error::other)?;
    write_atomic(path, text.as_bytes(), false)
}

/// Creates the directory `path` (its parents as needed) with mode 0700 on Unix: directories
/// holding a node's or a person's secrets are readable by their owner only.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)?;
    // `mode` is filtered by the umask and not applied to a directory that existed.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically; `secret` files get mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> std::io::Result<()> {
    use std::io::Write;
    let dir = dir_of(path);
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE: &str = r#"
        id = 2
        listen = "127.0.0.1:7002"
        db = "node.db"
        tls_cert = "node.crt"
        tls_key = "node.key"
        cluster = "../cluster.toml"
    "#;

    #[test]
    fn a_node_warms_its_provers_only_when_its_config_asks() {
        let plain: NodeConfig = toml::from_str(NODE).unwrap();
        assert!(!plain.warm_provers);
        let warm: NodeConfig = toml::from_str(&format!("{NODE}\nwarm_provers = true")).unwrap();
        assert!(warm.warm_provers);
        let bad = toml::from_str::<NodeConfig>(&format!("{NODE}\nwarm_provers = \"yes\""));
        assert!(bad.unwrap_err().to_string().contains("warm_provers"));
    }
}
