//! The audit record of a Bitcoin spend session, and its check.
//!
//! The record holds the unsigned PSBT itself (with every input's `witness_utxo`: the spent
//! outputs), so the auditor recomputes everything from the transaction, as the signers did:
//! each input's BIP-341 sighash, the external outputs, fee and lock time, and from them the
//! public inputs `O`, `fee`, `lock_time` every proof must carry. Then, per signer, the one
//! contribution check ([`crate::contribution`]) and the proof; per input, the FROST group
//! commitment `R` recomputed from the listed commitments for that input (so the listed
//! signers are the ones who signed it), the signature under the group's output key, and
//! the signers' attested shares. Finally the txid.

use serde::{Deserialize, Serialize};

use super::commitment::group_commitment_x;
use super::error::AuditError;
use super::record::{hex_bytes, hex_inputs, hex_vec, share_attestation_message};
use crate::bip340::verify_bip340;
use crate::bitcoin::{parse_network, GroupWallet, SpendPsbt, SpendSummary};
use crate::contribution::{statement_faults, Contribution, ContributionError, Expected};
use crate::registered::RegisteredPolicies;
use crate::statement::{SpendPublicOf, SpendVerifier};
use circuits::spend::SpendPublicInputs;
use circuits::{Backend, StatementField};

/// Format version of [`SpendRecord`].
pub const SPEND_RECORD_VERSION: u32 = 1;

/// One Bitcoin spend session, as the coordinator appends it to the audit log. Byte strings
/// are lower-case hex; unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendRecord {
    /// Record format version ([`SPEND_RECORD_VERSION`]).
    pub version: u32,
    /// Position in the log, 0-based.
    pub index: u64,
    /// The session id.
    #[serde(with = "hex_bytes")]
    pub session_id: [u8; 32],
    /// The coordinator's name for the key.
    pub key_id: String,
    /// The FROST group key (the wallet's internal key), 33-byte SEC1 compressed.
    #[serde(with = "hex_bytes")]
    pub group_key: [u8; 33],
    /// Signers the key needs.
    pub threshold: u16,
    /// The network the key spends on (`bitcoin`, `testnet`, `signet`, `regtest`).
    pub network: String,
    /// The unsigned PSBT, BIP-174 base64, every input with its `witness_utxo`.
    pub psbt: String,
    /// Proof backend id (1 = groth16-bn254, 2 = halo2-pasta).
    pub backend: u8,
    /// Fingerprint of the spend verifying key every proof names.
    #[serde(with = "hex_bytes")]
    pub vk_fingerprint: [u8; 32],
    /// The signers whose shares were aggregated.
    pub signers: Vec<SpendSignerEntry>,
    /// One BIP-340 signature per input, under the group's output key.
    pub signatures: Vec<SpendSignature>,
    /// The signed transaction's txid (display order hex).
    pub txid: String,
    /// Unix seconds at which the record was appended.
    pub time: u64,
    /// `chain_hash` of the previous line; 32 zero bytes for record 0.
    #[serde(with = "hex_bytes")]
    pub prev: [u8; 32],
}

/// An input's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SpendSignature(#[serde(with = "hex_bytes")] pub [u8; 64]);

/// One signer's part of a spend session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendSignerEntry {
    /// The signer's FROST identifier.
    pub signer_id: u16,
    /// The node identity key (x-only BIP-340) that signed the attestations.
    #[serde(with = "hex_bytes")]
    pub identity_key: [u8; 32],
    /// Its per-input commitments, as one list ([`encode_list`] of frost
    /// `SigningCommitments::serialize()`).
    #[serde(with = "hex_vec")]
    pub commitments: Vec<u8>,
    /// `ProofEnvelope::to_bytes()` of its spend proof.
    #[serde(with = "hex_vec")]
    pub proof: Vec<u8>,
    /// `[O, fee, lock_time, P, now, binding]`, canonical little-endian.
    #[serde(with = "hex_inputs")]
    pub public_inputs: [[u8; 32]; 6],
    /// BIP-340 signature by `identity_key` over the round-1 attestation message.
    #[serde(with = "hex_bytes")]
    pub attestation: [u8; 64],
    /// Its per-input signature shares, as one list ([`encode_list`]).
    #[serde(with = "hex_vec")]
    pub shares: Vec<u8>,
    /// BIP-340 signature by `identity_key` over [`share_attestation_message`] of `shares`.
    #[serde(with = "hex_bytes")]
    pub share_attestation: [u8; 64],
}

