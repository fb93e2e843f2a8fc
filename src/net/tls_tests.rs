//! The CA, issuing from requests, reloading, and the pinned server verifier.

use std::time::Duration;

use rustls_pki_types::pem::PemObject;

use super::*;
use crate::cluster::config::NodeEntry;
use crate::net::client::{ClientError, HttpClient};

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

fn x509_of<R>(
    cert: &CertificateDer<'_>,
    f: impl FnOnce(&x509_parser::certificate::X509Certificate<'_>) -> R,
) -> R {
    let (_, x) = x509_parser::parse_x509_certificate(cert.as_ref()).unwrap();
    f(&x)
}

/// Validity of a certificate in whole days (rounded).
fn days(cert: &CertificateDer<'_>) -> i64 {
    x509_of(cert, |x| {
        let v = x.validity();
        (v.not_after.timestamp() - v.not_before.timestamp() + 43_200) / 86_400
    })
}

#[test]
fn issued_certificates_load_into_mutual_tls_configs() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ClusterCa::generate("test").unwrap();
    let leaf = ca
        .issue_with_new_key(
            &Grant::new(Role::Node, "node-1"),
            &["localhost".into(), "127.0.0.1".into()],
        )
        .unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("ca.pem"), ca.cert_pem()).unwrap();
    std::fs::write(p("n.pem"), &leaf.cert_pem).unwrap();
    std::fs::write(p("n.key"), leaf.key_pem.as_bytes()).unwrap();
    server_config(&p("n.pem"), &p("n.key"), &p("ca.pem")).unwrap();
    client_config(&p("n.pem"), &p("n.key"), &p("ca.pem")).unwrap();
    // A key that is not the certificate's is refused.
    let other = ca
        .issue_with_new_key(&Grant::new(Role::Node, "other"), &["localhost".into()])
        .unwrap();
    std::fs::write(p("o.key"), other.key_pem.as_bytes()).unwrap();
    match server_config(&p("n.pem"), &p("o.key"), &p("ca.pem")) {
        Err(TlsError::Config(reason)) => assert!(reason.contains("o.key"), "{reason}"),
        other => panic!("expected a TLS configuration error, got {:?}", other.err()),
    }
    // Missing and empty files name the file.
    std::fs::write(p("empty.pem"), "").unwrap();
    let err = load_certs(&p("empty.pem")).unwrap_err().to_string();
    assert!(err.contains("empty.pem"), "{err}");
    match load_certs(&p("missing.pem")) {
        Err(TlsError::Pem { path, .. }) => assert!(path.contains("missing.pem"), "{path}"),
        other => panic!(
            "expected a PEM error naming the file, got {:?}",
            other.err()
        ),
    }
}

