//! Reads the persisted event log in order and publishes it.

use std::sync::Arc;
use std::time::Duration;

use super::EventBus;
use super::HubEvent;
use super::enrich::{enrich, load_page};
use crate::store::Store;
use crate::store::events::LoggedEvent;

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
        let mut commits = store.commits().watch();
        let mut cursor = bus.position();
        loop {
            match store.events_after(cursor, PAGE).await {
                Ok(events) => {
                    let full = events.len() == PAGE;
                    let page = loaded(&store, &bus, &events).await;
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
                _ = commits.changed() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    })
}

/// The page with what its events are about, loaded only for tenants someone
/// in this process listens to: an event committed before any later
/// subscriber subscribed is not theirs to receive. Decided once per event,
/// so that an event published as wanted has been loaded. Every event is
/// returned, bare when its subject cannot be read, so cursors move on.
async fn loaded(store: &Store, bus: &EventBus, events: &[LoggedEvent]) -> Vec<HubEvent> {
    let wanted: Vec<bool> = events.iter().map(|e| bus.listened(e.tenant)).collect();
    match load_page(store, events, &wanted).await {
        Ok(page) => return page,
        Err(e) => {
            tracing::warn!(error = %e, "cannot load a page of events at once; loading them one by one")
        }
    }
    let mut page = Vec::with_capacity(events.len());
    for (event, wanted) in events.iter().zip(wanted) {
        let bare = || HubEvent::bare(event.clone());
        page.push(if wanted {
            enrich(store, event.clone()).await.unwrap_or_else(|e| {
                tracing::error!(seq = event.seq, error = %e, "cannot load an event's subject");
                bare()
            })
        } else {
            bare()
        });
    }
    page
}
