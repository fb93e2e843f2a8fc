//! The halo2/Pasta circuit of the v1 statement: a valid witness satisfies it, every rule
//! broken by a forced witness (bypassing the native check) and every public input changed
//! makes it fail, and a real IPA proof round-trips and is rejected for other public inputs.
//!
//! Most checks use `MockProver` at `K`; one proving key is built per test binary.

use std::convert::Infallible;
use std::sync::OnceLock;

use circuits::pasta::{
    instance_column, instance_from_slice, poseidon, Assignment, InstanceError, Pasta,
    PolicyCircuit, K, ROW_P,
};
use circuits::public::NUM_PUBLIC_INPUTS;
use circuits::{
    Binding, Intent, Policy, PolicySalt, PublicInputs, Recipient, Salt, StatementField, Witness,
    WitnessValues,
};
use ff::{Field, PrimeField};
use halo2_proofs::dev::{CircuitCost, MockProver, VerifyFailure};
use halo2_proofs::plonk::{
    create_proof, keygen_pk, keygen_vk, verify_proof, Circuit, ProvingKey, SingleVerifier,
};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255};
use pasta_curves::{Eq as Vesta, EqAffine, Fp};
use rand::{RngCore, SeedableRng};

const NOW: u64 = 1_750_000_000;
const ASSET: u32 = 7;
const MAX_AMOUNT: u64 = 1_000_000;
/// Index of the intent's recipient in the allowlist (binary 1011 → mixed path bits).
const RECIPIENT_INDEX: usize = 11;
/// The policy's salt (fixed, so the test statement is deterministic).
const POLICY_SALT: [u8; 32] = [0x9e; 32];

fn recipient(i: u8) -> Recipient {
    let mut b = [0u8; 32];
    b[0] = i;
    b[17] = 0x5a ^ i;
    b[31] = 0xc3;
    Recipient(b)
}

fn witness() -> Witness<Pasta> {
    let allowlist: Vec<Recipient> = (0..13).map(recipient).collect();
    let policy = Policy::new(
        ASSET,
        MAX_AMOUNT,
        NOW - 86_400,
        allowlist,
        PolicySalt::from_bytes(POLICY_SALT),
    )
    .expect("valid policy");
    let intent = Intent {
        version: 1,
        network: 0xdead_beef,
        asset: ASSET,
        amount: 999_999,
        recipient: recipient(RECIPIENT_INDEX as u8),
        valid_after: NOW - 60,
        valid_before: NOW + 3_600,
        nonce: u64::MAX,
        salt: Salt::from_bytes([0x42; 31]),
    };
    let binding = Binding([0x17; 31]);
    Witness::new(intent, policy, NOW, binding).expect("compliant intent")
}

fn values() -> WitnessValues<Fp> {
    witness().values()
}

fn mock(circuit: &PolicyCircuit, instance: Vec<Fp>) -> Result<(), Vec<VerifyFailure>> {
    MockProver::run(K, circuit, vec![instance])
        .expect("synthesis succeeds")
        .verify()
}

fn run_values(v: &WitnessValues<Fp>) -> Result<(), Vec<VerifyFailure>> {
    mock(&PolicyCircuit::new(v), v.public.to_vec())
}

/// Runs the forced witness (after recomputing `C`, `P` so that only the targeted rule is
/// broken) and returns the failure descriptions.
fn forced_failures(edit: impl FnOnce(&mut WitnessValues<Fp>)) -> String {
    let mut v = values();
    edit(&mut v);
    v.recommit::<Pasta>();
    match run_values(&v) {
        Ok(()) => panic!("forced witness was accepted"),
        Err(failures) => format!("{failures:?}"),
    }
}

/// Picks one field of a witness to edit.
type FieldMut = fn(&mut WitnessValues<Fp>) -> &mut Fp;

fn u64_fp(v: u64) -> Fp {
    Fp::from(v)
}

fn two_64() -> Fp {
    <Fp as PrimeField>::from_u128(1u128 << 64)
}

#[test]
fn valid_witness_is_satisfied() {
    let w = witness();
    let v = w.values();
    assert_eq!(run_values(&v), Ok(()));
    // The instance the circuit accepts is exactly the native commitments.
    assert_eq!(v.public[0], w.intent().commitment::<Pasta>().0);
    assert_eq!(v.public[1], w.policy().commitment::<Pasta>().0);
    assert_eq!(v.public[2], Fp::from(NOW));
    assert_eq!(v.public[3], w.binding().to_field::<Fp>());
    assert_eq!(instance_column(&w.public_inputs()), v.public);
}

