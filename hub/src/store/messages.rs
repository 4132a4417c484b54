//! Messages, their outbox jobs and read tracking.

use chrono::{DateTime, Utc};
use serde_json::json;
use surrealdb::types::{RecordId, SurrealValue, Value};
use uuid::Uuid;

use super::TenantStore;
use super::chats::{ChatRow, ChatView};
use super::delivery::OutboxJob;
use super::error::{StoreError, StoreResult};
use super::page::Page;
use super::ranks::{chat_rank, newest_first};
use super::records::{rid, uuid_part, uuid_value};
use crate::domain::chat::Chat;
use crate::domain::events::{Actor, DomainEvent, EventKind};
use crate::domain::ids::{ChatId, ClientId, MessageId, UserId};
use crate::domain::member::{Member, Participant};
use crate::domain::message::{
    AttachmentRef, DeliveryStatus, Message, MessageRecord, Sender, Transport,
};

/// How much of a message the chat list shows.
const PREVIEW_CHARS: usize = 140;

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub(super) struct MessageRow {
    id: RecordId,
    text: String,
    sender: serde_json::Value,
    transport: String,
    attachments: Vec<serde_json::Value>,
    created_at: DateTime<Utc>,
    status: String,
    status_reason: Option<String>,
    sent_at: Option<DateTime<Utc>>,
    read_at: Option<DateTime<Utc>>,
    provider_message_id: Option<String>,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl MessageRow {
    pub(super) fn into_domain(self) -> StoreResult<Message> {
        Ok(Message::restore(MessageRecord {
            id: MessageId::from_uuid(uuid_part(&self.id, 2)?),
            chat: ChatId::from_uuid(uuid_part(&self.id, 1)?),
            text: self.text,
            sender: sender_from_json(&self.sender)?,
            transport: self.transport.parse::<Transport>().map_err(corrupt)?,
            attachments: self
                .attachments
                .iter()
                .map(attachment_from_json)
                .collect::<StoreResult<_>>()?,
            created_at: self.created_at,
            status: DeliveryStatus::parse(&self.status, self.status_reason).map_err(corrupt)?,
            sent_at: self.sent_at,
            read_at: self.read_at,
            provider_message_id: self.provider_message_id,
        }))
    }
}

pub(crate) fn sender_to_json(sender: &Sender) -> serde_json::Value {
    let mut v = match sender {
        Sender::User { user_id, name } => json!({ "user_id": user_id.to_string(), "name": name }),
        Sender::Client { client_id } => json!({ "client_id": client_id.to_string() }),
        Sender::Service { name } => json!({ "name": name }),
        Sender::Telegram { chat_id, username } => {
            json!({ "chat_id": chat_id, "username": username })
        }
        Sender::Whatsapp {
            phone,
            profile_name,
        } => json!({ "phone": phone, "profile_name": profile_name }),
        Sender::Sms { phone } => json!({ "phone": phone }),
        Sender::Email { address, name } => json!({ "address": address, "name": name }),
        Sender::Instagram { user_id, username } => {
            json!({ "user_id": user_id, "username": username })
        }
        Sender::Website { visitor_id } => json!({ "visitor_id": visitor_id }),
        Sender::Other { source, reference } => json!({ "source": source, "reference": reference }),
    };
    v["kind"] = json!(sender.kind());
    v
}

fn sender_from_json(v: &serde_json::Value) -> StoreResult<Sender> {
    let s = |k: &str| -> StoreResult<String> {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(str::to_owned)
            .ok_or_else(|| StoreError::Corrupt(format!("sender lacks `{k}`: {v}")))
    };
    let o = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    Ok(match s("kind")?.as_str() {
        "user" => Sender::User {
            user_id: s("user_id")?.parse().map_err(corrupt)?,
            name: s("name")?,
        },
        "client" => Sender::Client {
            client_id: s("client_id")?.parse().map_err(corrupt)?,
        },
        "service" => Sender::Service { name: s("name")? },
        "telegram" => Sender::Telegram {
            chat_id: s("chat_id")?,
            username: o("username"),
        },
        "whatsapp" => Sender::Whatsapp {
            phone: s("phone")?,
            profile_name: o("profile_name"),
        },
        "sms" => Sender::Sms { phone: s("phone")? },
        "email" => Sender::Email {
            address: s("address")?,
            name: o("name"),
        },
        "instagram" => Sender::Instagram {
            user_id: s("user_id")?,
            username: o("username"),
        },
        "website" => Sender::Website {
            visitor_id: s("visitor_id")?,
        },
        "other" => Sender::Other {
            source: s("source")?,
            reference: o("reference"),
        },
        other => return Err(StoreError::Corrupt(format!("unknown sender kind {other}"))),
    })
}

fn attachment_to_json(a: &AttachmentRef) -> serde_json::Value {
    json!({ "blob_id": a.blob_id, "sha256": a.sha256, "file_name": a.file_name, "content_type": a.content_type, "size": a.size })
}

fn attachment_from_json(v: &serde_json::Value) -> StoreResult<AttachmentRef> {
    let s = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(str::to_owned)
            .ok_or_else(|| StoreError::Corrupt(format!("attachment lacks `{k}`")))
    };
    Ok(AttachmentRef {
        blob_id: s("blob_id")?,
        sha256: s("sha256")?,
        file_name: s("file_name")?,
        content_type: s("content_type")?,
        size: v.get("size").and_then(|x| x.as_u64()).unwrap_or(0),
    })
}

