//! Background delivery: provider messages through the outbox, inbound
//! webhooks and polls through plugins, and webhooks to integrations.

pub mod inbound;
pub mod opt_out;
pub mod outbox;
pub mod poller;
pub mod transports;
pub mod webhooks;
pub mod website;
