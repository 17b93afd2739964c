//! Installing the tools the tasks need, only where missing.
//!
//! Each check asks the tool for its version first, so a second run installs
//! nothing. What works on a fresh machine of this project's kind (Debian,
//! the stable rustc of rust-toolchain.toml, package registries but no other
//! internet), about 12 minutes in all:
//!
//! - the wasm-bindgen CLI of exactly the `wasm-bindgen` version in
//!   Cargo.lock, by `cargo install` (about 4 minutes);
//! - Trunk 0.21.14 by `cargo install --locked` (about 6 minutes; Trunk 0.22
//!   needs a newer rustc). Trunk then uses the wasm-bindgen CLI on `PATH` and
//!   downloads nothing;
//! - wasm-opt from the npm package `binaryen` (package.json), whose
//!   `node_modules/.bin` the tasks put on `PATH`: Debian's binaryen is too
//!   old to read what rustc 1.95 emits;
//! - Chromium and ChromeDriver from Debian: the browser downloads of
//!   Playwright and Puppeteer need the internet;
//! - PostgreSQL's server programs from Debian (`postgresql`), which the
//!   server's tests and `cargo xtask run --postgres` start throwaway servers
//!   with; no server is left running.

use std::path::Path;

use contacts_testkit::postgres;

use crate::cmd::{cmd, probe, run, step};
use crate::{Failure, Result, paths};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
const RUST_SRC: &str = "rust-src";
const TRUNK_VERSION: &str = "0.21.14";

/// Installs every tool any task needs.
pub fn ensure_all() -> Result {
    ensure_build_tools()?;
    ensure_browser()?;
    ensure_postgres()
}

/// What building the editor and the JS package needs: the wasm target, the
/// wasm-bindgen CLI matching Cargo.lock, Trunk, and the npm tools (wasm-opt).
pub fn ensure_build_tools() -> Result {
    ensure_wasm_target()?;
    ensure_wasm_bindgen()?;
    ensure_trunk()?;
    ensure_npm_tools()
}

/// The wasm32 target, and the standard library's source that the release
/// wasm builds rebuild for size (`dist.rs`). rust-toolchain.toml names both,
/// so rustup may already have installed them.
fn ensure_wasm_target() -> Result {
    let installed = probe("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !installed.lines().any(|l| l.trim() == WASM_TARGET) {
        step("installing the wasm32 target");
        run(cmd("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    let components = probe("rustup", &["component", "list", "--installed"]).unwrap_or_default();
    if !components.lines().any(|l| l.trim() == RUST_SRC) {
        step("installing the rust-src component");
        run(cmd("rustup").args(["component", "add", RUST_SRC]))?;
    }
    Ok(())
}

fn ensure_wasm_bindgen() -> Result {
    let wanted = locked_version("wasm-bindgen")?;
    let have = probe("wasm-bindgen", &["--version"]).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(wanted.as_str()) {
        return Ok(());
    }
    step(&format!(
        "installing wasm-bindgen-cli {wanted} (matches Cargo.lock; a few minutes)"
    ));
    // Not `--locked`: one of its locked dependencies is missing from the registry mirror.
    run(cmd("cargo").args(["install", "wasm-bindgen-cli", "--version", &wanted]))
}

fn ensure_trunk() -> Result {
    let have = probe("trunk", &["--version"]).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(TRUNK_VERSION) {
        return Ok(());
    }
    step(&format!("installing trunk {TRUNK_VERSION} (a few minutes)"));
    // `--locked`: without it a newer lightningcss breaks the build.
    run(cmd("cargo").args(["install", "trunk", "--version", TRUNK_VERSION, "--locked"]))
}

/// Installs the npm dev tools from package-lock.json, once per lock file.
pub fn ensure_npm_tools() -> Result {
    let root = paths::root();
    let lock = std::fs::read_to_string(root.join("package-lock.json"))?;
    let stamp = root.join("node_modules").join(".xtask-installed-lock");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == lock) {
        return Ok(());
    }
    step("installing the npm tools (playwright-core, axe-core, typescript, binaryen)");
    run(cmd("npm").args(["ci", "--no-audit", "--no-fund"]))?;
    std::fs::write(&stamp, lock)?;
    Ok(())
}

/// Debian's Chromium and ChromeDriver, for the browser and end-to-end tests.
pub fn ensure_browser() -> Result {
    let ready = |path: &str| Path::new(path).exists() && probe(path, &["--version"]).is_some();
    if ready(paths::CHROMIUM) && ready(paths::CHROMEDRIVER) {
        return Ok(());
    }
    step("installing chromium and chromium-driver from Debian");
    run(cmd("apt-get").arg("update"))?;
    run(cmd("apt-get")
        .args(["install", "-y", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
    .map_err(|Failure(why)| {
        Failure(format!(
            "{why}; install the Debian packages chromium and chromium-driver as root"
        ))
    })
}

/// Debian's PostgreSQL server programs (`/usr/lib/postgresql/*/bin/initdb`).
/// The package starts a cluster of its own as a service; where no service
/// manager runs (a container), it does not, and the tests need none.
pub fn ensure_postgres() -> Result {
    if postgres::programs().is_some() {
        return Ok(());
    }
    step("installing postgresql from Debian");
    run(cmd("apt-get").arg("update"))?;
    run(cmd("apt-get")
        .args(["install", "-y", "postgresql"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
    .map_err(|Failure(why)| {
        Failure(format!(
            "{why}; install the Debian package postgresql as root"
        ))
    })
}

/// The version of `package` that Cargo.lock pins.
fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(paths::root().join("Cargo.lock"))?;
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == name_line
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
        {
            return Ok(version.to_owned());
        }
    }
    Err(Failure(format!("Cargo.lock does not pin {package}")))
}
