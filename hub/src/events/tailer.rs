//! Reads the persisted event log in order and publishes it.

use std::sync::Arc;
use std::time::Duration;

use super::{EventBus, HubEvent, enrich};
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
        let commits = store.commits();
        let mut cursor = bus.position();
        loop {
            match store.events_after(cursor, PAGE).await {
                Ok(events) => {
                    let full = events.len() == PAGE;
                    for event in events {
                        let seq = event.seq;
                        let hub_event = loaded(&store, &bus, event).await;
                        bus.publish(Arc::new(hub_event));
                        cursor = seq;
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

/// The event with what it is about, loaded only when someone in this process
/// listens to its tenant: the event committed before any later subscriber
/// subscribed, so it is not theirs to receive.
async fn loaded(store: &Store, bus: &EventBus, event: LoggedEvent) -> HubEvent {
    if !bus.listened(event.tenant) {
        return HubEvent::bare(event);
    }
    let seq = event.seq;
    enrich(store, event.clone()).await.unwrap_or_else(|e| {
        // Still published, so cursors move on; only the loaded subject is missing.
        tracing::error!(seq, error = %e, "cannot load an event's subject");
        HubEvent::bare(event)
    })
}
