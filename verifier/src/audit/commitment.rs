//! The FROST group commitment `R` of a record, recomputed from its listed round-1
//! commitments: the binding factor of each listed signer over the message (the record's
//! digest), the group key and every listed commitment (RFC 9591 §4.4, as
//! `frost-secp256k1-tr` computes it, with the group key lifted to even y as BIP-340 does),
//! then `R = Σ D_i + ρ_i·E_i`.
//!
//! The signature's first 32 bytes are `x(R)`. If the recomputed `R` has another `x`, the
//! listed commitments (and so the listed signers and their proofs, which are bound to their
//! commitments) are not the ones that made the signature: a coordinator cannot list other
//! signers than those who signed.

use std::collections::BTreeMap;

use frost_secp256k1_tr::keys::EvenY;
use frost_secp256k1_tr::round1::SigningCommitments;
use frost_secp256k1_tr::{Identifier, SigningPackage, VerifyingKey};
use k256::elliptic_curve::sec1::ToEncodedPoint;

/// Why `R` could not be recomputed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommitmentError {
    /// The group key does not decode.
    #[error("group key does not decode: {0}")]
    GroupKey(String),
    /// A signer's commitments do not decode.
    #[error("signer {signer}'s commitments do not decode: {reason}")]
    Commitments {
        /// The signer.
        signer: u16,
        /// What was wrong.
        reason: String,
    },
    /// A signer id is not a FROST identifier (0).
    #[error("signer id {0} is not a FROST identifier")]
    Identifier(u16),
    /// FROST refused the computation (e.g. an identity commitment).
    #[error("group commitment: {0}")]
    Frost(String),
}

/// `x(R)` for the listed `(signer id, serialized round-1 commitments)` over `message` under
/// `group_key` (33-byte SEC1, either parity).
pub fn group_commitment_x(
    group_key: &[u8; 33],
    message: &[u8],
    commitments: &[(u16, &[u8])],
) -> Result<[u8; 32], CommitmentError> {
    let key = VerifyingKey::deserialize(group_key)
        .map_err(|e| CommitmentError::GroupKey(e.to_string()))?
        .into_even_y(None);
    let mut listed = BTreeMap::new();
    for (signer, bytes) in commitments {
        let id = Identifier::try_from(*signer).map_err(|_| CommitmentError::Identifier(*signer))?;
        let c =
            SigningCommitments::deserialize(bytes).map_err(|e| CommitmentError::Commitments {
                signer: *signer,
                reason: e.to_string(),
            })?;
        listed.insert(id, c);
    }
    let package = SigningPackage::new(listed, message);
    let factors = frost_core::compute_binding_factor_list(&package, &key, &[])
        .map_err(|e| CommitmentError::Frost(e.to_string()))?;
    let r = frost_core::compute_group_commitment(&package, &factors)
        .map_err(|e| CommitmentError::Frost(e.to_string()))?
        .to_element();
    let point = r.to_affine().to_encoded_point(false);
    let x = point
        .x()
        .ok_or_else(|| CommitmentError::Frost("R is the identity".into()))?;
    let mut out = [0u8; 32];
    out.copy_from_slice(x);
    Ok(out)
}
