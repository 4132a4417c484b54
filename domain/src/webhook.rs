//! Outbound webhooks: an integration's URL that receives the tenant's events.

use chrono::{DateTime, Utc};

use super::ids::TenantId;
use super::{DomainError, DomainResult};

/// A webhook's id; not time-critical, but UUIDv7 like every other id.
pub type WebhookId = uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub tenant: TenantId,
    pub url: String,
    /// Event kinds (`message.received`, …) or prefixes (`message.`); empty means all.
    pub event_kinds: Vec<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl Webhook {
    pub fn new(
        tenant: TenantId,
        url: &str,
        event_kinds: Vec<String>,
        now: DateTime<Utc>,
    ) -> DomainResult<Self> {
        let url = url.trim();
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        let rest = url.split_once("://").map(|x| x.1).unwrap_or("");
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if !scheme_ok
            || host.is_empty()
            || host.contains('@')
            || url.len() > 2000
            || url.contains(char::is_whitespace)
        {
            return Err(DomainError::new(
                "url",
                "must be an http:// or https:// URL with a host and no credentials, at most 2000 characters",
            ));
        }
        if event_kinds.len() > 50 {
            return Err(DomainError::new("eventKinds", "at most 50 kinds"));
        }
        let mut kinds = Vec::new();
        for k in event_kinds {
            let k = k.trim().to_owned();
            let ok = !k.is_empty()
                && k.len() <= 64
                && k.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_');
            if !ok {
                return Err(DomainError::new(
                    "eventKinds",
                    format!(
                        "`{k}` is not an event kind like message.received or a prefix like message."
                    ),
                ));
            }
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        Ok(Self {
            id: uuid::Uuid::now_v7(),
            tenant,
            url: url.to_owned(),
            event_kinds: kinds,
            active: true,
            created_at: now,
        })
    }

    /// Whether an event of `kind` goes to this webhook.
    pub fn wants(&self, kind: &str) -> bool {
        self.event_kinds.is_empty()
            || self
                .event_kinds
                .iter()
                .any(|k| kind == k || (k.ends_with('.') && kind.starts_with(k.as_str())))
    }
}

/// Wait before attempt `n + 1` after `n` failures: 1 s doubling to 10 min.
pub fn retry_delay(failures: u32) -> std::time::Duration {
    std::time::Duration::from_secs(1u64 << failures.min(10))
        .min(std::time::Duration::from_secs(600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let t = TenantId::new();
        assert!(Webhook::new(t, "https://example.com/hook", vec![], Utc::now()).is_ok());
        for bad in [
            "ftp://x",
            "https://",
            "https://user:pw@example.com",
            "example.com",
            "https://a b",
        ] {
            assert_eq!(
                Webhook::new(t, bad, vec![], Utc::now()).unwrap_err().field,
                "url",
                "{bad}"
            );
        }
    }

    #[test]
    fn kinds_filter_by_name_or_prefix() {
        let t = TenantId::new();
        let w = Webhook::new(
            t,
            "http://h/x",
            vec!["message.".into(), "client.created".into()],
            Utc::now(),
        )
        .unwrap();
        assert!(w.wants("message.received"));
        assert!(w.wants("client.created"));
        assert!(!w.wants("client.updated"));
        let all = Webhook::new(t, "http://h/x", vec![], Utc::now()).unwrap();
        assert!(all.wants("anything.at_all"));
        assert!(Webhook::new(t, "http://h/x", vec!["Bad Kind".into()], Utc::now()).is_err());
    }

    #[test]
    fn retries_back_off_exponentially_with_a_cap() {
        assert_eq!(retry_delay(0).as_secs(), 1);
        assert_eq!(retry_delay(3).as_secs(), 8);
        assert_eq!(retry_delay(30).as_secs(), 600);
    }
}
