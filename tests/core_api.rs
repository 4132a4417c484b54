//! The core hub, end to end: the real `hub` binary, driven over GraphQL.
//! Each test names the business rule it checks.

use crate::support;

use serde_json::{Value, json};
use support::{ADMIN_PASSWORD, DataDir};

const SEND: &str = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id text status transport direction sender { kind displayName } } }";
const CHAT: &str = "query($id: ID!) { chat(id: $id) { id clientId unreadCount lastMessageAt lastMessagePreview members { kind participant } messages(first: 50) { edges { node { id text status direction readAt transport } } pageInfo { hasNextPage endCursor } } } }";

async fn admin_hub() -> (DataDir, support::Hub, String) {
    let data = DataDir::new();
    let hub = data.start();
    let token = hub
        .sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await;
    (data, hub, token)
}

#[tokio::test]
async fn first_start_creates_a_tenant_and_admin_and_says_how_to_sign_in() {
    let data = DataDir::new();
    let hub = data.start_with(&[("HUB_BOOTSTRAP__ADMIN_PASSWORD", "")]);
    let printed = hub.stdout.join("\n");
    assert!(printed.contains("First start"), "{printed}");
    assert!(printed.contains("admin@example.com"), "{printed}");
    let password = hub
        .stdout
        .iter()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .and_then(|l| l.split_whitespace().next())
        .expect("a generated password is printed")
        .to_owned();
    let token = hub.sign_in("default", "admin@example.com", &password).await;
    let me = hub
        .gql(Some(&token), "{ me { email role } }", json!({}))
        .await;
    assert_eq!(me.ok()["me"]["role"], "ADMIN");
}