#[test]
fn the_ca_issues_its_grant_from_a_request_and_checks_its_signature() {
    let ca = ClusterCa::generate("t").unwrap();
    // A request that asks for a key scope of its own and two hosts.
    let mut params =
        CertificateParams::new(vec!["n1.example".to_string(), "10.0.0.1".into()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "root");
    params
        .subject_alt_names
        .push(SanType::URI("urn:zkquorum:key:*".try_into().unwrap()));
    let key = KeyPair::generate().unwrap();
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    let info = read_csr(&csr).unwrap();
    assert_eq!(info.name.as_deref(), Some("root"));
    assert_eq!(
        info.hosts,
        vec!["n1.example".to_string(), "10.0.0.1".into()]
    );

    // As an operator granted k1: the scope is the CA's, the request's URI and hosts are
    // dropped, client authentication only, 30 days.
    let op = der(&ca
        .issue(
            &csr,
            &Grant::new(Role::Operator, "alice").with_scope("k1".parse().unwrap()),
        )
        .unwrap());
    let peer = Peer::from_der(&op).unwrap();
    assert_eq!((peer.role, peer.name.as_str()), (Role::Operator, "alice"));
    assert_eq!(peer.key_scope.to_string(), "k1");
    assert_eq!(peer.key_fingerprint, info.key_fingerprint);
    x509_of(&op, |x| {
        let names = &x
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names;
        assert_eq!(names.len(), 1, "{names:?}");
        let eku = x.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth);
        assert!(!x.is_ca());
    });
    assert_eq!(days(&op), 30);

    // As a node: its hosts, server and client authentication, 90 days; --days honoured.
    let node = der(&ca.issue(&csr, &Grant::new(Role::Node, "node-1")).unwrap());
    assert_eq!(days(&node), 90);
    x509_of(&node, |x| {
        let names: Vec<String> = x
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(|g| match g {
                x509_parser::extensions::GeneralName::DNSName(n) => n.to_string(),
                x509_parser::extensions::GeneralName::IPAddress(ip) => format!("{ip:?}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            names,
            vec!["n1.example".to_string(), "[10, 0, 0, 1]".into()]
        );
        let eku = x.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && eku.server_auth);
    });
    let short = der(&ca
        .issue(&csr, &Grant::new(Role::Admin, "bob").with_days(2))
        .unwrap());
    assert_eq!(days(&short), 2);

    // Renewal from the same request: same key, new certificate and serial.
    let renewed = der(&ca.issue(&csr, &Grant::new(Role::Node, "node-1")).unwrap());
    assert_ne!(fingerprint(&renewed), fingerprint(&node));
    assert_eq!(key_fingerprint(&renewed), key_fingerprint(&node));
    let serial = |c: &CertificateDer<'_>| x509_of(c, |x| x.raw_serial().to_vec());
    assert_ne!(serial(&renewed), serial(&node));

    // A tampered request (a signature bit flipped) is refused.
    let lines: Vec<&str> = csr.lines().collect();
    let last = lines.len() - 2;
    let mut tampered_line = lines[last].trim_end_matches('=').to_string();
    let pos = tampered_line.len() - 2;
    let c = tampered_line.as_bytes()[pos];
    tampered_line.replace_range(pos..pos + 1, if c == b'A' { "B" } else { "A" });
    let padded = format!(
        "{tampered_line}{}",
        "=".repeat(lines[last].len() - lines[last].trim_end_matches('=').len())
    );
    let mut tampered: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    tampered[last] = padded;
    let tampered = tampered.join("\n");
    match ca.issue(&tampered, &Grant::new(Role::Node, "node-1")) {
        Err(TlsError::Csr(reason)) => assert!(reason.contains("self-signature"), "{reason}"),
        other => panic!("a tampered request was not refused: {:?}", other.err()),
    }
    assert!(matches!(read_csr(&tampered), Err(TlsError::Csr(_))));

    // Grants the CA does not issue.
    for (grant, needle) in [
        (
            Grant::new(Role::Admin, "x").with_scope(KeyScope::All),
            "cannot carry a key scope",
        ),
        (Grant::new(Role::Auditor, ""), "1 to 64"),
        (Grant::new(Role::Auditor, "x").with_days(0), "validity"),
    ] {
        let err = ca.issue(&csr, &grant).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }
    // A server certificate needs hosts.
    let bare = CertRequest::generate("coordinator", &[]).unwrap();
    let err = ca
        .issue(&bare.csr_pem, &Grant::new(Role::Coordinator, "c"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs host names"), "{err}");
}

#[test]
fn a_ca_directory_is_private_and_issues_certificates_that_chain_to_its_pem() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let made = ClusterCa::create_dir(&dir, "t").unwrap();
    assert!(
        ClusterCa::create_dir(&dir, "t").is_err(),
        "never overwritten"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(CA_KEY_FILE)), 0o600);
    }
    let loaded = ClusterCa::load_dir(&dir).unwrap();
    assert_eq!(loaded.cert_pem(), made.cert_pem());
    // Issued by the loaded CA, verified by webpki against ca.pem (a server certificate for
    // 127.0.0.1).
    let leaf = loaded
        .issue_with_new_key(&Grant::new(Role::Node, "node-1"), &["127.0.0.1".into()])
        .unwrap();
    let verifier = RoleServerVerifier::new(
        &dir.join(CA_CERT_FILE),
        ExpectedServer::node(1, key_fingerprint(&der(&leaf.cert_pem)).unwrap()),
        None,
    )
    .unwrap();
    verifier
        .verify_server_cert(
            &der(&leaf.cert_pem),
            &[],
            &ServerName::try_from("127.0.0.1").unwrap(),
            &[],
            UnixTime::now(),
        )
        .unwrap();
    // Another CA's certificate does not verify.
    let foreign = ClusterCa::generate("other")
        .unwrap()
        .issue_with_new_key(&Grant::new(Role::Node, "node-1"), &["127.0.0.1".into()])
        .unwrap();
    assert!(verifier
        .verify_server_cert(
            &der(&foreign.cert_pem),
            &[],
            &ServerName::try_from("127.0.0.1").unwrap(),
            &[],
            UnixTime::now(),
        )
        .is_err());
    // A key that is not the CA's is named.
    std::fs::write(
        dir.join(CA_KEY_FILE),
        KeyPair::generate().unwrap().serialize_pem(),
    )
    .unwrap();
    let err = ClusterCa::load_dir(&dir).err().unwrap().to_string();
    assert!(err.contains("not the key of ca.pem"), "{err}");
}