/// A list of byte strings as one: count (u32 LE), then each length-prefixed (u32 LE). What
/// a spend's per-input commitments and shares are attested and recorded as.
pub fn encode_list<I: AsRef<[u8]>>(items: &[I]) -> Vec<u8> {
    let mut out = (items.len() as u32).to_le_bytes().to_vec();
    for item in items {
        let item = item.as_ref();
        out.extend_from_slice(&(item.len() as u32).to_le_bytes());
        out.extend_from_slice(item);
    }
    out
}

/// Inverse of [`encode_list`]; `None` unless `bytes` is exactly one encoded list.
pub fn decode_list(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if bytes.len() < n {
            return None;
        }
        let (head, tail) = bytes.split_at(n);
        *bytes = tail;
        Some(head)
    }
    let mut rest = bytes;
    let count = u32::from_le_bytes(take(&mut rest, 4)?.try_into().ok()?) as usize;
    // Each item takes at least its 4-byte length: a count beyond that is a lie.
    if count > rest.len() / 4 {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let len = u32::from_le_bytes(take(&mut rest, 4)?.try_into().ok()?) as usize;
        out.push(take(&mut rest, len)?);
    }
    rest.is_empty().then_some(out)
}

impl SpendRecord {
    /// The record as one log line (no newline), tagged `"type": "spend"`.
    pub fn to_line(&self) -> String {
        super::record::entry_line(super::record::EntryRef::Spend(self))
    }
}

/// `[O, fee, lock_time]` of a summary's spend on backend `B`, little-endian.
fn derived<B: Backend>(spend: &circuits::spend::Spend) -> [[u8; 32]; 3] {
    [
        spend.commitment::<B>().0.to_le_bytes32(),
        B::F::from_u64(spend.fee()).to_le_bytes32(),
        B::F::from_u64(spend.lock_time().into()).to_le_bytes32(),
    ]
}