#[tokio::test]
async fn client_must_have_a_first_name() {
    let (_d, hub, token) = admin_hub().await;
    let r = hub
        .gql(
            Some(&token),
            "mutation { createClient(input: { firstName: \"  \" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(r.code(), "VALIDATION");
    assert_eq!(r.field(), Some("firstName"));
    assert!(r.message().contains("must not be empty"));
}

#[tokio::test]
async fn client_profile_holds_every_field_and_changes_only_through_explicit_updates() {
    let (_d, hub, token) = admin_hub().await;
    let c = hub
        .create_client(
            &token,
            json!({
                "firstName": "Ann", "lastName": "Lee", "middleName": "Marie", "gender": "FEMALE",
                "dateOfBirth": "1990-05-17", "address": "1 Main St, Springfield", "passportNumber": "X123",
                "taxPin": "PIN-9", "notes": "Prefers e-mail",
                "contacts": [{ "kind": "PHONE", "value": "+1 (415) 555-2671", "label": "mobile" }, { "kind": "EMAIL", "value": "Ann.Lee@Example.com" }]
            }),
        )
        .await;
    assert_eq!(c["displayName"], "Ann Marie Lee");
    assert_eq!(
        c["contacts"][0]["value"], "+14155552671",
        "phones are stored as E.164"
    );
    assert_eq!(
        c["contacts"][1]["value"], "ann.lee@example.com",
        "e-mails are lower-cased"
    );
    let id = c["id"].as_str().unwrap();
    let q = "query($id: ID!) { client(id: $id) { firstName lastName middleName gender dateOfBirth address passportNumber taxPin notes createdAt updatedAt } }";
    let before = hub.gql(Some(&token), q, json!({ "id": id })).await.ok()["client"].clone();
    assert_eq!(before["taxPin"], "PIN-9");
    let r = hub
        .gql(
            Some(&token),
            "mutation($id: ID!) { updateClient(id: $id, input: { lastName: null, notes: \"VIP\" }) { lastName notes firstName } }",
            json!({ "id": id }),
        )
        .await;
    let after = &r.ok()["updateClient"];
    assert_eq!(
        after["lastName"],
        serde_json::Value::Null,
        "null clears a field"
    );
    assert_eq!(after["notes"], "VIP");
    assert_eq!(after["firstName"], "Ann", "fields not named are untouched");
    let again = hub.gql(Some(&token), q, json!({ "id": id })).await.ok()["client"].clone();
    assert_eq!(
        again["createdAt"], before["createdAt"],
        "creation time never changes"
    );
    assert_ne!(
        again["updatedAt"], before["updatedAt"],
        "updates are timestamped"
    );
    let empty = hub
        .gql(
            Some(&token),
            "mutation($id: ID!) { updateClient(id: $id, input: {}) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(empty.code(), "VALIDATION");
    let future = hub
        .gql(
            Some(&token),
            "mutation($id: ID!) { updateClient(id: $id, input: { dateOfBirth: \"2999-01-01\" }) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(future.field(), Some("dateOfBirth"));
}

#[tokio::test]
async fn each_contact_value_is_unique_within_its_type_after_normalisation() {
    let (_d, hub, token) = admin_hub().await;
    hub.create_client(
        &token,
        json!({ "firstName": "Ann", "contacts": [{ "kind": "PHONE", "value": "+14155552671" }] }),
    )
    .await;
    let r = hub
        .gql(
            Some(&token),
            "mutation { createClient(input: { firstName: \"Bo\", contacts: [{ kind: PHONE, value: \"+1 415-555-2671\" }] }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(r.code(), "CONFLICT");
    assert_eq!(r.field(), Some("value"));
    // The same number as a WhatsApp contact is another type: allowed.
    let bo = hub
        .create_client(&token, json!({ "firstName": "Bo", "contacts": [{ "kind": "WHATSAPP", "value": "+14155552671" }] }))
        .await;
    // A client can have several contacts of the same type.
    let r = hub
        .gql(
            Some(&token),
            "mutation($c: ID!) { addContact(clientId: $c, input: { kind: WHATSAPP, value: \"+442079460958\" }) { contacts { kind value } } }",
            json!({ "c": bo["id"] }),
        )
        .await;
    assert_eq!(
        r.ok()["addContact"]["contacts"].as_array().unwrap().len(),
        2
    );
    let bad = hub
        .gql(
            Some(&token),
            "mutation($c: ID!) { addContact(clientId: $c, input: { kind: PHONE, value: \"12\" }) { id } }",
            json!({ "c": bo["id"] }),
        )
        .await;
    assert_eq!(bad.code(), "VALIDATION");
    assert_eq!(bad.field(), Some("value"));
}

#[tokio::test]
async fn consent_is_tracked_per_contact_with_time_and_source() {
    let (_d, hub, token) = admin_hub().await;
    let c = hub
        .create_client(&token, json!({ "firstName": "Ann", "contacts": [{ "kind": "PHONE", "value": "+14155552671" }, { "kind": "EMAIL", "value": "ann@example.com" }] }))
        .await;
    let phone = c["contacts"][0]["id"].clone();
    let q = "mutation($c: ID!, $s: ConsentStatus!, $src: String!) { setContactConsent(contactId: $c, status: $s, source: $src) { contacts { kind consent { status at source } } } }";
    let r = hub
        .gql(
            Some(&token),
            q,
            json!({ "c": phone, "s": "OPTED_OUT", "src": "asked on the phone" }),
        )
        .await;
    let contacts = r.ok()["setContactConsent"]["contacts"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(contacts[0]["consent"]["status"], "OPTED_OUT");
    assert_eq!(contacts[0]["consent"]["source"], "asked on the phone");
    assert!(contacts[0]["consent"]["at"].is_string());
    assert_eq!(
        contacts[1]["consent"]["status"], "UNKNOWN",
        "consent is per contact"
    );
    let blank = hub
        .gql(
            Some(&token),
            q,
            json!({ "c": phone, "s": "OPTED_IN", "src": " " }),
        )
        .await;
    assert_eq!(blank.field(), Some("source"));
}

#[tokio::test]
async fn client_lookup_by_contact_uses_the_normalised_value() {
    let (_d, hub, token) = admin_hub().await;
    let c = hub
        .create_client(&token, json!({ "firstName": "Ann", "contacts": [{ "kind": "EMAIL", "value": "ann@example.com" }, { "kind": "TELEGRAM", "value": "@AnnLee" }] }))
        .await;
    let q = "query($k: ContactKind!, $v: String!) { clientByContact(kind: $k, value: $v) { id } }";
    let r = hub
        .gql(
            Some(&token),
            q,
            json!({ "k": "EMAIL", "v": " ANN@example.COM" }),
        )
        .await;
    assert_eq!(r.ok()["clientByContact"]["id"], c["id"]);
    let r = hub
        .gql(Some(&token), q, json!({ "k": "TELEGRAM", "v": "annlee" }))
        .await;
    assert_eq!(r.ok()["clientByContact"]["id"], c["id"]);
    let r = hub
        .gql(
            Some(&token),
            q,
            json!({ "k": "EMAIL", "v": "nobody@example.com" }),
        )
        .await;
    assert!(r.ok()["clientByContact"].is_null());
}

#[tokio::test]
async fn one_chat_per_client_with_its_initial_members() {
    let (_d, hub, token) = admin_hub().await;
    let c = hub.create_client(&token, json!({ "firstName": "Ann", "contacts": [{ "kind": "PHONE", "value": "+14155552671" }] })).await;
    let cid = c["id"].as_str().unwrap();
    let first = hub.open_chat(&token, cid).await;
    let second = hub.open_chat(&token, cid).await;
    assert_eq!(first, second, "opening a chat again finds the existing one");
    let chat = hub.gql(Some(&token), CHAT, json!({ "id": first })).await;
    let chat = &chat.ok()["chat"];
    assert_eq!(chat["clientId"], c["id"]);
    let members: Vec<&str> = chat["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert!(
        members.contains(&"client") && members.contains(&"user"),
        "{members:?}"
    );
    let via_client = hub
        .gql(
            Some(&token),
            "query($id: ID!) { client(id: $id) { chat { id } } }",
            json!({ "id": cid }),
        )
        .await;
    assert_eq!(via_client.ok()["client"]["chat"]["id"], first.as_str());
}

#[tokio::test]
async fn sending_queues_the_message_and_tracks_the_chat() {
    let (_d, hub, token) = admin_hub().await;
    let c = hub
        .create_client(&token, json!({ "firstName": "Ann", "contacts": [{ "kind": "PHONE", "value": "+14155552671" }, { "kind": "EMAIL", "value": "ann@example.com" }] }))
        .await;
    let chat = hub.open_chat(&token, c["id"].as_str().unwrap()).await;
    let r = hub
        .gql(
            Some(&token),
            SEND,
            json!({ "i": { "chatId": chat, "text": "Hello Ann" } }),
        )
        .await;
    let m = &r.ok()["sendMessage"];
    assert_eq!(m["status"], "QUEUED");
    assert_eq!(
        m["transport"], "SMS",
        "the first contact's transport is chosen"
    );
    assert_eq!(m["direction"], "OUTBOUND");
    assert_eq!(m["sender"]["kind"], "USER");
    let r = hub
        .gql(
            Some(&token),
            SEND,
            json!({ "i": { "chatId": chat, "text": "By mail", "transport": "EMAIL" } }),
        )
        .await;
    assert_eq!(r.ok()["sendMessage"]["transport"], "EMAIL");
    let r = hub
        .gql(
            Some(&token),
            SEND,
            json!({ "i": { "chatId": chat, "text": "x", "transport": "TELEGRAM" } }),
        )
        .await;
    assert_eq!(r.code(), "VALIDATION");
    assert_eq!(r.field(), Some("transport"));
    let view = hub.gql(Some(&token), CHAT, json!({ "id": chat })).await;
    let view = &view.ok()["chat"];
    let texts: Vec<&str> = view["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["By mail", "Hello Ann"], "history is newest first");
    assert!(view["lastMessageAt"].is_string());
    assert_eq!(view["lastMessagePreview"], "By mail");
    assert_eq!(view["unreadCount"], 0, "our own messages are never unread");
    assert_eq!(
        view["members"].as_array().unwrap().len(),
        2,
        "one member per participant, however often they write"
    );
    let empty = hub
        .gql(
            Some(&token),
            SEND,
            json!({ "i": { "chatId": chat, "text": "   " } }),
        )
        .await;
    assert_eq!(empty.field(), Some("text"));
}

#[tokio::test]
async fn a_retried_send_with_the_same_idempotency_key_is_a_no_op() {
    let (_d, hub, token) = admin_hub().await;
    let c = hub.create_client(&token, json!({ "firstName": "Ann", "contacts": [{ "kind": "PHONE", "value": "+14155552671" }] })).await;
    let chat = hub.open_chat(&token, c["id"].as_str().unwrap()).await;
    let input = json!({ "i": { "chatId": chat, "text": "Once", "idempotencyKey": "k-1" } });
    let a = hub.gql(Some(&token), SEND, input.clone()).await.ok()["sendMessage"]["id"].clone();
    let b = hub.gql(Some(&token), SEND, input).await.ok()["sendMessage"]["id"].clone();
    assert_eq!(a, b);
    let view = hub.gql(Some(&token), CHAT, json!({ "id": chat })).await;
    assert_eq!(
        view.ok()["chat"]["messages"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn chat_history_pages_newest_first_with_cursors() {
    let (_d, hub, token) = admin_hub().await;
    let c = hub
        .create_client(&token, json!({ "firstName": "Pia", "contacts": [{ "kind": "PHONE", "value": "+14155552672" }] }))
        .await;
    let chat = hub.open_chat(&token, c["id"].as_str().unwrap()).await;
    for n in 1..=5 {
        hub.gql(
            Some(&token),
            SEND,
            json!({ "i": { "chatId": chat, "text": format!("note {n}") } }),
        )
        .await
        .ok();
    }
    // The inbox's own query: the chat and a page of its history together.
    const PAGE: &str = "query($id: ID!, $before: String) { chat(id: $id) { id messages(first: 2, before: $before) { liveCursor pageInfo { hasNextPage endCursor } nodes { text } } } }";
    let (mut texts, mut before, mut pages) = (Vec::new(), Value::Null, 0);
    loop {
        let r = hub
            .gql(Some(&token), PAGE, json!({ "id": chat, "before": before }))
            .await;
        let page = &r.ok()["chat"]["messages"];
        assert_eq!(r.ok()["chat"]["id"], chat);
        assert!(page["liveCursor"].as_str().unwrap().parse::<i64>().unwrap() > 0);
        texts.extend(
            page["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["text"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        before = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 3);
    assert_eq!(texts, ["note 5", "note 4", "note 3", "note 2", "note 1"]);

    // Two pages of one chat in one query, each with its own arguments.
    let r = hub
        .gql(
            Some(&token),
            "query($id: ID!) { chat(id: $id) { newest: messages(first: 1) { nodes { text } } oldest: messages(first: 5) { nodes { text } } } }",
            json!({ "id": chat }),
        )
        .await;
    assert_eq!(r.ok()["chat"]["newest"]["nodes"][0]["text"], "note 5");
    assert_eq!(r.ok()["chat"]["oldest"]["nodes"][4]["text"], "note 1");

    // Bad arguments are refused with the argument named.
    let r = hub
        .gql(
            Some(&token),
            "query($id: ID!) { chat(id: $id) { id messages(first: 0) { nodes { text } } } }",
            json!({ "id": chat }),
        )
        .await;
    assert_eq!(r.code(), "VALIDATION");
    assert_eq!(r.field(), Some("first"));
    let r = hub
        .gql(
            Some(&token),
            "query($id: ID!) { chat(id: $id) { id messages(first: 2, before: \"nonsense\") { nodes { text } } } }",
            json!({ "id": chat }),
        )
        .await;
    assert_eq!(r.field(), Some("before"));
}

#[tokio::test]
async fn templates_are_static_text_usable_on_any_transport() {
    let (_d, hub, token) = admin_hub().await;
    let t = hub
        .gql(
            Some(&token),
            "mutation { createTemplate(name: \"Hours\", text: \"We open at 9. {{name}}\") { id } }",
            json!({}),
        )
        .await;
    let tid = t.ok()["createTemplate"]["id"].clone();
    let c = hub
        .create_client(&token, json!({ "firstName": "Ann", "contacts": [{ "kind": "PHONE", "value": "+14155552671" }, { "kind": "TELEGRAM", "value": "ann" }] }))
        .await;
    let chat = hub.open_chat(&token, c["id"].as_str().unwrap()).await;
    for transport in ["SMS", "TELEGRAM"] {
        let r = hub
            .gql(
                Some(&token),
                SEND,
                json!({ "i": { "chatId": chat, "templateId": tid, "transport": transport } }),
            )
            .await;
        assert_eq!(
            r.ok()["sendMessage"]["text"],
            "We open at 9. {{name}}",
            "sent exactly as written"
        );
    }
    let dup = hub
        .gql(
            Some(&token),
            "mutation { createTemplate(name: \"Hours\", text: \"again\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(dup.code(), "CONFLICT");
    let list = hub
        .gql(Some(&token), "{ templates { name text } }", json!({}))
        .await;
    assert_eq!(list.ok()["templates"].as_array().unwrap().len(), 1);
    let upd = hub
        .gql(
            Some(&token),
            "mutation($id: ID!) { updateTemplate(id: $id, text: \"New\") { text name } }",
            json!({ "id": tid }),
        )
        .await;
    assert_eq!(upd.ok()["updateTemplate"]["text"], "New");
    let del = hub
        .gql(
            Some(&token),
            "mutation($id: ID!) { deleteTemplate(id: $id) }",
            json!({ "id": tid }),
        )
        .await;
    assert_eq!(del.ok()["deleteTemplate"], true);
    let gone = hub
        .gql(
            Some(&token),
            SEND,
            json!({ "i": { "chatId": chat, "templateId": tid } }),
        )
        .await;
    assert_eq!(gone.code(), "NOT_FOUND");
}

#[tokio::test]
async fn unread_count_follows_read_at_and_mark_read() {
    let (_d, hub, token) = admin_hub().await;
    let c = hub.create_client(&token, json!({ "firstName": "Ann", "contacts": [{ "kind": "PHONE", "value": "+14155552671" }] })).await;
    let chat = hub.open_chat(&token, c["id"].as_str().unwrap()).await;
    let log = "mutation($c: ID!, $t: String!) { logInboundMessage(input: { chatId: $c, text: $t, transport: SMS }) { id direction status } }";
    let mut ids = Vec::new();
    for text in ["one", "two", "three"] {
        let r = hub
            .gql(Some(&token), log, json!({ "c": chat, "t": text }))
            .await;
        assert_eq!(r.ok()["logInboundMessage"]["direction"], "INBOUND");
        ids.push(
            r.ok()["logInboundMessage"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let unread = |v: &serde_json::Value| v["chat"]["unreadCount"].as_i64().unwrap();
    assert_eq!(
        unread(
            hub.gql(Some(&token), CHAT, json!({ "id": chat }))
                .await
                .ok()
        ),
        3
    );
    let only_unread = hub
        .gql(
            Some(&token),
            "{ chats(unreadOnly: true) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        only_unread.ok()["chats"]["edges"].as_array().unwrap().len(),
        1
    );
    let mark = "mutation($c: ID!, $u: ID!) { markRead(chatId: $c, upTo: $u) { unreadCount } }";
    let r = hub
        .gql(Some(&token), mark, json!({ "c": chat, "u": ids[1] }))
        .await;
    assert_eq!(
        r.ok()["markRead"]["unreadCount"],
        1,
        "read up to the second message"
    );
    let view = hub.gql(Some(&token), CHAT, json!({ "id": chat })).await;
    let edges = view.ok()["chat"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    let read_at = |text: &str| {
        edges.iter().find(|e| e["node"]["text"] == text).unwrap()["node"]["readAt"].clone()
    };
    assert!(read_at("one").is_string() && read_at("two").is_string());
    assert!(read_at("three").is_null());
    let first_read = read_at("one");
    let r = hub
        .gql(Some(&token), mark, json!({ "c": chat, "u": ids[2] }))
        .await;
    assert_eq!(r.ok()["markRead"]["unreadCount"], 0);
    let view = hub.gql(Some(&token), CHAT, json!({ "id": chat })).await;
    let edges = view.ok()["chat"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    let again =
        edges.iter().find(|e| e["node"]["text"] == "one").unwrap()["node"]["readAt"].clone();
    assert_eq!(again, first_read, "the read time is recorded once");
    let none = hub
        .gql(
            Some(&token),
            "{ chats(unreadOnly: true) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert!(none.ok()["chats"]["edges"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn chat_list_is_ordered_by_last_message_and_pages_with_cursors() {
    let (_d, hub, token) = admin_hub().await;
    let mut chats = Vec::new();
    for (i, name) in ["Ann", "Bo", "Cy", "Di", "Ed"].iter().enumerate() {
        let c = hub
            .create_client(&token, json!({ "firstName": name, "contacts": [{ "kind": "EMAIL", "value": format!("c{i}@example.com") }] }))
            .await;
        chats.push(hub.open_chat(&token, c["id"].as_str().unwrap()).await);
    }
    // Bo writes last, so Bo's chat comes first.
    hub.gql(
        Some(&token),
        SEND,
        json!({ "i": { "chatId": chats[1], "text": "hi Bo" } }),
    )
    .await
    .ok();
    let q = "query($a: String) { chats(first: 2, after: $a) { edges { node { id } cursor } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = serde_json::Value::Null;
    loop {
        let r = hub.gql(Some(&token), q, json!({ "a": after })).await;
        let page = r.ok()["chats"].clone();
        seen.extend(
            page["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap().to_owned()),
        );
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 5, "every chat exactly once: {seen:?}");
    assert_eq!(seen[0], chats[1]);
    let mut expected_rest: Vec<String> =
        chats.iter().filter(|c| **c != chats[1]).cloned().collect();
    expected_rest.reverse();
    assert_eq!(&seen[1..], expected_rest.as_slice(), "then newest first");
    // Each chat comes with its own client, loaded for the whole page at
    // once; contacts when asked for, in either shape of the connection.
    for q in [
        "{ chats(first: 10) { nodes { client { displayName } } } }",
        "{ chats(first: 10) { nodes { client { displayName contacts { value } } } } }",
        "{ chats(first: 10) { edges { node { client { displayName contacts { value } } } } } }",
    ] {
        let r = hub.gql(Some(&token), q, json!({})).await;
        let data = r.ok()["chats"].clone();
        let nodes: Vec<serde_json::Value> = match data["nodes"].as_array() {
            Some(n) => n.clone(),
            None => data["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"].clone())
                .collect(),
        };
        let names: Vec<&str> = nodes
            .iter()
            .map(|n| n["client"]["displayName"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Bo", "Ed", "Di", "Cy", "Ann"], "{q}");
        if q.contains("contacts") {
            assert_eq!(nodes[0]["client"]["contacts"][0]["value"], "c1@example.com");
            assert_eq!(nodes[4]["client"]["contacts"][0]["value"], "c0@example.com");
        }
    }
    let bad = hub.gql(Some(&token), q, json!({ "a": "garbage" })).await;
    assert_eq!(bad.code(), "VALIDATION");
    assert_eq!(bad.field(), Some("after"));
    let sms = hub
        .gql(
            Some(&token),
            "{ chats(transport: EMAIL) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(sms.ok()["chats"]["edges"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn clients_list_pages_in_name_order_and_search_finds_names_and_contacts() {
    let (_d, hub, token) = admin_hub().await;
    for (name, last, email) in [
        ("Zoe", "Adams", "zoe@example.com"),
        ("Ann", "Lee", "ann@example.com"),
        ("Bo", "Lee", "bo@example.com"),
    ] {
        hub.create_client(&token, json!({ "firstName": name, "lastName": last, "contacts": [{ "kind": "EMAIL", "value": email }] }))
            .await;
    }
    let q = "query($a: String, $s: String) { clients(first: 2, after: $a, search: $s) { edges { node { displayName } } pageInfo { hasNextPage endCursor } } }";
    let p1 = hub.gql(Some(&token), q, json!({})).await.ok()["clients"].clone();
    let names = |p: &serde_json::Value| -> Vec<String> {
        p["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["displayName"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&p1), ["Ann Lee", "Bo Lee"]);
    let p2 = hub
        .gql(Some(&token), q, json!({ "a": p1["pageInfo"]["endCursor"] }))
        .await
        .ok()["clients"]
        .clone();
    assert_eq!(names(&p2), ["Zoe Adams"]);
    assert_eq!(p2["pageInfo"]["hasNextPage"], false);
    let lee = hub.gql(Some(&token), q, json!({ "s": "lee" })).await.ok()["clients"].clone();
    let mut found = names(&lee);
    found.sort();
    assert_eq!(found, ["Ann Lee", "Bo Lee"]);
    let prefix = hub.gql(Some(&token), q, json!({ "s": "zo" })).await.ok()["clients"].clone();
    assert_eq!(names(&prefix), ["Zoe Adams"], "names match by word prefix");
    let by_mail = hub
        .gql(Some(&token), q, json!({ "s": "BO@example.com" }))
        .await
        .ok()["clients"]
        .clone();
    assert_eq!(names(&by_mail), ["Bo Lee"]);
}

#[tokio::test]
async fn message_text_is_searchable() {
    let (_d, hub, token) = admin_hub().await;
    let c = hub.create_client(&token, json!({ "firstName": "Ann", "contacts": [{ "kind": "PHONE", "value": "+14155552671" }] })).await;
    let chat = hub.open_chat(&token, c["id"].as_str().unwrap()).await;
    for text in [
        "Your invoice is ready",
        "The parcel shipped today",
        "Invoice paid, thanks!",
    ] {
        hub.gql(
            Some(&token),
            SEND,
            json!({ "i": { "chatId": chat, "text": text } }),
        )
        .await
        .ok();
    }
    let mut texts: Vec<String> = hub
        .search_messages(&token, "invoice", 2)
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    texts.sort();
    assert_eq!(texts, ["Invoice paid, thanks!", "Your invoice is ready"]);
}

#[tokio::test]
async fn deletion_is_soft_removes_profile_and_chat_from_view_and_can_be_restored() {
    let (_d, hub, token) = admin_hub().await;
    let c = hub.create_client(&token, json!({ "firstName": "Ann", "contacts": [{ "kind": "PHONE", "value": "+14155552671" }] })).await;
    let id = c["id"].as_str().unwrap();
    let chat = hub.open_chat(&token, id).await;
    let del = hub
        .gql(
            Some(&token),
            "mutation($id: ID!) { deleteClient(id: $id) { deletedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert!(del.ok()["deleteClient"]["deletedAt"].is_string());
    assert_eq!(
        hub.gql(
            Some(&token),
            "query($id: ID!) { client(id: $id) { id } }",
            json!({ "id": id })
        )
        .await
        .code(),
        "NOT_FOUND"
    );
    assert_eq!(
        hub.gql(Some(&token), CHAT, json!({ "id": chat }))
            .await
            .code(),
        "NOT_FOUND"
    );
    let list = hub
        .gql(
            Some(&token),
            "{ chats { edges { node { id } } } clients { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert!(list.ok()["chats"]["edges"].as_array().unwrap().is_empty());
    assert!(list.ok()["clients"]["edges"].as_array().unwrap().is_empty());
    let send = hub
        .gql(
            Some(&token),
            SEND,
            json!({ "i": { "chatId": chat, "text": "hello?" } }),
        )
        .await;
    assert_eq!(send.code(), "NOT_FOUND");
    let res = hub
        .gql(
            Some(&token),
            "mutation($id: ID!) { restoreClient(id: $id) { deletedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert!(res.ok()["restoreClient"]["deletedAt"].is_null());
    assert_eq!(
        hub.gql(Some(&token), CHAT, json!({ "id": chat }))
            .await
            .ok()["chat"]["id"],
        chat.as_str()
    );
}

#[tokio::test]
async fn every_mutation_is_audited_in_the_same_transaction() {
    let (_d, hub, token) = admin_hub().await;
    let c = hub.create_client(&token, json!({ "firstName": "Ann", "contacts": [{ "kind": "PHONE", "value": "+14155552671" }] })).await;
    let chat = hub.open_chat(&token, c["id"].as_str().unwrap()).await;
    hub.gql(
        Some(&token),
        SEND,
        json!({ "i": { "chatId": chat, "text": "Hi" } }),
    )
    .await
    .ok();
    let r = hub
        .gql(
            Some(&token),
            "{ me { id } auditLog(first: 50) { edges { node { kind actor target at } } } }",
            json!({}),
        )
        .await;
    let me = r.ok()["me"]["id"].as_str().unwrap().to_owned();
    let kinds: Vec<(String, String)> = r.ok()["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["kind"].as_str().unwrap().to_owned(),
                e["node"]["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for kind in [
        "message.queued",
        "chat.created",
        "client.created",
        "user.signed_in",
        "tenant.created",
    ] {
        assert!(
            kinds.iter().any(|(k, _)| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }
    assert_eq!(kinds[0].0, "message.queued", "newest first");
    assert_eq!(kinds[0].1, format!("user:{me}"));
    let for_client = hub
        .gql(
            Some(&token),
            "query($t: String) { auditLog(target: $t) { edges { node { kind } } } }",
            json!({ "t": format!("client:{}", c["id"].as_str().unwrap()) }),
        )
        .await;
    assert_eq!(
        for_client.ok()["auditLog"]["edges"][0]["node"]["kind"],
        "client.created"
    );
}

/// Signs in and returns the error code (`OK` when it worked) with the error.
async fn sign_in_code(hub: &support::Hub, email: &str, password: &str) -> (String, Value) {
    let r = hub
        .gql(
            None,
            "mutation($e: String!, $p: String!) { signIn(tenant: \"default\", email: $e, password: $p) { token } }",
            json!({ "e": email, "p": password }),
        )
        .await;
    let code = r.body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("OK")
        .to_owned();
    (code, r.body["errors"][0].clone())
}

#[tokio::test]
async fn wrong_passwords_lock_that_account_for_a_while_and_only_that_account() {
    let data = DataDir::new();
    let hub = data.start_with(&[("HUB_AUTH__SIGN_IN_ATTEMPTS", "3")]);
    let token = hub
        .sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await;
    let admin = "admin@example.com";
    // A correct password ends a run of failures: two, a success, two more.
    for password in [
        "guess 1",
        "guess 2",
        ADMIN_PASSWORD,
        "guess 3",
        "guess 4",
        "guess 5",
    ] {
        let expected = if password == ADMIN_PASSWORD {
            "OK"
        } else {
            "UNAUTHENTICATED"
        };
        assert_eq!(
            sign_in_code(&hub, admin, password).await.0,
            expected,
            "{password}"
        );
    }
    // Three wrong passwords in a row lock the account, the right one included.
    let (code, locked) = sign_in_code(&hub, " Admin@Example.com ", ADMIN_PASSWORD).await;
    assert_eq!(code, "RATE_LIMITED");
    assert!(
        locked["message"].as_str().unwrap().contains("try again"),
        "{locked}"
    );
    let wait = locked["extensions"]["retryAfter"]
        .as_u64()
        .expect("retryAfter");
    assert!((1..=15 * 60).contains(&wait), "{wait}");
    // An account that does not exist locks the same way: a lock says
    // nothing about which accounts are real.
    for expected in [
        "UNAUTHENTICATED",
        "UNAUTHENTICATED",
        "UNAUTHENTICATED",
        "RATE_LIMITED",
    ] {
        assert_eq!(
            sign_in_code(&hub, "nobody@example.com", "guess").await.0,
            expected
        );
    }
    // Other accounts sign in, and a session from before the lock still works.
    hub.user_with_role(&token, "default", "agent@example.com", "AGENT")
        .await;
    let me = hub.gql(Some(&token), "{ me { email } }", json!({})).await;
    assert_eq!(me.ok()["me"]["email"], "admin@example.com");
}

#[tokio::test]
async fn without_a_built_inbox_the_front_page_says_how_to_build_it() {
    let data = DataDir::new();
    let empty = tempfile::tempdir().unwrap();
    let hub = data.start_with(&[("HUB_WEB__DIR", empty.path().to_str().unwrap())]);
    let r = reqwest::get(format!("{}/", hub.url)).await.unwrap();
    assert_eq!(r.status(), 503);
    let body = r.text().await.unwrap();
    assert!(body.contains("cargo xtask run"), "{body}");
    assert!(body.contains("web.dir"), "{body}");
    let other = reqwest::get(format!("{}/assets/app.js", hub.url))
        .await
        .unwrap();
    assert_eq!(other.status(), 404, "only the front page explains");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (_d, hub, token) = admin_hub().await;
    let http = reqwest::Client::new();
    let responses = [
        http.get(format!("{}/healthz", hub.url))
            .send()
            .await
            .unwrap(),
        http.get(format!("{}/graphql", hub.url))
            .send()
            .await
            .unwrap(),
        http.post(format!("{}/graphql", hub.url))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(json!({ "query": "{ me { email } }" }).to_string())
            .send()
            .await
            .unwrap(),
        http.get(format!("{}/files/nope", hub.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        http.get(format!("{}/nowhere", hub.url))
            .send()
            .await
            .unwrap(),
    ];
    for r in &responses {
        let h = r.headers();
        let what = format!("{} {}", r.url().path(), r.status());
        assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(h["x-frame-options"], "DENY", "{what}");
        assert_eq!(
            h["content-security-policy"], "frame-ancestors 'none'",
            "{what}"
        );
        assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
        assert_eq!(h["cache-control"], "no-store", "{what}");
    }
}

#[tokio::test]
async fn error_codes_name_what_went_wrong() {
    let (_d, hub, token) = admin_hub().await;
    let anon = hub.gql(None, "{ me { id } }", json!({})).await;
    assert_eq!(anon.code(), "UNAUTHENTICATED");
    let bogus = hub.gql(Some("hub_nope"), "{ me { id } }", json!({})).await;
    assert_eq!(bogus.code(), "UNAUTHENTICATED");
    let wrong = hub
        .gql(None, "mutation { signIn(tenant: \"default\", email: \"admin@example.com\", password: \"wrong password\") { token } }", json!({}))
        .await;
    assert_eq!(wrong.code(), "UNAUTHENTICATED");
    let missing = hub
        .gql(
            Some(&token),
            "query($id: ID!) { client(id: $id) { id } }",
            json!({ "id": "0190a0a0-0000-7000-8000-000000000000" }),
        )
        .await;
    assert_eq!(missing.code(), "NOT_FOUND");
    let malformed = hub
        .gql(Some(&token), "{ client(id: \"abc\") { id } }", json!({}))
        .await;
    assert_eq!(malformed.code(), "VALIDATION");
    assert_eq!(malformed.field(), Some("id"));
    let page = hub
        .gql(
            Some(&token),
            "{ chats(first: 100000) { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(page.field(), Some("first"));
    let agent = hub
        .user_with_role(&token, "default", "agent@example.com", "AGENT")
        .await;
    let forbidden = hub.gql(Some(&agent), "{ users { id } }", json!({})).await;
    assert_eq!(forbidden.code(), "FORBIDDEN");
    assert!(
        forbidden.message().contains("agent"),
        "{}",
        forbidden.message()
    );
    let dup = hub
        .gql(Some(&token), "mutation { createUser(input: { email: \"AGENT@example.com\", name: \"x\", role: AGENT, password: \"long password 1\" }) { id } }", json!({}))
        .await;
    assert_eq!(dup.code(), "CONFLICT");
    assert_eq!(dup.field(), Some("email"));
    let weak = hub
        .gql(Some(&token), "mutation { createUser(input: { email: \"x@example.com\", name: \"x\", role: AGENT, password: \"short\" }) { id } }", json!({}))
        .await;
    assert_eq!(weak.field(), Some("password"));
}

#[tokio::test]
async fn sign_out_revokes_the_token_and_deactivation_revokes_all() {
    let (_d, hub, admin) = admin_hub().await;
    let t = hub
        .sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await;
    assert_eq!(
        hub.gql(Some(&t), "mutation { signOut }", json!({}))
            .await
            .ok()["signOut"],
        true
    );
    let after = hub.gql(Some(&t), "{ me { id } }", json!({})).await;
    assert_eq!(after.code(), "UNAUTHENTICATED");
    assert!(after.message().contains("revoked"));
    let agent = hub
        .user_with_role(&admin, "default", "agent@example.com", "AGENT")
        .await;
    let id = hub.gql(Some(&agent), "{ me { id } }", json!({})).await.ok()["me"]["id"].clone();
    hub.gql(
        Some(&admin),
        "mutation($id: ID!) { updateUser(id: $id, input: { active: false }) { active } }",
        json!({ "id": id }),
    )
    .await
    .ok();
    assert_eq!(
        hub.gql(Some(&agent), "{ me { id } }", json!({}))
            .await
            .code(),
        "UNAUTHENTICATED"
    );
    let relogin = hub
        .gql(None, "mutation { signIn(tenant: \"default\", email: \"agent@example.com\", password: \"user password 1\") { token } }", json!({}))
        .await;
    assert_eq!(relogin.code(), "UNAUTHENTICATED");
    let own = hub.gql(Some(&admin), "{ me { id } }", json!({})).await.ok()["me"]["id"].clone();
    let selfdemote = hub
        .gql(
            Some(&admin),
            "mutation($id: ID!) { updateUser(id: $id, input: { role: AGENT }) { id } }",
            json!({ "id": own }),
        )
        .await;
    assert_eq!(selfdemote.code(), "VALIDATION");
}

#[tokio::test]
async fn api_tokens_authenticate_integrations_until_revoked() {
    let (_d, hub, admin) = admin_hub().await;
    let r = hub
        .gql(Some(&admin), "mutation { createApiToken(name: \"billing\", expiresInDays: 30) { token apiToken { id name expiresAt } } }", json!({}))
        .await;
    let token = r.ok()["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = r.ok()["createApiToken"]["apiToken"]["id"].clone();
    assert_eq!(
        hub.gql(Some(&token), "{ me { role } }", json!({}))
            .await
            .ok()["me"]["role"],
        "ADMIN"
    );
    let list = hub
        .gql(Some(&admin), "{ apiTokens { id name } }", json!({}))
        .await;
    assert_eq!(list.ok()["apiTokens"][0]["name"], "billing");
    hub.gql(
        Some(&admin),
        "mutation($id: ID!) { revokeApiToken(id: $id) }",
        json!({ "id": id }),
    )
    .await
    .ok();
    assert_eq!(
        hub.gql(Some(&token), "{ me { id } }", json!({}))
            .await
            .code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn data_survives_a_restart() {
    let data = DataDir::new();
    let hub = data.start();
    let token = hub
        .sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await;
    let c = hub.create_client(&token, json!({ "firstName": "Ann", "contacts": [{ "kind": "PHONE", "value": "+14155552671" }] })).await;
    let chat = hub.open_chat(&token, c["id"].as_str().unwrap()).await;
    hub.gql(
        Some(&token),
        SEND,
        json!({ "i": { "chatId": chat, "text": "Still here?" } }),
    )
    .await
    .ok();
    hub.stop();
    let hub = data.start();
    assert!(
        !hub.stdout.join("\n").contains("First start"),
        "no second bootstrap"
    );
    let r = hub.gql(Some(&token), CHAT, json!({ "id": chat })).await;
    let edges = r.ok()["chat"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        edges[0]["node"]["text"], "Still here?",
        "the session token and the data survived"
    );
}

#[tokio::test]
async fn the_checked_in_graphql_schema_matches_the_code() {
    let out = std::process::Command::new(support::hub_bin())
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let checked_in =
        std::fs::read_to_string(support::workspace_file("schema/graphql/schema.graphql"))
            .expect("schema/graphql/schema.graphql exists");
    assert!(
        generated == checked_in,
        "schema/graphql/schema.graphql is out of date: run `cargo xtask schema` and commit the result"
    );
}

#[tokio::test]
async fn bad_configuration_is_refused_with_the_key_named() {
    let data = DataDir::new();
    let (ok, _, err) = data.run(&["migrate"], &[("HUB_DATABASE__URL", "postgres://nope")]);
    assert!(!ok);
    assert!(err.contains("database.url"), "{err}");
    let (ok, _, err) = data.run(&["migrate"], &[("HUB_AUTH__SESION_HOURS", "3")]);
    assert!(!ok);
    assert!(err.contains("sesion_hours"), "{err}");
    let (ok, out, _) = data.run(&["migrate"], &[]);
    assert!(ok);
    let migrations = std::fs::read_dir(support::workspace_file("schema/surql"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "surql")
        })
        .count();
    assert!(
        out.contains(&format!("schema version {migrations}")),
        "{out}"
    );
}

/// Edits a stopped hub's database as someone with access to it could.
fn tamper(data: &DataDir, sql: &str) {
    support::surql(data, sql);
}

async fn audited_hub(clients: usize) -> DataDir {
    let data = DataDir::new();
    // Two runs of the hub: the chain carries on across a restart.
    for run in 0..2 {
        let hub = data.start();
        let token = hub
            .sign_in("default", "admin@example.com", ADMIN_PASSWORD)
            .await;
        for i in 0..clients {
            hub.create_client(&token, json!({ "firstName": format!("Audit {run}-{i}") }))
                .await;
        }
        hub.stop();
    }
    data
}

#[tokio::test]
async fn hub_audit_verify_finds_an_edited_or_removed_entry() {
    let data = audited_hub(3).await;
    let (ok, out, err) = data.run(&["audit", "verify"], &[]);
    assert!(ok, "an untouched log verifies: {out}{err}");
    assert!(out.starts_with("default: ok, "), "{out}");

    // Someone with database access lifts the field's READONLY and edits an entry.
    tamper(
        &data,
        "DEFINE FIELD OVERWRITE data ON event TYPE object FLEXIBLE;
         LET $e = (SELECT VALUE id FROM event WHERE kind = 'client.created' ORDER BY seq LIMIT 1)[0];
         UPDATE $e SET data.firstName = 'Mallory';",
    );
    let (ok, out, err) = data.run(&["audit", "verify"], &[]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("TAMPERED: entry") && out.contains("was edited"),
        "{out}{err}"
    );

    let data = audited_hub(3).await;
    tamper(
        &data,
        "LET $e = (SELECT VALUE id FROM event WHERE kind = 'client.created' ORDER BY seq LIMIT 1)[0];
         DELETE $e;",
    );
    let (ok, out, _) = data.run(&["audit", "verify", "--tenant", "default"], &[]);
    assert!(!ok, "{out}");
    assert!(out.contains("the chain breaks at entry"), "{out}");

    // The newest entries removed: only the head knows.
    let data = audited_hub(2).await;
    tamper(
        &data,
        "LET $e = (SELECT VALUE id FROM event ORDER BY seq DESC LIMIT 1)[0]; DELETE $e;",
    );
    let (ok, out, _) = data.run(&["audit", "verify"], &[]);
    assert!(!ok, "{out}");
    assert!(out.contains("removed from the end"), "{out}");
    let (ok, _, err) = data.run(&["audit", "verify", "--tenant", "nope"], &[]);
    assert!(!ok && err.contains("no tenant `nope`"), "{err}");
}

#[tokio::test]
async fn retention_removes_exactly_the_messages_older_than_the_policy() {
    let data = DataDir::new();
    let env = [("HUB_RETENTION__INTERVAL_SECS", "1")];
    let hub = data.start_with(&env);
    let token = hub
        .sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await;
    let note = async |chat: &str, text: &str| {
        hub.gql(
            Some(&token),
            "mutation($c: ID!, $t: String!) { logInboundMessage(input: { chatId: $c, text: $t, transport: PHONE }) { id } }",
            json!({ "c": chat, "t": text }),
        )
        .await
        .ok();
    };
    let a = hub
        .create_client(&token, json!({ "firstName": "Ada" }))
        .await;
    let chat_a = hub.open_chat(&token, a["id"].as_str().unwrap()).await;
    let b = hub
        .create_client(&token, json!({ "firstName": "Bea" }))
        .await;
    let chat_b = hub.open_chat(&token, b["id"].as_str().unwrap()).await;
    for text in ["old call 1", "old call 2", "old call 3"] {
        note(&chat_a, text).await;
    }
    note(&chat_b, "old call from Bea").await;
    for text in ["recent call 1", "recent call 2"] {
        note(&chat_a, text).await;
    }
    // Validation and permissions first.
    let bad = hub
        .gql(
            Some(&token),
            "mutation { setRetentionPolicy(messagesDays: 0) { messagesDays } }",
            json!({}),
        )
        .await;
    assert_eq!(bad.code(), "VALIDATION");
    assert_eq!(bad.field(), Some("messagesDays"));
    let agent = hub
        .user_with_role(&token, "default", "agent@example.com", "AGENT")
        .await;
    let refused = hub
        .gql(
            Some(&agent),
            "mutation { setRetentionPolicy(messagesDays: 30) { messagesDays } }",
            json!({}),
        )
        .await;
    assert_eq!(refused.code(), "FORBIDDEN");
    hub.stop();

    // Forty days pass for the "old" messages (and for Bea's chat, whose
    // last message is one of them).
    support::surql(
        &data,
        &format!(
            "DEFINE FIELD OVERWRITE created_at ON message TYPE datetime;
             UPDATE message SET created_at = time::now() - 40d WHERE string::starts_with(text, 'old');
             UPDATE chat SET last_message_at = time::now() - 40d WHERE client = u'{}';",
            b["id"].as_str().unwrap()
        ),
    );
    let hub = data.start_with(&env);
    let token = hub
        .sign_in("default", "admin@example.com", ADMIN_PASSWORD)
        .await;
    let set = hub
        .gql(
            Some(&token),
            "mutation { setRetentionPolicy(messagesDays: 30) { messagesDays attachmentsDays } }",
            json!({}),
        )
        .await;
    assert_eq!(
        set.ok()["setRetentionPolicy"],
        json!({ "messagesDays": 30, "attachmentsDays": null })
    );
    let mut left = Vec::new();
    for _ in 0..100 {
        left = hub.history(&token, &chat_a).await;
        if left.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let texts: Vec<&str> = left.iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts,
        ["recent call 2", "recent call 1"],
        "exactly the old ones went"
    );
    assert!(hub.history(&token, &chat_b).await.is_empty());
    let chat = hub
        .gql(
            Some(&token),
            "query($c: ID!) { chat(id: $c) { unreadCount lastMessagePreview } }",
            json!({ "c": chat_b }),
        )
        .await;
    assert_eq!(
        chat.ok()["chat"],
        json!({ "unreadCount": 0, "lastMessagePreview": null }),
        "Bea's chat keeps nothing of the removed call"
    );
    let log = hub
        .gql(
            Some(&token),
            "{ auditLog(first: 10) { nodes { kind actor data } } }",
            json!({}),
        )
        .await;
    let applied: Vec<&Value> = log.ok()["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "retention.applied")
        .collect();
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(applied[0]["data"]["messages"], 4);
    assert_eq!(applied[0]["actor"], "system");
    hub.stop();
    let (ok, out, err) = data.run(&["audit", "verify"], &[]);
    assert!(ok, "{out}{err}");
}

#[tokio::test]
async fn oversized_deep_and_costly_requests_are_refused_with_a_clear_error() {
    let (_d, hub, token) = admin_hub().await;
    // A body declared larger than 2 MiB is answered before it is sent.
    let addr = hub.url.strip_prefix("http://").unwrap().to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{{\"query\":",
        3 * 1024 * 1024
    );
    tokio::io::AsyncWriteExt::write_all(&mut tcp, head.as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut tcp, &mut answer)
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("PAYLOAD_TOO_LARGE") && answer.contains("larger than 2 MiB"),
        "{answer}"
    );

    let mut nested = String::from("id");
    for _ in 0..8 {
        nested = format!("chat {{ client {{ {nested} }} }}");
    }
    let deep = hub
        .gql(
            Some(&token),
            &format!("{{ clients(first: 1) {{ nodes {{ {nested} }} }} }}"),
            json!({}),
        )
        .await;
    assert!(
        deep.message().contains("nested too deep"),
        "{}",
        deep.message()
    );

    let fields: String = (0..1_000)
        .map(|i| format!("a{i}: me {{ id email name role active createdAt }} "))
        .collect();
    let costly = hub
        .gql(Some(&token), &format!("{{ {fields} }}"), json!({}))
        .await;
    assert!(
        costly.message().contains("too complex"),
        "{}",
        costly.message()
    );

    // Within the limits the same shapes work.
    let fine = hub
        .gql(
            Some(&token),
            "{ clients(first: 1) { nodes { chat { client { id } } } } }",
            json!({}),
        )
        .await;
    fine.ok();
}

#[tokio::test]
async fn a_bulk_send_leaves_out_opted_out_and_unreachable_clients_and_says_why() {
    let (_d, hub, token) = admin_hub().await;
    let ann = hub
        .create_client(&token, json!({ "firstName": "Ann", "contacts": [{ "kind": "PHONE", "value": "+14155550161" }] }))
        .await;
    let bob = hub
        .create_client(&token, json!({ "firstName": "Bob", "contacts": [{ "kind": "PHONE", "value": "+14155550162" }] }))
        .await;
    let cat = hub
        .create_client(&token, json!({ "firstName": "Cat" }))
        .await;
    let bob_phone = bob["contacts"][0]["id"].clone();
    hub.gql(
        Some(&token),
        "mutation($c: ID!) { setContactConsent(contactId: $c, status: OPTED_OUT, source: \"asked by phone\") { id } }",
        json!({ "c": bob_phone }),
    )
    .await
    .ok();
    const BULK: &str = "mutation($i: BulkSendInput!) { sendBulk(input: $i) { sent { chatId text transport status } skipped { clientId reason } } }";
    let ids = json!([ann["id"], bob["id"], cat["id"], ann["id"], "not-an-id"]);
    let r = hub
        .gql(Some(&token), BULK, json!({ "i": { "clientIds": ids, "text": "Our shop opens an hour later tomorrow.", "idempotencyKey": "notice-1" } }))
        .await;
    let out = &r.ok()["sendBulk"];
    let sent = out["sent"].as_array().unwrap();
    assert_eq!(sent.len(), 1, "only Ann can be written to: {out}");
    assert_eq!(sent[0]["transport"], "SMS");
    assert_eq!(sent[0]["status"], "QUEUED");
    let skipped = out["skipped"].as_array().unwrap();
    let reason = |id: &Value| {
        skipped
            .iter()
            .find(|s| &s["clientId"] == id)
            .map(|s| s["reason"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert!(reason(&bob["id"]).contains("opted out"), "{skipped:?}");
    assert!(reason(&cat["id"]).contains("no contact"), "{skipped:?}");
    assert!(!reason(&json!("not-an-id")).is_empty(), "{skipped:?}");
    assert_eq!(
        skipped.len(),
        3,
        "Ann listed twice is written to once: {skipped:?}"
    );
    // The same call again sends nothing twice.
    let again = hub
        .gql(Some(&token), BULK, json!({ "i": { "clientIds": [ann["id"]], "text": "Our shop opens an hour later tomorrow.", "idempotencyKey": "notice-1" } }))
        .await;
    assert_eq!(
        again.ok()["sendBulk"]["sent"][0]["chatId"],
        sent[0]["chatId"]
    );
    let chat = sent[0]["chatId"].as_str().unwrap();
    assert_eq!(hub.history(&token, chat).await.len(), 1);
    let empty = hub
        .gql(
            Some(&token),
            BULK,
            json!({ "i": { "clientIds": [], "text": "x" } }),
        )
        .await;
    assert_eq!(empty.field(), Some("clientIds"));
}
