//! Clients and their contacts.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use surrealdb::types::{RecordId, SurrealValue};
use uuid::Uuid;

use super::error::{StoreError, StoreResult};
use super::page::Page;
use super::ranks::name_rank;
use super::records::{rid, uuid_part, uuid_value};
use super::{Batch, TenantStore};
use crate::domain::client::{Client, ClientRecord, Gender};
use crate::domain::contact::{Consent, ConsentStatus, Contact, ContactKind, ContactValue};
use crate::domain::events::{Actor, DomainEvent, EventKind};
use crate::domain::ids::{ClientId, ContactId};

/// A client with its contacts, as the API shows it.
#[derive(Debug, Clone)]
pub struct ClientView {
    pub client: Client,
    pub contacts: Vec<Contact>,
}

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct ClientRow {
    id: RecordId,
    first_name: String,
    last_name: Option<String>,
    middle_name: Option<String>,
    gender: Option<String>,
    date_of_birth: Option<String>,
    address: Option<String>,
    passport_number: Option<String>,
    tax_pin: Option<String>,
    notes: Option<String>,
    name_key: String,
    /// Absent on a client stored before the list was kept and never given
    /// a contact since.
    contacts: Option<Vec<RecordId>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

/// The writable part of a client row.
#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct ClientDoc {
    first_name: String,
    last_name: Option<String>,
    middle_name: Option<String>,
    gender: Option<String>,
    date_of_birth: Option<String>,
    address: Option<String>,
    passport_number: Option<String>,
    tax_pin: Option<String>,
    notes: Option<String>,
    name_key: String,
    list_key: String,
    live: bool,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

impl ClientDoc {
    fn of(c: &Client) -> Self {
        Self {
            first_name: c.first_name().to_owned(),
            last_name: c.last_name().map(str::to_owned),
            middle_name: c.middle_name().map(str::to_owned),
            gender: c.gender().map(|g| g.as_str().to_owned()),
            date_of_birth: c.date_of_birth().map(|d| d.to_string()),
            address: c.address().map(str::to_owned),
            passport_number: c.passport_number().map(str::to_owned),
            tax_pin: c.tax_pin().map(str::to_owned),
            notes: c.notes().map(str::to_owned),
            name_key: c.display_name().to_lowercase(),
            list_key: name_rank(&c.display_name().to_lowercase(), c.id().uuid()),
            live: !c.is_deleted(),
            updated_at: c.updated_at(),
            deleted_at: c.deleted_at(),
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl ClientRow {
    fn into_domain(self, store: &TenantStore) -> StoreResult<Client> {
        Ok(Client::restore(ClientRecord {
            id: ClientId::from_uuid(uuid_part(&self.id, 1)?),
            tenant: store.tenant,
            first_name: self.first_name,
            last_name: self.last_name,
            middle_name: self.middle_name,
            gender: self
                .gender
                .map(|g| g.parse::<Gender>())
                .transpose()
                .map_err(corrupt)?,
            date_of_birth: self
                .date_of_birth
                .map(|d| d.parse::<NaiveDate>())
                .transpose()
                .map_err(corrupt)?,
            address: self.address,
            passport_number: self.passport_number,
            tax_pin: self.tax_pin,
            notes: self.notes,
            created_at: self.created_at,
            updated_at: self.updated_at,
            deleted_at: self.deleted_at,
        }))
    }
}

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct ContactRow {
    id: RecordId,
    client: Uuid,
    kind: String,
    value: String,
    label: Option<String>,
    consent_status: String,
    consent_at: Option<DateTime<Utc>>,
    consent_source: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ContactRow {
    fn into_domain(self) -> StoreResult<(ClientId, Contact)> {
        let kind = self.kind.parse::<ContactKind>().map_err(corrupt)?;
        Ok((
            ClientId::from_uuid(self.client),
            Contact {
                id: ContactId::from_uuid(uuid_part(&self.id, 1)?),
                value: ContactValue::from_stored(kind, self.value),
                label: self.label,
                consent: Consent {
                    status: self
                        .consent_status
                        .parse::<ConsentStatus>()
                        .map_err(corrupt)?,
                    at: self.consent_at,
                    source: self.consent_source,
                },
                created_at: self.created_at,
                updated_at: self.updated_at,
            },
        ))
    }
}

/// Where a page of the client list starts: after this (name, id).
#[derive(Debug, Clone)]
pub struct ClientCursor {
    pub name_key: String,
    pub id: ClientId,
}

impl TenantStore {
    pub(crate) fn client_rid(&self, id: ClientId) -> RecordId {
        rid(
            "client",
            [uuid_value(self.tenant.uuid()), uuid_value(id.uuid())],
        )
    }

    fn contact_rid(&self, id: ContactId) -> RecordId {
        rid(
            "contact",
            [uuid_value(self.tenant.uuid()), uuid_value(id.uuid())],
        )
    }

    /// The statement that creates contact `c`; the client's list of
    /// contacts is the caller's to extend.
    fn push_contact(&self, b: &mut Batch, client: ClientId, c: &Contact) {
        let id = b.bind(self.contact_rid(c.id));
        let client = b.bind(client.uuid());
        let kind = b.bind(c.value.kind().as_str());
        let value = b.bind(c.value.as_str().to_owned());
        let label = b.bind(c.label.clone());
        let status = b.bind(c.consent.status.as_str());
        let consent_at = b.bind(c.consent.at);
        let source = b.bind(c.consent.source.clone());
        let created = b.bind(c.created_at);
        let updated = b.bind(c.updated_at);
        b.push(format!(
            "CREATE {id} CONTENT {{ tenant: $tenant, client: {client}, kind: {kind}, value: {value}, label: {label}, consent_status: {status}, consent_at: {consent_at}, consent_source: {source}, created_at: {created}, updated_at: {updated} }} RETURN NONE"
        ));
    }

    /// The statements that create `client` with `contacts`.
    pub(super) fn push_new_client(&self, b: &mut Batch, client: &Client, contacts: &[Contact]) {
        let id = b.bind(self.client_rid(client.id()));
        let doc = b.bind(ClientDoc::of(client));
        let created = b.bind(client.created_at());
        let listed = b.bind(
            contacts
                .iter()
                .map(|c| self.contact_rid(c.id))
                .collect::<Vec<_>>(),
        );
        b.push(format!(
            "CREATE {id} CONTENT object::extend({doc}, {{ tenant: $tenant, contacts: {listed}, created_at: {created} }}) RETURN NONE"
        ));
        for c in contacts {
            self.push_contact(b, client.id(), c);
        }
    }

    /// Creates the client with its first contacts, all or nothing.
    pub async fn create_client(
        &self,
        client: &Client,
        contacts: &[Contact],
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut b = self.batch();
        self.push_new_client(&mut b, client, contacts);
        b.event(
            &DomainEvent::new(
                EventKind::ClientCreated,
                actor,
                format!("client:{}", client.id()),
                serde_json::json!({
                    "name": client.display_name(),
                    "contacts": contacts.iter().map(|c| serde_json::json!({"kind": c.value.kind().as_str(), "value": c.value.as_str()})).collect::<Vec<_>>(),
                }),
            ),
            client.created_at(),
        );
        self.run(b).await?;
        Ok(())
    }

    /// The client, deleted or not, or `NotFound`.
    pub async fn client(&self, id: ClientId) -> StoreResult<ClientView> {
        let mut response = self
            .db()
            .query(Self::CLIENT_VIEW)
            .bind(("tenant", self.tenant.uuid()))
            .bind(("client", id.uuid()))
            .await?;
        self.view_of(&mut response, 0)?
            .ok_or(StoreError::NotFound { what: "client" })
    }

    /// The client read by [`Self::CLIENT_VIEW`] starting at statement `at`
    /// of `response`, with their contacts, if the client is there.
    pub(super) fn view_of(
        &self,
        response: &mut surrealdb::IndexedResults,
        at: usize,
    ) -> StoreResult<Option<ClientView>> {
        let rows: Vec<ClientRow> = response.take(at + 1)?;
        let contacts: Vec<ContactRow> = response.take(at + 2)?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let client = row.into_domain(self)?;
        let contacts = contacts
            .into_iter()
            .map(|r| r.into_domain().map(|(_, c)| c))
            .collect::<StoreResult<_>>()?;
        Ok(Some(ClientView { client, contacts }))
    }

    /// Saves the client's profile fields; `changes` names what changed, for the audit log.
    pub async fn update_client(
        &self,
        client: &Client,
        kind: EventKind,
        changes: serde_json::Value,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut b = self.batch();
        let id = b.bind(self.client_rid(client.id()));
        let doc = b.bind(ClientDoc::of(client));
        b.push(format!(
            "IF (SELECT VALUE id FROM {id}) = [] {{ THROW 'NOT_FOUND:client' }}"
        ));
        b.push(format!("UPDATE {id} MERGE {doc} RETURN NONE"));
        if matches!(kind, EventKind::ClientDeleted | EventKind::ClientRestored) {
            // "Deletion removes client profile and associated chats": the chat
            // leaves the inbox with its client and comes back with it.
            let uuid = b.bind(client.id().uuid());
            let deleted = b.bind(client.is_deleted());
            b.push(format!(
                "UPDATE chat SET client_deleted = {deleted} WHERE tenant = $tenant AND client = {uuid} RETURN NONE"
            ));
        }
        b.event(
            &DomainEvent::new(kind, actor, format!("client:{}", client.id()), changes),
            client.updated_at(),
        );
        self.run(b).await?;
        Ok(())
    }

    pub async fn add_contact(
        &self,
        client: ClientId,
        contact: &Contact,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut b = self.batch();
        let id = b.bind(self.client_rid(client));
        b.push(format!(
            "IF (SELECT VALUE id FROM {id} WHERE live = true) = [] {{ THROW 'NOT_FOUND:client' }}"
        ));
        self.push_contact(&mut b, client, contact);
        let contact_id = b.bind(self.contact_rid(contact.id));
        b.push(format!(
            "UPDATE {id} SET contacts += {contact_id} RETURN NONE"
        ));
        b.event(
            &DomainEvent::new(
                EventKind::ContactAdded,
                actor,
                format!("client:{client}"),
                serde_json::json!({ "contact": contact.id.to_string(), "kind": contact.value.kind().as_str(), "value": contact.value.as_str() }),
            ),
            contact.created_at,
        );
        self.run(b).await?;
        Ok(())
    }

    pub async fn remove_contact(&self, contact: ContactId, actor: &Actor) -> StoreResult<ClientId> {
        let mut b = self.batch();
        let id = b.bind(self.contact_rid(contact));
        b.push(format!("LET $gone = (DELETE {id} RETURN BEFORE)"));
        b.push("IF array::len($gone) = 0 { THROW 'NOT_FOUND:contact' }");
        b.push(format!(
            "UPDATE type::record('client', [$tenant, $gone[0].client]) SET contacts -= {id} RETURN NONE"
        ));
        let client = b.push("$gone[0].client");
        b.event(
            &DomainEvent::new(
                EventKind::ContactRemoved,
                actor,
                format!("contact:{contact}"),
                serde_json::json!({}),
            ),
            Utc::now(),
        );
        let mut results = self.run(b).await?;
        let client: Uuid = results.take(client)?;
        Ok(ClientId::from_uuid(client))
    }

    /// Records the client's consent for one contact; returns the client it belongs to.
    pub async fn set_consent(
        &self,
        contact: ContactId,
        consent: &Consent,
        actor: &Actor,
    ) -> StoreResult<ClientId> {
        let mut b = self.batch();
        let client = self.push_consent(&mut b, contact, consent, actor);
        let mut results = self.run(b).await?;
        let client: Uuid = results.take(client)?;
        Ok(ClientId::from_uuid(client))
    }

    /// The statements and event of a consent change, in `b`'s transaction;
    /// the index of the statement that yields the contact's client.
    pub(crate) fn push_consent(
        &self,
        b: &mut super::Batch,
        contact: ContactId,
        consent: &Consent,
        actor: &Actor,
    ) -> usize {
        let now = consent.at.unwrap_or_else(Utc::now);
        let id = b.bind(self.contact_rid(contact));
        let status = b.bind(consent.status.as_str());
        let at = b.bind(consent.at);
        let source = b.bind(consent.source.clone());
        let updated = b.bind(now);
        b.push(format!(
            "LET $changed = (UPDATE {id} SET consent_status = {status}, consent_at = {at}, consent_source = {source}, updated_at = {updated} RETURN AFTER)"
        ));
        b.push("IF array::len($changed) = 0 { THROW 'NOT_FOUND:contact' }");
        let client = b.push("$changed[0].client");
        b.event(
            &DomainEvent::new(
                EventKind::ConsentChanged,
                actor,
                format!("contact:{contact}"),
                serde_json::json!({ "status": consent.status.as_str(), "source": consent.source }),
            ),
            now,
        );
        client
    }

    /// Several clients, deleted ones included, in no particular order; ids
    /// that name no client are left out. For lists that show each row's
    /// client. Without `contacts` their contact lists are left empty.
    pub async fn clients_by_id(
        &self,
        ids: &[ClientId],
        contacts: bool,
    ) -> StoreResult<Vec<ClientView>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rids: Vec<RecordId> = ids.iter().map(|id| self.client_rid(*id)).collect();
        let rows: Vec<ClientRow> = self
            .db()
            .query("SELECT * FROM $ids")
            .bind(("ids", rids))
            .await?
            .take(0)?;
        if contacts {
            return self.with_contacts(rows).await;
        }
        rows.into_iter()
            .map(|r| {
                Ok(ClientView {
                    client: r.into_domain(self)?,
                    contacts: Vec::new(),
                })
            })
            .collect()
    }

    /// Client `$client` (a uuid) and their contacts, by record id alone:
    /// three statements read with [`Self::view_of`].
    pub(super) const CLIENT_VIEW: &str =
        "LET $view = SELECT * FROM type::record('client', [$tenant, $client]);
         RETURN $view;
         SELECT * FROM $view[0].contacts ?? []";

    /// Sets `$client` to the client whose contact is `$kind`/`$value`.
    pub(super) const CLIENT_OF_CONTACT: &str = "LET $client = (SELECT VALUE client FROM contact WHERE tenant = $tenant AND kind = $kind AND value = $value LIMIT 1)[0]";

    /// "Contact type determines how messages are sent": looks a client up by
    /// one of their contacts. Deleted clients are not found.
    pub async fn client_by_contact(&self, value: &ContactValue) -> StoreResult<Option<ClientView>> {
        // One round trip: every inbound message and every lookup by phone
        // or e-mail comes through here.
        let mut response = self
            .db()
            .query(format!(
                "{}; {}",
                Self::CLIENT_OF_CONTACT,
                Self::CLIENT_VIEW
            ))
            .bind(("tenant", self.tenant.uuid()))
            .bind(("kind", value.kind().as_str()))
            .bind(("value", value.as_str().to_owned()))
            .await?;
        Ok(self
            .view_of(&mut response, 1)?
            .filter(|v| !v.client.is_deleted()))
    }

    /// A page of live clients in name order, after `after`.
    pub async fn clients_page(
        &self,
        after: Option<&ClientCursor>,
        limit: usize,
    ) -> StoreResult<Vec<ClientView>> {
        let rows: Vec<ClientRow> = Page::new(self.tenant, "client", "list_key")
            .when("live = true")
            .after(after.map(|a| name_rank(&a.name_key, a.id.uuid())))
            .fetch(self.db(), limit)
            .await?;
        self.with_contacts(rows).await
    }

    /// Live clients whose name matches `text` (word prefixes, any order),
    /// those whose name starts with it first, plus any whose contact value
    /// equals it.
    pub async fn search_clients(
        &self,
        text: &str,
        contact_matches: &[ContactValue],
        offset: usize,
        limit: usize,
    ) -> StoreResult<Vec<ClientView>> {
        let mut all = self.clients_with_contacts(contact_matches).await?;
        for v in self.clients_named(text, offset + limit).await? {
            if !all.iter().any(|a| a.client.id() == v.client.id()) {
                all.push(v);
            }
        }
        Ok(all.into_iter().skip(offset).take(limit).collect())
    }

    /// The live clients with any of `values`, in their order, with their
    /// contacts, in one round trip however many there are (the text of a
    /// search may read as a handle on several networks).
    async fn clients_with_contacts(&self, values: &[ContactValue]) -> StoreResult<Vec<ClientView>> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let n = values.len();
        let mut sql: String = (0..n)
            .map(|i| format!("LET $found{i} = SELECT VALUE type::record('client', [$tenant, client]) FROM contact WHERE tenant = $tenant AND kind = $kind{i} AND value = $value{i};"))
            .collect();
        let found: Vec<String> = (0..n).map(|i| format!("$found{i}")).collect();
        sql.push_str(&format!(
            "LET $ids = array::distinct(array::flatten([{}]));
             LET $rows = SELECT * FROM $ids WHERE live = true;
             RETURN $rows;
             LET $listed = array::flatten($rows.contacts);
             SELECT * FROM $listed",
            found.join(", ")
        ));
        let mut query = self.db().query(sql).bind(("tenant", self.tenant.uuid()));
        for (i, v) in values.iter().enumerate() {
            query = query
                .bind((format!("kind{i}"), v.kind().as_str()))
                .bind((format!("value{i}"), v.as_str().to_owned()));
        }
        let mut response = query.await?;
        let rows: Vec<ClientRow> = response.take(n + 2)?;
        let contacts: Vec<ContactRow> = response.take(n + 4)?;
        self.views_of(rows, contacts)
    }

    /// The first `n` live clients matching `text` by name: those whose name
    /// starts with it in name order, then those whose name has its words
    /// anywhere, in the order the full-text index finds them (oldest
    /// first). The first part is a range of the name-ordered list's index,
    /// a page's read however many clients share the name; full-text search
    /// runs only when that range does not fill the page. Its matches are
    /// not scored or sorted: either reads every match before the first is
    /// returned, 18 ms (scored) or 4 ms (by name) for a surname 200 of
    /// 20,000 clients share, and 23 times as many at a million clients,
    /// where the index's own order stops at the page (3 ms). Both parts and
    /// the matches' contacts are read in one round trip.
    async fn clients_named(&self, text: &str, n: usize) -> StoreResult<Vec<ClientView>> {
        let text = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        // The next `n` names from the text on; those that start with it
        // lead. (An upper bound in the query would not bound the index
        // scan: SurrealDB 3.3 filters it row by row after the range start.)
        let mut response = self
            .db()
            .query(
                "LET $next = SELECT * FROM client WHERE tenant = $tenant AND live = true AND list_key > $text ORDER BY list_key LIMIT $n;
                 LET $prefixed = $next[WHERE string::starts_with(name_key, $text)];
                 LET $limit = $n + array::len($prefixed);
                 LET $words = IF array::len($prefixed) < $n {
                     SELECT * FROM client WHERE name_key @1@ $text AND tenant = $tenant AND live = true LIMIT $limit
                 } ELSE { [] };
                 RETURN $prefixed;
                 RETURN $words;
                 LET $listed = array::flatten(array::concat($prefixed, $words).contacts);
                 SELECT * FROM $listed",
            )
            .bind(("tenant", self.tenant.uuid()))
            .bind(("text", text))
            .bind(("n", n as i64))
            .await?;
        let mut rows: Vec<ClientRow> = response.take(4)?;
        let words: Vec<ClientRow> = response.take(5)?;
        let contacts: Vec<ContactRow> = response.take(7)?;
        let prefixed = rows.len();
        for row in words {
            if rows.len() >= n {
                break;
            }
            if !rows[..prefixed].iter().any(|r| r.id == row.id) {
                rows.push(row);
            }
        }
        self.views_of(rows, contacts)
    }

    async fn with_contacts(&self, mut rows: Vec<ClientRow>) -> StoreResult<Vec<ClientView>> {
        let listed: Vec<RecordId> = rows
            .iter_mut()
            .flat_map(|r| r.contacts.take().unwrap_or_default())
            .collect();
        // Every client's contacts by record id, in one statement: each
        // client's in the order of their list.
        let contacts: Vec<ContactRow> = if listed.is_empty() {
            Vec::new()
        } else {
            self.db()
                .query("SELECT * FROM $ids")
                .bind(("ids", listed))
                .await?
                .take(0)?
        };
        self.views_of(rows, contacts)
    }

    /// `rows` with their contacts found among `contacts`, in the order read.
    fn views_of(
        &self,
        rows: Vec<ClientRow>,
        contacts: Vec<ContactRow>,
    ) -> StoreResult<Vec<ClientView>> {
        let clients = rows
            .into_iter()
            .map(|r| r.into_domain(self))
            .collect::<StoreResult<Vec<_>>>()?;
        let mut by_client: HashMap<ClientId, Vec<Contact>> = HashMap::new();
        for row in contacts {
            let (client, contact) = row.into_domain()?;
            by_client.entry(client).or_default().push(contact);
        }
        Ok(clients
            .into_iter()
            .map(|client| ClientView {
                contacts: by_client.remove(&client.id()).unwrap_or_default(),
                client,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use crate::domain::client::Client;
    use crate::domain::contact::{Contact, ContactKind, ContactValue};
    use crate::domain::events::Actor;
    use crate::store::schema_tests::{store, tenant};

    fn contact(kind: ContactKind, raw: &str) -> Contact {
        Contact::new(
            ContactValue::parse(kind, raw, None).unwrap(),
            None,
            Utc::now(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_clients_contacts_follow_additions_and_removals_in_every_read() {
        let (_d, store) = store().await;
        let t = tenant(&store, "acme").await;
        let ts = store.tenant(t);
        let phone = contact(ContactKind::Phone, "+14155552671");
        let ada = Client::new(t, "Ada", Utc::now()).unwrap();
        ts.create_client(&ada, std::slice::from_ref(&phone), &Actor::System)
            .await
            .unwrap();
        let bob = Client::new(t, "Bob", Utc::now()).unwrap();
        ts.create_client(
            &bob,
            &[contact(ContactKind::Phone, "+14155552672")],
            &Actor::System,
        )
        .await
        .unwrap();
        let email = contact(ContactKind::Email, "ada@example.com");
        let telegram = contact(ContactKind::Telegram, "4242");
        ts.add_contact(ada.id(), &email, &Actor::System)
            .await
            .unwrap();
        ts.add_contact(ada.id(), &telegram, &Actor::System)
            .await
            .unwrap();
        assert_eq!(
            ts.remove_contact(email.id, &Actor::System).await.unwrap(),
            ada.id()
        );
        let values = |v: &super::ClientView| {
            v.contacts
                .iter()
                .map(|c| c.value.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        let expected = ["+14155552671", "4242"];
        assert_eq!(values(&ts.client(ada.id()).await.unwrap()), expected);
        let by_telegram = ts
            .client_by_contact(&telegram.value)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(values(&by_telegram), expected);
        assert!(ts.client_by_contact(&email.value).await.unwrap().is_none());
        // A search that reads as a contact finds its client first, once.
        let found = ts
            .search_clients(
                "Bob",
                &[telegram.value.clone(), telegram.value.clone()],
                0,
                10,
            )
            .await
            .unwrap();
        let names: Vec<_> = found.iter().map(|v| v.client.display_name()).collect();
        assert_eq!(names, ["Ada", "Bob"]);
        assert_eq!(values(&found[0]), expected);
        // A page of several clients gives each their own, in order.
        let page = ts.clients_page(None, 10).await.unwrap();
        let listed: Vec<_> = page.iter().map(values).collect();
        assert_eq!(listed, [expected.to_vec(), vec!["+14155552672"]]);
    }

    #[tokio::test]
    async fn names_that_start_with_the_search_come_first_then_word_matches_paged_alike() {
        let (_d, store) = store().await;
        let tenant = tenant(&store, "acme").await;
        let ts = store.tenant(tenant);
        for (first, last) in [
            ("Grace", "Ada Hopper"),
            ("Adam", "Smith"),
            ("Ada", "Lovelace"),
            ("Bob", "Jones"),
        ] {
            let mut c = Client::new(tenant, first, Utc::now()).unwrap();
            c.set_last_name(Some(last), Utc::now()).unwrap();
            ts.create_client(&c, &[], &Actor::System).await.unwrap();
        }
        let names = |offset, limit| {
            let ts = ts.clone();
            async move {
                ts.search_clients("  ADA ", &[], offset, limit)
                    .await
                    .unwrap()
                    .iter()
                    .map(|v| v.client.display_name())
                    .collect::<Vec<_>>()
            }
        };
        // Names starting with it in name order, then the word match.
        assert_eq!(
            names(0, 10).await,
            ["Ada Lovelace", "Adam Smith", "Grace Ada Hopper"]
        );
        // A page the prefix range fills alone, and the next, in the same order.
        assert_eq!(names(0, 1).await, ["Ada Lovelace"]);
        assert_eq!(names(1, 2).await, ["Adam Smith", "Grace Ada Hopper"]);
        // Words in another order are found by full-text search alone.
        let found = ts.search_clients("lovelace ad", &[], 0, 10).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].client.display_name(), "Ada Lovelace");
    }
}
