//! The error body of both APIs: `{"error": code, "message": text}` with, where it applies,
//! the broken policy `rule` and the per-signer reasons `signers`; and [`ApiJson`], the JSON
//! extractor whose rejections are such bodies.

use axum::extract::rejection::JsonRejection;
use axum::extract::FromRequest;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use circuits::Rule;
use serde::{Deserialize, Serialize};

use crate::coordinator::Excluded;
use crate::ids::{KeyId, RequestId};

/// An error answer: HTTP status, a stable code, a message, and optional details.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    /// HTTP status (not serialised: it is the response's status).
    #[serde(skip, default = "internal")]
    pub status: u16,
    /// Stable machine-readable code, e.g. `bad_request`, `unknown_key`, `policy_violation`.
    pub error: String,
    /// What was wrong, for people.
    pub message: String,
    /// The broken policy rule, when a policy refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
    /// Every signer left out and why, when too few signers agreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signers: Option<Vec<Excluded>>,
    /// The request this answers (client API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
}

fn internal() -> u16 {
    500
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status: status.as_u16(),
            error: code.into(),
            message: message.into(),
            rule: None,
            signers: None,
            request_id: None,
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 `unknown_key`.
    pub fn unknown_key(key: &KeyId) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_key",
            format!("no key {key}"),
        )
    }

    /// 500 `internal` (the details go to the log, not to the client).
    pub fn internal(what: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(what, error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("{what} failed; see the server log"),
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.error, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self)).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "bad_request",
        };
        // Wrong types and missing fields are 422 in axum; they are bad requests here too.
        let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        Self::new(status, code, r.body_text())
    }
}

/// Runs `f` on the blocking pool (proving, Argon2id, SQLite, blocking HTTP), so slow work
/// never stalls the async workers; a panic in `f` becomes a 500.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal("worker task", e))?
}

/// `axum::Json` whose rejections are [`ApiError`] JSON bodies.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);
