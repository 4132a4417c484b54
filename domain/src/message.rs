//! A message in a chat: immutable text and sender, mutable delivery state.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::ids::{ChatId, ClientId, MessageId, UserId};
use super::{DomainError, DomainResult};

/// The longest message text accepted, in characters (long e-mails included).
pub const TEXT_MAX: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Telegram,
    Whatsapp,
    Sms,
    Email,
    Instagram,
    Website,
    /// Voice calls: recorded in history, never used to carry text.
    Phone,
    Other,
}

impl Transport {
    pub const ALL: [Transport; 8] = [
        Transport::Telegram,
        Transport::Whatsapp,
        Transport::Sms,
        Transport::Email,
        Transport::Instagram,
        Transport::Website,
        Transport::Phone,
        Transport::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Telegram => "telegram",
            Transport::Whatsapp => "whatsapp",
            Transport::Sms => "sms",
            Transport::Email => "email",
            Transport::Instagram => "instagram",
            Transport::Website => "website",
            Transport::Phone => "phone",
            Transport::Other => "other",
        }
    }

    /// Whether a text message can be sent over this transport.
    pub fn carries_text(self) -> bool {
        self != Transport::Phone
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Transport {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Transport::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| DomainError::new("transport", format!("`{s}` is not a transport")))
    }
}

/// Who wrote a message. Each kind carries what the hub knows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// A user of the hub.
    User {
        user_id: UserId,
        name: String,
    },
    /// The client, through one of their contacts.
    Client {
        client_id: ClientId,
    },
    /// An automated sender: a bot, a webhook, a scheduled notification.
    Service {
        name: String,
    },
    Telegram {
        chat_id: String,
        username: Option<String>,
    },
    Whatsapp {
        phone: String,
        profile_name: Option<String>,
    },
    Sms {
        phone: String,
    },
    Email {
        address: String,
        name: Option<String>,
    },
    Instagram {
        user_id: String,
        username: Option<String>,
    },
    Website {
        visitor_id: String,
    },
    Other {
        source: String,
        reference: Option<String>,
    },
}

/// "Sender type determines handling."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderCategory {
    /// One of the tenant's users.
    Internal,
    /// The client or someone outside speaking for them.
    External,
    /// A machine acting for the tenant.
    Automated,
}

impl Sender {
    pub fn kind(&self) -> &'static str {
        match self {
            Sender::User { .. } => "user",
            Sender::Client { .. } => "client",
            Sender::Service { .. } => "service",
            Sender::Telegram { .. } => "telegram",
            Sender::Whatsapp { .. } => "whatsapp",
            Sender::Sms { .. } => "sms",
            Sender::Email { .. } => "email",
            Sender::Instagram { .. } => "instagram",
            Sender::Website { .. } => "website",
            Sender::Other { .. } => "other",
        }
    }

    pub fn category(&self) -> SenderCategory {
        match self {
            Sender::User { .. } => SenderCategory::Internal,
            Sender::Service { .. } => SenderCategory::Automated,
            _ => SenderCategory::External,
        }
    }

    /// Messages from outside come in; the tenant's own go out.
    pub fn direction(&self) -> Direction {
        match self.category() {
            SenderCategory::External => Direction::Inbound,
            SenderCategory::Internal | SenderCategory::Automated => Direction::Outbound,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

impl FromStr for Direction {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "inbound" => Ok(Direction::Inbound),
            "outbound" => Ok(Direction::Outbound),
            _ => Err(DomainError::new(
                "direction",
                format!("`{s}` is not a direction"),
            )),
        }
    }
}

/// Where an outbound message is on its way to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Delivered,
    Read,
    Failed { reason: String },
}

