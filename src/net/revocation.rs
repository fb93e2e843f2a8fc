//! The revocation list: certificates (or whole keys) the cluster no longer accepts.
//!
//! A text file, `revoked.txt` next to the CA (`zkquorum ca revoke` appends to it) and, as
//! the admins distribute it, at the path `cluster.toml` names (`revoked`, by default
//! `revoked.txt` beside `cluster.toml`) on every server. One entry a line:
//!
//! ```text
//! # comments and blank lines are ignored
//! cert 5f1c…64 hex…  role=operator name="alice" serial=… revoked_at=1764547200
//! key  9a0b…64 hex…  role=node name="node-2" …
//! ```
//!
//! `cert` names one certificate by [`crate::net::tls::fingerprint`] (BLAKE3 of its DER):
//! what a grant change needs (the old grant revoked, a new one issued from the same request).
//! `key` names a key by [`crate::net::tls::key_fingerprint`]: every certificate of that key,
//! renewed or not, is refused — what a stolen key needs. The rest of a line is a comment.
//!
//! Servers hold a [`Revocations`], which re-reads the file when its modification time, size
//! or inode changes (checked on every request: one `stat`), so a revocation takes effect on
//! the next request, on connections already open too, without a restart. A missing file is
//! an empty list. A file that does not parse refuses every request (503
//! `revocation_list_invalid`, naming the line) rather than silently dropping revocations.
//! The list is not signed: it is trusted as the server's own configuration is.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use rustls_pki_types::CertificateDer;

use crate::net::api::ApiError;
use crate::net::roles::Peer;

/// The list's file name next to the CA and, by default, next to `cluster.toml`.
pub const REVOKED_FILE: &str = "revoked.txt";

/// What a revocation entry names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevokedKind {
    /// One certificate (BLAKE3 of its DER).
    Cert,
    /// A key (BLAKE3 of the SubjectPublicKeyInfo): every certificate of it.
    Key,
}

impl RevokedKind {
    fn as_str(self) -> &'static str {
        match self {
            RevokedKind::Cert => "cert",
            RevokedKind::Key => "key",
        }
    }
}

/// Why a request was refused by the revocation list, or the list could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RevocationError {
    /// The certificate, or its key, is on the list.
    #[error("the {} of this certificate ({}) is revoked", .kind.as_str(), hex::encode(.fingerprint))]
    Revoked {
        /// Certificate or key.
        kind: RevokedKind,
        /// The fingerprint listed.
        fingerprint: [u8; 32],
    },
    /// A line of the list does not parse.
    #[error("revocation list {path} line {line}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// The line, from 1.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// The list exists but cannot be read.
    #[error("revocation list {path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
}

impl RevocationError {
    /// The answer: 403 `revoked`, or 503 `revocation_list_invalid` when the list is unusable.
    pub fn to_api_error(&self) -> ApiError {
        match self {
            RevocationError::Revoked { .. } => {
                ApiError::new(StatusCode::FORBIDDEN, "revoked", self.to_string())
            }
            _ => {
                tracing::error!(error = %self, "revocation list unusable; refusing every request");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "revocation_list_invalid",
                    "the server's revocation list is unusable; see the server log",
                )
            }
        }
    }
}

/// A parsed list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevocationList {
    certs: HashSet<[u8; 32]>,
    keys: HashSet<[u8; 32]>,
}

impl RevocationList {
    /// Parses the list's text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Self, RevocationError> {
        let mut list = Self::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let invalid = |reason: String| RevocationError::Invalid {
                path: path.into(),
                line: i + 1,
                reason,
            };
            let mut words = line.split_whitespace();
            let kind = words.next().unwrap_or_default();
            let fp = words.next().unwrap_or_default();
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(fp, &mut bytes)
                .map_err(|_| invalid(format!("{fp:?} is not a fingerprint (64 hex characters)")))?;
            match kind {
                "cert" => list.certs.insert(bytes),
                "key" => list.keys.insert(bytes),
                other => return Err(invalid(format!("{other:?} is neither `cert` nor `key`"))),
            };
        }
        Ok(list)
    }

    /// Whether the certificate `fingerprint` with key `key_fingerprint` is revoked.
    pub fn check(
        &self,
        fingerprint: &[u8; 32],
        key_fingerprint: &[u8; 32],
    ) -> Result<(), RevocationError> {
        if self.certs.contains(fingerprint) {
            return Err(RevocationError::Revoked {
                kind: RevokedKind::Cert,
                fingerprint: *fingerprint,
            });
        }
        if self.keys.contains(key_fingerprint) {
            return Err(RevocationError::Revoked {
                kind: RevokedKind::Key,
                fingerprint: *key_fingerprint,
            });
        }
        Ok(())
    }

    /// Entries listed.
    pub fn len(&self) -> usize {
        self.certs.len() + self.keys.len()
    }

    /// Whether nothing is revoked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What identifies a file's content cheaply: modification time, length, inode; `None` for
