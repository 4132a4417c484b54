//! Telegram's webhook: a JSON `Update` with the secret token in
//! `X-Telegram-Bot-Api-Secret-Token`.
//!
//! Modes: `s` the payload is the body, with the right secret; `u` with
//! another secret of the same length.
#![no_main]

use hub_fuzz::{Mode, check, request, settings, split};
use hub_plugin_sdk::Provider;
use libfuzzer_sys::fuzz_target;
use telegram::Telegram;

const SECRET: &str = "fuzz-secret-0123456789";

fuzz_target!(|data: &[u8]| {
    let Some((mode, body)) = split(data) else {
        return;
    };
    Telegram::configure(settings(&[
        ("bot_token", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
        ("mode", "webhook"),
        ("webhook_secret", SECRET),
    ]))
    .expect("valid settings");
    let secret = if mode == Mode::Signed {
        SECRET.to_owned()
    } else {
        SECRET.replace('f', "g")
    };
    let req = request(
        "POST",
        "telegram",
        "",
        vec![
            ("content-type", "application/json".into()),
            ("X-Telegram-Bot-Api-Secret-Token", secret),
        ],
        body.to_vec(),
    );
    let result = Telegram::handle_webhook(req);
    check(mode == Mode::Signed, &result);
});
