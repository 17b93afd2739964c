//! The command line, read with clap: the server's flags, each also from a
//! `CONTACTS_…` environment variable (a flag wins), and the `hash-password`,
//! `migrate`, `deliveries` and `config check` commands. A command line that
//! cannot be run as written is a [`clap::Error`]: it exits with status 2.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgGroup, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use contacts_model::EzpayId;
use reqwest::Url;

use crate::store::{Database, DeliveryState};

/// Where the server listens unless told otherwise.
const DEFAULT_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));

/// The SQLite file used unless told otherwise.
const DEFAULT_DB: &str = "contacts.sqlite";

/// How many deliveries `deliveries list` prints unless told otherwise.
const DEFAULT_LIST_LIMIT: usize = 1_000;

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line of text per event, for a terminal.
    #[default]
    Text,
    /// One JSON object per line, for a log pipeline.
    Json,
}

/// How to run the server.
#[derive(Debug, Clone, Args)]
pub struct Options {
    /// Where to listen; port 0 picks a free one.
    #[arg(long, value_name = "IP:PORT", default_value_t = DEFAULT_ADDR, value_parser = address, env = "CONTACTS_ADDR")]
    pub addr: SocketAddr,
    /// The database: a SQLite file (created if missing) or a PostgreSQL URL
    /// (read from `--db`, which every command takes).
    #[arg(skip = Database::Sqlite(DEFAULT_DB.into()))]
    pub db: Database,
    /// The built editor to serve.
    #[arg(long, value_name = "DIR", env = "CONTACTS_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// The TOML configuration (default: the development users, customers and targets).
    #[arg(long, value_name = "FILE", env = "CONTACTS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Do not deliver the outbox to the targets from this process (another one relays).
    #[arg(long, env = "CONTACTS_NO_RELAY")]
    pub no_relay: bool,
    /// Where to serve GET /metrics (Prometheus text); off by default.
    #[arg(long, value_name = "IP:PORT", value_parser = address, env = "CONTACTS_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// How to write the logs: text lines, or one JSON object per line.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text, env = "CONTACTS_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Export the spans by OTLP/HTTP (protobuf) to this collector, at
    /// URL/v1/traces (default: the OTEL_EXPORTER_OTLP_ENDPOINT variable; none:
    /// nothing is exported).
    #[arg(long, value_name = "URL", value_parser = otlp_endpoint, env = "CONTACTS_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<Url>,
    /// Allow the development login (no --config) on an address other than
    /// loopback, and serve the embedding demo's script (which signs in with
    /// the development credentials) even with --config.
    #[arg(long)]
    pub dev: bool,
    /// Take the client's address (for login throttling and logs) from the last
    /// X-Forwarded-For entry: only behind a proxy that sets it.
    #[arg(long)]
    pub trust_forwarded_for: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            addr: DEFAULT_ADDR,
            db: Database::Sqlite(DEFAULT_DB.into()),
            static_dir: None,
            config: None,
            no_relay: false,
            metrics_addr: None,
            log_format: LogFormat::Text,
            otlp_endpoint: None,
            dev: false,
            trust_forwarded_for: false,
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run the server.
    Serve(Options),
    /// Read a password on standard input and print its argon2 hash.
    HashPassword,
    /// List, retry or discard deliveries in the database.
    Deliveries(Database, DeliveriesCommand),
    /// Bring the database's schema up to date, and nothing else.
    Migrate(Database),
    /// Check the configuration the server would run with, and print it.
    CheckConfig(Options),
}

