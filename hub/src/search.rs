//! The message search indexer: copies the words of each message stored into
//! the search index ([`crate::store::search`]), behind the transaction that
//! stored it, so that a send or an inbound message does not wait for the
//! full-text index. With several hub processes on one database, the one that
//! holds the lease indexes; another takes over when its lease runs out.

use std::time::Duration;

use chrono::Utc;

use crate::store::Store;
use crate::store::search::Indexed;

/// Events read per transaction.
const PAGE: usize = 500;

/// Messages stored before search was written behind, indexed per
/// transaction.
const STORED_PAGE: usize = 5_000;

/// How long after a local commit the indexer waits for more to index with
/// it: the full-text index costs less per message in larger transactions.
const GATHER: Duration = Duration::from_millis(50);

/// How long after its last renewal another hub (or this one, restarted
/// after a crash) may take the indexer over.
const LEASE: Duration = Duration::from_secs(10);

/// How often a hub without the lease tries to take it. The holder renews
/// at half the lease, so a lapsed lease is found within a quarter of it,
/// and the hubs that wait write to the cursor record this seldom.
const CLAIM_EVERY: Duration = Duration::from_millis(2_500);

/// This hub's hold on the indexer.
#[derive(Default)]
struct Lease {
    /// Until when this hub holds it.
    held_until: Option<chrono::DateTime<Utc>>,
    /// When a hub that does not hold it tries again.
    next_claim: Option<chrono::DateTime<Utc>>,
}

