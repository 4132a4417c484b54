//! Provider plugins as admins see them: what is loaded, how each is set up
//! for the tenant (secret values never leave the hub), and reloading.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::{InputObject, SimpleObject};

use super::types::Transport;
use crate::api::{ApiError, ApiResult, AppState};
use crate::domain::ids::TenantId;
use crate::domain::message::Transport as DomainTransport;
use crate::plugins::{Plugin, PluginError};
use crate::store::delivery::PluginSettings;

/// A loaded plugin and its state for the caller's tenant.
#[derive(SimpleObject)]
pub struct PluginNode {
    pub name: String,
    pub version: String,
    pub description: String,
    /// Channels the plugin can carry.
    pub channels: Vec<Transport>,
    /// Channels it carries for this tenant (empty when not configured).
    pub enabled_channels: Vec<Transport>,
    /// Whether the tenant can use it: its own settings or the operator's.
    pub configured: bool,
    /// Whether the tenant set its own settings (otherwise the operator's apply).
    pub tenant_settings: bool,
    pub polled: bool,
    pub allowed_hosts: Vec<String>,
    pub settings: Vec<PluginSettingNode>,
    pub limits: PluginLimits,
}

#[derive(SimpleObject)]
pub struct PluginSettingNode {
    pub key: String,
    pub description: String,
    pub required: bool,
    pub secret: bool,
    pub is_set: bool,
    /// The value, unless the setting is secret.
    pub value: Option<String>,
}

#[derive(SimpleObject)]
pub struct PluginLimits {
    pub memory_mib: i32,
    pub cpu_ms: i64,
    pub timeout_ms: i64,
    pub max_instances: i32,
}

#[derive(InputObject)]
pub struct PluginSettingInput {
    pub key: String,
    /// An empty value removes the setting.
    pub value: String,
}

#[derive(SimpleObject)]
pub struct PluginReload {
    pub loaded: Vec<String>,
    pub failed: Vec<PluginLoadFailure>,
}

#[derive(SimpleObject)]
pub struct PluginLoadFailure {
    pub plugin: String,
    pub error: String,
}

/// `stored` is the tenant's settings for every plugin, read once per request.
pub fn node(
    state: &AppState,
    stored: &BTreeMap<String, PluginSettings>,
    p: &Arc<Plugin>,
) -> PluginNode {
    let effective = state.transports.effective(p.name(), stored.get(p.name()));
    let values: BTreeMap<String, String> = effective
        .as_ref()
        .map(|(s, _, _)| s.iter().cloned().collect())
        .unwrap_or_default();
    let m = &p.manifest;
    PluginNode {
        name: m.name.clone(),
        version: m.version.clone(),
        description: m.description.clone(),
        channels: p.transports().into_iter().map(Into::into).collect(),
        enabled_channels: effective
            .as_ref()
            .map(|(_, c, _)| c.iter().copied().map(Into::into).collect())
            .unwrap_or_default(),
        configured: effective.is_some(),
        tenant_settings: effective.as_ref().is_some_and(|(_, _, own)| *own),
        polled: m.poll,
        allowed_hosts: m.allowed_hosts.clone(),
        settings: m
            .settings
            .iter()
            .map(|s| {
                let v = values.get(&s.key).filter(|v| !v.is_empty());
                PluginSettingNode {
                    key: s.key.clone(),
                    description: s.description.clone(),
                    required: s.required,
                    secret: s.secret,
                    is_set: v.is_some(),
                    value: if s.secret { None } else { v.cloned() },
                }
            })
            .collect(),
        limits: PluginLimits {
            memory_mib: (p.limits.memory_bytes >> 20) as i32,
            cpu_ms: p.limits.cpu.as_millis() as i64,
            timeout_ms: p.limits.timeout.as_millis() as i64,
            max_instances: p.limits.max_instances as i32,
        },
    }
}

/// Checks new settings for `plugin` against its manifest and its own
/// `configure`, and returns what to store. Keys left out keep their value.
pub async fn validate(
    state: &AppState,
    tenant: TenantId,
    plugin: &Arc<Plugin>,
    current: Option<&PluginSettings>,
    input: Vec<PluginSettingInput>,
    channels: Option<Vec<Transport>>,
) -> ApiResult<PluginSettings> {
    let m = &plugin.manifest;
    let mut settings = current.map(|c| c.settings.clone()).unwrap_or_default();
    for (i, s) in input.into_iter().enumerate() {
        if m.setting(&s.key).is_none() {
            let known: Vec<&str> = m.settings.iter().map(|s| s.key.as_str()).collect();
            return Err(ApiError::validation(
                &format!("settings[{i}].key"),
                format!(
                    "`{}` is not a setting of {}; it has {known:?}",
                    s.key, m.name
                ),
            ));
        }
        if s.value.len() > 8 * 1024 {
            return Err(ApiError::validation(
                &format!("settings[{i}].value"),
                "must be at most 8 KiB",
            ));
        }
        if s.value.is_empty() {
            settings.remove(&s.key);
        } else {
            settings.insert(s.key, s.value);
        }
    }
    let defaults = state.transports.host().default_settings(&m.name);
    for spec in m.settings.iter().filter(|s| s.required) {
        if !settings.contains_key(&spec.key) && !defaults.contains_key(&spec.key) {
            return Err(ApiError::validation(
                "settings",
                format!("`{}` is required: {}", spec.key, spec.description),
            ));
        }
    }
    let offered = plugin.transports();
    let channels: Vec<DomainTransport> = match channels {
        Some(list) => list.into_iter().map(Into::into).collect(),
        None => current.map_or_else(|| offered.clone(), |c| c.channels.clone()),
    };
    for t in &channels {
        if !offered.contains(t) {
            return Err(ApiError::validation(
                "channels",
                format!("{} does not carry {t}", m.name),
            ));
        }
    }
    let mut merged = defaults;
    merged.extend(settings.clone());
    let list: Vec<(String, String)> = merged.into_iter().collect();
    plugin
        .check_settings(&tenant.to_string(), &list)
        .await
        .map_err(|e| match e {
            PluginError::Settings { message, .. } => ApiError::validation("settings", message),
            other => ApiError::validation("settings", other.to_string()),
        })?;
    Ok(PluginSettings {
        settings,
        channels,
        updated_at: None,
    })
}
