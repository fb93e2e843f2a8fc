//! The spend statement: native rules, public-input encoding, and the BN254 circuit's
//! soundness (each public input bound; each rule enforced) and sizes.

use ark_ff::{AdditiveGroup, Field};

use super::*;
use crate::bn254::{Bn254, Fr, SpendCircuit};
use crate::field::StatementField;
use crate::policy::PolicySalt;
use crate::public::PublicInputsError;
use crate::sample;

use crate::sample::spend::{output as out, policy, spend_script as script, NETWORK as REGTEST};

fn spend(outputs: Vec<SpendOutput>, fee: u64) -> Spend {
    Spend::new(REGTEST, outputs, fee, 0).unwrap()
}

fn two() -> Spend {
    spend(
        vec![out(0, script(1), 60_000), out(2, script(7), 40_000)],
        1_000,
    )
}

fn values(s: &Spend) -> SpendValues<Fr> {
    SpendWitness::<Bn254>::new(s, &policy(), sample::NOW, sample::binding(1))
        .unwrap()
        .values()
        .clone()
}

fn satisfied(v: SpendValues<Fr>) -> bool {
    SpendCircuit::from_values(v).is_satisfied().unwrap()
}

#[test]
fn classes_scripts_and_padding() {
    assert_eq!(SizeClass::for_outputs(0), Ok(SizeClass::Two));
    assert_eq!(SizeClass::for_outputs(3), Ok(SizeClass::Sixteen));
    assert_eq!(SizeClass::for_outputs(256), Ok(SizeClass::TwoFiftySix));
    assert_eq!(
        SizeClass::for_outputs(257),
        Err(SpendError::TooManyOutputs { count: 257 })
    );
    assert_ne!(script_hash(b"a"), script_hash(b"b"));
    assert_ne!(script_hash(b""), PADDING);
    assert_eq!(
        Spend::new(REGTEST, vec![out(4, PADDING, 1)], 0, 0),
        Err(SpendError::PaddingScript { index: 4 })
    );
    assert!(matches!(
        SpendPolicy::new(
            REGTEST,
            1,
            1,
            0,
            vec![PADDING],
            PolicySalt::from_bytes([1; 32])
        ),
        Err(SpendPolicyError::Padding { index: 0 })
    ));
    assert!(matches!(
        SpendPolicy::new(
            REGTEST,
            1,
            1,
            0,
            vec![script(1), script(1)],
            PolicySalt::from_bytes([1; 32])
        ),
        Err(SpendPolicyError::Duplicate { index: 1, first: 0 })
    ));
    // Slots: the outputs, then padding up to the class.
    let s = two();
    assert_eq!(s.slots().len(), 2);
    let s16 = spend(vec![out(0, script(1), 5); 3], 1);
    assert_eq!(s16.class(), SizeClass::Sixteen);
    assert_eq!(s16.slots()[3..], vec![(PADDING, 0); 13][..]);
    // O binds the network, the class, every output and its order.
    let o = |s: &Spend| s.commitment::<Bn254>();
    let other_net = Spend::new(1, s.outputs().to_vec(), 1_000, 0).unwrap();
    assert_ne!(o(&s), o(&other_net));
    let bigger =
        Spend::with_class(REGTEST, s.outputs().to_vec(), 1_000, 0, SizeClass::Sixteen).unwrap();
    assert_ne!(o(&s), o(&bigger));
    let swapped = spend(vec![s.outputs()[1], s.outputs()[0]], 1_000);
    assert_ne!(o(&s), o(&swapped));
}

#[test]
fn the_native_check_names_the_rule_and_the_output() {
    let p = policy();
    assert_eq!(check(&two(), &p, sample::NOW), Ok(()));
    // Limits are inclusive.
    let at_limit = spend(vec![out(0, script(1), 100_000)], 1_000);
    assert_eq!(check(&at_limit, &p, sample::NOW), Ok(()));
    let e = check(
        &Spend::new(1, two().outputs().to_vec(), 1_000, 0).unwrap(),
        &p,
        sample::NOW,
    )
    .unwrap_err();
    assert_eq!((e.rule(), e.output()), ("network", None));
    let e = check(&two(), &p, sample::NOW - 11).unwrap_err();
    assert_eq!(e.rule(), "time_lock");
    let e = check(&spend(two().outputs().to_vec(), 1_001), &p, sample::NOW).unwrap_err();
    assert_eq!(
        e,
        SpendViolation::FeeAboveLimit {
            fee: 1_001,
            max: 1_000
        }
    );
    let e = check(
        &spend(
            vec![
                out(0, script(1), 1),
                out(1, script(2), 1),
                out(5, script(99), 1),
            ],
            1,
        ),
        &p,
        sample::NOW,
    )
    .unwrap_err();
    assert_eq!((e.rule(), e.output()), ("allowlist", Some(5)));
    assert_eq!(
        e.to_string(),
        "output 5 pays a script that is not allowlisted"
    );
    let e = check(&spend(vec![out(0, script(1), 100_001)], 1), &p, sample::NOW).unwrap_err();
    assert_eq!(
        e,
        SpendViolation::TotalAboveLimit {
            total: 100_001,
            max: 100_000
        }
    );
    // The total is summed without overflow.
    let huge = spend(
        vec![out(0, script(1), u64::MAX), out(1, script(2), u64::MAX)],
        1,
    );
    assert_eq!(huge.total(), 2 * u128::from(u64::MAX));
    assert_eq!(check(&huge, &p, sample::NOW).unwrap_err().rule(), "total");
}

