//! HTTPS clients (reqwest over rustls, mutual TLS): the coordinator's client for signer
//! nodes ([`NodeClient`]) and the client API's client ([`ApiClient`], used
//! by the CLI, the demo and the tests).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use signer::session::{Round1Reply, Round1Request, Round2Reply, Round2Request};
use signer::taproot::Taproot;
use signer::SignerId;

use crate::cluster::config::NodeEntry;
use crate::coordinator::Refusal;
use crate::ids::{KeyId, RequestId};
use crate::net::api::governance::GovernanceList;
use crate::net::api::{
    ApiError, AuditPage, CreateKey, KeyInfo, Round1ReplyWire, Round2ReplyWire, SessionStatus,
    SignRequest, SignResponse, SignRound1, SignRound2,
};
use crate::net::revocation::Revocations;
use crate::net::tls::{client_config_expecting, ExpectedServer, ReloadingCert};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached or did not answer in time.
    #[error("{url}: {reason}")]
    Transport {
        /// The URL called.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The server answered with an error.
    #[error("{0}")]
    Api(ApiError),
    /// The reply body is larger than the client reads; it was refused unread.
    #[error("{url}: reply larger than {limit} bytes")]
    ReplyTooLarge {
        /// The URL called.
        url: String,
        /// The client's reply limit, bytes.
        limit: usize,
    },
    /// The URL is not a rostered node's: the coordinator's node client calls nothing else.
    #[error("{url}: not the URL of a rostered node")]
    NotRostered {
        /// The URL refused.
        url: String,
    },
    /// The answer is not what the API promises.
    #[error("{url}: unexpected answer: {reason}")]
    Decode {
        /// The URL called.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

/// The largest reply body a client reads unless told otherwise: 4 MiB. Node replies are a
/// few KiB (a round-1 reply with a halo2 proof is ~7 KiB) and client-API replies tens of
/// KiB; a peer that sends more is refused before its body is buffered.
pub const DEFAULT_REPLY_LIMIT: usize = 4 * 1024 * 1024;

/// An HTTPS client with the cluster's CA and a client certificate, reading every reply
/// body under a size limit (cheap to clone: clones share connections).
///
/// The coordinator's client towards the nodes ([`HttpClient::for_nodes`]) holds one
/// connection pool per rostered node, each verifying that the server is that very node
/// ([`crate::net::tls::RoleServerVerifier`]); a URL that is not a rostered node's is
/// refused without a connection ([`ClientError::NotRostered`]).
#[derive(Clone, Debug)]
pub struct HttpClient {
    pools: Pools,
    reply_limit: usize,
}

#[derive(Clone, Debug)]
enum Pools {
    /// One pool for any URL (the client API's client, tests).
    One(reqwest::Client),
    /// One pool per origin (`https://host:port`), each pinned to its node.
    PerOrigin(Arc<Vec<(Origin, reqwest::Client)>>),
}

/// Scheme, host and port of a URL: what one pinned pool serves.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Origin(String, String, Option<u16>);

impl Origin {
    fn of(url: &str) -> Option<Self> {
        let u = reqwest::Url::parse(url).ok()?;
        Some(Origin(
            u.scheme().to_string(),
            u.host_str()?.to_ascii_lowercase(),
            u.port_or_known_default(),
        ))
    }
}

fn build(tls: rustls::ClientConfig, timeout: Duration) -> Result<reqwest::Client, ClientError> {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| ClientError::Transport {
            url: String::new(),
            reason: e.to_string(),
        })
}

impl HttpClient {
    /// A client authenticating with `tls`, giving up on a call after `timeout`, reading
    /// replies up to [`DEFAULT_REPLY_LIMIT`].
    pub fn new(tls: rustls::ClientConfig, timeout: Duration) -> Result<Self, ClientError> {
        Ok(Self {
            pools: Pools::One(build(tls, timeout)?),
            reply_limit: DEFAULT_REPLY_LIMIT,
        })
    }

    /// The coordinator's client towards `nodes`: authenticating with `identity`, one pool per
    /// node that accepts only a node certificate of the CA in `ca` with the node's rostered
    /// `tls_fingerprint`, not revoked.
    pub fn for_nodes(
        nodes: &[NodeEntry],
        identity: Arc<ReloadingCert>,
        ca: &Path,
        revocations: Option<Arc<Revocations>>,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let mut pools = Vec::new();
        for n in nodes {
            let refused = |reason: String| ClientError::Transport {
                url: n.url.clone(),
                reason,
            };
            let origin =
                Origin::of(&n.url).ok_or_else(|| refused(format!("node {}: not a URL", n.id)))?;
            let tls = client_config_expecting(
                identity.clone(),
                ca,
                ExpectedServer::node(n.id.get(), n.tls_fingerprint),
                revocations.clone(),
            )
            .map_err(|e| refused(e.to_string()))?;
            pools.push((origin, build(tls, timeout)?));
        }
        Ok(Self {
            pools: Pools::PerOrigin(Arc::new(pools)),
            reply_limit: DEFAULT_REPLY_LIMIT,
        })
    }

    fn pool(&self, url: &str) -> Result<&reqwest::Client, ClientError> {
        match &self.pools {
            Pools::One(c) => Ok(c),
            Pools::PerOrigin(pools) => {
                let origin = Origin::of(url);
                pools
                    .iter()
                    .find(|(o, _)| Some(o) == origin.as_ref())
                    .map(|(_, c)| c)
                    .ok_or_else(|| ClientError::NotRostered { url: url.into() })
            }
        }
    }

    /// The same client reading replies up to `limit` bytes.
    pub fn with_reply_limit(mut self, limit: usize) -> Self {
        self.reply_limit = limit;
        self
    }

    /// The largest reply body this client reads.
    pub fn reply_limit(&self) -> usize {
        self.reply_limit
    }

    /// `POST`s `body` as JSON and decodes the JSON answer.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        url: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.post_within(url, body, None).await
    }

    /// [`Self::post`], giving up after `timeout` instead of the client's own timeout when
    /// one is given (a call known to take long, such as a round in which a node proves).
    pub async fn post_within<B: Serialize, T: DeserializeOwned>(
        &self,
        url: &str,
        body: &B,
        timeout: Option<Duration>,
    ) -> Result<T, ClientError> {
        let mut req = self.pool(url)?.post(url).json(body);
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        let resp = req.send().await.map_err(|e| transport(url, e))?;
        self.answer(url, resp).await
    }

    /// `GET`s `url` and decodes the JSON answer.
    pub async fn get<T: DeserializeOwned>(&self, url: &str) -> Result<T, ClientError> {
        let resp = self
            .pool(url)?
            .get(url)
            .send()
            .await
            .map_err(|e| transport(url, e))?;
        self.answer(url, resp).await
    }

    async fn answer<T: DeserializeOwned>(
        &self,
        url: &str,
        resp: reqwest::Response,
    ) -> Result<T, ClientError> {
        let status = resp.status();
        let bytes = read_limited(url, resp, self.reply_limit).await?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
                url: url.into(),
                reason: e.to_string(),
            });
        }
        let mut err: ApiError = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            ApiError::new(
                status,
                "http_error",
                String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned(),
            )
        });
        err.status = status.as_u16();
        Err(ClientError::Api(err))
    }
}

