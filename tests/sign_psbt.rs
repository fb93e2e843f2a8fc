//! Spending bitcoin through the service: a 2-of-3 cluster on loopback (`LocalCluster`,
//! mutual TLS, separate node databases) signs PSBTs with `POST /v1/sign-psbt`. Each node
//! holds its own sealed spend policy (`policy set --spend`), the admins register their
//! commitments (`spend_policy` record), every node derives the spend from the PSBT itself on
//! its own network, and the coordinator finalizes the transaction and logs the spend.
//!
//! Checked: the signed transaction passes Bitcoin Core's consensus check; the coordinator's
//! log (spend record included) verifies with the key directory's spend keys and the
//! registry, and lists the txid; a payee outside the allowlist is refused with 422
//! `spend_policy_violation`, each signer naming the rule and the output; a foreign input
//! is refused before any node is asked; the same request id replays the first outcome;
//! once the admins pin another spend key, the coordinator refuses (409
//! `spend_key_not_pinned`), and so does each node asked directly by a coordinator that
//! skips that check.

mod common;

use std::sync::Arc;

use bitcoin::{Address, Psbt, TxOut};
use circuits::spend::SizeClass;
use common::btc::{consensus_check, external, funding, pay, spend_psbt};
use prover::groth16::Groth16System;
use verifier::audit::{verify_log, AuditKeys};
use verifier::bitcoin::{GroupWallet, Network};
use zkquorum::cluster::local::LocalCluster;
use zkquorum::ids::{KeyId, RequestId};
use zkquorum::net::api::spend::SignPsbtRequest;
use zkquorum::net::client::ClientError;

const KDF: signer::KdfParams = signer::KdfParams {
    m_cost: 8 * 1024,
    t_cost: 1,
    p_cost: 1,
};

/// A spend policy file of signer `id`: regtest, at most 60 000 sat out, 2 000 sat fee,
/// payees `external(0..4)`.
fn policy_file(id: u16) -> String {
    let allow: Vec<String> = (0..4)
        .map(|i| {
            format!(
                "\"{}\"",
                Address::from_script(&external(i), Network::Regtest).unwrap()
            )
        })
        .collect();
    format!(
        "network = \"regtest\"\nmax_total_sat = 60000\nmax_fee_sat = 2000\nnot_before = 0\n\
         allowlist = [{}]\nsalt = \"{}\"\n",
        allow.join(", "),
        hex::encode([id as u8; 32])
    )
}

fn base64(psbt: &Psbt) -> String {
    psbt.to_string()
}

