//! In-process fan-out, one bounded broadcast channel per tenant.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

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
    /// The event alone, without what it is about.
    pub fn bare(event: LoggedEvent) -> Self {
        Self {
            event,
            message: None,
            chat: None,
            client: None,
        }
    }

    pub fn seq(&self) -> i64 {
        self.event.seq
    }
}

/// Told of every event before subscribers are, in log order.
type Observer = Box<dyn Fn(&LoggedEvent) + Send + Sync>;

pub struct EventBus {
    channels: Mutex<HashMap<TenantId, broadcast::Sender<Arc<HubEvent>>>>,
    observers: RwLock<Vec<Observer>>,
    /// How many events a subscriber may fall behind before it is told to resync.
    capacity: usize,
    position: AtomicI64,
}

impl EventBus {
    pub fn new(capacity: usize, position: i64) -> Self {
        Self {
            channels: Mutex::new(HashMap::new()),
            observers: RwLock::default(),
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
        for observe in self.observers.read().expect("observers lock").iter() {
            observe(&event.event);
        }
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

    /// Calls `observe` with every event from now on, whoever wrote it: how
    /// what this process keeps in memory follows changes made through any hub.
    pub fn observe(&self, observe: impl Fn(&LoggedEvent) + Send + Sync + 'static) {
        self.observers
            .write()
            .expect("observers lock")
            .push(Box::new(observe));
    }

    /// Whether anyone in this process listens to `tenant`'s events: an
    /// event nobody listens to is published without loading its subject.
    pub fn listened(&self, tenant: TenantId) -> bool {
        let channels = self.channels.lock().expect("event bus lock");
        channels
            .get(&tenant)
            .is_some_and(|tx| tx.receiver_count() > 0)
    }

    /// The last log position published.
    pub fn position(&self) -> i64 {
        self.position.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, tenant: TenantId, kind: &str) -> Arc<HubEvent> {
        Arc::new(HubEvent::bare(LoggedEvent {
            seq,
            tenant,
            id: uuid::Uuid::new_v4(),
            kind: kind.into(),
            actor: "system".into(),
            target: "tenant:x".into(),
            data: serde_json::Value::Null,
            at: chrono::Utc::now(),
        }))
    }

    #[test]
    fn a_tenant_is_listened_to_while_someone_holds_a_receiver() {
        let bus = EventBus::new(8, 0);
        let (t1, t2) = (TenantId::new(), TenantId::new());
        assert!(!bus.listened(t1));
        let rx = bus.subscribe(t1);
        assert!(bus.listened(t1));
        assert!(
            !bus.listened(t2),
            "another tenant's listener does not count"
        );
        drop(rx);
        assert!(!bus.listened(t1));
    }

    #[test]
    fn observers_see_every_tenants_events_in_order_listened_or_not() {
        let bus = EventBus::new(8, 0);
        let seen = Arc::new(Mutex::new(Vec::new()));
        bus.observe({
            let seen = seen.clone();
            move |e| seen.lock().unwrap().push(e.seq)
        });
        let (t1, t2) = (TenantId::new(), TenantId::new());
        let mut rx = bus.subscribe(t1);
        bus.publish(event(1, t1, "plugin.configured"));
        bus.publish(event(2, t2, "plugin.configured"));
        assert_eq!(*seen.lock().unwrap(), vec![1, 2]);
        assert_eq!(rx.try_recv().unwrap().seq(), 1);
        assert!(rx.try_recv().is_err(), "t2's event is not t1's");
        assert_eq!(bus.position(), 2);
    }
}
