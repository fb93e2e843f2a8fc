//! halo2/IPA proving and verification of the v1 statement, through `prover` and
//! `verifier`: honest proofs verify; every changed public input, wrong count, other policy,
//! malformed proof, wrong backend or key is refused with a typed error; batches name the
//! bad proof; keys survive the key store and corruption is caught.
//!
//! The keys and one honest proof are built once per test binary. Timings are printed
//! (`--nocapture`) for orientation only; nothing asserts on them.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use circuits::pasta::{Pasta, K};
use circuits::public::NUM_PUBLIC_INPUTS;
use circuits::{
    BackendId, Binding, Intent, Policy, PolicySalt, PublicInputs, Recipient, Salt, Witness,
    INTENT_VERSION,
};
use pasta_curves::group::ff::Field;
use pasta_curves::Fp;
use prover::halo2::Halo2System;
use prover::test_util::halo2 as system;
use prover::{CircuitSize, KeyStoreError, ProofSystem, ProveError};
use rand::rngs::OsRng;
use verifier::{Halo2VerifyingKey, ProofEnvelope, ProofError, StatementVerifier, VkFingerprint};

const NOW: u64 = 1_700_000_500;

fn recipient(i: u8) -> Recipient {
    let mut r = [0xab; 32];
    r[31] = i;
    Recipient(r)
}

/// Asset 7, max 1_000_000, not_before NOW - 100, 5 recipients.
fn policy_with_max(max_amount: u64) -> Policy {
    Policy::new(
        7,
        max_amount,
        NOW - 100,
        (0..5).map(recipient).collect(),
        PolicySalt::from_bytes([0x3c; 32]),
    )
    .expect("policy")
}

fn policy() -> Policy {
    policy_with_max(1_000_000)
}

fn intent(amount: u64) -> Intent {
    Intent {
        version: INTENT_VERSION,
        network: 1,
        asset: 7,
        amount,
        recipient: recipient(3),
        valid_after: NOW - 50,
        valid_before: NOW + 50,
        nonce: 42,
        salt: Salt::from_bytes([0x5a; 31]),
    }
}

fn binding(signer: &[u8]) -> Binding {
    Binding::derive(&[9u8; 32], signer, b"group-key", b"round-1")
}

fn witness_for(signer: &[u8]) -> Witness<Pasta> {
    Witness::new(intent(250_000), policy(), NOW, binding(signer)).expect("compliant")
}

/// One honest proof and its public inputs.
fn honest() -> &'static (ProofEnvelope, PublicInputs<Fp>) {
    static PROOF: OnceLock<(ProofEnvelope, PublicInputs<Fp>)> = OnceLock::new();
    PROOF.get_or_init(|| {
        let w = witness_for(b"signer-1");
        let t = Instant::now();
        let env = system().prove(&w, &mut OsRng).expect("prove");
        println!(
            "halo2 prove (with MockProver pre-check): {:?}, proof {} bytes",
            t.elapsed(),
            env.proof.len()
        );
        (env, w.public_inputs())
    })
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zkq-halo2-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn honest_proof_verifies() {
    let (env, public) = honest();
    let t = Instant::now();
    assert_eq!(system().verifier().verify(env, public), Ok(()));
    println!("halo2 verify: {:?}", t.elapsed());
    assert_eq!(env.backend, BackendId::Halo2Pasta);
    assert_eq!(env.vk_fingerprint, system().fingerprint());
    assert_eq!(env.proof.len(), system().verifying_key().proof_len());
    // The verifier crate alone, from the transparent params, verifies it too.
    let vk = Halo2VerifyingKey::transparent().expect("vk");
    assert_eq!(vk.fingerprint(), system().fingerprint());
    assert_eq!(vk.verify(env, public), Ok(()));
}

#[test]
fn changing_any_one_public_input_is_invalid() {
    let (env, public) = honest();
    let mut changed = Vec::new();
    let mut p = *public;
    p.intent_commitment.0 += Fp::ONE;
    changed.push(p);
    let mut p = *public;
    p.policy_commitment.0 += Fp::ONE;
    changed.push(p);
    let mut p = *public;
    p.now += 1;
    changed.push(p);
    let mut p = *public;
    p.binding.0[0] ^= 1;
    changed.push(p);
    assert_eq!(changed.len(), NUM_PUBLIC_INPUTS);
    for (row, p) in changed.iter().enumerate() {
        assert_ne!(p, public);
        assert_eq!(
            system().verifier().verify(env, p),
            Err(ProofError::Invalid),
            "row {row}"
        );
    }
}

