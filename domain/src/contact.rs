//! How a client can be reached: a kind and a normalised value.
//!
//! Values are normalised before they are compared or stored, so that
//! `+1 (415) 555-0100` and `+14155550100` are the same phone and the rule
//! "each contact has a unique value within its type" holds in practice.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::ids::ContactId;
use super::message::Transport;
use super::{DomainError, DomainResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactKind {
    Email,
    Phone,
    Telegram,
    Whatsapp,
    Instagram,
    /// A visitor of the tenant's website chat widget.
    Website,
    Other,
}

impl ContactKind {
    pub const ALL: [ContactKind; 7] = [
        ContactKind::Email,
        ContactKind::Phone,
        ContactKind::Telegram,
        ContactKind::Whatsapp,
        ContactKind::Instagram,
        ContactKind::Website,
        ContactKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Phone => "phone",
            ContactKind::Telegram => "telegram",
            ContactKind::Whatsapp => "whatsapp",
            ContactKind::Instagram => "instagram",
            ContactKind::Website => "website",
            ContactKind::Other => "other",
        }
    }

    /// "Contact type determines how messages are sent": the transport a
    /// message to this contact travels on.
    /// The kind of contact a transport reaches (voice calls and SMS reach a phone).
    pub fn for_transport(t: Transport) -> Self {
        match t {
            Transport::Sms | Transport::Phone => ContactKind::Phone,
            Transport::Whatsapp => ContactKind::Whatsapp,
            Transport::Telegram => ContactKind::Telegram,
            Transport::Email => ContactKind::Email,
            Transport::Instagram => ContactKind::Instagram,
            Transport::Website => ContactKind::Website,
            Transport::Other => ContactKind::Other,
        }
    }

    pub fn transport(self) -> Transport {
        match self {
            ContactKind::Email => Transport::Email,
            ContactKind::Phone => Transport::Sms,
            ContactKind::Telegram => Transport::Telegram,
            ContactKind::Whatsapp => Transport::Whatsapp,
            ContactKind::Instagram => Transport::Instagram,
            ContactKind::Website => Transport::Website,
            ContactKind::Other => Transport::Other,
        }
    }
}

impl fmt::Display for ContactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ContactKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ContactKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| DomainError::new("kind", format!("`{s}` is not a contact kind")))
    }
}

/// A contact value in its canonical form; only [`ContactValue::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContactValue {
    kind: ContactKind,
    value: String,
}

impl ContactValue {
    /// Normalises `raw` for `kind`. Phone numbers without a country code are
    /// read in `default_region` (ISO 3166 alpha-2, e.g. `US`) when one is given.
    pub fn parse(kind: ContactKind, raw: &str, default_region: Option<&str>) -> DomainResult<Self> {
        let value = match kind {
            ContactKind::Email => normalise_email(raw)?,
            ContactKind::Phone | ContactKind::Whatsapp => normalise_phone(raw, default_region)?,
            ContactKind::Telegram => normalise_handle(raw, 32)?,
            ContactKind::Instagram => normalise_handle(raw, 64)?,
            ContactKind::Website | ContactKind::Other => {
                super::error::required_text("value", raw, 256)?
            }
        };
        Ok(Self { kind, value })
    }

    /// Rebuilds a value read back from storage, where it was stored normalised.
    pub fn from_stored(kind: ContactKind, value: String) -> Self {
        Self { kind, value }
    }

