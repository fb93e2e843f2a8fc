//! Roles through the real binary and real sockets: each role's certificate tried on each
//! route of the coordinator and of a node (only the allowed ones pass), an operator scoped to
//! one key, certificates without a valid grant, revocation taking effect on running servers
//! (renewal and key revocation too), the coordinator refusing a node whose certificate is
//! not the rostered one, and enrollment: three nodes made with `node init` on three "hosts"
//! (127.0.0.1, .2, .3), their certificates issued from their enrollments, run as a cluster.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;

use crate::fixture::{
    edit_toml, expect_error, init_with, ok, spawn_server, wait_ready, zkq, zkq_env, Cluster,
};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `zkquorum args` (owned strings), which must succeed; its stdout.
fn ok_owned(args: &[String]) -> String {
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

/// `zkquorum csr` in `dir/sub` (with `hosts`) and `zkquorum ca issue` from it with `grant`.
fn issue(dir: &Path, ca: &Path, sub: &str, hosts: &[&str], grant: &[&str]) {
    let d = dir.join(sub);
    let mut csr = vec![
        "csr".into(),
        "--dir".into(),
        s(&d),
        "--name".into(),
        sub.into(),
    ];
    for h in hosts {
        csr.extend(["--host".into(), h.to_string()]);
    }
    ok_owned(&csr);
    let mut args = vec![
        "ca".into(),
        "issue".into(),
        "--ca".into(),
        s(ca),
        "--name".into(),
        sub.into(),
        "--csr".into(),
        s(&d.join("tls.csr")),
        "--out".into(),
        s(&d.join("tls.pem")),
    ];
    args.extend(grant.iter().map(|g| g.to_string()));
    ok_owned(&args);
    assert_eq!(mode(&d.join("tls.key")), 0o600);
    assert_eq!(mode(&d), 0o700);
}

/// A certificate signed by the CA of `ca` whose subject is `ou` (if any) and CN `cn`: what
/// `ca issue` never makes (no role, a role that is not one).
fn crafted(dir: &Path, ca: &Path, sub: &str, ou: Option<&str>) {
    let ca_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(ca.join("ca.key")).unwrap()).unwrap();
    let ca_params = rcgen::CertificateParams::from_ca_cert_pem(
        &std::fs::read_to_string(ca.join("ca.pem")).unwrap(),
    )
    .unwrap();
    let issuer = ca_params.self_signed(&ca_key).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, sub);
    if let Some(ou) = ou {
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationalUnitName, ou);
    }
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer, &ca_key).unwrap();
    let d = dir.join(sub);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("tls.pem"), cert.pem()).unwrap();
    std::fs::write(d.join("tls.key"), key.serialize_pem()).unwrap();
}

/// An allowed principal's expected status meaning "past the guard": any answer but 403.
const PAST: u16 = 0;

