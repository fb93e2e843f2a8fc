//! The same statement on both backends: the same intent and policy are accepted by both,
//! and the same violation is refused by both with the same typed error.

mod common;

use circuits::public::Witness;
use circuits::{sample, Intent, Policy, PolicySalt, PolicyViolation};
use common::{groth16, halo2};
use prover::{ProofSystem, ProveError};
use rand::rngs::OsRng;
use verifier::StatementVerifier;

fn prove_and_verify<S: ProofSystem>(
    s: &S,
    intent: Intent,
    policy: Policy,
) -> Result<(), ProveError> {
    let binding = sample::binding(1);
    let w = Witness::<S::Backend>::new(intent.clone(), policy.clone(), sample::NOW, binding)?;
    let env = s.prove_statement(intent, policy, sample::NOW, binding, &mut OsRng)?;
    s.verifier()
        .verify(&env, &w.public_inputs())
        .expect("an accepted statement verifies");
    Ok(())
}

fn both(intent: Intent, policy: Policy) -> (Result<(), ProveError>, Result<(), ProveError>) {
    (
        prove_and_verify(groth16().as_ref(), intent.clone(), policy.clone()),
        prove_and_verify(halo2().as_ref(), intent, policy),
    )
}

fn violation(r: Result<(), ProveError>) -> PolicyViolation {
    match r {
        Err(ProveError::Policy(v)) => v,
        other => panic!("expected a policy violation, got {other:?}"),
    }
}

#[test]
fn compliant_intent_is_accepted_by_both_backends() {
    let (g, h) = both(sample::intent(1), sample::policy());
    g.unwrap();
    h.unwrap();
    // Boundary values are compliant on both: amount == max, now == valid_before.
    let mut edge = sample::intent(2);
    edge.amount = 1_000_000;
    edge.valid_before = sample::NOW;
    let (g, h) = both(edge, sample::policy());
    g.unwrap();
    h.unwrap();
}

#[test]
fn every_violation_is_refused_identically_by_both_backends() {
    let cases: Vec<(&str, Intent, Policy)> = vec![
        (
            "unsupported_version",
            Intent {
                version: 2,
                ..sample::intent(3)
            },
            sample::policy(),
        ),
        (
            "asset_mismatch",
            Intent {
                asset: 8,
                ..sample::intent(3)
            },
            sample::policy(),
        ),
        (
            "amount_above_limit",
            Intent {
                amount: 1_000_001,
                ..sample::intent(3)
            },
            sample::policy(),
        ),
        (
            "not_yet_valid",
            Intent {
                valid_after: sample::NOW + 1,
                valid_before: sample::NOW + 9,
                ..sample::intent(3)
            },
            sample::policy(),
        ),
        (
            "expired",
            Intent {
                valid_after: sample::NOW - 9,
                valid_before: sample::NOW - 1,
                ..sample::intent(3)
            },
            sample::policy(),
        ),
        (
            "time_locked",
            sample::intent(3),
            Policy::new(
                7,
                1_000_000,
                sample::NOW + 1,
                (0..5).map(sample::recipient).collect(),
                PolicySalt::from_bytes(sample::POLICY_SALT),
            )
            .unwrap(),
        ),
        (
            "recipient_not_allowlisted",
            Intent {
                recipient: sample::recipient(9),
                ..sample::intent(3)
            },
            sample::policy(),
        ),
    ];
    for (rule, intent, policy) in cases {
        let (g, h) = both(intent, policy);
        let (g, h) = (violation(g), violation(h));
        assert_eq!(g, h, "{rule}");
        assert_eq!(g.rule(), rule);
    }
}
