//! What can go wrong with a plugin, in words an operator can act on.

/// Every variant names the plugin; none of them is ever the caller's fault,
/// and none of them stops the hub.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PluginError {
    #[error("the plugin engine could not start: {0}")]
    Engine(String),
    #[error("{0}")]
    Load(String),
    #[error("plugin `{0}` was unloaded")]
    Unloaded(String),
    #[error("plugin `{plugin}` refused its settings: {message}")]
    Settings { plugin: String, message: String },
    #[error("plugin `{plugin}` exceeded its CPU deadline of {ms} ms and was stopped")]
    CpuDeadline { plugin: String, ms: u64 },
    #[error("plugin `{plugin}` exceeded its memory limit of {mib} MiB and was stopped")]
    MemoryLimit { plugin: String, mib: usize },
    #[error("plugin `{plugin}` did not finish within {ms} ms and was stopped")]
    Timeout { plugin: String, ms: u64 },
    #[error("plugin `{plugin}` trapped: {detail}")]
    Trap { plugin: String, detail: String },
}
