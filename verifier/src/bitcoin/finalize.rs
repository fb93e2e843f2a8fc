//! Signatures into the PSBT, and the PSBT into a broadcastable transaction.
//!
//! [`add_signatures`] checks each input's 64-byte BIP-340 signature against that input's
//! sighash under the group's output key `Q` and stores it as the input's `tap_key_sig`
//! (64 bytes for SIGHASH_DEFAULT, 65 with the type byte for SIGHASH_ALL). [`finalize`]
//! checks every `tap_key_sig` again, sets each input's `final_script_witness` to the single
//! signature (a key-path spend), clears the other per-input fields as a BIP-174 finalizer
//! does (keeping the UTXO fields and unknowns), and extracts the signed transaction.

use ::bitcoin::psbt::Psbt;
use ::bitcoin::secp256k1::schnorr;
use ::bitcoin::{consensus, taproot, Transaction, Txid, Witness};

use super::error::FinalizeError;
use super::psbt::SpendPsbt;
use super::sighash::key_spend_sighashes;

/// A finalized spend: the PSBT with final witnesses, the signed transaction, its raw
/// consensus encoding (what `sendrawtransaction` takes) and its txid.
#[derive(Clone, Debug)]
pub struct SignedSpend {
    /// The finalized PSBT.
    pub psbt: Psbt,
    /// The signed transaction.
    pub tx: Transaction,
    /// Its consensus serialization.
    pub raw_tx: Vec<u8>,
    /// Its txid.
    pub txid: Txid,
}

impl SignedSpend {
    /// The finalized PSBT, base64.
    pub fn psbt_base64(&self) -> String {
        self.psbt.to_string()
    }

    /// The raw signed transaction, hex.
    pub fn raw_tx_hex(&self) -> String {
        hex::encode(&self.raw_tx)
    }
}

fn sighashes(spend: &SpendPsbt) -> Result<Vec<[u8; 32]>, FinalizeError> {
    Ok(key_spend_sighashes(
        spend.unsigned_tx(),
        spend.prevouts(),
        spend.sighash_types(),
    )?)
}

fn check(
    spend: &SpendPsbt,
    input: usize,
    sighash: &[u8; 32],
    sig: &[u8],
) -> Result<(), FinalizeError> {
    spend
        .wallet()
        .verify_key_spend(sighash, sig)
        .map_err(|e| FinalizeError::BadSignature {
            input,
            reason: e.to_string(),
        })
}

/// Stores one BIP-340 signature per input as its `tap_key_sig`, each checked first against
/// the input's sighash under the output key `Q`. Nothing is stored unless all verify.
pub fn add_signatures(spend: &mut SpendPsbt, signatures: &[[u8; 64]]) -> Result<(), FinalizeError> {
    let inputs = spend.psbt.inputs.len();
    if signatures.len() != inputs {
        return Err(FinalizeError::SignatureCount {
            found: signatures.len(),
            inputs,
        });
    }
    let hashes = sighashes(spend)?;
    let mut sigs = Vec::with_capacity(inputs);
    for (i, (sig, hash)) in signatures.iter().zip(&hashes).enumerate() {
        check(spend, i, hash, sig)?;
        let signature =
            schnorr::Signature::from_slice(sig).map_err(|e| FinalizeError::BadSignature {
                input: i,
                reason: e.to_string(),
            })?;
        sigs.push(signature);
    }
    for ((input, signature), ty) in spend
        .psbt
        .inputs
        .iter_mut()
        .zip(sigs)
        .zip(&spend.sighash_types)
    {
        input.tap_key_sig = Some(taproot::Signature {
            signature,
            sighash_type: *ty,
        });
    }
    Ok(())
}

/// Finalizes every input as a key-path spend and extracts the signed transaction. Each
/// `tap_key_sig` is checked again (type and signature) before anything is finalized.
pub fn finalize(spend: SpendPsbt) -> Result<SignedSpend, FinalizeError> {
    let hashes = sighashes(&spend)?;
    for (i, (input, hash)) in spend.psbt.inputs.iter().zip(&hashes).enumerate() {
        let sig = input
            .tap_key_sig
            .ok_or(FinalizeError::MissingSignature { input: i })?;
        let expected = spend.sighash_types[i];
        if sig.sighash_type != expected {
            return Err(FinalizeError::SignatureSighashType {
                input: i,
                found: sig.sighash_type as u32,
                expected: expected as u32,
            });
        }
        check(&spend, i, hash, &sig.signature.serialize())?;
    }
    let mut psbt = spend.psbt;
    for input in &mut psbt.inputs {
        let Some(sig) = input.tap_key_sig else {
            continue; // checked above: every input has one
        };
        input.final_script_witness = Some(Witness::p2tr_key_spend(&sig));
        // BIP-174 finalizer: everything but the UTXOs, final fields and unknowns goes.
        input.partial_sigs.clear();
        input.sighash_type = None;
        input.redeem_script = None;
        input.witness_script = None;
        input.bip32_derivation.clear();
        input.tap_key_sig = None;
        input.tap_script_sigs.clear();
        input.tap_scripts.clear();
        input.tap_key_origins.clear();
        input.tap_internal_key = None;
        input.tap_merkle_root = None;
    }
    let tx = psbt.clone().extract_tx_unchecked_fee_rate();
    let raw_tx = consensus::serialize(&tx);
    let txid = tx.compute_txid();
    Ok(SignedSpend {
        psbt,
        tx,
        raw_tx,
        txid,
    })
}

impl SpendPsbt {
    /// [`add_signatures`] on this spend.
    pub fn add_signatures(&mut self, signatures: &[[u8; 64]]) -> Result<(), FinalizeError> {
        add_signatures(self, signatures)
    }

    /// [`finalize`] this spend.
    pub fn finalize(self) -> Result<SignedSpend, FinalizeError> {
        finalize(self)
    }
}
