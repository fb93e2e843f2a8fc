//! Bitcoin fixtures shared by the spend tests: the library's regtest helpers
//! ([`zkquorum::regtest`]: synthetic funding, payee scripts, PSBTs, Bitcoin Core's
//! consensus check).

#[allow(unused_imports)]
pub use zkquorum::regtest::{consensus_check, external, funding, pay, spend_psbt};
