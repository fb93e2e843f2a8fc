//! `prover::msm` against ark-ec's `VariableBaseMSM::msm`: random inputs and edges (zero
//! scalars, `r − 1`, identity points, repeated points, `P` and `−P`, sizes 0, 1, 2 and
//! non-powers of two), G1 and G2, GLV and non-GLV, every accumulation mode, fixed windows;
//! and the fixed-base tables (`FixedBaseMsm`) on the same inputs, at several widths.

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{BigInteger, PrimeField, UniformRand};
use ark_std::rand::{rngs::StdRng, SeedableRng};
use proptest::prelude::*;
use prover::msm::glv::GlvCurve;
use prover::msm::{
    Accumulation, ArkMsm, BigInt, FixedBaseMsm, MsmBackend, PippengerMsm, TableBudget,
};

/// What an input slot holds.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Random,
    ZeroScalar,
    MinusOne,
    One,
    Identity,
    Repeat,
    NegatePrevious,
}

fn slot() -> impl Strategy<Value = Slot> {
    prop_oneof![
        6 => Just(Slot::Random),
        1 => Just(Slot::ZeroScalar),
        1 => Just(Slot::MinusOne),
        1 => Just(Slot::One),
        1 => Just(Slot::Identity),
        1 => Just(Slot::Repeat),
        1 => Just(Slot::NegatePrevious),
    ]
}

/// Points and scalars for `slots`: a few random points (`g·x`), the rest sums of those so
/// that making them stays cheap.
fn inputs<P: SWCurveConfig<ScalarField = Fr>>(
    slots: &[Slot],
    seed: u64,
) -> (Vec<Affine<P>>, Vec<Fr>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let seeds: Vec<Projective<P>> = (0..4)
        .map(|_| Projective::<P>::generator() * Fr::rand(&mut rng))
        .collect();
    let mut acc = seeds[0];
    let mut points = Vec::with_capacity(slots.len());
    let mut scalars = Vec::with_capacity(slots.len());
    for (i, s) in slots.iter().enumerate() {
        acc += seeds[i % 4];
        let prev = points.last().copied().unwrap_or(acc);
        let (p, k) = match s {
            Slot::Random => (acc, Fr::rand(&mut rng)),
            Slot::ZeroScalar => (acc, Fr::from(0u8)),
            Slot::MinusOne => (acc, -Fr::from(1u8)),
            Slot::One => (acc, Fr::from(1u8)),
            Slot::Identity => (Projective::<P>::default(), Fr::rand(&mut rng)),
            Slot::Repeat => (prev, Fr::rand(&mut rng)),
            Slot::NegatePrevious => (-prev, Fr::rand(&mut rng)),
        };
        points.push(p);
        scalars.push(k);
    }
    (Projective::normalize_batch(&points), scalars)
}

fn configs() -> Vec<PippengerMsm> {
    let mut out = Vec::new();
    for glv in [true, false] {
        for acc in [
            Accumulation::Auto,
            Accumulation::Affine,
            Accumulation::Stream,
            Accumulation::Projective,
        ] {
            out.push(PippengerMsm::new().glv(glv).accumulation(acc));
        }
        for c in [1, 2, 3, 5, 8] {
            for acc in [Accumulation::Affine, Accumulation::Stream] {
                out.push(PippengerMsm::new().glv(glv).window(c).accumulation(acc));
            }
        }
    }
    out
}

fn check<P: GlvCurve<ScalarField = Fr>>(
    msm: &PippengerMsm,
    points: &[Affine<P>],
    scalars: &[Fr],
) -> Result<(), TestCaseError> {
    let expect = Projective::<P>::msm(points, scalars).expect("equal lengths");
    let bigints: Vec<BigInt> = scalars.iter().map(|s| s.into_bigint()).collect();
    let got = msm.msm::<P>(points, &bigints);
    prop_assert_eq!(got.into_affine(), expect.into_affine(), "{:?}", msm);
    Ok(())
}