#[test]
fn every_leaf_position_is_provable() {
    // First and last allowlist entries: all-zero and other path-bit patterns.
    for index in [0u8, 12] {
        let w = witness();
        let mut intent = w.intent().clone();
        intent.recipient = recipient(index);
        let w =
            Witness::<Pasta>::new(intent, w.policy().clone(), NOW, w.binding()).expect("compliant");
        assert_eq!(run_values(&w.values()), Ok(()), "leaf {index}");
    }
}

#[test]
fn circuit_fits_k_and_not_k_minus_1() {
    let v = values();
    let circuit = PolicyCircuit::new(&v);
    assert!(MockProver::run(K - 1, &circuit, vec![v.public.to_vec()]).is_err());
    let cost = CircuitCost::<Vesta, PolicyCircuit>::measure(K, &circuit);
    // "max_rows: N, max_advice_rows: ..." (run with --nocapture); `CircuitCost` exposes the
    // count only through `Debug`.
    let text = format!("{cost:?}");
    println!("{text}");
    let rows: usize = text
        .split("max_rows: ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .expect("CircuitCost prints max_rows");
    assert_eq!(
        rows, 1804,
        "row count changed: update the module docs and this pin"
    );
}

/// The verifying key is a function of the circuit's shape only; pinning a hash of it
/// catches any change of columns, gates or layout (each would invalidate stored keys and
/// proofs).
#[test]
fn verifying_key_is_pinned() {
    let vk = keygen_vk(&keys().params, &PolicyCircuit::default()).expect("keygen_vk");
    let pinned = format!("{:?}", vk.pinned());
    assert_eq!(
        blake3::hash(pinned.as_bytes()).to_hex().as_str(),
        "8e9b1f17e28b50d2bb2baabb730196831d91cadac76aaa28197d6b3941da21a9",
        "the halo2 verifying key changed"
    );
}

#[test]
fn version_must_be_1() {
    let f = forced_failures(|v| v.intent.version = u64_fp(2));
    assert!(f.contains("Permutation"), "{f}");
}

#[test]
fn asset_must_match_policy() {
    let f = forced_failures(|v| v.intent.asset = u64_fp(u64::from(ASSET) + 1));
    assert!(f.contains("Permutation"), "{f}");
    // Also with the policy side changed instead.
    forced_failures(|v| v.policy.asset = u64_fp(u64::from(ASSET) + 1));
}

#[test]
fn amount_above_max_fails() {
    let f = forced_failures(|v| v.intent.amount = u64_fp(MAX_AMOUNT + 1));
    assert!(f.contains("Lookup"), "{f}");
}

#[test]
fn amount_equal_to_max_is_allowed() {
    let mut v = values();
    v.intent.amount = u64_fp(MAX_AMOUNT);
    v.recommit::<Pasta>();
    assert_eq!(run_values(&v), Ok(()));
}

#[test]
fn time_window_rules_fail() {
    // now < valid_after
    forced_failures(|v| v.intent.valid_after = u64_fp(NOW + 1));
    // now > valid_before
    forced_failures(|v| v.intent.valid_before = u64_fp(NOW - 1));
    // now < not_before
    forced_failures(|v| v.policy.not_before = u64_fp(NOW + 1));
}

#[test]
fn time_window_bounds_are_inclusive() {
    let mut v = values();
    v.intent.valid_after = u64_fp(NOW);
    v.intent.valid_before = u64_fp(NOW);
    v.policy.not_before = u64_fp(NOW);
    v.recommit::<Pasta>();
    assert_eq!(run_values(&v), Ok(()));
}

#[test]
fn amount_of_2_pow_64_plus_5_fails() {
    forced_failures(|v| {
        v.intent.amount = two_64() + u64_fp(5);
        v.policy.max_amount = u64_fp(u64::MAX);
    });
}

#[test]
fn amount_of_p_minus_1_fails_by_range_check_alone() {
    // amount = -1: max_amount - amount = max_amount + 1 is a small, valid difference, so
    // only the 64-bit range check on `amount` stands between this and a wrap-around.
    let f = forced_failures(|v| v.intent.amount = -Fp::ONE);
    assert!(f.contains("Lookup"), "{f}");
}

#[test]
fn every_u64_is_range_checked() {
    // Each u64 field pushed to >= 2^64 (keeping its low 64 bits) is rejected.
    let fields: [(&str, FieldMut); 6] = [
        ("amount", |v| &mut v.intent.amount),
        ("valid_after", |v| &mut v.intent.valid_after),
        ("valid_before", |v| &mut v.intent.valid_before),
        ("nonce", |v| &mut v.intent.nonce),
        ("max_amount", |v| &mut v.policy.max_amount),
        ("not_before", |v| &mut v.policy.not_before),
    ];
    for (name, field) in fields {
        let mut v = values();
        *field(&mut v) += two_64();
        v.recommit::<Pasta>();
        assert!(run_values(&v).is_err(), "{name} >= 2^64 accepted");
    }
    // `now` is public: force both the witness and the instance.
    let mut v = values();
    v.public[2] += two_64();
    assert!(run_values(&v).is_err(), "now >= 2^64 accepted");
    // u32 fields too.
    let f = forced_failures(|v| v.intent.network = u64_fp(1 << 32));
    assert!(f.contains("Lookup"), "{f}");
    // asset = 2^32 + 7 on both sides: the equality with the policy holds, only the range
    // check objects.
    let f = forced_failures(|v| {
        v.intent.asset = u64_fp((1 << 32) + 7);
        v.policy.asset = u64_fp((1 << 32) + 7);
    });
    assert!(f.contains("Lookup"), "{f}");
    // The largest u32s are accepted.
    let mut v = values();
    v.intent.network = u64_fp(u64::from(u32::MAX));
    v.intent.asset = u64_fp(u64::from(u32::MAX));
    v.policy.asset = u64_fp(u64::from(u32::MAX));
    v.recommit::<Pasta>();
    assert_eq!(run_values(&v), Ok(()));
}

#[test]
fn nonce_wrap_around_is_caught_by_its_range_check() {
    // The nonce takes part in no comparison: only its own range check rejects it.
    let f = forced_failures(|v| v.intent.nonce = -Fp::ONE);
    assert!(f.contains("Lookup"), "{f}");
}

#[test]
fn recipient_outside_allowlist_fails() {
    let f = forced_failures(|v| v.intent.recipient_hi += Fp::ONE);
    assert!(f.contains("Permutation"), "{f}");
}

#[test]
fn wrong_merkle_path_fails() {
    // A wrong sibling.
    let mut v = values();
    v.path.siblings[5] += Fp::ONE;
    assert!(run_values(&v).is_err());
    // Wrong direction bits (the index of another leaf).
    let mut v = values();
    v.path.index ^= 1;
    assert!(run_values(&v).is_err());
    // The path of another leaf.
    let w = witness();
    let mut v = w.values();
    v.path = w
        .policy()
        .allowlist_tree::<Pasta>()
        .path(3)
        .expect("leaf 3");
    assert!(run_values(&v).is_err());
}

#[test]
fn path_bits_must_be_boolean() {
    let v = values();
    let mut a = Assignment::from_values(&v);
    a.path_bits[0] = u64_fp(2);
    let f = format!(
        "{:?}",
        mock(&PolicyCircuit::from_assignment(a), v.public.to_vec()).expect_err("accepted")
    );
    assert!(f.contains("bit is boolean"), "{f}");
}

#[test]
fn witnessed_now_and_binding_must_match_instance() {
    let v = values();
    let mut a = Assignment::from_values(&v);
    a.binding += Fp::ONE;
    assert!(mock(&PolicyCircuit::from_assignment(a), v.public.to_vec()).is_err());
    let mut a = Assignment::from_values(&v);
    a.now += Fp::ONE;
    assert!(mock(&PolicyCircuit::from_assignment(a), v.public.to_vec()).is_err());
}

#[test]
fn changing_any_one_public_input_fails() {
    let v = values();
    let circuit = PolicyCircuit::new(&v);
    for row in 0..NUM_PUBLIC_INPUTS {
        let mut instance = v.public.to_vec();
        instance[row] += Fp::ONE;
        let f = format!("{:?}", mock(&circuit, instance).expect_err("accepted"));
        assert!(f.contains("Permutation"), "row {row}: {f}");
    }
}

#[test]
fn missing_public_input_fails() {
    let v = values();
    let circuit = PolicyCircuit::new(&v);
    // halo2 pads a short instance column with zeros: binding becomes 0 and no longer
    // matches the witnessed binding.
    assert!(mock(&circuit, v.public[..3].to_vec()).is_err());
    assert!(mock(&circuit, vec![]).is_err());
    assert_eq!(
        instance_from_slice(&v.public[..3]),
        Err(InstanceError::WrongCount {
            expected: 4,
            got: 3
        })
    );
    assert_eq!(
        instance_from_slice(&[Fp::ONE; 5]),
        Err(InstanceError::WrongCount {
            expected: 4,
            got: 5
        })
    );
    assert_eq!(instance_from_slice(&v.public), Ok(v.public));
}

/// The witness of the same statement under a policy with equal parameters and salt
/// `0x9f` × 32 instead of [`POLICY_SALT`].
fn resalted_witness() -> Witness<Pasta> {
    let w = witness();
    Witness::new(
        w.intent().clone(),
        w.policy().with_salt(PolicySalt::from_bytes([0x9f; 32])),
        NOW,
        w.binding(),
    )
    .expect("compliant intent")
}

/// Issue 10: the salt is part of the opening of `P`. A witness whose salt limbs are not
/// the committed ones — another salt, one limb changed, or the honest witness of a policy
/// with equal parameters and another salt checked against the first policy's `P` — fails
/// the commitment's copy constraint.
#[test]
fn witness_with_another_salt_fails() {
    let other: (Fp, Fp) = PolicySalt::from_bytes([0x9f; 32]).limbs();
    let mut v = values();
    (v.policy.salt_lo, v.policy.salt_hi) = other;
    assert!(run_values(&v).is_err());
    let mut v = values();
    v.policy.salt_hi += Fp::ONE;
    let f = format!(
        "{:?}",
        run_values(&v).expect_err("changed salt_hi accepted")
    );
    assert!(f.contains("Permutation"), "{f}");

    let resalted = resalted_witness().values();
    assert_eq!(run_values(&resalted), Ok(()));
    assert_ne!(resalted.public[ROW_P], values().public[ROW_P]);
    let mut v = resalted;
    v.public[ROW_P] = values().public[ROW_P];
    assert!(run_values(&v).is_err());
}

/// The salt limbs are deliberately not range-checked (see `circuits::policy`): with `P`
/// recomputed over them, limbs of 2^128 or more satisfy the circuit; only the opening of
/// `P` binds them.
#[test]
fn salt_limbs_are_bound_only_by_the_commitment() {
    let mut v = values();
    v.policy.salt_lo = <Fp as PrimeField>::from_u128(u128::MAX) + Fp::ONE;
    v.policy.salt_hi = -Fp::ONE;
    v.recommit::<Pasta>();
    assert_eq!(run_values(&v), Ok(()));
}

#[test]
fn native_hash_agrees_with_shared_code() {
    // The shared Merkle code (generic over Backend) and the circuit's hash are one function.
    let w = witness();
    let leaf = w.leaf();
    let expected = poseidon::hash_fixed([
        Fp::from(circuits::DOMAIN_LEAF),
        <Fp as PrimeField>::from_u128(w.intent().recipient.hi()),
        <Fp as PrimeField>::from_u128(w.intent().recipient.lo()),
    ]);
    assert_eq!(leaf, expected);
    assert_eq!(w.path().root_for::<Pasta>(leaf), w.allowlist_root());
    // Public inputs survive the byte encoding used on the wire.
    let public = w.public_inputs();
    let back = PublicInputs::<Fp>::from_le_bytes(&public.to_le_bytes()).expect("canonical");
    assert_eq!(back, public);
    assert_eq!(<Fp as StatementField>::from_u64(NOW), Fp::from(NOW));
}

// ---------------------------------------------------------------------------------------
// Real proofs (IPA over Vesta, Blake2b transcript).

/// A deterministic test RNG (rand 0.8 `StdRng`) exposed through rand_core 0.10's traits,
/// which halo2_proofs 0.4.1 takes.
struct TestRng(rand::rngs::StdRng);

impl rand_core_010::TryRng for TestRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.0.next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

impl rand_core_010::TryCryptoRng for TestRng {}

struct Keys {
    params: Params<EqAffine>,
    pk: ProvingKey<EqAffine>,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let params = Params::<EqAffine>::new(K);
        let empty = PolicyCircuit::default();
        let vk = keygen_vk(&params, &empty).expect("keygen_vk");
        let pk = keygen_pk(&params, vk, &empty).expect("keygen_pk");
        Keys { params, pk }
    })
}

