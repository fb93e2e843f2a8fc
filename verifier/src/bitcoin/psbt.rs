//! BIP-174 PSBTs (BIP-371 Taproot fields) checked as spends of the group's own wallet.
//!
//! [`SpendPsbt`] is a PSBT that passed every check the signers need before they sign:
//!
//! - at least one input and one output, no outpoint spent twice;
//! - every input carries its `witness_utxo` (the spent output's script and amount, which
//!   BIP-341 commits to) and that output pays the group's own P2TR scriptPubKey; a
//!   `non_witness_utxo`, if present, must agree with both;
//! - every input's sighash type is absent (SIGHASH_DEFAULT), DEFAULT or ALL;
//! - `tap_internal_key`, if present, is the group's internal key `P`; no script-path data
//!   (merkle root, leaf scripts, script signatures), since the group's output has no tree;
//! - no input is already finalized (a final witness could carry an annex, which changes
//!   the sighash); no input carries a field BIP-174/371 do not define (proprietary fields
//!   are allowed: they are namespaced and cannot change what is signed);
//! - every global xpub, if any, is for the network the spend was asked for;
//! - every amount is at most 21 million BTC, and the outputs do not exceed the inputs.
//!
//! Outputs are then classified: **change** pays exactly the group's scriptPubKey, anything
//! else is **external** — including a P2TR output to some other key, even if the PSBT's
//! output fields call it the group's.

use std::collections::HashMap;
use std::str::FromStr;

use ::bitcoin::bip32::Xpub;
use ::bitcoin::psbt::{Psbt, PsbtParseError};
use ::bitcoin::{Amount, Network, NetworkKind, TapSighashType, Transaction, TxOut};

use super::address::network_name;
use super::error::PsbtError;
use super::summary::SpendSummary;
use super::wallet::GroupWallet;

/// Whether an output returns to the group or leaves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputClass {
    /// Pays exactly the group's own P2TR scriptPubKey.
    Change,
    /// Pays anything else.
    External,
}

/// A PSBT validated as a spend of the group's wallet (see the module docs).
#[derive(Clone, Debug)]
pub struct SpendPsbt {
    pub(super) psbt: Psbt,
    pub(super) wallet: GroupWallet,
    pub(super) network: Network,
    pub(super) prevouts: Vec<TxOut>,
    pub(super) sighash_types: Vec<TapSighashType>,
    pub(super) classes: Vec<OutputClass>,
}

impl SpendPsbt {
    /// Decodes a base64 PSBT and validates it as a spend of `wallet` on `network`.
    pub fn from_base64(s: &str, wallet: &GroupWallet, network: Network) -> Result<Self, PsbtError> {
        let psbt = Psbt::from_str(s.trim()).map_err(|e| match e {
            PsbtParseError::Base64Encoding(e) => PsbtError::Base64(e.to_string()),
            PsbtParseError::PsbtEncoding(e) => PsbtError::Decode(e.to_string()),
            other => PsbtError::Decode(other.to_string()),
        })?;
        Self::from_psbt(psbt, wallet, network)
    }

    /// Decodes a binary PSBT and validates it.
    pub fn from_bytes(
        bytes: &[u8],
        wallet: &GroupWallet,
        network: Network,
    ) -> Result<Self, PsbtError> {
        let psbt = Psbt::deserialize(bytes).map_err(|e| PsbtError::Decode(e.to_string()))?;
        Self::from_psbt(psbt, wallet, network)
    }

