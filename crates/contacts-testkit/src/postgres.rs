//! A throwaway PostgreSQL server: `initdb` into a temporary directory, a
//! free port on 127.0.0.1, its socket inside that directory; stopped and
//! removed when dropped. PostgreSQL refuses to run as root, so as root the
//! server runs as the `postgres` user (`runuser`), which owns the directory.
//!
//! Standard library only: `cargo xtask run --postgres` starts one too, and
//! the server's benchmark compares the engines on one.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where Debian installs the server programs, one folder per version.
const DEBIAN_PROGRAMS: &str = "/usr/lib/postgresql";

/// A running PostgreSQL server.
#[derive(Debug)]
pub struct Cluster {
    /// The temporary directory: `data/`, the socket, the log.
    dir: PathBuf,
    /// The folder of `initdb`, `pg_ctl` and `createdb` (empty: on PATH).
    bin: PathBuf,
    /// Whether the programs run as `postgres` (this process is root).
    as_postgres: bool,
    pub port: u16,
}

/// The folder of the newest installed server's programs, if any.
pub fn programs() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_PROGRAMS)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn checked(what: &str, output: std::io::Result<Output>) -> Result<Output, String> {
    let output = output.map_err(|e| format!("{what}: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{what}: {}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

impl Cluster {
    /// Creates and starts a server. `durable`: as in production (`fsync`
    /// on); otherwise the server skips flushing to disk, which tests that
    /// never crash the machine do not need.
    pub fn start(durable: bool) -> Result<Self, String> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        Self::start_in(
            std::env::temp_dir().join(format!(
                "contacts-postgres-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            )),
            durable,
        )
    }

    /// Creates and starts a server in `dir`, which is emptied first.
    pub fn start_in(dir: PathBuf, durable: bool) -> Result<Self, String> {
        let cluster = Self {
            dir,
            bin: programs().unwrap_or_default(),
            as_postgres: is_root(),
            port: free_port()?,
        };
        // A server that a killed run left in `dir` is stopped first.
        if cluster.data().join("postmaster.pid").is_file() {
            let _ = cluster.pg_ctl(&["-w", "-m", "immediate", "stop"]);
        }
        let _ = std::fs::remove_dir_all(&cluster.dir);
        std::fs::create_dir_all(&cluster.dir)
            .map_err(|e| format!("{}: {e}", cluster.dir.display()))?;
        if cluster.as_postgres {
            checked(
                "chown",
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&cluster.dir)
                    .output(),
            )?;
        }
        let data = cluster.data();
        checked(
            "initdb",
            cluster
                .server_program("initdb")
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ])
                .output(),
        )?;
        let settings = format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nmax_connections = 200\nfsync = {}\n",
            cluster.port,
            cluster.dir.display(),
            if durable { "on" } else { "off" }
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .and_then(|mut file| std::io::Write::write_all(&mut file, settings.as_bytes()))
            .map_err(|e| format!("postgresql.conf: {e}"))?;
        cluster.start_again()?;
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The server's log file.
    pub fn log(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// A server program, run as `postgres` where this process is root.
    fn server_program(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        checked(
            "pg_ctl",
            self.server_program("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.log())
                .args(args)
                .output(),
        )
        .map(drop)
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start_again(&self) -> Result<(), String> {
        self.pg_ctl(&["-w", "-t", "60", "start"])
    }

    /// `pg_ctl stop -m fast`: ends every session and stops.
    pub fn stop(&self) -> Result<(), String> {
        self.pg_ctl(&["-w", "-m", "fast", "stop"])
    }

    /// The URL of a database on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a database.
    pub fn create_database(&self, name: &str) -> Result<String, String> {
        checked(
            "createdb",
            Command::new(self.bin.join("createdb"))
                .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
                .arg(self.port.to_string())
                .arg(name)
                .output(),
        )?;
        Ok(self.url(name))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-w", "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
