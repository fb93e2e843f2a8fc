//! In-process spend endpoints: a [`SessionSigner`] with its spend keys, as the spend
//! coordinator ([`crate::session::spend::SpendCoordinator`]) reaches it.

use std::sync::Arc;

use circuits::spend::SpendPolicy;
use circuits::BackendId;
use prover::spend::{SpendKeys, SpendProver};
use prover::ProofSystem;
use rand::rngs::OsRng;
use verifier::{PolicyRegistry, RegisteredPolicies};

use crate::ids::SignerId;
use crate::round::nonce::NonceStore;
use crate::session::spend::{
    SpendEndpoint, SpendRound1Reply, SpendRound1Request, SpendRound2Reply, SpendRound2Request,
};
use crate::session::{Refusal, Registered, SessionSigner};
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

/// A fixed registry (tests, benches): the same intent and spend commitments for every key,
/// backend and time.
pub struct FixedRegistry {
    /// The intent statement's `P` per signer.
    pub intent: RegisteredPolicies,
    /// The spend statement's `P` per signer.
    pub spend: RegisteredPolicies,
}

impl PolicyRegistry for FixedRegistry {
    fn policies(&self, _: &str, _: BackendId, _: u64) -> RegisteredPolicies {
        self.intent.clone()
    }
    fn spend_policies(&self, _: &str, _: BackendId, _: u64) -> RegisteredPolicies {
        self.spend.clone()
    }
}

/// Gives every one of `nodes` (from [`super::session_signers`], whose intent commitments
/// are `intent`) the spend policy `policy`, registered for it in a [`FixedRegistry`];
/// returns the nodes and the registered spend commitments (what the coordinator checks).
pub fn hold_spend_policy<S, P>(
    nodes: Vec<SessionSigner<Taproot, S, P>>,
    intent: RegisteredPolicies,
    policy: &SpendPolicy,
) -> (Vec<SessionSigner<Taproot, S, P>>, RegisteredPolicies)
where
    S: NonceStore<Taproot>,
    P: ProofSystem,
{
    let p = policy.commitment::<P::Backend>().to_le_bytes();
    let spend: RegisteredPolicies = nodes.iter().map(|n| (n.id().get(), p)).collect();
    let registered = Registered {
        key_id: "local".into(),
        registry: Arc::new(FixedRegistry {
            intent,
            spend: spend.clone(),
        }),
    };
    let nodes = nodes
        .into_iter()
        .map(|n| {
            let n = n.with_registered(registered.clone());
            n.set_spend_policies(vec![policy.clone()]);
            n
        })
        .collect();
    (nodes, spend)
}
