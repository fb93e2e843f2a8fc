//! Groth16/BN254 through the `ProofSystem` trait: soundness checks, bad input, batches,
//! and the key store. Keys are generated once per test binary.

use std::sync::OnceLock;

use ark_bn254::{Bn254, Fr};
use ark_groth16::Groth16;
use ark_snark::SNARK;
use circuits::bn254::{Bn254 as B, PolicyCircuit};
use circuits::public::{PublicInputs, Witness};
use circuits::{sample, PolicyViolation};
use prover::groth16::{Groth16System, TablePlan};
use prover::test_util::groth16 as system;
use prover::{KeyStoreError, ProofSystem, ProveError};
use rand::rngs::OsRng;
use verifier::groth16::{encode_proof, Groth16VerifyingKey};
use verifier::{EnvelopeError, ProofEnvelope, ProofError, StatementVerifier};

fn witness(n: u64) -> Witness<B> {
    sample::witness(n)
}

fn proven(n: u64) -> (ProofEnvelope, PublicInputs<Fr>) {
    let w = witness(n);
    (system().prove(&w, &mut OsRng).unwrap(), w.public_inputs())
}

fn valid() -> &'static (ProofEnvelope, PublicInputs<Fr>) {
    static V: OnceLock<(ProofEnvelope, PublicInputs<Fr>)> = OnceLock::new();
    V.get_or_init(|| proven(1))
}

#[test]
fn valid_proof_verifies_and_envelope_round_trips() {
    let (env, public) = valid();
    system().verifier().verify(env, public).unwrap();
    assert_eq!(env.proof.len(), 128);
    let decoded = ProofEnvelope::from_bytes(&env.to_bytes()).unwrap();
    assert_eq!(&decoded, env);
    system().verifier().verify(&decoded, public).unwrap();
}

#[test]
fn changing_any_one_public_input_fails() {
    let (env, public) = valid();
    let base = public.to_field_elements();
    let vk = system().verifying_key();
    let proof = vk.open(env).unwrap();
    for i in 0..base.len() {
        let mut inputs = base;
        inputs[i] += Fr::from(1u64);
        assert_eq!(
            vk.verify_proof(&proof, &inputs),
            Err(ProofError::Invalid),
            "input {i}"
        );
    }
    // Through the structured API too: another binding, another time.
    let mut p = *public;
    p.binding = sample::binding(99);
    assert_eq!(
        system().verifier().verify(env, &p),
        Err(ProofError::Invalid)
    );
    let mut p = *public;
    p.now += 1;
    assert_eq!(
        system().verifier().verify(env, &p),
        Err(ProofError::Invalid)
    );
}

#[test]
fn adding_or_dropping_a_public_input_is_refused() {
    let (env, public) = valid();
    let vk = system().verifying_key();
    let proof = vk.open(env).unwrap();
    let base = public.to_field_elements();
    let mut five = base.to_vec();
    five.push(Fr::from(0u64));
    assert_eq!(
        vk.verify_proof(&proof, &five),
        Err(ProofError::PublicInputCount {
            expected: 4,
            got: 5
        })
    );
    assert_eq!(
        vk.verify_proof(&proof, &base[..3]),
        Err(ProofError::PublicInputCount {
            expected: 4,
            got: 3
        })
    );
}

#[test]
fn values_at_or_above_two_to_the_64_are_not_valid_public_inputs() {
    let (env, public) = valid();
    let vk = system().verifying_key();
    let proof = vk.open(env).unwrap();
    let mut inputs = public.to_field_elements();
    // `now` + 2^64: same low 64 bits, different field element.
    inputs[2] += Fr::from(u128::from(u64::MAX) + 1);
    assert_eq!(vk.verify_proof(&proof, &inputs), Err(ProofError::Invalid));
    assert!(PublicInputs::<Fr>::from_field_elements(&inputs).is_err());
    // Near the modulus.
    let mut inputs = public.to_field_elements();
    inputs[2] = -Fr::from(1u64);
    assert_eq!(vk.verify_proof(&proof, &inputs), Err(ProofError::Invalid));
}

#[test]
fn proof_for_another_policy_fails() {
    let (env, public) = valid();
    let other = circuits::Policy::new(
        7,
        2_000_000,
        sample::NOW - 100,
        vec![sample::recipient(3)],
        circuits::PolicySalt::from_bytes(sample::POLICY_SALT),
    )
    .unwrap();
    let mut p = *public;
    p.policy_commitment = other.commitment::<B>();
    assert_eq!(
        system().verifier().verify(env, &p),
        Err(ProofError::Invalid)
    );
}

