//! Share repair: a participant who lost its share gets it rebuilt by `t` helpers, without
//! any helper learning it (FROST's repairable threshold scheme, `keys::repairable`).
//!
//! Step 1: each helper splits its Lagrange-weighted share into random deltas, one per
//! helper (private messages). Step 2: each helper sums the deltas it received into a sigma
//! for the lost participant. Step 3: the lost participant sums the sigmas and checks the
//! result against its verifying share in the group's public key package, so a wrong delta
//! or sigma cannot go unnoticed.

use std::collections::BTreeSet;

use frost_core::keys::repairable::{self, Delta, Sigma};
use frost_core::keys::PublicKeyPackage;
use frost_core::Ciphersuite;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SignerError};
use crate::ids::SignerId;
use crate::keys::share::KeyShare;

/// Helper-to-helper private message of step 1.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "C: Ciphersuite")]
pub struct RepairDelta<C: Ciphersuite> {
    /// Helper that computed it.
    pub from: SignerId,
    /// Helper it is for.
    pub to: SignerId,
    /// The delta value (secret).
    pub delta: Delta<C>,
}

/// Helper-to-lost-participant private message of step 2.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "C: Ciphersuite")]
pub struct RepairSigma<C: Ciphersuite> {
    /// Helper that computed it.
    pub from: SignerId,
    /// The sigma value (secret).
    pub sigma: Sigma<C>,
}

/// Checks the helper set: distinct members of the key, at least `t`, not the lost one.
fn check_helpers(
    participants: &[SignerId],
    t: u16,
    helpers: &[SignerId],
    lost: SignerId,
) -> Result<()> {
    if !participants.contains(&lost) {
        return Err(SignerError::UnknownSigner(lost));
    }
    let mut seen = BTreeSet::new();
    for h in helpers {
        if !participants.contains(h) {
            return Err(SignerError::UnknownSigner(*h));
        }
        if *h == lost {
            return Err(SignerError::Misbehaviour {
                culprit: lost,
                phase: "repair",
                reason: "the participant being repaired cannot be its own helper".into(),
            });
        }
        if !seen.insert(*h) {
            return Err(SignerError::DuplicateIdentifier(*h));
        }
    }
    if helpers.len() < t as usize {
        return Err(SignerError::TooFew {
            what: "repair helpers",
            got: helpers.len(),
            need: t as usize,
        });
    }
    Ok(())
}

/// Step 1, run by each helper: the deltas to send to every helper (itself included).
pub fn repair_step1<C: Ciphersuite, R: RngCore + CryptoRng>(
    helper: &KeyShare<C>,
    helpers: &[SignerId],
    lost: SignerId,
    rng: &mut R,
) -> Result<Vec<RepairDelta<C>>> {
    check_helpers(helper.participants(), helper.threshold(), helpers, lost)?;
    if !helpers.contains(&helper.id()) {
        return Err(SignerError::UnknownSigner(helper.id()));
    }
    let frost_helpers: Vec<_> = helpers.iter().map(|h| h.to_frost::<C>()).collect();
    let deltas =
        repairable::repair_share_part1(&frost_helpers, helper.key_package(), rng, lost.to_frost())
            .map_err(|e| SignerError::Frost(e.to_string()))?;
    deltas
        .into_iter()
        .map(|(to, delta)| {
            let to = SignerId::from_frost(&to, helpers.iter().copied())
                .ok_or_else(|| SignerError::Frost("frost returned an unknown helper".into()))?;
            Ok(RepairDelta {
                from: helper.id(),
                to,
                delta,
            })
        })
        .collect()
}

/// Step 2, run by each helper: sums the deltas addressed to it (one from every helper)
/// into the sigma to send to the lost participant.
pub fn repair_step2<C: Ciphersuite>(
    helper: &KeyShare<C>,
    helpers: &[SignerId],
    lost: SignerId,
    deltas: &[RepairDelta<C>],
) -> Result<RepairSigma<C>> {
    check_helpers(helper.participants(), helper.threshold(), helpers, lost)?;
    let me = helper.id();
    let mut from = BTreeSet::new();
    for d in deltas {
        if d.to != me {
            return Err(SignerError::MisaddressedMessage {
                from: d.from,
                to: d.to,
                me,
            });
        }
        if !helpers.contains(&d.from) {
            return Err(SignerError::UnknownSigner(d.from));
        }
        if !from.insert(d.from) {
            return Err(SignerError::DuplicateIdentifier(d.from));
        }
    }
    if let Some(missing) = helpers.iter().find(|h| !from.contains(h)) {
        return Err(SignerError::MissingMessage(*missing));
    }
    let values: Vec<Delta<C>> = deltas.iter().map(|d| d.delta).collect();
    Ok(RepairSigma {
        from: me,
        sigma: repairable::repair_share_part2(&values),
    })
}

/// Step 3, run by the lost participant: rebuilds its share from one sigma per helper and
/// checks it against the group's public key package.
pub fn repair_step3<C: Ciphersuite>(
    lost: SignerId,
    participants: &[SignerId],
    public: &PublicKeyPackage<C>,
    helpers: &[SignerId],
    sigmas: &[RepairSigma<C>],
) -> Result<KeyShare<C>> {
    let t = public.min_signers().ok_or_else(|| {
        SignerError::InconsistentShare("public key package has no threshold".into())
    })?;
    check_helpers(participants, t, helpers, lost)?;
    let mut from = BTreeSet::new();
    for s in sigmas {
        if !helpers.contains(&s.from) {
            return Err(SignerError::UnknownSigner(s.from));
        }
        if !from.insert(s.from) {
            return Err(SignerError::DuplicateIdentifier(s.from));
        }
    }
    if let Some(missing) = helpers.iter().find(|h| !from.contains(h)) {
        return Err(SignerError::MissingMessage(*missing));
    }
    let values: Vec<Sigma<C>> = sigmas.iter().map(|s| s.sigma).collect();
    let key_package = repairable::repair_share_part3(&values, lost.to_frost(), public)
        .map_err(|e| SignerError::Frost(e.to_string()))?;
    KeyShare::from_parts(lost, participants.iter().copied(), key_package, public.clone()).map_err(
        |e| match e {
            SignerError::InconsistentShare(_) => SignerError::InconsistentShare(
                "repaired share does not match the group's verifying share: a helper sent a wrong delta or sigma"
                    .into(),
            ),
            other => other,
        },
    )
}

impl<C: Ciphersuite> core::fmt::Debug for RepairDelta<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RepairDelta")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("delta", &"<redacted>")
            .finish()
    }
}

impl<C: Ciphersuite> core::fmt::Debug for RepairSigma<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RepairSigma")
            .field("from", &self.from)
            .field("sigma", &"<redacted>")
            .finish()
    }
}
