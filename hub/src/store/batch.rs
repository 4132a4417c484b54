//! A group of statements run as one transaction, with the event that
//! records the change appended to the log inside the same transaction.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::types::{Object, SurrealValue, Value};
use tokio::sync::{oneshot, watch};

use super::error::{StoreError, StoreResult, classify, is_conflict};
use super::records::{rid, uuid_value};
use crate::domain::audit;
use crate::domain::events::DomainEvent;
use crate::domain::ids::{EventId, TenantId};

pub(crate) struct Batch {
    tenant: TenantId,
    /// Makes this batch's parameter names unique, so that batches can share
    /// one transaction (see [`LogWriters`]).
    serial: u64,
    statements: Vec<String>,
    /// The batch's bound values: parameters of their own (the tenant, large
    /// arrays and objects) and objects of up to [`PER_PARAMETER`] small
    /// values each.
    vars: BTreeMap<String, Value>,
    /// The object being filled with small values, and its parameter's name.
    filling: Option<(String, Object)>,
    /// Parameters named so far.
    params: usize,
    events: usize,
}

/// How many small values share one object parameter. SurrealDB gathers
/// every parameter in scope for each statement it plans, and copies the
/// whole of a parameter each time a statement reads it, so a batch of many
/// statements and values pays for both: the bulk import (one batch of about
/// 2,000 messages with their clients and chats) loaded 2,136–2,202 messages
/// per second with a parameter per value and 2,492–2,576 with 16 values per
/// parameter (two runs each; a whole batch's values in one object: 46/s).
/// A group commit of 16 inbound messages showed no difference (14.5–19.2 ms
/// against 15.8–16.2). Larger arrays and objects are parameters of their
/// own, so that reading one value never copies a large one beside it.
const PER_PARAMETER: usize = 16;

/// Whether `value` gets a parameter of its own: more than [`PER_PARAMETER`]
/// elements and fields in all, nested ones included, or a long text.
fn is_large(value: &Value) -> bool {
    /// Whether `value`, holding at most `budget` more elements, is large.
    fn weigh(value: &Value, budget: &mut usize) -> bool {
        let mut child = |c: &Value| {
            if *budget == 0 {
                return true;
            }
            *budget -= 1;
            weigh(c, budget)
        };
        match value {
            Value::Array(a) => a.iter().any(&mut child),
            Value::Object(o) => o.values().any(&mut child),
            Value::String(s) => s.len() > 1024,
            _ => false,
        }
    }
    let mut budget = PER_PARAMETER;
    weigh(value, &mut budget)
}

/// The next batch's serial number.
static SERIAL: AtomicU64 = AtomicU64::new(0);

/// At most this many batches share a transaction, and no more statements
/// than [`GROUP_MAX_STATEMENTS`] (a batch larger than that runs alone). A
/// writer waits for the transaction in flight, then for its own, so the
/// group's size bounds that wait: on the quick benchmark 64 gave sendMessage
/// a p99 of 58–62 ms, 16 gave 34–42 ms (8: 45 ms), with inbound no slower.
const GROUP_MAX_BATCHES: usize = 16;
const GROUP_MAX_STATEMENTS: usize = 2_000;

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
/// writers in other hub processes.
///
/// Taking turns alone would make every writer wait for the commits before
/// it, each of them a disk sync. So the batches that queue up while one
/// transaction commits run together in the next one (a group commit): one
/// sync for all of them. Should that transaction fail (one batch's check
/// throws, a record already exists, another hub's writer conflicted), each
/// of its batches is run again alone, so one batch's failure never fails
/// another's. The tailer is woken after each commit.
#[derive(Default)]
pub struct LogWriters {
    pending: std::sync::Mutex<VecDeque<Pending>>,
    turn: tokio::sync::Mutex<()>,
    /// Counts this process's commits that appended events; each reader of
    /// the log (the tailer, the search indexer) watches it on its own.
    committed: watch::Sender<u64>,
}

/// A batch waiting for its turn, and where its result goes.
struct Pending {
    batch: Batch,
    reply: oneshot::Sender<StoreResult<Results>>,
}