#[test]
fn instance_count_other_than_4_is_refused() {
    let (env, public) = honest();
    let vk = system().verifying_key();
    let column = public.to_field_elements();
    assert_eq!(vk.verify_instances(&env.proof, &column), Ok(()));
    assert_eq!(
        vk.verify_instances(&env.proof, &column[..3]),
        Err(ProofError::PublicInputCount {
            expected: 4,
            got: 3
        })
    );
    // A trailing zero is indistinguishable from padding to halo2 itself.
    let mut five = column.to_vec();
    five.push(Fp::ZERO);
    assert_eq!(
        vk.verify_instances(&env.proof, &five),
        Err(ProofError::PublicInputCount {
            expected: 4,
            got: 5
        })
    );
    assert_eq!(
        vk.verify_instances(&env.proof, &[]),
        Err(ProofError::PublicInputCount {
            expected: 4,
            got: 0
        })
    );
}

#[test]
fn proof_for_another_policy_fails() {
    // A proof for a policy with another limit (another P) ...
    let other = Witness::<Pasta>::new(
        intent(250_000),
        policy_with_max(2_000_000),
        NOW,
        binding(b"signer-1"),
    )
    .expect("compliant");
    let env = system().prove(&other, &mut OsRng).expect("prove");
    assert_eq!(
        system().verifier().verify(&env, &other.public_inputs()),
        Ok(())
    );
    // ... does not verify as a proof under the signer's committed policy.
    let (_, public) = honest();
    assert_eq!(
        other.public_inputs().intent_commitment,
        public.intent_commitment
    );
    assert_ne!(
        other.public_inputs().policy_commitment,
        public.policy_commitment
    );
    let mut claimed = other.public_inputs();
    claimed.policy_commitment = public.policy_commitment;
    assert_eq!(
        system().verifier().verify(&env, &claimed),
        Err(ProofError::Invalid)
    );
}

/// Issue 10: a proof whose witness uses another salt than the committed one (equal policy
/// parameters) verifies for its own `P` only, never for the committed `P`.
#[test]
fn proof_with_another_salt_fails() {
    let resalted = Witness::<Pasta>::new(
        intent(250_000),
        policy().with_salt(PolicySalt::from_bytes([0x3d; 32])),
        NOW,
        binding(b"signer-1"),
    )
    .expect("compliant");
    let env = system().prove(&resalted, &mut OsRng).expect("prove");
    assert_eq!(
        system().verifier().verify(&env, &resalted.public_inputs()),
        Ok(())
    );
    let (_, public) = honest();
    assert_ne!(
        resalted.public_inputs().policy_commitment,
        public.policy_commitment
    );
    let mut claimed = resalted.public_inputs();
    claimed.policy_commitment = public.policy_commitment;
    assert_eq!(
        system().verifier().verify(&env, &claimed),
        Err(ProofError::Invalid)
    );
}

#[test]
fn malformed_proof_bytes_are_typed_errors() {
    let (env, public) = honest();
    let len = env.proof.len();
    let with = |proof: Vec<u8>| ProofEnvelope {
        proof,
        ..env.clone()
    };
    let malformed = |r: Result<(), ProofError>| matches!(r, Err(ProofError::MalformedProof(_)));
    // Empty, truncated, extended.
    assert!(malformed(system().verifier().verify(&with(vec![]), public)));
    assert!(malformed(
        system()
            .verifier()
            .verify(&with(env.proof[..len - 1].to_vec()), public)
    ));
    assert!(malformed(
        system()
            .verifier()
            .verify(&with(env.proof[..len / 2].to_vec()), public)
    ));
    let mut longer = env.proof.clone();
    longer.extend_from_slice(&[0u8; 32]);
    assert!(malformed(system().verifier().verify(&with(longer), public)));
    // Raw bytes too, without the envelope's length check in front.
    let vk = system().verifying_key();
    let column = public.to_field_elements();
    assert!(malformed(vk.verify_instances(&[], &column)));
    assert!(malformed(vk.verify_instances(&env.proof[..100], &column)));
    // Garbage of the right length: 0xff bytes are not point encodings.
    let r = system().verifier().verify(&with(vec![0xff; len]), public);
    assert!(malformed(r.clone()), "{r:?}");
    // Zeros decode as identity points, which the transcript refuses.
    assert!(malformed(
        system().verifier().verify(&with(vec![0; len]), public)
    ));
    // A flipped bit anywhere is refused, one way or the other.
    for pos in [0, 31, 32, len / 3, len / 2, len - 33, len - 1] {
        let mut bad = env.proof.clone();
        bad[pos] ^= 1;
        let r = system().verifier().verify(&with(bad), public);
        assert!(
            matches!(r, Err(ProofError::Invalid | ProofError::MalformedProof(_))),
            "byte {pos}: {r:?}"
        );
    }
}

