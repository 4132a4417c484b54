//! Sign-in throttling: a run of wrong passwords for one account locks that
//! account's sign-in for a while, so a password cannot be guessed at the
//! speed of the network. Counted per account name, whether or not it exists,
//! so a lock tells nothing about which accounts are real. The runs live in
//! the database, so several hub processes behind a load balancer hold one
//! lock, not one each.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::sign_in::Failures;
use crate::store::{Store, StoreResult};

/// Wrong passwords counted between sweeps of expired runs.
const SWEEP_EVERY: u64 = 1_000;

pub struct SignInThrottle {
    /// Wrong passwords allowed within `window`.
    limit: u32,
    window: chrono::Duration,
    store: Store,
    counted: AtomicU64,
}

/// How long `failures` still lock the account at `now`, if they do.
pub fn locked_for(
    failures: Option<Failures>,
    limit: u32,
    window: chrono::Duration,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let f = failures?;
    let until = f.since + window;
    (f.count >= i64::from(limit) && now < until).then(|| (until - now).to_std().unwrap_or_default())
}

impl SignInThrottle {
    /// As `auth.sign_in_attempts` and `auth.sign_in_lock_minutes` say.
    pub fn from_config(auth: &crate::config::AuthConfig, store: Store) -> Self {
        Self::new(
            auth.sign_in_attempts,
            chrono::Duration::minutes(i64::from(auth.sign_in_lock_minutes)),
            store,
        )
    }

    pub fn new(limit: u32, window: chrono::Duration, store: Store) -> Self {
        Self {
            limit,
            window,
            store,
            counted: AtomicU64::new(0),
        }
    }

    /// `Err(wait)` while `account` is locked: how long until it may try again.
    pub async fn check(
        &self,
        account: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<(), Duration>> {
        let failures = self.store.sign_in_failures(account).await?;
        Ok(match locked_for(failures, self.limit, self.window, now) {
            Some(wait) => Err(wait),
            None => Ok(()),
        })
    }

    /// A wrong password (or an unknown account) for `account`.
    pub async fn failed(&self, account: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.store
            .count_sign_in_failure(account, now, self.window)
            .await?;
        if self.counted.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.store.sweep_sign_in_failures(now - self.window).await?;
        }
        Ok(())
    }

    /// A correct password ends the account's run of failures.
    pub async fn succeeded(&self, account: &str) -> StoreResult<()> {
        self.store.clear_sign_in_failures(account).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> chrono::Duration {
        chrono::Duration::seconds(900)
    }

    fn run(count: i64, since: DateTime<Utc>) -> Option<Failures> {
        Some(Failures { count, since })
    }

    #[test]
    fn the_limit_th_failure_locks_the_account_until_the_window_ends() {
        let start = Utc::now();
        let later = start + chrono::Duration::seconds(100);
        assert_eq!(locked_for(run(2, start), 3, window(), later), None);
        assert_eq!(
            locked_for(run(3, start), 3, window(), later),
            Some(Duration::from_secs(800))
        );
        assert_eq!(
            locked_for(run(3, start), 3, window(), start + window()),
            None
        );
        assert_eq!(locked_for(None, 3, window(), later), None);
    }
}
