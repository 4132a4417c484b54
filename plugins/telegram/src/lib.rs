//! Telegram Bot API.
//!
//! Outbound: `sendMessage` with `chat_id` and `text` (texts over 4,096 UTF-16
//! units go as several messages, in order), then `sendPhoto` for images and
//! `sendDocument` for other files, each by URL. The provider's id of a
//! message is `<chat id>:<message id>`, since Telegram numbers messages per
//! chat. Telegram reports no delivery, so a message Telegram took is `sent`.
//!
//! Inbound, as `mode` says: by webhook (`setWebhook` with `secret_token`,
//! checked against `X-Telegram-Bot-Api-Secret-Token`), or by long polling
//! (`getUpdates` with `offset`, through the hub's `poll`). The contact is the
//! chat id; the sender's username comes with it.

use hub_plugin_sdk::codec::json_decode;
use hub_plugin_sdk::http::Request;
use hub_plugin_sdk::settings::Settings;
use hub_plugin_sdk::signature::constant_time_eq;
use hub_plugin_sdk::text::split_utf16;
use hub_plugin_sdk::types::*;
use hub_plugin_sdk::webhook::{header, ok};
use hub_plugin_sdk::{Provider, export_provider};
use serde::Deserialize;
use serde_json::{Value, json};
use std::cell::RefCell;

const API: &str = "https://api.telegram.org";
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// The longest text `sendMessage` takes, in UTF-16 code units.
const MAX_TEXT: usize = 4096;
/// How long to wait before asking again in webhook mode, where `poll` has nothing to do.
const IDLE_POLL_MS: u64 = 600_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Webhook,
    Polling,
}

struct Config {
    token: String,
    mode: Mode,
    webhook_secret: Option<String>,
    poll_timeout_secs: u64,
}

thread_local! {
    static CONFIG: RefCell<Option<Config>> = const { RefCell::new(None) };
}

fn with_config<T>(f: impl FnOnce(&Config) -> T) -> Option<T> {
    CONFIG.with(|c| c.borrow().as_ref().map(f))
}

fn parse_config(settings: Vec<Setting>) -> Result<Config, String> {
    let s = Settings::new(settings);
    let token = s.require("bot_token")?.trim().to_owned();
    let valid_token = token.split_once(':').is_some_and(|(id, key)| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && key.len() >= 30
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    });
    if !valid_token {
        return Err(
            "setting `bot_token` must be the token @BotFather gave, `<bot id>:<key>`".into(),
        );
    }
    let mode = match s.get("mode").map(str::trim) {
        None | Some("webhook") => Mode::Webhook,
        Some("polling") => Mode::Polling,
        Some(other) => {
            return Err(format!(
                "setting `mode` must be `webhook` or `polling`, got `{other}`"
            ));
        }
    };
    let webhook_secret = s.get("webhook_secret").map(str::to_owned);
    if let Some(w) = &webhook_secret
        && (w.len() > 256
            || !w
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    {
        return Err(
            "setting `webhook_secret` must be 1-256 characters of A-Z, a-z, 0-9, `_` and `-`"
                .into(),
        );
    }
    if mode == Mode::Webhook && webhook_secret.as_deref().is_none_or(|w| w.len() < 16) {
        return Err(
            "setting `webhook_secret` is required in webhook mode, at least 16 characters".into(),
        );
    }
    let poll_timeout_secs = match s.get("poll_timeout_secs") {
        None => 20,
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= 50)
            .ok_or_else(|| format!("setting `poll_timeout_secs` must be 0 to 50, got `{v}`"))?,
    };
    Ok(Config {
        token,
        mode,
        webhook_secret,
        poll_timeout_secs,
    })
}

/// Every Bot API answer: `ok`, then `result` or the error.
#[derive(Deserialize)]
struct Answer<T> {
    ok: bool,
    result: Option<T>,
    error_code: Option<u16>,
    description: Option<String>,
    parameters: Option<ResponseParameters>,
}

#[derive(Deserialize)]
struct ResponseParameters {
    retry_after: Option<u64>,
}

#[derive(Deserialize)]
struct SentMessage {
    message_id: i64,
}

#[derive(Deserialize)]
struct Update {
    update_id: i64,
    message: Option<TgMessage>,
}

