//! Reading the event log (the audit trail). Writing happens in [`super::Batch`].

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, SurrealValue};
use uuid::Uuid;

use super::TenantStore;
use super::error::StoreResult;
use super::ranks::newest_first;
use super::records::uuid_part;

/// One entry of the audit log.
#[derive(Debug, Clone)]
pub struct LoggedEvent {
    pub id: Uuid,
    pub kind: String,
    pub actor: String,
    pub target: String,
    pub data: serde_json::Value,
    pub at: DateTime<Utc>,
}

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct EventRow {
    id: RecordId,
    kind: String,
    actor: String,
    target: String,
    data: serde_json::Value,
    at: DateTime<Utc>,
}

impl TenantStore {
    /// The newest events first, older than `before`; optionally only those about `target`.
    pub async fn events_page(
        &self,
        before: Option<Uuid>,
        target: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<LoggedEvent>> {
        let mut q = String::from("SELECT * FROM event WHERE tenant = $tenant");
        if target.is_some() {
            q.push_str(" AND target = $target");
        }
        if before.is_some() {
            q.push_str(" AND rank > $after");
        }
        q.push_str(" ORDER BY rank LIMIT $limit");
        let mut query = self
            .db()
            .query(q)
            .bind(("tenant", self.tenant.uuid()))
            .bind(("limit", limit as i64));
        if let Some(target) = target {
            query = query.bind(("target", target.to_owned()));
        }
        if let Some(before) = before {
            query = query.bind(("after", newest_first(before)));
        }
        let rows: Vec<EventRow> = query.await?.take(0)?;
        rows.into_iter()
            .map(|r| {
                Ok(LoggedEvent {
                    id: uuid_part(&r.id, 1)?,
                    kind: r.kind,
                    actor: r.actor,
                    target: r.target,
                    data: r.data,
                    at: r.at,
                })
            })
            .collect()
    }
}
