//! Message search, written behind the message: `message_word` holds a
//! posting per word and message (migration 10), read by
//! [`super::word_search`].
//!
//! Sends and inbound messages do not write it: the indexer
//! ([`crate::search`]) reads the event log after its cursor and writes the
//! words of the messages it names, one transaction per page, so a message is
//! found a moment after it is stored. One hub process at a time holds the
//! indexer's lease. A bulk import writes its messages' words itself. After
//! an upgrade the stored messages are indexed by the indexer a page at a
//! time, and until then search reads what it read before (`legacy`).

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, SurrealValue};

use super::error::StoreResult;
use super::events::{EVENTS_AFTER, EventRow, LoggedEvent};
use super::messages::MessageRow;
use super::ranks::newest_first;
use super::records::uuid_part;
use super::{Batch, Store, TenantStore};
use crate::domain::ids::{ChatId, MessageId};
use crate::domain::message::Message;

/// The one cursor record of the indexer.
const CURSOR: &str = "search_cursor:messages";

/// Writes the postings of the messages in `$found` (id, tenant, text, rank).
pub(crate) const INSERT_WORDS: &str = "INSERT IGNORE INTO message_word array::flatten($found.map(|$m| fn::message_words($m.text).map(|$w| { id: type::record('message_word', [$m.tenant, $w, record::id($m.id)[1], record::id($m.id)[2]]), tenant: $m.tenant, word: $w, rank: $m.rank }))) RETURN NONE";

/// Once every stored message has its postings, what search read before goes.
const DROP_LEGACY: &str = "REMOVE INDEX IF EXISTS message_text_search ON message;
    REMOVE EVENT IF EXISTS message_text_follows ON message;
    REMOVE TABLE IF EXISTS message_text;
    UPDATE search_cursor:messages SET legacy = NONE RETURN NONE;";

/// The events that store a message whose words are to be indexed.
const INDEXED_KINDS: [&str; 2] = ["message.queued", "message.received"];

/// What one indexing round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Indexed {
    /// Events read past the cursor.
    pub events: usize,
    /// Messages whose words were written.
    pub messages: usize,
    /// Messages stored before search was written behind remain to index.
    pub backfilling: bool,
}

impl Store {
    /// Takes or renews the indexer's lease until `until`: true when `owner`
    /// holds it now. Two hubs claiming at once conflict in the database; the
    /// one that fails does not index this round.
    pub async fn claim_search_lease(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let cursor = RecordId::new("search_cursor", "messages");
        super::lease::claim(self.db(), cursor, owner, now, until).await
    }

    /// The indexer's position in the event log.
    pub async fn search_cursor(&self) -> StoreResult<i64> {
        Ok(self.position_and_events(0).await?.0.seq)
    }

    /// Where the indexer is and up to `limit` events after it, in one round
    /// trip (an idle indexer reads only this).
    async fn position_and_events(&self, limit: usize) -> StoreResult<(Position, Vec<LoggedEvent>)> {
        let mut response = self
            .db()
            .query(format!(
                "LET $at = (SELECT seq, backfilled, backfill_after FROM {CURSOR})[0];
                 RETURN $at;
                 LET $seq = $at.seq ?? 0;
                 {EVENTS_AFTER}"
            ))
            .bind(("limit", limit as i64))
            .await?;
        let position: Option<Position> = response.take(1)?;
        let events: Vec<EventRow> = response.take(3)?;
        Ok((
            position.unwrap_or_else(Position::start),
            events
                .into_iter()
                .map(EventRow::into_event)
                .collect::<StoreResult<_>>()?,
        ))
    }

    /// Indexes the messages stored by up to `limit` events after the cursor
    /// and, until the messages stored before search was written behind
    /// are indexed, up to `limit` of those; moves the cursors past them.
    /// Each part is one transaction that fails unless `owner` still holds
    /// the lease and its cursor is where it was read.
    pub async fn index_messages(&self, owner: &str, limit: usize) -> StoreResult<Indexed> {
        self.index_messages_paged(owner, limit, limit).await
    }

    /// [`Self::index_messages`] with pages of their own size for the log
    /// and for the stored messages (the full-text index costs less per
    /// message in larger transactions).
    pub async fn index_messages_paged(
        &self,
        owner: &str,
        logged: usize,
        stored: usize,
    ) -> StoreResult<Indexed> {
        let (position, events) = self.position_and_events(logged).await?;
        let mut done = self.index_logged(owner, position.seq, &events).await?;
        if !position.backfilled {
            let (messages, more) = self
                .index_stored(owner, position.backfill_after, stored)
                .await?;
            done.messages += messages;
            done.backfilling = more;
        }
        Ok(done)
    }

