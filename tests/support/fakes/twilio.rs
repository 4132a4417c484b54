//! Twilio's Messages API (2010-04-01) and its webhooks, as documented:
//! `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, a form body, HTTP
//! Basic auth with the Account SID and auth token, a 201 with the Message
//! resource as JSON, and errors as `{"code", "message", "more_info", "status"}`.
//! Status callbacks and incoming messages are form POSTs signed with
//! `X-Twilio-Signature`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha1::Sha1;

use super::{Canned, Log, Recorded, serve};

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "0123456789abcdef0123456789abcdef";
pub const FROM: &str = "+14155550000";

pub struct Twilio {
    pub url: String,
    state: Arc<FakeState>,
}

#[derive(Default)]
struct FakeState {
    log: Log,
    next_sid: AtomicU64,
}

/// Twilio's error body.
pub fn error(status: u16, code: u32, message: &str) -> Canned {
    Canned::json(
        status,
        json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        }),
    )
}

impl Twilio {
    pub async fn start() -> Self {
        let state = Arc::new(FakeState::default());
        let app = axum::Router::new()
            .route(
                "/2010-04-01/Accounts/{sid}/Messages.json",
                axum::routing::post(create_message),
            )
            .with_state(state.clone());
        let url = serve(app).await;
        Self { url, state }
    }

    /// `host:port`, for the hub's `hosts` re-pointing of api.twilio.com.
    pub fn hub_env(&self) -> Vec<(String, String)> {
        vec![(
            "HUB_PLUGIN__TWILIO__HOSTS__API.TWILIO.COM".into(),
            self.url.clone(),
        )]
    }

    /// Answers the next Messages request with `answer` instead of a 201.
    pub fn queue(&self, answer: Canned) {
        self.state.log.queue(answer);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.log.requests()
    }

    pub async fn wait_for_sends(&self, n: usize) -> Vec<Recorded> {
        self.state
            .log
            .wait_for("/Messages.json", n, std::time::Duration::from_secs(20))
            .await
    }
}

/// `X-Twilio-Signature` for a POST of `params` to `url`.
pub fn signature(url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted: Vec<(&str, &str)> = params.to_vec();
    sorted.sort();
    let mut data = url.to_owned();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(AUTH_TOKEN.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// POSTs a signed Twilio webhook (incoming message or status callback) to
/// `url`, as Twilio does; `signature` overrides the computed one.
pub async fn post_webhook(
    url: &str,
    params: &[(&str, &str)],
    signature_override: Option<&str>,
) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("user-agent", "TwilioProxy/1.1")
        .form(params);
    match signature_override {
        Some("") => {}
        Some(s) => req = req.header("x-twilio-signature", s),
        None => req = req.header("x-twilio-signature", signature(url, params)),
    }
    let r = req.send().await.expect("POST the Twilio webhook");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

async fn create_message(
    State(state): State<Arc<FakeState>>,
    Path(sid): Path<String>,
    OriginalUri(uri): OriginalUri,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = state.log.record(method, &uri, headers, body);
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
    );
    if sid != ACCOUNT_SID || r.header("authorization") != Some(expected.as_str()) {
        return error(401, 20003, "Authenticate").into_response();
    }
    if r.header("content-type") != Some("application/x-www-form-urlencoded") {
        return error(400, 20001, "Unsupported content type").into_response();
    }
    let to = r.form_value("To").unwrap_or_default();
    let from = r.form_value("From");
    let service = r.form_value("MessagingServiceSid");
    if to.is_empty() {
        return error(400, 21604, "A 'To' phone number is required.").into_response();
    }
    if from.is_none() && service.is_none() {
        return error(400, 21603, "A 'From' phone number is required.").into_response();
    }
    let body_text = r.form_value("Body").unwrap_or_default();
    let media = r.form_values("MediaUrl");
    if body_text.is_empty() && media.is_empty() {
        return error(400, 21602, "Message body is required.").into_response();
    }
    if body_text.chars().count() > 1600 {
        return error(
            400,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        )
        .into_response();
    }
    if let Some(canned) = state.log.next_canned() {
        return canned.into_response();
    }
    let n = state.next_sid.fetch_add(1, Ordering::SeqCst);
    let message_sid = format!("SM{n:032x}");
    Canned::json(
        201,
        json!({
            "account_sid": ACCOUNT_SID,
            "api_version": "2010-04-01",
            "body": body_text,
            "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
            "date_sent": null,
            "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
            "direction": "outbound-api",
            "error_code": null,
            "error_message": null,
            "from": from,
            "messaging_service_sid": service,
            "num_media": media.len().to_string(),
            "num_segments": "1",
            "price": null,
            "price_unit": null,
            "sid": message_sid,
            "status": "queued",
            "to": to,
            "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message_sid}.json"),
        }),
    )
    .into_response()
}
