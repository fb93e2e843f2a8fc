//! A cluster as separate processes on 127.0.0.1: `zkquorum init`, five `zkquorum node`s, a
//! `zkquorum coordinator`, then `keygen`, `policy set`, `sign` and `audit verify` through
//! the real binary; faults (SIGKILL of a node mid-session and of the coordinator, a node
//! down), hostile inputs on both ports, and a bounded concurrent load.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use circuits::Intent;
use zkquorum::api::{SignRequest, SignResponse};
use zkquorum::client::{ApiClient, ClientError};
use zkquorum::config::{ClientConfig, NodeConfig};
use zkquorum::ids::KeyId;
use zkquorum::store::{NodeStore, NonceState};

const BIN: &str = env!("CARGO_BIN_EXE_zkquorum");
const N: u16 = 5;

fn zkq(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("ZKQUORUM_LOG", "warn")
        .output()
        .expect("run zkquorum")
}

fn ok(args: &[&str]) -> String {
    let out = zkq(args);
    assert!(
        out.status.success(),
        "zkquorum {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A base port with `N + 1` free ports after it, below Linux's ephemeral range
/// (32768–60999): a port there can be taken by any outgoing connection between the check
/// and a node's (re)start.
fn free_base_port() -> u16 {
    use rand::Rng;
    for _ in 0..200 {
        let base: u16 = rand::thread_rng().gen_range(10_000..32_000);
        let free = (0..=N).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no free port range");
}

/// A process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Cluster {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    base: u16,
    nodes: Vec<Option<Proc>>,
    coordinator: Option<Proc>,
}

/// Waits until the server `child` listens on `port`; fails with its log if it exits or
/// takes more than 90 s.
fn wait_port(port: u16, log: &Path, child: &mut Child) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        let exited = child.try_wait().unwrap();
        assert!(
            exited.is_none() && start.elapsed() < Duration::from_secs(90),
            "port {port} never opened (exit: {exited:?}); log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Cluster {
    /// `init`, every node and the coordinator running, the example policy on every node.
    fn start() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("c");
        let base = free_base_port();
        ok(&[
            "init",
            "--dir",
            dir.to_str().unwrap(),
            "--base-port",
            &base.to_string(),
            "--nodes",
            &N.to_string(),
            "--threshold",
            "3",
        ]);
        let mut c = Cluster {
            _tmp: tmp,
            dir,
            base,
            nodes: (0..N).map(|_| None).collect(),
            coordinator: None,
        };
        for id in 1..=N {
            c.start_node(id);
            c.policy(id, &c.dir.join("policy.example.toml"));
        }
        c.start_coordinator();
        c
    }

    fn path(&self, rel: &str) -> String {
        self.dir.join(rel).to_str().unwrap().to_string()
    }

    fn node_config(&self, id: u16) -> String {
        self.path(&format!("node-{id}/node.toml"))
    }

    fn spawn(&self, role: &str, config: &str, log: &str) -> Proc {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(log))
            .unwrap();
        Proc(
            Command::new(BIN)
                .args([role, "--config", config])
                .env("ZKQUORUM_LOG", "warn,zkquorum=info")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    }

    fn start_node(&mut self, id: u16) {
        let log = format!("node-{id}.log");
        let mut p = self.spawn("node", &self.node_config(id), &log);
        wait_port(self.base + id, &self.dir.join(log), &mut p.0);
        self.nodes[id as usize - 1] = Some(p);
    }

    /// SIGKILL (no chance to clean up).
    fn kill_node(&mut self, id: u16) {
        self.nodes[id as usize - 1] = None;
    }

    fn start_coordinator(&mut self) {
        let mut p = self.spawn(
            "coordinator",
            &self.path("coordinator/coordinator.toml"),
            "coordinator.log",
        );
        wait_port(self.base, &self.dir.join("coordinator.log"), &mut p.0);
        self.coordinator = Some(p);
    }

    fn kill_coordinator(&mut self) {
        self.coordinator = None;
    }

    fn policy(&self, id: u16, file: &Path) {
        ok(&[
            "policy",
            "set",
            "--config",
            &self.node_config(id),
            file.to_str().unwrap(),
        ]);
    }

    fn keygen(&self, key: &str) -> serde_json::Value {
        let out = ok(&[
            "keygen",
            "--config",
            &self.path("client/client.toml"),
            "--key-id",
            key,
        ]);
        serde_json::from_str(&out).unwrap()
    }

    fn intent(&self, edit: impl FnOnce(&mut Intent)) -> PathBuf {
        let mut intent = Intent::from_json_str(
            &std::fs::read_to_string(self.dir.join("intent.example.json")).unwrap(),
        )
        .unwrap();
        intent.nonce = rand::random();
        edit(&mut intent);
        let path = self.dir.join(format!("intent-{}.json", intent.nonce));
        std::fs::write(&path, intent.to_json_string()).unwrap();
        path
    }

    fn sign(&self, key: &str, intent: &Path) -> Output {
        zkq(&[
            "sign",
            "--config",
            &self.path("client/client.toml"),
            "--key-id",
            key,
            intent.to_str().unwrap(),
        ])
    }

    fn sign_ok(&self, key: &str, intent: &Path) -> SignResponse {
        let out = self.sign(key, intent);
        assert!(
            out.status.success(),
            "sign failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let resp: SignResponse = serde_json::from_slice(&out.stdout).unwrap();
        verifier::verify_bip340(&resp.x_only_key, &resp.digest, &resp.signature)
            .expect("a valid BIP-340 signature");
        resp
    }

    fn audit_verify(&self) -> (bool, String) {
        let out = zkq(&[
            "audit",
            "verify",
            &self.path("coordinator/coordinator.db"),
            "--keys",
            &self.path("keys"),
        ]);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    fn api(&self) -> ApiClient {
        ApiClient::from_config(&ClientConfig::load(&self.dir.join("client/client.toml")).unwrap())
            .unwrap()
    }

    fn node_store(&self, id: u16) -> NodeStore {
        let (config, _) = NodeConfig::load(Path::new(&self.node_config(id))).unwrap();
        NodeStore::open(&config.db, config.passphrase().unwrap().as_bytes()).unwrap()
    }
}

fn records(report: &str) -> u64 {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix("records:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no record count in {report}"))
}

#[test]
fn processes_sign_refuse_survive_restarts_and_audit() {
    let mut c = Cluster::start();
    let key = c.keygen("treasury");
    assert_eq!(key["threshold"], 3);
    assert_eq!(key["participants"], 5);

    // A compliant intent is signed by three signers; its record is in the log.
    let first = c.sign_ok("treasury", &c.intent(|_| {}));
    assert_eq!(first.audit_index, 0);
    assert_eq!(first.audit_record["signers"].as_array().unwrap().len(), 3);

    // A violating intent is refused, naming the rule, and leaves no record.
    let out = c.sign("treasury", &c.intent(|i| i.amount = 5_000_000));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("amount_above_limit"), "{err}");

    // Unknown key id: refused.
    let out = c.sign("nope", &c.intent(|_| {}));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown_key"));

    let (good, report) = c.audit_verify();
    assert!(good, "{report}");
    assert_eq!(records(&report), 1);

    // The coordinator is killed and restarted (with a 3 s signer timeout): no audit record
    // is lost, signing goes on.
    c.kill_coordinator();
    let cfg = c.dir.join("coordinator/coordinator.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("signer_timeout_secs = 30"), "{text}");
    std::fs::write(
        &cfg,
        text.replace("signer_timeout_secs = 30", "signer_timeout_secs = 3"),
    )
    .unwrap();
    c.start_coordinator();
    let (good, report) = c.audit_verify();
    assert!(good, "{report}");
    assert_eq!(records(&report), 1);
    let second = c.sign_ok("treasury", &c.intent(|_| {}));
    assert_eq!(second.audit_index, 1);

    // A node that hangs (SIGSTOP) times out and is replaced.
    let pid = c.nodes[1].as_ref().unwrap().0.id().to_string();
    assert!(Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap()
        .success());
    let slow = c.sign_ok("treasury", &c.intent(|_| {}));
    assert!(Command::new("kill")
        .args(["-CONT", &pid])
        .status()
        .unwrap()
        .success());
    assert!(
        slow.excluded
            .iter()
            .any(|x| x.signer.get() == 2 && x.refusal.reason.contains("timed out")),
        "{:?}",
        slow.excluded
    );

    // A node that is down is replaced while three remain.
    c.kill_node(1);
    let third = c.sign_ok("treasury", &c.intent(|_| {}));
    assert!(
        third
            .excluded
            .iter()
            .any(|x| x.signer.get() == 1 && x.refusal.reason.contains("unreachable")),
        "{:?}",
        third.excluded
    );
    let ids: Vec<u64> = third.audit_record["signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signer_id"].as_u64().unwrap())
        .collect();
    assert!(!ids.contains(&1));

    // With three down only two remain: a clean refusal listing every signer.
    c.kill_node(2);
    c.kill_node(3);
    let out = c.sign("treasury", &c.intent(|_| {}));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("too_few_signers"), "{err}");

    let (good, report) = c.audit_verify();
    assert!(good, "{report}");
    assert_eq!(records(&report), 4);

    // A tampered log (one byte of a signature) fails verification.
    let lines =
        zkquorum::store::read_audit_lines(&c.dir.join("coordinator/coordinator.db")).unwrap();
    let sig = third.audit_record["signature"].as_str().unwrap();
    let mut flipped = sig.to_string();
    flipped.replace_range(0..1, if &sig[0..1] == "0" { "1" } else { "0" });
    let tampered = lines.join("\n").replace(sig, &flipped) + "\n";
    let path = c.dir.join("tampered.jsonl");
    std::fs::write(&path, tampered).unwrap();
    let out = zkq(&[
        "audit",
        "verify",
        path.to_str().unwrap(),
        "--keys",
        &c.path("keys"),
    ]);
    assert!(!out.status.success());
}

