//! GraphQL output types and enums, built from domain values.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::context::{authorize, parse_id};
use crate::api::error::ApiResult;
use crate::domain::ids::ChatId;
use crate::domain::permissions::Action;
use crate::domain::{contact as dct, message as dm, user as du};
use crate::store::chats::ChatView;
use crate::store::clients::ClientView;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::user::Role")]
pub enum Role {
    Admin,
    TeamLead,
    Agent,
    SalesRep,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::contact::ContactKind")]
pub enum ContactKind {
    Email,
    Phone,
    Telegram,
    Whatsapp,
    Instagram,
    Website,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::message::Transport")]
pub enum Transport {
    Telegram,
    Whatsapp,
    Sms,
    Email,
    Instagram,
    Website,
    Phone,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::client::Gender")]
pub enum Gender {
    Female,
    Male,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::contact::ConsentStatus")]
pub enum ConsentStatus {
    Unknown,
    OptedIn,
    OptedOut,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::message::Direction")]
pub enum Direction {
    Inbound,
    Outbound,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SenderKind {
    User,
    Client,
    Service,
    Telegram,
    Whatsapp,
    Sms,
    Email,
    Instagram,
    Website,
    Other,
}

pub struct User(pub du::User);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(SimpleObject)]
pub struct Consent {
    pub status: ConsentStatus,
    pub at: Option<DateTime<Utc>>,
    pub source: Option<String>,
}

pub struct Contact(pub dct::Contact);

#[Object]
impl Contact {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> ContactKind {
        self.0.value.kind().into()
    }
    /// Normalised: E.164 for phones, lower case for e-mail and handles.
    async fn value(&self) -> &str {
        self.0.value.as_str()
    }
    async fn label(&self) -> Option<&str> {
        self.0.label.as_deref()
    }
    /// The transport a message to this contact travels on.
    async fn transport(&self) -> Transport {
        self.0.value.kind().transport().into()
    }
    async fn consent(&self) -> Consent {
        Consent {
            status: self.0.consent.status.into(),
            at: self.0.consent.at,
            source: self.0.consent.source.clone(),
        }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct Client(pub ClientView);

#[Object]
impl Client {
    async fn id(&self) -> ID {
        ID(self.0.client.id().to_string())
    }
    async fn first_name(&self) -> &str {
        self.0.client.first_name()
    }
    async fn last_name(&self) -> Option<&str> {
        self.0.client.last_name()
    }
    async fn middle_name(&self) -> Option<&str> {
        self.0.client.middle_name()
    }
    /// First, middle and last name as people read them.
    async fn display_name(&self) -> String {
        self.0.client.display_name()
    }
    async fn gender(&self) -> Option<Gender> {
        self.0.client.gender().map(Into::into)
    }
    async fn date_of_birth(&self) -> Option<NaiveDate> {
        self.0.client.date_of_birth()
    }
    async fn address(&self) -> Option<&str> {
        self.0.client.address()
    }
    async fn passport_number(&self) -> Option<&str> {
        self.0.client.passport_number()
    }
    async fn tax_pin(&self) -> Option<&str> {
        self.0.client.tax_pin()
    }
    async fn notes(&self) -> Option<&str> {
        self.0.client.notes()
    }
    async fn contacts(&self) -> Vec<Contact> {
        self.0.contacts.iter().cloned().map(Contact).collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.client.created_at()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.client.updated_at()
    }
    /// Set while the client is soft-deleted.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.client.deleted_at()
    }
    /// The client's chat, when one has been opened.
    async fn chat(&self, ctx: &Context<'_>) -> ApiResult<Option<Chat>> {
        let (_, store) = authorize(ctx, Action::ReadChats)?;
        if self.0.client.is_deleted() {
            return Ok(None);
        }
        Ok(store
            .chat_of_client(self.0.client.id())
            .await?
            .map(|c| Chat(c, None, None)))
    }
}

/// Who wrote a message; fields that do not apply to `kind` are null.
#[derive(SimpleObject)]
pub struct Sender {
    pub kind: SenderKind,
    /// A readable name: the user's, the profile name, the handle or the address.
    pub display_name: String,
    pub user_id: Option<ID>,
    pub client_id: Option<ID>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub chat_id: Option<String>,
    pub username: Option<String>,
    pub external_id: Option<String>,
}

impl From<&dm::Sender> for Sender {
    fn from(s: &dm::Sender) -> Self {
        let mut out = Sender {
            kind: SenderKind::Other,
            display_name: String::new(),
            user_id: None,
            client_id: None,
            phone: None,
            address: None,
            chat_id: None,
            username: None,
            external_id: None,
        };
        match s {
            dm::Sender::User { user_id, name } => {
                out.kind = SenderKind::User;
                out.user_id = Some(ID(user_id.to_string()));
                out.display_name = name.clone();
            }
            dm::Sender::Client { client_id } => {
                out.kind = SenderKind::Client;
                out.client_id = Some(ID(client_id.to_string()));
                out.display_name = "Client".into();
            }
            dm::Sender::Service { name } => {
                out.kind = SenderKind::Service;
                out.display_name = name.clone();
            }
            dm::Sender::Telegram { chat_id, username } => {
                out.kind = SenderKind::Telegram;
                out.chat_id = Some(chat_id.clone());
                out.username = username.clone();
                out.display_name = username
                    .clone()
                    .map_or_else(|| chat_id.clone(), |u| format!("@{u}"));
            }
            dm::Sender::Whatsapp {
                phone,
                profile_name,
            } => {
                out.kind = SenderKind::Whatsapp;
                out.phone = Some(phone.clone());
                out.display_name = profile_name.clone().unwrap_or_else(|| phone.clone());
            }
            dm::Sender::Sms { phone } => {
                out.kind = SenderKind::Sms;
                out.phone = Some(phone.clone());
                out.display_name = phone.clone();
            }
            dm::Sender::Email { address, name } => {
                out.kind = SenderKind::Email;
                out.address = Some(address.clone());
                out.display_name = name.clone().unwrap_or_else(|| address.clone());
            }
            dm::Sender::Instagram { user_id, username } => {
                out.kind = SenderKind::Instagram;
                out.external_id = Some(user_id.clone());
                out.username = username.clone();
                out.display_name = username.clone().unwrap_or_else(|| user_id.clone());
            }
            dm::Sender::Website { visitor_id } => {
                out.kind = SenderKind::Website;
                out.external_id = Some(visitor_id.clone());
                out.display_name = "Website visitor".into();
            }
            dm::Sender::Other { source, reference } => {
                out.kind = SenderKind::Other;
                out.external_id = reference.clone();
                out.display_name = source.clone();
            }
        }
        out
    }
}

#[derive(SimpleObject)]
pub struct Attachment {
    pub blob_id: String,
    pub sha256: String,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    /// Where the file is downloaded: `GET` with the same `Authorization`
    /// header as the API; served as a download, never rendered inline.
    pub url: String,
}

pub struct Message(pub dm::Message);

#[Object]
impl Message {
    async fn id(&self) -> ID {
        ID(self.0.id().to_string())
    }
    async fn chat_id(&self) -> ID {
        ID(self.0.chat().to_string())
    }
    async fn text(&self) -> &str {
        self.0.text()
    }
    async fn sender(&self) -> Sender {
        self.0.sender().into()
    }
    async fn direction(&self) -> Direction {
        self.0.direction().into()
    }
    async fn transport(&self) -> Transport {
        self.0.transport().into()
    }
    async fn attachments(&self, ctx: &Context<'_>) -> Vec<Attachment> {
        let base = super::context::state(ctx).public_url.trim_end_matches('/');
        self.0
            .attachments()
            .iter()
            .map(|a| Attachment {
                blob_id: a.blob_id.clone(),
                sha256: a.sha256.clone(),
                file_name: a.file_name.clone(),
                content_type: a.content_type.clone(),
                size: a.size,
                url: format!("{base}/files/{}", a.blob_id),
            })
            .collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at()
    }
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
    async fn read_at(&self) -> Option<DateTime<Utc>> {
        self.0.read_at
    }
    async fn status(&self) -> DeliveryStatus {
        match self.0.status {
            dm::DeliveryStatus::Queued => DeliveryStatus::Queued,
            dm::DeliveryStatus::Sent => DeliveryStatus::Sent,
            dm::DeliveryStatus::Delivered => DeliveryStatus::Delivered,
            dm::DeliveryStatus::Read => DeliveryStatus::Read,
            dm::DeliveryStatus::Failed { .. } => DeliveryStatus::Failed,
        }
    }
    /// Why delivery failed, when it did.
    async fn failure_reason(&self) -> Option<&str> {
        match &self.0.status {
            dm::DeliveryStatus::Failed { reason } => Some(reason),
            _ => None,
        }
    }
    async fn provider_message_id(&self) -> Option<&str> {
        self.0.provider_message_id.as_deref()
    }
}

#[derive(SimpleObject)]
pub struct Member {
    pub kind: String,
    /// `user:<id>`, `client:<id>` or `service:<name>`.
    pub participant: String,
    pub transport: Option<Transport>,
    pub created_at: DateTime<Utc>,
}

/// A chat; its client when the list it came in loaded them together; a page
/// of its history when the query that asked for the chat read them together.
pub struct Chat(
    pub ChatView,
    pub Option<crate::store::clients::ClientView>,
    pub Option<History>,
);

/// What the one `messages` field a query asks of a chat asks for.
pub struct HistoryAsked {
    pub first: i32,
    pub limit: usize,
    pub before: Option<String>,
    pub before_id: Option<crate::domain::ids::MessageId>,
    /// Whether `liveCursor` is asked.
    pub live: bool,
}

/// A page of a chat's history read with the chat, and what it was read for.
pub struct History {
    pub asked: HistoryAsked,
    /// One more than `first` when there are more.
    pub rows: Vec<dm::Message>,
    pub seq: Option<i64>,
}

#[Object]
impl Chat {
    async fn id(&self) -> ID {
        ID(self.0.chat.id().to_string())
    }
    async fn client_id(&self) -> ID {
        ID(self.0.chat.client().to_string())
    }
    async fn client(&self, ctx: &Context<'_>) -> ApiResult<Client> {
        let (_, store) = authorize(ctx, Action::ReadClients)?;
        if let Some(client) = &self.1 {
            return Ok(Client(client.clone()));
        }
        Ok(Client(store.client(self.0.chat.client()).await?))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.chat.created_at()
    }
    async fn last_message_at(&self) -> Option<DateTime<Utc>> {
        self.0.chat.last_message_at
    }
    async fn last_message_preview(&self) -> Option<&str> {
        self.0.last_message_preview.as_deref()
    }
    async fn last_transport(&self) -> Option<Transport> {
        self.0.last_transport.map(Into::into)
    }
    async fn unread_count(&self) -> u32 {
        self.0.chat.unread_count
    }
    async fn members(&self, ctx: &Context<'_>) -> ApiResult<Vec<Member>> {
        let (_, store) = authorize(ctx, Action::ReadChats)?;
        Ok(store
            .members(self.0.chat.id())
            .await?
            .into_iter()
            .map(|m| Member {
                kind: m.participant().kind().to_owned(),
                participant: m.participant().key(),
                transport: m.transport.map(Into::into),
                created_at: m.created_at(),
            })
            .collect())
    }
    /// History, newest first; pass the last `endCursor` as `before` for older pages.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: i32,
        before: Option<String>,
    ) -> ApiResult<super::connection::MessageConnection> {
        let (_, store) = authorize(ctx, Action::ReadChats)?;
        let limit = super::connection::page_size(first)?;
        let live = super::connection::Live::wanted(ctx);
        let read = self
            .2
            .as_ref()
            .filter(|h| h.asked.first == first && h.asked.before == before && h.asked.live == live);
        let (mut rows, seq) = match read {
            Some(h) => (h.rows.clone(), h.seq),
            None => {
                let before = before
                    .map(|c| parse_id::<crate::domain::ids::MessageId>("before", &c))
                    .transpose()?;
                let chat: ChatId = self.0.chat.id();
                store
                    .messages_page_at(chat, before, limit + 1, live)
                    .await?
            }
        };
        let live = super::connection::Live::at(seq);
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        Ok(super::connection::messages(rows, has_more, live))
    }
}

#[derive(SimpleObject)]
pub struct Template {
    pub id: ID,
    pub name: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<crate::domain::template::MessageTemplate> for Template {
    fn from(t: crate::domain::template::MessageTemplate) -> Self {
        Template {
            id: ID(t.id().to_string()),
            name: t.name().to_owned(),
            text: t.text().to_owned(),
            created_at: t.created_at(),
            updated_at: t.updated_at(),
        }
    }
}

/// One entry of the audit log.
#[derive(SimpleObject)]
pub struct AuditEvent {
    pub id: ID,
    /// `noun.verb`, e.g. `client.created`.
    pub kind: String,
    /// `user:<id>`, `system` or `provider:<name>`.
    pub actor: String,
    /// `table:<id>` of the record the event is about.
    pub target: String,
    pub data: async_graphql::Json<serde_json::Value>,
    pub at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct ApiToken {
    pub id: ID,
    pub name: Option<String>,
    pub user_id: ID,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct SignInPayload {
    /// Send as `Authorization: Bearer <token>`. Shown once.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

#[derive(SimpleObject)]
pub struct ApiTokenPayload {
    /// Shown once: store it now.
    pub token: String,
    pub api_token: ApiToken,
}

/// An integration's webhook and how its deliveries are going.
pub struct WebhookNode(pub crate::store::webhooks::WebhookState);

#[derive(SimpleObject)]
pub struct WebhookAttempt {
    /// The event's cursor.
    pub event_cursor: String,
    pub event_kind: String,
    /// 1 for the first try of this event, 2 for the first retry, …
    pub attempt: u32,
    pub ok: bool,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

#[Object]
impl WebhookNode {
    async fn id(&self) -> ID {
        ID(self.0.webhook.id.to_string())
    }
    async fn url(&self) -> &str {
        &self.0.webhook.url
    }
    /// Kinds or prefixes (`message.`) it receives; empty means every event.
    async fn event_kinds(&self) -> &[String] {
        &self.0.webhook.event_kinds
    }
    async fn active(&self) -> bool {
        self.0.webhook.active
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.webhook.created_at
    }
    /// The last event delivered or skipped.
    async fn cursor(&self) -> String {
        self.0.cursor.to_string()
    }
    /// Failed tries of the next event so far; it is retried with backoff.
    async fn failures(&self) -> u32 {
        self.0.failures
    }
    async fn next_attempt_at(&self) -> DateTime<Utc> {
        self.0.next_attempt_at
    }
    /// The newest delivery attempts first.
    async fn attempts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> ApiResult<Vec<WebhookAttempt>> {
        let (_, store) = authorize(ctx, Action::ManageWebhooks)?;
        let limit = super::connection::page_size(first)?;
        Ok(store
            .webhook_attempts(self.0.webhook.id, limit)
            .await?
            .into_iter()
            .map(|a| WebhookAttempt {
                event_cursor: a.event_seq.to_string(),
                event_kind: a.event_kind,
                attempt: a.attempt,
                ok: a.ok,
                status: a.status,
                error: a.error,
                at: a.at,
            })
            .collect())
    }
}

#[derive(SimpleObject)]
pub struct WebhookPayload {
    /// Verifies `X-Hub-Signature`; shown once.
    pub secret: String,
    pub webhook: WebhookNode,
}
