//! The generic webhook transport.
//!
//! Outbound: each message is POSTed as JSON to the configured `url` with
//!
//! ```text
//! X-Hub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//! Idempotency-Key: <the message's key, stable across retries>
//! ```
//!
//! A 2xx answer means sent (with `{"id": "..."}` as the provider's id when
//! given); 429 and 5xx are retried, honouring `Retry-After`; 401/403 mean the
//! receiver refused our credentials; any other 4xx fails the message.
//!
//! Inbound: `POST /webhooks/webhook/{tenant}` with the same signature over a
//! JSON object or array of objects:
//!
//! ```json
//! {"type": "message", "id": "ext-1", "channel": "sms",
//!  "from": {"address": "+15551234567", "name": "Ann"}, "text": "Hello"}
//! {"type": "status", "id": "<provider message id>", "state": "delivered"}
//! ```

use hub_plugin_sdk::codec::{json_decode, json_encode};
use hub_plugin_sdk::http::Request;
use hub_plugin_sdk::settings::Settings;
use hub_plugin_sdk::signature::{hmac_sha256_hex, verify_hmac_sha256_hex};
use hub_plugin_sdk::types::*;
use hub_plugin_sdk::{Provider, export_provider, now_ms};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;

const SIGNATURE_HEADER: &str = "x-hub-signature";

struct Config {
    url: String,
    secret: String,
    max_age_secs: u64,
}

thread_local! {
    static CONFIG: RefCell<Option<Config>> = const { RefCell::new(None) };
}

fn config<T>(f: impl FnOnce(&Config) -> T) -> Option<T> {
    CONFIG.with(|c| c.borrow().as_ref().map(f))
}

fn parse_config(settings: Vec<Setting>) -> Result<Config, String> {
    let s = Settings::new(settings);
    let url = s.url("url")?.to_owned();
    let secret = s.require("secret")?.to_owned();
    if secret.len() < 16 {
        return Err("setting `secret` must be at least 16 characters".into());
    }
    let max_age_secs = match s.get("max_age_secs") {
        None => 300,
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=86_400).contains(n))
            .ok_or_else(|| format!("setting `max_age_secs` must be 1 to 86400, got `{v}`"))?,
    };
    Ok(Config {
        url,
        secret,
        max_age_secs,
    })
}

fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Sms => "sms",
        Channel::Whatsapp => "whatsapp",
        Channel::Telegram => "telegram",
        Channel::Email => "email",
        Channel::Instagram => "instagram",
        Channel::Website => "website",
        Channel::Other => "other",
    }
}

fn channel_from(name: &str) -> Option<Channel> {
    Some(match name {
        "sms" => Channel::Sms,
        "whatsapp" => Channel::Whatsapp,
        "telegram" => Channel::Telegram,
        "email" => Channel::Email,
        "instagram" => Channel::Instagram,
        "website" => Channel::Website,
        "other" => Channel::Other,
        _ => return None,
    })
}

#[derive(Serialize)]
struct OutAttachment<'a> {
    url: &'a str,
    content_type: &'a str,
    file_name: Option<&'a str>,
    size: u64,
}

#[derive(Serialize)]
struct OutBody<'a> {
    id: &'a str,
    channel: &'a str,
    to: &'a str,
    text: &'a str,
    attachments: Vec<OutAttachment<'a>>,
    status_callback_url: Option<&'a str>,
}

#[derive(Deserialize)]
struct SendAnswer {
    id: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum InEvent {
    Message {
        id: String,
        channel: String,
        from: InSender,
        #[serde(default)]
        text: String,
        #[serde(default)]
        sent_at_ms: Option<u64>,
    },
    Status {
        id: String,
        state: String,
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        opted_out: bool,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InSender {
    address: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum InBody {
    One(InEvent),
    Many(Vec<InEvent>),
}

fn sign(secret: &str, t: u64, body: &[u8]) -> String {
    let mut data = t.to_string().into_bytes();
    data.push(b'.');
    data.extend_from_slice(body);
    format!("t={t},v1={}", hmac_sha256_hex(secret.as_bytes(), &data))
}

/// Checks `t=..,v1=..` against the body and the allowed age.
fn verify(header: &str, body: &[u8], secret: &str, max_age_secs: u64) -> Result<(), String> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<u64>().ok(),
            Some(("v1", v)) => sigs.push(v),
            _ => {}
        }
    }
    let t = t.ok_or("the signature header has no timestamp `t=`")?;
    let now = now_ms() / 1000;
    if now.abs_diff(t) > max_age_secs {
        return Err(format!(
            "the signature timestamp is {}s away from now (allowed {max_age_secs}s)",
            now.abs_diff(t)
        ));
    }
    let mut data = t.to_string().into_bytes();
    data.push(b'.');
    data.extend_from_slice(body);
    if sigs
        .iter()
        .any(|s| verify_hmac_sha256_hex(secret.as_bytes(), &data, s))
    {
        Ok(())
    } else {
        Err("the signature does not match the body".into())
    }
}

fn retry(reason: String, after_ms: Option<u64>) -> SendError {
    SendError::Retryable(RetryHint { reason, after_ms })
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(200).collect()
}

fn json_response(status: u16, body: &serde_json::Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![Header {
            name: "content-type".into(),
            value: "application/json".into(),
        }],
        body: json_encode(body),
    }
}

/// The provider; natively (fuzz targets, tests) called as plain Rust through [`hub_plugin_sdk::Provider`].
pub struct Webhook;

