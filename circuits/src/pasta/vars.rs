//! The intent and the policy as assigned halo2 cells, by name: [`IntentVar`] and
//! [`PolicyVar`] are the halo2 counterparts of [`crate::bn254::IntentVar`] and
//! [`crate::bn254::PolicyVar`] — the shared field structs ([`IntentFields`],
//! [`PolicyFields`]) over [`Cell`], so the circuit addresses `intent.amount`,
//! `policy.max_amount`, ... by the same names as the native encoding and hashes them in
//! the same order ([`IntentFields::to_array`]).
//!
//! The cells are assigned by the circuit's witness region ([`super::PolicyCircuit`]); the
//! commitments here copy them into the Poseidon chip.

use halo2_proofs::{circuit::Layouter, plonk::Error};
use pasta_curves::Fp;

use super::chips::{hash_cells, Cell, PolicyConfig};
use crate::intent::IntentFields;
use crate::policy::PolicyFields;

/// The intent's fields as assigned cells (see [`IntentFields`] for each field).
pub type IntentVar = IntentFields<Cell>;

/// The policy's fields as assigned cells (see [`PolicyFields`] for each field).
pub type PolicyVar = PolicyFields<Cell>;

impl IntentVar {
    /// `C = Poseidon(DOMAIN_INTENT, fields...)` (`ConstantLength<11>`) in-circuit: the
    /// same function as [`crate::Intent::commitment`]. `domain` is the cell holding the
    /// constant [`crate::DOMAIN_INTENT`].
    pub fn commitment(
        &self,
        config: &PolicyConfig,
        layouter: impl Layouter<Fp>,
        domain: &Cell,
    ) -> Result<Cell, Error> {
        hash_cells::<{ IntentFields::<()>::LEN + 1 }>(
            config,
            layouter,
            prepend(domain, &self.to_array())?,
        )
    }
}

impl PolicyVar {
    /// `P = Poseidon(DOMAIN_POLICY, fields...)` (`ConstantLength<7>`: the domain, four fields, two salt limbs) in-circuit: the same
    /// function as [`crate::Policy::commitment`]. `domain` is the cell holding the constant
    /// [`crate::DOMAIN_POLICY`].
    pub fn commitment(
        &self,
        config: &PolicyConfig,
        layouter: impl Layouter<Fp>,
        domain: &Cell,
    ) -> Result<Cell, Error> {
        hash_cells::<{ PolicyFields::<()>::LEN + 1 }>(
            config,
            layouter,
            prepend(domain, &self.to_array())?,
        )
    }
}

/// `[domain, fields...]`: halo2's Poseidon message, the domain tag first. A length that
/// is not `M` is a circuit-construction mistake, reported as [`Error::Synthesis`].
fn prepend<const M: usize>(domain: &Cell, fields: &[Cell]) -> Result<[Cell; M], Error> {
    let message: Vec<Cell> = core::iter::once(domain.clone())
        .chain(fields.iter().cloned())
        .collect();
    message.try_into().map_err(|_| Error::Synthesis)
}
