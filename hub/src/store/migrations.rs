//! Versioned schema migrations from `schema/surql/`, applied in order at start-up.
//!
//! Each file runs in its own transaction together with the row that records
//! it, so a migration is either applied and recorded or not at all.

use chrono::Utc;
use surrealdb::Surreal;
use surrealdb::engine::any::Any;

use super::error::{StoreError, StoreResult};

/// (version, name, SurrealQL). Append only: a released migration never changes.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../../schema/surql/0001_initial.surql"),
    ),
    (
        2,
        "delivery",
        include_str!("../../../schema/surql/0002_delivery.surql"),
    ),
    (
        3,
        "audit_chain",
        include_str!("../../../schema/surql/0003_audit_chain.surql"),
    ),
    (
        4,
        "erasure",
        include_str!("../../../schema/surql/0004_erasure.surql"),
    ),
    (
        5,
        "retention",
        include_str!("../../../schema/surql/0005_retention.surql"),
    ),
    (
        6,
        "poll_lease",
        include_str!("../../../schema/surql/0006_poll_lease.surql"),
    ),
    (
        7,
        "sign_in_failures",
        include_str!("../../../schema/surql/0007_sign_in_failures.surql"),
    ),
    (
        8,
        "client_contacts",
        include_str!("../../../schema/surql/0008_client_contacts.surql"),
    ),
    (
        9,
        "search_behind",
        include_str!("../../../schema/surql/0009_search_behind.surql"),
    ),
];

/// The version the schema has once every migration is applied.
#[cfg(test)]
pub(crate) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

pub(crate) async fn current_version(db: &Surreal<Any>) -> StoreResult<i64> {
    let mut response = db
        .query("DEFINE TABLE IF NOT EXISTS migration SCHEMALESS; SELECT VALUE version FROM migration ORDER BY version DESC LIMIT 1")
        .await?;
    let versions: Vec<i64> = response.take(1)?;
    Ok(versions.first().copied().unwrap_or(0))
}

pub(crate) async fn apply(db: &Surreal<Any>) -> StoreResult<()> {
    let current = current_version(db).await?;
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        return Err(StoreError::Database(format!(
            "the database is at schema version {current}, newer than this hub knows ({latest}); upgrade the hub"
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tracing::info!(version, name, "applying migration");
        let script = format!(
            "BEGIN TRANSACTION;\n{sql}\nCREATE type::record('migration', $version) SET version = $version, name = $name, applied_at = $at;\nCOMMIT TRANSACTION;"
        );
        let mut response = db
            .query(script)
            .bind(("version", *version))
            .bind(("name", *name))
            .bind(("at", Utc::now()))
            .await?;
        let mut errors: Vec<(usize, String)> = response
            .take_errors()
            .into_iter()
            .map(|(i, e)| (i, e.to_string()))
            .collect();
        errors.sort_by_key(|(i, _)| *i);
        if let Some((statement, err)) = errors.first() {
            // Another hub process starting on the same database applied it
            // at the same moment: its transaction won, ours conflicted.
            if current_version(db).await? >= *version {
                tracing::info!(version, name, "migration applied by another hub process");
                continue;
            }
            return Err(StoreError::Database(format!(
                "migration {version} ({name}) failed at statement {statement}: {err}"
            )));
        }
    }
    Ok(())
}
