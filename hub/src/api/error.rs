//! The one mapping from failures to what API callers see.
//!
//! Every error carries a machine code (`UNAUTHENTICATED`, `FORBIDDEN`,
//! `NOT_FOUND`, `VALIDATION`, `CONFLICT`, `INTERNAL`) and, where one input
//! is at fault, its name in `field`.

use async_graphql::ErrorExtensions;

use crate::domain::DomainError;
use crate::store::StoreError;

/// Deliberately not `Display`: async-graphql turns every `Display` error into
/// a bare message, and this type must keep its code on the way out.
#[derive(Debug, Clone)]
pub enum ApiError {
    Unauthenticated(String),
    Forbidden(String),
    NotFound(&'static str),
    Validation {
        field: String,
        message: String,
    },
    Conflict {
        field: String,
        message: String,
    },
    /// A live subscriber fell too far behind: it must resubscribe with `after`.
    Resync {
        after: i64,
    },
    /// Too many wrong passwords for one account: it may try again after this
    /// many seconds.
    SignInLocked {
        retry_after_secs: u64,
    },
    Internal,
}

impl ApiError {
    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated(m) | ApiError::Forbidden(m) => m.clone(),
            ApiError::NotFound(what) => format!("{what} not found"),
            ApiError::Validation { field, message } | ApiError::Conflict { field, message } => {
                format!("{field}: {message}")
            }
            ApiError::Resync { after } => format!(
                "this subscription fell too far behind and was closed; subscribe again with after: \"{after}\" to receive what was missed"
            ),
            ApiError::SignInLocked { retry_after_secs } => format!(
                "too many wrong passwords for this account; try again in {retry_after_secs} s"
            ),
            ApiError::Internal => "internal error; the hub's log has the details".into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::Validation { .. } => "VALIDATION",
            ApiError::Conflict { .. } => "CONFLICT",
            ApiError::Resync { .. } => "RESYNC",
            ApiError::SignInLocked { .. } => "RATE_LIMITED",
            ApiError::Internal => "INTERNAL",
        }
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ApiError::Validation { field, .. } | ApiError::Conflict { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ApiError::Validation {
            field: e.field.to_owned(),
            message: e.message,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what } => ApiError::NotFound(what),
            StoreError::Conflict { field, message } => ApiError::Conflict {
                field: field.to_owned(),
                message,
            },
            StoreError::Invalid(d) => d.into(),
            StoreError::Database(_) | StoreError::Corrupt(_) => {
                tracing::error!(error = %e, "store failure");
                ApiError::Internal
            }
        }
    }
}

impl From<crate::privacy::PrivacyError> for ApiError {
    fn from(e: crate::privacy::PrivacyError) -> Self {
        match e {
            crate::privacy::PrivacyError::Store(e) => e.into(),
            crate::privacy::PrivacyError::Files(e) => {
                tracing::error!("file store: {e}");
                ApiError::Internal
            }
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        let mut err = async_graphql::Error::new(e.message());
        let code = e.code();
        let field = e.field().map(str::to_owned);
        // What a client needs to act on the error: where to resume, when to retry.
        let detail: Option<(&str, async_graphql::Value)> = match e {
            ApiError::Resync { after } => Some(("after", after.to_string().into())),
            ApiError::SignInLocked { retry_after_secs } => {
                Some(("retryAfter", retry_after_secs.into()))
            }
            _ => None,
        };
        err = err.extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(f) = &field {
                ext.set("field", f.as_str());
            }
            if let Some((name, value)) = detail.clone() {
                ext.set(name, value);
            }
        });
        err
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
