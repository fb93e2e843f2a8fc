//! Fixtures shared by the integration tests: one proof system per backend, set up once per
//! test binary (a setup takes seconds; every test of a file shares it). The setups are
//! `prover::test_util`'s, the ones the signer's and prover's own tests use too.
//!
//! A test file uses it with `mod common;`; each binary compiles it separately, so helpers
//! one file does not use are allowed to be dead there.
#![allow(dead_code, unused_imports)]

pub use prover::test_util::{groth16, halo2};

pub mod btc;
