//! Several hub processes on one SurrealDB server (`ws://`), as they run
//! behind a load balancer: events written through one reach subscribers on
//! the other, the outbox is delivered once by whichever claims each job,
//! pollers run once per plugin and tenant, and killing a hub loses nothing.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;
use support::fakes::telegram::{self, Telegram};
use support::receiver::Receiver;
use support::surreal::Surreal;
use support::{ADMIN_PASSWORD, DataDir, Hub};

const MESSAGE_ADDED: &str = "subscription { messageAdded { message { id text chatId } } }";
const SEND: &str =
    "mutation($c: ID!, $t: String!) { sendMessage(input: { chatId: $c, text: $t }) { id } }";

/// A hub on `server`, with its own files directory.
fn hub(server: &Surreal, data: &DataDir, extra: &[(String, String)]) -> Hub {
    let mut env = server.hub_env();
    for (k, v) in [
        ("HUB_DELIVERY__POLL_MS", "100"),
        ("HUB_DELIVERY__BACKOFF_MS", "100"),
    ] {
        env.push((k.to_owned(), v.to_owned()));
    }
    env.extend(extra.iter().cloned());
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    data.start_with(&pairs)
}

fn receiver_env(receiver: &Receiver) -> Vec<(String, String)> {
    vec![
        (
            "HUB_PLUGIN__WEBHOOK__SETTINGS__URL".to_owned(),
            receiver.url(),
        ),
        (
            "HUB_PLUGIN__WEBHOOK__ALLOW_HOSTS".to_owned(),
            receiver.host(),
        ),
    ]
}

async fn admin(hub: &Hub) -> String {
    hub.sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await
}

/// A client with a phone and their chat, through `hub`.
async fn chat(hub: &Hub, token: &str, phone: &str) -> String {
    let c = hub
        .create_client(
            token,
            json!({ "firstName": "Scale", "contacts": [{ "kind": "PHONE", "value": phone }] }),
        )
        .await;
    hub.open_chat(token, c["id"].as_str().unwrap()).await
}

/// Sends `n` messages, alternating between the hubs, eight at a time.
async fn send_many(hubs: [&Hub; 2], tokens: [&str; 2], chat: &str, n: usize) -> BTreeSet<String> {
    futures_util::stream::iter(0..n)
        .map(|i| async move {
            let (hub, token) = (hubs[i % 2], tokens[i % 2]);
            let r = hub
                .gql(
                    Some(token),
                    SEND,
                    json!({ "c": chat, "t": format!("message {i}") }),
                )
                .await;
            r.ok()["sendMessage"]["id"].as_str().unwrap().to_owned()
        })
        .buffer_unordered(8)
        .collect()
        .await
}