fn prove(circuit: PolicyCircuit, instance: &[Fp]) -> Vec<u8> {
    let k = keys();
    let mut transcript = Blake2bWrite::<_, EqAffine, Challenge255<_>>::init(vec![]);
    let rng = TestRng(rand::rngs::StdRng::seed_from_u64(7));
    create_proof(
        &k.params,
        &k.pk,
        &[circuit],
        &[&[instance]],
        rng,
        &mut transcript,
    )
    .expect("create_proof");
    transcript.finalize()
}

fn verify(proof: &[u8], instance: &[Fp]) -> bool {
    let k = keys();
    let mut transcript = Blake2bRead::<_, EqAffine, Challenge255<_>>::init(proof);
    verify_proof(
        &k.params,
        k.pk.get_vk(),
        SingleVerifier::new(&k.params),
        &[&[instance]],
        &mut transcript,
    )
    .is_ok()
}

#[test]
fn real_proof_round_trip_and_public_input_tampering() {
    let v = values();
    let proof = prove(PolicyCircuit::new(&v), &v.public);
    assert!(verify(&proof, &v.public), "honest proof rejected");
    println!("proof: {} bytes", proof.len());

    for row in 0..NUM_PUBLIC_INPUTS {
        let mut instance = v.public;
        instance[row] += Fp::ONE;
        assert!(!verify(&proof, &instance), "changed row {row} accepted");
    }
    // Missing binding (treated as zero by halo2) and an extra non-zero input both fail.
    assert!(!verify(&proof, &v.public[..3]));
    let mut extra = v.public.to_vec();
    extra.push(Fp::ONE);
    assert!(!verify(&proof, &extra));
    // An extra *zero* is indistinguishable from padding to halo2 itself: the count must be
    // checked by the caller, which `instance_from_slice` does.
    let mut extra_zero = v.public.to_vec();
    extra_zero.push(Fp::ZERO);
    assert!(verify(&proof, &extra_zero));
    assert!(instance_from_slice(&extra_zero).is_err());

    // A corrupted proof fails.
    let mut bad = proof.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    assert!(!verify(&bad, &v.public));
}

