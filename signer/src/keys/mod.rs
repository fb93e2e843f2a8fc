//! Threshold keys: a participant's [`share::KeyShare`], how a key is created (by a trusted
//! [`dealer`] or a [`dkg`]), its lifecycle ([`refresh`], [`repair`], [`reshare`] to a new
//! group) and its encrypted [`export`], sealed by the crate's one passphrase sealer
//! ([`seal`]).

mod arith;
pub mod dealer;
pub mod dkg;
pub mod export;
pub mod refresh;
pub mod repair;
pub mod reshare;
pub mod seal;
pub mod share;
