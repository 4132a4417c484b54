//! Chats (one per client) and their members.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, SurrealValue, Value};
use uuid::Uuid;

use super::clients::ClientView;
use super::error::{StoreError, StoreResult};
use super::page::Page;
use super::ranks::chat_rank;
use super::records::{rid, uuid_part, uuid_value};
use super::{Batch, TenantStore};
use crate::domain::chat::Chat;
use crate::domain::events::{Actor, DomainEvent, EventKind};
use crate::domain::ids::{ChatId, ClientId, MessageId, UserId};
use crate::domain::member::{Member, Participant};
use crate::domain::message::{Message, Transport};

/// A chat as the inbox shows it.
#[derive(Debug, Clone)]
pub struct ChatView {
    pub chat: Chat,
    pub last_message_preview: Option<String>,
    pub last_transport: Option<Transport>,
    pub sort_at: DateTime<Utc>,
}

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub(super) struct ChatRow {
    id: RecordId,
    client: Uuid,
    created_at: DateTime<Utc>,
    last_message_at: Option<DateTime<Utc>>,
    sort_at: DateTime<Utc>,
    unread_count: i64,
    last_message_preview: Option<String>,
    last_transport: Option<String>,
}

impl ChatRow {
    pub(super) fn into_domain(self, store: &TenantStore) -> StoreResult<ChatView> {
        Ok(ChatView {
            chat: Chat::restore(
                ChatId::from_uuid(uuid_part(&self.id, 1)?),
                store.tenant,
                ClientId::from_uuid(self.client),
                self.created_at,
                self.last_message_at,
                u32::try_from(self.unread_count).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            ),
            last_message_preview: self.last_message_preview,
            last_transport: self
                .last_transport
                .map(|t| t.parse::<Transport>())
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            sort_at: self.sort_at,
        })
    }
}

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct MemberRow {
    chat: Uuid,
    participant_kind: String,
    participant: String,
    transport: Option<String>,
    metadata: BTreeMap<String, String>,
    created_at: DateTime<Utc>,
}

impl MemberRow {
    fn into_domain(self) -> StoreResult<Member> {
        let corrupt = || StoreError::Corrupt(format!("member participant {}", self.participant));
        let (_, id) = self.participant.split_once(':').ok_or_else(corrupt)?;
        let participant = match self.participant_kind.as_str() {
            "user" => Participant::User(id.parse::<UserId>().map_err(|_| corrupt())?),
            "client" => Participant::Client(id.parse::<ClientId>().map_err(|_| corrupt())?),
            _ => Participant::Service(id.to_owned()),
        };
        Ok(Member::restore(
            ChatId::from_uuid(self.chat),
            participant,
            self.created_at,
            self.transport
                .map(|t| t.parse::<Transport>())
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            self.metadata,
        ))
    }
}

/// Where a page of the chat list starts: after this (time, id), newest first.
#[derive(Debug, Clone)]
pub struct ChatCursor {
    pub sort_at: DateTime<Utc>,
    pub id: ChatId,
}

/// Which chats the inbox lists.
#[derive(Debug, Clone, Default)]
pub struct ChatFilter {
    pub unread_only: bool,
    pub transport: Option<Transport>,
}

impl TenantStore {
    pub(crate) fn chat_rid(&self, id: ChatId) -> RecordId {
        rid(
            "chat",
            [uuid_value(self.tenant.uuid()), uuid_value(id.uuid())],
        )
    }

    fn member_rid(&self, chat: ChatId, participant: &Participant) -> RecordId {
        rid(
            "member",
            [
                uuid_value(self.tenant.uuid()),
                uuid_value(chat.uuid()),
                Value::String(participant.key()),
            ],
        )
    }

    /// Adds `member` unless that participant is already in the chat.
    pub(crate) fn push_member(&self, b: &mut Batch, member: &Member) {
        let id = b.bind(self.member_rid(member.chat(), member.participant()));
        let chat = b.bind(member.chat().uuid());
        let kind = b.bind(member.participant().kind());
        let participant = b.bind(member.participant().key());
        let transport = b.bind(member.transport.map(|t| t.as_str()));
        let metadata = b.bind(member.metadata.clone());
        let at = b.bind(member.created_at());
        b.push(format!(
            "IF (SELECT VALUE id FROM {id}) = [] {{ CREATE {id} CONTENT {{ tenant: $tenant, chat: {chat}, participant_kind: {kind}, participant: {participant}, transport: {transport}, metadata: {metadata}, created_at: {at} }} RETURN NONE }}"
        ));
    }

