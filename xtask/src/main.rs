//! `cargo xtask`: the project's own tasks.
//!
//! Every task first installs what it needs and is missing (idempotently), so
//! that `cargo xtask run` and `cargo xtask test` work on a fresh machine.

mod bench;
mod cmd;
mod contract;
mod dist;
mod fuzz;
mod generate;
mod low_memory;
mod paths;
mod peer;
mod precompress;
mod run;
mod screenshot;
mod test;
mod tools;
mod wasm_imports;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  run [--postgres]
           install what is missing, build the editor, start the reference API
           with demo data at http://127.0.0.1:8080/ (on a throwaway PostgreSQL
           with --postgres)
  test     the whole test suite (formatting, lints, host, wasm, browser,
           Node and end-to-end tests)
  dist     release artefacts: dist/ (the editor) and pkg/ (the JS package)
  bench [--engine postgres] [--baseline PATH] [--rates 100,500,...]
           print benchmark figures (API throughput and latency, editor
           size and time to interactive beside the React peer's of
           ../shared/peer/, JS validation speed and size); with
           --engine postgres also SQLite and PostgreSQL side by side;
           BENCH_BASELINE_DIST=DIR also times another build of the editor
  contract check the running API against /openapi.json with schemathesis
  fuzz [SECONDS]
           run every cargo-fuzz target for SECONDS each (default 60)
  generate [--check]
           the NANP table and the conformance tables of the validation, from
           the pinned npm packages (--check: compare with the committed ones)
  install  only install the missing tools
  screenshot
           docs/editor.png, README.md's picture of the editor";

/// A task failure, with a sentence that says what went wrong.
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

pub type Result<T = ()> = std::result::Result<T, Failure>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("run") => run::run(&args[1..]),
        Some("test") => test::test(),
        Some("dist") => dist::dist(),
        Some("bench") => bench::bench(&args[1..]),
        Some("generate") => generate::generate(&args[1..]),
        Some("install") => tools::ensure_all(),
        Some("screenshot") => screenshot::screenshot(),
        Some("contract") => contract::contract_test(),
        Some("fuzz") => match args.get(1).map(|s| s.parse::<u64>()) {
            None => fuzz::fuzz(60),
            Some(Ok(seconds)) => fuzz::fuzz(seconds),
            Some(Err(_)) => Err(Failure(format!(
                "fuzz: '{}' is not a number of seconds",
                args[1]
            ))),
        },
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("unknown task {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(why)) => {
            eprintln!("xtask: {why}");
            ExitCode::FAILURE
        }
    }
}
