//! The native Bitcoin layer: the group's Taproot wallet, PSBTs checked as spends of it,
//! BIP-341 key-path sighashes, and finalization into a broadcastable transaction.
//!
//! The coordinator, every signer and the auditor all run this same code (it lives in the
//! auditor's crate, which they all depend on), so each derives the messages it signs or
//! checks from the transaction itself:
//!
//! 1. [`GroupWallet`] from the group's public key package: internal key `P` (the stored
//!    group key, already frost's post-DKG tweak), output key `Q = P + H_TapTweak(P)·G`,
//!    scriptPubKey and address (see [`wallet`] for the tweak, and which FROST calls sign
//!    under `Q`);
//! 2. [`SpendPsbt::from_base64`] refuses anything but a spend of the group's own outputs,
//!    naming the input ([`PsbtError`]), and classifies outputs as change or external;
//! 3. [`SpendPsbt::summary`] gives every input's sighash, the outputs, fee, lock time, txid;
//! 4. [`SpendPsbt::add_signatures`] and [`SpendPsbt::finalize`] check each signature
//!    under `Q` and produce the [`SignedSpend`].

pub mod address;
pub mod error;
pub mod finalize;
pub mod policy_file;
pub mod psbt;
pub mod sighash;
pub mod summary;
pub mod wallet;

#[cfg(test)]
mod tests;

pub use address::{network_name, parse_address, parse_network, NETWORKS};
pub use error::{AddressError, FinalizeError, PsbtError, SighashError, WalletError};
pub use finalize::{add_signatures, finalize, SignedSpend};
pub use policy_file::{spend_policy_from_toml, SpendPolicyFileError};
pub use psbt::{OutputClass, SpendPsbt};
pub use sighash::{key_spend_sighash, key_spend_sighashes};
pub use summary::{network_code, SpendOutput, SpendSummary};
pub use wallet::GroupWallet;

/// rust-bitcoin's types the API above speaks, re-exported so callers use the same version.
pub use ::bitcoin::{Address, Network, Psbt, TapSighashType, Transaction, TxOut, Txid};
