//! The plugin host end to end: the real `hub` binary, the real `webhook`
//! plugin compiled from `plugins/`, and a local receiver.

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use support::receiver::{Receiver, now_secs, sign, verify};
use support::{ADMIN_PASSWORD, DataDir, Hub, WEBHOOK_SECRET};

const SOON: Duration = Duration::from_secs(20);

fn env_for(receiver: &Receiver) -> Vec<(String, String)> {
    vec![
        ("HUB_PLUGIN__WEBHOOK__SETTINGS__URL".into(), receiver.url()),
        ("HUB_PLUGIN__WEBHOOK__ALLOW_HOSTS".into(), receiver.host()),
        ("HUB_DELIVERY__BACKOFF_MS".into(), "100".into()),
        ("HUB_DELIVERY__POLL_MS".into(), "100".into()),
    ]
}

fn start(data: &DataDir, env: &[(String, String)]) -> Hub {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    data.start_with(&pairs)
}

async fn admin(hub: &Hub) -> String {
    hub.sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await
}

async fn chat_with_phone(hub: &Hub, token: &str, phone: &str) -> String {
    let c = hub
        .create_client(
            token,
            json!({ "firstName": "Ann", "contacts": [{ "kind": "PHONE", "value": phone }] }),
        )
        .await;
    hub.open_chat(token, c["id"].as_str().unwrap()).await
}

async fn send(hub: &Hub, token: &str, chat: &str, text: &str) -> String {
    hub.gql(
        Some(token),
        "mutation($c: ID!, $t: String!) { sendMessage(input: { chatId: $c, text: $t }) { id status } }",
        json!({ "c": chat, "t": text }),
    )
    .await
    .ok()["sendMessage"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn post_webhook(hub: &Hub, body: &Value, signature: Option<String>) -> (u16, Value) {
    let body = serde_json::to_vec(body).unwrap();
    let mut req = reqwest::Client::new()
        .post(format!("{}/webhooks/webhook/default", hub.url))
        .header("content-type", "application/json")
        .body(body.clone());
    if let Some(s) = signature {
        req = req.header("x-hub-signature", s);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn signed(body: &Value) -> Option<String> {
    Some(sign(
        WEBHOOK_SECRET,
        now_secs(),
        &serde_json::to_vec(body).unwrap(),
    ))
}

#[tokio::test]
async fn a_sent_message_reaches_the_receiver_signed_and_becomes_sent() {
    let receiver = Receiver::start().await;
    let data = DataDir::new();
    let hub = start(&data, &env_for(&receiver));
    let token = admin(&hub).await;
    let chat = chat_with_phone(&hub, &token, "+14155550100").await;
    let id = send(&hub, &token, &chat, "Your order shipped").await;

    let got = receiver.wait_for(1, SOON).await;
    assert_eq!(got.len(), 1, "the receiver got the message once");
    let r = &got[0];
    let sig = r.header("x-hub-signature").expect("signature header");
    assert!(
        verify(WEBHOOK_SECRET, sig, &r.body),
        "valid signature: {sig}"
    );
    assert!(!verify("another secret 0123456789", sig, &r.body));
    assert_eq!(r.header("idempotency-key"), Some(id.as_str()));
    let body = r.json();
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["to"], "+14155550100");
    assert_eq!(body["channel"], "sms");
    assert_eq!(body["text"], "Your order shipped");
    let callback = body["status_callback_url"].as_str().unwrap();
    assert!(
        callback.starts_with(&format!("{}/webhooks/webhook/", hub.url)),
        "{callback}"
    );

    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "SENT")
        .await;
    assert_eq!(m["status"], "SENT", "{m}");
    assert_eq!(m["providerMessageId"], format!("rcv-{id}"));
}

#[tokio::test]
async fn a_failing_receiver_gets_the_same_message_again_until_it_takes_it() {
    let receiver = Receiver::start().await;
    receiver.fail_first(2);
    let data = DataDir::new();
    let hub = start(&data, &env_for(&receiver));
    let token = admin(&hub).await;
    let chat = chat_with_phone(&hub, &token, "+14155550101").await;
    let id = send(&hub, &token, &chat, "Third time lucky").await;

    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "SENT")
        .await;
    assert_eq!(m["status"], "SENT", "{m}");
    let got = receiver.received();
    assert_eq!(got.len(), 3, "two 503s, then the success");
    for r in &got {
        assert_eq!(r.header("idempotency-key"), Some(id.as_str()));
        assert!(verify(
            WEBHOOK_SECRET,
            r.header("x-hub-signature").unwrap(),
            &r.body
        ));
    }
}

#[tokio::test]
async fn a_permanent_refusal_fails_the_message_with_the_reason() {
    // The receiver's URL answers 404 for any other path: a permanent error.
    let receiver = Receiver::start().await;
    let data = DataDir::new();
    let mut env = env_for(&receiver);
    env[0].1 = format!("http://{}/nowhere", receiver.host());
    let hub = start(&data, &env);
    let token = admin(&hub).await;
    let chat = chat_with_phone(&hub, &token, "+14155550102").await;
    let id = send(&hub, &token, &chat, "Lost cause").await;
    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "FAILED")
        .await;
    assert_eq!(m["status"], "FAILED", "{m}");
    assert!(
        m["failureReason"].as_str().unwrap().contains("HTTP 404"),
        "{m}"
    );
}

