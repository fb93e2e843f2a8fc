//! A signer's spend policy as its operator writes it: a TOML file naming the network, the
//! limits in satoshis, the time-lock and the allowlist as **addresses** of that network.
//!
//! ```toml
//! network = "regtest"
//! max_total_sat = 100000      # the most all external outputs of one transaction may pay
//! max_fee_sat = 2000
//! not_before = 1767225600     # unix seconds: nothing is signed before
//! allowlist = ["bcrt1q...", "bcrt1p..."]
//! salt = "…64 hex characters, fresh per signer (openssl rand -hex 32)…"
//! ```
//!
//! Each address is parsed for the file's network (an address of another network is refused,
//! naming its index) and enters the allowlist as the hash of its scriptPubKey
//! ([`circuits::spend::script_hash`]); the policy's network code is the network's
//! ([`super::network_code`]). Unknown and missing fields are refused.

use circuits::spend::{script_hash, SpendPolicy, SpendPolicyError};
use circuits::{PolicySalt, PolicySaltParseError};
use serde::Deserialize;

use super::address::{parse_address, parse_network};
use super::error::AddressError;
use super::summary::network_code;

/// Why a spend policy file is refused.
#[derive(Debug, thiserror::Error)]
pub enum SpendPolicyFileError {
    /// Not TOML, or a field missing, unknown or of the wrong type.
    #[error("spend policy file: {0}")]
    Toml(String),
    /// The network is not one of bitcoin, testnet, signet, regtest.
    #[error("spend policy file: {0}")]
    Network(AddressError),
    /// An allowlist entry that is not an address of the file's network.
    #[error("spend policy file: allowlist entry {index}: {error}")]
    Address {
        /// Its position in `allowlist`.
        index: usize,
        /// Why.
        error: AddressError,
    },
    /// The salt is not 32 bytes of hex.
    #[error("spend policy file: salt: {0}")]
    Salt(PolicySaltParseError),
    /// The policy itself is refused (empty or duplicate allowlist entries, too many).
    #[error("spend policy file: {0}")]
    Policy(SpendPolicyError),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpendPolicyFile {
    network: String,
    max_total_sat: u64,
    max_fee_sat: u64,
    not_before: u64,
    allowlist: Vec<String>,
    salt: String,
}

/// Parses a spend policy file (see the module docs).
pub fn spend_policy_from_toml(s: &str) -> Result<SpendPolicy, SpendPolicyFileError> {
    let file: SpendPolicyFile =
        toml::from_str(s).map_err(|e| SpendPolicyFileError::Toml(e.message().to_string()))?;
    let network = parse_network(&file.network).map_err(SpendPolicyFileError::Network)?;
    let allowlist = file
        .allowlist
        .iter()
        .enumerate()
        .map(|(index, a)| {
            parse_address(a, network)
                .map(|address| script_hash(address.script_pubkey().as_bytes()))
                .map_err(|error| SpendPolicyFileError::Address { index, error })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let salt = PolicySalt::from_hex(&file.salt).map_err(SpendPolicyFileError::Salt)?;
    SpendPolicy::new(
        network_code(network),
        file.max_total_sat,
        file.max_fee_sat,
        file.not_before,
        allowlist,
        salt,
    )
    .map_err(SpendPolicyFileError::Policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bitcoin::{GroupWallet, Network};

    const SALT: &str = "0101010101010101010101010101010101010101010101010101010101010101";

    fn address(i: u8, network: Network) -> String {
        let mut x = [0u8; 32];
        x[31] = i;
        // x = i is not on the curve for every i: take the first that is.
        (0u8..=255)
            .find_map(|j| {
                x[0] = j;
                GroupWallet::from_internal_key(&x).ok()
            })
            .expect("a point")
            .address(network)
            .to_string()
    }

    fn file(network: &str, allowlist: &[String]) -> String {
        format!(
            "network = \"{network}\"\nmax_total_sat = 100000\nmax_fee_sat = 2000\nnot_before = 10\nallowlist = {allowlist:?}\nsalt = \"{SALT}\"\n"
        )
    }

    #[test]
    fn a_file_gives_the_policy_of_its_addresses_scripts() {
        let a = address(1, Network::Regtest);
        let b = address(2, Network::Regtest);
        let policy = spend_policy_from_toml(&file("regtest", &[a.clone(), b])).expect("valid");
        assert_eq!(policy.network(), network_code(Network::Regtest));
        assert_eq!(
            (policy.max_total(), policy.max_fee(), policy.not_before()),
            (100_000, 2_000, 10)
        );
        let script = crate::bitcoin::parse_address(&a, Network::Regtest)
            .unwrap()
            .script_pubkey();
        assert!(policy.leaf_of(&script_hash(script.as_bytes())).is_some());
    }

    #[test]
    fn refusals_are_typed_and_name_the_entry() {
        let good = address(1, Network::Regtest);
        let mainnet = address(2, Network::Bitcoin);
        let err = spend_policy_from_toml(&file("regtest", &[good.clone(), mainnet])).unwrap_err();
        assert!(
            matches!(
                err,
                SpendPolicyFileError::Address {
                    index: 1,
                    error: AddressError::WrongNetwork { .. }
                }
            ),
            "{err}"
        );
        let err = spend_policy_from_toml(&file("regtest", &[good.clone(), "nonsense".into()]))
            .unwrap_err();
        assert!(
            matches!(err, SpendPolicyFileError::Address { index: 1, .. }),
            "{err}"
        );
        let err =
            spend_policy_from_toml(&file("mainnet", std::slice::from_ref(&good))).unwrap_err();
        assert!(matches!(err, SpendPolicyFileError::Network(_)), "{err}");
        let err =
            spend_policy_from_toml(&file("regtest", &[good.clone(), good.clone()])).unwrap_err();
        assert!(
            matches!(
                err,
                SpendPolicyFileError::Policy(SpendPolicyError::Duplicate { .. })
            ),
            "{err}"
        );
        let err = spend_policy_from_toml(&file("regtest", &[])).unwrap_err();
        assert!(
            matches!(
                err,
                SpendPolicyFileError::Policy(SpendPolicyError::EmptyAllowlist)
            ),
            "{err}"
        );
        let unknown = file("regtest", std::slice::from_ref(&good)) + "max_outputs = 3\n";
        assert!(matches!(
            spend_policy_from_toml(&unknown),
            Err(SpendPolicyFileError::Toml(_))
        ));
        let bad_salt = file("regtest", &[good]).replace(SALT, "00");
        assert!(matches!(
            spend_policy_from_toml(&bad_salt),
            Err(SpendPolicyFileError::Salt(_))
        ));
    }
}
