//! The hub's configuration: one typed struct, read from a TOML file, with
//! every key overridable by an environment variable, validated at start-up.
//!
//! Environment variables are named `HUB_` + the key path in upper case, with
//! `__` between a section and its key: `database.url` is `HUB_DATABASE__URL`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::store::DatabaseSettings;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server listens on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The address people use to reach the hub (links, sign-in hint).
    pub public_url: Option<String>,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub contacts: ContactsConfig,
    pub bootstrap: BootstrapConfig,
    pub events: EventsConfig,
    pub files: FilesConfig,
    pub plugins: PluginsConfig,
    /// Per plugin, by name: `[plugin.webhook]` with `allow_hosts`, `hosts`,
    /// `settings` and limit overrides.
    pub plugin: BTreeMap<String, PluginOverrides>,
    pub delivery: DeliveryConfig,
    pub web: WebConfig,
    pub retention: RetentionConfig,
    pub search: SearchConfig,
    /// `tracing` filter, e.g. `info` or `hub=debug,info`.
    pub log: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `surrealkv://<dir>` (embedded, default `surrealkv://data/db`),
    /// `mem://` (nothing kept), or `ws://host:port` for a SurrealDB server.
    pub url: String,
    pub namespace: String,
    pub database: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Embedded only: the size of SurrealKV's in-memory write buffer. A full
    /// buffer is written out as a table file; a smaller one keeps the full-text
    /// index's compaction (which walks the buffer's deleted keys) short, and so
    /// the pauses it causes in writes. A larger transaction gets a buffer of
    /// its own size (vendor/README.md).
    pub memtable_mib: u32,
    /// Embedded only: SurrealKV's cache of table blocks, which fills as the
    /// database is read and written and becomes most of an embedded hub's
    /// memory. Unset, SurrealDB sizes it at half the machine's memory less
    /// 1 GiB; set it where the hub shares its machine (docs/performance.md).
    pub block_cache_mib: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How long a sign-in lasts.
    pub session_hours: u32,
    /// Wrong passwords in a row that lock an account's sign-in.
    pub sign_in_attempts: u32,
    /// How long such a lock lasts, counted from the first wrong password.
    pub sign_in_lock_minutes: u32,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContactsConfig {
    /// Country (ISO 3166 alpha-2) for phone numbers written without a country code.
    pub default_region: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// How many events a live subscriber may fall behind before it is told
    /// to resync from its cursor (it never slows anyone else down).
    pub subscriber_buffer: usize,
    /// How often the event log is read for events written by other hub
    /// processes on the same database; this process's own are instant.
    pub poll_ms: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            subscriber_buffer: 1024,
            poll_ms: 50,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// Where `<name>.wasm` and `<name>.toml` are loaded from.
    pub dir: PathBuf,
    /// Ceiling of any plugin's memory cap.
    pub max_memory_mib: u32,
    /// Plugin instances alive at once, all plugins together.
    pub max_instances: u32,
    /// How often plugins that are polled are called when they say nothing.
    pub poll_ms: u64,
    /// With several hub processes on one database, one polls each plugin and
    /// tenant; another takes over this long after that one stopped. It must
    /// outlast one long poll (Telegram's `poll_timeout_secs`).
    pub poll_lease_secs: u64,
    /// Extra certificate authorities (a PEM file) that plugins' TLS
    /// connections trust besides the public roots: a private mail relay.
    pub tls_ca_file: Option<PathBuf>,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            dir: "plugins/dist".into(),
            max_memory_mib: 128,
            max_instances: 128,
            poll_ms: 5_000,
            poll_lease_secs: 90,
            tls_ca_file: None,
        }
    }
}

/// The operator's word on one plugin; it overrides the plugin's manifest.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginOverrides {
    /// Hosts allowed besides the manifest's: `host` or `host:port`, as a
    /// list or (from the environment) separated by commas.
    #[serde(deserialize_with = "list_or_commas")]
    pub allow_hosts: Vec<String>,
    /// Re-points a host the plugin calls: `"api.twilio.com" = "http://127.0.0.1:9000"`.
    pub hosts: BTreeMap<String, String>,
    /// Settings every tenant gets unless its admin sets its own.
    #[serde(deserialize_with = "setting_values")]
    pub settings: BTreeMap<String, String>,
    pub memory_mib: Option<u32>,
    pub cpu_ms: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub max_instances: Option<u32>,
}

