//! The outbox as the delivery worker sees it, provider message ids, inbound
//! deduplication, plugin settings and polling cursors.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use surrealdb::types::{RecordId, SurrealValue, Value};
use uuid::Uuid;

use super::clients::ClientView;
use super::error::{StoreError, StoreResult};
use super::records::{rid, uuid_part, uuid_value};
use super::{Store, TenantStore};
use crate::domain::contact::{Consent, ContactValue};
use crate::domain::events::{Actor, DomainEvent, EventKind};
use crate::domain::ids::{ChatId, ClientId, ContactId, MessageId, TenantId};
use crate::domain::message::{DeliveryStatus, Message, Transport};

/// A provider's message id's record: the message it stands for.
#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct Ref {
    chat: Uuid,
    message: Uuid,
}

impl Ref {
    fn ids(self) -> (ChatId, MessageId) {
        (
            ChatId::from_uuid(self.chat),
            MessageId::from_uuid(self.message),
        )
    }
}

/// What [`TenantStore::inbound_lookup`] found.
#[derive(Debug)]
pub struct InboundLookup {
    /// Where the message was stored, when the provider sent it before.
    pub seen: Option<(ChatId, MessageId)>,
    /// The live client with the sender's contact.
    pub client: Option<ClientView>,
    /// That client's chat.
    pub chat: Option<ChatId>,
}

/// A claimed outbox job: this process may deliver it until the lease ends.
#[derive(Debug, Clone, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct OutboxJob {
    pub id: RecordId,
    pub tenant: Uuid,
    pub chat: Uuid,
    pub message: Uuid,
    pub transport: String,
    pub recipient: String,
    pub attempts: i64,
}

impl OutboxJob {
    pub fn tenant_id(&self) -> TenantId {
        TenantId::from_uuid(self.tenant)
    }

    pub fn chat_id(&self) -> ChatId {
        ChatId::from_uuid(self.chat)
    }

    pub fn message_id(&self) -> MessageId {
        MessageId::from_uuid(self.message)
    }
}

/// A tenant's stored settings for one plugin.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginSettings {
    pub settings: BTreeMap<String, String>,
    pub channels: Vec<Transport>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct PluginSettingRow {
    plugin: String,
    settings: serde_json::Value,
    channels: Vec<String>,
    updated_at: DateTime<Utc>,
}

impl PluginSettingRow {
    fn into_settings(self) -> StoreResult<(String, PluginSettings)> {
        let settings = match self.settings {
            serde_json::Value::Object(m) => m
                .into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => Ok((k, s)),
                    other => Err(StoreError::Corrupt(format!(
                        "plugin setting `{k}` is {other}, not a string"
                    ))),
                })
                .collect::<StoreResult<_>>()?,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "plugin settings are {other}, not an object"
                )));
            }
        };
        let channels = self
            .channels
            .iter()
            .map(|c| {
                c.parse()
                    .map_err(|_| StoreError::Corrupt(format!("channel `{c}`")))
            })
            .collect::<StoreResult<_>>()?;
        Ok((
            self.plugin,
            PluginSettings {
                settings,
                channels,
                updated_at: Some(self.updated_at),
            },
        ))
    }
}

/// What became of an inbound message.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    Stored {
        chat: ChatId,
        message: MessageId,
    },
    /// The provider posted this message before; nothing was written.
    Duplicate {
        chat: ChatId,
        message: MessageId,
    },
}

