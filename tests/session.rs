//! Coordinated proof-carrying sessions, driven by the sans-IO state machine
//! (`signer::session::coordinator`) through the in-process driver (`signer::local`): full
//! 3-of-5 sessions on both backends, a signer whose proof was altered in transit or who
//! signed a bad proof excluded and replaced, a bad share named and retried without, a
//! round-2 refusal restarting the session, and a clean failure listing every signer when too
//! few remain.

mod common;

use std::sync::Arc;

use circuits::sample;
use circuits::Rule;
use common::{groth16, halo2};
use prover::ProofSystem;
use rand::rngs::OsRng;
use signer::keys::dealer;
use signer::local::Endpoint;
use signer::session::coordinator::{
    Coordinator, CoordinatorError, Excluded, Refusal, ReplyFault, Signed,
};
use signer::session::{
    round1_attestation, round2_attestation, Round1Reply, Round1Request, Round2Reply, Round2Request,
    SessionSigner,
};
use signer::taproot::{self, Taproot};
use signer::{MemoryNonceStore, SignerId, Threshold};
use verifier::audit::AuditError;
use verifier::contribution::ContributionFault;
use verifier::{Bip340Error, ProofError, RegisteredPolicies};

type Node<P> = SessionSigner<Taproot, MemoryNonceStore<Taproot>, P>;

fn cluster<P: ProofSystem>(
    system: &Arc<P>,
) -> (
    Vec<Node<P>>,
    Coordinator<'_, Taproot, P::Verifier>,
    RegisteredPolicies,
) {
    let shares =
        dealer::trusted_dealer::<Taproot, _>(Threshold::new(3, 5).unwrap(), &mut OsRng).unwrap();
    let public = shares[0].public_key_package().clone();
    let (nodes, roster, policies) =
        signer::local::session_signers(shares, &sample::policy(), system, &mut OsRng);
    (
        nodes,
        Coordinator::new(public, roster, system.verifier()).unwrap(),
        policies,
    )
}

/// A signer whose round-1 proof is corrupted.
struct BadProof<'a, E>(&'a E);

impl<E: Endpoint<Taproot>> Endpoint<Taproot> for BadProof<'_, E> {
    fn id(&self) -> SignerId {
        self.0.id()
    }
    fn round1(&self, req: &Round1Request) -> Result<Round1Reply<Taproot>, Refusal> {
        let mut r = self.0.round1(req)?;
        let last = r.proof.proof.len() - 1;
        r.proof.proof[last] ^= 1;
        Ok(r)
    }
    fn round2(&self, req: &Round2Request<Taproot>) -> Result<Round2Reply<Taproot>, Refusal> {
        self.0.round2(req)
    }
}

/// A signer with a valid proof that returns a wrong signature share.
/// A signer that sends a wrong signature share, attested with its own identity key (a
/// compromised node): the attestation holds, only aggregation can name it.
struct BadShare<'a, P: ProofSystem>(&'a Node<P>);

impl<P: ProofSystem> Endpoint<Taproot> for BadShare<'_, P> {
    fn id(&self) -> SignerId {
        Endpoint::id(self.0)
    }
    fn round1(&self, req: &Round1Request) -> Result<Round1Reply<Taproot>, Refusal> {
        Endpoint::round1(self.0, req)
    }
    fn round2(&self, req: &Round2Request<Taproot>) -> Result<Round2Reply<Taproot>, Refusal> {
        let mut r = Endpoint::round2(self.0, req)?;
        r.share = frost_core::round2::SignatureShare::deserialize(&[7u8; 32]).unwrap();
        let msg = round2_attestation(&r.session, r.signer, &r.share.serialize());
        r.attestation = self.0.identity().sign(&msg, &mut OsRng).unwrap();
        Ok(r)
    }
}

/// A signer that corrupts its proof and signs the corrupted reply with its own identity key:
/// the attestation holds, only the proof verification can catch it.
struct SignedBadProof<'a, P: ProofSystem>(&'a Node<P>);

