//! Tenants: the only records that live outside any tenant.

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, SurrealValue};

use super::error::{StoreError, StoreResult};
use super::{Batch, Store};
use crate::domain::events::{Actor, DomainEvent, EventKind};
use crate::domain::ids::TenantId;
use crate::domain::tenant::Tenant;

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct TenantRow {
    id: RecordId,
    name: String,
    slug: String,
    created_at: DateTime<Utc>,
}

impl TenantRow {
    fn into_domain(self) -> StoreResult<Tenant> {
        let surrealdb::types::RecordIdKey::Uuid(u) = self.id.key else {
            return Err(StoreError::Corrupt(format!("tenant id {:?}", self.id)));
        };
        Ok(Tenant {
            id: TenantId::from_uuid(u.into()),
            name: self.name,
            slug: self.slug,
            created_at: self.created_at,
        })
    }
}

fn tenant_rid(id: TenantId) -> RecordId {
    RecordId::new(
        "tenant",
        surrealdb::types::RecordIdKey::Uuid(id.uuid().into()),
    )
}

/// Tenants are created, never renamed or removed: webhook paths' keys are
/// kept once found on that (`delivery::inbound::TenantKeys`).
impl Store {
    pub async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let mut b = Batch::new(tenant.id);
        let id = b.bind(tenant_rid(tenant.id));
        let name = b.bind(tenant.name.clone());
        let slug = b.bind(tenant.slug.clone());
        let at = b.bind(tenant.created_at);
        b.push(format!(
            "CREATE {id} CONTENT {{ name: {name}, slug: {slug}, created_at: {at} }} RETURN NONE"
        ));
        b.event(
            &DomainEvent::new(
                EventKind::TenantCreated,
                &Actor::System,
                format!("tenant:{}", tenant.id),
                serde_json::json!({ "name": tenant.name, "slug": tenant.slug }),
            ),
            tenant.created_at,
        );
        self.run(b).await?;
        Ok(())
    }

    pub async fn tenant_by_slug(&self, slug: &str) -> StoreResult<Option<Tenant>> {
        let rows: Vec<TenantRow> = self
            .db()
            .query("SELECT * FROM tenant WHERE slug = $slug LIMIT 1")
            .bind(("slug", slug.to_owned()))
            .await?
            .take(0)?;
        rows.into_iter()
            .next()
            .map(TenantRow::into_domain)
            .transpose()
    }

    pub async fn tenant_by_id(&self, id: TenantId) -> StoreResult<Option<Tenant>> {
        let rows: Vec<TenantRow> = self
            .db()
            .query("SELECT * FROM $id")
            .bind(("id", tenant_rid(id)))
            .await?
            .take(0)?;
        rows.into_iter()
            .next()
            .map(TenantRow::into_domain)
            .transpose()
    }

    pub async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows: Vec<TenantRow> = self
            .db()
            .query("SELECT * FROM tenant ORDER BY created_at")
            .await?
            .take(0)?;
        rows.into_iter().map(TenantRow::into_domain).collect()
    }

    pub async fn has_tenants(&self) -> StoreResult<bool> {
        let rows: Vec<surrealdb::types::Value> = self
            .db()
            .query("SELECT VALUE id FROM tenant LIMIT 1")
            .await?
            .take(0)?;
        Ok(!rows.is_empty())
    }
}
