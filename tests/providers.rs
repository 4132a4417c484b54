//! The provider plugins end to end: the real `hub` binary, each real plugin
//! compiled from `plugins/`, and a local fake of the provider's API that
//! speaks its wire format (see `support/fakes`).

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use support::fakes::{instagram, telegram, twilio};
use support::{ADMIN_PASSWORD, DataDir, Hub, Ws, smtp};

const SOON: Duration = Duration::from_secs(20);
const MESSAGE_ADDED: &str =
    "subscription { messageAdded { message { id text chatId transport } } }";

fn start(data: &DataDir, fake_env: Vec<(String, String)>) -> Hub {
    let mut env = fake_env;
    env.extend([
        ("HUB_DELIVERY__BACKOFF_MS".into(), "100".into()),
        ("HUB_DELIVERY__POLL_MS".into(), "100".into()),
        ("HUB_PLUGINS__POLL_MS".into(), "200".into()),
    ]);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    data.start_with(&pairs)
}

async fn admin(hub: &Hub) -> String {
    hub.sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await
}

/// The client filed under a contact, with its contacts and chat.
async fn client_by_contact(hub: &Hub, token: &str, kind: &str, value: &str) -> Value {
    hub.gql(
        Some(token),
        "query($k: ContactKind!, $v: String!) { clientByContact(kind: $k, value: $v) { id displayName contacts { kind value label consent { status source } } chat { id } } }",
        json!({ "k": kind, "v": value }),
    )
    .await
    .ok()["clientByContact"]
        .clone()
}

async fn send(hub: &Hub, token: &str, chat: &str, text: &str, transport: Option<&str>) -> String {
    hub.gql(
        Some(token),
        "mutation($c: ID!, $t: String!, $tr: Transport) { sendMessage(input: { chatId: $c, text: $t, transport: $tr }) { id } }",
        json!({ "c": chat, "t": text, "tr": transport }),
    )
    .await
    .ok()["sendMessage"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A client with one contact, and their chat.
async fn chat_with(hub: &Hub, token: &str, kind: &str, value: &str) -> String {
    let c = hub
        .create_client(
            token,
            json!({ "firstName": "Sam", "contacts": [{ "kind": kind, "value": value }] }),
        )
        .await;
    hub.open_chat(token, c["id"].as_str().unwrap()).await
}

async fn subscribe(hub: &Hub, token: &str) -> Ws {
    let mut ws = hub.ws(token).await;
    ws.subscribe("m", MESSAGE_ADDED, json!({})).await;
    ws
}

async fn next_added(ws: &mut Ws) -> Value {
    ws.next_data(SOON).await.expect("a messageAdded event")["data"]["messageAdded"]["message"]
        .clone()
}

// ---------------------------------------------------------------- Twilio

async fn twilio_hub(data: &DataDir, fake: &twilio::Twilio) -> (Hub, String) {
    let hub = start(data, fake.hub_env());
    let token = admin(&hub).await;
    hub.configure_plugin(
        &token,
        "twilio",
        &[
            ("account_sid", twilio::ACCOUNT_SID),
            ("auth_token", twilio::AUTH_TOKEN),
            ("from", twilio::FROM),
        ],
        &["SMS", "WHATSAPP"],
    )
    .await;
    (hub, token)
}

fn twilio_inbound<'a>(sid: &'a str, from: &'a str, body: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("ToCountry", "US"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", twilio::FROM),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", twilio::ACCOUNT_SID),
        ("From", from),
        ("ApiVersion", "2010-04-01"),
    ]
}

#[tokio::test]
async fn twilio_inbound_messages_are_stored_once_and_reach_a_subscriber() {
    let fake = twilio::Twilio::start().await;
    let data = DataDir::new();
    let (hub, token) = twilio_hub(&data, &fake).await;
    let mut ws = subscribe(&hub, &token).await;
    let url = format!("{}/webhooks/twilio/default", hub.url);

    let mut sms = twilio_inbound(
        "SM11111111111111111111111111111111",
        "+14155550123",
        "Is the sofa in stock?",
    );
    sms.retain(|(k, _)| *k != "NumMedia");
    let media = "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/MM1/Media/ME1";
    sms.extend([
        ("NumMedia", "1"),
        ("MediaUrl0", media),
        ("MediaContentType0", "image/jpeg"),
    ]);
    for attempt in 0..2 {
        let (status, body) = twilio::post_webhook(&url, &sms, None).await;
        assert_eq!(status, 200, "attempt {attempt}: {body}");
        assert!(
            body.contains("<Response></Response>"),
            "empty TwiML: {body}"
        );
    }
    let added = next_added(&mut ws).await;
    assert!(
        added["text"]
            .as_str()
            .unwrap()
            .starts_with("Is the sofa in stock?"),
        "{added}"
    );
    assert_eq!(added["transport"], "SMS");

    let client = client_by_contact(&hub, &token, "PHONE", "+14155550123").await;
    let chat = client["chat"]["id"].as_str().expect("a chat").to_owned();
    let messages = hub.history(&token, &chat).await;
    assert_eq!(
        messages.len(),
        1,
        "a retried webhook adds nothing: {messages:?}"
    );
    let m = &messages[0];
    assert_eq!(m["direction"], "INBOUND");
    assert_eq!(m["providerMessageId"], "SM11111111111111111111111111111111");
    assert!(
        m["text"]
            .as_str()
            .unwrap()
            .contains(&format!("image/jpeg {media}")),
        "the picture is kept: {m}"
    );

    // WhatsApp: the profile name names the new client.
    let mut wa = twilio_inbound(
        "SM22222222222222222222222222222222",
        "whatsapp:+14155550124",
        "Hola!",
    );
    wa.extend([("ProfileName", "Maria Lopez"), ("WaId", "14155550124")]);
    assert_eq!(twilio::post_webhook(&url, &wa, None).await.0, 200);
    let added = next_added(&mut ws).await;
    assert_eq!(added["transport"], "WHATSAPP", "{added}");
    let client = client_by_contact(&hub, &token, "WHATSAPP", "+14155550124").await;
    assert_eq!(client["displayName"], "Maria Lopez", "{client}");

    // A blank MessageSid (signed, so it got past the signature) is refused,
    // not stored under an empty id.
    let blank = twilio_inbound("   ", "+14155550126", "Who am I?");
    let (status, body) = twilio::post_webhook(&url, &blank, None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("MessageSid"), "{body}");
    // Nor is a WhatsApp sender with no number after the prefix.
    let nobody = twilio_inbound("SM33333333333333333333333333333333", "whatsapp: ", "Hi");
    let (status, body) = twilio::post_webhook(&url, &nobody, None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("`From`"), "{body}");
    assert!(
        ws.recv(Duration::from_millis(500)).await.is_none(),
        "nothing more"
    );
}