fn list_or_commas<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Commas(String),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::List(v) => v,
        Raw::Commas(s) => s
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Setting values are strings to a plugin, whatever TOML made of them.
fn setting_values<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let raw = BTreeMap::<String, toml::Value>::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => Ok((k, s)),
            toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                Ok((k, v.to_string()))
            }
            other => Err(serde::de::Error::custom(format!(
                "setting `{k}` must be a string, number or boolean, not a {}",
                other.type_str()
            ))),
        })
        .collect()
}

/// The outbox: how outbound messages are handed to plugins and retried.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Attempts before a message that keeps failing is marked failed.
    pub max_attempts: u32,
    /// First retry delay; it doubles each attempt (with jitter).
    pub backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// How long a job is reserved for the hub process that claimed it, or
    /// whose worker a send handed it to.
    pub lease_secs: u64,
    /// How often the outbox is checked when nothing wakes the worker.
    pub poll_ms: u64,
    /// Jobs handled at once by this process, claimed or handed over.
    pub concurrency: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 12,
            backoff_ms: 1_000,
            max_backoff_ms: 600_000,
            lease_secs: 60,
            poll_ms: 500,
            concurrency: 16,
        }
    }
}

/// Where attachment contents are kept: a directory on this machine (one
/// folder per tenant, files named by their SHA-256).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    pub dir: PathBuf,
    /// The largest file kept; a bigger inbound attachment is refused with the message.
    pub max_file_mib: u32,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            dir: "data/files".into(),
            max_file_mib: 25,
        }
    }
}

/// The web inbox: the static files `npm run build` leaves in
/// `web-client/dist`, served at `/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    pub dir: PathBuf,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            dir: "web-client/dist".into(),
        }
    }
}

/// The retention job (each tenant's policy is set through the API).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Seconds between two passes of the job.
    pub interval_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            interval_secs: 3_600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// While messages keep arriving, message search is written at most this
    /// often (a message stored when nothing was indexed in the last pace is
    /// written within about 50 ms); it is also how often messages stored
    /// through other hub processes are looked for. SurrealDB's compaction
    /// of the full-text index after each write rewrites posting lists that
    /// grow with the index and pauses the writes beside it, so a large
    /// database wants fewer, larger writes (docs/performance.md).
    pub pace_ms: u64,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self { pace_ms: 3_000 }
    }
}

/// The tenant and admin created on the first start with an empty database.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapConfig {
    pub tenant_name: String,
    pub tenant_slug: String,
    pub admin_email: String,
    /// When unset, a random password is generated and printed once.
    pub admin_password: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            public_url: None,
            database: DatabaseConfig::default(),
            auth: AuthConfig::default(),
            contacts: ContactsConfig::default(),
            bootstrap: BootstrapConfig::default(),
            events: EventsConfig::default(),
            files: FilesConfig::default(),
            plugins: PluginsConfig::default(),
            plugin: BTreeMap::new(),
            delivery: DeliveryConfig::default(),
            web: WebConfig::default(),
            retention: RetentionConfig::default(),
            search: SearchConfig::default(),
            log: "info".into(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "surrealkv://data/db".into(),
            namespace: "hub".into(),
            database: "hub".into(),
            username: None,
            password: None,
            memtable_mib: 64,
            block_cache_mib: None,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_hours: 12,
            sign_in_attempts: 5,
            sign_in_lock_minutes: 15,
        }
    }
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            tenant_name: "My Company".into(),
            tenant_slug: "default".into(),
            admin_email: "admin@example.com".into(),
            admin_password: None,
        }
    }
}

