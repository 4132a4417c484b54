//! The plugin host: providers as sandboxed WebAssembly components behind the
//! `hub:transport` contract (`schema/wit`).
//!
//! Each call gets a fresh instance from a pooling allocator, a memory cap, a
//! CPU budget counted in epoch ticks, a wall-clock timeout and a bounded
//! number of concurrent instances per plugin. A plugin sees no files, no
//! environment and no sockets; its HTTP goes only to the hosts its manifest
//! lists (or the hub's configuration re-points), and its secrets arrive
//! through `configure`.

mod bindings;
pub mod convert;
mod error;
mod host;
pub mod manifest;
mod sandbox;
mod tls;

pub use bindings::types;
pub use error::PluginError;
pub use host::{CallLimits, LoadReport, Plugin, PluginHost, SettingList};
pub use manifest::Manifest;
