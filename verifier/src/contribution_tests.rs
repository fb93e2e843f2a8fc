//! Tests of the contribution check: one per fault, on synthetic contributions (real
//! attestations, a fake proof; proof verification against a stub verifier — real proofs are
//! checked by `prover`'s tests and the root crate's audit tests).

use std::path::Path;

use circuits::bn254::Bn254;
use circuits::pasta::Pasta;
use k256::schnorr::SigningKey;
use rand::rngs::OsRng;

use super::*;
use crate::error::BatchError;
use crate::keys::KeyStoreError;

const NOW: u64 = 1_700_000_000;
const SESSION: [u8; 32] = [9; 32];
const GROUP: [u8; 33] = [2; 33];
const FP: VkFingerprint = VkFingerprint([4; 32]);

/// An owned contribution whose parts the tests tamper with.
struct Owned {
    signer_id: u16,
    identity: SigningKey,
    identity_key: [u8; 32],
    commitments: Vec<u8>,
    proof: Vec<u8>,
    public_inputs: [[u8; 32]; 4],
    attestation: [u8; 64],
}

impl Owned {
    /// A contribution passing every cheap check for [`expected`] on BN254.
    fn valid(signer_id: u16) -> Self {
        let identity = SigningKey::random(&mut OsRng);
        let commitments = vec![signer_id as u8; 66];
        let binding = Binding::derive(&SESSION, &signer_id.to_le_bytes(), &GROUP, &commitments);
        // Little-endian values below both moduli (top byte 0x05 < 0x30 and < 0x40).
        let mut public_inputs = [[5u8; 32], [6u8; 32], now_bytes(NOW), [0u8; 32]];
        public_inputs[3][..31].copy_from_slice(&binding.0);
        let proof = ProofEnvelope {
            backend: BackendId::Groth16Bn254,
            vk_fingerprint: FP,
            proof: vec![1; 128],
        }
        .to_bytes();
        let mut c = Self {
            signer_id,
            identity_key: identity.verifying_key().to_bytes().into(),
            identity,
            commitments,
            proof,
            public_inputs,
            attestation: [0; 64],
        };
        c.sign();
        c
    }

    /// (Re-)signs the attestation over the current parts.
    fn sign(&mut self) {
        let msg = attestation_message(
            &SESSION,
            self.signer_id,
            &self.commitments,
            &self.proof,
            &self.public_inputs,
        );
        self.attestation = self.identity.sign_raw(&msg, &[7; 32]).unwrap().to_bytes();
    }

    fn view(&self) -> Contribution<'_> {
        Contribution {
            signer_id: self.signer_id,
            identity_key: Some(&self.identity_key),
            commitments: &self.commitments,
            proof: &self.proof,
            public_inputs: &self.public_inputs,
            attestation: &self.attestation,
        }
    }
}

/// Signers 1..=8 registered under `P = [6; 32]` (the policy input of [`Owned::valid`]).
fn registered() -> &'static RegisteredPolicies {
    static REGISTERED: std::sync::OnceLock<RegisteredPolicies> = std::sync::OnceLock::new();
    REGISTERED.get_or_init(|| (1..=8).map(|s| (s, [6u8; 32])).collect())
}

fn expected() -> Expected<'static> {
    Expected {
        session_id: &SESSION,
        group_key: &GROUP,
        derived: &[[5; 32]],
        now: NOW,
        vk_fingerprint: FP,
        policies: registered(),
    }
}

/// The faults of `c` on BN254 against [`expected`].
fn faults(c: &Owned) -> Vec<ContributionFault> {
    contribution_faults::<Bn254>(&c.view(), &expected()).1
}

#[test]
fn valid_contribution_passes_and_decodes() {
    let c = Owned::valid(3);
    let checked = check_contribution::<Bn254>(&c.view(), &expected()).unwrap();
    assert_eq!(checked.signer_id, 3);
    assert_eq!(checked.public.now, NOW);
    assert_eq!(checked.proof.vk_fingerprint, FP);
    assert_eq!(checked.public.to_le_bytes(), c.public_inputs);
}