#[derive(Deserialize)]
struct TgMessage {
    message_id: i64,
    date: Option<u64>,
    chat: Chat,
    from: Option<User>,
    text: Option<String>,
    caption: Option<String>,
    #[serde(default)]
    photo: Vec<PhotoSize>,
    document: Option<Document>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    title: Option<String>,
}

#[derive(Deserialize)]
struct User {
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Deserialize)]
struct PhotoSize {
    file_id: String,
    file_size: Option<u64>,
}

#[derive(Deserialize)]
struct Document {
    file_id: String,
    file_name: Option<String>,
    mime_type: Option<String>,
    file_size: Option<u64>,
}

fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let name = [first, last]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

/// One Telegram message as the hub's inbound message.
fn inbound(m: TgMessage) -> InboundMessage {
    let from = m.from.as_ref();
    let username = from
        .and_then(|u| u.username.clone())
        .or_else(|| m.chat.username.clone());
    let display_name = from
        .and_then(|u| full_name(u.first_name.as_deref(), u.last_name.as_deref()))
        .or_else(|| full_name(m.chat.first_name.as_deref(), m.chat.last_name.as_deref()))
        .or_else(|| m.chat.title.clone());
    // Files are kept by id: fetching one needs the bot token in the URL,
    // which must not be stored with the message.
    let mut attachments = Vec::new();
    if let Some(p) = m.photo.last() {
        attachments.push(Attachment {
            url: format!("telegram:file/{}", p.file_id),
            content_type: "image/jpeg".into(),
            file_name: None,
            size: p.file_size.unwrap_or(0),
            content: None,
        });
    }
    if let Some(d) = &m.document {
        attachments.push(Attachment {
            url: format!("telegram:file/{}", d.file_id),
            content_type: d
                .mime_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            file_name: d.file_name.clone(),
            size: d.file_size.unwrap_or(0),
            content: None,
        });
    }
    InboundMessage {
        channel: Channel::Telegram,
        provider_message_id: format!("{}:{}", m.chat.id, m.message_id),
        sender: InboundSender {
            address: m.chat.id.to_string(),
            display_name,
            username,
        },
        text: m.text.or(m.caption).unwrap_or_default(),
        attachments,
        sent_at_ms: m.date.map(|d| d.saturating_mul(1000)),
    }
}

/// Calls a Bot API method with a JSON body and reads its `result`.
fn call<T: serde::de::DeserializeOwned>(
    token: &str,
    method: &str,
    body: &Value,
    timeout_ms: u64,
) -> Result<T, SendError> {
    let response = Request::post(&format!("{API}/bot{token}/{method}"))
        .json(body)
        .timeout_ms(timeout_ms)
        .send()?;
    let status = response.status;
    let answer: Answer<T> = match response.json() {
        Ok(a) => a,
        Err(e) if status >= 500 => {
            return Err(SendError::Retryable(RetryHint {
                reason: format!("Telegram HTTP {status}: {e}"),
                after_ms: response.retry_after_ms(),
            }));
        }
        Err(e) => return Err(SendError::Permanent(e)),
    };
    if answer.ok
        && let Some(result) = answer.result
    {
        return Ok(result);
    }
    let code = answer.error_code.unwrap_or(status);
    let description = answer
        .description
        .unwrap_or_else(|| "no description".into());
    let reason = format!("Telegram {method} {code}: {description}");
    let after_ms = answer
        .parameters
        .and_then(|p| p.retry_after)
        .map(|s| s.saturating_mul(1000))
        .or_else(|| response.retry_after_ms());
    Err(match code {
        429 => SendError::RateLimited(RetryHint { reason, after_ms }),
        // "Forbidden: bot was blocked by the user", "user is deactivated".
        403 => SendError::OptedOut(reason),
        // A wrong token: Telegram answers 401, or 404 for a malformed one.
        401 | 404 => SendError::Unauthorized(reason),
        500..=599 => SendError::Retryable(RetryHint { reason, after_ms }),
        _ => SendError::Permanent(reason),
    })
}

fn token() -> Result<(String, Mode, u64), SendError> {
    with_config(|c| (c.token.clone(), c.mode, c.poll_timeout_secs))
        .ok_or_else(|| SendError::Unauthorized("the plugin is not configured".into()))
}

/// The provider; natively (fuzz targets, tests) called as plain Rust through [`hub_plugin_sdk::Provider`].
pub struct Telegram;