/// A CA, three node certificates (node-1, node-2 for 127.0.0.1), an operator's and a
/// coordinator's, written into a directory.
struct Pki {
    dir: tempfile::TempDir,
    ca: ClusterCa,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = ClusterCa::generate("t").unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.cert_pem()).unwrap();
        let pki = Self { dir, ca };
        pki.write("node-1", &Grant::new(Role::Node, "node-1"));
        pki.write("node-2", &Grant::new(Role::Node, "node-2"));
        pki.write(
            "operator",
            &Grant::new(Role::Operator, "alice").with_scope(KeyScope::All),
        );
        pki.write("coordinator", &Grant::new(Role::Coordinator, "coordinator"));
        pki
    }

    fn write(&self, name: &str, grant: &Grant) {
        let hosts = if grant.role.is_server() {
            vec!["127.0.0.1".to_string()]
        } else {
            Vec::new()
        };
        let c = self.ca.issue_with_new_key(grant, &hosts).unwrap();
        std::fs::write(self.p(&format!("{name}.pem")), &c.cert_pem).unwrap();
        std::fs::write(self.p(&format!("{name}.key")), c.key_pem.as_bytes()).unwrap();
    }

    fn p(&self, n: &str) -> PathBuf {
        self.dir.path().join(n)
    }

    fn cert(&self, name: &str) -> CertificateDer<'static> {
        load_certs(&self.p(&format!("{name}.pem")))
            .unwrap()
            .remove(0)
    }

    fn key_fp(&self, name: &str) -> [u8; 32] {
        key_fingerprint(&self.cert(name)).unwrap()
    }
}

