//! Pollers for plugins whose manifest says `poll = true` (Telegram's
//! `getUpdates`, say): one task per plugin and tenant, the cursor stored
//! after what it covered, so a restart neither skips nor (thanks to inbound
//! deduplication) doubles a message.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::inbound::{Intake, store_results};
use super::transports::Transports;
use crate::domain::ids::TenantId;
use crate::plugins::types::SendError;
use crate::store::{Store, TenantStore};
use chrono::Utc;

/// Starts polling every polled plugin for every tenant it serves. With
/// several hub processes on one database, each pair is polled by the one
/// that holds its lease; `lease` (`plugins.poll_lease_secs`) is how long after
/// its last renewal another may take over.
pub fn spawn(
    store: Store,
    transports: Transports,
    every: Duration,
    lease: Duration,
    intake: Arc<Intake>,
) -> tokio::task::JoinHandle<()> {
    let running: Arc<Mutex<BTreeSet<(String, TenantId)>>> = Arc::default();
    let owner: Arc<str> = format!("poller-{}", uuid::Uuid::now_v7()).into();
    tokio::spawn(async move {
        loop {
            for (plugin, tenant) in pairs(&store, &transports).await {
                let key = (plugin.clone(), tenant);
                if !running.lock().expect("poller set").insert(key.clone()) {
                    continue;
                }
                let (store, transports, running, intake, owner) = (
                    store.clone(),
                    transports.clone(),
                    running.clone(),
                    intake.clone(),
                    owner.clone(),
                );
                tokio::spawn(async move {
                    let me = Poller {
                        store: &store,
                        transports: &transports,
                        owner: &owner,
                        every,
                        lease,
                        intake: &intake,
                    };
                    me.poll_loop(&plugin, tenant).await;
                    running.lock().expect("poller set").remove(&key);
                });
            }
            // New plugins and newly configured tenants are picked up here.
            tokio::time::sleep(every.clamp(Duration::from_secs(1), Duration::from_secs(10))).await;
        }
    })
}

async fn pairs(store: &Store, transports: &Transports) -> Vec<(String, TenantId)> {
    let mut out = Vec::new();
    for plugin in transports.host().all() {
        if !plugin.manifest.poll {
            continue;
        }
        let tenants = if transports.host().default_settings(plugin.name()).is_empty() {
            store.tenants_with_plugin(plugin.name()).await
        } else {
            store
                .tenants()
                .await
                .map(|ts| ts.into_iter().map(|t| t.id).collect())
        };
        match tenants {
            Ok(ts) => out.extend(ts.into_iter().map(|t| (plugin.name().to_owned(), t))),
            Err(e) => tracing::error!("cannot list tenants to poll: {e}"),
        }
    }
    out
}

/// One hub process's poller of one plugin for one tenant.
struct Poller<'a> {
    store: &'a Store,
    transports: &'a Transports,
    /// This process, as the lease names it.
    owner: &'a str,
    every: Duration,
    lease: Duration,
    intake: &'a Intake,
}

impl Poller<'_> {
    /// Whether this process polls the pair this round: it holds the lease,
    /// renewed now, or another hub does.
    async fn lease(&self, ts: &TenantStore, plugin: &str) -> bool {
        let now = Utc::now();
        let until = now + self.lease + self.every;
        match ts.claim_poll_lease(plugin, self.owner, now, until).await {
            Ok(held) => held,
            Err(e) if e.is_write_conflict() => false,
            Err(e) => {
                tracing::error!(plugin, "cannot take the poll lease: {e}");
                false
            }
        }
    }

    /// Polls until the plugin is unloaded or unconfigured for the tenant; while
    /// another hub holds the lease, waits and checks again.
    async fn poll_loop(&self, plugin_name: &str, tenant: TenantId) {
        let Poller {
            store,
            transports,
            every,
            intake,
            ..
        } = *self;
        let ts = store.tenant(tenant);
        let mut failures = 0u32;
        loop {
            let Some(plugin) = transports
                .host()
                .get(plugin_name)
                .filter(|p| p.manifest.poll)
            else {
                return;
            };
            if !self.lease(&ts, plugin_name).await {
                tokio::time::sleep(every).await;
                continue;
            }
            let settings = match transports.settings(tenant, plugin_name).await {
                Ok(Some((s, _, _))) => s,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!(plugin = plugin_name, "cannot read settings: {e}");
                    tokio::time::sleep(every).await;
                    continue;
                }
            };
            let cursor = match ts.poll_cursor(plugin_name).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(plugin = plugin_name, "cannot read the poll cursor: {e}");
                    tokio::time::sleep(every).await;
                    continue;
                }
            };
            let mut wait = every;
            match plugin.poll(&tenant.to_string(), &settings, cursor).await {
                Ok(Ok(r)) => {
                    failures = 0;
                    let next = r.next_poll_ms;
                    match store_results(&ts, plugin.name(), r.messages, r.statuses, intake).await {
                        Ok(_) => {
                            if let Err(e) =
                                ts.set_poll_cursor(plugin_name, r.cursor.as_deref()).await
                            {
                                tracing::error!(
                                    plugin = plugin_name,
                                    "cannot store the poll cursor: {e}"
                                );
                            }
                        }
                        Err(e) => {
                            tracing::error!(
                                plugin = plugin_name,
                                "cannot store polled messages: {e}"
                            )
                        }
                    }
                    if let Some(ms) = next {
                        wait = Duration::from_millis(ms.clamp(0, 3_600_000));
                    }
                }
                Ok(Err(e)) => {
                    failures += 1;
                    let (why, after) = match e {
                        SendError::Retryable(h) | SendError::RateLimited(h) => {
                            (h.reason, h.after_ms)
                        }
                        SendError::Permanent(m)
                        | SendError::OptedOut(m)
                        | SendError::Unauthorized(m) => (m, None),
                    };
                    tracing::warn!(plugin = plugin_name, %tenant, "poll failed: {why}");
                    wait = backoff(every, failures).max(Duration::from_millis(after.unwrap_or(0)));
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(plugin = plugin_name, %tenant, "poll failed: {e}");
                    wait = backoff(every, failures);
                }
            }
            tokio::time::sleep(wait).await;
        }
    }
}

fn backoff(every: Duration, failures: u32) -> Duration {
    every
        .saturating_mul(1 << failures.min(6))
        .min(Duration::from_secs(600))
}