    pub fn kind(&self) -> ContactKind {
        self.kind
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// Lower-cases and checks an e-mail address.
pub fn normalise_email(raw: &str) -> DomainResult<String> {
    let value = raw.trim().to_lowercase();
    let err = || {
        DomainError::new(
            "value",
            format!(
                "`{}` is not an e-mail address like name@example.com",
                raw.trim()
            ),
        )
    };
    let (local, domain) = value.split_once('@').ok_or_else(err)?;
    let valid = !local.is_empty()
        && local.len() <= 64
        && value.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@');
    if valid { Ok(value) } else { Err(err()) }
}

/// Formats a phone number as E.164 (`+14155550100`).
pub fn normalise_phone(raw: &str, default_region: Option<&str>) -> DomainResult<String> {
    let region = default_region
        .map(|r| {
            r.parse::<phonenumber::country::Id>().map_err(|_| {
                DomainError::new("value", format!("`{r}` is not a known phone region"))
            })
        })
        .transpose()?;
    let raw = raw.trim();
    let number = phonenumber::parse(region, raw).map_err(|_| {
        DomainError::new(
            "value",
            format!(
                "`{raw}` is not a phone number; write it with its country code, like +14155550100"
            ),
        )
    })?;
    if !phonenumber::is_valid(&number) {
        return Err(DomainError::new(
            "value",
            format!("`{raw}` is not a valid phone number for its country"),
        ));
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// Handles (`@Someone`) are case-insensitive: strip the `@`, lower-case.
fn normalise_handle(raw: &str, max: usize) -> DomainResult<String> {
    let value = raw.trim().trim_start_matches('@').to_lowercase();
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
    if ok {
        Ok(value)
    } else {
        Err(DomainError::new(
            "value",
            format!("`{}` is not a valid handle or id", raw.trim()),
        ))
    }
}

/// Whether the client agreed to be contacted on this contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentStatus {
    Unknown,
    OptedIn,
    OptedOut,
}

/// Messages that, on their own, opt the sender out: the keywords carriers
/// and Twilio honour for SMS.
const OPT_OUT_KEYWORDS: [&str; 6] = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
/// Messages that opt the sender back in. Not `YES`: in a conversation that
/// answers a question far more often than it asks for messages.
const OPT_IN_KEYWORDS: [&str; 3] = ["START", "UNSTOP", "SUBSCRIBE"];

impl ConsentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentStatus::Unknown => "unknown",
            ConsentStatus::OptedIn => "opted_in",
            ConsentStatus::OptedOut => "opted_out",
        }
    }

    /// The consent an inbound message asks for, with its keyword, when the
    /// whole message is one (any case, surrounding spaces and a final `.`
    /// or `!` ignored); `STOP the delivery` asks for nothing.
    pub fn from_keyword(text: &str) -> Option<(Self, &'static str)> {
        let word = text.trim().trim_end_matches(['.', '!']).trim_end();
        let find = |keywords: &[&'static str]| {
            keywords
                .iter()
                .find(|k| k.eq_ignore_ascii_case(word))
                .copied()
        };
        find(&OPT_OUT_KEYWORDS)
            .map(|k| (Self::OptedOut, k))
            .or_else(|| find(&OPT_IN_KEYWORDS).map(|k| (Self::OptedIn, k)))
    }
}

