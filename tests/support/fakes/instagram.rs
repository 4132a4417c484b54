//! The Graph API's Send API for Instagram messaging, as documented:
//! `POST /{version}/{page-id}/messages` with a JSON body (`recipient.id`,
//! `message.text` or `message.attachment`), the Page access token as a
//! Bearer token or `access_token`; answers `{"recipient_id", "message_id"}`
//! or `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`.
//! Webhooks are signed with `X-Hub-Signature-256` (HMAC-SHA256, app secret).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{Canned, Log, Recorded, serve};

pub const PAGE_ID: &str = "104857600123456";
pub const PAGE_TOKEN: &str = "EAAGm0PX4ZCpsBAFakePageAccessToken0123456789";
pub const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";
pub const VERIFY_TOKEN: &str = "ig-verify-token-42";
pub const IG_ACCOUNT: &str = "17841400000000000";

pub struct Instagram {
    pub url: String,
    state: Arc<FakeState>,
}

#[derive(Default)]
struct FakeState {
    log: Log,
    next_id: AtomicU64,
}

/// The Graph API's error body.
pub fn error(status: u16, code: u32, subcode: Option<u32>, message: &str) -> Canned {
    let mut e = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEfGhIjK",
    });
    if let Some(s) = subcode {
        e["error_subcode"] = json!(s);
    }
    Canned::json(status, json!({ "error": e }))
}

/// `X-Hub-Signature-256` for `body`.
pub fn signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex_encode(&mac.finalize().into_bytes()))
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A webhook notification with one messaging event from `sender`.
pub fn message_event(sender: &str, mid: &str, message: Value) -> Value {
    let mut m = message;
    m["mid"] = json!(mid);
    json!({
        "object": "instagram",
        "entry": [{
            "id": IG_ACCOUNT,
            "time": 1_700_000_000_000u64,
            "messaging": [{
                "sender": { "id": sender },
                "recipient": { "id": IG_ACCOUNT },
                "timestamp": 1_700_000_000_000u64,
                "message": m,
            }]
        }]
    })
}

/// A `read` event: the customer saw our message `mid`.
pub fn read_event(sender: &str, mid: &str) -> Value {
    json!({
        "object": "instagram",
        "entry": [{
            "id": IG_ACCOUNT,
            "time": 1_700_000_000_000u64,
            "messaging": [{
                "sender": { "id": sender },
                "recipient": { "id": IG_ACCOUNT },
                "timestamp": 1_700_000_000_000u64,
                "read": { "mid": mid },
            }]
        }]
    })
}

/// POSTs a notification to the hub as Meta does; `signature` overrides.
pub async fn post_webhook(url: &str, body: &Value, signature_override: Option<&str>) -> u16 {
    let bytes = serde_json::to_vec(body).unwrap();
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(bytes.clone());
    match signature_override {
        Some("") => {}
        Some(s) => req = req.header("x-hub-signature-256", s),
        None => req = req.header("x-hub-signature-256", signature(&bytes)),
    }
    req.send()
        .await
        .expect("POST the webhook")
        .status()
        .as_u16()
}

impl Instagram {
    pub async fn start() -> Self {
        let state = Arc::new(FakeState::default());
        let app = axum::Router::new()
            .route("/{version}/{page}/messages", axum::routing::post(send))
            .with_state(state.clone());
        let url = serve(app).await;
        Self { url, state }
    }

    pub fn hub_env(&self) -> Vec<(String, String)> {
        vec![(
            "HUB_PLUGIN__INSTAGRAM__HOSTS__GRAPH.FACEBOOK.COM".into(),
            self.url.clone(),
        )]
    }

    pub fn queue(&self, answer: Canned) {
        self.state.log.queue(answer);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.log.requests()
    }

    pub async fn wait_for_sends(&self, n: usize) -> Vec<Recorded> {
        self.state
            .log
            .wait_for("/messages", n, Duration::from_secs(20))
            .await
    }
}

async fn send(
    State(state): State<Arc<FakeState>>,
    Path((version, page)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    verb: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = state.log.record(verb, &uri, headers, body);
    let bearer = r
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_owned);
    let param = serde_urlencoded::from_str::<Vec<(String, String)>>(&r.query)
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v);
    match bearer.or(param) {
        None => {
            return error(
                400,
                2500,
                None,
                "An active access token must be used to query information about the current user.",
            )
            .into_response();
        }
        Some(t) if t != PAGE_TOKEN => {
            return error(
                400,
                190,
                None,
                "Invalid OAuth access token - Cannot parse access token",
            )
            .into_response();
        }
        Some(_) => {}
    }
    if !version.starts_with('v') || page != PAGE_ID {
        return error(400, 100, Some(33), "Unsupported post request.").into_response();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&r.body) else {
        return error(400, 100, None, "(#100) Invalid JSON").into_response();
    };
    let Some(recipient) = body["recipient"]["id"].as_str() else {
        return error(400, 100, None, "(#100) The parameter recipient is required").into_response();
    };
    let text = body["message"]["text"].as_str();
    let attachment = &body["message"]["attachment"];
    match (text, attachment.is_object()) {
        (None, false) => {
            return error(400, 100, None, "(#100) The parameter message is required")
                .into_response();
        }
        (Some(t), _) if t.chars().count() > 1000 => {
            return error(
                400,
                100,
                None,
                "(#100) Length of param message[text] must be less than or equal to 1000",
            )
            .into_response();
        }
        _ => {}
    }
    if let Some(canned) = state.log.next_canned() {
        return canned.into_response();
    }
    let n = state.next_id.fetch_add(1, Ordering::SeqCst);
    Canned::json(
        200,
        json!({ "recipient_id": recipient, "message_id": format!("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE{n:08}") }),
    )
    .into_response()
}
