//! The halo2 backend of the statement: Poseidon over Pasta `Fp` and the [`PolicyCircuit`].
//!
//! - [`poseidon`]: the native hash (`P128Pow5T3`, constant-length domain) — the same
//!   function the circuit computes;
//! - [`circuit`]: the halo2 circuit ([`PolicyCircuit`], `K` = [`K`]) and its instance
//!   layout `[C, P, now, binding]`;
//! - [`range`]: exact 64-/32-bit range checks on halo2_gadgets' lookup range check.

pub mod circuit;
pub mod poseidon;
pub mod range;

pub use circuit::{instance_column, Assignment, PolicyCircuit, PolicyConfig, K, NUM_INSTANCES};
pub use pasta_curves::Fp;
