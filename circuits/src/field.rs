//! The backend-neutral field abstraction shared by both proof backends.
//!
//! Every value of the statement is encoded into field elements *once*, here and in
//! [`crate::intent`] / [`crate::policy`], through [`StatementField`]; each backend only
//! supplies its field and its native Poseidon instance through [`Backend`]. This keeps the
//! witness encoding identical on Groth16/BN254 and halo2/Pasta ("the same logic lives once").
//!
//! All values that enter the statement are below 2^248 (u64s, u128 limbs — recipients and
//! the policy salt —, 31-byte intent salts and bindings), so they are canonical in both
//! BN254 Fr (~2^254) and Pasta Fp (~2^254).

use core::fmt::Debug;

use ark_ff::{BigInteger, PrimeField};

/// Domain tag of the intent commitment `C = H_INTENT(intent fields...)`.
pub const DOMAIN_INTENT: u64 = 1;
/// Domain tag of the policy commitment `P = H_POLICY(policy fields...)`.
pub const DOMAIN_POLICY: u64 = 2;
/// Domain tag of an allowlist leaf `H_LEAF(recipient_hi, recipient_lo)`.
pub const DOMAIN_LEAF: u64 = 3;
/// Domain tag of an internal Merkle node `H_NODE(left, right)`.
pub const DOMAIN_NODE: u64 = 4;
/// Domain tag of an internal node of the spend allowlist's 4-ary tree,
/// `H4_NODE(c0, c1, c2, c3)` ([`Backend::hash4`]).
pub const DOMAIN_NODE4: u64 = 8;

/// A prime field the statement can be encoded into (BN254 Fr, Pasta Fp).
///
/// Only the conversions the shared encoding needs; arithmetic stays in each backend.
pub trait StatementField: Copy + Eq + Debug + Send + Sync + 'static {
    /// The field element with integer value `v`.
    fn from_u64(v: u64) -> Self;
    /// The field element with integer value `v`.
    fn from_u128(v: u128) -> Self;
    /// The field element whose integer value is the little-endian reading of `bytes`
    /// (always < 2^248, hence canonical).
    fn from_le_bytes31(bytes: &[u8; 31]) -> Self;
    /// The canonical (fully reduced) little-endian 32-byte encoding.
    fn to_le_bytes32(&self) -> [u8; 32];
    /// Parses a canonical little-endian encoding; `None` if the integer is >= the modulus.
    fn from_canonical_le_bytes32(bytes: &[u8; 32]) -> Option<Self>;

    /// The zero element.
    fn zero() -> Self {
        Self::from_u64(0)
    }
}

/// Identifies a proof backend on the wire and in the signed digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "u8", into = "u8")]
#[repr(u8)]
pub enum BackendId {
    /// Groth16 over BN254 (arkworks), Poseidon over BN254 Fr.
    Groth16Bn254 = 1,
    /// halo2 with IPA over the Pasta curves, `P128Pow5T3` Poseidon over Pasta Fp.
    Halo2Pasta = 2,
}

/// A byte that names no known backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend id {0} (known: 1 = groth16-bn254, 2 = halo2-pasta)")]
pub struct UnknownBackendId(pub u8);

impl BackendId {
    /// The wire byte of this backend.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// A short stable name (`groth16-bn254`, `halo2-pasta`).
    pub const fn name(self) -> &'static str {
        match self {
            BackendId::Groth16Bn254 => "groth16-bn254",
            BackendId::Halo2Pasta => "halo2-pasta",
        }
    }

    /// The name in configuration files, API replies and the CLI (`groth16`, `halo2`).
    pub const fn short_name(self) -> &'static str {
        match self {
            BackendId::Groth16Bn254 => "groth16",
            BackendId::Halo2Pasta => "halo2",
        }
    }
}

impl core::str::FromStr for BackendId {
    type Err = UnknownBackendName;
    /// Accepts the short name (`groth16`, `halo2`) and the long one (`groth16-bn254`,
    /// `halo2-pasta`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "groth16" | "groth16-bn254" => Ok(BackendId::Groth16Bn254),
            "halo2" | "halo2-pasta" => Ok(BackendId::Halo2Pasta),
            other => Err(UnknownBackendName(other.to_string())),
        }
    }
}

/// A name that names no known backend.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend {0:?} (known: groth16, halo2)")]
pub struct UnknownBackendName(pub String);

impl From<BackendId> for u8 {
    fn from(id: BackendId) -> u8 {
        id as u8
    }
}

impl TryFrom<u8> for BackendId {
    type Error = UnknownBackendId;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        match v {
            1 => Ok(BackendId::Groth16Bn254),
            2 => Ok(BackendId::Halo2Pasta),
            other => Err(UnknownBackendId(other)),
        }
    }
}

impl core::fmt::Display for BackendId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// A proof backend as seen by the shared statement code: its id, its field and its native
/// Poseidon hash (the same function its circuit computes).
pub trait Backend: Send + Sync + 'static {
    /// The id that goes into the signed digest and on the wire.
    const ID: BackendId;
    /// The scalar field the circuit is defined over.
    type F: StatementField;
    /// Native domain-separated Poseidon hash `H_domain(inputs)` of a fixed-length input
    /// (the same function the backend's circuit computes).
    ///
    /// Both the domain tag and the input length are bound: BN254 puts
    /// `domain·2^64 + length` in the sponge's capacity element; Pasta hashes
    /// `[domain, inputs..]` with halo2's `ConstantLength`, whose capacity holds the length.
    /// Every domain is used with one arity (intent 10, policy 6, leaf 2, node 2).
    fn hash(domain: u64, inputs: &[Self::F]) -> Self::F;

    /// Native width-5 Poseidon of exactly four inputs under domain tag `domain`: one
    /// permutation of `[x_1, x_2, x_3, x_4]` with capacity element `domain·2^64 + 4`, the
    /// first rate word out — on both backends (the same function its circuit computes).
    ///
    /// Used where the spend statement hashes four elements at once (the 4-ary allowlist
    /// nodes, the links of `O`): one permutation where the width-3 [`Backend::hash`] needs
    /// two (BN254) or three (Pasta, whose domain tag is a message word).
    fn hash4(domain: u64, inputs: [Self::F; 4]) -> Self::F;
}

impl StatementField for ark_bn254::Fr {
    fn from_u64(v: u64) -> Self {
        ark_bn254::Fr::from(v)
    }

    fn from_u128(v: u128) -> Self {
        ark_bn254::Fr::from(v)
    }

    fn from_le_bytes31(bytes: &[u8; 31]) -> Self {
        ark_bn254::Fr::from_le_bytes_mod_order(bytes)
    }

    fn to_le_bytes32(&self) -> [u8; 32] {
        let le = self.into_bigint().to_bytes_le();
        let mut out = [0u8; 32];
        out[..le.len()].copy_from_slice(&le);
        out
    }

    fn from_canonical_le_bytes32(bytes: &[u8; 32]) -> Option<Self> {
        let mut limbs = [0u64; 4];
        for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            *limb = u64::from_le_bytes(w);
        }
        ark_bn254::Fr::from_bigint(ark_ff::BigInt::new(limbs))
    }
}
