//! `cargo xtask fuzz`: every cargo-fuzz target of `fuzz/` for a bounded time.

use std::process::{Command, Stdio};

use crate::cmd::{cmd, probe, run, step};
use crate::{Failure, Result, paths};

/// The targets of `fuzz/Cargo.toml`; each has its seed corpus in `fuzz/corpus/<target>/`.
const TARGETS: [&str; 4] = ["request", "envelope", "normalize", "server"];

/// How the targets are built, for `cargo fuzz build` and `cargo fuzz run`
/// alike (different flags would rebuild). No sanitizer: the project's code
/// forbids `unsafe`, and without AddressSanitizer the targets build in half
/// the time and run about four times as many inputs per second. Sixteen
/// codegen units build faster still, for a little speed.
const BUILD_FLAGS: [&str; 4] = ["--sanitizer", "none", "--codegen-units", "16"];

/// How many lines of libFuzzer's output a crash report shows.
const CRASH_REPORT_LINES: usize = 60;

/// What one bounded run of a target did.
struct Outcome {
    target: &'static str,
    execs: Option<u64>,
    /// The crashing input libFuzzer saved, where the run crashed.
    crash: Option<String>,
}

/// Installs cargo-fuzz and the nightly toolchain where missing, builds every
/// target, runs each for `seconds_per_target` seconds from its seed corpus,
/// prints execs and crashes per target, and fails if any target crashed.
pub fn fuzz(seconds_per_target: u64) -> Result {
    ensure_nightly()?;
    ensure_cargo_fuzz()?;
    step("building the fuzz targets (nightly)");
    run(cargo_fuzz().arg("build").args(BUILD_FLAGS))?;
    let mut outcomes = Vec::new();
    for target in TARGETS {
        step(&format!("fuzzing `{target}` for {seconds_per_target} s"));
        let outcome = fuzz_target(target, seconds_per_target)?;
        println!("  {}", summary(&outcome));
        outcomes.push(outcome);
    }
    step("fuzzing summary");
    for outcome in &outcomes {
        println!("  {}", summary(outcome));
    }
    let crashed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.crash.is_some())
        .map(|o| o.target)
        .collect();
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(Failure(format!(
            "fuzzing found a crash in {}; reproduce it with `cargo +nightly fuzz run <target> <input>`, fix it, and add the input to fuzz/corpus/<target>/",
            crashed.join(", ")
        )))
    }
}

fn ensure_nightly() -> Result {
    if probe("rustup", &["run", "nightly", "rustc", "--version"]).is_some() {
        return Ok(());
    }
    step("installing the nightly toolchain (cargo-fuzz needs it)");
    run(cmd("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]))
}

fn ensure_cargo_fuzz() -> Result {
    if probe("cargo", &["+nightly", "fuzz", "--version"]).is_some() {
        return Ok(());
    }
    step("installing cargo-fuzz (a few minutes)");
    run(cmd("cargo").args(["install", "cargo-fuzz"]))
}

/// `cargo +nightly fuzz`, building into `fuzz/target` whatever the caller's
/// `CARGO_TARGET_DIR`.
fn cargo_fuzz() -> Command {
    let mut command = cmd("cargo");
    command
        .args(["+nightly", "fuzz"])
        .env_remove("CARGO_TARGET_DIR");
    command
}

/// Runs one target. New inputs go to a scratch corpus under `fuzz/target/`,
/// so the committed seeds in `fuzz/corpus/<target>/` are read, never written.
fn fuzz_target(target: &'static str, seconds: u64) -> Result<Outcome> {
    let fuzz_dir = paths::root().join("fuzz");
    let scratch = fuzz_dir.join("target").join("corpus").join(target);
    std::fs::create_dir_all(&scratch)?;
    let seeds = fuzz_dir.join("corpus").join(target);
    let output = cargo_fuzz()
        .arg("run")
        .args(BUILD_FLAGS)
        .arg(target)
        .arg(&scratch)
        .arg(&seeds)
        .args([
            "--".to_owned(),
            format!("-max_total_time={seconds}"),
            "-timeout=10".to_owned(),
            "-print_final_stats=1".to_owned(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| Failure(format!("could not start cargo fuzz: {e}")))?;
    let log = String::from_utf8_lossy(&output.stderr);
    let execs = executed_units(&log);
    if output.status.success() {
        return Ok(Outcome {
            target,
            execs,
            crash: None,
        });
    }
    let lines: Vec<&str> = log.lines().collect();
    for line in &lines[lines.len().saturating_sub(CRASH_REPORT_LINES)..] {
        eprintln!("  | {line}");
    }
    let crash = crash_input(&log).unwrap_or_else(|| format!("none saved ({})", output.status));
    Ok(Outcome {
        target,
        execs,
        crash: Some(crash),
    })
}

/// The number of inputs run: libFuzzer's final statistic, else the counter of
/// its last status line (`#1234 NEW …`), which a crash leaves behind.
fn executed_units(log: &str) -> Option<u64> {
    let final_stat = log.lines().rev().find_map(|line| {
        line.strip_prefix("stat::number_of_executed_units:")
            .and_then(|n| n.trim().parse().ok())
    });
    final_stat.or_else(|| {
        log.lines().rev().find_map(|line| {
            line.strip_prefix('#')
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
    })
}

/// Where libFuzzer saved the crashing input (`Test unit written to PATH`).
fn crash_input(log: &str) -> Option<String> {
    log.lines().find_map(|line| {
        line.split_once("Test unit written to ")
            .map(|(_, path)| path.trim().to_owned())
    })
}

fn summary(outcome: &Outcome) -> String {
    let execs = outcome
        .execs
        .map_or_else(|| "? execs".to_owned(), |n| format!("{n} execs"));
    match &outcome.crash {
        None => format!("{:<10} {execs}, 0 crashes", outcome.target),
        Some(input) => format!("{:<10} {execs}, 1 crash: {input}", outcome.target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_execs_from_the_final_stats_or_the_last_status_line() {
        let finished = "#2\tINITED cov: 10\n#4096\tpulse\nDone 5000 runs in 1 second(s)\nstat::number_of_executed_units: 5000\n";
        assert_eq!(executed_units(finished), Some(5000));
        let crashed =
            "#2\tINITED cov: 10\n#77\tNEW cov: 12 ft: 3\n==1== ERROR: libFuzzer: deadly signal\n";
        assert_eq!(executed_units(crashed), Some(77));
        assert_eq!(executed_units("no output"), None);
    }

    #[test]
    fn finds_the_saved_crashing_input() {
        let log = "SUMMARY: libFuzzer: deadly signal\nMS: 1 ChangeByte-; base unit: 0\nartifact_prefix='/w/fuzz/artifacts/request/'; Test unit written to /w/fuzz/artifacts/request/crash-ab12\nBase64: e30=\n";
        assert_eq!(
            crash_input(log).as_deref(),
            Some("/w/fuzz/artifacts/request/crash-ab12")
        );
        assert_eq!(crash_input("Done 5 runs"), None);
    }
}
