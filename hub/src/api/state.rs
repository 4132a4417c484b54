//! What every request handler shares.

use std::sync::Arc;

use crate::config::Config;
use crate::events::EventBus;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub bus: Arc<EventBus>,
}
