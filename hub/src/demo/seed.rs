//! Writes the sample workspace through the hub's own API.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::customer::{Customers, post};
use super::sample::{PEOPLE, TEAM, TEAM_PASSWORD, TEMPLATES};
use crate::auth::new_token;
use crate::domain::events::Actor;
use crate::domain::user::Role;
use crate::store::tokens::TokenKind;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("no tenant `{0}` to fill")]
    NoTenant(String),
    #[error("tenant `{0}` has no admin to write the sample data as")]
    NoAdmin(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the hub answered {operation}: {detail}")]
    Api { operation: String, detail: String },
    #[error(
        "the simulated customers could not post to the hub (is the webhook plugin in plugins.dir?)"
    )]
    Inbound,
}

/// A GraphQL client acting as one user, with a short-lived token of its own.
struct Api<'a> {
    url: String,
    token: String,
    http: &'a reqwest::Client,
}

impl Api<'_> {
    async fn call(
        &self,
        operation: &str,
        query: &str,
        variables: Value,
    ) -> Result<Value, SeedError> {
        let failed = |detail: String| SeedError::Api {
            operation: operation.to_owned(),
            detail,
        };
        let request =
            serde_json::to_vec(&json!({ "query": query, "variables": variables })).expect("JSON");
        let answer = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(request)
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?
            .bytes()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let body: Value = serde_json::from_slice(&answer).map_err(|e| failed(e.to_string()))?;
        if let Some(errors) = body.get("errors") {
            return Err(failed(errors.to_string()));
        }
        Ok(body["data"].clone())
    }
}

pub async fn seed(
    store: &Store,
    slug: &str,
    hub_url: &str,
    customers: &Customers,
) -> Result<(), SeedError> {
    let tenant = store
        .tenant_by_slug(slug)
        .await?
        .ok_or_else(|| SeedError::NoTenant(slug.into()))?;
    let tenants = store.tenant(tenant.id);
    let users = tenants.users().await?;
    let admin = users
        .iter()
        .find(|u| u.role == Role::Admin && u.active)
        .ok_or_else(|| SeedError::NoAdmin(slug.into()))?;
    // The sample data is written as the admin, with a token that lives only
    // as long as the seeding.
    let issued = new_token();
    let now = Utc::now();
    let token = tenants
        .create_token(
            &issued.hash,
            admin.id,
            TokenKind::Api,
            Some("demo sample data"),
            Some(now + Duration::minutes(10)),
            &Actor::System,
            now,
        )
        .await?;
    let api = Api {
        url: format!("{hub_url}/graphql"),
        token: issued.secret,
        http: &customers.http,
    };
    let result = async {
        let existing = api
            .call(
                "clients",
                "query { clients(first: 1) { nodes { id } } }",
                json!({}),
            )
            .await?;
        if existing["clients"]["nodes"]
            .as_array()
            .is_some_and(|n| !n.is_empty())
        {
            tracing::info!("demo: tenant `{slug}` already has clients; nothing added");
            return Ok(());
        }
        write(&api, &users, customers).await
    }
    .await;
    tenants.revoke_token(token.id, None, &Actor::System).await?;
    result
}

async fn write(
    admin: &Api<'_>,
    users: &[crate::domain::user::User],
    customers: &Customers,
) -> Result<(), SeedError> {
    for t in TEMPLATES {
        admin
            .call(
                "createTemplate",
                "mutation ($n: String!, $t: String!) { createTemplate(name: $n, text: $t) { id } }",
                json!({ "n": t.name, "t": t.text }),
            )
            .await?;
    }
    for (name, email, role) in TEAM {
        if users.iter().any(|u| u.email == *email) {
            continue;
        }
        admin
            .call(
                "createUser",
                "mutation ($i: CreateUserInput!) { createUser(input: $i) { id } }",
                json!({ "i": { "name": name, "email": email, "role": role, "password": TEAM_PASSWORD } }),
            )
            .await?;
    }
    for (n, person) in PEOPLE.iter().enumerate() {
        let contacts: Vec<Value> = person
            .contacts
            .iter()
            .map(|(kind, value)| json!({ "kind": kind, "value": value }))
            .collect();
        let client = admin
            .call(
                "createClient",
                "mutation ($i: CreateClientInput!) { createClient(input: $i) { id } }",
                json!({ "i": { "firstName": person.first, "lastName": person.last, "notes": person.notes, "contacts": contacts } }),
            )
            .await?;
        let chat = admin
            .call(
                "openChat",
                "mutation ($c: ID!) { openChat(clientId: $c) { id } }",
                json!({ "c": client["createClient"]["id"] }),
            )
            .await?;
        let chat_id = chat["openChat"]["id"].clone();
        let (kind, address) = person.contacts[0];
        let channel = match kind {
            "PHONE" => "sms".to_owned(),
            other => other.to_lowercase(),
        };
        for (step, (said, answer)) in person.exchange.iter().enumerate() {
            let event = json!({
                "type": "message",
                "id": format!("sample-{n}-{step}"),
                "channel": channel,
                "from": { "address": address, "name": format!("{} {}", person.first, person.last) },
                "text": said,
            });
            if !post(customers, &customers.inbound_url, &event).await {
                return Err(SeedError::Inbound);
            }
            if let Some(answer) = answer {
                admin
                    .call(
                        "sendMessage",
                        "mutation ($c: ID!, $t: String!) { sendMessage(input: { chatId: $c, text: $t }) { id } }",
                        json!({ "c": chat_id, "t": answer }),
                    )
                    .await?;
            }
        }
        // Every third conversation has been read; the rest wait in the inbox.
        if n % 3 == 0 {
            let last = admin
                .call(
                    "history",
                    "query ($c: ID!) { chat(id: $c) { messages(first: 1) { nodes { id } } } }",
                    json!({ "c": chat_id }),
                )
                .await?;
            admin
                .call(
                    "markRead",
                    "mutation ($c: ID!, $m: ID!) { markRead(chatId: $c, upTo: $m) { id } }",
                    json!({ "c": chat_id, "m": last["chat"]["messages"]["nodes"][0]["id"] }),
                )
                .await?;
        }
    }
    tracing::info!(
        clients = PEOPLE.len(),
        templates = TEMPLATES.len(),
        "demo: sample workspace written"
    );
    Ok(())
}
