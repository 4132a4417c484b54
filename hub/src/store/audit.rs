//! Verifying a tenant's audit chain against what is stored.

use surrealdb::types::SurrealValue;
use uuid::Uuid;

use super::TenantStore;
use super::error::StoreResult;
use super::events::EventRow;
use super::records::{rid, uuid_part, uuid_value};
use crate::domain::audit::{self, Break, EntryContent, StoredEntry, Verified, Verifier};

/// Entries read per round trip.
const PAGE: i64 = 1_000;

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct HeadRow {
    head: String,
    count: i64,
}

impl TenantStore {
    /// Reads the tenant's whole log in order and checks every entry and link.
    pub async fn verify_audit_chain(&self) -> StoreResult<Result<Verified, Break>> {
        let tenant = self.tenant.to_string();
        let mut verifier = Verifier::default();
        let mut after = 0i64;
        loop {
            let rows: Vec<EventRow> = self
                .db()
                .query("SELECT * FROM event WHERE tenant = $tenant AND seq > $after ORDER BY seq LIMIT $limit")
                .bind(("tenant", self.tenant.uuid()))
                .bind(("after", after))
                .bind(("limit", PAGE))
                .await?
                .take(0)?;
            let Some(last) = rows.last() else { break };
            after = last.seq;
            for row in &rows {
                let id: Uuid = uuid_part(&row.id, 1)?;
                let content_digest = row.erased_at.is_none().then(|| {
                    audit::digest(&EntryContent {
                        id: &id.to_string(),
                        tenant: &tenant,
                        kind: &row.kind,
                        actor: &row.actor,
                        target: &row.target,
                        data: &row.data,
                        at: row.at,
                    })
                });
                let erases = if row.kind == "client.erased" {
                    row.data["erased_entries"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|v| v.as_i64()).collect())
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                verifier.push(&StoredEntry {
                    seq: row.seq,
                    content_digest,
                    digest: row.digest.clone(),
                    chain: row.chain.clone(),
                    erases,
                });
            }
        }
        let heads: Vec<HeadRow> = self
            .db()
            .query("SELECT head, count FROM $head")
            .bind(("head", rid("audit_chain", [uuid_value(self.tenant.uuid())])))
            .await?
            .take(0)?;
        let head = heads
            .first()
            .map(|h| (h.head.as_str(), h.count.max(0) as u64));
        Ok(verifier.finish(head))
    }
}
