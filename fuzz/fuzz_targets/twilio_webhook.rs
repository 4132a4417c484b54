//! Twilio's incoming-message and status callbacks: a form body signed with
//! `X-Twilio-Signature` (HMAC-SHA1 over the URL and the sorted parameters).
//!
//! Modes: `s` the payload is the form body, signed as Twilio signs it;
//! `u` the same body with a signature made with another token.
#![no_main]

use base64::Engine;
use hmac::{Hmac, Mac};
use hub_fuzz::{Mode, check, request, settings, split};
use hub_plugin_sdk::Provider;
use libfuzzer_sys::fuzz_target;
use sha1::Sha1;
use twilio::Twilio;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// Twilio's algorithm, written from its documentation rather than taken from
/// the plugin, so that a mistake in either shows.
fn signature(token: &str, url: &str, body: &[u8]) -> String {
    let mut params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    params.sort();
    let mut data = url.to_owned();
    for (k, v) in params {
        data.push_str(&k);
        data.push_str(&v);
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(token.as_bytes()).expect("any key length");
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, body)) = split(data) else {
        return;
    };
    Twilio::configure(settings(&[
        ("account_sid", "AC0123456789abcdef0123456789abcdef"),
        ("auth_token", TOKEN),
        ("from", "+14155550100"),
    ]))
    .expect("valid settings");
    let mut req = request("POST", "twilio", "", Vec::new(), body.to_vec());
    let token = if mode == Mode::Signed {
        TOKEN
    } else {
        "ffffffffffffffffffffffffffffffff"
    };
    let sig = signature(token, &req.url, body);
    req.headers.push(hub_plugin_sdk::types::Header {
        name: "X-Twilio-Signature".into(),
        value: sig,
    });
    let result = Twilio::handle_webhook(req);
    check(mode == Mode::Signed, &result);
});