/// Fixed-base tables at the chosen width and at narrow and wide fixed ones: the full input,
/// then a prefix of the scalars (a table is used with fewer scalars than bases).
fn check_fixed<P: GlvCurve<ScalarField = Fr>>(
    points: &[Affine<P>],
    scalars: &[Fr],
) -> Result<(), TestCaseError> {
    let bigints: Vec<BigInt> = scalars.iter().map(|s| s.into_bigint()).collect();
    let auto = FixedBaseMsm::<P>::choose_window(points.len());
    for c in [auto, 1, 3, 7, 16] {
        let table = FixedBaseMsm::with_window(points, c);
        prop_assert_eq!(table.len(), points.len());
        let expect = Projective::<P>::msm(points, scalars).expect("equal lengths");
        prop_assert_eq!(
            table.msm(&bigints).into_affine(),
            expect.into_affine(),
            "c={}",
            c
        );
        let k = points.len() / 2;
        let expect = Projective::<P>::msm(&points[..k], &scalars[..k]).expect("equal lengths");
        prop_assert_eq!(table.msm(&bigints[..k]), expect, "prefix, c={}", c);
    }
    Ok(())
}

fn check_all<P: GlvCurve<ScalarField = Fr>>(slots: &[Slot], seed: u64) {
    let (points, scalars) = inputs::<P>(slots, seed);
    for msm in configs() {
        check(&msm, &points, &scalars).unwrap();
    }
    check_fixed(&points, &scalars).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn g1_matches_ark(slots in prop::collection::vec(slot(), 0..80), seed: u64) {
        let (points, scalars) = inputs::<ark_bn254::g1::Config>(&slots, seed);
        for msm in configs() {
            check(&msm, &points, &scalars)?;
        }
        check_fixed(&points, &scalars)?;
    }

    #[test]
    fn g2_matches_ark(slots in prop::collection::vec(slot(), 0..40), seed: u64) {
        let (points, scalars) = inputs::<ark_bn254::g2::Config>(&slots, seed);
        for msm in configs() {
            check(&msm, &points, &scalars)?;
        }
        check_fixed(&points, &scalars)?;
    }
}

#[test]
fn small_and_odd_sizes() {
    for n in [0usize, 1, 2, 3, 5, 17, 31, 33, 100] {
        check_all::<ark_bn254::g1::Config>(&vec![Slot::Random; n], n as u64);
        check_all::<ark_bn254::g2::Config>(&vec![Slot::Random; n.min(33)], n as u64);
    }
}

#[test]
fn edges_alone() {
    for s in [
        Slot::ZeroScalar,
        Slot::MinusOne,
        Slot::One,
        Slot::Identity,
        Slot::Repeat,
        Slot::NegatePrevious,
    ] {
        for n in [1usize, 2, 7] {
            check_all::<ark_bn254::g1::Config>(&vec![s; n], 7);
            check_all::<ark_bn254::g2::Config>(&vec![s; n], 7);
        }
    }
    // P and −P alternating: every bucket pair cancels to the identity mid-tree.
    let slots: Vec<Slot> = (0..64)
        .map(|i| {
            if i % 2 == 0 {
                Slot::Random
            } else {
                Slot::NegatePrevious
            }
        })
        .collect();
    check_all::<ark_bn254::g1::Config>(&slots, 3);
}

#[test]
fn same_point_same_scalar_doubles_in_the_tree() {
    // All scalars equal and all points equal: every pair addition is a doubling.
    let g = G1Projective::generator().into_affine();
    let k = Fr::from(123_456_789u64);
    for n in [2usize, 3, 64, 257] {
        for msm in configs() {
            check(&msm, &vec![g; n], &vec![k; n]).unwrap();
            check(&msm, &vec![g; n], &vec![-Fr::from(1u8); n]).unwrap();
        }
    }
}

#[test]
fn many_rounds_with_auto_batches() {
    // Narrow windows over 3000 points: buckets of hundreds of points, several batched rounds
    // and the Jacobian tail below the batch threshold.
    let (points, scalars) = inputs::<ark_bn254::g1::Config>(&vec![Slot::Random; 3000], 11);
    for glv in [true, false] {
        for c in [3, 4, 9] {
            let msm = PippengerMsm::new().glv(glv).window(c);
            check(&msm, &points, &scalars).unwrap();
        }
    }
    check(&PippengerMsm::new(), &points, &scalars).unwrap();
    // Fixed-base: narrow buckets of hundreds of pairs, and the chosen width (many chunks).
    let bigints: Vec<BigInt> = scalars.iter().map(|s| s.into_bigint()).collect();
    let expect = G1Projective::msm(&points, &scalars).unwrap();
    for c in [
        3,
        FixedBaseMsm::<ark_bn254::g1::Config>::choose_window(3000),
    ] {
        assert_eq!(FixedBaseMsm::with_window(&points, c).msm(&bigints), expect);
    }
}