#[test]
fn the_node_verifier_refuses_another_nodes_or_the_operators_certificate() {
    let pki = Pki::new();
    let verifier = RoleServerVerifier::new(
        &pki.p("ca.pem"),
        ExpectedServer::node(1, pki.key_fp("node-1")),
        None,
    )
    .unwrap();
    assert_eq!(verifier.check(&pki.cert("node-1")).unwrap().name, "node-1");

    let err = verifier.check(&pki.cert("node-2")).unwrap_err().to_string();
    assert!(
        err.starts_with("node 1:") && err.contains("\"node-2\"") && err.contains("rostered key"),
        "{err}"
    );
    let err = verifier
        .check(&pki.cert("operator"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("node 1:")
            && err.contains("operator certificate")
            && err.contains("not a node one"),
        "{err}"
    );
    // The node's key in a certificate granting another role is refused too.
    let err = verifier
        .check(&pki.cert("coordinator"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("coordinator certificate"), "{err}");

    // Revoked: refused though the key is the rostered one.
    let list = pki.p("revoked.txt");
    crate::net::revocation::revoke(
        &list,
        &pki.cert("node-1"),
        crate::net::revocation::RevokedKind::Cert,
        1,
    )
    .unwrap();
    let revoking = RoleServerVerifier::new(
        &pki.p("ca.pem"),
        ExpectedServer::node(1, pki.key_fp("node-1")),
        Some(Arc::new(Revocations::new(&list))),
    )
    .unwrap();
    let err = revoking.check(&pki.cert("node-1")).unwrap_err().to_string();
    assert!(
        err.starts_with("node 1:") && err.contains("revoked"),
        "{err}"
    );
}

#[test]
fn a_renewed_certificate_is_presented_without_a_restart() {
    let pki = Pki::new();
    let cert = pki.p("node-1.pem");
    let reloading = ReloadingCert::load(&cert, &pki.p("node-1.key")).unwrap();
    let first = reloading.current().cert[0].clone();
    assert_eq!(first, pki.cert("node-1"));
    // Renewed for the same key (re-issued from a request made with it).
    let key = KeyPair::from_pem(&std::fs::read_to_string(pki.p("node-1.key")).unwrap()).unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "node-1");
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    let renewed = pki
        .ca
        .issue(&csr, &Grant::new(Role::Node, "node-1"))
        .unwrap();
    crate::cluster::config::write_atomic(&cert, renewed.as_bytes(), false).unwrap();
    let now = reloading.current().cert[0].clone();
    assert_eq!(now, der(&renewed));
    assert_ne!(now, first);
    // A broken file keeps the last good pair.
    std::fs::write(&cert, "not a certificate").unwrap();
    assert_eq!(reloading.current().cert[0], der(&renewed));
    // A certificate of another key does not load with this key: the last good pair stays.
    std::fs::copy(pki.p("node-2.pem"), &cert).unwrap();
    assert_eq!(reloading.current().cert[0], der(&renewed));
}

/// A server on 127.0.0.1 presenting `name`'s certificate, answering `GET /who` with the
/// caller's role and name.
async fn server(pki: &Pki, name: &str) -> String {
    let tls = server_config(
        &pki.p(&format!("{name}.pem")),
        &pki.p(&format!("{name}.key")),
        &pki.p("ca.pem"),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/who",
        axum::routing::get(|p: Peer| async move {
            axum::Json(serde_json::json!({"role": p.role.as_str(), "name": p.name}))
        }),
    );
    tokio::spawn(crate::net::serve::serve(
        listener,
        tls,
        app,
        std::future::pending(),
    ));
    url
}

#[tokio::test]
async fn the_coordinator_calls_only_the_rostered_node_at_each_url() {
    let pki = Pki::new();
    // Node 1 is rostered with node-1's key; at its URL are, in turn, node-1, node-2 and
    // the operator's certificate.
    let (good, other_node, operator) = (
        server(&pki, "node-1").await,
        server(&pki, "node-2").await,
        server(&pki, "operator").await,
    );
    let identity = Arc::new(
        ReloadingCert::load(&pki.p("coordinator.pem"), &pki.p("coordinator.key")).unwrap(),
    );
    let client_for = |url: &str| {
        let entry = NodeEntry {
            id: signer::SignerId::new(1).unwrap(),
            url: url.to_string(),
            identity_key: [0; 32],
            hpke_key: [0; 32],
            tls_fingerprint: pki.key_fp("node-1"),
        };
        HttpClient::for_nodes(
            &[entry],
            identity.clone(),
            &pki.p("ca.pem"),
            None,
            Duration::from_secs(10),
        )
        .unwrap()
    };
    let who: serde_json::Value = client_for(&good).get(&format!("{good}/who")).await.unwrap();
    // The node saw the coordinator's certificate.
    assert_eq!(
        who,
        serde_json::json!({"role": "coordinator", "name": "coordinator"})
    );

    // (A person's certificate is not for server authentication: webpki refuses it first.)
    for (url, needle) in [
        (&other_node, "rostered key"),
        (&operator, "server authentication"),
    ] {
        match client_for(url)
            .get::<serde_json::Value>(&format!("{url}/who"))
            .await
        {
            Err(ClientError::Transport { reason, .. }) => {
                assert!(
                    reason.contains("node 1") && reason.contains(needle),
                    "{reason}"
                );
            }
            other => panic!("expected a refused certificate, got {other:?}"),
        }
    }
    // A URL that is no rostered node's is refused without a connection.
    match client_for(&good)
        .get::<serde_json::Value>(&format!("{other_node}/who"))
        .await
    {
        Err(ClientError::NotRostered { url }) => assert!(url.starts_with(&other_node)),
        other => panic!("expected NotRostered, got {other:?}"),
    }
}
