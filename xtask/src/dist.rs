//! Release artefacts: `dist/` (the editor) and `pkg/` (the JS package).

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::cmd::{cmd, run, step};
use crate::precompress::precompress;
use crate::wasm_imports::minify_imports;
use crate::{Result, paths, tools};

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
/// with a gzipped copy of each file for the server to send.
pub fn build_editor() -> Result {
    step("building the editor (trunk build --release, standard library rebuilt for size)");
    run(small_wasm(&mut cmd("trunk"))
        .args(["build", "--release", "--dist"])
        .arg(paths::dist()))?;
    let dist = paths::dist();
    minify_imports(
        &dist.join("contacts-editor_bg.wasm"),
        &dist.join("contacts-editor.js"),
    )?;
    precompress(&dist)
}

/// Where the release wasm builds go: apart from the test builds, whose flags
/// differ, so that neither rebuilds the other's dependencies.
fn small_wasm_target() -> PathBuf {
    paths::target().join("small-wasm")
}

/// Makes a release wasm build as small as the pinned compiler can: the
/// standard library is rebuilt with the code (`-Zbuild-std`) with its
/// `optimize_for_size` feature, a panic aborts at once (as `panic = "abort"`
/// already did, minus the unused formatting of its message), and panics carry
/// no file and line strings. The browser shows a trap either way: nothing
/// prints a wasm panic's message.
///
/// These are unstable options of the pinned stable compiler
/// (rust-toolchain.toml), opened for these two builds only by
/// `RUSTC_BOOTSTRAP=1`; tests, clippy and the server build as plain stable.
/// Against the same build without them they take about 13 KB gzip off the
/// editor and 7.7 KB off the JS package. They need the toolchain's
/// `rust-src` component.
fn small_wasm(command: &mut Command) -> &mut Command {
    command
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort")
        .env("CARGO_UNSTABLE_BUILD_STD_FEATURES", "optimize_for_size")
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none",
        )
        .env("CARGO_TARGET_DIR", small_wasm_target())
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
