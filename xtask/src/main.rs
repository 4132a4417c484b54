//! `cargo xtask <task>`: the project's two commands and their helpers.
//!
//! - `run`: build what is needed and start the hub on 127.0.0.1:8080 with
//!   an embedded database in `./data`.
//! - `test`: every check and test of the workspace, the web inbox's in a real
//!   browser included; `test <args>` runs only `cargo test` with those
//!   arguments (a test file, a name filter), `test web` only the browser tests.
//! - `schema`: regenerate `schema/graphql/schema.graphql`.
//! - `bench`: the benchmark programs.
//! - `fuzz`: the fuzz targets in `fuzz/` (a short run is part of `test`).

mod fuzz;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "run" => run(&rest),
        "test" if rest.is_empty() => test(),
        "test" if rest == ["web"] => test_web(),
        "test" => test_only(&rest),
        "schema" => schema(),
        "bench" => bench(&rest),
        "plugins" => build_plugins(&root().join("plugins/dist"), false).map(|_| ()),
        "fuzz" => fuzz::run(&rest),
        "surreal" => build_surreal(),
        _ => {
            eprintln!("usage: cargo xtask <run|test|schema|bench|plugins|fuzz|surreal> [args]");
            eprintln!(
                "  run     build and start the hub on 127.0.0.1:8080 (embedded database in ./data)"
            );
            eprintln!(
                "  test    run every check and test; `test --test plugins [filter]` runs only those tests"
            );
            eprintln!("  schema  regenerate schema/graphql/schema.graphql");
            eprintln!("  plugins build the provider plugins into plugins/dist");
            eprintln!(
                "  surreal build the SurrealDB server (`surreal start`) the scale-out tests run"
            );
            eprintln!(
                "  fuzz    run every fuzz target {} s: `fuzz [--seconds N] [target...] [-- libFuzzer options]`",
                fuzz::SHORT_RUN_SECS
            );
            eprintln!(
                "  bench   the benchmark: `bench [--quick] [--data DIR] [--samples N] …` (see hub/examples/bench); `bench live [--subscribers 1000,10000]`, `bench plugins [--calls 5000 --messages 2000]` or `bench web [--chats 1000]` for one part in depth"
            );
            bail!("unknown task `{task}`")
        }
    }
}

fn root() -> PathBuf {
    // Read when run, not when built: the build is shared by every checkout
    // that uses the same target directory, and cargo reuses it across them.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .parent()
        .expect("workspace root")
        .to_owned()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    // `cargo xtask` hands this program its own package's variables; a build
    // script that watches one (ring's watches CARGO_MANIFEST_DIR) would see a
    // change between a build run from here and one run by hand, and rebuild
    // everything above it.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || matches!(
                &*name,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            )
        {
            cmd.env_remove(&*name);
        }
    }
    cmd
}

fn status(mut cmd: Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("$ {shown}");
    let started = std::time::Instant::now();
    let st = cmd
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    // Where the time of a long run goes, step by step.
    eprintln!("({:.0?} for the step above)", started.elapsed());
    if !st.success() {
        bail!("{shown} failed ({st})");
    }
    Ok(())
}

/// Compiles the workspace's own crates through clippy, with warnings denied,
/// so the build that runs the hub and its tests is also the lint: a separate
/// `cargo clippy` would check every dependency a second time. Dependencies are
/// compiled by rustc as usual; the linted crates' artifacts are kept apart
/// from those of a plain `cargo build`.
fn linted(cmd: &mut Command) -> Result<()> {
    let out = Command::new("rustc")
        .current_dir(root())
        .args(["--print", "sysroot"])
        .output()
        .context("cannot run rustc")?;
    let sysroot = String::from_utf8(out.stdout).context("rustc's sysroot is not UTF-8")?;
    let driver = Path::new(sysroot.trim()).join("bin/clippy-driver");
    if !driver.is_file() {
        bail!(
            "clippy is not installed for this toolchain ({} is missing): run `rustup component add clippy`",
            driver.display()
        );
    }
    // How `cargo clippy` hands its arguments to the driver.
    cmd.env("RUSTC_WORKSPACE_WRAPPER", driver).env(
        "CLIPPY_ARGS",
        "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__",
    );
    Ok(())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// Builds the hub and the benchmark programs with the same dependency
/// features as `cargo xtask test`, so switching between running, testing and
/// benchmarking never rebuilds the dependencies.
fn build_hub() -> Result<PathBuf> {
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--workspace", "--bins", "--examples"]);
    linted(&mut cmd)?;
    status(cmd)?;
    Ok(target_dir().join("release").join("hub"))
}

/// Builds the SurrealDB server from the `surrealdb-server` crate (`surreal/`,
/// a workspace of its own) into `$CARGO_TARGET_DIR/surreal/release/surreal`,
/// where the scale-out tests look for it.
fn build_surreal() -> Result<()> {
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--release",
        "--manifest-path",
        "surreal/Cargo.toml",
    ]);
    cmd.env("CARGO_TARGET_DIR", target_dir().join("surreal"));
    status(cmd).context("cannot build the SurrealDB server")
}

