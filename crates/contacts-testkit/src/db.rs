//! The database of a test's server: a SQLite file in the test's scratch
//! directory, or, inside [`on_postgres`], a fresh database on a throwaway
//! PostgreSQL server (or on `CONTACTS_TEST_POSTGRES_URL` where it is set).
//! The same test code reads either.

// The helpers below are test code too: a failed setup step is a failed test,
// and `clippy.toml`'s allowance covers only `#[test]` functions themselves.
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::postgres::Cluster;

/// A database a server was started on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Db {
    Sqlite(PathBuf),
    Postgres(String),
}

/// Where the test databases are made: an administrator's URL.
enum PostgresServer {
    Throwaway(Cluster),
    Given(String),
}

impl PostgresServer {
    fn admin_url(&self) -> String {
        match self {
            PostgresServer::Throwaway(cluster) => cluster.url("postgres"),
            PostgresServer::Given(url) => url.clone(),
        }
    }
}

/// The server the tests running now share; started by the first, stopped
/// and removed after the last.
fn shared_server() -> Arc<PostgresServer> {
    static SHARED: Mutex<Weak<PostgresServer>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(server) = shared.upgrade() {
        return server;
    }
    let server = Arc::new(match std::env::var("CONTACTS_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => PostgresServer::Given(url),
        _ => PostgresServer::Throwaway(
            Cluster::start(false).unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}")),
        ),
    });
    *shared = Arc::downgrade(&server);
    server
}

/// The PostgreSQL databases of the test running on this thread, by scratch
/// directory: a server restarted on the same directory finds its database.
struct PostgresRun {
    server: Arc<PostgresServer>,
    databases: HashMap<PathBuf, String>,
}

thread_local! {
    static POSTGRES: RefCell<Option<PostgresRun>> = const { RefCell::new(None) };
}

/// Runs each of the named tests of the enclosing module's parent again with
/// its servers on PostgreSQL: `postgres_too!(a_test, another_test);` inside
/// a module `on_postgres` beside them.
#[macro_export]
macro_rules! postgres_too {
    ($($test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                $crate::db::on_postgres(super::$test);
            }
        )*
    };
}

/// Runs a test with its servers on PostgreSQL, then drops its databases.
pub fn on_postgres(test: fn()) {
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            if let Some(run) = POSTGRES.take() {
                let admin = run.server.admin_url();
                for name in run.databases.values() {
                    let _ = admin_client(&admin)
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
                }
            }
        }
    }
    POSTGRES.set(Some(PostgresRun {
        server: shared_server(),
        databases: HashMap::new(),
    }));
    let _done = Done;
    test();
}

fn admin_client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL: {e}"))
}

/// A URL like `admin` for the database `name`.
fn with_database(admin: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin).expect("the PostgreSQL URL is a URL");
    url.set_path(name);
    url.to_string()
}

impl Db {
    /// The database of a server started on `dir`: made on the first start.
    pub fn for_dir(dir: &Path) -> Self {
        POSTGRES.with_borrow_mut(|run| match run {
            None => Db::Sqlite(dir.join("contacts.sqlite")),
            Some(run) => {
                let admin = run.server.admin_url();
                let name = run.databases.entry(dir.to_owned()).or_insert_with(|| {
                    static NEXT: AtomicUsize = AtomicUsize::new(0);
                    let name = format!(
                        "contacts_test_{}_{}",
                        std::process::id(),
                        NEXT.fetch_add(1, Ordering::Relaxed)
                    );
                    admin_client(&admin)
                        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                        .unwrap();
                    name
                });
                Db::Postgres(with_database(&admin, name))
            }
        })
    }

    /// The `--db` argument.
    pub fn arg(&self) -> String {
        match self {
            Db::Sqlite(path) => path.display().to_string(),
            Db::Postgres(url) => url.clone(),
        }
    }

    /// The SQLite file (for tests of the file itself).
    pub fn path(&self) -> &Path {
        match self {
            Db::Sqlite(path) => path,
            Db::Postgres(_) => panic!("a test of the SQLite file runs on SQLite only"),
        }
    }

