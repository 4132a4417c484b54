//! The authenticated caller of a request.

use uuid::Uuid;

use crate::domain::events::Actor;
use crate::domain::ids::TenantId;
use crate::domain::permissions::{Action, allowed};
use crate::domain::user::User;

/// Made only from a valid token; carries the tenant every store call is bound to.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    /// The public id of the token used, so it can be revoked ("sign out").
    pub token_id: Uuid,
}

impl Principal {
    pub fn tenant(&self) -> TenantId {
        self.user.tenant
    }

    pub fn actor(&self) -> Actor {
        Actor::User(self.user.id)
    }

    /// The one permission check: `Err` names the action refused.
    pub fn require(&self, action: Action) -> Result<(), String> {
        if allowed(self.user.role, action) {
            Ok(())
        } else {
            Err(format!(
                "your role ({}) may not {}",
                self.user.role,
                action.describe()
            ))
        }
    }
}