/// The plugins workspace (`plugins/`), built for wasm32-wasip2.
fn plugins_cargo(verb: &str) -> Command {
    let mut cmd = cargo();
    cmd.args([verb, "--manifest-path", "plugins/Cargo.toml"]);
    cmd.env("CARGO_TARGET_DIR", target_dir().join("wasm"));
    cmd
}

/// Builds every plugin and copies each `<name>.wasm` with its manifest as
/// `<name>.toml` into `out`, the layout the hub loads. Plugins under
/// `plugins/testing/` are staged only for tests.
fn build_plugins(out: &Path, with_testing: bool) -> Result<Vec<String>> {
    ensure_wasm_target()?;
    let mut cmd = plugins_cargo("build");
    cmd.args(["--release", "--workspace", "--target", "wasm32-wasip2"]);
    linted(&mut cmd)?;
    status(cmd)?;
    std::fs::create_dir_all(out).with_context(|| format!("create {}", out.display()))?;
    let built = target_dir().join("wasm/wasm32-wasip2/release");
    let mut staged = Vec::new();
    for group in ["plugins", "plugins/testing"] {
        if group == "plugins/testing" && !with_testing {
            continue;
        }
        for entry in std::fs::read_dir(root().join(group))? {
            let dir = entry?.path();
            let manifest = dir.join("plugin.toml");
            if !manifest.is_file() {
                continue;
            }
            let name = dir.file_name().unwrap().to_string_lossy().replace('-', "_");
            let wasm = built.join(format!("{name}.wasm"));
            std::fs::copy(&wasm, out.join(format!("{name}.wasm")))
                .with_context(|| format!("copy {}", wasm.display()))?;
            std::fs::copy(&manifest, out.join(format!("{name}.toml")))?;
            staged.push(name);
        }
    }
    eprintln!("plugins in {}: {}", out.display(), staged.join(", "));
    Ok(staged)
}

/// A fresh machine has the toolchain but not always its wasm32-wasip2
/// standard library; rustup adds it once (a no-op when it is there).
fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .current_dir(root())
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains("wasm32-wasip2") => Ok(()),
        Ok(_) => {
            let mut add = Command::new("rustup");
            add.current_dir(root())
                .args(["target", "add", "wasm32-wasip2"]);
            status(add).context("the plugins need the wasm32-wasip2 target")
        }
        // No rustup: the toolchain must already have the target.
        Err(_) => Ok(()),
    }
}

fn npm(args: &[&str]) -> Command {
    let mut cmd = Command::new("npm");
    cmd.current_dir(root().join("web-client")).args(args);
    cmd
}

/// Installs the web inbox's packages when the lock file changed since the
/// last install, then builds it into `web-client/dist`.
fn build_web() -> Result<()> {
    let web = root().join("web-client");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let installed = modified(&web.join("node_modules/.package-lock.json"));
    if installed.is_none() || installed < modified(&web.join("package-lock.json")) {
        status(npm(&["ci", "--no-audit", "--no-fund"]))
            .context("the web inbox needs Node.js and npm (https://nodejs.org)")?;
    }
    status(npm(&["run", "build"]))
}

/// The browser tests drive Debian's Chromium (a browser download is not
/// possible everywhere); `CHROMIUM` names another binary.
fn ensure_chromium() -> Result<()> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return if Path::new(&path).is_file() {
            Ok(())
        } else {
            bail!("CHROMIUM={} is not a file", Path::new(&path).display())
        };
    }
    if Path::new("/usr/bin/chromium").is_file() {
        return Ok(());
    }
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let apt = |args: &[&str]| {
        let mut cmd = Command::new(if root_user { "apt-get" } else { "sudo" });
        if !root_user {
            cmd.args(["-n", "apt-get"]);
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    status(apt(&["update", "-qq"]))
        .and_then(|()| {
            status(apt(&[
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "chromium",
            ]))
        })
        .context(
            "the browser tests need Chromium: install Debian's `chromium` package or set CHROMIUM",
        )
}

fn run(args: &[String]) -> Result<()> {
    build_plugins(&root().join("plugins/dist"), false)?;
    build_web()?;
    let hub = build_hub()?;
    let mut cmd = Command::new(hub);
    cmd.current_dir(root());
    // `cargo xtask run --demo` is `hub serve --demo`; other arguments are a `hub` command.
    if args.first().is_none_or(|a| a.starts_with("--")) {
        cmd.arg("serve");
    }
    cmd.args(args);
    status(cmd)
}

fn test() -> Result<()> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    status(fmt).context("formatting differs: run `cargo fmt --all`")?;
    let mut fmt = plugins_cargo("fmt");
    fmt.args(["--all", "--", "--check"]);
    status(fmt).context(
        "plugin formatting differs: run `cargo fmt --manifest-path plugins/Cargo.toml --all`",
    )?;
    fuzz::lint()?;
    // The end-to-end tests build them too; failing here is clearer. The
    // build is also the plugins' lint (see `linted`).
    build_plugins(&target_dir().join("plugins-dist"), true)?;
    build_web()?;
    status(npm(&["run", "check"])).context("the web inbox does not type-check")?;
    build_surreal()?;
    // Some end-to-end tests run the `surql` example: `cargo test` compiles
    // examples but leaves no runnable copy on a fresh build.
    build_hub()?;
    // Linted as it builds: every target of every workspace crate.
    let mut tests = cargo();
    tests.args([
        "test",
        "--release",
        "--workspace",
        "--all-targets",
        "--no-fail-fast",
    ]);
    linted(&mut tests)?;
    let rust_tests = status(tests);
    // The patched SurrealKV's own suite, with tests of the patch
    // (vendor/README.md); unoptimised, it builds in about a minute.
    let mut vendored = cargo();
    vendored.args([
        "test",
        "--manifest-path",
        "vendor/surrealkv/Cargo.toml",
        "--lib",
        "--locked",
    ]);
    let vendored = status(vendored).context("the patched SurrealKV's tests failed");
    // The browser tests and the fuzzers run even when a Rust test failed:
    // every report helps.
    let browser = browser_tests();
    let fuzzing = fuzz::run(&[]);
    rust_tests?;
    vendored?;
    browser?;
    fuzzing
}

