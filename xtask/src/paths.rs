//! Where things are.

use std::path::PathBuf;

/// The workspace root.
pub fn root() -> PathBuf {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().map(PathBuf::from).unwrap_or(xtask_dir)
}

/// Cargo's target directory.
pub fn target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// The npm tools' executables (`wasm-opt`, `tsc`).
pub fn node_bin() -> PathBuf {
    root().join("node_modules").join(".bin")
}

/// The built editor.
pub fn dist() -> PathBuf {
    root().join("dist")
}

/// The built JS package.
pub fn pkg() -> PathBuf {
    root().join("pkg")
}

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
