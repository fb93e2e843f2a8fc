//! The spend statement's Groth16 prover: a proof of the sample spend verifies (with our
//! verifier and with ark-groth16's), and is refused with any public input changed, under
//! another class's key, or for a witness the circuit does not accept. Keys are generated
//! once per test binary.

use std::sync::OnceLock;

use ark_bn254::{Bn254, Fr};
use ark_groth16::Groth16;
use ark_snark::SNARK;
use circuits::bn254::Bn254 as B;
use circuits::sample::{self, spend as s};
use circuits::spend::{SizeClass, Spend, SpendPublicInputs, SpendWitness, NUM_SPEND_PUBLIC_INPUTS};
use prover::spend::Groth16Spend;
use prover::{CircuitSize, ProveError};
use rand::rngs::OsRng;
use verifier::groth16::decode_proof;
use verifier::ProofError;

fn keys() -> &'static Groth16Spend {
    static K: OnceLock<Groth16Spend> = OnceLock::new();
    K.get_or_init(|| Groth16Spend::setup(SizeClass::Two, &mut OsRng).unwrap())
}

#[test]
fn a_spend_proof_verifies_and_binds_every_public_input() {
    let keys = keys();
    assert_eq!(keys.circuit_size(), CircuitSize::Constraints(7_593));
    let w = s::witness::<B>(SizeClass::Two, 1);
    let env = keys.prove(&w, &mut OsRng).unwrap();
    let public = w.public_inputs();
    keys.verifier().verify_spend(&env, &public).unwrap();
    // ark-groth16's own verifier agrees.
    let pvk = ark_groth16::prepare_verifying_key(keys.verifier().key());
    let proof = decode_proof(&env.proof).unwrap();
    assert!(
        Groth16::<Bn254>::verify_with_processed_vk(&pvk, &public.to_field_elements(), &proof)
            .unwrap()
    );

    // Each public input changed: refused.
    for i in 0..NUM_SPEND_PUBLIC_INPUTS {
        let mut v = public.to_field_elements();
        v[i] += Fr::from(1u64);
        let changed = SpendPublicInputs::from_field_elements(&v).unwrap();
        assert_eq!(
            keys.verifier().verify_spend(&env, &changed),
            Err(ProofError::Invalid),
            "public input {i}"
        );
    }
    // O derived from other outputs (one amount changed), or another fee: refused.
    let mut outputs = s::spend(SizeClass::Two).outputs().to_vec();
    outputs[1].amount += 1;
    let other = Spend::with_class(s::NETWORK, outputs, 500, 0, SizeClass::Two).unwrap();
    let mut changed = public;
    changed.outputs = other.commitment::<B>();
    assert_eq!(
        keys.verifier().verify_spend(&env, &changed),
        Err(ProofError::Invalid)
    );
    let mut changed = public;
    changed.fee = 499;
    assert_eq!(
        keys.verifier().verify_spend(&env, &changed),
        Err(ProofError::Invalid)
    );
}

#[test]
fn wrong_witnesses_and_wrong_keys_are_refused() {
    let keys = keys();
    // A witness the circuit does not accept (a script outside the allowlist, natively
    // unchecked): refused before any proof is made.
    let bad = Spend::new(
        s::NETWORK,
        vec![s::output(0, circuits::spend::script_hash(b"elsewhere"), 10)],
        1,
        0,
    )
    .unwrap();
    let w = SpendWitness::<B>::new_unchecked(&bad, &s::policy(), sample::NOW, sample::binding(1));
    assert!(matches!(
        keys.prove(&w, &mut OsRng),
        Err(ProveError::Unsatisfied(_))
    ));
    // A witness of another class: refused.
    let w16 = s::witness::<B>(SizeClass::Sixteen, 1);
    assert!(keys.prove(&w16, &mut OsRng).is_err());
    // The intent statement's key cannot check a spend proof (its arity differs), nor a
    // key of another setup (fingerprint).
    let w = s::witness::<B>(SizeClass::Two, 2);
    let env = keys.prove(&w, &mut OsRng).unwrap();
    let intent_key = prover::test_util::groth16().verifying_key();
    assert!(intent_key.verify_spend(&env, &w.public_inputs()).is_err());
    let other = Groth16Spend::setup(SizeClass::Two, &mut OsRng).unwrap();
    assert!(matches!(
        other.verifier().verify_spend(&env, &w.public_inputs()),
        Err(ProofError::FingerprintMismatch { .. })
    ));
}

