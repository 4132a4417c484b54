//! `<name>.toml` beside `<name>.wasm`: what a plugin is and what it may do.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::domain::message::Transport;

/// What a plugin asks of the host beyond computing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// Outbound HTTP (`wasi:http`) to the allowed hosts.
    Http,
    /// Raw TCP (`wasi:sockets`) to the allowed hosts, for protocols such as SMTP.
    Sockets,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingSpec {
    pub key: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub required: bool,
    /// Never shown back once set (tokens, passwords, signing secrets).
    #[serde(default)]
    pub secret: bool,
}

/// Limits a plugin's author proposes; the hub's configuration may override them.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub memory_mib: Option<u32>,
    pub cpu_ms: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub max_instances: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    pub channels: Vec<String>,
    /// `host` (default ports) or `host:port`.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(default)]
    pub capabilities: BTreeSet<Capability>,
    /// Whether the hub should call `poll` on a schedule.
    #[serde(default)]
    pub poll: bool,
    #[serde(default)]
    pub settings: Vec<SettingSpec>,
    #[serde(default)]
    pub limits: Limits,
}

#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ManifestError {
    pub file: String,
    pub message: String,
}

impl Manifest {
    pub fn parse(file: &str, text: &str) -> Result<Self, ManifestError> {
        let err = |message: String| ManifestError {
            file: file.to_owned(),
            message,
        };
        let m: Manifest = toml::from_str(text).map_err(|e| err(e.message().to_owned()))?;
        let valid_name = !m.name.is_empty()
            && m.name.len() <= 64
            && m.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !valid_name {
            return Err(err(format!(
                "name `{}` must be 1 to 64 lower-case letters, digits, `-` or `_`",
                m.name
            )));
        }
        if m.channels.is_empty() {
            return Err(err("channels must name at least one channel".into()));
        }
        for c in &m.channels {
            let t: Transport = c
                .parse()
                .map_err(|_| err(format!("channels: `{c}` is not a channel the hub knows")))?;
            if !t.carries_text() {
                return Err(err(format!("channels: `{c}` cannot carry messages")));
            }
        }
        for h in &m.allowed_hosts {
            HostPattern::parse(h).map_err(|e| err(format!("allowed_hosts: {e}")))?;
        }
        let mut keys = BTreeSet::new();
        for s in &m.settings {
            if s.key.is_empty() || !keys.insert(s.key.as_str()) {
                return Err(err(format!(
                    "settings: key `{}` is empty or repeated",
                    s.key
                )));
            }
        }
        if m.limits.memory_mib == Some(0)
            || m.limits.cpu_ms == Some(0)
            || m.limits.timeout_ms == Some(0)
            || m.limits.max_instances == Some(0)
        {
            return Err(err("limits must be greater than zero".into()));
        }
        Ok(m)
    }

    pub fn transports(&self) -> Vec<Transport> {
        self.channels
            .iter()
            .filter_map(|c| c.parse().ok())
            .collect()
    }

    pub fn setting(&self, key: &str) -> Option<&SettingSpec> {
        self.settings.iter().find(|s| s.key == key)
    }
}

/// An allowed destination: a host name and, optionally, one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    pub host: String,
    pub port: Option<u16>,
}

impl HostPattern {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        let (host, port) = match s.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') || h.starts_with('[') => (
                h.to_owned(),
                Some(
                    p.parse::<u16>()
                        .map_err(|_| format!("`{s}`: `{p}` is not a port"))?,
                ),
            ),
            _ => (s.clone(), None),
        };
        if host.is_empty() || host.contains('/') || host.contains('*') {
            return Err(format!(
                "`{s}` must be a host name or address, with an optional port"
            ));
        }
        Ok(Self { host, port })
    }

    /// Without a port the pattern allows the scheme's default port only.
    pub fn allows(&self, host: &str, port: u16, default_port: u16) -> bool {
        self.host.eq_ignore_ascii_case(host) && self.port.unwrap_or(default_port) == port
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "demo"
version = "0.1.0"
channels = ["sms"]
allowed_hosts = ["api.example.com", "127.0.0.1:8080"]
capabilities = ["http"]
[[settings]]
key = "token"
required = true
secret = true
"#;

    #[test]
    fn a_valid_manifest_parses() {
        let m = Manifest::parse("demo.toml", GOOD).unwrap();
        assert_eq!(m.transports(), vec![Transport::Sms]);
        assert!(m.setting("token").unwrap().secret);
        assert!(m.capabilities.contains(&Capability::Http));
    }

    #[test]
    fn bad_manifests_name_the_fault() {
        let cases = [
            (GOOD.replace("\"demo\"", "\"Demo!\""), "name"),
            (GOOD.replace("[\"sms\"]", "[\"fax\"]"), "fax"),
            (GOOD.replace("[\"sms\"]", "[\"phone\"]"), "cannot carry"),
            (
                GOOD.replace("127.0.0.1:8080", "127.0.0.1:http"),
                "not a port",
            ),
            (
                GOOD.replace("capabilities = [\"http\"]", "capabilities = [\"disk\"]"),
                "disk",
            ),
            (format!("{GOOD}\nextra = 1"), "extra"),
        ];
        for (text, needle) in cases {
            let e = Manifest::parse("demo.toml", &text).unwrap_err().to_string();
            assert!(e.contains(needle), "`{e}` should mention `{needle}`");
            assert!(e.starts_with("demo.toml: "), "{e}");
        }
    }

    #[test]
    fn host_patterns_default_to_the_scheme_port() {
        let p = HostPattern::parse("API.example.com").unwrap();
        assert!(p.allows("api.example.com", 443, 443));
        assert!(!p.allows("api.example.com", 8443, 443));
        assert!(!p.allows("evil.example.com", 443, 443));
        let p = HostPattern::parse("127.0.0.1:9000").unwrap();
        assert!(p.allows("127.0.0.1", 9000, 80));
        assert!(!p.allows("127.0.0.1", 80, 80));
    }
}
