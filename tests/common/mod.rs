//! Fixtures shared by the integration tests: one proof system per backend, set up once per
//! test binary (a setup takes seconds; every test of a file shares it).
//!
//! A test file uses it with `mod common;`; each binary compiles it separately, so helpers
//! one file does not use are allowed to be dead there.
#![allow(dead_code)]

use std::sync::OnceLock;

use prover::groth16::Groth16System;
use prover::halo2::Halo2System;
use prover::ProofSystem;
use rand::rngs::OsRng;

/// The Groth16/BN254 system of this test binary (a fresh single-party setup).
pub fn groth16() -> &'static Groth16System {
    static S: OnceLock<Groth16System> = OnceLock::new();
    S.get_or_init(|| Groth16System::setup(&mut OsRng).unwrap())
}

/// The halo2/IPA system of this test binary (transparent parameters).
pub fn halo2() -> &'static Halo2System {
    static S: OnceLock<Halo2System> = OnceLock::new();
    S.get_or_init(|| Halo2System::setup(&mut OsRng).unwrap())
}
