//! The `requests` table: every client request id seen, with its status and outcome, for
//! idempotency (a resubmitted id gets the first outcome, never a second signature).

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::{to_i64, CoordinatorStore};
use crate::ids::{KeyId, RequestId};
use crate::store::{now_secs, StoreError};

/// The result stored by [`CoordinatorStore::fail_interrupted`].
pub const INTERRUPTED_RESULT: &str =
    r#"{"error":"interrupted","message":"coordinator restarted during the session"}"#;

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    /// Being signed.
    Running,
    /// Signed; the result holds the signature.
    Signed,
    /// Refused (policy, too few signers).
    Rejected,
    /// Failed (error, interrupted).
    Failed,
}

impl RequestStatus {
    /// The name stored in the `status` column (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Running => "running",
            RequestStatus::Signed => "signed",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(RequestStatus::Running),
            "signed" => Some(RequestStatus::Signed),
            "rejected" => Some(RequestStatus::Rejected),
            "failed" => Some(RequestStatus::Failed),
            _ => None,
        }
    }
}

/// A client request as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The client's id.
    pub request_id: RequestId,
    /// The key asked for.
    pub key_id: KeyId,
    /// Where it stands.
    pub status: RequestStatus,
    /// The outcome as JSON, once finished.
    pub result: Option<String>,
    /// Unix seconds of the first submission.
    pub created_at: u64,
    /// Unix seconds of the outcome.
    pub finished_at: Option<u64>,
}

pub(super) type RequestRow = (String, String, String, Option<String>, u64, Option<u64>);

pub(super) const REQUEST_COLUMNS: &str =
    "SELECT request_id, key_id, status, result, created_at, finished_at FROM requests";

/// One `requests` row, in the order of [`REQUEST_COLUMNS`].
pub(super) fn request_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RequestRow> {
    RequestRow::try_from(r)
}

pub(super) fn request_record(row: RequestRow) -> Result<RequestRecord, StoreError> {
    let (request_id, key_id, status, result, created_at, finished_at) = row;
    Ok(RequestRecord {
        request_id: RequestId::new(&request_id)
            .map_err(|e| StoreError::corrupt("requests.request_id", e.to_string()))?,
        key_id: KeyId::new(&key_id).map_err(|e| {
            StoreError::corrupt(format!("requests row {request_id}"), e.to_string())
        })?,
        status: RequestStatus::parse(&status).ok_or_else(|| {
            StoreError::corrupt(
                format!("requests row {request_id}"),
                format!("unknown status {status:?}"),
            )
        })?,
        result,
        created_at,
        finished_at,
    })
}

pub(super) fn select_request(
    conn: &Connection,
    id: &RequestId,
) -> Result<Option<RequestRecord>, StoreError> {
    conn.query_row(
        &format!("{REQUEST_COLUMNS} WHERE request_id = ?1"),
        [id.as_str()],
        request_row,
    )
    .optional()
    .map_err(StoreError::sql("reading requests"))?
    .map(request_record)
    .transpose()
}

impl CoordinatorStore {
    /// Idempotent request start: records `id` as running for `key_id` and returns
    /// `Ok(None)`, or returns `Ok(Some(existing))` if `id` is already known (report its
    /// outcome instead of signing again). [`StoreError::Invalid`] if the known request is
    /// for another key.
    pub fn begin_request(
        &self,
        id: &RequestId,
        key_id: &KeyId,
    ) -> Result<Option<RequestRecord>, StoreError> {
        let now = to_i64("time", now_secs())?;
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a requests transaction"))?;
        if let Some(existing) = select_request(&tx, id)? {
            if existing.key_id != *key_id {
                return Err(StoreError::Invalid(format!(
                    "request {id} was submitted for key {}, not {key_id}",
                    existing.key_id
                )));
            }
            return Ok(Some(existing));
        }
        tx.execute(
            "INSERT INTO requests (request_id, key_id, status, created_at)
             VALUES (?1, ?2, 'running', ?3)",
            params![id.as_str(), key_id.as_str(), now],
        )
        .map_err(StoreError::sql("inserting into requests"))?;
        tx.commit()
            .map_err(StoreError::sql("committing into requests"))?;
        Ok(None)
    }

    /// Records the outcome of a running request: `status` (not `Running`) and
    /// `result_json` (must be JSON). [`StoreError::NotFound`] for an unknown id,
    /// [`StoreError::Exists`] if the request already has an outcome.
    pub fn finish_request(
        &self,
        id: &RequestId,
        status: RequestStatus,
        result_json: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a requests transaction"))?;
        finish_in(&tx, id, status, result_json)?;
        tx.commit()
            .map_err(StoreError::sql("committing into requests"))
    }

    /// The request `id`, if known.
    pub fn request(&self, id: &RequestId) -> Result<Option<RequestRecord>, StoreError> {
        select_request(&self.lock(), id)
    }

    /// Marks every request left running (by a crash) failed with the result
    /// [`INTERRUPTED_RESULT`]; returns how many. Call it when the coordinator starts.
    pub fn fail_interrupted(&self) -> Result<usize, StoreError> {
        let now = to_i64("time", now_secs())?;
        self.lock()
            .execute(
                "UPDATE requests SET status = 'failed', result = ?1, finished_at = ?2
                 WHERE status = 'running'",
                params![INTERRUPTED_RESULT, now],
            )
            .map_err(StoreError::sql("failing interrupted rows of requests"))
    }
}

/// Records the outcome of a running request inside `tx`.
pub(super) fn finish_in(
    tx: &rusqlite::Transaction<'_>,
    id: &RequestId,
    status: RequestStatus,
    result_json: &str,
) -> Result<(), StoreError> {
    if status == RequestStatus::Running {
        return Err(StoreError::Invalid(format!(
            "request {id} cannot be finished as running"
        )));
    }
    if let Err(e) = serde_json::from_str::<serde_json::Value>(result_json) {
        return Err(StoreError::Invalid(format!(
            "the result of request {id} is not JSON: {e}"
        )));
    }
    let now = to_i64("time", now_secs())?;
    let changed = tx
        .execute(
            "UPDATE requests SET status = ?1, result = ?2, finished_at = ?3
             WHERE request_id = ?4 AND status = 'running'",
            params![status.as_str(), result_json, now, id.as_str()],
        )
        .map_err(StoreError::sql("updating requests"))?;
    if changed == 0 {
        return Err(match select_request(tx, id)? {
            None => StoreError::NotFound {
                what: "request",
                id: id.to_string(),
            },
            Some(_) => StoreError::Exists {
                what: "outcome of request",
                id: id.to_string(),
            },
        });
    }
    Ok(())
}
