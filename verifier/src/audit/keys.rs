//! The verifying keys an auditor holds, by fingerprint.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::checkpoint::Witnesses;
use super::error::AuditError;
use super::key_record::{check_key_record, KeyFacts, KeyRecord};
use crate::error::ProofError;
use crate::fingerprint::VkFingerprint;
use crate::groth16::Groth16VerifyingKey;
use crate::halo2::Halo2VerifyingKey;
use crate::keys::{groth16_spend_name, manifest_path, KeyStoreError, GROTH16_NAME, HALO2_NAME};
use crate::registered::{Pinned, PolicyRegistry, RegisteredPolicies, RosterShape, Rostered};
use circuits::spend::SizeClass;

/// A key directory that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuditKeysError {
    /// The directory could not be read.
    #[error("cannot read {path}: {error}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A key in it was refused (see [`crate::keys`]).
    #[error(transparent)]
    Key(#[from] KeyStoreError),
    /// The transparent halo2 key could not be built.
    #[error("transparent halo2 key: {0}")]
    Transparent(ProofError),
}

/// What the auditor checks records against: verifying keys by fingerprint (Groth16/BN254
/// and halo2/IPA) and the policy registry (the `P` each signer is registered under).
///
/// A proof whose record names a fingerprint not held here fails with
/// [`AuditError::UnknownVerifyingKey`](super::AuditError::UnknownVerifyingKey); without a
/// registry ([`AuditKeys::with_registry`]) no policy is registered, so every contribution
/// fails with
/// [`ContributionFault::UnregisteredPolicy`](crate::contribution::ContributionFault::UnregisteredPolicy).
#[derive(Clone, Default)]
pub struct AuditKeys {
    groth16: HashMap<VkFingerprint, Groth16VerifyingKey>,
    halo2: HashMap<VkFingerprint, Halo2VerifyingKey>,
    /// Spend verifying keys (one per size class), by fingerprint.
    spend_groth16: HashMap<VkFingerprint, Groth16VerifyingKey>,
    spend_halo2: HashMap<VkFingerprint, Halo2VerifyingKey>,
    registry: Option<Arc<dyn PolicyRegistry>>,
    max_skew: Option<u64>,
    known_keys: HashMap<String, KeyFacts>,
    witnesses: Option<(Witnesses, usize)>,
}

/// The default largest accepted difference between a record's session time (`now`) and its
/// append `time`, in seconds: the nodes' clock skew (30 s by default) plus the longest a
/// session may run before it is recorded (the coordinator's request timeout, 120 s).
pub const DEFAULT_MAX_SKEW_SECS: u64 = 150;

