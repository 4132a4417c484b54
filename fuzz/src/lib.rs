//! What the webhook fuzz targets share: requests shaped as providers send
//! them, and the properties every plugin's answer must keep.
//!
//! Each webhook target reads its input as a mode byte followed by a payload,
//! so that seed files are real provider payloads behind one readable letter:
//! `s` signs the payload as the provider would (the parser behind the
//! signature check is what gets explored), `u` sends it unsigned or wrongly
//! signed (nothing may be accepted). Targets with more modes document them.

use hub_plugin_sdk::types::{Header, HttpRequest, WebhookError, WebhookResult};

/// The public address the hub would give the plugin.
pub const HUB: &str = "https://hub.example";

/// How a target treats its payload.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Signed,
    Unsigned,
    Other(u8),
}

/// The mode letter and the payload after it.
pub fn split(data: &[u8]) -> Option<(Mode, &[u8])> {
    let (&first, rest) = data.split_first()?;
    let mode = match first {
        b's' => Mode::Signed,
        b'u' => Mode::Unsigned,
        other => Mode::Other(other),
    };
    Some((mode, rest))
}

/// A webhook request to `/webhooks/{plugin}/acme{path}`.
pub fn request(
    method: &str,
    plugin: &str,
    query: &str,
    headers: Vec<(&str, String)>,
    body: Vec<u8>,
) -> HttpRequest {
    let mut url = format!("{HUB}/webhooks/{plugin}/acme");
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    HttpRequest {
        method: method.into(),
        url,
        path: String::new(),
        query: query.into(),
        headers: headers
            .into_iter()
            .map(|(name, value)| Header {
                name: name.into(),
                value,
            })
            .collect(),
        body,
    }
}

/// Checks a plugin's answer to a request that was signed (`signed`) or not.
///
/// With `HUB_FUZZ_SEEDS` set (`cargo xtask fuzz` replays the seeds so), a
/// signed request must also be accepted: the seeds are real payloads, and one
/// that is refused means the fuzzer would only be exploring the refusal.
pub fn check(signed: bool, result: &Result<WebhookResult, WebhookError>) {
    if !signed {
        assert_refused(result);
        return;
    }
    assert_well_formed(result);
    if replaying_seeds()
        && let Err(e) = result
    {
        panic!("a signed seed was refused: {e:?}");
    }
}

fn replaying_seeds() -> bool {
    static SEEDS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SEEDS.get_or_init(|| std::env::var_os("HUB_FUZZ_SEEDS").is_some())
}

/// A request that was not signed with the tenant's secret must be refused as
/// unauthenticated (or as malformed before the check), never accepted.
fn assert_refused(result: &Result<WebhookResult, WebhookError>) {
    if let Ok(r) = result {
        panic!(
            "an unsigned request was accepted: {} messages, {} statuses",
            r.messages.len(),
            r.statuses.len()
        );
    }
}

/// What the hub needs of an accepted webhook: every message and status names
/// the provider's id, every message its sender, the answer is a success, and a
/// failure carries its reason.
fn assert_well_formed(result: &Result<WebhookResult, WebhookError>) {
    let Ok(r) = result else { return };
    assert!(
        (200..300).contains(&r.response.status),
        "an accepted webhook answered {}",
        r.response.status
    );
    for m in &r.messages {
        assert!(
            !m.provider_message_id.trim().is_empty(),
            "a message without the provider's id"
        );
        assert!(
            !m.sender.address.trim().is_empty(),
            "a message without a sender address"
        );
        for a in &m.attachments {
            assert!(
                !a.url.is_empty() || a.content.is_some(),
                "an attachment with neither a URL nor content"
            );
        }
    }
    for s in &r.statuses {
        assert!(
            !s.provider_message_id.trim().is_empty(),
            "a status without the provider's id"
        );
    }
}

/// A plugin's settings as the hub passes them.
pub fn settings(pairs: &[(&str, &str)]) -> Vec<hub_plugin_sdk::types::Setting> {
    pairs
        .iter()
        .map(|(key, value)| hub_plugin_sdk::types::Setting {
            key: (*key).into(),
            value: (*value).into(),
        })
        .collect()
}

/// Seconds since the Unix epoch, for signatures that carry a timestamp.
pub fn now_secs() -> u64 {
    hub_plugin_sdk::now_ms() / 1000
}