fn preview(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= PREVIEW_CHARS {
        line
    } else {
        let mut p: String = line.chars().take(PREVIEW_CHARS - 1).collect();
        p.push('…');
        p
    }
}

/// An outbound message to queue: where it goes and how a retried request is recognised.
pub struct Outgoing<'a> {
    pub message: &'a Message,
    /// The normalised contact value the provider will send to.
    pub recipient: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub user: UserId,
    /// Stores the job leased to this owner until then, for a worker that
    /// takes it from the caller rather than claiming it.
    pub lease: Option<(&'a str, DateTime<Utc>)>,
}

impl TenantStore {
    pub(crate) fn message_rid(&self, chat: ChatId, id: MessageId) -> RecordId {
        rid(
            "message",
            [
                uuid_value(self.tenant.uuid()),
                uuid_value(chat.uuid()),
                uuid_value(id.uuid()),
            ],
        )
    }

    fn idempotency_rid(&self, key: &str) -> RecordId {
        rid(
            "idempotency",
            [
                uuid_value(self.tenant.uuid()),
                Value::String(key.to_owned()),
            ],
        )
    }

    /// The message a previous request with this idempotency key created.
    pub async fn message_by_idempotency_key(&self, key: &str) -> StoreResult<Option<Message>> {
        #[derive(SurrealValue)]
        #[surreal(crate = "surrealdb::types")]
        struct Row {
            chat: Uuid,
            message: Uuid,
        }
        let rows: Vec<Row> = self
            .db()
            .query("SELECT chat, message FROM $id")
            .bind(("id", self.idempotency_rid(key)))
            .await?
            .take(0)?;
        match rows.into_iter().next() {
            None => Ok(None),
            Some(r) => self
                .message(ChatId::from_uuid(r.chat), MessageId::from_uuid(r.message))
                .await
                .map(Some),
        }
    }

    pub async fn message(&self, chat: ChatId, id: MessageId) -> StoreResult<Message> {
        let rows: Vec<MessageRow> = self
            .db()
            .query("SELECT * FROM $id")
            .bind(("id", self.message_rid(chat, id)))
            .await?
            .take(0)?;
        rows.into_iter()
            .next()
            .ok_or(StoreError::NotFound { what: "message" })?
            .into_domain()
    }

    pub(super) fn push_message(&self, b: &mut super::Batch, m: &Message) {
        self.push_message_record(b, m);
        // The chat's summary moves in the same transaction as the message.
        self.push_chat_summary(b, m, i64::from(m.is_unread()));
    }

    /// The message's record alone.
    pub(super) fn push_message_record(&self, b: &mut super::Batch, m: &Message) {
        let id = b.bind(self.message_rid(m.chat(), m.id()));
        let chat = b.bind(m.chat().uuid());
        let text = b.bind(m.text().to_owned());
        let sender = b.bind(sender_to_json(m.sender()));
        let direction = b.bind(m.direction().as_str());
        let transport = b.bind(m.transport().as_str());
        let attachments = b.bind(
            m.attachments()
                .iter()
                .map(attachment_to_json)
                .collect::<Vec<_>>(),
        );
        let at = b.bind(m.created_at());
        let status = b.bind(m.status.as_str());
        let read_at = b.bind(m.read_at);
        let provider_id = b.bind(m.provider_message_id.clone());
        let rank = b.bind(newest_first(m.id().uuid()));
        b.push(format!(
            "CREATE {id} CONTENT {{ tenant: $tenant, chat: {chat}, text: {text}, sender: {sender}, direction: {direction}, transport: {transport}, attachments: {attachments}, created_at: {at}, status: {status}, read_at: {read_at}, provider_message_id: {provider_id}, rank: {rank} }} RETURN NONE"
        ));
    }

