//! A client's data as a whole: exported for them, or erased for good (GDPR).

use chrono::Utc;
use serde_json::{Value, json};
use surrealdb::types::RecordId;
use uuid::Uuid;

use super::TenantStore;
use super::error::StoreResult;
use super::records::uuid_part;
use crate::domain::events::{Actor, DomainEvent, EventKind};
use crate::domain::ids::ClientId;
use crate::domain::message::Message;

/// Messages read per round trip.
const PAGE: usize = 500;

/// What an erasure removed.
#[derive(Debug)]
pub struct Erased {
    pub contacts: usize,
    pub messages: usize,
    /// Audit entries whose data was replaced by a tombstone.
    pub audit_entries: usize,
    /// Attachment contents (`blob ids`) no other message refers to: the
    /// caller deletes them from the file store once the erasure committed.
    pub orphaned_files: Vec<String>,
}

/// The records an erasure or export covers.
struct Scope {
    chat: Option<Uuid>,
    contacts: Vec<Uuid>,
    messages: Vec<Message>,
}

impl TenantStore {
    async fn scope(&self, client: ClientId) -> StoreResult<Scope> {
        let chat = self.chat_of_client(client).await?.map(|c| c.chat.id());
        let contact_ids: Vec<RecordId> = self
            .db()
            .query("SELECT VALUE id FROM contact WHERE tenant = $tenant AND client = $client")
            .bind(("tenant", self.tenant.uuid()))
            .bind(("client", client.uuid()))
            .await?
            .take(0)?;
        let contacts = contact_ids
            .iter()
            .map(|id| uuid_part(id, 1))
            .collect::<StoreResult<_>>()?;
        let mut messages = Vec::new();
        if let Some(chat) = chat {
            let mut before = None;
            loop {
                let page = self.messages_page(chat, before, PAGE).await?;
                let done = page.len() < PAGE;
                before = page.last().map(Message::id);
                messages.extend(page);
                if done {
                    break;
                }
            }
            messages.reverse();
        }
        Ok(Scope {
            chat: chat.map(|c| c.uuid()),
            contacts,
            messages,
        })
    }

    /// The audit entries about the client, its contacts, chat and messages.
    async fn audit_about(&self, client: ClientId, scope: &Scope) -> StoreResult<Vec<Value>> {
        let mut targets = vec![format!("client:{client}")];
        targets.extend(scope.contacts.iter().map(|c| format!("contact:{c}")));
        if let Some(chat) = scope.chat {
            targets.push(format!("chat:{chat}"));
        }
        targets.extend(scope.messages.iter().map(|m| format!("message:{}", m.id())));
        let rows: Vec<Value> = self
            .db()
            .query("SELECT seq, kind, actor, target, data, at FROM event WHERE tenant = $tenant AND (target IN $targets OR data.client = $client OR (data.chat != NONE AND data.chat = $chat)) ORDER BY seq")
            .bind(("tenant", self.tenant.uuid()))
            .bind(("targets", targets))
            .bind(("client", client.to_string()))
            .bind(("chat", scope.chat.map(|c| c.to_string()).unwrap_or_default()))
            .await?
            .take(0)?;
        Ok(rows)
    }

