//! The third-party contract test: schemathesis (from PyPI, in a virtual
//! environment of its own) checks `/openapi.json` against the running
//! reference server, with every check it has.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::cmd::{cmd, probe, run, step};
use crate::{Failure, Result, paths};

/// The schemathesis release the description is checked with.
const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// Test cases per operation and phase. Hypothesis may stop a phase short of
/// it, so it is set above the 100 per operation the suite promises.
const MAX_EXAMPLES: &str = "150";

/// How long the server may take to announce its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the whole schemathesis run may take (it takes about 10 to 20 s).
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

/// The development credentials and profile of the server's default configuration.
const DEV_AUTH: &str = "ocsuser:ocsuser";
const DEV_PROFILE: &str = "ProfileId: CAAG_302";

/// The Python module loaded as schemathesis hooks (`SCHEMATHESIS_HOOKS`).
const HOOKS_MODULE: &str = "contract_hooks";

/// A schema cannot say that a tracking id is unique, nor that the header and
/// the body carry the same one; the contract requires both ("Unique tracking
/// identifier"), and the server refuses a reused id (422) or two different
/// ids (400). So every schema-valid POST gets a fresh id, in the header and
/// the body where they are present. Generated ids are otherwise kept: GETs
/// and the invalid ids of negative cases still reach the server as generated.
/// Nor can a schema say which version of the contacts is current, which
/// `If-Match` must name (else 412): a schema-valid POST sends `*`, any version.
/// And the schema's phone pattern does not list the area codes and exchanges
/// in use (libphonenumber's table, docs/validation.md: as a regular
/// expression it would be kilobytes), so a schema-valid POST's phones are the
/// contract's sample number, formatted as generated around it.
const HOOKS: &str = r#"import itertools
import os
import re

import schemathesis

_RUN = os.urandom(4).hex()
_IN_USE = re.compile(r"[0-9]{10}")
_SEQUENCE = itertools.count()


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    meta = case.meta
    if case.method.upper() != "POST" or meta is None or not meta.generation.mode.is_positive:
        return
    tracking_id = f"st-{_RUN}-{next(_SEQUENCE)}"
    if case.headers and "Request-Tracking-Id" in case.headers:
        case.headers["Request-Tracking-Id"] = tracking_id
    if isinstance(case.body, dict) and "request_tracking_id" in case.body:
        case.body["request_tracking_id"] = tracking_id
    if case.headers and "If-Match" in case.headers:
        case.headers["If-Match"] = "*"
    if isinstance(case.body, dict) and isinstance(case.body.get("contacts"), list):
        for contact in case.body["contacts"]:
            for field in ("work_phone", "mobile_phone", "fax"):
                if isinstance(contact, dict) and isinstance(contact.get(field), str):
                    contact[field] = _IN_USE.sub("9147212006", contact[field], count=1)
"#;

/// Installs schemathesis where missing, starts the debug server on a fresh
/// database and runs `st run` against its `/openapi.json`: every check, at
/// least 100 examples per operation that has inputs, bounded in time.
pub fn contract_test() -> Result {
    step(&format!(
        "contract: schemathesis {SCHEMATHESIS_VERSION} against /openapi.json"
    ));
    let venv = ensure_schemathesis()?;
    let hooks_dir = venv.join("hooks");
    std::fs::create_dir_all(&hooks_dir)?;
    std::fs::write(hooks_dir.join(format!("{HOOKS_MODULE}.py")), HOOKS)?;

    let server = Server::start()?;
    let mut st = cmd(venv.join("bin").join("st"));
    st.arg("run")
        .arg(format!("{}/openapi.json", server.base_url))
        .args(["--auth", DEV_AUTH, "--header", DEV_PROFILE])
        .args(["--checks", "all", "--max-examples", MAX_EXAMPLES])
        .args(["--request-timeout", "10", "--workers", "2"])
        // Nothing is kept between runs: no example database in the work tree.
        .args(["--generation-database", "none", "--no-color"])
        // Schemathesis keeps a cache in `.schemathesis/` of its working
        // directory: the run's own directory, not the work tree.
        .current_dir(&server.run_dir)
        .env("SCHEMATHESIS_HOOKS", HOOKS_MODULE)
        .env("PYTHONPATH", &hooks_dir)
        .stdin(Stdio::null());
    // Shown without the credentials, which stay out of logs even in development.
    let shown = format!(
        "st run {}/openapi.json --auth *** --header '{DEV_PROFILE}' --checks all --max-examples {MAX_EXAMPLES}",
        server.base_url
    );
    let outcome = run_bounded(&mut st, &shown, RUN_TIMEOUT);
    server.stop();
    outcome
}

