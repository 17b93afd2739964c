//! Running commands, loudly.

use std::ffi::OsStr;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{Failure, Result, paths};

/// A command run from the workspace root with the tools' folders on `PATH`.
pub fn cmd(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    command.current_dir(paths::root());
    command.env("PATH", tool_path());
    command
}

/// `cargo VERB` on the reference server's package with its optimised
/// profile (`server`), as `cargo xtask run` and `cargo xtask bench` build it.
pub fn server_cargo(verb: &str) -> Command {
    let mut command = cmd("cargo");
    command.args([verb, "--profile", "server", "--package", "contacts-server"]);
    command
}

/// `PATH` with cargo's bin folder and the npm tools in front.
pub fn tool_path() -> std::ffi::OsString {
    let mut dirs = vec![paths::node_bin()];
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(std::path::Path::new(&home).join(".cargo").join("bin"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).unwrap_or_default()
}

/// Runs a command to completion, printing it and its duration; fails on a non-zero exit.
pub fn run(command: &mut Command) -> Result {
    let shown = show(command);
    println!("\n$ {shown}");
    let started = Instant::now();
    let status = command
        .status()
        .map_err(|e| Failure(format!("could not start `{shown}`: {e}")))?;
    println!("  ({:.1}s)", started.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(Failure(format!("`{shown}` failed ({status})")))
    }
}

/// Runs a command quietly and returns its standard output, or `None` where it
/// cannot start or fails: used to probe for installed tools.
pub fn probe(program: &str, args: &[&str]) -> Option<String> {
    let output = cmd(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn show(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints a step header.
pub fn step(title: &str) {
    println!("\n==> {title}");
}