#[test]
fn node_killed_mid_session_restarts_and_never_reuses_a_nonce() {
    let mut c = Cluster::start();
    c.keygen("k");
    c.sign_ok("k", &c.intent(|_| {}));

    // Several sessions in flight, then SIGKILL node 2 in the middle of them.
    let intents: Vec<PathBuf> = (0..4).map(|_| c.intent(|_| {})).collect();
    let c_ref = &c;
    std::thread::scope(|s| {
        let handles: Vec<_> = intents
            .iter()
            .map(|i| s.spawn(move || c_ref.sign("k", i)))
            .collect();
        std::thread::sleep(Duration::from_millis(400));
        // SAFETY of the test: only the node's process is killed; `c` is borrowed
        // immutably by the threads, so kill through the child's pid.
        let pid = c_ref.nodes[1].as_ref().unwrap().0.id();
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
        for h in handles {
            let out = h.join().unwrap();
            // Either signed without node 2, or refused cleanly; never a crash.
            assert!(
                out.status.success() || String::from_utf8_lossy(&out.stderr).contains("refused"),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
    c.kill_node(2);
    let before = c.node_store(2).nonce_records().unwrap();
    assert!(!before.is_empty(), "node 2 took part in no session");
    eprintln!(
        "node 2 nonce states at the kill: {:?}",
        before.iter().map(|r| r.state).collect::<Vec<_>>()
    );
    c.start_node(2);
    // After the restart nothing is fresh: the nonces of the sessions cut off by the kill
    // lived only in the dead process, and their rows are abandoned, never signable.
    let after = c.node_store(2).nonce_records().unwrap();
    assert_eq!(after.len(), before.len());
    assert!(
        after.iter().all(|r| r.state != NonceState::Fresh),
        "{:?}",
        after.iter().map(|r| r.state).collect::<Vec<_>>()
    );
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.session, a.session);
        if b.state == NonceState::Fresh {
            assert_eq!(a.state, NonceState::Abandoned);
        }
    }

    // Node 2 comes back with its share and signs again: make it needed by killing 1 and 3.
    c.kill_node(1);
    c.kill_node(3);
    let resp = c.sign_ok("k", &c.intent(|_| {}));
    let ids: Vec<u64> = resp.audit_record["signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signer_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![2, 4, 5]);

    // Its nonce table: every commitment distinct, every session used at most once, and
    // the sessions cut off by the kill abandoned, not reusable.
    let store = c.node_store(2);
    let recs = store.nonce_records().unwrap();
    assert!(recs.len() >= 2, "{} nonce records", recs.len());
    let mut commitments: Vec<&Vec<u8>> = recs.iter().map(|r| &r.commitments).collect();
    commitments.sort();
    commitments.dedup();
    assert_eq!(commitments.len(), recs.len(), "a nonce commitment repeats");
    let mut sessions: Vec<_> = recs.iter().map(|r| r.session).collect();
    sessions.sort_by_key(|s| *s.as_bytes());
    sessions.dedup();
    assert_eq!(sessions.len(), recs.len(), "a session id repeats");
    assert!(recs
        .iter()
        .all(|r| r.state != NonceState::Fresh || r.used_at.is_none()));
    assert!(recs.iter().any(|r| r.state == NonceState::Used));
    let (good, report) = c.audit_verify();
    assert!(good, "{report}");
}

fn raw_client(c: &Cluster, with_cert: Option<(&str, &str)>, ca: &str) -> reqwest::Client {
    let ca = c.dir.join(ca);
    let tls = match with_cert {
        Some((cert, key)) => {
            zkquorum::tls::client_config(&c.dir.join(cert), &c.dir.join(key), &ca).unwrap()
        }
        None => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in zkquorum::tls::load_certs(&ca).unwrap() {
                roots.add(cert).unwrap();
            }
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth()
        }
    };
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inputs_get_clear_errors_and_servers_stay_up() {
    let c = tokio::task::block_in_place(|| {
        let c = Cluster::start();
        c.keygen("k");
        c
    });
    let api = format!("https://127.0.0.1:{}", c.base);
    let client = raw_client(&c, Some(("client/tls.pem", "client/tls.key")), "ca.pem");
    let post = |body: Vec<u8>| {
        client
            .post(format!("{api}/v1/sign"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let expect = |resp: reqwest::Response, status: u16, code: &'static str| async move {
        assert_eq!(resp.status().as_u16(), status);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"], code, "{body}");
        assert!(!body["message"].as_str().unwrap().is_empty());
    };
    let intent =
        Intent::from_json_str(&std::fs::read_to_string(c.dir.join("intent.example.json")).unwrap())
            .unwrap();
    let good = serde_json::json!({"key_id": "k", "intent": intent});

    expect(
        post(b"{not json".to_vec()).await.unwrap(),
        400,
        "bad_request",
    )
    .await;
    let mut wrong_type = good.clone();
    wrong_type["intent"]["amount"] = serde_json::json!("lots");
    expect(
        post(wrong_type.to_string().into_bytes()).await.unwrap(),
        400,
        "bad_request",
    )
    .await;
    let mut unknown_field = good.clone();
    unknown_field["sneaky"] = serde_json::json!(1);
    expect(
        post(unknown_field.to_string().into_bytes()).await.unwrap(),
        400,
        "bad_request",
    )
    .await;
    let mut bad_key = good.clone();
    bad_key["key_id"] = serde_json::json!("../etc/passwd");
    expect(
        post(bad_key.to_string().into_bytes()).await.unwrap(),
        400,
        "bad_request",
    )
    .await;
    // Just over the 256 KiB limit (a body far larger can be cut off mid-upload when the
    // server answers 413 and closes, which is also a refusal but not a readable one).
    let huge = vec![b' '; 300 * 1024];
    expect(post(huge).await.unwrap(), 413, "body_too_large").await;
    let mut unknown = good.clone();
    unknown["key_id"] = serde_json::json!("unknown");
    expect(
        post(unknown.to_string().into_bytes()).await.unwrap(),
        404,
        "unknown_key",
    )
    .await;
    let resp = client
        .get(format!("{api}/v1/sessions/nope"))
        .send()
        .await
        .unwrap();
    expect(resp, 404, "unknown_request").await;
    let resp = client
        .post(format!("{api}/v1/sign"))
        .header("content-type", "text/plain")
        .body(good.to_string())
        .send()
        .await
        .unwrap();
    expect(resp, 415, "unsupported_media_type").await;

    // The node port: no client certificate, or one from another cluster's CA: the handshake
    // is refused. The operator's certificate (right CA, not the coordinator): 403.
    let node = format!("https://127.0.0.1:{}/v1/status", c.base + 1);
    let anonymous = raw_client(&c, None, "ca.pem");
    assert!(anonymous.get(&node).send().await.is_err());
    let other = tokio::task::block_in_place(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("other");
        ok(&[
            "init",
            "--dir",
            dir.to_str().unwrap(),
            "--nodes",
            "2",
            "--threshold",
            "2",
            "--backend",
            "halo2",
        ]);
        (tmp, dir)
    });
    let foreign = {
        let tls = zkquorum::tls::client_config(
            &other.1.join("client/tls.pem"),
            &other.1.join("client/tls.key"),
            &c.dir.join("ca.pem"),
        )
        .unwrap();
        reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .build()
            .unwrap()
    };
    assert!(foreign.get(&node).send().await.is_err());
    let resp = client.get(&node).send().await.unwrap();
    expect(resp, 403, "forbidden").await;
    // The coordinator's API refuses a foreign certificate too.
    assert!(foreign
        .get(format!("{api}/v1/health"))
        .send()
        .await
        .is_err());

    // Everything is still up: a real request is signed, and idempotent on its request id.
    let req = SignRequest {
        key_id: KeyId::new("k").unwrap(),
        intent,
        request_id: Some("client-42".parse().unwrap()),
    };
    let a = c.api().sign(&req).await.unwrap();
    let b = c.api().sign(&req).await.unwrap();
    assert_eq!(a.signature, b.signature);
    assert_eq!(a.audit_index, b.audit_index);
    let status = c
        .api()
        .session(&"client-42".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(status.status, "signed");
    // The same request id for another key is refused.
    let mut other_key = req.clone();
    other_key.key_id = KeyId::new("unknown").unwrap();
    assert!(c.api().sign(&other_key).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_clients_twenty_five_requests_each() {
    let c = tokio::task::block_in_place(|| {
        let c = Cluster::start();
        c.keygen("load");
        c
    });
    let intent =
        Intent::from_json_str(&std::fs::read_to_string(c.dir.join("intent.example.json")).unwrap())
            .unwrap();
    let mut clients = Vec::new();
    for client in 0..8u64 {
        let api = c.api();
        let intent = intent.clone();
        clients.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for r in 0..25u64 {
                let mut i = intent.clone();
                i.nonce = client * 1000 + r;
                let req = SignRequest {
                    key_id: KeyId::new("load").unwrap(),
                    intent: i,
                    request_id: None,
                };
                out.push(api.sign(&req).await);
            }
            out
        }));
    }
    let mut signed = 0;
    for h in clients {
        for r in h.await.unwrap() {
            let resp: SignResponse =
                r.unwrap_or_else(|e: ClientError| panic!("request failed: {e}"));
            verifier::verify_bip340(&resp.x_only_key, &resp.digest, &resp.signature).unwrap();
            signed += 1;
        }
    }
    assert_eq!(signed, 200);
    let (good, report) = tokio::task::block_in_place(|| c.audit_verify());
    assert!(good, "{report}");
    assert_eq!(records(&report), 200);
}
