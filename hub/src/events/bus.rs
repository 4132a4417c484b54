//! In-process fan-out, one bounded broadcast channel per tenant.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::domain::ids::TenantId;
use crate::domain::message::Message;
use crate::store::chats::ChatView;
use crate::store::clients::ClientView;
use crate::store::events::LoggedEvent;

/// A committed event with what it is about, loaded once for every subscriber.
#[derive(Debug, Clone)]
pub struct HubEvent {
    pub event: LoggedEvent,
    pub message: Option<Message>,
    /// The chat as it is after the event (unread count, last message).
    pub chat: Option<ChatView>,
    pub client: Option<ClientView>,
}

impl HubEvent {
    pub fn seq(&self) -> i64 {
        self.event.seq
    }
}

pub struct EventBus {
    channels: Mutex<HashMap<TenantId, broadcast::Sender<Arc<HubEvent>>>>,
    /// How many events a subscriber may fall behind before it is told to resync.
    capacity: usize,
    position: AtomicI64,
}

impl EventBus {
    pub fn new(capacity: usize, position: i64) -> Self {
        Self {
            channels: Mutex::new(HashMap::new()),
            capacity,
            position: AtomicI64::new(position),
        }
    }

    pub fn subscribe(&self, tenant: TenantId) -> broadcast::Receiver<Arc<HubEvent>> {
        let mut channels = self.channels.lock().expect("event bus lock");
        channels
            .entry(tenant)
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .subscribe()
    }

    /// Never waits: a subscriber that falls `capacity` events behind loses
    /// its place (and is told so) instead of slowing anyone down.
    pub fn publish(&self, event: Arc<HubEvent>) {
        self.position.store(event.seq(), Ordering::Release);
        let tenant = event.event.tenant;
        let mut channels = self.channels.lock().expect("event bus lock");
        if let Some(tx) = channels.get(&tenant)
            && tx.send(event).is_err()
        {
            // Nobody listens to this tenant any more.
            channels.remove(&tenant);
        }
    }

    /// The last log position published.
    pub fn position(&self) -> i64 {
        self.position.load(Ordering::Acquire)
    }
}
