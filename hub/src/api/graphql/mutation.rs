//! Mutations. Each one checks its permission first, validates through the
//! domain, and writes the change with its audit event in one transaction.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{Duration, NaiveDate, Utc};
use serde_json::json;

use super::context::{authorize, parse_id, principal, state};
use super::types::{
    ApiToken, ApiTokenPayload, Chat, Client, ConsentStatus, ContactKind, Gender, Message, Role,
    SignInPayload, Template, Transport, User,
};
use crate::api::error::{ApiError, ApiResult};
use crate::auth::{hash_password, new_token, verify_password};
use crate::domain::client::Client as DomainClient;
use crate::domain::contact::{Consent, Contact, ContactValue};
use crate::domain::events::{Actor, EventKind};
use crate::domain::ids::{ChatId, ClientId, ContactId, MessageId, TemplateId, UserId};
use crate::domain::message::{Message as DomainMessage, Sender, Transport as DomainTransport};
use crate::domain::permissions::Action;
use crate::domain::routing::select_contact;
use crate::domain::template::MessageTemplate;
use crate::domain::user::{User as DomainUser, check_password_strength};
use crate::store::TenantStore;
use crate::store::messages::Outgoing;
use crate::store::tokens::{TokenKind, TokenRecord};

/// The most clients one `sendBulk` call writes to.
const MAX_BULK: usize = 500;

#[derive(InputObject)]
pub struct BulkSendInput {
    pub client_ids: Vec<ID>,
    /// The text to send; give this or `templateId`.
    pub text: Option<String>,
    pub template_id: Option<ID>,
    /// A channel for everyone; by default each client's usual one.
    pub transport: Option<Transport>,
    /// Makes a repeated call send nothing twice.
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct BulkSendResult {
    pub sent: Vec<Message>,
    pub skipped: Vec<BulkSkip>,
}

/// A client `sendBulk` did not write to, and why.
#[derive(SimpleObject)]
pub struct BulkSkip {
    pub client_id: ID,
    pub reason: String,
}

/// How long a tenant keeps data; null keeps forever.
#[derive(SimpleObject)]
pub struct RetentionPolicy {
    pub messages_days: Option<i32>,
    pub attachments_days: Option<i32>,
}

impl From<crate::domain::retention::RetentionPolicy> for RetentionPolicy {
    fn from(p: crate::domain::retention::RetentionPolicy) -> Self {
        Self {
            messages_days: p.messages_days.map(|d| d as i32),
            attachments_days: p.attachments_days.map(|d| d as i32),
        }
    }
}

/// What `eraseClient` removed.
#[derive(SimpleObject)]
pub struct ErasureReport {
    pub contacts: i32,
    pub messages: i32,
    /// Audit entries whose data was replaced by a tombstone.
    pub audit_entries: i32,
    /// Attachment contents deleted (those no other message shares).
    pub files: i32,
}

#[derive(InputObject)]
pub struct ContactInput {
    pub kind: ContactKind,
    /// Phones with their country code (`+14155550100`) unless the hub has a default region.
    pub value: String,
    pub label: Option<String>,
}

#[derive(InputObject)]
pub struct CreateClientInput {
    pub first_name: String,
    pub last_name: Option<String>,
    pub middle_name: Option<String>,
    pub gender: Option<Gender>,
    pub date_of_birth: Option<NaiveDate>,
    pub address: Option<String>,
    pub passport_number: Option<String>,
    pub tax_pin: Option<String>,
    pub notes: Option<String>,
    #[graphql(default)]
    pub contacts: Vec<ContactInput>,
}

/// Only the fields present are changed; `null` clears an optional field.
#[derive(InputObject)]
pub struct UpdateClientInput {
    pub first_name: Option<String>,
    pub last_name: MaybeUndefined<String>,
    pub middle_name: MaybeUndefined<String>,
    pub gender: MaybeUndefined<Gender>,
    pub date_of_birth: MaybeUndefined<NaiveDate>,
    pub address: MaybeUndefined<String>,
    pub passport_number: MaybeUndefined<String>,
    pub tax_pin: MaybeUndefined<String>,
    pub notes: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct SendMessageInput {
    pub chat_id: ID,
    /// The text to send; give this or `templateId`.
    pub text: Option<String>,
    /// Send this template's text as written.
    pub template_id: Option<ID>,
    /// Which channel; by default the one the conversation last used, else the
    /// client's first contact's. Contacts that opted out are never used.
    pub transport: Option<Transport>,
    /// A key of your choosing: repeating a request with the same key returns the
    /// first request's message instead of sending again.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct LogInboundMessageInput {
    pub chat_id: ID,
    pub text: String,
    /// The channel it came through, e.g. `PHONE` for a call note.
    pub transport: Transport,
}

#[derive(InputObject)]
pub struct CreateUserInput {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
}

#[derive(InputObject)]
pub struct UpdateUserInput {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub password: Option<String>,
}

pub struct Mutation;

fn region<'a>(ctx: &Context<'a>) -> Option<&'a str> {
    state(ctx).config.contacts.default_region.as_deref()
}

