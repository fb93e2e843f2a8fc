//! The group's Taproot wallet: one BIP-86-style key-path-only P2TR output per group key.
//!
//! # Which key is which
//!
//! frost-secp256k1-tr's DKG does not hand back the plain sum of the participants' secrets:
//! its `post_dkg` hook tweaks the DKG result `D` once, `P = D + H_TapTweak(D)·G` (on the
//! even-y form of `D`), so that no participant can have planted a hidden script path. The
//! group verifying key a key record stores — `PublicKeyPackage::verifying_key()` — is that
//! `P`, and `P` is what this wallet treats as the **internal key** (the PSBT's
//! `tap_internal_key`, x-only). `D` is never used again.
//!
//! The **output key** is then the ordinary BIP-341 key-path tweak of `P` with no script tree
//! (BIP-86): `Q = lift_x(P) + H_TapTweak(x(P))·G`. The scriptPubKey is `OP_1 <x(Q)>` and the
//! address its bech32m encoding. A Bitcoin node checks a key-path spend under `Q`, so:
//!
//! - a plain FROST signature (`round2::sign` / `aggregate`) verifies under `P` and does
//!   **not** spend the output;
//! - a spend must be signed with the Taproot-tweaked round 2 and aggregation
//!   (`signer::taproot::round2_taproot(.., None)` and `aggregate_taproot(.., None)`, i.e.
//!   frost's `sign_with_tweak` / `PublicKeyPackage::tweak(None)`), which sign under `Q`.
//!
//! Both facts are checked by Bitcoin Core's consensus code in the root package's
//! `tests/bitcoin.rs` (a DKG key, tweaked signatures accepted, untweaked refused).
//!
//! Keys made by the trusted dealer (tests) skip `post_dkg`; for them `P` is the dealt key
//! itself. Either way the rule is the same: the stored verifying key is the internal key.

use ::bitcoin::key::{TapTweak, TweakedPublicKey, UntweakedPublicKey};
use ::bitcoin::secp256k1::Secp256k1;
use ::bitcoin::{Address, Network, ScriptBuf};
use frost_core::keys::PublicKeyPackage;
use frost_secp256k1_tr::Secp256K1Sha256TR;

use super::error::WalletError;
use crate::bip340::{Bip340Error, XOnlyPublicKey};

/// The group's key-path-only P2TR wallet: internal key `P`, output key `Q`, scriptPubKey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupWallet {
    internal: UntweakedPublicKey,
    output: TweakedPublicKey,
    script_pubkey: ScriptBuf,
}

impl GroupWallet {
    /// The wallet of a group key: its stored verifying key is the internal key `P` (see the
    /// module docs for why that is already frost's post-DKG tweaked key).
    pub fn from_public_key_package(
        public: &PublicKeyPackage<Secp256K1Sha256TR>,
    ) -> Result<Self, WalletError> {
        let sec1 = public
            .verifying_key()
            .serialize()
            .map_err(|e| WalletError::GroupKey(e.to_string()))?;
        let x: [u8; 32] = sec1
            .get(1..33)
            .filter(|_| sec1.len() == 33)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| WalletError::GroupKey(format!("{} bytes", sec1.len())))?;
        Self::from_internal_key(&x)
    }

    /// The wallet whose internal key has x coordinate `x` (e.g. a PSBT's `tap_internal_key`).
    pub fn from_internal_key(x: &[u8; 32]) -> Result<Self, WalletError> {
        let internal = UntweakedPublicKey::from_slice(x)
            .map_err(|_| WalletError::InternalKey(hex::encode(x)))?;
        let secp = Secp256k1::verification_only();
        let (output, _parity) = internal.tap_tweak(&secp, None);
        Ok(Self {
            internal,
            output,
            script_pubkey: ScriptBuf::new_p2tr_tweaked(output),
        })
    }

    /// The internal key `P` (x-only): the PSBT's `tap_internal_key`.
    pub fn internal_key(&self) -> [u8; 32] {
        self.internal.serialize()
    }

    /// The output key `Q = P + H_TapTweak(P)·G` (x-only): the key a spend is signed under.
    pub fn output_key(&self) -> [u8; 32] {
        self.output.to_x_only_public_key().serialize()
    }

    /// rust-bitcoin's form of the output key.
    pub fn tweaked_output_key(&self) -> TweakedPublicKey {
        self.output
    }

    /// rust-bitcoin's form of the internal key.
    pub fn untweaked_internal_key(&self) -> UntweakedPublicKey {
        self.internal
    }

    /// The scriptPubKey `OP_1 <Q>` every coin of the group is locked to.
    pub fn script_pubkey(&self) -> &ScriptBuf {
        &self.script_pubkey
    }

    /// The group's P2TR address on `network` (bech32m).
    pub fn address(&self, network: Network) -> Address {
        Address::p2tr_tweaked(self.output, network)
    }

    /// Checks a 64-byte BIP-340 signature of `sighash` under the output key `Q`.
    pub fn verify_key_spend(
        &self,
        sighash: &[u8; 32],
        signature: &[u8],
    ) -> Result<(), Bip340Error> {
        XOnlyPublicKey::from_bytes(&self.output_key())?.verify(sighash, signature)
    }
}
