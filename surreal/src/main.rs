//! `surreal`: the SurrealDB server, exactly as its own binary starts it
//! (`surreal start --user root --pass root memory`), for the tests that run
//! several hubs against one database.

use std::process::ExitCode;

use surrealdb_server::core::CommunityComposer;

fn main() -> ExitCode {
    surrealdb_server::init(CommunityComposer())
}
