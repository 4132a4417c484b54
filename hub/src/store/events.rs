//! Reading the event log (the audit trail). Writing happens in [`super::Batch`].

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, SurrealValue};
use uuid::Uuid;

use super::TenantStore;
use super::error::StoreResult;
use super::records::{rid_range, uuid_part, uuid_value};

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
        let t = uuid_value(self.tenant.uuid());
        let range = rid_range(
            "event",
            vec![t.clone(), uuid_value(Uuid::nil())],
            vec![t, uuid_value(before.unwrap_or(Uuid::max()))],
        );
        let mut q = String::from("SELECT * FROM $range");
        if target.is_some() {
            q.push_str(" WHERE target = $target");
        }
        q.push_str(" ORDER BY id DESC LIMIT $limit");
        let mut query = self
            .db()
            .query(q)
            .bind(("range", range))
            .bind(("limit", limit as i64));
        if let Some(target) = target {
            query = query.bind(("target", target.to_owned()));
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