#[test]
fn fixed_base_tables_respect_their_budget() {
    let (points, scalars) = inputs::<ark_bn254::g1::Config>(&[Slot::Random; 50], 13);
    let bigints: Vec<BigInt> = scalars.iter().map(|s| s.into_bigint()).collect();
    let c = FixedBaseMsm::<ark_bn254::g1::Config>::choose_window(50);
    let bytes = FixedBaseMsm::<ark_bn254::g1::Config>::table_bytes(50, c);
    assert!(FixedBaseMsm::within_budget(&points, &TableBudget::new(bytes - 1)).is_none());
    let budget = TableBudget::new(bytes + 10);
    let table = FixedBaseMsm::within_budget(&points, &budget).expect("fits");
    assert_eq!(table.memory_bytes(), bytes);
    assert_eq!(budget.available(), 10);
    // A second table does not fit in what is left; dropping the first gives its bytes back.
    assert!(FixedBaseMsm::within_budget(&points, &budget).is_none());
    assert_eq!(
        table.msm(&bigints),
        G1Projective::msm(&points, &scalars).unwrap()
    );
    drop(table);
    assert_eq!(budget.available(), bytes + 10);
    assert!(FixedBaseMsm::within_budget(&points, &TableBudget::new(0)).is_none());
    // An empty base set costs nothing and sums to the identity.
    let empty = FixedBaseMsm::<ark_bn254::g1::Config>::within_budget(&[], &TableBudget::new(0))
        .expect("empty table fits");
    assert_eq!(empty.msm(&bigints), G1Projective::default());
}

#[test]
fn non_canonical_scalars_are_reduced() {
    let (points, scalars) = inputs::<ark_bn254::g1::Config>(&[Slot::Random; 20], 5);
    let expect = G1Projective::msm(&points, &scalars).unwrap();
    let big: Vec<BigInt> = scalars
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut b = s.into_bigint();
            // Add r up to 4 times while it fits in 256 bits.
            for _ in 0..(i % 5) {
                let mut t = b;
                if !t.add_with_carry(&Fr::MODULUS) {
                    b = t;
                }
            }
            b
        })
        .collect();
    for glv in [true, false] {
        let got = PippengerMsm::new().glv(glv).msm_g1(&points, &big);
        assert_eq!(got, expect);
    }
    assert_eq!(FixedBaseMsm::with_window(&points, 9).msm(&big), expect);
    // ark's baseline sees the canonical ones.
    let canon: Vec<BigInt> = scalars.iter().map(|s| s.into_bigint()).collect();
    assert_eq!(ArkMsm.msm_g1(&points, &canon), expect);
}

#[test]
fn pools_and_the_trait() {
    let (p1, s1) = inputs::<ark_bn254::g1::Config>(&vec![Slot::Random; 300], 9);
    let (p2, s2) = inputs::<ark_bn254::g2::Config>(&[Slot::Random; 60], 9);
    let b1: Vec<BigInt> = s1.iter().map(|s| s.into_bigint()).collect();
    let b2: Vec<BigInt> = s2.iter().map(|s| s.into_bigint()).collect();
    let backends: Vec<Box<dyn MsmBackend>> = vec![
        Box::new(ArkMsm),
        Box::new(PippengerMsm::new()),
        Box::new(PippengerMsm::with_pool(
            rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap(),
        )),
        Box::new(PippengerMsm::with_pool(
            rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap(),
        )),
    ];
    let e1 = G1Projective::msm(&p1, &s1).unwrap();
    let e2 = G2Projective::msm(&p2, &s2).unwrap();
    for b in &backends {
        assert_eq!(b.msm_g1(&p1, &b1), e1);
        assert_eq!(b.msm_g2(&p2, &b2), e2);
        // Unequal lengths: the common prefix, as ark's msm_bigint.
        assert_eq!(
            b.msm_g1(&p1[..10], &b1),
            G1Projective::msm(&p1[..10], &s1[..10]).unwrap()
        );
    }
}

