//! Tenant isolation and role permissions, tried adversarially against the
//! real `hub` binary: another tenant's ids must give NOT_FOUND, never data,
//! and each role is refused what it may not do.

use crate::support;

use serde_json::json;
use support::{ADMIN_PASSWORD, DataDir, Hub};

struct World {
    _data: DataDir,
    hub: Hub,
    /// Admin of tenant `acme`, who owns the records below.
    acme: String,
    /// Admin of tenant `globex`, the intruder.
    globex: String,
    client: String,
    contact: String,
    chat: String,
    message: String,
    template: String,
    user: String,
}

async fn world() -> World {
    let data = DataDir::new();
    data.create_tenant("acme", "admin@acme.test");
    data.create_tenant("globex", "admin@globex.test");
    let hub = data.start();
    let acme = hub.sign_in("acme", "admin@acme.test", ADMIN_PASSWORD).await;
    let globex = hub
        .sign_in("globex", "admin@globex.test", ADMIN_PASSWORD)
        .await;
    let c = hub
        .create_client(&acme, json!({ "firstName": "Secret", "lastName": "Customer", "contacts": [{ "kind": "PHONE", "value": "+14155552671" }] }))
        .await;
    let client = c["id"].as_str().unwrap().to_owned();
    let contact = c["contacts"][0]["id"].as_str().unwrap().to_owned();
    let chat = hub.open_chat(&acme, &client).await;
    let m = hub
        .gql(Some(&acme), "mutation($c: ID!) { logInboundMessage(input: { chatId: $c, text: \"secret words\", transport: SMS }) { id } }", json!({ "c": chat }))
        .await;
    let message = m.ok()["logInboundMessage"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Searchable by its owner, so that the intruder's empty search below
    // is the isolation's doing, not the index's delay.
    let found = hub.search_messages(&acme, "secret", 1).await;
    assert_eq!(found.len(), 1, "acme finds its own message: {found:?}");
    let t = hub
        .gql(
            Some(&acme),
            "mutation { createTemplate(name: \"T\", text: \"secret template\") { id } }",
            json!({}),
        )
        .await;
    let template = t.ok()["createTemplate"]["id"].as_str().unwrap().to_owned();
    let u = hub
        .gql(Some(&acme), "mutation { createUser(input: { email: \"rep@acme.test\", name: \"Rep\", role: SALES_REP, password: \"rep password 1\" }) { id } }", json!({}))
        .await;
    let user = u.ok()["createUser"]["id"].as_str().unwrap().to_owned();
    World {
        _data: data,
        hub,
        acme,
        globex,
        client,
        contact,
        chat,
        message,
        template,
        user,
    }
}

#[tokio::test]
async fn another_tenants_ids_are_never_found() {
    let w = world().await;
    let ids = json!({ "client": w.client, "contact": w.contact, "chat": w.chat, "message": w.message, "template": w.template, "user": w.user });
    let attempts: &[(&str, &str)] = &[
        (
            "client",
            "query($client: ID!) { client(id: $client) { firstName } }",
        ),
        ("chat", "query($chat: ID!) { chat(id: $chat) { id } }"),
        (
            "chat with its history",
            "query($chat: ID!) { chat(id: $chat) { id messages(first: 10) { liveCursor nodes { text } } } }",
        ),
        (
            "template",
            "query($template: ID!) { template(id: $template) { text } }",
        ),
        (
            "updateClient",
            "mutation($client: ID!) { updateClient(id: $client, input: { notes: \"pwned\" }) { id } }",
        ),
        (
            "deleteClient",
            "mutation($client: ID!) { deleteClient(id: $client) { id } }",
        ),
        (
            "restoreClient",
            "mutation($client: ID!) { restoreClient(id: $client) { id } }",
        ),
        (
            "addContact",
            "mutation($client: ID!) { addContact(clientId: $client, input: { kind: EMAIL, value: \"x@globex.test\" }) { id } }",
        ),
        (
            "removeContact",
            "mutation($contact: ID!) { removeContact(contactId: $contact) { id } }",
        ),
        (
            "openChat",
            "mutation($client: ID!) { openChat(clientId: $client) { id } }",
        ),
        (
            "sendMessage",
            "mutation($chat: ID!) { sendMessage(input: { chatId: $chat, text: \"hi\" }) { id } }",
        ),
        (
            "logInboundMessage",
            "mutation($chat: ID!) { logInboundMessage(input: { chatId: $chat, text: \"hi\", transport: SMS }) { id } }",
        ),
        (
            "markRead",
            "mutation($chat: ID!, $message: ID!) { markRead(chatId: $chat, upTo: $message) { id } }",
        ),
        (
            "updateTemplate",
            "mutation($template: ID!) { updateTemplate(id: $template, text: \"pwned\") { id } }",
        ),
        (
            "deleteTemplate",
            "mutation($template: ID!) { deleteTemplate(id: $template) }",
        ),
        (
            "updateUser",
            "mutation($user: ID!) { updateUser(id: $user, input: { role: ADMIN }) { id } }",
        ),
    ];
    for (name, query) in attempts {
        let r = w.hub.gql(Some(&w.globex), query, ids.clone()).await;
        assert_eq!(
            r.code(),
            "NOT_FOUND",
            "{name} with another tenant's id: {:#}",
            r.body
        );
        assert!(
            !r.body.to_string().contains("Secret"),
            "{name} leaked data: {}",
            r.body
        );
    }
    // Lists and searches of the intruder's tenant hold nothing of acme's.
    let lists = w
        .hub
        .gql(
            Some(&w.globex),
            "{ clients { edges { node { id } } } chats { edges { node { id } } } templates { id } searchMessages(query: \"secret\") { id } s: clients(search: \"secret\") { edges { node { id } } } auditLog { edges { node { target } } } users { email } }",
            json!({}),
        )
        .await;
    let data = lists.ok();
    for list in ["clients", "chats", "s"] {
        assert!(
            data[list]["edges"].as_array().unwrap().is_empty(),
            "{list}: {data:#}"
        );
    }
    assert!(data["templates"].as_array().unwrap().is_empty());
    assert!(data["searchMessages"].as_array().unwrap().is_empty());
    assert!(!data["auditLog"].to_string().contains(&w.client));
    assert_eq!(data["users"].as_array().unwrap().len(), 1);
    let by_contact = w
        .hub
        .gql(
            Some(&w.globex),
            "{ clientByContact(kind: PHONE, value: \"+14155552671\") { id } }",
            json!({}),
        )
        .await;
    assert!(by_contact.ok()["clientByContact"].is_null());
    // The same phone may belong to a client of another tenant.
    w.hub
        .create_client(&w.globex, json!({ "firstName": "Other", "contacts": [{ "kind": "PHONE", "value": "+14155552671" }] }))
        .await;
    // And nothing the intruder tried changed acme's data.
    let r = w
        .hub
        .gql(
            Some(&w.acme),
            "query($id: ID!) { client(id: $id) { notes contacts { id } chat { unreadCount } } }",
            json!({ "id": w.client }),
        )
        .await;
    assert!(r.ok()["client"]["notes"].is_null());
    assert_eq!(r.ok()["client"]["contacts"].as_array().unwrap().len(), 1);
    assert_eq!(r.ok()["client"]["chat"]["unreadCount"], 1);
}

#[tokio::test]
async fn signing_in_to_another_tenant_with_the_same_email_fails() {
    let w = world().await;
    let r = w
        .hub
        .gql(None, "mutation { signIn(tenant: \"globex\", email: \"admin@acme.test\", password: \"admin password 123\") { token } }", json!({}))
        .await;
    assert_eq!(r.code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn each_role_is_refused_what_it_may_not_do() {
    let w = world().await;
    let mut tokens = Vec::new();
    for role in ["TEAM_LEAD", "AGENT", "SALES_REP"] {
        let email = format!("{}@acme.test", role.to_lowercase());
        tokens.push((
            role,
            w.hub.user_with_role(&w.acme, "acme", &email, role).await,
        ));
    }
    let vars = json!({ "client": w.client, "template": w.template, "user": w.user });
    let admin_only: &[(&str, &str)] = &[
        (
            "createTemplate",
            "mutation { createTemplate(name: \"X\", text: \"x\") { id } }",
        ),
        (
            "updateTemplate",
            "mutation($template: ID!) { updateTemplate(id: $template, text: \"x\") { id } }",
        ),
        (
            "deleteTemplate",
            "mutation($template: ID!) { deleteTemplate(id: $template) }",
        ),
        (
            "createUser",
            "mutation { createUser(input: { email: \"n@acme.test\", name: \"n\", role: ADMIN, password: \"new password 1\" }) { id } }",
        ),
        (
            "updateUser",
            "mutation($user: ID!) { updateUser(id: $user, input: { role: ADMIN }) { id } }",
        ),
        ("users", "{ users { id } }"),
        (
            "createApiToken",
            "mutation { createApiToken(name: \"x\") { token } }",
        ),
        ("apiTokens", "{ apiTokens { id } }"),
    ];
    for (role, token) in &tokens {
        for (name, query) in admin_only {
            let r = w.hub.gql(Some(token), query, vars.clone()).await;
            assert_eq!(r.code(), "FORBIDDEN", "{role} doing {name}: {:#}", r.body);
        }
    }
    let lead_and_admin: &[(&str, &str)] = &[
        ("auditLog", "{ auditLog { edges { node { id } } } }"),
        (
            "deleteClient",
            "mutation($client: ID!) { deleteClient(id: $client) { id } }",
        ),
    ];
    for (role, token) in tokens.iter().filter(|(r, _)| *r != "TEAM_LEAD") {
        for (name, query) in lead_and_admin {
            let r = w.hub.gql(Some(token), query, vars.clone()).await;
            assert_eq!(r.code(), "FORBIDDEN", "{role} doing {name}: {:#}", r.body);
        }
    }
    // What every role may do, they can: a sales rep creates a client and messages them.
    let (_, rep) = &tokens[2];
    let c = w.hub.create_client(rep, json!({ "firstName": "Lead", "contacts": [{ "kind": "EMAIL", "value": "lead@example.com" }] })).await;
    let chat = w.hub.open_chat(rep, c["id"].as_str().unwrap()).await;
    let sent = w
        .hub
        .gql(
            Some(rep),
            "mutation($c: ID!) { sendMessage(input: { chatId: $c, text: \"Hello\" }) { status } }",
            json!({ "c": chat }),
        )
        .await;
    assert_eq!(sent.ok()["sendMessage"]["status"], "QUEUED");
    let (_, lead) = &tokens[0];
    let audit = w
        .hub
        .gql(
            Some(lead),
            "{ auditLog { edges { node { kind } } } }",
            json!({}),
        )
        .await;
    assert!(
        !audit.ok()["auditLog"]["edges"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Nothing the refused roles tried left a trace.
    let templates = w
        .hub
        .gql(Some(&w.acme), "{ templates { text } }", json!({}))
        .await;
    assert_eq!(templates.ok()["templates"][0]["text"], "secret template");
}