impl LogWriters {
    /// Changes after each commit in this process that appended events;
    /// other processes' commits are only seen by reading the log.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// Waits for the turn, then runs whatever batches are queued by then
    /// (nothing, when an earlier turn already took them).
    async fn write_queued(&self, db: &Surreal<Any>) {
        let _turn = self.turn.lock().await;
        let group = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            let mut statements = 0;
            let mut n = 0;
            for p in pending.iter() {
                statements += p.batch.statements.len() + 3;
                if n > 0 && (n == GROUP_MAX_BATCHES || statements > GROUP_MAX_STATEMENTS) {
                    break;
                }
                n += 1;
            }
            pending.drain(..n).collect::<Vec<_>>()
        };
        if group.is_empty() {
            return;
        }
        let results = run_group(db, &group).await;
        if results.iter().any(Result::is_ok) {
            self.committed.send_modify(|n| *n += 1);
        }
        for (p, result) in group.into_iter().zip(results) {
            // A caller that went away no longer needs its answer.
            let _ = p.reply.send(result);
        }
    }
}

/// Runs `group` in one transaction; on any failure (a conflict included),
/// each batch alone.
async fn run_group(db: &Surreal<Any>, group: &[Pending]) -> Vec<StoreResult<Results>> {
    if let [one] = group {
        return vec![one.batch.run_alone(db).await];
    }
    let batches: Vec<&Batch> = group.iter().map(|p| &p.batch).collect();
    let rendered = render(&batches);
    // Tried once: after a write conflict (another hub wrote to the log at
    // the same time) the batches go on alone, each retried as any batch is,
    // so that a large group is not repeated whole while a job's lease runs.
    match Batch::attempt(db, &rendered).await {
        Ok(all) => all.into_iter().map(Ok).collect(),
        Err(e) => {
            tracing::debug!(error = %e, batches = group.len(), "group commit failed; running its batches one by one");
            let mut results = Vec::with_capacity(group.len());
            for p in group {
                results.push(p.batch.run_alone(db).await);
            }
            results
        }
    }
}

/// One transaction's text and variables, and where each batch's results are.
struct Rendered {
    sql: String,
    vars: BTreeMap<String, Value>,
    /// Each batch's statements, counted without `BEGIN`.
    ranges: Vec<std::ops::Range<usize>>,
    statements: usize,
}

impl Rendered {
    fn push(&mut self, statement: &str) {
        self.sql.push_str(statement);
        self.sql.push_str(";\n");
        self.statements += 1;
    }
}

