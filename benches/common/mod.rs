//! What the session benches share: an in-process cluster (dealer key, one session signer per
//! share, the coordinator of the key). Each bench binary compiles this module on its own.

use std::sync::Arc;

use circuits::sample;
use prover::ProofSystem;
use rand::rngs::OsRng;
use signer::keys::dealer;
use signer::session::SessionSigner;
use signer::taproot::Taproot;
use signer::{MemoryNonceStore, Threshold};
use zkquorum::coordinator::Coordinator;

/// One in-memory signer node of a bench cluster.
pub type Node<P> = SessionSigner<Taproot, MemoryNonceStore<Taproot>, P>;

/// A `t`-of-`n` trusted-dealer key on `system`: its session signers (all with
/// [`sample::policy`]), its coordinator and the registered policies.
pub fn cluster<P: ProofSystem>(
    system: &Arc<P>,
    t: u16,
    n: u16,
) -> (
    Vec<Node<P>>,
    Coordinator<'_, Taproot, P::Verifier>,
    verifier::RegisteredPolicies,
) {
    let shares =
        dealer::trusted_dealer::<Taproot, _>(Threshold::new(t, n).unwrap(), &mut OsRng).unwrap();
    let public = shares[0].public_key_package().clone();
    let (nodes, roster, policies) =
        signer::local::session_signers(shares, &sample::policy(), system, &mut OsRng);
    let coord = Coordinator::new(public, roster, system.verifier()).unwrap();
    (nodes, coord, policies)
}
