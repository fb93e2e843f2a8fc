//! A running node's state: its identity, its database, the proof system, the policies it
//! holds and the registry that says which one is in force, a session signer per key, and
//! the DKGs under way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use circuits::Policy;
use prover::spend::SpendKeys;
use prover::ProofSystem;
use signer::keys::dkg::{DkgRound1, DkgRound2};
use signer::session::{Identity, Registered, SessionSigner};
use signer::taproot::Taproot;
use signer::{Signer, SignerId};
use verifier::governance::{Registry, TrustRoot};

use super::dkg::no_dkg;
use super::NodeError;
use crate::cluster::config::{ClusterConfig, NodeConfig};
use crate::cluster::roster::{self, RosterError};
use crate::ids::KeyId;
use crate::net::api::ApiError;
use crate::net::dkg_seal::HpkeKey;
use crate::node::store::{NodeStore, PolicyHistoryState, SqliteIntentLedger, SqliteNonceStore};
use verifier::PolicyRegistry;

pub(super) type NodeSigner<P> = SessionSigner<Taproot, SqliteNonceStore<Taproot>, P>;

/// Where a DKG of one key stands on this node, between two of the coordinator's calls.
pub(super) enum DkgState {
    /// Round-1 broadcast sent, waiting for everyone's.
    Round1(DkgRound1<Taproot>),
    /// Round-2 shares sent, waiting for the shares addressed to this node.
    Round2(DkgRound2<Taproot>),
}

/// How long an unfinished DKG waits for its next step before it is erased.
pub const DKG_TTL: std::time::Duration = std::time::Duration::from_secs(600);

fn expire_dkg(dkg: &mut HashMap<KeyId, (std::time::Instant, DkgState)>) {
    dkg.retain(|_, (at, _)| at.elapsed() < DKG_TTL);
}

/// A running node's state.
pub struct NodeState<P: ProofSystem + 'static> {
    pub(super) id: SignerId,
    pub(super) cluster: ClusterConfig,
    /// The key fingerprint of the coordinator certificate the node serves (its pin).
    pub(super) coordinator_key: [u8; 32],
    pub(super) store: Arc<NodeStore>,
    pub(super) identity: Identity,
    pub(super) hpke: HpkeKey,
    /// The proof system, shared with the session signers and the other servers of the process.
    pub(super) system: Arc<P>,
    /// The spend keys of the classes `cluster.toml` lists (shared likewise).
    pub(super) spend: Arc<SpendKeys<P::Spend>>,
    pub(super) max_skew: u64,
    /// Round-1 proofs run at once: one per core. Each proof already uses every core, so
    /// more would only thrash; requests beyond it wait for a permit, off the blocking pool.
    pub(super) provers: Arc<tokio::sync::Semaphore>,
    /// [`NodeState::governance`] as the session signers look policies up in it: which
    /// policy is in force for each key and time (the signers prove under no other).
    pub(super) registry: Arc<dyn PolicyRegistry>,
    /// The policy history as last read (its state and the policies), as the signers below
    /// were given it.
    policies: Mutex<Option<(PolicyHistoryState, Vec<Policy>)>>,
    pub(super) signers: RwLock<HashMap<KeyId, Arc<NodeSigner<P>>>>,
    /// Unfinished DKGs by key id, with when their last step ran: erased after
    /// [`DKG_TTL`] (their secrets are dropped, and zeroized by frost).
    pub(super) dkg: Mutex<HashMap<KeyId, (std::time::Instant, DkgState)>>,
    /// The governance registry, rebuilt and re-verified from the database at start and
    /// extended by `POST /v1/node/governance` (each record checked here, then appended to
    /// the database, then applied, under the write lock). Sessions read it for the roster
    /// and the registered policies (`registry.policies(key, backend, now)`).
    pub(crate) governance: Arc<RwLock<Registry>>,
    /// Held through each witness step (`POST /v1/node/witness`), so each extends the state
    /// the previous one stored; holds what the node checks records with (its verifying key,
    /// its registry, the key records it witnessed), built at the first step and extended
    /// with each key record witnessed, so no step re-reads and re-checks them.
    pub(super) witness: Mutex<Option<verifier::audit::AuditKeys>>,
}

