//! `cargo xtask <task>`: the project's two commands and their helpers.
//!
//! - `run`: build what is needed and start the hub on 127.0.0.1:8080 with
//!   an embedded database in `./data`.
//! - `test`: every check and test of the workspace.
//! - `schema`: regenerate `schema/graphql/schema.graphql`.
//! - `bench`: the benchmark programs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "run" => run(&rest),
        "test" => test(),
        "schema" => schema(),
        "bench" => bench(&rest),
        _ => {
            eprintln!("usage: cargo xtask <run|test|schema|bench> [args]");
            eprintln!(
                "  run     build and start the hub on 127.0.0.1:8080 (embedded database in ./data)"
            );
            eprintln!("  test    run every check and test");
            eprintln!("  schema  regenerate schema/graphql/schema.graphql");
            eprintln!(
                "  bench   run a benchmark program: `bench [core] [-- --clients N]` or `bench live [-- --subscribers 1000,10000]`"
            );
            bail!("unknown task `{task}`")
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn status(mut cmd: Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("$ {shown}");
    let st = cmd
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !st.success() {
        bail!("{shown} failed ({st})");
    }
    Ok(())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

fn build_hub() -> Result<PathBuf> {
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--package", "hub", "--bin", "hub"]);
    status(cmd)?;
    Ok(target_dir().join("release").join("hub"))
}

fn run(args: &[String]) -> Result<()> {
    let hub = build_hub()?;
    let mut cmd = Command::new(hub);
    cmd.current_dir(root());
    if args.is_empty() {
        cmd.arg("serve");
    } else {
        cmd.args(args);
    }
    status(cmd)
}

fn test() -> Result<()> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    status(fmt).context("formatting differs: run `cargo fmt --all`")?;
    let mut tests = cargo();
    tests.args([
        "test",
        "--release",
        "--workspace",
        "--all-targets",
        "--no-fail-fast",
    ]);
    status(tests)?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--release",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    status(clippy)
}

fn schema() -> Result<()> {
    let hub = build_hub()?;
    let out = Command::new(hub)
        .arg("schema")
        .output()
        .context("run hub schema")?;
    if !out.status.success() {
        bail!(
            "hub schema failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let path = root().join("schema/graphql/schema.graphql");
    std::fs::write(&path, out.stdout)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn bench(args: &[String]) -> Result<()> {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--release",
        "--package",
        "hub",
        "--example",
        "bench_core",
        "--",
    ]);
    cmd.args(args);
    status(cmd)
}
