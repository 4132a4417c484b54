//! An organisation using the hub. Nothing is shared between tenants.

use chrono::{DateTime, Utc};

use super::error::required_text;
use super::ids::TenantId;
use super::{DomainError, DomainResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    /// The short name people type when signing in (`acme`).
    pub slug: String,
    pub created_at: DateTime<Utc>,
}

impl Tenant {
    pub fn new(name: &str, slug: &str, now: DateTime<Utc>) -> DomainResult<Self> {
        Ok(Self {
            id: TenantId::new(),
            name: required_text("name", name, 200)?,
            slug: parse_slug(slug)?,
            created_at: now,
        })
    }
}

/// Lower-case letters, digits and dashes, 2 to 63 of them, starting with a letter.
pub fn parse_slug(slug: &str) -> DomainResult<String> {
    let slug = slug.trim().to_ascii_lowercase();
    let ok = (2..=63).contains(&slug.len())
        && slug.starts_with(|c: char| c.is_ascii_lowercase())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(slug)
    } else {
        Err(DomainError::new(
            "tenant",
            format!(
                "`{slug}` is not a valid tenant slug: use 2 to 63 lower-case letters, digits or dashes, starting with a letter"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_is_normalised_and_checked() {
        assert_eq!(parse_slug(" Acme-2 ").unwrap(), "acme-2");
        assert!(parse_slug("2acme").is_err());
        assert!(parse_slug("a").is_err());
        assert!(parse_slug("ac me").is_err());
    }
}
