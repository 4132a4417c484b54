//! The messaging hub of the CRM: every customer's profile and one
//! conversation per customer across SMS, WhatsApp, Telegram, e-mail,
//! Instagram and the website widget.
//!
//! Layers point one way: `api` → `events` → `store` → `domain`.

pub mod api;
pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod delivery;
pub mod demo;
pub use hub_domain as domain;
pub mod events;
pub mod files;
pub mod plugins;
pub mod privacy;
pub mod retention;
pub mod search;
pub mod store;