impl Provider for Webhook {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "webhook".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            channels: vec![
                Channel::Sms,
                Channel::Whatsapp,
                Channel::Telegram,
                Channel::Email,
                Channel::Instagram,
                Channel::Website,
                Channel::Other,
            ],
        }
    }

    fn configure(settings: Vec<Setting>) -> Result<(), String> {
        let c = parse_config(settings)?;
        CONFIG.with(|slot| *slot.borrow_mut() = Some(c));
        Ok(())
    }

    fn send(message: OutboundMessage) -> Result<Sent, SendError> {
        let Some((url, secret)) = config(|c| (c.url.clone(), c.secret.clone())) else {
            return Err(SendError::Unauthorized(
                "the plugin is not configured".into(),
            ));
        };
        let body = json_encode(&OutBody {
            id: &message.idempotency_key,
            channel: channel_name(message.channel),
            to: &message.recipient,
            text: &message.text,
            attachments: message
                .attachments
                .iter()
                .map(|a| OutAttachment {
                    url: &a.url,
                    content_type: &a.content_type,
                    file_name: a.file_name.as_deref(),
                    size: a.size,
                })
                .collect(),
            status_callback_url: message.status_callback_url.as_deref(),
        });
        let signature = sign(&secret, now_ms() / 1000, &body);
        let response = Request::post(&url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, &signature)
            .header("idempotency-key", &message.idempotency_key)
            .body(body)
            .send()?;
        let status = response.status;
        match status {
            200..=299 => {
                let id = response
                    .json::<SendAnswer>()
                    .ok()
                    .and_then(|a| a.id)
                    .filter(|id| !id.is_empty())
                    .unwrap_or(message.idempotency_key);
                Ok(Sent {
                    provider_message_id: id,
                    state: DeliveryState::Sent,
                })
            }
            429 => Err(SendError::RateLimited(RetryHint {
                reason: format!("HTTP 429: {}", excerpt(&response.body)),
                after_ms: response.retry_after_ms(),
            })),
            401 | 403 => Err(SendError::Unauthorized(format!(
                "HTTP {status}: {}",
                excerpt(&response.body)
            ))),
            408 | 500..=599 => Err(retry(
                format!("HTTP {status}: {}", excerpt(&response.body)),
                response.retry_after_ms(),
            )),
            _ => Err(SendError::Permanent(format!(
                "HTTP {status}: {}",
                excerpt(&response.body)
            ))),
        }
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookResult, WebhookError> {
        let Some((secret, max_age)) = config(|c| (c.secret.clone(), c.max_age_secs)) else {
            return Err(WebhookError::Unauthenticated(
                "the plugin is not configured for this tenant".into(),
            ));
        };
        if request.method != "POST" {
            return Err(WebhookError::Malformed(format!(
                "expected POST, got {}",
                request.method
            )));
        }
        let header = request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(SIGNATURE_HEADER))
            .map(|h| h.value.as_str())
            .ok_or_else(|| {
                WebhookError::Unauthenticated("the X-Hub-Signature header is missing".into())
            })?;
        verify(header, &request.body, &secret, max_age).map_err(WebhookError::Unauthenticated)?;
        let events = match json_decode::<InBody>(&request.body).map_err(WebhookError::Malformed)? {
            InBody::One(e) => vec![e],
            InBody::Many(v) => v,
        };
        let mut result = WebhookResult {
            response: json_response(200, &serde_json::json!({ "ok": true })),
            messages: Vec::new(),
            statuses: Vec::new(),
        };
        for (i, event) in events.into_iter().enumerate() {
            match event {
                InEvent::Message {
                    id,
                    channel,
                    from,
                    text,
                    sent_at_ms,
                } => {
                    let channel = channel_from(&channel).ok_or_else(|| {
                        WebhookError::Malformed(format!("event {i}: unknown channel `{channel}`"))
                    })?;
                    if id.trim().is_empty() || from.address.trim().is_empty() {
                        return Err(WebhookError::Malformed(format!(
                            "event {i}: `id` and `from.address` must not be blank"
                        )));
                    }
                    result.messages.push(InboundMessage {
                        channel,
                        provider_message_id: id,
                        sender: InboundSender {
                            address: from.address,
                            display_name: from.name,
                            username: from.username,
                        },
                        text,
                        attachments: Vec::new(),
                        sent_at_ms,
                    });
                }
                InEvent::Status {
                    id,
                    state,
                    reason,
                    opted_out,
                } => {
                    if id.trim().is_empty() {
                        return Err(WebhookError::Malformed(format!(
                            "event {i}: `id` must not be blank"
                        )));
                    }
                    let state = match state.as_str() {
                        "queued" => DeliveryState::Queued,
                        "sent" => DeliveryState::Sent,
                        "delivered" => DeliveryState::Delivered,
                        "read" => DeliveryState::Read,
                        "failed" => DeliveryState::Failed,
                        other => {
                            return Err(WebhookError::Malformed(format!(
                                "event {i}: unknown state `{other}`"
                            )));
                        }
                    };
                    result.statuses.push(StatusUpdate {
                        provider_message_id: id,
                        state,
                        reason,
                        opted_out,
                    });
                }
            }
        }
        Ok(result)
    }

    fn poll(_cursor: Option<String>) -> Result<PollResult, SendError> {
        Err(SendError::Permanent(
            "the webhook plugin is not polled".into(),
        ))
    }
}

export_provider!(Webhook);
