//! Governance through the real binary: a policy record proposed, approved by fewer than `k`
//! admins and refused, approved by `k` and accepted by the coordinator and every node;
//! a replay, a back-dated record and an approval by a non-admin key refused; a node whose newest governance
//! row was deleted refuses to start.

use std::process::Output;

use verifier::governance::SignedRecord;

use crate::fixture::{zkq, zkq_env, Cluster, N};

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Runs `zkquorum args`, which must fail; its stdout and stderr.
fn fails(args: &[&str]) -> String {
    let out = zkq(args);
    assert!(
        !out.status.success(),
        "zkquorum {args:?} succeeded:\n{}",
        text(&out)
    );
    text(&out)
}

/// Runs `zkquorum args`, which must succeed; its stdout and stderr.
fn succeeds(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = zkq_env(args, env);
    assert!(
        out.status.success(),
        "zkquorum {args:?} failed:\n{}",
        text(&out)
    );
    text(&out)
}

impl Cluster {
    /// `admin approve` of `proposal` with admin `i`'s key and its passphrase file.
    fn approve(&self, i: u16, proposal: &str) -> String {
        succeeds(
            &[
                "admin",
                "approve",
                "--key",
                &self.path(&format!("admins/admin-{i}.key")),
                "--passphrase-file",
                &self.path(&format!("admins/admin-{i}.passphrase")),
                "--trust-root",
                &self.path("trust-root.json"),
                proposal,
            ],
            &[],
        )
    }

    /// `admin propose … policy` of the example policy for signer 1, every key.
    fn propose_policy(&self, version: u64, out: &str) {
        succeeds(
            &[
                "admin",
                "propose",
                "--trust-root",
                &self.path("trust-root.json"),
                "--version",
                &version.to_string(),
                "policy",
                "--cluster",
                &self.path("cluster.toml"),
                "--key-id",
                "*",
                "--signer",
                "1",
                "--policy",
                &self.path("policy.example.toml"),
                "--out",
                out,
            ],
            &[],
        );
    }

    fn submit(&self, proposal: &str) -> Output {
        zkq(&[
            "admin",
            "submit",
            "--config",
            &self.path("client-admin/client.toml"),
            proposal,
        ])
    }
}

#[test]
fn admin_quorum_governs_and_a_rolled_back_node_refuses_to_start() {
    let mut c = Cluster::new();
    for id in 1..=N {
        c.start_node(id);
    }
    c.start_coordinator();
    let proposal = c.path("policy-v2.json");
    c.propose_policy(3, &proposal);

    // k - 1 = 1 approval: the coordinator refuses, saying how many are needed.
    c.approve(1, &proposal);
    let out = c.submit(&proposal);
    assert!(!out.status.success(), "{}", text(&out));
    let err = text(&out);
    assert!(err.contains("governance_too_few_approvals"), "{err}");
    assert!(
        err.contains("approved by 1 distinct admin(s), 2 needed"),
        "{err}"
    );

    // The k-th approval: accepted, and every node holds it once submit returns.
    c.approve(2, &proposal);
    let out = c.submit(&proposal);
    assert!(out.status.success(), "{}", text(&out));
    let accepted = text(&out);
    assert!(
        accepted.contains("accepted: record version 3"),
        "{accepted}"
    );
    for id in 1..=N {
        assert!(
            accepted.contains(&format!("node {id}: holds version 3")),
            "{accepted}"
        );
    }
    let shown = succeeds(
        &[
            "admin",
            "show",
            "--trust-root",
            &c.path("trust-root.json"),
            "--coordinator",
            &c.path("client-auditor/client.toml"),
        ],
        &[],
    );
    assert!(shown.contains("record version 3 (policy)"), "{shown}");
    assert!(shown.contains("approvals: 2 of 2 (admins #1"), "{shown}");
    assert!(shown.contains("head version 3"), "{shown}");
    let submitted = SignedRecord::from_json(&std::fs::read_to_string(&proposal).unwrap()).unwrap();
    let held = zkquorum::store::governance::read_records_at(&c.node_db(3)).unwrap();
    assert_eq!(held.len(), 3);
    assert_eq!(held[2], submitted);

    // The same record again: a replay.
    let err = text(&c.submit(&proposal));
    assert!(err.contains("governance_replayed"), "{err}");
    assert!(
        err.contains("record version 3 is a replay: the registry is already at version 3"),
        "{err}"
    );

    // A record that would take effect before the one it follows (back-dated to 1970):
    // refused, whoever approved it, since it would change what was in force in between.
    let backdated = c.path("policy-backdated.json");
    succeeds(
        &[
            "admin",
            "propose",
            "--trust-root",
            &c.path("trust-root.json"),
            "--version",
            "4",
            "--effective-from",
            "1",
            "policy",
            "--cluster",
            &c.path("cluster.toml"),
            "--signer",
            "1",
            "--policy",
            &c.path("policy.example.toml"),
            "--out",
            &backdated,
        ],
        &[],
    );
    c.approve(1, &backdated);
    c.approve(2, &backdated);
    let err = text(&c.submit(&backdated));
    assert!(err.contains("governance_backdated"), "{err}");
    assert!(
        err.contains("record version 4 takes effect at 1, before version 3"),
        "{err}"
    );

    // An approval by a key that is not an admin's.
    let outsider = c.path("outsider.key");
    let pass = [("ZKQUORUM_ADMIN_PASSPHRASE", "not an admin")];
    let out = zkq_env(&["admin", "keygen", "--out", &outsider], &pass);
    assert!(out.status.success(), "{}", text(&out));
    // stdout is the public key alone.
    let outsider_key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(outsider_key.len(), 64, "{outsider_key}");
    let v3 = c.path("policy-v3.json");
    c.propose_policy(4, &v3);
    // With the trust root at hand, `approve` refuses before signing...
    let err = fails(&[
        "admin",
        "approve",
        "--key",
        &outsider,
        "--passphrase-file",
        &c.path("admins/admin-1.passphrase"),
        &v3,
    ]);
    assert!(err.contains("wrong passphrase"), "{err}");
    let with_root = zkq_env(
        &[
            "admin",
            "approve",
            "--key",
            &outsider,
            "--trust-root",
            &c.path("trust-root.json"),
            &v3,
        ],
        &pass,
    );
    assert!(!with_root.status.success());
    assert!(
        text(&with_root).contains("is not an admin"),
        "{}",
        text(&with_root)
    );
    // ...without it, the approval is added and the coordinator refuses the record,
    // although two real admins approved it too.
    succeeds(&["admin", "approve", "--key", &outsider, &v3], &pass);
    c.approve(1, &v3);
    c.approve(2, &v3);
    let err = text(&c.submit(&v3));
    assert!(err.contains("governance_not_an_admin"), "{err}");
    assert!(err.contains(&outsider_key), "{err}");

    // Node 1's newest governance row deleted by hand (the trigger dropped first, as an
    // attacker with the file would): the node refuses to start.
    c.kill_node(1);
    let conn = rusqlite::Connection::open(c.node_db(1)).unwrap();
    conn.execute_batch(
        "DROP TRIGGER governance_no_delete;
         DELETE FROM governance WHERE version = (SELECT MAX(version) FROM governance);",
    )
    .unwrap();
    drop(conn);
    let err = fails(&["node", "--config", &c.node_config(1)]);
    assert!(err.contains("governance registry rolled back"), "{err}");
    assert!(
        err.contains("holds 2 record(s) but its sealed high-water mark is version 3"),
        "{err}"
    );
}