/// Reads `resp`'s body chunk by chunk, refusing it as soon as it is known to exceed
/// `limit` bytes (from its `Content-Length`, or once the chunks read pass the limit), so a
/// peer cannot make the client buffer more than `limit` (plus one chunk).
async fn read_limited(
    url: &str,
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ClientError> {
    let too_large = || ClientError::ReplyTooLarge {
        url: url.into(),
        limit,
    };
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport(url, e))? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn transport(url: &str, e: reqwest::Error) -> ClientError {
    // reqwest's own message is generic ("error sending request"); the cause (a refused
    // certificate naming the node, a refused connection) is down the source chain.
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let text = s.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = s.source();
    }
    let detail = if causes.is_empty() {
        e.to_string()
    } else {
        format!("{e}: {}", causes.join(": "))
    };
    let reason = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        format!("cannot connect ({detail})")
    } else {
        detail
    };
    ClientError::Transport {
        url: url.into(),
        reason,
    }
}

/// A signer node as the coordinator reaches it, for one key: round 1 and round 2 as async
/// calls, their failures as the signer's [`Refusal`] (its policy rule kept as a type).
pub struct NodeClient {
    id: SignerId,
    base: String,
    key_id: KeyId,
    http: HttpClient,
}

impl NodeClient {
    /// A client for node `id` at `base` (e.g. `https://127.0.0.1:7701`).
    pub fn new(id: SignerId, base: &str, key_id: KeyId, http: HttpClient) -> Self {
        Self {
            id,
            base: base.trim_end_matches('/').to_string(),
            key_id,
            http,
        }
    }

