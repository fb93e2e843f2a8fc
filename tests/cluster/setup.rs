//! What `zkquorum init` writes (file modes, no CA private key), configuration errors, and
//! the environment overriding the files.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::fixture::{any_port, edit_toml, init, spawn_server, wait_ready, zkq_env};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn init_writes_secrets_0600_and_never_the_ca_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    init(&dir, 3, 2);

    // Written in a staging directory renamed into place: nothing else is left beside it.
    let beside: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, vec![std::ffi::OsString::from("c")]);
    for sub in [
        "coordinator",
        "client",
        "client-admin",
        "client-auditor",
        "keys",
        "node-1",
        "node-2",
        "node-3",
    ] {
        assert!(dir.join(sub).is_dir(), "{sub}");
    }
    // Every directory is the owner's alone (finding 5: they were 0755).
    let mut dirs = vec![dir.clone()];
    while let Some(d) = dirs.pop() {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            }
        }
    }
    let mut secrets = vec![
        dir.join("coordinator/tls.key"),
        dir.join("client/tls.key"),
        dir.join("client-admin/tls.key"),
        dir.join("client-auditor/tls.key"),
    ];
    for id in 1..=3 {
        secrets.push(dir.join(format!("node-{id}/tls.key")));
        secrets.push(dir.join(format!("node-{id}/passphrase")));
        secrets.push(dir.join(format!("node-{id}/node.db")));
    }
    for s in &secrets {
        assert_eq!(mode(s), 0o600, "{}", s.display());
    }
    // Each node was provisioned through enrollment: its request and public enrollment are
    // beside its key, and its certificate is a node's with the key of that request.
    for id in 1..=3 {
        let e = zkquorum::cluster::enroll::Enrollment::load(
            &dir.join(format!("node-{id}/enrollment.json")),
        )
        .unwrap();
        let cert =
            &zkquorum::net::tls::load_certs(&dir.join(format!("node-{id}/tls.pem"))).unwrap()[0];
        let peer = zkquorum::net::roles::Peer::from_der(cert).unwrap();
        assert_eq!(peer.role, zkquorum::net::roles::Role::Node);
        assert_eq!(peer.name, format!("node-{id}"));
        assert_eq!(peer.key_fingerprint, e.tls_fingerprint);
    }
    let passphrase = std::fs::read_to_string(dir.join("node-1/passphrase")).unwrap();
    assert_eq!(passphrase.trim().len(), 64, "256 random bits, hex");

    // Private keys are in the tls.key files and nowhere else.
    let mut all = Vec::new();
    files(&dir, &mut all);
    let with_key: Vec<&PathBuf> = all
        .iter()
        .filter(|p| contains(&std::fs::read(p).unwrap(), b"PRIVATE KEY"))
        .collect();
    let mut expected: Vec<&PathBuf> = secrets.iter().filter(|p| p.ends_with("tls.key")).collect();
    let mut found = with_key.clone();
    found.sort();
    expected.sort();
    assert_eq!(found, expected);

    // Each of those keys is its own certificate's, and none is the CA's: the CA's public
    // key is in ca.pem, and no written private key matches it.
    let ca = zkquorum::net::tls::load_certs(&dir.join("ca.pem")).unwrap();
    assert_eq!(ca.len(), 1);
    for key in expected {
        let pair = rcgen::KeyPair::from_pem(&std::fs::read_to_string(key).unwrap()).unwrap();
        let public = pair.public_key_raw();
        let own = zkquorum::net::tls::load_certs(&key.with_file_name("tls.pem")).unwrap();
        assert!(contains(own[0].as_ref(), public), "{}", key.display());
        assert!(
            !contains(ca[0].as_ref(), public),
            "{} is the CA key",
            key.display()
        );
    }
}

/// Runs `zkquorum node --config config` with `env`, which must fail; its stderr.
fn node_fails(config: &Path, env: &[(&str, &str)]) -> String {
    let out = zkq_env(&["node", "--config", config.to_str().unwrap()], env);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "started: {err}");
    err
}