#[tokio::test]
async fn an_inbound_post_creates_client_chat_member_and_message_exactly_once() {
    let data = DataDir::new();
    let hub = data.start();
    let token = admin(&hub).await;
    let event = json!({
        "type": "message", "id": "ext-42", "channel": "sms",
        "from": { "address": "+1 415 555 0199", "name": "Bea Jones" },
        "text": "Is my order on its way?"
    });
    let (s1, b1) = post_webhook(&hub, &event, signed(&event)).await;
    assert_eq!(s1, 200, "{b1}");
    let (s2, b2) = post_webhook(&hub, &event, signed(&event)).await;
    assert_eq!(s2, 200, "a repeat is acknowledged: {b2}");

    let found = hub
        .gql(
            Some(&token),
            "query { clientByContact(kind: PHONE, value: \"+14155550199\") { id firstName chat { id } } }",
            json!({}),
        )
        .await;
    let client = &found.ok()["clientByContact"];
    assert_eq!(client["firstName"], "Bea Jones");
    let chat = client["chat"]["id"]
        .as_str()
        .expect("chat created")
        .to_owned();
    let r = hub
        .gql(
            Some(&token),
            "query($c: ID!) { chat(id: $c) { unreadCount members { kind } messages(first: 10) { edges { node { text direction transport sender { kind } } } } } }",
            json!({ "c": chat }),
        )
        .await;
    let c = &r.ok()["chat"];
    let edges = c["messages"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1, "stored once: {c}");
    assert_eq!(edges[0]["node"]["text"], "Is my order on its way?");
    assert_eq!(edges[0]["node"]["direction"], "INBOUND");
    assert_eq!(edges[0]["node"]["transport"], "SMS");
    assert_eq!(c["unreadCount"], 1);
    let members: Vec<&str> = c["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(members, vec!["client"], "{c}");

    // A second message from the same number lands in the same chat.
    let event = json!({
        "type": "message", "id": "ext-43", "channel": "sms",
        "from": { "address": "+14155550199" }, "text": "Hello?"
    });
    assert_eq!(post_webhook(&hub, &event, signed(&event)).await.0, 200);
    assert_eq!(hub.history(&token, &chat).await.len(), 2);
}

#[tokio::test]
async fn bad_signatures_are_refused_and_store_nothing() {
    let data = DataDir::new();
    let hub = data.start();
    let token = admin(&hub).await;
    let event = json!({
        "type": "message", "id": "ext-1", "channel": "sms",
        "from": { "address": "+14155550177" }, "text": "let me in"
    });
    let body = serde_json::to_vec(&event).unwrap();
    let cases = [
        (None, "missing"),
        (
            Some(sign("not-the-secret-0123456789", now_secs(), &body)),
            "does not match",
        ),
        (
            Some(sign(WEBHOOK_SECRET, now_secs() - 3600, &body)),
            "timestamp",
        ),
        (Some("t=abc,v1=00".to_owned()), "timestamp"),
    ];
    for (sig, why) in cases {
        let (status, b) = post_webhook(&hub, &event, sig).await;
        assert_eq!(status, 401, "{b}");
        assert_eq!(b["error"]["code"], "UNAUTHENTICATED");
        assert!(b["error"]["message"].as_str().unwrap().contains(why), "{b}");
    }
    // Signed, but not what the plugin reads.
    let junk = json!({ "type": "message", "id": "x" });
    let (status, b) = post_webhook(&hub, &junk, signed(&junk)).await;
    assert_eq!(status, 400, "{b}");
    assert_eq!(b["error"]["code"], "MALFORMED");
    // Signed, but its id or sender is only whitespace (a status's id too).
    let blanks = [(" \t", "+14155550177"), ("ext-2", "\u{b}\u{b} ")]
        .map(|(id, address)| {
            json!({
                "type": "message", "id": id, "channel": "sms",
                "from": { "address": address }, "text": "let me in"
            })
        })
        .into_iter()
        .chain([json!([{ "type": "status", "id": "      ", "state": "failed", "reason": "no such number" }])]);
    for blank in blanks {
        let (status, b) = post_webhook(&hub, &blank, signed(&blank)).await;
        assert_eq!(status, 400, "{b}");
        assert_eq!(b["error"]["code"], "MALFORMED");
        assert!(
            b["error"]["message"]
                .as_str()
                .unwrap()
                .contains("must not be blank"),
            "{b}"
        );
    }
    let found = hub
        .gql(
            Some(&token),
            "query { clientByContact(kind: PHONE, value: \"+14155550177\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(found.ok()["clientByContact"], Value::Null, "nothing stored");
    // Unknown plugin or tenant: 404.
    let r = reqwest::Client::new()
        .post(format!("{}/webhooks/nope/default", hub.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let r = reqwest::Client::new()
        .post(format!("{}/webhooks/webhook/no-such-tenant", hub.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

#[tokio::test]
async fn status_callbacks_move_delivery_forward_only() {
    let receiver = Receiver::start().await;
    let data = DataDir::new();
    let hub = start(&data, &env_for(&receiver));
    let token = admin(&hub).await;
    let chat = chat_with_phone(&hub, &token, "+14155550103").await;
    let id = send(&hub, &token, &chat, "Track me").await;
    hub.wait_message(&token, &chat, &id, |m| m["status"] == "SENT")
        .await;
    let pid = format!("rcv-{id}");
    let delivered = json!({ "type": "status", "id": pid, "state": "delivered" });
    assert_eq!(
        post_webhook(&hub, &delivered, signed(&delivered)).await.0,
        200
    );
    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "DELIVERED")
        .await;
    assert_eq!(m["status"], "DELIVERED");
    // A late "sent" changes nothing.
    let stale = json!({ "type": "status", "id": pid, "state": "sent" });
    assert_eq!(post_webhook(&hub, &stale, signed(&stale)).await.0, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m = hub.wait_message(&token, &chat, &id, |_| true).await;
    assert_eq!(m["status"], "DELIVERED");
}

#[tokio::test]
async fn admins_configure_plugins_per_tenant_and_secrets_stay_hidden() {
    let data = DataDir::new();
    let hub = data.start();
    let token = admin(&hub).await;
    let list = hub
        .gql(
            Some(&token),
            "query { plugins { name configured tenantSettings channels settings { key secret isSet value } limits { memoryMib cpuMs } } }",
            json!({}),
        )
        .await;
    let plugins = list.ok()["plugins"].as_array().unwrap().clone();
    let webhook = plugins
        .iter()
        .find(|p| p["name"] == "webhook")
        .expect("webhook loaded");
    assert_eq!(webhook["configured"], true, "operator defaults apply");
    assert_eq!(webhook["tenantSettings"], false);
    let secret = webhook["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "secret")
        .unwrap();
    assert_eq!(secret["isSet"], true);
    assert_eq!(secret["value"], Value::Null, "a secret is never shown");
    assert!(!list.body.to_string().contains(WEBHOOK_SECRET));

    const CONFIGURE: &str = "mutation($p: String!, $s: [PluginSettingInput!]!, $c: [Transport!]) { configurePlugin(plugin: $p, settings: $s, channels: $c) { name tenantSettings enabledChannels } }";
    let bad = [
        (
            json!({ "p": "webhook", "s": [{ "key": "colour", "value": "red" }] }),
            "settings[0].key",
            "colour",
        ),
        (
            json!({ "p": "webhook", "s": [{ "key": "secret", "value": "short" }] }),
            "settings",
            "at least 16",
        ),
        (
            json!({ "p": "webhook", "s": [{ "key": "url", "value": "ftp://x" }] }),
            "settings",
            "http",
        ),
        (
            json!({ "p": "hostile", "s": [{ "key": "mode", "value": "ok" }], "c": ["EMAIL"] }),
            "channels",
            "does not carry",
        ),
        (json!({ "p": "nope", "s": [] }), "plugin", "no plugin"),
    ];
    for (vars, field, needle) in bad {
        let r = hub.gql(Some(&token), CONFIGURE, vars.clone()).await;
        assert_eq!(r.code(), "VALIDATION", "{vars}");
        assert_eq!(r.field(), Some(field), "{vars}: {}", r.message());
        assert!(r.message().contains(needle), "{vars}: {}", r.message());
    }
    let ok = hub
        .gql(
            Some(&token),
            CONFIGURE,
            json!({ "p": "hostile", "s": [{ "key": "mode", "value": "ok" }], "c": ["OTHER"] }),
        )
        .await;
    assert_eq!(ok.ok()["configurePlugin"]["tenantSettings"], true);
    assert_eq!(
        ok.ok()["configurePlugin"]["enabledChannels"],
        json!(["OTHER"])
    );

    // Another role may not look or touch.
    let agent = hub
        .user_with_role(&token, "default", "agent@example.com", "AGENT")
        .await;
    let r = hub
        .gql(Some(&agent), "query { plugins { name } }", json!({}))
        .await;
    assert_eq!(r.code(), "FORBIDDEN");
    let r = hub
        .gql(
            Some(&agent),
            CONFIGURE,
            json!({ "p": "hostile", "s": [{ "key": "mode", "value": "loop" }] }),
        )
        .await;
    assert_eq!(r.code(), "FORBIDDEN");
    let r = hub
        .gql(
            Some(&agent),
            "mutation { reloadPlugins { loaded } }",
            json!({}),
        )
        .await;
    assert_eq!(r.code(), "FORBIDDEN");
    let r = hub
        .gql(
            Some(&token),
            "mutation { reloadPlugins { loaded failed { plugin error } } }",
            json!({}),
        )
        .await;
    let loaded = r.ok()["reloadPlugins"]["loaded"].clone();
    assert_eq!(
        loaded,
        json!([
            "email",
            "hostile",
            "instagram",
            "telegram",
            "twilio",
            "webhook"
        ])
    );
}

#[tokio::test]
async fn without_a_plugin_for_the_transport_sending_is_a_clear_error() {
    let data = DataDir::new();
    // Empty values unset the operator's defaults: nothing is configured.
    let hub = data.start_with(&[
        ("HUB_PLUGIN__WEBHOOK__SETTINGS__URL", ""),
        ("HUB_PLUGIN__WEBHOOK__SETTINGS__SECRET", ""),
    ]);
    let token = admin(&hub).await;
    let chat = chat_with_phone(&hub, &token, "+14155550104").await;
    let r = hub
        .gql(
            Some(&token),
            "mutation($c: ID!) { sendMessage(input: { chatId: $c, text: \"hi\" }) { id } }",
            json!({ "c": chat }),
        )
        .await;
    assert_eq!(r.code(), "VALIDATION");
    assert_eq!(r.field(), Some("transport"));
    assert!(r.message().contains("no plugin"), "{}", r.message());
    let r = hub
        .gql(
            Some(&token),
            "mutation($c: ID!) { sendMessage(input: { chatId: $c, text: \"hi\", transport: SMS }) { id } }",
            json!({ "c": chat }),
        )
        .await;
    assert!(
        r.message().contains("no plugin is set up to send sms"),
        "{}",
        r.message()
    );
}

#[test]
fn plugin_list_shows_every_plugin_and_its_limits() {
    let data = DataDir::new();
    let (ok, out, err) = data.run(&["plugin", "list"], &[]);
    assert!(ok, "{err}");
    assert!(out.contains("webhook 0.1.0"), "{out}");
    assert!(out.contains("hostile 0.1.0"), "{out}");
    assert!(out.contains("16 MiB, 200 ms CPU"), "{out}");
    assert!(
        out.contains("settings:      url*, secret*, max_age_secs"),
        "{out}"
    );
}

#[tokio::test]
async fn polled_plugins_deliver_in_order_and_resume_from_their_cursor() {
    let data = DataDir::new();
    let env = [("HUB_PLUGINS__POLL_MS", "200")];
    let hub = data.start_with(&env);
    let token = admin(&hub).await;
    hub.gql(
        Some(&token),
        "mutation { configurePlugin(plugin: \"hostile\", settings: [{ key: \"mode\", value: \"poll\" }], channels: [OTHER]) { name } }",
        json!({}),
    )
    .await
    .ok();
    const FIND: &str = "query { clientByContact(kind: OTHER, value: \"poll-bot\") { firstName chat { messages(first: 10) { edges { node { text } } } } } }";
    let texts = |r: &Value| -> Vec<String> {
        r["clientByContact"]["chat"]["messages"]["edges"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["node"]["text"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let deadline = tokio::time::Instant::now() + SOON;
    let got = loop {
        let r = hub.gql(Some(&token), FIND, json!({})).await;
        let t = texts(r.ok());
        if t.len() >= 3 || tokio::time::Instant::now() > deadline {
            assert_eq!(r.ok()["clientByContact"]["firstName"], "Poll Bot");
            break t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(got, ["polled 3", "polled 2", "polled 1"], "newest first");
    hub.stop();

    // The cursor survived: a restart neither repeats nor re-polls from scratch
    // (which would store a fourth message with a new random id).
    let hub = data.start_with(&env);
    let token = admin(&hub).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = hub.gql(Some(&token), FIND, json!({})).await;
    assert_eq!(texts(r.ok()).len(), 3);
}
