//! Webhook registrations, their delivery position and attempts.

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, SurrealValue};
use uuid::Uuid;

use super::error::{StoreError, StoreResult};
use super::page::Page;
use super::ranks::newest_first;
use super::records::{rid, uuid_part, uuid_value};
use super::{Store, TenantStore};
use crate::domain::events::{Actor, DomainEvent, EventKind};
use crate::domain::ids::TenantId;
use crate::domain::webhook::{Webhook, WebhookId};

/// A webhook with its signing secret and delivery position.
#[derive(Debug, Clone)]
pub struct WebhookState {
    pub webhook: Webhook,
    pub secret: String,
    pub cursor: i64,
    pub failures: u32,
    pub next_attempt_at: DateTime<Utc>,
}

/// One try at delivering one event.
#[derive(Debug, Clone)]
pub struct WebhookAttempt {
    pub event_seq: i64,
    pub event_kind: String,
    pub attempt: u32,
    pub ok: bool,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct WebhookRow {
    id: RecordId,
    tenant: Uuid,
    url: String,
    event_kinds: Vec<String>,
    secret: String,
    active: bool,
    cursor: i64,
    failures: i64,
    next_attempt_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

impl WebhookRow {
    fn into_state(self) -> StoreResult<WebhookState> {
        Ok(WebhookState {
            webhook: Webhook {
                id: uuid_part(&self.id, 1)?,
                tenant: TenantId::from_uuid(self.tenant),
                url: self.url,
                event_kinds: self.event_kinds,
                active: self.active,
                created_at: self.created_at,
            },
            secret: self.secret,
            cursor: self.cursor,
            failures: u32::try_from(self.failures).unwrap_or(0),
            next_attempt_at: self.next_attempt_at,
        })
    }
}

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct AttemptRow {
    event_seq: i64,
    event_kind: String,
    attempt: i64,
    ok: bool,
    status: Option<i64>,
    error: Option<String>,
    at: DateTime<Utc>,
}

fn webhook_rid(tenant: TenantId, id: WebhookId) -> RecordId {
    rid("webhook", [uuid_value(tenant.uuid()), uuid_value(id)])
}

impl Store {
    /// Active webhooks of every tenant that are due: what the delivery worker reads.
    pub async fn due_webhooks(&self, now: DateTime<Utc>) -> StoreResult<Vec<WebhookState>> {
        let rows: Vec<WebhookRow> = self
            .db()
            .query("SELECT * FROM webhook WHERE active = true AND next_attempt_at <= $now")
            .bind(("now", now))
            .await?
            .take(0)?;
        rows.into_iter().map(WebhookRow::into_state).collect()
    }

    /// Records one delivery attempt and moves the webhook on: past the
    /// event when it was delivered, to a later retry when it was not.
    pub async fn record_webhook_attempt(
        &self,
        hook: &WebhookState,
        attempt: &WebhookAttempt,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (cursor, failures) = if attempt.ok {
            (attempt.event_seq, 0)
        } else {
            (hook.cursor, i64::from(hook.failures) + 1)
        };
        let id = Uuid::now_v7();
        let mut r = self
            .db()
            .query(
                "BEGIN TRANSACTION;
                 UPDATE $hook SET cursor = $cursor, failures = $failures, next_attempt_at = $next RETURN NONE;
                 CREATE $attempt_id CONTENT { tenant: $tenant, webhook: $webhook, event_seq: $seq, event_kind: $kind, attempt: $n, ok: $ok, status: $status, error: $error, at: $at, rank: $rank } RETURN NONE;
                 COMMIT TRANSACTION;",
            )
            .bind(("hook", webhook_rid(hook.webhook.tenant, hook.webhook.id)))
            .bind(("cursor", cursor))
            .bind(("failures", failures))
            .bind(("next", next_attempt_at))
            .bind((
                "attempt_id",
                rid(
                    "webhook_attempt",
                    [uuid_value(hook.webhook.tenant.uuid()), uuid_value(hook.webhook.id), uuid_value(id)],
                ),
            ))
            .bind(("tenant", hook.webhook.tenant.uuid()))
            .bind(("webhook", hook.webhook.id))
            .bind(("seq", attempt.event_seq))
            .bind(("kind", attempt.event_kind.clone()))
            .bind(("n", i64::from(attempt.attempt)))
            .bind(("ok", attempt.ok))
            .bind(("status", attempt.status.map(i64::from)))
            .bind(("error", attempt.error.clone()))
            .bind(("at", attempt.at))
            .bind(("rank", newest_first(id)))
            .await?;
        let mut errors: Vec<(usize, String)> = r
            .take_errors()
            .into_iter()
            .map(|(i, e)| (i, e.to_string()))
            .collect();
        errors.sort_by_key(|(i, _)| *i);
        match errors.into_iter().next() {
            Some((_, e)) => Err(StoreError::Database(e)),
            None => Ok(()),
        }
    }

    /// Moves a webhook past events it does not want.
    pub async fn skip_webhook_events(&self, hook: &WebhookState, cursor: i64) -> StoreResult<()> {
        self.db()
            .query("UPDATE $hook SET cursor = $cursor RETURN NONE")
            .bind(("hook", webhook_rid(hook.webhook.tenant, hook.webhook.id)))
            .bind(("cursor", cursor))
            .await?
            .check()?;
        Ok(())
    }
}

impl TenantStore {
    /// Registers `hook`, starting after the newest event, so it receives what happens from now on.
    pub async fn create_webhook(
        &self,
        hook: &Webhook,
        secret: &str,
        actor: &Actor,
    ) -> StoreResult<()> {
        let start = self.store().last_event_seq().await?;
        let mut b = self.batch();
        let id = b.bind(webhook_rid(self.tenant, hook.id));
        let url = b.bind(hook.url.clone());
        let kinds = b.bind(hook.event_kinds.clone());
        let secret = b.bind(secret.to_owned());
        let cursor = b.bind(start);
        let at = b.bind(hook.created_at);
        b.push(format!(
            "CREATE {id} CONTENT {{ tenant: $tenant, url: {url}, event_kinds: {kinds}, secret: {secret}, active: true, cursor: {cursor}, failures: 0, next_attempt_at: {at}, created_at: {at} }} RETURN NONE"
        ));
        b.event(
            &DomainEvent::new(
                EventKind::WebhookCreated,
                actor,
                format!("webhook:{}", hook.id),
                serde_json::json!({ "url": hook.url, "eventKinds": hook.event_kinds }),
            ),
            hook.created_at,
        );
        self.run(b).await?;
        Ok(())
    }

    pub async fn webhooks(&self) -> StoreResult<Vec<WebhookState>> {
        let rows: Vec<WebhookRow> = self
            .db()
            .query("SELECT * FROM webhook WHERE tenant = $tenant ORDER BY created_at")
            .bind(("tenant", self.tenant.uuid()))
            .await?
            .take(0)?;
        rows.into_iter().map(WebhookRow::into_state).collect()
    }

    pub async fn delete_webhook(&self, id: WebhookId, actor: &Actor) -> StoreResult<()> {
        let mut b = self.batch();
        let rid = b.bind(webhook_rid(self.tenant, id));
        b.push(format!("LET $gone = (DELETE {rid} RETURN BEFORE)"));
        b.push("IF array::len($gone) = 0 { THROW 'NOT_FOUND:webhook' }");
        b.event(
            &DomainEvent::new(
                EventKind::WebhookDeleted,
                actor,
                format!("webhook:{id}"),
                serde_json::json!({}),
            ),
            Utc::now(),
        );
        self.run(b).await?;
        Ok(())
    }

    /// The newest delivery attempts of a webhook first.
    pub async fn webhook_attempts(
        &self,
        webhook: WebhookId,
        limit: usize,
    ) -> StoreResult<Vec<WebhookAttempt>> {
        let rows: Vec<AttemptRow> = Page::new(self.tenant, "webhook_attempt", "rank")
            .equals("webhook", webhook)
            .fetch(self.db(), limit)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| WebhookAttempt {
                event_seq: r.event_seq,
                event_kind: r.event_kind,
                attempt: u32::try_from(r.attempt).unwrap_or(0),
                ok: r.ok,
                status: r.status.and_then(|s| u16::try_from(s).ok()),
                error: r.error,
                at: r.at,
            })
            .collect())
    }
}
