//! Domain events: what happened, who did it, to what.
//!
//! Each state change appends one event in the same transaction as the change;
//! the log is the audit trail and the source of live updates.

use std::fmt;

use super::ids::UserId;

/// Who caused a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    /// The hub itself: start-up bootstrap, background jobs.
    System,
    /// A provider plugin delivering inbound traffic or status callbacks.
    Provider(String),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::System => f.write_str("system"),
            Actor::Provider(name) => write!(f, "provider:{name}"),
        }
    }
}

/// The kinds of event the hub records, named `noun.verb` in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    TenantCreated,
    UserCreated,
    UserUpdated,
    UserSignedIn,
    TokenCreated,
    TokenRevoked,
    ClientCreated,
    ClientUpdated,
    ClientDeleted,
    ClientRestored,
    /// Erased for good (GDPR): the entry lists the audit entries whose data went with it.
    ClientErased,
    /// Everything held about the client was exported (GDPR access).
    ClientExported,
    /// An admin set how long messages and attachments are kept.
    RetentionPolicySet,
    /// The retention job removed what the policy no longer keeps.
    RetentionApplied,
    ContactAdded,
    ContactRemoved,
    ConsentChanged,
    ChatCreated,
    MemberAdded,
    MessageQueued,
    MessageReceived,
    MessagesRead,
    TemplateCreated,
    TemplateUpdated,
    TemplateDeleted,
    WebhookCreated,
    WebhookDeleted,
    /// Delivery moved on: sent, delivered, read or failed.
    MessageStatusChanged,
    PluginConfigured,
    /// Clients, chats and messages loaded in bulk (an import from another
    /// system): one entry for the lot, with its counts.
    HistoryImported,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::TenantCreated => "tenant.created",
            EventKind::UserCreated => "user.created",
            EventKind::UserUpdated => "user.updated",
            EventKind::UserSignedIn => "user.signed_in",
            EventKind::TokenCreated => "token.created",
            EventKind::TokenRevoked => "token.revoked",
            EventKind::ClientCreated => "client.created",
            EventKind::ClientUpdated => "client.updated",
            EventKind::ClientDeleted => "client.deleted",
            EventKind::ClientRestored => "client.restored",
            EventKind::ClientErased => "client.erased",
            EventKind::ClientExported => "client.exported",
            EventKind::RetentionPolicySet => "retention.policy_set",
            EventKind::RetentionApplied => "retention.applied",
            EventKind::ContactAdded => "contact.added",
            EventKind::ContactRemoved => "contact.removed",
            EventKind::ConsentChanged => "contact.consent_changed",
            EventKind::ChatCreated => "chat.created",
            EventKind::MemberAdded => "member.added",
            EventKind::MessageQueued => "message.queued",
            EventKind::MessageReceived => "message.received",
            EventKind::MessagesRead => "chat.read",
            EventKind::TemplateCreated => "template.created",
            EventKind::TemplateUpdated => "template.updated",
            EventKind::TemplateDeleted => "template.deleted",
            EventKind::WebhookCreated => "webhook.created",
            EventKind::WebhookDeleted => "webhook.deleted",
            EventKind::MessageStatusChanged => "message.status_changed",
            EventKind::PluginConfigured => "plugin.configured",
            EventKind::HistoryImported => "history.imported",
        }
    }
}

/// One entry for the log: the store adds tenant, id and time.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainEvent {
    pub kind: EventKind,
    pub actor: Actor,
    /// The record the event is about, as `table:id` (`client:0190…`).
    pub target: String,
    /// What changed, for integrations and auditors; never secrets.
    pub data: serde_json::Value,
}

impl DomainEvent {
    pub fn new(
        kind: EventKind,
        actor: &Actor,
        target: impl Into<String>,
        data: serde_json::Value,
    ) -> Self {
        Self {
            kind,
            actor: actor.clone(),
            target: target.into(),
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_named_for_the_audit_log() {
        let id = UserId::new();
        assert_eq!(Actor::User(id).to_string(), format!("user:{id}"));
        assert_eq!(
            Actor::Provider("twilio".into()).to_string(),
            "provider:twilio"
        );
        assert_eq!(EventKind::MessageReceived.as_str(), "message.received");
    }
}
