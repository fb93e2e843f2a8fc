//! The auditor's side of [witnessed checkpoints](super::checkpoint): which prefix of the log
//! at least `min` rostered nodes signed, checked while the log streams by.

use std::collections::{BTreeMap, HashMap};

use super::checkpoint::Witnesses;
use super::error::{AuditError, AuditFailure};
use super::keys::AuditKeys;
use crate::bip340::verify_bip340;
use crate::registered::Rostered;

/// One signature awaiting its record: who signed, with which identity key, which head.
struct Vouch {
    signer_id: u16,
    identity_key: [u8; 32],
    head: [u8; 32],
}

/// The witness signatures still standing, by the size they vouch for.
pub(super) struct WitnessCheck {
    /// `None`: no witnesses were given, nothing is checked.
    min: Option<usize>,
    /// size -> each valid signature at that size.
    pending: BTreeMap<u64, Vec<Vouch>>,
    /// Sizes vouched for, by signer (valid so far).
    vouched: HashMap<u16, u64>,
}

impl WitnessCheck {
    /// Checks every signature on its own (BIP-340 over its message, a rostered identity at
    /// its time, one per signer); failures go to `out`. The identity must also be rostered
    /// at the time of the last record it covers ([`Self::line`]): a signature's `time` is
    /// the witness's own word, the record's time is in the log.
    pub(super) fn new(keys: &AuditKeys, out: &mut Vec<AuditFailure>) -> Self {
        let mut check = Self {
            min: None,
            pending: BTreeMap::new(),
            vouched: HashMap::new(),
        };
        let Some((witnesses, min)) = keys.witnesses() else {
            return check;
        };
        check.min = Some(min);
        let Witnesses { log_id, signatures } = witnesses;
        let mut fail = |signer_id, size: u64, reason: String| {
            out.push(AuditFailure {
                index: size.saturating_sub(1),
                reason: AuditError::Witness { signer_id, reason },
            })
        };
        for w in signatures {
            if let Err(e) = verify_bip340(&w.identity_key, &w.message(log_id), &w.signature) {
                fail(
                    w.signer_id,
                    w.size,
                    format!("signature over size {}: {e}", w.size),
                );
                continue;
            }
            match keys.rostered_identity(w.signer_id, w.time) {
                Rostered::Member(k) if k == w.identity_key => {}
                Rostered::Untracked => {}
                _ => {
                    fail(
                        w.signer_id,
                        w.size,
                        format!("signed at {} with a key the roster does not name", w.time),
                    );
                    continue;
                }
            }
            if check.vouched.insert(w.signer_id, w.size).is_some() {
                fail(w.signer_id, w.size, "more than one signature".into());
                check.vouched.remove(&w.signer_id);
                continue;
            }
            if w.size == 0 {
                // The empty log vouches for nothing.
                continue;
            }
            check.pending.entry(w.size).or_default().push(Vouch {
                signer_id: w.signer_id,
                identity_key: w.identity_key,
                head: w.head,
            });
        }
        // A signer named twice vouches for nothing.
        for list in check.pending.values_mut() {
            list.retain(|v| check.vouched.contains_key(&v.signer_id));
        }
        check
    }

    /// Line `index` has chain hash `head` and `time` (`None`: not a readable record): the
    /// signatures over size `index + 1` must name that head, by an identity the roster in
    /// force at `time` names.
    pub(super) fn line(
        &mut self,
        index: u64,
        head: &[u8; 32],
        time: Option<u64>,
        keys: &AuditKeys,
        out: &mut Vec<AuditFailure>,
    ) {
        let Some(signed) = self.pending.remove(&(index + 1)) else {
            return;
        };
        for Vouch {
            signer_id,
            identity_key,
            head: h,
        } in signed
        {
            let reason = if h != *head {
                format!(
                    "signed a log whose line {index} has chain hash {}, this one has {}: \
                     the log was rewritten or forked",
                    hex::encode(h),
                    hex::encode(head)
                )
            } else {
                match time.map(|t| (t, keys.rostered_identity(signer_id, t))) {
                    Some((_, Rostered::Member(k))) if k == identity_key => continue,
                    Some((_, Rostered::Untracked)) => continue,
                    Some((t, _)) => format!(
                        "vouches for record {index} (time {t}) with a key the roster in force \
                         then does not name"
                    ),
                    // The record itself failed; a checkpoint over it vouches for nothing.
                    None => format!("vouches for record {index}, which is not a readable record"),
                }
            };
            out.push(AuditFailure {
                index,
                reason: AuditError::Witness { signer_id, reason },
            });
            self.vouched.remove(&signer_id);
        }
    }

    /// The log ended after `records` lines: signatures beyond it name a truncated log; the
    /// witnessed prefix is the largest size `min` distinct signers vouch for, and the records
    /// after it fail. Returns the witnessed size (`None` without witnesses).
    pub(super) fn finish(self, records: u64, out: &mut Vec<AuditFailure>) -> Option<u64> {
        let min = self.min?;
        let mut vouched = self.vouched;
        for (size, signed) in self.pending {
            for Vouch { signer_id, .. } in signed {
                out.push(AuditFailure {
                    index: records,
                    reason: AuditError::Witness {
                        signer_id,
                        reason: format!(
                            "signed {size} records, the log has {records}: it was truncated"
                        ),
                    },
                });
                vouched.remove(&signer_id);
            }
        }
        let mut sizes: Vec<u64> = vouched.into_values().collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        let witnessed = match min {
            0 => records,
            m => sizes.get(m - 1).copied().unwrap_or(0),
        };
        if witnessed < records {
            out.push(AuditFailure {
                index: witnessed,
                reason: AuditError::Unwitnessed {
                    from: witnessed,
                    records,
                    min,
                },
            });
        }
        Some(witnessed)
    }
}
