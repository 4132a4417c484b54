//! The one error type of the domain: a rule was broken.

/// A broken business rule, naming the field at fault so the API can say
/// exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DomainError {
    /// The input field that broke the rule, in the API's spelling (`firstName`).
    pub field: &'static str,
    /// What was wrong and, where it helps, what would be accepted.
    pub message: String,
}

impl DomainError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

/// Trims `value` and rejects it when empty or longer than `max` characters.
pub(crate) fn required_text(field: &'static str, value: &str, max: usize) -> DomainResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(DomainError::new(field, "must not be empty"));
    }
    bounded(field, trimmed, max)
}

/// Trims `value`; an empty value means "not set".
pub(crate) fn optional_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> DomainResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => bounded(field, v, max).map(Some),
    }
}

fn bounded(field: &'static str, value: &str, max: usize) -> DomainResult<String> {
    let len = value.chars().count();
    if len > max {
        return Err(DomainError::new(
            field,
            format!("is {len} characters long; at most {max} are allowed"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(DomainError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_is_trimmed_and_bounded() {
        assert_eq!(required_text("f", "  Ann ", 10).unwrap(), "Ann");
        assert_eq!(required_text("f", "   ", 10).unwrap_err().field, "f");
        assert!(
            required_text("f", "abcdef", 5)
                .unwrap_err()
                .message
                .contains("at most 5")
        );
        assert!(required_text("f", "a\u{0}b", 5).is_err());
    }

    #[test]
    fn optional_text_treats_blank_as_unset() {
        assert_eq!(optional_text("f", Some("  "), 3).unwrap(), None);
        assert_eq!(optional_text("f", None, 3).unwrap(), None);
        assert_eq!(
            optional_text("f", Some(" x "), 3).unwrap(),
            Some("x".into())
        );
    }
}
