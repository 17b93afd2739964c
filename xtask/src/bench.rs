//! `cargo xtask bench`: figures, not pass/fail tests.

use crate::cmd::{cmd, run, server_cargo, step};
use crate::{Failure, Result, dist, paths, peer, test, tools};

/// Prints the API's throughput and latency (also under a flood of wrong
/// passwords), the delivery figures (saves with the targets up, down and not
/// configured; delivery latency at steady loads on each engine set-up), the
/// editor's first-load size and time to interactive beside the React peer's
/// (`../shared/peer/`), and the JS package's validation speed and size.
/// `--engine postgres` adds the storage engines side by side; `--baseline
/// PATH` gives the delivery figures of the server binary at PATH (another
/// build) beside this build's, taking turns; `--baseline-pkg DIR` does the
/// same for the JS package's speed, DIR holding another build of `pkg/`.
pub fn bench(args: &[String]) -> Result {
    const USAGE: &str =
        "usage: cargo xtask bench [--engine postgres] [--baseline PATH] [--baseline-pkg DIR]";
    let mut example: Vec<String> = Vec::new();
    let mut baseline_pkg: Option<&String> = None;
    let mut rest = args;
    while !rest.is_empty() {
        match rest {
            [flag, engine, more @ ..] if flag == "--engine" && engine == "postgres" => {
                example.extend([flag.clone(), engine.clone()]);
                rest = more;
            }
            [flag, path, more @ ..] if flag == "--baseline" => {
                example.extend([flag.clone(), path.clone()]);
                rest = more;
            }
            [flag, dir, more @ ..] if flag == "--baseline-pkg" => {
                baseline_pkg = Some(dir);
                rest = more;
            }
            _ => return Err(Failure(USAGE.into())),
        }
    }
    tools::ensure_all()?;

    run(&mut server_cargo("build"))?;
    let server = paths::target().join("server").join("contacts-server");
    step(
        "reference API: POSTs from 16 concurrent clients with the relay idle, busy and stuck; deliveries per second; agents' saves during a login flood; saves with the targets up, down and not configured; delivery latency at 100 and 500 saves/s",
    );
    run(server_cargo("run")
        .args(["--example", "bench", "--", "--server"])
        .arg(&server)
        .args(&example))?;

    dist::build_editor()?;
    let peer = peer::build_peer()?;
    step("editor: first-load size and time to interactive, against the React peer's");
    run(test::against(&mut cmd("node"), server)
        .env("PEER_DIST", peer)
        .arg("tests/e2e/bench-load.mjs"))?;

    dist::build_js_package()?;
    step("JS package: validateContactsRequest speed and wasm size");
    let mut node = cmd("node");
    node.arg("crates/contacts-js/bench/validate.bench.mjs");
    if let Some(dir) = baseline_pkg {
        node.arg("--baseline").arg(dir);
    }
    run(&mut node)
}