#[test]
fn public_inputs_round_trip_and_reject_out_of_range_values() {
    let w = SpendWitness::<Bn254>::new(&two(), &policy(), sample::NOW, sample::binding(3)).unwrap();
    let public = w.public_inputs();
    assert_eq!(public.fee, 1_000);
    assert_eq!(public.outputs, two().commitment::<Bn254>());
    assert_eq!(public.policy, policy().commitment::<Bn254>());
    let bytes = public.to_le_bytes();
    assert_eq!(SpendPublicInputs::<Fr>::from_le_bytes(&bytes), Ok(public));
    let mut v = public.to_field_elements();
    v[public::SPEND_LOCK_TIME] = Fr::from_u64(1 << 32);
    assert_eq!(
        SpendPublicInputs::from_field_elements(&v),
        Err(PublicInputsError::OutOfRange {
            name: "lock_time",
            bits: 32
        })
    );
    let mut v = public.to_field_elements();
    v[public::SPEND_FEE] = -Fr::ONE;
    assert!(SpendPublicInputs::from_field_elements(&v).is_err());
    let mut b = bytes;
    b[0] = [0xff; 32];
    assert_eq!(
        SpendPublicInputs::<Fr>::from_le_bytes(&b),
        Err(PublicInputsError::NonCanonical { index: 0 })
    );
}

/// Whether the circuit of `v` (its witness kept) holds with public input `index` set to
/// `value` in the instance assignment, as a verifier would present it.
fn holds_with_instance(v: &SpendValues<Fr>, index: usize, value: Fr) -> bool {
    use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
    let cs = ConstraintSystem::<Fr>::new_ref();
    SpendCircuit::from_values(v.clone())
        .generate_constraints(cs.clone())
        .unwrap();
    cs.finalize();
    {
        let mut inner = cs.borrow_mut().unwrap();
        inner.assignments.instance_assignment[index + 1] = value;
        // Cached linear combinations are re-evaluated from the changed instance.
        inner.assignments.lc_assignment.clear();
    }
    cs.is_satisfied().unwrap()
}

/// The proof's witness is kept and one public input is changed: every one of them must
/// break a constraint; so must an `O` computed from other outputs and another fee.
#[test]
fn a_valid_spend_satisfies_and_every_public_input_is_bound() {
    let good = values(&two());
    assert!(satisfied(good.clone()));
    for i in 0..NUM_SPEND_PUBLIC_INPUTS {
        assert!(holds_with_instance(&good, i, good.public[i]), "control {i}");
        assert!(
            !holds_with_instance(&good, i, good.public[i] + Fr::ONE),
            "public input {i} is unconstrained"
        );
    }
    let other = spend(vec![two().outputs()[0], out(2, script(7), 39_000)], 1_000);
    assert!(!holds_with_instance(
        &good,
        public::SPEND_O,
        other.commitment::<Bn254>().0
    ));
    assert!(!holds_with_instance(
        &good,
        public::SPEND_FEE,
        Fr::from_u64(999)
    ));
}

