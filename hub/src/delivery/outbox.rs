//! The outbox worker: hands queued messages to their plugin, records what
//! the provider said, and retries what can be retried.
//!
//! A job is claimed with a lease, so several hub processes on one database
//! never work on the same job at once. A process that dies mid-send leaves
//! its lease to expire and the job is sent again: the provider may then see
//! the message twice, with the same idempotency key (the message id).
//!
//! A message sent through this process while its worker has room is stored
//! with its job already leased to the worker and handed to it directly:
//! claiming it would be one more write to the database per message, and
//! the write most likely to hold up the next request. Should the process
//! stop first, the lease runs out and any hub claims the job.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, Semaphore, mpsc};

use super::transports::Transports;
use super::website;
use crate::config::DeliveryConfig;
use crate::domain::message::{DeliveryStatus, Direction, Message, Transport};
use crate::plugins::convert::{channel_of, status_of};
use crate::plugins::types::{OutboundMessage, SendError};
use crate::store::delivery::OutboxJob;
use crate::store::{Store, StoreError, TenantStore};

/// How a request that queued a message reaches this process's worker.
#[derive(Clone)]
pub struct OutboxSignal {
    wake: Arc<Notify>,
    handoff: mpsc::Sender<OutboxJob>,
    owner: Arc<str>,
    lease: chrono::Duration,
}

impl OutboxSignal {
    /// Wakes the worker to claim what was queued, so it does not wait for
    /// its poll.
    pub fn queued(&self) {
        self.wake.notify_one();
    }

    /// Room in the worker for one more job, when it has some: store the job
    /// leased to [`Handoff::owner`] until [`Handoff::until`], then hand it
    /// over. Dropped unused, the room is given back.
    pub fn reserve(&self) -> Option<Handoff<'_>> {
        let permit = self.handoff.try_reserve().ok()?;
        Some(Handoff {
            permit,
            owner: &self.owner,
            until: Utc::now() + self.lease,
        })
    }
}

/// Room in the worker for a job being stored (see [`OutboxSignal::reserve`]).
pub struct Handoff<'a> {
    permit: mpsc::Permit<'a, OutboxJob>,
    pub owner: &'a str,
    pub until: DateTime<Utc>,
}

impl Handoff<'_> {
    /// Gives the stored job to the worker.
    pub fn deliver(self, job: OutboxJob) {
        self.permit.send(job);
    }
}

pub struct OutboxWorker {
    store: Store,
    transports: Transports,
    config: DeliveryConfig,
    public_url: Option<String>,
    signal: OutboxSignal,
    /// Taken by [`Self::spawn`].
    handed: Option<mpsc::Receiver<OutboxJob>>,
    /// One permit per delivery in flight, claimed or handed over: at most
    /// `delivery.concurrency`, which is also how many messages a hub that
    /// stops mid-send may have sent without recording it.
    room: Arc<Semaphore>,
}

/// What to do with a job after an attempt.
enum Next {
    Retry {
        reason: String,
        after_ms: Option<u64>,
    },
    Fail(String),
}

impl Next {
    /// A retry on the worker's own schedule.
    fn retry(reason: impl Into<String>) -> Option<Self> {
        Some(Next::Retry {
            reason: reason.into(),
            after_ms: None,
        })
    }
}

impl OutboxWorker {
    pub fn new(
        store: Store,
        transports: Transports,
        config: DeliveryConfig,
        public_url: Option<String>,
    ) -> Self {
        let (handoff, handed) = mpsc::channel(config.concurrency.max(1));
        let signal = OutboxSignal {
            wake: Arc::default(),
            handoff,
            // The name the worker's leases are taken in.
            owner: format!("hub-{}", uuid::Uuid::now_v7()).into(),
            lease: chrono::Duration::seconds(config.lease_secs as i64),
        };
        let room = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Self {
            store,
            transports,
            config,
            public_url,
            signal,
            handed: Some(handed),
            room,
        }
    }

    /// What requests that queue messages hold to reach this worker.
    pub fn signal(&self) -> OutboxSignal {
        self.signal.clone()
    }

    pub fn spawn(mut self) -> tokio::task::JoinHandle<()> {
        let handed = self.handed.take();
        let worker = Arc::new(self);
        if let Some(handed) = handed {
            tokio::spawn(worker.clone().deliver_handed(handed));
        }
        tokio::spawn(async move { worker.run().await })
    }

    /// Delivers the jobs handed over by requests; while every delivery slot
    /// is busy the channel fills and requests store their jobs for claiming
    /// instead.
    async fn deliver_handed(self: Arc<Self>, mut handed: mpsc::Receiver<OutboxJob>) {
        while let Some(job) = handed.recv().await {
            self.clone().start(job).await;
        }
    }