#[tokio::test]
async fn twilio_replies_leave_as_the_api_expects_and_follow_status_callbacks() {
    let fake = twilio::Twilio::start().await;
    let data = DataDir::new();
    let (hub, token) = twilio_hub(&data, &fake).await;
    let url = format!("{}/webhooks/twilio/default", hub.url);
    let inbound = twilio_inbound(
        "SM33333333333333333333333333333333",
        "whatsapp:+14155550125",
        "Can I book for Friday?",
    );
    assert_eq!(twilio::post_webhook(&url, &inbound, None).await.0, 200);
    let client = client_by_contact(&hub, &token, "WHATSAPP", "+14155550125").await;
    let chat = client["chat"]["id"].as_str().unwrap().to_owned();

    let id = send(&hub, &token, &chat, "Friday at 10 works.", None).await;
    let sent = fake.wait_for_sends(1).await;
    assert_eq!(sent.len(), 1);
    let r = &sent[0];
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.path,
        format!("/2010-04-01/Accounts/{}/Messages.json", twilio::ACCOUNT_SID)
    );
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{}", twilio::ACCOUNT_SID, twilio::AUTH_TOKEN)
        )
    );
    assert_eq!(r.header("authorization"), Some(basic.as_str()));
    assert_eq!(r.form_value("To").as_deref(), Some("whatsapp:+14155550125"));
    assert_eq!(
        r.form_value("From"),
        Some(format!("whatsapp:{}", twilio::FROM))
    );
    assert_eq!(r.form_value("Body").as_deref(), Some("Friday at 10 works."));
    let callback = r
        .form_value("StatusCallback")
        .expect("a status callback URL");
    assert!(
        callback.starts_with(&format!("{}/webhooks/twilio/", hub.url)),
        "{callback}"
    );

    let m = hub
        .wait_message(&token, &chat, &id, |m| !m["providerMessageId"].is_null())
        .await;
    assert_eq!(m["status"], "QUEUED", "Twilio answered `queued`: {m}");
    let sid = m["providerMessageId"].as_str().unwrap().to_owned();
    for (status, expect) in [
        ("sent", "SENT"),
        ("delivered", "DELIVERED"),
        ("read", "READ"),
    ] {
        let params = [
            ("AccountSid", twilio::ACCOUNT_SID),
            ("ApiVersion", "2010-04-01"),
            ("From", "whatsapp:+14155550000"),
            ("MessageSid", sid.as_str()),
            ("MessageStatus", status),
            ("SmsSid", sid.as_str()),
            ("SmsStatus", status),
            ("To", "whatsapp:+14155550125"),
        ];
        let (code, body) = twilio::post_webhook(&callback, &params, None).await;
        assert_eq!(code, 200, "{body}");
        let m = hub
            .wait_message(&token, &chat, &id, |m| m["status"] == expect)
            .await;
        assert_eq!(m["status"], expect, "after `{status}`: {m}");
    }

    // An SMS that the carrier cannot deliver ends failed, with Twilio's reason.
    let sms_chat = chat_with(&hub, &token, "PHONE", "+14155550126").await;
    let id = send(&hub, &token, &sms_chat, "Your table is ready", Some("SMS")).await;
    let sent = fake.wait_for_sends(2).await;
    assert_eq!(sent[1].form_value("From").as_deref(), Some(twilio::FROM));
    assert_eq!(sent[1].form_value("To").as_deref(), Some("+14155550126"));
    let m = hub
        .wait_message(&token, &sms_chat, &id, |m| {
            !m["providerMessageId"].is_null()
        })
        .await;
    let sid = m["providerMessageId"].as_str().unwrap().to_owned();
    let params = [
        ("AccountSid", twilio::ACCOUNT_SID),
        ("ErrorCode", "30003"),
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "undelivered"),
        ("To", "+14155550126"),
    ];
    assert_eq!(twilio::post_webhook(&callback, &params, None).await.0, 200);
    let m = hub
        .wait_message(&token, &sms_chat, &id, |m| m["status"] == "FAILED")
        .await;
    assert_eq!(m["status"], "FAILED", "{m}");
    assert!(
        m["failureReason"].as_str().unwrap().contains("30003"),
        "{m}"
    );

    // A callback saying the recipient unsubscribed records the opt-out.
    let stop_chat = chat_with(&hub, &token, "PHONE", "+14155550130").await;
    let id = send(&hub, &token, &stop_chat, "Weekly deals", Some("SMS")).await;
    let m = hub
        .wait_message(&token, &stop_chat, &id, |m| {
            !m["providerMessageId"].is_null()
        })
        .await;
    let sid = m["providerMessageId"].as_str().unwrap().to_owned();
    let params = [
        ("AccountSid", twilio::ACCOUNT_SID),
        ("ErrorCode", "21610"),
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "failed"),
        ("To", "+14155550130"),
    ];
    assert_eq!(twilio::post_webhook(&callback, &params, None).await.0, 200);
    let m = hub
        .wait_message(&token, &stop_chat, &id, |m| m["status"] == "FAILED")
        .await;
    assert!(
        m["failureReason"].as_str().unwrap().contains("21610"),
        "{m}"
    );
    let client = client_by_contact(&hub, &token, "PHONE", "+14155550130").await;
    assert_eq!(
        client["contacts"][0]["consent"]["status"], "OPTED_OUT",
        "{client}"
    );
}

#[tokio::test]
async fn an_inbound_stop_opts_the_sender_out_and_start_opts_them_back_in() {
    let fake = twilio::Twilio::start().await;
    let data = DataDir::new();
    let (hub, token) = twilio_hub(&data, &fake).await;
    let url = format!("{}/webhooks/twilio/default", hub.url);
    let hello = twilio_inbound(
        "SM40000000000000000000000000000001",
        "+14155550140",
        "Hello",
    );
    assert_eq!(twilio::post_webhook(&url, &hello, None).await.0, 200);
    let client = client_by_contact(&hub, &token, "PHONE", "+14155550140").await;
    assert_eq!(
        client["contacts"][0]["consent"]["status"], "UNKNOWN",
        "{client}"
    );
    let chat = client["chat"]["id"].as_str().unwrap().to_owned();

    let stop = twilio_inbound(
        "SM40000000000000000000000000000002",
        "+14155550140",
        " Stop ",
    );
    assert_eq!(twilio::post_webhook(&url, &stop, None).await.0, 200);
    let client = client_by_contact(&hub, &token, "PHONE", "+14155550140").await;
    assert_eq!(
        client["contacts"][0]["consent"]["status"], "OPTED_OUT",
        "{client}"
    );
    assert_eq!(
        client["contacts"][0]["consent"]["source"], "keyword STOP via twilio",
        "{client}"
    );
    // The keyword is kept as a message like any other.
    let history = hub.history(&token, &chat).await;
    assert_eq!(history.len(), 2, "{history:?}");
    let refused = hub
        .gql(
            Some(&token),
            "mutation($c: ID!) { sendMessage(input: { chatId: $c, text: \"Weekly deals\", transport: SMS }) { id } }",
            json!({ "c": chat }),
        )
        .await;
    assert_eq!(refused.code(), "VALIDATION", "{:?}", refused.body);
    assert!(
        refused.message().contains("opted out"),
        "{}",
        refused.message()
    );

    let start = twilio_inbound(
        "SM40000000000000000000000000000003",
        "+14155550140",
        "START",
    );
    assert_eq!(twilio::post_webhook(&url, &start, None).await.0, 200);
    let client = client_by_contact(&hub, &token, "PHONE", "+14155550140").await;
    assert_eq!(
        client["contacts"][0]["consent"]["status"], "OPTED_IN",
        "{client}"
    );
    send(&hub, &token, &chat, "Welcome back", Some("SMS")).await;
}