impl Store {
    /// Claims up to `limit` due jobs for `owner` until `lease_until`. Two hub
    /// processes claiming at once conflict in the database and one of them
    /// gets nothing this round, so a job has one owner at a time.
    pub async fn claim_outbox(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxJob>> {
        let mut response = self
            .db()
            .query(
                "BEGIN TRANSACTION;
                 UPDATE (SELECT VALUE id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $now AND (lease_until = NONE OR lease_until < $now) ORDER BY next_attempt_at LIMIT $limit)
                   SET lease_owner = $owner, lease_until = $until
                   RETURN id, tenant, chat, message, transport, recipient, attempts;
                 COMMIT TRANSACTION;",
            )
            .bind(("now", now))
            .bind(("until", lease_until))
            .bind(("owner", owner.to_owned()))
            .bind(("limit", limit as i64))
            .await?;
        // A conflict with another hub's claim shows as "not executed" on the
        // statements and as the conflict on COMMIT: report the cause.
        if let Some(e) = super::batch::failure(response.take_errors()) {
            return Err(e);
        }
        Ok(response.take(1)?)
    }

    /// The earliest time a pending job falls due, to sleep until then.
    pub async fn next_outbox_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let due: Vec<DateTime<Utc>> = self
            .db()
            .query("SELECT VALUE next_attempt_at FROM outbox WHERE state = 'pending' ORDER BY next_attempt_at LIMIT 1")
            .await?
            .take(0)?;
        Ok(due.into_iter().next())
    }

    /// Every tenant's stored settings for `plugin`.
    pub async fn tenants_with_plugin(&self, plugin: &str) -> StoreResult<Vec<TenantId>> {
        let ids: Vec<Uuid> = self
            .db()
            .query("SELECT VALUE tenant FROM plugin_setting WHERE plugin = $plugin")
            .bind(("plugin", plugin.to_owned()))
            .await?
            .take(0)?;
        Ok(ids.into_iter().map(TenantId::from_uuid).collect())
    }
}

impl TenantStore {
    fn plugin_setting_rid(&self, plugin: &str) -> RecordId {
        rid(
            "plugin_setting",
            [
                uuid_value(self.tenant.uuid()),
                Value::String(plugin.to_owned()),
            ],
        )
    }

    fn ref_rid(&self, table: &str, plugin: &str, provider_id: &str) -> RecordId {
        rid(
            table,
            [
                uuid_value(self.tenant.uuid()),
                Value::String(plugin.to_owned()),
                Value::String(provider_id.to_owned()),
            ],
        )
    }

    /// The (chat, message) a provider's id stands for, from `outbound_ref` or `inbound_ref`.
    async fn provider_ref(
        &self,
        table: &str,
        plugin: &str,
        provider_message_id: &str,
    ) -> StoreResult<Option<(ChatId, MessageId)>> {
        let refs: Vec<Ref> = self
            .db()
            .query("SELECT chat, message FROM $id")
            .bind(("id", self.ref_rid(table, plugin, provider_message_id)))
            .await?
            .take(0)?;
        Ok(refs.into_iter().next().map(Ref::ids))
    }

    pub(super) fn outbox_rid(&self, message: MessageId) -> RecordId {
        rid(
            "outbox",
            [uuid_value(self.tenant.uuid()), uuid_value(message.uuid())],
        )
    }

    /// This tenant's settings for every plugin it configured.
    pub async fn plugin_settings(&self) -> StoreResult<BTreeMap<String, PluginSettings>> {
        let rows: Vec<PluginSettingRow> = self
            .db()
            .query("SELECT plugin, settings, channels, updated_at FROM plugin_setting WHERE tenant = $tenant")
            .bind(("tenant", self.tenant.uuid()))
            .await?
            .take(0)?;
        rows.into_iter()
            .map(PluginSettingRow::into_settings)
            .collect()
    }

