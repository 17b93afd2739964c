//! Command-line flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use contacts_model::EzpayId;

use crate::store::{Database, DeliveryFilter, DeliveryState, Selection};

/// How many deliveries `deliveries list` prints unless told otherwise.
const DEFAULT_LIST_LIMIT: usize = 1_000;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The database: a SQLite file (created if missing) or a PostgreSQL URL.
    pub db: Database,
    /// The built editor to serve, if any.
    pub static_dir: Option<PathBuf>,
    /// The TOML configuration; the development defaults without it.
    pub config: Option<PathBuf>,
    /// Whether this process leaves the outbox alone (another one relays).
    pub no_relay: bool,
    /// Where to serve `GET /metrics`, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
    /// Whether the development login may listen beyond loopback.
    pub dev: bool,
    /// Whether the client's address is taken from `X-Forwarded-For` (behind
    /// a proxy that sets it) rather than the connection.
    pub trust_forwarded_for: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db: Database::Sqlite(PathBuf::from("contacts.sqlite")),
            static_dir: None,
            config: None,
            no_relay: false,
            metrics_addr: None,
            dev: false,
            trust_forwarded_for: false,
        }
    }
}

/// An operator's command on the deliveries.
#[derive(Debug)]
pub enum DeliveriesCommand {
    /// Prints the deliveries that match, one a line.
    List {
        db: Database,
        filter: DeliveryFilter,
    },
    /// Sends dead deliveries (or one pending now) again.
    Retry { db: Database, selection: Selection },
    /// Drops a dead or pending delivery, so that it holds back nothing.
    Discard { db: Database, id: i64 },
}

impl DeliveriesCommand {
    /// The database it works on.
    pub fn db(&self) -> &Database {
        match self {
            Self::List { db, .. } | Self::Retry { db, .. } | Self::Discard { db, .. } => db,
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
    /// List, retry or discard deliveries.
    Deliveries(DeliveriesCommand),
    /// Bring the database's schema up to date, and nothing else.
    Migrate(Database),
    /// Print the usage.
    Help,
}

/// The usage text.
pub const USAGE: &str = "\
usage: contacts-server [--addr IP:PORT] [--db DB] [--static-dir DIR] [--config FILE]
                       [--metrics-addr IP:PORT] [--no-relay] [--dev] [--trust-forwarded-for]
       contacts-server hash-password    (reads a password on standard input)
       contacts-server migrate [--db DB]
       contacts-server deliveries list [--db DB] [--state pending|dead|delivered|discarded]
                                       [--customer EZPAYID] [--limit N]
       contacts-server deliveries retry ID|--all-dead [--db DB]
       contacts-server deliveries discard ID [--db DB]

  --addr          where to listen (default 127.0.0.1:8080; port 0 picks a free one)
  --db            a SQLite file (a path or sqlite:PATH; default contacts.sqlite) or a
                  PostgreSQL URL postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?...];
                  also the CONTACTS_DB environment variable
  --static-dir    the built editor to serve
  --config        the TOML configuration (default: development users, customers and targets)
  --metrics-addr  where to serve GET /metrics (Prometheus text); off by default
  --no-relay      do not deliver the outbox to the targets from this process
  --dev           allow the development login (no --config) on an address other than loopback
  --trust-forwarded-for
                  take the client's address (for login throttling and logs) from the last
                  X-Forwarded-For entry: only behind a proxy that sets it";

/// Reads the arguments that follow the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let mut options = Options::default();
    while let Some(arg) = args.next() {
        let mut arg = Arg::new(arg);
        let flag = arg.flag.clone();
        match flag.as_str() {
            "--addr" => options.addr = address(&flag, &arg.value(&mut args)?)?,
            "--metrics-addr" => {
                options.metrics_addr = Some(address(&flag, &arg.value(&mut args)?)?);
            }
            "--db" => options.db = arg.value(&mut args)?.parse()?,
            "--static-dir" => options.static_dir = Some(arg.value(&mut args)?.into()),
            "--config" => options.config = Some(arg.value(&mut args)?.into()),
            "--no-relay" => options.no_relay = true,
            "--dev" => options.dev = true,
            "--trust-forwarded-for" => options.trust_forwarded_for = true,
            "hash-password" => return Ok(Command::HashPassword),
            "deliveries" => return deliveries(args, options.db).map(Command::Deliveries),
            "migrate" => return migrate(args, options.db).map(Command::Migrate),
            "-h" | "--help" => return Ok(Command::Help),
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
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
    Ok(Command::Serve(options))
}

/// An argument, with its value where it was written `--flag=value`.
struct Arg {
    flag: String,
    inline: Option<String>,
}

impl Arg {
    fn new(arg: String) -> Self {
        match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => Self {
                flag: flag.to_owned(),
                inline: Some(value.to_owned()),
            },
            _ => Self {
                flag: arg,
                inline: None,
            },
        }
    }

    /// The flag's value: the inline one, else the next argument.
    fn value(&mut self, args: &mut impl Iterator<Item = String>) -> Result<String, String> {
        self.inline
            .take()
            .or_else(|| args.next())
            .ok_or_else(|| format!("{} needs a value\n{USAGE}", self.flag))
    }
}

fn address(flag: &str, text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| format!("{flag}: '{text}' is not an address such as 127.0.0.1:8080"))
}