impl Config {
    /// Reads `path` (when given) and then the `HUB_*` variables of `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_owned(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Invalid(format!("{}: {e}", p.display())))?
            }
            None => toml::Table::new(),
        };
        for (name, value) in env {
            let Some(path) = name.strip_prefix("HUB_") else {
                continue;
            };
            // An empty variable means "not set", as in most deployment tools.
            if value.is_empty() {
                continue;
            }
            let keys: Vec<String> = path.split("__").map(|k| k.to_ascii_lowercase()).collect();
            if keys.iter().any(String::is_empty) {
                return Err(ConfigError::Invalid(format!(
                    "{name}: malformed variable name"
                )));
            }
            set_path(&mut table, &keys, env_value(&value))
                .map_err(|e| ConfigError::Invalid(format!("{name}: {e}")))?;
        }
        let config: Config = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string().trim().to_owned()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.database.url;
        let known = ["surrealkv://", "mem://", "ws://", "wss://"];
        if !known.iter().any(|p| url.starts_with(p)) {
            return Err(ConfigError::Invalid(format!(
                "database.url `{url}` must start with surrealkv://, mem://, ws:// or wss://"
            )));
        }
        if (url.starts_with("ws://") || url.starts_with("wss://"))
            && (self.database.username.is_none() || self.database.password.is_none())
        {
            return Err(ConfigError::Invalid(
                "database.username and database.password are required for a SurrealDB server"
                    .into(),
            ));
        }
        if !(1..=16_384).contains(&self.database.memtable_mib) {
            return Err(ConfigError::Invalid(
                "database.memtable_mib must be between 1 and 16384 (16 GiB)".into(),
            ));
        }
        if let Some(mib) = self.database.block_cache_mib
            && !(16..=1_048_576).contains(&mib)
        {
            return Err(ConfigError::Invalid(
                "database.block_cache_mib must be between 16 and 1048576 (1 TiB)".into(),
            ));
        }
        if self.auth.session_hours == 0 || self.auth.session_hours > 24 * 90 {
            return Err(ConfigError::Invalid(
                "auth.session_hours must be between 1 and 2160 (90 days)".into(),
            ));
        }
        if !(50..=60_000).contains(&self.search.pace_ms) {
            return Err(ConfigError::Invalid(
                "search.pace_ms must be between 50 and 60000 (a minute)".into(),
            ));
        }
        if !(1..=86_400).contains(&self.retention.interval_secs) {
            return Err(ConfigError::Invalid(
                "retention.interval_secs must be between 1 and 86400 (a day)".into(),
            ));
        }
        if !(1..=100).contains(&self.auth.sign_in_attempts) {
            return Err(ConfigError::Invalid(
                "auth.sign_in_attempts must be between 1 and 100".into(),
            ));
        }
        if !(1..=24 * 60).contains(&self.auth.sign_in_lock_minutes) {
            return Err(ConfigError::Invalid(
                "auth.sign_in_lock_minutes must be between 1 and 1440 (a day)".into(),
            ));
        }
        if !(16..=1_000_000).contains(&self.events.subscriber_buffer) {
            return Err(ConfigError::Invalid(
                "events.subscriber_buffer must be between 16 and 1000000".into(),
            ));
        }
        if !(10..=60_000).contains(&self.events.poll_ms) {
            return Err(ConfigError::Invalid(
                "events.poll_ms must be between 10 and 60000".into(),
            ));
        }
        if let Some(region) = &self.contacts.default_region {
            crate::domain::contact::normalise_phone("+14155552671", Some(region)).map_err(
                |_| {
                    ConfigError::Invalid(format!(
                        "contacts.default_region `{region}` is not a country code like US or GB"
                    ))
                },
            )?;
        }
        crate::domain::tenant::parse_slug(&self.bootstrap.tenant_slug)
            .map_err(|e| ConfigError::Invalid(format!("bootstrap.tenant_slug: {}", e.message)))?;
        crate::domain::contact::normalise_email(&self.bootstrap.admin_email)
            .map_err(|e| ConfigError::Invalid(format!("bootstrap.admin_email: {}", e.message)))?;
        if let Some(p) = &self.bootstrap.admin_password {
            crate::domain::user::check_password_strength(p).map_err(|e| {
                ConfigError::Invalid(format!("bootstrap.admin_password: {}", e.message))
            })?;
        }
        if !["error", "warn", "info", "debug", "trace"]
            .iter()
            .any(|l| self.log.contains(l))
        {
            return Err(ConfigError::Invalid(format!(
                "log `{}` names no level (error, warn, info, debug, trace)",
                self.log
            )));
        }
        self.validate_plugins()?;
        self.validate_delivery()
    }

    fn validate_plugins(&self) -> Result<(), ConfigError> {
        let p = &self.plugins;
        if p.max_memory_mib == 0 || p.max_memory_mib > 4096 {
            return Err(ConfigError::Invalid(
                "plugins.max_memory_mib must be 1 to 4096".into(),
            ));
        }
        if p.max_instances == 0 || p.max_instances > 10_000 {
            return Err(ConfigError::Invalid(
                "plugins.max_instances must be 1 to 10000".into(),
            ));
        }
        if p.poll_ms < 100 {
            return Err(ConfigError::Invalid(
                "plugins.poll_ms must be at least 100".into(),
            ));
        }
        if !(1..=3_600).contains(&p.poll_lease_secs) {
            return Err(ConfigError::Invalid(
                "plugins.poll_lease_secs must be 1 to 3600".into(),
            ));
        }
        for (name, o) in &self.plugin {
            for h in &o.allow_hosts {
                crate::plugins::manifest::HostPattern::parse(h)
                    .map_err(|e| ConfigError::Invalid(format!("plugin.{name}.allow_hosts: {e}")))?;
            }
            for (host, to) in &o.hosts {
                let ok = (to.starts_with("http://") || to.starts_with("https://"))
                    && to.parse::<http::Uri>().is_ok_and(|u| {
                        u.host().is_some() && u.path_and_query().is_none_or(|p| p.as_str() == "/")
                    });
                if !ok {
                    return Err(ConfigError::Invalid(format!(
                        "plugin.{name}.hosts.\"{host}\": `{to}` must be http(s)://host[:port]"
                    )));
                }
            }
            let zero = o.memory_mib == Some(0)
                || o.cpu_ms == Some(0)
                || o.timeout_ms == Some(0)
                || o.max_instances == Some(0);
            if zero {
                return Err(ConfigError::Invalid(format!(
                    "plugin.{name}: limits must be greater than zero"
                )));
            }
        }
        Ok(())
    }

    fn validate_delivery(&self) -> Result<(), ConfigError> {
        let d = &self.delivery;
        let bad = |k: &str, why: &str| Err(ConfigError::Invalid(format!("delivery.{k} {why}")));
        if d.max_attempts == 0 {
            return bad("max_attempts", "must be at least 1");
        }
        if d.backoff_ms == 0 || d.backoff_ms > d.max_backoff_ms {
            return bad(
                "backoff_ms",
                "must be at least 1 and at most max_backoff_ms",
            );
        }
        if d.lease_secs == 0 {
            return bad("lease_secs", "must be at least 1");
        }
        if d.poll_ms == 0 {
            return bad("poll_ms", "must be at least 1");
        }
        if d.concurrency == 0 || d.concurrency > 1024 {
            return bad("concurrency", "must be 1 to 1024");
        }
        Ok(())
    }

    /// The `SURREAL_*` settings the embedded engine reads from the process
    /// environment when it opens (see vendor/README.md); none for a server,
    /// which has settings of its own.
    pub fn embedded_engine_env(&self) -> Vec<(&'static str, String)> {
        if !self.database.url.starts_with("surrealkv://") {
            return Vec::new();
        }
        let mib = |n: u32| (u64::from(n) * 1024 * 1024).to_string();
        let mut env = vec![(
            "SURREAL_SURREALKV_MAX_MEMTABLE_SIZE",
            mib(self.database.memtable_mib),
        )];
        if let Some(cache) = self.database.block_cache_mib {
            env.push(("SURREAL_SURREALKV_BLOCK_CACHE_CAPACITY", mib(cache)));
        }
        env
    }

    /// Puts [`Self::embedded_engine_env`] into the process environment.
    ///
    /// # Safety
    /// No other thread may be running: the environment is not synchronised.
    pub unsafe fn export_embedded_engine_env(&self) {
        for (key, value) in self.embedded_engine_env() {
            // SAFETY: the caller guarantees this is the only thread.
            unsafe { std::env::set_var(key, value) };
        }
    }

    pub fn database_settings(&self) -> DatabaseSettings {
        DatabaseSettings {
            url: self.database.url.clone(),
            namespace: self.database.namespace.clone(),
            database: self.database.database.clone(),
            username: self.database.username.clone(),
            password: self.database.password.clone(),
        }
    }
}

