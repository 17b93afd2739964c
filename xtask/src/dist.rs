//! Release artefacts: `dist/` (the editor) and `pkg/` (the JS package).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{cmd, probe, run, step};
use crate::low_memory::check_low_memory_unused;
use crate::precompress::precompress;
use crate::wasm_imports::minify_imports;
use crate::{Failure, Result, paths, tools};

/// `cargo xtask dist`.
pub fn dist() -> Result {
    tools::ensure_build_tools()?;
    build_editor()?;
    build_js_package()?;
    println!(
        "\nwrote {} and {}",
        paths::dist().display(),
        paths::pkg().display()
    );
    Ok(())
}

/// Builds the editor with Trunk (release profile, wasm-opt -Oz) into `dist/`,
/// checks the memory layout its wasm-opt flags assume, and writes a brotli
/// and a gzip copy of each file for the server to send.
pub fn build_editor() -> Result {
    step("building the editor (trunk build --release, standard library rebuilt for size)");
    run(small_wasm(&mut cmd("trunk"))
        .args(["build", "--release", "--dist"])
        .arg(paths::dist()))?;
    let dist = paths::dist();
    let (wasm, glue) = wasm_and_glue(&dist)?;
    check_low_memory_unused(&wasm)?;
    minify_imports(&wasm, &glue)?;
    precompress(&dist)
}

/// The editor's wasm in `dist` and its glue, named after the wasm's content
/// by Trunk: `contacts-editor-HASH_bg.wasm` and `contacts-editor-HASH.js`.
fn wasm_and_glue(dist: &Path) -> Result<(PathBuf, PathBuf)> {
    for entry in fs::read_dir(dist)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(base) = name.strip_suffix("_bg.wasm") {
            return Ok((dist.join(&name), dist.join(format!("{base}.js"))));
        }
    }
    Err(Failure(format!("{}: Trunk wrote no wasm", dist.display())))
}

/// Where the release wasm builds go: apart from the test builds, whose flags
/// differ, so that neither rebuilds the other's dependencies.
fn small_wasm_target() -> PathBuf {
    paths::target().join("small-wasm")
}

/// The compiler release that the unstable options of [`small_wasm`] were
/// written for and measured with: rust-toolchain.toml's stable channel, as
/// `rustc -vV` names it.
const SMALL_WASM_RUSTC: &str = "1.95.0";

/// Makes a release wasm build as small as the pinned compiler can: the
/// standard library is rebuilt with the code (`-Zbuild-std`) with its
/// `optimize_for_size` feature, a panic aborts at once (as `panic = "abort"`
/// already did, minus the unused formatting of its message), and panics carry
/// no file and line strings. The browser shows a trap either way: nothing
/// prints a wasm panic's message.
///
/// These are unstable options, which any compiler release may rename or
/// drop; they are opened for these two builds only by `RUSTC_BOOTSTRAP=1`
/// (tests, clippy and the server build as plain stable), and only on the
/// release [`SMALL_WASM_RUSTC`]. Another compiler makes the plain release
/// build, with a warning, rather than fail on an option it no longer knows.
/// Against the plain build they take about 13 KB gzip off the editor and
/// 7.7 KB off the JS package. They need the toolchain's `rust-src` component.
fn small_wasm(command: &mut Command) -> &mut Command {
    let rustc = probe("rustc", &["-vV"]).unwrap_or_default();
    small_wasm_with(command, &rustc)
}

/// [`small_wasm`] where `rustc -vV` printed `rustc`.
fn small_wasm_with<'a>(command: &'a mut Command, rustc: &str) -> &'a mut Command {
    command.env("CARGO_TARGET_DIR", small_wasm_target());
    match rustc_release(rustc) {
        Some(SMALL_WASM_RUSTC) => command
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort")
            .env("CARGO_UNSTABLE_BUILD_STD_FEATURES", "optimize_for_size")
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
                "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none",
            ),
        other => {
            println!(
                "\nwarning: the size options of xtask/src/dist.rs are unstable and were written for rustc {SMALL_WASM_RUSTC}, \
                 but rustc is {}; building the plain release instead (larger: about 13 KB gzip on the editor). \
                 Check those options against this compiler and update SMALL_WASM_RUSTC.",
                other.unwrap_or("unknown")
            );
            command
        }
    }
}

/// The `release:` line of `rustc -vV`, such as `1.95.0` or `1.97.0-nightly`.
fn rustc_release(version_verbose: &str) -> Option<&str> {
    version_verbose
        .lines()
        .find_map(|line| line.strip_prefix("release: "))
        .map(str::trim)
}

/// The flags wasm-opt needs to read what rustc 1.95 emits for wasm32.
const WASM_OPT_FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Builds `pkg/`: the wasm-bindgen output of `contacts-js` for `--target web`,
/// optimised for size, with its package.json and README.
pub fn build_js_package() -> Result {
    step("building the JS package (pkg/)");
    run(small_wasm(&mut cmd("cargo")).args([
        "build",
        "--package",
        "contacts-js",
        "--target",
        "wasm32-unknown-unknown",
        "--release",
    ]))?;
    let wasm = small_wasm_target()
        .join("wasm32-unknown-unknown")
        .join("release")
        .join("contacts_js.wasm");
    let pkg = paths::pkg();
    if pkg.exists() {
        fs::remove_dir_all(&pkg)?;
    }
    run(cmd("wasm-bindgen")
        .args(["--target", "web", "--out-dir"])
        .arg(&pkg)
        .arg(&wasm))?;
    let bg = pkg.join("contacts_js_bg.wasm");
    run(cmd("wasm-opt")
        .args(["-Oz", "--converge"])
        .args(WASM_OPT_FEATURES)
        .arg(&bg)
        .arg("-o")
        .arg(&bg))?;
    minify_imports(&bg, &pkg.join("contacts_js.js"))?;
    let crate_dir = paths::root().join("crates").join("contacts-js");
    fs::copy(
        crate_dir.join("package.template.json"),
        pkg.join("package.json"),
    )?;
    fs::copy(crate_dir.join("README.npm.md"), pkg.join("README.md"))?;
    // wasm-bindgen writes a .gitignore of "*", which would keep the package's
    // files out of `npm pack`.
    let _ = fs::remove_file(pkg.join(".gitignore"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rustc -vV` of the pinned compiler, and of others.
    const PINNED: &str = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\n\
        commit-hash: 59807616e1fa2540724bfbac14d7976d7e4a3860\ncommit-date: 2026-04-14\n\
        host: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1.2\n";

    fn unstable(rustc: &str) -> bool {
        let mut command = Command::new("trunk");
        small_wasm_with(&mut command, rustc)
            .get_envs()
            .any(|(name, _)| name == "RUSTC_BOOTSTRAP")
    }

    #[test]
    fn the_size_options_go_only_to_the_compiler_they_were_written_for() {
        assert!(unstable(PINNED));
        for other in [
            PINNED.replace("release: 1.95.0", "release: 1.96.0"),
            PINNED.replace("release: 1.95.0", "release: 1.95.0-nightly"),
            PINNED.replace("release: 1.95.0", "release: 1.95.1"),
            String::new(),
            "rustc: command not found".to_owned(),
        ] {
            assert!(!unstable(&other), "{other}");
        }
    }

    #[test]
    fn reads_the_release_line() {
        assert_eq!(rustc_release(PINNED), Some("1.95.0"));
        assert_eq!(
            rustc_release("release: 1.97.0-nightly\r\n"),
            Some("1.97.0-nightly")
        );
        assert_eq!(rustc_release("rustc 1.95.0"), None);
    }
}
