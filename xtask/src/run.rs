//! `cargo xtask run`: the editor served by the reference API, with demo data,
//! and two stand-in receivers for MAS and MDM (the server crate's `receiver`
//! example) that print every delivery, so that deliveries are seen to happen;
//! and, on a second local origin, the development issuer of bearer tokens
//! (the server crate's `issuer` example: a key pair made at start, its key
//! set, a token for `ocsuser` at `/token`) serving the demo console of
//! `static/console/`. The server runs with the development configuration
//! made to take that issuer's tokens and to be framed by that origin
//! (`contacts_testkit::dev_issuer::server_config`), Basic still on.
//! `--postgres`: on a throwaway PostgreSQL in `target/postgres-dev/` instead
//! of the SQLite file (made afresh at each run).

use std::ffi::OsString;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use contacts_testkit::dev_issuer;
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
    refuse_exposure(&server_args)?;
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
    let config = paths::target().join("contacts-dev-issuer.toml");
    let development = paths::root()
        .join("crates")
        .join("contacts-server")
        .join("dev-config.toml");
    let development = std::fs::read_to_string(&development)
        .map_err(|e| Failure(format!("cannot read {}: {e}", development.display())))?;
    std::fs::write(
        &config,
        dev_issuer::server_config(&development, dev_issuer::ORIGIN),
    )
    .map_err(|e| Failure(format!("cannot write {}: {e}", config.display())))?;
    run_cmd(server_cargo("build").args(["--example", "receiver", "--example", "issuer"]))?;
    let examples = paths::target().join("server").join("examples");
    // The receivers and the issuer die with this process's group on Ctrl-C,
    // and are killed below when the server stops otherwise.
    let mut receivers = cmd(examples.join("receiver"))
        .args(RECEIVERS)
        .spawn()
        .map_err(|e| Failure(format!("cannot start the stand-in receivers: {e}")))?;
    let console = paths::root().join("static").join("console");
    let mut issuer = cmd(examples.join("issuer"))
        .arg(issuer_addr())
        .arg(&console)
        .spawn()
        .map_err(|e| Failure(format!("cannot start the development issuer: {e}")))?;
    // The server fetches the issuer's key set at start.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(issuer_addr()).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    println!(
        "\nThe editor, three ways:\n  \
         standalone: http://127.0.0.1:8080/?ezpay_id=000010000005008 (sign in as ocsuser / ocsuser, ProfileId CAAG_302)\n  \
         framed by the demo console, signed in by its token: {origin}/ ({console}: {pages})\n  \
         the <contact-editor> element in a console page: the same console, {origin}/\n\
         Tokens: {origin}/token mints one for ocsuser (profile CAAG_302, 5 minutes), signed by a key made at this start; key set {origin}/jwks.\n\
         Database: {db}\n\
         Deliveries go to the stand-ins for MAS and MDM on 127.0.0.1:8091 and :8092, which print a line for each.",
        origin = dev_issuer::ORIGIN,
        console = console.display(),
        pages = console_pages(&console),
        db = db.display(),
    );
    let served = run_cmd(
        server_cargo("run")
            .args(["--", "--static-dir"])
            .arg(paths::dist())
            .arg("--db")
            .arg(&db)
            .arg("--config")
            .arg(&config)
            // The embedding demo's script too, though a --config is given.
            .arg("--dev")
            .args(server_args),
    );
    let _ = receivers.kill();
    let _ = receivers.wait();
    let _ = issuer.kill();
    let _ = issuer.wait();
    drop(cluster);
    served
}

/// Where the development issuer listens: the address of its origin.
fn issuer_addr() -> String {
    dev_issuer::ORIGIN.trim_start_matches("http://").to_owned()
}

/// The HTML pages of the demo console's folder, or where it is absent.
fn console_pages(console: &std::path::Path) -> String {
    let Ok(entries) = std::fs::read_dir(console) else {
        return "absent in this checkout; that origin shows a page saying so".to_owned();
    };
    let mut pages: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".html"))
        .collect();
    pages.sort();
    if pages.is_empty() {
        "no page in it yet".to_owned()
    } else {
        pages.join(", ")
    }
}

/// Refuses an `--addr` beyond loopback unless `--dev` is given: the
/// configuration has the development credentials and the server is given
/// `--config`, so the server itself would not refuse it.
fn refuse_exposure(server_args: &[&String]) -> Result {
    let addr = server_args
        .iter()
        .position(|a| *a == "--addr")
        .and_then(|at| server_args.get(at + 1))
        .map(|a| a.as_str())
        .or_else(|| server_args.iter().find_map(|a| a.strip_prefix("--addr=")));
    let exposed = addr.is_some_and(|addr| {
        addr.parse::<SocketAddr>()
            .map_or(true, |addr| !addr.ip().is_loopback())
    });
    if exposed && !server_args.iter().any(|a| *a == "--dev") {
        return Err(Failure(format!(
            "refusing --addr {}: cargo xtask run serves the development credentials (ocsuser / ocsuser); \
             listen on a loopback address such as 127.0.0.1, or add --dev to expose them anyway",
            addr.unwrap_or_default()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_beyond_loopback_needs_dev() {
        let refused = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            refuse_exposure(&args.iter().collect::<Vec<_>>()).is_err()
        };
        assert!(!refused(&[]));
        assert!(!refused(&["--addr", "127.0.0.1:9090"]));
        assert!(!refused(&["--addr=[::1]:9090"]));
        assert!(refused(&["--addr", "0.0.0.0:8080"]));
        assert!(refused(&["--addr=192.0.2.1:8080"]));
        assert!(refused(&["--addr", "not an address"]));
        assert!(!refused(&["--addr", "0.0.0.0:8080", "--dev"]));
    }
}
