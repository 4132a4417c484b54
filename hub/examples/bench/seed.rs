//! The benchmark's tenant: clients with a phone and an e-mail, some of them
//! with a chat and its history, loaded through the store's bulk import so
//! that every record is what the hub itself writes.

use std::time::Instant;

use chrono::{Duration, Utc};
use hub::domain::chat::Chat;
use hub::domain::client::Client;
use hub::domain::contact::{Contact, ContactKind, ContactValue};
use hub::domain::events::Actor;
use hub::domain::ids::{TenantId, UserId};
use hub::domain::message::{DeliveryStatus, Message, Sender, Transport};
use hub::store::import::ImportedClient;
use hub::store::{DatabaseSettings, Store};
use serde::{Deserialize, Serialize};

pub const TENANT: &str = "bench";
pub const ADMIN: &str = "admin@bench.test";
pub const PASSWORD: &str = "bench password 1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizes {
    pub clients: usize,
    pub chats: usize,
    pub messages: usize,
}

impl Sizes {
    pub const FULL: Sizes = Sizes {
        clients: 1_000_000,
        chats: 100_000,
        messages: 10_000_000,
    };
    pub const QUICK: Sizes = Sizes {
        clients: 20_000,
        chats: 2_000,
        messages: 200_000,
    };

    /// Every `stride`-th client has a chat.
    pub fn stride(&self) -> usize {
        (self.clients / self.chats.max(1)).max(1)
    }

    pub fn per_chat(&self) -> usize {
        (self.messages / self.chats.max(1)).max(1)
    }

    /// The index of the client with chat number `k`.
    pub fn chat_client(&self, k: usize) -> usize {
        (k * self.stride()) % self.clients
    }
}

const FIRST: &[&str] = &[
    "Ada",
    "Ahmed",
    "Aiko",
    "Alejandro",
    "Amara",
    "Anna",
    "Arjun",
    "Beatriz",
    "Carlos",
    "Chen",
    "Chloe",
    "Daniel",
    "Dmitri",
    "Elena",
    "Emeka",
    "Fatima",
    "Freya",
    "Gabriel",
    "Grace",
    "Hana",
    "Hugo",
    "Ines",
    "Ivan",
    "Jakob",
    "Jamal",
    "Julia",
    "Kai",
    "Kenji",
    "Lars",
    "Layla",
    "Leon",
    "Lucia",
    "Maria",
    "Mateo",
    "Mei",
    "Mohammed",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Priya",
    "Rafael",
    "Rosa",
    "Samir",
    "Sara",
    "Sofia",
    "Tariq",
    "Thomas",
    "Valentina",
    "Victor",
    "Wei",
    "Yara",
    "Yusuf",
    "Zara",
    "Zoe",
    "Ines",
    "Nikolai",
    "Ingrid",
    "Pablo",
    "Amelie",
    "Tomas",
    "Keiko",
    "Aisha",
    "Bruno",
];

const LAST: &[&str] = &[
    "Abe",
    "Adams",
    "Alvarez",
    "Andersen",
    "Baker",
    "Bauer",
    "Becker",
    "Bianchi",
    "Brown",
    "Castro",
    "Chen",
    "Costa",
    "Cruz",
    "Dubois",
    "Eriksson",
    "Evans",
    "Fischer",
    "Garcia",
    "Gonzalez",
    "Gupta",
    "Haddad",
    "Hansen",
    "Hernandez",
    "Ito",
    "Ivanova",
    "Jansen",
    "Johnson",
    "Kim",
    "Kowalski",
    "Kumar",
    "Larsen",
    "Lee",
    "Lopez",
    "Martin",
    "Meyer",
    "Mueller",
    "Murphy",
    "Nakamura",
    "Nguyen",
    "Novak",
    "Okafor",
    "Olsen",
    "Patel",
    "Perez",
    "Petrov",
    "Popescu",
    "Reyes",
    "Ricci",
    "Rossi",
    "Santos",
    "Sato",
    "Schmidt",
    "Silva",
    "Singh",
    "Smith",
    "Suzuki",
    "Tanaka",
    "Taylor",
    "Torres",
    "Wagner",
    "Wang",
    "Weber",
    "Williams",
    "Wilson",
    "Yamamoto",
    "Young",
    "Zhang",
    "Ziegler",
    "Horvat",
    "Kovacs",
    "Lindqvist",
    "Moreau",
    "Nowak",
    "Oliveira",
    "Pereira",
    "Ramos",
    "Sousa",
    "Varga",
    "Virtanen",
    "Walsh",
];

