//! One execution per distinct subscription, its serialised results fanned
//! out to every subscriber that asked the same thing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::{Request, Variables};
use futures_util::StreamExt;
use tokio::sync::broadcast;

use super::plan::FeedKey;
use crate::api::auth::Caller;
use crate::api::graphql::{FeedProbe, HubSchema};
use crate::auth::Principal;
use crate::events::EventBus;

/// A result of a shared subscription, serialised once.
#[derive(Debug)]
pub struct SharedFrame {
    /// The event it came from; `None` for an answer not tied to one (an
    /// error before the first event).
    pub seq: Option<i64>,
    /// The GraphQL response, `{"data":…}` or `{"errors":…}`.
    pub payload: Box<str>,
}

pub struct SharedFeeds {
    schema: HubSchema,
    bus: Arc<EventBus>,
    /// How many frames a subscriber may fall behind before it must resync.
    capacity: usize,
    feeds: Mutex<HashMap<FeedKey, broadcast::Sender<Arc<SharedFrame>>>>,
}

impl SharedFeeds {
    pub fn new(schema: HubSchema, bus: Arc<EventBus>, capacity: usize) -> Self {
        Self {
            schema,
            bus,
            capacity,
            feeds: Mutex::new(HashMap::new()),
        }
    }

    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// Joins the feed for `key`, starting it (as `principal`, with
    /// `variables`) if nobody runs it yet. The receiver sees every frame of
    /// every event published after this call.
    pub fn join(
        self: &Arc<Self>,
        key: FeedKey,
        principal: &Principal,
        variables: serde_json::Value,
    ) -> broadcast::Receiver<Arc<SharedFrame>> {
        let mut feeds = self.feeds.lock().expect("feeds lock");
        if let Some(tx) = feeds.get(&key) {
            return tx.subscribe();
        }
        let (tx, rx) = broadcast::channel(self.capacity);
        // Subscribed now, under the lock: everything published from here on
        // reaches the execution, so no joiner can fall between the two.
        let probe = Arc::new(FeedProbe::new(Some(self.bus.subscribe(key.tenant))));
        let mut request = Request::new(key.query.clone())
            .variables(Variables::from_json(variables))
            .data(Caller::Authenticated(principal.clone()))
            .data(probe.clone());
        if let Some(name) = &key.operation_name {
            request = request.operation_name(name.clone());
        }
        let results = self.schema.execute_stream(request);
        feeds.insert(key.clone(), tx.clone());
        drop(feeds);
        tokio::spawn(self.clone().run(key, results, probe, tx));
        rx
    }

    async fn run(
        self: Arc<Self>,
        key: FeedKey,
        mut results: futures_util::stream::BoxStream<'static, async_graphql::Response>,
        probe: Arc<FeedProbe>,
        tx: broadcast::Sender<Arc<SharedFrame>>,
    ) {
        loop {
            tokio::select! {
                biased;
                () = tx.closed() => {
                    // False when someone joined meanwhile: keep going.
                    if self.retire(&key, &tx) {
                        return;
                    }
                }
                result = results.next() => match result {
                    Some(r) => self.publish(&tx, &probe, &r),
                    None => break,
                },
            }
        }
        self.retire_ended(&key, &tx);
    }

    fn publish(
        &self,
        tx: &broadcast::Sender<Arc<SharedFrame>>,
        probe: &FeedProbe,
        response: &async_graphql::Response,
    ) {
        let payload = super::operation::payload_json(response);
        // Err means nobody listens any more; `run` notices and retires.
        let _ = tx.send(Arc::new(SharedFrame {
            seq: probe.last(),
            payload: payload.into(),
        }));
    }

    /// Removes the feed if nobody listens; false if someone joined since.
    fn retire(&self, key: &FeedKey, tx: &broadcast::Sender<Arc<SharedFrame>>) -> bool {
        let mut feeds = self.feeds.lock().expect("feeds lock");
        if tx.receiver_count() > 0 {
            return false;
        }
        remove_if_same(&mut feeds, key, tx);
        true
    }

    /// The execution ended (an error, or the bus closed): later joiners start afresh.
    fn retire_ended(&self, key: &FeedKey, tx: &broadcast::Sender<Arc<SharedFrame>>) {
        remove_if_same(&mut self.feeds.lock().expect("feeds lock"), key, tx);
    }
}

/// A newer feed may already run under the same key; only this one is removed.
fn remove_if_same(
    feeds: &mut HashMap<FeedKey, broadcast::Sender<Arc<SharedFrame>>>,
    key: &FeedKey,
    tx: &broadcast::Sender<Arc<SharedFrame>>,
) {
    if feeds.get(key).is_some_and(|t| t.same_channel(tx)) {
        feeds.remove(key);
    }
}
