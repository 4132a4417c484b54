//! The retention policy and what the retention job removes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use surrealdb::types::{RecordId, SurrealValue};
use uuid::Uuid;

use super::error::StoreResult;
use super::messages::MessageRow;
use super::records::{rid, uuid_value};
use super::{Store, TenantStore};
use crate::domain::events::{Actor, DomainEvent, EventKind};
use crate::domain::ids::{ChatId, TenantId};
use crate::domain::message::Message;
use crate::domain::retention::RetentionPolicy;

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct PolicyRow {
    messages_days: Option<i64>,
    attachments_days: Option<i64>,
}

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct FilesRow {
    id: RecordId,
    attachments: Vec<serde_json::Value>,
}

impl Store {
    /// Tenants that have a retention policy.
    pub async fn tenants_with_retention(&self) -> StoreResult<Vec<TenantId>> {
        let ids: Vec<RecordId> = self
            .db()
            .query("SELECT VALUE id FROM retention WHERE messages_days != NONE OR attachments_days != NONE")
            .await?
            .take(0)?;
        ids.iter()
            .map(|id| super::records::uuid_part(id, 0).map(TenantId::from_uuid))
            .collect()
    }
}

impl TenantStore {
    fn retention_rid(&self) -> RecordId {
        rid("retention", [uuid_value(self.tenant.uuid())])
    }

    pub async fn retention_policy(&self) -> StoreResult<RetentionPolicy> {
        let rows: Vec<PolicyRow> = self
            .db()
            .query("SELECT messages_days, attachments_days FROM $id")
            .bind(("id", self.retention_rid()))
            .await?
            .take(0)?;
        Ok(rows
            .first()
            .map_or_else(RetentionPolicy::default, |r| RetentionPolicy {
                messages_days: r.messages_days.map(|d| d as u32),
                attachments_days: r.attachments_days.map(|d| d as u32),
            }))
    }

    pub async fn set_retention_policy(
        &self,
        p: &RetentionPolicy,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut b = self.batch();
        let id = b.bind(self.retention_rid());
        let messages = b.bind(p.messages_days.map(i64::from));
        let attachments = b.bind(p.attachments_days.map(i64::from));
        let now = b.bind(Utc::now());
        b.push(format!(
            "UPSERT {id} CONTENT {{ messages_days: {messages}, attachments_days: {attachments}, updated_at: {now} }} RETURN NONE"
        ));
        b.event(
            &DomainEvent::new(
                EventKind::RetentionPolicySet,
                actor,
                "retention",
                json!({ "messages_days": p.messages_days, "attachments_days": p.attachments_days }),
            ),
            Utc::now(),
        );
        self.run(b).await?;
        Ok(())
    }

    /// Up to `limit` of the oldest messages created before `cutoff`.
    pub async fn messages_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<Message>> {
        let rows: Vec<MessageRow> = self
            .db()
            .query("SELECT * FROM message WHERE tenant = $tenant AND created_at < $cutoff ORDER BY created_at LIMIT $limit")
            .bind(("tenant", self.tenant.uuid()))
            .bind(("cutoff", cutoff))
            .bind(("limit", limit as i64))
            .await?
            .take(0)?;
        rows.into_iter().map(MessageRow::into_domain).collect()
    }

    /// Removes `messages` (and their delivery jobs) in one transaction,
    /// corrects their chats' unread counts and clears the preview of chats
    /// whose last message went, and records how many went. Returns the
    /// attachment contents they referred to.
    pub async fn remove_messages(
        &self,
        messages: &[Message],
        cutoff: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        let mut b = self.batch();
        let mut unread: BTreeMap<Uuid, i64> = BTreeMap::new();
        let mut chats: Vec<RecordId> = Vec::new();
        let mut files = Vec::new();
        for m in messages {
            let id = b.bind(self.message_rid(m.chat(), m.id()));
            let job = b.bind(self.outbox_rid(m.id()));
            b.push(format!("DELETE {id}"));
            b.push(format!("DELETE {job}"));
            if m.is_unread() {
                *unread.entry(m.chat().uuid()).or_default() += 1;
            }
            let chat = self.chat_rid(m.chat());
            if !chats.contains(&chat) {
                chats.push(chat);
            }
            files.extend(m.attachments().iter().map(|a| a.blob_id.clone()));
        }
        for (chat, n) in unread {
            let chat = b.bind(self.chat_rid(ChatId::from_uuid(chat)));
            b.push(format!(
                "UPDATE {chat} SET unread_count = math::max([0, unread_count - {n}]) RETURN NONE"
            ));
        }
        // Only the chats this batch touched: a chat whose last message went
        // keeps no preview of it.
        let cut = b.bind(cutoff);
        let touched = b.bind(chats);
        b.push(format!(
            "UPDATE {touched} SET last_message_preview = NONE WHERE last_message_at < {cut} RETURN NONE"
        ));
        b.event(
            &DomainEvent::new(
                EventKind::RetentionApplied,
                &Actor::System,
                "retention",
                json!({ "messages": messages.len(), "created_before": cutoff }),
            ),
            Utc::now(),
        );
        self.run(b).await?;
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// Marks the attachment contents of up to `limit` messages created
    /// before `cutoff` as removed; returns the blob ids they referred to
    /// (none when nothing was left to do).
    pub async fn expire_attachments(
        &self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<String>> {
        let rows: Vec<FilesRow> = self
            .db()
            .query("SELECT id, attachments FROM message WHERE tenant = $tenant AND created_at < $cutoff AND files_removed_at = NONE AND array::len(attachments) > 0 ORDER BY created_at LIMIT $limit")
            .bind(("tenant", self.tenant.uuid()))
            .bind(("cutoff", cutoff))
            .bind(("limit", limit as i64))
            .await?
            .take(0)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut b = self.batch();
        let now = b.bind(Utc::now());
        let mut files = Vec::new();
        for r in &rows {
            let id = b.bind(r.id.clone());
            b.push(format!(
                "UPDATE {id} SET files_removed_at = {now} RETURN NONE"
            ));
            files.extend(
                r.attachments
                    .iter()
                    .filter_map(|a| a["blob_id"].as_str().map(str::to_owned)),
            );
        }
        b.event(
            &DomainEvent::new(
                EventKind::RetentionApplied,
                &Actor::System,
                "retention",
                json!({ "attachments_of_messages": rows.len(), "created_before": cutoff }),
            ),
            Utc::now(),
        );
        self.run(b).await?;
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// Whether a message whose attachments are still kept refers to `blob`.
    pub async fn file_in_use(&self, blob: &str) -> StoreResult<bool> {
        let n: Vec<i64> = self
            .db()
            .query("SELECT VALUE count() FROM message WHERE tenant = $tenant AND files_removed_at = NONE AND $blob IN attachments.*.blob_id GROUP ALL")
            .bind(("tenant", self.tenant.uuid()))
            .bind(("blob", blob.to_owned()))
            .await?
            .take(0)?;
        Ok(n.first().copied().unwrap_or(0) > 0)
    }
}
