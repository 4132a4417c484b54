//! The website transport: the hub's own chat widget.
//!
//! A visitor is known by a random token their browser keeps; the hub files
//! them under a website contact named by the token's SHA-256, so an agent
//! sees an opaque visitor id and nobody can speak for a visitor without the
//! token. The first message creates the client, contact and chat through the
//! same intake as a provider's webhook. The team's answers need no provider:
//! the outbox marks them sent, and the widget's next fetch marks them
//! delivered (read, when its window is open).

use sha2::{Digest, Sha256};

use super::inbound::{InboundError, Intake, store_results};
use crate::auth::hex;
use crate::domain::contact::{ContactKind, ContactValue};
use crate::domain::message::{DeliveryStatus, Direction, Message};
use crate::plugins::types::{Channel, InboundMessage, InboundSender};
use crate::store::{StoreResult, TenantStore};

/// Where website messages come from and go to, as a plugin name would say.
pub const SOURCE: &str = "website";
/// The most of a conversation the widget shows.
pub const HISTORY: usize = 100;
const MAX_TEXT: usize = 4_000;
const MAX_NAME: usize = 100;

/// A visitor's token, checked: 32 to 128 URL-safe characters.
pub struct Visitor(ContactValue);

impl Visitor {
    pub fn from_token(token: &str) -> Result<Self, InboundError> {
        let ok = (32..=128).contains(&token.len())
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(InboundError::Unauthenticated(
                "the visitor token must be 32 to 128 letters, digits, `-` or `_`".into(),
            ));
        }
        let digest = hex(&Sha256::digest(token.as_bytes()));
        Ok(Self(ContactValue::from_stored(
            ContactKind::Website,
            format!("visitor-{}", &digest[..32]),
        )))
    }

    pub fn contact(&self) -> &ContactValue {
        &self.0
    }
}

/// What a visitor writes; `id` is chosen by the widget, so a retried post
/// is stored once.
pub struct VisitorMessage<'a> {
    pub id: &'a str,
    pub text: &'a str,
    pub name: Option<&'a str>,
}

pub async fn receive(
    store: &TenantStore,
    intake: &Intake,
    visitor: &Visitor,
    m: VisitorMessage<'_>,
) -> Result<(), InboundError> {
    let malformed = |why: &str| Err(InboundError::Malformed(why.to_owned()));
    if m.id.is_empty()
        || m.id.len() > 64
        || !m.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return malformed("`id` must be 1 to 64 letters, digits or `-` (a UUID will do)");
    }
    let text = m.text.trim();
    if text.is_empty() {
        return malformed("`text` is empty");
    }
    if text.chars().count() > MAX_TEXT {
        return malformed("`text` is longer than 4000 characters");
    }
    let name = m.name.map(str::trim).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > MAX_NAME) {
        return malformed("`name` is longer than 100 characters");
    }
    let address = visitor.contact().as_str();
    // A visitor who gave no name is told apart by a piece of their id.
    let name = name.map_or_else(
        || format!("Website visitor {}", &address[8..14]),
        str::to_owned,
    );
    let message = InboundMessage {
        channel: Channel::Website,
        provider_message_id: format!("{address}:{}", m.id),
        sender: InboundSender {
            address: address.to_owned(),
            display_name: Some(name),
            username: None,
        },
        text: text.to_owned(),
        attachments: Vec::new(),
        sent_at_ms: None,
    };
    store_results(store, SOURCE, vec![message], Vec::new(), intake).await?;
    Ok(())
}

/// The visitor's conversation, oldest first (empty before their first
/// message). The team's messages it returns count as delivered, or read
/// when the visitor has the widget open (`seen`).
pub async fn conversation(
    store: &TenantStore,
    visitor: &Visitor,
    seen: bool,
) -> StoreResult<Vec<Message>> {
    let Some(view) = store.client_by_contact(visitor.contact()).await? else {
        return Ok(Vec::new());
    };
    let Some(chat) = store.chat_of_client(view.client.id()).await? else {
        return Ok(Vec::new());
    };
    let mut messages = store.messages_page(chat.chat.id(), None, HISTORY).await?;
    messages.reverse();
    let reached = if seen {
        DeliveryStatus::Read
    } else {
        DeliveryStatus::Delivered
    };
    for m in messages
        .iter_mut()
        .filter(|m| m.direction() == Direction::Outbound)
    {
        if m.status.advance(reached.clone()).is_some()
            && matches!(m.status, DeliveryStatus::Sent | DeliveryStatus::Delivered)
            && store
                .apply_status(SOURCE, &m.id().to_string(), reached.clone())
                .await?
        {
            m.status = reached.clone();
        }
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_one_opaque_contact() {
        let a = Visitor::from_token(&"a".repeat(32)).unwrap();
        let again = Visitor::from_token(&"a".repeat(32)).unwrap();
        let b = Visitor::from_token(&"b".repeat(32)).unwrap();
        assert_eq!(a.contact(), again.contact());
        assert_ne!(a.contact(), b.contact());
        assert!(a.contact().as_str().starts_with("visitor-"));
        assert!(!a.contact().as_str().contains("aaaa"));
    }

    #[test]
    fn short_or_odd_tokens_are_refused() {
        for bad in [
            "",
            "short",
            &"x".repeat(129),
            &format!("{}!", "a".repeat(40)),
        ] {
            assert!(Visitor::from_token(bad).is_err(), "{bad}");
        }
    }
}
