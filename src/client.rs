//! HTTPS clients (reqwest over rustls, mutual TLS): the coordinator's client for signer
//! nodes ([`NodeClient`], an [`Endpoint`]) and the client API's client ([`ApiClient`], used
//! by the CLI, the demo and the tests).

use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use signer::session::{Round1Reply, Round1Request, Round2Reply, Round2Request};
use signer::taproot::Taproot;
use signer::SignerId;

use crate::api::{
    ApiError, CreateKey, KeyInfo, Round1ReplyWire, Round2ReplyWire, SessionStatus, SignRequest,
    SignResponse, SignRound1, SignRound2,
};
use crate::coordinator::{Endpoint, Refusal};
use crate::ids::{KeyId, RequestId};

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
    /// The answer is not what the API promises.
    #[error("{url}: unexpected answer: {reason}")]
    Decode {
        /// The URL called.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

/// An HTTPS client with the cluster's CA and a client certificate.
pub fn https_client(
    tls: rustls::ClientConfig,
    timeout: Duration,
) -> Result<reqwest::Client, ClientError> {
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

async fn answer<T: DeserializeOwned>(url: &str, resp: reqwest::Response) -> Result<T, ClientError> {
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| ClientError::Transport {
        url: url.into(),
        reason: e.to_string(),
    })?;
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

fn transport(url: &str, e: reqwest::Error) -> ClientError {
    let reason = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        format!("cannot connect ({e})")
    } else {
        e.to_string()
    };
    ClientError::Transport {
        url: url.into(),
        reason,
    }
}

/// `POST`s `body` as JSON and decodes the JSON answer.
pub async fn post<B: Serialize, T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    body: &B,
) -> Result<T, ClientError> {
    let resp = http
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| transport(url, e))?;
    answer(url, resp).await
}

/// `GET`s `url` and decodes the JSON answer.
pub async fn get<T: DeserializeOwned>(http: &reqwest::Client, url: &str) -> Result<T, ClientError> {
    let resp = http.get(url).send().await.map_err(|e| transport(url, e))?;
    answer(url, resp).await
}

/// A signer node as the coordinator reaches it, for one key. Its [`Endpoint`] methods block
/// (the coordinator's session driver runs on the blocking pool) on `runtime`.
pub struct NodeClient {
    id: SignerId,
    base: String,
    key_id: KeyId,
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl NodeClient {
    /// A client for node `id` at `base` (e.g. `https://127.0.0.1:7701`).
    pub fn new(
        id: SignerId,
        base: &str,
        key_id: KeyId,
        http: reqwest::Client,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        Self {
            id,
            base: base.trim_end_matches('/').to_string(),
            key_id,
            http,
            runtime,
        }
    }

    fn call<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, Refusal> {
        let url = format!("{}{path}", self.base);
        let mut result = self.runtime.block_on(post(&self.http, &url, body));
        // A pooled connection to a node that restarted fails once; retry on a new one. Safe
        // for both rounds: a node refuses a session it has already seen (round 1) or whose
        // nonces are used (round 2). Timeouts are not retried.
        if matches!(&result, Err(ClientError::Transport { reason, .. }) if reason != "timed out") {
            result = self.runtime.block_on(post(&self.http, &url, body));
        }
        result.map_err(|e| match e {
            ClientError::Api(api) => Refusal {
                rule: api.rule.and_then(|r| r.parse().ok()),
                reason: api.message,
            },
            ClientError::Transport { reason, .. } => {
                Refusal::other(format!("unreachable: {reason}"))
            }
            other => Refusal::other(other.to_string()),
        })
    }
}

impl Endpoint<Taproot> for NodeClient {
    fn id(&self) -> SignerId {
        self.id
    }

    fn round1(&self, req: &Round1Request) -> Result<Round1Reply<Taproot>, Refusal> {
        let wire: Round1ReplyWire =
            self.call("/v1/sign/round1", &SignRound1::encode(&self.key_id, req))?;
        wire.decode().map_err(|e| Refusal::other(e.message))
    }

    fn round2(&self, req: &Round2Request<Taproot>) -> Result<Round2Reply<Taproot>, Refusal> {
        let body = SignRound2::encode(&self.key_id, req).map_err(|e| Refusal::other(e.message))?;
        let wire: Round2ReplyWire = self.call("/v1/sign/round2", &body)?;
        wire.decode().map_err(|e| Refusal::other(e.message))
    }
}

/// A client of the coordinator's client API (cheap to clone: clones share connections).
#[derive(Clone)]
pub struct ApiClient {
    base: String,
    http: reqwest::Client,
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
            http: https_client(tls, timeout)?,
        })
    }

    /// A client configured by `client.toml`.
    pub fn from_config(c: &crate::config::ClientConfig) -> Result<Self, ClientError> {
        let tls = crate::tls::client_config(&c.tls_cert, &c.tls_key, &c.ca).map_err(|e| {
            ClientError::Transport {
                url: c.coordinator_url.clone(),
                reason: e.to_string(),
            }
        })?;
        Self::new(&c.coordinator_url, tls, Duration::from_secs(300))
    }

    /// `POST /v1/keys`: creates `key_id` by DKG across every node.
    pub async fn create_key(&self, key_id: &KeyId) -> Result<KeyInfo, ClientError> {
        let body = CreateKey {
            key_id: key_id.clone(),
        };
        post(&self.http, &format!("{}/v1/keys", self.base), &body).await
    }

    /// `GET /v1/keys/{key_id}`.
    pub async fn key(&self, key_id: &KeyId) -> Result<KeyInfo, ClientError> {
        get(&self.http, &format!("{}/v1/keys/{key_id}", self.base)).await
    }

    /// `POST /v1/sign`.
    pub async fn sign(&self, req: &SignRequest) -> Result<SignResponse, ClientError> {
        post(&self.http, &format!("{}/v1/sign", self.base), req).await
    }

    /// `GET /v1/sessions/{request_id}`.
    pub async fn session(&self, id: &RequestId) -> Result<SessionStatus, ClientError> {
        get(&self.http, &format!("{}/v1/sessions/{id}", self.base)).await
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
