//! R1CS variables of the intent and the policy, by name: [`IntentVar`] and [`PolicyVar`]
//! mirror the native [`Intent`] and [`Policy`] as arkworks' `*Var` types mirror theirs.
//!
//! Both are the shared field structs ([`IntentFields`], [`PolicyFields`]) over
//! `FpVar<Fr>`, so the circuit addresses `intent.amount`, `policy.max_amount`, ... by the
//! same names as the native encoding, and hashes them in the same order
//! ([`IntentFields::to_array`]). Each can be allocated ([`AllocVar`]) from the native type
//! or from its field encoding; the latter lets tests force values no [`Intent`] can hold.
//! Allocation only assigns: the statement's constraints on the fields are in
//! [`super::circuit`].

use core::borrow::Borrow;

use ark_r1cs_std::alloc::{AllocVar, AllocationMode};
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSystemRef, Namespace, SynthesisError};

use super::{poseidon::poseidon_hash_var, Bn254, Fr};
use crate::field::{DOMAIN_INTENT, DOMAIN_POLICY};
use crate::intent::{Intent, IntentFields};
use crate::policy::{Policy, PolicyFields};

/// The intent's fields as R1CS variables (see [`IntentFields`] for each field).
pub type IntentVar = IntentFields<FpVar<Fr>>;

/// The policy's fields as R1CS variables (see [`PolicyFields`] for each field).
pub type PolicyVar = PolicyFields<FpVar<Fr>>;

/// The variable of one field, read by `get` from the assignment (an error during key
/// generation, when arkworks never asks for values).
fn alloc_field<S>(
    cs: &Namespace<Fr>,
    value: Result<&S, SynthesisError>,
    get: fn(&S) -> Fr,
    mode: AllocationMode,
) -> Result<FpVar<Fr>, SynthesisError> {
    FpVar::new_variable(cs.cs(), || value.map(get), mode)
}

impl AllocVar<IntentFields<Fr>, Fr> for IntentVar {
    fn new_variable<T: Borrow<IntentFields<Fr>>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let cs = cs.into();
        let value = f().map(|v| *v.borrow());
        IntentFields::getters()
            .try_map(|get| alloc_field(&cs, value.as_ref().map_err(|e| *e), *get, mode))
    }
}

impl AllocVar<Intent, Fr> for IntentVar {
    fn new_variable<T: Borrow<Intent>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        IntentVar::new_variable(cs, || f().map(|i| i.borrow().fields::<Fr>()), mode)
    }
}

impl AllocVar<PolicyFields<Fr>, Fr> for PolicyVar {
    fn new_variable<T: Borrow<PolicyFields<Fr>>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let cs = cs.into();
        let value = f().map(|v| *v.borrow());
        PolicyFields::getters()
            .try_map(|get| alloc_field(&cs, value.as_ref().map_err(|e| *e), *get, mode))
    }
}

impl AllocVar<Policy, Fr> for PolicyVar {
    /// Builds the policy's allowlist tree to get its root (the circuit sees only the root).
    fn new_variable<T: Borrow<Policy>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        PolicyVar::new_variable(cs, || f().map(|p| p.borrow().fields::<Bn254>()), mode)
    }
}

impl IntentVar {
    /// `C = H_INTENT(fields...)` in-circuit, in [`IntentFields::to_array`] order: the same
    /// function as [`Intent::commitment`].
    pub fn commitment(&self, cs: ConstraintSystemRef<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
        poseidon_hash_var(cs, DOMAIN_INTENT, &self.to_array())
    }
}

impl PolicyVar {
    /// `P = H_POLICY(fields...)` in-circuit, in [`PolicyFields::to_array`] order: the same
    /// function as [`Policy::commitment`].
    pub fn commitment(&self, cs: ConstraintSystemRef<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
        poseidon_hash_var(cs, DOMAIN_POLICY, &self.to_array())
    }
}
