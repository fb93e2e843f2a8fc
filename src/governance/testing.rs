//! Test fixtures: admins, a trust root and a short chain of records (genesis roster, then
//! policy records) for the store and route tests.

use verifier::governance::{
    PolicyAssignment, PolicyAssignments, RecordContent, Roster, RosterNode, SignedRecord, TrustRoot,
};

use super::admin_key::AdminKey;
use super::proposal::propose;

/// Three admins, threshold 2.
pub(crate) struct Admins {
    pub keys: Vec<AdminKey>,
    pub trust: TrustRoot,
}

impl Admins {
    pub fn new() -> Self {
        let keys: Vec<AdminKey> = (0..3).map(|_| AdminKey::generate()).collect();
        let trust =
            TrustRoot::new("test", keys.iter().map(AdminKey::public_key).collect(), 2).unwrap();
        Self { keys, trust }
    }

    /// `content` as version `version`, approved by the first `approvals` admins.
    pub fn record(&self, version: u64, content: RecordContent, approvals: usize) -> SignedRecord {
        let mut s = propose(&self.trust, version, 0, content);
        for k in &self.keys[..approvals] {
            s.add_approval(k.approve(&s.record).unwrap());
        }
        s
    }

    /// The genesis roster (3 nodes, 2-of-3) approved by two admins.
    pub fn genesis(&self) -> SignedRecord {
        let nodes = (1..=3u16)
            .map(|id| RosterNode {
                id,
                url: format!("https://127.0.0.1:{}", 7700 + id),
                identity_key: AdminKey::generate().public_key(),
                hpke_key: [id as u8; 32],
                tls_fingerprint: [0x40 + id as u8; 32],
            })
            .collect();
        let roster = Roster {
            nodes,
            coordinator_tls_fingerprint: [0xcc; 32],
            threshold: 2,
            spend_keys: Vec::new(),
            verifying_keys: vec![verifier::governance::PinnedKey {
                backend: circuits::BackendId::Groth16Bn254,
                fingerprint: [0xf1; 32],
            }],
        };
        self.record(1, RecordContent::Roster(roster), 2)
    }

    /// A policy record assigning `P = p` (a small integer) to signer 1 for every key.
    pub fn policy(&self, version: u64, p: u8) -> SignedRecord {
        let mut commitment = [0u8; 32];
        commitment[0] = p;
        let content = RecordContent::Policy(PolicyAssignments {
            assignments: vec![PolicyAssignment {
                key_id: "*".into(),
                signer: 1,
                backend: circuits::BackendId::Groth16Bn254,
                commitment,
            }],
        });
        self.record(version, content, 2)
    }
}
