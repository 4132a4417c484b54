//! Mailgun's inbound route (`forward("https://hub/webhooks/email/{tenant}/mime")`):
//! a form with the raw message in `body-mime` and the signature fields
//! `timestamp`, `token` and `signature` (hex HMAC-SHA256 of timestamp+token).
//!
//! Modes: `s` the payload is a raw MIME message, posted as Mailgun does
//! (multipart/form-data) and signed; `f` the same as an URL-encoded form;
//! `u` multipart signed with another key; `m` the payload is the whole
//! multipart body as the request (the fuzzer cannot forge the signature:
//! refused, but the multipart parser is explored).
#![no_main]

use email::Email;
use hub_fuzz::{Mode, check, now_secs, request, settings, split};
use hub_plugin_sdk::Provider;
use hub_plugin_sdk::signature::hmac_sha256_hex;
use libfuzzer_sys::fuzz_target;

const KEY: &str = "key-0123456789abcdef0123456789abcdef";
const BOUNDARY: &str = "----hubfuzz7MA4YWxkTrZu0gW";

fn signature_fields(key: &str) -> Vec<(&'static str, Vec<u8>)> {
    let timestamp = now_secs().to_string();
    let token = "f1e2d3c4b5a6978812345678901234567890abcdefabcdef00";
    let signature = hmac_sha256_hex(key.as_bytes(), format!("{timestamp}{token}").as_bytes());
    vec![
        ("timestamp", timestamp.into_bytes()),
        ("token", token.as_bytes().to_vec()),
        ("signature", signature.into_bytes()),
    ]
}

fn multipart(fields: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, payload)) = split(data) else {
        return;
    };
    Email::configure(settings(&[
        ("smtp_host", "smtp.example"),
        ("from_address", "support@acme.example"),
        ("inbound_signing_key", KEY),
    ]))
    .expect("valid settings");
    let multipart_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let (content_type, body) = match mode {
        Mode::Other(b'm') => (multipart_type, payload.to_vec()),
        Mode::Other(b'f') => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in signature_fields(KEY) {
                form.append_pair(k, &String::from_utf8_lossy(&v));
            }
            form.append_pair("body-mime", &String::from_utf8_lossy(payload));
            (
                "application/x-www-form-urlencoded".to_owned(),
                form.finish().into_bytes(),
            )
        }
        _ => {
            if payload
                .windows(BOUNDARY.len())
                .any(|w| w == BOUNDARY.as_bytes())
            {
                return;
            }
            let key = if mode == Mode::Signed {
                KEY
            } else {
                "key-another-0123456789abcdef"
            };
            let mut fields = signature_fields(key);
            fields.push(("body-mime", payload.to_vec()));
            (multipart_type, multipart(&fields))
        }
    };
    let req = request(
        "POST",
        "email",
        "",
        vec![("content-type", content_type)],
        body,
    );
    let result = Email::handle_webhook(req);
    check(matches!(mode, Mode::Signed | Mode::Other(b'f')), &result);
});
