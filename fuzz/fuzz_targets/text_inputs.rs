//! The rest of the API's free-text and number inputs, each through its
//! domain rule: message texts, template names and texts, user names and
//! e-mails, passwords, webhook URLs and event kinds, retention days,
//! delivery statuses.
//!
//! Properties: nothing panics; a refusal names the field the API calls it;
//! an accepted text is stored trimmed and within its limit.
#![no_main]

use arbitrary::Arbitrary;
use chrono::{DateTime, Utc};
use hub_domain::ids::{ChatId, TenantId, UserId};
use hub_domain::message::{DeliveryStatus, Message, Sender, TEXT_MAX, Transport};
use hub_domain::retention::RetentionPolicy;
use hub_domain::template::MessageTemplate;
use hub_domain::user::{Role, User, check_password_strength};
use hub_domain::webhook::Webhook;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Input<'a> {
    Message(&'a str),
    Template {
        name: &'a str,
        text: &'a str,
    },
    User {
        email: &'a str,
        name: &'a str,
    },
    Password(&'a str),
    Webhook {
        url: &'a str,
        kinds: Vec<String>,
    },
    Retention {
        messages: Option<i64>,
        attachments: Option<i64>,
    },
    Status {
        status: &'a str,
        reason: Option<String>,
    },
}

fn named(e: &hub_domain::DomainError, fields: &[&str]) {
    assert!(
        fields.contains(&e.field),
        "error names {}, expected one of {fields:?}",
        e.field
    );
    assert!(!e.message.is_empty());
}

fuzz_target!(|input: Input<'_>| {
    let now: DateTime<Utc> = DateTime::from_timestamp(1_750_000_000, 0).expect("valid");
    match input {
        Input::Message(text) => {
            let sender = Sender::User {
                user_id: UserId::new(),
                name: "Agent".into(),
            };
            match Message::new(ChatId::new(), text, sender, Transport::Sms, Vec::new(), now) {
                Ok(m) => {
                    assert!(!m.text().trim().is_empty());
                    assert!(m.text().chars().count() <= TEXT_MAX);
                    assert!(!m.text().contains('\0'));
                }
                Err(e) => named(&e, &["text"]),
            }
        }
        Input::Template { name, text } => {
            match MessageTemplate::new(TenantId::new(), name, text, now) {
                Ok(t) => {
                    assert_eq!(t.name(), t.name().trim());
                    assert!(!t.name().is_empty() && !t.text().is_empty());
                }
                Err(e) => named(&e, &["name", "text"]),
            }
        }
        Input::User { email, name } => {
            match User::new(TenantId::new(), email, name, Role::Agent, now) {
                Ok(u) => {
                    assert_eq!(u.email, u.email.to_lowercase());
                    assert!(u.email.contains('@'));
                    assert!(!u.name.is_empty());
                }
                Err(e) => named(&e, &["email", "name"]),
            }
        }
        Input::Password(p) => {
            if let Err(e) = check_password_strength(p) {
                named(&e, &["password"]);
            }
        }
        Input::Webhook { url, kinds } => match Webhook::new(TenantId::new(), url, kinds, now) {
            Ok(w) => {
                assert!(w.url.starts_with("http://") || w.url.starts_with("https://"));
                assert!(!w.url.contains(char::is_whitespace));
                assert!(w.event_kinds.len() <= 50);
            }
            Err(e) => named(&e, &["url", "eventKinds"]),
        },
        Input::Retention {
            messages,
            attachments,
        } => match RetentionPolicy::new(messages, attachments) {
            Ok(p) => {
                if let Some(cutoff) = p.message_cutoff(now) {
                    assert!(cutoff < now);
                }
                if let Some(cutoff) = p.attachment_cutoff(now) {
                    assert!(cutoff < now);
                }
            }
            Err(e) => named(&e, &["messagesDays", "attachmentsDays"]),
        },
        Input::Status { status, reason } => match DeliveryStatus::parse(status, reason) {
            Ok(s) => assert_eq!(s.as_str(), status),
            Err(e) => assert!(!e.message.is_empty()),
        },
    }
});