#[test]
fn groth16_envelope_is_wrong_backend() {
    let (env, public) = honest();
    let g16 = ProofEnvelope {
        backend: BackendId::Groth16Bn254,
        vk_fingerprint: env.vk_fingerprint,
        proof: vec![0; 128],
    };
    assert_eq!(
        system().verifier().verify(&g16, public),
        Err(ProofError::WrongBackend {
            expected: BackendId::Halo2Pasta,
            found: BackendId::Groth16Bn254
        })
    );
}

#[test]
fn wrong_fingerprint_is_refused() {
    let (env, public) = honest();
    let other = VkFingerprint([7; 32]);
    let bad = ProofEnvelope {
        vk_fingerprint: other,
        ..env.clone()
    };
    assert_eq!(
        system().verifier().verify(&bad, public),
        Err(ProofError::FingerprintMismatch {
            expected: system().fingerprint(),
            found: other
        })
    );
}

#[test]
fn envelope_round_trip() {
    let (env, public) = honest();
    let back = ProofEnvelope::from_bytes(&env.to_bytes()).expect("decode");
    assert_eq!(&back, env);
    let back = ProofEnvelope::from_hex(&env.to_hex()).expect("decode hex");
    assert_eq!(&back, env);
    assert_eq!(system().verifier().verify(&back, public), Ok(()));
    // Public inputs survive their wire encoding too.
    let p = PublicInputs::<Fp>::from_le_bytes(&public.to_le_bytes()).expect("canonical");
    assert_eq!(system().verifier().verify(&back, &p), Ok(()));
}

#[test]
fn violating_intent_is_refused_naming_the_rule() {
    let err = system()
        .prove_statement(
            intent(1_000_001),
            policy(),
            NOW,
            binding(b"signer-1"),
            &mut OsRng,
        )
        .expect_err("violation proved");
    match err {
        ProveError::Policy(v) => assert_eq!(v.rule(), "amount_above_limit"),
        other => panic!("expected a policy violation, got {other:?}"),
    }
    let mut late = intent(5);
    late.valid_before = NOW - 1;
    match system().prove_statement(late, policy(), NOW, binding(b"s"), &mut OsRng) {
        Err(ProveError::Policy(v)) => assert_eq!(v.rule(), "expired"),
        other => panic!("expected a policy violation, got {other:?}"),
    }
}

#[test]
fn unchecked_violating_witness_is_unsatisfied() {
    // Above the limit, and a recipient outside the allowlist.
    let over = Witness::<Pasta>::new_unchecked(intent(1_000_001), policy(), NOW, binding(b"s"));
    assert!(matches!(
        system().prove(&over, &mut OsRng),
        Err(ProveError::Unsatisfied("halo2"))
    ));
    let mut stranger = intent(5);
    stranger.recipient = recipient(99);
    let w = Witness::<Pasta>::new_unchecked(stranger, policy(), NOW, binding(b"s"));
    assert!(matches!(
        system().prove(&w, &mut OsRng),
        Err(ProveError::Unsatisfied("halo2"))
    ));
    // Without the pre-check, halo2 itself notices the amount (its range-check lookup
    // fails) but not the recipient (a copy constraint): it returns a proof that fails to
    // verify, which is why `prove` runs the MockProver first.
    assert!(matches!(
        system().prove_unchecked(&over, &mut OsRng),
        Err(ProveError::Unsatisfied("halo2"))
    ));
    let env = system().prove_unchecked(&w, &mut OsRng).expect("proof");
    assert_eq!(
        system().verifier().verify(&env, &w.public_inputs()),
        Err(ProofError::Invalid)
    );
}

/// Four honest proofs with distinct bindings, proved as a batch.
fn four() -> &'static Vec<(ProofEnvelope, PublicInputs<Fp>)> {
    static FOUR: OnceLock<Vec<(ProofEnvelope, PublicInputs<Fp>)>> = OnceLock::new();
    FOUR.get_or_init(|| {
        let ws: Vec<Witness<Pasta>> = (0..4u8).map(|i| witness_for(&[b's', i])).collect();
        let t = Instant::now();
        let proofs = system().prove_batch(&ws);
        println!("halo2 prove_batch of 4: {:?}", t.elapsed());
        proofs
            .into_iter()
            .zip(&ws)
            .map(|(p, w)| (p.expect("prove"), w.public_inputs()))
            .collect()
    })
}

