//! The one conversation between the tenant and a client.

use chrono::{DateTime, Utc};

use super::ids::{ChatId, ClientId, TenantId};
use super::message::{Direction, Message};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    id: ChatId,
    tenant: TenantId,
    client: ClientId,
    created_at: DateTime<Utc>,
    pub last_message_at: Option<DateTime<Utc>>,
    pub unread_count: u32,
}

impl Chat {
    /// "Chat is created explicitly or on-demand when first message arrives."
    /// The client reference and creation time are fixed here for good: there
    /// are no setters for them.
    pub fn new(tenant: TenantId, client: ClientId, now: DateTime<Utc>) -> Self {
        Self {
            id: ChatId::new(),
            tenant,
            client,
            created_at: now,
            last_message_at: None,
            unread_count: 0,
        }
    }

    pub fn restore(
        id: ChatId,
        tenant: TenantId,
        client: ClientId,
        created_at: DateTime<Utc>,
        last_message_at: Option<DateTime<Utc>>,
        unread_count: u32,
    ) -> Self {
        Self {
            id,
            tenant,
            client,
            created_at,
            last_message_at,
            unread_count,
        }
    }

    pub fn id(&self) -> ChatId {
        self.id
    }
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }
    pub fn client(&self) -> ClientId {
        self.client
    }
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// "Chat tracks last message timestamp" and "unread message count".
    pub fn record_message(&mut self, message: &Message) {
        let at = message.created_at();
        self.last_message_at = Some(self.last_message_at.map_or(at, |t| t.max(at)));
        if message.direction() == Direction::Inbound && message.read_at.is_none() {
            self.unread_count += 1;
        }
    }

    /// Called after `read` inbound messages were marked read.
    pub fn messages_read(&mut self, read: u32) {
        self.unread_count = self.unread_count.saturating_sub(read);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;
    use crate::message::{Sender, Transport};

    #[test]
    fn chat_tracks_last_message_time_and_unread_count() {
        let now = Utc::now();
        let mut chat = Chat::new(TenantId::new(), ClientId::new(), now);
        assert_eq!(
            chat.created_at(),
            now,
            "creation timestamp is fixed at creation"
        );
        let sms = Sender::Sms { phone: "+1".into() };
        let inbound = Message::new(chat.id(), "hi", sms, Transport::Sms, vec![], now).unwrap();
        chat.record_message(&inbound);
        assert_eq!(chat.unread_count, 1);
        assert_eq!(chat.last_message_at, Some(now));
        let user = Sender::User {
            user_id: UserId::new(),
            name: "Bo".into(),
        };
        let later = now + chrono::Duration::seconds(3);
        let reply = Message::new(chat.id(), "hello", user, Transport::Sms, vec![], later).unwrap();
        chat.record_message(&reply);
        assert_eq!(chat.unread_count, 1, "our own replies are never unread");
        assert_eq!(chat.last_message_at, Some(later));
        chat.messages_read(5);
        assert_eq!(chat.unread_count, 0);
    }
}
