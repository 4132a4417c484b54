//! Reads the persisted event log in order and publishes it.

use std::sync::Arc;
use std::time::Duration;

use super::{EventBus, HubEvent, enrich};
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
                    for event in events {
                        let seq = event.seq;
                        // Nobody here listens to this tenant: its subject is not
                        // loaded. The event committed before any later subscriber
                        // subscribed, so it is not theirs to receive.
                        let hub_event = if !bus.listened(event.tenant) {
                            HubEvent::bare(event)
                        } else {
                            match enrich(&store, event.clone()).await {
                                Ok(h) => h,
                                Err(e) => {
                                    // Still published, so cursors move on; only the loaded subject is missing.
                                    tracing::error!(seq, error = %e, "cannot load an event's subject");
                                    HubEvent::bare(event)
                                }
                            }
                        };
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
