//! The policy history in `policies`: every policy ever set, sealed (a policy is private),
//! with its public per-backend commitments in clear. Which one is proved is not decided
//! here: the governance registry names the `P` in force, and the node proves under the held
//! policy with that commitment (so neither a policy set without the admin quorum nor
//! deleted rows change what is proved).

use circuits::bn254::Bn254;
use circuits::pasta::Pasta;
use circuits::Policy;
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use zeroize::Zeroizing;

use super::{to_i64, NodeStore};
use crate::store::seal::aad;
use crate::store::{now_secs, StoreError};

/// One of the node's sealed policy histories: `policies` (the intent statement's) or
/// `spend_policies` (Bitcoin spends). Both have the same columns; a row's AAD names its
/// table, version and commitments, so a row moved between tables or versions does not open.
#[derive(Clone, Copy)]
pub(super) struct History {
    table: &'static str,
    // Spelled out per table: `StoreError::sql` takes static contexts.
    next_version: &'static str,
    insert: &'static str,
}

/// `policies`.
pub(super) const INTENT_HISTORY: History = History {
    table: "policies",
    next_version: "SELECT COALESCE(MAX(version), 0) FROM policies",
    insert: "INSERT INTO policies (version, sealed, commitment_bn254, commitment_pasta, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
};

/// `spend_policies`.
pub(super) const SPEND_HISTORY: History = History {
    table: "spend_policies",
    next_version: "SELECT COALESCE(MAX(version), 0) FROM spend_policies",
    insert: "INSERT INTO spend_policies (version, sealed, commitment_bn254, commitment_pasta, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
};

impl History {
    /// The AAD of row `version` with these commitments.
    pub(super) fn aad(self, version: u64, bn254: &str, pasta: &str) -> Vec<u8> {
        aad(
            self.table,
            &[&version.to_le_bytes(), bn254.as_bytes(), pasta.as_bytes()],
        )
    }
}

impl NodeStore {
    /// Seals `text` as the next version of `history` with its commitments (hex of their
    /// little-endian bytes) in clear, in one IMMEDIATE transaction (no two writers get the
    /// same version); returns the version (1, 2, ...).
    pub(super) fn append_sealed(
        &self,
        history: History,
        text: &str,
        bn254: &str,
        pasta: &str,
    ) -> Result<u64, StoreError> {
        let now = to_i64("time", now_secs())?;
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a policy history transaction"))?;
        let last: i64 = tx
            .query_row(history.next_version, [], |r| r.get(0))
            .map_err(StoreError::sql("reading a policy history's newest version"))?;
        let version = u64::try_from(last)
            .ok()
            .and_then(|v| v.checked_add(1))
            .ok_or_else(|| {
                StoreError::corrupt(format!("{}.version", history.table), format!("{last}"))
            })?;
        let sealed = self
            .key
            .seal(&history.aad(version, bn254, pasta), text.as_bytes())?;
        tx.execute(
            history.insert,
            params![
                to_i64("policy version", version)?,
                sealed,
                bn254,
                pasta,
                now
            ],
        )
        .map_err(StoreError::sql("inserting into a policy history"))?;
        tx.commit()
            .map_err(StoreError::sql("committing into a policy history"))?;
        Ok(version)
    }
}

/// The policy history's row count and newest version, see
/// [`NodeStore::policy_history_state`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyHistoryState {
    count: i64,
    newest: Option<i64>,
}

impl NodeStore {
    /// Appends `policy` to the policy history and makes it the active one; returns its
    /// version (1, 2, ...). The TOML text is sealed; the Groth16/BN254 and halo2/Pasta
    /// commitments `P` are stored in clear (hex of their little-endian bytes).
    pub fn set_policy(&self, policy: &Policy) -> Result<u64, StoreError> {
        let toml = Zeroizing::new(
            policy
                .to_toml_string()
                .map_err(|e| StoreError::Policy(e.to_string()))?,
        );
        let reparsed =
            Policy::from_toml_str(&toml).map_err(|e| StoreError::Policy(e.to_string()))?;
        if reparsed != *policy {
            return Err(StoreError::Policy(
                "the policy does not survive its TOML encoding".into(),
            ));
        }
        let bn254 = hex::encode(policy.commitment::<Bn254>().to_le_bytes());
        let pasta = hex::encode(policy.commitment::<Pasta>().to_le_bytes());
        self.append_sealed(INTENT_HISTORY, &toml, &bn254, &pasta)
    }

