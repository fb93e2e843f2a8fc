//! Reading grants from certificates, and the guards.

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use rcgen::{CertificateParams, DnType, KeyPair, SanType};
use tower::ServiceExt;

use super::*;
use crate::net::tls::{ClusterCa, Grant};

/// A self-signed certificate with subject OUs `units`, CN `cn` and URI SANs `uris`
/// (`Peer::from_der` reads the grant only; the TLS layer checks signatures).
fn cert(units: &[&str], cn: Option<&str>, uris: &[&str]) -> CertificateDer<'static> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    for (i, u) in units.iter().enumerate() {
        // rcgen keeps one value per attribute type: a second OU goes in under the OU's
        // object identifier spelt as a custom type.
        let ty = if i == 0 {
            DnType::OrganizationalUnitName
        } else {
            DnType::CustomDnType(vec![2, 5, 4, 11])
        };
        params.distinguished_name.push(ty, *u);
    }
    if let Some(cn) = cn {
        params.distinguished_name.push(DnType::CommonName, cn);
    }
    for u in uris {
        params
            .subject_alt_names
            .push(SanType::URI((*u).try_into().unwrap()));
    }
    let key = KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().clone()
}

fn key(k: &str) -> KeyId {
    KeyId::new(k).unwrap()
}

#[test]
fn grants_are_read_from_the_subject_and_the_uris() {
    let p = Peer::from_der(&cert(&["auditor"], Some("carol"), &[])).unwrap();
    assert_eq!((p.role, p.name.as_str()), (Role::Auditor, "carol"));
    assert_eq!(p.key_scope, KeyScope::None);

    let c = cert(
        &["operator"],
        Some("alice"),
        &[
            "urn:zkquorum:key:treasury",
            "urn:zkquorum:key:payroll",
            "https://x",
        ],
    );
    let p = Peer::from_der(&c).unwrap();
    assert_eq!(p.role, Role::Operator);
    assert!(p.key_scope.covers(&key("treasury")) && p.key_scope.covers(&key("payroll")));
    assert!(!p.key_scope.covers(&key("cold")));
    assert_eq!(p.key_scope.to_string(), "payroll,treasury");
    assert_eq!(p.fingerprint, crate::net::tls::fingerprint(&c));
    assert_eq!(
        p.key_fingerprint,
        crate::net::tls::key_fingerprint(&c).unwrap()
    );

    let all = Peer::from_der(&cert(&["operator"], Some("ops"), &["urn:zkquorum:key:*"])).unwrap();
    assert_eq!(all.key_scope, KeyScope::All);
    assert!(all.key_scope.covers(&key("anything")));
    // An operator granted nothing is still an operator, with no key.
    let none = Peer::from_der(&cert(&["operator"], Some("new"), &[])).unwrap();
    assert_eq!(none.key_scope, KeyScope::None);
}

