//! Key registration needs all `n` nodes to sign the same public key package, and a key
//! signs only once every node committed it. Node 5 is put behind a test double: a TLS
//! server holding node 5's certificate that relays to the real node 5 (with the
//! coordinator's certificate) and, when told, answers the DKG's finish step with another
//! group's package, properly signed with node 5's identity key (exactly what a node shown
//! different broadcasts than the others would report), or is unreachable at the commit
//! step (node 5 down between the phases).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use rand::rngs::OsRng;
use signer::session::Identity;
use signer::taproot::Taproot;
use signer::Threshold;
use verifier::audit::{key_attestation_message, KeyStatement, LogEntry};
use zkquorum::ids::KeyId;
use zkquorum::net::api::DkgFinishReply;

use crate::fixture::{expect_error, Cluster};

#[derive(Clone)]
struct Double {
    /// The real node 5.
    target: String,
    http: reqwest::Client,
    /// Whether to report another package at `/v1/dkg/finish`.
    split: Arc<AtomicBool>,
    /// Whether to answer `/v1/dkg/commit` 503 without relaying it.
    down_at_commit: Arc<AtomicBool>,
    identity: Arc<Identity>,
    other: frost_core::keys::PublicKeyPackage<Taproot>,
}

async fn relay(State(d): State<Double>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if path == "/v1/dkg/commit" && d.down_at_commit.load(Ordering::SeqCst) {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let get = req.method() == axum::http::Method::GET;
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap();
    let url = format!("{}{path}", d.target);
    let call = if get {
        d.http.get(url)
    } else {
        d.http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec())
    };
    let resp = call.send().await.unwrap();
    let status = axum::http::StatusCode::from_u16(resp.status().as_u16()).unwrap();
    let mut bytes = resp.bytes().await.unwrap().to_vec();
    if path == "/v1/dkg/finish" && status.is_success() && d.split.load(Ordering::SeqCst) {
        let asked: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let key_id = KeyId::new(asked["key_id"].as_str().unwrap()).unwrap();
        let mut reply: DkgFinishReply = serde_json::from_slice(&bytes).unwrap();
        let package = d.other.serialize().unwrap();
        reply.public_key_package = d.other.clone();
        let statement = KeyStatement {
            key_id: key_id.as_str(),
            backend: 1,
            threshold: 3,
            participants: 5,
            roster_version: reply.roster_version,
            public_key_package: &package,
        };
        reply.attestation = d
            .identity
            .sign(
                &key_attestation_message(&statement, reply.signer.get()),
                &mut OsRng,
            )
            .unwrap();
        bytes = serde_json::to_vec(&reply).unwrap();
    }
    (status, [("content-type", "application/json")], bytes).into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_registered_only_when_all_nodes_sign_the_same_package() {
    let mut c = Cluster::new();
    let identity = {
        let secrets = c.node_store(5).identity().unwrap();
        Identity::from_bytes(&secrets.signing).unwrap()
    };
    tokio::task::block_in_place(|| (1..=5).for_each(|id| c.start_node(id)));

    let other = signer::keys::dealer::trusted_dealer::<Taproot, _>(
        Threshold::new(3, 5).unwrap(),
        &mut OsRng,
    )
    .unwrap()[0]
        .public_key_package()
        .clone();
    let split = Arc::new(AtomicBool::new(true));
    let down_at_commit = Arc::new(AtomicBool::new(false));
    let double = Double {
        down_at_commit: down_at_commit.clone(),
        target: c.node_urls[4].clone(),
        http: c.raw_client(
            Some(("coordinator/tls.pem", "coordinator/tls.key")),
            "ca.pem",
        ),
        split: split.clone(),
        identity: Arc::new(identity),
        other,
    };
    let tls = zkquorum::net::tls::server_config(
        &c.dir.join("node-5/tls.pem"),
        &c.dir.join("node-5/tls.key"),
        &c.dir.join("ca.pem"),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    c.node_urls[4] = format!("https://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(relay).with_state(double);
    tokio::spawn(zkquorum::net::serve::serve(
        listener,
        tls,
        app,
        std::future::pending(),
    ));
    tokio::task::block_in_place(|| c.start_coordinator());

    // Node 5 reports another (validly signed) package: 502 `dkg_failed` naming it, and the
    // key is not registered.
    let client = c.operator();
    let api = c.api_url();
    let create = |key: &str| {
        client
            .post(format!("{api}/v1/keys"))
            .json(&serde_json::json!({ "key_id": key }))
            .send()
    };
    let err = expect_error(create("split").await.unwrap(), 502, "dkg_failed").await;
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("signer #5 reports a different"), "{err}");
    let resp = client
        .get(format!("{api}/v1/keys/split"))
        .send()
        .await
        .unwrap();
    expect_error(resp, 404, "unknown_key").await;
    let keys: serde_json::Value = client
        .get(format!("{api}/v1/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys.as_array().map(Vec::len), Some(0), "{keys}");

    // The same relay, passing node 5's own answer through: the failed keygen is retried
    // under the same key id and the key is registered, so the refusal above came from the
    // split view and from nothing else in the relay.
    split.store(false, Ordering::SeqCst);
    let resp = create("split").await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let info: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(info["key_id"], "split");
    assert_eq!(info["participants"], 5);
    assert_eq!(info["committed"], true);
    let line = info["key_record"].as_str().unwrap();
    let LogEntry::Key(rec) = LogEntry::from_line(line.as_bytes()).unwrap() else {
        panic!("not a key record: {line}");
    };
    assert_eq!(rec.attestations.len(), 5);
    assert_eq!(
        hex::encode(rec.group_key),
        info["group_key"].as_str().unwrap()
    );
    expect_error(create("split").await.unwrap(), 409, "key_exists").await;

    // A coordinator that forges the commit (one node's signature altered) is refused by the
    // node it asks, naming the signer.
    let mut forged = rec.attestations.clone();
    forged[2].signature[10] ^= 1;
    let node = c.raw_client(
        Some(("coordinator/tls.pem", "coordinator/tls.key")),
        "ca.pem",
    );
    let resp = node
        .post(format!("{}/v1/dkg/commit", c.node_urls[0]))
        .json(&serde_json::json!({ "key_id": "split", "attestations": forged }))
        .send()
        .await
        .unwrap();
    let err = expect_error(resp, 409, "dkg_commit_refused").await;
    assert!(
        err["message"].as_str().unwrap().contains("signer 3"),
        "{err}"
    );

    // Node 5 is down when the key is to be committed: the key stays prepared (listed, not
    // committed, no key record, refused for signing); the retry resends the commit and
    // the same key (no second DKG) becomes usable.
    down_at_commit.store(true, Ordering::SeqCst);
    expect_error(create("late").await.unwrap(), 503, "dkg_failed").await;
    let prepared: serde_json::Value = client
        .get(format!("{api}/v1/keys/late"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prepared["committed"], false, "{prepared}");
    assert!(prepared.get("key_record").is_none(), "{prepared}");
    let resp = client
        .post(format!("{api}/v1/sign"))
        .json(&serde_json::json!({ "key_id": "late", "intent": c.example_intent() }))
        .send()
        .await
        .unwrap();
    expect_error(resp, 409, "key_not_committed").await;
    down_at_commit.store(false, Ordering::SeqCst);
    let resp = create("late").await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let late: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(late["committed"], true);
    assert_eq!(late["group_key"], prepared["group_key"]);
    assert!(late["key_record"].as_str().is_some());
}
