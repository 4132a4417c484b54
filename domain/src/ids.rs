//! Typed identifiers. All are UUIDv7, so they sort by creation time and a
//! chat's messages sit next to each other in key order.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use super::DomainError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            /// An id that sorts as if made at `at`: for records brought in
            /// from elsewhere with a history of their own.
            pub fn at(at: chrono::DateTime<chrono::Utc>) -> Self {
                let secs = u64::try_from(at.timestamp()).unwrap_or(0);
                let ts = uuid::Timestamp::from_unix(uuid::NoContext, secs, at.timestamp_subsec_nanos());
                Self(Uuid::new_v7(ts))
            }
            pub fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| DomainError::new($label, format!("`{s}` is not a valid id")))
            }
        }
    };
}

id_type!(
    /// An organisation; every other record belongs to exactly one.
    TenantId,
    "tenantId"
);
id_type!(UserId, "userId");
id_type!(ClientId, "clientId");
id_type!(ContactId, "contactId");
id_type!(ChatId, "chatId");
id_type!(MessageId, "messageId");
id_type!(TemplateId, "templateId");
id_type!(EventId, "eventId");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered() {
        let a = MessageId::new();
        let b = MessageId::new();
        assert!(a < b, "a later id sorts after an earlier one");
    }

    #[test]
    fn parsing_names_the_field() {
        let err = "nope".parse::<ClientId>().unwrap_err();
        assert_eq!(err.field, "clientId");
    }
}