#[test]
fn batch_of_valid_proofs_verifies() {
    let items: Vec<(&ProofEnvelope, &PublicInputs<Fp>)> =
        four().iter().map(|(e, p)| (e, p)).collect();
    let t = Instant::now();
    assert_eq!(system().verifier().verify_batch(&items), Ok(()));
    println!("halo2 verify_batch of 4: {:?}", t.elapsed());
    assert_eq!(system().verifier().verify_batch(&[]), Ok(()));
}

#[test]
fn batch_names_the_bad_proof() {
    let proofs = four();
    // Index 2 claims another proof's public inputs.
    let items: Vec<(&ProofEnvelope, &PublicInputs<Fp>)> = proofs
        .iter()
        .enumerate()
        .map(|(i, (e, p))| if i == 2 { (e, &proofs[0].1) } else { (e, p) })
        .collect();
    let err = system()
        .verifier()
        .verify_batch(&items)
        .expect_err("bad batch accepted");
    assert_eq!(err.failures, vec![(2, ProofError::Invalid)]);
    // A malformed member is named without curve work.
    let short = ProofEnvelope {
        proof: proofs[2].0.proof[..64].to_vec(),
        ..proofs[2].0.clone()
    };
    let mut items: Vec<(&ProofEnvelope, &PublicInputs<Fp>)> =
        proofs.iter().map(|(e, p)| (e, p)).collect();
    items[2].0 = &short;
    let err = system()
        .verifier()
        .verify_batch(&items)
        .expect_err("bad batch accepted");
    assert_eq!(err.failures.len(), 1);
    assert_eq!(err.failures[0].0, 2);
    assert!(matches!(err.failures[0].1, ProofError::MalformedProof(_)));
}

#[test]
fn prove_batch_returns_proofs_in_order() {
    let proofs = four();
    let ws: Vec<Witness<Pasta>> = (0..3u8).map(|i| witness_for(&[b'o', i])).collect();
    let out = system().prove_batch(&ws);
    assert_eq!(out.len(), 3);
    for (i, (r, w)) in out.iter().zip(&ws).enumerate() {
        let env = r.as_ref().expect("prove");
        assert_eq!(
            system().verifier().verify(env, &w.public_inputs()),
            Ok(()),
            "proof {i}"
        );
        // Each proof is bound to its own witness (distinct bindings): not to the next one.
        let next = &ws[(i + 1) % ws.len()];
        assert_eq!(
            system().verifier().verify(env, &next.public_inputs()),
            Err(ProofError::Invalid)
        );
    }
    assert_eq!(proofs.len(), 4);
}

