//! The file store for attachment contents: one directory per tenant, each
//! file named by the hex SHA-256 of its bytes, so a file stored twice is kept
//! once and can be checked against its name. Another tenant's file is not
//! reachable: every path starts at the caller's own tenant folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::domain::ids::TenantId;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file is {size} bytes, over the {max}-byte limit")]
    TooLarge { size: usize, max: usize },
    #[error("`{0}` is not a file id")]
    BadId(String),
    #[error("file store: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
    max_bytes: usize,
}

/// A file id is the 64 hex digits of its SHA-256, nothing else.
fn valid_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl FileStore {
    pub fn from_config(config: &crate::config::FilesConfig) -> Self {
        Self::new(
            config.dir.clone(),
            config.max_file_mib as usize * 1024 * 1024,
        )
    }

    pub fn new(dir: impl Into<PathBuf>, max_bytes: usize) -> Self {
        Self {
            dir: dir.into(),
            max_bytes,
        }
    }

    fn path(&self, tenant: TenantId, id: &str) -> Result<PathBuf, FileError> {
        if !valid_id(id) {
            return Err(FileError::BadId(id.chars().take(80).collect()));
        }
        Ok(self.dir.join(tenant.to_string()).join(id))
    }

    /// Keeps `bytes` for `tenant`; returns their id (hex SHA-256). Runs on a
    /// blocking thread: hashing, writing and syncing a large file would stall
    /// every task of an async worker meanwhile.
    pub async fn put(&self, tenant: TenantId, bytes: Vec<u8>) -> Result<String, FileError> {
        let store = self.clone();
        blocking(move || store.put_now(tenant, &bytes)).await
    }

    /// The bytes of `tenant`'s file `id`, or `None` when it has no such file.
    pub async fn get(&self, tenant: TenantId, id: &str) -> Result<Option<Vec<u8>>, FileError> {
        let (store, id) = (self.clone(), id.to_owned());
        blocking(move || store.get_now(tenant, &id)).await
    }

    /// Removes `tenant`'s file `id` for good (an erasure); a missing file is fine.
    pub async fn remove(&self, tenant: TenantId, id: &str) -> Result<(), FileError> {
        let path = self.path(tenant, id)?;
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        })
        .await
    }

    /// Written to a temporary file, synced and renamed, then the folder is
    /// synced: a crash leaves either the whole file or none, and a file
    /// whose id was returned survives one.
    fn put_now(&self, tenant: TenantId, bytes: &[u8]) -> Result<String, FileError> {
        if bytes.len() > self.max_bytes {
            return Err(FileError::TooLarge {
                size: bytes.len(),
                max: self.max_bytes,
            });
        }
        let id = crate::auth::hex(&Sha256::digest(bytes));
        let path = self.path(tenant, &id)?;
        if path.exists() {
            return Ok(id);
        }
        let folder = path.parent().expect("a tenant folder");
        std::fs::create_dir_all(folder)?;
        let (tmp, mut file) = tempfile_in(folder)?;
        let written = file
            .write_all(bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
        std::fs::File::open(folder)?.sync_all()?;
        Ok(id)
    }

    fn get_now(&self, tenant: TenantId, id: &str) -> Result<Option<Vec<u8>>, FileError> {
        match std::fs::read(self.path(tenant, id)?) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, FileError> + Send + 'static,
) -> Result<T, FileError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| FileError::Io(std::io::Error::other(e)))?
}

/// A new file beside where the final one goes (same file system, so the
/// rename is atomic).
fn tempfile_in(folder: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = format!(".tmp-{}", uuid::Uuid::now_v7());
    let path = folder.join(name);
    let file = std::fs::File::create_new(&path)?;
    Ok((path, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_are_kept_by_hash_once_and_per_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path(), 16);
        let (a, b) = (TenantId::new(), TenantId::new());
        let id = store.put(a, b"hello".to_vec()).await.unwrap();
        assert_eq!(
            id,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(
            store.put(a, b"hello".to_vec()).await.unwrap(),
            id,
            "stored once"
        );
        assert_eq!(
            store.get(a, &id).await.unwrap().as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(
            store.get(b, &id).await.unwrap(),
            None,
            "another tenant's file"
        );
        assert!(matches!(
            store.put(a, vec![0; 17]).await,
            Err(FileError::TooLarge { size: 17, max: 16 })
        ));
        assert!(matches!(
            store.get(a, "../../etc/passwd").await,
            Err(FileError::BadId(_))
        ));
        // Only finished files are left in the tenant's folder.
        let names: Vec<_> = std::fs::read_dir(dir.path().join(a.to_string()))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [id]);
    }
}
