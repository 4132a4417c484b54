//! Loading what an event is about, so subscribers get whole objects.

use std::collections::HashMap;
use std::str::FromStr;

use crate::domain::DomainError;
use crate::domain::ids::{ChatId, ClientId, MessageId, TenantId};
use crate::domain::message::Message;
use crate::store::chats::ChatView;
use crate::store::events::LoggedEvent;
use crate::store::{Store, StoreError, StoreResult};

use super::HubEvent;

fn id_in<T: FromStr<Err = DomainError>>(reference: &str, table: &str) -> Option<T> {
    reference
        .strip_prefix(table)?
        .strip_prefix(':')?
        .parse()
        .ok()
}

fn data_id<T: FromStr<Err = DomainError>>(event: &LoggedEvent, key: &str) -> Option<T> {
    event.data.get(key)?.as_str()?.parse().ok()
}

/// Things that are gone (a deleted client's chat) are simply left out.
fn found<T>(r: StoreResult<T>) -> StoreResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What an event is about, as named in it.
struct Subjects {
    message: Option<MessageId>,
    chat: Option<ChatId>,
    /// Only for changes to clients and their contacts.
    client: Option<ClientId>,
}

impl Subjects {
    fn of(event: &LoggedEvent) -> Self {
        let about_client = event.kind.starts_with("client.") || event.kind.starts_with("contact.");
        Self {
            message: id_in(&event.target, "message"),
            chat: data_id(event, "chat").or_else(|| id_in(&event.target, "chat")),
            client: about_client
                .then(|| data_id(event, "client").or_else(|| id_in(&event.target, "client")))
                .flatten(),
        }
    }

    /// A message and its chat, and nothing else.
    fn message_in_chat(&self) -> Option<(ChatId, MessageId)> {
        match (self.chat, self.message, self.client) {
            (Some(c), Some(m), None) => Some((c, m)),
            _ => None,
        }
    }
}

pub async fn enrich(store: &Store, event: LoggedEvent) -> StoreResult<HubEvent> {
    let ts = store.tenant(event.tenant);
    let subjects = Subjects::of(&event);
    let (message, chat) = match (subjects.message, subjects.chat) {
        (Some(m), Some(c)) => ts.message_and_chat(c, m).await?,
        (None, Some(c)) => (None, found(ts.chat(c).await)?),
        _ => (None, None),
    };
    let client = match subjects.client {
        Some(c) => found(ts.client(c).await)?,
        None => None,
    };
    Ok(HubEvent {
        event,
        message,
        chat,
        client,
    })
}

/// How an event of a page is loaded.
enum Load {
    /// Not wanted: the event alone.
    Bare,
    /// A message and its chat, read with the page's others.
    WithPage(ChatId, MessageId),
    /// Anything else, on its own.
    Alone,
}

/// A page of the log, in its order, each event with what it is about when
/// `wanted` (one flag per event), else bare. The messages and chats of
/// message events are read in one round trip per tenant: a burst of
/// messages is one page, which would otherwise cost a round trip each.
pub async fn load_page(
    store: &Store,
    events: &[LoggedEvent],
    wanted: &[bool],
) -> StoreResult<Vec<HubEvent>> {
    let plan: Vec<Load> = events
        .iter()
        .zip(wanted)
        .map(|(e, &w)| match Subjects::of(e).message_in_chat() {
            _ if !w => Load::Bare,
            Some((c, m)) => Load::WithPage(c, m),
            None => Load::Alone,
        })
        .collect();
    let mut asked: HashMap<TenantId, Vec<(ChatId, MessageId)>> = HashMap::new();
    for (event, load) in events.iter().zip(&plan) {
        if let Load::WithPage(c, m) = *load {
            asked.entry(event.tenant).or_default().push((c, m));
        }
    }
    let mut messages: HashMap<MessageId, Message> = HashMap::new();
    let mut chats: HashMap<ChatId, ChatView> = HashMap::new();
    for (tenant, pairs) in asked {
        let (ms, cs) = store.tenant(tenant).messages_and_chats(&pairs).await?;
        messages.extend(ms.into_iter().map(|m| (m.id(), m)));
        chats.extend(cs.into_iter().map(|c| (c.chat.id(), c)));
    }
    let mut page = Vec::with_capacity(events.len());
    for (event, load) in events.iter().zip(plan) {
        page.push(match load {
            Load::Bare => HubEvent::bare(event.clone()),
            Load::WithPage(c, m) => HubEvent {
                message: messages.get(&m).cloned(),
                chat: chats.get(&c).cloned(),
                client: None,
                event: event.clone(),
            },
            Load::Alone => Box::pin(enrich(store, event.clone())).await?,
        });
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::{enrich, load_page};
    use crate::store::schema_tests::{client, receive_sms, store, tenant};

    async fn receive(
        ts: &crate::store::TenantStore,
        client: crate::domain::ids::ClientId,
        text: &str,
    ) {
        receive_sms(ts, client, text).await.unwrap();
    }

    #[tokio::test]
    async fn a_page_carries_what_each_event_would_carry_loaded_alone() {
        let (_d, store) = store().await;
        let acme = store.tenant(tenant(&store, "acme").await);
        let rival = store.tenant(tenant(&store, "rival").await);
        let (ann, bob) = (client(&acme, "Ann").await, client(&acme, "Bob").await);
        let cy = client(&rival, "Cy").await;
        receive(&acme, ann, "ann 1").await;
        receive(&acme, bob, "bob 1").await;
        receive(&rival, cy, "cy 1").await;
        receive(&acme, ann, "ann 2").await;

        let events = store.events_after(0, 500).await.unwrap();
        let received = events
            .iter()
            .filter(|e| e.kind == "message.received")
            .count();
        assert_eq!(received, 4, "{events:?}");
        let wanted = |e: &crate::store::events::LoggedEvent| e.tenant == acme.tenant_id();
        let flags: Vec<bool> = events.iter().map(wanted).collect();
        let page = load_page(&store, &events, &flags).await.unwrap();
        assert_eq!(page.len(), events.len());
        let mut texts = Vec::new();
        for (event, got) in events.into_iter().zip(page) {
            assert_eq!(got.event.seq, event.seq, "in log order");
            if !wanted(&event) {
                assert!(got.message.is_none() && got.chat.is_none() && got.client.is_none());
                continue;
            }
            let alone = enrich(&store, event).await.unwrap();
            assert_eq!(got.message, alone.message);
            let chat = |c: &Option<crate::store::chats::ChatView>| {
                c.as_ref().map(|c| {
                    (
                        c.chat.id(),
                        c.chat.unread_count,
                        c.last_message_preview.clone(),
                    )
                })
            };
            assert_eq!(chat(&got.chat), chat(&alone.chat));
            assert_eq!(got.client.is_some(), alone.client.is_some());
            if let (Some(m), Some(c)) = (&got.message, &got.chat) {
                assert_eq!(m.chat(), c.chat.id(), "each message with its own chat");
                texts.push(m.text().to_owned());
            }
        }
        assert_eq!(
            texts,
            ["ann 1", "bob 1", "ann 2"],
            "the other tenant's left bare"
        );
    }
}