/// The virtual environment with the pinned schemathesis, made or updated
/// only where `schemathesis --version` does not already name it.
fn ensure_schemathesis() -> Result<PathBuf> {
    let venv = paths::target().join("tools").join("schemathesis-venv");
    let bin = venv.join("bin");
    let installed = probe(&bin.join("schemathesis").to_string_lossy(), &["--version"])
        .is_some_and(|v| names_pinned_version(&v));
    if installed {
        return Ok(venv);
    }
    if !bin.join("pip").exists() {
        step("creating the Python virtual environment for schemathesis");
        run(cmd("python3").args(["-m", "venv"]).arg(&venv)).map_err(|Failure(why)| {
            Failure(format!(
                "{why}; install Python 3 with its venv module (Debian: python3-venv)"
            ))
        })?;
    }
    step(&format!(
        "installing schemathesis {SCHEMATHESIS_VERSION} from PyPI"
    ));
    run(cmd(bin.join("pip")).args([
        "install",
        "--disable-pip-version-check",
        "--quiet",
        &format!("schemathesis=={SCHEMATHESIS_VERSION}"),
    ]))?;
    Ok(venv)
}

/// The reference server on a free port of 127.0.0.1 with a database of its own.
struct Server {
    child: Child,
    base_url: String,
    run_dir: PathBuf,
}

impl Server {
    /// Starts the debug binary (built where missing) and waits for its
    /// `listening on` line.
    fn start() -> Result<Self> {
        let binary = paths::target().join("debug").join("contacts-server");
        if !binary.exists() {
            run(cmd("cargo").args(["build", "--package", "contacts-server"]))?;
        }
        let run_dir = paths::target()
            .join("contract")
            .join(std::process::id().to_string());
        // A directory left by an earlier, interrupted run is cleared first.
        if run_dir.exists() {
            std::fs::remove_dir_all(&run_dir)?;
        }
        std::fs::create_dir_all(&run_dir)?;
        let mut child = cmd(&binary)
            .args(["--addr", "127.0.0.1:0", "--db"])
            .arg(run_dir.join("contacts.sqlite"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Failure(format!("could not start {}: {e}", binary.display())))?;
        let Some(stdout) = child.stdout.take() else {
            return Err(Failure("the server's standard output is not piped".into()));
        };
        let mut server = Self {
            child,
            base_url: String::new(),
            run_dir,
        };
        match wait_for_address(stdout) {
            Ok(base_url) => {
                println!("  server at {base_url}");
                server.base_url = base_url;
                Ok(server)
            }
            Err(failure) => {
                server.stop();
                Err(failure)
            }
        }
    }

    /// Stops the server with SIGTERM (SIGKILL if it lingers) and removes its database.
    fn stop(mut self) {
        let terminated = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !terminated || wait_bounded(&mut self.child, Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.run_dir);
    }
}

/// Reads the server's standard output until `listening on URL`, for at most
/// [`START_TIMEOUT`]; later lines are drained so that the server never blocks.
fn wait_for_address(stdout: ChildStdout) -> Result<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut sender = Some(sender);
        for line in BufReader::new(stdout)
            .lines()
            .map_while(std::result::Result::ok)
        {
            if let Some(url) = line.strip_prefix("listening on ")
                && let Some(sender) = sender.take()
            {
                let _ = sender.send(url.trim().to_owned());
            }
        }
    });
    receiver.recv_timeout(START_TIMEOUT).map_err(|_| {
        Failure(format!(
            "the server did not print `listening on` within {}s",
            START_TIMEOUT.as_secs()
        ))
    })
}

/// Runs a command like [`run`], shown as `shown`, but kills it after `limit`.
fn run_bounded(command: &mut Command, shown: &str, limit: Duration) -> Result {
    println!("\n$ {shown}");
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| Failure(format!("could not start {shown}: {e}")))?;
    let Some(status) = wait_bounded(&mut child, limit) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(Failure(format!(
            "schemathesis did not finish within {}s",
            limit.as_secs()
        )));
    };
    println!("  ({:.1}s)", started.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(Failure(format!(
            "schemathesis found failures or could not run ({status})"
        )))
    }
}

/// Waits for a child for at most `limit`; `None` where it is still running.
fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(100)),
            Ok(None) | Err(_) => return None,
        }
    }
}

/// Whether `schemathesis --version` printed the pinned version.
fn names_pinned_version(version_output: &str) -> bool {
    version_output.split_whitespace().last() == Some(SCHEMATHESIS_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_pinned_version() {
        assert!(names_pinned_version("schemathesis, version 4.32.5\n"));
        assert!(!names_pinned_version("schemathesis, version 4.32.4\n"));
        assert!(!names_pinned_version(""));
    }
}
