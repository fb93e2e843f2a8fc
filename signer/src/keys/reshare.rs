//! Resharing: move a key to a new `t'`-of-`n'` group and keep the group key.
//!
//! The ZcashFoundation crates refresh and repair shares but cannot change `t` or `n`, so
//! this is the standard Lagrange-weighted re-dealing (Desmedt–Jajodia / Herzberg et al.)
//! with Feldman commitments, built from FROST's own dealer (`keys::split`):
//!
//! 1. An agreed set `S` of at least `t` old holders deals. Dealer `i` computes
//!    `w_i = λ_i · s_i` (its Lagrange coefficient over `S` at zero times its share) and
//!    splits `w_i` with a fresh random polynomial of degree `t' - 1`, sending each new
//!    participant its evaluation together with the Feldman commitment to the polynomial.
//! 2. New participant `j` verifies every evaluation against its commitment, and checks
//!    that the commitment's constant term equals `λ_i · Y_i` where `Y_i` is dealer `i`'s
//!    public verifying share — so a dealer cannot re-deal anything but its real share. Any
//!    failure names the dealer. Then `s'_j = Σ_i f_i(j)`; the new group commitment is the
//!    sum of the dealers' commitments, whose constant term is `Σ λ_i Y_i = Y`, the old group
//!    key, which is checked.
//!
//! Old holders must erase their old shares once the new group has confirmed its shares:
//! `t` old shares still sign for the same key.

use std::collections::{BTreeMap, BTreeSet};

use frost_core::keys::{
    self, IdentifierList, KeyPackage, PublicKeyPackage, SecretShare,
    VerifiableSecretSharingCommitment,
};
use frost_core::{Ciphersuite, Field, Group, SigningKey};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use super::arith;
use crate::error::{Result, SignerError};
use crate::ids::{SignerId, Threshold};
use crate::keys::share::KeyShare;

/// The agreed parameters of a resharing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReshareConfig {
    dealers: Vec<SignerId>,
    new_participants: Vec<SignerId>,
    new_threshold: u16,
}

impl ReshareConfig {
    /// Validates the dealers against the old key (distinct members, at least `t`) and the
    /// new group (distinct ids, `2 <= t' <= n'`).
    pub fn new<C: Ciphersuite>(
        old_public: &PublicKeyPackage<C>,
        dealers: Vec<SignerId>,
        new_participants: Vec<SignerId>,
        new_threshold: u16,
    ) -> Result<Self> {
        let old_t = old_public
            .min_signers()
            .ok_or_else(|| SignerError::InconsistentShare("old key has no threshold".into()))?;
        let mut seen = BTreeSet::new();
        for d in &dealers {
            if !old_public
                .verifying_shares()
                .contains_key(&d.to_frost::<C>())
            {
                return Err(SignerError::UnknownSigner(*d));
            }
            if !seen.insert(*d) {
                return Err(SignerError::DuplicateIdentifier(*d));
            }
        }
        if dealers.len() < old_t as usize {
            return Err(SignerError::TooFew {
                what: "resharing dealers",
                got: dealers.len(),
                need: old_t as usize,
            });
        }
        let mut seen = BTreeSet::new();
        for p in &new_participants {
            if !seen.insert(*p) {
                return Err(SignerError::DuplicateIdentifier(*p));
            }
        }
        let n =
            u16::try_from(new_participants.len()).map_err(|_| SignerError::InvalidThreshold {
                t: new_threshold,
                n: u16::MAX,
            })?;
        Threshold::new(new_threshold, n)?;
        let (mut dealers, mut new_participants) = (dealers, new_participants);
        dealers.sort();
        new_participants.sort();
        Ok(Self {
            dealers,
            new_participants,
            new_threshold,
        })
    }

    /// Old holders that deal.
    pub fn dealers(&self) -> &[SignerId] {
        &self.dealers
    }

    /// The new group's participants.
    pub fn new_participants(&self) -> &[SignerId] {
        &self.new_participants
    }

    /// The new threshold `t'`.
    pub fn new_threshold(&self) -> u16 {
        self.new_threshold
    }

    fn dealer_ids<C: Ciphersuite>(&self) -> Vec<frost_core::Identifier<C>> {
        self.dealers.iter().map(|d| d.to_frost()).collect()
    }
}

/// A dealer's private message to one new participant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "C: Ciphersuite")]
pub struct ReshareMessage<C: Ciphersuite> {
    /// Old holder that dealt it.
    pub from: SignerId,
    /// New participant it is for.
    pub to: SignerId,
    /// Evaluation of the dealer's polynomial at `to`, with the Feldman commitment.
    pub share: SecretShare<C>,
}

