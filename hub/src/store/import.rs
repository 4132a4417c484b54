//! Bulk loading of history: clients with their contacts, and for those who
//! have talked to the team, their chat and its messages. For moving a
//! customer base over from another system, and for seeding benchmarks at
//! production size.

use chrono::Utc;
use serde_json::json;

use super::TenantStore;
use super::error::StoreResult;
use crate::domain::DomainError;
use crate::domain::chat::Chat;
use crate::domain::client::Client;
use crate::domain::contact::Contact;
use crate::domain::events::{Actor, DomainEvent, EventKind};
use crate::domain::ids::MessageId;
use crate::domain::message::{Message, MessageRecord};

/// One client to import: its profile, contacts and, optionally, its chat
/// with the messages already exchanged (any order; all must belong to it;
/// each is stored under a new id of its own time, so the history reads in
/// the order things were said).
pub struct ImportedClient {
    pub client: Client,
    pub contacts: Vec<Contact>,
    pub chat: Option<(Chat, Vec<Message>)>,
}

/// What one [`TenantStore::import`] wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportCounts {
    pub clients: usize,
    pub chats: usize,
    pub messages: usize,
}

fn in_its_time(m: &Message) -> Message {
    Message::restore(MessageRecord {
        id: MessageId::at(m.created_at()),
        chat: m.chat(),
        text: m.text().to_owned(),
        sender: m.sender().clone(),
        transport: m.transport(),
        attachments: m.attachments().to_vec(),
        created_at: m.created_at(),
        status: m.status.clone(),
        sent_at: m.sent_at,
        read_at: m.read_at,
        provider_message_id: m.provider_message_id.clone(),
    })
}