impl<P: ProofSystem> Endpoint<Taproot> for SignedBadProof<'_, P> {
    fn id(&self) -> SignerId {
        Endpoint::id(self.0)
    }
    fn round1(&self, req: &Round1Request) -> Result<Round1Reply<Taproot>, Refusal> {
        let mut r = Endpoint::round1(self.0, req)?;
        let last = r.proof.proof.len() - 1;
        r.proof.proof[last] ^= 1;
        let msg = round1_attestation(
            &r.session,
            r.signer,
            &r.commitments.serialize().unwrap(),
            &r.proof.to_bytes(),
            &r.public_inputs,
        );
        r.attestation = self.0.identity().sign(&msg, &mut OsRng).unwrap();
        Ok(r)
    }
    fn round2(&self, req: &Round2Request<Taproot>) -> Result<Round2Reply<Taproot>, Refusal> {
        Endpoint::round2(self.0, req)
    }
}

/// A signer that passes round 1 and refuses round 2 (once it has refused, it is excluded).
struct RefusesRound2<'a, E>(&'a E);

impl<E: Endpoint<Taproot>> Endpoint<Taproot> for RefusesRound2<'_, E> {
    fn id(&self) -> SignerId {
        self.0.id()
    }
    fn round1(&self, req: &Round1Request) -> Result<Round1Reply<Taproot>, Refusal> {
        self.0.round1(req)
    }
    fn round2(&self, _: &Round2Request<Taproot>) -> Result<Round2Reply<Taproot>, Refusal> {
        Err(Refusal::other("maintenance"))
    }
}

fn verify_k256(coord_key: &[u8; 32], signed: &Signed<Taproot>) {
    let sig = taproot::signature_bytes(&signed.signature).unwrap();
    let vk = k256::schnorr::VerifyingKey::from_bytes(coord_key).unwrap();
    vk.verify_raw(
        &signed.digest,
        &k256::schnorr::Signature::try_from(sig.as_slice()).unwrap(),
    )
    .unwrap();
}

fn full_session<P: ProofSystem>(system: &Arc<P>) {
    let (nodes, coord, policies) = cluster(system);
    let eps: Vec<&dyn Endpoint<Taproot>> =
        nodes.iter().map(|n| n as &dyn Endpoint<Taproot>).collect();
    let intent = sample::intent(1);
    let signed = coord.sign(&eps, &intent, sample::NOW, &policies).unwrap();
    assert_eq!(signed.replies.len(), 3);
    assert!(signed.excluded.is_empty());
    assert_eq!(
        signed.digest,
        *intent.signed_digest::<P::Backend>().as_bytes()
    );
    let key = taproot::x_only_key(nodes[0].signer().share().public_key_package()).unwrap();
    verify_k256(&key, &signed);
}

#[test]
fn full_3_of_5_session_groth16() {
    full_session(groth16());
}

#[test]
fn full_3_of_5_session_halo2() {
    full_session(halo2());
}

#[test]
fn signer_with_invalid_proof_is_excluded_and_replaced() {
    let (nodes, coord, policies) = cluster(groth16());
    let bad = BadProof(&nodes[1]);
    let eps: Vec<&dyn Endpoint<Taproot>> = vec![&nodes[0], &bad, &nodes[2], &nodes[3], &nodes[4]];
    let signed = coord
        .sign(&eps, &sample::intent(2), sample::NOW, &policies)
        .unwrap();
    // The attestation covers the proof bytes: a proof altered after signing fails there.
    assert_eq!(
        signed.excluded,
        vec![Excluded {
            signer: SignerId::new(2).unwrap(),
            refusal: Refusal::other(format!("attestation rejected: {}", Bip340Error::Invalid)),
            fault: Some(ReplyFault::Contribution(ContributionFault::BadAttestation(
                Bip340Error::Invalid
            ))),
        }]
    );
    let ids: Vec<u16> = signed.replies.iter().map(|r| r.signer.get()).collect();
    assert_eq!(ids, vec![1, 3, 4]);
}

