//! The fixture of the process tests: a cluster made by `zkquorum init` whose servers are
//! separate `zkquorum node` / `zkquorum coordinator` processes on 127.0.0.1.
//!
//! Every server is started with `--listen 127.0.0.1:0` and `--ready-file`: the system picks a
//! free port at bind time and the server writes the address it bound once it serves, so no
//! port is probed, released and then bound by someone else. The fixture then writes the
//! nodes' addresses into `cluster.toml` (before the coordinator starts, which reads them) and
//! the coordinator's into `client/client.toml`. A restarted node binds its previous port again
//! (the coordinator knows it by that URL); a restarted coordinator gets a new one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use circuits::Intent;
use zkquorum::cluster::config::{ClientConfig, NodeConfig};
use zkquorum::net::api::SignResponse;
use zkquorum::net::client::ApiClient;
use zkquorum::node::store::NodeStore;

pub const BIN: &str = env!("CARGO_BIN_EXE_zkquorum");
pub const N: u16 = 5;

/// Held by the tests whose outcome depends on timing (a signer timeout) or that load both
/// cores (the concurrent load), so that they never run at the same time.
pub static TIMING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `zkquorum args` with `env` set, to completion.
pub fn zkq_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("ZKQUORUM_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .expect("run zkquorum")
}

/// Runs `zkquorum args` to completion.
pub fn zkq(args: &[&str]) -> Output {
    zkq_env(args, &[])
}

