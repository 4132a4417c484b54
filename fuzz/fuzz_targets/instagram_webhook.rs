//! Meta's Instagram messaging webhook: JSON signed with
//! `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, and the
//! `GET` check of the callback URL.
//!
//! Modes: `s` the payload is the body, signed with the app secret; `u`
//! signed with another secret; `g` the payload is the query string of the
//! URL check (accepted only with the right `hub.verify_token`).
#![no_main]

use hub_fuzz::{Mode, check, request, settings, split};
use hub_plugin_sdk::Provider;
use hub_plugin_sdk::signature::hmac_sha256_hex;
use instagram::Instagram;
use libfuzzer_sys::fuzz_target;

const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";
const VERIFY_TOKEN: &str = "fuzz-verify";

fuzz_target!(|data: &[u8]| {
    let Some((mode, payload)) = split(data) else {
        return;
    };
    Instagram::configure(settings(&[
        ("page_id", "17841400000000000"),
        ("page_access_token", "EAAGm0PX4ZCpsBAFuzzTokenForTests"),
        ("app_secret", APP_SECRET),
        ("verify_token", VERIFY_TOKEN),
    ]))
    .expect("valid settings");
    if mode == Mode::Other(b'g') {
        let query = String::from_utf8_lossy(payload).into_owned();
        let result =
            Instagram::handle_webhook(request("GET", "instagram", &query, Vec::new(), Vec::new()));
        let param = |name: &str| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let genuine = param("hub.mode").as_deref() == Some("subscribe")
            && param("hub.verify_token").as_deref() == Some(VERIFY_TOKEN);
        match (&result, param("hub.challenge")) {
            (Ok(r), Some(challenge)) if genuine => {
                assert_eq!(
                    r.response.body,
                    challenge.as_bytes(),
                    "the challenge is not echoed"
                );
                assert!(r.messages.is_empty() && r.statuses.is_empty());
            }
            (Ok(_), _) => {
                panic!("the URL check passed without subscribe, the verify token and a challenge")
            }
            (Err(e), Some(_)) if genuine => panic!("a genuine URL check was refused: {e:?}"),
            (Err(_), _) => {}
        }
        return;
    }
    let secret = if mode == Mode::Signed {
        APP_SECRET
    } else {
        "another-app-secret-0123456789"
    };
    let signature = format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), payload));
    let req = request(
        "POST",
        "instagram",
        "",
        vec![
            ("content-type", "application/json".into()),
            ("X-Hub-Signature-256", signature),
        ],
        payload.to_vec(),
    );
    let result = Instagram::handle_webhook(req);
    check(mode == Mode::Signed, &result);
});
