//! E-mail.
//!
//! Outbound: each message is a MIME message (plain text; `Message-ID` built
//! from the hub's message id, so a retry is the same message;
//! `In-Reply-To` and `References` from the conversation's earlier e-mails,
//! so replies thread in the customer's mail client), submitted by SMTP to
//! the tenant's server over STARTTLS or implicit TLS, with AUTH PLAIN.
//!
//! Inbound: an inbound-parse service posts each received e-mail as raw MIME.
//! Supported: Mailgun routes that `forward()` to
//! `https://<hub>/webhooks/email/<tenant>/mime` (the `mime` ending makes
//! Mailgun post the untouched message as `body-mime`), signed with
//! `timestamp`, `token` and `signature` = hex HMAC-SHA256 of timestamp+token
//! under the webhook signing key. The message is parsed with `mail-parser`;
//! the quoted earlier conversation and the signature are cut from its text.

mod smtp;
mod text;

use hub_plugin_sdk::codec::form_decode;
use hub_plugin_sdk::settings::Settings;
use hub_plugin_sdk::signature::{sha256_hex, verify_hmac_sha256_hex};
use hub_plugin_sdk::types::*;
use hub_plugin_sdk::webhook::{header, ok};
use hub_plugin_sdk::{Provider, export_provider, now_ms};
use mail_builder::MessageBuilder;
use mail_parser::{MessageParser, MimeHeaders};
use std::cell::RefCell;

use smtp::{Failure, Security, Server};

struct Config {
    host: String,
    port: u16,
    security: Security,
    username: Option<String>,
    password: Option<String>,
    from_address: String,
    from_name: Option<String>,
    subject: String,
    signing_key: Option<String>,
}

thread_local! {
    static CONFIG: RefCell<Option<Config>> = const { RefCell::new(None) };
}

/// How old a signed inbound post may be.
const MAX_AGE_SECS: u64 = 300;

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("localhost", |(_, d)| d)
}

fn valid_address(a: &str) -> bool {
    a.split_once('@').is_some_and(|(l, d)| {
        !l.is_empty()
            && d.contains('.')
            && !a.contains(|c: char| c.is_whitespace() || "<>\",;".contains(c))
    })
}

fn parse_config(settings: Vec<Setting>) -> Result<Config, String> {
    let s = Settings::new(settings);
    let host = s.require("smtp_host")?.trim().to_owned();
    if host.contains([':', '/', ' ']) {
        return Err(format!(
            "setting `smtp_host` must be a host name without scheme or port, got `{host}`"
        ));
    }
    let security = match s.get("smtp_security").map(str::trim) {
        None | Some("starttls") => Security::StartTls,
        Some("tls") => Security::Tls,
        Some(other) => {
            return Err(format!(
                "setting `smtp_security` must be `starttls` or `tls`, got `{other}`"
            ));
        }
    };
    let port = match s.get("smtp_port") {
        None if security == Security::Tls => 465,
        None => 587,
        Some(p) => p
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("setting `smtp_port` must be a port number, got `{p}`"))?,
    };
    let username = s.get("username").map(str::to_owned);
    let password = s.get("password").map(str::to_owned);
    if username.is_some() != password.is_some() {
        return Err("set both `username` and `password`, or neither".into());
    }
    let from_address = s.require("from_address")?.trim().to_ascii_lowercase();
    if !valid_address(&from_address) {
        return Err(format!(
            "setting `from_address` must be an e-mail address, got `{from_address}`"
        ));
    }
    let from_name = s.get("from_name").map(str::to_owned);
    let subject = s.get("subject").map_or_else(
        || {
            format!(
                "Message from {}",
                from_name.as_deref().unwrap_or(&from_address)
            )
        },
        str::to_owned,
    );
    let signing_key = s.get("inbound_signing_key").map(str::to_owned);
    Ok(Config {
        host,
        port,
        security,
        username,
        password,
        from_address,
        from_name,
        subject,
        signing_key,
    })
}

/// Where the ids stand in for a missing Message-ID (`.invalid` never resolves, RFC 2606).
const STAND_IN_ID_DOMAIN: &str = "@no-message-id.invalid";