#[tokio::test]
async fn twilio_webhooks_with_a_wrong_or_missing_signature_are_refused() {
    let fake = twilio::Twilio::start().await;
    let data = DataDir::new();
    let (hub, token) = twilio_hub(&data, &fake).await;
    let url = format!("{}/webhooks/twilio/default", hub.url);
    let params = twilio_inbound(
        "SM44444444444444444444444444444444",
        "+14155550127",
        "let me in",
    );
    let elsewhere = twilio::signature("https://example.com/webhooks/twilio/default", &params);
    for sig in [
        Some(""),
        Some("bm90IGEgc2lnbmF0dXJl"),
        Some(elsewhere.as_str()),
    ] {
        let (status, body) = twilio::post_webhook(&url, &params, sig).await;
        assert_eq!(status, 401, "{sig:?}: {body}");
    }
    // Signed with our token, but for another account.
    let mut other = params.clone();
    other.retain(|(k, _)| *k != "AccountSid");
    other.push(("AccountSid", "ACffffffffffffffffffffffffffffffff"));
    assert_eq!(twilio::post_webhook(&url, &other, None).await.0, 401);
    assert_eq!(
        client_by_contact(&hub, &token, "PHONE", "+14155550127").await,
        Value::Null,
        "nothing stored"
    );
}

#[tokio::test]
async fn twilio_rate_limits_and_outages_are_retried_and_refusals_fail() {
    let fake = twilio::Twilio::start().await;
    let data = DataDir::new();
    let (hub, token) = twilio_hub(&data, &fake).await;
    let chat = chat_with(&hub, &token, "PHONE", "+14155550128").await;

    fake.queue(twilio::error(429, 20429, "Too Many Requests").with_header("retry-after", "2"));
    fake.queue(twilio::error(503, 20503, "Service Unavailable"));
    let id = send(&hub, &token, &chat, "Third time lucky", Some("SMS")).await;
    let m = hub
        .wait_message(&token, &chat, &id, |m| !m["providerMessageId"].is_null())
        .await;
    assert_eq!(m["status"], "QUEUED", "{m}");
    let tries = fake.requests();
    assert_eq!(tries.len(), 3, "429, 503, then 201");
    let gap = tries[1].at - tries[0].at;
    assert!(
        gap >= Duration::from_millis(2000),
        "retried {gap:?} after a Retry-After of 2 s"
    );
    for t in &tries {
        assert_eq!(t.form_value("Body").as_deref(), Some("Third time lucky"));
    }

    // A number Twilio rejects: failed at once, with Twilio's words.
    fake.queue(twilio::error(
        400,
        21211,
        "The 'To' number +14155550128 is not a valid phone number.",
    ));
    let id = send(&hub, &token, &chat, "Hello?", Some("SMS")).await;
    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "FAILED")
        .await;
    assert_eq!(m["status"], "FAILED", "{m}");
    let reason = m["failureReason"].as_str().unwrap();
    assert!(
        reason.contains("21211") && reason.contains("not a valid phone number"),
        "{reason}"
    );
    assert_eq!(fake.requests().len(), 4, "a permanent error is not retried");

    // The recipient replied STOP: failed, and the contact is opted out.
    fake.queue(twilio::error(
        400,
        21610,
        "Attempt to send to unsubscribed recipient",
    ));
    let id = send(&hub, &token, &chat, "Big sale!", Some("SMS")).await;
    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "FAILED")
        .await;
    assert!(
        m["failureReason"].as_str().unwrap().contains("opted out"),
        "{m}"
    );
    let client = client_by_contact(&hub, &token, "PHONE", "+14155550128").await;
    assert_eq!(
        client["contacts"][0]["consent"]["status"], "OPTED_OUT",
        "{client}"
    );

    // WhatsApp to someone who never wrote: outside the 24-hour window.
    let wa_chat = chat_with(&hub, &token, "WHATSAPP", "+14155550129").await;
    let id = send(&hub, &token, &wa_chat, "Hi there", Some("WHATSAPP")).await;
    let m = hub
        .wait_message(&token, &wa_chat, &id, |m| m["status"] == "FAILED")
        .await;
    assert!(
        m["failureReason"]
            .as_str()
            .unwrap()
            .contains("24-hour window"),
        "{m}"
    );
    assert_eq!(fake.requests().len(), 5, "nothing sent outside the window");
}

// ---------------------------------------------------------------- Telegram

async fn telegram_hub(data: &DataDir, fake: &telegram::Telegram, polling: bool) -> (Hub, String) {
    let hub = start(data, fake.hub_env());
    let token = admin(&hub).await;
    let mut settings = vec![("bot_token", telegram::BOT_TOKEN)];
    if polling {
        settings.extend([("mode", "polling"), ("poll_timeout_secs", "1")]);
    } else {
        settings.push(("webhook_secret", telegram::WEBHOOK_SECRET));
    }
    hub.configure_plugin(&token, "telegram", &settings, &["TELEGRAM"])
        .await;
    (hub, token)
}

async fn post_telegram(hub: &Hub, update: &Value, secret: Option<&str>) -> u16 {
    telegram::post_update(&hub.url, update, secret).await
}

#[tokio::test]
async fn telegram_webhook_updates_are_stored_once_and_reach_a_subscriber() {
    let fake = telegram::Telegram::start().await;
    let data = DataDir::new();
    let (hub, token) = telegram_hub(&data, &fake, false).await;
    let mut ws = subscribe(&hub, &token).await;
    let update = telegram::text_update(900001, 555000111, 7, "Where is my parcel?");
    for _ in 0..2 {
        assert_eq!(
            post_telegram(&hub, &update, Some(telegram::WEBHOOK_SECRET)).await,
            200
        );
    }
    let added = next_added(&mut ws).await;
    assert_eq!(added["text"], "Where is my parcel?");
    assert_eq!(added["transport"], "TELEGRAM");
    let client = client_by_contact(&hub, &token, "TELEGRAM", "555000111").await;
    assert_eq!(client["displayName"], "Olga Ivanova", "{client}");
    assert_eq!(client["contacts"][0]["label"], "@olga_iv", "{client}");
    let chat = client["chat"]["id"].as_str().unwrap().to_owned();
    let messages = hub.history(&token, &chat).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["providerMessageId"], "555000111:7");

    // A wrong or missing secret token: 401, nothing stored.
    let other = telegram::text_update(900002, 555000222, 1, "sneaky");
    assert_eq!(post_telegram(&hub, &other, Some("wrong-secret")).await, 401);
    assert_eq!(post_telegram(&hub, &other, None).await, 401);
    assert_eq!(
        client_by_contact(&hub, &token, "TELEGRAM", "555000222").await,
        Value::Null
    );
}

