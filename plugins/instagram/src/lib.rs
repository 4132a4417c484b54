//! Instagram direct messages through the Messenger Platform (Graph API).
//!
//! Outbound: `POST https://graph.facebook.com/{version}/{page id}/messages`
//! with the Page access token as a Bearer token and a JSON body:
//! `{"recipient": {"id": <Instagram-scoped id>}, "messaging_type": "RESPONSE",
//! "message": {"text": ...}}`, one request per part of a text over 1,000
//! characters and one per attachment (`{"attachment": {"type", "payload":
//! {"url"}}}`). Instagram lets a business answer only within 24 hours of the
//! customer's last message: outside that window the message fails at once
//! with a reason that says so.
//!
//! Inbound: Meta verifies the callback URL with a GET (`hub.mode`,
//! `hub.verify_token`, `hub.challenge`), then POSTs events signed with
//! `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body, keyed with the
//! app secret>`. Messages (text and attachments) become inbound messages;
//! `read` events mark our messages read; echoes of our own sends are skipped.

use hub_plugin_sdk::codec::json_decode;
use hub_plugin_sdk::http::Request;
use hub_plugin_sdk::settings::Settings;
use hub_plugin_sdk::signature::{constant_time_eq, verify_hmac_sha256_hex};
use hub_plugin_sdk::text::split;
use hub_plugin_sdk::types::*;
use hub_plugin_sdk::webhook::{header, ok, query, response};
use hub_plugin_sdk::{Provider, export_provider, now_ms};
use serde::Deserialize;
use serde_json::{Value, json};
use std::cell::RefCell;

const GRAPH: &str = "https://graph.facebook.com";
const SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// The longest text one Instagram message takes, in characters.
const MAX_TEXT: usize = 1000;
/// A business may answer this long after the customer's last message.
const WINDOW_MS: u64 = 24 * 60 * 60 * 1000;
/// The Graph API's code for "sent outside of allowed window".
const OUTSIDE_WINDOW_SUBCODE: u64 = 2_534_022;

struct Config {
    page_id: String,
    token: String,
    app_secret: String,
    verify_token: String,
    version: String,
}

thread_local! {
    static CONFIG: RefCell<Option<Config>> = const { RefCell::new(None) };
}

fn with_config<T>(f: impl FnOnce(&Config) -> T) -> Option<T> {
    CONFIG.with(|c| c.borrow().as_ref().map(f))
}

fn parse_config(settings: Vec<Setting>) -> Result<Config, String> {
    let s = Settings::new(settings);
    let page_id = s.require("page_id")?.trim().to_owned();
    if page_id.is_empty() || !page_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "setting `page_id` must be the Page's numeric id, got `{page_id}`"
        ));
    }
    let token = s.require("page_access_token")?.trim().to_owned();
    if token.len() < 20 || token.contains(char::is_whitespace) {
        return Err("setting `page_access_token` does not look like an access token".into());
    }
    let app_secret = s.require("app_secret")?.trim().to_owned();
    if app_secret.len() < 16 {
        return Err("setting `app_secret` must be the app's secret (32 hex digits)".into());
    }
    let verify_token = s.require("verify_token")?.to_owned();
    let version = s.get("api_version").unwrap_or("v21.0").trim().to_owned();
    let valid_version = version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        });
    if !valid_version {
        return Err(format!(
            "setting `api_version` must look like `v21.0`, got `{version}`"
        ));
    }
    Ok(Config {
        page_id,
        token,
        app_secret,
        verify_token,
        version,
    })
}

#[derive(Deserialize)]
struct SendAnswer {
    message_id: String,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    message: Option<String>,
    code: Option<u64>,
    error_subcode: Option<u64>,
}

#[derive(Deserialize)]
struct Notification {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    messaging: Vec<Messaging>,
}

#[derive(Deserialize)]
struct Messaging {
    sender: Party,
    timestamp: Option<u64>,
    message: Option<IgMessage>,
    read: Option<Read>,
}

#[derive(Deserialize)]
struct Party {
    id: String,
}

#[derive(Deserialize)]
struct IgMessage {
    mid: String,
    text: Option<String>,
    #[serde(default)]
    attachments: Vec<IgAttachment>,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    is_deleted: bool,
}

#[derive(Deserialize)]
struct IgAttachment {
    #[serde(rename = "type")]
    kind: String,
    payload: Option<Payload>,
}

#[derive(Deserialize)]
struct Payload {
    url: Option<String>,
}