/// a missing file.
pub(crate) type Stamp = Option<(std::time::SystemTime, u64, u64)>;

/// The [`Stamp`] of `path` now.
pub(crate) fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Some((m.modified().ok()?, m.len(), ino))
}

struct Cached {
    stamp: Stamp,
    list: Result<Arc<RevocationList>, RevocationError>,
}

/// A server's revocation list, re-read when its file changes.
pub struct Revocations {
    path: PathBuf,
    cached: Mutex<Cached>,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revocations")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Revocations {
    /// The list at `path` (read now; a missing file is an empty list).
    pub fn new(path: &Path) -> Self {
        let stamp = stamp(path);
        Self {
            path: path.to_path_buf(),
            cached: Mutex::new(Cached {
                stamp,
                list: read(path),
            }),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current list, re-read first if the file changed.
    pub fn list(&self) -> Result<Arc<RevocationList>, RevocationError> {
        let now = stamp(&self.path);
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if now != cached.stamp {
            cached.list = read(&self.path);
            cached.stamp = now;
            if let Ok(l) = &cached.list {
                tracing::info!(path = %self.path.display(), entries = l.len(), "revocation list reloaded");
            }
        }
        cached.list.clone()
    }

    /// `Ok` if `peer`'s certificate and key are not revoked (and the list is usable).
    pub fn check(&self, peer: &Peer) -> Result<(), RevocationError> {
        self.list()?.check(&peer.fingerprint, &peer.key_fingerprint)
    }
}

fn read(path: &Path) -> Result<Arc<RevocationList>, RevocationError> {
    match std::fs::read_to_string(path) {
        Ok(text) => RevocationList::parse(&text, &path.display().to_string()).map(Arc::new),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Arc::default()),
        Err(e) => Err(RevocationError::Unreadable {
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

/// Appends a revocation of `cert` (the certificate, or with [`RevokedKind::Key`] its key) to
/// the list at `path` (created if missing; rewritten atomically). Returns the line added.
/// A certificate without a parseable grant is revoked all the same (the comment says so).
pub fn revoke(
    path: &Path,
    cert: &CertificateDer<'_>,
    kind: RevokedKind,
    now: u64,
) -> Result<String, RevokeError> {
    let (_, x509) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| RevokeError::Cert(e.to_string()))?;
    let fp = match kind {
        RevokedKind::Cert => crate::net::tls::fingerprint(cert),
        RevokedKind::Key => *blake3::hash(x509.public_key().raw).as_bytes(),
    };
    let who = match Peer::from_der(cert) {
        Ok(p) => format!("role={} name={:?}", p.role, p.name),
        Err(e) => format!("grant=({e})"),
    };
    let line = format!(
        "{} {} {who} serial={} revoked_at={now}",
        kind.as_str(),
        hex::encode(fp),
        x509.raw_serial_as_string().replace(':', ""),
    );
    let mut text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "# zkquorum revocation list: `cert <fingerprint>` or `key <key fingerprint>`, one a line\n"
                .to_string()
        }
        Err(e) => return Err(RevokeError::Io(path.to_path_buf(), e)),
    };
    // The list as it stands must parse: appending to a broken file would hide the break.
    RevocationList::parse(&text, &path.display().to_string()).map_err(RevokeError::List)?;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&line);
    text.push('\n');
    crate::cluster::config::write_atomic(path, text.as_bytes(), false)
        .map_err(|e| RevokeError::Io(path.to_path_buf(), e))?;
    Ok(line)
}

/// Why a revocation could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// The certificate does not parse.
    #[error("certificate to revoke: {0}")]
    Cert(String),
    /// The existing list does not parse.
    #[error(transparent)]
    List(RevocationError),
    /// The list could not be read or written.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::roles::Role;
    use crate::net::tls::{CertRequest, ClusterCa, Grant};