/// `batches` as one transaction. Each batch's statements name their tenant
/// `$tenant`, set before it. When events are appended, the log's counter
/// and each tenant's chain head are read once at the start into `$seq` and
/// `$chain_<n>`, moved on by each event, and written once at the end, so
/// that a transaction of many events updates each record once.
fn render(batches: &[&Batch]) -> Rendered {
    let mut r = Rendered {
        sql: String::from("BEGIN TRANSACTION;\n"),
        vars: BTreeMap::new(),
        ranges: Vec::with_capacity(batches.len()),
        statements: 0,
    };
    let mut tenants: Vec<(TenantId, usize)> = Vec::new(); // with their events
    for b in batches.iter().filter(|b| b.events > 0) {
        match tenants.iter_mut().find(|(t, _)| *t == b.tenant) {
            Some((_, n)) => *n += b.events,
            None => tenants.push((b.tenant, b.events)),
        }
    }
    if !tenants.is_empty() {
        r.push("LET $seq = (SELECT VALUE n FROM counter:events)[0] ?? 0");
        for (i, (t, _)) in tenants.iter().enumerate() {
            r.vars.insert(
                format!("head_{i}"),
                rid("audit_chain", [uuid_value(t.uuid())]).into_value(),
            );
            r.push(&format!(
                "LET $chain_{i} = (SELECT VALUE head FROM $head_{i})[0] ?? ''"
            ));
        }
    }
    for b in batches {
        r.push(&format!("LET $tenant = $b{}_tenant", b.serial));
        r.vars
            .extend(b.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some((name, fields)) = &b.filling {
            r.vars.insert(name.clone(), Value::Object(fields.clone()));
        }
        // The batch's tenant's chain, when it appends events.
        let chain = (b.events > 0)
            .then(|| tenants.iter().position(|(t, _)| *t == b.tenant))
            .flatten();
        if let Some(i) = chain {
            r.push(&format!("LET $chain = $chain_{i}"));
        }
        let start = r.statements;
        for s in &b.statements {
            r.push(s);
        }
        r.ranges.push(start..r.statements);
        if let Some(i) = chain {
            r.push(&format!("LET $chain_{i} = $chain"));
        }
    }
    if !tenants.is_empty() {
        r.push("UPSERT counter:events SET n = $seq RETURN NONE");
        for (i, (_, events)) in tenants.iter().enumerate() {
            r.push(&format!(
                "UPSERT $head_{i} SET count += {events}, head = $chain_{i} RETURN NONE"
            ));
        }
    }
    r.sql.push_str("COMMIT TRANSACTION;");
    r
}

impl Batch {
    pub fn new(tenant: TenantId) -> Self {
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
        let mut vars = BTreeMap::new();
        vars.insert(format!("b{serial}_tenant"), uuid_value(tenant.uuid()));
        Self {
            tenant,
            serial,
            statements: Vec::new(),
            vars,
            filling: None,
            params: 0,
            events: 0,
        }
    }

    /// Binds a value and returns how a statement names it: `$b<serial>_<n>`
    /// for a large array or object, `$b<serial>_<n>.v<i>` for a small value
    /// (see [`PER_PARAMETER`]).
    pub fn bind(&mut self, value: impl SurrealValue) -> String {
        let value = value.into_value();
        if is_large(&value) {
            let name = self.new_param();
            self.vars.insert(name.clone(), value);
            return format!("${name}");
        }
        if let Some((name, full)) = self
            .filling
            .take_if(|(_, fields)| fields.len() == PER_PARAMETER)
        {
            self.vars.insert(name, Value::Object(full));
        }
        if self.filling.is_none() {
            self.filling = Some((self.new_param(), Object::new()));
        }
        let (param, fields) = self.filling.as_mut().expect("an object being filled");
        let field = format!("v{}", fields.len());
        let name = format!("${param}.{field}");
        fields.insert(field, value);
        name
    }

    fn new_param(&mut self) -> String {
        self.params += 1;
        format!("b{}_{}", self.serial, self.params)
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
        // `$seq` and `$chain` are read before the transaction's batches and
        // written back after them (see [`render`]): one write of the counter
        // and of each chain head per transaction, not per event.
        self.push("LET $seq = $seq + 1");
        // The same link as `audit::link`: sha256 of the previous value's hex
        // followed by this digest's.
        self.push(format!("LET $chain = crypto::sha256($chain + {digest})"));
        self.push(format!(
            "CREATE {id} CONTENT {{ seq: $seq, tenant: $tenant, kind: {kind}, actor: {actor}, target: {target}, data: {data}, at: {at}, rank: {rank}, digest: {digest}, chain: $chain }} RETURN NONE"
        ));
        self.events += 1;
    }

    /// Runs every statement in one transaction, retrying write conflicts.
    /// Results are indexed as returned by [`Batch::push`]. A batch that
    /// appends events waits its turn among this process's log writers and
    /// may share its transaction with others (see [`LogWriters`]).
    pub async fn run(self, db: &Arc<Surreal<Any>>, log: &Arc<LogWriters>) -> StoreResult<Results> {
        if self.events == 0 {
            return self.run_alone(db).await;
        }
        let (reply, answer) = oneshot::channel();
        log.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(Pending { batch: self, reply });
        // The turn is taken in a task of its own: a caller that goes away
        // (a closed request) must not take the batches it was running for
        // others with it.
        let (db, log) = (db.clone(), log.clone());
        tokio::spawn(async move { log.write_queued(&db).await });
        answer.await.map_err(|_| {
            StoreError::Database("the log writer stopped before running the transaction".into())
        })?
    }

    /// This batch in a transaction of its own.
    async fn run_alone(&self, db: &Surreal<Any>) -> StoreResult<Results> {
        let rendered = render(&[self]);
        let mut all = retry_conflicts(|| Self::attempt(db, &rendered)).await?;
        Ok(all.pop().unwrap_or(Results { values: Vec::new() }))
    }

    /// Runs a rendered transaction once; each batch's results.
    async fn attempt(db: &Surreal<Any>, r: &Rendered) -> StoreResult<Vec<Results>> {
        let mut response = db.query(r.sql.as_str()).bind(r.vars.clone()).await?;
        if let Some(e) = failure(response.take_errors()) {
            return Err(e);
        }
        // BEGIN and COMMIT have result slots of their own: statement i is at i + 1.
        // (A `RETURN` would end the block early, so batches never use one.)
        if response.num_statements() != r.statements + 2 {
            return Err(StoreError::Corrupt(format!(
                "expected {} results from a transaction of {} statements, got {}",
                r.statements + 2,
                r.statements,
                response.num_statements()
            )));
        }
        let mut results = Vec::with_capacity(r.ranges.len());
        for range in &r.ranges {
            let mut values = Vec::with_capacity(range.len());
            for i in range.clone() {
                values.push(response.take::<Value>(i + 1)?);
            }
            results.push(Results { values });
        }
        Ok(results)
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

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use crate::domain::events::{Actor, EventKind};
    use crate::domain::ids::ClientId;
    use crate::domain::tenant::Tenant;
    use crate::store::schema_tests::{client, receive_sms, store, tenant};
    use crate::store::{StoreError, StoreResult, TenantStore};

    fn receive(
        ts: &TenantStore,
        client: ClientId,
        text: &str,
    ) -> tokio::task::JoinHandle<StoreResult<crate::domain::ids::ChatId>> {
        let (ts, text) = (ts.clone(), text.to_owned());
        tokio::spawn(async move { Ok(receive_sms(&ts, client, &text).await?.0) })
    }

    /// Starts `jobs` while the log's turn is held, so that they all queue
    /// and run as one group once it is let go.
    async fn queued_together<T>(
        store: &crate::store::Store,
        jobs: impl FnOnce() -> Vec<tokio::task::JoinHandle<T>>,
    ) -> Vec<T> {
        let turn = store.log.turn.lock().await;
        let handles = jobs();
        let n = handles.len();
        while store.log.pending.lock().unwrap().len() < n {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        drop(turn);
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }

    /// Whether a value shares an object parameter or has one of its own, and
    /// however many a batch binds, a statement reads back what was bound.
    #[tokio::test]
    async fn bound_values_read_back_as_bound_whichever_parameter_holds_them() {
        use surrealdb::types::{SurrealValue, Value};
        let (_d, store) = store().await;
        let ts = store.tenant(tenant(&store, "acme").await);

        let big: Vec<i64> = (0..40).collect();
        let wide: serde_json::Value = (0..20)
            .map(|i| (format!("k{i}"), i.into()))
            .collect::<serde_json::Map<_, _>>()
            .into();
        let mut values: Vec<Value> = (0..40)
            .map(|i| match i % 5 {
                0 => format!("it's \"{i}\" $b0_1.v0").into_value(),
                1 => (i as i64).into_value(),
                2 => Utc::now().into_value(),
                3 => None::<String>.into_value(),
                _ => uuid::Uuid::now_v7().into_value(),
            })
            .collect();
        values.insert(7, big.clone().into_value());
        values.insert(20, wide.clone().into_value());
        values.insert(33, vec![1i64, 2, 3].into_value());
        let nested = serde_json::json!({ "entries": (0..30).collect::<Vec<i64>>() });
        values.insert(36, nested.into_value());

        let mut b = ts.batch();
        let names: Vec<String> = values.iter().map(|v| b.bind(v.clone())).collect();
        // Small values share objects of up to 16; large ones stand alone.
        let param = |n: &str| n.split('.').next().unwrap().to_owned();
        assert!(
            !names[7].contains('.') && !names[20].contains('.') && !names[36].contains('.'),
            "{names:?}"
        );
        assert!(names[33].contains('.'), "{names:?}");
        let shared: std::collections::BTreeSet<String> = names
            .iter()
            .filter(|n| n.contains('.'))
            .map(|n| param(n))
            .collect();
        assert_eq!(shared.len(), 41usize.div_ceil(16), "{names:?}");
        let at = b.push(format!("[{}]", names.join(", ")));
        let read: Vec<Value> = ts.run(b).await.unwrap().take(at).unwrap();
        assert_eq!(read, values);
    }

    #[tokio::test]
    async fn batches_of_two_tenants_share_a_commit_and_one_failure_fails_no_other() {
        let (_d, store) = store().await;
        let (a, b) = (
            Tenant::new("Acme", "acme", Utc::now()).unwrap(),
            Tenant::new("Bolt", "bolt", Utc::now()).unwrap(),
        );
        store.create_tenant(&a).await.unwrap();
        store.create_tenant(&b).await.unwrap();
        let (ta, tb) = (store.tenant(a.id), store.tenant(b.id));
        let (ann, bob, gone) = (
            client(&ta, "Ann").await,
            client(&tb, "Bob").await,
            client(&ta, "Gone").await,
        );
        // Everyone's chat exists, then Gone is deleted: a message to it throws.
        receive(&ta, ann, "a0").await.unwrap().unwrap();
        receive(&tb, bob, "b0").await.unwrap().unwrap();
        receive(&ta, gone, "before").await.unwrap().unwrap();
        let mut g = ta.client(gone).await.unwrap().client;
        g.delete(Utc::now()).unwrap();
        ta.update_client(
            &g,
            EventKind::ClientDeleted,
            serde_json::json!({}),
            &Actor::System,
        )
        .await
        .unwrap();

        // All succeed together.
        let first = queued_together(&store, || {
            vec![
                receive(&ta, ann, "a1"),
                receive(&tb, bob, "b1"),
                receive(&ta, ann, "a2"),
            ]
        })
        .await;
        assert!(first.iter().all(Result::is_ok), "{first:?}");
        // One of them fails: only that one.
        let second = queued_together(&store, || {
            vec![
                receive(&tb, bob, "b2"),
                receive(&ta, gone, "lost"),
                receive(&ta, ann, "a3"),
            ]
        })
        .await;
        assert!(second[0].is_ok() && second[2].is_ok(), "{second:?}");
        assert!(
            matches!(second[1], Err(StoreError::NotFound { what: "chat" })),
            "{second:?}"
        );

        let texts = |ts: TenantStore, chat| async move {
            let mut t: Vec<String> = ts
                .messages_page(chat, None, 10)
                .await
                .unwrap()
                .iter()
                .map(|m| m.text().to_owned())
                .collect();
            t.sort();
            t
        };
        let ann_chat = *first[0].as_ref().unwrap();
        let bob_chat = *first[1].as_ref().unwrap();
        assert_eq!(texts(ta.clone(), ann_chat).await, ["a0", "a1", "a2", "a3"]);
        assert_eq!(texts(tb.clone(), bob_chat).await, ["b0", "b1", "b2"]);
        // Each tenant's events went to its own chain, intact, and the
        // failed batch left none.
        for (ts, received) in [(&ta, 5), (&tb, 3)] {
            ts.verify_audit_chain().await.unwrap().unwrap();
            let n: Option<i64> = store
                .db()
                .query("(SELECT count() FROM event WHERE tenant = $t AND kind = 'message.received' GROUP ALL)[0].count")
                .bind(("t", ts.tenant_id().uuid()))
                .await
                .unwrap()
                .take(0)
                .unwrap();
            assert_eq!(n, Some(received));
        }
        // The log's counter moved once per event, in one sequence without
        // gaps or repeats, though it was written once per transaction.
        let mut r = store
            .db()
            .query("SELECT VALUE seq FROM event ORDER BY seq; SELECT VALUE n FROM counter:events")
            .await
            .unwrap();
        let (seqs, counter): (Vec<i64>, Vec<i64>) = (r.take(0).unwrap(), r.take(1).unwrap());
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
        assert_eq!(counter, [seqs.len() as i64]);
    }
}
