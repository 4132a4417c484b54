//! Creating tenants and their first admin: on the first start with an
//! empty database, and from `hub tenant create`.

use chrono::Utc;
use rand::Rng;

use crate::auth::hash_password;
use crate::domain::events::Actor;
use crate::domain::tenant::Tenant;
use crate::domain::user::{Role, User, check_password_strength};
use crate::store::{Store, StoreResult};

/// A tenant and its first admin, as created.
pub struct CreatedTenant {
    pub tenant: Tenant,
    pub admin: User,
    /// Set when the password was generated and must be shown to the operator once.
    pub generated_password: Option<String>,
}

/// A readable random password: 20 characters from a 56-letter alphabet (116 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Creates a tenant with one admin user.
pub async fn create_tenant(
    store: &Store,
    name: &str,
    slug: &str,
    admin_email: &str,
    admin_password: Option<&str>,
) -> StoreResult<CreatedTenant> {
    let now = Utc::now();
    let tenant = Tenant::new(name, slug, now)?;
    let admin = User::new(tenant.id, admin_email, "Administrator", Role::Admin, now)?;
    let (password, generated) = match admin_password {
        Some(p) => {
            check_password_strength(p)?;
            (p.to_owned(), None)
        }
        None => {
            let p = generate_password();
            (p.clone(), Some(p))
        }
    };
    store.create_tenant(&tenant).await?;
    store
        .tenant(tenant.id)
        .create_user(&admin, &hash_password(&password), &Actor::System)
        .await?;
    Ok(CreatedTenant {
        tenant,
        admin,
        generated_password: generated,
    })
}