    /// Every policy of the history with its version, oldest first.
    pub fn all_policies(&self) -> Result<Vec<(u64, Policy)>, StoreError> {
        let versions: Vec<i64> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare("SELECT version FROM policies ORDER BY version")
                .map_err(StoreError::sql("reading policies"))?;
            let rows = stmt
                .query_map([], |r| r.get(0))
                .map_err(StoreError::sql("reading policies"))?;
            rows.collect::<Result<_, _>>()
                .map_err(StoreError::sql("reading policies"))?
        };
        let mut out = Vec::with_capacity(versions.len());
        for v in versions {
            let v = u64::try_from(v)
                .map_err(|_| StoreError::corrupt("policies.version", format!("{v}")))?;
            if let Some(p) = self.read_policy(Some(v))? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// The history's state: row count and newest version — one indexed read, no
    /// decryption (a running node compares it at every round 1 and reloads the history
    /// only when it moved, including when a row was deleted).
    pub fn policy_history_state(&self) -> Result<PolicyHistoryState, StoreError> {
        let (count, newest): (i64, Option<i64>) = self
            .lock()
            .query_row("SELECT count(*), max(version) FROM policies", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(StoreError::sql("reading policies"))?;
        Ok(PolicyHistoryState { count, newest })
    }

    /// The active (latest) policy and its version, if any was set.
    pub fn policy(&self) -> Result<Option<(u64, Policy)>, StoreError> {
        self.read_policy(None)
    }

    /// The version of the active policy, if any: one indexed read, no decryption (a
    /// running node checks it at every round 1 and reloads the policy only when it moved).
    pub fn active_policy_version(&self) -> Result<Option<u64>, StoreError> {
        let v: Option<i64> = self
            .lock()
            .query_row("SELECT max(version) FROM policies", [], |r| r.get(0))
            .map_err(StoreError::sql("reading policies"))?;
        v.map(|v| u64::try_from(v).map_err(|_| StoreError::corrupt("policies", "negative version")))
            .transpose()
    }

    /// Version `version` of the policy history, if it exists.
    pub fn policy_version(&self, version: u64) -> Result<Option<Policy>, StoreError> {
        Ok(self.read_policy(Some(version))?.map(|(_, p)| p))
    }

    fn read_policy(&self, version: Option<u64>) -> Result<Option<(u64, Policy)>, StoreError> {
        type Row = (i64, Vec<u8>, String, String);
        let get = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Row> {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        };
        let row: Option<Row> = {
            let conn = self.lock();
            let cols = "SELECT version, sealed, commitment_bn254, commitment_pasta FROM policies";
            match version {
                None => conn.query_row(&format!("{cols} ORDER BY version DESC LIMIT 1"), [], get),
                Some(v) => conn.query_row(
                    &format!("{cols} WHERE version = ?1"),
                    [to_i64("policy version", v)?],
                    get,
                ),
            }
            .optional()
            .map_err(StoreError::sql("reading policies"))?
        };
        let Some((version, sealed, bn254, pasta)) = row else {
            return Ok(None);
        };
        let version = u64::try_from(version)
            .map_err(|_| StoreError::corrupt("policies.version", format!("{version}")))?;
        let what = format!("policies row {version}");
        let plain = self
            .key
            .open(&what, &INTENT_HISTORY.aad(version, &bn254, &pasta), &sealed)?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| StoreError::corrupt(what.as_str(), "decrypted policy is not UTF-8"))?;
        let policy =
            Policy::from_toml_str(text).map_err(|e| StoreError::corrupt(what, e.to_string()))?;
        Ok(Some((version, policy)))
    }
}