/// The MIME message for `message`, and its Message-ID (without brackets).
fn build(c: &Config, message: &OutboundMessage) -> Result<(Vec<u8>, String), String> {
    let id = format!("{}@{}", message.idempotency_key, domain_of(&c.from_address));
    let subject = if message.thread.is_empty() {
        c.subject.clone()
    } else {
        format!("Re: {}", c.subject)
    };
    let mut body = message.text.clone();
    if !message.attachments.is_empty() {
        body.push_str("\n\nAttachments:\n");
        for a in &message.attachments {
            let name = a.file_name.as_deref().unwrap_or("file");
            body.push_str(&format!("- {name}: {}\n", a.url));
        }
    }
    let from: mail_builder::headers::address::Address = match &c.from_name {
        Some(n) => (n.as_str(), c.from_address.as_str()).into(),
        None => c.from_address.as_str().into(),
    };
    let mut builder = MessageBuilder::new()
        .from(from)
        .to(message.recipient.as_str())
        .subject(subject)
        .message_id(id.as_str())
        .text_body(body);
    // Ids the plugin made up for mails without a Message-ID mean nothing to
    // the customer's mail client.
    let refs: Vec<&str> = message
        .thread
        .iter()
        .map(String::as_str)
        .filter(|id| !id.ends_with(STAND_IN_ID_DOMAIN))
        .collect();
    if let Some(&last) = refs.last() {
        builder = builder.in_reply_to(last).references(refs);
    }
    let bytes = builder
        .write_to_vec()
        .map_err(|e| format!("cannot write the MIME message: {e}"))?;
    Ok((bytes, id))
}

/// The fields of a `multipart/form-data` body, read with the MIME parser.
fn form_data(content_type: &str, body: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut raw = format!("Content-Type: {content_type}\r\n\r\n").into_bytes();
    raw.extend_from_slice(body);
    let parsed = MessageParser::default()
        .parse(&raw)
        .ok_or("the multipart body cannot be parsed")?;
    let mut fields = Vec::new();
    for part in parsed.parts.iter().skip(1) {
        let Some(name) = part.content_disposition().and_then(|d| d.attribute("name")) else {
            continue;
        };
        fields.push((name.to_owned(), part.contents().to_vec()));
    }
    Ok(fields)
}

fn field<'a>(fields: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_slice())
}

/// Checks Mailgun's signature: hex HMAC-SHA256(key, timestamp + token).
fn verify_mailgun(key: &str, fields: &[(String, Vec<u8>)]) -> Result<(), String> {
    let text = |n: &str| {
        field(fields, n)
            .map(|v| String::from_utf8_lossy(v).trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("the signature field `{n}` is missing"))
    };
    let timestamp = text("timestamp")?;
    let token = text("token")?;
    let signature = text("signature")?;
    let t: u64 = timestamp
        .parse()
        .map_err(|_| format!("`timestamp` is not a number: `{timestamp}`"))?;
    let age = (now_ms() / 1000).abs_diff(t);
    if age > MAX_AGE_SECS {
        return Err(format!(
            "the signature is {age}s old (allowed {MAX_AGE_SECS}s)"
        ));
    }
    if verify_hmac_sha256_hex(
        key.as_bytes(),
        format!("{timestamp}{token}").as_bytes(),
        &signature,
    ) {
        Ok(())
    } else {
        Err("the signature does not match".into())
    }
}