#[test]
fn signer_attesting_an_invalid_proof_fails_batch_verification_and_is_replaced() {
    let (nodes, coord, policies) = cluster(groth16());
    let bad = SignedBadProof(&nodes[1]);
    let eps: Vec<&dyn Endpoint<Taproot>> = vec![&nodes[0], &bad, &nodes[2], &nodes[3], &nodes[4]];
    let signed = coord
        .sign(&eps, &sample::intent(6), sample::NOW, &policies)
        .unwrap();
    assert_eq!(signed.excluded.len(), 1);
    let x = &signed.excluded[0];
    assert_eq!(x.signer.get(), 2);
    // A flipped bit leaves either an undecodable point or a wrong one.
    match &x.fault {
        Some(ReplyFault::Contribution(ContributionFault::InvalidProof(
            e @ (ProofError::Invalid | ProofError::MalformedProof(_)),
        ))) => {
            assert_eq!(x.refusal, Refusal::other(format!("proof rejected: {e}")))
        }
        other => panic!("expected an invalid proof, got {other:?}"),
    }
    let ids: Vec<u16> = signed.replies.iter().map(|r| r.signer.get()).collect();
    assert_eq!(ids, vec![1, 3, 4]);
    let key = taproot::x_only_key(nodes[0].signer().share().public_key_package()).unwrap();
    verify_k256(&key, &signed);
}

#[test]
fn round2_refusal_restarts_the_session_without_that_signer() {
    let (nodes, coord, policies) = cluster(groth16());
    let bad = RefusesRound2(&nodes[2]);
    let eps: Vec<&dyn Endpoint<Taproot>> = vec![&nodes[0], &nodes[1], &bad, &nodes[3], &nodes[4]];
    let signed = coord
        .sign(&eps, &sample::intent(7), sample::NOW, &policies)
        .unwrap();
    assert_eq!(
        signed.excluded,
        vec![Excluded {
            signer: SignerId::new(3).unwrap(),
            refusal: Refusal::other("round 2: maintenance"),
            fault: None,
        }]
    );
    let ids: Vec<u16> = signed.replies.iter().map(|r| r.signer.get()).collect();
    assert_eq!(ids, vec![1, 2, 4]);
    let key = taproot::x_only_key(nodes[0].signer().share().public_key_package()).unwrap();
    verify_k256(&key, &signed);
}

#[test]
fn with_only_t_signers_and_one_bad_the_session_fails_cleanly() {
    let (nodes, coord, policies) = cluster(groth16());
    let bad = BadProof(&nodes[1]);
    let eps: Vec<&dyn Endpoint<Taproot>> = vec![&nodes[0], &bad, &nodes[2]];
    match coord.sign(&eps, &sample::intent(3), sample::NOW, &policies) {
        Err(CoordinatorError::TooFewSigners {
            need: 3,
            usable: 2,
            excluded,
        }) => {
            assert_eq!(excluded.len(), 1);
            assert_eq!(excluded[0].signer.get(), 2);
            assert_eq!(
                excluded[0].fault,
                Some(ReplyFault::Contribution(ContributionFault::BadAttestation(
                    Bip340Error::Invalid
                )))
            );
        }
        other => panic!("expected TooFewSigners, got {other:?}"),
    }
}

#[test]
fn wrong_share_names_the_culprit_and_the_retry_succeeds() {
    let (nodes, coord, policies) = cluster(groth16());
    let bad = BadShare(&nodes[0]);
    let eps: Vec<&dyn Endpoint<Taproot>> = vec![&bad, &nodes[1], &nodes[2], &nodes[3], &nodes[4]];
    let signed = coord
        .sign(&eps, &sample::intent(4), sample::NOW, &policies)
        .unwrap();
    assert_eq!(
        signed.excluded,
        vec![Excluded {
            signer: SignerId::new(1).unwrap(),
            refusal: Refusal::other("invalid signature share"),
            fault: Some(ReplyFault::InvalidSignatureShare),
        }]
    );
    assert!(signed.replies.iter().all(|r| r.signer.get() != 1));
    let key = taproot::x_only_key(nodes[0].signer().share().public_key_package()).unwrap();
    verify_k256(&key, &signed);
}