const PHRASES: &[&str] = &[
    "Hi, is my order on its way?",
    "Can you send me the invoice again please",
    "The delivery arrived but one item is missing",
    "Thanks, that solved it",
    "What are your opening hours on Saturday?",
    "I would like to change the delivery address",
    "Do you ship to Canada?",
    "The payment went through twice, can you refund one",
    "Great, see you tomorrow at ten",
    "Could someone call me back this afternoon",
];

const ANSWERS: &[&str] = &[
    "Your order has shipped and should arrive on Thursday.",
    "I have sent the invoice to your e-mail address.",
    "Sorry about that, a replacement is on its way.",
    "We are open from 9 to 5 on Saturdays.",
    "Done: the new address is on the order.",
    "Yes, we ship to Canada within five working days.",
    "The duplicate payment has been refunded.",
    "A colleague will call you at three.",
];

/// The client's name: first and last from two lists (about 5,000 pairs).
pub fn name(i: usize) -> (&'static str, &'static str) {
    (FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()])
}

/// A valid US mobile number, one per client.
pub fn phone(i: usize) -> String {
    format!("+1415{:07}", 2_000_000 + i)
}

pub fn email(i: usize) -> String {
    let (first, last) = name(i);
    format!(
        "{}.{}.{i}@example.com",
        first.to_lowercase(),
        last.to_lowercase()
    )
}

/// The order number that message `m` of a chat mentions: about ten
/// messages in the whole tenant share one, as in a real support inbox.
pub fn order_number(chat: usize, m: usize, sizes: &Sizes) -> usize {
    100_000 + (chat * 7919 + m * 104_729) % (sizes.messages / 10).max(1)
}