    /// Everything held about the client, as one JSON document (attachment
    /// contents are added by the caller, who has the file store).
    pub async fn export_client(&self, client: ClientId) -> StoreResult<Value> {
        let view = self.client(client).await?;
        let scope = self.scope(client).await?;
        let audit = self.audit_about(client, &scope).await?;
        let c = &view.client;
        Ok(json!({
            "format": "hub.client-export/1",
            "exported_at": Utc::now(),
            "client": {
                "id": c.id().to_string(),
                "first_name": c.first_name(),
                "middle_name": c.middle_name(),
                "last_name": c.last_name(),
                "gender": c.gender().map(|g| g.as_str()),
                "date_of_birth": c.date_of_birth(),
                "address": c.address(),
                "passport_number": c.passport_number(),
                "tax_pin": c.tax_pin(),
                "notes": c.notes(),
                "created_at": c.created_at(),
                "deleted_at": c.deleted_at(),
            },
            "contacts": view.contacts.iter().map(|k| json!({
                "id": k.id.to_string(),
                "kind": k.value.kind().to_string(),
                "value": k.value.as_str(),
                "label": k.label,
                "consent": { "status": k.consent.status.as_str(), "at": k.consent.at, "source": k.consent.source },
            })).collect::<Vec<_>>(),
            "chat": scope.chat.map(|c| c.to_string()),
            "messages": scope.messages.iter().map(|m| json!({
                "id": m.id().to_string(),
                "direction": m.direction().as_str(),
                "transport": m.transport().as_str(),
                "sender": m.sender().kind(),
                "text": m.text(),
                "created_at": m.created_at(),
                "status": m.status.as_str(),
                "read_at": m.read_at,
                "attachments": m.attachments().iter().map(|a| json!({
                    "blob_id": a.blob_id, "file_name": a.file_name, "content_type": a.content_type,
                    "size": a.size, "sha256": a.sha256,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            // Consent changes, edits and every message event, in order.
            "history": audit,
        }))
    }

    /// Records that someone took the client's data out of the hub.
    pub async fn record_export(&self, client: ClientId, actor: &Actor) -> StoreResult<()> {
        let mut b = self.batch();
        b.event(
            &DomainEvent::new(
                EventKind::ClientExported,
                actor,
                format!("client:{client}"),
                json!({}),
            ),
            Utc::now(),
        );
        self.run(b).await?;
        Ok(())
    }

    /// Removes the client, its contacts, chat, members, messages, delivery
    /// records and idempotency keys in one transaction, replaces the data of
    /// the audit entries about them with `{}`, and records the erasure
    /// (without personal data) in the log.
    pub async fn erase_client(&self, client: ClientId, actor: &Actor) -> StoreResult<Erased> {
        self.client(client).await?;
        let scope = self.scope(client).await?;
        let seqs: Vec<i64> = self
            .audit_about(client, &scope)
            .await?
            .iter()
            .filter_map(|e| e["seq"].as_i64())
            .collect();
        let mut files: Vec<String> = scope
            .messages
            .iter()
            .flat_map(|m| m.attachments().iter().map(|a| a.blob_id.clone()))
            .collect();
        files.sort();
        files.dedup();

        let mut b = self.batch();
        let client_rid = b.bind(self.client_rid(client));
        let client_uuid = b.bind(client.uuid());
        b.push(format!(
            "DELETE contact WHERE tenant = $tenant AND client = {client_uuid}"
        ));
        if let Some(chat) = scope.chat {
            let chat = b.bind(chat);
            for table in ["message", "member", "outbox"] {
                b.push(format!(
                    "DELETE {table} WHERE tenant = $tenant AND chat = {chat}"
                ));
            }
            // Keyed by tenant and provider id (or key), found by their chat.
            for table in ["idempotency", "inbound_ref", "outbound_ref"] {
                b.push(format!("DELETE {table} WHERE chat = {chat}"));
            }
            b.push(format!(
                "DELETE chat WHERE tenant = $tenant AND client = {client_uuid}"
            ));
        }
        b.push(format!("DELETE {client_rid}"));
        let seq_list = b.bind(seqs.clone());
        let now = b.bind(Utc::now());
        b.push(format!(
            "UPDATE event SET data = {{}}, erased_at = {now} WHERE tenant = $tenant AND seq IN {seq_list}"
        ));
        b.event(
            &DomainEvent::new(
                EventKind::ClientErased,
                actor,
                format!("client:{client}"),
                json!({
                    "contacts": scope.contacts.len(),
                    "messages": scope.messages.len(),
                    "erased_entries": seqs,
                }),
            ),
            Utc::now(),
        );
        self.run(b).await?;

        let mut orphaned = Vec::new();
        for blob in files {
            if !self.file_in_use(&blob).await? {
                orphaned.push(blob);
            }
        }
        Ok(Erased {
            contacts: scope.contacts.len(),
            messages: scope.messages.len(),
            audit_entries: seqs.len(),
            orphaned_files: orphaned,
        })
    }
}
