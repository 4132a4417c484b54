//! Runs SurrealQL from standard input against a hub database and prints each
//! statement's result as one line of JSON: for looking into a stopped hub's
//! embedded data, and for tests that act as someone with access to the data
//! directory.
//!
//! `surql surrealkv://data/db < statements.surql` (namespace and database
//! `hub`, as the hub's defaults; a `ws://` server takes `--user`/`--pass`).

use std::io::Read;

use anyhow::{Context, Result};
use surrealdb::opt::auth::Root;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .context("usage: surql <database url> [--user U --pass P] < statements")?;
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let db = surrealdb::engine::any::connect(url.as_str()).await?;
    if let (Some(username), Some(password)) = (flag("--user"), flag("--pass")) {
        db.signin(Root { username, password }).await?;
    }
    db.use_ns("hub").use_db("hub").await?;
    let mut sql = String::new();
    std::io::stdin().read_to_string(&mut sql)?;
    let mut response = db.query(sql).await?;
    if let Some((i, error)) = response.take_errors().into_iter().next() {
        anyhow::bail!("statement {i} failed: {error}");
    }
    for i in 0..response.num_statements() {
        let value: surrealdb::types::Value = response.take(i)?;
        println!("{}", value.into_json_value());
    }
    Ok(())
}