#[derive(Deserialize)]
struct Read {
    mid: String,
}

/// What a Graph API error means for the message.
fn classify(status: u16, body: &[u8], retry_after: Option<u64>) -> SendError {
    let parsed = serde_json::from_slice::<ErrorAnswer>(body)
        .ok()
        .map(|a| a.error);
    let (code, subcode, message) = match &parsed {
        Some(e) => (
            e.code,
            e.error_subcode,
            e.message.clone().unwrap_or_default(),
        ),
        None => (
            None,
            None,
            String::from_utf8_lossy(body).chars().take(200).collect(),
        ),
    };
    let reason = match (code, subcode) {
        (Some(c), Some(s)) => format!("Graph API error {c} ({s}): {message}"),
        (Some(c), None) => format!("Graph API error {c}: {message}"),
        _ => format!("Graph API HTTP {status}: {message}"),
    };
    if subcode == Some(OUTSIDE_WINDOW_SUBCODE) {
        return SendError::Permanent(format!("outside Instagram's 24-hour window: {reason}"));
    }
    match (status, code) {
        // Application, user, page and messaging rate limits.
        (429, _) | (_, Some(4 | 17 | 32 | 613)) => SendError::RateLimited(RetryHint {
            reason,
            after_ms: retry_after,
        }),
        // An invalid or expired token, or a missing permission.
        (401, _) | (_, Some(190 | 200)) => SendError::Unauthorized(reason),
        (500..=599, _) | (_, Some(1 | 2)) => SendError::Retryable(RetryHint {
            reason,
            after_ms: retry_after,
        }),
        _ => SendError::Permanent(reason),
    }
}

fn post(url: &str, token: &str, body: &Value) -> Result<String, SendError> {
    let response = Request::post(url).bearer(token).json(body).send()?;
    if response.is_success() {
        let answer: SendAnswer = response.json().map_err(|e| {
            SendError::Retryable(RetryHint {
                reason: e,
                after_ms: None,
            })
        })?;
        return Ok(answer.message_id);
    }
    Err(classify(
        response.status,
        &response.body,
        response.retry_after_ms(),
    ))
}

fn attachment_kind(content_type: &str) -> &'static str {
    match content_type.split('/').next() {
        Some("image") => "image",
        Some("video") => "video",
        Some("audio") => "audio",
        _ => "file",
    }
}

/// The provider; natively (fuzz targets, tests) called as plain Rust through [`hub_plugin_sdk::Provider`].
pub struct Instagram;

