//! The FROST signing rounds: round 1 (fresh single-use nonces, kept by a
//! [`nonce::NonceStore`]), round 2 and aggregation with cheater detection ([`signing`]).

pub mod nonce;
pub mod signing;
