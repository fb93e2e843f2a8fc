//! The spend-policy history in `spend_policies`: every Bitcoin spend policy file ever set,
//! sealed (the allowlist and limits are private), with its public per-backend commitments
//! in clear. As for intent policies, the governance registry decides which one is proved
//! (`spend_policy` records name its `P`); a policy set here without the admins' record is
//! held but never used.
//!
//! The file's own text is what is sealed: it is re-parsed on every load
//! ([`verifier::bitcoin::spend_policy_from_toml`]), so what is proved is always what the
//! operator wrote.

use circuits::bn254::Bn254;
use circuits::pasta::Pasta;
use circuits::spend::SpendPolicy;
use verifier::bitcoin::spend_policy_from_toml;

use super::policies::SPEND_HISTORY;
use super::NodeStore;
use crate::store::StoreError;

impl NodeStore {
    /// Parses the spend policy file `text`, appends it to the history and returns its
    /// version and policy. A file that does not parse is refused, naming the entry.
    pub fn set_spend_policy(&self, text: &str) -> Result<(u64, SpendPolicy), StoreError> {
        let policy = spend_policy_from_toml(text).map_err(|e| StoreError::Policy(e.to_string()))?;
        let bn254 = hex::encode(policy.commitment::<Bn254>().to_le_bytes());
        let pasta = hex::encode(policy.commitment::<Pasta>().to_le_bytes());
        let version = self.append_sealed(SPEND_HISTORY, text, &bn254, &pasta)?;
        Ok((version, policy))
    }

    /// Every spend policy of the history with its version, oldest first.
    pub fn spend_policies(&self) -> Result<Vec<(u64, SpendPolicy)>, StoreError> {
        type Row = (i64, Vec<u8>, String, String);
        let rows: Vec<Row> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare(
                    "SELECT version, sealed, commitment_bn254, commitment_pasta
                     FROM spend_policies ORDER BY version",
                )
                .map_err(StoreError::sql("reading spend_policies"))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .map_err(StoreError::sql("reading spend_policies"))?;
            rows.collect::<Result<_, _>>()
                .map_err(StoreError::sql("reading spend_policies"))?
        };
        rows.into_iter()
            .map(|(version, sealed, bn254, pasta)| {
                let version = u64::try_from(version).map_err(|_| {
                    StoreError::corrupt("spend_policies.version", format!("{version}"))
                })?;
                let what = format!("spend_policies row {version}");
                let plain =
                    self.key
                        .open(&what, &SPEND_HISTORY.aad(version, &bn254, &pasta), &sealed)?;
                let text = std::str::from_utf8(&plain).map_err(|_| {
                    StoreError::corrupt(what.as_str(), "decrypted spend policy is not UTF-8")
                })?;
                let policy = spend_policy_from_toml(text)
                    .map_err(|e| StoreError::corrupt(what.as_str(), e.to_string()))?;
                if hex::encode(policy.commitment::<Bn254>().to_le_bytes()) != bn254 {
                    return Err(StoreError::corrupt(what, "commitment does not match"));
                }
                Ok((version, policy))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::seal::TEST_KDF;

    fn text(max_total: u64) -> String {
        format!(
            "network = \"regtest\"\nmax_total_sat = {max_total}\nmax_fee_sat = 1000\n\
             not_before = 0\nallowlist = [\"bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080\"]\n\
             salt = \"{}\"\n",
            "ab".repeat(32)
        )
    }

    #[test]
    fn spend_policies_round_trip_sealed_and_bad_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = NodeStore::create(
            &dir.path().join("n.db"),
            signer::SignerId::new(1).unwrap(),
            b"pass",
            TEST_KDF,
            &crate::node::store::IdentitySecrets {
                signing: zeroize::Zeroizing::new([1; 32]),
                hpke: zeroize::Zeroizing::new([2; 32]),
            },
        )
        .unwrap();
        assert_eq!(store.set_spend_policy(&text(5000)).unwrap().0, 1);
        assert_eq!(store.set_spend_policy(&text(9000)).unwrap().0, 2);
        let all = store.spend_policies().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].1.max_total(), 9000);
        // The allowlist is not stored in clear.
        let raw = std::fs::read(dir.path().join("n.db")).unwrap();
        assert!(!raw.windows(10).any(|w| w == b"bcrt1qw508"));
        let bad = text(1).replace("bcrt1q", "bc1q");
        assert!(matches!(
            store.set_spend_policy(&bad),
            Err(StoreError::Policy(m)) if m.contains("allowlist entry 0")
        ));
        assert_eq!(store.spend_policies().unwrap().len(), 2);
    }
}
