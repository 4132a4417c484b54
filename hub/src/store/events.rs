//! Reading the event log (the audit trail). Writing happens in [`super::Batch`].

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, SurrealValue};
use uuid::Uuid;

use super::TenantStore;
use super::error::StoreResult;
use super::page::Page;
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
        let mut page = Page::new(self.tenant, "event", "rank").after(before.map(newest_first));
        if let Some(target) = target {
            page = page.equals("target", target.to_owned());
        }
        let rows: Vec<EventRow> = page.fetch(self.db(), limit).await?;
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
