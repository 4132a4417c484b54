//! A participant of a chat: one record per participant per chat.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::ids::{ChatId, ClientId, UserId};
use super::message::Transport;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Participant {
    User(UserId),
    Client(ClientId),
    /// A bot or webhook, by name.
    Service(String),
}

impl Participant {
    pub fn kind(&self) -> &'static str {
        match self {
            Participant::User(_) => "user",
            Participant::Client(_) => "client",
            Participant::Service(_) => "service",
        }
    }

    /// The identity that makes a member unique within its chat.
    pub fn key(&self) -> String {
        match self {
            Participant::User(id) => format!("user:{id}"),
            Participant::Client(id) => format!("client:{id}"),
            Participant::Service(name) => format!("service:{name}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    chat: ChatId,
    participant: Participant,
    created_at: DateTime<Utc>,
    /// "Transport method determines communication capability."
    pub transport: Option<Transport>,
    /// Transport-specific details (a Telegram username, a WhatsApp profile name).
    pub metadata: BTreeMap<String, String>,
}

impl Member {
    pub fn new(
        chat: ChatId,
        participant: Participant,
        transport: Option<Transport>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            chat,
            participant,
            created_at: now,
            transport,
            metadata: BTreeMap::new(),
        }
    }

    pub fn restore(
        chat: ChatId,
        participant: Participant,
        created_at: DateTime<Utc>,
        transport: Option<Transport>,
        metadata: BTreeMap<String, String>,
    ) -> Self {
        Self {
            chat,
            participant,
            created_at,
            transport,
            metadata,
        }
    }

    pub fn chat(&self) -> ChatId {
        self.chat
    }
    pub fn participant(&self) -> &Participant {
        &self.participant
    }
    /// Fixed at creation: there is no setter.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_member_per_participant_key() {
        let u = UserId::new();
        assert_eq!(Participant::User(u).key(), Participant::User(u).key());
        assert_ne!(
            Participant::User(u).key(),
            Participant::Client(ClientId::new()).key()
        );
        assert_eq!(Participant::Service("bot".into()).kind(), "service");
    }
}
