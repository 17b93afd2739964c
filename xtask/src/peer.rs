//! The React peer of the editor (`../shared/peer/react-baseline`, see its
//! README), built for `cargo xtask bench` to measure beside ours.
//!
//! The peer's folder is read-only to the project: its sources are copied
//! into `target/peer/` and built there (`npm ci`, `vite build`), so that
//! nothing is ever written beside them.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cmd::{cmd, run, step};
use crate::{Failure, Result, paths};

/// The peer's sources: what `npm ci` and `vite build` read.
const SOURCES: [&str; 5] = [
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.js",
    "src",
];

/// Where the peer lives: `../shared/peer/react-baseline` beside the
/// repository.
fn peer_sources() -> PathBuf {
    paths::root()
        .join("..")
        .join("shared")
        .join("peer")
        .join("react-baseline")
}

/// Builds the peer in `target/peer/react-baseline` and returns its `dist/`.
/// `npm ci` runs again only when the peer's lock file changed.
pub fn build_peer() -> Result<PathBuf> {
    step("building the React peer (../shared/peer/react-baseline, in target/peer)");
    let from = peer_sources();
    if !from.join("package.json").is_file() {
        return Err(Failure(format!(
            "{}: the React peer is not there (see ../shared/peer/README.md)",
            from.display()
        )));
    }
    let to = paths::target().join("peer").join("react-baseline");
    let lock = "package-lock.json";
    let same_lock = fs::read(from.join(lock)).ok() == fs::read(to.join(lock)).ok();
    let installed = same_lock && to.join("node_modules").is_dir();
    for name in SOURCES {
        copy(&from.join(name), &to.join(name))?;
    }
    if !installed {
        run(cmd("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
            .current_dir(&to))?;
    }
    run(cmd("npx").args(["vite", "build"]).current_dir(&to))?;
    Ok(to.join("dist"))
}

/// Copies a file, or a folder with everything in it, replacing what was there.
fn copy(from: &Path, to: &Path) -> Result {
    if from.is_dir() {
        if to.exists() {
            fs::remove_dir_all(to)?;
        }
        fs::create_dir_all(to)?;
        for entry in fs::read_dir(from)? {
            let name = entry?.file_name();
            copy(&from.join(&name), &to.join(&name))?;
        }
        Ok(())
    } else {
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(from, to)?;
        Ok(())
    }
}
