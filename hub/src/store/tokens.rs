//! Bearer tokens: sign-in sessions and API tokens for integrations.
//!
//! Only the SHA-256 of a token is stored, as the record key, so a token is
//! found in one key lookup and a database leak reveals no usable token.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, RecordIdKey, SurrealValue};
use uuid::Uuid;

use super::error::StoreResult;
use super::known_tokens::Found;
use super::{Store, TenantStore};
use crate::domain::events::{Actor, DomainEvent, EventKind};
use crate::domain::ids::{TenantId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    Api,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }
}

/// What the hub knows of a token, never the token itself.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: Uuid,
    pub tenant: TenantId,
    pub user: UserId,
    pub kind: TokenKind,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct TokenRow {
    uid: Uuid,
    tenant: Uuid,
    user: Uuid,
    kind: String,
    name: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for TokenRecord {
    fn from(r: TokenRow) -> Self {
        TokenRecord {
            id: r.uid,
            tenant: TenantId::from_uuid(r.tenant),
            user: UserId::from_uuid(r.user),
            kind: if r.kind == "api" {
                TokenKind::Api
            } else {
                TokenKind::Session
            },
            name: r.name,
            created_at: r.created_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        }
    }
}

fn token_rid(hash_hex: &str) -> RecordId {
    RecordId::new("token", RecordIdKey::String(hash_hex.to_owned()))
}

impl Store {
    /// Looks a token up by its hash, whatever its tenant (the token is what
    /// tells the hub which tenant a request belongs to), with its user
    /// (`None` when the user no longer exists). Every authenticated request
    /// starts with this, so what was read is kept for a few seconds (see
    /// [`super::known_tokens`]); otherwise one round trip.
    pub async fn token_and_user(&self, hash_hex: &str) -> StoreResult<Option<Found>> {
        if let Some(found) = self.known_tokens.get(hash_hex) {
            return Ok(Some(found));
        }
        let generation = self.known_tokens.generation();
        let mut response = self
            .db()
            .query(
                "LET $t = (SELECT * FROM $id)[0];
                 $t;
                 SELECT * FROM type::record('user', [$t.tenant, $t.user]);",
            )
            .bind(("id", token_rid(hash_hex)))
            .await?;
        let Some(token) = response.take::<Option<TokenRow>>(1)? else {
            return Ok(None);
        };
        let token = TokenRecord::from(token);
        let users: Vec<super::users::UserRow> = response.take(2)?;
        let user = match users.into_iter().next() {
            Some(row) => Some(row.into_domain(token.tenant)?.0),
            None => None,
        };
        let found = Arc::new((token, user));
        self.known_tokens.keep(hash_hex, generation, found.clone());
        Ok(Some(found))
    }

    /// Forgets what is kept of `tenant`'s tokens and users: the log says one
    /// was revoked or changed through another hub.
    pub fn forget_tokens(&self, tenant: TenantId) {
        self.known_tokens.forget(tenant);
    }
}

impl TenantStore {
    #[allow(clippy::too_many_arguments)]
    pub async fn create_token(
        &self,
        hash_hex: &str,
        user: UserId,
        kind: TokenKind,
        name: Option<&str>,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> StoreResult<TokenRecord> {
        let record = TokenRecord {
            id: Uuid::now_v7(),
            tenant: self.tenant,
            user,
            kind,
            name: name.map(str::to_owned),
            created_at: now,
            expires_at,
            revoked_at: None,
        };
        let mut b = self.batch();
        let id = b.bind(token_rid(hash_hex));
        let uid = b.bind(record.id);
        let user_v = b.bind(user.uuid());
        let kind_v = b.bind(kind.as_str());
        let name_v = b.bind(record.name.clone());
        let at = b.bind(now);
        let exp = b.bind(expires_at);
        b.push(format!(
            "CREATE {id} CONTENT {{ uid: {uid}, tenant: $tenant, user: {user_v}, kind: {kind_v}, name: {name_v}, created_at: {at}, expires_at: {exp} }} RETURN NONE"
        ));
        // Sign-ins are audited as such; every other token creation is an admin action.
        let event_kind = match kind {
            TokenKind::Session => EventKind::UserSignedIn,
            TokenKind::Api => EventKind::TokenCreated,
        };
        b.event(
            &DomainEvent::new(
                event_kind,
                actor,
                format!("token:{}", record.id),
                serde_json::json!({ "kind": kind.as_str(), "name": record.name, "user": user.to_string() }),
            ),
            now,
        );
        self.run(b).await?;
        Ok(record)
    }

    pub async fn tokens(&self, kind: TokenKind) -> StoreResult<Vec<TokenRecord>> {
        let rows: Vec<TokenRow> = self
            .db()
            .query("SELECT * FROM token WHERE tenant = $tenant AND kind = $kind ORDER BY created_at DESC")
            .bind(("tenant", self.tenant.uuid()))
            .bind(("kind", kind.as_str()))
            .await?
            .take(0)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Revokes the token with public id `id`; only `owner`'s when given.
    pub async fn revoke_token(
        &self,
        id: Uuid,
        owner: Option<UserId>,
        actor: &Actor,
    ) -> StoreResult<()> {
        let now = Utc::now();
        let mut b = self.batch();
        let uid = b.bind(id);
        let at = b.bind(now);
        let owner_clause = match owner {
            Some(u) => format!(" AND user = {}", b.bind(u.uuid())),
            None => String::new(),
        };
        b.push(format!(
            "LET $revoked = (UPDATE token SET revoked_at = revoked_at ?? {at} WHERE tenant = $tenant AND uid = {uid}{owner_clause} RETURN VALUE uid)"
        ));
        b.push("IF array::len($revoked) = 0 { THROW 'NOT_FOUND:token' }");
        b.event(
            &DomainEvent::new(
                EventKind::TokenRevoked,
                actor,
                format!("token:{id}"),
                serde_json::json!({}),
            ),
            now,
        );
        let done = self.run(b).await;
        // Whatever the outcome: a failed commit may still have been applied.
        self.known_tokens.forget(self.tenant);
        done?;
        Ok(())
    }
}
