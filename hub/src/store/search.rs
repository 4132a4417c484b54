//! Message search, written behind the message: `message_text` holds each
//! message's words under the message's own key, with the full-text index.
//!
//! Sends and inbound messages do not write it: the indexer
//! ([`crate::search`]) reads the event log after its cursor and copies the
//! texts of the messages it names, one transaction per page, so a message is
//! found a moment after it is stored. One hub process at a time holds the
//! indexer's lease. A bulk import writes its messages' words itself, and
//! the messages stored before the words were written behind are indexed by
//! the indexer a page at a time.

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, SurrealValue};

use super::error::StoreResult;
use super::events::{EVENTS_AFTER, EventRow, LoggedEvent};
use super::messages::MessageRow;
use super::records::{rid, uuid_part, uuid_value};
use super::{Batch, Store, TenantStore};
use crate::domain::ids::{ChatId, MessageId};
use crate::domain::message::Message;

/// The one cursor record of the indexer.
const CURSOR: &str = "search_cursor:messages";

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
                "LET $found = (SELECT id, tenant, text FROM $messages)",
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
                &format!("LET $found = (SELECT id, tenant, text FROM {from} LIMIT $limit)"),
                "backfill_after = array::last($found).id ?? backfill_after, backfilled = array::len($found) < $limit
                   WHERE backfill_after = $after",
                // With the last of them, search moves over; the message's
                // own index goes.
                "IF array::len($found) < $limit { REMOVE INDEX IF EXISTS message_text_search ON message }",
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
    /// message's text never changes).
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
                 INSERT IGNORE INTO message_text $found.map(|$m| {{ id: type::record('message_text', record::id($m.id)), tenant: $m.tenant, text: $m.text }}) RETURN NONE;
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
    /// Messages whose text contains all of `query`'s words, best first.
    /// Until the messages stored before search was written behind are all
    /// indexed, the message's own index answers (it holds them all).
    pub async fn search_messages(&self, query: &str, limit: usize) -> StoreResult<Vec<Message>> {
        let rows: Vec<MessageRow> = self
            .db()
            .query(format!(
                "IF (SELECT VALUE backfilled FROM ONLY {CURSOR}) ?? true {{
                     LET $hits = (SELECT id, search::score(1) AS score FROM message_text WHERE text @1@ $q AND tenant = $tenant ORDER BY score DESC LIMIT $limit);
                     SELECT * FROM $hits.map(|$h| type::record('message', record::id($h.id)));
                 }} ELSE {{
                     SELECT *, search::score(1) AS score FROM message WHERE text @1@ $q AND tenant = $tenant ORDER BY score DESC LIMIT $limit;
                 }}"
            ))
            .bind(("tenant", self.tenant.uuid()))
            .bind(("q", query.to_owned()))
            .bind(("limit", limit as i64))
            .await?
            .take(0)?;
        rows.into_iter().map(MessageRow::into_domain).collect()
    }

    /// Writes `m`'s words with it, for writers that do not go through the
    /// event log (a bulk import).
    pub(super) fn push_message_words(&self, b: &mut Batch, m: &Message) {
        let id = b.bind(self.message_text_rid(m.chat(), m.id()));
        let text = b.bind(m.text().to_owned());
        b.push(format!(
            "CREATE {id} CONTENT {{ tenant: $tenant, text: {text} }} RETURN NONE"
        ));
    }

    fn message_text_rid(&self, chat: ChatId, id: MessageId) -> RecordId {
        rid(
            "message_text",
            [
                uuid_value(self.tenant.uuid()),
                uuid_value(chat.uuid()),
                uuid_value(id.uuid()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::events::Actor;
    use crate::store::schema_tests::{client, receive_sms, store, tenant};

    async fn count_words(store: &Store) -> i64 {
        let n: Option<i64> = store
            .db()
            .query("array::len((SELECT VALUE id FROM message_text))")
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
                "REMOVE EVENT message_text_follows ON message; REMOVE TABLE message_text; REMOVE TABLE search_cursor;
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
                    .query(
                        "BEGIN TRANSACTION;
                         LET $found = (SELECT id, tenant, text FROM $messages);
                         sleep(400ms);
                         INSERT IGNORE INTO message_text $found.map(|$m| { id: type::record('message_text', record::id($m.id)), tenant: $m.tenant, text: $m.text }) RETURN NONE;
                         COMMIT TRANSACTION;",
                    )
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