/// Issue 10: a proof whose witness uses another salt than the committed one (equal policy
/// parameters) verifies for its own `P` only, never for the committed `P`.
#[test]
fn proof_with_another_salt_fails() {
    let (_, public) = valid();
    let resalted = sample::policy().with_salt(circuits::PolicySalt::from_bytes([0x5c; 32]));
    let w =
        Witness::<B>::new(sample::intent(1), resalted, sample::NOW, sample::binding(1)).unwrap();
    let env = system().prove(&w, &mut OsRng).unwrap();
    assert_eq!(system().verifier().verify(&env, &w.public_inputs()), Ok(()));
    assert_eq!(
        w.public_inputs().intent_commitment,
        public.intent_commitment
    );
    assert_ne!(
        w.public_inputs().policy_commitment,
        public.policy_commitment
    );
    let mut claimed = w.public_inputs();
    claimed.policy_commitment = public.policy_commitment;
    assert_eq!(
        system().verifier().verify(&env, &claimed),
        Err(ProofError::Invalid)
    );
}

#[test]
fn each_violation_is_named_and_refused_before_proving() {
    let mut big = sample::intent(2);
    big.amount = 1_000_001;
    let err = system()
        .prove_statement(
            big,
            sample::policy(),
            sample::NOW,
            sample::binding(2),
            &mut OsRng,
        )
        .unwrap_err();
    assert!(matches!(
        err,
        ProveError::Policy(PolicyViolation::AmountAboveLimit {
            amount: 1_000_001,
            max: 1_000_000
        })
    ));
    let mut late = sample::intent(3);
    late.valid_before = sample::NOW - 1;
    late.valid_after = sample::NOW - 10;
    let err = system()
        .prove_statement(
            late,
            sample::policy(),
            sample::NOW,
            sample::binding(3),
            &mut OsRng,
        )
        .unwrap_err();
    assert!(
        matches!(err, ProveError::Policy(PolicyViolation::Expired { .. })),
        "{err}"
    );
}

#[test]
fn unsatisfied_witness_is_refused_and_a_forced_proof_does_not_verify() {
    let mut intent = sample::intent(4);
    intent.amount = 5_000_000;
    let w = Witness::<B>::new_unchecked(intent, sample::policy(), sample::NOW, sample::binding(4));
    assert!(matches!(
        system().prove(&w, &mut OsRng),
        Err(ProveError::Unsatisfied("groth16"))
    ));
    // Force a proof with stock ark-groth16 (no satisfiability check in release mode).
    let forced =
        Groth16::<Bn254>::prove(system().proving_key(), PolicyCircuit::new(&w), &mut OsRng)
            .unwrap();
    let env = ProofEnvelope {
        backend: circuits::BackendId::Groth16Bn254,
        vk_fingerprint: system().fingerprint(),
        proof: encode_proof(&forced),
    };
    assert_eq!(
        system().verifier().verify(&env, &w.public_inputs()),
        Err(ProofError::Invalid)
    );
}

#[test]
fn bad_proof_bytes_are_typed_errors() {
    let (env, public) = valid();
    let mut e = env.clone();
    e.proof.truncate(100);
    assert!(matches!(
        system().verifier().verify(&e, public),
        Err(ProofError::MalformedProof(_))
    ));
    let mut e = env.clone();
    e.proof = vec![0xff; 128];
    assert!(matches!(
        system().verifier().verify(&e, public),
        Err(ProofError::MalformedProof(_))
    ));
    let mut e = env.clone();
    e.proof = vec![];
    assert!(matches!(
        system().verifier().verify(&e, public),
        Err(ProofError::MalformedProof(_))
    ));
    let mut e = env.clone();
    e.proof[5] ^= 0x01;
    assert!(system().verifier().verify(&e, public).is_err());
    let mut e = env.clone();
    e.backend = circuits::BackendId::Halo2Pasta;
    assert!(matches!(
        system().verifier().verify(&e, public),
        Err(ProofError::WrongBackend { .. })
    ));
    let mut e = env.clone();
    e.vk_fingerprint = verifier::VkFingerprint([0; 32]);
    assert!(matches!(
        system().verifier().verify(&e, public),
        Err(ProofError::FingerprintMismatch { .. })
    ));
}