    /// Moves the chat's summary to `m`, its newest message, with `unread`
    /// more unread messages; fails the batch with `NOT_FOUND:chat` when the
    /// chat is missing or its client deleted.
    pub(super) fn push_chat_summary(&self, b: &mut super::Batch, m: &Message, unread: i64) {
        let at = b.bind(m.created_at());
        let transport = b.bind(m.transport().as_str());
        let chat_id = b.bind(self.chat_rid(m.chat()));
        let preview = b.bind(preview(m.text()));
        let chat_rank = b.bind(chat_rank(m.created_at(), m.chat().uuid()));
        // The update is also the check that the chat is there and its
        // client not deleted: one statement where a check and an update
        // were two.
        b.push(format!(
            "IF (UPDATE {chat_id} SET last_message_at = {at}, sort_at = {at}, rank = {chat_rank}, last_message_preview = {preview}, last_transport = {transport}, unread_count += {unread} WHERE client_deleted = false RETURN VALUE id) = [] {{ THROW 'NOT_FOUND:chat' }}"
        ));
    }

    /// Stores an outbound message as `queued` with its outbox job, the
    /// sender's membership, the chat summary and the audit event, in one
    /// transaction.
    /// Stores an outbound message and its delivery job; returns the job.
    pub async fn queue_message(&self, out: Outgoing<'_>, actor: &Actor) -> StoreResult<OutboxJob> {
        let m = out.message;
        let mut b = self.batch();
        if let Some(key) = out.idempotency_key {
            let idem = b.bind(self.idempotency_rid(key));
            let chat = b.bind(m.chat().uuid());
            let msg = b.bind(m.id().uuid());
            let at = b.bind(m.created_at());
            b.push(format!(
                "CREATE {idem} CONTENT {{ chat: {chat}, message: {msg}, created_at: {at} }} RETURN NONE"
            ));
        }
        self.push_message(&mut b, m);
        let job_id = rid(
            "outbox",
            [uuid_value(self.tenant.uuid()), uuid_value(m.id().uuid())],
        );
        let job = b.bind(job_id.clone());
        let chat = b.bind(m.chat().uuid());
        let msg = b.bind(m.id().uuid());
        let transport = b.bind(m.transport().as_str());
        let recipient = b.bind(out.recipient.to_owned());
        let at = b.bind(m.created_at());
        let owner = b.bind(out.lease.map(|(owner, _)| owner.to_owned()));
        let until = b.bind(out.lease.map(|(_, until)| until));
        b.push(format!(
            "CREATE {job} CONTENT {{ tenant: $tenant, chat: {chat}, message: {msg}, transport: {transport}, recipient: {recipient}, state: 'pending', attempts: 0, next_attempt_at: {at}, created_at: {at}, lease_owner: {owner}, lease_until: {until} }} RETURN NONE"
        ));
        self.push_member(
            &mut b,
            &Member::new(
                m.chat(),
                Participant::User(out.user),
                Some(m.transport()),
                m.created_at(),
            ),
        );
        b.event(
            &DomainEvent::new(
                EventKind::MessageQueued,
                actor,
                format!("message:{}", m.id()),
                json!({ "chat": m.chat().to_string(), "transport": m.transport().as_str(), "to": out.recipient }),
            ),
            m.created_at(),
        );
        self.run(b).await?;
        Ok(OutboxJob {
            id: job_id,
            tenant: self.tenant.uuid(),
            chat: m.chat().uuid(),
            message: m.id().uuid(),
            transport: m.transport().as_str().to_owned(),
            recipient: out.recipient.to_owned(),
            attempts: 0,
        })
    }

    /// Stores a message that came in from the client, creating the chat
    /// first when this is the client's first message ("implicit creation").
    /// Returns the chat it landed in.
    pub async fn receive_message(
        &self,
        client: ClientId,
        message_for: impl FnOnce(ChatId) -> StoreResult<Message>,
        actor: &Actor,
    ) -> StoreResult<(ChatId, Message)> {
        let chat = self.chat_of_client(client).await?.map(|v| v.chat.id());
        self.receive_message_with(client, chat, message_for, actor, |_, _, _| {})
            .await
    }

