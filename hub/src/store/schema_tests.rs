//! The schema's own guarantees, checked by writing to the database directly,
//! past every rule in code: what the hub promises must hold even then.

use chrono::Utc;
use serde_json::json;

use super::{DatabaseSettings, Store, StoreError};
use crate::domain::client::Client;
use crate::domain::contact::{Contact, ContactKind, ContactValue};
use crate::domain::events::Actor;
use crate::domain::ids::{ClientId, TenantId};
use crate::domain::message::{Message, Sender, Transport};
use crate::domain::tenant::Tenant;

pub(crate) async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let settings = DatabaseSettings {
        url: format!("surrealkv://{}", dir.path().join("db").display()),
        namespace: "test".into(),
        database: "test".into(),
        username: None,
        password: None,
    };
    let store = Store::open(&settings).await.unwrap();
    (dir, store)
}

pub(crate) async fn tenant(store: &Store, slug: &str) -> TenantId {
    let t = Tenant::new(slug, slug, Utc::now()).unwrap();
    store.create_tenant(&t).await.unwrap();
    t.id
}

/// A client with no contacts.
pub(crate) async fn client(ts: &super::TenantStore, name: &str) -> ClientId {
    let c = Client::new(ts.tenant_id(), name, Utc::now()).unwrap();
    ts.create_client(&c, &[], &Actor::System).await.unwrap();
    c.id()
}

/// An SMS from `client`, stored as received (their chat created if needed).
pub(crate) async fn receive_sms(
    ts: &super::TenantStore,
    client: ClientId,
    text: &str,
) -> super::StoreResult<(crate::domain::ids::ChatId, Message)> {
    ts.receive_message(
        client,
        |chat| {
            Ok(Message::new(
                chat,
                text,
                Sender::Sms {
                    phone: "+14155552671".into(),
                },
                Transport::Sms,
                vec![],
                Utc::now(),
            )?)
        },
        &Actor::System,
    )
    .await
}

async fn raw(store: &Store, sql: &str, vars: serde_json::Value) -> Result<(), String> {
    let mut q = store.db().query(sql);
    if let serde_json::Value::Object(map) = vars {
        for (k, v) in map {
            q = q.bind((k, v));
        }
    }
    let mut r = q.await.map_err(|e| e.to_string())?;
    let errors = r.take_errors();
    match errors.into_values().next() {
        Some(e) => Err(e.to_string()),
        None => Ok(()),
    }
}

#[tokio::test]
async fn migrations_are_applied_once_and_recorded() {
    let (_dir, store) = store().await;
    let latest = super::migrations::latest();
    assert!(
        latest >= 4,
        "the audit chain and erasure migrations are listed"
    );
    assert_eq!(store.schema_version().await.unwrap(), latest);
    super::migrations::apply(store.db()).await.unwrap();
    let mut r = store
        .db()
        .query("SELECT VALUE version FROM migration")
        .await
        .unwrap();
    let versions: Vec<i64> = r.take(0).unwrap();
    let expected: Vec<i64> = (1..=latest).collect();
    assert_eq!(versions, expected, "a second start applies nothing again");
}

