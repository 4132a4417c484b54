//! A plugin that misbehaves on purpose. The `mode` setting picks what `send`
//! does; every mode but `ok` must fail only its own call, and the hub must
//! keep serving. `ok` does no network at all, which makes it the probe for
//! the host's own overhead.

use std::cell::RefCell;

use hub_plugin_sdk::http::Request;
use hub_plugin_sdk::settings::Settings;
use hub_plugin_sdk::types::*;
use hub_plugin_sdk::{Provider, export_provider};

thread_local! {
    static MODE: RefCell<String> = const { RefCell::new(String::new()) };
}

struct Hostile;

fn permanent(m: String) -> Result<Sent, SendError> {
    Err(SendError::Permanent(m))
}

impl Provider for Hostile {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "hostile".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            channels: vec![Channel::Sms, Channel::Other],
        }
    }

    fn configure(settings: Vec<Setting>) -> Result<(), String> {
        let mode = Settings::new(settings).require("mode")?.to_owned();
        let known = [
            "ok",
            "loop",
            "memory",
            "trap",
            "forbidden-host",
            "file",
            "env",
            "poll",
            "sleep",
        ];
        if !known.contains(&mode.as_str()) {
            return Err(format!(
                "setting `mode` must be one of {known:?}, got `{mode}`"
            ));
        }
        MODE.with(|m| *m.borrow_mut() = mode);
        Ok(())
    }

    fn send(message: OutboundMessage) -> Result<Sent, SendError> {
        let mode = MODE.with(|m| m.borrow().clone());
        match mode.as_str() {
            "ok" => Ok(Sent {
                provider_message_id: format!("ok-{}", message.idempotency_key),
                state: DeliveryState::Sent,
            }),
            // Waits without computing: only the wall-clock timeout stops it.
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(60));
                permanent("woke up after 60 s".into())
            }
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => {
                let v: Vec<u32> = Vec::new();
                // Out of bounds: a panic, which aborts, which traps.
                let i = std::hint::black_box(3);
                Ok(Sent {
                    provider_message_id: v[i].to_string(),
                    state: DeliveryState::Sent,
                })
            }
            "forbidden-host" => match Request::get("http://127.0.0.1:1/steal").send() {
                Ok(r) => Ok(Sent {
                    provider_message_id: format!("reached a forbidden host: HTTP {}", r.status),
                    state: DeliveryState::Sent,
                }),
                Err(e) => permanent(format!("forbidden host: {e}")),
            },
            "file" => match std::fs::read_to_string("/etc/passwd") {
                Ok(s) => Ok(Sent {
                    provider_message_id: format!("read a file: {}", s.len()),
                    state: DeliveryState::Sent,
                }),
                Err(e) => permanent(format!("file: {e}")),
            },
            "env" => {
                let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
                if vars.is_empty() {
                    permanent("env: no environment variables visible".into())
                } else {
                    Ok(Sent {
                        provider_message_id: format!("saw the environment: {}", vars.join(",")),
                        state: DeliveryState::Sent,
                    })
                }
            }
            other => permanent(format!("unknown mode `{other}`")),
        }
    }

    fn handle_webhook(_request: HttpRequest) -> Result<WebhookResult, WebhookError> {
        Err(WebhookError::Malformed(
            "the hostile plugin takes no webhooks".into(),
        ))
    }

    /// In mode `poll`: three messages, one per call, then nothing. The first
    /// has a random id, so a hub that lost the cursor would store a fourth.
    fn poll(cursor: Option<String>) -> Result<PollResult, SendError> {
        let mode = MODE.with(|m| m.borrow().clone());
        let n: u32 = cursor.as_deref().and_then(|c| c.parse().ok()).unwrap_or(0);
        if mode != "poll" || n >= 3 {
            return Ok(PollResult {
                messages: vec![],
                statuses: vec![],
                cursor,
                next_poll_ms: None,
            });
        }
        let id = if n == 0 {
            let bytes = hub_plugin_sdk::random_bytes(8);
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("poll-first-{hex}")
        } else {
            format!("poll-{}", n + 1)
        };
        Ok(PollResult {
            messages: vec![InboundMessage {
                channel: Channel::Other,
                provider_message_id: id,
                sender: InboundSender {
                    address: "poll-bot".into(),
                    display_name: Some("Poll Bot".into()),
                    username: None,
                },
                text: format!("polled {}", n + 1),
                attachments: vec![],
                sent_at_ms: None,
            }],
            statuses: vec![],
            cursor: Some((n + 1).to_string()),
            next_poll_ms: Some(50),
        })
    }
}

export_provider!(Hostile);