fn inbound(raw: &[u8]) -> Result<InboundMessage, String> {
    let m = MessageParser::default()
        .parse(raw)
        .ok_or("`body-mime` is not a MIME message")?;
    let from = m
        .from()
        .and_then(|a| a.first())
        .ok_or("the message has no From address")?;
    let address = from
        .address()
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| !a.is_empty())
        .ok_or("the From header has no address")?;
    // Message-ID is only recommended (RFC 5322 3.6.4), and some senders of
    // notifications leave it out: such a message is still the customer's.
    // The digest of the raw message stands in, so that the provider's
    // retries of it are still recognised as one message.
    let id = m
        .message_id()
        .filter(|id| !id.trim().is_empty())
        .map_or_else(
            || format!("{}{STAND_IN_ID_DOMAIN}", sha256_hex(raw)),
            str::to_owned,
        );
    let body = m.body_text(0).map(|b| b.into_owned()).unwrap_or_default();
    let mut reply = text::strip_quotes_and_signature(&body);
    if let Some(subject) = m.subject().filter(|s| !s.trim().is_empty())
        && !subject.trim_start().to_ascii_lowercase().starts_with("re:")
    {
        reply = format!("{subject}\n\n{reply}");
    }
    let attachments = m
        .attachments()
        .enumerate()
        .map(|(i, a)| {
            let content_type = a
                .content_type()
                .map(|t| match t.subtype() {
                    Some(sub) => format!("{}/{sub}", t.ctype()),
                    None => t.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".into());
            Attachment {
                url: format!("mid:{id}/{}", i + 1),
                content_type,
                file_name: a.attachment_name().map(str::to_owned),
                size: a.contents().len() as u64,
                content: Some(a.contents().to_vec()),
            }
        })
        .collect();
    Ok(InboundMessage {
        channel: Channel::Email,
        provider_message_id: id,
        sender: InboundSender {
            address,
            display_name: from.name().map(str::to_owned),
            username: None,
        },
        text: reply,
        attachments,
        sent_at_ms: m
            .date()
            .and_then(|d| u64::try_from(d.to_timestamp()).ok())
            .map(|s| s * 1000),
    })
}

/// The provider; natively (fuzz targets, tests) called as plain Rust through [`hub_plugin_sdk::Provider`].
pub struct Email;

impl Provider for Email {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "email".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            channels: vec![Channel::Email],
        }
    }

    fn configure(settings: Vec<Setting>) -> Result<(), String> {
        let c = parse_config(settings)?;
        CONFIG.with(|slot| *slot.borrow_mut() = Some(c));
        Ok(())
    }

    fn send(message: OutboundMessage) -> Result<Sent, SendError> {
        CONFIG.with(|slot| {
            let slot = slot.borrow();
            let c = slot
                .as_ref()
                .ok_or_else(|| SendError::Unauthorized("the plugin is not configured".into()))?;
            if !valid_address(&message.recipient) {
                return Err(SendError::Permanent(format!(
                    "`{}` is not an e-mail address",
                    message.recipient
                )));
            }
            let (mime, id) = build(c, &message).map_err(SendError::Permanent)?;
            let server = Server {
                host: &c.host,
                port: c.port,
                security: c.security,
                credentials: c.username.as_deref().zip(c.password.as_deref()),
                helo: domain_of(&c.from_address),
            };
            match smtp::submit(&server, &c.from_address, &message.recipient, &mime) {
                Ok(_) => Ok(Sent {
                    provider_message_id: id,
                    state: DeliveryState::Sent,
                }),
                Err(Failure::Transient(m)) => Err(SendError::Retryable(RetryHint {
                    reason: m,
                    after_ms: None,
                })),
                Err(Failure::Permanent(m)) => Err(SendError::Permanent(m)),
                Err(Failure::Auth(m)) => Err(SendError::Unauthorized(m)),
            }
        })
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookResult, WebhookError> {
        let key = CONFIG
            .with(|c| c.borrow().as_ref().and_then(|c| c.signing_key.clone()))
            .ok_or_else(|| {
                WebhookError::Unauthenticated(
                    "set `inbound_signing_key` to receive e-mail for this tenant".into(),
                )
            })?;
        if request.method != "POST" {
            return Err(WebhookError::Malformed(format!(
                "expected POST, got {}",
                request.method
            )));
        }
        let content_type = header(&request, "content-type").unwrap_or_default();
        let fields = if content_type.starts_with("multipart/form-data") {
            form_data(content_type, &request.body).map_err(WebhookError::Malformed)?
        } else {
            form_decode(&request.body)
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes()))
                .collect()
        };
        verify_mailgun(&key, &fields).map_err(WebhookError::Unauthenticated)?;
        let raw = field(&fields, "body-mime").ok_or_else(|| {
            WebhookError::Malformed(
                "`body-mime` is missing: the route's URL must end with `mime`".into(),
            )
        })?;
        let message = inbound(raw).map_err(WebhookError::Malformed)?;
        Ok(WebhookResult {
            response: ok(),
            messages: vec![message],
            statuses: Vec::new(),
        })
    }

    fn poll(_cursor: Option<String>) -> Result<PollResult, SendError> {
        Err(SendError::Permanent(
            "e-mail arrives by webhook; it is not polled".into(),
        ))
    }
}

export_provider!(Email);