#[tokio::test]
async fn clients_stored_before_contact_lists_get_theirs_in_the_order_added() {
    let (_dir, store) = store().await;
    let t = tenant(&store, "acme").await;
    let ts = store.tenant(t);
    let now = Utc::now();
    let phone = Contact::new(
        ContactValue::parse(ContactKind::Phone, "+14155552671", None).unwrap(),
        None,
        now,
    )
    .unwrap();
    let email = Contact::new(
        ContactValue::parse(ContactKind::Email, "ann@example.com", None).unwrap(),
        None,
        now + chrono::Duration::seconds(1),
    )
    .unwrap();
    let ann = Client::new(t, "Ann", now).unwrap();
    ts.create_client(&ann, &[phone, email], &Actor::System)
        .await
        .unwrap();
    let bo = Client::new(t, "Bo", now).unwrap();
    ts.create_client(&bo, &[], &Actor::System).await.unwrap();
    // The database as it was at version 7: no list on any client.
    raw(
        &store,
        "REMOVE FIELD contacts ON client; UPDATE client UNSET contacts; DELETE migration WHERE version >= 8;",
        json!({}),
    )
    .await
    .unwrap();
    assert!(ts.client(ann.id()).await.unwrap().contacts.is_empty());
    super::migrations::apply(store.db()).await.unwrap();
    let kinds: Vec<_> = ts
        .client(ann.id())
        .await
        .unwrap()
        .contacts
        .iter()
        .map(|c| c.value.kind())
        .collect();
    assert_eq!(kinds, [ContactKind::Phone, ContactKind::Email]);
    assert!(ts.client(bo.id()).await.unwrap().contacts.is_empty());
}

#[tokio::test]
async fn contact_values_are_unique_per_tenant_and_kind_in_the_schema() {
    let (_d, store) = store().await;
    let t = tenant(&store, "acme").await;
    let ts = store.tenant(t);
    let now = Utc::now();
    let phone = || {
        Contact::new(
            ContactValue::parse(ContactKind::Phone, "+14155552671", None).unwrap(),
            None,
            now,
        )
        .unwrap()
    };
    let a = Client::new(t, "Ann", now).unwrap();
    ts.create_client(&a, &[phone()], &Actor::System)
        .await
        .unwrap();
    let b = Client::new(t, "Bo", now).unwrap();
    let err = ts
        .create_client(&b, &[phone()], &Actor::System)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { field: "value", .. }),
        "{err:?}"
    );
    assert!(
        matches!(ts.client(b.id()).await, Err(StoreError::NotFound { .. })),
        "all or nothing: the client was not created either"
    );
    // Directly, past the code: the index still refuses.
    let direct = raw(
        &store,
        "CREATE contact CONTENT { tenant: <uuid>$t, client: <uuid>$c, kind: 'phone', value: '+14155552671', consent_status: 'unknown', created_at: time::now(), updated_at: time::now() }",
        json!({ "t": t.uuid(), "c": b.id().uuid() }),
    )
    .await;
    assert!(direct.unwrap_err().contains("contact_value"));
    // Another tenant may hold the same value.
    let other = tenant(&store, "globex").await;
    let c = Client::new(other, "Cy", now).unwrap();
    store
        .tenant(other)
        .create_client(&c, &[phone()], &Actor::System)
        .await
        .unwrap();
}

#[tokio::test]
async fn one_chat_per_client_in_the_schema_and_its_client_is_readonly() {
    let (_d, store) = store().await;
    let t = tenant(&store, "acme").await;
    let ts = store.tenant(t);
    let c = Client::new(t, "Ann", Utc::now()).unwrap();
    ts.create_client(&c, &[], &Actor::System).await.unwrap();
    let (chat, created) = ts.open_chat(c.id(), None, &Actor::System).await.unwrap();
    assert!(created);
    let (again, created) = ts.open_chat(c.id(), None, &Actor::System).await.unwrap();
    assert!(!created);
    assert_eq!(again.chat.id(), chat.chat.id());
    let dup = raw(
        &store,
        "CREATE chat CONTENT { tenant: <uuid>$t, client: <uuid>$c, created_at: time::now(), sort_at: time::now(), rank: 'x', unread_count: 0, client_deleted: false }",
        json!({ "t": t.uuid(), "c": c.id().uuid() }),
    )
    .await;
    assert!(dup.unwrap_err().contains("chat_client"));
    let rid = ts.chat_rid(chat.chat.id());
    let mut r = store
        .db()
        .query("UPDATE $id SET client = $other")
        .bind(("id", rid.clone()))
        .bind(("other", ClientId::new().uuid()))
        .await
        .unwrap();
    assert!(
        !r.take_errors().is_empty(),
        "the chat's client reference is READONLY"
    );
    let mut r = store
        .db()
        .query("UPDATE $id SET created_at = time::now()")
        .bind(("id", rid))
        .await
        .unwrap();
    assert!(
        !r.take_errors().is_empty(),
        "the chat's creation time is READONLY"
    );
}

