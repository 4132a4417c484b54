//! Reading the settings the hub passes to `configure`.

use crate::types::Setting;

/// The settings of one call, with errors that name the key at fault.
#[derive(Debug, Clone, Default)]
pub struct Settings(Vec<Setting>);

impl Settings {
    pub fn new(settings: Vec<Setting>) -> Self {
        Self(settings)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|s| s.key == key)
            .map(|s| s.value.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The value of `key`, or an error that says it is missing.
    pub fn require(&self, key: &str) -> Result<&str, String> {
        self.get(key)
            .ok_or_else(|| format!("setting `{key}` is required"))
    }

    /// A URL setting: must be http or https.
    pub fn url(&self, key: &str) -> Result<&str, String> {
        let v = self.require(key)?;
        if v.starts_with("https://") || v.starts_with("http://") {
            Ok(v)
        } else {
            Err(format!(
                "setting `{key}` must be an http:// or https:// URL, got `{v}`"
            ))
        }
    }
}
