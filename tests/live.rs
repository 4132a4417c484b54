//! Live updates over WebSocket against the real `hub` binary: fan-out
//! between connections, tenant scoping, resuming from a cursor without gaps
//! (also while joining a shared feed mid-flow), the protocol's rules, and a
//! stalled subscriber that must not hold anyone up.

use crate::support;

use std::time::Duration;

use serde_json::json;
use support::{ADMIN_PASSWORD, DataDir, Hub};

const SEND: &str =
    "mutation($c: ID!, $t: String!) { sendMessage(input: { chatId: $c, text: $t }) { id } }";
const MESSAGES: &str = "subscription($c: ID, $a: String) { messageAdded(chatId: $c, after: $a) { cursor kind message { id text chatId } } }";
const SOON: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(1500);

async fn chat_with_client(hub: &Hub, token: &str, email: &str) -> String {
    let c = hub
        .create_client(
            token,
            json!({ "firstName": "Ann", "contacts": [{ "kind": "EMAIL", "value": email }] }),
        )
        .await;
    hub.open_chat(token, c["id"].as_str().unwrap()).await
}

/// A started hub, its admin's token, and a chat with a client.
async fn admin_with_chat(data: &DataDir) -> (Hub, String, String) {
    let hub = data.start();
    let admin = hub
        .sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await;
    let chat = chat_with_client(&hub, &admin, "ann@example.com").await;
    (hub, admin, chat)
}