/// Starts the indexer. While it keeps up it writes at most one page per
/// `pace` (`search.pace_ms`), and looks for messages stored through other
/// hub processes this often (its own hub's commits wake it at once).
/// SurrealDB compacts a full-text index after the transactions that write
/// it, a pass at most every 250 ms, and a pass rewrites whole the document
/// set of each term it touches, which grows with the index: on a database
/// of a million messages, a page every 50 ms gave sendMessage a p99 of
/// 77–88 ms, a page a second 20–23 ms, one every three seconds 16.5–18.1
/// (none while it was measured, 14.6). A message stored when none was
/// indexed in the last `pace` is still found within about 50 ms; under a
/// steady stream, within about `pace`.
pub fn spawn(store: Store, pace: Duration) -> tokio::task::JoinHandle<()> {
    let owner = format!("search-{}", uuid::Uuid::now_v7());
    tokio::spawn(async move {
        let mut commits = store.commits().watch();
        let mut lease = Lease::default();
        // Since when, and how many, messages stored before search was
        // written behind were indexed by this hub.
        let mut backfill: Option<(std::time::Instant, usize)> = None;
        loop {
            let started = std::time::Instant::now();
            // Only a round that wrote words makes SurrealDB compact the
            // index; one that only moved the cursor past other events does
            // not hold back the next.
            let result = round(&store, &owner, &mut lease).await;
            let wrote = matches!(&result, Ok(Some(done)) if done.messages > 0);
            match result {
                Ok(Some(done)) => {
                    if done.backfilling || backfill.is_some() {
                        let (since, n) = backfill.get_or_insert_with(|| {
                            tracing::info!(
                                "indexing the messages stored before search was written behind"
                            );
                            (started, 0)
                        });
                        let before = *n;
                        *n += done.messages;
                        if *n / 50_000 > before / 50_000 {
                            tracing::info!(
                                messages = *n,
                                secs = since.elapsed().as_secs(),
                                "indexing stored messages for search"
                            );
                        }
                        if !done.backfilling {
                            tracing::info!(
                                messages = *n,
                                secs = since.elapsed().as_secs(),
                                "every stored message is indexed for search"
                            );
                            backfill = None;
                        }
                    }
                    if done.events == PAGE {
                        continue;
                    }
                    // Old messages are indexed at half speed at most,
                    // leaving the other half of the time to the requests.
                    if done.backfilling {
                        tokio::time::sleep(started.elapsed()).await;
                        continue;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    lease = Lease::default();
                    tracing::warn!(error = %e, "message search indexing failed; retrying")
                }
            }
            tokio::select! {
                _ = commits.changed() => tokio::time::sleep(GATHER).await,
                () = tokio::time::sleep(pace) => {}
            }
            if wrote {
                tokio::time::sleep_until((started + pace).into()).await;
            }
        }
    })
}

/// Takes or renews the lease when half of it has run (or, without it,
/// every [`CLAIM_EVERY`]), then indexes one page; answers what it did, or
/// nothing while another hub holds the lease.
async fn round(
    store: &Store,
    owner: &str,
    lease: &mut Lease,
) -> crate::store::StoreResult<Option<Indexed>> {
    let now = Utc::now();
    let term = chrono::Duration::from_std(LEASE).expect("a short lease");
    let due = match lease.held_until {
        Some(until) => until - term / 2 < now,
        None => lease.next_claim.is_none_or(|at| at <= now),
    };
    if due {
        let until = now + term;
        lease.held_until = store
            .claim_search_lease(owner, now, until)
            .await?
            .then_some(until);
        lease.next_claim =
            Some(now + chrono::Duration::from_std(CLAIM_EVERY).expect("a short wait"));
    }
    if lease.held_until.is_none() {
        return Ok(None);
    }
    let done = store.index_messages_paged(owner, PAGE, STORED_PAGE).await?;
    if done.messages > 0 {
        tracing::debug!(
            events = done.events,
            messages = done.messages,
            "messages indexed for search"
        );
    }
    Ok(Some(done))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema_tests::{client, receive_sms, store, tenant};

    /// How long until `text` is found, polling every 20 ms for up to 10 s.
    async fn found_after(ts: &crate::store::TenantStore, text: &str) -> Duration {
        let started = std::time::Instant::now();
        while ts.search_messages(text, 1).await.unwrap().is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "`{text}` never found"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        started.elapsed()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_message_after_other_writes_is_found_at_once_and_the_next_within_the_pace() {
        let (_dir, store) = store().await;
        let acme = store.tenant(tenant(&store, "acme").await);
        let indexer = spawn(store.clone(), Duration::from_secs(2));
        // Writes that store no message (a client, a chat): the indexer moves
        // its cursor past their events without writing any words.
        let ann = client(&acme, "Ann").await;
        acme.open_chat(ann, None, &crate::domain::events::Actor::System)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        receive_sms(&acme, ann, "first words").await.unwrap();
        let first = found_after(&acme, "first").await;
        assert!(
            first < Duration::from_millis(1_000),
            "the first message was found after {first:?}"
        );
        // A page of words was written: the next waits for the pace.
        receive_sms(&acme, ann, "second words").await.unwrap();
        let second = found_after(&acme, "second").await;
        assert!(
            second > Duration::from_millis(1_200),
            "the second message was found after {second:?}, before the 2 s pace"
        );
        indexer.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_a_steady_stream_the_index_is_written_once_per_pace() {
        let (_dir, store) = store().await;
        let acme = store.tenant(tenant(&store, "acme").await);
        let ann = client(&acme, "Ann").await;
        let pace = Duration::from_millis(400);
        let indexer = spawn(store.clone(), pace);
        // A message every 20 ms for 2 s; the cursor read every 10 ms.
        let started = std::time::Instant::now();
        let mut positions = std::collections::BTreeSet::new();
        let mut n = 0;
        while started.elapsed() < Duration::from_secs(2) {
            receive_sms(&acme, ann, &format!("steady {n}"))
                .await
                .unwrap();
            n += 1;
            for _ in 0..2 {
                positions.insert(store.search_cursor().await.unwrap());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        indexer.abort();
        // The first page is written 50 ms after the first message; then
        // one per pace: six in 2 s at most. Woken by every commit instead
        // it would write one per message, as many as there were.
        let pages = positions.len() - 1;
        assert!(
            (2..=6).contains(&pages),
            "{pages} pages written for {n} messages in 2 s at a 400 ms pace"
        );
        assert!(n > 20, "only {n} messages were stored");
        assert!(
            !acme
                .search_messages("steady", 100)
                .await
                .unwrap()
                .is_empty(),
            "the paced pages were written"
        );
    }

    #[tokio::test]
    async fn a_hub_without_the_lease_tries_to_take_it_every_claim_every() {
        let (_dir, store) = store().await;
        let (mut a, mut b) = (Lease::default(), Lease::default());
        assert!(round(&store, "a", &mut a).await.unwrap().is_some());
        let before = Utc::now();
        assert!(round(&store, "b", &mut b).await.unwrap().is_none());
        let wait = b.next_claim.expect("a next try") - before;
        assert!(
            wait > chrono::Duration::seconds(2) && wait <= chrono::Duration::milliseconds(2_600),
            "b tries again in {wait}"
        );

        // A's lease runs out (its hub stopped).
        store
            .db()
            .query("UPDATE search_cursor:messages SET lease_until = time::now() - 1s")
            .await
            .unwrap()
            .check()
            .unwrap();
        assert!(
            round(&store, "b", &mut b).await.unwrap().is_none(),
            "b waits for its next try"
        );
        b.next_claim = Some(Utc::now());
        assert!(
            round(&store, "b", &mut b).await.unwrap().is_some(),
            "b takes the lease over at its next try"
        );
        assert!(b.held_until.is_some());
        // A, renewing at half its lease, finds it gone.
        a.held_until = Some(Utc::now());
        assert!(round(&store, "a", &mut a).await.unwrap().is_none());
    }
}
