//! A synchronous in-process driver of the coordinator's state machine
//! ([`crate::session::coordinator::SignSession`]): each round goes to its signers at once
//! (one scoped thread each, so round-1 proving overlaps), and all replies of the round come
//! back together. Signers are reached through [`Endpoint`]: an in-process
//! [`SessionSigner`], or a test double that wraps one to misbehave.

use frost_core::Ciphersuite;
use prover::ProofSystem;
use rand::rngs::OsRng;

use crate::ids::SignerId;
use crate::round::nonce::NonceStore;
use crate::session::coordinator::{
    Action, Coordinator, CoordinatorError, Refusal, SignSession, Signed,
};
use crate::session::{Round1Reply, Round1Request, Round2Reply, Round2Request, SessionSigner};

/// A signer as the in-process driver reaches it. `Sync`: the driver calls several signers
/// at once.
pub trait Endpoint<C: Ciphersuite>: Sync {
    /// The signer's id.
    fn id(&self) -> SignerId;
    /// Round 1 of a session.
    fn round1(&self, req: &Round1Request) -> Result<Round1Reply<C>, Refusal>;
    /// Round 2 of a session.
    fn round2(&self, req: &Round2Request<C>) -> Result<Round2Reply<C>, Refusal>;
}

impl<C, S, P> Endpoint<C> for SessionSigner<C, S, P>
where
    C: Ciphersuite,
    S: NonceStore<C> + Sync,
    P: ProofSystem,
{
    fn id(&self) -> SignerId {
        SessionSigner::id(self)
    }
    fn round1(&self, req: &Round1Request) -> Result<Round1Reply<C>, Refusal> {
        Ok(SessionSigner::round1(self, req, &mut OsRng)?)
    }
    fn round2(&self, req: &Round2Request<C>) -> Result<Round2Reply<C>, Refusal> {
        Ok(SessionSigner::round2(self, req, &mut OsRng)?)
    }
}

/// Calls `f` on every item at once (one scoped thread each) and returns the results in
/// order: round-1 proving overlaps.
fn fan_out<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = items.iter().map(|i| s.spawn(|| f(i))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Sends one round to the endpoints named in `to` (an id with no endpoint gets no reply).
fn deliver<C: Ciphersuite, T: Send>(
    endpoints: &[&dyn Endpoint<C>],
    to: &[SignerId],
    call: impl Fn(&dyn Endpoint<C>) -> Result<T, Refusal> + Sync,
) -> Vec<(SignerId, Result<T, Refusal>)> {
    let chosen: Vec<&dyn Endpoint<C>> = to
        .iter()
        .filter_map(|id| endpoints.iter().copied().find(|e| e.id() == *id))
        .collect();
    let results = fan_out(&chosen, |e| call(*e));
    chosen.iter().map(|e| e.id()).zip(results).collect()
}

impl<C: Ciphersuite, V: verifier::StatementVerifier> Coordinator<'_, C, V> {
    /// Runs a [`SignSession`] over `endpoints` (candidates in this order) until `t` of them
    /// produce a verified signature over `intent`'s digest, or too few remain; `policies`
    /// are the signers' registered policy commitments (the coordinator's registry).
    pub fn sign(
        &self,
        endpoints: &[&dyn Endpoint<C>],
        intent: &circuits::Intent,
        now: u64,
        policies: &verifier::RegisteredPolicies,
    ) -> Result<Signed<C>, CoordinatorError> {
        let candidates = endpoints.iter().map(|e| e.id()).collect();
        let (mut session, mut action) = SignSession::start(
            self,
            intent.clone(),
            now,
            candidates,
            policies.clone(),
            &mut OsRng,
        );
        loop {
            action = match action {
                Action::Round1 { to, request } => {
                    session.on_round1(deliver(endpoints, &to, |e| e.round1(&request)))
                }
                Action::Round2 { to, request } => {
                    session.on_round2(deliver(endpoints, &to, |e| e.round2(&request)), &mut OsRng)
                }
                Action::Done(signed) => return Ok(signed),
                Action::Failed(e) => return Err(e),
            }
        }
    }
}