/// One row of the table: a route, a body, and the answer of each principal that may call
/// it ([`PAST`] or a status; every other one gets 403 `forbidden`).
struct Row {
    method: &'static str,
    url: String,
    body: Option<serde_json::Value>,
    allowed: Vec<(&'static str, u16)>,
    /// Principals answered 403 `key_not_granted` (not `forbidden`).
    not_granted: Vec<&'static str>,
}

/// The principals and their certificate directories (relative to the cluster directory).
const PRINCIPALS: [(&str, &str); 6] = [
    ("operator*", "client"),
    ("operatorA", "op-a"),
    ("admin", "client-admin"),
    ("auditor", "client-auditor"),
    ("node", "node-1"),
    ("coordinator", "coordinator"),
];

async fn send(client: &reqwest::Client, row: &Row) -> reqwest::Response {
    let req = match row.method {
        "GET" => client.get(&row.url),
        _ => client.post(&row.url),
    };
    let req = match &row.body {
        Some(b) => req.json(b),
        None => req,
    };
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_passes_only_its_routes_and_revocation_takes_effect_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca");
    let mut c = tokio::task::block_in_place(|| {
        ok(&["ca", "init", "--dir", ca.to_str().unwrap()]);
        let mut c = Cluster::new_with(&["--ca", ca.to_str().unwrap()]);
        issue(
            &c.dir,
            &ca,
            "op-a",
            &[],
            &["--role", "operator", "--keys", "A"],
        );
        crafted(&c.dir, &ca, "no-role", None);
        crafted(&c.dir, &ca, "wizard", Some("wizard"));
        c.start_nodes();
        c.start_coordinator();
        c.keygen("A");
        c.keygen("B");
        c
    });
    let api = c.api_url();
    let node = c.node_urls[0].clone();
    let clients: Vec<(&str, reqwest::Client)> = PRINCIPALS
        .iter()
        .map(|(name, sub)| {
            let (cert, key) = (format!("{sub}/tls.pem"), format!("{sub}/tls.key"));
            (*name, c.raw_client(Some((&cert, &key)), "ca.pem"))
        })
        .collect();
    let client = |name: &str| &clients.iter().find(|(n, _)| *n == name).unwrap().1;

    // A refused request on each key, so that each has a request to read.
    let mut over = c.example_intent();
    over.amount = 2_000_000;
    let sign_body =
        |key: &str, id: &str| serde_json::json!({"key_id": key, "intent": over, "request_id": id});
    for (key, id) in [("A", "req-a"), ("B", "req-b")] {
        let resp = client("operator*")
            .post(format!("{api}/v1/sign"))
            .json(&sign_body(key, id))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(status >= 400 && status != 403, "{status} {body}");
        assert_eq!(body["request_id"], id, "{body}");
    }

    let readers = |ok: u16| vec![("operator*", ok), ("operatorA", ok), ("auditor", ok)];
    let mut rows = vec![
        Row {
            method: "GET",
            url: format!("{api}/v1/health"),
            body: None,
            allowed: PRINCIPALS.iter().map(|(n, _)| (*n, 200)).collect(),
            not_granted: vec![],
        },
        Row {
            method: "POST",
            url: format!("{api}/v1/keys"),
            body: Some(serde_json::json!({"key_id": "A"})),
            // Past the guard: the key exists.
            allowed: vec![("operator*", 409), ("operatorA", 409)],
            not_granted: vec![],
        },
        Row {
            method: "POST",
            url: format!("{api}/v1/keys"),
            body: Some(serde_json::json!({"key_id": "B"})),
            allowed: vec![("operator*", 409)],
            not_granted: vec!["operatorA"],
        },
        Row {
            method: "GET",
            url: format!("{api}/v1/keys"),
            body: None,
            allowed: readers(200),
            not_granted: vec![],
        },
        Row {
            method: "GET",
            url: format!("{api}/v1/keys/A"),
            body: None,
            allowed: readers(200),
            not_granted: vec![],
        },
        Row {
            method: "GET",
            url: format!("{api}/v1/keys/B"),
            body: None,
            allowed: vec![("operator*", 200), ("auditor", 200)],
            not_granted: vec!["operatorA"],
        },
        Row {
            method: "POST",
            url: format!("{api}/v1/sign"),
            body: Some(serde_json::json!({"key_id": "A", "intent": over})),
            // Past the guard: the signers refuse the amount (or, before the governance
            // registry holds a policy, the session finds no registered one).
            allowed: vec![("operator*", PAST), ("operatorA", PAST)],
            not_granted: vec![],
        },
        Row {
            method: "POST",
            url: format!("{api}/v1/sign"),
            body: Some(serde_json::json!({"key_id": "B", "intent": over})),
            allowed: vec![("operator*", PAST)],
            not_granted: vec!["operatorA"],
        },
        Row {
            method: "GET",
            url: format!("{api}/v1/sessions/req-a"),
            body: None,
            allowed: readers(200),
            not_granted: vec![],
        },
        Row {
            method: "GET",
            url: format!("{api}/v1/sessions/req-b"),
            body: None,
            allowed: vec![("operator*", 200), ("auditor", 200)],
            not_granted: vec!["operatorA"],
        },
        Row {
            method: "GET",
            url: format!("{api}/v1/audit"),
            body: None,
            allowed: vec![("auditor", 200)],
            not_granted: vec![],
        },
        Row {
            method: "GET",
            url: format!("{api}/v1/audit/checkpoints"),
            body: None,
            allowed: vec![("auditor", 200)],
            not_granted: vec![],
        },
        Row {
            method: "GET",
            url: format!("{node}/v1/status"),
            body: None,
            allowed: vec![("coordinator", 200)],
            not_granted: vec![],
        },
        Row {
            method: "GET",
            url: format!("{node}/v1/node/witness"),
            body: None,
            allowed: vec![("coordinator", 200)],
            not_granted: vec![],
        },
    ];
    // The node's POST routes: the coordinator gets past the guard to the body check.
    for route in [
        "/v1/dkg/start",
        "/v1/dkg/round2",
        "/v1/dkg/finish",
        "/v1/dkg/commit",
        "/v1/node/witness",
        "/v1/sign/round1",
        "/v1/sign/round2",
    ] {
        rows.push(Row {
            method: "POST",
            url: format!("{node}{route}"),
            body: Some(serde_json::json!({})),
            allowed: vec![("coordinator", 400)],
            not_granted: vec![],
        });
    }

    let no_role = c.raw_client(Some(("no-role/tls.pem", "no-role/tls.key")), "ca.pem");
    let wizard = c.raw_client(Some(("wizard/tls.pem", "wizard/tls.key")), "ca.pem");
    for row in &rows {
        for (name, client) in &clients {
            let resp = send(client, row).await;
            let got = resp.status().as_u16();
            let what = format!("{name} {} {}", row.method, row.url);
            if let Some((_, status)) = row.allowed.iter().find(|(n, _)| n == name) {
                let text = resp.text().await.unwrap();
                if *status == PAST {
                    assert_ne!(got, 403, "{what}: {text}");
                } else {
                    assert_eq!(got, *status, "{what}: {text}");
                }
            } else if row.not_granted.contains(name) {
                let err = expect_error(resp, 403, "key_not_granted").await;
                assert!(
                    err["message"].as_str().unwrap().contains("grants: A"),
                    "{what}: {err}"
                );
            } else {
                let err = expect_error(resp, 403, "forbidden").await;
                let message = err["message"].as_str().unwrap();
                assert!(
                    message.contains(name.trim_end_matches(['*', 'A'])),
                    "{what}: {message}"
                );
            }
        }
        // Certificates of the cluster CA without a valid grant: served, every route 403.
        let err = expect_error(send(&no_role, row).await, 403, "no_role").await;
        assert!(
            err["message"].as_str().unwrap().contains("no role"),
            "{err}"
        );
        let err = expect_error(send(&wizard, row).await, 403, "unknown_role").await;
        assert!(err["message"].as_str().unwrap().contains("wizard"), "{err}");
    }

    // What each reader sees of the key list.
    let keys = |name: &str| {
        let client = client(name).clone();
        let url = format!("{api}/v1/keys");
        async move {
            let list: Vec<serde_json::Value> =
                client.get(url).send().await.unwrap().json().await.unwrap();
            list.iter()
                .map(|k| k["key_id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(keys("operatorA").await, vec!["A"]);
    assert_eq!(keys("auditor").await, vec!["A", "B"]);
    assert_eq!(keys("operator*").await, vec!["A", "B"]);

    // Revocation, on running servers: operatorA's connection is open (keep-alive) and works.
    let op_a = client("operatorA");
    let key_a = format!("{api}/v1/keys/A");
    assert_eq!(op_a.get(&key_a).send().await.unwrap().status(), 200);
    // A renewal from the same request (same key, new certificate) works too.
    let renewed = c.dir.join("op-a/renewed.pem");
    tokio::task::block_in_place(|| {
        ok(&[
            "ca",
            "issue",
            "--ca",
            ca.to_str().unwrap(),
            "--role",
            "operator",
            "--name",
            "op-a",
            "--keys",
            "A",
            "--csr",
            &c.path("op-a/tls.csr"),
            "--out",
            renewed.to_str().unwrap(),
            "--days",
            "7",
        ])
    });
    let op_a_renewed = c.raw_client(Some(("op-a/renewed.pem", "op-a/tls.key")), "ca.pem");
    assert_eq!(op_a_renewed.get(&key_a).send().await.unwrap().status(), 200);
    // The old certificate revoked into the cluster's list: refused on its open connection
    // and on a new one, at once; the renewed one and everyone else still pass.
    let list = c.path("revoked.txt");
    let revoke = |cert: &str, by_key: bool| {
        let mut args = vec![
            "ca",
            "revoke",
            "--ca",
            ca.to_str().unwrap(),
            "--list",
            &list,
            "--cert",
            cert,
        ];
        if by_key {
            args.push("--key");
        }
        tokio::task::block_in_place(|| ok(&args))
    };
    let line = revoke(&c.path("op-a/tls.pem"), false);
    assert!(
        line.starts_with("cert ") && line.contains("role=operator"),
        "{line}"
    );
    let err = expect_error(op_a.get(&key_a).send().await.unwrap(), 403, "revoked").await;
    assert!(
        err["message"].as_str().unwrap().contains("certificate"),
        "{err}"
    );
    let fresh = c.raw_client(Some(("op-a/tls.pem", "op-a/tls.key")), "ca.pem");
    expect_error(fresh.get(&key_a).send().await.unwrap(), 403, "revoked").await;
    assert_eq!(op_a_renewed.get(&key_a).send().await.unwrap().status(), 200);
    assert_eq!(
        client("auditor").get(&key_a).send().await.unwrap().status(),
        200
    );
    // The key revoked: every certificate of it is refused, the renewal included.
    revoke(&c.path("op-a/renewed.pem"), true);
    expect_error(
        op_a_renewed.get(&key_a).send().await.unwrap(),
        403,
        "revoked",
    )
    .await;
    // Nodes enforce the list too: the coordinator's certificate revoked (key kept) is
    // refused by node 1.
    let coordinator = client("coordinator");
    let status = format!("{node}/v1/status");
    assert_eq!(coordinator.get(&status).send().await.unwrap().status(), 200);
    let kept = std::fs::read_to_string(&list).unwrap();
    revoke(&c.path("coordinator/tls.pem"), false);
    expect_error(
        coordinator.get(&status).send().await.unwrap(),
        403,
        "revoked",
    )
    .await;
    std::fs::write(&list, kept).unwrap();
    assert_eq!(coordinator.get(&status).send().await.unwrap().status(), 200);

    // The cluster file does not override the roster the admins approved: with node 1
    // listed under node 2's TLS key in cluster.toml, the coordinator refuses to start,
    // naming node 1.
    tokio::task::block_in_place(|| {
        c.kill_coordinator();
        let cluster_toml = c.dir.join("cluster.toml");
        let approved = std::fs::read_to_string(&cluster_toml).unwrap();
        edit_toml(&cluster_toml, |t| {
            let nodes = t["nodes"].as_array_mut().unwrap();
            let second = nodes[1]["tls_fingerprint"].clone();
            nodes[0]
                .as_table_mut()
                .unwrap()
                .insert("tls_fingerprint".into(), second);
        });
        let out = std::process::Command::new(crate::fixture::BIN)
            .args([
                "coordinator",
                "--config",
                &c.path("coordinator/coordinator.toml"),
            ])
            .args(["--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(
            err.contains("disagrees with the roster approved by the admins")
                && err.contains("node 1: TLS key is not the approved one"),
            "{err}"
        );
        std::fs::write(&cluster_toml, approved).unwrap();

        // The coordinator calls only the rostered node: node 1 restarted with node 2's
        // certificate is refused in the handshake, naming node 1, before anything is sent
        // (the DKG needs every node, so the key is not made).
        c.kill_node(1);
        edit_toml(&PathBuf::from(c.node_config(1)), |t| {
            for (k, f) in [("tls_cert", "tls.pem"), ("tls_key", "tls.key")] {
                t.insert(k.into(), format!("../node-2/{f}").into());
            }
        });
        c.start_node(1);
        c.start_coordinator();
        let out = zkq(&[
            "keygen",
            "--config",
            &c.path("client/client.toml"),
            "--key-id",
            "C",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(
            err.contains("signer #1")
                && err.contains("node 1: presented the certificate of \"node-2\"")
                && err.contains("not the rostered key"),
            "{err}"
        );
        assert!(!err.contains("signer #2"), "only node 1 is refused: {err}");
    });
}

/// The SANs of a certificate file, as text.
fn sans(cert: &Path) -> Vec<String> {
    let der = rustls_pki_types::CertificateDer::from_pem_file(cert).unwrap();
    let (_, x) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
    x.subject_alternative_name()
        .unwrap()
        .map(|s| {
            s.value
                .general_names
                .iter()
                .map(|g| match g {
                    x509_parser::extensions::GeneralName::DNSName(d) => d.to_string(),
                    x509_parser::extensions::GeneralName::IPAddress(ip) => {
                        std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string()
                    }
                    other => format!("{other:?}"),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn init_gives_each_node_its_own_hosts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    init_with(
        &dir,
        3,
        2,
        &["--node-host", "2=127.0.0.2", "--node-host", "2=n2.example"],
    );
    let cluster =
        zkquorum::cluster::config::ClusterConfig::load(&dir.join("cluster.toml")).unwrap();
    assert!(cluster.nodes[0].url.starts_with("https://127.0.0.1:"));
    assert!(cluster.nodes[1].url.starts_with("https://127.0.0.2:"));
    assert_eq!(
        sans(&dir.join("node-1/tls.pem")),
        vec!["127.0.0.1", "localhost"]
    );
    assert_eq!(
        sans(&dir.join("node-2/tls.pem")),
        vec!["127.0.0.2", "n2.example"]
    );
    let node2 = std::fs::read_to_string(dir.join("node-2/node.toml")).unwrap();
    assert!(node2.contains("listen = \"127.0.0.2:"), "{node2}");
    // An id that is not a node's.
    let out = zkq(&[
        "init",
        "--dir",
        tmp.path().join("d").to_str().unwrap(),
        "--nodes",
        "3",
        "--node-host",
        "4=10.0.0.4",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no node 4"));
}

/// A cluster assembled from three `node init` directories ("hosts" 127.0.0.1-3), a CA
/// directory, and the coordinator's and an operator's certificates issued from their own
/// requests: the multi-host path, on one machine: no keygen before the admins approve the
/// roster; then a key made by DKG across the three and a signature under the policies the
/// admins registered.
#[test]
fn three_hosts_enroll_their_nodes_then_make_a_key_and_sign_once_the_admins_approve() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let ca = root.join("ca");
    ok(&["ca", "init", "--dir", ca.to_str().unwrap()]);
    assert_eq!(mode(&ca), 0o700);
    assert_eq!(mode(&ca.join("ca.key")), 0o600);

    // Each host makes its node; the passphrase comes from the environment (or a file
    // outside the node directory: one inside is refused).
    let pass = |id: u16| format!("passphrase of node {id}, kept by its host");
    let node_dir = |id: u16| root.join(format!("host-{id}/node"));
    let inside = root.join("host-9/node/pass");
    std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
    std::fs::write(&inside, "x").unwrap();
    let out = zkq(&[
        "node",
        "init",
        "--dir",
        root.join("host-9/node").to_str().unwrap(),
        "--id",
        "1",
        "--url",
        "https://127.0.0.9:7701",
        "--passphrase-file",
        inside.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("inside --dir"),
        "{err}"
    );
    let out = zkq(&[
        "node",
        "init",
        "--dir",
        root.join("host-8").to_str().unwrap(),
        "--id",
        "1",
        "--url",
        "https://127.0.0.8:1",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no passphrase"));

    let mut entries = Vec::new();
    for id in 1..=3u16 {
        let host = format!("127.0.0.{id}");
        let dir = node_dir(id);
        let out = zkq_env(
            &[
                "node",
                "init",
                "--dir",
                dir.to_str().unwrap(),
                "--id",
                &id.to_string(),
                "--url",
                &format!("https://{host}:7700"),
                "--host",
                &host,
                "--host",
                &format!("node{id}.example"),
            ],
            &[("ZKQUORUM_PASSPHRASE", &pass(id))],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Secrets 0600 in a 0700 directory; no passphrase written; public enrollment.
        assert_eq!(mode(&dir), 0o700);
        for f in ["node.db", "tls.key"] {
            assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
        }
        let written: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        for f in &written {
            let text = std::fs::read(dir.join(f)).unwrap();
            assert!(
                !text
                    .windows(pass(id).len())
                    .any(|w| w == pass(id).as_bytes()),
                "{f} holds the passphrase"
            );
        }
        let enrollment = std::fs::read_to_string(dir.join("enrollment.json")).unwrap();
        assert!(!enrollment.contains("PRIVATE"), "{enrollment}");

        // The admins issue the node's certificate from its enrollment.
        let out = ok(&[
            "ca",
            "issue",
            "--ca",
            ca.to_str().unwrap(),
            "--role",
            "node",
            "--csr",
            dir.join("enrollment.json").to_str().unwrap(),
            "--out",
            dir.join("tls.pem").to_str().unwrap(),
        ]);
        let entry: toml::Table = out.parse().unwrap();
        entries.push(entry["nodes"].as_array().unwrap()[0].clone());
        assert_eq!(
            sans(&dir.join("tls.pem")),
            vec![host.clone(), format!("node{id}.example")]
        );
        let cert = rustls_pki_types::CertificateDer::from_pem_file(dir.join("tls.pem")).unwrap();
        let peer = zkquorum::net::roles::Peer::from_der(&cert).unwrap();
        assert_eq!(peer.name, format!("node-{id}"));
        assert_eq!(
            hex::encode(peer.key_fingerprint),
            entries.last().unwrap()["tls_fingerprint"].as_str().unwrap()
        );
    }
    // An enrollment issued as another role is refused.
    let out = zkq(&[
        "ca",
        "issue",
        "--ca",
        ca.to_str().unwrap(),
        "--role",
        "operator",
        "--keys",
        "*",
        "--csr",
        node_dir(1).join("enrollment.json").to_str().unwrap(),
        "--out",
        root.join("x.pem").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--role node"));

    // The coordinator and an operator: their own requests, issued.
    let shared = root.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    issue(
        &shared,
        &ca,
        "coordinator",
        &["127.0.0.1"],
        &["--role", "coordinator"],
    );
    issue(
        &shared,
        &ca,
        "operator",
        &[],
        &["--role", "operator", "--keys", "*"],
    );
    std::fs::copy(ca.join("ca.pem"), shared.join("ca.pem")).unwrap();

    // The shared files: proof-system keys and the roster from the enrollments.
    let keys = shared.join("keys");
    {
        use prover::ProofSystem;
        prover::groth16::Groth16System::setup(&mut rand::rngs::OsRng)
            .unwrap()
            .save(&keys)
            .unwrap();
    }
    let mut cluster = toml::Table::new();
    cluster.insert("name".into(), "hosts".into());
    cluster.insert("threshold".into(), 2.into());
    cluster.insert("backend".into(), "groth16".into());
    cluster.insert("keys_dir".into(), "keys".into());
    cluster.insert("ca".into(), "ca.pem".into());
    cluster.insert("coordinator_cert".into(), "coordinator/tls.pem".into());
    cluster.insert("nodes".into(), toml::Value::Array(entries));
    // Two policy admins (threshold 2), each with a key of their own, and the trust root
    // naming them. No roster is approved yet.
    let admin_pass = root.join("admin-pass");
    std::fs::write(&admin_pass, "passphrase of an admin").unwrap();
    let admin_keys: Vec<PathBuf> = (1..=2)
        .map(|i| root.join(format!("admin-{i}.key")))
        .collect();
    let admins: Vec<[u8; 32]> = admin_keys
        .iter()
        .map(|key| {
            let public = ok(&[
                "admin",
                "keygen",
                "--out",
                key.to_str().unwrap(),
                "--passphrase-file",
                admin_pass.to_str().unwrap(),
            ]);
            hex::decode(public.trim()).unwrap().try_into().unwrap()
        })
        .collect();
    let trust = verifier::governance::TrustRoot::new("hosts", admins, 2).unwrap();
    std::fs::write(shared.join("trust-root.json"), trust.to_json()).unwrap();
    issue(&shared, &ca, "admin", &[], &["--role", "admin"]);
    let cluster_toml = shared.join("cluster.toml");
    std::fs::write(&cluster_toml, toml::to_string(&cluster).unwrap()).unwrap();
    std::fs::write(
        shared.join("coordinator/coordinator.toml"),
        "listen = \"127.0.0.1:0\"\ndb = \"coordinator.db\"\ntls_cert = \"tls.pem\"\n\
         tls_key = \"tls.key\"\ncluster = \"../cluster.toml\"\n",
    )
    .unwrap();

    // Each host runs its node on its own address (the cluster file copied beside it), with
    // the passphrase from its environment.
    let mut procs = Vec::new();
    let mut urls = Vec::new();
    for id in 1..=3u16 {
        let dir = node_dir(id);
        std::fs::copy(&cluster_toml, dir.join("cluster.toml")).unwrap();
        // ca.pem, keys and coordinator/tls.pem as the shared cluster file names them.
        edit_toml(&dir.join("cluster.toml"), |t| {
            for (k, v) in [
                ("keys_dir", keys.clone()),
                ("ca", shared.join("ca.pem")),
                ("coordinator_cert", shared.join("coordinator/tls.pem")),
                ("trust_root", shared.join("trust-root.json")),
            ] {
                t.insert(k.into(), v.to_str().unwrap().into());
            }
        });
        let out = zkq_env(
            &[
                "policy",
                "set",
                "--config",
                dir.join("node.toml").to_str().unwrap(),
                &zkquorum_policy(root),
            ],
            &[("ZKQUORUM_PASSPHRASE", &pass(id))],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (log, ready) = (
            root.join(format!("node-{id}.log")),
            root.join(format!("node-{id}.addr")),
        );
        let listen: std::net::SocketAddr = format!("127.0.0.{id}:0").parse().unwrap();
        let mut p = spawn_server(
            "node",
            &dir.join("node.toml"),
            &log,
            listen,
            &ready,
            false,
            &[("ZKQUORUM_PASSPHRASE", &pass(id))],
        );
        let addr = wait_ready(&ready, &log, &mut p.0);
        assert_eq!(addr.ip().to_string(), format!("127.0.0.{id}"));
        urls.push(format!("https://{addr}"));
        procs.push(p);
    }
    edit_toml(&cluster_toml, |t| {
        for (node, url) in t["nodes"].as_array_mut().unwrap().iter_mut().zip(&urls) {
            node.as_table_mut()
                .unwrap()
                .insert("url".into(), url.as_str().into());
        }
    });
    let (log, ready) = (root.join("coordinator.log"), root.join("coordinator.addr"));
    let mut coordinator = spawn_server(
        "coordinator",
        &shared.join("coordinator/coordinator.toml"),
        &log,
        "127.0.0.1:0".parse().unwrap(),
        &ready,
        false,
        &[],
    );
    let api = wait_ready(&ready, &log, &mut coordinator.0);
    let client_toml = shared.join("operator/client.toml");
    std::fs::write(
        &client_toml,
        format!(
            "coordinator_url = \"https://{api}\"\nca = \"../ca.pem\"\ntls_cert = \"tls.pem\"\n\
             tls_key = \"tls.key\"\n"
        ),
    )
    .unwrap();
    let keygen = || {
        zkq(&[
            "keygen",
            "--config",
            client_toml.to_str().unwrap(),
            "--key-id",
            "hosts",
        ])
    };
    // No roster approved by the admins: no node takes part in a keygen.
    let refused = keygen();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("roster_not_governed"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // The admins approve the roster (from the cluster file the enrollments made, each
    // node's certificate checked against it), then every signer's policy; the admin
    // submits both through the coordinator, which relays them to the nodes.
    let admin_toml = shared.join("admin/client.toml");
    std::fs::write(
        &admin_toml,
        format!(
            "coordinator_url = \"https://{api}\"\nca = \"../ca.pem\"\ntls_cert = \"tls.pem\"\n\
             tls_key = \"tls.key\"\n"
        ),
    )
    .unwrap();
    let govern = |version: u64, what: &[String]| {
        let proposal = root.join(format!("proposal-{version}.json"));
        let mut args: Vec<String> = [
            "admin",
            "propose",
            "--trust-root",
            shared.join("trust-root.json").to_str().unwrap(),
            "--version",
            &version.to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(what.iter().cloned());
        args.extend(["--out".into(), proposal.to_str().unwrap().into()]);
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        for key in &admin_keys {
            ok(&[
                "admin",
                "approve",
                "--key",
                key.to_str().unwrap(),
                "--passphrase-file",
                admin_pass.to_str().unwrap(),
                proposal.to_str().unwrap(),
            ]);
        }
        ok(&[
            "admin",
            "submit",
            "--config",
            admin_toml.to_str().unwrap(),
            proposal.to_str().unwrap(),
        ]);
    };
    let mut roster = vec!["roster".into(), "--cluster".into(), s(&cluster_toml)];
    for id in 1..=3u16 {
        roster.extend([
            "--node-cert".into(),
            format!("{id}={}", s(&node_dir(id).join("tls.pem"))),
        ]);
    }
    govern(1, &roster);
    let mut policy = vec![
        "policy".into(),
        "--cluster".into(),
        s(&cluster_toml),
        "--key-id".into(),
        "*".into(),
    ];
    for id in 1..=3u16 {
        policy.extend(["--signer".into(), id.to_string()]);
        policy.extend(["--policy".into(), zkquorum_policy(root)]);
    }
    govern(2, &policy);

    let made = keygen();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let key: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
    assert_eq!(key["participants"], 3);

    // A signature across the three hosts, under the policies the admins registered.
    let now = zkquorum::clock::unix_now();
    let intent = root.join("intent.json");
    std::fs::write(
        &intent,
        zkquorum::cluster::example_intent(now, 1).to_json_string(),
    )
    .unwrap();
    let signed: serde_json::Value = serde_json::from_str(&ok(&[
        "sign",
        "--config",
        client_toml.to_str().unwrap(),
        "--key-id",
        "hosts",
        intent.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(
        signed["audit_record"]["signers"].as_array().map(Vec::len),
        Some(2),
        "{signed}"
    );
    assert_eq!(signed["signature"].as_str().map(str::len), Some(128));

    // An auditor with the export (log and checkpoints), the registry and the trust root
    // verifies the cluster's history: the key record, the signature, and that the nodes
    // witnessed both.
    let db = shared.join("coordinator/coordinator.db");
    // (The nodes witness in the background, after the signature was answered.)
    crate::fixture::wait_witnessed(&db, 2);
    let (log_out, checkpoints) = (root.join("audit.jsonl"), root.join("checkpoints.json"));
    ok(&[
        "audit",
        "export",
        "--db",
        &s(&db),
        "--out",
        &s(&log_out),
        "--checkpoints-out",
        &s(&checkpoints),
    ]);
    let report = ok(&[
        "audit",
        "verify",
        &s(&log_out),
        "--keys",
        &s(&keys),
        "--trust-root",
        &s(&shared.join("trust-root.json")),
        "--registry",
        &s(&db),
        "--checkpoints",
        &s(&checkpoints),
    ]);
    assert!(report.contains("key records: 1"), "{report}");
    assert!(report.contains("signatures:  1"), "{report}");
    assert!(report.contains("witnessed: 2 record(s)"), "{report}");
    drop(procs);
}

/// The example policy, written once under `root`; its path.
fn zkquorum_policy(root: &Path) -> String {
    let path: PathBuf = root.join("policy.toml");
    if !path.exists() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let text = zkquorum::cluster::example_policy(now)
            .to_toml_string()
            .unwrap();
        std::fs::write(&path, text).unwrap();
    }
    path.to_str().unwrap().to_owned()
}
