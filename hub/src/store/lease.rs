//! Leases on a record: which hub process does a job that must run once
//! across all of them (a plugin's poller, the search indexer), and until when.

use chrono::{DateTime, Utc};
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::types::RecordId;

use super::error::StoreResult;

/// Takes or renews the lease on `id` for `owner` until `until`: true when
/// `owner` holds it now. Two hubs claiming at once conflict in the
/// database; the one that fails holds nothing this round. The record is
/// created when missing.
pub(super) async fn claim(
    db: &Surreal<Any>,
    id: RecordId,
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<bool> {
    let held: Vec<Option<String>> = db
        .query(
            "UPSERT $id SET lease_owner = $owner, lease_until = $until, updated_at = time::now()
               WHERE lease_owner = NONE OR lease_owner = $owner OR lease_until = NONE OR lease_until < $now
               RETURN VALUE lease_owner",
        )
        .bind(("id", id))
        .bind(("owner", owner.to_owned()))
        .bind(("now", now))
        .bind(("until", until))
        .await?
        .take(0)?;
    Ok(held.first().and_then(Option::as_deref) == Some(owner))
}