/// The reference Contacts API: serves the API and the built editor, and
/// delivers the accepted updates to the targets. Without a command, it serves.
#[derive(Debug, Parser)]
// A flag given twice takes its later value, as the hand-written parser did
// (the end-to-end tests give `--static-dir` twice to serve a second build).
#[command(
    name = "contacts-server",
    disable_help_subcommand = true,
    args_override_self = true
)]
struct Cli {
    #[command(flatten)]
    options: Options,
    /// A SQLite file (a path or sqlite:PATH; default contacts.sqlite) or a
    /// PostgreSQL URL postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?...];
    /// also the CONTACTS_DB environment variable.
    // Read as text and parsed after clap, so that a refusal never repeats the
    // URL and its password.
    #[arg(
        long,
        value_name = "DB",
        global = true,
        env = "CONTACTS_DB",
        hide_env_values = true
    )]
    db: Option<String>,
    #[command(subcommand)]
    command: Option<Verb>,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Reads a password on standard input and prints its argon2 hash, for the configuration.
    HashPassword,
    /// Brings the database's schema up to date, and nothing else.
    Migrate,
    /// Lists, retries or discards the deliveries to the targets.
    #[command(subcommand)]
    Deliveries(DeliveriesCommand),
    /// Checks the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Checks the configuration the server would run with, from these flags,
    /// the CONTACTS_… environment variables and the file, and prints it with
    /// its secrets hidden; exits with status 1 on a mistake.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
struct CheckArgs {
    #[command(flatten)]
    options: Options,
}

/// An operator's command on the deliveries.
#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// Prints the deliveries that match, one a line, oldest first.
    List {
        /// Only the deliveries in this state.
        #[arg(long, value_name = "pending|dead|delivered|discarded", value_parser = state)]
        state: Option<DeliveryState>,
        /// Only this customer's.
        #[arg(long, value_name = "EZPAYID", value_parser = customer)]
        customer: Option<EzpayId>,
        /// At most this many.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_LIST_LIMIT, value_parser = limit)]
        limit: usize,
    },
    /// Sends a dead delivery (or a pending one, now), or every dead one, again.
    #[command(group(ArgGroup::new("which").required(true).args(["id", "all_dead"])))]
    Retry {
        /// The delivery (the ID column of `deliveries list`).
        #[arg(value_name = "ID", value_parser = delivery_id)]
        id: Option<i64>,
        /// Every dead delivery.
        #[arg(long)]
        all_dead: bool,
    },
    /// Drops a dead or pending delivery, so that it holds back nothing.
    Discard {
        /// The delivery (the ID column of `deliveries list`).
        #[arg(value_name = "ID", value_parser = delivery_id)]
        id: i64,
    },
}

/// Reads the command line, the program's name first.
pub fn parse<I, T>(args: I) -> Result<Command, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = Cli::command().try_get_matches_from(args)?;
    // An empty CONTACTS_DB counts as none, as a template may leave it.
    let empty_in_env = matches.value_source("db") == Some(ValueSource::EnvVariable)
        && matches
            .get_one::<String>("db")
            .is_some_and(String::is_empty);
    let Cli {
        mut options,
        db,
        command,
    } = Cli::from_arg_matches(&matches)?;
    let refused = |message: String| Cli::command().error(ErrorKind::ValueValidation, message);
    if let Some(db) = db.filter(|_| !empty_in_env) {
        options.db = db.parse().map_err(refused)?;
    }
    let db = options.db.clone();
    Ok(match command {
        None => Command::Serve(exposed(options).map_err(refused)?),
        Some(Verb::HashPassword) => Command::HashPassword,
        Some(Verb::Migrate) => Command::Migrate(db),
        Some(Verb::Deliveries(command)) => Command::Deliveries(db, command),
        Some(Verb::Config(ConfigCommand::Check(CheckArgs { options: checked }))) => {
            // The server's flags go after `config check`: given before it,
            // they would be silently left out of what is checked.
            if let Some(flag) = Options::FLAGS
                .iter()
                .find(|id| matches.value_source(id) == Some(ValueSource::CommandLine))
            {
                return Err(refused(format!(
                    "give --{} after `config check`, not before it",
                    flag.replace('_', "-")
                )));
            }
            Command::CheckConfig(exposed(Options { db, ..checked }).map_err(refused)?)
        }
    })
}