#[test]
fn config_errors_are_named_and_the_environment_overrides_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    init(&dir, 3, 2);
    let node = dir.join("node-1/node.toml");
    let original = std::fs::read_to_string(&node).unwrap();
    let cluster = dir.join("cluster.toml");
    let cluster_text = std::fs::read_to_string(&cluster).unwrap();

    // A misspelt setting is an error naming the file and the field, not a silent default.
    std::fs::write(&node, format!("{original}max_clock_skew = 5\n")).unwrap();
    let err = node_fails(&node, &[]);
    assert!(
        err.contains("node.toml")
            && err.contains("unknown field")
            && err.contains("max_clock_skew"),
        "{err}"
    );
    // A missing required setting.
    let coordinator = dir.join("coordinator/coordinator.toml");
    edit_toml(&coordinator, |t| {
        t.remove("db");
    });
    let out = zkq_env(
        &["coordinator", "--config", coordinator.to_str().unwrap()],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("coordinator.toml") && err.contains("missing field `db`"),
        "{err}"
    );
    // A node the cluster does not list.
    std::fs::write(&node, original.replace("id = 1", "id = 9")).unwrap();
    let err = node_fails(&node, &[]);
    assert!(
        err.contains("9 is not in") && err.contains("cluster.toml"),
        "{err}"
    );
    std::fs::write(&node, &original).unwrap();
    // An impossible threshold, and a node URL that is not https, in the shared file.
    edit_toml(&cluster, |t| {
        t.insert("threshold".into(), 4.into());
    });
    let err = node_fails(&node, &[]);
    assert!(
        err.contains("cluster.toml") && err.contains("threshold 4-of-3"),
        "{err}"
    );
    std::fs::write(&cluster, &cluster_text).unwrap();
    edit_toml(&cluster, |t| {
        let nodes = t["nodes"].as_array_mut().unwrap();
        let url = nodes[1]["url"].as_str().unwrap().replace("https", "http");
        nodes[1]
            .as_table_mut()
            .unwrap()
            .insert("url".into(), url.into());
    });
    let err = node_fails(&node, &[]);
    assert!(
        err.contains("node #2 url") && err.contains("is not https"),
        "{err}"
    );
    std::fs::write(&cluster, &cluster_text).unwrap();

    // ZKQUORUM_DB replaces the configured database: a missing one is named, not created.
    let missing = dir.join("elsewhere.db");
    let err = node_fails(&node, &[("ZKQUORUM_DB", missing.to_str().unwrap())]);
    assert!(err.contains("elsewhere.db"), "{err}");
    assert!(!missing.exists());
    // ZKQUORUM_PASSPHRASE replaces the passphrase file: a wrong one is told as such.
    let err = node_fails(&node, &[("ZKQUORUM_PASSPHRASE", "not the passphrase")]);
    assert!(err.contains("wrong passphrase"), "{err}");

    // Without the passphrase file a node needs ZKQUORUM_PASSPHRASE; with it (and
    // ZKQUORUM_LISTEN = any port instead of the configured one) it starts and serves.
    let file = dir.join("node-1/passphrase");
    let passphrase = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    let err = node_fails(&node, &[]);
    assert!(err.contains("passphrase"), "{err}");
    let configured: std::net::SocketAddr = original
        .lines()
        .find_map(|l| l.strip_prefix("listen = "))
        .unwrap()
        .trim_matches('"')
        .parse()
        .unwrap();
    let (log, ready) = (dir.join("node-1.log"), dir.join("node-1.addr"));
    let mut p = spawn_server(
        "node",
        &node,
        &log,
        any_port(),
        &ready,
        true,
        &[("ZKQUORUM_PASSPHRASE", passphrase.trim())],
    );
    let bound = wait_ready(&ready, &log, &mut p.0);
    assert_ne!(bound.port(), configured.port());
    assert_ne!(bound.port(), 0);
    assert!(std::net::TcpStream::connect(bound).is_ok());
}

/// The main job, `zkquorum demo`, runs end to end (a short run): DKG, governance, signing
/// with refusals, the audit log exported with the nodes' checkpoints (the auditor's
/// certificate) and verified.
#[test]
fn the_demo_runs_end_to_end() {
    let out = crate::fixture::zkq(&["demo", "--mode", "intent", "--requests", "4"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("| audit records verified | 4 (1 key record, 3 signatures"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| rejected: amount_above_limit | 1 |"),
        "{stdout}"
    );
}

/// The default demo: Bitcoin spends (here without the 100-payee batch), each signed
/// transaction checked by Bitcoin Core's consensus code, the log verified with its txids.
#[test]
fn the_bitcoin_demo_runs_end_to_end() {
    let out = crate::fixture::zkq(&["demo", "--requests", "4", "--batch", "0"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("| signed (each checked by Bitcoin consensus code) | 3 |"),
        "{stdout}"
    );
    assert!(stdout.contains("| rejected: total | 1 |"), "{stdout}");
    assert!(stdout.contains("3 spends"), "{stdout}");
}
