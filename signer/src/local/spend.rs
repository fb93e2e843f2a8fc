//! In-process spend endpoints: a [`SessionSigner`] with its spend keys, as the spend
//! coordinator ([`crate::session::spend::SpendCoordinator`]) reaches it.

use prover::spend::{SpendKeys, SpendProver};
use prover::ProofSystem;
use rand::rngs::OsRng;

use crate::ids::SignerId;
use crate::round::nonce::NonceStore;
use crate::session::spend::{
    SpendEndpoint, SpendRound1Reply, SpendRound1Request, SpendRound2Reply, SpendRound2Request,
};
use crate::session::{Refusal, SessionSigner};
use crate::taproot::Taproot;

/// A signer in this process and the spend keys it proves with.
pub struct SpendNode<'a, S: NonceStore<Taproot>, P: ProofSystem, Q> {
    /// The signer.
    pub signer: &'a SessionSigner<Taproot, S, P>,
    /// Its spend keys (one per size class it signs for).
    pub keys: &'a SpendKeys<Q>,
}

impl<S, P, Q> SpendEndpoint for SpendNode<'_, S, P, Q>
where
    S: NonceStore<Taproot> + Sync,
    P: ProofSystem,
    Q: SpendProver<Backend = P::Backend>,
{
    fn id(&self) -> SignerId {
        self.signer.id()
    }
    fn spend_round1(&self, req: &SpendRound1Request) -> Result<SpendRound1Reply, Refusal> {
        Ok(self.signer.spend_round1(req, self.keys, &mut OsRng)?)
    }
    fn spend_round2(&self, req: &SpendRound2Request) -> Result<SpendRound2Reply, Refusal> {
        Ok(self.signer.spend_round2(req, self.keys, &mut OsRng)?)
    }
}
