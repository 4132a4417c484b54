//! The hub's configuration: one typed struct, read from a TOML file, with
//! every key overridable by an environment variable, validated at start-up.
//!
//! Environment variables are named `HUB_` + the key path in upper case, with
//! `__` between a section and its key: `database.url` is `HUB_DATABASE__URL`.

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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How long a sign-in lasts.
    pub session_hours: u32,
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
            poll_ms: 200,
        }
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
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self { session_hours: 12 }
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
        if self.auth.session_hours == 0 || self.auth.session_hours > 24 * 90 {
            return Err(ConfigError::Invalid(
                "auth.session_hours must be between 1 and 2160 (90 days)".into(),
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
        Ok(())
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
    fn unknown_keys_are_named() {
        let err = Config::load(None, env(&[("HUB_DATABSE__URL", "mem://")])).unwrap_err();
        assert!(err.to_string().contains("databse"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = Config::load(None, env(&[("HUB_DATABASE__URL", "postgres://x")])).unwrap_err();
        assert!(err.to_string().contains("database.url"), "{err}");
        let err = Config::load(None, env(&[("HUB_AUTH__SESSION_HOURS", "0")])).unwrap_err();
        assert!(err.to_string().contains("session_hours"), "{err}");
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