impl<P: ProofSystem + 'static> NodeState<P> {
    /// Opens the node's database with `passphrase` and prepares its state: the governance
    /// registry is rebuilt from the stored records and checked against the cluster's trust
    /// root (a rolled-back or edited table is refused). Fresh nonces left by a previous run
    /// are marked abandoned (they lived only in that process's memory).
    ///
    /// If the admins' registry has a roster in force, `cluster` must agree with it (see
    /// [`crate::cluster::roster`]), or the node does not start.
    pub fn open(
        config: &NodeConfig,
        cluster: ClusterConfig,
        coordinator_key: [u8; 32],
        passphrase: &[u8],
        system: Arc<P>,
        spend: Arc<SpendKeys<P::Spend>>,
    ) -> Result<Self, NodeError> {
        let store = Arc::new(NodeStore::open(&config.db, passphrase)?);
        let secrets = store.identity()?;
        let identity = Identity::from_bytes(&secrets.signing)
            .map_err(|e| NodeError::Identity(e.to_string()))?;
        let hpke =
            HpkeKey::from_bytes(&secrets.hpke).map_err(|e| NodeError::Identity(e.to_string()))?;
        let entry = cluster
            .node(config.id)
            .ok_or(NodeError::IdentityMismatch { id: config.id })?;
        if store.node_id() != config.id
            || entry.identity_key != identity.public_key()
            || entry.hpke_key != hpke.public_bytes()
        {
            return Err(NodeError::IdentityMismatch { id: config.id });
        }
        let trust = TrustRoot::load(&cluster.trust_root)?;
        let registry = store.load_registry(trust)?;
        tracing::info!(head = registry.head(), "governance registry verified");
        match roster::governed(
            &cluster,
            &coordinator_key,
            &system.fingerprint().0,
            &registry,
            crate::clock::unix_now(),
        ) {
            Ok(_) => {}
            Err(e @ RosterError::NotGoverned { .. }) => {
                tracing::warn!("{e}: keygen and signing wait for the admins' roster")
            }
            Err(e) => return Err(e.into()),
        }
        let governance = Arc::new(RwLock::new(registry));
        let abandoned = store.abandon_fresh_nonces()?;
        if abandoned > 0 {
            tracing::warn!(
                abandoned,
                "nonces of unfinished sessions abandoned after a restart"
            );
        }
        Ok(Self {
            id: config.id,
            cluster,
            coordinator_key,
            store,
            identity,
            hpke,
            system,
            spend,
            max_skew: config.max_clock_skew_secs,
            provers: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            )),
            registry: governance.clone(),
            policies: Mutex::new(None),
            signers: RwLock::new(HashMap::new()),
            dkg: Mutex::new(HashMap::new()),
            governance,
            witness: Mutex::new(None),
        })
    }

    /// Hands `signer` the node's policy history when it changed. The history's state (row
    /// count and newest version) is read from the database at every call, so a `zkquorum
    /// policy set` on the running node takes effect at the next round 1, and a deleted row
    /// is noticed too; the policies are decrypted only when the state moved. Which of them
    /// is proved is the registry's decision ([`SessionSigner::registered_policy`]).
    pub(super) fn refresh_policies(&self, signer: &NodeSigner<P>) -> Result<(), ApiError> {
        let state = self
            .store
            .policy_history_state()
            .map_err(|e| ApiError::internal("reading the policy history", e))?;
        let mut cached = self.policies.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = match cached.as_ref() {
            Some((s, _)) if *s == state => false,
            _ => {
                let policies = self
                    .store
                    .all_policies()
                    .map_err(|e| ApiError::internal("reading the policies", e))?;
                let policies: Vec<Policy> = policies.into_iter().map(|(_, p)| p).collect();
                tracing::info!(count = policies.len(), "policy history loaded");
                *cached = Some((state, policies));
                true
            }
        };
        let policies = cached.as_ref().map(|(_, p)| p.clone()).unwrap_or_default();
        drop(cached);
        if fresh {
            for s in self
                .signers
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .values()
            {
                s.set_policies(policies.clone());
            }
        }
        signer.set_policies(policies);
        Ok(())
    }

    /// Hands `signer` the node's spend-policy history (read and decrypted at every spend
    /// round 1: spends are rare next to their proofs). Which one is proved is the
    /// registry's decision (`spend_policy` records).
    pub(super) fn refresh_spend_policies(&self, signer: &NodeSigner<P>) -> Result<(), ApiError> {
        let policies = self
            .store
            .spend_policies()
            .map_err(|e| ApiError::internal("reading the spend policies", e))?;
        signer.set_spend_policies(policies.into_iter().map(|(_, p)| p).collect());
        Ok(())
    }

    /// The network this node's cluster spends on (409 `no_network` if it signs no spends).
    pub(super) fn network(&self) -> Result<verifier::bitcoin::Network, ApiError> {
        self.cluster.bitcoin_network().ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "no_network",
                "this cluster names no Bitcoin network in cluster.toml: it signs no spends",
            )
        })
    }

    /// Refuses a spend unless the roster in force at `now` pins this node's spend key of
    /// every class it holds (409 `spend_key_not_pinned`): a node proves only under keys the
    /// admins approved.
    pub(super) fn check_spend_pins(&self, now: u64) -> Result<(), ApiError> {
        use prover::spend::SpendProver;
        let registry = self.governance.read().unwrap_or_else(|e| e.into_inner());
        let roster = registry.roster_at(now);
        for class in self.spend.classes() {
            if let Some(keys) = self.spend.class(class) {
                crate::cluster::roster::check_spend_pin(
                    roster,
                    self.cluster.backend,
                    class,
                    &keys.fingerprint(),
                    "this node's",
                )?;
            }
        }
        Ok(())
    }

    /// The roster the admins put in force at `now`, which this node's cluster file must
    /// agree with: 503 `roster_not_governed` / `roster_mismatch` otherwise.
    pub(super) fn governed_roster(
        &self,
        now: u64,
    ) -> Result<verifier::governance::Roster, ApiError> {
        let registry = self.governance.read().unwrap_or_else(|e| e.into_inner());
        Ok(roster::governed(
            &self.cluster,
            &self.coordinator_key,
            &self.system.fingerprint().0,
            &registry,
            now,
        )?
        .clone())
    }

    /// Hands `signer` the identities of the roster in force at `now` (a roster change the
    /// admins approved takes effect at its `effective_from`, without a restart).
    pub(super) fn refresh_roster(&self, signer: &NodeSigner<P>, now: u64) -> Result<(), ApiError> {
        signer.set_roster(roster::identities(&self.governed_roster(now)?));
        Ok(())
    }

    /// Takes the DKG state of `key_id` if `want` accepts it (the step `step` expects);
    /// a state at another step is left in place.
    pub(super) fn take_dkg<T>(
        &self,
        key_id: &KeyId,
        step: &str,
        want: impl FnOnce(DkgState) -> Result<T, DkgState>,
    ) -> Result<T, ApiError> {
        let mut dkg = self.dkg.lock().unwrap_or_else(|e| e.into_inner());
        expire_dkg(&mut dkg);
        let (at, state) = dkg.remove(key_id).ok_or_else(|| no_dkg(key_id, step))?;
        want(state).map_err(|other| {
            dkg.insert(key_id.clone(), (at, other));
            no_dkg(key_id, step)
        })
    }

    /// Keeps `state` as the DKG of `key_id` (replacing an unfinished one: the coordinator
    /// retries), erasing the DKGs that expired.
    pub(super) fn put_dkg(&self, key_id: KeyId, state: DkgState) {
        let mut dkg = self.dkg.lock().unwrap_or_else(|e| e.into_inner());
        expire_dkg(&mut dkg);
        dkg.insert(key_id, (std::time::Instant::now(), state));
    }

    /// The roster in force at `now` (checked against `cluster.toml`) and the version of the
    /// governance record holding it.
    pub(super) fn governed_roster_version(
        &self,
        now: u64,
    ) -> Result<(u64, verifier::governance::Roster), ApiError> {
        let registry = self.governance.read().unwrap_or_else(|e| e.into_inner());
        let roster = roster::governed(
            &self.cluster,
            &self.coordinator_key,
            &self.system.fingerprint().0,
            &registry,
            now,
        )?
        .clone();
        let version = registry.roster_version_at(now).map_or(0, |(v, _)| v);
        Ok((version, roster))
    }

    /// One of the node's prover permits: proving runs on the blocking pool, at most as many
    /// proofs at once as permits; the permit moves into the task, so it is held until the
    /// proof is done even if the caller left.
    pub(super) async fn prover_permit(
        &self,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        self.provers
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ApiError::internal("prover permits", e))
    }

    /// Refuses a session time further than the allowed skew from this node's clock.
    pub(super) fn check_session_time(&self, now: u64) -> Result<(), ApiError> {
        let clock = crate::clock::unix_now();
        if now.abs_diff(clock) > self.max_skew {
            return Err(ApiError::bad_request(format!(
                "session time {now} is {} s from this signer's clock (at most {} s allowed)",
                now.abs_diff(clock),
                self.max_skew
            )));
        }
        Ok(())
    }

    /// The session signer of `key_id` if one is loaded (a round 1 since this node started
    /// built it): round 2 never builds one.
    pub(super) fn loaded_signer(&self, key_id: &KeyId) -> Option<Arc<NodeSigner<P>>> {
        self.signers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key_id)
            .cloned()
    }

    /// The session signer of `key_id`, built from the stored share on first use.
    pub(super) fn signer(&self, key_id: &KeyId) -> Result<Arc<NodeSigner<P>>, ApiError> {
        if let Some(s) = self
            .signers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key_id)
        {
            return Ok(s.clone());
        }
        let share = self
            .store
            .share::<Taproot>(key_id)
            .map_err(|e| ApiError::internal("reading the key share", e))?
            .ok_or_else(|| ApiError::unknown_key(key_id))?;
        let nonces = self.store.nonce_store::<Taproot>(key_id.clone());
        let identity = Identity::from_bytes(&self.identity.to_bytes())
            .map_err(|e| ApiError::internal("identity key", e))?;
        let signer = Arc::new(
            SessionSigner::new(
                Signer::new(share, nonces),
                Vec::new(),
                identity,
                // Set from the governed roster before each round (`refresh_roster`).
                signer::session::Roster::new(),
                Arc::clone(&self.system),
                Registered {
                    key_id: key_id.as_str().to_string(),
                    registry: Arc::clone(&self.registry),
                },
            )
            .with_intent_ledger(Arc::new(SqliteIntentLedger::new(
                Arc::clone(&self.store),
                key_id.clone(),
            ))),
        );
        let mut signers = self.signers.write().unwrap_or_else(|e| e.into_inner());
        Ok(signers.entry(key_id.clone()).or_insert(signer).clone())
    }
}
