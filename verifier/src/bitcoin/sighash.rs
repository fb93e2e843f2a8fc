//! BIP-341 key-path signature hashes, computed by rust-bitcoin's `SighashCache` over every
//! spent output (`Prevouts::All`).

use ::bitcoin::sighash::{Prevouts, SighashCache};
use ::bitcoin::{TapSighashType, Transaction, TxOut};

use super::error::SighashError;

/// The BIP-341 signature hash of `tx`'s input `input_index` for a key-path spend
/// (no annex), given the outputs every input spends, in input order.
pub fn key_spend_sighash(
    tx: &Transaction,
    prevouts: &[TxOut],
    input_index: usize,
    sighash_type: TapSighashType,
) -> Result<[u8; 32], SighashError> {
    check_shape(tx, prevouts)?;
    if input_index >= tx.input.len() {
        return Err(SighashError::NoSuchInput {
            input: input_index,
            inputs: tx.input.len(),
        });
    }
    let mut cache = SighashCache::new(tx);
    hash(&mut cache, prevouts, input_index, sighash_type)
}

/// Every input's key-path signature hash, one shared cache (the BIP-341 midstate hashes of
/// the prevouts, amounts, scripts, sequences and outputs are computed once).
pub fn key_spend_sighashes(
    tx: &Transaction,
    prevouts: &[TxOut],
    sighash_types: &[TapSighashType],
) -> Result<Vec<[u8; 32]>, SighashError> {
    check_shape(tx, prevouts)?;
    if sighash_types.len() != tx.input.len() {
        return Err(SighashError::TypeCount {
            types: sighash_types.len(),
            inputs: tx.input.len(),
        });
    }
    let mut cache = SighashCache::new(tx);
    sighash_types
        .iter()
        .enumerate()
        .map(|(i, ty)| hash(&mut cache, prevouts, i, *ty))
        .collect()
}

fn check_shape(tx: &Transaction, prevouts: &[TxOut]) -> Result<(), SighashError> {
    if prevouts.len() != tx.input.len() {
        return Err(SighashError::PrevoutCount {
            prevouts: prevouts.len(),
            inputs: tx.input.len(),
        });
    }
    Ok(())
}

fn hash(
    cache: &mut SighashCache<&Transaction>,
    prevouts: &[TxOut],
    input: usize,
    ty: TapSighashType,
) -> Result<[u8; 32], SighashError> {
    use ::bitcoin::hashes::Hash;
    cache
        .taproot_key_spend_signature_hash(input, &Prevouts::All(prevouts), ty)
        .map(|h| h.to_byte_array())
        .map_err(|e| SighashError::Compute {
            input,
            reason: e.to_string(),
        })
}