impl TenantStore {
    /// Writes `clients` with their contacts, chats and messages in one
    /// transaction: all or nothing. The records are those the live paths
    /// write (chat summaries, unread counts and search indexes included), but
    /// the audit log gets one `history.imported` entry with the counts
    /// instead of one per record, and subscribers and webhooks are told of
    /// the import, not of each old message as if it had just arrived.
    pub async fn import(
        &self,
        clients: &[ImportedClient],
        actor: &Actor,
    ) -> StoreResult<ImportCounts> {
        let mut counts = ImportCounts::default();
        let mut b = self.batch();
        for item in clients {
            if item.client.tenant() != self.tenant {
                return Err(DomainError::new(
                    "clients",
                    format!("client {} belongs to another tenant", item.client.id()),
                )
                .into());
            }
            self.push_new_client(&mut b, &item.client, &item.contacts);
            counts.clients += 1;
            if let Some((chat, messages)) = &item.chat {
                if chat.client() != item.client.id() {
                    return Err(DomainError::new(
                        "chat",
                        format!("chat {} is not client {}'s", chat.id(), item.client.id()),
                    )
                    .into());
                }
                self.push_chat_records(&mut b, chat, None);
                counts.chats += 1;
                let mut ordered: Vec<&Message> = messages.iter().collect();
                ordered.sort_by_key(|m| m.created_at());
                let mut unread = 0;
                for m in &ordered {
                    // A history reads in id order: each message gets an id
                    // of its own time, not of the moment it was imported.
                    let m = &in_its_time(m);
                    if m.chat() != chat.id() {
                        return Err(DomainError::new(
                            "messages",
                            format!("message {} is not in chat {}", m.id(), chat.id()),
                        )
                        .into());
                    }
                    self.push_message_record(&mut b, m);
                    self.push_message_words(&mut b, m);
                    unread += i64::from(m.is_unread());
                    counts.messages += 1;
                }
                // The chat's summary: its newest message, once.
                if let Some(newest) = ordered.last() {
                    self.push_chat_summary(&mut b, newest, unread);
                }
            }
        }
        if counts.clients == 0 {
            return Ok(counts);
        }
        b.event(
            &DomainEvent::new(
                EventKind::HistoryImported,
                actor,
                format!("tenant:{}", self.tenant),
                json!({ "clients": counts.clients, "chats": counts.chats, "messages": counts.messages }),
            ),
            Utc::now(),
        );
        self.run(b).await?;
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::contact::{ContactKind, ContactValue};
    use crate::domain::message::{Sender, Transport};
    use crate::domain::tenant::Tenant;
    use crate::store::chats::ChatFilter;
    use crate::store::schema_tests::store;

    fn phone(value: &str) -> Contact {
        let v = ContactValue::parse(ContactKind::Phone, value, None).unwrap();
        Contact::new(v, None, Utc::now()).unwrap()
    }

    #[tokio::test]
    async fn imported_history_reads_as_if_it_had_happened_here_and_is_audited_once() {
        let (_d, store) = store().await;
        let t = Tenant::new("Acme", "acme", Utc::now()).unwrap();
        store.create_tenant(&t).await.unwrap();
        let ts = store.tenant(t.id);
        let start = Utc::now() - Duration::days(30);
        let quiet = Client::new(t.id, "Quiet Quinn", start).unwrap();
        let talker = Client::new(t.id, "Talkative Tess", start).unwrap();
        let chat = Chat::new(t.id, talker.id(), start);
        let texts = ["first question", "an answer", "newest word on shipping"];
        let messages: Vec<Message> = texts
            .iter()
            .enumerate()
            .rev() // given out of order: the newest still ends the summary
            .map(|(i, text)| {
                Message::new(
                    chat.id(),
                    text,
                    Sender::Sms {
                        phone: "+14155550101".into(),
                    },
                    Transport::Sms,
                    vec![],
                    start + Duration::minutes(i as i64),
                )
                .unwrap()
            })
            .collect();
        let counts = ts
            .import(
                &[
                    ImportedClient {
                        client: quiet.clone(),
                        contacts: vec![phone("+14155550100")],
                        chat: None,
                    },
                    ImportedClient {
                        client: talker.clone(),
                        contacts: vec![phone("+14155550101")],
                        chat: Some((chat.clone(), messages)),
                    },
                ],
                &Actor::System,
            )
            .await
            .unwrap();
        assert_eq!(
            counts,
            ImportCounts {
                clients: 2,
                chats: 1,
                messages: 3
            }
        );
        let found = ts
            .client_by_contact(
                &ContactValue::parse(ContactKind::Phone, "+14155550101", None).unwrap(),
            )
            .await
            .unwrap()
            .expect("found by phone");
        assert_eq!(found.client.id(), talker.id());
        let list = ts
            .chats_page(&ChatFilter::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(
            list[0].last_message_preview.as_deref(),
            Some("newest word on shipping")
        );
        assert_eq!(
            list[0].chat.unread_count, 3,
            "inbound messages arrive unread"
        );
        let history = ts.messages_page(chat.id(), None, 10).await.unwrap();
        let got: Vec<&str> = history.iter().map(|m| m.text()).collect();
        assert_eq!(
            got,
            ["newest word on shipping", "an answer", "first question"]
        );
        let hits = ts.search_messages("shipping", 10).await.unwrap();
        assert_eq!(hits.len(), 1);
        let log = ts.events_page(None, None, 50).await.unwrap();
        let imported: Vec<_> = log
            .iter()
            .filter(|e| e.kind == "history.imported")
            .collect();
        assert_eq!(imported.len(), 1, "one audit entry for the lot");
        assert_eq!(imported[0].data["messages"], 3);
        assert!(
            !log.iter().any(|e| e.kind == "message.received"),
            "old messages are not announced as new"
        );
    }

    #[tokio::test]
    async fn a_message_from_another_chat_refuses_the_whole_import() {
        let (_d, store) = store().await;
        let t = Tenant::new("Acme", "acme", Utc::now()).unwrap();
        store.create_tenant(&t).await.unwrap();
        let ts = store.tenant(t.id);
        let now = Utc::now();
        let a = Client::new(t.id, "Ann", now).unwrap();
        let b = Client::new(t.id, "Bo", now).unwrap();
        let chat = Chat::new(t.id, a.id(), now);
        let elsewhere = Chat::new(t.id, b.id(), now);
        let stray = Message::new(
            elsewhere.id(),
            "not this chat's",
            Sender::Service {
                name: "import".into(),
            },
            Transport::Sms,
            vec![],
            now,
        )
        .unwrap();
        let err = ts
            .import(
                &[ImportedClient {
                    client: a.clone(),
                    contacts: vec![phone("+14155550102")],
                    chat: Some((chat, vec![stray])),
                }],
                &Actor::System,
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is not in chat"), "{err}");
        assert!(matches!(
            ts.client(a.id()).await,
            Err(crate::store::StoreError::NotFound { .. })
        ));
    }
}
