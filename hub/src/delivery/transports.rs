//! Which plugin carries a tenant's messages on a transport, and with what
//! settings: the tenant's own, or else the hub operator's defaults.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::ids::TenantId;
use crate::domain::message::Transport;
use crate::plugins::{Plugin, PluginHost, SettingList};
use crate::store::delivery::PluginSettings;
use crate::store::{Store, StoreResult};

/// How long a tenant's settings are used without reading them again, should
/// the log that says they changed go unread (it is read every few ms).
const KEPT: Duration = Duration::from_secs(30);
/// Tenants whose settings are kept; past that all are read again.
const KEPT_TENANTS: usize = 10_000;

/// A plugin ready to be called for a tenant.
#[derive(Clone)]
pub struct Route {
    pub plugin: Arc<Plugin>,
    pub settings: SettingList,
}

/// Answers "who carries this?" from the loaded plugins and stored settings.
#[derive(Clone)]
pub struct Transports {
    host: Arc<PluginHost>,
    store: Store,
    known: Arc<Mutex<Known>>,
}

/// Tenants' stored settings as last read: every message sent or received
/// needs them, and they change only when an admin saves.
#[derive(Default)]
struct Known {
    tenants: HashMap<TenantId, (Instant, Arc<Stored>)>,
    /// Moves on at every change, so a read that began before it is not kept.
    generation: u64,
}

type Stored = BTreeMap<String, PluginSettings>;

impl Transports {
    pub fn new(host: Arc<PluginHost>, store: Store) -> Self {
        Self {
            host,
            store,
            known: Arc::default(),
        }
    }

    /// Drops what is known of `tenant`'s settings: they were saved, here or
    /// (seen in the event log) through another hub.
    pub fn forget(&self, tenant: TenantId) {
        let mut known = self.known.lock().expect("settings lock");
        known.generation += 1;
        known.tenants.remove(&tenant);
    }

    /// `tenant`'s stored settings, read again when not known or too old.
    async fn stored(&self, tenant: TenantId) -> StoreResult<Arc<Stored>> {
        let generation = {
            let known = self.known.lock().expect("settings lock");
            if let Some((at, stored)) = known.tenants.get(&tenant)
                && at.elapsed() < KEPT
            {
                return Ok(stored.clone());
            }
            known.generation
        };
        let stored = Arc::new(self.store.tenant(tenant).plugin_settings().await?);
        let mut known = self.known.lock().expect("settings lock");
        if known.generation == generation {
            if known.tenants.len() >= KEPT_TENANTS {
                known.tenants.clear();
            }
            known
                .tenants
                .insert(tenant, (Instant::now(), stored.clone()));
        }
        Ok(stored)
    }

    pub fn host(&self) -> &Arc<PluginHost> {
        &self.host
    }

    /// The settings `plugin` runs with for `tenant`, and whether the tenant
    /// chose them (as opposed to inheriting the operator's defaults).
    pub async fn settings(
        &self,
        tenant: TenantId,
        plugin: &str,
    ) -> StoreResult<Option<(SettingList, Vec<Transport>, bool)>> {
        let stored = self.stored(tenant).await?;
        Ok(self.effective(plugin, stored.get(plugin)))
    }

    /// [`Self::settings`] from settings the caller has already read.
    pub fn effective(
        &self,
        plugin: &str,
        stored: Option<&PluginSettings>,
    ) -> Option<(SettingList, Vec<Transport>, bool)> {
        let loaded = self.host.get(plugin)?;
        let defaults = self.host.default_settings(plugin);
        match stored {
            Some(s) => {
                let mut merged: BTreeMap<String, String> = defaults;
                merged.extend(s.settings.clone());
                Some((merged.into_iter().collect(), s.channels.clone(), true))
            }
            None if !defaults.is_empty() => {
                Some((defaults.into_iter().collect(), loaded.transports(), false))
            }
            None => None,
        }
    }

    /// The transports some configured plugin carries for `tenant`, and the
    /// website, which the hub's own widget carries when no plugin does.
    pub async fn available(&self, tenant: TenantId) -> StoreResult<Vec<Transport>> {
        let stored = self.stored(tenant).await?;
        let mut out = vec![Transport::Website];
        for p in self.host.all() {
            if let Some((_, channels, _)) = self.effective(p.name(), stored.get(p.name())) {
                for t in channels {
                    if p.transports().contains(&t) && !out.contains(&t) {
                        out.push(t);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The plugin for `transport`: one the tenant configured itself comes
    /// before one running on the operator's defaults; ties go by name. The
    /// website is the hub's own (its widget) unless the tenant's admin set a
    /// plugin to carry it: operator defaults never take it over.
    pub async fn route(
        &self,
        tenant: TenantId,
        transport: Transport,
    ) -> StoreResult<Option<Route>> {
        let stored = self.stored(tenant).await?;
        let mut best: Option<(bool, Route)> = None;
        for p in self.host.all() {
            if !p.transports().contains(&transport) {
                continue;
            }
            let Some((settings, channels, own)) = self.effective(p.name(), stored.get(p.name()))
            else {
                continue;
            };
            if !channels.contains(&transport) || (transport == Transport::Website && !own) {
                continue;
            }
            if best.as_ref().is_none_or(|(b, _)| own && !*b) {
                best = Some((
                    own,
                    Route {
                        plugin: p.clone(),
                        settings,
                    },
                ));
            }
        }
        Ok(best.map(|(_, r)| r))
    }
}
