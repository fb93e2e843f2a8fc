//! A running coordinator's state: the cluster, its database, the statement verifier
//! (verifying keys only, shared `Arc`), the mutual-TLS client towards the nodes, each key's
//! public key package, and the governance registry.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use circuits::spend::SizeClass;
use frost_core::keys::PublicKeyPackage;
use signer::taproot::{self, Taproot};
use verifier::bitcoin::GroupWallet;
use verifier::governance::{Registry, TrustRoot};
use verifier::{SpendVerifier, StatementVerifier};

use super::store::{CoordinatorStore, KeyRecord};
use crate::cluster::config::{ClusterConfig, CoordinatorConfig};
use crate::cluster::roster::{self, RosterError};
use crate::ids::KeyId;
use crate::net::api::{ApiError, KeyInfo, TaprootInfo};
use crate::net::client::HttpClient;

/// A running coordinator's state.
pub struct CoordinatorState<V: StatementVerifier + 'static> {
    pub(super) cluster: ClusterConfig,
    /// The key fingerprint of the coordinator certificate the cluster file names.
    pub(super) coordinator_key: [u8; 32],
    pub(super) store: CoordinatorStore,
    pub(super) verifier: Arc<V>,
    /// The spend verifying keys of the classes `cluster.toml` lists, smallest class first.
    pub(super) spend: Vec<(SizeClass, V::Spend)>,
    pub(super) http: HttpClient,
    pub(super) request_timeout: Duration,
    /// How long one call to a node may take (the HTTP client's own timeout).
    pub(super) signer_timeout: Duration,
    /// Each key's public key package, parsed on first use.
    pub(super) public_keys: RwLock<HashMap<KeyId, Arc<PublicKeyPackage<Taproot>>>>,
    /// The governance registry, rebuilt and re-verified from the database at start and
    /// extended by `POST /v1/governance` (checked, appended, applied under the write lock).
    /// Sessions read it for the roster and the registered policies.
    pub(crate) governance: Arc<RwLock<Registry>>,
    /// The background witness rounds (one task per node, woken by each append).
    pub(super) witnessing: super::witness::Witnessing,
}

