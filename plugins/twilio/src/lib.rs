//! Twilio Programmable Messaging: SMS and WhatsApp.
//!
//! Outbound: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form
//! encoded, HTTP Basic auth with the Account SID and auth token; `To`,
//! `From` (or `MessagingServiceSid`), `Body`, one `MediaUrl` per attachment
//! and `StatusCallback` pointing at the hub. WhatsApp addresses carry the
//! `whatsapp:` prefix.
//!
//! Inbound: Twilio POSTs a form to `/webhooks/twilio/{tenant}` for incoming
//! messages (the number's "A message comes in" webhook) and for status
//! callbacks, signed with `X-Twilio-Signature`: base64 HMAC-SHA1, keyed with
//! the auth token, over the full URL followed by every parameter's name and
//! value, sorted by name.

use hub_plugin_sdk::codec::{form_decode, form_value};
use hub_plugin_sdk::http::Request;
use hub_plugin_sdk::settings::Settings;
use hub_plugin_sdk::signature::verify_hmac_sha1_base64;
use hub_plugin_sdk::types::*;
use hub_plugin_sdk::webhook::{header, response};
use hub_plugin_sdk::{Provider, export_provider, now_ms};
use serde::Deserialize;
use std::cell::RefCell;

const API: &str = "https://api.twilio.com/2010-04-01";
const SIGNATURE_HEADER: &str = "x-twilio-signature";
const WHATSAPP_PREFIX: &str = "whatsapp:";
/// WhatsApp takes free-form messages this long after the customer's last one.
const WHATSAPP_WINDOW_MS: u64 = 24 * 60 * 60 * 1000;
const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

struct Config {
    account_sid: String,
    auth_token: String,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    whatsapp_from: Option<String>,
}

thread_local! {
    static CONFIG: RefCell<Option<Config>> = const { RefCell::new(None) };
}

fn with_config<T>(f: impl FnOnce(&Config) -> T) -> Option<T> {
    CONFIG.with(|c| c.borrow().as_ref().map(f))
}

fn is_sid(value: &str, prefix: &str) -> bool {
    value.len() == 34
        && value.starts_with(prefix)
        && value[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_e164(value: &str) -> bool {
    let digits = value.strip_prefix('+').unwrap_or("");
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

fn parse_config(settings: Vec<Setting>) -> Result<Config, String> {
    let s = Settings::new(settings);
    let account_sid = s.require("account_sid")?.trim().to_owned();
    if !is_sid(&account_sid, "AC") {
        return Err(format!(
            "setting `account_sid` must be `AC` followed by 32 hex digits, got `{account_sid}`"
        ));
    }
    let auth_token = s.require("auth_token")?.trim().to_owned();
    if auth_token.len() != 32 || !auth_token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(
            "setting `auth_token` must be the 32-character auth token from the Twilio console"
                .into(),
        );
    }
    let from = s.get("from").map(|v| v.trim().to_owned());
    if let Some(f) = &from
        && !is_e164(f)
        && !(1..=11).contains(&f.len())
    {
        return Err(format!(
            "setting `from` must be an E.164 number (+14155550100) or an alphanumeric sender ID of up to 11 characters, got `{f}`"
        ));
    }
    let messaging_service_sid = s.get("messaging_service_sid").map(|v| v.trim().to_owned());
    if let Some(m) = &messaging_service_sid
        && !is_sid(m, "MG")
    {
        return Err(format!(
            "setting `messaging_service_sid` must be `MG` followed by 32 hex digits, got `{m}`"
        ));
    }
    if from.is_none() && messaging_service_sid.is_none() {
        return Err("set `from` or `messaging_service_sid`: Twilio needs a sender".into());
    }
    let whatsapp_from = s
        .get("whatsapp_from")
        .map(|v| v.trim().trim_start_matches(WHATSAPP_PREFIX).to_owned());
    if let Some(w) = &whatsapp_from
        && !is_e164(w)
    {
        return Err(format!(
            "setting `whatsapp_from` must be an E.164 number (+14155550100), got `{w}`"
        ));
    }
    Ok(Config {
        account_sid,
        auth_token,
        from,
        messaging_service_sid,
        whatsapp_from,
    })
}

/// The JSON Twilio answers a created message with.
#[derive(Deserialize)]
struct MessageResource {
    sid: String,
    status: Option<String>,
}

/// The JSON of Twilio's REST errors.
#[derive(Deserialize)]
struct ApiError {
    code: Option<u32>,
    message: Option<String>,
}

/// What a Twilio error code means for the message.
fn classify(status: u16, code: Option<u32>, message: &str, retry_after: Option<u64>) -> SendError {
    let reason = match code {
        Some(c) => format!("Twilio error {c}: {message}"),
        None => format!("Twilio HTTP {status}: {message}"),
    };
    match (status, code) {
        (_, Some(21610)) => SendError::OptedOut(reason),
        (429, _) | (_, Some(20429)) => SendError::RateLimited(RetryHint {
            reason,
            after_ms: retry_after,
        }),
        (401 | 403, _) | (_, Some(20003)) => SendError::Unauthorized(reason),
        // The account in the URL does not exist: a configuration fault.
        (404, Some(20404)) => SendError::Unauthorized(reason),
        (408 | 500..=599, _) => SendError::Retryable(RetryHint {
            reason,
            after_ms: retry_after,
        }),
        _ => SendError::Permanent(reason),
    }
}

fn state_of(status: &str) -> Option<DeliveryState> {
    Some(match status {
        "accepted" | "scheduled" | "queued" => DeliveryState::Queued,
        "sending" | "sent" => DeliveryState::Sent,
        "delivered" => DeliveryState::Delivered,
        "read" => DeliveryState::Read,
        "undelivered" | "failed" | "canceled" => DeliveryState::Failed,
        _ => return None,
    })
}

/// Twilio's words for the error codes a status callback carries.
fn error_text(code: &str) -> &'static str {
    match code {
        "21610" => "the recipient unsubscribed (replied STOP)",
        "30003" => "unreachable destination handset",
        "30004" => "message blocked",
        "30005" => "unknown destination handset",
        "30006" => "landline or unreachable carrier",
        "30007" => "message filtered by the carrier",
        "30008" => "unknown error",
        "63016" => "outside the WhatsApp 24-hour window: a template is needed",
        _ => "see Twilio's error reference",
    }
}

/// The string Twilio signs: the URL, then each parameter's name and value,
/// sorted by name (and by value for repeated names).
fn signed_data(url: &str, params: &[(String, String)]) -> Vec<u8> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.as_bytes().to_vec();
    for (k, v) in sorted {
        data.extend_from_slice(k.as_bytes());
        data.extend_from_slice(v.as_bytes());
    }
    data
}

