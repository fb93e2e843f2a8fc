//! Network names and addresses as a user types them.
//!
//! `testnet` and `signet` share the `tb1` address prefix, so an address parsed for one is
//! accepted for the other; `regtest` uses `bcrt1` and `bitcoin` (mainnet) `bc1`.

use std::str::FromStr;

use ::bitcoin::address::NetworkUnchecked;
use ::bitcoin::{Address, Network};

use super::error::AddressError;

/// The networks a wallet address can be printed for, by their CLI names.
pub const NETWORKS: [(&str, Network); 4] = [
    ("bitcoin", Network::Bitcoin),
    ("testnet", Network::Testnet),
    ("signet", Network::Signet),
    ("regtest", Network::Regtest),
];

/// Parses `bitcoin`, `testnet`, `signet` or `regtest`.
pub fn parse_network(name: &str) -> Result<Network, AddressError> {
    NETWORKS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, net)| *net)
        .ok_or_else(|| AddressError::UnknownNetwork(name.to_string()))
}

/// The CLI name of a network (`bitcoin` for mainnet).
pub fn network_name(network: Network) -> &'static str {
    NETWORKS
        .iter()
        .find(|(_, net)| *net == network)
        .map(|(n, _)| *n)
        .unwrap_or("testnet")
}

/// Parses an address and requires it to belong to `network`.
pub fn parse_address(s: &str, network: Network) -> Result<Address, AddressError> {
    let unchecked = Address::<NetworkUnchecked>::from_str(s.trim())
        .map_err(|e| AddressError::Malformed(format!("{s}: {e}")))?;
    unchecked
        .require_network(network)
        .map_err(|_| AddressError::WrongNetwork {
            address: s.to_string(),
            expected: network_name(network).to_string(),
        })
}
