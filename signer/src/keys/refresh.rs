//! Share refresh: every participant gets a new share of the same group key.
//!
//! Built on FROST's DKG-style refresh (`keys::refresh::refresh_dkg_*`): each participant
//! deals a random polynomial with constant term zero and adds what it receives to its
//! share. The group key and threshold stay the same; old shares stop combining with new
//! ones, so a share leaked before the refresh is worthless after it (once the old shares
//! are erased). All participants of the key take part; messages are the DKG's types.

use std::collections::BTreeMap;

use frost_core::keys::dkg::{round1, round2};
use frost_core::keys::refresh;
use frost_core::Ciphersuite;
use rand_core::{CryptoRng, RngCore};

use crate::error::{Result, SignerError};
use crate::keys::dkg::{
    blame, check_addressed_to, collect_from_others, DkgRound1Message, DkgRound2Message,
};
use crate::keys::share::KeyShare;

/// Refresh state after round 1.
pub struct RefreshRound1<C: Ciphersuite> {
    share: KeyShare<C>,
    secret: round1::SecretPackage<C>,
}

/// Refresh state after round 2.
pub struct RefreshRound2<C: Ciphersuite> {
    share: KeyShare<C>,
    secret: round2::SecretPackage<C>,
    round1: BTreeMap<frost_core::Identifier<C>, round1::Package<C>>,
}

/// Starts a refresh of `share`; returns the state and the broadcast for all others.
pub fn start_refresh<C: Ciphersuite, R: RngCore + CryptoRng>(
    share: KeyShare<C>,
    rng: &mut R,
) -> Result<(RefreshRound1<C>, DkgRound1Message<C>)> {
    let n = u16::try_from(share.participants().len())
        .map_err(|_| SignerError::Frost("too many participants".into()))?;
    let (secret, package) =
        refresh::refresh_dkg_part1(share.id().to_frost(), n, share.threshold(), rng)
            .map_err(|e| SignerError::Frost(e.to_string()))?;
    let msg = DkgRound1Message {
        from: share.id(),
        package,
    };
    Ok((RefreshRound1 { share, secret }, msg))
}

impl<C: Ciphersuite> RefreshRound1<C> {
    /// Takes every other participant's broadcast; returns the private messages to send.
    pub fn receive(
        self,
        messages: Vec<DkgRound1Message<C>>,
    ) -> Result<(RefreshRound2<C>, Vec<DkgRound2Message<C>>)> {
        let me = self.share.id();
        let everyone = self.share.participants().to_vec();
        let packages = collect_from_others(me, &everyone, "refresh round 1", messages, |m| {
            (m.from, m.package)
        })?;
        let (secret, outgoing) = refresh::refresh_dkg_part2(self.secret, &packages)
            .map_err(|e| blame(e, "refresh round 1", &everyone))?;
        let out = outgoing
            .into_iter()
            .map(|(to, package)| {
                let to = crate::ids::SignerId::from_frost(&to, everyone.iter().copied())
                    .ok_or_else(|| SignerError::Frost("unknown refresh recipient".into()))?;
                Ok(DkgRound2Message {
                    from: me,
                    to,
                    package,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((
            RefreshRound2 {
                share: self.share,
                secret,
                round1: packages,
            },
            out,
        ))
    }
}

impl<C: Ciphersuite> RefreshRound2<C> {
    /// Takes every other participant's private message; returns the refreshed share.
    pub fn finish(self, messages: Vec<DkgRound2Message<C>>) -> Result<KeyShare<C>> {
        let me = self.share.id();
        check_addressed_to(me, &messages)?;
        let everyone = self.share.participants().to_vec();
        let packages = collect_from_others(me, &everyone, "refresh round 2", messages, |m| {
            (m.from, m.package)
        })?;
        let (key_package, public) = refresh::refresh_dkg_shares(
            &self.secret,
            &self.round1,
            &packages,
            self.share.public_key_package().clone(),
            self.share.key_package().clone(),
        )
        .map_err(|e| blame(e, "refresh round 2", &everyone))?;
        if public.verifying_key() != self.share.group_key() {
            return Err(SignerError::InconsistentShare(
                "refresh changed the group key".into(),
            ));
        }
        KeyShare::from_parts(me, everyone, key_package, public)
    }
}