#[test]
fn policy_refusals_exclude_signers_and_are_listed() {
    let (nodes, coord, policies) = cluster(groth16());
    let eps: Vec<&dyn Endpoint<Taproot>> =
        nodes.iter().map(|n| n as &dyn Endpoint<Taproot>).collect();
    let mut intent = sample::intent(5);
    intent.recipient = sample::recipient(42);
    match coord.sign(&eps, &intent, sample::NOW, &policies) {
        Err(CoordinatorError::TooFewSigners {
            need: 3,
            usable: 0,
            excluded,
        }) => {
            assert_eq!(excluded.len(), 5);
            assert!(
                excluded
                    .iter()
                    .all(|x| x.refusal.rule == Some(Rule::RecipientNotAllowlisted)
                        && x.refusal.reason.contains("recipient")
                        && x.fault.is_none()),
                "{excluded:?}"
            );
        }
        other => panic!("expected every signer to refuse, got {other:?}"),
    }
}

#[test]
fn coordinated_sessions_are_appended_and_the_log_verifies() {
    use std::io::BufReader;
    use verifier::audit::{verify_log, AuditKeys};
    use zkquorum::coordinator::store::CoordinatorStore;

    let (nodes, coord, policies) = cluster(groth16());
    let eps: Vec<&dyn Endpoint<Taproot>> =
        nodes.iter().map(|n| n as &dyn Endpoint<Taproot>).collect();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");
    for n in 0..3 {
        let signed = coord
            .sign(&eps, &sample::intent(10 + n), sample::NOW, &policies)
            .unwrap();
        let mut record = coord
            .audit_record(&signed, "treasury", sample::NOW + n)
            .unwrap();
        // Reopening between appends recovers the index and the chain head.
        let log = CoordinatorStore::open(&db).unwrap();
        assert_eq!(log.audit_len().unwrap(), n);
        log.append_audit(&mut record).unwrap();
    }
    // The log exported as JSON Lines (as `zkquorum demo` does) verifies offline.
    let lines = CoordinatorStore::open(&db).unwrap().audit_lines().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let mut keys = AuditKeys::new().with_registry(Arc::new(policies.clone()));
    keys.add_groth16(groth16().verifying_key().clone());
    // The key's record, every node's signature over it, as keygen would have appended it.
    let record = signer::local::key_record(&nodes, coord.public_key_package(), "treasury", 1);
    let keys = keys.with_key_record(&record).unwrap();
    let report = verify_log(BufReader::new(std::fs::File::open(&path).unwrap()), &keys);
    assert!(report.is_ok(), "{:?}", report.failures);
    assert_eq!(report.records, 3);
    // Without the Groth16 key the auditor cannot check the proofs, and says so.
    let record = signer::local::key_record(&nodes, coord.public_key_package(), "treasury", 1);
    let report = verify_log(
        BufReader::new(std::fs::File::open(&path).unwrap()),
        &AuditKeys::new()
            .with_registry(Arc::new(policies.clone()))
            .with_key_record(&record)
            .unwrap(),
    );
    let fingerprint = groth16().fingerprint();
    assert_eq!(report.failures.len(), 3, "{:?}", report.failures);
    for (i, f) in report.failures.iter().enumerate() {
        assert_eq!(f.index, i as u64);
        assert_eq!(
            f.reason,
            AuditError::UnknownVerifyingKey {
                backend: circuits::BackendId::Groth16Bn254,
                fingerprint,
            }
        );
    }
    std::fs::remove_file(&path).unwrap();
}
