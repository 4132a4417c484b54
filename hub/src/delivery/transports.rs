//! Which plugin carries a tenant's messages on a transport, and with what
//! settings: the tenant's own, or else the hub operator's defaults.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::domain::ids::TenantId;
use crate::domain::message::Transport;
use crate::plugins::{Plugin, PluginHost, SettingList};
use crate::store::{Store, StoreResult};

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
}

impl Transports {
    pub fn new(host: Arc<PluginHost>, store: Store) -> Self {
        Self { host, store }
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
        let stored = self.store.tenant(tenant).plugin_settings().await?;
        Ok(self.effective(plugin, stored.get(plugin)))
    }

    /// [`Self::settings`] from settings the caller has already read.
    pub fn effective(
        &self,
        plugin: &str,
        stored: Option<&crate::store::delivery::PluginSettings>,
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
        let stored = self.store.tenant(tenant).plugin_settings().await?;
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
        let stored = self.store.tenant(tenant).plugin_settings().await?;
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
