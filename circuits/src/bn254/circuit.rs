//! The v1 statement as an R1CS circuit over BN254 Fr (arkworks 0.6), for Groth16.