/// Environment values are typed like TOML where they parse as such
/// (`8080`, `true`), and are strings otherwise.
fn env_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|v| !v.is_table() && !v.is_array() && !v.is_datetime())
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn set_path(table: &mut toml::Table, keys: &[String], value: toml::Value) -> Result<(), String> {
    let (last, sections) = keys.split_last().expect("at least one key");
    let mut current = table;
    for key in sections {
        current = current
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("`{key}` is not a section"))?;
    }
    // A string-typed key that happened to parse as a number stays a string.
    let value = match (current.get(last), &value) {
        (Some(toml::Value::String(_)), v) if !v.is_str() => toml::Value::String(plain(v)),
        _ => value,
    };
    current.insert(last.clone(), value);
    Ok(())
}

fn plain(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_run_embedded_on_8080() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.database.url.starts_with("surrealkv://"));
    }

    #[test]
    fn the_embedded_engine_is_sized_from_the_config_and_a_server_is_left_alone() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(
            c.embedded_engine_env(),
            [("SURREAL_SURREALKV_MAX_MEMTABLE_SIZE", "67108864".to_owned())]
        );
        let c = Config::load(
            None,
            env(&[
                ("HUB_DATABASE__MEMTABLE_MIB", "8"),
                ("HUB_DATABASE__BLOCK_CACHE_MIB", "256"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.embedded_engine_env(),
            [
                ("SURREAL_SURREALKV_MAX_MEMTABLE_SIZE", "8388608".to_owned()),
                (
                    "SURREAL_SURREALKV_BLOCK_CACHE_CAPACITY",
                    "268435456".to_owned()
                )
            ]
        );
        let c = Config::load(None, env(&[("HUB_DATABASE__URL", "mem://")])).unwrap();
        assert!(c.embedded_engine_env().is_empty());
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\n[auth]\nsession_hours = 4\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&path),
            env(&[
                ("HUB_AUTH__SESSION_HOURS", "8"),
                ("HUB_DATABASE__URL", "mem://"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.auth.session_hours, 8);
        assert_eq!(c.database.url, "mem://");
    }

    #[test]
    fn plugin_sections_come_from_the_environment_too() {
        let c = Config::load(
            None,
            env(&[
                (
                    "HUB_PLUGIN__WEBHOOK__SETTINGS__URL",
                    "http://127.0.0.1:9/in",
                ),
                ("HUB_PLUGIN__WEBHOOK__SETTINGS__MAX_AGE_SECS", "60"),
                ("HUB_PLUGIN__WEBHOOK__CPU_MS", "250"),
                ("HUB_DELIVERY__MAX_ATTEMPTS", "3"),
            ]),
        )
        .unwrap();
        let w = &c.plugin["webhook"];
        assert_eq!(w.settings["url"], "http://127.0.0.1:9/in");
        assert_eq!(w.settings["max_age_secs"], "60");
        assert_eq!(w.cpu_ms, Some(250));
        assert_eq!(c.delivery.max_attempts, 3);
        let err =
            Config::load(None, env(&[("HUB_PLUGIN__X__HOSTS__API", "ftp://nowhere")])).unwrap_err();
        assert!(err.to_string().contains("plugin.x.hosts"), "{err}");
        let err = Config::load(None, env(&[("HUB_DELIVERY__BACKOFF_MS", "0")])).unwrap_err();
        assert!(err.to_string().contains("delivery.backoff_ms"), "{err}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Config::load(None, env(&[("HUB_DATABSE__URL", "mem://")])).unwrap_err();
        assert!(err.to_string().contains("databse"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = Config::load(None, env(&[("HUB_DATABASE__URL", "postgres://x")])).unwrap_err();
        assert!(err.to_string().contains("database.url"), "{err}");
        let err = Config::load(None, env(&[("HUB_DATABASE__MEMTABLE_MIB", "0")])).unwrap_err();
        assert!(err.to_string().contains("database.memtable_mib"), "{err}");
        let err = Config::load(None, env(&[("HUB_DATABASE__BLOCK_CACHE_MIB", "8")])).unwrap_err();
        assert!(
            err.to_string().contains("database.block_cache_mib"),
            "{err}"
        );
        let err = Config::load(None, env(&[("HUB_SEARCH__PACE_MS", "10")])).unwrap_err();
        assert!(err.to_string().contains("search.pace_ms"), "{err}");
        let err = Config::load(None, env(&[("HUB_AUTH__SESSION_HOURS", "0")])).unwrap_err();
        assert!(err.to_string().contains("session_hours"), "{err}");
        let err = Config::load(None, env(&[("HUB_AUTH__SIGN_IN_ATTEMPTS", "0")])).unwrap_err();
        assert!(err.to_string().contains("sign_in_attempts"), "{err}");
        let err = Config::load(None, env(&[("HUB_AUTH__SIGN_IN_LOCK_MINUTES", "0")])).unwrap_err();
        assert!(err.to_string().contains("sign_in_lock_minutes"), "{err}");
        let err = Config::load(None, env(&[("HUB_LISTEN", "nowhere")])).unwrap_err();
        assert!(
            err.to_string().contains("listen") || err.to_string().contains("address"),
            "{err}"
        );
        let err = Config::load(None, env(&[("HUB_CONTACTS__DEFAULT_REGION", "ZZ")])).unwrap_err();
        assert!(err.to_string().contains("default_region"), "{err}");
        let err =
            Config::load(None, env(&[("HUB_BOOTSTRAP__ADMIN_PASSWORD", "short")])).unwrap_err();
        assert!(err.to_string().contains("admin_password"), "{err}");
    }
}