impl core::fmt::Debug for AuditKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuditKeys")
            .field("groth16", &self.groth16.keys().collect::<Vec<_>>())
            .field("halo2", &self.halo2.keys().collect::<Vec<_>>())
            .field("registry", &self.registry.is_some())
            .field("known_keys", &self.known_keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AuditKeys {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks every signer's `P` against `registry` (the auditor's own copy of the
    /// governance registry, verified against its trust root).
    pub fn with_registry(mut self, registry: Arc<dyn PolicyRegistry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Accepts records whose session time is at most `secs` from their append time
    /// (default [`DEFAULT_MAX_SKEW_SECS`]).
    pub fn with_max_skew(mut self, secs: u64) -> Self {
        self.max_skew = Some(secs);
        self
    }

    /// Trusts a key record verified before (an earlier part of the log, checked already),
    /// after checking it again with [`check_key_record`]: signing records under its key id
    /// are then checked against it even when the log given to
    /// [`verify_log`](super::verify_log) starts after it.
    pub fn with_key_record(mut self, record: &KeyRecord) -> Result<Self, Vec<AuditError>> {
        let mut facts = check_key_record(record, &self)?;
        facts.index = None;
        self.known_keys.insert(record.key_id.clone(), facts);
        Ok(self)
    }

    /// Accepts a log only as far as at least `min` distinct rostered nodes signed it (see
    /// [`super::checkpoint`]); `witnesses` holds each node's latest signature.
    pub fn with_witnesses(mut self, witnesses: Witnesses, min: usize) -> Self {
        self.witnesses = Some((witnesses, min));
        self
    }

    /// The witnesses given, and how many must vouch for a record.
    pub fn witnesses(&self) -> Option<(&Witnesses, usize)> {
        self.witnesses.as_ref().map(|(w, m)| (w, *m))
    }

    /// Adds the verifying key `v`, whichever backend it is for.
    pub fn add_verifier<V: crate::StatementVerifier>(&mut self, v: &V) -> &mut Self {
        v.add_to_audit(self);
        self
    }

    /// What a key record given beforehand says about `key_id`.
    pub fn known_key(&self, key_id: &str) -> Option<&KeyFacts> {
        self.known_keys.get(key_id)
    }

    /// The verifying key pinned for `backend` at `now` ([`Pinned::Untracked`] without a
    /// registry).
    pub fn pinned_key(&self, backend: circuits::BackendId, now: u64) -> Pinned {
        self.registry
            .as_ref()
            .map_or(Pinned::Untracked, |r| r.pinned_key(backend, now))
    }

    /// The spend verifying key pinned for `backend` and the class of `slots` outputs at
    /// `now` ([`Pinned::Untracked`] without a registry).
    pub fn pinned_spend_key(&self, backend: circuits::BackendId, slots: u16, now: u64) -> Pinned {
        self.registry.as_ref().map_or(Pinned::Untracked, |r| {
            r.pinned_spend_key(backend, slots, now)
        })
    }

    /// The shape of the roster in force at `now` (none without a registry).
    pub fn roster_shape(&self, now: u64) -> Option<RosterShape> {
        self.registry.as_ref().and_then(|r| r.roster_shape(now))
    }

    /// The largest accepted difference between a record's `now` and `time`.
    pub fn max_skew(&self) -> u64 {
        self.max_skew.unwrap_or(DEFAULT_MAX_SKEW_SECS)
    }

    /// The `P` each signer of `key_id` is registered under on `backend` at `now` (none
    /// without a registry).
    pub fn registered_policies(
        &self,
        key_id: &str,
        backend: circuits::BackendId,
        now: u64,
    ) -> RegisteredPolicies {
        self.registry
            .as_ref()
            .map(|r| r.policies(key_id, backend, now))
            .unwrap_or_default()
    }

    /// Whether `signer` is in the roster in force at `now` and under which identity key
    /// ([`Rostered::Untracked`] without a registry, whose absence already fails every
    /// contribution).
    pub fn rostered_identity(&self, signer: u16, now: u64) -> Rostered {
        self.registry
            .as_ref()
            .map_or(Rostered::Untracked, |r| r.rostered_identity(signer, now))
    }

    /// Adds a Groth16 key.
    pub fn add_groth16(&mut self, key: Groth16VerifyingKey) -> &mut Self {
        self.groth16.insert(key.fingerprint(), key);
        self
    }

    /// Adds a Groth16 spend verifying key (one size class; `Groth16VerifyingKey::for_spend`).
    pub fn add_spend_groth16(&mut self, key: Groth16VerifyingKey) -> &mut Self {
        self.spend_groth16.insert(key.fingerprint(), key);
        self
    }

    /// Adds a halo2 spend verifying key (`Halo2VerifyingKey::transparent_spend`).
    pub fn add_spend_halo2(&mut self, key: Halo2VerifyingKey) -> &mut Self {
        self.spend_halo2.insert(key.fingerprint(), key);
        self
    }

    /// The Groth16 spend key with `fingerprint`, if held.
    pub(super) fn spend_groth16(
        &self,
        fingerprint: &VkFingerprint,
    ) -> Option<&Groth16VerifyingKey> {
        self.spend_groth16.get(fingerprint)
    }

    /// The halo2 spend key with `fingerprint`, if held.
    pub(super) fn spend_halo2(&self, fingerprint: &VkFingerprint) -> Option<&Halo2VerifyingKey> {
        self.spend_halo2.get(fingerprint)
    }

    /// The spend-policy `P` each signer is registered under for `key_id` on `backend` at
    /// `now` (none without a registry).
    pub fn registered_spend_policies(
        &self,
        key_id: &str,
        backend: circuits::BackendId,
        now: u64,
    ) -> RegisteredPolicies {
        self.registry
            .as_ref()
            .map(|r| r.spend_policies(key_id, backend, now))
            .unwrap_or_default()
    }

    /// Adds a halo2 key.
    pub fn add_halo2(&mut self, key: Halo2VerifyingKey) -> &mut Self {
        self.halo2.insert(key.fingerprint(), key);
        self
    }

    /// Adds the transparent halo2 spend keys of `classes`
    /// ([`Halo2VerifyingKey::transparent_spend`]), recomputed (the 256-output class takes
    /// minutes).
    pub fn with_transparent_halo2_spend(
        mut self,
        classes: &[SizeClass],
    ) -> Result<Self, AuditKeysError> {
        for class in classes {
            let key = Halo2VerifyingKey::transparent_spend(*class)
                .map_err(AuditKeysError::Transparent)?;
            self.add_spend_halo2(key);
        }
        Ok(self)
    }

    /// Adds the transparent halo2 key ([`Halo2VerifyingKey::transparent`]): no file and
    /// no trust needed, anyone recomputes it.
    pub fn with_transparent_halo2(mut self) -> Result<Self, AuditKeysError> {
        let key = Halo2VerifyingKey::transparent().map_err(AuditKeysError::Transparent)?;
        self.add_halo2(key);
        Ok(self)
    }

    /// Loads the verifying keys of a key directory as `prover` saves it, through the one
    /// loader ([`Groth16VerifyingKey::load_dir`], [`Halo2VerifyingKey::load_dir`],
    /// [`Groth16VerifyingKey::load_spend_dir`] per spend class): each key whose manifest
    /// is present, its files' checksums and its fingerprint checked
    /// against the manifest. A directory with no manifest gives no keys (every record then
    /// names the key it lacks).
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, AuditKeysError> {
        let dir = dir.as_ref();
        fs::read_dir(dir).map_err(|error| AuditKeysError::Io {
            path: dir.to_path_buf(),
            error,
        })?;
        let mut keys = Self::new();
        if manifest_path(dir, GROTH16_NAME).exists() {
            keys.add_groth16(Groth16VerifyingKey::load_dir(dir)?);
        }
        if manifest_path(dir, HALO2_NAME).exists() {
            keys.add_halo2(Halo2VerifyingKey::load_dir(dir)?);
        }
        for class in SizeClass::ALL {
            if manifest_path(dir, &groth16_spend_name(class)).exists() {
                keys.add_spend_groth16(Groth16VerifyingKey::load_spend_dir(dir, class)?);
            }
        }
        Ok(keys)
    }

    /// The Groth16 key with this fingerprint.
    pub fn groth16(&self, fp: &VkFingerprint) -> Option<&Groth16VerifyingKey> {
        self.groth16.get(fp)
    }

    /// The halo2 key with this fingerprint.
    pub fn halo2(&self, fp: &VkFingerprint) -> Option<&Halo2VerifyingKey> {
        self.halo2.get(fp)
    }

    /// Number of keys held (statement and spend keys).
    pub fn len(&self) -> usize {
        self.groth16.len() + self.halo2.len() + self.spend_groth16.len() + self.spend_halo2.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