/// Runs `zkquorum args`, which must succeed; its stdout.
pub fn ok(args: &[&str]) -> String {
    let out = zkq(args);
    assert!(
        out.status.success(),
        "zkquorum {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `zkquorum init` of an `n`-node, threshold-`t` cluster at `dir`.
pub fn init(dir: &Path, n: u16, t: u16) {
    init_with(dir, n, t, &[]);
}

/// `zkquorum init` of an `n`-node, threshold-`t` cluster at `dir` with `extra` arguments.
pub fn init_with(dir: &Path, n: u16, t: u16, extra: &[&str]) {
    let (n, t) = (n.to_string(), t.to_string());
    let mut args = vec![
        "init",
        "--dir",
        dir.to_str().unwrap(),
        "--nodes",
        &n,
        "--threshold",
        &t,
    ];
    args.extend_from_slice(extra);
    ok(&args);
}

/// A process killed (SIGKILL) when dropped.
pub struct Proc(pub Child);

impl Proc {
    /// Sends `signal` (`STOP`, `CONT`, `KILL`) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.0.id().to_string();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {pid}");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns `zkquorum role --config config` with its stderr appended to `log`; `listen` and the
/// ready file are passed as flags, or through `ZKQUORUM_LISTEN` / `ZKQUORUM_READY_FILE` when
/// `via_env`.
pub fn spawn_server(
    role: &str,
    config: &Path,
    log: &Path,
    listen: SocketAddr,
    ready: &Path,
    via_env: bool,
    env: &[(&str, &str)],
) -> Proc {
    let _ = std::fs::remove_file(ready);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args([role, "--config", config.to_str().unwrap()])
        .env("ZKQUORUM_LOG", "warn,zkquorum=info")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log);
    if via_env {
        cmd.env("ZKQUORUM_LISTEN", listen.to_string())
            .env("ZKQUORUM_READY_FILE", ready);
    } else {
        cmd.args(["--listen", &listen.to_string(), "--ready-file"])
            .arg(ready);
    }
    Proc(cmd.spawn().unwrap())
}

/// Waits until the server `child` has written the address it bound to `ready`; fails with
/// its log if it exits first or takes more than 90 s.
pub fn wait_ready(ready: &Path, log: &Path, child: &mut Child) -> SocketAddr {
    let start = Instant::now();
    loop {
        // The server writes the file atomically (temporary file + rename).
        if let Ok(text) = std::fs::read_to_string(ready) {
            return text
                .parse()
                .unwrap_or_else(|e| panic!("{}: {text:?}: {e}", ready.display()));
        }
        let exited = child.try_wait().unwrap();
        assert!(
            exited.is_none() && start.elapsed() < Duration::from_secs(90),
            "{} never became ready (exit: {exited:?}); log:\n{}",
            ready.display(),
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Any free port, chosen by the system when the server binds.
pub fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Sets `table[key] = value` in the TOML file `path`.
pub fn edit_toml(path: &Path, edit: impl FnOnce(&mut toml::Table)) {
    let mut table: toml::Table = std::fs::read_to_string(path).unwrap().parse().unwrap();
    edit(&mut table);
    std::fs::write(path, toml::to_string(&table).unwrap()).unwrap();
}

/// A cluster whose servers run as separate processes.
pub struct Cluster {
    _tmp: tempfile::TempDir,
    /// The cluster directory `init` wrote.
    pub dir: PathBuf,
    /// The node processes, by id − 1 (`None`: not running).
    pub nodes: Vec<Option<Proc>>,
    /// The URL the coordinator calls each node at, by id − 1 (set when a node first binds).
    pub node_urls: Vec<String>,
    /// The coordinator process.
    pub coordinator: Option<Proc>,
    /// The coordinator's bound address.
    pub api_addr: Option<SocketAddr>,
}

impl Cluster {
    /// `init` of a 3-of-5 cluster; nothing running.
    pub fn new() -> Self {
        Self::new_with(&[])
    }

    /// `init` of a 3-of-5 cluster with `extra` arguments; nothing running.
    pub fn new_with(extra: &[&str]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("c");
        init_with(&dir, N, 3, extra);
        Cluster {
            _tmp: tmp,
            dir,
            nodes: (0..N).map(|_| None).collect(),
            node_urls: vec![String::new(); N as usize],
            coordinator: None,
            api_addr: None,
        }
    }

    /// `init`, every node with the example policy, and the coordinator running.
    pub fn start() -> Self {
        let mut c = Self::new();
        c.start_nodes();
        c.start_coordinator();
        c
    }

    /// Starts every node and gives each the example policy.
    pub fn start_nodes(&mut self) {
        for id in 1..=N {
            self.start_node(id);
            self.policy(id, &self.dir.join("policy.example.toml"));
        }
    }

    pub fn path(&self, rel: &str) -> String {
        self.dir.join(rel).to_str().unwrap().to_string()
    }

    pub fn node_config(&self, id: u16) -> String {
        self.path(&format!("node-{id}/node.toml"))
    }

    pub fn node_db(&self, id: u16) -> PathBuf {
        self.dir.join(format!("node-{id}/node.db"))
    }

    /// Starts node `id`: on any free port the first time (listen address through the
    /// environment), on the port it had before when restarted (through the flag).
    pub fn start_node(&mut self, id: u16) {
        let i = id as usize - 1;
        let log = self.dir.join(format!("node-{id}.log"));
        let ready = self.dir.join(format!("node-{id}.addr"));
        let first = self.node_urls[i].is_empty();
        let listen = if first {
            any_port()
        } else {
            self.node_urls[i]
                .trim_start_matches("https://")
                .parse()
                .unwrap()
        };
        let config = PathBuf::from(self.node_config(id));
        let mut p = spawn_server("node", &config, &log, listen, &ready, first, &[]);
        let addr = wait_ready(&ready, &log, &mut p.0);
        assert_ne!(addr.port(), 0);
        if !first {
            assert_eq!(addr, listen, "a restarted node keeps its port");
        }
        self.node_urls[i] = format!("https://{addr}");
        self.nodes[i] = Some(p);
    }

    /// The running node `id`.
    pub fn node(&self, id: u16) -> &Proc {
        self.nodes[id as usize - 1].as_ref().expect("node running")
    }

    /// SIGKILL (no chance to clean up).
    pub fn kill_node(&mut self, id: u16) {
        self.nodes[id as usize - 1] = None;
    }

    /// Sets a value in `coordinator/coordinator.toml` (before [`Self::start_coordinator`]).
    pub fn coordinator_setting(&self, key: &str, value: impl Into<toml::Value>) {
        let value = value.into();
        edit_toml(&self.dir.join("coordinator/coordinator.toml"), |t| {
            t.insert(key.into(), value);
        });
    }

    /// Writes the nodes' URLs into `cluster.toml`, starts the coordinator on any free port
    /// and points `client/client.toml` at it.
    pub fn start_coordinator(&mut self) {
        let urls = self.node_urls.clone();
        assert!(urls.iter().all(|u| !u.is_empty()), "every node has a URL");
        edit_toml(&self.dir.join("cluster.toml"), |t| {
            let nodes = t["nodes"].as_array_mut().unwrap();
            for (node, url) in nodes.iter_mut().zip(urls) {
                node.as_table_mut()
                    .unwrap()
                    .insert("url".into(), url.into());
            }
        });
        let log = self.dir.join("coordinator.log");
        let ready = self.dir.join("coordinator.addr");
        let config = self.dir.join("coordinator/coordinator.toml");
        let mut p = spawn_server("coordinator", &config, &log, any_port(), &ready, false, &[]);
        let addr = wait_ready(&ready, &log, &mut p.0);
        // The operator's, the admin's and the auditor's clients.
        for client in ["client", "client-admin", "client-auditor"] {
            edit_toml(&self.dir.join(client).join("client.toml"), |t| {
                t.insert("coordinator_url".into(), format!("https://{addr}").into());
            });
        }
        self.api_addr = Some(addr);
        self.coordinator = Some(p);
    }

    pub fn kill_coordinator(&mut self) {
        self.coordinator = None;
    }

    /// The coordinator's client API base URL.
    pub fn api_url(&self) -> String {
        format!("https://{}", self.api_addr.expect("coordinator started"))
    }

    pub fn policy(&self, id: u16, file: &Path) {
        ok(&[
            "policy",
            "set",
            "--config",
            &self.node_config(id),
            file.to_str().unwrap(),
        ]);
    }

    /// Registers `file` as every signer's policy for every key: the next governance record,
    /// proposed, approved by admins 1 and 2 (the quorum) and submitted with the admin
    /// certificate, as policy admins would. The running coordinator pushes it to the nodes.
    pub fn govern_all(&self, file: &Path) {
        let head = zkquorum::store::governance::read_records_at(
            &self.dir.join("coordinator/coordinator.db"),
        )
        .unwrap()
        .len();
        let proposal = self.path(&format!("proposal-{}.json", head + 1));
        // In force from the next second on: sessions already signed (at `now` up to this
        // second) stay governed by the policy they were signed under, for the auditor too.
        let from = zkquorum::clock::unix_now() + 1;
        let mut args: Vec<String> = [
            "admin",
            "propose",
            "--trust-root",
            &self.path("trust-root.json"),
            "--version",
            &(head + 1).to_string(),
            "--effective-from",
            &from.to_string(),
            "policy",
            "--cluster",
            &self.path("cluster.toml"),
            "--key-id",
            "*",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for id in 1..=N {
            args.extend(["--signer".into(), id.to_string()]);
            args.extend(["--policy".into(), file.to_str().unwrap().to_string()]);
        }
        args.extend(["--out".into(), proposal.clone()]);
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        for i in 1..=2 {
            ok(&[
                "admin",
                "approve",
                "--key",
                &self.path(&format!("admins/admin-{i}.key")),
                "--passphrase-file",
                &self.path(&format!("admins/admin-{i}.passphrase")),
                &proposal,
            ]);
        }
        ok(&[
            "admin",
            "submit",
            "--config",
            &self.path("client-admin/client.toml"),
            &proposal,
        ]);
        while zkquorum::clock::unix_now() < from {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn keygen(&self, key: &str) -> serde_json::Value {
        let out = ok(&[
            "keygen",
            "--config",
            &self.path("client/client.toml"),
            "--key-id",
            key,
        ]);
        serde_json::from_str(&out).unwrap()
    }

    /// The example intent with a fresh nonce, edited by `edit`, written to a file.
    pub fn intent(&self, edit: impl FnOnce(&mut Intent)) -> PathBuf {
        let mut intent = self.example_intent();
        intent.nonce = rand::random();
        edit(&mut intent);
        let path = self.dir.join(format!("intent-{}.json", intent.nonce));
        std::fs::write(&path, intent.to_json_string()).unwrap();
        path
    }

    pub fn example_intent(&self) -> Intent {
        Intent::from_json_str(
            &std::fs::read_to_string(self.dir.join("intent.example.json")).unwrap(),
        )
        .unwrap()
    }

    /// `zkquorum sign`, appending each signed record to `records.jsonl` (`--record-out`).
    pub fn sign(&self, key: &str, intent: &Path) -> Output {
        zkq(&[
            "sign",
            "--config",
            &self.path("client/client.toml"),
            "--key-id",
            key,
            "--record-out",
            &self.path("records.jsonl"),
            intent.to_str().unwrap(),
        ])
    }

    pub fn sign_ok(&self, key: &str, intent: &Path) -> SignResponse {
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

    /// Waits until the threshold of nodes signed the coordinator's whole log
    /// ([`wait_witnessed`]).
    pub fn wait_witnessed(&self) {
        wait_witnessed(&self.dir.join("coordinator/coordinator.db"), 3);
    }

    /// `zkquorum audit verify` of the coordinator's database, once witnessed: (passed, its
    /// output).
    pub fn audit_verify(&self) -> (bool, String) {
        self.wait_witnessed();
        let out = zkq(&[
            "audit",
            "verify",
            &self.path("coordinator/coordinator.db"),
            "--keys",
            &self.path("keys"),
            "--trust-root",
            &self.path("trust-root.json"),
        ]);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    /// The number of records in a log that verifies.
    /// Every request outcome the coordinator stored (its `requests.result` column), joined.
    pub fn stored_outcomes(&self) -> String {
        let db = rusqlite::Connection::open_with_flags(
            self.dir.join("coordinator/coordinator.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let mut stmt = db.prepare("SELECT result FROM requests").unwrap();
        let rows = stmt
            .query_map([], |r| r.get::<_, Option<String>>(0))
            .unwrap();
        rows.map(|r| r.unwrap().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn audit_records(&self) -> u64 {
        let (good, report) = self.audit_verify();
        assert!(good, "{report}");
        records(&report)
    }

    pub fn api(&self) -> ApiClient {
        ApiClient::from_config(&ClientConfig::load(&self.dir.join("client/client.toml")).unwrap())
            .unwrap()
    }

    /// Opens node `id`'s store (the node must not be running).
    pub fn node_store(&self, id: u16) -> NodeStore {
        let (config, _) = NodeConfig::load(Path::new(&self.node_config(id))).unwrap();
        NodeStore::open(&config.db, config.passphrase().unwrap().as_bytes()).unwrap()
    }

    /// `(session, state)` of every nonce row of node `id`, read without writing (the node
    /// may be running: its database is in WAL mode, so a reader sees the last commit).
    pub fn nonce_states(&self, id: u16) -> Vec<([u8; 32], String)> {
        let conn = rusqlite::Connection::open_with_flags(
            self.node_db(id),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .unwrap();
        let mut stmt = conn
            .prepare("SELECT session, state FROM nonces ORDER BY rowid")
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                let s: Vec<u8> = r.get(0)?;
                Ok((s.try_into().unwrap(), r.get(1)?))
            })
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        rows
    }

    /// An HTTPS client of this cluster: with the certificate `with_cert` (`(cert, key)`
    /// relative to the cluster directory) or none, trusting the CA file `ca`.
    pub fn raw_client(&self, with_cert: Option<(&str, &str)>, ca: &str) -> reqwest::Client {
        let ca = self.dir.join(ca);
        let tls = match with_cert {
            Some((cert, key)) => {
                zkquorum::net::tls::client_config(&self.dir.join(cert), &self.dir.join(key), &ca)
                    .unwrap()
            }
            None => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in zkquorum::net::tls::load_certs(&ca).unwrap() {
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
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap()
    }

    /// A client with the operator's certificate (the client API's usual caller).
    pub fn operator(&self) -> reqwest::Client {
        self.raw_client(Some(("client/tls.pem", "client/tls.key")), "ca.pem")
    }
}

/// Waits (10 s at most) until `min` nodes signed the whole log in the coordinator database
/// `db`: the nodes witness in the background, after the request that appended was answered.
pub fn wait_witnessed(db: &Path, min: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let size = zkquorum::coordinator::store::read_audit_lines(db).map_or(0, |l| l.len() as u64);
        let covering = zkquorum::coordinator::store::read_witnesses(db)
            .map_or(0, |w| w.iter().filter(|s| s.size >= size).count());
        if covering >= min || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `signatures:` count (signing records) of an `audit verify` report.
pub fn records(report: &str) -> u64 {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix("signatures:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no record count in {report}"))
}

/// Asserts an error answer: its status, its `error` code, a non-empty `message`; returns the
/// body for further checks.
pub async fn expect_error(resp: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    let got = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(
        !body["message"].as_str().unwrap_or_default().is_empty(),
        "{body}"
    );
    body
}
