//! What every request handler shares.

use std::sync::Arc;

use crate::auth::SignInThrottle;
use crate::config::Config;
use crate::delivery::inbound::Intake;
use crate::delivery::outbox::OutboxSignal;
use crate::delivery::transports::Transports;
use crate::events::EventBus;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub bus: Arc<EventBus>,
    /// The loaded plugins and which of them carries what for each tenant.
    pub transports: Transports,
    /// Wakes the outbox worker when a message is queued.
    pub outbox: OutboxSignal,
    /// The hub's address as providers reach it (webhook signatures cover it).
    pub public_url: String,
    /// What inbound messages are stored with: the file store, the phone region.
    pub intake: Arc<Intake>,
    /// Wrong passwords per account; this process's own count.
    pub sign_in: Arc<SignInThrottle>,
}