    /// [`Self::receive_message`] into `chat`, the client's chat as the caller
    /// found it (`None`: create it), with more statements (`extra`) in its
    /// transaction.
    pub(crate) async fn receive_message_with(
        &self,
        client: ClientId,
        chat: Option<ChatId>,
        message_for: impl FnOnce(ChatId) -> StoreResult<Message>,
        actor: &Actor,
        extra: impl FnOnce(&mut super::Batch, ChatId, &Message),
    ) -> StoreResult<(ChatId, Message)> {
        let mut b = self.batch();
        let chat_id = match chat {
            Some(id) => id,
            None => {
                let chat = Chat::new(self.tenant, client, Utc::now());
                self.push_new_chat(&mut b, &chat, None, actor);
                chat.id()
            }
        };
        let m = message_for(chat_id)?;
        // Checks that the chat (unless new) is not a deleted client's. The
        // client is a member of their chat from its creation on.
        self.push_message(&mut b, &m);
        extra(&mut b, chat_id, &m);
        b.event(
            &DomainEvent::new(
                EventKind::MessageReceived,
                actor,
                format!("message:{}", m.id()),
                json!({ "chat": chat_id.to_string(), "transport": m.transport().as_str(), "sender": m.sender().kind() }),
            ),
            m.created_at(),
        );
        self.run(b).await?;
        Ok((chat_id, m))
    }

    /// A page of a chat's history, newest first, older than `before`.
    pub async fn messages_page(
        &self,
        chat: ChatId,
        before: Option<MessageId>,
        limit: usize,
    ) -> StoreResult<Vec<Message>> {
        Ok(self.messages_page_at(chat, before, limit, false).await?.0)
    }

    /// [`Self::messages_page`], with the log's position before it when
    /// `position` (see [`Page::fetch_at`]).
    pub async fn messages_page_at(
        &self,
        chat: ChatId,
        before: Option<MessageId>,
        limit: usize,
        position: bool,
    ) -> StoreResult<(Vec<Message>, Option<i64>)> {
        let (rows, seq) = self
            .history(chat, before)
            .fetch_at(self.db(), limit, position)
            .await?;
        Ok((messages_of(rows)?, seq))
    }

    /// A live chat and a page of its history (see [`Self::messages_page_at`])
    /// in one round trip: what opening a chat reads.
    pub async fn chat_with_messages(
        &self,
        chat: ChatId,
        before: Option<MessageId>,
        limit: usize,
        position: bool,
    ) -> StoreResult<(ChatView, Vec<Message>, Option<i64>)> {
        let lead = (
            "SELECT * FROM $chat_id WHERE client_deleted = false",
            "chat_id",
            self.chat_rid(chat).into_value(),
        );
        let (chats, rows, seq) = self
            .history(chat, before)
            .fetch_led::<ChatRow, MessageRow>(self.db(), lead, limit, position)
            .await?;
        let view = chats
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound { what: "chat" })?
            .into_domain(self)?;
        Ok((view, messages_of(rows)?, seq))
    }

    /// A chat's history, newest first, older than `before`.
    fn history(&self, chat: ChatId, before: Option<MessageId>) -> Page {
        Page::new(self.tenant, "message", "rank")
            .equals("chat", chat.uuid())
            .after(before.map(|b| newest_first(b.uuid())))
    }

    /// Marks the chat's unread inbound messages up to and including `up_to`
    /// as read, and lowers the unread count in the same transaction.
    /// Returns how many were marked.
    pub async fn mark_read(
        &self,
        chat: ChatId,
        up_to: MessageId,
        actor: &Actor,
    ) -> StoreResult<u32> {
        let now = Utc::now();
        let mut b = self.batch();
        let chat_rid = b.bind(self.chat_rid(chat));
        b.push(format!(
            "IF (SELECT VALUE id FROM {chat_rid} WHERE client_deleted = false) = [] {{ THROW 'NOT_FOUND:chat' }}"
        ));
        let chat_uuid = b.bind(chat.uuid());
        let from = b.bind(newest_first(up_to.uuid()));
        let at = b.bind(now);
        b.push(format!(
            "LET $marked = (UPDATE message SET read_at = {at} WHERE tenant = $tenant AND chat = {chat_uuid} AND rank >= {from} AND direction = 'inbound' AND read_at = NONE RETURN VALUE id)"
        ));
        b.push(format!(
            "UPDATE {chat_rid} SET unread_count = math::max([0, unread_count - array::len($marked)]) RETURN NONE"
        ));
        let count = b.push("array::len($marked)");
        b.event(
            &DomainEvent::new(
                EventKind::MessagesRead,
                actor,
                format!("chat:{chat}"),
                json!({ "upTo": up_to.to_string() }),
            ),
            now,
        );
        let mut results = self.run(b).await?;
        let count: i64 = results.take(count)?;
        Ok(u32::try_from(count).unwrap_or(0))
    }
}

fn messages_of(rows: Vec<MessageRow>) -> StoreResult<Vec<Message>> {
    rows.into_iter().map(MessageRow::into_domain).collect()
}