#[test]
fn groth16_proofs_made_with_our_msm_verify_under_ark_groth16() {
    use ark_bn254::Bn254;
    use ark_groth16::Groth16;
    use prover::ProofSystem;

    let system = prover::test_util::groth16();
    let witness = circuits::sample::witness(3);
    let env = system.prove(&witness, &mut rand::rngs::OsRng).unwrap();
    let proof = verifier::groth16::decode_proof(&env.proof).unwrap();
    let inputs = witness.public_inputs().to_field_elements();
    let pvk = ark_groth16::prepare_verifying_key(system.verifying_key().key());
    assert!(Groth16::<Bn254>::verify_proof(&pvk, &proof, &inputs).unwrap());
    let mut wrong = inputs;
    wrong[0] += Fr::from(1u8);
    assert!(!Groth16::<Bn254>::verify_proof(&pvk, &proof, &wrong).unwrap());

    // The proving key's own queries (identity points included): ours == ark-ec's.
    let pk = system.proving_key();
    let mut rng = StdRng::seed_from_u64(1);
    let s: Vec<BigInt> = (0..pk.a_query.len())
        .map(|_| Fr::rand(&mut rng).into_bigint())
        .collect();
    let ours = PippengerMsm::new();
    assert_eq!(ours.msm_g1(&pk.a_query, &s), ArkMsm.msm_g1(&pk.a_query, &s));
    assert_eq!(
        ours.msm_g2(&pk.b_g2_query, &s),
        ArkMsm.msm_g2(&pk.b_g2_query, &s)
    );
    assert_eq!(ours.msm_g1(&pk.h_query, &s), ArkMsm.msm_g1(&pk.h_query, &s));
    for (name, q) in [
        ("a", &pk.a_query),
        ("b_g1", &pk.b_g1_query),
        ("h", &pk.h_query),
    ] {
        let table = FixedBaseMsm::with_window(
            q,
            FixedBaseMsm::<ark_bn254::g1::Config>::choose_window(q.len()),
        );
        assert_eq!(table.msm(&s), ArkMsm.msm_g1(q, &s), "{name}");
    }
    let table = FixedBaseMsm::with_window(&pk.b_g2_query, 10);
    assert_eq!(table.msm(&s), ArkMsm.msm_g2(&pk.b_g2_query, &s));
}

#[test]
fn groth16_proofs_verify_with_and_without_fixed_base_tables() {
    use ark_bn254::Bn254;
    use ark_groth16::Groth16;
    use prover::groth16::{Groth16System, TablePlan};
    use prover::ProofSystem;
    use verifier::StatementVerifier;

    let pk = prover::test_util::groth16().proving_key().clone();
    let witness = circuits::sample::witness(4);
    let inputs = witness.public_inputs().to_field_elements();
    let pvk = ark_groth16::prepare_verifying_key(&pk.vk);
    let variable =
        Groth16System::from_proving_key(pk.clone(), TablePlan::Now(&TableBudget::new(0))).unwrap();
    assert_eq!(variable.fixed_base_bytes(), 0);
    let budget = TableBudget::new(1 << 30);
    let fixed = Groth16System::from_proving_key(pk, TablePlan::Now(&budget)).unwrap();
    // Tables were built, and the budget was charged for exactly their bytes.
    assert!(fixed.fixed_base_bytes() > 0);
    assert_eq!(budget.available(), (1 << 30) - fixed.fixed_base_bytes());
    for system in [&variable, &fixed] {
        let env = system.prove(&witness, &mut rand::rngs::OsRng).unwrap();
        let proof = verifier::groth16::decode_proof(&env.proof).unwrap();
        assert!(Groth16::<Bn254>::verify_proof(&pvk, &proof, &inputs).unwrap());
        system
            .verifier()
            .verify(&env, &witness.public_inputs())
            .unwrap();
    }
    drop(fixed);
    assert_eq!(budget.available(), 1 << 30);
}
