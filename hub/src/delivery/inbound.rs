//! The inbound pipeline: a provider's webhook (or a poll) → the plugin →
//! contact, client, chat, member and message, each stored once.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::Utc;

use super::transports::Transports;
use crate::domain::client::Client;
use crate::domain::contact::{Consent, ConsentStatus, Contact, ContactKind, ContactValue};
use crate::domain::events::Actor;
use crate::domain::ids::{ContactId, TenantId};
use crate::domain::message::{AttachmentRef, Message, Sender, Transport};
use crate::files::{FileError, FileStore};
use crate::plugins::PluginError;
use crate::plugins::convert::{status_of, transport_of};
use crate::plugins::types::{
    HttpRequest, HttpResponse, InboundMessage, StatusUpdate, WebhookError,
};
use crate::store::clients::ClientView;
use crate::store::delivery::Inbound;
use crate::store::{Store, StoreError, TenantStore};

/// What storing inbound messages needs besides the database.
#[derive(Debug)]
pub struct Intake {
    /// Where attachment contents that providers deliver inline are kept.
    pub files: FileStore,
    /// The region for phone numbers written without a country code.
    pub default_region: Option<String>,
    /// The tenants webhooks' paths named, as found.
    pub tenants: TenantKeys,
}

/// Tenants by the key in a webhook's path (id or slug), as found. A tenant
/// is never renamed or removed, so a key once found stays right; a key not
/// found is not kept, so nobody can fill this by posting made-up keys.
#[derive(Debug, Default)]
pub struct TenantKeys(Mutex<HashMap<String, TenantId>>);

/// Keys kept; past that all are looked up again.
const TENANT_KEYS_KEPT: usize = 10_000;

impl TenantKeys {
    /// Resolves the tenant of `/webhooks/{plugin}/{tenant}`: its id or its slug.
    pub async fn tenant_of(&self, store: &Store, key: &str) -> Result<TenantId, InboundError> {
        if let Some(id) = self.0.lock().expect("tenant keys lock").get(key) {
            return Ok(*id);
        }
        let found = match key.parse::<uuid::Uuid>() {
            Ok(id) => store.tenant_by_id(TenantId::from_uuid(id)).await?,
            Err(_) => store.tenant_by_slug(key).await?,
        };
        let id = found
            .map(|t| t.id)
            .ok_or_else(|| InboundError::NotFound(format!("no tenant `{key}`")))?;
        let mut keys = self.0.lock().expect("tenant keys lock");
        if keys.len() >= TENANT_KEYS_KEPT {
            keys.clear();
        }
        keys.insert(key.to_owned(), id);
        Ok(id)
    }
}

/// Why a webhook was not taken; each maps onto one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("{0}")]
    NotFound(String),
    /// The plugin could not verify the request: nothing was stored.
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Malformed(String),
    /// The plugin failed (trap, limit): the provider should retry later.
    #[error("{0}")]
    Plugin(#[from] PluginError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Files(#[from] FileError),
}

/// What a webhook stored, for logs and tests.
#[derive(Debug, Default)]
pub struct Outcome {
    pub stored: usize,
    pub duplicates: usize,
    pub statuses: usize,
}

/// Runs one webhook request through `plugin` and stores what it returns.
pub async fn handle_webhook(
    store: &Store,
    transports: &Transports,
    plugin_name: &str,
    tenant: TenantId,
    request: HttpRequest,
    intake: &Intake,
) -> Result<(HttpResponse, Outcome), InboundError> {
    let plugin = transports
        .host()
        .get(plugin_name)
        .ok_or_else(|| InboundError::NotFound(format!("no plugin `{plugin_name}` is loaded")))?;
    let (settings, _, _) = transports
        .settings(tenant, plugin_name)
        .await?
        .ok_or_else(|| {
            InboundError::NotFound(format!(
                "plugin `{plugin_name}` is not configured for this tenant"
            ))
        })?;
    let result = plugin
        .handle_webhook(&tenant.to_string(), &settings, &request)
        .await?
        .map_err(|e| match e {
            WebhookError::Unauthenticated(m) => InboundError::Unauthenticated(m),
            WebhookError::Malformed(m) => InboundError::Malformed(m),
        })?;
    let outcome = store_results(
        &store.tenant(tenant),
        plugin.name(),
        result.messages,
        result.statuses,
        intake,
    )
    .await?;
    Ok((result.response, outcome))
}

