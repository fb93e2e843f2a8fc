//! Faults: the coordinator SIGKILLed and restarted, nodes down, a node SIGKILLed at a known
//! point of a session (its nonce row `fresh`), and a node that hangs (SIGSTOP).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use zkquorum::node::store::NonceState;

use crate::fixture::{expect_error, ok, zkq, zkq_env, Cluster};

#[test]
fn processes_sign_refuse_survive_restarts_and_audit() {
    let mut c = Cluster::start();
    let key = c.keygen("treasury");
    assert_eq!(key["threshold"], 3);
    assert_eq!(key["participants"], 5);
    assert_eq!(key["committed"], true);
    // The key record (every node's signature over the key) is the log's first line, and a
    // client checks it against the trust root before funding the key.
    let key_line = key["key_record"].as_str().unwrap().to_string();
    let verified = ok(&[
        "key",
        "verify",
        "--config",
        &c.path("client/client.toml"),
        "--key-id",
        "treasury",
        "--trust-root",
        &c.path("trust-root.json"),
        "--registry",
        &c.path("coordinator/coordinator.db"),
    ]);
    assert!(verified.contains("key record verified"), "{verified}");
    assert_eq!(verified.matches("signed with identity key").count(), 5);

    // The key's Taproot wallet: the stored (DKG) group key is the internal key, coins go to
    // its BIP-86 tweak Q. `keygen`'s answer, `key verify` and `zkquorum address` agree with
    // the wallet derived here, and an unknown network is refused.
    let x_only = key["x_only_key"].as_str().unwrap();
    let wallet = verifier::bitcoin::GroupWallet::from_internal_key(
        &hex::decode(x_only).unwrap().try_into().unwrap(),
    )
    .unwrap();
    assert_eq!(key["taproot"]["internal_key"], x_only);
    assert_eq!(
        key["taproot"]["output_key"],
        hex::encode(wallet.output_key())
    );
    let regtest = wallet
        .address(verifier::bitcoin::Network::Regtest)
        .to_string();
    let mainnet = wallet
        .address(verifier::bitcoin::Network::Bitcoin)
        .to_string();
    assert_eq!(key["taproot"]["addresses"]["regtest"], regtest);
    assert!(verified.contains(&mainnet), "{verified}");
    let address = |network: &str| {
        zkq(&[
            "address",
            "--config",
            &c.path("client/client.toml"),
            "--key-id",
            "treasury",
            "--network",
            network,
            "--trust-root",
            &c.path("trust-root.json"),
            "--registry",
            &c.path("coordinator/coordinator.db"),
        ])
    };
    let out = address("regtest");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), regtest);
    let out = address("mainnet");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown network"));

    // A compliant intent is signed by three signers; its record is in the log.
    let first = c.sign_ok("treasury", &c.intent(|_| {}));
    assert_eq!(first.audit_index, 1);
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

    // ZKQUORUM_COORDINATOR_URL overrides client.toml's (working) URL: pointed at a closed
    // port, the same request cannot reach the coordinator, and the error names that URL.
    let out = zkq_env(
        &[
            "sign",
            "--config",
            &c.path("client/client.toml"),
            "--key-id",
            "treasury",
            c.intent(|_| {}).to_str().unwrap(),
        ],
        &[("ZKQUORUM_COORDINATOR_URL", "https://127.0.0.1:9")],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("127.0.0.1:9"), "{err}");

    assert_eq!(c.audit_records(), 1);

    // The coordinator is killed and restarted: no audit record is lost, signing goes on.
    c.kill_coordinator();
    c.start_coordinator();
    assert_eq!(c.audit_records(), 1);
    let second = c.sign_ok("treasury", &c.intent(|_| {}));
    assert_eq!(second.audit_index, 2);

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

    // With three down only two remain: a clean refusal listing every signer. (The nodes
    // still up witness the third signature first: they do so after it was answered.)
    c.wait_witnessed();
    c.kill_node(2);
    c.kill_node(3);
    let out = c.sign("treasury", &c.intent(|_| {}));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("too_few_signers"), "{err}");

    assert_eq!(c.audit_records(), 3);

    // A tampered log (one byte of a signature) fails verification.
    let lines =
        zkquorum::coordinator::store::read_audit_lines(&c.dir.join("coordinator/coordinator.db"))
            .unwrap();
    // `sign --record-out` wrote each signed record exactly as the log stores it: after the
    // key record `keygen` returned, the file is the log, byte for byte, and verifies as one.
    assert_eq!(lines[0], key_line);
    let recorded = key_line + "\n" + &std::fs::read_to_string(c.dir.join("records.jsonl")).unwrap();
    std::fs::write(c.dir.join("records.jsonl"), &recorded).unwrap();
    assert_eq!(recorded, lines.join("\n") + "\n");
    // An auditor exports the same bytes over the API (`GET /v1/audit`), whole or from an
    // index on, and from the database file.
    let client = c.path("client-auditor/client.toml");
    ok(&[
        "audit",
        "export",
        "--config",
        &client,
        "--out",
        &c.path("api.jsonl"),
        "--checkpoints-out",
        &c.path("checkpoints.json"),
    ]);
    assert_eq!(
        std::fs::read_to_string(c.dir.join("api.jsonl")).unwrap(),
        recorded
    );
    ok(&[
        "audit",
        "export",
        "--config",
        &client,
        "--from",
        "1",
        "--out",
        &c.path("tail.jsonl"),
    ]);
    assert_eq!(
        std::fs::read_to_string(c.dir.join("tail.jsonl")).unwrap(),
        lines[1..].join("\n") + "\n"
    );
    let db = c.path("coordinator/coordinator.db");
    ok(&["audit", "export", "--db", &db, "--out", &c.path("db.jsonl")]);
    assert_eq!(
        std::fs::read_to_string(c.dir.join("db.jsonl")).unwrap(),
        recorded
    );
    // An auditor with the export, the checkpoints and the trust root: every record is
    // witnessed by at least the threshold of rostered nodes.
    let out = zkq(&[
        "audit",
        "verify",
        &c.path("records.jsonl"),
        "--keys",
        &c.path("keys"),
        "--trust-root",
        &c.path("trust-root.json"),
        "--registry",
        &db,
        "--checkpoints",
        &c.path("checkpoints.json"),
    ]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("witnessed: 4 record(s)"), "{report}");
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
        "--trust-root",
        &c.path("trust-root.json"),
        "--registry",
        &db,
        "--checkpoints",
        &c.path("checkpoints.json"),
    ]);
    assert!(!out.status.success());
}