fn contact_from_input(ctx: &Context<'_>, input: &ContactInput) -> ApiResult<Contact> {
    let value = ContactValue::parse(input.kind.into(), &input.value, region(ctx))?;
    Ok(Contact::new(value, input.label.as_deref(), Utc::now())?)
}

pub(super) fn api_token(t: TokenRecord) -> ApiToken {
    ApiToken {
        id: ID(t.id.to_string()),
        name: t.name,
        user_id: ID(t.user.to_string()),
        created_at: t.created_at,
        expires_at: t.expires_at,
        revoked_at: t.revoked_at,
    }
}

async fn live_client(store: &TenantStore, id: ClientId) -> ApiResult<DomainClient> {
    let view = store.client(id).await?;
    if view.client.is_deleted() {
        return Err(ApiError::NotFound("client"));
    }
    Ok(view.client)
}

#[Object]
impl Mutation {
    /// Exchanges a password for a bearer token.
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        tenant: String,
        email: String,
        password: String,
    ) -> ApiResult<SignInPayload> {
        let st = state(ctx);
        let slug = tenant.trim().to_ascii_lowercase();
        let email = email.trim().to_lowercase();
        // Locked before any check, so a locked account learns nothing more.
        let account = format!("{slug}/{email}");
        if let Err(wait) = st.sign_in.check(&account, Utc::now()).await? {
            return Err(ApiError::SignInLocked {
                retry_after_secs: wait.as_secs().max(1),
            });
        }
        let refused = async || -> ApiResult<SignInPayload> {
            st.sign_in.failed(&account, Utc::now()).await?;
            Err(ApiError::Unauthenticated(
                "wrong tenant, e-mail or password".into(),
            ))
        };
        let Some(t) = st.store.tenant_by_slug(&slug).await? else {
            // Spend the same time as a real check so tenants cannot be probed by timing.
            let _ = verify_password(&password, &crate::auth::DUMMY_HASH);
            return refused().await;
        };
        let store = st.store.tenant(t.id);
        let found = store.user_by_email(&email).await?;
        let Some((user, hash)) = found else {
            let _ = verify_password(&password, &crate::auth::DUMMY_HASH);
            return refused().await;
        };
        if !verify_password(&password, &hash) {
            return refused().await;
        }
        st.sign_in.succeeded(&account).await?;
        if !user.active {
            return Err(ApiError::Unauthenticated("this user is deactivated".into()));
        }
        let now = Utc::now();
        let expires_at = now + Duration::hours(i64::from(st.config.auth.session_hours));
        let issued = new_token();
        store
            .create_token(
                &issued.hash,
                user.id,
                TokenKind::Session,
                None,
                Some(expires_at),
                &Actor::User(user.id),
                now,
            )
            .await?;
        Ok(SignInPayload {
            token: issued.secret,
            expires_at,
            user: User(user),
        })
    }

    /// Revokes the token this request was made with.
    async fn sign_out(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let p = principal(ctx)?;
        let store = state(ctx).store.tenant(p.tenant());
        store
            .revoke_token(p.token_id, Some(p.user.id), &p.actor())
            .await?;
        Ok(true)
    }

    async fn create_client(
        &self,
        ctx: &Context<'_>,
        input: CreateClientInput,
    ) -> ApiResult<Client> {
        let (p, store) = authorize(ctx, Action::CreateClient)?;
        let now = Utc::now();
        let mut c = DomainClient::new(p.tenant(), &input.first_name, now)?;
        c.set_last_name(input.last_name.as_deref(), now)?;
        c.set_middle_name(input.middle_name.as_deref(), now)?;
        c.set_gender(input.gender.map(Into::into), now)?;
        c.set_date_of_birth(input.date_of_birth, now)?;
        c.set_address(input.address.as_deref(), now)?;
        c.set_passport_number(input.passport_number.as_deref(), now)?;
        c.set_tax_pin(input.tax_pin.as_deref(), now)?;
        c.set_notes(input.notes.as_deref(), now)?;
        if input.contacts.len() > 50 {
            return Err(ApiError::validation(
                "contacts",
                "at most 50 contacts per client",
            ));
        }
        let contacts = input
            .contacts
            .iter()
            .map(|ci| contact_from_input(ctx, ci))
            .collect::<ApiResult<Vec<_>>>()?;
        for (i, a) in contacts.iter().enumerate() {
            if contacts[..i].iter().any(|b| b.value == a.value) {
                return Err(ApiError::validation(
                    "contacts",
                    format!("`{}` is listed twice", a.value.as_str()),
                ));
            }
        }
        store.create_client(&c, &contacts, &p.actor()).await?;
        Ok(Client(store.client(c.id()).await?))
    }

    /// Changes the fields given, each through the client's own setter.
    async fn update_client(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateClientInput,
    ) -> ApiResult<Client> {
        let (p, store) = authorize(ctx, Action::UpdateClient)?;
        let mut c = live_client(&store, parse_id("id", &id)?).await?;
        let now = Utc::now();
        let mut changed = serde_json::Map::new();
        fn opt(m: &MaybeUndefined<String>) -> Option<Option<&str>> {
            match m {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => Some(Some(v.as_str())),
            }
        }
        if let Some(v) = &input.first_name {
            c.set_first_name(v, now)?;
            changed.insert("firstName".into(), json!(c.first_name()));
        }
        if let Some(v) = opt(&input.last_name) {
            c.set_last_name(v, now)?;
            changed.insert("lastName".into(), json!(c.last_name()));
        }
        if let Some(v) = opt(&input.middle_name) {
            c.set_middle_name(v, now)?;
            changed.insert("middleName".into(), json!(c.middle_name()));
        }
        match &input.gender {
            MaybeUndefined::Undefined => {}
            g => {
                c.set_gender(g.value().map(|g| (*g).into()), now)?;
                changed.insert("gender".into(), json!(c.gender().map(|g| g.as_str())));
            }
        }
        match &input.date_of_birth {
            MaybeUndefined::Undefined => {}
            d => {
                c.set_date_of_birth(d.value().copied(), now)?;
                changed.insert("dateOfBirth".into(), json!("changed"));
            }
        }
        if let Some(v) = opt(&input.address) {
            c.set_address(v, now)?;
            changed.insert("address".into(), json!("changed"));
        }
        if let Some(v) = opt(&input.passport_number) {
            c.set_passport_number(v, now)?;
            changed.insert("passportNumber".into(), json!("changed"));
        }
        if let Some(v) = opt(&input.tax_pin) {
            c.set_tax_pin(v, now)?;
            changed.insert("taxPin".into(), json!("changed"));
        }
        if let Some(v) = opt(&input.notes) {
            c.set_notes(v, now)?;
            changed.insert("notes".into(), json!("changed"));
        }
        if changed.is_empty() {
            return Err(ApiError::validation(
                "input",
                "name at least one field to change",
            ));
        }
        store
            .update_client(
                &c,
                EventKind::ClientUpdated,
                json!({ "changed": changed }),
                &p.actor(),
            )
            .await?;
        Ok(Client(store.client(c.id()).await?))
    }

    /// Soft-deletes the client: profile and chat leave every list, and can be restored.
    async fn delete_client(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Client> {
        let (p, store) = authorize(ctx, Action::DeleteClient)?;
        let mut c = live_client(&store, parse_id("id", &id)?).await?;
        c.delete(Utc::now())?;
        store
            .update_client(&c, EventKind::ClientDeleted, json!({}), &p.actor())
            .await?;
        Ok(Client(store.client(c.id()).await?))
    }

    async fn restore_client(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Client> {
        let (p, store) = authorize(ctx, Action::DeleteClient)?;
        let mut c = store.client(parse_id("id", &id)?).await?.client;
        c.restore_deleted(Utc::now())?;
        store
            .update_client(&c, EventKind::ClientRestored, json!({}), &p.actor())
            .await?;
        Ok(Client(store.client(c.id()).await?))
    }

    /// Everything held about the client (deleted or not) as one JSON archive
    /// (GDPR access): profile, contacts with consent, messages, the history
    /// of changes and attachment contents (base64, under `files`). Audited.
    async fn export_client(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> ApiResult<async_graphql::Json<serde_json::Value>> {
        let (p, store) = authorize(ctx, Action::ExportClientData)?;
        let files = &state(ctx).intake.files;
        let archive =
            crate::privacy::export(&store, files, parse_id("id", &id)?, &p.actor()).await?;
        Ok(async_graphql::Json(archive))
    }

    /// Erases the client for good (GDPR), unlike `deleteClient`: profile,
    /// contacts, chat, messages and attachment contents are removed, and the
    /// audit entries about them keep only their place in the chain. The
    /// erasure itself is audited, without personal data.
    async fn erase_client(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ErasureReport> {
        let (p, store) = authorize(ctx, Action::EraseClient)?;
        let files = &state(ctx).intake.files;
        let e = crate::privacy::erase(&store, files, parse_id("id", &id)?, &p.actor()).await?;
        Ok(ErasureReport {
            contacts: e.contacts as i32,
            messages: e.messages as i32,
            audit_entries: e.audit_entries as i32,
            files: e.orphaned_files.len() as i32,
        })
    }

    /// How long this tenant keeps messages and attachment contents, in
    /// days; leave one out (or null) to keep forever. A background job
    /// removes what is older, in small audited batches.
    async fn set_retention_policy(
        &self,
        ctx: &Context<'_>,
        messages_days: Option<i64>,
        attachments_days: Option<i64>,
    ) -> ApiResult<RetentionPolicy> {
        let (p, store) = authorize(ctx, Action::ManageRetention)?;
        let policy =
            crate::domain::retention::RetentionPolicy::new(messages_days, attachments_days)?;
        store.set_retention_policy(&policy, &p.actor()).await?;
        Ok(policy.into())
    }

    async fn add_contact(
        &self,
        ctx: &Context<'_>,
        client_id: ID,
        input: ContactInput,
    ) -> ApiResult<Client> {
        let (p, store) = authorize(ctx, Action::UpdateClient)?;
        let id: ClientId = parse_id("clientId", &client_id)?;
        let contact = contact_from_input(ctx, &input)?;
        store.add_contact(id, &contact, &p.actor()).await?;
        Ok(Client(store.client(id).await?))
    }

    async fn remove_contact(&self, ctx: &Context<'_>, contact_id: ID) -> ApiResult<Client> {
        let (p, store) = authorize(ctx, Action::UpdateClient)?;
        let client = store
            .remove_contact(parse_id::<ContactId>("contactId", &contact_id)?, &p.actor())
            .await?;
        Ok(Client(store.client(client).await?))
    }

    /// Records whether the client agreed to be contacted on this contact,
    /// when, and on whose word (`source`, e.g. "signed form", "phone call").
    async fn set_contact_consent(
        &self,
        ctx: &Context<'_>,
        contact_id: ID,
        status: ConsentStatus,
        source: String,
    ) -> ApiResult<Client> {
        let (p, store) = authorize(ctx, Action::UpdateClient)?;
        let contact: ContactId = parse_id("contactId", &contact_id)?;
        let consent = Consent::set(status.into(), &source, Utc::now())?;
        let client = store.set_consent(contact, &consent, &p.actor()).await?;
        Ok(Client(store.client(client).await?))
    }

    /// "Chat Initialization": the client's one chat, created with its
    /// initial members when it does not exist yet.
    async fn open_chat(&self, ctx: &Context<'_>, client_id: ID) -> ApiResult<Chat> {
        let (p, store) = authorize(ctx, Action::OpenChat)?;
        let id: ClientId = parse_id("clientId", &client_id)?;
        live_client(&store, id).await?;
        let (chat, _) = store.open_chat(id, Some(p.user.id), &p.actor()).await?;
        Ok(Chat(chat, None, None))
    }

    /// Queues a message to the chat's client; delivery happens in the
    /// background and shows in the message's `status`.
    async fn send_message(&self, ctx: &Context<'_>, input: SendMessageInput) -> ApiResult<Message> {
        let (p, store) = authorize(ctx, Action::SendMessage)?;
        let key = idempotency_key(input.idempotency_key.as_deref(), 200)?;
        if let Some(k) = key
            && let Some(existing) = store.message_by_idempotency_key(k).await?
        {
            return Ok(Message(existing));
        }
        let chat_id: ChatId = parse_id("chatId", &input.chat_id)?;
        let text = message_text(&store, input.text.as_deref(), input.template_id.as_ref()).await?;
        let transport: Option<DomainTransport> = input.transport.map(Into::into);
        queue(ctx, p, &store, chat_id, &text, transport, key)
            .await
            .map(Message)
    }

    /// Sends one text (or template) to many clients, each in their own chat
    /// (opened when needed) on their usual channel. Clients that cannot be
    /// written to (opted out, no contact for a configured channel, not found)
    /// are skipped and listed with the reason; the others are queued.
    async fn send_bulk(
        &self,
        ctx: &Context<'_>,
        input: BulkSendInput,
    ) -> ApiResult<BulkSendResult> {
        let (p, store) = authorize(ctx, Action::SendMessage)?;
        if input.client_ids.is_empty() || input.client_ids.len() > MAX_BULK {
            return Err(ApiError::validation(
                "clientIds",
                format!("give 1 to {MAX_BULK} clients"),
            ));
        }
        let key = idempotency_key(input.idempotency_key.as_deref(), 150)?;
        let text = message_text(&store, input.text.as_deref(), input.template_id.as_ref()).await?;
        let transport: Option<DomainTransport> = input.transport.map(Into::into);
        let mut result = BulkSendResult {
            sent: Vec::new(),
            skipped: Vec::new(),
        };
        let mut seen = std::collections::HashSet::new();
        for raw in input.client_ids {
            if !seen.insert(raw.to_string()) {
                continue;
            }
            let skip = |reason: String| BulkSkip {
                client_id: raw.clone(),
                reason,
            };
            let client = match parse_id::<ClientId>("clientIds", &raw) {
                Ok(id) => match live_client(&store, id).await {
                    Ok(c) => c,
                    Err(e) => {
                        result.skipped.push(skip(e.message()));
                        continue;
                    }
                },
                Err(e) => {
                    result.skipped.push(skip(e.message()));
                    continue;
                }
            };
            let (chat, _) = store
                .open_chat(client.id(), Some(p.user.id), &p.actor())
                .await?;
            // Repeating the call with the same key sends nothing twice.
            let client_key = key.map(|k| format!("{k}:{}", client.id()));
            match queue(
                ctx,
                p,
                &store,
                chat.chat.id(),
                &text,
                transport,
                client_key.as_deref(),
            )
            .await
            {
                Ok(m) => result.sent.push(Message(m)),
                Err(e @ ApiError::Validation { .. }) => result.skipped.push(skip(e.message())),
                Err(e) => return Err(e),
            }
        }
        Ok(result)
    }

    /// Records a message the client sent through a channel the hub does not
    /// connect to (a phone call, a conversation at the desk). It counts as
    /// unread like any inbound message.
    async fn log_inbound_message(
        &self,
        ctx: &Context<'_>,
        input: LogInboundMessageInput,
    ) -> ApiResult<Message> {
        let (p, store) = authorize(ctx, Action::SendMessage)?;
        let chat_id: ChatId = parse_id("chatId", &input.chat_id)?;
        let chat = store.chat(chat_id).await?;
        let client = chat.chat.client();
        let transport: DomainTransport = input.transport.into();
        // A call is logged as a note on the "other" transport: voice carries no text.
        let transport = if transport == DomainTransport::Phone {
            DomainTransport::Other
        } else {
            transport
        };
        let text = input.text;
        let (_, message) = store
            .receive_message(
                client,
                |chat| {
                    Ok(DomainMessage::new(
                        chat,
                        &text,
                        Sender::Client { client_id: client },
                        transport,
                        vec![],
                        Utc::now(),
                    )?)
                },
                &p.actor(),
            )
            .await?;
        Ok(Message(message))
    }

    /// Marks the chat's inbound messages up to and including `upTo` as read.
    async fn mark_read(&self, ctx: &Context<'_>, chat_id: ID, up_to: ID) -> ApiResult<Chat> {
        let (p, store) = authorize(ctx, Action::MarkRead)?;
        let chat: ChatId = parse_id("chatId", &chat_id)?;
        let up_to: MessageId = parse_id("upTo", &up_to)?;
        store.message(chat, up_to).await?;
        store.mark_read(chat, up_to, &p.actor()).await?;
        Ok(Chat(store.chat(chat).await?, None, None))
    }

    async fn create_template(
        &self,
        ctx: &Context<'_>,
        name: String,
        text: String,
    ) -> ApiResult<Template> {
        let (p, store) = authorize(ctx, Action::ManageTemplates)?;
        let t = MessageTemplate::new(p.tenant(), &name, &text, Utc::now())?;
        store.save_template(&t, true, &p.actor()).await?;
        Ok(t.into())
    }

    async fn update_template(
        &self,
        ctx: &Context<'_>,
        id: ID,
        name: Option<String>,
        text: Option<String>,
    ) -> ApiResult<Template> {
        let (p, store) = authorize(ctx, Action::ManageTemplates)?;
        let mut t = store.template(parse_id("id", &id)?).await?;
        t.update(name.as_deref(), text.as_deref(), Utc::now())?;
        store.save_template(&t, false, &p.actor()).await?;
        Ok(t.into())
    }

    async fn delete_template(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let (p, store) = authorize(ctx, Action::ManageTemplates)?;
        store
            .delete_template(parse_id("id", &id)?, &p.actor())
            .await?;
        Ok(true)
    }

    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> ApiResult<User> {
        let (p, store) = authorize(ctx, Action::ManageUsers)?;
        let user = DomainUser::new(
            p.tenant(),
            &input.email,
            &input.name,
            input.role.into(),
            Utc::now(),
        )?;
        check_password_strength(&input.password)?;
        store
            .create_user(&user, &hash_password(&input.password), &p.actor())
            .await?;
        Ok(User(user))
    }

    /// Renames, changes the role, (de)activates or resets the password of a user.
    /// Deactivating revokes the user's tokens.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateUserInput,
    ) -> ApiResult<User> {
        let (p, store) = authorize(ctx, Action::ManageUsers)?;
        let id: UserId = parse_id("id", &id)?;
        let mut user = store.user(id).await?;
        if id == p.user.id
            && (input.active == Some(false)
                || input
                    .role
                    .is_some_and(|r| crate::domain::user::Role::from(r) != user.role))
        {
            return Err(ApiError::validation(
                "id",
                "you cannot deactivate yourself or change your own role",
            ));
        }
        if let Some(name) = &input.name {
            user.rename(name)?;
        }
        if let Some(role) = input.role {
            user.role = role.into();
        }
        if let Some(active) = input.active {
            user.active = active;
        }
        let hash = match &input.password {
            Some(pw) => {
                check_password_strength(pw)?;
                Some(hash_password(pw))
            }
            None => None,
        };
        store
            .update_user(&user, hash.as_deref(), &p.actor())
            .await?;
        Ok(User(user))
    }

    /// A token for an integration, acting as the calling admin. Shown once.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        name: String,
        expires_in_days: Option<i32>,
    ) -> ApiResult<ApiTokenPayload> {
        let (p, store) = authorize(ctx, Action::ManageApiTokens)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ApiError::validation("name", "must be 1 to 100 characters"));
        }
        let now = Utc::now();
        let expires_at = match expires_in_days {
            None => None,
            Some(d) if (1..=3650).contains(&d) => Some(now + Duration::days(i64::from(d))),
            Some(_) => {
                return Err(ApiError::validation(
                    "expiresInDays",
                    "must be between 1 and 3650",
                ));
            }
        };
        let issued = new_token();
        let record = store
            .create_token(
                &issued.hash,
                p.user.id,
                TokenKind::Api,
                Some(name),
                expires_at,
                &p.actor(),
                now,
            )
            .await?;
        Ok(ApiTokenPayload {
            token: issued.secret,
            api_token: api_token(record),
        })
    }

    /// Sets this tenant's settings for a provider plugin (keys left out keep
    /// their value; an empty value removes one) and the channels it carries.
    /// The plugin checks them itself before they are saved.
    async fn configure_plugin(
        &self,
        ctx: &Context<'_>,
        plugin: String,
        #[graphql(default)] settings: Vec<super::plugins::PluginSettingInput>,
        channels: Option<Vec<super::types::Transport>>,
    ) -> ApiResult<super::plugins::PluginNode> {
        let (p, store) = authorize(ctx, Action::ManagePlugins)?;
        let st = state(ctx);
        let loaded = st.transports.host().get(&plugin).ok_or_else(|| {
            ApiError::validation("plugin", format!("no plugin `{plugin}` is loaded"))
        })?;
        let current = store.plugin_settings().await?.remove(&plugin);
        let next = super::plugins::validate(
            st,
            p.tenant(),
            &loaded,
            current.as_ref(),
            settings,
            channels,
        )
        .await?;
        store
            .set_plugin_settings(&plugin, &next, &p.actor())
            .await?;
        // Other hubs forget them when they read the change from the log.
        st.transports.forget(p.tenant());
        let stored = store.plugin_settings().await?;
        Ok(super::plugins::node(st, &stored, &loaded))
    }

    /// Loads the plugins directory again: new and changed plugins take over
    /// from the next call; calls under way finish on the old ones.
    async fn reload_plugins(&self, ctx: &Context<'_>) -> ApiResult<super::plugins::PluginReload> {
        authorize(ctx, Action::ManagePlugins)?;
        let report = state(ctx).transports.host().load().await;
        Ok(super::plugins::PluginReload {
            loaded: report.loaded,
            failed: report
                .failed
                .into_iter()
                .map(|(plugin, error)| super::plugins::PluginLoadFailure { plugin, error })
                .collect(),
        })
    }

    /// Registers a URL that receives the tenant's events (all, or the kinds
    /// and prefixes listed) as signed JSON POSTs, from now on, in order.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        url: String,
        #[graphql(default)] event_kinds: Vec<String>,
    ) -> ApiResult<super::types::WebhookPayload> {
        let (p, store) = authorize(ctx, Action::ManageWebhooks)?;
        let hook = crate::domain::webhook::Webhook::new(p.tenant(), &url, event_kinds, Utc::now())?;
        let secret = format!("whsec_{}", &new_token().secret[4..]);
        store.create_webhook(&hook, &secret, &p.actor()).await?;
        let state = store
            .webhooks()
            .await?
            .into_iter()
            .find(|w| w.webhook.id == hook.id)
            .ok_or(ApiError::Internal)?;
        Ok(super::types::WebhookPayload {
            secret,
            webhook: super::types::WebhookNode(state),
        })
    }

    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let (p, store) = authorize(ctx, Action::ManageWebhooks)?;
        let id = uuid::Uuid::parse_str(&id)
            .map_err(|_| ApiError::validation("id", "is not a valid id"))?;
        store.delete_webhook(id, &p.actor()).await?;
        Ok(true)
    }

    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let (p, store) = authorize(ctx, Action::ManageApiTokens)?;
        let id = uuid::Uuid::parse_str(&id)
            .map_err(|_| ApiError::validation("id", "is not a valid id"))?;
        store.revoke_token(id, None, &p.actor()).await?;
        Ok(true)
    }
}

