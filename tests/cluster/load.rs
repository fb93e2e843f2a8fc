//! A bounded concurrent load: eight clients × 25 requests against one cluster.

use zkquorum::ids::KeyId;
use zkquorum::net::api::{SignRequest, SignResponse};
use zkquorum::net::client::ClientError;

use crate::fixture::{Cluster, TIMING};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_clients_twenty_five_requests_each() {
    // Loads both cores for a while: never alongside the test that waits out a timeout.
    // This cluster keeps the default 30 s signer timeout, which no queued proof reaches.
    let _load = TIMING.lock().await;
    let c = tokio::task::block_in_place(|| {
        let c = Cluster::start();
        c.keygen("load");
        c
    });
    let intent = c.example_intent();
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
    assert_eq!(tokio::task::block_in_place(|| c.audit_records()), 200);
}
