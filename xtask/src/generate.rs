//! `cargo xtask generate [--check]`: the validation's reference data, made
//! from the pinned npm packages of package.json by
//! `xtask/reference/generate.mjs`: the NANP table the model validates with
//! (libphonenumber-js) and the conformance tables its tests run
//! (libphonenumber-js's verdicts on random numbers, the isemail suite of
//! email-addresses). With `--check` it writes nothing and fails where a
//! committed file is not what it generates (`cargo xtask test` runs it).

use std::path::Path;

use crate::cmd::{cmd, run, step};
use crate::{Failure, Result, paths, tools};

/// What the script writes, relative to the workspace root.
const GENERATED: [&str; 3] = [
    "crates/contacts-model/src/nanp/table.rs",
    "crates/contacts-model/tests/conformance/phones.json",
    "crates/contacts-model/tests/conformance/isemail.json",
];

/// Writes the generated files into the workspace, or with `--check`
/// compares them with what is committed.
pub fn generate(args: &[String]) -> Result {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => return Err(Failure("usage: cargo xtask generate [--check]".into())),
    };
    tools::ensure_npm_tools()?;
    let root = paths::root();
    let out = if check {
        paths::target().join("reference")
    } else {
        root.clone()
    };
    step("reference data from the pinned npm packages (a minute or more)");
    run(cmd("node").arg("xtask/reference/generate.mjs").arg(&out))?;
    run(cmd("rustfmt")
        .args(["--edition", "2024"])
        .arg(out.join(GENERATED[0])))?;
    if check { compare(&out, &root) } else { Ok(()) }
}

/// Fails unless every file generated under `fresh` is the same as in `committed`.
fn compare(fresh: &Path, committed: &Path) -> Result {
    let stale: Vec<&str> = GENERATED
        .into_iter()
        .filter(|file| {
            let read = |dir: &Path| std::fs::read(dir.join(file)).ok();
            read(fresh).is_none() || read(fresh) != read(committed)
        })
        .collect();
    if stale.is_empty() {
        println!("the committed reference data is what `cargo xtask generate` makes");
        Ok(())
    } else {
        Err(Failure(format!(
            "not what `cargo xtask generate` makes (run it and commit): {}",
            stale.join(", ")
        )))
    }
}