/// The web inbox's checks and browser tests, against a fresh build of the hub.
fn test_web() -> Result<()> {
    build_plugins(&target_dir().join("plugins-dist"), true)?;
    build_hub()?;
    build_web()?;
    status(npm(&["run", "check"]))?;
    browser_tests()
}

/// The inbox's load in Chromium with many chats (`web-client/bench`).
fn bench_web(args: &[String]) -> Result<()> {
    build_hub()?;
    build_web()?;
    ensure_chromium()?;
    let mut cmd = npm(&["run", "bench", "--"]);
    cmd.args(args.iter().filter(|a| *a != "--"))
        .env("HUB_BIN", target_dir().join("release/hub"))
        .env("HUB_PLUGINS_DIR", target_dir().join("plugins-dist"))
        .env("BENCH_OUT", target_dir().join("bench-inbox.json"));
    status(cmd)
}

/// Runs `web-client/e2e` against the release `hub` and the test plugins.
fn browser_tests() -> Result<()> {
    ensure_chromium()?;
    let report = root().join("web-client/e2e-artifacts/report.txt");
    std::fs::create_dir_all(report.parent().expect("a folder"))?;
    let mut e2e = npm(&["run", "e2e"]);
    e2e.env("HUB_BIN", target_dir().join("release/hub"))
        .env("HUB_PLUGINS_DIR", target_dir().join("plugins-dist"));
    status(e2e).map_err(|e| {
        // The run's log is long and the fuzzers print after it: repeat
        // what failed where the end of the output shows it.
        let failing = std::fs::read_to_string(&report)
            .ok()
            .and_then(|r| r.find("failing tests:").map(|at| r[at..].to_owned()))
            .unwrap_or_default();
        e.context(format!("browser tests failed\n{failing}"))
    })
}

/// `cargo test` alone, with the arguments given, in the same build as `test`.
fn test_only(args: &[String]) -> Result<()> {
    // The end-to-end tests build the plugins for this target, and the
    // scale-out ones run the SurrealDB server.
    ensure_wasm_target()?;
    build_surreal()?;
    // Some end-to-end tests run the `surql` example: `cargo test` compiles
    // examples but leaves no runnable copy on a fresh build.
    build_hub()?;
    let mut tests = cargo();
    tests.args(["test", "--release", "--workspace"]);
    tests.args(args);
    linted(&mut tests)?;
    status(tests)
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
    if args.first().map(String::as_str) == Some("web") {
        return bench_web(&args[1..]);
    }
    let (which, rest) = match args.first().map(String::as_str) {
        Some("live") | Some("plugins") => (format!("bench_{}", args[0]), &args[1..]),
        _ => ("bench".to_owned(), args),
    };
    let mut rest: Vec<String> = rest.iter().filter(|a| *a != "--").cloned().collect();
    let dir = target_dir().join("plugins-dist");
    build_plugins(&dir, true)?;
    if which == "bench_plugins" {
        rest.extend(["--plugins".to_owned(), dir.display().to_string()]);
    }
    if which == "bench" && !rest.iter().any(|a| a == "--out") {
        let out = target_dir().join(if rest.iter().any(|a| a == "--quick") {
            "bench-quick.json"
        } else {
            "bench.json"
        });
        rest.extend(["--out".to_owned(), out.display().to_string()]);
    }
    // The benchmarks drive the real binary, built here too.
    build_hub()?;
    let mut cmd = Command::new(target_dir().join("release/examples").join(&which));
    cmd.current_dir(root());
    cmd.args(rest);
    status(cmd)
}
