//! The simulated customers: the receiving end of the `webhook` plugin in demo
//! mode. Each message the team sends is accepted with the plugin's exact
//! wire format (signed both ways), reported delivered and read through the
//! status callback, and answered a few seconds later as an inbound message,
//! as a real person on a real channel would.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::sample::reply_to;
use crate::delivery::webhooks::signature;

/// Shared by the endpoint and the seeding.
pub struct Customers {
    pub secret: String,
    /// The hub's own inbound webhook for the demo tenant.
    pub inbound_url: String,
    /// Off while the sample conversations are written, so they read as scripted.
    pub replying: AtomicBool,
    pub http: reqwest::Client,
}

#[derive(Deserialize)]
struct Outbound {
    id: String,
    channel: String,
    to: String,
    text: String,
    status_callback_url: String,
}

/// Answers like the integration the plugin talks to: 401 on a bad
/// signature, 400 on a body it cannot read, else `{"id": …}`.
pub async fn receive(
    State(customers): State<Arc<Customers>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, (StatusCode, String)> {
    let signed = headers
        .get("x-hub-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !verify(&customers.secret, signed, &body) {
        return Err((StatusCode::UNAUTHORIZED, "bad signature".into()));
    }
    let message: Outbound = serde_json::from_slice(&body)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("unreadable message: {e}")))?;
    let provider_id = format!("demo-{}", message.id);
    tokio::spawn(behave(customers.clone(), message, provider_id.clone()));
    Ok(Json(json!({ "id": provider_id })))
}

fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let Some(t) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split(',').next())
        .and_then(|t| t.parse::<i64>().ok())
    else {
        return false;
    };
    let Some(at) = chrono::DateTime::from_timestamp(t, 0) else {
        return false;
    };
    // Comparing the whole header: both sides are hex of the same length.
    signature(secret, at, body).as_bytes() == header.as_bytes()
}

/// Delivered after a moment, read a little later, then an answer.
async fn behave(customers: Arc<Customers>, m: Outbound, provider_id: String) {
    tokio::time::sleep(Duration::from_millis(700)).await;
    post(
        &customers,
        &m.status_callback_url,
        &json!({ "type": "status", "id": provider_id, "state": "delivered" }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    post(
        &customers,
        &m.status_callback_url,
        &json!({ "type": "status", "id": provider_id, "state": "read" }),
    )
    .await;
    if !customers.replying.load(Ordering::Relaxed) {
        return;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let reply = json!({
        "type": "message",
        "id": format!("reply-{}", m.id),
        "channel": m.channel,
        "from": { "address": m.to },
        "text": reply_to(&m.text),
    });
    post(&customers, &customers.inbound_url, &reply).await;
}

/// Posts one signed event to the hub; the demo logs what it could not post.
pub async fn post(customers: &Customers, url: &str, event: &serde_json::Value) -> bool {
    let body = serde_json::to_vec(event).expect("JSON");
    let signed = signature(&customers.secret, chrono::Utc::now(), &body);
    match customers
        .http
        .post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature", signed)
        .body(body)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => true,
        Ok(r) => {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            tracing::warn!(%status, %text, "demo: the hub refused a simulated customer's event");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "demo: cannot reach the hub");
            false
        }
    }
}
