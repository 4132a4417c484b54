//! The floor: the same reads and writes as the hub's, made directly on
//! SurrealDB through its SDK, in this process, with no API, no permission
//! checks and no domain rules in between.

use std::sync::Arc;

use hub::store::ranks::{chat_rank, newest_first};
use hub::store::records;
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::types::{RecordId, SurrealValue, Value};
use uuid::Uuid;

pub type Db = Arc<Surreal<Any>>;

pub async fn open(db_dir: &std::path::Path) -> anyhow::Result<Db> {
    let url = format!("surrealkv://{}", db_dir.display());
    // The hub may still be letting go of the database: try for a while.
    let mut last = None;
    for _ in 0..50 {
        match surrealdb::engine::any::connect(url.as_str()).await {
            Ok(db) => {
                db.use_ns("hub").use_db("hub").await?;
                return Ok(Arc::new(db));
            }
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Err(anyhow::anyhow!("cannot open {url}: {last:?}"))
}

fn rid(table: &str, parts: &[Value]) -> RecordId {
    records::rid(table, parts.iter().cloned())
}

fn uuid(u: Uuid) -> Value {
    records::uuid_value(u)
}

fn part(id: &RecordId, index: usize) -> anyhow::Result<Uuid> {
    Ok(records::uuid_part(id, index)?)
}

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct IdRow {
    id: RecordId,
}

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct ChatRow {
    client: Uuid,
}

pub async fn tenant(db: &Db, slug_admin: &str) -> anyhow::Result<Uuid> {
    let t: Vec<Uuid> = db
        .query("SELECT VALUE tenant FROM user WHERE email = $e LIMIT 1")
        .bind(("e", slug_admin.to_owned()))
        .await?
        .take(0)?;
    t.first()
        .copied()
        .ok_or_else(|| anyhow::anyhow!("no user {slug_admin}"))
}

/// A client and its contacts by one contact value, in one round trip as
/// the hub reads them.
pub async fn client_by_contact(
    db: &Db,
    t: Uuid,
    kind: &'static str,
    value: String,
) -> anyhow::Result<()> {
    let mut r = db
        .query(
            "LET $c = (SELECT VALUE client FROM contact WHERE tenant = $t AND kind = $k AND value = $v LIMIT 1)[0];
             LET $view = SELECT * FROM type::record('client', [$t, $c]);
             RETURN $view;
             SELECT * FROM $view[0].contacts ?? []",
        )
        .bind(("t", t))
        .bind(("k", kind))
        .bind(("v", value.clone()))
        .await?;
    let client: Vec<IdRow> = r.take(2)?;
    anyhow::ensure!(client.len() == 1, "no client with {kind} {value}");
    let _: Value = r.take(3)?;
    Ok(())
}

/// Name search with the hub's indexes, order and round trip: names starting
/// with the text from the name-ordered index first, full-text search only
/// when those do not fill the page, then the matches' contacts.
pub async fn search_clients(db: &Db, t: Uuid, text: String) -> anyhow::Result<usize> {
    let mut r = db
        .query(
            "LET $next = SELECT * FROM client WHERE tenant = $t AND live = true AND list_key > $q ORDER BY list_key LIMIT 21;
             LET $prefixed = $next[WHERE string::starts_with(name_key, $q)];
             LET $limit = 21 + array::len($prefixed);
             LET $words = IF array::len($prefixed) < 21 {
                 SELECT * FROM client WHERE name_key @1@ $q AND tenant = $t AND live = true LIMIT $limit
             } ELSE { [] };
             RETURN $prefixed;
             RETURN $words;
             LET $listed = array::flatten(array::concat($prefixed, $words).contacts);
             SELECT * FROM $listed",
        )
        .bind(("t", t))
        .bind(("q", text.to_lowercase()))
        .await?;
    let prefixed: Vec<IdRow> = r.take(4)?;
    let words: Vec<IdRow> = r.take(5)?;
    let _: Value = r.take(7)?;
    Ok((prefixed.len() + words.len()).min(21))
}

/// The first page of the chat list with each chat's client (its contacts
/// are not shown there, and the hub does not read them).
pub async fn chat_list(db: &Db, t: Uuid, first: usize) -> anyhow::Result<usize> {
    let chats: Vec<ChatRow> = db
        .query("SELECT * FROM chat WHERE tenant = $t AND client_deleted = false ORDER BY rank LIMIT $n")
        .bind(("t", t))
        .bind(("n", first as i64))
        .await?
        .take(0)?;
    let clients: Vec<RecordId> = chats
        .iter()
        .map(|c| rid("client", &[uuid(t), uuid(c.client)]))
        .collect();
    let rows: Vec<IdRow> = db
        .query("SELECT * FROM $ids")
        .bind(("ids", clients))
        .await?
        .take(0)?;
    anyhow::ensure!(rows.len() == chats.len(), "a chat's client is missing");
    Ok(chats.len())
}

/// A page of one chat's history, newest first.
pub async fn history(db: &Db, t: Uuid, chat: Uuid, first: usize) -> anyhow::Result<usize> {
    let rows: Vec<IdRow> = db
        .query("SELECT * FROM message WHERE tenant = $t AND chat = $c ORDER BY rank LIMIT $n")
        .bind(("t", t))
        .bind(("c", chat))
        .bind(("n", first as i64))
        .await?
        .take(0)?;
    Ok(rows.len())
}

pub async fn search_messages(db: &Db, t: Uuid, text: String) -> anyhow::Result<usize> {
    let rows: Vec<IdRow> = db
        .query(
            "LET $hits = (SELECT id, search::score(1) AS score FROM message_text WHERE text @1@ $q AND tenant = $t ORDER BY score DESC LIMIT 20);
             SELECT * FROM $hits.map(|$h| type::record('message', record::id($h.id)));",
        )
        .bind(("t", t))
        .bind(("q", text))
        .await?
        .take(1)?;
    Ok(rows.len())
}

/// What storing one message costs the hub, written in one transaction: the
/// message, its outbox job (outbound), the chat's summary, the log's
/// counter, an audit chain link and the event.
/// The log entries go to a tenant of their own (`log_tenant`) so that the
/// hub's own audit chain is left as it was.
pub async fn store_message(
    db: &Db,
    t: Uuid,
    log_tenant: Uuid,
    chat: Uuid,
    outbound: bool,
    text: String,
) -> anyhow::Result<()> {
    store_messages(db, t, log_tenant, &[(chat, text)], outbound).await
}

/// [`store_message`] for several messages in one transaction, as the hub's
/// group commit writes them.
pub async fn store_messages(
    db: &Db,
    t: Uuid,
    log_tenant: Uuid,
    messages: &[(Uuid, String)],
    outbound: bool,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let (direction, sender, status) = if outbound {
        (
            "outbound",
            serde_json::json!({ "kind": "user", "user_id": Uuid::now_v7().to_string(), "name": "Bench" }),
            "queued",
        )
    } else {
        (
            "inbound",
            serde_json::json!({ "kind": "sms", "phone": "+14152000000" }),
            "delivered",
        )
    };
    // The log's counter and chain head are read once and written once per
    // transaction, as the hub writes them.
    let mut sql = String::from(
        "BEGIN TRANSACTION;
         LET $seq = (SELECT VALUE n FROM counter:events)[0] ?? 0;
         LET $chain = (SELECT VALUE head FROM $head)[0] ?? '';\n",
    );
    let mut vars: std::collections::BTreeMap<String, Value> = [
        ("t", uuid(t)),
        ("lt", uuid(log_tenant)),
        ("head", rid("audit_chain", &[uuid(log_tenant)]).into_value()),
        ("sender", sender.into_value()),
        ("direction", direction.into_value()),
        ("status", status.into_value()),
        ("at", now.into_value()),
        ("unread", i64::from(!outbound).into_value()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, (chat, text)) in messages.iter().enumerate() {
        let id = Uuid::now_v7();
        let event = Uuid::now_v7();
        let job = if outbound {
            "CREATE $job_K CONTENT { tenant: $t, chat: $c_K, message: $m_K, transport: 'sms', recipient: '+14152000000', state: 'done', attempts: 0, next_attempt_at: $at, created_at: $at } RETURN NONE;"
        } else {
            // The sender is a member of their chat from its creation on.
            ""
        };
        let statements = format!(
            "CREATE $mid_K CONTENT {{ tenant: $t, chat: $c_K, text: $text_K, sender: $sender, direction: $direction, transport: 'sms', attachments: [], created_at: $at, status: $status, read_at: NONE, provider_message_id: NONE, rank: $rank_K }} RETURN NONE;
             {job}
             IF (UPDATE $chat_K SET last_message_at = $at, sort_at = $at, rank = $crank_K, last_message_preview = $text_K, last_transport = 'sms', unread_count += $unread WHERE client_deleted = false RETURN VALUE id) = [] {{ THROW 'NOT_FOUND:chat' }};
             LET $seq = $seq + 1;
             LET $chain = crypto::sha256($chain + $digest_K);
             CREATE $eid_K CONTENT {{ seq: $seq, tenant: $lt, kind: 'message.received', actor: 'system', target: 'message', data: {{}}, at: $at, rank: $erank_K, digest: $digest_K, chain: $chain }} RETURN NONE;\n"
        );
        sql.push_str(&statements.replace("_K", &format!("_{k}")));
        let c = uuid(*chat);
        for (name, value) in [
            ("c", c.clone()),
            ("m", uuid(id)),
            (
                "mid",
                rid("message", &[uuid(t), c.clone(), uuid(id)]).into_value(),
            ),
            ("job", rid("outbox", &[uuid(t), uuid(id)]).into_value()),
            ("chat", rid("chat", &[uuid(t), c]).into_value()),
            (
                "eid",
                rid("event", &[uuid(log_tenant), uuid(event)]).into_value(),
            ),
            ("text", text.clone().into_value()),
            ("rank", newest_first(id).into_value()),
            ("crank", chat_rank(now, *chat).into_value()),
            ("erank", newest_first(event).into_value()),
            ("digest", format!("{:064x}", id.as_u128()).into_value()),
        ] {
            vars.insert(format!("{name}_{k}"), value);
        }
    }
    sql.push_str(&format!(
        "UPSERT counter:events SET n = $seq RETURN NONE;
         UPSERT $head SET count += {}, head = $chain RETURN NONE;
         COMMIT TRANSACTION;",
        messages.len()
    ));
    // Writers that bump the log's counter take turns, as the hub's do: at
    // once they would only conflict and start over.
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = TURN.lock().await;
    let mut r = db.query(sql).bind(vars).await?;
    // The first failure is the cause; the rest only say the transaction failed.
    if let Some((i, e)) = r.take_errors().into_iter().min_by_key(|(i, _)| *i) {
        anyhow::bail!("statement {i} failed: {e}");
    }
    Ok(())
}

/// An inbound message as the hub takes one: in one round trip whether it
/// was seen, the sender's client and contacts and the client's chat; then
/// the write.
pub async fn receive(
    db: &Db,
    t: Uuid,
    log_tenant: Uuid,
    phone: String,
    text: String,
) -> anyhow::Result<()> {
    let mut r = db
        .query(
            "SELECT chat, message FROM $ref;
             LET $c = (SELECT VALUE client FROM contact WHERE tenant = $t AND kind = 'phone' AND value = $v LIMIT 1)[0];
             LET $view = SELECT * FROM type::record('client', [$t, $c]);
             RETURN $view;
             SELECT * FROM $view[0].contacts ?? [];
             SELECT id FROM chat WHERE tenant = $t AND client = $c LIMIT 1",
        )
        .bind(("ref", rid("inbound_ref", &[uuid(t), Value::String("raw".into()), Value::String(text.clone())])))
        .bind(("t", t))
        .bind(("v", phone.clone()))
        .await?;
    let _: Value = r.take(0)?;
    let client: Vec<IdRow> = r.take(3)?;
    anyhow::ensure!(client.len() == 1, "no client with {phone}");
    let _: Value = r.take(4)?;
    let chats: Vec<IdRow> = r.take(5)?;
    let chat = part(
        &chats
            .first()
            .ok_or_else(|| anyhow::anyhow!("the client with {phone} has no chat"))?
            .id,
        1,
    )?;
    store_message(db, t, log_tenant, chat, false, text).await
}