/// Waits until every id in `expected` reached the receiver; returns how
/// many requests carried each id.
async fn delivered(receiver: &Receiver, expected: &BTreeSet<String>) -> BTreeMap<String, usize> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut counts = BTreeMap::new();
        for r in receiver.received() {
            *counts
                .entry(r.json()["id"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
        let all = expected.iter().all(|id| counts.contains_key(id));
        if all || Instant::now() > deadline {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_message_sent_through_one_hub_reaches_subscribers_of_the_other() {
    let server = Surreal::start();
    let receiver = Receiver::start().await;
    let (data_a, data_b) = (DataDir::new(), DataDir::new());
    let a = hub(&server, &data_a, &receiver_env(&receiver));
    let b = hub(&server, &data_b, &receiver_env(&receiver));
    // One sign-in works on every hub: sessions live in the database.
    let token = admin(&a).await;
    let chat = chat(&a, &token, "+14155550170").await;
    let mut ws = b.ws(&token).await;
    ws.subscribe("m", MESSAGE_ADDED, json!({})).await;

    // Figures for docs/scale-out.md: the send's own time, and from its
    // answer (the commit) to the event on the other hub.
    let (mut sends, mut crossings) = (Vec::new(), Vec::new());
    for i in 0..100u64 {
        // Out of step with hub B's reads of the log, as real traffic is.
        tokio::time::sleep(Duration::from_millis(i * 37 % 61)).await;
        let text = format!("across hubs {i}");
        let start = Instant::now();
        let id = a
            .gql(Some(&token), SEND, json!({ "c": chat, "t": text }))
            .await
            .ok()["sendMessage"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let answered = Instant::now();
        let event = ws
            .next_data(Duration::from_secs(10))
            .await
            .expect("the event reaches hub B's subscriber");
        sends.push(answered - start);
        crossings.push(answered.elapsed());
        let m = &event["data"]["messageAdded"]["message"];
        assert_eq!(m["id"], id.as_str(), "{event}");
        assert_eq!(m["text"], text.as_str());
    }
    // Bursts, as a busy team sends: 20 at once, ten times. Hub B reads each
    // burst from the log in pages of several events.
    let mut burst = Vec::new();
    for round in 0..10 {
        let sent = futures_util::stream::iter(0..20)
            .map(|i| {
                let (a, token, chat) = (&a, &token, &chat);
                async move {
                    let r = a
                        .gql(
                            Some(token),
                            SEND,
                            json!({ "c": chat, "t": format!("burst {round}.{i}") }),
                        )
                        .await;
                    let id = r.ok()["sendMessage"]["id"].as_str().unwrap().to_owned();
                    (id, Instant::now())
                }
            })
            .buffer_unordered(20)
            .collect::<Vec<_>>();
        let seen = async {
            let mut seen = BTreeMap::new();
            for _ in 0..20 {
                let event = ws
                    .next_data(Duration::from_secs(10))
                    .await
                    .expect("every message of a burst reaches hub B's subscriber");
                let id = event["data"]["messageAdded"]["message"]["id"].clone();
                seen.insert(id.as_str().unwrap().to_owned(), Instant::now());
            }
            seen
        };
        let (sent, seen) = tokio::join!(sent, seen);
        for (id, answered) in sent {
            let at = seen.get(&id).expect("the burst's own messages");
            burst.push(at.saturating_duration_since(answered));
        }
    }
    for (what, mut v) in [
        ("sendMessage on hub A", sends),
        ("its answer to the event on hub B", crossings),
        ("in bursts of 20, its answer to the event on hub B", burst),
    ] {
        v.sort();
        // Nearest rank: the smallest value with at least q of them at or below.
        let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).max(1) - 1];
        eprintln!(
            "{what} ({} sends): p50 {:.1} ms, p99 {:.1} ms",
            v.len(),
            at(0.5).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3
        );
    }
    // And the other way round, from B to a subscriber on A.
    let mut ws_a = a.ws(&token).await;
    ws_a.subscribe("m", MESSAGE_ADDED, json!({})).await;
    b.gql(Some(&token), SEND, json!({ "c": chat, "t": "from B" }))
        .await
        .ok();
    // A subscription without a cursor starts at what hub A has published
    // when it starts: the last burst's events may still come first.
    loop {
        let event = ws_a
            .next_data(Duration::from_secs(10))
            .await
            .expect("event on A");
        let text = event["data"]["messageAdded"]["message"]["text"].clone();
        if text == "from B" {
            break;
        }
        assert!(
            text.as_str().is_some_and(|t| t.starts_with("burst 9.")),
            "{event}"
        );
    }
}

#[tokio::test]
async fn two_hubs_deliver_each_queued_message_once() {
    let server = Surreal::start();
    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_millis(5));
    let (data_a, data_b) = (DataDir::new(), DataDir::new());
    let a = hub(&server, &data_a, &receiver_env(&receiver));
    let b = hub(&server, &data_b, &receiver_env(&receiver));
    let (ta, tb) = (admin(&a).await, admin(&b).await);
    let chat = chat(&a, &ta, "+14155550171").await;

    let accepted = send_many([&a, &b], [&ta, &tb], &chat, 1000).await;
    assert_eq!(accepted.len(), 1000);
    let counts = delivered(&receiver, &accepted).await;
    let missing: Vec<_> = accepted
        .iter()
        .filter(|id| !counts.contains_key(*id))
        .collect();
    assert!(missing.is_empty(), "{} never delivered", missing.len());
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(receiver.received().len(), 1000);
}

#[tokio::test]
async fn killing_one_hub_loses_no_message() {
    let server = Surreal::start();
    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_millis(20));
    let mut env = receiver_env(&receiver);
    // A dead hub's claims are taken over after this long.
    env.push(("HUB_DELIVERY__LEASE_SECS".to_owned(), "2".to_owned()));
    env.push(("HUB_DELIVERY__CONCURRENCY".to_owned(), "4".to_owned()));
    let (data_a, data_b) = (DataDir::new(), DataDir::new());
    let a = hub(&server, &data_a, &env);
    let b = hub(&server, &data_b, &env);
    let (ta, tb) = (admin(&a).await, admin(&b).await);
    let chat = chat(&a, &ta, "+14155550172").await;

    let accepted = send_many([&a, &b], [&ta, &tb], &chat, 1000).await;
    receiver.wait_for(100, Duration::from_secs(60)).await;
    a.kill();
    let at_kill = receiver.received().len();
    assert!(
        at_kill < 1000,
        "the kill came before the outbox drained ({at_kill})"
    );

    let counts = delivered(&receiver, &accepted).await;
    let missing = accepted
        .iter()
        .filter(|id| !counts.contains_key(*id))
        .count();
    assert_eq!(missing, 0, "messages lost with hub A");
    // Only what hub A had in flight may repeat, under the same idempotency key.
    let repeated: usize = counts.values().map(|n| n - 1).sum();
    assert!(
        repeated <= 4,
        "{repeated} repeats, more than A had in flight"
    );
    for r in receiver.received() {
        assert_eq!(r.header("idempotency-key"), r.json()["id"].as_str());
    }
}

#[tokio::test]
async fn a_polled_plugin_is_polled_by_one_hub_at_a_time() {
    let server = Surreal::start();
    let fake = Telegram::start().await;
    let mut env = fake.hub_env();
    env.push(("HUB_PLUGINS__POLL_MS".to_owned(), "200".to_owned()));
    env.push(("HUB_PLUGINS__POLL_LEASE_SECS".to_owned(), "2".to_owned()));
    let (data_a, data_b) = (DataDir::new(), DataDir::new());
    let a = hub(&server, &data_a, &env);
    let token = admin(&a).await;
    a.configure_plugin(
        &token,
        "telegram",
        &[
            ("bot_token", telegram::BOT_TOKEN),
            ("mode", "polling"),
            ("poll_timeout_secs", "1"),
        ],
        &["TELEGRAM"],
    )
    .await;
    // Hub A polls first and holds the lease.
    fake.wait_for("getUpdates", 1).await;
    let b = hub(&server, &data_b, &env);
    // Long polls from both hubs would end each other (409 Conflict).
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(fake.conflicts(), 0, "two hubs polled at once");
    let polls = || {
        fake.requests()
            .iter()
            .filter(|r| r.path.ends_with("/getUpdates"))
            .count()
    };
    assert!(polls() >= 3, "polling went on: {}", polls());

    // An update is taken in once, and seen on both hubs.
    let mut ws = b.ws(&token).await;
    ws.subscribe("m", MESSAGE_ADDED, json!({})).await;
    fake.push_update(telegram::text_update(900, 4242, 1, "hello from Telegram"));
    let event = ws
        .next_data(Duration::from_secs(10))
        .await
        .expect("the update arrives");
    assert_eq!(
        event["data"]["messageAdded"]["message"]["text"],
        "hello from Telegram"
    );

    // When the polling hub dies, the other takes over once the lease ends.
    a.kill();
    let after_kill = polls();
    let deadline = Instant::now() + Duration::from_secs(20);
    while polls() < after_kill + 2 {
        assert!(Instant::now() < deadline, "hub B never took over polling");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(fake.conflicts(), 0);
    fake.push_update(telegram::text_update(901, 4242, 2, "after the kill"));
    let event = ws
        .next_data(Duration::from_secs(10))
        .await
        .expect("updates keep arriving through hub B");
    assert_eq!(
        event["data"]["messageAdded"]["message"]["text"],
        "after the kill"
    );
}

#[tokio::test]
async fn a_sign_in_lock_holds_on_every_hub() {
    let server = Surreal::start();
    let env = vec![("HUB_AUTH__SIGN_IN_ATTEMPTS".to_owned(), "3".to_owned())];
    let (data_a, data_b) = (DataDir::new(), DataDir::new());
    let a = hub(&server, &data_a, &env);
    let b = hub(&server, &data_b, &env);
    const SIGN_IN: &str = "mutation($p: String!) { signIn(tenant: \"default\", email: \"admin@example.com\", password: $p) { token } }";
    let code = async |hub: &Hub, password: &str| {
        let r = hub.gql(None, SIGN_IN, json!({ "p": password })).await;
        match r.body["errors"][0]["extensions"]["code"].as_str() {
            Some(c) => c.to_owned(),
            None => "OK".to_owned(),
        }
    };
    // Wrong passwords spread over both hubs count as one run.
    assert_eq!(code(&a, "guess 1").await, "UNAUTHENTICATED");
    assert_eq!(code(&b, "guess 2").await, "UNAUTHENTICATED");
    assert_eq!(code(&a, "guess 3").await, "UNAUTHENTICATED");
    assert_eq!(code(&b, ADMIN_PASSWORD).await, "RATE_LIMITED");
    assert_eq!(code(&a, ADMIN_PASSWORD).await, "RATE_LIMITED");
}

#[tokio::test]
async fn plugin_settings_saved_through_one_hub_apply_on_the_other() {
    let server = Surreal::start();
    let fake = Telegram::start().await;
    let (data_a, data_b) = (DataDir::new(), DataDir::new());
    let a = hub(&server, &data_a, &fake.hub_env());
    let b = hub(&server, &data_b, &fake.hub_env());
    let token = admin(&a).await;
    let configure = async |secret: &str| {
        a.configure_plugin(
            &token,
            "telegram",
            &[
                ("bot_token", telegram::BOT_TOKEN),
                ("webhook_secret", secret),
            ],
            &["TELEGRAM"],
        )
        .await;
    };
    configure("first-secret-0123456789").await;
    // Both hubs take webhooks with the secret, and so know it.
    let update = |n: i64| telegram::text_update(910_000 + n, 4343, n, &format!("update {n}"));
    for (n, h) in [(1, &a), (2, &b)] {
        let status =
            telegram::post_update(&h.url, &update(n), Some("first-secret-0123456789")).await;
        assert_eq!(status, 200, "hub {n}");
    }

    configure("second-secret-0123456789").await;
    // The hub it was saved through applies it at once …
    assert_eq!(
        telegram::post_update(&a.url, &update(3), Some("second-secret-0123456789")).await,
        200
    );
    // … the other once it reads the change from the log (every 50 ms), long
    // before what it knows would be read again anyway (30 s).
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut n = 4;
    while telegram::post_update(&b.url, &update(n), Some("second-secret-0123456789")).await != 200 {
        assert!(Instant::now() < deadline, "hub B kept the old secret");
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for h in [&a, &b] {
        assert_eq!(
            telegram::post_update(&h.url, &update(100), Some("first-secret-0123456789")).await,
            401,
            "the old secret is refused"
        );
    }
}

#[tokio::test]
async fn a_token_revoked_or_a_user_changed_through_one_hub_holds_on_the_other() {
    let server = Surreal::start();
    let (data_a, data_b) = (DataDir::new(), DataDir::new());
    let a = hub(&server, &data_a, &[]);
    let b = hub(&server, &data_b, &[]);
    let admin_token = admin(&a).await;
    let lead = a
        .user_with_role(&admin_token, "default", "lead@example.com", "TEAM_LEAD")
        .await;
    const ME: &str = "{ me { id role } }";
    // Hub B authenticates both tokens, and so keeps what it read of them.
    let me = b.gql(Some(&lead), ME, json!({})).await.ok()["me"].clone();
    assert_eq!(me["role"], "TEAM_LEAD");
    assert_eq!(
        b.gql(Some(&admin_token), ME, json!({})).await.ok()["me"]["role"],
        "ADMIN"
    );

    // The lead is demoted and the admin signs out, both through hub A …
    a.gql(
        Some(&admin_token),
        "mutation($id: ID!) { updateUser(id: $id, input: { role: SALES_REP }) { role } }",
        json!({ "id": me["id"] }),
    )
    .await
    .ok();
    a.gql(Some(&admin_token), "mutation { signOut }", json!({}))
        .await
        .ok();
    // … which hub A applies at once …
    assert_eq!(
        a.gql(Some(&lead), ME, json!({})).await.ok()["me"]["role"],
        "SALES_REP"
    );
    assert_eq!(
        a.gql(Some(&admin_token), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
    // … and hub B once it reads both from the log (every 50 ms), long before
    // it would read the tokens again anyway (10 s).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let role = b.gql(Some(&lead), ME, json!({})).await.ok()["me"]["role"].clone();
        let admin = b.gql(Some(&admin_token), ME, json!({})).await;
        let admin_code = admin.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("signed in")
            .to_owned();
        if role == "SALES_REP" && admin_code == "UNAUTHENTICATED" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "hub B still has the lead as {role} and the admin's token as {admin_code}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn messages_sent_through_either_hub_are_found_by_search_through_both() {
    let server = Surreal::start();
    let receiver = Receiver::start().await;
    let env = receiver_env(&receiver);
    let (data_a, data_b) = (DataDir::new(), DataDir::new());
    let a = hub(&server, &data_a, &env);
    let b = hub(&server, &data_b, &env);
    let (ta, tb) = (admin(&a).await, admin(&b).await);
    let chat = chat(&a, &ta, "+14155550174").await;
    // One indexer among the two hubs; each message has a word of its own.
    let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    for (i, word) in words.iter().enumerate() {
        let (hub, token) = if i % 2 == 0 { (&a, &ta) } else { (&b, &tb) };
        hub.gql(
            Some(token),
            SEND,
            json!({ "c": chat, "t": format!("scale {word}") }),
        )
        .await
        .ok();
    }
    for word in words {
        for (hub, token) in [(&a, &ta), (&b, &tb)] {
            let found = hub.search_messages(token, word, 1).await;
            assert_eq!(found.len(), 1, "`{word}` through {}: {found:?}", hub.url);
            assert_eq!(found[0]["text"], format!("scale {word}"));
        }
    }
    // A search for the word they share finds each message, once.
    let all = a.search_messages(&ta, "scale", words.len()).await;
    let ids: BTreeSet<_> = all.iter().map(|m| m["id"].to_string()).collect();
    assert_eq!((all.len(), ids.len()), (words.len(), words.len()));
}