    /// The node's signer id.
    pub fn id(&self) -> SignerId {
        self.id
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Refusal> {
        self.call_within(path, body, None).await
    }

    /// [`Self::call`] with [`HttpClient::post_within`]'s timeout.
    async fn call_within<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        timeout: Option<Duration>,
    ) -> Result<T, Refusal> {
        let url = format!("{}{path}", self.base);
        let mut result = self.http.post_within(&url, body, timeout).await;
        // A pooled connection to a node that restarted fails once; retry on a new one. Safe
        // for both rounds: a node refuses a session it has already seen (round 1) or whose
        // nonces are used (round 2). Timeouts are not retried.
        if matches!(&result, Err(ClientError::Transport { reason, .. }) if reason != "timed out") {
            result = self.http.post_within(&url, body, timeout).await;
        }
        result.map_err(|e| match e {
            ClientError::Api(api) => Refusal {
                rule: api.rule,
                reason: api.message,
            },
            ClientError::Transport { reason, .. } => {
                Refusal::other(format!("unreachable: {reason}"))
            }
            other => Refusal::other(other.to_string()),
        })
    }

    /// Round 1 of a session on this node.
    pub async fn round1(&self, req: &Round1Request) -> Result<Round1Reply<Taproot>, Refusal> {
        let wire: Round1ReplyWire = self
            .call("/v1/sign/round1", &SignRound1::encode(&self.key_id, req))
            .await?;
        wire.decode().map_err(|e| Refusal::other(e.message))
    }

    /// Round 2 of a session on this node.
    pub async fn round2(
        &self,
        req: &Round2Request<Taproot>,
    ) -> Result<Round2Reply<Taproot>, Refusal> {
        let body = SignRound2::encode(&self.key_id, req).map_err(|e| Refusal::other(e.message))?;
        let wire: Round2ReplyWire = self.call("/v1/sign/round2", &body).await?;
        wire.decode().map_err(|e| Refusal::other(e.message))
    }

    /// Round 1 of a spend on this node, in which it proves: allowed `timeout` (a large
    /// class proves for tens of seconds), not the client's per-call timeout.
    pub async fn spend_round1(
        &self,
        req: &signer::session::spend::SpendRound1Request,
        timeout: Duration,
    ) -> Result<signer::session::spend::SpendRound1Reply, Refusal> {
        use crate::net::api::spend::{SpendRound1ReplyWire, SpendRound1Wire};
        let wire: SpendRound1ReplyWire = self
            .call_within(
                "/v1/node/spend/round1",
                &SpendRound1Wire::encode(&self.key_id, req),
                Some(timeout),
            )
            .await?;
        wire.decode().map_err(|e| Refusal::other(e.message))
    }

    /// Round 2 of a spend on this node.
    pub async fn spend_round2(
        &self,
        req: &signer::session::spend::SpendRound2Request,
    ) -> Result<signer::session::spend::SpendRound2Reply, Refusal> {
        use crate::net::api::spend::{SpendRound2ReplyWire, SpendRound2Wire};
        let body =
            SpendRound2Wire::encode(&self.key_id, req).map_err(|e| Refusal::other(e.message))?;
        let wire: SpendRound2ReplyWire = self.call("/v1/node/spend/round2", &body).await?;
        wire.decode().map_err(|e| Refusal::other(e.message))
    }
}

/// A client of the coordinator's client API (cheap to clone: clones share connections).
#[derive(Clone)]
pub struct ApiClient {
    base: String,
    http: HttpClient,
}