fn twiml_ok() -> HttpResponse {
    response(200, "text/xml", EMPTY_TWIML)
}

fn not_configured<T>() -> Result<T, SendError> {
    Err(SendError::Unauthorized(
        "the plugin is not configured".into(),
    ))
}

fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

/// The provider; natively (fuzz targets, tests) called as plain Rust through [`hub_plugin_sdk::Provider`].
pub struct Twilio;

impl Provider for Twilio {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "twilio".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            channels: vec![Channel::Sms, Channel::Whatsapp],
        }
    }

    fn configure(settings: Vec<Setting>) -> Result<(), String> {
        let c = parse_config(settings)?;
        CONFIG.with(|slot| *slot.borrow_mut() = Some(c));
        Ok(())
    }

    fn send(message: OutboundMessage) -> Result<Sent, SendError> {
        let Some((sid, token, from, service, whatsapp_from)) = with_config(|c| {
            (
                c.account_sid.clone(),
                c.auth_token.clone(),
                c.from.clone(),
                c.messaging_service_sid.clone(),
                c.whatsapp_from.clone(),
            )
        }) else {
            return not_configured();
        };
        let whatsapp = match message.channel {
            Channel::Sms => false,
            Channel::Whatsapp => true,
            other => {
                return Err(SendError::Permanent(format!(
                    "Twilio does not carry {other:?} messages"
                )));
            }
        };
        if whatsapp {
            let fresh = message
                .last_inbound_ms
                .is_some_and(|t| now_ms().saturating_sub(t) < WHATSAPP_WINDOW_MS);
            if !fresh {
                return Err(SendError::Permanent(
                    "outside WhatsApp's 24-hour window: WhatsApp takes free-form messages only within 24 hours of the customer's last message, and this plugin does not send templates yet".into(),
                ));
            }
        }
        let to = if whatsapp {
            format!("{WHATSAPP_PREFIX}{}", message.recipient)
        } else {
            message.recipient.clone()
        };
        let mut fields: Vec<(&str, String)> = vec![("To", to)];
        match (&service, &from) {
            (Some(service), _) => fields.push(("MessagingServiceSid", service.clone())),
            (None, Some(from)) if whatsapp => {
                let number = whatsapp_from.as_deref().unwrap_or(from);
                fields.push(("From", format!("{WHATSAPP_PREFIX}{number}")));
            }
            (None, Some(from)) => fields.push(("From", from.clone())),
            (None, None) => return not_configured(),
        }
        if !message.text.is_empty() {
            fields.push(("Body", message.text.clone()));
        }
        for a in &message.attachments {
            fields.push(("MediaUrl", a.url.clone()));
        }
        if let Some(url) = &message.status_callback_url {
            fields.push(("StatusCallback", url.clone()));
        }
        let form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = Request::post(&format!("{API}/Accounts/{sid}/Messages.json"))
            .basic_auth(&sid, &token)
            .header("accept", "application/json")
            .form(&form)
            .send()?;
        if response.is_success() {
            let created: MessageResource = response.json().map_err(|e| {
                SendError::Retryable(RetryHint {
                    reason: e,
                    after_ms: None,
                })
            })?;
            let state = created
                .status
                .as_deref()
                .and_then(state_of)
                .unwrap_or(DeliveryState::Queued);
            return Ok(Sent {
                provider_message_id: created.sid,
                state,
            });
        }
        let (code, text) = match response.json::<ApiError>() {
            Ok(e) => (e.code, e.message.unwrap_or_default()),
            Err(_) => (None, excerpt(&response.body)),
        };
        Err(classify(
            response.status,
            code,
            &text,
            response.retry_after_ms(),
        ))
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookResult, WebhookError> {
        let Some((sid, token)) = with_config(|c| (c.account_sid.clone(), c.auth_token.clone()))
        else {
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
        let signature = header(&request, SIGNATURE_HEADER).ok_or_else(|| {
            WebhookError::Unauthenticated("the X-Twilio-Signature header is missing".into())
        })?;
        let params = form_decode(&request.body);
        if !verify_hmac_sha1_base64(
            token.as_bytes(),
            &signed_data(&request.url, &params),
            signature,
        ) {
            return Err(WebhookError::Unauthenticated(format!(
                "X-Twilio-Signature does not match the request to {}",
                request.url
            )));
        }
        let field = |k: &str| form_value(&params, k).filter(|v| !v.is_empty());
        // Ids and addresses: blank is missing (found by fuzzing: `MessageSid=+++`).
        let id_field = |k: &str| {
            form_value(&params, k)
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        if id_field("AccountSid") != Some(sid.as_str()) {
            return Err(WebhookError::Unauthenticated(
                "the request is for another Twilio account".into(),
            ));
        }
        let message_sid = id_field("MessageSid")
            .or_else(|| id_field("SmsSid"))
            .ok_or_else(|| WebhookError::Malformed("`MessageSid` is missing".into()))?
            .to_owned();
        let mut result = WebhookResult {
            response: twiml_ok(),
            messages: Vec::new(),
            statuses: Vec::new(),
        };
        let status = field("MessageStatus").or_else(|| field("SmsStatus"));
        match status {
            Some(s) if s != "received" && s != "receiving" => {
                let state = state_of(s).ok_or_else(|| {
                    WebhookError::Malformed(format!("unknown MessageStatus `{s}`"))
                })?;
                let code = field("ErrorCode");
                let reason = code.map(|c| format!("Twilio error {c}: {}", error_text(c)));
                result.statuses.push(StatusUpdate {
                    provider_message_id: message_sid,
                    state,
                    reason: if state == DeliveryState::Failed {
                        reason.or_else(|| Some(format!("Twilio reports the message {s}")))
                    } else {
                        None
                    },
                    opted_out: code == Some("21610"),
                });
            }
            _ => {
                let from = id_field("From")
                    .ok_or_else(|| WebhookError::Malformed("`From` is missing".into()))?;
                let (channel, address) = match from.strip_prefix(WHATSAPP_PREFIX) {
                    Some(number) => (Channel::Whatsapp, number.trim()),
                    None => (Channel::Sms, from),
                };
                // Found by fuzzing: `From=whatsapp:` names no sender.
                if address.is_empty() {
                    return Err(WebhookError::Malformed(format!(
                        "`From` is `{from}`, with no number after the prefix"
                    )));
                }
                let count: usize = match field("NumMedia") {
                    None => 0,
                    Some(n) => n.parse().map_err(|_| {
                        WebhookError::Malformed(format!("`NumMedia` is not a number: `{n}`"))
                    })?,
                };
                let mut attachments = Vec::with_capacity(count.min(10));
                for i in 0..count.min(10) {
                    let url = field(&format!("MediaUrl{i}")).ok_or_else(|| {
                        WebhookError::Malformed(format!("`MediaUrl{i}` is missing"))
                    })?;
                    attachments.push(Attachment {
                        url: url.to_owned(),
                        content_type: field(&format!("MediaContentType{i}"))
                            .unwrap_or("application/octet-stream")
                            .to_owned(),
                        file_name: None,
                        size: 0,
                        content: None,
                    });
                }
                result.messages.push(InboundMessage {
                    channel,
                    provider_message_id: message_sid,
                    sender: InboundSender {
                        address: address.to_owned(),
                        display_name: field("ProfileName").map(str::to_owned),
                        username: None,
                    },
                    text: field("Body").unwrap_or_default().to_owned(),
                    attachments,
                    sent_at_ms: None,
                });
            }
        }
        Ok(result)
    }

    fn poll(_cursor: Option<String>) -> Result<PollResult, SendError> {
        Err(SendError::Permanent(
            "Twilio delivers by webhook; it is not polled".into(),
        ))
    }
}

export_provider!(Twilio);