    /// Replaces this tenant's settings for `plugin`. The event names the
    /// keys and channels, never the values.
    pub async fn set_plugin_settings(
        &self,
        plugin: &str,
        settings: &PluginSettings,
        actor: &Actor,
    ) -> StoreResult<()> {
        let now = Utc::now();
        let mut b = self.batch();
        let id = b.bind(self.plugin_setting_rid(plugin));
        let name = b.bind(plugin.to_owned());
        let values = b.bind(serde_json::to_value(&settings.settings).expect("strings"));
        let channels = b.bind(
            settings
                .channels
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect::<Vec<_>>(),
        );
        let at = b.bind(now);
        b.push(format!(
            "UPSERT {id} CONTENT {{ tenant: $tenant, plugin: {name}, settings: {values}, channels: {channels}, updated_at: {at} }} RETURN NONE"
        ));
        b.event(
            &DomainEvent::new(
                EventKind::PluginConfigured,
                actor,
                format!("plugin:{plugin}"),
                json!({
                    "keys": settings.settings.keys().collect::<Vec<_>>(),
                    "channels": settings.channels.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                }),
            ),
            now,
        );
        self.run(b).await?;
        Ok(())
    }

    /// The provider accepted the message: it is `sent` (unless a status
    /// callback already moved it further) and the job is done.
    pub async fn record_sent(
        &self,
        job: &OutboxJob,
        plugin: &str,
        provider_message_id: &str,
        status: DeliveryStatus,
    ) -> StoreResult<()> {
        let now = Utc::now();
        let mut b = self.batch();
        let job_rid = b.bind(job.id.clone());
        let name = b.bind(plugin.to_owned());
        let at = b.bind(now);
        b.push(format!(
            "UPDATE {job_rid} SET state = 'done', plugin = {name}, attempts += 1, last_error = NONE, lease_owner = NONE, lease_until = NONE RETURN NONE"
        ));
        let msg = b.bind(self.message_rid(job.chat_id(), job.message_id()));
        let pid = b.bind(provider_message_id.to_owned());
        b.push(format!(
            "UPDATE {msg} SET provider_message_id = {pid}, sent_at = {at} RETURN NONE"
        ));
        let status_s = b.bind(status.as_str());
        b.push(format!(
            "UPDATE {msg} SET status = {status_s} WHERE status = 'queued' RETURN NONE"
        ));
        let r = b.bind(self.ref_rid("outbound_ref", plugin, provider_message_id));
        let chat = b.bind(job.chat);
        let message = b.bind(job.message);
        b.push(format!(
            "UPSERT {r} CONTENT {{ chat: {chat}, message: {message}, created_at: {at} }} RETURN NONE"
        ));
        b.event(
            &DomainEvent::new(
                EventKind::MessageStatusChanged,
                &Actor::Provider(plugin.to_owned()),
                format!("message:{}", job.message_id()),
                json!({ "chat": job.chat_id().to_string(), "status": status.as_str(), "providerMessageId": provider_message_id, "attempt": job.attempts + 1 }),
            ),
            now,
        );
        self.run(b).await?;
        Ok(())
    }

