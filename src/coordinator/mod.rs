//! The coordinator service: the client API over mutual TLS, the DKG and signing sessions
//! driven across the signer nodes, and the audit log in the coordinator's database.
//!
//! - [`state`]: [`CoordinatorState`] (configuration, database, statement verifier, node client);
//! - [`routes`]: the router and the key and status routes; [`sign`]: `POST /v1/sign`;
//! - [`dkg`]: the DKG driver, an async function that runs a key generation across every
//!   node at once;
//! - [`governance`]: the governance routes and the push of records to the nodes;
//! - [`driver`]: the async signing driver, which runs the sans-IO session state machine
//!   ([`signer::session::coordinator`]) over the nodes;
//! - [`store`]: the coordinator's database (keys, requests, the hash-chained audit log).
//!
//! Client API (JSON, see [`crate::net::api`] and the README for curl examples):
//!
//! | route | what |
//! |---|---|
//! | `GET /v1/health` | liveness |
//! | `POST /v1/keys` `{"key_id"}` | create a key by DKG across all nodes → 201 [`KeyInfo`](crate::net::api::KeyInfo) |
//! | `GET /v1/keys`, `GET /v1/keys/{key_id}` | keys and their group keys |
//! | `POST /v1/sign` `{"key_id","intent","request_id"?}` | sign → 200 [`SignResponse`](crate::net::api::SignResponse); 422 `policy_violation` when the signers' policies refuse (each signer's rule listed), 503 `too_few_signers` when too few are reachable |
//! | `GET /v1/sessions/{request_id}` | a request's status and outcome |
//! | `POST /v1/governance` [`SignedRecord`](verifier::governance::SignedRecord) | a governance record approved by the admins: checked against the coordinator's registry, kept, pushed to every node → 201 [`SubmitReply`](crate::net::api::governance::SubmitReply); 409 `governance_replayed` / `governance_out_of_order`, 422 `governance_too_few_approvals` / `governance_not_an_admin` / `governance_bad_signature` / … |
//! | `GET /v1/governance?from=N` | the coordinator's governance records from version `N` |
//!
//! Each route admits only some roles (see [`routes`]): operators create keys and sign with
//! the keys their certificate grants, auditors read. The coordinator's own calls go only to
//! rostered nodes, each verified as that node before anything is sent
//! ([`crate::net::client::HttpClient::for_nodes`]).
//!
//! A signing request is recorded as running before its session starts; its audit record
//! and its outcome are committed in one transaction before the answer goes out, so a
//! signature a client has seen is always in the log, and a record always has its outcome.
//! Requests resubmitted with the same `request_id` get the first outcome, never a second
//! signature.

pub mod dkg;
pub mod driver;
pub mod governance;
pub mod routes;
pub mod sign;
pub mod spend;
pub mod state;
pub mod store;
pub mod witness;

use std::sync::Arc;

use axum::Router;
use verifier::StatementVerifier;

pub use signer::session::coordinator::{
    Coordinator, CoordinatorError, Excluded, Refusal, ReplyFault, Signed,
};
pub use state::CoordinatorState;

use crate::cluster::config::{ClusterConfig, CoordinatorConfig};

/// Opens the coordinator (database, TLS) before the caller binds its port, so an open
/// port means a ready coordinator. Returns its TLS (configuration and revocation list) and
/// router.
pub async fn prepare<V: StatementVerifier + 'static>(
    config: CoordinatorConfig,
    cluster: ClusterConfig,
    verifier: Arc<V>,
) -> Result<(crate::net::serve::ServerTls, Router), Box<dyn std::error::Error + Send + Sync>> {
    let tls = crate::net::serve::ServerTls::new(
        crate::net::tls::server_config(&config.tls_cert, &config.tls_key, &cluster.ca)?,
        Arc::new(crate::net::revocation::Revocations::new(&cluster.revoked)),
    );
    let state =
        tokio::task::spawn_blocking(move || CoordinatorState::open(&config, cluster, verifier))
            .await??;
    let state = Arc::new(state);
    // Nodes that missed records (down when one was accepted) catch up now.
    tokio::spawn(governance::push_at_startup(state.clone()));
    tracing::info!("coordinator ready");
    Ok((tls, state.router()))
}