impl FromStr for ConsentStatus {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "unknown" => Ok(Self::Unknown),
            "opted_in" => Ok(Self::OptedIn),
            "opted_out" => Ok(Self::OptedOut),
            _ => Err(DomainError::new(
                "consent",
                format!("`{s}` is not a consent status"),
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub status: ConsentStatus,
    /// When the status was last set; `None` while it is unknown.
    pub at: Option<DateTime<Utc>>,
    /// Who or what set it: `user:<id>`, `inbound keyword`, a provider's error.
    pub source: Option<String>,
}

impl Consent {
    pub fn unknown() -> Self {
        Self {
            status: ConsentStatus::Unknown,
            at: None,
            source: None,
        }
    }

    pub fn set(status: ConsentStatus, source: &str, now: DateTime<Utc>) -> DomainResult<Self> {
        Ok(Self {
            status,
            at: Some(now),
            source: Some(super::error::required_text("source", source, 200)?),
        })
    }
}

/// A contact of a client: a value object with its own bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: ContactId,
    pub value: ContactValue,
    /// A free label such as "work" or "home".
    pub label: Option<String>,
    pub consent: Consent,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Contact {
    pub fn new(value: ContactValue, label: Option<&str>, now: DateTime<Utc>) -> DomainResult<Self> {
        Ok(Self {
            id: ContactId::new(),
            value,
            label: super::error::optional_text("label", label, 100)?,
            consent: Consent::unknown(),
            created_at: now,
            updated_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_message_that_is_only_a_keyword_sets_consent() {
        use super::ConsentStatus::{OptedIn, OptedOut};
        let k = super::ConsentStatus::from_keyword;
        assert_eq!(k("STOP"), Some((OptedOut, "STOP")));
        assert_eq!(k("  stop. "), Some((OptedOut, "STOP")));
        assert_eq!(k("Unsubscribe!"), Some((OptedOut, "UNSUBSCRIBE")));
        assert_eq!(k("start"), Some((OptedIn, "START")));
        assert_eq!(k("STOP the delivery, wrong address"), None);
        assert_eq!(k("yes"), None);
        assert_eq!(k(""), None);
    }

    use super::*;

    #[test]
    fn phones_are_normalised_to_e164() {
        let a = ContactValue::parse(ContactKind::Phone, "+1 (415) 555-2671", None).unwrap();
        assert_eq!(a.as_str(), "+14155552671");
        let b = ContactValue::parse(ContactKind::Phone, "(415) 555-2671", Some("US")).unwrap();
        assert_eq!(a, b, "the same phone written two ways is one contact value");
        let w = ContactValue::parse(ContactKind::Whatsapp, "+44 20 7946 0958", None).unwrap();
        assert_eq!(w.as_str(), "+442079460958");
    }

    #[test]
    fn invalid_phones_are_refused_with_the_reason() {
        let err = ContactValue::parse(ContactKind::Phone, "12", None).unwrap_err();
        assert_eq!(err.field, "value");
        assert!(ContactValue::parse(ContactKind::Phone, "hello", Some("US")).is_err());
        assert!(ContactValue::parse(ContactKind::Phone, "+1 415", None).is_err());
        assert!(ContactValue::parse(ContactKind::Phone, "+14155552671", Some("XX")).is_err());
    }

    #[test]
    fn emails_are_lower_cased() {
        let e = ContactValue::parse(ContactKind::Email, " Ann.Lee@Example.COM ", None).unwrap();
        assert_eq!(e.as_str(), "ann.lee@example.com");
        for bad in [
            "ann",
            "ann@",
            "@x.com",
            "a b@x.com",
            "a@x",
            "a@.x.com",
            "a@x..com",
        ] {
            assert!(
                ContactValue::parse(ContactKind::Email, bad, None).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn handles_drop_the_at_sign_and_case() {
        let t = ContactValue::parse(ContactKind::Telegram, "@Ann_Lee", None).unwrap();
        assert_eq!(t.as_str(), "ann_lee");
        assert!(ContactValue::parse(ContactKind::Telegram, "ann lee", None).is_err());
    }

    #[test]
    fn contacts_are_organised_by_type_and_type_determines_transport() {
        assert_eq!(ContactKind::Phone.transport(), Transport::Sms);
        assert_eq!(ContactKind::Whatsapp.transport(), Transport::Whatsapp);
        assert_eq!(ContactKind::Email.transport(), Transport::Email);
        assert_eq!(ContactKind::Telegram.transport(), Transport::Telegram);
        for k in ContactKind::ALL {
            assert_eq!(k.as_str().parse::<ContactKind>().unwrap(), k);
        }
    }

    #[test]
    fn contact_creation_is_timestamped() {
        let now = Utc::now();
        let v = ContactValue::parse(ContactKind::Other, "desk 4", None).unwrap();
        let c = Contact::new(v, Some("office"), now).unwrap();
        assert_eq!(c.created_at, now);
        assert_eq!(c.updated_at, now);
        assert_eq!(c.consent.status, ConsentStatus::Unknown);
    }
}