#[test]
fn bad_envelope_bytes_are_typed_errors() {
    let bytes = valid().0.to_bytes();
    assert!(matches!(
        ProofEnvelope::from_bytes(&bytes[..10]),
        Err(EnvelopeError::Truncated { .. })
    ));
    assert!(matches!(
        ProofEnvelope::from_bytes(&bytes[..bytes.len() - 1]),
        Err(EnvelopeError::Truncated { .. })
    ));
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        ProofEnvelope::from_bytes(&longer),
        Err(EnvelopeError::TrailingBytes(1))
    );
    let mut magic = bytes.clone();
    magic[0] = b'X';
    assert_eq!(
        ProofEnvelope::from_bytes(&magic),
        Err(EnvelopeError::BadMagic)
    );
    let mut version = bytes.clone();
    version[4] = 9;
    assert_eq!(
        ProofEnvelope::from_bytes(&version),
        Err(EnvelopeError::UnsupportedVersion(9))
    );
    let mut backend = bytes.clone();
    backend[5] = 77;
    assert_eq!(
        ProofEnvelope::from_bytes(&backend),
        Err(EnvelopeError::UnknownBackend(77))
    );
    let mut huge = bytes.clone();
    huge[38..42].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        ProofEnvelope::from_bytes(&huge),
        Err(EnvelopeError::TooLarge(_))
    ));
    assert!(ProofEnvelope::from_hex("zz").is_err());
}

#[test]
fn batch_verification_accepts_good_batches_and_names_the_bad_proof() {
    let proofs: Vec<_> = system()
        .prove_batch(&(10..18).map(witness).collect::<Vec<_>>())
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let publics: Vec<_> = (10..18).map(|n| witness(n).public_inputs()).collect();
    let items: Vec<_> = proofs.iter().zip(&publics).collect();
    system().verifier().verify_batch(&items).unwrap();
    // Proofs came back in input order: each verifies alone against its own inputs.
    for (e, p) in &items {
        system().verifier().verify(e, p).unwrap();
    }
    // One bad public input at index 5.
    let mut wrong = publics.clone();
    wrong[5].now += 1;
    let items: Vec<_> = proofs.iter().zip(&wrong).collect();
    let err = system().verifier().verify_batch(&items).unwrap_err();
    assert_eq!(err.failures, vec![(5, ProofError::Invalid)]);
    // A swapped pair: both named.
    let mut swapped = publics.clone();
    swapped.swap(1, 2);
    let items: Vec<_> = proofs.iter().zip(&swapped).collect();
    let err = system().verifier().verify_batch(&items).unwrap_err();
    assert_eq!(
        err.failures.iter().map(|f| f.0).collect::<Vec<_>>(),
        vec![1, 2]
    );
    // A malformed member is named without pairing work.
    let mut broken = proofs.clone();
    broken[3].proof.truncate(5);
    let items: Vec<_> = broken.iter().zip(&publics).collect();
    let err = system().verifier().verify_batch(&items).unwrap_err();
    assert_eq!(err.failures.len(), 1);
    assert_eq!(err.failures[0].0, 3);
    // Empty batch.
    system().verifier().verify_batch(&[]).unwrap();
}

