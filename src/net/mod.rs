//! Everything on the wire between the processes of a cluster, all of it over mutual TLS:
//!
//! - [`api`]: the JSON messages of the node API and the client API, and the error body;
//! - [`client`]: the HTTPS clients (the coordinator's [`client::NodeClient`], the client
//!   API's [`client::ApiClient`]), each reading replies under a size limit;
//! - [`tls`]: the cluster CA, certificates and rustls configurations;
//! - [`roles`]: the role and key scope a certificate grants ([`roles::Peer`]) and the
//!   routes' guard ([`roles::require`]);
//! - [`revocation`]: the revocation list servers reload and enforce;
//! - [`serve`]: the mutual-TLS accept loop that serves an axum router;
//! - [`dkg_seal`]: DKG round-2 shares sealed (HPKE) to their recipient node, so the
//!   coordinator that relays them cannot read them.

pub mod api;
pub mod client;
pub mod dkg_seal;
pub mod revocation;
pub mod roles;
pub mod serve;
pub mod tls;
