//! Roles: who a certificate from the cluster CA speaks for, and what each route allows.
//!
//! The CA writes the grant into the certificate it issues (see [`crate::net::tls::ClusterCa`]):
//!
//! - the **role** is the subject's organizational unit (`OU=operator`), exactly one of
//!   [`Role`]'s names;
//! - the **principal's name** is the subject's common name (`CN=alice`, `CN=node-3`);
//! - an operator's **key scope** is a list of URIs in the subject alternative names,
//!   `urn:zkquorum:key:<key id>` per granted key, or `urn:zkquorum:key:*` for every key.
//!   A URI SAN needs no private object identifier (a custom extension would need a
//!   registered OID arc to be honest), is read by every X.509 parser, and shows in
//!   `openssl x509 -text`. The CA never copies URIs from a certificate signing request, so
//!   a requester cannot grant itself keys.
//!
//! [`Peer::from_der`] reads these back (x509-parser) into a [`Peer`]; the accept loop
//! ([`crate::net::serve`]) puts it into every request's extensions. A certificate of the
//! cluster CA whose grant does not parse (no role, an unknown role, two roles, a scope on a
//! certificate that is not an operator's) is still a valid TLS client, so its connection is
//! served, but every request on it is answered 403 with the error's code
//! ([`CertRoleError::code`]): the client learns what is wrong with its certificate instead of
//! an opaque handshake alert.
//!
//! Routes check roles with [`require`] (a tower layer for a route, a method or a whole
//! router) and operators' key scopes with [`Peer::require_key`] in the handler, where the
//! key id is known.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rustls_pki_types::CertificateDer;

use crate::ids::KeyId;
use crate::net::api::ApiError;

/// The prefix of the URIs that carry an operator's key scope.
pub const KEY_URN_PREFIX: &str = "urn:zkquorum:key:";

/// What a certificate's holder is to the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A signer node: serves the node API; the coordinator calls it.
    Node,
    /// The coordinator: the only caller signer nodes answer.
    Coordinator,
    /// A person or service that creates keys and requests signatures, for the key ids its
    /// certificate grants ([`KeyScope`]).
    Operator,
    /// A policy admin: submits governance records.
    Admin,
    /// Read-only: the audit log, governance records, key information.
    Auditor,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 5] = [
        Role::Node,
        Role::Coordinator,
        Role::Operator,
        Role::Admin,
        Role::Auditor,
    ];

    /// The name written in certificates and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Coordinator => "coordinator",
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    /// Servers (node, coordinator) rather than people: their certificates are valid for
    /// server authentication and carry host names; people's only for client authentication.
    pub fn is_server(self) -> bool {
        matches!(self, Role::Node | Role::Coordinator)
    }

    /// Default validity of a certificate for this role, days: servers 90, people 30.
    pub fn default_days(self) -> u32 {
        if self.is_server() {
            90
        } else {
            30
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = CertRoleError;
    fn from_str(s: &str) -> Result<Self, CertRoleError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| CertRoleError::UnknownRole(s.chars().take(64).collect()))
    }
}

/// The key ids an operator may create and sign with.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum KeyScope {
    /// No key (every other role; an operator granted nothing).
    #[default]
    None,
    /// Exactly these keys.
    Keys(BTreeSet<KeyId>),
    /// Every key (`*`).
    All,
}

impl KeyScope {
    /// Whether `key` is granted.
    pub fn covers(&self, key: &KeyId) -> bool {
        match self {
            KeyScope::None => false,
            KeyScope::Keys(keys) => keys.contains(key),
            KeyScope::All => true,
        }
    }

    /// The scope's URIs, as the CA writes them into a certificate.
    pub fn uris(&self) -> Vec<String> {
        match self {
            KeyScope::None => Vec::new(),
            KeyScope::Keys(keys) => keys
                .iter()
                .map(|k| format!("{KEY_URN_PREFIX}{k}"))
                .collect(),
            KeyScope::All => vec![format!("{KEY_URN_PREFIX}*")],
        }
    }

    fn from_uris<'a>(uris: impl Iterator<Item = &'a str>) -> Result<Self, CertRoleError> {
        let mut keys = BTreeSet::new();
        let mut all = false;
        for uri in uris {
            let Some(id) = uri.strip_prefix(KEY_URN_PREFIX) else {
                continue;
            };
            if id == "*" {
                all = true;
            } else {
                keys.insert(KeyId::new(id).map_err(|e| CertRoleError::BadScope(e.to_string()))?);
            }
        }
        Ok(match (all, keys.is_empty()) {
            (true, _) => KeyScope::All,
            (false, true) => KeyScope::None,
            (false, false) => KeyScope::Keys(keys),
        })
    }
}

