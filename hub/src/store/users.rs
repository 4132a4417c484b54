//! Users of one tenant, with their password hashes.

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, SurrealValue};

use super::TenantStore;
use super::error::{StoreError, StoreResult};
use super::records::{rid, uuid_part, uuid_value};
use crate::domain::events::{Actor, DomainEvent, EventKind};
use crate::domain::ids::{TenantId, UserId};
use crate::domain::user::{Role, User};

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub(super) struct UserRow {
    id: RecordId,
    email: String,
    name: String,
    role: String,
    password_hash: String,
    active: bool,
    created_at: DateTime<Utc>,
}

impl UserRow {
    pub(super) fn into_domain(self, tenant: TenantId) -> StoreResult<(User, String)> {
        let user = User {
            id: UserId::from_uuid(uuid_part(&self.id, 1)?),
            tenant,
            email: self.email,
            name: self.name,
            role: self
                .role
                .parse::<Role>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            active: self.active,
            created_at: self.created_at,
        };
        Ok((user, self.password_hash))
    }
}

impl TenantStore {
    pub(crate) fn user_rid(&self, id: UserId) -> RecordId {
        rid(
            "user",
            [uuid_value(self.tenant.uuid()), uuid_value(id.uuid())],
        )
    }

    pub async fn create_user(
        &self,
        user: &User,
        password_hash: &str,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut b = self.batch();
        let id = b.bind(self.user_rid(user.id));
        let email = b.bind(user.email.clone());
        let name = b.bind(user.name.clone());
        let role = b.bind(user.role.as_str());
        let hash = b.bind(password_hash.to_owned());
        let at = b.bind(user.created_at);
        b.push(format!(
            "CREATE {id} CONTENT {{ tenant: $tenant, email: {email}, name: {name}, role: {role}, password_hash: {hash}, active: true, created_at: {at} }} RETURN NONE"
        ));
        b.event(
            &DomainEvent::new(
                EventKind::UserCreated,
                actor,
                format!("user:{}", user.id),
                serde_json::json!({ "email": user.email, "name": user.name, "role": user.role.as_str() }),
            ),
            user.created_at,
        );
        self.run(b).await?;
        Ok(())
    }

    /// The user and their password hash, for signing in.
    pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>> {
        let rows: Vec<UserRow> = self
            .db()
            .query("SELECT * FROM user WHERE tenant = $tenant AND email = $email LIMIT 1")
            .bind(("tenant", self.tenant.uuid()))
            .bind(("email", email.to_owned()))
            .await?
            .take(0)?;
        rows.into_iter()
            .next()
            .map(|r| r.into_domain(self.tenant))
            .transpose()
    }

    pub async fn user(&self, id: UserId) -> StoreResult<User> {
        let rows: Vec<UserRow> = self
            .db()
            .query("SELECT * FROM $id")
            .bind(("id", self.user_rid(id)))
            .await?
            .take(0)?;
        let row = rows
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound { what: "user" })?;
        Ok(row.into_domain(self.tenant)?.0)
    }

    pub async fn users(&self) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = self
            .db()
            .query("SELECT * FROM user WHERE tenant = $tenant ORDER BY email")
            .bind(("tenant", self.tenant.uuid()))
            .await?
            .take(0)?;
        rows.into_iter()
            .map(|r| r.into_domain(self.tenant).map(|(u, _)| u))
            .collect()
    }

    /// Saves a changed name, role or active flag; a deactivated user's tokens
    /// are revoked in the same transaction.
    pub async fn update_user(
        &self,
        user: &User,
        new_password_hash: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut b = self.batch();
        let id = b.bind(self.user_rid(user.id));
        let name = b.bind(user.name.clone());
        let role = b.bind(user.role.as_str());
        let active = b.bind(user.active);
        b.push(format!(
            "IF (SELECT VALUE id FROM {id}) = [] {{ THROW 'NOT_FOUND:user' }}"
        ));
        b.push(format!(
            "UPDATE {id} SET name = {name}, role = {role}, active = {active} RETURN NONE"
        ));
        if let Some(hash) = new_password_hash {
            let hash = b.bind(hash.to_owned());
            b.push(format!(
                "UPDATE {id} SET password_hash = {hash} RETURN NONE"
            ));
        }
        let now = Utc::now();
        if !user.active {
            let user_uuid = b.bind(user.id.uuid());
            let at = b.bind(now);
            b.push(format!(
                "UPDATE token SET revoked_at = {at} WHERE tenant = $tenant AND user = {user_uuid} AND revoked_at = NONE RETURN NONE"
            ));
        }
        b.event(
            &DomainEvent::new(
                EventKind::UserUpdated,
                actor,
                format!("user:{}", user.id),
                serde_json::json!({
                    "name": user.name,
                    "role": user.role.as_str(),
                    "active": user.active,
                    "passwordChanged": new_password_hash.is_some(),
                }),
            ),
            now,
        );
        let done = self.run(b).await;
        // The user's role, active flag or tokens changed: no request may be
        // authenticated with what was read before (a failed commit may
        // still have been applied).
        self.known_tokens.forget(self.tenant);
        done?;
        Ok(())
    }
}
