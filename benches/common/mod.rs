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

/// A governance registry as a node keeps it after `extra` policy changes for other keys: the
/// genesis roster of `roster`'s identities (every signer `1..=n`), then `extra` policy
/// records for keys `other-0…`, then the record registering `policy` for every key, each
/// approved by 2 of 3 admins.
// Only the session bench uses it; every bench binary compiles this module.
#[allow(dead_code)]
pub fn governed_registry<P: ProofSystem>(
    roster: &signer::session::Roster,
    t: u16,
    policy: &circuits::Policy,
    extra: usize,
    vk: verifier::VkFingerprint,
) -> verifier::governance::Registry {
    use verifier::governance::{PolicyAssignments, RecordContent, Registry, Roster, RosterNode};
    use zkquorum::governance::admin_key::AdminKey;
    use zkquorum::governance::proposal::{policy_assignment, propose};
    let admins: Vec<AdminKey> = (0..3).map(|_| AdminKey::generate()).collect();
    let trust = verifier::governance::TrustRoot::new(
        "bench",
        admins.iter().map(AdminKey::public_key).collect(),
        2,
    )
    .unwrap();
    let mut registry = Registry::new(trust.clone());
    let mut add = |content| {
        let mut signed = propose(&trust, registry.head() + 1, 0, content);
        for a in &admins[..2] {
            signed.add_approval(a.approve(&signed.record).unwrap());
        }
        registry.apply(signed).unwrap();
    };
    add(RecordContent::Roster(Roster {
        nodes: roster
            .iter()
            .map(|(id, key)| RosterNode {
                id: id.get(),
                url: format!("https://node-{id}.example"),
                identity_key: *key,
                hpke_key: [id.get() as u8; 32],
                tls_fingerprint: [0x40 + id.get() as u8; 32],
            })
            .collect(),
        coordinator_tls_fingerprint: [0xcc; 32],
        threshold: t,
        spend_keys: Vec::new(),
        verifying_keys: vec![verifier::governance::PinnedKey {
            backend: <P::Backend as circuits::Backend>::ID,
            fingerprint: vk.0,
        }],
    }));
    let all = |key: &str| PolicyAssignments {
        assignments: roster
            .keys()
            .map(|id| {
                policy_assignment(key, id.get(), <P::Backend as circuits::Backend>::ID, policy)
            })
            .collect(),
    };
    for i in 0..extra {
        add(RecordContent::Policy(all(&format!("other-{i}"))));
    }
    add(RecordContent::Policy(all("*")));
    registry
}
