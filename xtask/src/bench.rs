//! `cargo xtask bench`: figures, not pass/fail tests.

use crate::cmd::{cmd, run, server_cargo, step};
use crate::{Failure, Result, dist, paths, peer, test, tools};

/// Prints the API's throughput and latency (also under a flood of wrong
/// passwords), the editor's first-load size and time to interactive beside
/// the React peer's (`../shared/peer/`), and the JS package's validation
/// speed and size.
/// `--engine postgres` adds the storage engines side by side.
pub fn bench(args: &[String]) -> Result {
    let engines: &[&str] = match args {
        [] => &[],
        [flag, engine] if flag == "--engine" && engine == "postgres" => &["--engine", "postgres"],
        _ => {
            return Err(Failure(
                "usage: cargo xtask bench [--engine postgres]".into(),
            ));
        }
    };
    tools::ensure_all()?;

    step(
        "reference API: POSTs from 16 concurrent clients with the relay idle, busy and stuck; deliveries per second; agents' saves during a login flood",
    );
    run(server_cargo("run")
        .args(["--example", "bench", "--"])
        .args(engines))?;

    dist::build_editor()?;
    let peer = peer::build_peer()?;
    step("editor: first-load size and time to interactive, against the React peer's");
    run(&mut server_cargo("build"))?;
    let server = paths::target().join("server").join("contacts-server");
    run(test::against(&mut cmd("node"), server)
        .env("PEER_DIST", peer)
        .arg("tests/e2e/bench-load.mjs"))?;

    dist::build_js_package()?;
    step("JS package: validateContactsRequest speed and wasm size");
    run(cmd("node").arg("crates/contacts-js/bench/validate.bench.mjs"))
}
