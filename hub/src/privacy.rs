//! A client's rights over their data (GDPR): access (one archive of
//! everything held) and erasure (all of it removed for good). Both need the
//! database and the file store; the API and the `hub client` command share
//! them.

use base64::Engine as _;
use serde_json::Value;

use crate::domain::events::Actor;
use crate::domain::ids::ClientId;
use crate::files::{FileError, FileStore};
use crate::store::gdpr::Erased;
use crate::store::{StoreError, TenantStore};

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("file store: {0}")]
    Files(#[from] FileError),
}

/// The archive: the store's JSON with each attachment's content inline
/// (base64) under `files`, keyed by blob id.
/// The export itself is audited.
pub async fn export(
    store: &TenantStore,
    files: &FileStore,
    client: ClientId,
    actor: &Actor,
) -> Result<Value, PrivacyError> {
    let mut archive = store.export_client(client).await?;
    let mut contents = serde_json::Map::new();
    let ids: Vec<String> = archive["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["attachments"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["blob_id"].as_str().map(str::to_owned))
        .collect();
    for id in ids {
        if contents.contains_key(&id) {
            continue;
        }
        let content = files.get(store.tenant_id(), &id).await?;
        contents.insert(
            id,
            content.map_or(Value::Null, |b| {
                Value::String(base64::engine::general_purpose::STANDARD.encode(b))
            }),
        );
    }
    archive["files"] = Value::Object(contents);
    store.record_export(client, actor).await?;
    Ok(archive)
}

/// Erases the client, then the attachment contents no one else refers to.
pub async fn erase(
    store: &TenantStore,
    files: &FileStore,
    client: ClientId,
    actor: &Actor,
) -> Result<Erased, PrivacyError> {
    let erased = store.erase_client(client, actor).await?;
    for id in &erased.orphaned_files {
        files.remove(store.tenant_id(), id).await?;
    }
    Ok(erased)
}