fn client_of(
    tenant: TenantId,
    i: usize,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<ImportedClient> {
    let (first, last) = name(i);
    let mut client = Client::new(tenant, first, now)?;
    client.set_last_name(Some(last), now)?;
    let contacts = vec![
        Contact::new(
            ContactValue::parse(ContactKind::Phone, &phone(i), None)?,
            None,
            now,
        )?,
        Contact::new(
            ContactValue::parse(ContactKind::Email, &email(i), None)?,
            None,
            now,
        )?,
    ];
    Ok(ImportedClient {
        client,
        contacts,
        chat: None,
    })
}

/// The history of chat `k` (client `i`): questions and answers over the
/// last months, all read but the newest.
fn history(
    item: &mut ImportedClient,
    k: usize,
    i: usize,
    sizes: &Sizes,
    agent: (UserId, &str),
) -> anyhow::Result<()> {
    let n = sizes.per_chat();
    let start = Utc::now() - Duration::days(120);
    let chat = Chat::new(item.client.tenant(), item.client.id(), start);
    let mut messages = Vec::with_capacity(n);
    for m in 0..n {
        let at = start + Duration::minutes((m * 17 + k % 1000) as i64);
        let inbound = m % 2 == 0;
        let text = if inbound {
            format!(
                "{} (order #{})",
                PHRASES[(k + m) % PHRASES.len()],
                order_number(k, m, sizes)
            )
        } else {
            ANSWERS[(k + m) % ANSWERS.len()].to_owned()
        };
        let sender = if inbound {
            Sender::Sms { phone: phone(i) }
        } else {
            Sender::User {
                user_id: agent.0,
                name: agent.1.to_owned(),
            }
        };
        let mut msg = Message::new(chat.id(), &text, sender, Transport::Sms, vec![], at)?;
        if inbound {
            if m + 2 < n {
                msg.read_at = Some(at + Duration::minutes(5));
            }
        } else {
            msg.status = DeliveryStatus::Delivered;
            msg.sent_at = Some(at);
        }
        messages.push(msg);
    }
    item.chat = Some((chat, messages));
    Ok(())
}

/// Clients and messages per transaction.
const BATCH_CLIENTS: usize = 1000;
const BATCH_MESSAGES: usize = 2000;

/// Fills the database with the tenant at `sizes`, continuing where an
/// interrupted seed stopped; returns the seconds it took.
pub async fn seed(settings: &DatabaseSettings, sizes: Sizes) -> anyhow::Result<f64> {
    let started = Instant::now();
    let store = Store::open(settings).await?;
    let (tenant, agent) = match store.tenant_by_slug(TENANT).await? {
        Some(t) => {
            let (admin, _) = store
                .tenant(t.id)
                .user_by_email(ADMIN)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the bench tenant has no {ADMIN}"))?;
            (t.id, (admin.id, admin.name))
        }
        None => {
            let created =
                hub::bootstrap::create_tenant(&store, "Bench", TENANT, ADMIN, Some(PASSWORD))
                    .await?;
            (created.tenant.id, (created.admin.id, created.admin.name))
        }
    };
    let ts = store.tenant(tenant);
    let from = seeded_clients(&ts, sizes).await?;
    if from > 0 {
        eprintln!("  continuing an interrupted seed after client {from}");
    }
    // Batches are built on a thread of their own while the last one is written.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<ImportedClient>>(2);
    let producer = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let now = Utc::now();
        let stride = sizes.stride();
        let mut batch = Vec::new();
        let mut messages = 0;
        for i in from..sizes.clients {
            let mut item = client_of(tenant, i, now)?;
            let k = i / stride;
            if i % stride == 0 && k < sizes.chats {
                history(&mut item, k, i, &sizes, (agent.0, &agent.1))?;
                messages += sizes.per_chat();
            }
            batch.push(item);
            if batch.len() >= BATCH_CLIENTS || messages >= BATCH_MESSAGES {
                tx.blocking_send(std::mem::take(&mut batch))?;
                messages = 0;
            }
        }
        if !batch.is_empty() {
            tx.blocking_send(batch)?;
        }
        Ok(())
    });
    let mut done = hub::store::import::ImportCounts {
        clients: from,
        chats: from.div_ceil(sizes.stride()).min(sizes.chats),
        messages: 0,
    };
    let mut next_report = (from / (sizes.clients / 10).max(1) + 1) * (sizes.clients / 10);
    while let Some(batch) = rx.recv().await {
        let c = ts.import(&batch, &Actor::System).await?;
        done.clients += c.clients;
        done.chats += c.chats;
        done.messages += c.messages;
        if done.clients >= next_report {
            let s = started.elapsed().as_secs_f64();
            eprintln!(
                "  seeded {} clients, {} chats, {} messages in {s:.0} s ({:.0} messages/s)",
                done.clients,
                done.chats,
                done.messages,
                done.messages as f64 / s
            );
            next_report += sizes.clients / 10;
        }
    }
    producer.await??;
    anyhow::ensure!(
        done.clients == sizes.clients && done.chats == sizes.chats,
        "seeded {done:?}, wanted {sizes:?}"
    );
    Ok(started.elapsed().as_secs_f64())
}

/// How many clients an earlier seed imported. Clients are imported in order,
/// each batch whole or not at all, so they are a prefix of the sequence.
async fn seeded_clients(ts: &hub::store::TenantStore, sizes: Sizes) -> anyhow::Result<usize> {
    prefix_len(sizes.clients, |i| async move {
        let phone = ContactValue::parse(ContactKind::Phone, &phone(i), None)?;
        anyhow::Ok(ts.client_by_contact(&phone).await?.is_some())
    })
    .await
}

/// The length of the prefix of `0..n` for which `exists` holds (it holds
/// for a prefix and for nothing after), by bisection.
pub async fn prefix_len<F, Fut>(n: usize, exists: F) -> anyhow::Result<usize>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    if n == 0 || exists(n - 1).await? {
        return Ok(n);
    }
    let (mut lo, mut hi) = (0, n - 1); // below lo it holds; from hi on it does not
    while lo < hi {
        let mid = (lo + hi) / 2;
        if exists(mid).await? {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}