#[tokio::test]
async fn telegram_replies_split_long_texts_and_handle_api_errors() {
    let fake = telegram::Telegram::start().await;
    let data = DataDir::new();
    let (hub, token) = telegram_hub(&data, &fake, false).await;
    let update = telegram::text_update(900010, 555000333, 3, "Hi");
    assert_eq!(
        post_telegram(&hub, &update, Some(telegram::WEBHOOK_SECRET)).await,
        200
    );
    let client = client_by_contact(&hub, &token, "TELEGRAM", "555000333").await;
    let chat = client["chat"]["id"].as_str().unwrap().to_owned();

    let id = send(&hub, &token, &chat, "Hello Olga!", None).await;
    let sent = fake.wait_for("sendMessage", 1).await;
    assert_eq!(sent[0].method, "POST");
    assert_eq!(
        sent[0].path,
        format!("/bot{}/sendMessage", telegram::BOT_TOKEN)
    );
    assert_eq!(sent[0].header("content-type"), Some("application/json"));
    assert_eq!(
        sent[0].json(),
        json!({ "chat_id": 555000333, "text": "Hello Olga!" })
    );
    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "SENT")
        .await;
    assert_eq!(m["status"], "SENT", "{m}");
    assert_eq!(m["providerMessageId"], "555000333:100");

    // Over 4,096 characters: several messages, in order, nothing lost.
    let long: String = (0..900).map(|i| format!("w{i:03} ")).collect();
    assert!(long.chars().count() > 4096);
    let id = send(&hub, &token, &chat, &long, None).await;
    let sent = fake.wait_for("sendMessage", 3).await;
    let parts: Vec<String> = sent[1..]
        .iter()
        .map(|r| r.json()["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(parts.len(), 2);
    assert!(parts.iter().all(|p| p.encode_utf16().count() <= 4096));
    assert_eq!(
        parts.concat(),
        long.trim_end(),
        "the parts join back into the text"
    );
    hub.wait_message(&token, &chat, &id, |m| m["status"] == "SENT")
        .await;

    // 429 with retry_after, then a 502: retried, no sooner than asked.
    let before = fake.requests().len();
    fake.queue(telegram::error(
        429,
        "Too Many Requests: retry after 2",
        Some(2),
    ));
    fake.queue(telegram::error(502, "Bad Gateway", None));
    let id = send(&hub, &token, &chat, "Patience", None).await;
    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "SENT")
        .await;
    assert_eq!(m["status"], "SENT", "{m}");
    let tries = &fake.requests()[before..];
    assert_eq!(tries.len(), 3, "429, 502, then ok");
    assert!(tries[1].at - tries[0].at >= Duration::from_millis(2000));

    // The customer blocked the bot: failed, and the contact opted out.
    fake.queue(telegram::error(
        403,
        "Forbidden: bot was blocked by the user",
        None,
    ));
    let id = send(&hub, &token, &chat, "Still there?", None).await;
    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "FAILED")
        .await;
    assert!(
        m["failureReason"]
            .as_str()
            .unwrap()
            .contains("bot was blocked by the user"),
        "{m}"
    );
    let client = client_by_contact(&hub, &token, "TELEGRAM", "555000333").await;
    assert_eq!(client["contacts"][0]["consent"]["status"], "OPTED_OUT");

    // A permanent 400 on another chat: failed with Telegram's description.
    let other = chat_with(&hub, &token, "TELEGRAM", "555000444").await;
    fake.queue(telegram::error(400, "Bad Request: chat not found", None));
    let id = send(&hub, &token, &other, "Hello?", None).await;
    let m = hub
        .wait_message(&token, &other, &id, |m| m["status"] == "FAILED")
        .await;
    assert!(
        m["failureReason"]
            .as_str()
            .unwrap()
            .contains("chat not found"),
        "{m}"
    );
}