#[test]
fn a_certificate_without_a_valid_grant_is_named() {
    let cases: [(CertificateDer<'static>, CertRoleError, &str); 7] = [
        (cert(&[], Some("x"), &[]), CertRoleError::NoRole, "no_role"),
        (
            cert(&["wizard"], Some("x"), &[]),
            CertRoleError::UnknownRole("wizard".into()),
            "unknown_role",
        ),
        (
            cert(&["admin", "operator"], Some("x"), &[]),
            CertRoleError::SeveralRoles("admin, operator".into()),
            "bad_certificate",
        ),
        (
            cert(&["admin"], None, &[]),
            CertRoleError::NoName,
            "bad_certificate",
        ),
        (
            cert(&["node"], Some("node-1"), &["urn:zkquorum:key:*"]),
            CertRoleError::ScopeOnNonOperator(Role::Node),
            "bad_certificate",
        ),
        (
            cert(&["auditor"], Some("a"), &["urn:zkquorum:key:k1"]),
            CertRoleError::ScopeOnNonOperator(Role::Auditor),
            "bad_certificate",
        ),
        (
            cert(&["operator"], Some("a"), &["urn:zkquorum:key:a%20b"]),
            CertRoleError::BadScope(
                "invalid key id \"a%20b\": use 1 to 64 characters from [A-Za-z0-9._-]".into(),
            ),
            "bad_certificate",
        ),
    ];
    for (c, expected, code) in cases {
        let err = Peer::from_der(&c).unwrap_err();
        assert_eq!(err, expected);
        let api = err.to_api_error();
        assert_eq!((api.status, api.error.as_str()), (403, code), "{err}");
    }
    assert!(matches!(
        Peer::from_der(&CertificateDer::from(vec![0x30, 0x03, 1, 2, 3])),
        Err(CertRoleError::Unparsable(_))
    ));
}

#[test]
fn roles_and_scopes_parse_from_their_names() {
    for r in Role::ALL {
        assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
    }
    assert!("root".parse::<Role>().is_err());
    assert_eq!(Role::Node.default_days(), 90);
    assert_eq!(Role::Coordinator.default_days(), 90);
    assert_eq!(Role::Operator.default_days(), 30);
    assert_eq!("*".parse::<KeyScope>().unwrap(), KeyScope::All);
    let s: KeyScope = "a, b".parse().unwrap();
    assert!(s.covers(&key("a")) && s.covers(&key("b")) && !s.covers(&key("c")));
    assert!("a,,b".parse::<KeyScope>().is_err());
    assert!("a b".parse::<KeyScope>().is_err());
    assert_eq!(s.uris(), vec!["urn:zkquorum:key:a", "urn:zkquorum:key:b"]);
}

#[test]
fn the_ca_writes_the_grant_that_peer_reads() {
    let ca = ClusterCa::generate("t").unwrap();
    let issued = ca
        .issue_with_new_key(
            &Grant::new(Role::Operator, "alice").with_scope("k1".parse().unwrap()),
            &[],
        )
        .unwrap();
    let der = CertificateDer::from_pem_slice(issued.cert_pem.as_bytes()).unwrap();
    let p = Peer::from_der(&der).unwrap();
    assert_eq!((p.role, p.name.as_str()), (Role::Operator, "alice"));
    assert_eq!(p.key_scope, KeyScope::Keys([key("k1")].into()));
}

fn peer(role: Role, scope: KeyScope) -> Peer {
    Peer {
        role,
        name: format!("{role}-1"),
        key_scope: scope,
        fingerprint: [1; 32],
        key_fingerprint: [2; 32],
    }
}

#[test]
fn peer_checks_name_what_is_missing() {
    let alice = peer(Role::Operator, "a".parse().unwrap());
    alice.require_key(&key("a")).unwrap();
    let err = alice.require_key(&key("b")).unwrap_err();
    assert_eq!((err.status, err.error.as_str()), (403, "key_not_granted"));
    assert!(
        err.message.contains("key b") && err.message.contains("grants: a"),
        "{err}"
    );
    alice.require_read(&key("a")).unwrap();
    assert_eq!(
        alice.require_read(&key("b")).unwrap_err().error,
        "key_not_granted"
    );

    let auditor = peer(Role::Auditor, KeyScope::None);
    auditor.require_read(&key("b")).unwrap();
    assert!(auditor.may_read(&key("zzz")));
    let err = auditor.require_key(&key("b")).unwrap_err();
    assert_eq!((err.status, err.error.as_str()), (403, "forbidden"));
    assert!(err.message.contains("needs the role operator"), "{err}");

    let admin = peer(Role::Admin, KeyScope::None);
    assert!(!admin.may_read(&key("a")));
    assert_eq!(
        admin.require_read(&key("a")).unwrap_err().error,
        "forbidden"
    );
    admin.require(&[Role::Admin]).unwrap();
}

async fn call(app: &Router, peer: Option<Peer>) -> (u16, serde_json::Value) {
    let mut req = axum::http::Request::get("/x").body(Body::empty()).unwrap();
    if let Some(p) = peer {
        req.extensions_mut().insert(p);
    }
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

#[tokio::test]
async fn the_route_guard_lets_only_its_roles_through() {
    const READERS: &[Role] = &[Role::Admin, Role::Auditor];
    let app = Router::new().route(
        "/x",
        get(|p: Peer| async move { axum::Json(serde_json::json!({"name": p.name})) })
            .route_layer(require(READERS)),
    );
    for role in Role::ALL {
        let (status, body) = call(&app, Some(peer(role, KeyScope::None))).await;
        if READERS.contains(&role) {
            assert_eq!(status, 200, "{role}: {body}");
            assert_eq!(body["name"], format!("{role}-1"));
        } else {
            assert_eq!(status, 403, "{role}: {body}");
            assert_eq!(body["error"], "forbidden");
            let message = body["message"].as_str().unwrap();
            assert!(
                message.contains("admin or auditor") && message.contains(&format!("is {role}")),
                "{message}"
            );
        }
    }
    // No certificate at all (a router used without the TLS accept loop).
    let (status, body) = call(&app, None).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")));
    // The extractor alone answers 403 too.
    let bare = Router::new().route("/x", get(|_: Peer| async { "ok" }));
    let (status, body) = call(&bare, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("unauthenticated"))
    );
}

use rustls_pki_types::pem::PemObject;
