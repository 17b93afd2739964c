//! Which database a server (or an operator's command) works on: a SQLite
//! file or a PostgreSQL URL, and how to open it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::{PostgresStore, SqliteStore, Store, StoreError};

/// A database named by `--db` or `CONTACTS_DB`.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file: a path, or `sqlite:PATH`.
    Sqlite(PathBuf),
    /// A PostgreSQL database: `postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?…]`
    /// (the libpq URL form; `postgresql://` too).
    Postgres(String),
}

impl FromStr for Database {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            // Checked here so that a typing mistake is told at once; the error
            // names the part at fault, never the URL (it may hold a password).
            let (url, _) = super::postgres::tls::split(text).map_err(|e| format!("--db: {e}"))?;
            url.parse::<tokio_postgres::Config>()
                .map_err(|e| format!("--db: the PostgreSQL URL is not valid: {e}"))?;
            return Ok(Database::Postgres(text.to_owned()));
        }
        if looks_like_libpq(text) {
            // Not repeated: it may hold a password.
            return Err(
                "--db: this reads as a libpq connection string (host=… dbname=…); \
                 give a URL instead: postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=…]"
                    .into(),
            );
        }
        let path = text.strip_prefix("sqlite:").unwrap_or(text);
        if path.is_empty() {
            return Err("--db: give a SQLite file path or a postgres:// URL".into());
        }
        Ok(Database::Sqlite(PathBuf::from(path)))
    }
}

/// Whether `text` holds a `KEY=VALUE` word of libpq's connection strings,
/// which would otherwise be taken for the name of a SQLite file to create.
fn looks_like_libpq(text: &str) -> bool {
    const KEYS: [&str; 8] = [
        "host", "hostaddr", "port", "dbname", "user", "password", "sslmode", "service",
    ];
    text.split_whitespace().any(|word| {
        word.split_once('=')
            .is_some_and(|(key, _)| KEYS.contains(&key.to_ascii_lowercase().as_str()))
    })
}

/// Shows the database without its password.
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => f.write_str(&redacted(url)),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Database({self})")
    }
}

/// The URL with any password replaced by `***`, in the user part and in a
/// `password=` parameter.
fn redacted(text: &str) -> String {
    let Ok(mut url) = Url::parse(text) else {
        return "(a PostgreSQL URL)".to_owned();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(key, value)| {
            let value = if key.eq_ignore_ascii_case("password") {
                "***".to_owned()
            } else {
                value.into_owned()
            };
            (key.into_owned(), value)
        })
        .collect();
    if !pairs.is_empty() {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// How a PostgreSQL store connects, and how long anything may wait, so that
/// a request fails within a bounded time while the database is away.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Connections per server instance.
    pub size: usize,
    /// The longest wait for a TCP connection (where the URL sets none).
    pub connect_timeout: Duration,
    /// The longest wait for a free connection of the pool, and for a new one
    /// to be made.
    pub wait_timeout: Duration,
    /// The longest a statement may run on the server.
    pub statement_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            // More connections than the database has cores to run them only
            // queue inside PostgreSQL, behind each other's locks: on a 2-core
            // machine, 16 clients' p99 was 22 ms with 4 connections and 37–45
            // ms with 8 or 16 (`cargo xtask bench --engine postgres`).
            size: 4,
            connect_timeout: Duration::from_secs(2),
            wait_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// What opening a database needs besides its name.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// SQLite: the file grows no larger (see `[limits]`).
    pub max_database_bytes: Option<u64>,
    /// PostgreSQL: the pool.
    pub pool: PoolSettings,
}

impl Database {
    /// Opens the database and brings its schema up to date.
    pub async fn open(&self, options: &OpenOptions) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self {
            Database::Sqlite(path) => {
                Arc::new(SqliteStore::open(path, options.max_database_bytes).await?)
            }
            Database::Postgres(url) => {
                if options.max_database_bytes.is_some() {
                    tracing::warn!(
                        "limits.max_database_bytes applies to a SQLite file only; set quotas in PostgreSQL"
                    );
                }
                Arc::new(PostgresStore::open(url, &options.pool).await?)
            }
        })
    }

    /// Brings the schema up to date and returns its version.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        self.open(&OpenOptions::default()).await?;
        Ok(match self {
            Database::Sqlite(_) => SqliteStore::SCHEMA_VERSION,
            Database::Postgres(_) => PostgresStore::SCHEMA_VERSION,
        })
    }

    /// Opens a database that must exist already: an operator's mistyped
    /// `--db` must not create an empty one.
    pub async fn open_existing(&self) -> Result<Arc<dyn Store>, String> {
        if let Database::Sqlite(path) = self
            && !path.is_file()
        {
            return Err(format!("no database at {self} (give it with --db)"));
        }
        self.open(&OpenOptions::default())
            .await
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_the_engines_apart() {
        assert_eq!(
            "contacts.sqlite".parse(),
            Ok(Database::Sqlite("contacts.sqlite".into()))
        );
        assert_eq!(
            "sqlite:/var/lib/c.db".parse(),
            Ok(Database::Sqlite("/var/lib/c.db".into()))
        );
        let url = "postgres://app:s3cret@db.example.com:5433/contacts?connect_timeout=3";
        assert_eq!(url.parse(), Ok(Database::Postgres(url.to_owned())));
        assert!(
            "postgresql://app@localhost/contacts"
                .parse::<Database>()
                .is_ok()
        );
        let error = "postgres://app:s3cret@h/db?nonsense=1"
            .parse::<Database>()
            .expect_err("an unknown parameter");
        assert!(!error.contains("s3cret"), "{error}");
        assert!("sqlite:".parse::<Database>().is_err());
        for libpq in [
            "host=db.example.com dbname=contacts user=app password=s3cret",
            "dbname=contacts",
        ] {
            let error = libpq.parse::<Database>().expect_err(libpq);
            assert!(error.contains("libpq connection string"), "{error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
        assert!("data/contacts=old.sqlite".parse::<Database>().is_ok());
        // `sqlite:` says a file is meant, whatever its name.
        assert!("sqlite:host=x".parse::<Database>().is_ok());
    }

    #[test]
    fn never_shows_a_password() {
        let shown = |url: &str| url.parse::<Database>().map(|db| format!("{db} {db:?}"));
        assert_eq!(
            shown("postgres://app:s3cret@db:5433/contacts?sslmode=disable").as_deref(),
            Ok(
                "postgres://app:***@db:5433/contacts?sslmode=disable Database(postgres://app:***@db:5433/contacts?sslmode=disable)"
            )
        );
        assert_eq!(
            shown("postgres://app@db/contacts?password=s3cret&application_name=x").as_deref(),
            Ok(
                "postgres://app@db/contacts?password=***&application_name=x Database(postgres://app@db/contacts?password=***&application_name=x)"
            )
        );
    }
}
