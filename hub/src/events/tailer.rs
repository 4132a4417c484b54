//! Reads the persisted event log in order and publishes it.

use std::sync::Arc;
use std::time::Duration;

use super::EventBus;
use super::enrich::enrich_page;
use crate::store::Store;

/// Events read per round trip.
const PAGE: usize = 500;

/// Starts the tailer at the log's current end. `poll` bounds how late events
/// written by other hub processes are seen; this process's own commits wake
/// it at once.
pub fn spawn_tailer(
    store: Store,
    bus: Arc<EventBus>,
    poll: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let commits = store.commits();
        let mut cursor = bus.position();
        loop {
            match store.events_after(cursor, PAGE).await {
                Ok(events) => {
                    let full = events.len() == PAGE;
                    let page = enrich_page(&store, events, |e| bus.listened(e.tenant)).await;
                    for hub_event in page {
                        cursor = hub_event.seq();
                        bus.publish(Arc::new(hub_event));
                    }
                    if full {
                        continue;
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot read the event log; retrying"),
            }
            tokio::select! {
                () = commits.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    })
}
