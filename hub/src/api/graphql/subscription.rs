//! Live updates over WebSocket (`graphql-transport-ws` at `/graphql/ws`).
//!
//! Every subscription takes an optional `after` cursor: given the last
//! `cursor` a client saw, it first receives every event it missed, in
//! order, then goes live. A subscriber that falls behind is sent a `RESYNC`
//! error carrying its cursor and closed; it never slows anyone down.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::{Context, ID, SimpleObject, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast;

use super::context::{authorize, parse_id, state};
use super::types::{AuditEvent, Chat, Client, Message};
use crate::api::error::{ApiError, ApiResult};
use crate::domain::ids::ChatId;
use crate::domain::permissions::Action;
use crate::events::{HubEvent, load_page};
use crate::store::TenantStore;

/// Events loaded per page while catching up.
const CATCH_UP_PAGE: usize = 500;

#[derive(SimpleObject)]
pub struct MessageEvent {
    /// Pass as `after` when resubscribing to miss nothing.
    pub cursor: String,
    /// `message.queued`, `message.received` or `message.status_changed`.
    pub kind: String,
    pub message: Message,
}

#[derive(SimpleObject)]
pub struct ChatEvent {
    pub cursor: String,
    pub kind: String,
    /// The chat after the change: last message, unread count.
    pub chat: Chat,
}

#[derive(SimpleObject)]
pub struct ClientEvent {
    pub cursor: String,
    /// `client.created`, `client.updated`, `client.deleted`, `contact.added`, …
    pub kind: String,
    pub client: Client,
}

#[derive(SimpleObject)]
pub struct LogEvent {
    pub cursor: String,
    pub event: AuditEvent,
}

pub struct Subscription;

fn parse_cursor(after: Option<String>) -> ApiResult<Option<i64>> {
    after
        .map(|a| {
            a.trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| ApiError::validation("after", "is not a cursor this API gave out"))
        })
        .transpose()
}

/// Lets the WebSocket layer see where a subscription's feed stands, so a
/// subscriber that caught up from its cursor can move onto a feed shared
/// with others without a gap or a repeat. Put in the request's data.
pub struct FeedProbe {
    /// The last event the feed has consumed (delivered or filtered out).
    last: AtomicI64,
    /// Set while the feed waits for live events with nothing in hand.
    live: AtomicBool,
    /// A receiver subscribed before the feed starts, so nothing published
    /// between setting the feed up and its first poll is lost.
    receiver: Mutex<Option<broadcast::Receiver<Arc<HubEvent>>>>,
}

impl FeedProbe {
    /// `last` is `None` until the feed consumes an event.
    pub fn new(receiver: Option<broadcast::Receiver<Arc<HubEvent>>>) -> Self {
        Self {
            last: AtomicI64::new(i64::MIN),
            live: AtomicBool::new(false),
            receiver: Mutex::new(receiver),
        }
    }

    pub fn last(&self) -> Option<i64> {
        Some(self.last.load(Ordering::Acquire)).filter(|l| *l != i64::MIN)
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    fn consumed(&self, seq: i64) {
        self.last.store(seq, Ordering::Release);
    }

    fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Release);
    }
}

struct Feed<F> {
    rx: broadcast::Receiver<Arc<HubEvent>>,
    probe: Option<Arc<FeedProbe>>,
    store: TenantStore,
    backlog: VecDeque<HubEvent>,
    catching_up: bool,
    last: i64,
    done: bool,
    pick: F,
}

impl<F> Feed<F> {
    fn consumed(&mut self, seq: i64) {
        self.last = seq;
        if let Some(p) = &self.probe {
            p.consumed(seq);
        }
    }

    fn set_live(&self, live: bool) {
        if let Some(p) = &self.probe {
            p.set_live(live);
        }
    }
}