#[test]
fn every_rule_is_enforced_in_the_circuit() {
    let p = policy();
    let unchecked = |s: &Spend, now| {
        SpendWitness::<Bn254>::new_unchecked(s, &p, now, sample::binding(1))
            .values()
            .clone()
    };
    // Not allowlisted (the prover only has some path; leaf 0's).
    assert!(!satisfied(unchecked(
        &spend(vec![out(0, script(99), 1)], 1),
        sample::NOW
    )));
    // Over the total, over the fee, before the time-lock, another network.
    assert!(!satisfied(unchecked(
        &spend(vec![out(0, script(1), 100_001)], 1),
        sample::NOW
    )));
    assert!(!satisfied(unchecked(
        &spend(vec![out(0, script(1), 1)], 1_001),
        sample::NOW
    )));
    assert!(!satisfied(unchecked(&two(), sample::NOW - 11)));
    assert!(!satisfied(unchecked(
        &Spend::new(1, two().outputs().to_vec(), 1, 0).unwrap(),
        sample::NOW
    )));
    // The boundaries hold.
    assert!(satisfied(unchecked(
        &spend(vec![out(0, script(1), 100_000)], 1_000),
        sample::NOW - 10
    )));
    // An amount of 2^64 + x that wraps nothing natively but would let a sum cheat: refused
    // by the range check even with O and P recomputed.
    let mut v = values(&two());
    v.slots[0].amount = Fr::from_u64(u64::MAX) + Fr::ONE;
    v.recommit::<Bn254>();
    assert!(!satisfied(v));
    // A negative amount (p - 1) that would lower the total: refused.
    let mut v = values(&two());
    v.slots[1].amount = -Fr::ONE;
    v.recommit::<Bn254>();
    assert!(!satisfied(v));
    // Padding that is not padding: a slot claiming the padding script with an amount.
    let mut v = values(&two());
    v.slots[1].script_hi = Fr::ZERO;
    v.slots[1].script_lo = Fr::ZERO;
    v.slots[1].path = SpendWitness::<Bn254>::new(
        &spend(vec![out(0, script(1), 1)], 1),
        &p,
        sample::NOW,
        sample::binding(1),
    )
    .unwrap()
    .values()
    .slots[1]
        .path;
    v.recommit::<Bn254>();
    // It proves (the padding leaf is allowlisted), but its O is not any transaction's: a
    // verifier derives O from the outputs, where no script hashes to 0.
    assert!(satisfied(v.clone()));
    assert_ne!(v.public[public::SPEND_O], two().commitment::<Bn254>().0);
}

/// `path` with the position at `level` moved by `delta` (1..4) places.
fn moved<F>(mut v: SpendValues<F>, slot: usize, level: usize, delta: u16) -> SpendValues<F> {
    let p = &mut v.slots[slot].path;
    let shift = 2 * level;
    let pos = (p.index >> shift) & 3;
    p.index = (p.index & !(3 << shift)) | (((pos + delta) & 3) << shift);
    v
}

#[test]
fn a_path_opens_only_at_its_own_positions_and_siblings() {
    let good = values(&two());
    assert!(satisfied(good.clone()));
    // Levels climbed (0..7 in the 2 class) and the shared one (7).
    for level in [0, 1, 4, 7] {
        for delta in 1..4 {
            assert!(
                !satisfied(moved(good.clone(), 0, level, delta)),
                "level {level} position moved by {delta}"
            );
        }
    }
    for level in [0, 5] {
        for j in 0..3 {
            let mut v = good.clone();
            v.slots[0].path.siblings[level][j] += Fr::ONE;
            assert!(!satisfied(v), "level {level} sibling {j}");
        }
    }
}

#[test]
fn slots_reach_the_shared_top_of_the_tree_only_by_their_own_path() {
    // An allowlist spanning three of the 16 class's shared subtrees (4 096 leaves each), and
    // payees in each of them.
    let scripts: Vec<_> = (0..8_200u32)
        .map(|i| script_hash(&[&[0x51u8, 0x20][..], &i.to_le_bytes()].concat()))
        .collect();
    let p = SpendPolicy::new(
        REGTEST,
        100_000,
        1_000,
        sample::NOW - 10,
        scripts.clone(),
        PolicySalt::from_bytes([3; 32]),
    )
    .unwrap();
    let payees = [1usize, 4_100, 8_195];
    let s = Spend::with_class(
        REGTEST,
        payees
            .iter()
            .enumerate()
            .map(|(i, &j)| out(i as u32, scripts[j], 10))
            .collect(),
        500,
        0,
        SizeClass::Sixteen,
    )
    .unwrap();
    let good = SpendWitness::<Bn254>::new(&s, &p, sample::NOW, sample::binding(1))
        .unwrap()
        .values()
        .clone();
    let shared = SizeClass::Sixteen.shared_levels();
    assert_eq!(good.top.len(), 1 << (2 * shared));
    // Index bits below the shared nodes: two per level climbed.
    let depth = 2 * (crate::spend::QUAD_DEPTH - shared);
    let selected: Vec<_> = good.slots[..3]
        .iter()
        .map(|slot| usize::from(slot.path.index) >> depth)
        .collect();
    assert_eq!(
        selected,
        [0, 1, 2],
        "the payees sit under different shared nodes"
    );
    assert!(satisfied(good.clone()));

    // Shared nodes that do not hash to the committed root: refused, even one no slot uses.
    for j in [1, 9] {
        let mut v = good.clone();
        v.top[j] += Fr::ONE;
        assert!(!satisfied(v), "top node {j} is not bound to the root");
    }
    // Two shared nodes swapped: the root changes.
    let mut v = good.clone();
    v.top.swap(1, 2);
    assert!(!satisfied(v));
    // A slot that climbs correctly but claims another shared node by its top bits.
    let mut v = good.clone();
    v.slots[1].path.index ^= 1 << depth;
    assert!(!satisfied(v));
    // Too few or too many shared nodes: refused before synthesis.
    let mut v = good.clone();
    v.top.pop();
    assert!(SpendCircuit::from_values(v).is_satisfied().is_err());
}