/// Stores inbound messages and applies status updates, in order. `source`
/// names where they came from: a plugin, or the hub's own website widget.
pub async fn store_results(
    store: &TenantStore,
    source: &str,
    messages: Vec<InboundMessage>,
    statuses: Vec<StatusUpdate>,
    intake: &Intake,
) -> Result<Outcome, InboundError> {
    // The provider's id is what recognises a retried webhook: a plugin that
    // returns none has misread the request.
    for id in messages
        .iter()
        .map(|m| &m.provider_message_id)
        .chain(statuses.iter().map(|s| &s.provider_message_id))
    {
        check_provider_id(id)?;
    }
    let mut outcome = Outcome::default();
    for m in messages {
        match receive(store, source, m, intake).await? {
            Inbound::Stored { .. } => outcome.stored += 1,
            Inbound::Duplicate { .. } => outcome.duplicates += 1,
        }
    }
    for s in statuses {
        if s.opted_out
            && let Some((transport, recipient)) = store
                .outbound_recipient(source, &s.provider_message_id)
                .await?
            && let Ok(transport) = transport.parse::<Transport>()
        {
            super::opt_out::record(store, transport, &recipient, source).await;
        }
        let status = status_of(s.state, s.reason);
        if store
            .apply_status(source, &s.provider_message_id, status)
            .await?
        {
            outcome.statuses += 1;
        }
    }
    Ok(outcome)
}

/// Longest provider id kept (e-mail Message-IDs are the longest seen, under 1,000).
const PROVIDER_ID_MAX: usize = 1_000;