impl ApiClient {
    /// A client for the coordinator at `base`, authenticating with `tls`.
    pub fn new(
        base: &str,
        tls: rustls::ClientConfig,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            http: HttpClient::new(tls, timeout)?,
        })
    }

    /// The same client reading replies up to `limit` bytes (default
    /// [`DEFAULT_REPLY_LIMIT`]).
    pub fn with_reply_limit(mut self, limit: usize) -> Self {
        self.http = self.http.with_reply_limit(limit);
        self
    }

    /// A client configured by `client.toml`: it talks only to a server presenting a
    /// coordinator certificate of the cluster CA.
    pub fn from_config(c: &crate::cluster::config::ClientConfig) -> Result<Self, ClientError> {
        let err = |e: crate::net::tls::TlsError| ClientError::Transport {
            url: c.coordinator_url.clone(),
            reason: e.to_string(),
        };
        let identity = Arc::new(ReloadingCert::load(&c.tls_cert, &c.tls_key).map_err(err)?);
        let tls = client_config_expecting(identity, &c.ca, ExpectedServer::coordinator(), None)
            .map_err(err)?;
        Self::new(&c.coordinator_url, tls, Duration::from_secs(300))
    }

    /// `POST /v1/keys`: creates `key_id` by DKG across every node.
    pub async fn create_key(&self, key_id: &KeyId) -> Result<KeyInfo, ClientError> {
        let body = CreateKey {
            key_id: key_id.clone(),
        };
        self.http
            .post(&format!("{}/v1/keys", self.base), &body)
            .await
    }

    /// `GET /v1/keys/{key_id}`.
    pub async fn key(&self, key_id: &KeyId) -> Result<KeyInfo, ClientError> {
        self.http
            .get(&format!("{}/v1/keys/{key_id}", self.base))
            .await
    }

    /// `GET /v1/governance?from=1`: the governance records the coordinator keeps (admin and
    /// auditor certificates; verify them against a trust root before use).
    pub async fn governance(&self) -> Result<GovernanceList, ClientError> {
        self.http
            .get(&format!("{}/v1/governance?from=1", self.base))
            .await
    }

    /// `POST /v1/sign-psbt`: signs every input of a PSBT.
    pub async fn sign_psbt(
        &self,
        req: &crate::net::api::spend::SignPsbtRequest,
    ) -> Result<crate::net::api::spend::SignPsbtResponse, ClientError> {
        self.http
            .post(&format!("{}/v1/sign-psbt", self.base), req)
            .await
    }

    /// `POST /v1/sign`.
    pub async fn sign(&self, req: &SignRequest) -> Result<SignResponse, ClientError> {
        self.http.post(&format!("{}/v1/sign", self.base), req).await
    }

    /// `GET /v1/audit?from=N`: one page of the audit log (at most
    /// [`crate::net::api::MAX_AUDIT_PAGE`] lines).
    pub async fn audit_page(&self, from: u64) -> Result<AuditPage, ClientError> {
        self.http
            .get(&format!("{}/v1/audit?from={from}", self.base))
            .await
    }

    /// The audit log from record `from` to its end, page by page, lines verbatim.
    pub async fn audit_from(&self, from: u64) -> Result<Vec<String>, ClientError> {
        let mut lines = Vec::new();
        loop {
            let at = from + lines.len() as u64;
            let page = self.audit_page(at).await?;
            if page.from != at {
                return Err(ClientError::Decode {
                    url: format!("{}/v1/audit?from={at}", self.base),
                    reason: format!("page starts at {}, asked for {at}", page.from),
                });
            }
            let done = page.lines.is_empty() || at + page.lines.len() as u64 >= page.size;
            lines.extend(page.lines);
            if done {
                return Ok(lines);
            }
        }
    }

    /// `GET /v1/audit/checkpoints?wait=true`: every node's latest signature over the audit
    /// log, once each covers the log as it is now (or after a few seconds: a node that is
    /// down has not).
    pub async fn checkpoints(&self) -> Result<verifier::audit::Witnesses, ClientError> {
        self.http
            .get(&format!("{}/v1/audit/checkpoints?wait=true", self.base))
            .await
    }

    /// `GET /v1/sessions/{request_id}`.
    pub async fn session(&self, id: &RequestId) -> Result<SessionStatus, ClientError> {
        self.http
            .get(&format!("{}/v1/sessions/{id}", self.base))
            .await
    }
}

impl ClientError {
    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api(e) => StatusCode::from_u16(e.status).ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::net::roles::Role;
    use crate::net::tls::{client_config, server_config, ClusterCa, Grant};