impl fmt::Display for KeyScope {
    /// `*`, `k1,k2`, or `-` for no key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyScope::None => f.write_str("-"),
            KeyScope::All => f.write_str("*"),
            KeyScope::Keys(keys) => {
                let names: Vec<&str> = keys.iter().map(KeyId::as_str).collect();
                f.write_str(&names.join(","))
            }
        }
    }
}

impl FromStr for KeyScope {
    type Err = crate::ids::InvalidName;
    /// `*` for every key, else comma-separated key ids (`treasury,payroll`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim() == "*" {
            return Ok(KeyScope::All);
        }
        let keys = s
            .split(',')
            .map(|k| KeyId::new(k.trim()))
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(KeyScope::Keys(keys))
    }
}

/// Why a certificate's grant could not be read. Each is answered 403 with [`Self::code`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertRoleError {
    /// The certificate is not parseable X.509.
    #[error("certificate cannot be parsed: {0}")]
    Unparsable(String),
    /// No organizational unit: a certificate from before roles, or not made by `ca issue`.
    #[error(
        "certificate carries no role (subject OU); re-issue it with `zkquorum ca issue --role`"
    )]
    NoRole,
    /// More than one organizational unit.
    #[error("certificate carries several roles ({0}); exactly one is allowed")]
    SeveralRoles(String),
    /// An organizational unit that is not a role.
    #[error("certificate role {0:?} is not one of node, coordinator, operator, admin, auditor")]
    UnknownRole(String),
    /// No common name.
    #[error("certificate carries no principal name (subject CN)")]
    NoName,
    /// A key scope on a certificate whose role has none.
    #[error("a {0} certificate cannot carry a key scope")]
    ScopeOnNonOperator(Role),
    /// A key-scope URI whose key id is not valid.
    #[error("certificate key scope: {0}")]
    BadScope(String),
}

impl CertRoleError {
    /// The error code of the 403 answer: `no_role`, `unknown_role` or `bad_certificate`.
    pub fn code(&self) -> &'static str {
        match self {
            CertRoleError::NoRole => "no_role",
            CertRoleError::UnknownRole(_) => "unknown_role",
            _ => "bad_certificate",
        }
    }

    /// The 403 answer.
    pub fn to_api_error(&self) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, self.code(), self.to_string())
    }
}

/// The authenticated client of a request: what its certificate grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Its role.
    pub role: Role,
    /// Its principal name (the certificate's CN).
    pub name: String,
    /// The keys it may use (operators only; [`KeyScope::None`] for every other role).
    pub key_scope: KeyScope,
    /// BLAKE3 of the certificate's DER ([`crate::net::tls::fingerprint`]): what a
    /// revocation of this certificate names.
    pub fingerprint: [u8; 32],
    /// BLAKE3 of the certificate's SubjectPublicKeyInfo
    /// ([`crate::net::tls::key_fingerprint`]): the same across renewals from one CSR; what
    /// the roster and the nodes' coordinator pin name.
    pub key_fingerprint: [u8; 32],
}