/// Every fault of a spend record against `verifier` (the spend key of the record's class)
/// and `policies` (the spend-policy `P` of each signer for the key at the proofs' `now`):
/// the transaction re-derived from the PSBT, every contribution and proof, every input's
/// `R`, signature and the signers' attested shares, and the txid. Empty when it verifies.
pub fn spend_record_faults<V: SpendVerifier>(
    rec: &SpendRecord,
    verifier: &V,
    policies: &RegisteredPolicies,
) -> Vec<AuditError> {
    let mut faults = Vec::new();
    let (summary, spend, wallet) = match derive(rec) {
        Ok(v) => v,
        Err(e) => return vec![e],
    };
    if summary.txid.to_string() != rec.txid {
        faults.push(AuditError::SpendMismatch(format!(
            "txid {} recorded, the PSBT's is {}",
            rec.txid, summary.txid
        )));
    }
    if rec.signers.len() < usize::from(rec.threshold) {
        faults.push(AuditError::BelowThreshold {
            signers: rec.signers.len(),
            threshold: rec.threshold,
        });
    }
    let derived = derived::<V::Backend>(&spend);
    // One session time for every signer: the first signer's (the log checks it against the
    // record's time), so a signer proving at another time is named, not believed.
    let now = session_now(rec);
    let inputs = summary.sighashes.len();
    let mut per_input: Vec<Vec<(u16, &[u8])>> = vec![Vec::new(); inputs];
    let mut seen = Vec::new();
    for s in &rec.signers {
        if seen.contains(&s.signer_id) {
            faults.push(AuditError::DuplicateSigner(s.signer_id));
        }
        seen.push(s.signer_id);
        // Round 1: the contribution, then its proof.
        let contribution = Contribution {
            signer_id: s.signer_id,
            identity_key: Some(&s.identity_key),
            commitments: &s.commitments,
            proof: &s.proof,
            public_inputs: &s.public_inputs,
            attestation: &s.attestation,
        };
        let expected = Expected {
            session_id: &rec.session_id,
            group_key: &rec.group_key,
            derived: &derived,
            now,
            vk_fingerprint: verifier.fingerprint(),
            policies,
        };
        let (checked, contribution_faults) =
            statement_faults::<SpendPublicInputs<<V::Backend as Backend>::F>>(
                <V::Backend as Backend>::ID,
                &contribution,
                &expected,
            );
        let named = |fault| {
            AuditError::Contribution(ContributionError {
                signer_id: s.signer_id,
                fault,
            })
        };
        faults.extend(contribution_faults.into_iter().map(named));
        if let Some(c) = checked {
            let public: &SpendPublicOf<V::Backend> = &c.public;
            if let Err(e) = verifier.verify(&c.proof, public) {
                faults.push(named(crate::contribution::ContributionFault::InvalidProof(
                    e,
                )));
            }
        }
        // Its commitments and shares, one per input.
        match decode_list(&s.commitments) {
            Some(list) if list.len() == inputs => {
                for (i, c) in list.into_iter().enumerate() {
                    per_input[i].push((s.signer_id, c));
                }
            }
            _ => faults.push(AuditError::SpendMismatch(format!(
                "signer {}: not one commitment per input ({inputs} inputs)",
                s.signer_id
            ))),
        }
        if decode_list(&s.shares).map(|l| l.len()) != Some(inputs) {
            faults.push(AuditError::SpendMismatch(format!(
                "signer {}: not one share per input ({inputs} inputs)",
                s.signer_id
            )));
        }
        let msg = share_attestation_message(&rec.session_id, s.signer_id, &s.shares);
        if let Err(e) = verify_bip340(&s.identity_key, &msg, &s.share_attestation) {
            faults.push(AuditError::ShareAttestation {
                signer_id: s.signer_id,
                reason: e.to_string(),
            });
        }
    }
    // Per input: the listed commitments give the signature's R, which verifies under Q.
    if rec.signatures.len() != inputs {
        faults.push(AuditError::SpendMismatch(format!(
            "{} signatures for {inputs} inputs",
            rec.signatures.len()
        )));
    }
    let mut q = [2u8; 33];
    q[1..].copy_from_slice(&wallet.output_key());
    for (i, (sighash, sig)) in summary.sighashes.iter().zip(&rec.signatures).enumerate() {
        let input = |reason: String| AuditError::SpendInput { input: i, reason };
        match group_commitment_x(&q, sighash, &per_input[i]) {
            Ok(x) if x[..] != sig.0[..32] => faults.push(input(format!(
                "the listed commitments give R with x = {}, the signature's R has x = {}",
                hex::encode(x),
                hex::encode(&sig.0[..32])
            ))),
            Ok(_) => {}
            Err(e) => faults.push(input(e.to_string())),
        }
        if let Err(e) = wallet.verify_key_spend(sighash, &sig.0) {
            faults.push(input(format!(
                "signature rejected under the output key: {e}"
            )));
        }
    }
    faults
}

/// The session's `now`: the first signer's proved time (the record's `time` without signers).
pub fn session_now(rec: &SpendRecord) -> u64 {
    rec.signers
        .first()
        .map(|s| u64::from_le_bytes(s.public_inputs[4][..8].try_into().unwrap_or([0; 8])))
        .unwrap_or(rec.time)
}

/// The record's transaction, re-derived: the validated summary, the statement's spend and
/// the group's wallet.
fn derive(
    rec: &SpendRecord,
) -> Result<(SpendSummary, circuits::spend::Spend, GroupWallet), AuditError> {
    let bad = |e: &dyn std::fmt::Display| AuditError::SpendMismatch(e.to_string());
    let network = parse_network(&rec.network).map_err(|e| bad(&e))?;
    let key: [u8; 32] = rec.group_key[1..]
        .try_into()
        .map_err(|_| bad(&"group key is not 33 bytes"))?;
    let wallet = GroupWallet::from_internal_key(&key).map_err(|e| bad(&e))?;
    let summary = SpendPsbt::from_base64(&rec.psbt, &wallet, network)
        .and_then(|p| p.summary())
        .map_err(|e| bad(&format!("the recorded PSBT is refused: {e}")))?;
    let spend = summary.statement(network).map_err(|e| bad(&e))?;
    Ok((summary, spend, wallet))
}
