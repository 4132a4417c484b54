//! The hub's log, tagged with the plugin and the tenant that called it.

use crate::bindings::hub::transport::host::Level;

#[cfg(target_arch = "wasm32")]
use crate::bindings::hub::transport::host::log;

/// Natively (tests, fuzzing) there is no hub to log to: standard error stands in.
#[cfg(not(target_arch = "wasm32"))]
fn log(level: Level, message: &str) {
    eprintln!("{level:?}: {message}");
}

pub fn debug(message: &str) {
    log(Level::Debug, message);
}

pub fn info(message: &str) {
    log(Level::Info, message);
}

pub fn warn(message: &str) {
    log(Level::Warn, message);
}

pub fn error(message: &str) {
    log(Level::Error, message);
}
