//! The signer node: an HTTPS server (mutual TLS, coordinator only) around
//! [`SessionSigner`](signer::session::SessionSigner), with its state in the node's SQLite
//! database.
//!
//! - [`state`]: [`NodeState`] (identity, database, proof system, active policy, a session
//!   signer per key, DKGs under way);
//! - [`routes`]: the router, the status route and the two signing rounds;
//! - [`dkg`]: the node's side of a DKG (four routes the coordinator's driver calls);
//! - [`witness`]: the node as a witness of the audit log;
//! - [`store`]: the node's database (identity, sealed shares, policies, nonce records,
//!   governance records and their sealed high-water mark).
//!
//! Routes (all `POST` bodies JSON, see [`crate::net::api`]):
//!
//! | route | what |
//! |---|---|
//! | `GET /v1/status` | signer id, keys held, active policy version |
//! | `POST /v1/dkg/start` | begin a DKG: returns the round-1 broadcast |
//! | `POST /v1/dkg/round2` | everyone's broadcasts in; secret shares out, each sealed to its recipient |
//! | `POST /v1/dkg/finish` | the sealed shares for this node in; the share is stored encrypted as prepared; the key statement out, signed |
//! | `POST /v1/dkg/commit` | every participant's signature over the key, each checked against the governed roster and this node's package; the share is committed (it signs from now on) |
//! | `POST /v1/sign/round1` | policy check, fresh nonces (recorded before they leave), bound proof |
//! | `POST /v1/sign/round2` | every check of round 2, nonces marked used in a committed transaction, then the share |
//! | `GET /v1/node/witness` | the audit-log state this node signed last (size, head) |
//! | `POST /v1/node/witness` | the records after that state: verified with the node's own keys and registry, they must extend it; the new state out, signed |
//! | `POST /v1/node/governance` | governance records from some version on: each checked against the node's own registry, appended with the sealed high-water mark, applied; a version held is accepted only byte-identical; answers the head |
//!
//! Requests must come over a connection authenticated with a `coordinator` certificate of
//! the pinned coordinator key (see [`routes`]); anything else is 403, and a revoked
//! certificate is 403 `revoked` ([`crate::net::serve`]). Proving and database work run on the
//! blocking pool, so slow proofs never stall the accept loop.
//!
//! The policy is read from the database at every round 1, so `zkquorum policy set` on a
//! running node takes effect for the next session.

pub mod dkg;
pub mod routes;
pub mod state;
pub mod store;
pub mod witness;

use std::sync::Arc;

use axum::Router;
use prover::ProofSystem;
use signer::SignerId;

pub use state::NodeState;

use crate::cluster::config::{ClusterConfig, NodeConfig};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The database could not be opened (wrong passphrase, corrupt, newer schema).
    #[error("node database: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] crate::cluster::config::ConfigError),
    /// Stored identity keys are unusable.
    #[error("identity keys: {0}")]
    Identity(String),
    /// TLS files are unusable.
    #[error(transparent)]
    Tls(#[from] crate::net::tls::TlsError),
    /// The trust root cannot be used.
    #[error("governance trust root: {0}")]
    Governance(#[from] verifier::governance::GovernanceError),
    /// The cluster file disagrees with the roster the admins approved.
    #[error(transparent)]
    Roster(#[from] crate::cluster::roster::RosterError),
    /// The stored identity does not match the cluster file.
    #[error("node {id}: stored identity key does not match cluster.toml")]
    IdentityMismatch {
        /// The node.
        id: SignerId,
    },
}

/// A node ready to serve: its TLS (configuration and revocation list) and router.
pub type Ready = (crate::net::serve::ServerTls, Router);

/// Builds the provers' per-key tables ([`ProofSystem::warm`]) on a thread of their own, the
/// statement's first and then every spend class's; a session that needs a table meanwhile
/// waits for it rather than building it twice.
pub fn warm_in_background<P: ProofSystem + 'static>(
    system: Arc<P>,
    spend: Arc<prover::spend::SpendKeys<P::Spend>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let t = std::time::Instant::now();
        system.warm();
        spend.warm();
        tracing::info!(
            secs = t.elapsed().as_secs_f64(),
            "prover tables built at startup"
        );
    })
}

/// Opens the node (database, keys, TLS): everything that can fail or take time happens
/// here, before the caller binds its port, so an open port means a ready node (except the
/// provers' tables when `warm_provers` is set: they are built in the background).
pub async fn prepare<P: ProofSystem + 'static>(
    config: NodeConfig,
    cluster: ClusterConfig,
    passphrase: zeroize::Zeroizing<String>,
    system: Arc<P>,
    spend: Arc<prover::spend::SpendKeys<P::Spend>>,
) -> Result<Ready, NodeError> {
    let tls = crate::net::serve::ServerTls::new(
        crate::net::tls::server_config(&config.tls_cert, &config.tls_key, &cluster.ca)?,
        Arc::new(crate::net::revocation::Revocations::new(&cluster.revoked)),
    );
    // The coordinator's key, not its certificate: a renewed coordinator certificate (same
    // request, same key) is still the pinned coordinator.
    let pin = crate::net::tls::key_fingerprint_of_file(&cluster.coordinator_cert)?;
    let warm = config.warm_provers.then(|| (system.clone(), spend.clone()));
    // Argon2id and SQLite: off the async workers.
    let state = tokio::task::spawn_blocking(move || {
        NodeState::open(&config, cluster, pin, passphrase.as_bytes(), system, spend)
    })
    .await
    .map_err(|e| NodeError::Identity(e.to_string()))??;
    if let Some((system, spend)) = warm {
        warm_in_background(system, spend);
    }
    tracing::info!(signer = %state.id, "signer node ready");
    Ok((tls, Arc::new(state).router(pin)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prover::groth16::{Groth16System, TablePlan};
    use prover::spend::SpendKeys;

    /// `warm_provers`: the background warm-up leaves the prover holding the tables its first
    /// proof would have built.
    #[test]
    fn warming_at_startup_builds_the_tables_a_first_proof_would() {
        let shared = prover::test_util::groth16();
        let system = Arc::new(
            Groth16System::from_proving_key(shared.proving_key().clone(), TablePlan::OnFirstProof)
                .unwrap(),
        );
        assert_eq!(system.fixed_base_bytes(), 0, "no tables before the warm-up");
        warm_in_background(system.clone(), Arc::new(SpendKeys::new(Vec::new())))
            .join()
            .unwrap();
        assert!(system.fixed_base_bytes() > 0, "tables after the warm-up");
    }
}