/// The tenant's events after `after` (or from now), mapped by `pick`.
fn feed<T, F>(
    ctx: &Context<'_>,
    store: TenantStore,
    after: Option<i64>,
    pick: F,
) -> impl Stream<Item = Result<T, ApiError>> + use<T, F>
where
    T: Send + 'static,
    F: Fn(&HubEvent) -> Option<T> + Send + Sync + 'static,
{
    let probe = ctx.data_opt::<Arc<FeedProbe>>().cloned();
    // Subscribe before catching up, so nothing falls between the two.
    let rx = probe
        .as_ref()
        .and_then(|p| p.receiver.lock().expect("probe lock").take())
        .unwrap_or_else(|| state(ctx).bus.subscribe(store.tenant_id()));
    let state = Feed {
        rx,
        probe,
        store,
        backlog: VecDeque::new(),
        catching_up: after.is_some(),
        last: after.unwrap_or(0),
        done: false,
        pick,
    };
    futures_util::stream::unfold(state, |mut s| async move {
        loop {
            if s.done {
                return None;
            }
            if let Some(ev) = s.backlog.pop_front() {
                s.consumed(ev.seq());
                if let Some(item) = (s.pick)(&ev) {
                    return Some((Ok(item), s));
                }
                continue;
            }
            if s.catching_up {
                // The database futures are boxed: held inline they would make every
                // idle subscription as large as the largest query state.
                let page = match Box::pin(s.store.events_after(s.last, CATCH_UP_PAGE)).await {
                    Ok(p) => p,
                    Err(e) => {
                        s.done = true;
                        return Some((Err(e.into()), s));
                    }
                };
                s.catching_up = page.len() == CATCH_UP_PAGE;
                let store = s.store.store();
                let wanted = vec![true; page.len()];
                match Box::pin(load_page(&store, &page, &wanted)).await {
                    Ok(events) => s.backlog.extend(events),
                    Err(e) => {
                        s.done = true;
                        return Some((Err(e.into()), s));
                    }
                }
                continue;
            }
            s.set_live(true);
            let received = s.rx.recv().await;
            s.set_live(false);
            match received {
                Ok(ev) if ev.seq() <= s.last => {}
                Ok(ev) => {
                    s.consumed(ev.seq());
                    if let Some(item) = (s.pick)(&ev) {
                        return Some((Ok(item), s));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    s.done = true;
                    let after = s.last;
                    return Some((Err(ApiError::Resync { after }), s));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

fn chat_filter(chat_id: Option<ID>) -> ApiResult<Option<ChatId>> {
    chat_id
        .map(|c| parse_id::<ChatId>("chatId", &c))
        .transpose()
}

#[Subscription]
impl Subscription {
    /// Messages written or received, in every chat or in `chatId`.
    async fn message_added(
        &self,
        ctx: &Context<'_>,
        chat_id: Option<ID>,
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<MessageEvent, ApiError>>, ApiError> {
        let (_, store) = authorize(ctx, Action::ReadChats)?;
        let chat = chat_filter(chat_id)?;
        Ok(feed(ctx, store, parse_cursor(after)?, move |ev| {
            let m = ev.message.as_ref()?;
            let kind = ev.event.kind.as_str();
            (matches!(kind, "message.queued" | "message.received")
                && chat.is_none_or(|c| c == m.chat()))
            .then(|| MessageEvent {
                cursor: ev.seq().to_string(),
                kind: kind.to_owned(),
                message: Message(m.clone()),
            })
        }))
    }

    /// Delivery progress of outbound messages (sent, delivered, read, failed).
    async fn delivery_status_changed(
        &self,
        ctx: &Context<'_>,
        chat_id: Option<ID>,
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<MessageEvent, ApiError>>, ApiError> {
        let (_, store) = authorize(ctx, Action::ReadChats)?;
        let chat = chat_filter(chat_id)?;
        Ok(feed(ctx, store, parse_cursor(after)?, move |ev| {
            let m = ev.message.as_ref()?;
            (ev.event.kind == "message.status_changed" && chat.is_none_or(|c| c == m.chat())).then(
                || MessageEvent {
                    cursor: ev.seq().to_string(),
                    kind: ev.event.kind.clone(),
                    message: Message(m.clone()),
                },
            )
        }))
    }

    /// Chats whose last message, unread count or membership changed: what the inbox list shows.
    async fn chat_updated(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<ChatEvent, ApiError>>, ApiError> {
        let (_, store) = authorize(ctx, Action::ReadChats)?;
        Ok(feed(ctx, store, parse_cursor(after)?, |ev| {
            let chat = ev.chat.as_ref()?;
            Some(ChatEvent {
                cursor: ev.seq().to_string(),
                kind: ev.event.kind.clone(),
                chat: Chat(chat.clone(), None, None),
            })
        }))
    }

    /// Clients created, changed, deleted or restored, and their contacts.
    async fn client_changed(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<ClientEvent, ApiError>>, ApiError> {
        let (_, store) = authorize(ctx, Action::ReadClients)?;
        Ok(feed(ctx, store, parse_cursor(after)?, |ev| {
            let client = ev.client.as_ref()?;
            Some(ClientEvent {
                cursor: ev.seq().to_string(),
                kind: ev.event.kind.clone(),
                client: Client(client.clone()),
            })
        }))
    }

    /// Every event of the tenant, for integrations (team leads and admins).
    async fn events(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<LogEvent, ApiError>>, ApiError> {
        let (_, store) = authorize(ctx, Action::ReadAuditLog)?;
        Ok(feed(ctx, store, parse_cursor(after)?, |ev| {
            let e = &ev.event;
            Some(LogEvent {
                cursor: e.seq.to_string(),
                event: AuditEvent {
                    id: ID(e.id.to_string()),
                    kind: e.kind.clone(),
                    actor: e.actor.clone(),
                    target: e.target.clone(),
                    data: async_graphql::Json(e.data.clone()),
                    at: e.at,
                },
            })
        }))
    }
}
