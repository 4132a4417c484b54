//! Reading the event log (the audit trail). Writing happens in [`super::Batch`].

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, SurrealValue};
use uuid::Uuid;

use super::error::StoreResult;
use super::page::Page;
use super::ranks::newest_first;
use super::records::uuid_part;
use super::{Store, TenantStore};
use crate::domain::ids::TenantId;

/// The log's position: the `seq` of its last entry (none yet: no row).
pub(super) const LOG_POSITION: &str = "SELECT VALUE n FROM counter:events";

/// Every tenant's events after `$seq`, in order, at most `$limit`.
pub(super) const EVENTS_AFTER: &str =
    "SELECT * FROM event WHERE seq > $seq ORDER BY seq LIMIT $limit";

/// One entry of the audit log.
#[derive(Debug, Clone)]
pub struct LoggedEvent {
    /// Position in the log: increases in commit order, across all tenants.
    pub seq: i64,
    pub tenant: TenantId,
    pub id: Uuid,
    pub kind: String,
    pub actor: String,
    pub target: String,
    pub data: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// An entry as stored; the chain fields are read by the audit verifier.
#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub(super) struct EventRow {
    pub(super) seq: i64,
    tenant: Uuid,
    pub(super) id: RecordId,
    pub(super) kind: String,
    pub(super) actor: String,
    pub(super) target: String,
    pub(super) data: serde_json::Value,
    pub(super) at: DateTime<Utc>,
    pub(super) digest: Option<String>,
    pub(super) chain: Option<String>,
    pub(super) erased_at: Option<DateTime<Utc>>,
}

impl EventRow {
    pub(super) fn into_event(self) -> StoreResult<LoggedEvent> {
        Ok(LoggedEvent {
            seq: self.seq,
            tenant: TenantId::from_uuid(self.tenant),
            id: uuid_part(&self.id, 1)?,
            kind: self.kind,
            actor: self.actor,
            target: self.target,
            data: self.data,
            at: self.at,
        })
    }
}

impl Store {
    /// Every tenant's events after `seq`, in order: what the event tailer reads.
    pub async fn events_after(&self, seq: i64, limit: usize) -> StoreResult<Vec<LoggedEvent>> {
        let rows: Vec<EventRow> = self
            .db()
            .query(EVENTS_AFTER)
            .bind(("seq", seq))
            .bind(("limit", limit as i64))
            .await?
            .take(0)?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    /// The newest position in the log (0 when empty).
    pub async fn last_event_seq(&self) -> StoreResult<i64> {
        let n: Vec<i64> = self.db().query(LOG_POSITION).await?.take(0)?;
        Ok(n.first().copied().unwrap_or(0))
    }
}

impl TenantStore {
    /// This tenant's events after `seq`, in order: what a resuming subscriber missed.
    pub async fn events_after(&self, seq: i64, limit: usize) -> StoreResult<Vec<LoggedEvent>> {
        let rows: Vec<EventRow> = self
            .db()
            .query("SELECT * FROM event WHERE tenant = $tenant AND seq > $seq ORDER BY seq LIMIT $limit")
            .bind(("tenant", self.tenant.uuid()))
            .bind(("seq", seq))
            .bind(("limit", limit as i64))
            .await?
            .take(0)?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    /// The newest events first, older than `before`; optionally only those about `target`.
    pub async fn events_page(
        &self,
        before: Option<Uuid>,
        target: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<LoggedEvent>> {
        let mut page = Page::new(self.tenant, "event", "rank").after(before.map(newest_first));
        if let Some(target) = target {
            page = page.equals("target", target.to_owned());
        }
        let rows: Vec<EventRow> = page.fetch(self.db(), limit).await?;
        rows.into_iter().map(EventRow::into_event).collect()
    }
}
