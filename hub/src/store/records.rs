//! Record ids. Every id's first part is the tenant, so a handle bound to one
//! tenant cannot even name another tenant's records.

use surrealdb::types::{RecordId, RecordIdKey, Value};
use uuid::Uuid;

use super::error::{StoreError, StoreResult};

/// `table:[part, part, …]`.
pub fn rid(table: &str, parts: impl IntoIterator<Item = Value>) -> RecordId {
    RecordId::new(
        table,
        RecordIdKey::Array(parts.into_iter().collect::<Vec<_>>().into()),
    )
}

pub fn uuid_value(id: Uuid) -> Value {
    Value::Uuid(id.into())
}

/// The uuid at `index` of an array record id.
pub fn uuid_part(id: &RecordId, index: usize) -> StoreResult<Uuid> {
    if let RecordIdKey::Array(parts) = &id.key {
        let parts: Vec<Value> = parts.clone().into();
        if let Some(Value::Uuid(u)) = parts.get(index) {
            return Ok((*u).into());
        }
    }
    Err(StoreError::Corrupt(format!("unexpected record id {id:?}")))
}