#[test]
fn keys_save_load_and_refuse_corruption() {
    let dir = std::env::temp_dir().join(format!("zkq-g16-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    system().save(&dir).unwrap();
    let loaded = Groth16System::load(&dir).unwrap();
    assert_eq!(loaded.fingerprint(), system().fingerprint());
    let (env, public) = valid();
    loaded.verifier().verify(env, public).unwrap();
    // A flipped byte in the proving key: checksum mismatch.
    let pk_path = dir.join("groth16-bn254.pk");
    let mut pk = std::fs::read(&pk_path).unwrap();
    pk[1000] ^= 1;
    std::fs::write(&pk_path, &pk).unwrap();
    assert!(matches!(
        Groth16System::load(&dir),
        Err(KeyStoreError::Checksum { .. })
    ));
    // Restore, then lie about the fingerprint in the manifest.
    system().save(&dir).unwrap();
    let m = dir.join("groth16-bn254.manifest.json");
    let text = std::fs::read_to_string(&m).unwrap();
    let fp = system().fingerprint().to_hex();
    std::fs::write(&m, text.replace(&fp, &"00".repeat(32))).unwrap();
    assert!(matches!(
        Groth16System::load(&dir),
        Err(KeyStoreError::Fingerprint { .. })
    ));
    // Not JSON / missing.
    std::fs::write(&m, b"nope").unwrap();
    assert!(matches!(
        Groth16System::load(&dir),
        Err(KeyStoreError::Manifest { .. })
    ));
    std::fs::remove_file(&m).unwrap();
    assert!(matches!(
        Groth16System::load(&dir),
        Err(KeyStoreError::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn malformed_verifying_keys_are_refused() {
    let bytes = system().verifying_key().to_bytes();
    assert!(Groth16VerifyingKey::from_bytes(&bytes).is_ok());
    assert!(matches!(
        Groth16VerifyingKey::from_bytes(&bytes[..bytes.len() - 3]),
        Err(ProofError::MalformedKey(_))
    ));
    assert!(matches!(
        Groth16VerifyingKey::from_bytes(&[0xff; 300]),
        Err(ProofError::MalformedKey(_))
    ));
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(matches!(
        Groth16VerifyingKey::from_bytes(&extra),
        Err(ProofError::MalformedKey(_))
    ));
    // A key for a statement with a different number of inputs.
    let mut vk = system().verifying_key().key().clone();
    vk.gamma_abc_g1.pop();
    assert!(matches!(
        Groth16VerifyingKey::new(vk),
        Err(ProofError::MalformedKey(_))
    ));
}

#[test]
fn verifier_loads_alone_without_the_proving_key() {
    let dir = std::env::temp_dir().join(format!("zkq-g16-vk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    system().save(&dir).unwrap();
    // The proving key is never read: the verifier loads with it gone.
    std::fs::remove_file(dir.join("groth16-bn254.pk")).unwrap();
    let vk = Groth16VerifyingKey::load_dir(&dir).unwrap();
    assert_eq!(vk.fingerprint(), system().fingerprint());
    let (env, public) = valid();
    vk.verify(env, public).unwrap();
    let via_trait = <Groth16VerifyingKey as StatementVerifier>::load_dir(&dir).unwrap();
    assert_eq!(
        StatementVerifier::fingerprint(&via_trait),
        system().fingerprint()
    );
    // The prover does need it.
    assert!(matches!(
        Groth16System::load(&dir),
        Err(KeyStoreError::Io { .. })
    ));
    // The verifying key's checksum and fingerprint are still checked.
    let m = dir.join("groth16-bn254.manifest.json");
    let text = std::fs::read_to_string(&m).unwrap();
    let fp = system().fingerprint().to_hex();
    std::fs::write(&m, text.replace(&fp, &"00".repeat(32))).unwrap();
    assert!(matches!(
        Groth16VerifyingKey::load_dir(&dir),
        Err(KeyStoreError::Fingerprint { .. })
    ));
    std::fs::write(&m, &text).unwrap();
    let vk_path = dir.join("groth16-bn254.vk");
    let mut bytes = std::fs::read(&vk_path).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&vk_path, &bytes).unwrap();
    assert!(matches!(
        Groth16VerifyingKey::load_dir(&dir),
        Err(KeyStoreError::Checksum { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn batches_on_an_explicit_pool_verify_in_input_order() {
    use prover::msm::TableBudget;
    let ws: Vec<_> = (20..23).map(witness).collect();
    // 2 threads: two proofs one per thread plus one on the shared pool; 3: all per thread.
    for threads in [2, 3] {
        let sys = Groth16System::from_proving_key(
            system().proving_key().clone(),
            TablePlan::Now(&TableBudget::new(0)),
        )
        .unwrap()
        .with_threads(threads);
        assert_eq!(sys.threads(), threads);
        let out = sys.prove_batch(&ws);
        assert_eq!(out.len(), ws.len());
        for (env, w) in out.iter().zip(&ws) {
            sys.verifier()
                .verify(env.as_ref().unwrap(), &w.public_inputs())
                .unwrap();
        }
        // Each proof is bound to its own statement: swapped, they fail.
        let (a, b) = (out[0].as_ref().unwrap(), out[1].as_ref().unwrap());
        assert!(sys.verifier().verify(a, &ws[1].public_inputs()).is_err());
        assert!(sys.verifier().verify(b, &ws[0].public_inputs()).is_err());
    }
}

#[test]
fn our_prover_on_a_synthetic_circuit_verifies_under_ark_groth16() {
    use ark_ff::UniformRand;
    use prover::groth16::Groth16Prover;
    use prover::msm::TableBudget;
    use prover::test_util::SyntheticCircuit;

    let n = SyntheticCircuit::constraints_for_domain(10);
    let (pk, vk) =
        Groth16::<Bn254>::circuit_specific_setup(SyntheticCircuit::blank(n), &mut OsRng).unwrap();
    let pvk = ark_groth16::prepare_verifying_key(&vk);
    let inputs = [0u8; SyntheticCircuit::INPUTS].map(|_| Fr::rand(&mut OsRng));
    let circuit = SyntheticCircuit::new(n, inputs);
    let public = circuit.public_inputs();
    let budget = TableBudget::new(1 << 30);
    for prover in [
        Groth16Prover::new(
            pk.clone(),
            SyntheticCircuit::blank(n),
            TablePlan::Now(&TableBudget::new(0)),
        )
        .unwrap()
        .with_threads(1),
        Groth16Prover::new(
            pk.clone(),
            SyntheticCircuit::blank(n),
            TablePlan::Now(&budget),
        )
        .unwrap()
        .with_threads(2),
    ] {
        assert_eq!(prover.num_constraints(), n);
        assert_eq!(
            prover.fixed_base_bytes() > 0,
            prover.threads() == 2,
            "only the second prover has a budget for tables"
        );
        let proof = prover.prove(circuit.clone(), &mut OsRng).unwrap();
        assert!(Groth16::<Bn254>::verify_with_processed_vk(&pvk, &public, &proof).unwrap());
        let mut wrong = public.clone();
        wrong[3] += Fr::from(1u8);
        assert!(!Groth16::<Bn254>::verify_with_processed_vk(&pvk, &wrong, &proof).unwrap());
        // Batches: in order, each bound to its own inputs.
        let other = [1u8, 2, 3, 4].map(Fr::from);
        let proofs = prover.prove_batch_with(3, |i| {
            SyntheticCircuit::new(n, if i == 1 { other } else { inputs })
        });
        for (i, p) in proofs.iter().enumerate() {
            let want: &[Fr] = if i == 1 { &other } else { &public };
            assert!(
                Groth16::<Bn254>::verify_with_processed_vk(&pvk, want, p.as_ref().unwrap())
                    .unwrap()
            );
        }
    }
    // The second prover held tables while it lived; dropped, they gave their bytes back.
    assert_eq!(budget.available(), 1 << 30);
    // The stock prover accepts the same circuit and keys (the benchmark's baseline).
    let stock = Groth16::<Bn254>::prove(&pk, circuit, &mut OsRng).unwrap();
    assert!(Groth16::<Bn254>::verify_with_processed_vk(&pvk, &public, &stock).unwrap());
}

#[test]
fn a_prover_that_defers_its_tables_builds_them_at_its_first_proof() {
    use ark_ff::UniformRand;
    use prover::groth16::Groth16Prover;
    use prover::msm::TableBudget;
    use prover::test_util::SyntheticCircuit;

    let n = SyntheticCircuit::constraints_for_domain(9);
    let (pk, vk) =
        Groth16::<Bn254>::circuit_specific_setup(SyntheticCircuit::blank(n), &mut OsRng).unwrap();
    let pvk = ark_groth16::prepare_verifying_key(&vk);
    let prover = Groth16Prover::new(pk, SyntheticCircuit::blank(n), TablePlan::OnFirstProof)
        .unwrap()
        .with_threads(1);
    // Loading keys builds nothing: a process that never proves never holds tables.
    assert_eq!(prover.fixed_base_bytes(), 0);
    let inputs = [0u8; SyntheticCircuit::INPUTS].map(|_| Fr::rand(&mut OsRng));
    let circuit = SyntheticCircuit::new(n, inputs);
    let public = circuit.public_inputs();
    let proof = prover.prove(circuit, &mut OsRng).unwrap();
    assert!(Groth16::<Bn254>::verify_with_processed_vk(&pvk, &public, &proof).unwrap());
    // Within the global budget (512 MiB unless ZKQ_FIXED_BASE_MB says otherwise).
    if TableBudget::from_env().available() > 0 {
        assert!(prover.fixed_base_bytes() > 0, "the first proof built them");
    }
    let mut wrong = public;
    wrong[0] += Fr::from(1u8);
    assert!(!Groth16::<Bn254>::verify_with_processed_vk(&pvk, &wrong, &proof).unwrap());
}
