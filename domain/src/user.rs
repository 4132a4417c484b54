//! People who work in the hub, each with one role in one tenant.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::contact::normalise_email;
use super::error::required_text;
use super::ids::{TenantId, UserId};
use super::{DomainError, DomainResult};

/// What a user is allowed to do is decided by their role alone (see
/// [`super::permissions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    TeamLead,
    Agent,
    SalesRep,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::TeamLead, Role::Agent, Role::SalesRep];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::TeamLead => "team_lead",
            Role::Agent => "agent",
            Role::SalesRep => "sales_rep",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                DomainError::new(
                    "role",
                    format!("`{s}` is not a role; use admin, team_lead, agent or sales_rep"),
                )
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub tenant: TenantId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// A deactivated user cannot sign in and their tokens stop working.
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl User {
    pub fn new(
        tenant: TenantId,
        email: &str,
        name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> DomainResult<Self> {
        Ok(Self {
            id: UserId::new(),
            tenant,
            email: normalise_email(email).map_err(|e| DomainError::new("email", e.message))?,
            name: required_text("name", name, 200)?,
            role,
            active: true,
            created_at: now,
        })
    }
}

impl User {
    pub fn rename(&mut self, name: &str) -> DomainResult<()> {
        self.name = required_text("name", name, 200)?;
        Ok(())
    }
}

/// Passwords shorter than this are refused; length beats composition rules.
pub const MIN_PASSWORD_LEN: usize = 10;

pub fn check_password_strength(password: &str) -> DomainResult<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(DomainError::new(
            "password",
            format!("must be at least {MIN_PASSWORD_LEN} characters long"),
        ));
    }
    if password.len() > 1024 {
        return Err(DomainError::new(
            "password",
            "must be at most 1024 bytes long",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert_eq!("root".parse::<Role>().unwrap_err().field, "role");
    }

    #[test]
    fn user_email_is_normalised() {
        let u = User::new(
            TenantId::new(),
            " Ann@Example.COM ",
            "Ann",
            Role::Agent,
            Utc::now(),
        )
        .unwrap();
        assert_eq!(u.email, "ann@example.com");
        assert!(User::new(TenantId::new(), "nope", "Ann", Role::Agent, Utc::now()).is_err());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_password_strength("short").is_err());
        assert!(check_password_strength("long enough pass").is_ok());
    }
}
