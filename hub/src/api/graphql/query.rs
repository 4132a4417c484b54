//! Queries.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, Object, Value};
use chrono::DateTime;

use super::connection::{
    AuditConnection, ChatConnection, ClientConnection, Live, decode, encode, page_size,
};
use super::context::{authorize, parse_id, principal, state};
use super::types::{
    ApiToken, AuditEvent, Chat, Client, ContactKind, History, HistoryAsked, Message, Template,
    Transport, User,
};
use crate::api::error::{ApiError, ApiResult};
use crate::domain::contact::{ContactKind as DomainKind, ContactValue};
use crate::domain::ids::{ChatId, ClientId, MessageId, TemplateId};
use crate::domain::permissions::Action;
use crate::store::chats::{ChatCursor, ChatFilter};
use crate::store::clients::ClientCursor;
use crate::store::tokens::TokenKind;

pub struct Query;

#[Object]
impl Query {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<User> {
        Ok(User(principal(ctx)?.user.clone()))
    }

    /// How long this tenant keeps messages and attachments (admins).
    async fn retention_policy(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<super::mutation::RetentionPolicy> {
        let (_, store) = authorize(ctx, Action::ManageRetention)?;
        Ok(store.retention_policy().await?.into())
    }

    /// One client, by id. Deleted clients are not found.
    async fn client(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Client> {
        let (_, store) = authorize(ctx, Action::ReadClients)?;
        let view = store.client(parse_id::<ClientId>("id", &id)?).await?;
        if view.client.is_deleted() {
            return Err(ApiError::NotFound("client"));
        }
        Ok(Client(view))
    }

    /// Clients in name order, or those matching `search` (an exact phone,
    /// e-mail or handle first, then names that start with it in name
    /// order, then names with its words anywhere, oldest client first).
    async fn clients(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> ApiResult<ClientConnection> {
        let (_, store) = authorize(ctx, Action::ReadClients)?;
        let limit = page_size(first)?;
        let search = search
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if let Some(text) = search {
            if text.chars().count() > 200 {
                return Err(ApiError::validation(
                    "search",
                    "must be at most 200 characters",
                ));
            }
            let offset = match &after {
                Some(c) => decode("after", c, 1)?[0].parse::<usize>().map_err(|_| {
                    ApiError::validation("after", "is not a cursor this API gave out")
                })?,
                None => 0,
            };
            let region = state(ctx).config.contacts.default_region.as_deref();
            let contact_matches: Vec<ContactValue> = DomainKind::ALL
                .into_iter()
                .filter_map(|k| ContactValue::parse(k, &text, region).ok())
                .filter(|v| !matches!(v.kind(), DomainKind::Other | DomainKind::Website))
                .collect();
            let mut rows = store
                .search_clients(&text, &contact_matches, offset, limit + 1)
                .await?;
            let has_more = rows.len() > limit;
            rows.truncate(limit);
            let mut conn = Connection::new(offset > 0, has_more);
            conn.edges.extend(
                rows.into_iter()
                    .enumerate()
                    .map(|(i, v)| Edge::new(encode(&[&(offset + i + 1).to_string()]), Client(v))),
            );
            return Ok(conn);
        }
        let after = after
            .map(|c| -> ApiResult<ClientCursor> {
                let parts = decode("after", &c, 2)?;
                Ok(ClientCursor {
                    name_key: parts[0].clone(),
                    id: parse_id("after", &parts[1])?,
                })
            })
            .transpose()?;
        let mut rows = store.clients_page(after.as_ref(), limit + 1).await?;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let mut conn = Connection::new(after.is_some(), has_more);
        conn.edges.extend(rows.into_iter().map(|v| {
            let cursor = encode(&[
                &v.client.display_name().to_lowercase(),
                &v.client.id().to_string(),
            ]);
            Edge::new(cursor, Client(v))
        }));
        Ok(conn)
    }

    /// The client reachable at this contact, or null.
    async fn client_by_contact(
        &self,
        ctx: &Context<'_>,
        kind: ContactKind,
        value: String,
    ) -> ApiResult<Option<Client>> {
        let (_, store) = authorize(ctx, Action::ReadClients)?;
        let region = state(ctx).config.contacts.default_region.as_deref();
        let value = ContactValue::parse(kind.into(), &value, region)?;
        Ok(store.client_by_contact(&value).await?.map(Client))
    }

    /// The inbox: chats with the most recent conversation first.
    async fn chats(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
        #[graphql(default = false)] unread_only: bool,
        transport: Option<Transport>,
    ) -> ApiResult<ChatConnection> {
        let (_, store) = authorize(ctx, Action::ReadChats)?;
        let limit = page_size(first)?;
        let after = after
            .map(|c| -> ApiResult<ChatCursor> {
                let parts = decode("after", &c, 2)?;
                let micros = parts[0]
                    .parse::<i64>()
                    .ok()
                    .and_then(DateTime::from_timestamp_micros)
                    .ok_or_else(|| {
                        ApiError::validation("after", "is not a cursor this API gave out")
                    })?;
                Ok(ChatCursor {
                    sort_at: micros,
                    id: parse_id("after", &parts[1])?,
                })
            })
            .transpose()?;
        let filter = ChatFilter {
            unread_only,
            transport: transport.map(Into::into),
        };
        let (mut rows, seq) = store
            .chats_page_at(&filter, after.as_ref(), limit + 1, Live::wanted(ctx))
            .await?;
        let live = Live::at(seq);
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        // The inbox shows each chat's client: one query for the page's
        // clients, not one per chat.
        let wanted = ctx.look_ahead();
        let clients_of = [
            wanted.field("nodes").field("client"),
            wanted.field("edges").field("node").field("client"),
        ];
        // Contacts only when asked for: the inbox shows names.
        let contacts = clients_of.iter().any(|c| c.field("contacts").exists());
        // A role that may not read clients is refused by the field itself.
        let mut clients = if clients_of.iter().any(|c| c.exists())
            && authorize(ctx, Action::ReadClients).is_ok()
        {
            let ids: Vec<_> = rows.iter().map(|v| v.chat.client()).collect();
            store
                .clients_by_id(&ids, contacts)
                .await?
                .into_iter()
                .map(|c| (c.client.id(), c))
                .collect()
        } else {
            std::collections::HashMap::new()
        };
        let mut conn = Connection::with_additional_fields(after.is_some(), has_more, live);
        conn.edges.extend(rows.into_iter().map(|v| {
            let cursor = encode(&[
                &v.sort_at.timestamp_micros().to_string(),
                &v.chat.id().to_string(),
            ]);
            let client = clients.remove(&v.chat.client());
            Edge::new(cursor, Chat(v, client, None))
        }));
        Ok(conn)
    }

    async fn chat(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Chat> {
        let (_, store) = authorize(ctx, Action::ReadChats)?;
        let id = parse_id::<ChatId>("id", &id)?;
        // Opening a chat asks for it and a page of its history: both are
        // read in one round trip.
        if let Some(asked) = history_asked(ctx) {
            let (view, rows, seq) = store
                .chat_with_messages(id, asked.before_id, asked.limit + 1, asked.live)
                .await?;
            let history = History { asked, rows, seq };
            return Ok(Chat(view, None, Some(history)));
        }
        Ok(Chat(store.chat(id).await?, None, None))
    }

    /// Messages whose text contains every word of `query`, best matches
    /// first. Search is written behind the message: a message is found
    /// about 50 ms after it is stored, within about three seconds while
    /// messages keep arriving (`search.pace_ms`).
    async fn search_messages(
        &self,
        ctx: &Context<'_>,
        query: String,
        #[graphql(default = 20)] first: i32,
    ) -> ApiResult<Vec<Message>> {
        let (_, store) = authorize(ctx, Action::ReadChats)?;
        let limit = page_size(first)?;
        let query = query.trim();
        if query.is_empty() || query.chars().count() > 200 {
            return Err(ApiError::validation("query", "must be 1 to 200 characters"));
        }
        Ok(store
            .search_messages(query, limit)
            .await?
            .into_iter()
            .map(Message)
            .collect())
    }

    async fn templates(&self, ctx: &Context<'_>) -> ApiResult<Vec<Template>> {
        let (_, store) = authorize(ctx, Action::ReadTemplates)?;
        Ok(store
            .templates()
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    async fn template(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Template> {
        let (_, store) = authorize(ctx, Action::ReadTemplates)?;
        Ok(store
            .template(parse_id::<TemplateId>("id", &id)?)
            .await?
            .into())
    }

    /// Every change in the tenant, newest first (team leads and admins).
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: i32,
        after: Option<String>,
        #[graphql(desc = "Only events about this record, as `table:id`.")] target: Option<String>,
    ) -> ApiResult<AuditConnection> {
        let (_, store) = authorize(ctx, Action::ReadAuditLog)?;
        let limit = page_size(first)?;
        let before = after
            .as_deref()
            .map(|c| -> ApiResult<uuid::Uuid> {
                let parts = decode("after", c, 1)?;
                uuid::Uuid::parse_str(&parts[0])
                    .map_err(|_| ApiError::validation("after", "is not a cursor this API gave out"))
            })
            .transpose()?;
        let mut rows = store
            .events_page(before, target.as_deref(), limit + 1)
            .await?;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let mut conn = Connection::new(before.is_some(), has_more);
        conn.edges.extend(rows.into_iter().map(|e| {
            Edge::new(
                encode(&[&e.id.to_string()]),
                AuditEvent {
                    id: ID(e.id.to_string()),
                    kind: e.kind,
                    actor: e.actor,
                    target: e.target,
                    data: async_graphql::Json(e.data),
                    at: e.at,
                },
            )
        }));
        Ok(conn)
    }

    /// The tenant's users (admins).
    async fn users(&self, ctx: &Context<'_>) -> ApiResult<Vec<User>> {
        let (_, store) = authorize(ctx, Action::ManageUsers)?;
        Ok(store.users().await?.into_iter().map(User).collect())
    }

    /// Webhooks for integrations, with their delivery attempts (admins).
    async fn webhooks(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::types::WebhookNode>> {
        let (_, store) = authorize(ctx, Action::ManageWebhooks)?;
        Ok(store
            .webhooks()
            .await?
            .into_iter()
            .map(super::types::WebhookNode)
            .collect())
    }

    /// Provider plugins loaded by the hub and how each is set up for this
    /// tenant; secret settings show only whether they are set (admins).
    async fn plugins(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::plugins::PluginNode>> {
        let (_, store) = authorize(ctx, Action::ManagePlugins)?;
        let st = state(ctx);
        let stored = store.plugin_settings().await?;
        Ok(st
            .transports
            .host()
            .all()
            .iter()
            .map(|plugin| super::plugins::node(st, &stored, plugin))
            .collect())
    }

    /// API tokens for integrations (admins).
    async fn api_tokens(&self, ctx: &Context<'_>) -> ApiResult<Vec<ApiToken>> {
        let (_, store) = authorize(ctx, Action::ManageApiTokens)?;
        Ok(store
            .tokens(TokenKind::Api)
            .await?
            .into_iter()
            .map(super::mutation::api_token)
            .collect())
    }
}

/// The `messages` field the query asks of the chat, when it asks exactly
/// one, with valid arguments; invalid ones are left for that field to report.
fn history_asked(ctx: &Context<'_>) -> Option<HistoryAsked> {
    let chat = ctx.field();
    let mut asked = chat.selection_set().filter(|f| f.name() == "messages");
    let field = asked.next()?;
    if asked.next().is_some() {
        return None;
    }
    let (mut first, mut before) = (50, None);
    for (name, value) in field.arguments().ok()? {
        match (name.as_str(), value) {
            ("first", Value::Number(n)) => first = i32::try_from(n.as_i64()?).ok()?,
            ("before", Value::String(s)) => before = Some(s),
            ("before", Value::Null) => {}
            _ => return None,
        }
    }
    let before_id = match &before {
        Some(c) => Some(parse_id::<MessageId>("before", c).ok()?),
        None => None,
    };
    Some(HistoryAsked {
        first,
        limit: page_size(first).ok()?,
        before,
        before_id,
        live: field.selection_set().any(|f| f.name() == "liveCursor"),
    })
}
