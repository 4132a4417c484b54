//! Hostile plugins: each misbehaviour fails only its own call, with a clear
//! error in the log and on the message; the hub keeps serving and other
//! messages keep flowing.

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use support::receiver::Receiver;
use support::{ADMIN_PASSWORD, DataDir, Hub};

const SOON: Duration = Duration::from_secs(30);

async fn configure_mode(hub: &Hub, token: &str, mode: &str) {
    hub.gql(
        Some(token),
        "mutation($m: String!) { configurePlugin(plugin: \"hostile\", settings: [{ key: \"mode\", value: $m }], channels: [OTHER]) { name } }",
        json!({ "m": mode }),
    )
    .await
    .ok();
}

async fn chat_with(hub: &Hub, token: &str, kind: &str, value: &str) -> String {
    let c = hub
        .create_client(
            token,
            json!({ "firstName": "Target", "contacts": [{ "kind": kind, "value": value }] }),
        )
        .await;
    hub.open_chat(token, c["id"].as_str().unwrap()).await
}

async fn send(hub: &Hub, token: &str, chat: &str, text: &str) -> String {
    hub.gql(
        Some(token),
        "mutation($c: ID!, $t: String!) { sendMessage(input: { chatId: $c, text: $t }) { id } }",
        json!({ "c": chat, "t": text }),
    )
    .await
    .ok()["sendMessage"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits until the message leaves `QUEUED`, and returns it.
async fn settled(hub: &Hub, token: &str, chat: &str, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        let r = hub
            .gql(
                Some(token),
                "query($c: ID!) { chat(id: $c) { messages(first: 20) { edges { node { id status failureReason providerMessageId } } } } }",
                json!({ "c": chat }),
            )
            .await;
        let m = r.ok()["chat"]["messages"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .find(|m| m["id"] == id)
            .expect("message");
        if m["status"] != "QUEUED" || tokio::time::Instant::now() > deadline {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn each_misbehaviour_fails_only_its_own_call() {
    let receiver = Receiver::start().await;
    let data = DataDir::new();
    let hub = data.start_with(&[
        ("HUB_PLUGIN__WEBHOOK__SETTINGS__URL", &receiver.url()),
        ("HUB_PLUGIN__WEBHOOK__ALLOW_HOSTS", &receiver.host()),
        ("HUB_DELIVERY__MAX_ATTEMPTS", "2"),
        ("HUB_DELIVERY__BACKOFF_MS", "100"),
        ("HUB_DELIVERY__POLL_MS", "100"),
        ("HUB_PLUGIN__HOSTILE__TIMEOUT_MS", "1000"),
    ]);
    let token = hub
        .sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await;
    // OTHER goes through the hostile plugin; SMS through the healthy webhook plugin.
    let hostile_chat = chat_with(&hub, &token, "OTHER", "victim-1").await;
    let healthy_chat = chat_with(&hub, &token, "PHONE", "+14155550150").await;

    // (mode, what the message's failure says, what the log says)
    let cases = [
        (
            "loop",
            "exceeded its CPU deadline of 200 ms",
            "CPU deadline",
        ),
        (
            "memory",
            "exceeded its memory limit of 16 MiB",
            "memory limit",
        ),
        ("trap", "plugin `hostile` trapped", "trapped"),
        // Waiting costs no CPU budget; the wall clock stops it.
        (
            "sleep",
            "did not finish within 1000 ms",
            "did not finish within 1000 ms",
        ),
        (
            "forbidden-host",
            "forbidden host: refused by the hub",
            "not in the plugin's allowed hosts",
        ),
        ("file", "file: ", "file: "),
        (
            "env",
            "env: no environment variables visible",
            "no environment variables",
        ),
    ];
    for (mode, reason, logged) in cases {
        configure_mode(&hub, &token, mode).await;
        let bad = send(
            &hub,
            &token,
            &hostile_chat,
            &format!("to the {mode} plugin"),
        )
        .await;
        let good = send(&hub, &token, &healthy_chat, &format!("beside {mode}")).await;

        let m = settled(&hub, &token, &hostile_chat, &bad).await;
        assert_eq!(m["status"], "FAILED", "{mode}: {m}");
        let why = m["failureReason"].as_str().unwrap();
        assert!(
            why.contains(reason),
            "{mode}: `{why}` should say `{reason}`"
        );
        assert!(
            !why.contains("read a file") && !why.contains("saw the environment"),
            "{mode}: {why}"
        );
        // A trap, a limit or a timeout may be a passing fault: it is retried
        // before the message fails. What the plugin calls permanent is not.
        let retried = why.contains("(gave up after 2 attempts)");
        assert_eq!(
            retried,
            ["loop", "memory", "trap", "sleep"].contains(&mode),
            "{mode}: {why}"
        );
        assert!(
            hub.log().contains(logged),
            "{mode}: the log should say `{logged}`"
        );

        // The healthy plugin's message went out meanwhile, and the API answers.
        let g = settled(&hub, &token, &healthy_chat, &good).await;
        assert_eq!(g["status"], "SENT", "{mode}: {g}");
        let me = hub
            .gql(Some(&token), "query { me { email } }", json!({}))
            .await;
        assert_eq!(me.ok()["me"]["email"], "admin@example.com");
    }
    // A well-behaved mode of the same plugin works afterwards: nothing leaked
    // from the failed instances.
    configure_mode(&hub, &token, "ok").await;
    let fine = send(&hub, &token, &hostile_chat, "all good").await;
    let m = settled(&hub, &token, &hostile_chat, &fine).await;
    assert_eq!(m["status"], "SENT", "{m}");
    assert_eq!(m["providerMessageId"], format!("ok-{fine}"));
}