    /// Starts delivering `job` once a delivery slot is free.
    async fn start(self: Arc<Self>, job: OutboxJob) {
        let Ok(slot) = self.room.clone().acquire_owned().await else {
            return;
        };
        tokio::spawn(async move {
            self.deliver(job).await;
            drop(slot);
        });
    }

    async fn run(self: Arc<Self>) {
        let poll = Duration::from_millis(self.config.poll_ms);
        let lease = chrono::Duration::seconds(self.config.lease_secs as i64);
        loop {
            let free = self.room.available_permits();
            if free == 0 {
                // Claim only what can be delivered at once: wait for a slot.
                if self.room.acquire().await.is_err() {
                    return;
                }
                continue;
            }
            let now = Utc::now();
            match self
                .store
                .claim_outbox(&self.signal.owner, now, now + lease, free)
                .await
            {
                Ok(jobs) if !jobs.is_empty() => {
                    for job in jobs {
                        self.clone().start(job).await;
                    }
                    continue;
                }
                Ok(_) => {}
                // Another hub process claimed at the same moment.
                Err(e) if e.is_write_conflict() => {
                    tracing::debug!("outbox claim conflicted; retrying");
                    continue;
                }
                Err(e) => tracing::error!("cannot read the outbox: {e}"),
            }
            tokio::select! {
                () = self.signal.wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    async fn deliver(&self, job: OutboxJob) {
        let store = self.store.tenant(job.tenant_id());
        let (plugin, next) = self.attempt(&store, &job).await;
        let plugin = plugin.as_deref();
        let result = match next {
            None => Ok(()),
            Some(Next::Fail(reason)) => {
                tracing::warn!(message = %job.message_id(), "delivery failed: {reason}");
                store.record_failed(&job, plugin, &reason).await
            }
            Some(Next::Retry { reason, after_ms }) => {
                let attempts = job.attempts as u32 + 1;
                if attempts >= self.config.max_attempts {
                    let reason = format!("{reason} (gave up after {attempts} attempts)");
                    tracing::warn!(message = %job.message_id(), "delivery failed: {reason}");
                    store.record_failed(&job, plugin, &reason).await
                } else {
                    let delay = backoff(&self.config, attempts, after_ms);
                    tracing::info!(message = %job.message_id(), attempt = attempts, retry_in_ms = delay.as_millis() as u64, "delivery will be retried: {reason}");
                    let at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                    store.reschedule(&job, plugin, at, &reason).await
                }
            }
        };
        if let Err(e) = result {
            // The lease runs out and the job is tried again.
            tracing::error!(message = %job.message_id(), "cannot record a delivery attempt: {e}");
        }
    }

    /// One attempt; `None` when the outcome is already recorded.
    async fn attempt(
        &self,
        store: &TenantStore,
        job: &OutboxJob,
    ) -> (Option<String>, Option<Next>) {
        let message = match store.message(job.chat_id(), job.message_id()).await {
            Ok(m) => m,
            Err(StoreError::NotFound { .. }) => {
                return (
                    None,
                    Some(Next::Fail("the message no longer exists".into())),
                );
            }
            Err(e) => {
                return (None, Next::retry(format!("database: {e}")));
            }
        };
        let transport: Transport = match job.transport.parse() {
            Ok(t) => t,
            Err(_) => {
                return (
                    None,
                    Some(Next::Fail(format!("unknown transport `{}`", job.transport))),
                );
            }
        };
        let Some(channel) = channel_of(transport) else {
            return (
                None,
                Some(Next::Fail(format!("{transport} cannot carry messages"))),
            );
        };
        let route = match self.transports.route(job.tenant_id(), transport).await {
            Ok(Some(r)) => r,
            // The hub's own widget carries website messages unless a plugin
            // was set up to: the visitor fetches them from the hub.
            Ok(None) if transport == Transport::Website => {
                let recorded = store
                    .record_sent(
                        job,
                        website::SOURCE,
                        &message.id().to_string(),
                        DeliveryStatus::Sent,
                    )
                    .await;
                return match recorded {
                    Ok(()) => (Some(website::SOURCE.to_owned()), None),
                    Err(e) => (None, Next::retry(format!("database: {e}"))),
                };
            }
            Ok(None) => {
                return (
                    None,
                    Next::retry(format!(
                        "no plugin is configured to send {transport} messages"
                    )),
                );
            }
            Err(e) => {
                return (None, Next::retry(format!("database: {e}")));
            }
        };
        let plugin_name = route.plugin.name().to_owned();
        let (last_inbound_ms, thread) = match conversation(store, &message).await {
            Ok(c) => c,
            Err(e) => return (None, Next::retry(format!("database: {e}"))),
        };
        let outbound = OutboundMessage {
            idempotency_key: message.id().to_string(),
            channel,
            recipient: job.recipient.clone(),
            text: message.text().to_owned(),
            attachments: Vec::new(),
            status_callback_url: self.public_url.as_ref().map(|base| {
                format!(
                    "{}/webhooks/{plugin_name}/{}",
                    base.trim_end_matches('/'),
                    job.tenant_id()
                )
            }),
            last_inbound_ms,
            thread,
        };
        let tenant = job.tenant_id().to_string();
        let outcome = route.plugin.send(&tenant, &route.settings, &outbound).await;
        let next = match outcome {
            Ok(Ok(sent)) => {
                let status = status_of(sent.state, None);
                if let Err(e) = store
                    .record_sent(job, &plugin_name, &sent.provider_message_id, status)
                    .await
                {
                    tracing::error!(message = %job.message_id(), "sent, but cannot record it: {e}");
                }
                None
            }
            Ok(Err(SendError::Retryable(h))) => Some(Next::Retry {
                reason: h.reason,
                after_ms: h.after_ms,
            }),
            Ok(Err(SendError::RateLimited(h))) => Some(Next::Retry {
                reason: format!("rate limited: {}", h.reason),
                after_ms: h.after_ms,
            }),
            Ok(Err(SendError::Permanent(r))) => Some(Next::Fail(r)),
            Ok(Err(SendError::OptedOut(r))) => {
                super::opt_out::record(store, transport, &job.recipient, &plugin_name).await;
                Some(Next::Fail(format!("the recipient opted out: {r}")))
            }
            Ok(Err(SendError::Unauthorized(r))) => {
                tracing::error!(plugin = %plugin_name, tenant = %tenant, "the provider refused the plugin's credentials: {r}");
                Next::retry(format!("unauthorized: {r}"))
            }
            Err(e) => Next::retry(e.to_string()),
        };
        (Some(plugin_name), next)
    }
}

/// Exponential backoff with equal jitter, never sooner than the provider asked.
fn backoff(config: &DeliveryConfig, attempt: u32, after_ms: Option<u64>) -> Duration {
    let base = config
        .backoff_ms
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(30))
        .min(config.max_backoff_ms);
    let jittered = base / 2 + rand::random_range(0..=base / 2);
    let asked = after_ms.unwrap_or(0).min(24 * 3600 * 1000);
    Duration::from_millis(jittered.max(asked))
}

/// How many earlier messages a send looks back on for its context.
const CONTEXT_LOOKBACK: usize = 50;
/// How many provider ids a send carries for threading.
const THREAD_IDS: usize = 20;

/// What the conversation says about `message` on its channel: when the
/// customer last wrote (messaging windows) and the provider ids of the
/// earlier messages, oldest first (e-mail threading).
async fn conversation(
    store: &TenantStore,
    message: &Message,
) -> Result<(Option<u64>, Vec<String>), StoreError> {
    let earlier = store
        .messages_page(message.chat(), Some(message.id()), CONTEXT_LOOKBACK)
        .await?;
    let same_channel = || {
        earlier
            .iter()
            .filter(|m| m.transport() == message.transport())
    };
    let last_inbound_ms = same_channel()
        .find(|m| m.direction() == Direction::Inbound)
        .and_then(|m| u64::try_from(m.created_at().timestamp_millis()).ok());
    let mut thread: Vec<String> = same_channel()
        .filter_map(|m| m.provider_message_id.clone())
        .take(THREAD_IDS)
        .collect();
    thread.reverse();
    Ok((last_inbound_ms, thread))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_ceiling() {
        let c = DeliveryConfig::default();
        for attempt in 1..=20 {
            let full = (1000u64 << (attempt - 1).min(30)).min(c.max_backoff_ms);
            for _ in 0..50 {
                let d = backoff(&c, attempt, None).as_millis() as u64;
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d} ms");
            }
        }
    }

    #[test]
    fn backoff_honours_the_providers_retry_after() {
        let c = DeliveryConfig::default();
        assert!(backoff(&c, 1, Some(30_000)) >= Duration::from_secs(30));
        // A silly retry-after is capped at a day.
        assert_eq!(
            backoff(&c, 1, Some(u64::MAX)),
            Duration::from_secs(24 * 3600)
        );
    }
}
