//! halo2 over Pasta Fp (written by the halo2 colleague).
