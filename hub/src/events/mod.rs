//! The event log's fan-out: every committed event, in log order, to every
//! live subscriber of its tenant.
//!
//! One tailer per hub process reads the persisted log by cursor (`seq`),
//! woken at once by this process's commits and polling for other processes'
//! (so several hubs on one database all see every event without relying on
//! SurrealDB live queries). It loads each event's message, chat or client
//! once (a page's messages and their chats in one round trip) and
//! broadcasts it; subscribers filter what they asked for.

mod bus;
mod enrich;
mod tailer;

pub use bus::{EventBus, HubEvent};
pub use enrich::load_page;
pub use tailer::spawn_tailer;