async fn send(hub: &Hub, token: &str, chat: &str, text: &str) -> String {
    hub.gql(Some(token), SEND, json!({ "c": chat, "t": text }))
        .await
        .ok()["sendMessage"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_message_sent_by_one_connection_arrives_at_another() {
    let data = DataDir::new();
    let hub = data.start();
    let admin = hub
        .sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await;
    let agent = hub
        .user_with_role(&admin, "default", "agent@example.com", "AGENT")
        .await;
    let chat = chat_with_client(&hub, &admin, "ann@example.com").await;
    let mut ws = hub.ws(&agent).await;
    // `after: "0"` replays the chat's (empty) history first, so the
    // subscription cannot miss what is sent next, however late it starts.
    ws.subscribe("1", MESSAGES, json!({ "c": chat, "a": "0" }))
        .await;
    let id = send(&hub, &admin, &chat, "Hello from the admin").await;
    let got = ws.next_data(SOON).await.expect("the message arrives");
    let event = &got["data"]["messageAdded"];
    assert_eq!(event["message"]["id"], id.as_str());
    assert_eq!(event["message"]["text"], "Hello from the admin");
    assert_eq!(event["kind"], "message.queued");
    assert!(event["cursor"].as_str().unwrap().parse::<i64>().unwrap() > 0);
}

#[tokio::test]
async fn another_tenants_subscriber_receives_nothing() {
    let data = DataDir::new();
    data.create_tenant("acme", "admin@acme.test");
    data.create_tenant("globex", "admin@globex.test");
    let hub = data.start();
    let acme = hub.sign_in("acme", "admin@acme.test", ADMIN_PASSWORD).await;
    let globex = hub
        .sign_in("globex", "admin@globex.test", ADMIN_PASSWORD)
        .await;
    let acme_chat = chat_with_client(&hub, &acme, "ann@acme.test").await;
    let globex_chat = chat_with_client(&hub, &globex, "bo@globex.test").await;
    let mut spy = hub.ws(&globex).await;
    spy.subscribe(
        "1",
        "subscription { events { cursor event { kind target } } }",
        json!({}),
    )
    .await;
    spy.subscribe("2", MESSAGES, json!({ "c": acme_chat }))
        .await;
    spy.subscribe(
        "3",
        "subscription { chatUpdated { chat { id } } }",
        json!({}),
    )
    .await;
    // The spy first replays its own tenant's history: let that pass.
    while let Some(own) = spy.recv(QUIET).await {
        assert!(!own.to_string().contains(&acme_chat), "{own}");
    }
    send(&hub, &acme, &acme_chat, "acme secret").await;
    hub.gql(
        Some(&acme),
        "mutation { createClient(input: { firstName: \"Zed\" }) { id } }",
        json!({}),
    )
    .await
    .ok();
    if let Some(msg) = spy.recv(QUIET).await {
        panic!("another tenant's subscriber received {msg}");
    }
    // The spy's subscriptions do work: its own tenant's message reaches it.
    send(&hub, &globex, &globex_chat, "globex own").await;
    let own = spy.recv(SOON).await.expect("own tenant's events arrive");
    assert_eq!(own["type"], "next");
    assert!(!own.to_string().contains("acme secret"));
}

#[tokio::test]
async fn a_subscriber_that_reconnects_with_its_cursor_gets_exactly_what_it_missed() {
    let data = DataDir::new();
    let (hub, admin, chat) = admin_with_chat(&data).await;
    let mut ws = hub.ws(&admin).await;
    ws.subscribe("1", MESSAGES, json!({ "c": chat, "a": "0" }))
        .await;
    send(&hub, &admin, &chat, "seen").await;
    let seen = ws.next_data(SOON).await.expect("first message");
    let cursor = seen["data"]["messageAdded"]["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    drop(ws);
    let mut missed = Vec::new();
    for i in 0..5 {
        missed.push(send(&hub, &admin, &chat, &format!("missed {i}")).await);
    }
    let mut ws = hub.ws(&admin).await;
    ws.subscribe("1", MESSAGES, json!({ "c": chat, "a": cursor }))
        .await;
    let mut got = Vec::new();
    for _ in 0..5 {
        let d = ws.next_data(SOON).await.expect("a missed message");
        got.push(
            d["data"]["messageAdded"]["message"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(got, missed, "every missed message, in order");
    // Then it is live, with nothing repeated.
    let live = send(&hub, &admin, &chat, "live again").await;
    let d = ws.next_data(SOON).await.expect("live message");
    assert_eq!(d["data"]["messageAdded"]["message"]["id"], live.as_str());
    assert!(ws.recv(QUIET).await.is_none(), "nothing more");
}

/// A list read and a subscription started after it: the page's `liveCursor`
/// as `after` replays exactly what changed between the two.
#[tokio::test]
async fn a_page_followed_from_its_live_cursor_misses_nothing_that_happened_after_the_read() {
    let data = DataDir::new();
    let (hub, admin, chat) = admin_with_chat(&data).await;
    send(&hub, &admin, &chat, "before the read").await;
    let page = hub
        .gql(
            Some(&admin),
            "query($c: ID!) { chats(first: 10) { liveCursor nodes { id } } chat(id: $c) { messages(first: 10) { liveCursor nodes { text } } } }",
            json!({ "c": chat }),
        )
        .await
        .ok()
        .clone();
    let chats_cursor = page["chats"]["liveCursor"].as_str().unwrap().to_owned();
    let history_cursor = page["chat"]["messages"]["liveCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        page["chat"]["messages"]["nodes"][0]["text"],
        "before the read"
    );
    // Sent after the page was read and before anyone subscribed.
    let between = send(&hub, &admin, &chat, "between read and subscribe").await;
    let mut ws = hub.ws(&admin).await;
    ws.subscribe("1", MESSAGES, json!({ "c": chat, "a": history_cursor }))
        .await;
    ws.subscribe(
        "2",
        "subscription($a: String) { chatUpdated(after: $a) { chat { id lastMessagePreview } } }",
        json!({ "a": chats_cursor }),
    )
    .await;
    let mut texts = Vec::new();
    let mut chat_updates = Vec::new();
    while let Some(msg) = ws.recv(QUIET).await {
        let data = &msg["payload"]["data"];
        if let Some(m) = data["messageAdded"]["message"].as_object() {
            assert_eq!(m["id"], between.as_str());
            texts.push(m["text"].as_str().unwrap().to_owned());
        }
        if let Some(c) = data["chatUpdated"]["chat"].as_object() {
            chat_updates.push(c["lastMessagePreview"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        texts,
        ["between read and subscribe"],
        "the message read already is not repeated"
    );
    assert_eq!(chat_updates, ["between read and subscribe"]);
}

/// Subscribers of one query share one execution; one that starts from a
/// cursor replays on its own and then joins it. Joining while messages are
/// being written must neither drop nor repeat one.
#[tokio::test]
async fn subscribers_joining_while_messages_flow_each_get_every_message_once_in_order() {
    let data = DataDir::new();
    let (hub, admin, chat) = admin_with_chat(&data).await;
    let total = 40;
    let (sent_tx, mut sent_rx) = tokio::sync::mpsc::unbounded_channel();
    let writer = async {
        let mut ids = Vec::new();
        for i in 0..total {
            ids.push(send(&hub, &admin, &chat, &format!("flow {i}")).await);
            let _ = sent_tx.send(i);
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        ids
    };
    // Join at different points of the flow, every one from the start of the chat.
    let joiner = async {
        let mut readers = Vec::new();
        for join_at in [0, 8, 17, 29] {
            while let Some(i) = sent_rx.recv().await {
                if i >= join_at {
                    break;
                }
            }
            let mut ws = hub.ws(&admin).await;
            ws.subscribe("1", MESSAGES, json!({ "c": chat, "a": "0" }))
                .await;
            readers.push(tokio::spawn(async move {
                let mut got = Vec::new();
                while got.len() < total {
                    let Some(d) = ws.next_data(SOON).await else {
                        break;
                    };
                    got.push(
                        d["data"]["messageAdded"]["message"]["id"]
                            .as_str()
                            .unwrap()
                            .to_owned(),
                    );
                }
                let extra = ws.recv(QUIET).await;
                (got, extra)
            }));
        }
        readers
    };
    let (ids, readers) = tokio::join!(writer, joiner);
    for (n, r) in readers.into_iter().enumerate() {
        let (got, extra) = r.await.unwrap();
        assert_eq!(got, ids, "subscriber {n}: every message once, in order");
        assert!(extra.is_none(), "subscriber {n} got more: {extra:?}");
    }
}

#[tokio::test]
async fn the_websocket_protocol_is_enforced_with_its_close_codes() {
    let data = DataDir::new();
    let (hub, admin, chat) = admin_with_chat(&data).await;

    let mut ws = hub.ws_open(None).await;
    let (code, why) = ws.closed(SOON).await.expect("closed");
    assert_eq!(code, 4406, "{why}");
    assert!(why.contains("graphql-transport-ws"), "{why}");

    let mut ws = hub.ws_open(Some("graphql-transport-ws")).await;
    ws.subscribe("1", MESSAGES, json!({ "c": chat })).await;
    assert_eq!(ws.closed(SOON).await.expect("closed").0, 4401);

    let mut ws = hub.ws_open(Some("graphql-transport-ws")).await;
    ws.send_text("{not json").await;
    let (code, why) = ws.closed(SOON).await.expect("closed");
    assert_eq!(code, 4400);
    assert!(why.starts_with("invalid message"), "{why}");

    let mut ws = hub.ws_open(Some("graphql-transport-ws")).await;
    ws.send(
        json!({ "type": "connection_init", "payload": { "authorization": "Bearer hub_nope" } }),
    )
    .await;
    let (code, why) = ws.closed(SOON).await.expect("closed");
    assert_eq!(code, 4403);
    assert!(why.contains("not known"), "{why}");

    let mut ws = hub.ws(&admin).await;
    ws.send(json!({ "type": "ping", "payload": { "n": 1 } }))
        .await;
    let pong = ws.recv(SOON).await.expect("pong");
    assert_eq!(pong, json!({ "type": "pong", "payload": { "n": 1 } }));

    // A query runs once: one `next`, then `complete`.
    ws.subscribe("q", "{ me { email } }", json!({})).await;
    let next = ws.recv(SOON).await.expect("result");
    assert_eq!(next["payload"]["data"]["me"]["email"], "admin@example.com");
    assert_eq!(ws.recv(SOON).await.expect("complete")["type"], "complete");

    // `complete` from the client stops an operation; its id may be used again.
    ws.subscribe("1", MESSAGES, json!({ "c": chat })).await;
    ws.send(json!({ "id": "1", "type": "complete" })).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    send(&hub, &admin, &chat, "after complete").await;
    assert!(
        ws.recv(QUIET).await.is_none(),
        "a completed operation sends nothing"
    );
    ws.subscribe("1", MESSAGES, json!({ "c": chat, "a": "0" }))
        .await;
    let again = ws.next_data(SOON).await.expect("replayed");
    assert_eq!(
        again["data"]["messageAdded"]["message"]["text"],
        "after complete"
    );

    ws.subscribe("1", MESSAGES, json!({ "c": chat })).await;
    let (code, why) = ws.closed(SOON).await.expect("closed");
    assert_eq!(code, 4409, "{why}");

    let mut ws = hub.ws(&admin).await;
    ws.send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    assert_eq!(ws.closed(SOON).await.expect("closed").0, 4429);
}

#[tokio::test]
async fn mark_read_is_pushed_to_everyone_watching_the_chat_list() {
    let data = DataDir::new();
    let hub = data.start();
    let admin = hub
        .sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await;
    let agent = hub
        .user_with_role(&admin, "default", "agent@example.com", "AGENT")
        .await;
    let chat = chat_with_client(&hub, &admin, "ann@example.com").await;
    let mut watcher = hub.ws(&agent).await;
    watcher
        .subscribe(
            "1",
            "subscription($a: String) { chatUpdated(after: $a) { kind chat { id unreadCount lastMessagePreview } } }",
            json!({ "a": "0" }),
        )
        .await;
    // It replays the chat's creation first.
    while watcher.recv(QUIET).await.is_some() {}
    let m = hub
        .gql(Some(&admin), "mutation($c: ID!) { logInboundMessage(input: { chatId: $c, text: \"Are you open?\", transport: EMAIL }) { id } }", json!({ "c": chat }))
        .await;
    let id = m.ok()["logInboundMessage"]["id"].clone();
    let d = watcher
        .next_data(SOON)
        .await
        .expect("inbound message updates the chat");
    assert_eq!(d["data"]["chatUpdated"]["chat"]["unreadCount"], 1);
    assert_eq!(
        d["data"]["chatUpdated"]["chat"]["lastMessagePreview"],
        "Are you open?"
    );
    hub.gql(
        Some(&admin),
        "mutation($c: ID!, $u: ID!) { markRead(chatId: $c, upTo: $u) { id } }",
        json!({ "c": chat, "u": id }),
    )
    .await
    .ok();
    let d = watcher
        .next_data(SOON)
        .await
        .expect("markRead updates the chat");
    assert_eq!(d["data"]["chatUpdated"]["kind"], "chat.read");
    assert_eq!(d["data"]["chatUpdated"]["chat"]["unreadCount"], 0);
}

#[tokio::test]
async fn subscriptions_need_a_valid_token_and_the_right_role() {
    let data = DataDir::new();
    let hub = data.start();
    let admin = hub
        .sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await;
    let agent = hub
        .user_with_role(&admin, "default", "agent@example.com", "AGENT")
        .await;
    let mut ws = hub.ws(&agent).await;
    ws.subscribe("1", "subscription { events { cursor } }", json!({}))
        .await;
    let msg = ws.recv(SOON).await.expect("an answer");
    assert_eq!(
        msg["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{msg}"
    );
    assert!(msg["payload"]["data"].is_null());
    let bad = std::panic::AssertUnwindSafe(hub.ws("hub_not_a_token"));
    let refused = futures_util::FutureExt::catch_unwind(bad).await;
    assert!(
        refused.is_err(),
        "an unknown token is refused at connection_init"
    );
}

#[tokio::test]
async fn a_stalled_subscriber_does_not_delay_a_healthy_one_and_is_told_to_resync() {
    let data = DataDir::new();
    let hub = data.start_with(&[("HUB_EVENTS__SUBSCRIBER_BUFFER", "16")]);
    let admin = hub
        .sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await;
    let chat = chat_with_client(&hub, &admin, "ann@example.com").await;
    let mut healthy = hub.ws(&admin).await;
    healthy
        .subscribe("1", MESSAGES, json!({ "c": chat, "a": "0" }))
        .await;
    let mut stalled = hub.ws(&admin).await;
    stalled
        .subscribe("1", MESSAGES, json!({ "c": chat, "a": "0" }))
        .await;
    // Big messages, so the stalled client's socket buffers fill and its
    // server-side subscription stops being read long before 250 messages.
    let text = "x".repeat(60_000);
    let total = 250;
    let reader = tokio::spawn(async move {
        let mut n = 0;
        while n < total {
            match healthy.next_data(SOON).await {
                Some(_) => n += 1,
                None => break,
            }
        }
        n
    });
    for _ in 0..total {
        send(&hub, &admin, &chat, &text).await;
    }
    assert_eq!(
        reader.await.unwrap(),
        total,
        "the healthy subscriber got every message while the other stalled"
    );
    // The stalled one, reading at last, finds what fitted in its buffers, then a RESYNC with its cursor.
    let mut resync = None;
    while let Some(msg) = stalled.recv(SOON).await {
        if msg["type"] == "next" && msg["payload"]["errors"].is_array() {
            resync = Some(msg["payload"]["errors"][0].clone());
            break;
        }
        if msg["type"] == "complete" {
            break;
        }
    }
    let err = resync.expect("the stalled subscriber is told to resync");
    assert_eq!(err["extensions"]["code"], "RESYNC");
    assert!(
        err["extensions"]["after"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .is_ok()
    );
}

/// A receiver that answers 500 twice, then 200, and keeps what it got.
async fn flaky_receiver() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>,
) {
    use std::sync::{Arc, Mutex};
    let got: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let mut all = seen.lock().unwrap();
                all.push((headers, body));
                if all.len() <= 2 {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

fn hmac_hex(secret: &str, message: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_webhook_that_fails_twice_gets_the_event_again_signed_and_the_attempts_are_visible() {
    let data = DataDir::new();
    let hub = data.start();
    let admin = hub
        .sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await;
    let (url, got) = flaky_receiver().await;
    let r = hub
        .gql(
            Some(&admin),
            "mutation($u: String!) { createWebhook(url: $u, eventKinds: [\"client.created\"]) { secret webhook { id } } }",
            json!({ "u": url }),
        )
        .await;
    let secret = r.ok()["createWebhook"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = hub
        .create_client(&admin, json!({ "firstName": "Hooked" }))
        .await;
    // A kind it did not ask for (chat.created) is not sent.
    hub.open_chat(&admin, c["id"].as_str().unwrap()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while got.lock().unwrap().len() < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Long enough for a wrongly sent extra delivery to show up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let all = got.lock().unwrap().clone();
    assert_eq!(
        all.len(),
        3,
        "two failures, then the delivery that succeeded"
    );
    let deliveries: Vec<&str> = all
        .iter()
        .map(|(h, _)| h["x-hub-delivery"].to_str().unwrap())
        .collect();
    assert!(
        deliveries.iter().all(|d| *d == deliveries[0]),
        "the same event each time"
    );
    let (headers, body) = &all[2];
    let event: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["kind"], "client.created");
    assert_eq!(
        event["target"],
        format!("client:{}", c["id"].as_str().unwrap())
    );
    assert_eq!(headers["x-hub-event"], "client.created");
    let sig = headers["x-hub-signature"].to_str().unwrap();
    let (t, v1) = sig.strip_prefix("t=").unwrap().split_once(",v1=").unwrap();
    assert_eq!(
        v1,
        hmac_hex(&secret, &format!("{t}.{body}")),
        "valid HMAC-SHA256 signature"
    );
    assert_ne!(v1, hmac_hex("wrong secret", &format!("{t}.{body}")));
    let view = hub
        .gql(
            Some(&admin),
            "{ webhooks { failures attempts { attempt ok status eventKind } } }",
            json!({}),
        )
        .await;
    let attempts = view.ok()["webhooks"][0]["attempts"]
        .as_array()
        .unwrap()
        .clone();
    let summary: Vec<(i64, bool, i64)> = attempts
        .iter()
        .map(|a| {
            (
                a["attempt"].as_i64().unwrap(),
                a["ok"].as_bool().unwrap(),
                a["status"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [(3, true, 200), (2, false, 500), (1, false, 500)],
        "newest first"
    );
    assert_eq!(view.ok()["webhooks"][0]["failures"], 0);
    let agent = hub
        .user_with_role(&admin, "default", "agent@example.com", "AGENT")
        .await;
    assert_eq!(
        hub.gql(Some(&agent), "{ webhooks { id } }", json!({}))
            .await
            .code(),
        "FORBIDDEN"
    );
}
