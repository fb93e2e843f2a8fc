//! Threshold signing: round 1 (nonces and commitments), round 2 (signature share) and
//! aggregation with cheater detection.
//!
//! [`Signer`] is one participant: its key share plus its [`NonceStore`]. The coordinator
//! side is [`signing_package`] and [`aggregate`]. Round 2 consumes the session's nonces
//! *before* anything else, so a refused package also burns them: the coordinator must
//! start a new session, never retry with the same nonces.

use std::collections::{BTreeMap, BTreeSet};

use frost_core::keys::PublicKeyPackage;
use frost_core::round1::SigningCommitments;
use frost_core::round2::SignatureShare;
use frost_core::{
    aggregate_custom, round1, round2, CheaterDetection, Ciphersuite, Error as FrostError,
    Signature, SigningPackage,
};
use rand_core::{CryptoRng, RngCore};

use crate::error::{Result, SignerError};
use crate::ids::{SessionId, SignerId};
use crate::keys::share::KeyShare;
use crate::round::nonce::NonceStore;

/// One signing participant: a key share and the store that keeps its nonces single-use.
pub struct Signer<C: Ciphersuite, S: NonceStore<C>> {
    share: KeyShare<C>,
    store: S,
}

impl<C: Ciphersuite, S: NonceStore<C>> Signer<C, S> {
    /// A signer over `share` whose nonces live in `store`.
    pub fn new(share: KeyShare<C>, store: S) -> Self {
        Self { share, store }
    }

    /// This signer's key share.
    pub fn share(&self) -> &KeyShare<C> {
        &self.share
    }

    /// This signer's nonce store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Round 1: fresh nonces for `session`, stored single-use; returns the commitments to
    /// send to the coordinator. A session that already has nonces is refused.
    pub fn round1<R: RngCore + CryptoRng>(
        &self,
        session: SessionId,
        rng: &mut R,
    ) -> Result<SigningCommitments<C>> {
        let (nonces, commitments) =
            round1::commit::<C, R>(self.share.key_package().signing_share(), rng);
        self.store.put(session, nonces)?;
        Ok(commitments)
    }

    /// Round 2: consumes the session's nonces and returns this signer's share over the
    /// package's message. Refused if the package does not hold exactly the commitments
    /// this signer made in round 1.
    pub fn round2(
        &self,
        session: SessionId,
        package: &SigningPackage<C>,
    ) -> Result<SignatureShare<C>> {
        self.round2_with(session, package, |nonces| {
            round2::sign(package, nonces, self.share.key_package())
        })
    }

    /// The shared body of round 2; `sign` performs the ciphersuite's signing step.
    pub(crate) fn round2_with(
        &self,
        session: SessionId,
        package: &SigningPackage<C>,
        sign: impl FnOnce(
            &round1::SigningNonces<C>,
        ) -> core::result::Result<SignatureShare<C>, FrostError<C>>,
    ) -> Result<SignatureShare<C>> {
        let count = package.signing_commitments().len();
        let t = self.share.threshold() as usize;
        if count < t {
            return Err(SignerError::TooFew {
                what: "signers in the signing package",
                got: count,
                need: t,
            });
        }
        let nonces = self.store.consume(session)?;
        let me = self.share.id();
        if package.signing_commitments().get(&me.to_frost::<C>()) != Some(nonces.commitments()) {
            return Err(SignerError::CommitmentMismatch(me));
        }
        if let Some(stranger) = package.signing_commitments().keys().find(|id| {
            SignerId::from_frost(id, self.share.participants().iter().copied()).is_none()
        }) {
            return Err(SignerError::Frost(format!(
                "signing package names a non-participant {stranger:?}"
            )));
        }
        sign(&nonces).map_err(|e| SignerError::Frost(e.to_string()))
    }
}

/// Coordinator: builds the signing package from the chosen signers' commitments.
pub fn signing_package<C: Ciphersuite>(
    commitments: &BTreeMap<SignerId, SigningCommitments<C>>,
    message: &[u8],
) -> SigningPackage<C> {
    let map = commitments
        .iter()
        .map(|(id, c)| (id.to_frost::<C>(), *c))
        .collect();
    SigningPackage::new(map, message)
}

/// Coordinator: aggregates the shares into the group signature. Every share is checked
/// against its signer's verifying share; bad ones are all named in
/// [`SignerError::InvalidSignatureShares`], so a retry can exclude them.
pub fn aggregate<C: Ciphersuite>(
    package: &SigningPackage<C>,
    shares: &BTreeMap<SignerId, SignatureShare<C>>,
    public: &PublicKeyPackage<C>,
) -> Result<Signature<C>> {
    aggregate_with(package, shares, public, |p, s, k| {
        aggregate_custom(p, s, k, CheaterDetection::AllCheaters)
    })
}

/// The shared body of aggregation: checks the share set against the package, calls the
/// ciphersuite's aggregation, and names cheaters.
pub(crate) fn aggregate_with<C: Ciphersuite>(
    package: &SigningPackage<C>,
    shares: &BTreeMap<SignerId, SignatureShare<C>>,
    public: &PublicKeyPackage<C>,
    aggregate: impl FnOnce(
        &SigningPackage<C>,
        &BTreeMap<frost_core::Identifier<C>, SignatureShare<C>>,
        &PublicKeyPackage<C>,
    ) -> core::result::Result<Signature<C>, FrostError<C>>,
) -> Result<Signature<C>> {
    let in_package: BTreeSet<_> = package.signing_commitments().keys().copied().collect();
    for id in shares.keys() {
        if !in_package.contains(&id.to_frost::<C>()) {
            return Err(SignerError::UnknownSigner(*id));
        }
    }
    if shares.len() != in_package.len() {
        let missing = in_package
            .iter()
            .find(|f| !shares.keys().any(|id| id.to_frost::<C>() == **f));
        return Err(SignerError::Frost(format!(
            "a signer in the package sent no share: {missing:?}"
        )));
    }
    let frost_shares = shares
        .iter()
        .map(|(id, s)| (id.to_frost::<C>(), *s))
        .collect();
    aggregate(package, &frost_shares, public).map_err(|e| match e {
        FrostError::InvalidSignatureShare { culprits } => SignerError::InvalidSignatureShares(
            culprits
                .iter()
                .filter_map(|c| SignerId::from_frost(c, shares.keys().copied()))
                .collect(),
        ),
        other => SignerError::Frost(other.to_string()),
    })
}
