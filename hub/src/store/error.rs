//! What can go wrong talking to the database, in terms the API can explain.

use crate::domain::DomainError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist in this tenant (or was never visible to it).
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// A uniqueness rule would be broken.
    #[error("{field}: {message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    /// A domain rule refused the change.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// The database could not be reached or refused the query.
    #[error("database error: {0}")]
    Database(String),
    /// A stored value could not be read back: a bug or a manual edit.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<surrealdb::Error> for StoreError {
    fn from(err: surrealdb::Error) -> Self {
        classify(err.to_string())
    }
}

/// Unique-index names and the input field each protects.
const UNIQUE_INDEXES: &[(&str, &str, &str)] = &[
    (
        "contact_value",
        "value",
        "another client already has this contact",
    ),
    ("chat_client", "clientId", "this client already has a chat"),
    (
        "user_email",
        "email",
        "a user with this e-mail already exists in the tenant",
    ),
    (
        "template_name",
        "name",
        "a template with this name already exists",
    ),
    (
        "tenant_slug",
        "slug",
        "a tenant with this slug already exists",
    ),
    (
        "member_participant",
        "participant",
        "already a member of this chat",
    ),
];

impl StoreError {
    /// Another transaction (often another hub process) wrote the same records
    /// at the same moment; trying again is the answer.
    pub fn is_write_conflict(&self) -> bool {
        matches!(self, StoreError::Database(m) if is_conflict(m))
    }
}

/// Whether the database's error text reports a write conflict.
pub(super) fn is_conflict(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("conflict") || m.contains("can be retried")
}

pub(crate) fn classify(message: String) -> StoreError {
    if let Some((_, field, text)) = UNIQUE_INDEXES.iter().find(|(index, _, _)| {
        message.contains(&format!("`{index}`")) && message.contains("already contains")
    }) {
        return StoreError::Conflict {
            field,
            message: (*text).to_owned(),
        };
    }
    if message.contains("already exists") {
        return StoreError::Conflict {
            field: "id",
            message: "a record with this id already exists".into(),
        };
    }
    StoreError::Database(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_index_violations_become_conflicts_naming_the_field() {
        let e = classify("Database index `contact_value` already contains ['x', 'phone', '+1'], with record `contact:1`".into());
        assert!(matches!(e, StoreError::Conflict { field: "value", .. }));
        assert!(matches!(
            classify("connection refused".into()),
            StoreError::Database(_)
        ));
    }
}