#[test]
fn save_load_round_trip() {
    let dir = temp_dir("roundtrip");
    system().save(&dir).expect("save");
    assert!(dir.join("halo2-pasta.params").exists());
    let manifest = std::fs::read_to_string(dir.join("halo2-pasta.manifest.json")).expect("m");
    assert!(manifest.contains("\"k\": 11"), "{manifest}");
    let t = Instant::now();
    let loaded = Halo2System::load(&dir).expect("load");
    println!(
        "halo2 load (checksum, keygen, transparency check): {:?}",
        t.elapsed()
    );
    assert_eq!(loaded.fingerprint(), system().fingerprint());
    let (env, public) = honest();
    assert_eq!(loaded.verifier().verify(env, public), Ok(()));
    // And the loaded keys prove.
    let w = witness_for(b"after-load");
    let env = loaded.prove(&w, &mut OsRng).expect("prove");
    assert_eq!(system().verifier().verify(&env, &w.public_inputs()), Ok(()));
    // The verifier alone: params, regenerated key, fingerprint checked.
    let vk = Halo2VerifyingKey::load_dir(&dir).expect("verifier");
    assert_eq!(vk.fingerprint(), system().fingerprint());
    assert_eq!(vk.verify(&env, &w.public_inputs()), Ok(()));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn corrupted_params_file_is_a_checksum_error() {
    let dir = temp_dir("checksum");
    system().save(&dir).expect("save");
    let path = dir.join("halo2-pasta.params");
    let mut bytes = std::fs::read(&path).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&path, &bytes).expect("write");
    assert!(matches!(
        Halo2System::load(&dir),
        Err(KeyStoreError::Checksum { .. })
    ));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn manifest_with_wrong_fingerprint_is_refused() {
    let dir = temp_dir("fingerprint");
    system().save(&dir).expect("save");
    let path = dir.join("halo2-pasta.manifest.json");
    let manifest = std::fs::read_to_string(&path).expect("read");
    let good = system().fingerprint().to_hex();
    assert!(manifest.contains(&good));
    std::fs::write(&path, manifest.replace(&good, &"00".repeat(32))).expect("write");
    match Halo2System::load(&dir) {
        Err(KeyStoreError::Fingerprint { expected, found }) => {
            assert_eq!(expected, "00".repeat(32));
            assert_eq!(found, good);
        }
        Err(e) => panic!("expected a fingerprint error, got {e}"),
        Ok(_) => panic!("expected a fingerprint error, got keys"),
    }
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn garbage_params_bytes_are_typed_errors() {
    let good = system().verifying_key().params_bytes();
    assert_eq!(good.len(), verifier::halo2::params_len(K));
    let malformed_key = |b: &[u8]| {
        matches!(
            Halo2VerifyingKey::from_params_bytes(b),
            Err(ProofError::MalformedKey(_))
        )
    };
    assert!(malformed_key(&[]));
    assert!(malformed_key(&[1, 2, 3]));
    // k = 40 would ask for 2^40 points: refused before reading.
    assert!(malformed_key(&[40, 0, 0, 0]));
    assert!(malformed_key(&[0xff; 64]));
    // Other k, even a consistent encoding.
    let mut k10 = Vec::new();
    halo2_proofs::poly::commitment::Params::<pasta_curves::EqAffine>::new(K - 1)
        .write(&mut k10)
        .expect("write");
    assert!(malformed_key(&k10));
    // Right k, truncated / extended.
    assert!(malformed_key(&good[..good.len() - 1]));
    let mut longer = good.clone();
    longer.push(0);
    assert!(malformed_key(&longer));
    // Right k and length, but points that are not on the curve.
    let mut bad = good.clone();
    for b in &mut bad[4..4 + 32] {
        *b = 0xff;
    }
    assert!(malformed_key(&bad));
    // The good bytes give the same key.
    let vk = Halo2VerifyingKey::from_params_bytes(&good).expect("params");
    assert_eq!(vk.fingerprint(), system().fingerprint());
    assert!(vk.is_transparent());
}

#[test]
fn sizes_are_reported() {
    match system().circuit_size() {
        CircuitSize::Rows { used, k } => {
            assert_eq!(k, K);
            println!("halo2 rows used: {used} of {}", 1u32 << k);
            assert!(used > 1024 && used < (1 << K), "used rows {used}");
        }
        other => panic!("expected rows, got {other:?}"),
    }
    let (pk, vk) = system().key_sizes();
    println!("halo2 key sizes: params {pk} bytes, vk commitments {vk} bytes");
    assert_eq!(pk, verifier::halo2::params_len(K));
    assert!(vk > 0 && vk % 32 == 0, "vk commitments {vk}");
}

#[test]
fn precheck_cost_relative_to_proving() {
    let w = witness_for(b"timing");
    let t = Instant::now();
    system().check_satisfied(&w).expect("satisfied");
    let check = t.elapsed();
    let t = Instant::now();
    let env = system().prove_unchecked(&w, &mut OsRng).expect("prove");
    let prove = t.elapsed();
    println!(
        "halo2 MockProver pre-check {check:?} vs create_proof {prove:?} ({:.0}%)",
        100.0 * check.as_secs_f64() / prove.as_secs_f64()
    );
    assert_eq!(system().verifier().verify(&env, &w.public_inputs()), Ok(()));
}

/// Params with a known discrete-log relation between generators (`u = g[0]`, `w = g[0]`, or
/// one Lagrange generator replaced) parse as points on the curve, but they are not the
/// transparent ones: another fingerprint, and `is_transparent` says no, which is what the
/// key loaders and the auditor refuse them by.
#[test]
fn trapdoored_params_are_not_transparent() {
    let good = system().verifier().params_bytes();
    let n = good.len();
    let g0 = good[4..36].to_vec();
    let lagrange0 = 4 + 32 * (1usize << K);
    for (what, at) in [("u", n - 32), ("w", n - 64), ("g_lagrange[0]", lagrange0)] {
        let mut bad = good.clone();
        bad[at..at + 32].copy_from_slice(&g0);
        assert_ne!(bad, good, "{what}");
        let vk = Halo2VerifyingKey::from_params_bytes(&bad).expect("points on the curve");
        assert!(!vk.is_transparent(), "{what} = g[0] passes as transparent");
        assert_ne!(vk.fingerprint(), system().fingerprint(), "{what}");
    }
}
