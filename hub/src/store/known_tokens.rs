//! Tokens and their users as last read, so that a request is authenticated
//! without a round trip to the database.
//!
//! Every authenticated request starts by reading its token and the token's
//! user; both change only when a token is revoked or a user is changed
//! (deactivation, role, password), and each of those writes logs an event
//! (`token.revoked`, `user.updated`). The hub that writes it forgets the
//! tenant's tokens as it commits; every other hub when its tailer reads the
//! event. A token is read again after [`KEPT`] regardless, which bounds how
//! long a hub whose tailer stalled honours a revoked token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::ids::TenantId;
use crate::domain::user::User;

use super::tokens::TokenRecord;

/// How long a token and its user are used without reading them again.
const KEPT: Duration = Duration::from_secs(10);
/// Tokens kept; past that every token is read again.
const KEPT_TOKENS: usize = 10_000;

/// A token found, with its user (`None` when the user no longer exists).
pub type Found = Arc<(TokenRecord, Option<User>)>;

#[derive(Default)]
pub(crate) struct KnownTokens {
    known: Mutex<Known>,
}

#[derive(Default)]
struct Known {
    /// By the token's hash.
    tokens: HashMap<String, (Instant, Found)>,
    /// Moves on at every change, so that a read that began before a change
    /// is not kept after it.
    generation: u64,
}

impl KnownTokens {
    /// The token with hash `hash_hex` as last read, when read recently.
    pub fn get(&self, hash_hex: &str) -> Option<Found> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known
            .tokens
            .get(hash_hex)
            .filter(|(at, _)| at.elapsed() < KEPT)
            .map(|(_, found)| found.clone())
    }

    /// Where reads stand: pass it to [`KnownTokens::keep`] with what is read.
    pub fn generation(&self) -> u64 {
        self.known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .generation
    }

    /// Keeps `found`, read when the generation was `generation`, unless
    /// something changed since. Tokens not found are never kept: a token is
    /// created before it is handed out, and guesses must not fill the map.
    pub fn keep(&self, hash_hex: &str, generation: u64, found: Found) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.generation != generation {
            return;
        }
        if known.tokens.len() >= KEPT_TOKENS {
            known.tokens.clear();
        }
        known
            .tokens
            .insert(hash_hex.to_owned(), (Instant::now(), found));
    }

    /// Forgets every token of `tenant`: one of them was revoked or one of
    /// its users changed.
    pub fn forget(&self, tenant: TenantId) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.generation += 1;
        known
            .tokens
            .retain(|_, (_, found)| found.0.tenant != tenant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserId;
    use crate::store::tokens::TokenKind;

    fn found(tenant: TenantId) -> Found {
        Arc::new((
            TokenRecord {
                id: uuid::Uuid::now_v7(),
                tenant,
                user: UserId::new(),
                kind: TokenKind::Session,
                name: None,
                created_at: chrono::Utc::now(),
                expires_at: None,
                revoked_at: None,
            },
            None,
        ))
    }

    #[test]
    fn forgetting_a_tenant_keeps_the_others_tokens() {
        let known = KnownTokens::default();
        let (a, b) = (TenantId::new(), TenantId::new());
        let g = known.generation();
        known.keep("a", g, found(a));
        known.keep("b", g, found(b));
        known.forget(a);
        assert!(known.get("a").is_none());
        assert_eq!(known.get("b").map(|f| f.0.tenant), Some(b));
    }

    #[test]
    fn a_read_that_began_before_a_change_is_not_kept() {
        let known = KnownTokens::default();
        let a = TenantId::new();
        let before = known.generation();
        known.forget(a);
        known.keep("a", before, found(a));
        assert!(known.get("a").is_none());
        known.keep("a", known.generation(), found(a));
        assert!(known.get("a").is_some());
    }
}