/// Reads `migrate` and its arguments.
fn migrate(mut args: impl Iterator<Item = String>, mut db: Database) -> Result<Database, String> {
    while let Some(arg) = args.next() {
        let mut arg = Arg::new(arg);
        match arg.flag.as_str() {
            "--db" => db = arg.value(&mut args)?.parse()?,
            other => return Err(format!("unknown argument '{other}' for migrate\n{USAGE}")),
        }
    }
    Ok(db)
}

/// Reads `deliveries list|retry|discard` and its arguments.
fn deliveries(
    mut args: impl Iterator<Item = String>,
    mut db: Database,
) -> Result<DeliveriesCommand, String> {
    let action = args.next().unwrap_or_default();
    let mut filter = DeliveryFilter {
        limit: DEFAULT_LIST_LIMIT,
        ..DeliveryFilter::default()
    };
    let mut id = None;
    let mut all_dead = false;
    while let Some(arg) = args.next() {
        let mut arg = Arg::new(arg);
        let flag = arg.flag.clone();
        let mut value = || arg.value(&mut args);
        match (action.as_str(), flag.as_str()) {
            (_, "--db") => db = value()?.parse()?,
            ("list", "--state") => {
                let text = value()?;
                filter.state = Some(DeliveryState::parse(&text).ok_or_else(|| {
                    format!("--state: '{text}' is not pending, dead, delivered or discarded")
                })?);
            }
            ("list", "--customer") => {
                let text = value()?;
                filter.customer =
                    Some(EzpayId::parse(&text).map_err(|e| format!("--customer: {}", e.message))?);
            }
            ("list", "--limit") => {
                let text = value()?;
                filter.limit = text
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--limit: '{text}' is not a positive number"))?;
            }
            ("retry", "--all-dead") => all_dead = true,
            ("retry" | "discard", text) if id.is_none() && !text.starts_with('-') => {
                id = Some(text.parse::<i64>().map_err(|_| {
                    format!("'{text}' is not a delivery id (the ID column of `deliveries list`)")
                })?);
            }
            _ => {
                return Err(format!(
                    "unknown argument '{flag}' for deliveries {action}\n{USAGE}"
                ));
            }
        }
    }
    match (action.as_str(), id, all_dead) {
        ("list", ..) => Ok(DeliveriesCommand::List { db, filter }),
        ("retry", Some(id), false) => Ok(DeliveriesCommand::Retry {
            db,
            selection: Selection::One(id),
        }),
        ("retry", None, true) => Ok(DeliveriesCommand::Retry {
            db,
            selection: Selection::AllDead,
        }),
        ("retry", ..) => Err(format!(
            "deliveries retry takes one ID or --all-dead\n{USAGE}"
        )),
        ("discard", Some(id), _) => Ok(DeliveriesCommand::Discard { db, id }),
        ("discard", None, _) => Err(format!("deliveries discard takes an ID\n{USAGE}")),
        _ => Err(format!("deliveries: say list, retry or discard\n{USAGE}")),
    }
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
            "--metrics-addr=127.0.0.1:9100",
            "--no-relay",
        ])) else {
            panic!("valid flags");
        };
        assert_eq!(options.addr.port(), 0);
        assert_eq!(options.db, Database::Sqlite(PathBuf::from("x.sqlite")));
        assert_eq!(options.static_dir, Some(PathBuf::from("dist")));
        assert_eq!(options.config, Some(PathBuf::from("c.toml")));
        assert_eq!(options.metrics_addr.map(|a| a.port()), Some(9100));
        assert!(options.no_relay);
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
                matches!(parse(args(list)), Ok(Command::Serve(_))),
                "{list:?}"
            );
        }
        let Ok(Command::Serve(options)) = parse(args(&["--trust-forwarded-for"])) else {
            panic!("a valid flag");
        };
        assert!(options.trust_forwarded_for && !options.dev);
    }

    #[test]
    fn reads_the_deliveries_commands() {
        let Ok(Command::Deliveries(DeliveriesCommand::List { db, filter })) = parse(args(&[
            "deliveries",
            "list",
            "--db",
            "x.sqlite",
            "--state=dead",
            "--customer",
            "000010000005008",
        ])) else {
            panic!("a list");
        };
        assert_eq!(db, Database::Sqlite(PathBuf::from("x.sqlite")));
        assert_eq!(filter.state, Some(DeliveryState::Dead));
        assert_eq!(
            filter.customer.map(|c| c.to_string()).as_deref(),
            Some("000010000005008")
        );
        assert!(matches!(
            parse(args(&["--db", "y.sqlite", "deliveries", "retry", "42"])),
            Ok(Command::Deliveries(DeliveriesCommand::Retry { selection: Selection::One(42), db })) if db == Database::Sqlite("y.sqlite".into())
        ));
        assert!(matches!(
            parse(args(&["deliveries", "retry", "--all-dead"])),
            Ok(Command::Deliveries(DeliveriesCommand::Retry {
                selection: Selection::AllDead,
                ..
            }))
        ));
        assert!(matches!(
            parse(args(&["deliveries", "discard", "7"])),
            Ok(Command::Deliveries(DeliveriesCommand::Discard {
                id: 7,
                ..
            }))
        ));
    }

    #[test]
    fn reads_a_postgresql_url_for_every_command() {
        let url = "postgres://contacts@127.0.0.1:5432/contacts";
        let Ok(Command::Serve(options)) = parse(args(&["--db", url])) else {
            panic!("a server");
        };
        assert_eq!(options.db, Database::Postgres(url.to_owned()));
        assert!(matches!(
            parse(args(&["migrate", "--db", url])),
            Ok(Command::Migrate(Database::Postgres(u))) if u == url
        ));
        // A --db before the command (as CONTACTS_DB becomes) is its default.
        assert!(matches!(
            parse(args(&[&format!("--db={url}"), "deliveries", "list"])),
            Ok(Command::Deliveries(DeliveriesCommand::List { db: Database::Postgres(u), .. })) if u == url
        ));
        assert!(matches!(
            parse(args(&["--db=sqlite:a.db", "migrate", "--db", "b.db"])),
            Ok(Command::Migrate(Database::Sqlite(p))) if p == std::path::Path::new("b.db")
        ));
    }

    #[test]
    fn refuses_bad_arguments_with_a_reason() {
        for (list, expected) in [
            (&["--addr", "localhost"][..], "not an address"),
            (&["--db"][..], "needs a value"),
            (&["--db", "postgres://u@h/db?bogus=1"][..], "not valid"),
            (&["migrate", "--force"][..], "unknown argument"),
            (&["--verbose"][..], "unknown argument"),
            (&["--metrics-addr", "9100"][..], "not an address"),
            (&["--addr", "0.0.0.0:8080"][..], "development login"),
            (&["deliveries"][..], "list, retry or discard"),
            (
                &["deliveries", "list", "--state", "gone"][..],
                "is not pending",
            ),
            (
                &["deliveries", "list", "--customer", "12"][..],
                "--customer",
            ),
            (&["deliveries", "retry"][..], "one ID or --all-dead"),
            (
                &["deliveries", "retry", "42", "--all-dead"][..],
                "one ID or --all-dead",
            ),
            (&["deliveries", "retry", "abc"][..], "not a delivery id"),
            (&["deliveries", "discard"][..], "takes an ID"),
            (
                &["deliveries", "discard", "1", "--state", "dead"][..],
                "unknown argument",
            ),
        ] {
            let error = parse(args(list)).expect_err("must fail");
            assert!(error.contains(expected), "{list:?}: {error}");
        }
    }
}
