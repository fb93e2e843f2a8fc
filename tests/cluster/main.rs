//! A cluster as separate processes on 127.0.0.1: `zkquorum init`, five `zkquorum node`s, a
//! `zkquorum coordinator`, then `keygen`, `policy set`, `sign` and `audit verify` through
//! the real binary; faults (SIGKILL of a node mid-session and of the coordinator, nodes down
//! or hung), hostile inputs on both ports, every documented error body, a DKG split view,
//! governance by the admin quorum (refusals, distribution, a rolled-back node), `init`'s
//! files, configuration errors and overrides, a bounded concurrent load, and roles: each
//! role's certificate on each route, revocation, enrollment of nodes on their own hosts.
//!
//! Each test runs its own cluster, so the tests run in parallel; the two whose outcome could
//! depend on CPU time (a signer timeout, the load) take [`fixture::TIMING`] in turn.

mod api;
mod dkg;
mod faults;
mod fixture;
mod governance;
mod load;
mod roles;
mod setup;