impl Provider for Telegram {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "telegram".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            channels: vec![Channel::Telegram],
        }
    }

    fn configure(settings: Vec<Setting>) -> Result<(), String> {
        let c = parse_config(settings)?;
        CONFIG.with(|slot| *slot.borrow_mut() = Some(c));
        Ok(())
    }

    fn send(message: OutboundMessage) -> Result<Sent, SendError> {
        let (token, _, _) = token()?;
        let chat_id: i64 = message.recipient.trim().parse().map_err(|_| {
            SendError::Permanent(format!(
                "`{}` is not a Telegram chat id: the customer must write to the bot first",
                message.recipient
            ))
        })?;
        let mut first: Option<i64> = None;
        if !message.text.is_empty() {
            for part in split_utf16(&message.text, MAX_TEXT) {
                let sent: SentMessage = call(
                    &token,
                    "sendMessage",
                    &json!({ "chat_id": chat_id, "text": part }),
                    20_000,
                )?;
                first.get_or_insert(sent.message_id);
            }
        }
        for a in &message.attachments {
            let (method, field) = if a.content_type.starts_with("image/") {
                ("sendPhoto", "photo")
            } else {
                ("sendDocument", "document")
            };
            let sent: SentMessage = call(
                &token,
                method,
                &json!({ "chat_id": chat_id, field: a.url }),
                20_000,
            )?;
            first.get_or_insert(sent.message_id);
        }
        let id = first.ok_or_else(|| SendError::Permanent("the message is empty".into()))?;
        Ok(Sent {
            provider_message_id: format!("{chat_id}:{id}"),
            state: DeliveryState::Sent,
        })
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookResult, WebhookError> {
        let Some((mode, secret)) = with_config(|c| (c.mode, c.webhook_secret.clone())) else {
            return Err(WebhookError::Unauthenticated(
                "the plugin is not configured for this tenant".into(),
            ));
        };
        let Some(secret) = secret.filter(|_| mode == Mode::Webhook) else {
            return Err(WebhookError::Unauthenticated(
                "this tenant's Telegram bot uses polling, not the webhook".into(),
            ));
        };
        let given = header(&request, SECRET_HEADER).ok_or_else(|| {
            WebhookError::Unauthenticated(
                "the X-Telegram-Bot-Api-Secret-Token header is missing".into(),
            )
        })?;
        if !constant_time_eq(given.as_bytes(), secret.as_bytes()) {
            return Err(WebhookError::Unauthenticated(
                "X-Telegram-Bot-Api-Secret-Token does not match `webhook_secret`".into(),
            ));
        }
        if request.method != "POST" {
            return Err(WebhookError::Malformed(format!(
                "expected POST, got {}",
                request.method
            )));
        }
        let update: Update = json_decode(&request.body).map_err(WebhookError::Malformed)?;
        Ok(WebhookResult {
            response: ok(),
            messages: update.message.map(inbound).into_iter().collect(),
            statuses: Vec::new(),
        })
    }

    fn poll(cursor: Option<String>) -> Result<PollResult, SendError> {
        let (token, mode, timeout) = token()?;
        if mode == Mode::Webhook {
            return Ok(PollResult {
                messages: Vec::new(),
                statuses: Vec::new(),
                cursor,
                next_poll_ms: Some(IDLE_POLL_MS),
            });
        }
        let offset = match cursor.as_deref() {
            None => None,
            Some(c) => Some(c.parse::<i64>().map_err(|_| {
                SendError::Permanent(format!("the stored cursor `{c}` is not an update id"))
            })?),
        };
        let mut body = json!({ "timeout": timeout, "allowed_updates": ["message"] });
        if let Some(o) = offset {
            body["offset"] = json!(o);
        }
        let updates: Vec<Update> = call(
            &token,
            "getUpdates",
            &body,
            timeout.saturating_mul(1000) + 10_000,
        )?;
        let next = updates.iter().map(|u| u.update_id + 1).max().or(offset);
        Ok(PollResult {
            messages: updates
                .into_iter()
                .filter_map(|u| u.message)
                .map(inbound)
                .collect(),
            statuses: Vec::new(),
            cursor: next.map(|n| n.to_string()),
            // A long poll waits on Telegram's side: ask again at once.
            next_poll_ms: (timeout > 0).then_some(0),
        })
    }
}

export_provider!(Telegram);
