//! The `webhook` plugin's inbound endpoint: JSON events signed with
//! `X-Hub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
//!
//! Modes: `s` the payload is the body, signed now with the secret; `u`
//! signed with another secret; `o` signed with the secret an hour ago
//! (older than `max_age_secs`, so a replay: refused).
#![no_main]

use hub_fuzz::{Mode, check, now_secs, request, settings, split};
use hub_plugin_sdk::Provider;
use hub_plugin_sdk::signature::hmac_sha256_hex;
use libfuzzer_sys::fuzz_target;
use webhook::Webhook;

const SECRET: &str = "fuzz-shared-secret-0123456789";

fuzz_target!(|data: &[u8]| {
    let Some((mode, body)) = split(data) else {
        return;
    };
    Webhook::configure(settings(&[
        ("url", "https://integration.example/messages"),
        ("secret", SECRET),
        ("max_age_secs", "300"),
    ]))
    .expect("valid settings");
    let (secret, t) = match mode {
        Mode::Signed => (SECRET, now_secs()),
        Mode::Other(b'o') => (SECRET, now_secs() - 3600),
        _ => ("another-secret-0123456789", now_secs()),
    };
    let mut signed = t.to_string().into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(body);
    let header = format!("t={t},v1={}", hmac_sha256_hex(secret.as_bytes(), &signed));
    let req = request(
        "POST",
        "webhook",
        "",
        vec![
            ("content-type", "application/json".into()),
            ("X-Hub-Signature", header),
        ],
        body.to_vec(),
    );
    let result = Webhook::handle_webhook(req);
    check(mode == Mode::Signed, &result);
});