impl Options {
    /// The ids of the server's flags.
    const FLAGS: [&str; 9] = [
        "addr",
        "static_dir",
        "config",
        "no_relay",
        "metrics_addr",
        "log_format",
        "otlp_endpoint",
        "dev",
        "trust_forwarded_for",
    ];
}

/// The OpenTelemetry variable that names the collector where neither
/// `--otlp-endpoint` nor `CONTACTS_OTLP_ENDPOINT` does.
const OTEL_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// `options`, unless they would expose the development login beyond
/// loopback; the collector from [`OTEL_ENDPOINT`] where none was given.
fn exposed(mut options: Options) -> Result<Options, String> {
    if options.otlp_endpoint.is_none()
        && let Some(endpoint) = std::env::var_os(OTEL_ENDPOINT).filter(|v| !v.is_empty())
    {
        let endpoint = endpoint
            .to_str()
            .ok_or_else(|| format!("{OTEL_ENDPOINT} is not UTF-8"))?;
        options.otlp_endpoint =
            Some(otlp_endpoint(endpoint).map_err(|e| format!("{OTEL_ENDPOINT}: {e}"))?);
    }
    if options.config.is_none() && !options.dev && !options.addr.ip().is_loopback() {
        return Err(format!(
            "refusing to listen on {}: without --config the server runs with the development \
             login (user ocsuser, password ocsuser), which anyone who can reach that address could use; \
             give --config with your users, listen on a loopback address such as 127.0.0.1, \
             or add --dev to expose the development login anyway",
            options.addr
        ));
    }
    Ok(options)
}

fn address(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| "not an address such as 127.0.0.1:8080".to_owned())
}

fn otlp_endpoint(text: &str) -> Result<Url, String> {
    Url::parse(text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
        .ok_or_else(|| "not an http:// or https:// URL such as http://127.0.0.1:4318".to_owned())
}

fn state(text: &str) -> Result<DeliveryState, String> {
    DeliveryState::parse(text)
        .ok_or_else(|| "it is not pending, dead, delivered or discarded".to_owned())
}

fn customer(text: &str) -> Result<EzpayId, String> {
    EzpayId::parse(text).map_err(|e| e.message)
}

fn limit(text: &str) -> Result<usize, String> {
    text.parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| "not a positive number".to_owned())
}

