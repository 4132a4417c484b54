//! Loading what an event is about, so subscribers get whole objects.

use std::str::FromStr;

use crate::domain::DomainError;
use crate::domain::ids::{ChatId, ClientId, MessageId};
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

pub async fn enrich(store: &Store, event: LoggedEvent) -> StoreResult<HubEvent> {
    let ts = store.tenant(event.tenant);
    let message_id: Option<MessageId> = id_in(&event.target, "message");
    let chat_id: Option<ChatId> = data_id(&event, "chat").or_else(|| id_in(&event.target, "chat"));
    let client_id: Option<ClientId> =
        data_id(&event, "client").or_else(|| id_in(&event.target, "client"));
    let (message, chat) = match (message_id, chat_id) {
        (Some(m), Some(c)) => ts.message_and_chat(c, m).await?,
        (None, Some(c)) => (None, found(ts.chat(c).await)?),
        _ => (None, None),
    };
    let client = match client_id {
        Some(c) if event.kind.starts_with("client.") || event.kind.starts_with("contact.") => {
            found(ts.client(c).await)?
        }
        _ => None,
    };
    Ok(HubEvent {
        event,
        message,
        chat,
        client,
    })
}