/// A client's idempotency key, trimmed, of 1 to `max` characters.
fn idempotency_key(raw: Option<&str>, max: usize) -> ApiResult<Option<&str>> {
    match raw.map(str::trim) {
        Some(k) if k.is_empty() || k.len() > max => Err(ApiError::validation(
            "idempotencyKey",
            format!("must be 1 to {max} characters"),
        )),
        key => Ok(key),
    }
}

/// The text of a message given as text or as a template, not both.
async fn message_text(
    store: &TenantStore,
    text: Option<&str>,
    template_id: Option<&ID>,
) -> ApiResult<String> {
    match (text, template_id) {
        (Some(_), Some(_)) => Err(ApiError::validation(
            "templateId",
            "give either text or templateId, not both",
        )),
        (None, None) => Err(ApiError::validation("text", "give text or templateId")),
        (Some(t), None) => Ok(t.to_owned()),
        (None, Some(t)) => Ok(store
            .template(parse_id::<TemplateId>("templateId", t)?)
            .await
            .map_err(|e| match e {
                crate::store::StoreError::NotFound { .. } => ApiError::NotFound("template"),
                e => e.into(),
            })?
            .text()
            .to_owned()),
    }
}

/// Picks the contact ("System selects transport") and queues the message
/// with its delivery job; a repeated idempotency key returns the first message.
async fn queue(
    ctx: &Context<'_>,
    p: &crate::auth::Principal,
    store: &TenantStore,
    chat_id: ChatId,
    text: &str,
    transport: Option<DomainTransport>,
    key: Option<&str>,
) -> ApiResult<DomainMessage> {
    let (chat, client) = store.chat_and_client(chat_id).await?;
    // "System selects transport" (see domain::routing), among the
    // transports some plugin carries for this tenant.
    let carried = state(ctx).transports.available(p.tenant()).await?;
    if let Some(t) = transport
        && !carried.contains(&t)
    {
        return Err(ApiError::validation(
            "transport",
            format!("no plugin is set up to send {t} messages; an admin can configure one"),
        ));
    }
    let reachable: Vec<_> = client
        .contacts
        .iter()
        .filter(|c| carried.contains(&c.value.kind().transport()))
        .cloned()
        .collect();
    if reachable.is_empty() && !client.contacts.is_empty() {
        return Err(ApiError::validation(
            "transport",
            "no plugin is set up for any of the client's contacts; an admin can configure one",
        ));
    }
    let contact = select_contact(&reachable, transport, chat.last_transport)?;
    let sender = Sender::User {
        user_id: p.user.id,
        name: p.user.name.clone(),
    };
    let message = DomainMessage::new(
        chat_id,
        text,
        sender,
        contact.value.kind().transport(),
        vec![],
        Utc::now(),
    )?;
    let outbox = &state(ctx).outbox;
    let handoff = outbox.reserve();
    let out = Outgoing {
        message: &message,
        recipient: contact.value.as_str(),
        idempotency_key: key,
        user: p.user.id,
        lease: handoff.as_ref().map(|h| (h.owner, h.until)),
    };
    match store.queue_message(out, &p.actor()).await {
        Ok(job) => {
            match handoff {
                Some(h) => h.deliver(job),
                None => outbox.queued(),
            }
            Ok(message)
        }
        // A concurrent request with the same key won the race: return its message.
        Err(crate::store::StoreError::Conflict { field: "id", .. }) if key.is_some() => {
            let existing = store
                .message_by_idempotency_key(key.unwrap_or_default())
                .await?;
            existing.ok_or(ApiError::Internal)
        }
        Err(e) => Err(e.into()),
    }
}