fn delivery_id(text: &str) -> Result<i64, String> {
    text.parse()
        .map_err(|_| "not a delivery id (the ID column of `deliveries list`)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(list: &[&str]) -> Result<Command, clap::Error> {
        parse(std::iter::once("contacts-server").chain(list.iter().copied()))
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn reads_flags_in_both_spellings() {
        let Ok(Command::Serve(options)) = parse_args(&[
            "--addr",
            "127.0.0.1:0",
            "--db=x.sqlite",
            "--static-dir",
            "dist",
            "--config",
            "c.toml",
            "--metrics-addr=127.0.0.1:9100",
            "--no-relay",
            "--otlp-endpoint",
            "http://127.0.0.1:4318",
        ]) else {
            panic!("valid flags");
        };
        assert_eq!(options.addr.port(), 0);
        assert_eq!(options.db, Database::Sqlite(PathBuf::from("x.sqlite")));
        assert_eq!(options.static_dir, Some(PathBuf::from("dist")));
        assert_eq!(options.config, Some(PathBuf::from("c.toml")));
        assert_eq!(options.metrics_addr.map(|a| a.port()), Some(9100));
        assert!(options.no_relay);
        assert_eq!(
            options.otlp_endpoint.as_ref().map(Url::as_str),
            Some("http://127.0.0.1:4318/")
        );
    }

    #[test]
    fn a_flag_given_twice_takes_its_later_value() {
        let Ok(Command::Serve(options)) =
            parse_args(&["--static-dir", "dist", "--static-dir", "other"])
        else {
            panic!("a flag given twice");
        };
        assert_eq!(options.static_dir, Some(PathBuf::from("other")));
    }

    #[test]
    fn without_flags_serves_the_defaults() {
        let Ok(Command::Serve(options)) = parse_args(&[]) else {
            panic!("the defaults");
        };
        let defaults = Options::default();
        assert_eq!(
            (options.addr, options.db, options.dev),
            (defaults.addr, defaults.db, defaults.dev)
        );
    }

    #[test]
    fn the_development_login_leaves_loopback_only_with_dev_or_a_config() {
        for list in [
            &["--addr", "127.0.0.1:8080"][..],
            &["--addr", "[::1]:8080"][..],
            &["--addr", "0.0.0.0:8080", "--dev"][..],
            &["--addr", "0.0.0.0:8080", "--config", "c.toml"][..],
        ] {
            assert!(
                matches!(parse_args(list), Ok(Command::Serve(_))),
                "{list:?}"
            );
        }
        let Ok(Command::Serve(options)) = parse_args(&["--trust-forwarded-for"]) else {
            panic!("a valid flag");
        };
        assert!(options.trust_forwarded_for && !options.dev);
    }

    #[test]
    fn reads_the_deliveries_commands() {
        let Ok(Command::Deliveries(
            db,
            DeliveriesCommand::List {
                state,
                customer,
                limit,
            },
        )) = parse_args(&[
            "deliveries",
            "list",
            "--db",
            "x.sqlite",
            "--state=dead",
            "--customer",
            "000010000005008",
        ])
        else {
            panic!("a list");
        };
        assert_eq!(db, Database::Sqlite(PathBuf::from("x.sqlite")));
        assert_eq!(state, Some(DeliveryState::Dead));
        assert_eq!(limit, DEFAULT_LIST_LIMIT);
        assert_eq!(
            customer.map(|c| c.to_string()).as_deref(),
            Some("000010000005008")
        );
        assert!(matches!(
            parse_args(&["--db", "y.sqlite", "deliveries", "retry", "42"]),
            Ok(Command::Deliveries(db, DeliveriesCommand::Retry { id: Some(42), all_dead: false }))
                if db == Database::Sqlite("y.sqlite".into())
        ));
        assert!(matches!(
            parse_args(&["deliveries", "retry", "--all-dead"]),
            Ok(Command::Deliveries(
                _,
                DeliveriesCommand::Retry {
                    id: None,
                    all_dead: true
                }
            ))
        ));
        assert!(matches!(
            parse_args(&["deliveries", "discard", "7", "--db", "z.sqlite"]),
            Ok(Command::Deliveries(db, DeliveriesCommand::Discard { id: 7 }))
                if db == Database::Sqlite("z.sqlite".into())
        ));
    }

    #[test]
    fn reads_a_postgresql_url_for_every_command() {
        let url = "postgres://contacts@127.0.0.1:5432/contacts";
        let Ok(Command::Serve(options)) = parse_args(&["--db", url]) else {
            panic!("a server");
        };
        assert_eq!(options.db, Database::Postgres(url.to_owned()));
        assert!(matches!(
            parse_args(&["migrate", "--db", url]),
            Ok(Command::Migrate(Database::Postgres(u))) if u == url
        ));
        assert!(matches!(
            parse_args(&[&format!("--db={url}"), "deliveries", "list"]),
            Ok(Command::Deliveries(Database::Postgres(u), DeliveriesCommand::List { .. })) if u == url
        ));
        // A --db after the command wins over one before it.
        assert!(matches!(
            parse_args(&["--db=sqlite:a.db", "migrate", "--db", "b.db"]),
            Ok(Command::Migrate(Database::Sqlite(p))) if p == std::path::Path::new("b.db")
        ));
    }

    #[test]
    fn every_command_has_its_help() {
        for list in [
            &["--help"][..],
            &["migrate", "--help"][..],
            &["hash-password", "--help"][..],
            &["deliveries", "--help"][..],
            &["deliveries", "list", "--help"][..],
            &["deliveries", "retry", "--help"][..],
            &["deliveries", "discard", "-h"][..],
            &["config", "check", "--help"][..],
        ] {
            let help = parse_args(list).expect_err("help, not a command");
            assert_eq!(help.kind(), ErrorKind::DisplayHelp, "{list:?}");
            assert_eq!(help.exit_code(), 0, "{list:?}");
            assert!(
                help.to_string().contains("Usage: contacts-server"),
                "{list:?}"
            );
        }
    }

    #[test]
    fn refuses_bad_arguments_with_a_reason() {
        for (list, expected) in [
            (&["--addr", "localhost"][..], "not an address"),
            (&["--db"][..], "a value is required"),
            (&["--db", "postgres://u@h/db?bogus=1"][..], "not valid"),
            (&["migrate", "--force"][..], "unexpected argument '--force'"),
            (
                &["migrate", "--addr", "127.0.0.1:1"][..],
                "unexpected argument",
            ),
            (&["--verbose"][..], "unexpected argument '--verbose'"),
            (&["--metrics-addr", "9100"][..], "not an address"),
            (&["--otlp-endpoint", "127.0.0.1:4318"][..], "not an http"),
            (&["--otlp-endpoint", "ftp://collector"][..], "not an http"),
            (&["--addr", "0.0.0.0:8080"][..], "development login"),
            (&["deliveries"][..], "list"),
            (
                &["deliveries", "list", "--state", "gone"][..],
                "is not pending",
            ),
            (
                &["deliveries", "list", "--customer", "12"][..],
                "--customer",
            ),
            (&["deliveries", "list", "--limit", "0"][..], "positive"),
            (&["deliveries", "retry"][..], "<ID|--all-dead>"),
            (
                &["deliveries", "retry", "42", "--all-dead"][..],
                "cannot be used with",
            ),
            (&["deliveries", "retry", "abc"][..], "not a delivery id"),
            (&["deliveries", "discard"][..], "<ID>"),
            (
                &["deliveries", "discard", "1", "--state", "dead"][..],
                "unexpected argument '--state'",
            ),
        ] {
            let error = parse_args(list).expect_err("must fail");
            assert_eq!(error.exit_code(), 2, "{list:?}: {error}");
            let error = error.to_string();
            assert!(error.contains(expected), "{list:?}: {error}");
        }
    }

    #[test]
    fn config_check_takes_the_servers_flags_after_it() {
        let Ok(Command::CheckConfig(options)) = parse_args(&[
            "config",
            "check",
            "--config",
            "c.toml",
            "--addr",
            "0.0.0.0:8080",
            "--log-format",
            "json",
            "--db",
            "x.sqlite",
        ]) else {
            panic!("a check");
        };
        assert_eq!(options.config, Some(PathBuf::from("c.toml")));
        assert_eq!(options.addr.port(), 8080);
        assert_eq!(options.log_format, LogFormat::Json);
        assert_eq!(options.db, Database::Sqlite(PathBuf::from("x.sqlite")));
        for (list, expected) in [
            (
                &["--config", "c.toml", "config", "check"][..],
                "--config after",
            ),
            (
                &["--log-format=json", "config", "check"][..],
                "--log-format after",
            ),
            (
                &["config", "check", "--addr", "0.0.0.0:1"][..],
                "development login",
            ),
            (
                &["config", "check", "--log-format", "xml"][..],
                "invalid value 'xml'",
            ),
            (&["config"][..], "check"),
        ] {
            let error = parse_args(list).expect_err("must fail");
            assert_eq!(error.exit_code(), 2, "{list:?}: {error}");
            let error = error.to_string();
            assert!(error.contains(expected), "{list:?}: {error}");
        }
    }

    #[test]
    fn a_refused_url_is_not_repeated() {
        let error = parse_args(&["--db", "postgres://u:s3cret@h/db?bogus=1"])
            .expect_err("an unknown option")
            .to_string();
        assert!(!error.contains("s3cret"), "{error}");
    }
}
