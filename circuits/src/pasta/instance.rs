//! The halo2 circuit's instance column: `[C, P, now, binding]`, built from the public
//! inputs ([`instance_column`]) or checked for length when received ([`instance_from_slice`]).

use pasta_curves::Fp;

use crate::public::{
    PublicInputs, NUM_PUBLIC_INPUTS, PUBLIC_BINDING, PUBLIC_C, PUBLIC_NOW, PUBLIC_P,
};

/// Instance row of the intent commitment `C`.
pub const ROW_C: usize = PUBLIC_C;
/// Instance row of the policy commitment `P`.
pub const ROW_P: usize = PUBLIC_P;
/// Instance row of `now`.
pub const ROW_NOW: usize = PUBLIC_NOW;
/// Instance row of `binding`.
pub const ROW_BINDING: usize = PUBLIC_BINDING;

/// The instance column of a proof, `[C, P, now, binding]`; `create_proof` /
/// `verify_proof` take it as `&[&[&column[..]]]` (one proof, one instance column).
pub fn instance_column(public: &PublicInputs<Fp>) -> [Fp; NUM_PUBLIC_INPUTS] {
    public.to_field_elements()
}

/// An instance column of the wrong length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InstanceError {
    /// The statement has exactly [`NUM_PUBLIC_INPUTS`] public inputs.
    #[error("expected {expected} public inputs [C, P, now, binding], got {got}")]
    WrongCount {
        /// [`NUM_PUBLIC_INPUTS`].
        expected: usize,
        /// The number given.
        got: usize,
    },
}

/// Checks that an instance column received from outside has exactly
/// [`NUM_PUBLIC_INPUTS`] entries. halo2 pads a short instance column with zeros and would
/// happily verify `[C, P, now]` against a proof whose `binding` is zero, so verifiers must
/// check the count themselves.
pub fn instance_from_slice(column: &[Fp]) -> Result<[Fp; NUM_PUBLIC_INPUTS], InstanceError> {
    column.try_into().map_err(|_| InstanceError::WrongCount {
        expected: NUM_PUBLIC_INPUTS,
        got: column.len(),
    })
}
