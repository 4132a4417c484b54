//! One shape for every list the API pages through: a tenant's rows in the
//! order of a sort key, starting after a cursor, read forwards (see `ranks`).

use std::collections::BTreeMap;

use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::types::{SurrealValue, Value};

use super::error::StoreResult;
use super::events::LOG_POSITION;
use crate::domain::ids::TenantId;

pub(crate) struct Page {
    table: &'static str,
    key: &'static str,
    conditions: Vec<String>,
    vars: BTreeMap<String, Value>,
}

impl Page {
    /// `table`'s rows of `tenant` in ascending `key` order.
    pub fn new(tenant: TenantId, table: &'static str, key: &'static str) -> Self {
        let mut vars = BTreeMap::new();
        vars.insert("tenant".to_owned(), tenant.uuid().into_value());
        Self {
            table,
            key,
            conditions: vec!["tenant = $tenant".to_owned()],
            vars,
        }
    }

    /// Adds a condition with no parameters.
    pub fn when(mut self, condition: &str) -> Self {
        self.conditions.push(condition.to_owned());
        self
    }

    /// Adds `field = value`.
    pub fn equals(mut self, field: &str, value: impl SurrealValue) -> Self {
        let name = format!("p{}", self.vars.len());
        self.conditions.push(format!("{field} = ${name}"));
        self.vars.insert(name, value.into_value());
        self
    }

    /// Starts after the row whose key is `key`.
    pub fn after(mut self, key: Option<String>) -> Self {
        if let Some(k) = key {
            self.conditions.push(format!("{} > $after", self.key));
            self.vars.insert("after".to_owned(), k.into_value());
        }
        self
    }

    pub async fn fetch<T: SurrealValue>(
        self,
        db: &Surreal<Any>,
        limit: usize,
    ) -> StoreResult<Vec<T>> {
        Ok(self.fetch_at(db, limit, false).await?.0)
    }

    /// [`Self::fetch`], and with `position` the event log's position just
    /// before the page was read, in the same round trip: what a live list
    /// hands out as its cursor.
    pub async fn fetch_at<T: SurrealValue>(
        self,
        db: &Surreal<Any>,
        limit: usize,
        position: bool,
    ) -> StoreResult<(Vec<T>, Option<i64>)> {
        let (page, vars) = self.statement(limit);
        if !position {
            return Ok((db.query(page).bind(vars).await?.take(0)?, None));
        }
        let mut response = db
            .query(format!("{LOG_POSITION}; {page}"))
            .bind(vars)
            .await?;
        let seq: Vec<i64> = response.take(0)?;
        Ok((response.take(1)?, Some(seq.first().copied().unwrap_or(0))))
    }

    /// The page's statement and its variables, for a caller that reads
    /// something else in the same round trip. The variables are `$tenant`,
    /// `$limit`, `$after` and `$p<n>`.
    pub fn statement(mut self, limit: usize) -> (String, BTreeMap<String, Value>) {
        let page = format!(
            "SELECT * FROM {} WHERE {} ORDER BY {} LIMIT $limit",
            self.table,
            self.conditions.join(" AND "),
            self.key
        );
        self.vars
            .insert("limit".to_owned(), (limit as i64).into_value());
        (page, self.vars)
    }
}
