//! Regtest spends without a node: synthetic funding transactions paying the group's P2TR
//! output, PSBTs spending them, payee scripts, and Bitcoin Core's consensus check of a
//! signed transaction (`bitcoinconsensus`: libbitcoinconsensus, Taproot flags, every spent
//! output). The demo and the tests use it; a real deployment funds its address on chain and
//! takes PSBTs from a wallet.

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

/// A PSBT spending `coins` (outpoints with the outputs they hold, each input with its
/// `witness_utxo` and the group's `tap_internal_key`) into `outputs`, with lock time
/// `lock_time`.
pub fn psbt_spending(
    wallet: &GroupWallet,
    coins: &[(OutPoint, TxOut)],
    outputs: Vec<TxOut>,
    lock_time: u32,
) -> Psbt {
    let tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::from_consensus(lock_time),
        input: coins
            .iter()
            .map(|(outpoint, _)| TxIn {
                previous_output: *outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            })
            .collect(),
        output: outputs,
    };
    let mut psbt = Psbt::from_unsigned_tx(tx).expect("an unsigned transaction");
    for (input, (_, prevout)) in psbt.inputs.iter_mut().zip(coins) {
        input.witness_utxo = Some(prevout.clone());
        input.tap_internal_key = Some(wallet.untweaked_internal_key());
    }
    psbt
}

/// The coins (outpoint, output) of every output of `funds`.
pub fn coins(funds: &[Transaction]) -> Vec<(OutPoint, TxOut)> {
    funds
        .iter()
        .flat_map(|f| {
            let txid = f.compute_txid();
            f.output
                .iter()
                .enumerate()
                .map(move |(vout, out)| (OutPoint::new(txid, vout as u32), out.clone()))
        })
        .collect()
}

/// A PSBT spending every output of `funds` into `outputs` ([`psbt_spending`]).
pub fn spend_psbt(
    wallet: &GroupWallet,
    funds: &[Transaction],
    outputs: Vec<TxOut>,
    lock_time: u32,
) -> Psbt {
    psbt_spending(wallet, &coins(funds), outputs, lock_time)
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
