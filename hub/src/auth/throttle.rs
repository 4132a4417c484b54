//! Sign-in throttling: a run of wrong passwords for one account locks that
//! account's sign-in for a while, so a password cannot be guessed at the
//! speed of the network. Counted per account name, whether or not it exists,
//! so a lock tells nothing about which accounts are real.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Accounts tracked before expired entries are swept out.
const SWEEP_AT: usize = 10_000;

pub struct SignInThrottle {
    /// Wrong passwords allowed within `window`.
    limit: u32,
    window: Duration,
    accounts: Mutex<HashMap<String, Failures>>,
}

struct Failures {
    count: u32,
    /// When the first failure of this run happened; the run ends `window` later.
    since: Instant,
}

impl SignInThrottle {
    /// As `auth.sign_in_attempts` and `auth.sign_in_lock_minutes` say.
    pub fn from_config(auth: &crate::config::AuthConfig) -> Self {
        Self::new(
            auth.sign_in_attempts,
            Duration::from_secs(u64::from(auth.sign_in_lock_minutes) * 60),
        )
    }

    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` while `account` is locked: how long until it may try again.
    pub fn check(&self, account: &str, now: Instant) -> Result<(), Duration> {
        let accounts = self.accounts.lock().expect("throttle lock");
        match accounts.get(account) {
            Some(f) if f.count >= self.limit => {
                let until = f.since + self.window;
                if now < until {
                    Err(until - now)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// A wrong password (or an unknown account) for `account`.
    pub fn failed(&self, account: &str, now: Instant) {
        let mut accounts = self.accounts.lock().expect("throttle lock");
        if accounts.len() >= SWEEP_AT {
            let window = self.window;
            accounts.retain(|_, f| now < f.since + window);
        }
        let f = accounts.entry(account.to_owned()).or_insert(Failures {
            count: 0,
            since: now,
        });
        if now >= f.since + self.window {
            *f = Failures {
                count: 0,
                since: now,
            };
        }
        f.count += 1;
    }

    /// A correct password ends the account's run of failures.
    pub fn succeeded(&self, account: &str) {
        self.accounts.lock().expect("throttle lock").remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(900);

    #[test]
    fn the_limit_th_failure_locks_the_account_until_the_window_ends() {
        let t = SignInThrottle::new(3, WINDOW);
        let start = Instant::now();
        for i in 0..3 {
            assert_eq!(t.check("acme/ann", start), Ok(()), "attempt {i}");
            t.failed("acme/ann", start + Duration::from_secs(i));
        }
        let later = start + Duration::from_secs(100);
        assert_eq!(
            t.check("acme/ann", later),
            Err(WINDOW - Duration::from_secs(100))
        );
        // Another account, or the same name in another tenant, is not affected.
        assert_eq!(t.check("acme/bob", later), Ok(()));
        assert_eq!(t.check("other/ann", later), Ok(()));
        assert_eq!(t.check("acme/ann", start + WINDOW), Ok(()));
    }

    #[test]
    fn a_run_that_outlives_the_window_starts_over() {
        let t = SignInThrottle::new(2, WINDOW);
        let start = Instant::now();
        t.failed("a", start);
        t.failed("a", start + WINDOW);
        assert_eq!(t.check("a", start + WINDOW), Ok(()));
        t.failed("a", start + WINDOW + Duration::from_secs(1));
        assert!(
            t.check("a", start + WINDOW + Duration::from_secs(2))
                .is_err()
        );
    }

    #[test]
    fn a_correct_password_clears_the_failures() {
        let t = SignInThrottle::new(2, WINDOW);
        let start = Instant::now();
        t.failed("a", start);
        t.succeeded("a");
        t.failed("a", start);
        assert_eq!(t.check("a", start), Ok(()));
    }

    #[test]
    fn expired_runs_are_swept_once_many_accounts_are_tracked() {
        let t = SignInThrottle::new(1, WINDOW);
        let start = Instant::now();
        for i in 0..SWEEP_AT {
            t.failed(&format!("old{i}"), start);
        }
        t.failed("new", start + WINDOW);
        assert_eq!(t.accounts.lock().unwrap().len(), 1);
    }
}
