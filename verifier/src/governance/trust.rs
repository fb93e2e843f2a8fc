//! The trust root of a cluster's governance: who the policy admins are and how many of them
//! must approve a record. It is written once by `zkquorum init` (`trust-root.json`), copied
//! to every party, and never changed by a record: replacing an admin is a new trust root,
//! distributed out of band.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::GovernanceError;
use super::serde_hex;
use crate::bip340::XOnlyPublicKey;

/// The file name `init` writes the trust root to, next to `cluster.toml`.
pub const TRUST_ROOT_FILE: &str = "trust-root.json";

/// The admins of one cluster and their threshold `k` (of `m` = `admins.len()`).
///
/// JSON: `{"cluster": "...", "admins": ["<64 hex>", ...], "threshold": k}`. A value of this
/// type is validated ([`TrustRoot::new`], [`TrustRoot::from_json`]): the cluster is named,
/// `1 <= k <= m`, and the keys are distinct x-only secp256k1 points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrustRoot {
    cluster: String,
    #[serde(with = "serde_hex::list")]
    admins: Vec<[u8; 32]>,
    threshold: u16,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustRootFile {
    cluster: String,
    #[serde(with = "serde_hex::list")]
    admins: Vec<[u8; 32]>,
    threshold: u16,
}

impl TrustRoot {
    /// A validated trust root: [`GovernanceError::EmptyCluster`],
    /// [`GovernanceError::BadAdminThreshold`], [`GovernanceError::DuplicateAdmin`] or
    /// [`GovernanceError::InvalidAdminKey`] otherwise.
    pub fn new(
        cluster: impl Into<String>,
        admins: Vec<[u8; 32]>,
        threshold: u16,
    ) -> Result<Self, GovernanceError> {
        let cluster = cluster.into();
        if cluster.trim().is_empty() {
            return Err(GovernanceError::EmptyCluster);
        }
        if threshold == 0 || usize::from(threshold) > admins.len() {
            return Err(GovernanceError::BadAdminThreshold {
                threshold,
                admins: admins.len(),
            });
        }
        for (i, admin) in admins.iter().enumerate() {
            if XOnlyPublicKey::from_bytes(admin).is_err() {
                return Err(GovernanceError::InvalidAdminKey {
                    admin: hex::encode(admin),
                });
            }
            if admins[..i].contains(admin) {
                return Err(GovernanceError::DuplicateAdmin {
                    admin: hex::encode(admin),
                });
            }
        }
        Ok(Self {
            cluster,
            admins,
            threshold,
        })
    }

    /// Parses and validates the JSON form.
    pub fn from_json(text: &str) -> Result<Self, GovernanceError> {
        let f: TrustRootFile = serde_json::from_str(text).map_err(|e| GovernanceError::Decode {
            what: "trust root",
            reason: e.to_string(),
        })?;
        Self::new(f.cluster, f.admins, f.threshold)
    }

    /// Reads and validates a trust root file.
    pub fn load(path: &Path) -> Result<Self, GovernanceError> {
        let text = std::fs::read_to_string(path).map_err(|e| GovernanceError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_json(&text).map_err(|e| GovernanceError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }

    /// The pretty-printed JSON form.
    pub fn to_json(&self) -> String {
        // Plain strings and numbers: serialisation cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The cluster's name (records for another cluster are refused).
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The admins' x-only keys, in the order of the file.
    pub fn admins(&self) -> &[[u8; 32]] {
        &self.admins
    }

    /// `k`: distinct admin approvals a record needs.
    pub fn threshold(&self) -> u16 {
        self.threshold
    }

    /// Whether `key` is one of the admins.
    pub fn is_admin(&self, key: &[u8; 32]) -> bool {
        self.admins.contains(key)
    }
}
