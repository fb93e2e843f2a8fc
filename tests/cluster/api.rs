//! The client API and the node API through real sockets: hostile inputs get their
//! documented 4xx, certificates are enforced, request ids are idempotent (also across keys),
//! `key_exists`, policy refusals (422 with the rule), a policy change taking effect at the
//! next round 1, and the nodes' clock-skew refusal.

use circuits::Policy;
use zkquorum::ids::KeyId;
use zkquorum::net::api::SignRequest;

use crate::fixture::{expect_error, init, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inputs_get_clear_errors_and_servers_stay_up() {
    let c = tokio::task::block_in_place(|| {
        let c = Cluster::start();
        c.keygen("k");
        c
    });
    let api = c.api_url();
    let client = c.operator();
    let post = |body: Vec<u8>| {
        client
            .post(format!("{api}/v1/sign"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let intent = c.example_intent();
    let good = serde_json::json!({"key_id": "k", "intent": intent});

    expect_error(
        post(b"{not json".to_vec()).await.unwrap(),
        400,
        "bad_request",
    )
    .await;
    let mut wrong_type = good.clone();
    wrong_type["intent"]["amount"] = serde_json::json!("lots");
    let resp = post(wrong_type.to_string().into_bytes()).await.unwrap();
    expect_error(resp, 400, "bad_request").await;
    let mut unknown_field = good.clone();
    unknown_field["sneaky"] = serde_json::json!(1);
    let resp = post(unknown_field.to_string().into_bytes()).await.unwrap();
    expect_error(resp, 400, "bad_request").await;
    let mut bad_key = good.clone();
    bad_key["key_id"] = serde_json::json!("../etc/passwd");
    let resp = post(bad_key.to_string().into_bytes()).await.unwrap();
    expect_error(resp, 400, "bad_request").await;
    // Just over the 256 KiB limit (a body far larger can be cut off mid-upload when the
    // server answers 413 and closes, which is also a refusal but not a readable one).
    let huge = vec![b' '; 300 * 1024];
    expect_error(post(huge).await.unwrap(), 413, "body_too_large").await;
    let mut unknown = good.clone();
    unknown["key_id"] = serde_json::json!("unknown");
    let resp = post(unknown.to_string().into_bytes()).await.unwrap();
    expect_error(resp, 404, "unknown_key").await;
    let resp = client
        .get(format!("{api}/v1/sessions/nope"))
        .send()
        .await
        .unwrap();
    expect_error(resp, 404, "unknown_request").await;
    let resp = client
        .post(format!("{api}/v1/sign"))
        .header("content-type", "text/plain")
        .body(good.to_string())
        .send()
        .await
        .unwrap();
    expect_error(resp, 415, "unsupported_media_type").await;

    // A second DKG under an existing key id: 409 `key_exists`, naming the key.
    let resp = client
        .post(format!("{api}/v1/keys"))
        .json(&serde_json::json!({"key_id": "k"}))
        .send()
        .await
        .unwrap();
    let err = expect_error(resp, 409, "key_exists").await;
    assert!(err["message"].as_str().unwrap().contains("key k "), "{err}");

    // The node port: no client certificate, or one from another cluster's CA: the handshake
    // is refused. The operator's certificate (right CA, not the coordinator): 403.
    let node = format!("{}/v1/status", c.node_urls[0]);
    let anonymous = c.raw_client(None, "ca.pem");
    assert!(anonymous.get(&node).send().await.is_err());
    let other = tokio::task::block_in_place(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("other");
        init(&dir, 2, 2);
        (tmp, dir)
    });
    let foreign = {
        let tls = zkquorum::net::tls::client_config(
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
    expect_error(resp, 403, "forbidden").await;
    // The coordinator's API refuses a foreign certificate too.
    assert!(foreign
        .get(format!("{api}/v1/health"))
        .send()
        .await
        .is_err());

    // Everything is still up: a real request is signed, and idempotent on its request id:
    // the replay returns the first outcome and signs nothing more (one audit record).
    let req = SignRequest {
        key_id: KeyId::new("k").unwrap(),
        intent,
        request_id: Some("client-42".parse().unwrap()),
    };
    let a = c.api().sign(&req).await.unwrap();
    let b = c.api().sign(&req).await.unwrap();
    assert_eq!(a.signature, b.signature);
    assert_eq!(a.audit_index, b.audit_index);
    assert_eq!(a.session, b.session);
    let status = c
        .api()
        .session(&"client-42".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(status.status, "signed");
    assert_eq!(tokio::task::block_in_place(|| c.audit_records()), 1);

    // A coordinator that sends a node records that do not extend what it witnessed: 409
    // from the wrong size, 422 `log_rejected` for a replayed record (it neither links to the
    // node's head nor carries the next index); the node's state does not move.
    let coordinator = c.raw_client(
        Some(("coordinator/tls.pem", "coordinator/tls.key")),
        "ca.pem",
    );
    let witness_url = format!("{}/v1/node/witness", c.node_urls[0]);
    let state = || async {
        coordinator
            .get(&witness_url)
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    // (The node witnesses the key record and the signing record in the background.)
    let mut before = state().await;
    for _ in 0..200 {
        if before["size"] == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        before = state().await;
    }
    assert_eq!(before["size"], 2, "{before}");
    let lines = tokio::task::block_in_place(|| {
        zkquorum::coordinator::store::read_audit_lines(&c.dir.join("coordinator/coordinator.db"))
            .unwrap()
    });
    let witness = |from: u64, line: &str| {
        coordinator.post(&witness_url).json(&serde_json::json!({
            "log_id": before["log_id"], "from": from, "lines": [line],
        }))
    };
    let resp = witness(1, &lines[1]).send().await.unwrap();
    expect_error(resp, 409, "witness_out_of_order").await;
    let resp = witness(2, &lines[1]).send().await.unwrap();
    let err = expect_error(resp, 422, "log_rejected").await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("does not witness these records"),
        "{err}"
    );
    assert_eq!(state().await, before);

    // The same request id for another existing key is refused, naming the key it was
    // submitted for; nothing is signed for the second key.
    tokio::task::block_in_place(|| c.keygen("k2"));
    let mut other_key = serde_json::to_value(&req).unwrap();
    other_key["key_id"] = serde_json::json!("k2");
    let resp = client
        .post(format!("{api}/v1/sign"))
        .json(&other_key)
        .send()
        .await
        .unwrap();
    let err = expect_error(resp, 400, "bad_request").await;
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains("client-42") && message.contains("submitted for key k,"),
        "{err}"
    );
    let status = c
        .api()
        .session(&"client-42".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(status.key_id.as_str(), "k");
    assert_eq!(tokio::task::block_in_place(|| c.audit_records()), 1);
}

/// The example policy with `max_amount` replaced, under a fresh salt (as an operator
/// writing a new policy would).
fn policy_with_max(c: &Cluster, max_amount: u64) -> std::path::PathBuf {
    let example = std::fs::read_to_string(c.dir.join("policy.example.toml")).unwrap();
    let p = Policy::from_toml_str(&example).unwrap();
    let p = Policy::new(
        p.asset(),
        max_amount,
        p.not_before(),
        p.allowlist().to_vec(),
        circuits::PolicySalt::random(&mut rand::rngs::OsRng),
    )
    .unwrap();
    let path = c.dir.join(format!("policy-{max_amount}.toml"));
    std::fs::write(&path, p.to_toml_string().unwrap()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_changes_apply_at_the_next_round_1_only_through_the_admins_and_nodes_refuse_clock_skew(
) {
    let c = tokio::task::block_in_place(|| {
        let c = Cluster::start();
        c.keygen("k");
        c
    });
    let api = c.api_url();
    let client = c.operator();
    let intent = c.example_intent();
    assert_eq!(intent.amount, 250_000);
    let sign = |nonce: u64| {
        let mut i = intent.clone();
        i.nonce = nonce;
        client
            .post(format!("{api}/v1/sign"))
            .json(&serde_json::json!({"key_id": "k", "intent": i}))
            .send()
    };
    assert!(sign(1).await.unwrap().status().is_success());

    // Every running node's policy is tightened below the intent's amount: the very next
    // request is refused, 422 with the rule, each signer asked naming it.
    let strict = policy_with_max(&c, 100_000);
    tokio::task::block_in_place(|| {
        (1..=5).for_each(|id| c.policy(id, &strict));
        c.govern_all(&strict);
    });
    let err = expect_error(sign(2).await.unwrap(), 422, "policy_violation").await;
    assert_eq!(err["rule"], "amount_above_limit", "{err}");
    let signers = err["signers"].as_array().unwrap();
    assert!(signers.len() >= 3, "{err}");
    for s in signers {
        assert_eq!(s["rule"], "amount_above_limit", "{s}");
        assert!(!s["reason"].as_str().unwrap().is_empty(), "{s}");
    }
    assert!(err["request_id"].as_str().is_some(), "{err}");
    // Refusals name the rule, never the values: neither the amount asked (250 000) nor the
    // limit (100 000) reaches the client or the coordinator's stored outcome.
    let stored = c.stored_outcomes();
    for text in [err.to_string(), stored] {
        assert!(
            !text.contains("250000") && !text.contains("100000"),
            "policy values leaked: {text}"
        );
    }

    // Every node's operator loosens its policy locally (with the node's passphrase, without
    // the admins) to a limit far above the amount: nothing changes, each node still proves
    // only the policy the admins registered, and the request is refused as before.
    let local = policy_with_max(&c, 1_000_000_000_000);
    tokio::task::block_in_place(|| (1..=5).for_each(|id| c.policy(id, &local)));
    let err = expect_error(sign(4).await.unwrap(), 422, "policy_violation").await;
    assert_eq!(err["rule"], "amount_above_limit", "{err}");

    // Loosened again through the admins: the next request is signed.
    let loose = policy_with_max(&c, 1_000_000);
    tokio::task::block_in_place(|| {
        (1..=5).for_each(|id| c.policy(id, &loose));
        c.govern_all(&loose);
    });
    assert!(sign(3).await.unwrap().status().is_success());
    assert_eq!(tokio::task::block_in_place(|| c.audit_records()), 2);

    // A round 1 whose session time is 1000 s from the node's clock is refused before any
    // nonce is made; the same round 1 at the node's time is answered (the coordinator's
    // certificate is the only one a node serves).
    let coordinator = c.raw_client(
        Some(("coordinator/tls.pem", "coordinator/tls.key")),
        "ca.pem",
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let rows = c.nonce_states(1).len();
    let round1 = |now: u64| {
        let body = serde_json::json!({
            "key_id": "k",
            "session": hex::encode(rand::random::<[u8; 32]>()),
            "intent": intent,
            "now": now,
            "signers": [1, 2, 3],
        });
        coordinator
            .post(format!("{}/v1/sign/round1", c.node_urls[0]))
            .json(&body)
            .send()
    };
    for skewed in [now - 1000, now + 1000] {
        let err = expect_error(round1(skewed).await.unwrap(), 400, "bad_request").await;
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains("from this signer's clock") && message.contains("30 s"),
            "{err}"
        );
        assert_eq!(
            c.nonce_states(1).len(),
            rows,
            "no nonce row for a skewed session"
        );
    }
    let resp = round1(now).await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    assert_eq!(c.nonce_states(1).len(), rows + 1);
}
