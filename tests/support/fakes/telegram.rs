//! The Telegram Bot API, as documented: `POST /bot<token>/<method>` with a
//! JSON body, answers `{"ok": true, "result": ...}` or `{"ok": false,
//! "error_code", "description", "parameters": {"retry_after"}}`; `getUpdates`
//! long-polls with `offset` and `timeout` and forgets updates below the offset;
//! a second `getUpdates` while one is waiting ends the first with `409
//! Conflict: terminated by other getUpdates request` (two bot instances).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Canned, Log, Recorded, serve};

pub const BOT_TOKEN: &str = "123456789:AAEhBP0av28Zw8mZ1YwTxxQvlHqzJMgKrUk";
pub const WEBHOOK_SECRET: &str = "tg-webhook-secret-0123456789";

pub struct Telegram {
    pub url: String,
    state: Arc<FakeState>,
}

#[derive(Default)]
struct FakeState {
    log: Log,
    next_message_id: AtomicI64,
    updates: Mutex<VecDeque<Value>>,
    notify: tokio::sync::Notify,
    /// The newest `getUpdates` call; an older one still waiting is ended.
    poll_generation: AtomicU64,
    conflicts: AtomicUsize,
}

/// The Bot API's error body.
pub fn error(code: u16, description: &str, retry_after: Option<u64>) -> Canned {
    let mut body = json!({ "ok": false, "error_code": code, "description": description });
    if let Some(s) = retry_after {
        body["parameters"] = json!({ "retry_after": s });
    }
    Canned::json(code, body)
}

/// A private-chat text message update, as Telegram sends it.
pub fn text_update(update_id: i64, chat_id: i64, message_id: i64, text: &str) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": { "id": chat_id, "is_bot": false, "first_name": "Olga", "last_name": "Ivanova", "username": "olga_iv", "language_code": "en" },
            "chat": { "id": chat_id, "first_name": "Olga", "last_name": "Ivanova", "username": "olga_iv", "type": "private" },
            "date": 1_700_000_000,
            "text": text,
        }
    })
}

/// Posts `update` to the hub at `hub_url` as Telegram's webhook call does,
/// with `secret` as its secret token; returns the status.
pub async fn post_update(hub_url: &str, update: &Value, secret: Option<&str>) -> u16 {
    let mut req = reqwest::Client::new()
        .post(format!("{hub_url}/webhooks/telegram/default"))
        .header("content-type", "application/json")
        .body(update.to_string());
    if let Some(s) = secret {
        req = req.header("x-telegram-bot-api-secret-token", s);
    }
    req.send().await.unwrap().status().as_u16()
}

impl Telegram {
    pub async fn start() -> Self {
        let state = Arc::new(FakeState::default());
        state.next_message_id.store(100, Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/{bot}/{method}", axum::routing::post(method))
            .with_state(state.clone());
        let url = serve(app).await;
        Self { url, state }
    }

    pub fn hub_env(&self) -> Vec<(String, String)> {
        vec![(
            "HUB_PLUGIN__TELEGRAM__HOSTS__API.TELEGRAM.ORG".into(),
            self.url.clone(),
        )]
    }

    /// Answers the next send (not `getUpdates`) with `answer`.
    pub fn queue(&self, answer: Canned) {
        self.state.log.queue(answer);
    }

    /// An update for `getUpdates` to hand out.
    pub fn push_update(&self, update: Value) {
        self.state.updates.lock().unwrap().push_back(update);
        self.state.notify.notify_waiters();
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.log.requests()
    }

    /// How many `getUpdates` calls were ended by another one.
    pub fn conflicts(&self) -> usize {
        self.state.conflicts.load(Ordering::SeqCst)
    }

    pub async fn wait_for(&self, method: &str, n: usize) -> Vec<Recorded> {
        self.state
            .log
            .wait_for(&format!("/{method}"), n, Duration::from_secs(20))
            .await
    }
}

fn ok(result: Value) -> Response {
    Canned::json(200, json!({ "ok": true, "result": result })).into_response()
}

async fn method(
    State(state): State<Arc<FakeState>>,
    Path((bot, method)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    verb: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = state.log.record(verb, &uri, headers, body);
    if bot.strip_prefix("bot") != Some(BOT_TOKEN) {
        return error(401, "Unauthorized", None).into_response();
    }
    let Ok(params) = serde_json::from_slice::<Value>(&r.body) else {
        return error(400, "Bad Request: can't parse JSON", None).into_response();
    };
    match method.as_str() {
        "getUpdates" => get_updates(&state, &params).await,
        "sendMessage" | "sendPhoto" | "sendDocument" => {
            let Some(chat_id) = params["chat_id"].as_i64() else {
                return error(400, "Bad Request: chat_id is empty", None).into_response();
            };
            match method.as_str() {
                "sendMessage" => {
                    let text = params["text"].as_str().unwrap_or_default();
                    if text.is_empty() {
                        return error(400, "Bad Request: message text is empty", None)
                            .into_response();
                    }
                    if text.encode_utf16().count() > 4096 {
                        return error(400, "Bad Request: message is too long", None)
                            .into_response();
                    }
                }
                "sendPhoto" if params["photo"].as_str().is_none() => {
                    return error(400, "Bad Request: there is no photo in the request", None)
                        .into_response();
                }
                "sendDocument" if params["document"].as_str().is_none() => {
                    return error(
                        400,
                        "Bad Request: there is no document in the request",
                        None,
                    )
                    .into_response();
                }
                _ => {}
            }
            if let Some(canned) = state.log.next_canned() {
                return canned.into_response();
            }
            let id = state.next_message_id.fetch_add(1, Ordering::SeqCst);
            ok(json!({
                "message_id": id,
                "from": { "id": 123456789, "is_bot": true, "first_name": "Hub", "username": "hub_bot" },
                "chat": { "id": chat_id, "type": "private" },
                "date": 1_700_000_100,
                "text": params["text"],
            }))
        }
        _ => error(404, "Not Found: method not found", None).into_response(),
    }
}

async fn get_updates(state: &FakeState, params: &Value) -> Response {
    let offset = params["offset"].as_i64();
    let timeout = params["timeout"].as_u64().unwrap_or(0).min(50);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    let generation = state.poll_generation.fetch_add(1, Ordering::SeqCst) + 1;
    state.notify.notify_waiters();
    loop {
        let notified = state.notify.notified();
        if state.poll_generation.load(Ordering::SeqCst) != generation {
            state.conflicts.fetch_add(1, Ordering::SeqCst);
            return error(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                None,
            )
            .into_response();
        }
        {
            let mut updates = state.updates.lock().unwrap();
            // Asking with an offset confirms every update below it.
            if let Some(o) = offset {
                updates.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= o);
            }
            if !updates.is_empty() || tokio::time::Instant::now() >= deadline {
                return ok(Value::Array(updates.iter().cloned().collect()));
            }
        }
        let _ = tokio::time::timeout_at(deadline, notified).await;
    }
}