impl DeliveryStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed { .. } => "failed",
        }
    }

    fn rank(&self) -> u8 {
        match self {
            DeliveryStatus::Queued => 0,
            DeliveryStatus::Sent => 1,
            DeliveryStatus::Delivered => 2,
            DeliveryStatus::Read => 3,
            DeliveryStatus::Failed { .. } => 4,
        }
    }

    /// Provider callbacks arrive late and out of order: a status only moves
    /// forward (queued → sent → delivered → read), `failed` is final, and a
    /// stale update is ignored rather than an error. Returns the new status,
    /// or `None` when `next` changes nothing.
    pub fn advance(&self, next: DeliveryStatus) -> Option<DeliveryStatus> {
        if matches!(self, DeliveryStatus::Failed { .. } | DeliveryStatus::Read) {
            return None;
        }
        (next.rank() > self.rank()).then_some(next)
    }

    pub fn parse(status: &str, reason: Option<String>) -> DomainResult<Self> {
        Ok(match status {
            "queued" => DeliveryStatus::Queued,
            "sent" => DeliveryStatus::Sent,
            "delivered" => DeliveryStatus::Delivered,
            "read" => DeliveryStatus::Read,
            "failed" => DeliveryStatus::Failed {
                reason: reason.unwrap_or_else(|| "unknown reason".into()),
            },
            other => {
                return Err(DomainError::new(
                    "status",
                    format!("`{other}` is not a delivery status"),
                ));
            }
        })
    }
}

/// A file attached to a message, stored apart in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRef {
    pub blob_id: String,
    /// Hex SHA-256 of the content, so a blob can be verified and deduplicated.
    pub sha256: String,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    id: MessageId,
    chat: ChatId,
    text: String,
    sender: Sender,
    transport: Transport,
    attachments: Vec<AttachmentRef>,
    created_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    pub sent_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    pub provider_message_id: Option<String>,
}

/// Everything stored about a message, for rebuilding one from storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    pub id: MessageId,
    pub chat: ChatId,
    pub text: String,
    pub sender: Sender,
    pub transport: Transport,
    pub attachments: Vec<AttachmentRef>,
    pub created_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    pub sent_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    pub provider_message_id: Option<String>,
}

impl Message {
    /// "Every message must identify sender type"; a message has text, an
    /// attachment, or both. Outbound messages start `queued`; inbound ones
    /// have arrived, so they start `delivered`.
    pub fn new(
        chat: ChatId,
        text: &str,
        sender: Sender,
        transport: Transport,
        attachments: Vec<AttachmentRef>,
        now: DateTime<Utc>,
    ) -> DomainResult<Self> {
        let text = text.trim_end().to_owned();
        if text.trim().is_empty() && attachments.is_empty() {
            return Err(DomainError::new(
                "text",
                "a message needs text or an attachment",
            ));
        }
        let len = text.chars().count();
        if len > TEXT_MAX {
            return Err(DomainError::new(
                "text",
                format!("is {len} characters long; at most {TEXT_MAX} are allowed"),
            ));
        }
        if text.contains('\0') {
            return Err(DomainError::new("text", "must not contain NUL characters"));
        }
        if !transport.carries_text() {
            return Err(DomainError::new(
                "transport",
                format!("`{transport}` cannot carry text messages"),
            ));
        }
        let status = match sender.direction() {
            Direction::Outbound => DeliveryStatus::Queued,
            Direction::Inbound => DeliveryStatus::Delivered,
        };
        Ok(Self {
            id: MessageId::new(),
            chat,
            text,
            sender,
            transport,
            attachments,
            created_at: now,
            status,
            sent_at: None,
            read_at: None,
            provider_message_id: None,
        })
    }

    pub fn restore(r: MessageRecord) -> Self {
        Self {
            id: r.id,
            chat: r.chat,
            text: r.text,
            sender: r.sender,
            transport: r.transport,
            attachments: r.attachments,
            created_at: r.created_at,
            status: r.status,
            sent_at: r.sent_at,
            read_at: r.read_at,
            provider_message_id: r.provider_message_id,
        }
    }

    pub fn id(&self) -> MessageId {
        self.id
    }
    pub fn chat(&self) -> ChatId {
        self.chat
    }
    pub fn text(&self) -> &str {
        &self.text
    }
    pub fn sender(&self) -> &Sender {
        &self.sender
    }
    pub fn transport(&self) -> Transport {
        self.transport
    }
    pub fn attachments(&self) -> &[AttachmentRef] {
        &self.attachments
    }
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    pub fn direction(&self) -> Direction {
        self.sender.direction()
    }

    /// Unread means: came in and nobody has read it yet.
    pub fn is_unread(&self) -> bool {
        self.direction() == Direction::Inbound && self.read_at.is_none()
    }

