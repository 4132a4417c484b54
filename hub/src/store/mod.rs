//! SurrealDB: the connection, the migrations, and one repository per aggregate.
//!
//! [`Store`] is the database; [`TenantStore`] is the only way to touch a
//! tenant's data, and it is bound to exactly one tenant when it is made.

mod audit;
mod batch;
pub mod chats;
pub mod clients;
pub mod delivery;
mod error;
pub mod events;
pub mod gdpr;
pub mod import;
mod known_tokens;
mod lease;
pub mod messages;
mod migrations;
mod page;
pub mod ranks;
pub mod records;
pub mod retention;
#[cfg(test)]
pub(crate) mod schema_tests;
pub mod search;
pub mod sign_in;
pub mod templates;
pub mod tenants;
pub mod tokens;
pub mod users;
pub mod webhooks;

use std::sync::Arc;

pub use batch::LogWriters;
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::opt::auth::Root;

use crate::domain::ids::TenantId;

pub(crate) use batch::Batch;
pub use error::{StoreError, StoreResult};

/// Where the database is and how to sign in to it.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `surrealkv://<dir>` (embedded, the default), `mem://`, or `ws://host:port`.
    pub url: String,
    pub namespace: String,
    pub database: String,
    /// Root credentials for a SurrealDB server; unused when embedded.
    pub username: Option<String>,
    pub password: Option<String>,
}

/// The database, shared by every request.
#[derive(Clone)]
pub struct Store {
    /// Shared, not cloned: a cloned SDK handle opens a database session of
    /// its own (about 100 KiB), and handles are made per request and kept
    /// per WebSocket connection.
    db: Arc<Surreal<Any>>,
    /// This process's writers of the event log (see [`LogWriters`]).
    log: Arc<LogWriters>,
    /// Tokens and their users as last read (see [`known_tokens`]).
    known_tokens: Arc<known_tokens::KnownTokens>,
}

impl Store {
    /// Connects (or opens the embedded database) and applies pending migrations.
    pub async fn open(settings: &DatabaseSettings) -> StoreResult<Self> {
        let db = surrealdb::engine::any::connect(settings.url.as_str())
            .await
            .map_err(|e| StoreError::Database(format!("cannot open {}: {e}", settings.url)))?;
        if let (Some(username), Some(password)) = (&settings.username, &settings.password) {
            db.signin(Root {
                username: username.clone(),
                password: password.clone(),
            })
            .await
            .map_err(|e| {
                StoreError::Database(format!("cannot sign in to {}: {e}", settings.url))
            })?;
        }
        db.use_ns(settings.namespace.as_str())
            .use_db(settings.database.as_str())
            .await?;
        let store = Self {
            db: Arc::new(db),
            log: Arc::default(),
            known_tokens: Arc::default(),
        };
        migrations::apply(&store.db).await?;
        Ok(store)
    }

    /// A handle that can only see `tenant`'s records.
    pub fn tenant(&self, tenant: TenantId) -> TenantStore {
        TenantStore {
            db: self.db.clone(),
            tenant,
            log: self.log.clone(),
            known_tokens: self.known_tokens.clone(),
        }
    }

    pub(crate) fn db(&self) -> &Surreal<Any> {
        &self.db
    }

    /// Woken after a commit in this process appended events; other processes'
    /// commits are only seen by reading the log.
    pub fn commits(&self) -> Arc<LogWriters> {
        self.log.clone()
    }

    pub(crate) async fn run(&self, batch: Batch) -> StoreResult<batch::Results> {
        batch.run(&self.db, &self.log).await
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> StoreResult<i64> {
        migrations::current_version(&self.db).await
    }
}

/// A store handle bound to one tenant: every read and write it makes is
/// confined to that tenant's records.
#[derive(Clone)]
pub struct TenantStore {
    db: Arc<Surreal<Any>>,
    tenant: TenantId,
    log: Arc<LogWriters>,
    known_tokens: Arc<known_tokens::KnownTokens>,
}

impl TenantStore {
    pub fn tenant_id(&self) -> TenantId {
        self.tenant
    }

    pub(crate) fn db(&self) -> &Surreal<Any> {
        &self.db
    }

    /// The whole store, for work that crosses into another aggregate's
    /// loading (the event fan-out); still one tenant's data.
    pub fn store(&self) -> Store {
        Store {
            db: self.db.clone(),
            log: self.log.clone(),
            known_tokens: self.known_tokens.clone(),
        }
    }

    pub(crate) fn batch(&self) -> Batch {
        Batch::new(self.tenant)
    }

    pub(crate) async fn run(&self, batch: Batch) -> StoreResult<batch::Results> {
        batch.run(&self.db, &self.log).await
    }
}
