//! Bitcoin fixtures shared by the spend tests: synthetic funding transactions, external
//! scripts, PSBTs spending the group's outputs, and Bitcoin Core's consensus check
//! (`bitcoinconsensus`, Taproot flags, all spent outputs).

use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash;
use bitcoin::transaction::Version;
use bitcoin::{
    consensus, Amount, OutPoint, Psbt, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
};
use rand::rngs::OsRng;
use rand::RngCore;
use verifier::bitcoin::GroupWallet;

/// A synthetic funding transaction paying `amounts` to `script` (its input spends a made-up
/// outpoint: only the outputs matter to the spend).
pub fn funding(script: &ScriptBuf, amounts: &[u64]) -> Transaction {
    let mut txid = [0u8; 32];
    OsRng.fill_bytes(&mut txid);
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::new(Txid::from_byte_array(txid), 0),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: amounts
            .iter()
            .map(|v| TxOut {
                value: Amount::from_sat(*v),
                script_pubkey: script.clone(),
            })
            .collect(),
    }
}

/// An external scriptPubKey (P2WPKH to a made-up key hash, distinct per `i < 65 000`).
pub fn external(i: usize) -> ScriptBuf {
    let mut program = vec![0x00, 0x14];
    program.extend_from_slice(&[(i % 251) as u8 + 1; 20]);
    program[2] = (i / 251) as u8;
    ScriptBuf::from_bytes(program)
}

/// An output paying `sat` to `script`.
pub fn pay(script: ScriptBuf, sat: u64) -> TxOut {
    TxOut {
        value: Amount::from_sat(sat),
        script_pubkey: script,
    }
}

/// A PSBT spending every output of `funds` (each input with its `witness_utxo` and the
/// group's `tap_internal_key`) into `outputs`, with lock time `lock_time`.
pub fn spend_psbt(
    wallet: &GroupWallet,
    funds: &[Transaction],
    outputs: Vec<TxOut>,
    lock_time: u32,
) -> Psbt {
    let mut prevouts = Vec::new();
    let mut input = Vec::new();
    for f in funds {
        for (vout, out) in f.output.iter().enumerate() {
            input.push(TxIn {
                previous_output: OutPoint::new(f.compute_txid(), vout as u32),
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            });
            prevouts.push(out.clone());
        }
    }
    let tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::from_consensus(lock_time),
        input,
        output: outputs,
    };
    let mut psbt = Psbt::from_unsigned_tx(tx).expect("unsigned tx");
    for (input, prevout) in psbt.inputs.iter_mut().zip(prevouts) {
        input.witness_utxo = Some(prevout);
        input.tap_internal_key = Some(wallet.untweaked_internal_key());
    }
    psbt
}

const FLAGS: u32 = bitcoinconsensus::VERIFY_ALL_PRE_TAPROOT | bitcoinconsensus::VERIFY_TAPROOT;

/// Bitcoin Core's consensus check of every input of `tx` against `spent` (all outputs);
/// the failing input and why.
pub fn consensus_check(tx: &Transaction, spent: &[TxOut]) -> Result<(), (usize, String)> {
    let raw = consensus::serialize(tx);
    let scripts: Vec<Vec<u8>> = spent.iter().map(|o| o.script_pubkey.to_bytes()).collect();
    let utxos: Vec<bitcoinconsensus::Utxo> = scripts
        .iter()
        .zip(spent)
        .map(|(s, o)| bitcoinconsensus::Utxo {
            script_pubkey: s.as_ptr(),
            script_pubkey_len: s.len() as u32,
            value: o.value.to_sat() as i64,
        })
        .collect();
    for (i, (script, out)) in scripts.iter().zip(spent).enumerate() {
        bitcoinconsensus::verify_with_flags(
            script,
            out.value.to_sat(),
            &raw,
            Some(&utxos),
            i,
            FLAGS,
        )
        .map_err(|e| (i, format!("{e:?}")))?;
    }
    Ok(())
}