    /// "Read status and timestamp recorded when viewed"; the first read wins.
    pub fn mark_read(&mut self, now: DateTime<Utc>) -> bool {
        if self.read_at.is_some() {
            return false;
        }
        self.read_at = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> Sender {
        Sender::User {
            user_id: UserId::new(),
            name: "Bo".into(),
        }
    }

    #[test]
    fn message_needs_text_or_attachment() {
        let now = Utc::now();
        let err =
            Message::new(ChatId::new(), "  ", user(), Transport::Sms, vec![], now).unwrap_err();
        assert_eq!(err.field, "text");
        let att = AttachmentRef {
            blob_id: "b".into(),
            sha256: "00".into(),
            file_name: "a.pdf".into(),
            content_type: "application/pdf".into(),
            size: 1,
        };
        assert!(Message::new(ChatId::new(), "", user(), Transport::Sms, vec![att], now).is_ok());
    }

    #[test]
    fn every_message_identifies_its_sender_type() {
        let m = Message::new(
            ChatId::new(),
            "hi",
            user(),
            Transport::Sms,
            vec![],
            Utc::now(),
        )
        .unwrap();
        assert_eq!(m.sender().kind(), "user");
        let s = Sender::Sms {
            phone: "+14155552671".into(),
        };
        assert_eq!(s.kind(), "sms");
    }

    #[test]
    fn sender_type_determines_handling() {
        assert_eq!(user().category(), SenderCategory::Internal);
        assert_eq!(user().direction(), Direction::Outbound);
        let bot = Sender::Service {
            name: "reminders".into(),
        };
        assert_eq!(bot.category(), SenderCategory::Automated);
        let tg = Sender::Telegram {
            chat_id: "42".into(),
            username: None,
        };
        assert_eq!(tg.category(), SenderCategory::External);
        assert_eq!(tg.direction(), Direction::Inbound);
        let c = Sender::Client {
            client_id: ClientId::new(),
        };
        assert_eq!(c.direction(), Direction::Inbound);
    }

    #[test]
    fn outbound_messages_start_queued_inbound_start_delivered_and_unread() {
        let now = Utc::now();
        let out = Message::new(ChatId::new(), "hi", user(), Transport::Sms, vec![], now).unwrap();
        assert_eq!(out.status, DeliveryStatus::Queued);
        assert!(!out.is_unread());
        let sms = Sender::Sms { phone: "+1".into() };
        let inbound = Message::new(ChatId::new(), "yo", sms, Transport::Sms, vec![], now).unwrap();
        assert_eq!(inbound.status, DeliveryStatus::Delivered);
        assert!(inbound.is_unread());
    }

    #[test]
    fn read_tracking_records_the_first_read_only() {
        let sms = Sender::Sms { phone: "+1".into() };
        let mut m =
            Message::new(ChatId::new(), "yo", sms, Transport::Sms, vec![], Utc::now()).unwrap();
        let t1 = Utc::now();
        assert!(m.mark_read(t1));
        assert!(!m.mark_read(t1 + chrono::Duration::seconds(1)));
        assert_eq!(m.read_at, Some(t1));
        assert!(!m.is_unread());
    }

    #[test]
    fn delivery_status_only_moves_forward() {
        use DeliveryStatus::*;
        assert_eq!(Queued.advance(Sent), Some(Sent));
        assert_eq!(Sent.advance(Delivered), Some(Delivered));
        assert_eq!(
            Delivered.advance(Sent),
            None,
            "a late 'sent' callback is ignored"
        );
        assert_eq!(Read.advance(Delivered), None);
        let failed = Failed {
            reason: "30003 unreachable".into(),
        };
        assert_eq!(Sent.advance(failed.clone()), Some(failed.clone()));
        assert_eq!(failed.advance(Delivered), None, "failed is final");
    }

    #[test]
    fn voice_transport_cannot_carry_text() {
        let err = Message::new(
            ChatId::new(),
            "hi",
            user(),
            Transport::Phone,
            vec![],
            Utc::now(),
        )
        .unwrap_err();
        assert_eq!(err.field, "transport");
    }

    #[test]
    fn oversized_text_is_refused() {
        let text = "x".repeat(TEXT_MAX + 1);
        let err = Message::new(
            ChatId::new(),
            &text,
            user(),
            Transport::Email,
            vec![],
            Utc::now(),
        )
        .unwrap_err();
        assert!(err.message.contains("at most"));
    }
}
