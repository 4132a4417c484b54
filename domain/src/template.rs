//! Pre-written replies, shared by everyone in one tenant.

use chrono::{DateTime, Utc};

use super::DomainResult;
use super::error::required_text;
use super::ids::{TemplateId, TenantId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplate {
    id: TemplateId,
    tenant: TenantId,
    name: String,
    text: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl MessageTemplate {
    /// Templates are static text: the text is sent exactly as written, on
    /// any transport, and is never expanded (no variables, no references to
    /// other templates).
    pub fn new(tenant: TenantId, name: &str, text: &str, now: DateTime<Utc>) -> DomainResult<Self> {
        Ok(Self {
            id: TemplateId::new(),
            tenant,
            name: required_text("name", name, 100)?,
            text: required_text("text", text, super::message::TEXT_MAX)?,
            created_at: now,
            updated_at: now,
        })
    }

    pub fn restore(
        id: TemplateId,
        tenant: TenantId,
        name: String,
        text: String,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            tenant,
            name,
            text,
            created_at,
            updated_at,
        }
    }

    pub fn id(&self) -> TemplateId {
        self.id
    }
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn text(&self) -> &str {
        &self.text
    }
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    pub fn update(
        &mut self,
        name: Option<&str>,
        text: Option<&str>,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        let name = name.map(|n| required_text("name", n, 100)).transpose()?;
        let text = text
            .map(|t| required_text("text", t, super::message::TEXT_MAX))
            .transpose()?;
        if let Some(n) = name {
            self.name = n;
        }
        if let Some(t) = text {
            self.text = t;
        }
        self.updated_at = now.max(self.updated_at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_static_text_and_never_expanded() {
        let t = MessageTemplate::new(
            TenantId::new(),
            "Greeting",
            "Hi {{name}}, see {{template:other}}",
            Utc::now(),
        )
        .unwrap();
        assert_eq!(t.text(), "Hi {{name}}, see {{template:other}}");
    }

    #[test]
    fn templates_need_a_name_and_text() {
        assert_eq!(
            MessageTemplate::new(TenantId::new(), "", "x", Utc::now())
                .unwrap_err()
                .field,
            "name"
        );
        assert_eq!(
            MessageTemplate::new(TenantId::new(), "x", " ", Utc::now())
                .unwrap_err()
                .field,
            "text"
        );
    }

    #[test]
    fn update_is_all_or_nothing() {
        let mut t = MessageTemplate::new(TenantId::new(), "A", "a", Utc::now()).unwrap();
        assert!(t.update(Some("B"), Some(""), Utc::now()).is_err());
        assert_eq!(t.name(), "A");
    }
}
