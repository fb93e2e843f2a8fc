//! The async signing driver: runs the sans-IO session state machine
//! ([`signer::session::coordinator::SignSession`]) over the network.
//!
//! Each [`Action`] the state machine returns is one fan-out: the request goes to every
//! named node at once (`join_all` over [`NodeClient`]s on the async runtime — no thread per
//! signer, no `block_on`), and all replies of that round trip are handed back together, so
//! the round-1 proofs of a fan-out are verified as one batch. Verification is CPU work: on a
//! multi-threaded runtime it runs in place of the async worker
//! (`tokio::task::block_in_place`) rather than stalling other requests' I/O. The nodes'
//! proving runs on their own blocking pools.

use futures_util::future::join_all;
use rand::rngs::OsRng;
use signer::session::coordinator::{Action, Coordinator, CoordinatorError, SignSession, Signed};
use signer::taproot::Taproot;
use signer::SignerId;

use crate::net::client::NodeClient;

/// Runs one signing session of `key` over `nodes` (candidates in this order) until `t` of
/// them produce a verified signature over `intent`'s digest, or too few remain; a reply
/// proving another policy commitment than `policies` registers for its signer is refused.
pub async fn sign<V: verifier::StatementVerifier>(
    key: &Coordinator<'_, Taproot, V>,
    nodes: &[NodeClient],
    intent: &circuits::Intent,
    now: u64,
    policies: verifier::RegisteredPolicies,
) -> Result<Signed<Taproot>, CoordinatorError> {
    let candidates = nodes.iter().map(NodeClient::id).collect();
    let (mut session, mut action) =
        SignSession::start(key, intent.clone(), now, candidates, policies, &mut OsRng);
    loop {
        action = match action {
            Action::Round1 { to, request } => {
                let calls =
                    chosen(nodes, &to).map(|n| async { (n.id(), n.round1(&request).await) });
                let replies = join_all(calls).await;
                cpu(|| session.on_round1(replies))
            }
            Action::Round2 { to, request } => {
                let calls =
                    chosen(nodes, &to).map(|n| async { (n.id(), n.round2(&request).await) });
                let replies = join_all(calls).await;
                cpu(|| session.on_round2(replies, &mut OsRng))
            }
            Action::Done(signed) => return Ok(signed),
            Action::Failed(e) => return Err(e),
        };
    }
}

/// The nodes named in `to`, in that order (an id with no node gets no reply, which the
/// state machine records as such).
fn chosen<'a>(
    nodes: &'a [NodeClient],
    to: &'a [SignerId],
) -> impl Iterator<Item = &'a NodeClient> + 'a {
    to.iter()
        .filter_map(|id| nodes.iter().find(|n| n.id() == *id))
}

/// Runs CPU-bound work (batch proof verification, aggregation) without stalling the
/// runtime's other tasks where the runtime can hand the worker's queue to another thread.
fn cpu<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}