mod halo2 {
    use std::sync::OnceLock;

    use circuits::pasta::Pasta;
    use circuits::sample::spend as s;
    use circuits::spend::{
        SizeClass, Spend, SpendPublicInputs, SpendWitness, NUM_SPEND_PUBLIC_INPUTS,
    };
    use pasta_curves::Fp;
    use prover::spend::Halo2Spend;
    use prover::ProveError;
    use rand::rngs::OsRng;
    use verifier::ProofError;

    fn keys() -> &'static Halo2Spend {
        static K: OnceLock<Halo2Spend> = OnceLock::new();
        K.get_or_init(|| Halo2Spend::setup(SizeClass::Two).unwrap())
    }

    #[test]
    fn a_halo2_spend_proof_verifies_and_binds_every_public_input() {
        let keys = keys();
        assert!(keys.verifier().is_transparent());
        let w = s::witness::<Pasta>(SizeClass::Two, 1);
        let env = keys.prove(&w, &mut OsRng).unwrap();
        let public = w.public_inputs();
        keys.verifier().verify_spend(&env, &public).unwrap();
        for i in 0..NUM_SPEND_PUBLIC_INPUTS {
            let mut v = public.to_field_elements();
            v[i] += Fp::one();
            let changed = SpendPublicInputs::from_field_elements(&v).unwrap();
            assert_eq!(
                keys.verifier().verify_spend(&env, &changed),
                Err(ProofError::Invalid),
                "public input {i}"
            );
        }
        // Too few instance values are refused, not padded with zeros.
        assert!(matches!(
            keys.verifier()
                .verify_instances(&env.proof, &public.to_field_elements()[..5]),
            Err(ProofError::PublicInputCount {
                expected: 6,
                got: 5
            })
        ));
        // O from other outputs, another fee: refused.
        let mut outputs = s::spend(SizeClass::Two).outputs().to_vec();
        outputs[0].amount += 1;
        let other = Spend::with_class(s::NETWORK, outputs, 500, 0, SizeClass::Two).unwrap();
        let mut changed = public;
        changed.outputs = other.commitment::<Pasta>();
        assert_eq!(
            keys.verifier().verify_spend(&env, &changed),
            Err(ProofError::Invalid)
        );
        let mut changed = public;
        changed.fee = 501;
        assert_eq!(
            keys.verifier().verify_spend(&env, &changed),
            Err(ProofError::Invalid)
        );
        // A violating witness is refused before proving.
        let bad = Spend::new(
            s::NETWORK,
            vec![s::output(0, s::spend_script(1), 100_001)],
            1,
            0,
        )
        .unwrap();
        let w = SpendWitness::<Pasta>::new_unchecked(
            &bad,
            &s::policy(),
            circuits::sample::NOW,
            circuits::sample::binding(1),
        );
        assert!(matches!(
            keys.prove(&w, &mut OsRng),
            Err(ProveError::Unsatisfied(_))
        ));
    }
}

#[test]
fn a_spend_prover_on_an_explicit_pool_proves_on_it() {
    // Its own keys: `with_threads` takes the prover by value.
    let keys = Groth16Spend::setup(SizeClass::Two, &mut OsRng)
        .unwrap()
        .with_threads(1);
    assert_eq!(keys.threads(), 1);
    let w = s::witness::<B>(SizeClass::Two, 2);
    let env = keys.prove(&w, &mut OsRng).unwrap();
    keys.verifier()
        .verify_spend(&env, &w.public_inputs())
        .unwrap();
}