#[test]
fn spend_sizes_are_pinned() {
    assert_eq!(
        SpendCircuit::num_constraints(SizeClass::Two).unwrap(),
        7_593
    );
    assert_eq!(
        SpendCircuit::num_constraints(SizeClass::Sixteen).unwrap(),
        42_609
    );
    // Between 2^19 and 2^20 - 6 public inputs - 1: the 256 class's FFT domain is 2^20.
    assert_eq!(
        SpendCircuit::num_constraints(SizeClass::TwoFiftySix).unwrap(),
        562_081
    );
}

#[test]
fn every_circuit_documents_the_spend_constraints() {
    use crate::checks::tests::constraints_section;
    let shared = constraints_section(include_str!("mod.rs"));
    assert!(shared.contains("6. `binding`"), "{shared}");
    assert_eq!(
        constraints_section(include_str!("../bn254/spend.rs")),
        shared
    );
    assert_eq!(
        constraints_section(include_str!("../pasta/spend.rs")),
        shared
    );
}

mod halo2 {
    use halo2_proofs::dev::MockProver;
    use pasta_curves::Fp;

    use super::*;
    use crate::pasta::{Pasta, SpendCircuit};

    fn mock(v: SpendValues<Fp>, k: u32) -> Result<bool, halo2_proofs::plonk::Error> {
        let instance = v.public.to_vec();
        let circuit = SpendCircuit::from_values(v);
        Ok(MockProver::run(k, &circuit, vec![instance])?
            .verify()
            .is_ok())
    }

    fn values(s: &Spend, now: u64) -> SpendValues<Fp> {
        SpendWitness::<Pasta>::new_unchecked(s, &policy(), now, sample::binding(1))
            .values()
            .clone()
    }

    #[test]
    fn a_valid_spend_proves_and_every_public_input_and_rule_is_bound() {
        let k = SpendCircuit::k(SizeClass::Two);
        let good = values(&two(), sample::NOW);
        assert!(mock(good.clone(), k).unwrap());
        // The witness kept, one instance row changed.
        let circuit = SpendCircuit::from_values(good.clone());
        for i in 0..NUM_SPEND_PUBLIC_INPUTS {
            let mut instance = good.public.to_vec();
            instance[i] += Fp::one();
            let prover = MockProver::run(k, &circuit, vec![instance]).unwrap();
            assert!(
                prover.verify().is_err(),
                "public input {i} is unconstrained"
            );
        }
        let bad = [
            values(&spend(vec![out(0, script(99), 1)], 1), sample::NOW),
            values(&spend(vec![out(0, script(1), 100_001)], 1), sample::NOW),
            values(&spend(vec![out(0, script(1), 1)], 1_001), sample::NOW),
            values(&two(), sample::NOW - 11),
            values(
                &Spend::new(1, two().outputs().to_vec(), 1, 0).unwrap(),
                sample::NOW,
            ),
        ];
        for (i, v) in bad.into_iter().enumerate() {
            assert!(!mock(v, k).unwrap(), "violation {i} proved");
        }
        let mut v = good.clone();
        v.slots[1].amount = -Fp::one();
        v.recommit::<Pasta>();
        assert!(!mock(v, k).unwrap());
    }

    #[test]
    fn a_path_opens_only_at_its_own_positions_and_siblings() {
        let k = SpendCircuit::k(SizeClass::Two);
        let good = values(&two(), sample::NOW);
        for level in [0, 3, 7] {
            for delta in 1..4 {
                assert!(
                    !mock(moved(good.clone(), 0, level, delta), k).unwrap(),
                    "level {level} position moved by {delta}"
                );
            }
            let mut v = good.clone();
            v.slots[0].path.siblings[level][2] += Fp::one();
            assert!(!mock(v, k).unwrap(), "level {level} sibling");
        }
    }

    #[test]
    fn spend_circuits_fit_their_k_and_not_one_less() {
        for class in SizeClass::ALL {
            let v = sample::spend::witness::<Pasta>(class, 1).values().clone();
            let k = SpendCircuit::k(class);
            assert!(mock(v.clone(), k).unwrap(), "class {class} at k = {k}");
            assert!(mock(v, k - 1).is_err(), "class {class} fits k - 1");
        }
    }
}