impl Peer {
    /// Reads the grant of a certificate (DER). Does not check the signature, the validity
    /// period or the issuer: the TLS layer did, against the cluster CA.
    pub fn from_der(cert: &CertificateDer<'_>) -> Result<Self, CertRoleError> {
        let (_, x509) = x509_parser::parse_x509_certificate(cert.as_ref())
            .map_err(|e| CertRoleError::Unparsable(e.to_string()))?;
        let subject = x509.subject();
        let text = |a: &x509_parser::x509::AttributeTypeAndValue<'_>| {
            a.as_str()
                .map(str::to_owned)
                .map_err(|e| CertRoleError::Unparsable(format!("subject attribute: {e}")))
        };
        let units = subject
            .iter_organizational_unit()
            .map(text)
            .collect::<Result<Vec<_>, _>>()?;
        let role: Role = match units.as_slice() {
            [] => return Err(CertRoleError::NoRole),
            [one] => one.parse()?,
            many => return Err(CertRoleError::SeveralRoles(many.join(", "))),
        };
        let name = subject
            .iter_common_name()
            .next()
            .ok_or(CertRoleError::NoName)
            .and_then(text)?;
        if name.is_empty() {
            return Err(CertRoleError::NoName);
        }
        let san = x509
            .subject_alternative_name()
            .map_err(|e| CertRoleError::Unparsable(format!("subject alternative names: {e}")))?;
        let uris = san.iter().flat_map(|s| {
            s.value.general_names.iter().filter_map(|g| match g {
                x509_parser::extensions::GeneralName::URI(u) => Some(*u),
                _ => None,
            })
        });
        let key_scope = KeyScope::from_uris(uris)?;
        if role != Role::Operator && key_scope != KeyScope::None {
            return Err(CertRoleError::ScopeOnNonOperator(role));
        }
        Ok(Peer {
            role,
            name,
            key_scope,
            fingerprint: crate::net::tls::fingerprint(cert),
            key_fingerprint: *blake3::hash(x509.public_key().raw).as_bytes(),
        })
    }

    /// `Ok` if this peer's role is one of `roles`, else 403 `forbidden` naming the roles.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            return Ok(());
        }
        Err(forbidden(roles, Some(self)))
    }

    /// `Ok` if this peer is an operator whose scope covers `key`; 403 `forbidden` for
    /// another role, 403 `key_not_granted` for an operator not granted `key`.
    pub fn require_key(&self, key: &KeyId) -> Result<(), ApiError> {
        self.require(&[Role::Operator])?;
        self.require_granted(key)
    }

    /// `Ok` if this peer may read `key`'s information and requests: an auditor, or an
    /// operator granted `key` (403 `key_not_granted` otherwise).
    pub fn require_read(&self, key: &KeyId) -> Result<(), ApiError> {
        self.require(&[Role::Operator, Role::Auditor])?;
        if self.role == Role::Auditor {
            return Ok(());
        }
        self.require_granted(key)
    }

    /// Whether this peer may read `key` (see [`Self::require_read`]).
    pub fn may_read(&self, key: &KeyId) -> bool {
        self.role == Role::Auditor || (self.role == Role::Operator && self.key_scope.covers(key))
    }

    fn require_granted(&self, key: &KeyId) -> Result<(), ApiError> {
        if self.key_scope.covers(key) {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "key_not_granted",
            format!(
                "operator {:?} is not granted key {key} (its certificate grants: {})",
                self.name, self.key_scope
            ),
        ))
    }
}

fn role_list(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// 403 `forbidden` for a route that needs one of `roles`.
fn forbidden(roles: &[Role], peer: Option<&Peer>) -> ApiError {
    let who = match peer {
        Some(p) => format!("this certificate is {} {:?}", p.role, p.name),
        None => "the connection carries no client certificate".into(),
    };
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!("this route needs the role {}; {who}", role_list(roles)),
    )
}

/// A handler argument: the request's [`Peer`], or 403 `unauthenticated` when the request
/// did not come through [`crate::net::serve`] with a certificate.
impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Peer>().cloned().ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "unauthenticated",
                "the connection carries no client certificate",
            )
        })
    }
}

/// The route guard: a tower layer that answers 403 `forbidden` (naming the roles needed and
/// the caller's) unless the request's [`Peer`] has one of `roles`. One line per route:
///
/// ```text
/// .route("/v1/audit", get(audit).route_layer(require(&[Role::Auditor])))
/// ```
///
/// A `route_layer` on a `MethodRouter` covers the methods added before it, so two methods
/// with different roles are guarded each on its own and merged:
///
/// ```text
/// .route(
///     "/v1/governance",
///     post(submit)
///         .route_layer(require(&[Role::Admin]))
///         .merge(get(show).route_layer(require(&[Role::Admin, Role::Auditor]))),
/// )
/// ```
///
/// A handler that needs the caller (an operator's key scope) takes [`Peer`] as an argument.
pub fn require(roles: &'static [Role]) -> Require {
    Require { roles }
}

/// See [`require`].
#[derive(Clone, Copy, Debug)]
pub struct Require {
    roles: &'static [Role],
}

impl<S> tower::Layer<S> for Require {
    type Service = RequireService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            roles: self.roles,
        }
    }
}

/// The service [`Require`] wraps around a route.
#[derive(Clone, Debug)]
pub struct RequireService<S> {
    inner: S,
    roles: &'static [Role],
}

impl<S> tower::Service<Request> for RequireService<S>
where
    S: tower::Service<Request> + Send + 'static,
    S::Response: IntoResponse,
    S::Error: Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let peer = req.extensions().get::<Peer>();
        match peer {
            Some(p) if self.roles.contains(&p.role) => {
                let fut = self.inner.call(req);
                Box::pin(async move { fut.await.map(IntoResponse::into_response) })
            }
            _ => {
                let answer = forbidden(self.roles, peer).into_response();
                Box::pin(std::future::ready(Ok(answer)))
            }
        }
    }
}

#[cfg(test)]
#[path = "roles_tests.rs"]
mod tests;