    fn postgres(url: &str) -> postgres::Client {
        postgres::Client::connect(url, postgres::NoTls).unwrap()
    }

    /// The first column of the first row of `sql`, with `?1` bound to `param`
    /// (written `?1` for both engines).
    pub fn count(&self, sql: &str, param: &str) -> i64 {
        match self {
            Db::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .query_row(sql, [param], |row| row.get(0))
                .unwrap(),
            Db::Postgres(url) => Self::postgres(url)
                .query_one(&sql.replace("?1", "$1::text"), &[&param])
                .unwrap()
                .get(0),
        }
    }

    /// Runs `sql` (a change), with `?1` bound to `param`.
    pub fn execute(&self, sql: &str, param: &str) {
        match self {
            Db::Sqlite(path) => {
                rusqlite::Connection::open(path)
                    .unwrap()
                    .execute(sql, [param])
                    .unwrap();
            }
            Db::Postgres(url) => {
                Self::postgres(url)
                    .execute(&sql.replace("?1", "$1::text"), &[&param])
                    .unwrap();
            }
        }
    }

    /// Runs `sql`, statements without parameters (a schema of an older
    /// release, say).
    pub fn batch(&self, sql: &str) {
        match self {
            Db::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            Db::Postgres(url) => Self::postgres(url).batch_execute(sql).unwrap(),
        }
    }

    /// The first column (text) of every row of `sql`, with `?1` bound to `param`.
    pub fn texts(&self, sql: &str, param: &str) -> Vec<String> {
        match self {
            Db::Sqlite(path) => {
                let connection = rusqlite::Connection::open(path).unwrap();
                let mut statement = connection.prepare(sql).unwrap();
                statement
                    .query_map([param], |row| row.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            Db::Postgres(url) => Self::postgres(url)
                .query(&sql.replace("?1", "$1::text"), &[&param])
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect(),
        }
    }

    /// Each tracking id of `table` and its number of rows.
    pub fn rows_per_tracking_id(&self, table: &str) -> HashMap<String, i64> {
        let sql = format!("SELECT tracking_id, count(*) FROM {table} GROUP BY tracking_id");
        match self {
            Db::Sqlite(path) => {
                let connection = rusqlite::Connection::open(path).unwrap();
                let mut statement = connection.prepare(&sql).unwrap();
                statement
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            Db::Postgres(url) => Self::postgres(url)
                .query(&sql, &[])
                .unwrap()
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect(),
        }
    }

    /// The names of the tables.
    pub fn tables(&self) -> Vec<String> {
        match self {
            Db::Sqlite(path) => {
                let connection = rusqlite::Connection::open(path).unwrap();
                let mut statement = connection
                    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                    .unwrap();
                statement
                    .query_map([], |row| row.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            Db::Postgres(url) => Self::postgres(url)
                .query(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect(),
        }
    }

    /// Every row of every table, as text: equal snapshots mean nothing was written.
    pub fn snapshot(&self) -> String {
        let tables = ["customers", "contacts", "requests", "audit", "outbox"];
        let mut dump = String::new();
        match self {
            Db::Sqlite(path) => {
                let connection = rusqlite::Connection::open(path).unwrap();
                for table in tables {
                    let mut statement = connection
                        .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
                        .unwrap();
                    let columns = statement.column_count();
                    let rows = statement
                        .query_map([], |row| {
                            (0..columns)
                                .map(|i| row.get_ref(i).map(|v| format!("{v:?}")))
                                .collect::<Result<Vec<_>, _>>()
                        })
                        .unwrap();
                    for row in rows {
                        dump.push_str(&format!("{table}: {}\n", row.unwrap().join(" | ")));
                    }
                }
            }
            Db::Postgres(url) => {
                let mut client = Self::postgres(url);
                for table in tables {
                    for row in client
                        .query(&format!("SELECT t::text FROM {table} t ORDER BY 1"), &[])
                        .unwrap()
                    {
                        dump.push_str(&format!("{table}: {}\n", row.get::<_, String>(0)));
                    }
                }
            }
        }
        dump
    }
}