/// Run by each dealer: re-deals its Lagrange-weighted share to the new group.
pub fn reshare_deal<C: Ciphersuite, R: RngCore + CryptoRng>(
    dealer: &KeyShare<C>,
    config: &ReshareConfig,
    rng: &mut R,
) -> Result<Vec<ReshareMessage<C>>> {
    if !config.dealers.contains(&dealer.id()) {
        return Err(SignerError::UnknownSigner(dealer.id()));
    }
    let lambda = arith::lagrange_at_zero(&config.dealer_ids::<C>(), &dealer.id().to_frost())?;
    let w = lambda * arith::share_scalar(dealer.key_package().signing_share())?;
    let key = SigningKey::from_scalar(w).map_err(|e| SignerError::Frost(e.to_string()))?;
    let new_ids: Vec<_> = config
        .new_participants
        .iter()
        .map(|p| p.to_frost::<C>())
        .collect();
    let n = new_ids.len() as u16;
    let (shares, _) = keys::split(
        &key,
        n,
        config.new_threshold,
        IdentifierList::Custom(&new_ids),
        rng,
    )
    .map_err(|e| SignerError::Frost(e.to_string()))?;
    config
        .new_participants
        .iter()
        .map(|to| {
            let share = shares
                .get(&to.to_frost::<C>())
                .cloned()
                .ok_or(SignerError::MissingMessage(*to))?;
            Ok(ReshareMessage {
                from: dealer.id(),
                to: *to,
                share,
            })
        })
        .collect()
}

/// Run by each new participant: verifies one message from every dealer and assembles its
/// new share of the old group key.
pub fn reshare_receive<C: Ciphersuite>(
    me: SignerId,
    config: &ReshareConfig,
    old_public: &PublicKeyPackage<C>,
    messages: &[ReshareMessage<C>],
) -> Result<KeyShare<C>> {
    if !config.new_participants.contains(&me) {
        return Err(SignerError::UnknownSigner(me));
    }
    let dealer_ids = config.dealer_ids::<C>();
    let mut by_dealer: BTreeMap<SignerId, &ReshareMessage<C>> = BTreeMap::new();
    for m in messages {
        if m.to != me {
            return Err(SignerError::MisaddressedMessage {
                from: m.from,
                to: m.to,
                me,
            });
        }
        if !config.dealers.contains(&m.from) {
            return Err(SignerError::UnknownSigner(m.from));
        }
        if by_dealer.insert(m.from, m).is_some() {
            return Err(SignerError::DuplicateIdentifier(m.from));
        }
    }
    if let Some(missing) = config.dealers.iter().find(|d| !by_dealer.contains_key(d)) {
        return Err(SignerError::MissingMessage(*missing));
    }

    let bad = |culprit: SignerId, reason: String| SignerError::Misbehaviour {
        culprit,
        phase: "reshare",
        reason,
    };
    let zero = <<C::Group as Group>::Field as Field>::zero();
    let mut secret = zero;
    let mut group: Vec<frost_core::Element<C>> =
        vec![C::Group::identity(); config.new_threshold as usize];
    for (dealer, m) in &by_dealer {
        if *m.share.identifier() != me.to_frost::<C>() {
            return Err(bad(*dealer, "share is for another participant".into()));
        }
        let coeffs = m
            .share
            .commitment()
            .serialize()
            .map_err(|e| bad(*dealer, format!("commitment: {e}")))?;
        if coeffs.len() != config.new_threshold as usize {
            return Err(bad(
                *dealer,
                format!(
                    "commitment has {} coefficients, expected t' = {}",
                    coeffs.len(),
                    config.new_threshold
                ),
            ));
        }
        let (_, constant) = m
            .share
            .verify()
            .map_err(|e| bad(*dealer, format!("share does not match its commitment: {e}")))?;
        let y_i = old_public
            .verifying_shares()
            .get(&dealer.to_frost::<C>())
            .ok_or(SignerError::UnknownSigner(*dealer))?;
        let lambda = arith::lagrange_at_zero(&dealer_ids, &dealer.to_frost())?;
        if arith::vkey_element(&constant)? != arith::vshare_element(y_i)? * lambda {
            return Err(bad(
                *dealer,
                "re-dealt value is not the dealer's Lagrange-weighted share".into(),
            ));
        }
        secret = secret + arith::share_scalar(m.share.signing_share())?;
        for (acc, c) in group.iter_mut().zip(&coeffs) {
            let ser = <C::Group as Group>::Serialization::try_from(c.as_slice()).map_err(|_| {
                bad(
                    *dealer,
                    "commitment coefficient has the wrong length".into(),
                )
            })?;
            let e = C::Group::deserialize(&ser)
                .map_err(|e| bad(*dealer, format!("commitment coefficient: {e}")))?;
            *acc = *acc + e;
        }
    }

    let coefficients = group
        .iter()
        .map(arith::element_bytes::<C>)
        .collect::<Result<Vec<_>>>()?;
    let commitment = VerifiableSecretSharingCommitment::<C>::deserialize(coefficients)
        .map_err(|e| SignerError::Frost(e.to_string()))?;
    let new_ids: BTreeSet<_> = config
        .new_participants
        .iter()
        .map(|p| p.to_frost::<C>())
        .collect();
    let public = PublicKeyPackage::from_commitment(&new_ids, &commitment)
        .map_err(|e| SignerError::Frost(e.to_string()))?;
    if public.verifying_key() != old_public.verifying_key() {
        return Err(SignerError::InconsistentShare(
            "reshared group key differs from the old group key".into(),
        ));
    }
    let signing_share = arith::scalar_share::<C>(&secret)?;
    let verifying_share = *public
        .verifying_shares()
        .get(&me.to_frost::<C>())
        .ok_or(SignerError::UnknownSigner(me))?;
    let key_package = KeyPackage::new(
        me.to_frost(),
        signing_share,
        verifying_share,
        *public.verifying_key(),
        config.new_threshold,
    );
    KeyShare::from_parts(
        me,
        config.new_participants.iter().copied(),
        key_package,
        public,
    )
}
