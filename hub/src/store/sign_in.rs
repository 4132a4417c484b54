//! Runs of wrong passwords, per account, for the sign-in throttle
//! (`crate::auth::SignInThrottle`): kept in the database so that every hub
//! process on it counts the same run.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use surrealdb::types::{RecordId, SurrealValue};

use super::Store;
use super::error::StoreResult;
use super::records::rid;

/// An account's current run of wrong passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct Failures {
    pub count: i64,
    /// When the run's first failure happened.
    pub since: DateTime<Utc>,
}

fn failure_rid(account: &str) -> RecordId {
    let digest = crate::domain::hex(&Sha256::digest(account.as_bytes()));
    rid("sign_in_failure", [surrealdb::types::Value::String(digest)])
}

impl Store {
    pub async fn sign_in_failures(&self, account: &str) -> StoreResult<Option<Failures>> {
        let rows: Vec<Failures> = self
            .db()
            .query("SELECT count, since FROM $id")
            .bind(("id", failure_rid(account)))
            .await?
            .take(0)?;
        Ok(rows.into_iter().next())
    }

    /// Counts a wrong password: the run goes on, or a new one starts at
    /// `now` when the last began `window` or longer ago.
    pub async fn count_sign_in_failure(
        &self,
        account: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> StoreResult<()> {
        let restart_before = now - window;
        super::batch::retry_conflicts(|| async {
            self.db()
                .query(
                    "UPSERT $id SET
                       count = IF since = NONE OR since <= $restart_before THEN 1 ELSE count + 1 END,
                       since = IF since = NONE OR since <= $restart_before THEN $now ELSE since END
                     RETURN NONE",
                )
                .bind(("id", failure_rid(account)))
                .bind(("now", now))
                .bind(("restart_before", restart_before))
                .await
                .and_then(|r| r.check())
                .map(|_| ())
                .map_err(|e| super::error::classify(e.to_string()))
        })
        .await
    }

    /// A correct password ends the account's run.
    pub async fn clear_sign_in_failures(&self, account: &str) -> StoreResult<()> {
        self.db()
            .query("DELETE $id")
            .bind(("id", failure_rid(account)))
            .await?
            .check()
            .map_err(|e| super::error::classify(e.to_string()))?;
        Ok(())
    }

    /// Forgets runs that began before `before`: they lock nothing any more.
    pub async fn sweep_sign_in_failures(&self, before: DateTime<Utc>) -> StoreResult<()> {
        self.db()
            .query("DELETE sign_in_failure WHERE since < $before")
            .bind(("before", before))
            .await?
            .check()
            .map_err(|e| super::error::classify(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema_tests::store;
    use chrono::Duration;

    #[tokio::test]
    async fn a_run_counts_starts_over_after_the_window_and_clears() {
        let (_dir, store) = store().await;
        let window = Duration::seconds(900);
        let start = chrono::Utc::now();
        assert_eq!(store.sign_in_failures("acme/ann").await.unwrap(), None);
        for i in 0..3 {
            store
                .count_sign_in_failure("acme/ann", start + Duration::seconds(i), window)
                .await
                .unwrap();
        }
        let f = store.sign_in_failures("acme/ann").await.unwrap().unwrap();
        assert_eq!(f.count, 3);
        assert_eq!(f.since.timestamp_micros(), start.timestamp_micros());
        assert_eq!(store.sign_in_failures("other/ann").await.unwrap(), None);

        // A failure after the window starts a new run.
        let later = start + window + Duration::seconds(1);
        store
            .count_sign_in_failure("acme/ann", later, window)
            .await
            .unwrap();
        let f = store.sign_in_failures("acme/ann").await.unwrap().unwrap();
        assert_eq!(
            (f.count, f.since.timestamp_micros()),
            (1, later.timestamp_micros())
        );

        // Sweeping forgets runs that began before the cut; a success clears.
        store
            .count_sign_in_failure("acme/bob", start, window)
            .await
            .unwrap();
        store
            .sweep_sign_in_failures(start + Duration::seconds(1))
            .await
            .unwrap();
        assert_eq!(store.sign_in_failures("acme/bob").await.unwrap(), None);
        assert!(store.sign_in_failures("acme/ann").await.unwrap().is_some());
        store.clear_sign_in_failures("acme/ann").await.unwrap();
        assert_eq!(store.sign_in_failures("acme/ann").await.unwrap(), None);
    }
}