    /// Validates a decoded PSBT.
    pub fn from_psbt(
        psbt: Psbt,
        wallet: &GroupWallet,
        network: Network,
    ) -> Result<Self, PsbtError> {
        let tx = &psbt.unsigned_tx;
        if tx.input.is_empty() || psbt.inputs.is_empty() {
            return Err(PsbtError::NoInputs);
        }
        if tx.output.is_empty() {
            return Err(PsbtError::NoOutputs);
        }
        // rust-bitcoin's decoder already enforces one input/output map per tx input/output.
        if psbt.inputs.len() != tx.input.len() || psbt.outputs.len() != tx.output.len() {
            return Err(PsbtError::Decode(
                "input/output maps do not match the unsigned transaction".into(),
            ));
        }
        check_xpubs(psbt.xpub.keys(), network)?;

        let mut seen = HashMap::with_capacity(tx.input.len());
        let mut prevouts = Vec::with_capacity(tx.input.len());
        let mut sighash_types = Vec::with_capacity(tx.input.len());
        for (i, (txin, input)) in tx.input.iter().zip(&psbt.inputs).enumerate() {
            if let Some(first) = seen.insert(txin.previous_output, i) {
                return Err(PsbtError::DuplicateInput {
                    input: i,
                    first,
                    outpoint: txin.previous_output.to_string(),
                });
            }
            let utxo = input
                .witness_utxo
                .as_ref()
                .ok_or(PsbtError::MissingWitnessUtxo { input: i })?;
            if let Some(prev_tx) = &input.non_witness_utxo {
                let agrees = prev_tx.compute_txid() == txin.previous_output.txid
                    && usize::try_from(txin.previous_output.vout)
                        .ok()
                        .and_then(|v| prev_tx.output.get(v))
                        == Some(utxo);
                if !agrees {
                    return Err(PsbtError::UtxoMismatch { input: i });
                }
            }
            if utxo.script_pubkey != *wallet.script_pubkey() {
                return Err(PsbtError::ForeignInput {
                    input: i,
                    script_pubkey: hex::encode(utxo.script_pubkey.as_bytes()),
                });
            }
            if utxo.value > Amount::MAX_MONEY {
                return Err(PsbtError::InputAmount {
                    input: i,
                    amount: utxo.value.to_sat(),
                });
            }
            let ty = match input.sighash_type {
                None => TapSighashType::Default,
                Some(t) => match t.taproot_hash_ty() {
                    Ok(ty @ (TapSighashType::Default | TapSighashType::All)) => ty,
                    _ => {
                        return Err(PsbtError::SighashType {
                            input: i,
                            found: t.to_u32(),
                        })
                    }
                },
            };
            if let Some(k) = input.tap_internal_key {
                if k.serialize() != wallet.internal_key() {
                    return Err(PsbtError::InternalKey {
                        input: i,
                        found: hex::encode(k.serialize()),
                    });
                }
            }
            if input.tap_merkle_root.is_some()
                || !input.tap_scripts.is_empty()
                || !input.tap_script_sigs.is_empty()
            {
                return Err(PsbtError::ScriptPath { input: i });
            }
            if let Some(w) = &input.final_script_witness {
                if w.len() >= 2 && w.last().and_then(|a| a.first()) == Some(&0x50) {
                    return Err(PsbtError::Annex { input: i });
                }
                return Err(PsbtError::AlreadyFinalized { input: i });
            }
            if input.final_script_sig.is_some() {
                return Err(PsbtError::AlreadyFinalized { input: i });
            }
            if let Some(key) = input.unknown.keys().next() {
                return Err(PsbtError::UnknownInputField {
                    input: i,
                    key_type: key.type_value,
                });
            }
            prevouts.push(utxo.clone());
            sighash_types.push(ty);
        }

        let mut classes = Vec::with_capacity(tx.output.len());
        for (j, out) in tx.output.iter().enumerate() {
            if out.value > Amount::MAX_MONEY {
                return Err(PsbtError::OutputAmount {
                    output: j,
                    amount: out.value.to_sat(),
                });
            }
            classes.push(if out.script_pubkey == *wallet.script_pubkey() {
                OutputClass::Change
            } else {
                OutputClass::External
            });
        }
        let spend = Self {
            wallet: wallet.clone(),
            network,
            prevouts,
            sighash_types,
            classes,
            psbt,
        };
        // Refuses a spend whose outputs exceed its inputs before anyone signs it.
        spend.fee()?;
        Ok(spend)
    }

    /// The PSBT as validated (and, after [`Self::add_signatures`], with its signatures).
    pub fn psbt(&self) -> &Psbt {
        &self.psbt
    }

    /// The unsigned transaction.
    pub fn unsigned_tx(&self) -> &Transaction {
        &self.psbt.unsigned_tx
    }

    /// The output each input spends, in input order (from the `witness_utxo` fields).
    pub fn prevouts(&self) -> &[TxOut] {
        &self.prevouts
    }

    /// Each input's sighash type (DEFAULT where the PSBT names none).
    pub fn sighash_types(&self) -> &[TapSighashType] {
        &self.sighash_types
    }

    /// Each output's class, in output order.
    pub fn output_classes(&self) -> &[OutputClass] {
        &self.classes
    }

    /// The wallet the PSBT was validated against.
    pub fn wallet(&self) -> &GroupWallet {
        &self.wallet
    }

    /// The network the PSBT was validated for.
    pub fn network(&self) -> Network {
        self.network
    }

    /// Sum of the inputs minus sum of the outputs, in satoshis.
    pub fn fee(&self) -> Result<u64, PsbtError> {
        let inputs = sum(self.prevouts.iter().map(|o| o.value))?;
        let outputs = sum(self.psbt.unsigned_tx.output.iter().map(|o| o.value))?;
        inputs
            .checked_sub(outputs)
            .ok_or(PsbtError::OutputsExceedInputs { inputs, outputs })
    }

    /// What the signers sign and check: every input's sighash, the external and change
    /// outputs, the fee, the lock time and the txid.
    pub fn summary(&self) -> Result<SpendSummary, PsbtError> {
        SpendSummary::of(self)
    }

    /// The PSBT itself, giving up the validation.
    pub fn into_psbt(self) -> Psbt {
        self.psbt
    }
}

fn sum(mut amounts: impl Iterator<Item = Amount>) -> Result<u64, PsbtError> {
    amounts
        .try_fold(0u64, |acc, a| acc.checked_add(a.to_sat()))
        .ok_or(PsbtError::AmountOverflow)
}

fn check_xpubs<'a>(
    xpubs: impl Iterator<Item = &'a Xpub>,
    network: Network,
) -> Result<(), PsbtError> {
    let kind = NetworkKind::from(network);
    for x in xpubs {
        if x.network != kind {
            return Err(PsbtError::WrongNetwork {
                xpub: x.to_string(),
                expected: network_name(network).to_string(),
            });
        }
    }
    Ok(())
}