    /// The messages stored by `events`, read after `cursor`.
    async fn index_logged(
        &self,
        owner: &str,
        cursor: i64,
        events: &[LoggedEvent],
    ) -> StoreResult<Indexed> {
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(Indexed::default());
        };
        let messages: Vec<RecordId> = events.iter().filter_map(|e| message_of(self, e)).collect();
        let written = self
            .write_words(
                owner,
                "LET $found = (SELECT id, tenant, text, rank FROM $messages)",
                "seq = $last WHERE seq = $cursor",
                "NONE",
                |q| {
                    q.bind(("messages", messages))
                        .bind(("last", last))
                        .bind(("cursor", cursor))
                },
            )
            .await?;
        Ok(Indexed {
            events: events.len(),
            messages: written,
            backfilling: false,
        })
    }

    /// Up to `limit` messages in key order after `after` (from the first
    /// when none): the words of messages stored before they were written
    /// behind. Answers how many, and whether there are more.
    async fn index_stored(
        &self,
        owner: &str,
        after: Option<RecordId>,
        limit: usize,
    ) -> StoreResult<(usize, bool)> {
        // A range of record ids cannot be a parameter; the key is three
        // UUIDs, written out here.
        let from = match &after {
            None => "message".to_owned(),
            Some(id) => format!(
                "message:[u'{}', u'{}', u'{}']>..",
                uuid_part(id, 0)?,
                uuid_part(id, 1)?,
                uuid_part(id, 2)?
            ),
        };
        let written = self
            .write_words(
                owner,
                &format!("LET $found = (SELECT id, tenant, text, rank FROM {from} LIMIT $limit)"),
                "backfill_after = array::last($found).id ?? backfill_after, backfilled = array::len($found) < $limit
                   WHERE backfill_after = $after",
                // With the last of them, search moves over; what it read
                // before goes.
                &format!("IF array::len($found) < $limit {{ {DROP_LEGACY} }}"),
                |q| q.bind(("limit", limit as i64)).bind(("after", after)),
            )
            .await?;
        Ok((written, written == limit))
    }

    /// One transaction: `found` reads the messages (as `$found`), their
    /// words are written, `moved` moves the cursor (`SET … WHERE` it was)
    /// unless another hub holds the lease, and `then` runs. Answers how
    /// many messages were found.
    ///
    /// One `INSERT` of them all (SurrealDB copies every parameter in scope
    /// into each statement it runs, which a loop over the page would do
    /// once per message). Words already written are left as they are (a
    /// message's text never changes). While search still reads
    /// `message_text` after an upgrade, new messages go there too.
    async fn write_words<'a>(
        &'a self,
        owner: &str,
        found: &str,
        moved: &str,
        then: &str,
        bind: impl FnOnce(
            surrealdb::method::Query<'a, surrealdb::engine::any::Any>,
        ) -> surrealdb::method::Query<'a, surrealdb::engine::any::Any>,
    ) -> StoreResult<usize> {
        let query = self
            .db()
            .query(format!(
                "BEGIN TRANSACTION;
                 {found};
                 {INSERT_WORDS};
                 IF (SELECT VALUE legacy FROM ONLY {CURSOR}) = 'message_text' {{
                     INSERT IGNORE INTO message_text $found.map(|$m| {{ id: type::record('message_text', record::id($m.id)), tenant: $m.tenant, text: $m.text }}) RETURN NONE;
                 }};
                 IF (UPDATE {CURSOR} SET {moved} AND lease_owner = $owner RETURN VALUE id) = [] {{
                     THROW 'the search index moved on without this hub'
                 }};
                 {then};
                 array::len($found);
                 COMMIT TRANSACTION;"
            ))
            .bind(("owner", owner.to_owned()));
        let mut response = bind(query)
            .await?
            .check()
            .map_err(|e| super::error::classify(e.to_string()))?;
        // The count is the last statement's result before `COMMIT`'s.
        let count = response.num_statements() - 2;
        let written: Option<i64> = response.take(count)?;
        Ok(written.unwrap_or(0) as usize)
    }
}

/// Where the indexer is.
#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct Position {
    seq: i64,
    backfilled: bool,
    backfill_after: Option<RecordId>,
}