#[test]
fn not_in_roster() {
    let c = Owned::valid(3);
    let view = Contribution {
        identity_key: None,
        ..c.view()
    };
    assert_eq!(
        check_contribution::<Bn254>(&view, &expected()).unwrap_err(),
        ContributionError {
            signer_id: 3,
            fault: ContributionFault::NotInRoster
        }
    );
}

#[test]
fn attestation_by_another_key_or_over_other_parts() {
    let mut c = Owned::valid(3);
    c.identity = SigningKey::random(&mut OsRng);
    c.sign();
    assert!(matches!(
        faults(&c)[..],
        [ContributionFault::BadAttestation(_)]
    ));
    // Signed for another session: same parts, another message.
    let mut c = Owned::valid(3);
    let e = Expected {
        session_id: &[8; 32],
        ..expected()
    };
    let f = contribution_faults::<Bn254>(&c.view(), &e).1;
    assert!(matches!(f[0], ContributionFault::BadAttestation(_)));
    // Any signed part changed after signing.
    c.commitments[0] ^= 1;
    let err = check_contribution::<Bn254>(&c.view(), &expected()).unwrap_err();
    assert!(matches!(err.fault, ContributionFault::BadAttestation(_)));
    assert_eq!(err.signer_id, 3);
}

#[test]
fn envelope_undecodable_or_for_another_key() {
    let mut c = Owned::valid(3);
    c.proof.truncate(10);
    c.sign();
    assert!(matches!(
        faults(&c)[..],
        [ContributionFault::Envelope(EnvelopeError::Truncated { .. })]
    ));
    let mut c = Owned::valid(3);
    let mut env = ProofEnvelope::from_bytes(&c.proof).unwrap();
    env.vk_fingerprint = VkFingerprint([5; 32]);
    c.proof = env.to_bytes();
    c.sign();
    assert_eq!(
        faults(&c),
        vec![ContributionFault::EnvelopeMismatch {
            backend: BackendId::Groth16Bn254,
            fingerprint: FP,
            found_backend: BackendId::Groth16Bn254,
            found_fingerprint: VkFingerprint([5; 32]),
        }]
    );
    // A valid BN254 contribution checked as a halo2 one: wrong backend.
    let c = Owned::valid(3);
    let f = contribution_faults::<Pasta>(&c.view(), &expected()).1;
    assert!(f.contains(&ContributionFault::EnvelopeMismatch {
        backend: BackendId::Halo2Pasta,
        fingerprint: FP,
        found_backend: BackendId::Groth16Bn254,
        found_fingerprint: FP,
    }));
}

#[test]
fn non_canonical_public_inputs() {
    let mut c = Owned::valid(3);
    c.public_inputs[3] = [0xff; 32];
    c.sign();
    assert_eq!(
        faults(&c),
        vec![ContributionFault::PublicInputs(
            PublicInputsError::NonCanonical { index: 3 }
        )]
    );
    let (checked, _) = contribution_faults::<Bn254>(&c.view(), &expected());
    assert!(checked.is_none());
}

#[test]
fn another_intent_or_time() {
    let mut c = Owned::valid(3);
    c.public_inputs[0][0] ^= 1;
    c.sign();
    assert_eq!(
        faults(&c),
        vec![ContributionFault::DerivedMismatch {
            input: "intent commitment C",
            expected: hex::encode([5u8; 32]),
            found: hex::encode(c.public_inputs[0]),
        }]
    );
    let mut c = Owned::valid(3);
    c.public_inputs[2] = now_bytes(NOW + 1);
    c.sign();
    assert_eq!(
        faults(&c),
        vec![ContributionFault::NowMismatch {
            expected: NOW,
            found: NOW + 1
        }]
    );
}

#[test]
fn policy_not_registered() {
    // A proof against another policy (a fabricated, looser one) than the registered P.
    let mut c = Owned::valid(3);
    c.public_inputs[1][0] ^= 1;
    c.sign();
    assert_eq!(
        faults(&c),
        vec![ContributionFault::UnregisteredPolicy {
            registered: Some(hex::encode([6u8; 32])),
            found: hex::encode(c.public_inputs[1]),
        }]
    );
    // A signer with no registered policy at all, even proving the others' P.
    let c = Owned::valid(3);
    let only_others: RegisteredPolicies = [(1, [6u8; 32]), (2, [6u8; 32])].into_iter().collect();
    let e = Expected {
        policies: &only_others,
        ..expected()
    };
    let err = check_contribution::<Bn254>(&c.view(), &e).unwrap_err();
    assert_eq!(err.signer_id, 3);
    assert_eq!(
        err.fault,
        ContributionFault::UnregisteredPolicy {
            registered: None,
            found: hex::encode([6u8; 32]),
        }
    );
    assert!(err.to_string().contains("none registered"), "{err}");
}

