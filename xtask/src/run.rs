//! `cargo xtask run`: the editor served by the reference API, with demo data,
//! and two stand-in receivers for MAS and MDM (the server crate's `receiver`
//! example) that print every delivery, so that deliveries are seen to happen.

use crate::cmd::{cmd, run as run_cmd};
use crate::{Failure, Result, dist, paths, tools};

/// Where the development configuration sends the deliveries.
const RECEIVERS: [&str; 2] = ["MAS=127.0.0.1:8091", "MDM=127.0.0.1:8092"];

/// Builds the editor, starts the receivers and the reference API serving the
/// editor. Extra arguments go to `contacts-server` (e.g. `--addr 127.0.0.1:9090`).
pub fn run(server_args: &[String]) -> Result {
    tools::ensure_build_tools()?;
    dist::build_editor()?;
    run_cmd(cmd("cargo").args([
        "build",
        "--profile",
        "server",
        "--package",
        "contacts-server",
        "--example",
        "receiver",
    ]))?;
    // The receivers die with this process's group on Ctrl-C, and are killed
    // below when the server stops otherwise.
    let mut receivers = cmd(paths::target()
        .join("server")
        .join("examples")
        .join("receiver"))
    .args(RECEIVERS)
    .spawn()
    .map_err(|e| Failure(format!("cannot start the stand-in receivers: {e}")))?;
    let db = paths::target().join("contacts-dev.sqlite");
    println!(
        "\nThe editor will be at http://127.0.0.1:8080/ (development credentials: ocsuser / ocsuser, ProfileId CAAG_302).\nDatabase: {}\nDeliveries go to the stand-ins for MAS and MDM on 127.0.0.1:8091 and :8092, which print a line for each.",
        db.display()
    );
    let served = run_cmd(
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
    );
    let _ = receivers.kill();
    let _ = receivers.wait();
    served
}