    fn operator(ca: &ClusterCa, name: &str) -> CertificateDer<'static> {
        let req = CertRequest::generate(name, &[]).unwrap();
        let pem = ca
            .issue(&req.csr_pem, &Grant::new(Role::Operator, name))
            .unwrap();
        CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    }

    use rustls_pki_types::pem::PemObject;

    #[test]
    fn a_revocation_is_seen_after_the_file_changes_and_a_broken_list_refuses_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(REVOKED_FILE);
        let ca = ClusterCa::generate("t").unwrap();
        let (alice, bob) = (operator(&ca, "alice"), operator(&ca, "bob"));
        let peer = |c: &CertificateDer<'_>| Peer::from_der(c).unwrap();
        let list = Revocations::new(&path);
        // No file: nothing revoked.
        list.check(&peer(&alice)).unwrap();

        let line = revoke(&path, &alice, RevokedKind::Cert, 7).unwrap();
        assert!(
            line.starts_with("cert ") && line.contains("name=\"alice\""),
            "{line}"
        );
        match list.check(&peer(&alice)) {
            Err(RevocationError::Revoked { kind, fingerprint }) => {
                assert_eq!(kind, RevokedKind::Cert);
                assert_eq!(fingerprint, peer(&alice).fingerprint);
            }
            other => panic!("expected a revocation, got {other:?}"),
        }
        list.check(&peer(&bob)).unwrap();
        assert_eq!(
            list.check(&peer(&alice)).unwrap_err().to_api_error().error,
            "revoked"
        );

        // A key revocation refuses every certificate of the key (a renewal included).
        let req = CertRequest::generate("carol", &[]).unwrap();
        let issue = || {
            let pem = ca
                .issue(&req.csr_pem, &Grant::new(Role::Auditor, "carol"))
                .unwrap();
            CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
        };
        let (first, renewed) = (issue(), issue());
        assert_ne!(first, renewed);
        revoke(&path, &first, RevokedKind::Key, 8).unwrap();
        assert!(matches!(
            list.check(&peer(&renewed)),
            Err(RevocationError::Revoked {
                kind: RevokedKind::Key,
                ..
            })
        ));

        // A broken line: every check fails, naming the line; `revoke` refuses to append.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}cert nothex\n")).unwrap();
        match list.check(&peer(&bob)) {
            Err(e @ RevocationError::Invalid { .. }) => {
                assert!(e.to_string().contains("line 4"), "{e}");
                assert_eq!(e.to_api_error().error, "revocation_list_invalid");
            }
            other => panic!("expected an invalid list, got {other:?}"),
        }
        assert!(matches!(
            revoke(&path, &bob, RevokedKind::Cert, 9),
            Err(RevokeError::List(_))
        ));
        // Mended: bob passes again, alice is still revoked.
        std::fs::write(&path, text).unwrap();
        list.check(&peer(&bob)).unwrap();
        assert!(list.check(&peer(&alice)).is_err());
    }

    #[test]
    fn unknown_kinds_and_short_fingerprints_are_named() {
        for (text, needle) in [
            ("serial 00\n", "not a fingerprint"),
            (
                &format!("serial {}\n", "ab".repeat(32)),
                "neither `cert` nor `key`",
            ),
            ("# c\n\ncert abcd\n", "line 3"),
        ] {
            let err = RevocationList::parse(text, "r.txt")
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle) && err.contains("r.txt"), "{err}");
        }
        let ok = RevocationList::parse(
            &format!("# x\n  key {} anything else\n", "cd".repeat(32)),
            "r",
        )
        .unwrap();
        assert_eq!(ok.len(), 1);
        assert!(ok.check(&[0; 32], &[0xcd; 32]).is_err());
    }
}