#[test]
fn psbts_are_signed_refused_replayed_and_audited_through_the_service() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalCluster::start_with::<Groth16System>(
            &dir.path().join("c"),
            circuits::BackendId::Groth16Bn254,
            2,
            3,
            KDF,
            &[SizeClass::Two],
        )
        .await
        .unwrap();
        let client = local.client().unwrap();
        let key_id = KeyId::new("vault").unwrap();
        let key = client.create_key(&key_id).await.unwrap();
        let wallet =
            GroupWallet::from_internal_key(&key.taproot.as_ref().unwrap().internal_key).unwrap();

        let mut policies = Vec::new();
        for id in 1..=3u16 {
            let text = policy_file(id);
            local.set_spend_policy(id, text.clone()).await.unwrap();
            policies.push((
                id,
                verifier::bitcoin::spend_policy_from_toml(&text).unwrap(),
            ));
        }
        local
            .govern_spend_policies(key_id.as_str(), &policies, 2)
            .await
            .unwrap();

        // A 1-in/2-out payment: 30 000 sat to an allowlisted payee, change to the group.
        let fund = funding(wallet.script_pubkey(), &[100_000]);
        let change = pay(wallet.script_pubkey().clone(), 68_500);
        let psbt = spend_psbt(
            &wallet,
            std::slice::from_ref(&fund),
            vec![pay(external(1), 30_000), change],
            0,
        );
        let req = SignPsbtRequest {
            key_id: key_id.clone(),
            psbt: base64(&psbt),
            request_id: Some(RequestId::new("pay-1").unwrap()),
        };
        let signed = client.sign_psbt(&req).await.unwrap();
        let tx: bitcoin::Transaction =
            bitcoin::consensus::deserialize(&hex::decode(&signed.tx_hex).unwrap()).unwrap();
        assert_eq!(tx.compute_txid().to_string(), signed.txid);
        let spent: Vec<TxOut> = fund.output.clone();
        consensus_check(&tx, &spent).unwrap();

        // The same request id: the first outcome, not a second signing.
        let again = client.sign_psbt(&req).await.unwrap();
        assert_eq!(again.txid, signed.txid);
        assert_eq!(again.audit_index, signed.audit_index);

        // A payee outside every allowlist: refused by the policies, rule and output named.
        let bad = spend_psbt(
            &wallet,
            &[funding(wallet.script_pubkey(), &[50_000])],
            vec![
                pay(external(9), 20_000),
                pay(wallet.script_pubkey().clone(), 29_000),
            ],
            0,
        );
        match client
            .sign_psbt(&SignPsbtRequest {
                key_id: key_id.clone(),
                psbt: base64(&bad),
                request_id: None,
            })
            .await
        {
            Err(ClientError::Api(e)) => {
                assert_eq!(e.status, 422, "{e:?}");
                assert_eq!(e.error, "spend_policy_violation", "{e:?}");
                let signers = e.signers.unwrap();
                assert!(!signers.is_empty());
                for s in signers {
                    assert!(
                        s.refusal.reason.contains("(output 0)"),
                        "{}",
                        s.refusal.reason
                    );
                }
            }
            other => panic!("not refused: {other:?}"),
        }

        // A foreign input (another key's output): refused before any node is asked.
        let other = GroupWallet::from_internal_key(&[0x79; 32])
            .unwrap_or_else(|_| GroupWallet::from_internal_key(&wallet.output_key()).unwrap());
        let mut foreign = spend_psbt(
            &wallet,
            &[funding(other.script_pubkey(), &[40_000])],
            vec![pay(external(0), 39_000)],
            0,
        );
        foreign.inputs[0].tap_internal_key = Some(other.untweaked_internal_key());
        match client
            .sign_psbt(&SignPsbtRequest {
                key_id: key_id.clone(),
                psbt: base64(&foreign),
                request_id: None,
            })
            .await
        {
            Err(ClientError::Api(e)) => {
                assert_eq!(e.error, "psbt_refused", "{e:?}");
                assert!(e.message.contains("input 0"), "{}", e.message);
            }
            other => panic!("not refused: {other:?}"),
        }

        // The log verifies with the key directory (intent and spend keys) and the registry.
        let trust = verifier::governance::TrustRoot::load(&local.cluster.trust_root).unwrap();
        let records = zkquorum::store::governance::read_records_at(&local.coordinator_db).unwrap();
        let registry = verifier::governance::Registry::from_records(trust, records).unwrap();
        let keys = AuditKeys::load_dir(&local.cluster.keys_dir)
            .unwrap()
            .with_registry(Arc::new(registry));
        let lines = zkquorum::coordinator::store::read_audit_lines(&local.coordinator_db).unwrap();
        let report = verify_log(std::io::Cursor::new(lines.join("\n") + "\n"), &keys);
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        assert_eq!(report.txids, vec![signed.txid.clone()]);

        // The admins pin another 2-output spend key (a new key ceremony whose keys these
        // processes have not loaded): nothing proves under the old one any more.
        let mut roster =
            zkquorum::governance::proposal::roster_from_cluster(&local.cluster, |id| {
                zkquorum::governance::proposal::default_node_cert(&local.layout.dir, id)
            })
            .unwrap();
        assert_eq!(roster.spend_keys.len(), 1);
        roster.spend_keys[0].fingerprint = [0x5a; 32];
        local
            .govern(verifier::governance::RecordContent::Roster(roster), 2)
            .await
            .unwrap();
        let next = spend_psbt(
            &wallet,
            &[funding(wallet.script_pubkey(), &[70_000])],
            vec![
                pay(external(2), 20_000),
                pay(wallet.script_pubkey().clone(), 49_000),
            ],
            0,
        );
        // The coordinator refuses before asking anyone ...
        match client
            .sign_psbt(&SignPsbtRequest {
                key_id: key_id.clone(),
                psbt: base64(&next),
                request_id: None,
            })
            .await
        {
            Err(ClientError::Api(e)) => {
                assert_eq!((e.status, e.error.as_str()), (409, "spend_key_not_pinned"));
            }
            other => panic!("signed under an unpinned key: {other:?}"),
        }
        // ... and a coordinator that skips its own check (played here with its certificate)
        // gets no proof either: each node checks the roster itself.
        let (config, cluster) =
            zkquorum::cluster::config::CoordinatorConfig::load(&local.layout.coordinator())
                .unwrap();
        let identity = Arc::new(
            zkquorum::net::tls::ReloadingCert::load(&config.tls_cert, &config.tls_key).unwrap(),
        );
        let http = zkquorum::net::client::HttpClient::for_nodes(
            &cluster.nodes,
            identity,
            &cluster.ca,
            None,
            std::time::Duration::from_secs(30),
        )
        .unwrap();
        let liar = zkquorum::net::client::NodeClient::new(
            cluster.nodes[0].id,
            &cluster.nodes[0].url,
            key_id.clone(),
            http,
        );
        let request = signer::session::spend::SpendRound1Request {
            session: signer::SessionId::random(&mut rand::rngs::OsRng),
            psbt: next.serialize(),
            network: Network::Regtest,
            now: zkquorum::clock::unix_now(),
            signers: cluster.nodes.iter().map(|n| n.id).collect(),
        };
        let refusal = liar
            .spend_round1(&request, std::time::Duration::from_secs(60))
            .await
            .expect_err("a node proved under a key the roster does not pin");
        assert!(
            refusal.reason.contains("this node's 2-output spend key")
                && refusal.reason.contains("is not the one the roster pins"),
            "{refusal:?}"
        );
        local.shutdown().await;
    });
}