/// Issue 10: a real proof made with another salt than the committed one verifies for its
/// own `P` only, not for the committed `P` of a policy with equal parameters.
#[test]
fn real_proof_with_another_salt_does_not_verify() {
    let committed = values();
    let resalted = resalted_witness().values();
    let proof = prove(PolicyCircuit::new(&resalted), &resalted.public);
    assert!(verify(&proof, &resalted.public), "honest proof rejected");
    let mut instance = resalted.public;
    instance[ROW_P] = committed.public[ROW_P];
    assert_ne!(instance, resalted.public);
    assert!(!verify(&proof, &instance));
}

#[test]
fn keygen_does_not_depend_on_the_witness() {
    let k = keys();
    let vk = keygen_vk(&k.params, &PolicyCircuit::new(&values())).expect("keygen_vk");
    assert_eq!(
        format!("{:?}", vk.pinned()),
        format!("{:?}", k.pk.get_vk().pinned())
    );
    assert_eq!(
        format!("{:?}", PolicyCircuit::new(&values()).without_witnesses()),
        "PolicyCircuit(<redacted>)"
    );
}

#[test]
fn negative_lower_bounds_are_rejected() {
    // valid_after = -5 makes `now - valid_after = now + 5` a small difference, and
    // not_before = -1 likewise: only their own 64-bit range checks reject them.
    let f = forced_failures(|v| v.intent.valid_after = -u64_fp(5));
    assert!(f.contains("Lookup"), "{f}");
    let f = forced_failures(|v| v.policy.not_before = -Fp::ONE);
    assert!(f.contains("Lookup"), "{f}");
    // An upper bound just above 2^64 with a difference below 2^64.
    let f = forced_failures(|v| {
        v.intent.amount = u64_fp(u64::MAX);
        v.policy.max_amount = two_64() + u64_fp(5);
    });
    assert!(f.contains("Lookup"), "{f}");
}