impl<V: StatementVerifier + 'static> CoordinatorState<V> {
    /// Opens the coordinator's database (requests interrupted by a crash are marked failed;
    /// the governance registry is rebuilt and checked against the cluster's trust root,
    /// an edited row refused) and its mutual-TLS client towards the nodes. If the registry
    /// has a roster in force, the cluster file must agree with it
    /// ([`crate::cluster::roster`]).
    pub fn open(
        config: &CoordinatorConfig,
        cluster: ClusterConfig,
        verifier: Arc<V>,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let store = CoordinatorStore::open(&config.db)?;
        let trust = TrustRoot::load(&cluster.trust_root)?;
        let registry = store.load_registry(trust)?;
        tracing::info!(head = registry.head(), "governance registry verified");
        let coordinator_key = crate::net::tls::key_fingerprint_of_file(&cluster.coordinator_cert)?;
        match roster::governed(
            &cluster,
            &coordinator_key,
            &verifier.fingerprint().0,
            &registry,
            crate::clock::unix_now(),
        ) {
            Ok(_) => {}
            Err(e @ RosterError::NotGoverned { .. }) => {
                tracing::warn!("{e}: keygen and signing wait for the admins' roster")
            }
            Err(e) => return Err(e.into()),
        }
        let interrupted = store.fail_interrupted()?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "requests interrupted by a restart marked failed"
            );
        }
        // One pinned client per rostered node; the coordinator calls nothing else.
        let identity = Arc::new(crate::net::tls::ReloadingCert::load(
            &config.tls_cert,
            &config.tls_key,
        )?);
        let revocations = Arc::new(crate::net::revocation::Revocations::new(&cluster.revoked));
        let http = HttpClient::for_nodes(
            &cluster.nodes,
            identity,
            &cluster.ca,
            Some(revocations),
            config.signer_timeout(),
        )?
        .with_reply_limit(config.max_reply_bytes);
        let spend = cluster
            .spend_classes()
            .into_iter()
            .map(|class| Ok((class, V::Spend::load_class(&cluster.keys_dir, class)?)))
            .collect::<Result<Vec<_>, verifier::KeyStoreError>>()?;
        Ok(Self {
            cluster,
            coordinator_key,
            store,
            verifier,
            spend,
            http,
            request_timeout: Duration::from_secs(config.request_timeout_secs),
            signer_timeout: config.signer_timeout(),
            public_keys: RwLock::new(HashMap::new()),
            governance: Arc::new(RwLock::new(registry)),
            witnessing: super::witness::Witnessing::default(),
        })
    }

    /// The governance registry (read lock; never held across an await).
    pub fn registry(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.governance.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The roster the admins put in force at `now`, which the cluster file must agree with:
    /// 503 `roster_not_governed` / `roster_mismatch` otherwise.
    pub(super) fn governed_roster(
        &self,
        now: u64,
    ) -> Result<verifier::governance::Roster, ApiError> {
        Ok(roster::governed(
            &self.cluster,
            &self.coordinator_key,
            &self.verifier.fingerprint().0,
            &self.registry(),
            now,
        )?
        .clone())
    }

    /// The coordinator's spend keys, each checked against the spend key the roster in force
    /// at `now` pins for its class (409 `spend_key_not_pinned` otherwise).
    pub(super) fn pinned_spend_keys(
        &self,
        roster: &verifier::governance::Roster,
    ) -> Result<Vec<(SizeClass, &V::Spend)>, ApiError> {
        self.spend
            .iter()
            .map(|(class, key)| {
                crate::cluster::roster::check_spend_pin(
                    Some(roster),
                    self.cluster.backend,
                    *class,
                    &key.fingerprint(),
                    "the coordinator's",
                )?;
                Ok((*class, key))
            })
            .collect()
    }

    /// The stored record of `key_id`; 404 `unknown_key` if there is none.
    pub(super) fn key_record(&self, key_id: &KeyId) -> Result<KeyRecord, ApiError> {
        self.store
            .key(key_id)
            .map_err(|e| ApiError::internal("reading keys", e))?
            .ok_or_else(|| ApiError::unknown_key(key_id))
    }

    /// The public key package of `key_id` (parsed from the stored key on first use), for
    /// signing: 409 `key_not_committed` while not every node has confirmed the key.
    pub(super) fn public_key(
        &self,
        key_id: &KeyId,
    ) -> Result<Arc<PublicKeyPackage<Taproot>>, ApiError> {
        if let Some(p) = self
            .public_keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key_id)
        {
            return Ok(p.clone());
        }
        let rec = self.key_record(key_id)?;
        if !rec.committed {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "key_not_committed",
                format!("key {key_id} is not committed by every node yet: retry its creation"),
            ));
        }
        let public: PublicKeyPackage<Taproot> = serde_json::from_str(&rec.public_key_package)
            .map_err(|e| ApiError::internal("stored public key package", e))?;
        let mut keys = self.public_keys.write().unwrap_or_else(|e| e.into_inner());
        Ok(keys
            .entry(key_id.clone())
            .or_insert_with(|| Arc::new(public))
            .clone())
    }
}

impl<V: StatementVerifier + 'static> CoordinatorState<V> {
    /// A stored key as the client API describes it, with its key record's line.
    pub(super) fn key_info(&self, rec: &KeyRecord) -> Result<KeyInfo, ApiError> {
        let public: PublicKeyPackage<Taproot> = serde_json::from_str(&rec.public_key_package)
            .map_err(|e| ApiError::internal("stored public key package", e))?;
        let key_record = match rec.audit_index {
            Some(i) => self
                .store
                .audit_line(i)
                .map_err(|e| ApiError::internal("reading the key record", e))?,
            None => None,
        };
        Ok(KeyInfo {
            key_id: rec.key_id.clone(),
            threshold: rec.threshold,
            participants: rec.participants,
            backend: rec.backend,
            group_key: public
                .verifying_key()
                .serialize()
                .map_err(|e| ApiError::internal("group key", e))?,
            x_only_key: taproot::x_only_key(&public)
                .map_err(|e| ApiError::internal("group key", e))?,
            created_at: rec.created_at,
            committed: rec.committed,
            key_record,
            taproot: Some(TaprootInfo::of(
                &GroupWallet::from_public_key_package(&public)
                    .map_err(|e| ApiError::internal("group key", e))?,
            )),
        })
    }
}