#[test]
fn binding_of_another_signer_group_key_or_commitments() {
    // Another signer's id.
    let mut c = Owned::valid(3);
    c.signer_id = 4;
    c.sign();
    assert!(matches!(
        faults(&c)[..],
        [ContributionFault::BindingMismatch { .. }]
    ));
    // Another group key (the other parity of the same x).
    let c = Owned::valid(3);
    let mut other = GROUP;
    other[0] = 3;
    let e = Expected {
        group_key: &other,
        ..expected()
    };
    let (checked, f) = contribution_faults::<Bn254>(&c.view(), &e);
    assert!(matches!(f[..], [ContributionFault::BindingMismatch { .. }]));
    // Still decoded: the auditor verifies the proof and reports its failure too.
    assert!(checked.is_some());
}

#[test]
fn every_fault_is_reported_and_the_first_refuses() {
    // `now` altered after signing: time, attestation.
    let mut c = Owned::valid(3);
    c.public_inputs[2] = now_bytes(NOW + 1);
    let f = faults(&c);
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(matches!(f[0], ContributionFault::BadAttestation(_)));
    assert!(matches!(f[1], ContributionFault::NowMismatch { .. }));
    let err = check_contribution::<Bn254>(&c.view(), &expected()).unwrap_err();
    assert_eq!(err.fault, f[0]);
    assert!(err
        .to_string()
        .starts_with("signer 3: attestation rejected"));
}

/// A verifier that accepts exactly the proofs whose first byte is 1.
struct Stub;

impl StatementVerifier for Stub {
    type Backend = Bn254;
    type Spend = crate::Groth16VerifyingKey;
    fn fingerprint(&self) -> VkFingerprint {
        FP
    }
    fn add_to_audit(&self, _: &mut crate::audit::AuditKeys) {}
    fn verify(&self, proof: &ProofEnvelope, _: &PublicOf<Bn254>) -> Result<(), ProofError> {
        if proof.proof.first() == Some(&1) {
            Ok(())
        } else {
            Err(ProofError::Invalid)
        }
    }
    fn verify_batch(&self, items: &[(&ProofEnvelope, &PublicOf<Bn254>)]) -> Result<(), BatchError> {
        let failures: Vec<_> = items
            .iter()
            .enumerate()
            .rev() // out of order: the caller sorts
            .filter_map(|(i, (e, p))| self.verify(e, p).err().map(|e| (i, e)))
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(BatchError { failures })
        }
    }
    fn load_dir(_: &Path) -> Result<Self, KeyStoreError> {
        Ok(Stub)
    }
}

#[test]
fn batch_names_every_failing_signer() {
    let checked: Vec<Checked<_>> = [2u16, 5, 7]
        .iter()
        .map(|&id| {
            let c = Owned::valid(id);
            check_contribution::<Bn254>(&c.view(), &expected()).unwrap()
        })
        .collect();
    let items: Vec<_> = checked.iter().map(Checked::as_item).collect();
    assert_eq!(verify_contribution_proofs(&Stub, &items), Ok(()));
    assert_eq!(verify_contribution_proofs(&Stub, &[]), Ok(()));
    let mut bad = checked.clone();
    bad[0].proof.proof[0] = 0;
    bad[2].proof.proof[0] = 0;
    let items: Vec<_> = bad.iter().map(Checked::as_item).collect();
    let invalid = |signer_id| ContributionError {
        signer_id,
        fault: ContributionFault::InvalidProof(ProofError::Invalid),
    };
    assert_eq!(
        verify_contribution_proofs(&Stub, &items),
        Err(vec![(0, invalid(2)), (2, invalid(7))])
    );
}
