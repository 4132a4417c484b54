//! The provider at the far end of the generic webhook plugin: checks each
//! POST's signature as a receiving system must, notes when each message
//! arrived, and answers with the provider's id for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SECRET: &str = "bench-webhook-secret-0123456789";

#[derive(Default)]
struct Inner {
    /// Message text → when it arrived.
    arrived: Mutex<HashMap<String, Instant>>,
    rejected: Mutex<usize>,
}

#[derive(Clone)]
pub struct Provider {
    inner: Arc<Inner>,
    pub addr: std::net::SocketAddr,
}

impl Provider {
    pub async fn start() -> anyhow::Result<Self> {
        let inner = Arc::new(Inner::default());
        let app = axum::Router::new()
            .route("/in", axum::routing::post(take))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { inner, addr })
    }

    pub fn url(&self) -> String {
        format!("http://{}/in", self.addr)
    }

    /// When the message with this text arrived, if it has.
    pub fn arrival(&self, text: &str) -> Option<Instant> {
        self.inner.arrived.lock().expect("lock").get(text).copied()
    }

    pub fn arrived(&self) -> usize {
        self.inner.arrived.lock().expect("lock").len()
    }

    pub fn rejected(&self) -> usize {
        *self.inner.rejected.lock().expect("lock")
    }
}

/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, the plugin's scheme.
pub fn sign(body: &[u8]) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    format!("t={t},v1={}", mac_hex(t, body))
}

fn mac_hex(t: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn verified(headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(header) = headers.get("x-hub-signature").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<u64>().ok(),
            Some(("v1", x)) => v1 = Some(x),
            _ => {}
        }
    }
    matches!((t, v1), (Some(t), Some(v1)) if mac_hex(t, body) == v1)
}

async fn take(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let at = Instant::now();
    if !verified(&headers, &body) {
        *inner.rejected.lock().expect("lock") += 1;
        return (StatusCode::UNAUTHORIZED, "bad signature".into());
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON".into());
    };
    let text = v["text"].as_str().unwrap_or_default().to_owned();
    let id = v["id"].as_str().unwrap_or_default().to_owned();
    inner.arrived.lock().expect("lock").insert(text, at);
    (
        StatusCode::OK,
        serde_json::json!({ "id": format!("fake-{id}") }).to_string(),
    )
}
