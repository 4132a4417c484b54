//! Message templates of one tenant.

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, SurrealValue};

use super::TenantStore;
use super::error::{StoreError, StoreResult};
use super::records::{rid, uuid_part, uuid_value};
use crate::domain::events::{Actor, DomainEvent, EventKind};
use crate::domain::ids::TemplateId;
use crate::domain::template::MessageTemplate;

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct TemplateRow {
    id: RecordId,
    name: String,
    text: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TemplateRow {
    fn into_domain(self, store: &TenantStore) -> StoreResult<MessageTemplate> {
        Ok(MessageTemplate::restore(
            TemplateId::from_uuid(uuid_part(&self.id, 1)?),
            store.tenant,
            self.name,
            self.text,
            self.created_at,
            self.updated_at,
        ))
    }
}

impl TenantStore {
    fn template_rid(&self, id: TemplateId) -> RecordId {
        rid(
            "template",
            [uuid_value(self.tenant.uuid()), uuid_value(id.uuid())],
        )
    }

    pub async fn templates(&self) -> StoreResult<Vec<MessageTemplate>> {
        let rows: Vec<TemplateRow> = self
            .db()
            .query("SELECT * FROM template WHERE tenant = $tenant ORDER BY name")
            .bind(("tenant", self.tenant.uuid()))
            .await?
            .take(0)?;
        rows.into_iter().map(|r| r.into_domain(self)).collect()
    }

    pub async fn template(&self, id: TemplateId) -> StoreResult<MessageTemplate> {
        let rows: Vec<TemplateRow> = self
            .db()
            .query("SELECT * FROM $id")
            .bind(("id", self.template_rid(id)))
            .await?
            .take(0)?;
        rows.into_iter()
            .next()
            .ok_or(StoreError::NotFound { what: "template" })?
            .into_domain(self)
    }

    /// Creates or updates `t`.
    pub async fn save_template(
        &self,
        t: &MessageTemplate,
        created: bool,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut b = self.batch();
        let id = b.bind(self.template_rid(t.id()));
        let name = b.bind(t.name().to_owned());
        let text = b.bind(t.text().to_owned());
        let created_at = b.bind(t.created_at());
        let updated_at = b.bind(t.updated_at());
        if created {
            b.push(format!(
                "CREATE {id} CONTENT {{ tenant: $tenant, name: {name}, text: {text}, created_at: {created_at}, updated_at: {updated_at} }} RETURN NONE"
            ));
        } else {
            b.push(format!(
                "IF (SELECT VALUE id FROM {id}) = [] {{ THROW 'NOT_FOUND:template' }}"
            ));
            b.push(format!(
                "UPDATE {id} SET name = {name}, text = {text}, updated_at = {updated_at} RETURN NONE"
            ));
        }
        let kind = if created {
            EventKind::TemplateCreated
        } else {
            EventKind::TemplateUpdated
        };
        b.event(
            &DomainEvent::new(
                kind,
                actor,
                format!("template:{}", t.id()),
                serde_json::json!({ "name": t.name() }),
            ),
            t.updated_at(),
        );
        self.run(b).await?;
        Ok(())
    }

    pub async fn delete_template(&self, id: TemplateId, actor: &Actor) -> StoreResult<()> {
        let mut b = self.batch();
        let rid = b.bind(self.template_rid(id));
        b.push(format!("LET $gone = (DELETE {rid} RETURN BEFORE)"));
        b.push("IF array::len($gone) = 0 { THROW 'NOT_FOUND:template' }");
        b.event(
            &DomainEvent::new(
                EventKind::TemplateDeleted,
                actor,
                format!("template:{id}"),
                serde_json::json!({}),
            ),
            Utc::now(),
        );
        self.run(b).await?;
        Ok(())
    }
}
