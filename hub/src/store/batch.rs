//! A group of statements run as one transaction, with the event that
//! records the change appended to the log inside the same transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::types::{SurrealValue, Value};
use tokio::sync::Notify;

use super::error::{StoreError, StoreResult, classify, is_conflict};
use super::records::{rid, uuid_value};
use crate::domain::audit;
use crate::domain::events::DomainEvent;
use crate::domain::ids::{EventId, TenantId};

pub(crate) struct Batch {
    tenant: TenantId,
    statements: Vec<String>,
    vars: BTreeMap<String, Value>,
    events: usize,
}

/// How often a transaction that lost a write conflict (two writers bumping
/// the event counter at once: with several hub processes, writers in
/// different processes) is tried again before the error is reported. The
/// waits between tries grow to 128 ms, about 3 s in all.
const CONFLICT_RETRIES: u32 = 30;

/// Runs `transaction` until it does not lose a write conflict (at most
/// [`CONFLICT_RETRIES`] times), waiting a growing, jittered while between
/// tries so that the writers it conflicts with get through.
pub(super) async fn retry_conflicts<T, F, Fut>(mut transaction: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StoreResult<T>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match transaction().await {
            Err(e) if attempt < CONFLICT_RETRIES && e.is_write_conflict() => {
                let ceiling = 2u64 << attempt.min(6);
                let wait = ceiling / 2 + rand::random::<u64>() % ceiling;
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            }
            result => return result,
        }
    }
}

/// This process's writers of the event log. Every transaction that appends
/// events increments the same counter, so two at once only conflict and one
/// of them starts over: they take turns instead, which leaves conflicts to
/// writers in other hub processes. The tailer is woken after each commit.
#[derive(Default)]
pub struct LogWriters {
    turn: tokio::sync::Mutex<()>,
    committed: Notify,
}

impl LogWriters {
    /// Resolves after the next commit in this process that appended events;
    /// other processes' commits are only seen by reading the log.
    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.committed.notified()
    }
}

impl Batch {
    pub fn new(tenant: TenantId) -> Self {
        let mut vars = BTreeMap::new();
        vars.insert("tenant".to_owned(), uuid_value(tenant.uuid()));
        Self {
            tenant,
            statements: Vec::new(),
            vars,
            events: 0,
        }
    }

    /// Binds a value and returns its `$name` for use in a statement.
    pub fn bind(&mut self, value: impl SurrealValue) -> String {
        let name = format!("v{}", self.vars.len());
        self.vars.insert(name.clone(), value.into_value());
        format!("${name}")
    }

    /// Adds a statement; returns its index among this batch's results.
    pub fn push(&mut self, statement: impl Into<String>) -> usize {
        self.statements.push(statement.into());
        self.statements.len() - 1
    }

    /// Appends `event` to the tenant's log, chained to the tenant's previous
    /// entry (see [`crate::domain::audit`]).
    pub fn event(&mut self, event: &DomainEvent, at: DateTime<Utc>) {
        let event_id = EventId::new().uuid();
        let actor_text = event.actor.to_string();
        let digest = audit::digest(&audit::EntryContent {
            id: &event_id.to_string(),
            tenant: &self.tenant.to_string(),
            kind: event.kind.as_str(),
            actor: &actor_text,
            target: &event.target,
            data: &event.data,
            at,
        });
        let id = self.bind(rid(
            "event",
            [uuid_value(self.tenant.uuid()), uuid_value(event_id)],
        ));
        let rank = self.bind(super::ranks::newest_first(event_id));
        let kind = self.bind(event.kind.as_str());
        let actor = self.bind(actor_text);
        let target = self.bind(event.target.clone());
        let data = self.bind(event.data.clone());
        let at = self.bind(at);
        let digest = self.bind(digest);
        let head = self.bind(rid("audit_chain", [uuid_value(self.tenant.uuid())]));
        self.push("LET $seq = (UPSERT counter:events SET n += 1 RETURN VALUE n)[0]");
        // The same link as `audit::link`: sha256 of the previous value's hex
        // followed by this digest's.
        self.push(format!(
            "LET $chain = (UPSERT {head} SET count += 1, head = crypto::sha256((head ?? '') + {digest}) RETURN VALUE head)[0]"
        ));
        self.push(format!(
            "CREATE {id} CONTENT {{ seq: $seq, tenant: $tenant, kind: {kind}, actor: {actor}, target: {target}, data: {data}, at: {at}, rank: {rank}, digest: {digest}, chain: $chain }} RETURN NONE"
        ));
        self.events += 1;
    }

