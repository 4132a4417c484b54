//! Demo mode (`hub serve --demo`): the bootstrap tenant filled with a
//! believable sample workspace, and simulated customers behind the `webhook`
//! plugin who take the team's messages and answer them, so the product can
//! be tried without any provider account.
//!
//! Nothing here bypasses the hub: the sample data goes in through the
//! GraphQL API and the plugin's signed inbound webhook, and replies travel
//! the same outbox, plugin and status callbacks as production traffic.

mod customer;
mod sample;
mod seed;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::routing::post;

use crate::config::Config;
use crate::store::Store;

pub use sample::TEAM_PASSWORD;
pub use seed::SeedError;

const CUSTOMER_PATH: &str = "/demo/customers";

pub struct Demo {
    customers: Arc<customer::Customers>,
    hub_url: String,
}

impl Demo {
    /// Points the `webhook` plugin at the simulated customers on this hub's
    /// own address; its settings from the configuration are replaced.
    pub fn enable(config: &mut Config, addr: SocketAddr) -> Demo {
        let hub_url = format!("http://{addr}");
        let secret = crate::bootstrap::generate_password();
        let webhook = config.plugin.entry("webhook".into()).or_default();
        if !webhook.settings.is_empty() {
            tracing::warn!(
                "demo mode replaces [plugin.webhook.settings] with its simulated customers"
            );
        }
        webhook.allow_hosts.push(addr.to_string());
        webhook.settings.clear();
        webhook
            .settings
            .insert("url".into(), format!("{hub_url}{CUSTOMER_PATH}"));
        webhook.settings.insert("secret".into(), secret.clone());
        let inbound_url = format!(
            "{hub_url}/webhooks/webhook/{}",
            config.bootstrap.tenant_slug
        );
        Demo {
            customers: Arc::new(customer::Customers {
                secret,
                inbound_url,
                replying: AtomicBool::new(false),
                http: reqwest::Client::new(),
            }),
            hub_url,
        }
    }

    /// The simulated customers' endpoint, merged into the hub's router.
    pub fn router(&self) -> Router {
        Router::new()
            .route(CUSTOMER_PATH, post(customer::receive))
            .with_state(self.customers.clone())
    }

    /// Fills the bootstrap tenant when it has no clients yet (a later start
    /// keeps what is there), then lets the customers answer.
    pub async fn seed(&self, store: &Store, tenant_slug: &str) -> Result<(), SeedError> {
        let result = seed::seed(store, tenant_slug, &self.hub_url, &self.customers).await;
        self.customers
            .replying
            .store(true, std::sync::atomic::Ordering::Relaxed);
        result
    }
}
