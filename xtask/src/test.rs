//! `cargo xtask test`: the whole suite, as CI runs it.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::cmd::{cmd, run, step};
use crate::{Result, contract, dist, fuzz, generate, paths, tools};

const WASM: &str = "wasm32-unknown-unknown";

/// How long each fuzz target runs in the test suite: enough to replay the
/// seeds and catch a regression, short enough for CI (`cargo xtask fuzz`
/// runs longer).
const FUZZ_SECONDS_IN_TESTS: u64 = 15;

/// Installs what is missing, checks formatting and lints, then runs every
/// test: host, wasm build, browser (wasm-bindgen-test in headless Chromium),
/// the API against its OpenAPI description (schemathesis), the JS package
/// under Node with a TypeScript check, and end-to-end.
pub fn test() -> Result {
    let started = Instant::now();
    tools::ensure_all()?;

    step("formatting");
    run(cmd("cargo").args(["fmt", "--all", "--check"]))?;
    run(cmd("cargo").args(["fmt", "--manifest-path", "fuzz/Cargo.toml", "--check"]))?;

    step("lints (host and wasm32)");
    run(cmd("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The editor's and js-json's tests are wasm-only; the model's tests are host
    // tests (proptest needs the host's randomness), so only its library is
    // checked for wasm32.
    run(cmd("cargo").args(wasm_clippy(&[
        "--package",
        "contacts-editor",
        "--package",
        "js-json",
        "--all-targets",
    ])))?;
    run(cmd("cargo").args(wasm_clippy(&[
        "--package",
        "contacts-js",
        "--package",
        "contacts-model",
        "--lib",
    ])))?;

    generate::generate(&["--check".to_owned()])?;

    step("host tests");
    run(cmd("cargo").args(["test", "--workspace"]))?;

    contract::contract_test()?;

    step("fuzzing, briefly: every target from its seeds");
    fuzz::fuzz(FUZZ_SECONDS_IN_TESTS)?;

    step("the model builds for the browser, without serde_json");
    run(cmd("cargo").args([
        "build",
        "--package",
        "contacts-model",
        "--no-default-features",
        "--target",
        WASM,
        "--release",
    ]))?;

    step("browser tests of the editor's components (headless Chromium), and of js-json (Node)");
    run(cmd("cargo")
        .args([
            "test",
            "--package",
            "contacts-editor",
            "--package",
            "js-json",
        ])
        .args(["--target", WASM])
        .env("CHROMEDRIVER", paths::CHROMEDRIVER))?;

    dist::build_editor()?;
    dist::build_js_package()?;

    step("the JS package under Node, and its TypeScript types");
    run(node_test().arg("crates/contacts-js/tests/"))?;
    run(cmd("tsc").args([
        "--project",
        "crates/contacts-js/tests/tsconfig.json",
        "--noEmit",
    ]))?;

    step("end-to-end tests in Chromium against the real server");
    let server = paths::target().join("debug").join("contacts-server");
    run(against(&mut node_test(), server)
        .args(["--test-concurrency=1", "tests/e2e/"])
        .env("E2E_ARTIFACTS", paths::target().join("e2e")))?;

    println!(
        "\nxtask test: every step passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `cargo clippy` arguments for wasm32, denying warnings.
fn wasm_clippy<'a>(selection: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["clippy", "--target", WASM];
    args.extend_from_slice(selection);
    args.extend(["--", "-D", "warnings"]);
    args
}

/// `node` given what the end-to-end scripts of tests/e2e/ run against: the
/// `server` binary, the built editor and Chromium.
pub fn against(node: &mut Command, server: PathBuf) -> &mut Command {
    node.env("CONTACTS_SERVER_BIN", server)
        .env("CONTACTS_DIST", paths::dist())
        .env("CHROMIUM_PATH", paths::CHROMIUM)
}

fn node_test() -> Command {
    let mut node = cmd("node");
    node.arg("--test");
    node
}