impl Position {
    /// Where an indexer without a cursor record starts.
    fn start() -> Self {
        Self {
            seq: 0,
            backfilled: true,
            backfill_after: None,
        }
    }
}

/// The record of the message an event stored, if it is one to index.
fn message_of(store: &Store, e: &LoggedEvent) -> Option<RecordId> {
    if !INDEXED_KINDS.contains(&e.kind.as_str()) {
        return None;
    }
    let message: uuid::Uuid = e.target.strip_prefix("message:")?.parse().ok()?;
    let chat: uuid::Uuid = e.data.get("chat")?.as_str()?.parse().ok()?;
    Some(
        store
            .tenant(e.tenant)
            .message_rid(ChatId::from_uuid(chat), MessageId::from_uuid(message)),
    )
}

impl TenantStore {
    /// Messages whose text contains all of `query`'s words, newest first.
    /// Until the stored messages are all indexed after an upgrade, what
    /// search read before answers (it holds them all).
    pub async fn search_messages(&self, query: &str, limit: usize) -> StoreResult<Vec<Message>> {
        let mut response = self
            .db()
            .query(format!(
                "RETURN (SELECT backfilled, legacy FROM {CURSOR})[0];
                 RETURN fn::message_words($q);"
            ))
            .bind(("q", query.to_owned()))
            .await?;
        let at: Option<Reading> = response.take(0)?;
        let words: Vec<String> = response.take(1)?;
        let ids = match at {
            Some(Reading {
                backfilled: false,
                legacy: Some(legacy),
            }) => self.legacy_search(&legacy, query, limit).await?,
            _ if words.is_empty() => return Ok(Vec::new()),
            _ => self.messages_with_words(&words, limit).await?,
        };
        let rows: Vec<MessageRow> = self
            .db()
            .query("SELECT * FROM $ids")
            .bind(("ids", ids))
            .await?
            .take(0)?;
        rows.into_iter().map(MessageRow::into_domain).collect()
    }

    /// Search as it was before migration 10: SurrealDB's full-text index on
    /// `message_text` or, before migration 9's backfill was through, on the
    /// message itself; best matches first.
    async fn legacy_search(
        &self,
        legacy: &str,
        query: &str,
        limit: usize,
    ) -> StoreResult<Vec<RecordId>> {
        let sql = if legacy == "message" {
            "SELECT VALUE id FROM (SELECT id, search::score(1) AS score FROM message WHERE text @1@ $q AND tenant = $tenant ORDER BY score DESC LIMIT $limit)"
        } else {
            "SELECT VALUE type::record('message', record::id(id)) FROM (SELECT id, search::score(1) AS score FROM message_text WHERE text @1@ $q AND tenant = $tenant ORDER BY score DESC LIMIT $limit)"
        };
        Ok(self
            .db()
            .query(sql)
            .bind(("tenant", self.tenant.uuid()))
            .bind(("q", query.to_owned()))
            .bind(("limit", limit as i64))
            .await?
            .take(0)?)
    }

    /// Writes `m`'s words with it, for writers that do not go through the
    /// event log (a bulk import).
    pub(super) fn push_message_words(&self, b: &mut Batch, m: &Message) {
        let id = b.bind(self.message_rid(m.chat(), m.id()));
        let text = b.bind(m.text().to_owned());
        let rank = b.bind(newest_first(m.id().uuid()));
        b.push(format!(
            "INSERT IGNORE INTO message_word fn::message_words({text}).map(|$w| {{ id: type::record('message_word', [$tenant, $w, record::id({id})[1], record::id({id})[2]]), tenant: $tenant, word: $w, rank: {rank} }}) RETURN NONE"
        ));
    }
}

