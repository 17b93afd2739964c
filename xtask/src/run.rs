//! `cargo xtask run`: the editor served by the reference API, with demo data,
//! and two stand-in receivers for MAS and MDM (the server crate's `receiver`
//! example) that print every delivery, so that deliveries are seen to happen.
//! `--postgres`: on a throwaway PostgreSQL in `target/postgres-dev/` instead
//! of the SQLite file (made afresh at each run).

use std::ffi::OsString;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use contacts_testkit::postgres::Cluster;

use crate::cmd::{cmd, run as run_cmd, server_cargo};
use crate::{Failure, Result, dist, paths, tools};

/// Where the development configuration sends the deliveries.
const RECEIVERS: [&str; 2] = ["MAS=127.0.0.1:8091", "MDM=127.0.0.1:8092"];

/// Builds the editor, starts the receivers and the reference API serving the
/// editor. `--postgres` runs it on a throwaway PostgreSQL; other arguments go
/// to `contacts-server` (e.g. `--addr 127.0.0.1:9090`).
pub fn run(args: &[String]) -> Result {
    let postgres = args.iter().any(|a| a == "--postgres");
    let server_args: Vec<&String> = args.iter().filter(|a| *a != "--postgres").collect();
    tools::ensure_build_tools()?;
    // Ctrl-C reaches the whole foreground process group: the server stops
    // on it and the receivers die. This process outlives it, so as to stop
    // and remove the throwaway PostgreSQL below, which runs in a session of
    // its own that the signal does not reach.
    signal_hook::flag::register(
        signal_hook::consts::SIGINT,
        Arc::new(AtomicBool::new(false)),
    )
    .map_err(|e| Failure(format!("cannot handle Ctrl-C: {e}")))?;
    // Stopped and removed when dropped, at the end of this function.
    let cluster = if postgres {
        tools::ensure_postgres()?;
        Some(Cluster::start_in(paths::target().join("postgres-dev"), true).map_err(Failure)?)
    } else {
        None
    };
    let db: OsString = match &cluster {
        Some(cluster) => cluster.create_database("contacts").map_err(Failure)?.into(),
        None => paths::target().join("contacts-dev.sqlite").into(),
    };
    dist::build_editor()?;
    run_cmd(server_cargo("build").args(["--example", "receiver"]))?;
    // The receivers die with this process's group on Ctrl-C, and are killed
    // below when the server stops otherwise.
    let mut receivers = cmd(paths::target()
        .join("server")
        .join("examples")
        .join("receiver"))
    .args(RECEIVERS)
    .spawn()
    .map_err(|e| Failure(format!("cannot start the stand-in receivers: {e}")))?;
    println!(
        "\nThe editor will be at http://127.0.0.1:8080/ (development credentials: ocsuser / ocsuser, ProfileId CAAG_302).\nDatabase: {}\nDeliveries go to the stand-ins for MAS and MDM on 127.0.0.1:8091 and :8092, which print a line for each.",
        db.display()
    );
    let served = run_cmd(
        server_cargo("run")
            .args(["--", "--static-dir"])
            .arg(paths::dist())
            .arg("--db")
            .arg(&db)
            .args(server_args),
    );
    let _ = receivers.kill();
    let _ = receivers.wait();
    drop(cluster);
    served
}