    /// A failed attempt to be tried again at `next_at`; the message stays `queued`.
    pub async fn reschedule(
        &self,
        job: &OutboxJob,
        plugin: Option<&str>,
        next_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<()> {
        let mut b = self.batch();
        let job_rid = b.bind(job.id.clone());
        let next = b.bind(next_at);
        let err = b.bind(error.to_owned());
        let name = b.bind(plugin.map(str::to_owned));
        b.push(format!(
            "UPDATE {job_rid} SET attempts += 1, next_attempt_at = {next}, last_error = {err}, plugin = {name}, lease_owner = NONE, lease_until = NONE RETURN NONE"
        ));
        self.run(b).await?;
        Ok(())
    }

    /// The message cannot be delivered: it is `failed` with `reason`.
    pub async fn record_failed(
        &self,
        job: &OutboxJob,
        plugin: Option<&str>,
        reason: &str,
    ) -> StoreResult<()> {
        let now = Utc::now();
        let mut b = self.batch();
        let job_rid = b.bind(job.id.clone());
        let err = b.bind(reason.to_owned());
        let name = b.bind(plugin.map(str::to_owned));
        b.push(format!(
            "UPDATE {job_rid} SET state = 'failed', attempts += 1, last_error = {err}, plugin = {name}, lease_owner = NONE, lease_until = NONE RETURN NONE"
        ));
        let msg = b.bind(self.message_rid(job.chat_id(), job.message_id()));
        b.push(format!(
            "UPDATE {msg} SET status = 'failed', status_reason = {err} WHERE status IN ['queued', 'sent'] RETURN NONE"
        ));
        b.event(
            &DomainEvent::new(
                EventKind::MessageStatusChanged,
                &plugin.map_or(Actor::System, |p| Actor::Provider(p.to_owned())),
                format!("message:{}", job.message_id()),
                json!({ "chat": job.chat_id().to_string(), "status": "failed", "reason": reason, "attempt": job.attempts + 1 }),
            ),
            now,
        );
        self.run(b).await?;
        Ok(())
    }

    /// The message's outbox job, for operators and tests: (state, attempts, last error).
    pub async fn outbox_state(
        &self,
        message: MessageId,
    ) -> StoreResult<Option<(String, i64, Option<String>)>> {
        #[derive(SurrealValue)]
        #[surreal(crate = "surrealdb::types")]
        struct Row {
            state: String,
            attempts: i64,
            last_error: Option<String>,
        }
        let rows: Vec<Row> = self
            .db()
            .query("SELECT state, attempts, last_error FROM $id")
            .bind(("id", self.outbox_rid(message)))
            .await?
            .take(0)?;
        Ok(rows
            .into_iter()
            .next()
            .map(|r| (r.state, r.attempts, r.last_error)))
    }

    /// A provider's status callback. Stale or unknown updates change nothing
    /// (callbacks arrive late and out of order); returns whether it applied.
    pub async fn apply_status(
        &self,
        plugin: &str,
        provider_message_id: &str,
        status: DeliveryStatus,
    ) -> StoreResult<bool> {
        let Some((chat, id)) = self
            .provider_ref("outbound_ref", plugin, provider_message_id)
            .await?
        else {
            return Ok(false);
        };
        let current = self.message(chat, id).await?;
        let Some(next) = current.status.advance(status) else {
            return Ok(false);
        };
        let now = Utc::now();
        let mut b = self.batch();
        let msg = b.bind(self.message_rid(chat, id));
        let before = b.bind(current.status.as_str());
        let s = b.bind(next.as_str());
        let reason = b.bind(match &next {
            DeliveryStatus::Failed { reason } => Some(reason.clone()),
            _ => None,
        });
        b.push(format!(
            "UPDATE {msg} SET status = {s}, status_reason = {reason} WHERE status = {before} RETURN NONE"
        ));
        b.event(
            &DomainEvent::new(
                EventKind::MessageStatusChanged,
                &Actor::Provider(plugin.to_owned()),
                format!("message:{id}"),
                json!({ "chat": chat.to_string(), "status": next.as_str(), "providerMessageId": provider_message_id }),
            ),
            now,
        );
        self.run(b).await?;
        Ok(true)
    }

    /// Where an outbound message went (its transport and recipient), found
    /// by the provider's id, for a status callback that reports an opt-out.
    pub async fn outbound_recipient(
        &self,
        plugin: &str,
        provider_message_id: &str,
    ) -> StoreResult<Option<(String, String)>> {
        let Some((_, message)) = self
            .provider_ref("outbound_ref", plugin, provider_message_id)
            .await?
        else {
            return Ok(None);
        };
        #[derive(SurrealValue)]
        #[surreal(crate = "surrealdb::types")]
        struct Row {
            transport: String,
            recipient: String,
        }
        let rows: Vec<Row> = self
            .db()
            .query("SELECT transport, recipient FROM $id")
            .bind(("id", self.outbox_rid(message)))
            .await?
            .take(0)?;
        Ok(rows.into_iter().next().map(|r| (r.transport, r.recipient)))
    }

    /// All an inbound message needs to know before it is stored, in one
    /// round trip (it is the hub's hottest write path): whether the provider
    /// sent it before, the live client `sender` belongs to, and their chat.
    pub async fn inbound_lookup(
        &self,
        plugin: &str,
        provider_message_id: &str,
        sender: &ContactValue,
    ) -> StoreResult<InboundLookup> {
        #[derive(SurrealValue)]
        #[surreal(crate = "surrealdb::types")]
        struct ChatRef {
            id: RecordId,
        }
        let mut response = self
            .db()
            .query(format!(
                "SELECT chat, message FROM $ref; {}; {}; SELECT id FROM chat WHERE tenant = $tenant AND client = $client LIMIT 1",
                Self::CLIENT_OF_CONTACT,
                Self::CLIENT_VIEW
            ))
            .bind(("ref", self.ref_rid("inbound_ref", plugin, provider_message_id)))
            .bind(("tenant", self.tenant.uuid()))
            .bind(("kind", sender.kind().as_str()))
            .bind(("value", sender.as_str().to_owned()))
            .await?;
        let refs: Vec<Ref> = response.take(0)?;
        let client = self
            .view_of(&mut response, 2)?
            .filter(|v| !v.client.is_deleted());
        let chats: Vec<ChatRef> = response.take(5)?;
        let chat = match (&client, chats.into_iter().next()) {
            (Some(_), Some(c)) => Some(ChatId::from_uuid(uuid_part(&c.id, 1)?)),
            _ => None,
        };
        Ok(InboundLookup {
            seen: refs.into_iter().next().map(Ref::ids),
            client,
            chat,
        })
    }

    /// Where an inbound provider message was stored, if it was.
    pub async fn inbound_seen(
        &self,
        plugin: &str,
        provider_message_id: &str,
    ) -> StoreResult<Option<(ChatId, MessageId)>> {
        self.provider_ref("inbound_ref", plugin, provider_message_id)
            .await
    }

    /// Stores an inbound provider message once, from `client` into `chat`
    /// (their chat as the caller found it): the chat is created when
    /// needed (the client its member), the unread count rises and
    /// `message.received` is logged, all in one transaction with the
    /// record of the provider's id. A message seen before is a `Duplicate`.
    pub async fn receive_from_provider(
        &self,
        plugin: &str,
        provider_message_id: &str,
        (client, chat): (ClientId, Option<ChatId>),
        message_for: impl FnOnce(ChatId) -> StoreResult<Message>,
        consent: Option<(ContactId, &Consent)>,
        actor: &Actor,
    ) -> StoreResult<Inbound> {
        // Callers look with `inbound_lookup` first (before creating a client);
        // the record created here catches the race between two deliveries.
        let r = self.ref_rid("inbound_ref", plugin, provider_message_id);
        let result = self
            .receive_message_with(client, chat, message_for, actor, |b, chat, m| {
                let r = b.bind(r);
                let chat = b.bind(chat.uuid());
                let message = b.bind(m.id().uuid());
                let at = b.bind(m.created_at());
                b.push(format!(
                    "CREATE {r} CONTENT {{ chat: {chat}, message: {message}, created_at: {at} }} RETURN NONE"
                ));
                // A keyword's consent lands with its message, or neither does.
                if let Some((contact, consent)) = consent {
                    self.push_consent(b, contact, consent, actor);
                }
            })
            .await;
        match result {
            Ok((chat, m)) => Ok(Inbound::Stored {
                chat,
                message: m.id(),
            }),
            // Posted twice at once: the other request stored it.
            Err(StoreError::Conflict { field: "id", .. }) => {
                match self.inbound_seen(plugin, provider_message_id).await? {
                    Some((chat, message)) => Ok(Inbound::Duplicate { chat, message }),
                    None => Err(StoreError::Database(
                        "inbound message conflicted but is not stored".into(),
                    )),
                }
            }
            Err(e) => Err(e),
        }
    }

    pub async fn poll_cursor(&self, plugin: &str) -> StoreResult<Option<String>> {
        let rows: Vec<Option<String>> = self
            .db()
            .query("SELECT VALUE cursor FROM $id")
            .bind(("id", self.poll_cursor_rid(plugin)))
            .await?
            .take(0)?;
        Ok(rows.into_iter().next().flatten())
    }

    pub async fn set_poll_cursor(&self, plugin: &str, cursor: Option<&str>) -> StoreResult<()> {
        self.db()
            .query("UPSERT $id SET cursor = $cursor, updated_at = time::now() RETURN NONE")
            .bind(("id", self.poll_cursor_rid(plugin)))
            .bind(("cursor", cursor.map(str::to_owned)))
            .await?
            .check()
            .map_err(|e| super::error::classify(e.to_string()))?;
        Ok(())
    }

    /// Takes or renews the lease on polling `plugin` for this tenant until
    /// `until`: true when `owner` holds it now. Two hubs claiming at once
    /// conflict in the database; the one that fails does not poll this round.
    pub async fn claim_poll_lease(
        &self,
        plugin: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        super::lease::claim(self.db(), self.poll_cursor_rid(plugin), owner, now, until).await
    }

    fn poll_cursor_rid(&self, plugin: &str) -> RecordId {
        rid(
            "poll_cursor",
            [
                uuid_value(self.tenant.uuid()),
                Value::String(plugin.to_owned()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use crate::domain::client::Client;
    use crate::domain::events::Actor;
    use crate::domain::ids::UserId;
    use crate::domain::message::{Message, Sender, Transport};
    use crate::store::messages::Outgoing;
    use crate::store::schema_tests::{store, tenant};

    #[tokio::test]
    async fn a_job_stored_leased_is_claimed_by_no_one_else_until_its_lease_ends() {
        let (_d, store) = store().await;
        let t = tenant(&store, "acme").await;
        let ts = store.tenant(t);
        let client = Client::new(t, "Ann", Utc::now()).unwrap();
        ts.create_client(&client, &[], &Actor::System)
            .await
            .unwrap();
        let (chat, _) = ts
            .open_chat(client.id(), None, &Actor::System)
            .await
            .unwrap();
        let user = UserId::new();
        let queue = |owner: Option<&'static str>| {
            let ts = ts.clone();
            let chat = chat.chat.id();
            async move {
                let m = Message::new(
                    chat,
                    "hello",
                    Sender::User {
                        user_id: user,
                        name: "Ed".into(),
                    },
                    Transport::Sms,
                    vec![],
                    Utc::now(),
                )
                .unwrap();
                let until = Utc::now() + Duration::seconds(30);
                let out = Outgoing {
                    message: &m,
                    recipient: "+14155550100",
                    idempotency_key: None,
                    user,
                    lease: owner.map(|o| (o, until)),
                };
                ts.queue_message(out, &Actor::System).await.unwrap()
            }
        };
        let handed = queue(Some("hub-a")).await;
        let claimable = queue(None).await;
        assert_eq!(handed.tenant, t.uuid());
        assert_eq!(handed.attempts, 0);
        let now = Utc::now();
        let claimed = store
            .claim_outbox("hub-b", now, now + Duration::seconds(30), 10)
            .await
            .unwrap();
        let ids: Vec<_> = claimed.iter().map(|j| j.id.clone()).collect();
        assert_eq!(
            ids,
            std::slice::from_ref(&claimable.id),
            "only the job without a lease"
        );
        // Its holder stopped: once the lease has run out, another claims it.
        let later = now + Duration::seconds(31);
        let claimed = store
            .claim_outbox("hub-b", later, later + Duration::seconds(30), 10)
            .await
            .unwrap();
        let ids: Vec<_> = claimed.iter().map(|j| j.id.clone()).collect();
        assert_eq!(ids, [handed.id, claimable.id], "both leases have run out");
    }
}