#[tokio::test]
async fn telegram_long_polling_takes_updates_once_and_confirms_them() {
    let fake = telegram::Telegram::start().await;
    let data = DataDir::new();
    let (hub, token) = telegram_hub(&data, &fake, true).await;
    let mut ws = subscribe(&hub, &token).await;
    fake.push_update(telegram::text_update(700001, 555000555, 1, "First"));
    fake.push_update(telegram::text_update(700002, 555000555, 2, "Second"));
    let a = next_added(&mut ws).await;
    let b = next_added(&mut ws).await;
    assert_eq!(
        (a["text"].as_str(), b["text"].as_str()),
        (Some("First"), Some("Second"))
    );

    // The next poll confirms both with offset = last update_id + 1.
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        let confirmed = fake
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/getUpdates") && r.json()["offset"] == json!(700003));
        if confirmed {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "offset 700003 never asked for"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let polls = fake.requests();
    let first = polls
        .iter()
        .find(|r| r.path.ends_with("/getUpdates"))
        .unwrap();
    assert_eq!(first.json()["timeout"], 1);
    assert_eq!(first.json()["allowed_updates"], json!(["message"]));

    // Telegram may hand an update out again: it is stored once.
    fake.push_update(telegram::text_update(700003, 555000555, 2, "Second"));
    fake.push_update(telegram::text_update(700004, 555000555, 3, "Third"));
    let c = next_added(&mut ws).await;
    assert_eq!(c["text"], "Third", "the repeat of `Second` added nothing");
    let client = client_by_contact(&hub, &token, "TELEGRAM", "555000555").await;
    let chat = client["chat"]["id"].as_str().unwrap().to_owned();
    assert_eq!(hub.history(&token, &chat).await.len(), 3);

    // In polling mode the webhook is closed.
    let update = telegram::text_update(700010, 555000666, 1, "via webhook");
    assert_eq!(
        post_telegram(&hub, &update, Some(telegram::WEBHOOK_SECRET)).await,
        401
    );
}

// ---------------------------------------------------------------- Instagram

const IGSID: &str = "6543210987654321";

async fn instagram_hub(data: &DataDir, fake: &instagram::Instagram) -> (Hub, String) {
    let hub = start(data, fake.hub_env());
    let token = admin(&hub).await;
    hub.configure_plugin(
        &token,
        "instagram",
        &[
            ("page_id", instagram::PAGE_ID),
            ("page_access_token", instagram::PAGE_TOKEN),
            ("app_secret", instagram::APP_SECRET),
            ("verify_token", instagram::VERIFY_TOKEN),
        ],
        &["INSTAGRAM"],
    )
    .await;
    (hub, token)
}

#[tokio::test]
async fn instagram_verifies_the_callback_and_stores_signed_messages_once() {
    let fake = instagram::Instagram::start().await;
    let data = DataDir::new();
    let (hub, token) = instagram_hub(&data, &fake).await;
    let url = format!("{}/webhooks/instagram/default", hub.url);

    // Meta's verification request when the callback URL is saved.
    let http = reqwest::Client::new();
    let r = http
        .get(format!(
            "{url}?hub.mode=subscribe&hub.verify_token={}&hub.challenge=1158201444",
            instagram::VERIFY_TOKEN
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "1158201444");
    let r = http
        .get(format!(
            "{url}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let mut ws = subscribe(&hub, &token).await;
    let event = instagram::message_event(
        IGSID,
        "aWdfZAG1faXRlbTox",
        json!({ "text": "Do you ship to Canada?" }),
    );
    for _ in 0..2 {
        assert_eq!(instagram::post_webhook(&url, &event, None).await, 200);
    }
    let added = next_added(&mut ws).await;
    assert_eq!(added["text"], "Do you ship to Canada?");
    assert_eq!(added["transport"], "INSTAGRAM");
    let client = client_by_contact(&hub, &token, "INSTAGRAM", IGSID).await;
    let chat = client["chat"]["id"].as_str().unwrap().to_owned();
    assert_eq!(hub.history(&token, &chat).await.len(), 1, "stored once");

    // An attachment, and an echo of our own message (skipped).
    let photo = instagram::message_event(
        IGSID,
        "aWdfZAG1faXRlbToy",
        json!({ "attachments": [{ "type": "image", "payload": { "url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1" } }] }),
    );
    assert_eq!(instagram::post_webhook(&url, &photo, None).await, 200);
    let echo = instagram::message_event(
        IGSID,
        "aWdfZAG1faXRlbToz",
        json!({ "text": "ours", "is_echo": true }),
    );
    assert_eq!(instagram::post_webhook(&url, &echo, None).await, 200);
    let added = next_added(&mut ws).await;
    assert!(
        added["text"].as_str().unwrap().contains("ig_messaging_cdn"),
        "{added}"
    );
    assert_eq!(
        hub.history(&token, &chat).await.len(),
        2,
        "the echo is not stored"
    );

    // Wrong or missing signatures: 401, nothing stored.
    let stranger = instagram::message_event(
        "1111111111111111",
        "aWdfZAG1faXRlbTo0",
        json!({ "text": "hi" }),
    );
    assert_eq!(
        instagram::post_webhook(&url, &stranger, Some("")).await,
        401
    );
    let forged = instagram::signature(b"another body");
    assert_eq!(
        instagram::post_webhook(&url, &stranger, Some(&forged)).await,
        401
    );
    assert_eq!(
        client_by_contact(&hub, &token, "INSTAGRAM", "1111111111111111").await,
        Value::Null
    );
}

#[tokio::test]
async fn instagram_replies_within_the_window_and_errors_are_handled() {
    let fake = instagram::Instagram::start().await;
    let data = DataDir::new();
    let (hub, token) = instagram_hub(&data, &fake).await;
    let url = format!("{}/webhooks/instagram/default", hub.url);
    let event = instagram::message_event(IGSID, "aWdfZAG1faXRlbTo1", json!({ "text": "Price?" }));
    assert_eq!(instagram::post_webhook(&url, &event, None).await, 200);
    let client = client_by_contact(&hub, &token, "INSTAGRAM", IGSID).await;
    let chat = client["chat"]["id"].as_str().unwrap().to_owned();

    let id = send(&hub, &token, &chat, "It is 40 EUR.", None).await;
    let sent = fake.wait_for_sends(1).await;
    let r = &sent[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, format!("/v21.0/{}/messages", instagram::PAGE_ID));
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {}", instagram::PAGE_TOKEN).as_str())
    );
    assert_eq!(
        r.json(),
        json!({ "recipient": { "id": IGSID }, "messaging_type": "RESPONSE", "message": { "text": "It is 40 EUR." } })
    );
    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "SENT")
        .await;
    let mid = m["providerMessageId"]
        .as_str()
        .expect("the Graph API's message id")
        .to_owned();
    assert_eq!(
        instagram::post_webhook(&url, &instagram::read_event(IGSID, &mid), None).await,
        200
    );
    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "READ")
        .await;
    assert_eq!(m["status"], "READ", "{m}");

    // Throttled with Retry-After, then a 500: retried, no sooner than asked.
    fake.queue(
        instagram::error(
            429,
            613,
            None,
            "Calls to this api have exceeded the rate limit.",
        )
        .with_header("retry-after", "2"),
    );
    fake.queue(instagram::error(
        500,
        2,
        None,
        "An unexpected error has occurred. Please retry your request later.",
    ));
    let id = send(&hub, &token, &chat, "Still 40 EUR.", None).await;
    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "SENT")
        .await;
    assert_eq!(m["status"], "SENT", "{m}");
    let tries = &fake.requests()[1..];
    assert_eq!(tries.len(), 3);
    assert!(tries[1].at - tries[0].at >= Duration::from_millis(2000));

    // A refusal: failed with the Graph API's words.
    fake.queue(instagram::error(
        400,
        100,
        Some(2018001),
        "(#100) No matching user found",
    ));
    let id = send(&hub, &token, &chat, "Hello?", None).await;
    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "FAILED")
        .await;
    assert!(
        m["failureReason"]
            .as_str()
            .unwrap()
            .contains("No matching user found"),
        "{m}"
    );
    // Instagram says the window closed.
    fake.queue(instagram::error(
        400,
        10,
        Some(2534022),
        "(#10) This message is sent outside of allowed window.",
    ));
    let id = send(&hub, &token, &chat, "Hello again?", None).await;
    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "FAILED")
        .await;
    assert!(
        m["failureReason"]
            .as_str()
            .unwrap()
            .contains("24-hour window"),
        "{m}"
    );

    // A customer who never wrote on Instagram: refused before any request.
    let before = fake.requests().len();
    let cold = chat_with(&hub, &token, "INSTAGRAM", "7777777777777777").await;
    let id = send(&hub, &token, &cold, "Hi!", None).await;
    let m = hub
        .wait_message(&token, &cold, &id, |m| m["status"] == "FAILED")
        .await;
    assert!(
        m["failureReason"]
            .as_str()
            .unwrap()
            .contains("24-hour window"),
        "{m}"
    );
    assert_eq!(fake.requests().len(), before, "nothing reached Instagram");
}

// ---------------------------------------------------------------- E-mail

const MAILGUN_KEY: &str = "mailgun-signing-key-0123456789abcdef";

