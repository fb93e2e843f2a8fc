//! Trusted-dealer key creation: one party samples the key and splits it.
//!
//! For tests and for migrating an existing single key into a threshold key. A dealer sees
//! the whole secret: production keys should come from [`crate::keys::dkg`].

use frost_core::keys::{self, IdentifierList, KeyPackage};
use frost_core::{Ciphersuite, SigningKey};
use rand_core::{CryptoRng, RngCore};

use crate::error::{Result, SignerError};
use crate::ids::{SignerId, Threshold};
use crate::keys::share::KeyShare;

/// Creates a fresh random `t`-of-`n` key and returns the `n` shares, signers `1..=n`.
pub fn trusted_dealer<C: Ciphersuite, R: RngCore + CryptoRng>(
    threshold: Threshold,
    rng: &mut R,
) -> Result<Vec<KeyShare<C>>> {
    split_key(&SigningKey::new(rng), threshold, rng)
}

/// Splits an existing key into `t`-of-`n` shares for signers `1..=n` (key migration).
pub fn split_key<C: Ciphersuite, R: RngCore + CryptoRng>(
    key: &SigningKey<C>,
    threshold: Threshold,
    rng: &mut R,
) -> Result<Vec<KeyShare<C>>> {
    let ids: Vec<SignerId> = SignerId::range(threshold.n()).collect();
    let frost_ids: Vec<_> = ids.iter().map(|i| i.to_frost::<C>()).collect();
    let (secret_shares, public) = keys::split(
        key,
        threshold.n(),
        threshold.t(),
        IdentifierList::Custom(&frost_ids),
        rng,
    )
    .map_err(|e| SignerError::Frost(e.to_string()))?;
    ids.iter()
        .map(|id| {
            let secret = secret_shares
                .get(&id.to_frost::<C>())
                .ok_or(SignerError::MissingMessage(*id))?;
            let key_package = KeyPackage::try_from(secret.clone())
                .map_err(|e| SignerError::Frost(e.to_string()))?;
            KeyShare::from_parts(*id, ids.iter().copied(), key_package, public.clone())
        })
        .collect()
}
