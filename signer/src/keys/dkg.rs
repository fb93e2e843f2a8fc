//! Distributed key generation (Pedersen DKG with proofs of knowledge, FROST's `keys::dkg`)
//! as a message-passing state machine.
//!
//! Each participant runs [`DkgParticipant::start`] → [`DkgRound1::receive`] →
//! [`DkgRound2::finish`]. Functions take and return messages; moving them is the caller's
//! job: round-1 messages are broadcast (the transport must make every participant see the
//! same package from each sender), round-2 messages are private and must travel encrypted
//! and authenticated. Every check names the participant to blame: a tampered proof of
//! knowledge, a package replayed under another identity, a secret share that does not match
//! its sender's commitment.

use std::collections::BTreeMap;

use frost_core::keys::dkg::{self, round1, round2};
use frost_core::{Ciphersuite, Error as FrostError};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SignerError};
use crate::ids::{SignerId, Threshold};
use crate::keys::share::KeyShare;

/// Round-1 broadcast: the sender's polynomial commitment and proof of knowledge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "C: Ciphersuite")]
pub struct DkgRound1Message<C: Ciphersuite> {
    /// Sender.
    pub from: SignerId,
    /// FROST round-1 package.
    pub package: round1::Package<C>,
}

/// Round-2 private message: the sender's secret share for one recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "C: Ciphersuite")]
pub struct DkgRound2Message<C: Ciphersuite> {
    /// Sender.
    pub from: SignerId,
    /// Recipient.
    pub to: SignerId,
    /// FROST round-2 package (secret).
    pub package: round2::Package<C>,
}

/// A participant before the DKG starts.
pub struct DkgParticipant;

/// State after round 1: waiting for every other participant's broadcast.
pub struct DkgRound1<C: Ciphersuite> {
    me: SignerId,
    threshold: Threshold,
    secret: round1::SecretPackage<C>,
}

/// State after round 2: waiting for every other participant's secret share.
pub struct DkgRound2<C: Ciphersuite> {
    me: SignerId,
    threshold: Threshold,
    secret: round2::SecretPackage<C>,
    round1: BTreeMap<frost_core::Identifier<C>, round1::Package<C>>,
}

impl DkgParticipant {
    /// Starts the DKG for participant `me` of a `t`-of-`n` key; returns the state and the
    /// broadcast to send to all others.
    pub fn start<C: Ciphersuite, R: RngCore + CryptoRng>(
        me: SignerId,
        threshold: Threshold,
        rng: &mut R,
    ) -> Result<(DkgRound1<C>, DkgRound1Message<C>)> {
        threshold.check_member(me)?;
        let (secret, package) = dkg::part1(me.to_frost(), threshold.n(), threshold.t(), rng)
            .map_err(|e| SignerError::Frost(e.to_string()))?;
        Ok((
            DkgRound1 {
                me,
                threshold,
                secret,
            },
            DkgRound1Message { from: me, package },
        ))
    }
}

impl<C: Ciphersuite> DkgRound1<C> {
    /// Takes the other `n - 1` participants' broadcasts, verifies their proofs of knowledge,
    /// and returns the secret shares to send, one message per other participant.
    pub fn receive(
        self,
        messages: Vec<DkgRound1Message<C>>,
    ) -> Result<(DkgRound2<C>, Vec<DkgRound2Message<C>>)> {
        let everyone: Vec<SignerId> = SignerId::range(self.threshold.n()).collect();
        let packages = collect_from_others(self.me, &everyone, "DKG round 1", messages, |m| {
            (m.from, m.package)
        })?;
        let (secret, outgoing) =
            dkg::part2(self.secret, &packages).map_err(|e| blame(e, "DKG round 1", &everyone))?;
        let mut out = Vec::with_capacity(outgoing.len());
        for (to, package) in outgoing {
            let to = SignerId::from_frost(&to, SignerId::range(self.threshold.n()))
                .ok_or_else(|| SignerError::Frost("frost returned an unknown recipient".into()))?;
            out.push(DkgRound2Message {
                from: self.me,
                to,
                package,
            });
        }
        Ok((
            DkgRound2 {
                me: self.me,
                threshold: self.threshold,
                secret,
                round1: packages,
            },
            out,
        ))
    }
}

impl<C: Ciphersuite> DkgRound2<C> {
    /// Takes the other `n - 1` participants' secret shares, verifies each against its
    /// sender's round-1 commitment, and returns this participant's key share.
    pub fn finish(self, messages: Vec<DkgRound2Message<C>>) -> Result<KeyShare<C>> {
        check_addressed_to(self.me, &messages)?;
        let everyone: Vec<SignerId> = SignerId::range(self.threshold.n()).collect();
        let packages = collect_from_others(self.me, &everyone, "DKG round 2", messages, |m| {
            (m.from, m.package)
        })?;
        let (key_package, public) = dkg::part3(&self.secret, &self.round1, &packages)
            .map_err(|e| blame(e, "DKG round 2", &everyone))?;
        KeyShare::from_parts(
            self.me,
            SignerId::range(self.threshold.n()),
            key_package,
            public,
        )
    }
}

/// Checks that `messages` hold exactly one message from each participant other than `me`
/// and returns them keyed by FROST identifier.
pub(crate) fn collect_from_others<C: Ciphersuite, M, P>(
    me: SignerId,
    participants: &[SignerId],
    phase: &'static str,
    messages: Vec<M>,
    split: impl Fn(M) -> (SignerId, P),
) -> Result<BTreeMap<frost_core::Identifier<C>, P>> {
    let mut out = BTreeMap::new();
    for m in messages {
        let (from, package) = split(m);
        if !participants.contains(&from) {
            return Err(SignerError::UnknownSigner(from));
        }
        if from == me {
            return Err(SignerError::Misbehaviour {
                culprit: from,
                phase,
                reason: "received a message claiming to come from this participant".into(),
            });
        }
        if out.insert(from.to_frost::<C>(), package).is_some() {
            return Err(SignerError::DuplicateIdentifier(from));
        }
    }
    if let Some(missing) = participants
        .iter()
        .copied()
        .find(|id| *id != me && !out.contains_key(&id.to_frost()))
    {
        return Err(SignerError::MissingMessage(missing));
    }
    Ok(out)
}

/// Maps a FROST error to a typed error naming the culprit where FROST identified one.
pub(crate) fn blame<C: Ciphersuite>(
    e: FrostError<C>,
    phase: &'static str,
    participants: &[SignerId],
) -> SignerError {
    let culprit = e
        .culprits()
        .first()
        .and_then(|c| SignerId::from_frost(c, participants.iter().copied()));
    match culprit {
        Some(culprit) => SignerError::Misbehaviour {
            culprit,
            phase,
            reason: e.to_string(),
        },
        None => SignerError::Frost(e.to_string()),
    }
}

/// Refuses any round-2 message not addressed to `me`.
pub(crate) fn check_addressed_to<C: Ciphersuite>(
    me: SignerId,
    messages: &[DkgRound2Message<C>],
) -> Result<()> {
    match messages.iter().find(|m| m.to != me) {
        Some(m) => Err(SignerError::MisaddressedMessage {
            from: m.from,
            to: m.to,
            me,
        }),
        None => Ok(()),
    }
}