async fn email_hub(
    data: &DataDir,
    smtp: &smtp::SmtpServer,
    extra: &[(&str, &str)],
) -> (Hub, String) {
    let mut env = vec![
        (
            "HUB_PLUGINS__TLS_CA_FILE".to_owned(),
            smtp.ca_file().display().to_string(),
        ),
        (
            "HUB_PLUGIN__EMAIL__ALLOW_HOSTS".to_owned(),
            format!(
                "127.0.0.1:{},127.0.0.1:{}",
                smtp.starttls_port, smtp.tls_port
            ),
        ),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let hub = start(data, env);
    let token = admin(&hub).await;
    let port = smtp.starttls_port.to_string();
    hub.configure_plugin(
        &token,
        "email",
        &[
            ("smtp_host", "127.0.0.1"),
            ("smtp_port", &port),
            ("username", smtp::USER),
            ("password", smtp::PASSWORD),
            ("from_address", "support@shop.example"),
            ("from_name", "Shop Support"),
            ("subject", "Your order"),
            ("inbound_signing_key", MAILGUN_KEY),
        ],
        &["EMAIL"],
    )
    .await;
    (hub, token)
}

/// A customer's reply as their mail client writes it: new text, signature, quote.
fn customer_mail(message_id: &str, in_reply_to: Option<&str>) -> String {
    let reply = in_reply_to
        .map(|r| format!("In-Reply-To: <{r}>\r\nReferences: <{r}>\r\n"))
        .unwrap_or_default();
    format!(
        "From: Ann Customer <Ann@Customer.example>\r\n\
         To: support@shop.example\r\n\
         Subject: Broken lamp\r\n\
         Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\
         Message-ID: <{message_id}>\r\n\
         {reply}\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
         \r\n\
         --b1\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         The lamp arrived broken, photo attached.\r\n\
         \r\n\
         -- \r\n\
         Ann Customer\r\n\
         +1 415 555 0100\r\n\
         --b1\r\n\
         Content-Type: image/jpeg\r\n\
         Content-Disposition: attachment; filename=\"lamp.jpg\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n\
         /9j/4AAQSkZJRgABAQ==\r\n\
         --b1--\r\n"
    )
}

/// Mailgun's forward to a URL ending in `mime`: multipart/form-data with
/// `body-mime` and the signature fields.
async fn post_mailgun(hub: &Hub, mime: &str, key: &str, age_secs: u64) -> u16 {
    post_mailgun_answer(hub, mime, key, age_secs).await.0
}

/// [`post_mailgun`], with the hub's answer.
async fn post_mailgun_answer(hub: &Hub, mime: &str, key: &str, age_secs: u64) -> (u16, String) {
    let timestamp = (support::receiver::now_secs() - age_secs).to_string();
    let token = "f3c1b1a5e9d84c62b0a7a8e4d2c6f1e0b9a8c7d6e5f4a3b2c1";
    let signature = {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(format!("{timestamp}{token}").as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let boundary = "----mailgunformboundary7MA4YWxkTrZu0gW";
    let mut body = String::new();
    for (name, value) in [
        ("recipient", "support@shop.example"),
        ("sender", "ann@customer.example"),
        ("subject", "Broken lamp"),
        ("timestamp", timestamp.as_str()),
        ("token", token),
        ("signature", signature.as_str()),
        ("body-mime", mime),
    ] {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let r = reqwest::Client::new()
        .post(format!("{}/webhooks/email/default/mime", hub.url))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn email_arrives_signed_once_and_replies_leave_by_smtp_threaded() {
    let server = smtp::SmtpServer::start();
    let data = DataDir::new();
    // Two tenants from the start (the first start then bootstraps none).
    data.create_tenant("default", "admin@example.com");
    data.create_tenant("rival", "boss@rival.test");
    let (hub, token) = email_hub(&data, &server, &[]).await;
    let mut ws = subscribe(&hub, &token).await;

    let mime = customer_mail("lamp-1@customer.example", None);
    for _ in 0..2 {
        assert_eq!(post_mailgun(&hub, &mime, MAILGUN_KEY, 0).await, 200);
    }
    let added = next_added(&mut ws).await;
    assert_eq!(added["transport"], "EMAIL");
    let text = added["text"].as_str().unwrap();
    assert!(
        text.starts_with("Broken lamp\n\nThe lamp arrived broken, photo attached."),
        "{text}"
    );
    assert!(
        !text.contains("+1 415 555 0100"),
        "the signature is cut: {text}"
    );
    let client = client_by_contact(&hub, &token, "EMAIL", "ann@customer.example").await;
    assert_eq!(client["displayName"], "Ann Customer", "{client}");
    let chat = client["chat"]["id"].as_str().unwrap().to_owned();
    assert_eq!(hub.history(&token, &chat).await.len(), 1, "stored once");

    // The photo is kept in the file store, for the tenant's users only.
    let r = hub
        .gql(
            Some(&token),
            "query($c: ID!) { chat(id: $c) { messages(first: 1) { edges { node { attachments { fileName contentType size sha256 url } } } } } }",
            json!({ "c": chat }),
        )
        .await;
    let att = r.ok()["chat"]["messages"]["edges"][0]["node"]["attachments"][0].clone();
    assert_eq!(att["fileName"], "lamp.jpg", "{att}");
    assert_eq!(att["contentType"], "image/jpeg");
    let jpeg: &[u8] = &[
        0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01,
    ];
    assert_eq!(att["size"], jpeg.len());
    let url = att["url"].as_str().unwrap();
    let http = reqwest::Client::new();
    let got = http.get(url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");
    assert_eq!(got.headers()["content-disposition"], "attachment");
    assert_eq!(&got.bytes().await.unwrap()[..], jpeg);
    assert_eq!(http.get(url).send().await.unwrap().status(), 401);
    let rival = hub
        .sign_in("rival", "boss@rival.test", ADMIN_PASSWORD)
        .await;
    assert_eq!(
        http.get(url)
            .bearer_auth(&rival)
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "another tenant cannot read it"
    );

    // Wrong key, stale timestamp: 401, nothing stored.
    let other = customer_mail("lamp-2@customer.example", None);
    assert_eq!(
        post_mailgun(&hub, &other, "not-the-key-0123456789", 0).await,
        401
    );
    assert_eq!(post_mailgun(&hub, &other, MAILGUN_KEY, 3600).await, 401);
    assert_eq!(hub.history(&token, &chat).await.len(), 1);
    // Signed, but its From address is only whitespace: refused as
    // malformed, not kept with a blank sender.
    let blank = other.replace("<Ann@Customer.example>", "<\u{b}\u{b}\u{b}>");
    assert!(blank.contains("From: Ann Customer <\u{b}"));
    let (status, answer) = post_mailgun_answer(&hub, &blank, MAILGUN_KEY, 0).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.contains("the From header has no address"),
        "{answer}"
    );
    assert_eq!(hub.history(&token, &chat).await.len(), 1);

    // Message-ID is only recommended: a mail without one is kept, once
    // across the provider's retries, and not referenced in replies.
    let no_id = customer_mail("x", None).replace("Message-ID: <x>\r\n", "");
    assert!(!no_id.contains("Message-ID"));
    for _ in 0..2 {
        assert_eq!(post_mailgun(&hub, &no_id, MAILGUN_KEY, 0).await, 200);
    }
    next_added(&mut ws).await;
    assert_eq!(hub.history(&token, &chat).await.len(), 2, "kept once");

    // The agent's reply leaves by SMTP (STARTTLS, AUTH) and threads.
    let id = send(&hub, &token, &chat, "Sorry! A new lamp ships today.", None).await;
    let got = server.wait_for(1, SOON);
    assert_eq!(got.len(), 1, "the server took one message");
    let envelope = &got[0].envelope;
    assert_eq!(envelope["tls"], true, "{envelope}");
    assert_eq!(envelope["authenticated"], true, "{envelope}");
    assert_eq!(envelope["mail_from"], "support@shop.example");
    assert_eq!(envelope["rcpt_tos"], json!(["ann@customer.example"]));
    let parsed = mail_parser::MessageParser::default()
        .parse(&got[0].raw)
        .expect("a MIME message");
    let from = parsed.from().and_then(|a| a.first()).unwrap();
    assert_eq!(from.address(), Some("support@shop.example"));
    assert_eq!(from.name(), Some("Shop Support"));
    assert_eq!(
        parsed
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("ann@customer.example")
    );
    assert_eq!(parsed.subject(), Some("Re: Your order"));
    assert_eq!(
        parsed.in_reply_to().as_text(),
        Some("lamp-1@customer.example")
    );
    assert_eq!(
        parsed.references().as_text(),
        Some("lamp-1@customer.example")
    );
    let message_id = format!("{id}@shop.example");
    assert_eq!(parsed.message_id(), Some(message_id.as_str()));
    assert_eq!(
        parsed.body_text(0).unwrap().trim(),
        "Sorry! A new lamp ships today."
    );
    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "SENT")
        .await;
    assert_eq!(m["status"], "SENT", "{m}");
    assert_eq!(m["providerMessageId"], message_id.as_str());

    // Implicit TLS on the other port.
    let port = server.tls_port.to_string();
    hub.configure_plugin(
        &token,
        "email",
        &[("smtp_security", "tls"), ("smtp_port", &port)],
        &["EMAIL"],
    )
    .await;
    let first = id;
    let id = send(&hub, &token, &chat, "Tracking number: 123.", None).await;
    let got = server.wait_for(2, SOON);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].envelope["tls"], true);
    let parsed = mail_parser::MessageParser::default()
        .parse(&got[1].raw)
        .unwrap();
    let refs: Vec<String> = parsed
        .references()
        .as_text_list()
        .unwrap_or_default()
        .iter()
        .map(|r| r.to_string())
        .collect();
    assert_eq!(
        refs,
        vec![
            "lamp-1@customer.example".to_owned(),
            format!("{first}@shop.example")
        ],
        "the thread so far"
    );
    hub.wait_message(&token, &chat, &id, |m| m["status"] == "SENT")
        .await;
}

#[tokio::test]
async fn email_with_refused_credentials_fails_with_the_servers_words() {
    let server = smtp::SmtpServer::start();
    let data = DataDir::new();
    let (hub, token) = email_hub(&data, &server, &[("HUB_DELIVERY__MAX_ATTEMPTS", "2")]).await;
    hub.configure_plugin(
        &token,
        "email",
        &[("password", "wrong password")],
        &["EMAIL"],
    )
    .await;
    let chat = chat_with(&hub, &token, "EMAIL", "bob@customer.example").await;
    let id = send(&hub, &token, &chat, "Hello Bob", None).await;
    let m = hub
        .wait_message(&token, &chat, &id, |m| m["status"] == "FAILED")
        .await;
    assert_eq!(m["status"], "FAILED", "{m}");
    let reason = m["failureReason"].as_str().unwrap();
    assert!(reason.contains("535"), "{reason}");
    assert!(server.wait_for(1, Duration::from_millis(300)).is_empty());
}

/// Ann's e-mail with a photo, through Mailgun and the e-mail plugin; her client.
async fn ann_with_photo(hub: &Hub, token: &str, message_id: &str) -> Value {
    let status = post_mailgun(hub, &customer_mail(message_id, None), MAILGUN_KEY, 0).await;
    assert_eq!(status, 200);
    client_by_contact(hub, token, "EMAIL", "ann@customer.example").await
}

/// Every record of every table of a stopped hub's database, as JSON text.
fn dump_database(data: &DataDir) -> String {
    let info = support::surql(data, "INFO FOR DB;");
    let tables: Vec<String> = info[0]["tables"]
        .as_object()
        .expect("INFO FOR DB lists tables")
        .keys()
        .cloned()
        .collect();
    assert!(tables.iter().any(|t| t == "event"), "{tables:?}");
    let sql: String = tables
        .iter()
        .map(|t| format!("SELECT * FROM `{t}`;"))
        .collect();
    support::surql(data, &sql)
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every file under `dir`, read whole.
fn all_files(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                out.extend(all_files(&path));
            } else {
                out.push(std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[tokio::test]
async fn an_export_holds_everything_and_an_erasure_leaves_no_trace() {
    let server = smtp::SmtpServer::start();
    let data = DataDir::new();
    let (hub, token) = email_hub(&data, &server, &[]).await;
    // Ann writes in with a photo; a phone number and her consent are added.
    let ann = ann_with_photo(&hub, &token, "gdpr-1@customer.example").await;
    let ann_id = ann["id"].as_str().unwrap().to_owned();
    let added = hub
        .gql(
            Some(&token),
            "mutation($c: ID!) { addContact(clientId: $c, input: { kind: PHONE, value: \"+14155550142\" }) { contacts { id value } } }",
            json!({ "c": ann_id }),
        )
        .await;
    let phone_id = added.ok()["addContact"]["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"] == "+14155550142")
        .unwrap()["id"]
        .clone();
    hub.gql(
        Some(&token),
        "mutation($c: ID!) { setContactConsent(contactId: $c, status: OPTED_IN, source: \"signed form\") { id } }",
        json!({ "c": phone_id }),
    )
    .await
    .ok();
    // Bob is another client: nothing of his may go.
    let bob = hub
        .create_client(&token, json!({ "firstName": "Bob", "lastName": "Keeper", "contacts": [{ "kind": "EMAIL", "value": "bob@keeper.example" }] }))
        .await;
    let bob_chat = hub.open_chat(&token, bob["id"].as_str().unwrap()).await;
    hub.gql(
        Some(&token),
        "mutation($c: ID!) { logInboundMessage(input: { chatId: $c, text: \"Bob called about his order\", transport: PHONE }) { id } }",
        json!({ "c": bob_chat }),
    )
    .await
    .ok();

    // Access: one archive with profile, contacts and consent, messages, history and the photo.
    let agent = hub
        .user_with_role(&token, "default", "agent@example.com", "AGENT")
        .await;
    let refused = hub
        .gql(
            Some(&agent),
            "mutation($c: ID!) { exportClient(id: $c) }",
            json!({ "c": ann_id }),
        )
        .await;
    assert_eq!(refused.code(), "FORBIDDEN");
    let export = hub
        .gql(
            Some(&token),
            "mutation($c: ID!) { exportClient(id: $c) }",
            json!({ "c": ann_id }),
        )
        .await;
    let archive = &export.ok()["exportClient"];
    assert_eq!(archive["format"], "hub.client-export/1");
    assert_eq!(archive["client"]["first_name"], "Ann Customer");
    let contacts = archive["contacts"].as_array().unwrap();
    assert!(
        contacts
            .iter()
            .any(|c| c["value"] == "ann@customer.example"),
        "{contacts:?}"
    );
    assert!(
        contacts
            .iter()
            .any(|c| c["value"] == "+14155550142" && c["consent"]["source"] == "signed form"),
        "{contacts:?}"
    );
    let messages = archive["messages"].as_array().unwrap();
    assert!(
        messages[0]["text"]
            .as_str()
            .unwrap()
            .contains("The lamp arrived broken"),
        "{messages:?}"
    );
    let blob = messages[0]["attachments"][0]["blob_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let photo = archive["files"][&blob].as_str().expect("the photo, inline");
    assert!(!photo.is_empty());
    let history = archive["history"].as_array().unwrap();
    assert!(
        history
            .iter()
            .any(|e| e["kind"] == "contact.consent_changed"),
        "{history:?}"
    );

    // Erasure: an agent may not; an admin may, and it is audited.
    let refused = hub
        .gql(
            Some(&agent),
            "mutation($c: ID!) { eraseClient(id: $c) { messages } }",
            json!({ "c": ann_id }),
        )
        .await;
    assert_eq!(refused.code(), "FORBIDDEN");
    let erased = hub
        .gql(
            Some(&token),
            "mutation($c: ID!) { eraseClient(id: $c) { contacts messages auditEntries files } }",
            json!({ "c": ann_id }),
        )
        .await;
    let report = &erased.ok()["eraseClient"];
    assert_eq!(report["contacts"], 2, "{report}");
    assert_eq!(report["messages"], 1, "{report}");
    assert_eq!(report["files"], 1, "{report}");
    assert!(report["auditEntries"].as_i64().unwrap() >= 5, "{report}");
    let gone = hub
        .gql(
            Some(&token),
            "query($c: ID!) { client(id: $c) { id } }",
            json!({ "c": ann_id }),
        )
        .await;
    assert_eq!(gone.code(), "NOT_FOUND");
    let log = hub
        .gql(
            Some(&token),
            "{ auditLog(first: 5) { nodes { kind target data } } }",
            json!({}),
        )
        .await;
    let newest = &log.ok()["auditLog"]["nodes"][0];
    assert_eq!(newest["kind"], "client.erased");
    assert_eq!(newest["target"], format!("client:{ann_id}"));
    hub.stop();

    // No trace in any record of any table, nor in the file store.
    let dump = dump_database(&data);
    for trace in [
        "Ann Customer",
        "ann@customer.example",
        "+14155550142",
        "lamp arrived broken",
        "lamp.jpg",
        "signed form",
        "gdpr-1@customer.example",
    ] {
        assert!(!dump.contains(trace), "`{trace}` is still in the database");
    }
    assert!(
        dump.contains("Bob called about his order"),
        "another client's data stays"
    );
    assert!(dump.contains("bob@keeper.example"));
    let jpeg = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, photo).unwrap();
    for file in all_files(&data.path().join("files")) {
        assert!(file != jpeg, "the photo is still in the file store");
    }
    // The log still verifies: the erased entries keep their digests.
    let (ok, out, err) = data.run(&["audit", "verify"], &[]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("erased, covered by their digests"), "{out}");
}

#[tokio::test]
async fn retention_removes_old_attachment_contents_and_keeps_the_messages() {
    let server = smtp::SmtpServer::start();
    let data = DataDir::new();
    let (hub, token) = email_hub(&data, &server, &[]).await;
    let ann = ann_with_photo(&hub, &token, "keep-1@customer.example").await;
    let chat = ann["chat"]["id"].as_str().unwrap().to_owned();
    const HISTORY: &str =
        "query($c: ID!) { chat(id: $c) { messages { nodes { text attachments { url } } } } }";
    let before = hub.gql(Some(&token), HISTORY, json!({ "c": chat })).await;
    let url = before.ok()["chat"]["messages"]["nodes"][0]["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    // The hub comes back on another port.
    let path = url.strip_prefix(&hub.url).unwrap().to_owned();
    hub.stop();
    support::surql(
        &data,
        "DEFINE FIELD OVERWRITE created_at ON message TYPE datetime;
         UPDATE message SET created_at = time::now() - 40d;",
    );
    let hub = start(
        &data,
        vec![("HUB_RETENTION__INTERVAL_SECS".into(), "1".into())],
    );
    let token = admin(&hub).await;
    let http = reqwest::Client::new();
    let url = format!("{}{path}", hub.url);
    assert_eq!(
        http.get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    hub.gql(
        Some(&token),
        "mutation { setRetentionPolicy(attachmentsDays: 30) { attachmentsDays } }",
        json!({}),
    )
    .await
    .ok();
    let mut status = 200;
    for _ in 0..100 {
        status = http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 404 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 404, "the photo's content is gone");
    let after = hub.gql(Some(&token), HISTORY, json!({ "c": chat })).await;
    let kept = &after.ok()["chat"]["messages"]["nodes"][0];
    assert!(
        kept["text"]
            .as_str()
            .unwrap()
            .contains("The lamp arrived broken"),
        "the message stays: {kept}"
    );
    assert!(
        std::fs::read_dir(data.path().join("files"))
            .unwrap()
            .flatten()
            .all(|tenant| { std::fs::read_dir(tenant.path()).unwrap().next().is_none() }),
        "the file store is empty"
    );
}

#[tokio::test]
async fn an_inbound_email_larger_than_the_api_limit_is_kept_with_its_attachment() {
    let server = smtp::SmtpServer::start();
    let data = DataDir::new();
    let (hub, token) = email_hub(&data, &server, &[]).await;
    // A 3 MiB photo: over the API's 2 MiB, well under files.max_file_mib.
    let photo: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &photo);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let mime = format!(
        "From: Ann Customer <ann@customer.example>\r\n\
         To: support@shop.example\r\n\
         Subject: Big photo\r\n\
         Message-ID: <big-1@customer.example>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
         \r\n\
         --b1\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Here is the whole room.\r\n\
         --b1\r\n\
         Content-Type: image/jpeg\r\n\
         Content-Disposition: attachment; filename=\"room.jpg\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n\
         {}\r\n\
         --b1--\r\n",
        lines.join("\r\n")
    );
    assert_eq!(post_mailgun(&hub, &mime, MAILGUN_KEY, 0).await, 200);
    let ann = client_by_contact(&hub, &token, "EMAIL", "ann@customer.example").await;
    let r = hub
        .gql(
            Some(&token),
            "query($c: ID!) { chat(id: $c) { messages { nodes { text attachments { fileName size } } } } }",
            json!({ "c": ann["chat"]["id"] }),
        )
        .await;
    let m = &r.ok()["chat"]["messages"]["nodes"][0];
    assert!(
        m["text"]
            .as_str()
            .unwrap()
            .contains("Here is the whole room"),
        "{m}"
    );
    assert_eq!(m["attachments"][0]["fileName"], "room.jpg");
    assert_eq!(m["attachments"][0]["size"], photo.len());
}
