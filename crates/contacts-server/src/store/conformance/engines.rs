//! The engines the cases run on, each case on a database of its own.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use contacts_testkit::postgres::Cluster;

use crate::store::{PoolSettings, PostgresStore, SqliteStore};

/// The SQLite engine on a file of its own, removed when dropped.
pub(super) struct Sqlite {
    pub store: Arc<SqliteStore>,
    dir: PathBuf,
}

impl Sqlite {
    pub async fn open(case: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "contacts-conformance-{case}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a folder");
        let store = SqliteStore::open(&dir.join("store.sqlite"), None)
            .await
            .expect("opens");
        Self {
            store: Arc::new(store),
            dir,
        }
    }
}

impl Drop for Sqlite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The PostgreSQL engine on a new database of a throwaway server that the
/// cases running at the same time share: started by the first, stopped and
/// removed after the last.
pub(super) struct Postgres {
    pub store: Arc<PostgresStore>,
    /// Keeps the server running while the case runs.
    _server: Arc<Cluster>,
}

impl Postgres {
    pub async fn open() -> Self {
        Self::open_with(&PoolSettings::default()).await
    }

    /// With a pool of one connection: every call of a case on one session.
    pub async fn open_on_one_connection() -> Self {
        Self::open_with(&PoolSettings {
            size: 1,
            ..PoolSettings::default()
        })
        .await
    }

    async fn open_with(settings: &PoolSettings) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let server = shared_server();
        let name = format!("conformance_{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let url = server.create_database(&name).expect("a database");
        let store = PostgresStore::open(&url, settings).await.expect("opens");
        Self {
            store: Arc::new(store),
            _server: server,
        }
    }
}

fn shared_server() -> Arc<Cluster> {
    static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    shared.upgrade().unwrap_or_else(|| {
        let server = Arc::new(Cluster::start(false).expect("a PostgreSQL server starts"));
        *shared = Arc::downgrade(&server);
        server
    })
}
