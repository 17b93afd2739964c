//! Command-line flags.

use std::net::SocketAddr;
use std::path::PathBuf;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The SQLite database file (created if missing).
    pub db: PathBuf,
    /// The built editor to serve, if any.
    pub static_dir: Option<PathBuf>,
    /// The TOML configuration; the development defaults without it.
    pub config: Option<PathBuf>,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run the server.
    Serve(Options),
    /// Read a password on standard input and print its argon2 hash.
    HashPassword,
    /// Print the usage.
    Help,
}

/// The usage text.
pub const USAGE: &str = "\
usage: contacts-server [--addr IP:PORT] [--db FILE] [--static-dir DIR] [--config FILE]
       contacts-server hash-password    (reads a password on standard input)

  --addr        where to listen (default 127.0.0.1:8080; port 0 picks a free one)
  --db          the SQLite database file (default contacts.sqlite)
  --static-dir  the built editor to serve
  --config      the TOML configuration (default: development users and customers)";

/// Reads the arguments that follow the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let mut options = Options {
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        db: PathBuf::from("contacts.sqlite"),
        static_dir: None,
        config: None,
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--addr" => {
                let text = value()?;
                options.addr = text.parse().map_err(|_| {
                    format!("--addr: '{text}' is not an address such as 127.0.0.1:8080")
                })?;
            }
            "--db" => options.db = value()?.into(),
            "--static-dir" => options.static_dir = Some(value()?.into()),
            "--config" => options.config = Some(value()?.into()),
            "hash-password" => return Ok(Command::HashPassword),
            "-h" | "--help" => return Ok(Command::Help),
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    Ok(Command::Serve(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn reads_flags_in_both_spellings() {
        let Ok(Command::Serve(options)) = parse(args(&[
            "--addr",
            "127.0.0.1:0",
            "--db=x.sqlite",
            "--static-dir",
            "dist",
            "--config",
            "c.toml",
        ])) else {
            panic!("valid flags");
        };
        assert_eq!(options.addr.port(), 0);
        assert_eq!(options.db, PathBuf::from("x.sqlite"));
        assert_eq!(options.static_dir, Some(PathBuf::from("dist")));
        assert_eq!(options.config, Some(PathBuf::from("c.toml")));
    }

    #[test]
    fn refuses_bad_arguments_with_a_reason() {
        for (list, expected) in [
            (&["--addr", "localhost"][..], "not an address"),
            (&["--db"][..], "needs a value"),
            (&["--verbose"][..], "unknown argument"),
        ] {
            let error = parse(args(list)).expect_err("must fail");
            assert!(error.contains(expected), "{list:?}: {error}");
        }
    }
}
