//! `cargo xtask fuzz`: the fuzz targets in `fuzz/`, built and run with
//! `cargo fuzz` (libFuzzer) on the pinned stable toolchain.
//!
//! Each target first replays its seeds (real provider payloads) and must
//! accept the signed ones, then fuzzes for a while from them. The inputs it
//! finds are kept in the target directory, so runs on the same machine carry
//! on where the last stopped; a crash is saved there and named.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{cargo, linted, root, status, target_dir};

/// The cargo-fuzz release the targets are written for.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Seconds each target fuzzes in `cargo xtask test`.
pub const SHORT_RUN_SECS: u64 = 10;

/// `fuzz [--seconds N] [target…] [-- libFuzzer options]`.
pub fn run(args: &[String]) -> Result<()> {
    let mut seconds = SHORT_RUN_SECS;
    let mut names = Vec::new();
    let mut extra = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                let v = it.next().context("--seconds needs a number")?;
                seconds = v
                    .parse()
                    .with_context(|| format!("--seconds takes whole seconds, got `{v}`"))?;
            }
            "--" => extra.extend(it.by_ref().cloned()),
            name => names.push(name.to_owned()),
        }
    }
    let tool = ensure_cargo_fuzz()?;
    let all = list(&tool)?;
    if let Some(unknown) = names.iter().find(|n| !all.contains(n)) {
        bail!(
            "no fuzz target `{unknown}`; the targets are: {}",
            all.join(", ")
        );
    }
    let targets = if names.is_empty() { all } else { names };
    let artifacts = fuzz_dir().join("artifacts");
    std::fs::create_dir_all(&artifacts)
        .with_context(|| format!("create {}", artifacts.display()))?;
    let mut build = fuzz_command(&tool, "build")?;
    build.arg("--release");
    status(build).context("the fuzz targets do not build")?;
    for target in &targets {
        replay_seeds(&tool, target)?;
        fuzz(&tool, target, seconds, &extra)?;
    }
    eprintln!(
        "fuzzed {} targets for {seconds} s each: no crash",
        targets.len()
    );
    Ok(())
}

/// Formatting of the fuzz crate, a workspace of its own; its build is
/// linted (`fuzz_command`).
pub fn lint() -> Result<()> {
    let mut fmt = cargo();
    fmt.args([
        "fmt",
        "--manifest-path",
        "fuzz/Cargo.toml",
        "--all",
        "--",
        "--check",
    ]);
    status(fmt)
        .context("fuzz target formatting differs: run `cargo fmt --manifest-path fuzz/Cargo.toml`")
}

/// One build directory per checkout: the instrumented plugins of two
/// checkouts sharing one would be taken for each other (their artifacts are
/// named alike) and fail to link.
fn fuzz_dir() -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    root().hash(&mut h);
    target_dir().join(format!("fuzz-{:012x}", h.finish() & 0xffff_ffff_ffff))
}

/// `cargo-fuzz`, installed into the target directory when missing.
fn ensure_cargo_fuzz() -> Result<PathBuf> {
    let tools = target_dir().join("tools");
    let tool = tools.join("bin/cargo-fuzz");
    let installed = Command::new(&tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(CARGO_FUZZ_VERSION));
    if !installed {
        let mut install = cargo();
        install.args([
            "install",
            "--locked",
            "cargo-fuzz",
            "--version",
            CARGO_FUZZ_VERSION,
        ]);
        install.arg("--root").arg(&tools);
        // Its own build, not the project's target directory.
        install.env_remove("CARGO_TARGET_DIR");
        status(install).context("cannot install cargo-fuzz")?;
    }
    Ok(tool)
}

/// `cargo fuzz <verb>` in `fuzz/`, without sanitizers: the code under test is
/// safe Rust, where a sanitizer finds nothing a panic does not, at a third of
/// the speed.
fn fuzz_command(tool: &Path, verb: &str) -> Result<Command> {
    let mut cmd = Command::new(tool);
    cmd.current_dir(root().join("fuzz"));
    cmd.args([verb, "--sanitizer", "none", "--target-dir"]);
    cmd.arg(fuzz_dir());
    linted(&mut cmd)?;
    Ok(cmd)
}

fn list(tool: &Path) -> Result<Vec<String>> {
    let mut cmd = Command::new(tool);
    cmd.current_dir(root().join("fuzz")).arg("list");
    let out = cmd.output().context("cannot run cargo fuzz list")?;
    if !out.status.success() {
        bail!(
            "cargo fuzz list failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Runs every seed once; a signed seed the plugin refuses fails the run
/// (`HUB_FUZZ_SEEDS`, see `fuzz/src/lib.rs`).
fn replay_seeds(tool: &Path, target: &str) -> Result<()> {
    let seeds = root().join("fuzz/seeds").join(target);
    if !seeds.is_dir() {
        return Ok(());
    }
    let mut cmd = fuzz_command(tool, "run")?;
    cmd.args(["--release", target]).arg(&seeds);
    cmd.arg("--").arg("-runs=0").arg(format!(
        "-artifact_prefix={}/{target}-seed-",
        fuzz_dir().join("artifacts").display()
    ));
    cmd.env("HUB_FUZZ_SEEDS", "1");
    status(cmd).with_context(|| format!("a seed of `{target}` failed (fuzz/seeds/{target})"))
}

fn fuzz(tool: &Path, target: &str, seconds: u64, extra: &[String]) -> Result<()> {
    let corpus = fuzz_dir().join("corpus").join(target);
    let artifacts = fuzz_dir().join("artifacts");
    std::fs::create_dir_all(&corpus).with_context(|| format!("create {}", corpus.display()))?;
    let mut cmd = fuzz_command(tool, "run")?;
    cmd.args(["--release", target]).arg(&corpus);
    let seeds = root().join("fuzz/seeds").join(target);
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    cmd.arg("--");
    cmd.arg(format!("-max_total_time={seconds}"));
    cmd.arg(format!(
        "-artifact_prefix={}/{target}-",
        artifacts.display()
    ));
    cmd.arg("-print_final_stats=1");
    let dict = root().join("fuzz/dicts").join(format!("{target}.dict"));
    if dict.is_file() {
        cmd.arg(format!("-dict={}", dict.display()));
    }
    cmd.args(extra);
    status(cmd).with_context(|| {
        format!(
            "fuzz target `{target}` crashed: the input is in {}; `cargo fuzz fmt {target} <file>` (in fuzz/) shows it",
            artifacts.display()
        )
    })
}
