//! Release artefacts: `dist/` (the editor) and `pkg/` (the JS package).

use std::fs;

use crate::cmd::{cmd, run, step};
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

/// Builds the editor with Trunk (release profile, wasm-opt -Oz) into `dist/`.
pub fn build_editor() -> Result {
    step("building the editor (trunk build --release)");
    run(cmd("trunk")
        .args(["build", "--release", "--dist"])
        .arg(paths::dist()))
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
    run(cmd("cargo").args([
        "build",
        "--package",
        "contacts-js",
        "--target",
        "wasm32-unknown-unknown",
        "--release",
    ]))?;
    let wasm = paths::target()
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
        .arg("-Oz")
        .args(WASM_OPT_FEATURES)
        .arg(&bg)
        .arg("-o")
        .arg(&bg))?;
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