    /// Mutual-TLS configurations from a fresh CA (one certificate serves both sides).
    fn tls() -> (
        tempfile::TempDir,
        Arc<rustls::ServerConfig>,
        rustls::ClientConfig,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let ca = ClusterCa::generate("test").unwrap();
        let leaf = ca
            .issue_with_new_key(
                &Grant::new(Role::Node, "fake-node"),
                &["localhost".into(), "127.0.0.1".into()],
            )
            .unwrap();
        let p = |n: &str| dir.path().join(n);
        std::fs::write(p("ca.pem"), ca.cert_pem()).unwrap();
        std::fs::write(p("n.pem"), &leaf.cert_pem).unwrap();
        std::fs::write(p("n.key"), leaf.key_pem.as_bytes()).unwrap();
        let server = server_config(&p("n.pem"), &p("n.key"), &p("ca.pem")).unwrap();
        let client = client_config(&p("n.pem"), &p("n.key"), &p("ca.pem")).unwrap();
        (dir, server, client)
    }

    /// A fake node over mutual TLS that answers one request with `head` and then, if
    /// `body_total` is not zero, that many bytes of chunked JSON-looking body in 64 KiB
    /// chunks, stopping when the client goes away. Returns its URL and the number of body
    /// bytes it managed to send.
    async fn fake_node(
        tls: Arc<rustls::ServerConfig>,
        head: &'static str,
        body_total: usize,
    ) -> (String, tokio::task::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://127.0.0.1:{}/v1/status",
            listener.local_addr().unwrap().port()
        );
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut stream = tokio_rustls::TlsAcceptor::from(tls)
                .accept(tcp)
                .await
                .unwrap();
            // The request (a GET: headers only).
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "client closed before its request was read");
                req.extend_from_slice(&buf[..n]);
            }
            stream.write_all(head.as_bytes()).await.unwrap();
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < body_total {
                let framed =
                    [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
                if stream.write_all(&framed).await.is_err() {
                    break;
                }
                sent += chunk.len();
            }
            sent
        });
        (url, server)
    }

    #[tokio::test]
    async fn an_oversized_streamed_reply_is_refused_without_reading_it_all() {
        let (_dir, server_tls, client_tls) = tls();
        const TOTAL: usize = 256 * 1024 * 1024;
        let (url, server) = fake_node(
            server_tls,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
            TOTAL,
        )
        .await;
        let http = HttpClient::new(client_tls, Duration::from_secs(30))
            .unwrap()
            .with_reply_limit(256 * 1024);
        match http.get::<serde_json::Value>(&url).await {
            Err(ClientError::ReplyTooLarge { url: u, limit }) => {
                assert_eq!(limit, 256 * 1024);
                assert_eq!(u, url);
            }
            other => panic!("expected ReplyTooLarge, got {other:?}"),
        }
        drop(http);
        // The client stopped reading: the fake node could not push its whole reply.
        let sent = server.await.unwrap();
        assert!(sent < TOTAL, "the whole {TOTAL}-byte reply was read");
    }

    #[tokio::test]
    async fn a_reply_announcing_a_length_over_the_limit_is_refused_at_once() {
        let (_dir, server_tls, client_tls) = tls();
        let (url, server) = fake_node(
            server_tls,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 209715200\r\n\r\n",
            0,
        )
        .await;
        let http = HttpClient::new(client_tls, Duration::from_secs(30)).unwrap();
        assert_eq!(http.reply_limit(), DEFAULT_REPLY_LIMIT);
        match http.get::<serde_json::Value>(&url).await {
            Err(ClientError::ReplyTooLarge { limit, .. }) => assert_eq!(limit, DEFAULT_REPLY_LIMIT),
            other => panic!("expected ReplyTooLarge, got {other:?}"),
        }
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_reply_within_the_limit_is_read() {
        let (_dir, server_tls, client_tls) = tls();
        let (url, server) = fake_node(
            server_tls,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}",
            0,
        )
        .await;
        let http = HttpClient::new(client_tls, Duration::from_secs(30))
            .unwrap()
            .with_reply_limit(11);
        let v: serde_json::Value = http.get(&url).await.unwrap();
        assert_eq!(v, serde_json::json!({"ok": true}));
        server.await.unwrap();
    }
}
