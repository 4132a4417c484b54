//! "System Selects Transport": which of a client's contacts a message goes to.

use super::contact::{ConsentStatus, Contact};
use super::message::Transport;
use super::{DomainError, DomainResult};

/// Picks the contact for an outbound message: on `requested` when given,
/// else on the transport the client last used, else the first contact that
/// can carry text. A contact that opted out is never chosen.
pub fn select_contact(
    contacts: &[Contact],
    requested: Option<Transport>,
    last_used: Option<Transport>,
) -> DomainResult<&Contact> {
    let usable = |c: &&Contact| c.consent.status != ConsentStatus::OptedOut;
    let on = |t: Transport| {
        contacts
            .iter()
            .filter(move |c| c.value.kind().transport() == t)
    };
    if let Some(t) = requested {
        if !t.carries_text() {
            return Err(DomainError::new(
                "transport",
                format!("`{t}` cannot carry text messages"),
            ));
        }
        return match on(t).find(usable) {
            Some(c) => Ok(c),
            None => match on(t).next() {
                Some(c) => Err(opted_out(c)),
                None => Err(DomainError::new(
                    "transport",
                    format!("the client has no contact for {t}; add one first"),
                )),
            },
        };
    }
    last_used
        .and_then(|t| on(t).find(usable))
        .or_else(|| {
            contacts
                .iter()
                .filter(|c| c.value.kind().transport().carries_text())
                .find(usable)
        })
        .ok_or_else(|| match contacts.iter().find(|c| !usable(c)) {
            Some(c) => opted_out(c),
            None => DomainError::new(
                "transport",
                "the client has no contact to send to; add one first",
            ),
        })
}

fn opted_out(c: &Contact) -> DomainError {
    let when = c
        .consent
        .at
        .map(|t| format!(" on {}", t.format("%Y-%m-%d")))
        .unwrap_or_default();
    let source = c
        .consent
        .source
        .as_deref()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    DomainError::new(
        "transport",
        format!(
            "the client opted out of messages to {}{when}{source}",
            c.value.as_str()
        ),
    )
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::contact::{Consent, ContactKind, ContactValue};

    fn contact(kind: ContactKind, value: &str) -> Contact {
        Contact::new(
            ContactValue::parse(kind, value, None).unwrap(),
            None,
            Utc::now(),
        )
        .unwrap()
    }

    #[test]
    fn contact_type_determines_how_messages_are_sent() {
        let cs = [
            contact(ContactKind::Phone, "+14155552671"),
            contact(ContactKind::Email, "a@example.com"),
        ];
        assert_eq!(
            select_contact(&cs, Some(Transport::Email), None)
                .unwrap()
                .value
                .as_str(),
            "a@example.com"
        );
        assert_eq!(
            select_contact(&cs, None, None).unwrap().value.kind(),
            ContactKind::Phone,
            "first contact by default"
        );
        assert_eq!(
            select_contact(&cs, None, Some(Transport::Email))
                .unwrap()
                .value
                .kind(),
            ContactKind::Email,
            "the channel last used wins"
        );
        assert_eq!(
            select_contact(&cs, Some(Transport::Telegram), None)
                .unwrap_err()
                .field,
            "transport"
        );
        assert!(select_contact(&[], None, None).is_err());
    }

    #[test]
    fn opted_out_contacts_are_never_chosen() {
        let mut phone = contact(ContactKind::Phone, "+14155552671");
        phone.consent = Consent::set(ConsentStatus::OptedOut, "replied STOP", Utc::now()).unwrap();
        let email = contact(ContactKind::Email, "a@example.com");
        let cs = [phone.clone(), email];
        assert_eq!(
            select_contact(&cs, None, Some(Transport::Sms))
                .unwrap()
                .value
                .kind(),
            ContactKind::Email
        );
        let err = select_contact(&cs, Some(Transport::Sms), None).unwrap_err();
        assert!(
            err.message.contains("opted out") && err.message.contains("replied STOP"),
            "{}",
            err.message
        );
        let err = select_contact(&[phone], None, None).unwrap_err();
        assert!(err.message.contains("opted out"));
    }
}
