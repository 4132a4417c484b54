//! The end-to-end tests: each module starts the real `hub` binary (and the
//! provider fakes, a SurrealDB server, …) and drives it from outside. One test
//! binary for all of them: each would otherwise be compiled and linked apart.
//!
//! `cargo xtask test --test e2e live::` runs one module's tests.

mod support;

mod core_api;
mod crash;
mod isolation;
mod live;
mod plugins;
mod providers;
mod sandbox;
mod scale_out;