impl Provider for Instagram {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "instagram".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            channels: vec![Channel::Instagram],
        }
    }

    fn configure(settings: Vec<Setting>) -> Result<(), String> {
        let c = parse_config(settings)?;
        CONFIG.with(|slot| *slot.borrow_mut() = Some(c));
        Ok(())
    }

    fn send(message: OutboundMessage) -> Result<Sent, SendError> {
        let Some((url, token)) = with_config(|c| {
            (
                format!("{GRAPH}/{}/{}/messages", c.version, c.page_id),
                c.token.clone(),
            )
        }) else {
            return Err(SendError::Unauthorized(
                "the plugin is not configured".into(),
            ));
        };
        match message.last_inbound_ms {
            Some(t) if now_ms().saturating_sub(t) < WINDOW_MS => {}
            Some(t) => {
                let hours = now_ms().saturating_sub(t) / 3_600_000;
                return Err(SendError::Permanent(format!(
                    "outside Instagram's 24-hour window: the customer last wrote {hours} hours ago, and Instagram takes a business's message only within 24 hours of the customer's last one"
                )));
            }
            None => {
                return Err(SendError::Permanent(
                    "outside Instagram's 24-hour window: the customer has not written on Instagram, and Instagram takes a business's message only within 24 hours of the customer's last one".into(),
                ));
            }
        }
        let recipient = json!({ "id": message.recipient });
        let mut first = None;
        if !message.text.is_empty() {
            for part in split(&message.text, MAX_TEXT) {
                let id = post(
                    &url,
                    &token,
                    &json!({
                        "recipient": recipient,
                        "messaging_type": "RESPONSE",
                        "message": { "text": part },
                    }),
                )?;
                first.get_or_insert(id);
            }
        }
        for a in &message.attachments {
            let id = post(
                &url,
                &token,
                &json!({
                    "recipient": recipient,
                    "messaging_type": "RESPONSE",
                    "message": { "attachment": {
                        "type": attachment_kind(&a.content_type),
                        "payload": { "url": a.url },
                    } },
                }),
            )?;
            first.get_or_insert(id);
        }
        let id = first.ok_or_else(|| SendError::Permanent("the message is empty".into()))?;
        Ok(Sent {
            provider_message_id: id,
            state: DeliveryState::Sent,
        })
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookResult, WebhookError> {
        let Some((app_secret, verify_token)) =
            with_config(|c| (c.app_secret.clone(), c.verify_token.clone()))
        else {
            return Err(WebhookError::Unauthenticated(
                "the plugin is not configured for this tenant".into(),
            ));
        };
        if request.method == "GET" {
            // Meta's check of the callback URL when it is saved.
            let params = query(&request);
            let get = |k: &str| {
                params
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.as_str())
            };
            if get("hub.mode") != Some("subscribe") {
                return Err(WebhookError::Malformed(
                    "expected hub.mode=subscribe".into(),
                ));
            }
            let token = get("hub.verify_token").unwrap_or_default();
            if !constant_time_eq(token.as_bytes(), verify_token.as_bytes()) {
                return Err(WebhookError::Unauthenticated(
                    "hub.verify_token does not match `verify_token`".into(),
                ));
            }
            let challenge = get("hub.challenge")
                .ok_or_else(|| WebhookError::Malformed("hub.challenge is missing".into()))?;
            return Ok(WebhookResult {
                response: response(200, "text/plain", challenge),
                messages: Vec::new(),
                statuses: Vec::new(),
            });
        }
        if request.method != "POST" {
            return Err(WebhookError::Malformed(format!(
                "expected GET or POST, got {}",
                request.method
            )));
        }
        let signature = header(&request, SIGNATURE_HEADER).ok_or_else(|| {
            WebhookError::Unauthenticated("the X-Hub-Signature-256 header is missing".into())
        })?;
        let hex = signature.trim().strip_prefix("sha256=").ok_or_else(|| {
            WebhookError::Unauthenticated("X-Hub-Signature-256 must start with `sha256=`".into())
        })?;
        if !verify_hmac_sha256_hex(app_secret.as_bytes(), &request.body, hex) {
            return Err(WebhookError::Unauthenticated(
                "X-Hub-Signature-256 does not match the body".into(),
            ));
        }
        let note: Notification = json_decode(&request.body).map_err(WebhookError::Malformed)?;
        if note.object != "instagram" {
            return Err(WebhookError::Malformed(format!(
                "expected object `instagram`, got `{}`",
                note.object
            )));
        }
        let mut result = WebhookResult {
            response: ok(),
            messages: Vec::new(),
            statuses: Vec::new(),
        };
        for event in note.entry.into_iter().flat_map(|e| e.messaging) {
            if let Some(read) = event.read {
                if read.mid.trim().is_empty() {
                    return Err(WebhookError::Malformed(
                        "a read receipt's `mid` must not be blank".into(),
                    ));
                }
                result.statuses.push(StatusUpdate {
                    provider_message_id: read.mid,
                    state: DeliveryState::Read,
                    reason: None,
                    opted_out: false,
                });
            }
            let Some(m) = event.message else { continue };
            if m.is_echo || m.is_deleted {
                continue;
            }
            if m.mid.trim().is_empty() || event.sender.id.trim().is_empty() {
                return Err(WebhookError::Malformed(
                    "a message's `mid` and `sender.id` must not be blank".into(),
                ));
            }
            let attachments = m
                .attachments
                .into_iter()
                .filter_map(|a| {
                    let url = a.payload.and_then(|p| p.url)?;
                    Some(Attachment {
                        content_type: match a.kind.as_str() {
                            "image" => "image/*",
                            "video" => "video/*",
                            "audio" => "audio/*",
                            _ => "application/octet-stream",
                        }
                        .into(),
                        url,
                        file_name: None,
                        size: 0,
                        content: None,
                    })
                })
                .collect();
            result.messages.push(InboundMessage {
                channel: Channel::Instagram,
                provider_message_id: m.mid,
                sender: InboundSender {
                    address: event.sender.id,
                    display_name: None,
                    username: None,
                },
                text: m.text.unwrap_or_default(),
                attachments,
                sent_at_ms: event.timestamp,
            });
        }
        Ok(result)
    }

    fn poll(_cursor: Option<String>) -> Result<PollResult, SendError> {
        Err(SendError::Permanent(
            "Instagram delivers by webhook; it is not polled".into(),
        ))
    }
}

export_provider!(Instagram);