fn check_provider_id(id: &str) -> Result<(), InboundError> {
    if id.trim().is_empty() {
        return Err(InboundError::Malformed(
            "the plugin returned a message or status without the provider's id".into(),
        ));
    }
    if id.len() > PROVIDER_ID_MAX {
        return Err(InboundError::Malformed(format!(
            "the plugin returned a provider id of {} bytes; at most {PROVIDER_ID_MAX} are kept",
            id.len()
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(InboundError::Malformed(
            "the plugin returned a provider id with control characters".into(),
        ));
    }
    Ok(())
}

fn sender_of(plugin: &str, t: Transport, value: &ContactValue, m: &InboundMessage) -> Sender {
    let address = value.as_str().to_owned();
    let name = m.sender.display_name.clone();
    let username = m.sender.username.clone();
    match t {
        Transport::Sms | Transport::Phone => Sender::Sms { phone: address },
        Transport::Whatsapp => Sender::Whatsapp {
            phone: address,
            profile_name: name,
        },
        Transport::Telegram => Sender::Telegram {
            chat_id: address,
            username,
        },
        Transport::Email => Sender::Email { address, name },
        Transport::Instagram => Sender::Instagram {
            user_id: address,
            username,
        },
        Transport::Website => Sender::Website {
            visitor_id: address,
        },
        Transport::Other => Sender::Other {
            source: plugin.to_owned(),
            reference: Some(address),
        },
    }
}

async fn receive(
    store: &TenantStore,
    source: &str,
    mut m: InboundMessage,
    intake: &Intake,
) -> Result<Inbound, InboundError> {
    let transport = transport_of(m.channel);
    let value = ContactValue::parse(
        ContactKind::for_transport(transport),
        &m.sender.address,
        intake.default_region.as_deref(),
    )
    .map_err(|e| {
        InboundError::Malformed(format!(
            "message {}: sender `{}`: {}",
            m.provider_message_id, m.sender.address, e.message
        ))
    })?;
    let found = store
        .inbound_lookup(source, &m.provider_message_id, &value)
        .await?;
    if let Some((chat, message)) = found.seen {
        return Ok(Inbound::Duplicate { chat, message });
    }
    let actor = Actor::Provider(source.to_owned());
    let (client, contact, chat) = match found.client {
        Some(view) => (view.client.id(), contact_id(&view, &value)?, found.chat),
        None => {
            let now = Utc::now();
            let name = m
                .sender
                .display_name
                .as_deref()
                .or(m.sender.username.as_deref())
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(value.as_str());
            let client = Client::new(store.tenant_id(), name, now)
                .map_err(|e| InboundError::Malformed(e.message))?;
            // A handle (Telegram, Instagram) labels the id it belongs to.
            let label = m
                .sender
                .username
                .as_deref()
                .filter(|u| !u.trim().is_empty())
                .map(|u| format!("@{}", u.trim_start_matches('@')));
            let contact = Contact::new(value.clone(), label.as_deref(), now)
                .map_err(|e| InboundError::Malformed(e.message))?;
            let created = contact.id;
            match store.create_client(&client, &[contact], &actor).await {
                Ok(()) => (client.id(), created, None),
                // The same sender's first messages arrived at once.
                Err(StoreError::Conflict { .. }) => {
                    let again = store
                        .inbound_lookup(source, &m.provider_message_id, &value)
                        .await?;
                    let view = again
                        .client
                        .ok_or_else(|| StoreError::Database("contact vanished".into()))?;
                    (view.client.id(), contact_id(&view, &value)?, again.chat)
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    // A message that is only `STOP` or `START` sets the sender's consent.
    let consent = match ConsentStatus::from_keyword(&m.text) {
        Some((status, keyword)) => {
            let source = format!("keyword {keyword} via {}", source);
            Some(
                Consent::set(status, &source, Utc::now())
                    .map_err(|e| InboundError::Malformed(e.message))?,
            )
        }
        None => None,
    };
    let mut text = m.text.clone();
    let mut attachments = Vec::new();
    for a in std::mem::take(&mut m.attachments) {
        let name = a.file_name.as_deref().unwrap_or(&a.content_type);
        match a.content {
            // Delivered inline (e-mail): kept in the file store.
            Some(bytes) => {
                let size = bytes.len() as u64;
                let id = match intake.files.put(store.tenant_id(), bytes).await {
                    Ok(id) => id,
                    // The message is kept; the text says what was left out.
                    Err(e @ FileError::TooLarge { .. }) => {
                        tracing::warn!(message = %m.provider_message_id, "attachment `{name}` not kept: {e}");
                        text.push_str(&format!("\n[attachment not kept: {name}: {e}]"));
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                attachments.push(AttachmentRef {
                    blob_id: id.clone(),
                    sha256: id,
                    file_name: a.file_name.clone().unwrap_or_else(|| "attachment".into()),
                    content_type: a.content_type.clone(),
                    size,
                });
            }
            // Kept by the provider: its link goes with the text, never dropped.
            None => text.push_str(&format!("\n[attachment: {name} {}]", a.url)),
        }
    }
    // History is ordered by arrival; the provider's own clock is not trusted.
    let at = Utc::now();
    let sender = sender_of(source, transport, &value, &m);
    let outcome = store
        .receive_from_provider(
            source,
            &m.provider_message_id,
            (client, chat),
            |chat| {
                let mut message =
                    Message::new(chat, text.trim_start(), sender, transport, attachments, at)?;
                // Kept on the message too: replies thread on it (e-mail).
                message.provider_message_id = Some(m.provider_message_id.clone());
                Ok(message)
            },
            consent.as_ref().map(|c| (contact, c)),
            &actor,
        )
        .await;
    match outcome {
        Err(StoreError::Invalid(e)) => Err(InboundError::Malformed(format!(
            "message {}: {}",
            m.provider_message_id, e.message
        ))),
        other => Ok(other?),
    }
}

/// The id of the contact `value` in `view`, the client it was found by.
fn contact_id(view: &ClientView, value: &ContactValue) -> Result<ContactId, InboundError> {
    view.contacts
        .iter()
        .find(|c| &c.value == value)
        .map(|c| c.id)
        .ok_or_else(|| StoreError::Database("a client found by a contact lacks it".into()).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema_tests::{store, tenant};

    #[tokio::test]
    async fn a_webhooks_tenant_is_found_by_id_or_slug_and_an_unknown_key_is_not_kept() {
        let (_dir, store) = store().await;
        let keys = TenantKeys::default();
        // Asked before the tenant exists: not found, and not remembered so.
        assert!(matches!(
            keys.tenant_of(&store, "acme").await,
            Err(InboundError::NotFound(_))
        ));
        let acme = tenant(&store, "acme").await;
        let other = tenant(&store, "other").await;
        assert_eq!(keys.tenant_of(&store, "acme").await.unwrap(), acme);
        assert_eq!(keys.tenant_of(&store, "acme").await.unwrap(), acme);
        assert_eq!(
            keys.tenant_of(&store, &other.to_string()).await.unwrap(),
            other
        );
        assert!(matches!(
            keys.tenant_of(&store, &TenantId::new().to_string()).await,
            Err(InboundError::NotFound(_))
        ));
        assert_eq!(keys.0.lock().unwrap().len(), 2, "only found keys are kept");
    }
}