    pub async fn chat(&self, id: ChatId) -> StoreResult<ChatView> {
        let rows: Vec<ChatRow> = self
            .db()
            .query("SELECT * FROM $id WHERE client_deleted = false")
            .bind(("id", self.chat_rid(id)))
            .await?
            .take(0)?;
        rows.into_iter()
            .next()
            .ok_or(StoreError::NotFound { what: "chat" })?
            .into_domain(self)
    }

    /// A live chat and its client with their contacts, in one round trip:
    /// what sending into the chat needs.
    pub async fn chat_and_client(&self, id: ChatId) -> StoreResult<(ChatView, ClientView)> {
        let mut response = self
            .db()
            .query(format!(
                "LET $chats = SELECT * FROM $chat WHERE client_deleted = false;
                 RETURN $chats;
                 LET $client = $chats[0].client;
                 {}",
                Self::CLIENT_VIEW
            ))
            .bind(("chat", self.chat_rid(id)))
            .bind(("tenant", self.tenant.uuid()))
            .await?;
        let chats: Vec<ChatRow> = response.take(1)?;
        let chat = chats
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound { what: "chat" })?
            .into_domain(self)?;
        let client = self
            .view_of(&mut response, 3)?
            .ok_or(StoreError::NotFound { what: "client" })?;
        Ok((chat, client))
    }

    /// A message and its chat as they are now, in one round trip: what a
    /// subscriber to a message's event is sent. Either is `None` when gone
    /// (a deleted client's chat).
    pub async fn message_and_chat(
        &self,
        chat: ChatId,
        message: MessageId,
    ) -> StoreResult<(Option<Message>, Option<ChatView>)> {
        let (messages, chats) = self.messages_and_chats(&[(chat, message)]).await?;
        Ok((messages.into_iter().next(), chats.into_iter().next()))
    }

    /// Messages with their chats in one round trip, for a burst of message
    /// events; those gone (erased, or a deleted client's chat) are left out.
    pub async fn messages_and_chats(
        &self,
        pairs: &[(ChatId, MessageId)],
    ) -> StoreResult<(Vec<Message>, Vec<ChatView>)> {
        let messages: Vec<RecordId> = pairs.iter().map(|&(c, m)| self.message_rid(c, m)).collect();
        let mut chats: Vec<ChatId> = pairs.iter().map(|&(c, _)| c).collect();
        chats.sort_unstable_by_key(|c| c.uuid());
        chats.dedup();
        let chats: Vec<RecordId> = chats.into_iter().map(|c| self.chat_rid(c)).collect();
        let mut response = self
            .db()
            .query("SELECT * FROM $messages; SELECT * FROM $chats WHERE client_deleted = false")
            .bind(("messages", messages))
            .bind(("chats", chats))
            .await?;
        let messages: Vec<super::messages::MessageRow> = response.take(0)?;
        let chats: Vec<ChatRow> = response.take(1)?;
        Ok((
            messages
                .into_iter()
                .map(|r| r.into_domain())
                .collect::<StoreResult<_>>()?,
            chats
                .into_iter()
                .map(|r| r.into_domain(self))
                .collect::<StoreResult<_>>()?,
        ))
    }

    pub async fn chat_of_client(&self, client: ClientId) -> StoreResult<Option<ChatView>> {
        let rows: Vec<ChatRow> = self
            .db()
            .query("SELECT * FROM chat WHERE tenant = $tenant AND client = $client LIMIT 1")
            .bind(("tenant", self.tenant.uuid()))
            .bind(("client", client.uuid()))
            .await?
            .take(0)?;
        rows.into_iter()
            .next()
            .map(|r| r.into_domain(self))
            .transpose()
    }

    /// "Chat Initialization": the client's chat, created with its initial
    /// members (the client and the user opening it) when it does not exist.
    /// Returns the chat and whether it was created.
    pub async fn open_chat(
        &self,
        client: ClientId,
        opener: Option<UserId>,
        actor: &Actor,
    ) -> StoreResult<(ChatView, bool)> {
        if let Some(existing) = self.chat_of_client(client).await? {
            return Ok((existing, false));
        }
        let now = Utc::now();
        let chat = Chat::new(self.tenant, client, now);
        let mut b = self.batch();
        self.push_new_chat(&mut b, &chat, opener, actor);
        match self.run(b).await {
            Ok(_) => Ok((self.chat(chat.id()).await?, true)),
            // Someone opened it at the same moment: theirs is the one chat.
            Err(StoreError::Conflict {
                field: "clientId", ..
            }) => {
                let existing = self.chat_of_client(client).await?;
                Ok((
                    existing.ok_or(StoreError::NotFound { what: "chat" })?,
                    false,
                ))
            }
            Err(e) => Err(e),
        }
    }

    /// Statements creating `chat` (for a live client) with its members.
    pub(crate) fn push_new_chat(
        &self,
        b: &mut Batch,
        chat: &Chat,
        opener: Option<UserId>,
        actor: &Actor,
    ) {
        let client_rid = b.bind(self.client_rid(chat.client()));
        b.push(format!(
            "IF (SELECT VALUE id FROM {client_rid} WHERE live = true) = [] {{ THROW 'NOT_FOUND:client' }}"
        ));
        self.push_chat_records(b, chat, opener);
        b.event(
            &DomainEvent::new(
                EventKind::ChatCreated,
                actor,
                format!("chat:{}", chat.id()),
                serde_json::json!({ "client": chat.client().to_string() }),
            ),
            chat.created_at(),
        );
    }

    /// The chat's record and its members, without checks or events.
    pub(super) fn push_chat_records(&self, b: &mut Batch, chat: &Chat, opener: Option<UserId>) {
        let id = b.bind(self.chat_rid(chat.id()));
        let client = b.bind(chat.client().uuid());
        let at = b.bind(chat.created_at());
        let rank = b.bind(chat_rank(chat.created_at(), chat.id().uuid()));
        b.push(format!(
            "CREATE {id} CONTENT {{ tenant: $tenant, client: {client}, created_at: {at}, sort_at: {at}, rank: {rank}, unread_count: 0, client_deleted: false }} RETURN NONE"
        ));
        self.push_member(
            b,
            &Member::new(
                chat.id(),
                Participant::Client(chat.client()),
                None,
                chat.created_at(),
            ),
        );
        if let Some(user) = opener {
            self.push_member(
                b,
                &Member::new(chat.id(), Participant::User(user), None, chat.created_at()),
            );
        }
    }

    /// A page of the chat list, most recent conversation first.
    pub async fn chats_page(
        &self,
        filter: &ChatFilter,
        after: Option<&ChatCursor>,
        limit: usize,
    ) -> StoreResult<Vec<ChatView>> {
        Ok(self.chats_page_at(filter, after, limit, false).await?.0)
    }

    /// [`Self::chats_page`], with the log's position before it when
    /// `position` (see [`Page::fetch_at`]).
    pub async fn chats_page_at(
        &self,
        filter: &ChatFilter,
        after: Option<&ChatCursor>,
        limit: usize,
        position: bool,
    ) -> StoreResult<(Vec<ChatView>, Option<i64>)> {
        let mut page = Page::new(self.tenant, "chat", "rank")
            .when("client_deleted = false")
            .after(after.map(|a| chat_rank(a.sort_at, a.id.uuid())));
        if filter.unread_only {
            page = page.when("unread_count > 0");
        }
        if let Some(t) = filter.transport {
            page = page.equals("last_transport", t.as_str());
        }
        let (rows, seq): (Vec<ChatRow>, _) = page.fetch_at(self.db(), limit, position).await?;
        let chats = rows
            .into_iter()
            .map(|r| r.into_domain(self))
            .collect::<StoreResult<_>>()?;
        Ok((chats, seq))
    }

    pub async fn members(&self, chat: ChatId) -> StoreResult<Vec<Member>> {
        let rows: Vec<MemberRow> = self
            .db()
            .query(
                "SELECT * FROM member WHERE tenant = $tenant AND chat = $chat ORDER BY created_at",
            )
            .bind(("tenant", self.tenant.uuid()))
            .bind(("chat", chat.uuid()))
            .await?
            .take(0)?;
        rows.into_iter().map(MemberRow::into_domain).collect()
    }
}
