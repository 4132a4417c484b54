//! The retention job: removes, tenant by tenant, the messages and attachment
//! contents each tenant's policy no longer keeps. It works in small batches,
//! each its own transaction, and yields between them, so the API never waits
//! on it; every batch is audited (`retention.applied`).

use std::time::Duration;

use chrono::Utc;

use crate::files::FileStore;
use crate::store::{Store, StoreResult, TenantStore};

/// Messages removed per transaction.
const BATCH: usize = 200;

pub fn spawn(store: Store, files: FileStore, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match run_once(&store, &files).await {
                Ok(n) if n > 0 => tracing::info!(removed = n, "retention applied"),
                Ok(_) => {}
                Err(e) => tracing::error!("retention: {e}"),
            }
            tokio::time::sleep(every).await;
        }
    })
}

/// One pass over every tenant with a policy; returns the messages and
/// attachment contents removed.
pub async fn run_once(store: &Store, files: &FileStore) -> StoreResult<usize> {
    let mut removed = 0;
    for tenant in store.tenants_with_retention().await? {
        let ts = store.tenant(tenant);
        let policy = ts.retention_policy().await?;
        let now = Utc::now();
        if let Some(cutoff) = policy.message_cutoff(now) {
            loop {
                let old = ts.messages_before(cutoff, BATCH).await?;
                if old.is_empty() {
                    break;
                }
                let blobs = ts.remove_messages(&old, cutoff).await?;
                removed += old.len();
                remove_unused(&ts, files, &blobs).await?;
                tokio::task::yield_now().await;
            }
        }
        if let Some(cutoff) = policy.attachment_cutoff(now) {
            loop {
                let blobs = ts.expire_attachments(cutoff, BATCH).await?;
                if blobs.is_empty() {
                    break;
                }
                removed += remove_unused(&ts, files, &blobs).await?;
                tokio::task::yield_now().await;
            }
        }
    }
    Ok(removed)
}

/// Deletes the files no kept message refers to; returns how many.
async fn remove_unused(
    ts: &TenantStore,
    files: &FileStore,
    blobs: &[String],
) -> StoreResult<usize> {
    let mut n = 0;
    for blob in blobs {
        if !ts.file_in_use(blob).await? {
            if let Err(e) = files.remove(ts.tenant_id(), blob).await {
                // The record is gone; the next pass does not see this file
                // again, so say which one is left behind.
                tracing::error!(file = %blob, "retention could not remove a file: {e}");
            } else {
                n += 1;
            }
        }
    }
    Ok(n)
}
