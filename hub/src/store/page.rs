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
        let (mut response, at, seq) = self.run(db, None, limit, position).await?;
        Ok((response.take(at)?, seq))
    }

    /// [`Self::fetch_at`], with `lead` read first in the same round trip:
    /// a statement with one variable of its own (`name`, bound to `value`).
    pub async fn fetch_led<L: SurrealValue, T: SurrealValue>(
        self,
        db: &Surreal<Any>,
        lead: (&str, &str, Value),
        limit: usize,
        position: bool,
    ) -> StoreResult<(Vec<L>, Vec<T>, Option<i64>)> {
        let (mut response, at, seq) = self.run(db, Some(lead), limit, position).await?;
        Ok((response.take(at - 1)?, response.take(at)?, seq))
    }

    /// Runs the log's position (when `position`), `lead` and the page in
    /// one round trip; answers with the page's index among the results.
    async fn run(
        mut self,
        db: &Surreal<Any>,
        lead: Option<(&str, &str, Value)>,
        limit: usize,
        position: bool,
    ) -> StoreResult<(surrealdb::IndexedResults, usize, Option<i64>)> {
        let mut sql = String::new();
        if position {
            sql.push_str(LOG_POSITION);
            sql.push_str(";\n");
        }
        let mut at = usize::from(position);
        if let Some((statement, name, value)) = lead {
            sql.push_str(statement);
            sql.push_str(";\n");
            self.vars.insert(name.to_owned(), value);
            at += 1;
        }
        sql.push_str(&format!(
            "SELECT * FROM {} WHERE {} ORDER BY {} LIMIT $limit",
            self.table,
            self.conditions.join(" AND "),
            self.key
        ));
        self.vars
            .insert("limit".to_owned(), (limit as i64).into_value());
        let mut response = db.query(sql).bind(self.vars).await?;
        let seq = if position {
            let seq: Vec<i64> = response.take(0)?;
            Some(seq.first().copied().unwrap_or(0))
        } else {
            None
        };
        Ok((response, at, seq))
    }
}
