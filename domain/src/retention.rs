//! How long a tenant keeps messages and attachment contents.

use chrono::{DateTime, Duration, Utc};

use super::{DomainError, DomainResult};

/// `None` keeps forever. Attachments go with their message at the latest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub messages_days: Option<u32>,
    pub attachments_days: Option<u32>,
}

/// A century: longer is a typo, not a policy.
const MAX_DAYS: i64 = 36_500;

fn days(field: &'static str, value: Option<i64>) -> DomainResult<Option<u32>> {
    match value {
        None => Ok(None),
        Some(d) if (1..=MAX_DAYS).contains(&d) => Ok(Some(d as u32)),
        Some(d) => Err(DomainError::new(
            field,
            format!(
                "{d} is not a number of days from 1 to {MAX_DAYS} (leave it out to keep forever)"
            ),
        )),
    }
}

impl RetentionPolicy {
    pub fn new(messages_days: Option<i64>, attachments_days: Option<i64>) -> DomainResult<Self> {
        Ok(Self {
            messages_days: days("messagesDays", messages_days)?,
            attachments_days: days("attachmentsDays", attachments_days)?,
        })
    }

    pub fn is_set(&self) -> bool {
        self.messages_days.is_some() || self.attachments_days.is_some()
    }

    /// Messages created before this are removed.
    pub fn message_cutoff(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.messages_days
            .map(|d| now - Duration::days(i64::from(d)))
    }

    /// Attachment contents of messages created before this are removed.
    pub fn attachment_cutoff(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.attachments_days
            .map(|d| now - Duration::days(i64::from(d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_one_to_a_century_or_forever() {
        assert!(RetentionPolicy::new(Some(0), None).is_err());
        let e = RetentionPolicy::new(None, Some(40_000)).unwrap_err();
        assert_eq!(e.field, "attachmentsDays");
        let p = RetentionPolicy::new(Some(30), None).unwrap();
        assert!(p.is_set());
        assert!(!RetentionPolicy::new(None, None).unwrap().is_set());
        let now = Utc::now();
        assert_eq!(p.message_cutoff(now), Some(now - Duration::days(30)));
        assert_eq!(p.attachment_cutoff(now), None);
    }
}