#[tokio::test]
async fn message_text_and_sender_are_readonly_in_the_schema() {
    let (_d, store) = store().await;
    let t = tenant(&store, "acme").await;
    let ts = store.tenant(t);
    let ann = client(&ts, "Ann").await;
    let (chat, m) = receive_sms(&ts, ann, "original").await.unwrap();
    let rid = ts.message_rid(chat, m.id());
    for (what, sql) in [
        ("text", "UPDATE $id SET text = 'forged'"),
        (
            "sender",
            "UPDATE $id SET sender = { kind: 'service', name: 'x' }",
        ),
        ("created_at", "UPDATE $id SET created_at = time::now()"),
    ] {
        let mut r = store
            .db()
            .query(sql)
            .bind(("id", rid.clone()))
            .await
            .unwrap();
        assert!(!r.take_errors().is_empty(), "{what} must be READONLY");
    }
    // Delivery state beside the body stays writable.
    let mut r = store
        .db()
        .query("UPDATE $id SET status = 'read'")
        .bind(("id", rid))
        .await
        .unwrap();
    assert!(r.take_errors().is_empty());
    let stored = ts.message(chat, m.id()).await.unwrap();
    assert_eq!(stored.text(), "original");
    // Implicit creation: the first inbound message created the chat.
    let view = ts.chat(chat).await.unwrap();
    assert_eq!(view.chat.client(), ann);
    assert_eq!(view.chat.unread_count, 1);
}

#[tokio::test]
async fn a_tenant_handle_cannot_read_another_tenants_record_even_by_id() {
    let (_d, store) = store().await;
    let acme = tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    let c = Client::new(acme, "Ann", Utc::now()).unwrap();
    store
        .tenant(acme)
        .create_client(&c, &[], &Actor::System)
        .await
        .unwrap();
    assert!(store.tenant(acme).client(c.id()).await.is_ok());
    assert!(matches!(
        store.tenant(globex).client(c.id()).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn history_pages_are_range_scans_in_id_order() {
    let (_d, store) = store().await;
    let t = tenant(&store, "acme").await;
    let ts = store.tenant(t);
    let c = Client::new(t, "Ann", Utc::now()).unwrap();
    ts.create_client(&c, &[], &Actor::System).await.unwrap();
    let mut ids = Vec::new();
    let mut chat_id = None;
    for i in 0..7 {
        let (chat, m) = ts
            .receive_message(
                c.id(),
                |chat| {
                    Ok(Message::new(
                        chat,
                        &format!("m{i}"),
                        Sender::Client { client_id: c.id() },
                        Transport::Other,
                        vec![],
                        Utc::now(),
                    )?)
                },
                &Actor::System,
            )
            .await
            .unwrap();
        chat_id = Some(chat);
        ids.push(m.id());
    }
    let chat = chat_id.unwrap();
    let page = ts.messages_page(chat, None, 3).await.unwrap();
    assert_eq!(
        page.iter().map(|m| m.text()).collect::<Vec<_>>(),
        ["m6", "m5", "m4"]
    );
    let older = ts
        .messages_page(chat, Some(page[2].id()), 10)
        .await
        .unwrap();
    assert_eq!(
        older.iter().map(|m| m.text()).collect::<Vec<_>>(),
        ["m3", "m2", "m1", "m0"]
    );
    let marked = ts.mark_read(chat, ids[3], &Actor::System).await.unwrap();
    assert_eq!(marked, 4);
    assert_eq!(ts.chat(chat).await.unwrap().chat.unread_count, 3);
}
