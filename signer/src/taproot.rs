//! BIP-340 / BIP-341 (Taproot) signing with the default ciphersuite, `frost-secp256k1-tr`.
//!
//! A threshold key's BIP-340 public key is the x coordinate of its group key. For a Taproot
//! output the key is tweaked (BIP-341: `Q = P + H_TapTweak(P || merkle_root)·G`, with `P`
//! lifted to even y); every signer tweaks its share the same way in round 2 and the
//! coordinator aggregates against the tweaked group key. The output key and the signature
//! verify with `k256::schnorr` (see [`verify`]).

use std::collections::BTreeMap;

use frost_core::keys::PublicKeyPackage;
use frost_core::round2::SignatureShare;
use frost_secp256k1_tr::keys::Tweak;
use frost_secp256k1_tr::Secp256K1Sha256TR;

use crate::error::{Result, SignerError};
use crate::ids::{SessionId, SignerId};
use crate::round::nonce::NonceStore;
use crate::round::signing::{aggregate_with, Signer};

/// The default ciphersuite: FROST(secp256k1, SHA-256) with BIP-340 signatures.
pub type Taproot = Secp256K1Sha256TR;

/// A BIP-341 script-tree Merkle root (32 bytes).
pub type MerkleRoot = [u8; 32];

/// The 32-byte x-only BIP-340 public key of a group key (its even-y form).
pub fn x_only_key(public: &PublicKeyPackage<Taproot>) -> Result<[u8; 32]> {
    let sec1 = public
        .verifying_key()
        .serialize()
        .map_err(|e| SignerError::Frost(e.to_string()))?;
    sec1.get(1..33)
        .and_then(|s| <[u8; 32]>::try_from(s).ok())
        .ok_or_else(|| SignerError::Frost("group key is not a 33-byte SEC1 point".into()))
}

/// The BIP-341 output key `Q` (x-only) for the group key and an optional script root.
pub fn output_key(
    public: &PublicKeyPackage<Taproot>,
    merkle_root: Option<&MerkleRoot>,
) -> Result<[u8; 32]> {
    x_only_key(&public.clone().tweak(merkle_root))
}

/// The 64-byte BIP-340 encoding of a signature.
pub fn signature_bytes(signature: &frost_core::Signature<Taproot>) -> Result<[u8; 64]> {
    let v = signature
        .serialize()
        .map_err(|e| SignerError::Frost(e.to_string()))?;
    <[u8; 64]>::try_from(v.as_slice())
        .map_err(|_| SignerError::Frost("signature is not 64 bytes".into()))
}

/// Checks a final signature with `k256::schnorr`, independently of FROST.
pub fn verify(x_only: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> Result<()> {
    verifier::verify_bip340(x_only, message, signature)
        .map_err(|e| SignerError::Frost(format!("final signature rejected: {e}")))
}

impl<S: NonceStore<Taproot>> Signer<Taproot, S> {
    /// Round 2 for a Taproot output: signs with the share tweaked by `merkle_root`
    /// (`None` for a key-path-only output).
    pub fn round2_taproot(
        &self,
        session: SessionId,
        package: &frost_core::SigningPackage<Taproot>,
        merkle_root: Option<&MerkleRoot>,
    ) -> Result<SignatureShare<Taproot>> {
        self.round2_with(session, package, |nonces| {
            frost_secp256k1_tr::round2::sign_with_tweak(
                package,
                nonces,
                self.share().key_package(),
                merkle_root.map(|r| r.as_slice()),
            )
        })
    }
}

/// Aggregates Taproot-tweaked shares into a signature valid under [`output_key`].
pub fn aggregate_taproot(
    package: &frost_core::SigningPackage<Taproot>,
    shares: &BTreeMap<SignerId, SignatureShare<Taproot>>,
    public: &PublicKeyPackage<Taproot>,
    merkle_root: Option<&MerkleRoot>,
) -> Result<frost_core::Signature<Taproot>> {
    let tweaked = public.clone().tweak(merkle_root);
    aggregate_with(package, shares, &tweaked, |p, s, k| {
        frost_core::aggregate_custom(p, s, k, frost_core::CheaterDetection::AllCheaters)
    })
}
