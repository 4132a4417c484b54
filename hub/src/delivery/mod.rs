//! Background delivery: webhooks to integrations (and, with the plugin host,
//! the outbox of provider messages).

pub mod webhooks;
