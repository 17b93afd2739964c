//! `cargo xtask run`: the editor served by the reference API, with demo data.

use crate::cmd::{cmd, run as run_cmd};
use crate::{Result, dist, paths, tools};

/// Builds the editor and starts the reference API serving it. Extra
/// arguments go to `contacts-server` (e.g. `--addr 127.0.0.1:9090`).
pub fn run(server_args: &[String]) -> Result {
    tools::ensure_build_tools()?;
    dist::build_editor()?;
    let db = paths::target().join("contacts-dev.sqlite");
    println!(
        "\nThe editor will be at http://127.0.0.1:8080/ (development credentials: ocsuser / ocsuser, ProfileId CAAG_302).\nDatabase: {}",
        db.display()
    );
    run_cmd(
        cmd("cargo")
            .args([
                "run",
                "--profile",
                "server",
                "--package",
                "contacts-server",
                "--",
                "--static-dir",
            ])
            .arg(paths::dist())
            .arg("--db")
            .arg(&db)
            .args(server_args),
    )
}
