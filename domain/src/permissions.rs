//! The one permission table: which role may do what.
//!
//! Every API entry point names an [`Action`] and asks [`allowed`]; nothing
//! else in the hub decides permissions, so the table below is the complete
//! answer to "who can do this?".

use super::user::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ReadClients,
    CreateClient,
    UpdateClient,
    DeleteClient,
    ReadChats,
    OpenChat,
    SendMessage,
    MarkRead,
    ReadTemplates,
    ManageTemplates,
    ReadAuditLog,
    ManageUsers,
    ManageApiTokens,
    ManageWebhooks,
    /// Provider plugins: their settings (secrets included) and reloading them.
    ManagePlugins,
    /// Everything held about a client, in one archive (GDPR access).
    ExportClientData,
    /// Removing a client and their data for good (GDPR erasure).
    EraseClient,
    /// How long messages and attachments are kept.
    ManageRetention,
}

impl Action {
    pub const ALL: [Action; 18] = [
        Action::ReadClients,
        Action::CreateClient,
        Action::UpdateClient,
        Action::DeleteClient,
        Action::ReadChats,
        Action::OpenChat,
        Action::SendMessage,
        Action::MarkRead,
        Action::ReadTemplates,
        Action::ManageTemplates,
        Action::ReadAuditLog,
        Action::ManageUsers,
        Action::ManageApiTokens,
        Action::ManageWebhooks,
        Action::ManagePlugins,
        Action::ExportClientData,
        Action::EraseClient,
        Action::ManageRetention,
    ];

    /// How the action is named in error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Action::ReadClients => "read clients",
            Action::CreateClient => "create clients",
            Action::UpdateClient => "update clients",
            Action::DeleteClient => "delete clients",
            Action::ReadChats => "read chats",
            Action::OpenChat => "open chats",
            Action::SendMessage => "send messages",
            Action::MarkRead => "mark messages read",
            Action::ReadTemplates => "read templates",
            Action::ManageTemplates => "manage templates",
            Action::ReadAuditLog => "read the audit log",
            Action::ManageUsers => "manage users",
            Action::ManageApiTokens => "manage API tokens",
            Action::ManageWebhooks => "manage webhooks",
            Action::ManagePlugins => "manage provider plugins",
            Action::ExportClientData => "export a client's data",
            Action::EraseClient => "erase clients",
            Action::ManageRetention => "manage the retention policy",
        }
    }
}

/// Whether `role` may perform `action`.
///
/// Working with customers is everyone's job; deleting them, reviewing the
/// audit trail and configuring the tenant are not.
pub fn allowed(role: Role, action: Action) -> bool {
    use Action::*;
    match action {
        ReadClients | CreateClient | UpdateClient | ReadChats | OpenChat | SendMessage
        | MarkRead | ReadTemplates => true,
        DeleteClient => matches!(role, Role::Admin | Role::TeamLead),
        ReadAuditLog => matches!(role, Role::Admin | Role::TeamLead),
        ManageTemplates | ManageUsers | ManageApiTokens | ManageWebhooks | ManagePlugins
        | ExportClientData | EraseClient | ManageRetention => role == Role::Admin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_may_do_everything() {
        for action in Action::ALL {
            assert!(allowed(Role::Admin, action), "{action:?}");
        }
    }

    #[test]
    fn administrators_configure_templates_and_manage_team_access() {
        for role in [Role::TeamLead, Role::Agent, Role::SalesRep] {
            assert!(!allowed(role, Action::ManageTemplates));
            assert!(!allowed(role, Action::ManageUsers));
            assert!(!allowed(role, Action::ManageApiTokens));
        }
    }

    #[test]
    fn team_leads_review_communication_history() {
        assert!(allowed(Role::TeamLead, Action::ReadAuditLog));
        assert!(!allowed(Role::Agent, Action::ReadAuditLog));
        assert!(!allowed(Role::SalesRep, Action::ReadAuditLog));
    }

    #[test]
    fn sales_reps_create_clients_and_send_messages() {
        assert!(allowed(Role::SalesRep, Action::CreateClient));
        assert!(allowed(Role::SalesRep, Action::SendMessage));
        assert!(!allowed(Role::SalesRep, Action::DeleteClient));
    }
}