/// Which search answers.
#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct Reading {
    backfilled: bool,
    legacy: Option<String>,
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::events::Actor;
    use crate::store::TenantStore;
    use crate::store::schema_tests::{client, receive_sms, store, tenant};

    /// How many messages have postings.
    async fn count_words(store: &Store) -> i64 {
        let n: Option<i64> = store
            .db()
            .query(
                "array::len(array::distinct((SELECT VALUE record::id(id)[3] FROM message_word)))",
            )
            .await
            .unwrap()
            .take(0)
            .unwrap();
        n.unwrap_or(0)
    }

    #[tokio::test]
    async fn a_message_is_found_once_the_indexer_has_read_past_it_and_only_by_its_tenant() {
        let (_dir, store) = store().await;
        let acme = store.tenant(tenant(&store, "acme").await);
        let other = store.tenant(tenant(&store, "other").await);
        let ann = client(&acme, "Ann").await;
        let (_, asked) = receive_sms(&acme, ann, "Where is my parcel?")
            .await
            .unwrap();
        receive_sms(&acme, ann, "Thanks!").await.unwrap();
        let bo = client(&other, "Bo").await;
        receive_sms(&other, bo, "My parcel is late").await.unwrap();
        assert!(
            acme.search_messages("parcel", 10).await.unwrap().is_empty(),
            "the send's transaction does not index"
        );

        let now = Utc::now();
        assert!(
            store
                .claim_search_lease("a", now, now + Duration::seconds(30))
                .await
                .unwrap()
        );
        // A page of one event at a time: each round moves the cursor on.
        let (mut rounds, mut indexed) = (0, 0);
        loop {
            let done = store.index_messages("a", 1).await.unwrap();
            if done.events == 0 {
                break;
            }
            assert!(done.messages <= 1);
            rounds += 1;
            indexed += done.messages;
        }
        assert_eq!(indexed, 3);
        assert!(rounds > 3, "tenants, clients and chats were logged too");
        assert_eq!(
            store.index_messages("a", 500).await.unwrap(),
            Indexed::default(),
            "nothing past the log's end"
        );
        assert_eq!(
            store.search_cursor().await.unwrap(),
            store.last_event_seq().await.unwrap()
        );

        let hits: Vec<_> = acme
            .search_messages("PARCEL", 10)
            .await
            .unwrap()
            .iter()
            .map(Message::id)
            .collect();
        assert_eq!(hits, [asked.id()], "acme's message, not other's");
        assert_eq!(other.search_messages("parcel", 10).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn only_the_lease_holder_indexes_and_another_takes_over_when_it_runs_out() {
        let (_dir, store) = store().await;
        let acme = store.tenant(tenant(&store, "acme").await);
        let ann = client(&acme, "Ann").await;
        receive_sms(&acme, ann, "hello").await.unwrap();
        let now = Utc::now();
        let until = now + Duration::seconds(30);
        assert!(store.claim_search_lease("a", now, until).await.unwrap());
        assert!(!store.claim_search_lease("b", now, until).await.unwrap());
        assert!(
            store.index_messages("b", 500).await.is_err(),
            "b holds no lease"
        );
        assert!(acme.search_messages("hello", 10).await.unwrap().is_empty());
        // a stopped renewing: once its lease has run out, b takes over.
        let later = until + Duration::seconds(1);
        assert!(
            store
                .claim_search_lease("b", later, later + Duration::seconds(30))
                .await
                .unwrap()
        );
        assert!(store.index_messages("a", 500).await.is_err(), "a lost it");
        assert_eq!(store.index_messages("b", 500).await.unwrap().messages, 1);
        assert_eq!(acme.search_messages("hello", 10).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_erased_clients_words_go_with_their_messages() {
        let (_dir, store) = store().await;
        let acme = store.tenant(tenant(&store, "acme").await);
        let ann = client(&acme, "Ann").await;
        let bo = client(&acme, "Bo").await;
        receive_sms(&acme, ann, "my secret address").await.unwrap();
        receive_sms(&acme, bo, "a secret of Bo's").await.unwrap();
        let now = Utc::now();
        store
            .claim_search_lease("a", now, now + Duration::seconds(30))
            .await
            .unwrap();
        store.index_messages("a", 500).await.unwrap();
        assert_eq!(acme.search_messages("secret", 10).await.unwrap().len(), 2);
        acme.erase_client(ann, &Actor::System).await.unwrap();
        assert_eq!(count_words(&store).await, 1, "only Bo's words are left");
        assert_eq!(acme.search_messages("secret", 10).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn messages_stored_before_search_was_written_behind_are_found_after_the_upgrade() {
        let (_dir, store) = store().await;
        let acme = store.tenant(tenant(&store, "acme").await);
        let ann = client(&acme, "Ann").await;
        receive_sms(&acme, ann, "an old question").await.unwrap();
        receive_sms(&acme, ann, "an old answer").await.unwrap();
        let bo = client(&acme, "Bo").await;
        receive_sms(&acme, bo, "Bo's old words").await.unwrap();
        // The database as it was at version 8: the index on the message.
        store
            .db()
            .query(
                "REMOVE EVENT message_words_follow ON message; REMOVE TABLE message_word; REMOVE FUNCTION fn::message_words;
                 REMOVE TABLE search_cursor;
                 DEFINE INDEX message_text_search ON message FIELDS text FULLTEXT ANALYZER message_words BM25;
                 DELETE migration WHERE version >= 9;",
            )
            .await
            .unwrap()
            .check()
            .unwrap();
        crate::store::migrations::apply(store.db()).await.unwrap();
        assert_eq!(
            store.search_cursor().await.unwrap(),
            store.last_event_seq().await.unwrap(),
            "the log is read from the upgrade on"
        );
        receive_sms(&acme, ann, "a new question").await.unwrap();
        // Before the indexer has caught up, the message's own index answers.
        assert_eq!(acme.search_messages("question", 10).await.unwrap().len(), 2);
        let now = Utc::now();
        store
            .claim_search_lease("a", now, now + Duration::seconds(30))
            .await
            .unwrap();
        // The stored messages a page of two at a time, beside the log.
        let mut rounds = 0;
        loop {
            let done = store.index_messages("a", 2).await.unwrap();
            rounds += 1;
            if !done.backfilling {
                break;
            }
        }
        assert_eq!(
            rounds, 3,
            "four messages in the table by then (the new one too), two per page: two full pages, then an empty one"
        );
        let mut found: Vec<_> = acme
            .search_messages("question", 10)
            .await
            .unwrap()
            .iter()
            .map(|m| m.text().to_owned())
            .collect();
        found.sort();
        assert_eq!(found, ["a new question", "an old question"]);
        let message_indexes: Option<serde_json::Value> = store
            .db()
            .query("(INFO FOR TABLE message).indexes")
            .await
            .unwrap()
            .take(0)
            .unwrap();
        let message_indexes = message_indexes.unwrap();
        assert!(
            message_indexes.get("message_text_search").is_none(),
            "the message's own index is gone: {message_indexes}"
        );
        assert_eq!(acme.search_messages("words", 10).await.unwrap().len(), 1);
    }

    async fn index_all(store: &Store) {
        let now = Utc::now();
        store
            .claim_search_lease("a", now, now + Duration::seconds(60))
            .await
            .unwrap();
        while store.index_messages("a", 500).await.unwrap().events > 0 {}
    }

    async fn found(ts: &TenantStore, query: &str, limit: usize) -> Vec<String> {
        ts.search_messages(query, limit)
            .await
            .unwrap()
            .iter()
            .map(|m| m.text().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn every_word_must_be_there_and_the_newest_come_first() {
        let (_dir, store) = store().await;
        let acme = store.tenant(tenant(&store, "acme").await);
        let ann = client(&acme, "Ann").await;
        // Two common words that meet seldom, and a rare one.
        for i in 0..300 {
            let text = match i % 3 {
                0 if i % 60 == 0 => format!("alpha beta {i}"),
                0 => format!("alpha {i}"),
                1 => format!("beta {i}"),
                _ => format!("gamma order #{i}"),
            };
            receive_sms(&acme, ann, &text).await.unwrap();
        }
        index_all(&store).await;

        assert_eq!(found(&acme, "order 53", 10).await, ["gamma order #53"]);
        assert_eq!(found(&acme, "53 GAMMA", 10).await, ["gamma order #53"]);
        assert_eq!(found(&acme, "#53", 10).await, ["gamma order #53"]);
        assert!(found(&acme, "alpha 53", 10).await.is_empty());
        // Rounds of reading ahead: the five messages with both, newest first.
        assert_eq!(
            found(&acme, "beta alpha", 10).await,
            [
                "alpha beta 240",
                "alpha beta 180",
                "alpha beta 120",
                "alpha beta 60",
                "alpha beta 0"
            ]
        );
        assert_eq!(
            found(&acme, "alpha beta", 2).await,
            ["alpha beta 240", "alpha beta 180"]
        );
        // One word pages through its own postings.
        let gammas = found(&acme, "gamma", 100).await;
        assert_eq!(gammas.len(), 100);
        assert_eq!(gammas[0], "gamma order #299");
        assert_eq!(gammas[99], "gamma order #2");
        assert!(found(&acme, "delta", 10).await.is_empty());
        assert!(found(&acme, "?!", 10).await.is_empty(), "no words at all");
    }

    #[tokio::test]
    async fn after_an_upgrade_search_reads_message_text_until_the_stored_messages_are_indexed() {
        let (_dir, store) = store().await;
        let acme = store.tenant(tenant(&store, "acme").await);
        let ann = client(&acme, "Ann").await;
        let bo = client(&acme, "Bo").await;
        receive_sms(&acme, ann, "an old question").await.unwrap();
        receive_sms(&acme, bo, "Bo's old question").await.unwrap();
        receive_sms(&acme, ann, "an old answer").await.unwrap();
        index_all(&store).await;
        // The database as it was at version 9, its messages in `message_text`.
        store
            .db()
            .query(
                "REMOVE EVENT message_words_follow ON message; REMOVE TABLE message_word; REMOVE FUNCTION fn::message_words;
                 REMOVE FIELD legacy ON search_cursor;
                 DEFINE TABLE message_text SCHEMAFULL;
                 DEFINE FIELD tenant ON message_text TYPE uuid;
                 DEFINE FIELD text ON message_text TYPE string;
                 DEFINE INDEX message_text_words ON message_text FIELDS text FULLTEXT ANALYZER message_words BM25;
                 DEFINE EVENT message_text_follows ON message WHEN $event = 'DELETE' THEN {
                     UPSERT type::record('message_text', record::id($before.id)) CONTENT { tenant: $before.tenant, text: '' } RETURN NONE;
                     DELETE type::record('message_text', record::id($before.id));
                 };
                 INSERT INTO message_text (SELECT id, tenant, text FROM message).map(|$m| { id: type::record('message_text', record::id($m.id)), tenant: $m.tenant, text: $m.text });
                 UPDATE search_cursor:messages SET backfilled = true, backfill_after = NONE;
                 DELETE migration WHERE version >= 10;",
            )
            .await
            .unwrap()
            .check()
            .unwrap();
        crate::store::migrations::apply(store.db()).await.unwrap();
        receive_sms(&acme, ann, "a new question").await.unwrap();
        // One stored message a round, beside the log's new one.
        let done = store.index_messages_paged("a", 500, 1).await.unwrap();
        assert!(done.backfilling);
        let mut questions = found(&acme, "question", 10).await;
        questions.sort();
        assert_eq!(
            questions,
            ["Bo's old question", "a new question", "an old question"],
            "message_text answers, the new message in it too"
        );
        acme.erase_client(bo, &Actor::System).await.unwrap();
        assert_eq!(found(&acme, "question", 10).await.len(), 2);
        while store
            .index_messages_paged("a", 500, 1)
            .await
            .unwrap()
            .backfilling
        {}
        assert_eq!(
            found(&acme, "question", 10).await,
            ["a new question", "an old question"],
            "the postings answer, newest first"
        );
        assert_eq!(found(&acme, "answer", 10).await, ["an old answer"]);
        let tables: Option<serde_json::Value> = store
            .db()
            .query("(INFO FOR DB).tables")
            .await
            .unwrap()
            .take(0)
            .unwrap();
        let tables = tables.unwrap();
        assert!(
            tables.get("message_text").is_none() && tables.get("message_word").is_some(),
            "message_text is gone: {tables}"
        );
        assert_eq!(count_words(&store).await, 3, "Bo's message took its words");
    }

    /// The indexer reads a message, the message is erased, then the indexer
    /// writes its words: the two transactions write the same key, so the
    /// indexer's fails instead of leaving the words behind.
    #[tokio::test]
    async fn words_read_before_an_erasure_are_not_written_after_it() {
        let (_dir, store) = store().await;
        let acme = store.tenant(tenant(&store, "acme").await);
        let ann = client(&acme, "Ann").await;
        let (chat, m) = receive_sms(&acme, ann, "my secret address").await.unwrap();
        let message = acme.message_rid(chat, m.id());
        // The indexer's transaction, slowed down between its read and its write.
        let indexer = tokio::spawn({
            let store = store.clone();
            async move {
                store
                    .db()
                    .query(format!(
                        "BEGIN TRANSACTION;
                         LET $found = (SELECT id, tenant, text, rank FROM $messages);
                         sleep(400ms);
                         {INSERT_WORDS};
                         COMMIT TRANSACTION;"
                    ))
                    .bind(("messages", vec![message]))
                    .await
                    .and_then(|r| r.check())
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        acme.erase_client(ann, &Actor::System).await.unwrap();
        let indexed = indexer.await.unwrap();
        assert!(
            indexed.is_err(),
            "the indexer's write conflicts with the erasure"
        );
        assert_eq!(
            count_words(&store).await,
            0,
            "no words outlive their message"
        );
    }
}
