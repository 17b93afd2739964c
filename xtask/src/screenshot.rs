//! `cargo xtask screenshot`: README.md's picture of the editor, `docs/editor.png`.

use crate::cmd::{cmd, run, step};
use crate::{Result, dist, paths, test, tools};

/// Builds the editor and the server, then has headless Chromium take the
/// standalone editor with the demo customer's contacts loaded.
pub fn screenshot() -> Result {
    tools::ensure_all()?;
    dist::build_editor()?;
    step("docs/editor.png: the editor in Chromium");
    run(cmd("cargo").args(["build", "--package", "contacts-server"]))?;
    let server = paths::target().join("debug").join("contacts-server");
    run(test::against(&mut cmd("node"), server).arg("tests/e2e/screenshot.mjs"))
}