/// Freezes node `id` (SIGSTOP) at a moment one of its nonce rows is `fresh`, i.e. inside a
/// session between its round 1 and its round 2. Stopped, the node runs no more code, so a
/// SIGKILL now cuts that session off. The node is left stopped.
///
/// What a reader sees while the node is stopped can still lag its durable state by a commit
/// (written to the WAL, not yet indexed), so the state at the kill is read after the kill,
/// when opening the database recovers the WAL.
fn freeze_with_fresh_row(c: &Cluster, id: u16, known: &[[u8; 32]]) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            Instant::now() < deadline,
            "node {id} never had a fresh nonce row"
        );
        let fresh_now = c
            .nonce_states(id)
            .iter()
            .any(|(s, state)| state == "fresh" && !known.contains(s));
        if fresh_now {
            c.node(id).signal("STOP");
            let still_fresh = c
                .nonce_states(id)
                .iter()
                .any(|(s, state)| state == "fresh" && !known.contains(s));
            if still_fresh {
                return;
            }
            // Its round 2 committed `used` between the two reads: let it go on, look again.
            c.node(id).signal("CONT");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn node_killed_mid_session_restarts_and_never_reuses_a_nonce() {
    let mut c = Cluster::start();
    c.keygen("k");
    c.sign_ok("k", &c.intent(|_| {}));
    let known: Vec<[u8; 32]> = c.nonce_states(2).into_iter().map(|(s, _)| s).collect();
    assert_eq!(known.len(), 1, "node 2 signed the first session");

    // Four sessions in flight; node 2 is SIGKILLed while it holds a fresh nonce row (a
    // session between its round 1 and its round 2).
    let intents: Vec<PathBuf> = (0..4).map(|_| c.intent(|_| {})).collect();
    std::thread::scope(|s| {
        let c_ref = &c;
        let handles: Vec<_> = intents
            .iter()
            .map(|i| s.spawn(move || c_ref.sign("k", i)))
            .collect();
        freeze_with_fresh_row(c_ref, 2, &known);
        c_ref.node(2).signal("KILL");
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
    // What the kill left: the sessions it cut off between round 1 and round 2 are fresh.
    let before = c.node_store(2).nonce_records().unwrap();
    let fresh_at_kill: Vec<[u8; 32]> = before
        .iter()
        .filter(|r| r.state == NonceState::Fresh)
        .map(|r| *r.session.as_bytes())
        .collect();
    assert!(!fresh_at_kill.is_empty(), "no session was cut off");
    c.start_node(2);
    // After the restart nothing is fresh: the nonces of the sessions cut off by the kill
    // lived only in the dead process, and their rows are abandoned, never signable.
    let after = c.node_store(2).nonce_records().unwrap();
    assert_eq!(after.len(), before.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.session, a.session);
        let expected = match b.state {
            NonceState::Fresh => NonceState::Abandoned,
            other => other,
        };
        assert_eq!(a.state, expected, "{:?}", a.session);
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
    assert!(recs.len() >= 3, "{} nonce records", recs.len());
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
    // Rows cut off by the kill are abandoned; every other row was used, once.
    for r in &recs {
        let cut_off = fresh_at_kill.contains(r.session.as_bytes());
        let expected = if cut_off {
            NonceState::Abandoned
        } else {
            NonceState::Used
        };
        assert_eq!(r.state, expected, "{:?}", r.session);
    }
    let (good, report) = c.audit_verify();
    assert!(good, "{report}");
}

/// A cluster whose coordinator gives each signer call 15 s (not 30): long enough that no
/// working signer misses it even on two loaded cores, short enough to wait out twice.
fn cluster_with_timeout() -> Cluster {
    let mut c = Cluster::new();
    c.coordinator_setting("signer_timeout_secs", 15);
    c.start_nodes();
    c.start_coordinator();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_nodes_time_out_and_a_running_request_is_not_run_twice() {
    let _quiet = crate::fixture::TIMING.lock().await;
    let mut c = tokio::task::block_in_place(|| {
        let c = cluster_with_timeout();
        c.keygen("k");
        c
    });

    // A node that hangs (SIGSTOP) times out and is replaced.
    c.node(2).signal("STOP");
    let slow = tokio::task::block_in_place(|| c.sign_ok("k", &c.intent(|_| {})));
    c.node(2).signal("CONT");
    assert!(
        slow.excluded
            .iter()
            .any(|x| x.signer.get() == 2 && x.refusal.reason.contains("timed out")),
        "{:?}",
        slow.excluded
    );

    // The nodes witness the signature in the background, after it was answered: let them
    // finish before they are frozen and killed below, or the log ends unwitnessed.
    tokio::task::block_in_place(|| c.wait_witnessed());

    // Every node hangs: a request stays running (until the nodes die or time out). While it
    // runs, the same request id is answered 409 `request_running`, not run a second time.
    for id in 1..=5 {
        c.node(id).signal("STOP");
    }
    let client = c.operator();
    let body = serde_json::json!({
        "key_id": "k", "request_id": "hung-1", "intent": c.example_intent(),
    });
    let sign = format!("{}/v1/sign", c.api_url());
    let first = tokio::spawn(client.post(&sign).json(&body).send());
    let session = format!("{}/v1/sessions/hung-1", c.api_url());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let resp = client.get(&session).send().await.unwrap();
        if resp.status().is_success() {
            let status: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(status["status"], "running", "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "request hung-1 never recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let again = client.post(&sign).json(&body).send().await.unwrap();
    let err = expect_error(again, 409, "request_running").await;
    assert!(err["message"].as_str().unwrap().contains("hung-1"), "{err}");

    // The hung nodes are killed rather than waited out (nothing here waits for a timer):
    // the first answer is 503 `too_few_signers`, no policy rule, each signer asked named
    // with why it was left out.
    for id in 1..=5 {
        c.kill_node(id);
    }
    let resp = first.await.unwrap().unwrap();
    let err = expect_error(resp, 503, "too_few_signers").await;
    assert_eq!(err["request_id"], "hung-1", "{err}");
    assert!(err.get("rule").is_none(), "{err}");
    let signers = err["signers"].as_array().unwrap();
    assert!(signers.len() >= 3, "{err}");
    for s in signers {
        assert!(s["signer"].as_u64().is_some(), "{s}");
        let reason = s["reason"].as_str().unwrap();
        assert!(
            reason.contains("unreachable") || reason.contains("timed out"),
            "{s}"
        );
        assert!(s.get("rule").is_none(), "{s}");
    }
    // The outcome is final: the same request id replays it, and the session says failed.
    let replayed = client.post(&sign).json(&body).send().await.unwrap();
    let again = expect_error(replayed, 503, "too_few_signers").await;
    assert_eq!(again["signers"], err["signers"]);
    let status: serde_json::Value = client
        .get(&session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "failed", "{status}");
    assert_eq!(tokio::task::block_in_place(|| c.audit_records()), 1);
}