    /// Runs every statement in one transaction, retrying write conflicts.
    /// Results are indexed as returned by [`Batch::push`]. A batch that
    /// appends events waits its turn among this process's log writers.
    pub async fn run(self, db: &Surreal<Any>, log: &LogWriters) -> StoreResult<Results> {
        let count = self.statements.len();
        let mut sql = String::from("BEGIN TRANSACTION;\n");
        for s in &self.statements {
            sql.push_str(s);
            sql.push_str(";\n");
        }
        sql.push_str("COMMIT TRANSACTION;");
        let _turn = if self.events > 0 {
            Some(log.turn.lock().await)
        } else {
            None
        };
        let results = retry_conflicts(|| Self::attempt(db, &sql, &self.vars, count)).await?;
        if self.events > 0 {
            log.committed.notify_one();
        }
        Ok(results)
    }

    async fn attempt(
        db: &Surreal<Any>,
        sql: &str,
        vars: &BTreeMap<String, Value>,
        count: usize,
    ) -> StoreResult<Results> {
        let mut response = db.query(sql).bind(vars.clone()).await?;
        if let Some(e) = failure(response.take_errors()) {
            return Err(e);
        }
        // BEGIN and COMMIT have result slots of their own: statement i is at i + 1.
        // (A `RETURN` would end the block early, so batches never use one.)
        if response.num_statements() != count + 2 {
            return Err(StoreError::Corrupt(format!(
                "expected {} results from a batch of {count} statements, got {}",
                count + 2,
                response.num_statements()
            )));
        }
        let mut values = Vec::with_capacity(count);
        for i in 0..count {
            values.push(response.take::<Value>(i + 1)?);
        }
        Ok(Results { values })
    }
}

/// What failed in a transaction, from its statements' errors (none: it
/// committed).
pub(super) fn failure<E: std::fmt::Display>(
    errors: std::collections::HashMap<usize, E>,
) -> Option<StoreError> {
    if errors.is_empty() {
        return None;
    }
    let mut errors: Vec<(usize, String)> = errors
        .into_iter()
        .map(|(i, e)| (i, e.to_string()))
        .collect();
    errors.sort_by_key(|(i, _)| *i);
    Some(first_cause(errors.into_iter().map(|(_, e)| e)))
}

/// The failing statement's error (in statement order), not the echoes of
/// the transaction's failure in the statements around it.
fn first_cause(messages: impl Iterator<Item = String>) -> StoreError {
    let messages: Vec<String> = messages.collect();
    // A write conflict anywhere means the whole batch can simply run again.
    if let Some(conflict) = messages.iter().find(|m| is_conflict(m)) {
        return StoreError::Database(conflict.clone());
    }
    tracing::debug!(?messages, "batch failed");
    let cause = messages
        .iter()
        .find(|m| {
            !m.contains("not executed")
                && !m.contains("failed transaction")
                && !m.contains("Cannot COMMIT")
        })
        .or(messages.first())
        .cloned()
        .unwrap_or_else(|| "transaction failed".into());
    thrown(&cause).unwrap_or_else(|| classify(cause))
}

/// `THROW "NOT_FOUND:client"` in a statement becomes a typed error.
fn thrown(message: &str) -> Option<StoreError> {
    let start = message.find("NOT_FOUND:")?;
    let what = message[start + "NOT_FOUND:".len()..]
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or("record");
    let what = match what {
        "client" => "client",
        "chat" => "chat",
        "contact" => "contact",
        "template" => "template",
        "message" => "message",
        "user" => "user",
        "token" => "token",
        "webhook" => "webhook",
        _ => "record",
    };
    Some(StoreError::NotFound { what })
}

pub(crate) struct Results {
    values: Vec<Value>,
}

impl Results {
    pub fn take<T: SurrealValue>(&mut self, index: usize) -> StoreResult<T> {
        let value = std::mem::take(&mut self.values[index]);
        value
            .into_t::<T>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}
