//! [`SpendSummary`]: everything about a validated spend that the signers sign and prove
//! over — each input's BIP-341 sighash, the external and change outputs, the fee, the lock
//! time — recomputed from the unsigned transaction and the spent outputs alone, so the
//! coordinator, every signer and the auditor each derive the same values natively.

use ::bitcoin::hashes::Hash;
use ::bitcoin::{Network, Txid};
use circuits::spend::{script_hash, Spend, SpendError};

use super::error::PsbtError;
use super::psbt::{OutputClass, SpendPsbt};
use super::sighash::key_spend_sighashes;

/// One output of the spend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpendOutput {
    /// Its index in the transaction.
    pub index: usize,
    /// Its scriptPubKey bytes.
    pub script_pubkey: Vec<u8>,
    /// Its amount in satoshis.
    pub amount: u64,
}

/// The signed-over view of a validated spend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpendSummary {
    /// Each input's BIP-341 key-path sighash (the message FROST signs), in input order.
    pub sighashes: Vec<[u8; 32]>,
    /// Outputs not paying the group's own scriptPubKey, in output order.
    pub external: Vec<SpendOutput>,
    /// Outputs paying the group's own scriptPubKey (change), in output order.
    pub change: Vec<SpendOutput>,
    /// Sum of the inputs minus sum of the outputs, in satoshis.
    pub fee: u64,
    /// The transaction's nLockTime (consensus encoding).
    pub lock_time: u32,
    /// The transaction id (the same before and after signing: segwit).
    pub txid: Txid,
}

impl SpendSummary {
    /// Computes the summary of a validated spend.
    pub fn of(spend: &SpendPsbt) -> Result<Self, PsbtError> {
        let tx = spend.unsigned_tx();
        let sighashes = key_spend_sighashes(tx, spend.prevouts(), spend.sighash_types())?;
        let mut external = Vec::new();
        let mut change = Vec::new();
        for (index, (out, class)) in tx.output.iter().zip(spend.output_classes()).enumerate() {
            let o = SpendOutput {
                index,
                script_pubkey: out.script_pubkey.to_bytes(),
                amount: out.value.to_sat(),
            };
            match class {
                OutputClass::Change => change.push(o),
                OutputClass::External => external.push(o),
            }
        }
        Ok(Self {
            sighashes,
            external,
            change,
            fee: spend.fee()?,
            lock_time: tx.lock_time.to_consensus_u32(),
            txid: tx.compute_txid(),
        })
    }
}

/// The network code the spend statement commits to (the first input of `O`'s hash chain,
/// and the policy's `network`): the network's 4-byte P2P message start, read as a u32
/// little-endian — a code Bitcoin itself fixes per network, so no table of ours can drift.
pub fn network_code(network: Network) -> u32 {
    u32::from_le_bytes(network.magic().to_bytes())
}

impl SpendSummary {
    /// The txid's 32 bytes (internal byte order).
    pub fn txid_bytes(&self) -> [u8; 32] {
        self.txid.to_byte_array()
    }

    /// The spend as the statement sees it: the external outputs as (scriptPubKey hash,
    /// amount) in transaction order, the fee and the lock time, under `network`'s code, in
    /// the smallest size class that holds the outputs (more than 256 are refused).
    pub fn statement(&self, network: Network) -> Result<Spend, SpendError> {
        let outputs = self
            .external
            .iter()
            .map(|o| circuits::spend::SpendOutput {
                index: u32::try_from(o.index).unwrap_or(u32::MAX),
                script: script_hash(&o.script_pubkey),
                amount: o.amount,
            })
            .collect();
        Spend::new(network_code(network), outputs, self.fee, self.lock_time)
    }
}
