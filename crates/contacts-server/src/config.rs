//! The TOML configuration: users, profiles and their sources, customers,
//! demo data, the console origins allowed to frame the editor and to post to
//! the API, the limits that protect the server, and the delivery to the
//! targets (`delivery.rs`).

mod delivery;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use contacts_model::EzpayId;
use serde::Deserialize;

use crate::store::{CustomerStatus, PoolSettings};

pub use delivery::{Delivery, HealthThresholds, RelaySettings, Retention, Target};

/// The development configuration used when no `--config` is given: user
/// `ocsuser` (its argon2 hash only), ProfileId `CAAG_302` and three customers.
const DEVELOPMENT: &str = include_str!("../dev-config.toml");

/// The configuration as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    demo_data: bool,
    #[serde(default = "same_origin")]
    frame_ancestors: Vec<String>,
    users: BTreeMap<String, String>,
    profiles: BTreeMap<String, String>,
    #[serde(default)]
    customers: BTreeMap<String, CustomerStatus>,
    #[serde(default)]
    console_origins: Vec<String>,
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    targets: BTreeMap<String, delivery::TargetFile>,
    #[serde(default)]
    relay: delivery::RelayFile,
    #[serde(default)]
    health: delivery::HealthFile,
    #[serde(default)]
    retention: delivery::RetentionFile,
    #[serde(default)]
    database: DatabaseFile,
}

/// The `[database]` table: the PostgreSQL connection pool of each instance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct DatabaseFile {
    pool_size: usize,
    connect_timeout_ms: u64,
    wait_timeout_ms: u64,
    statement_timeout_ms: u64,
}

impl Default for DatabaseFile {
    fn default() -> Self {
        let pool = PoolSettings::default();
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            pool_size: pool.size,
            connect_timeout_ms: millis(pool.connect_timeout),
            wait_timeout_ms: millis(pool.wait_timeout),
            statement_timeout_ms: millis(pool.statement_timeout),
        }
    }
}

impl DatabaseFile {
    fn pool(&self) -> Result<PoolSettings, String> {
        if self.pool_size == 0 {
            return Err("database: pool_size must be at least 1".into());
        }
        let timeouts = [
            self.connect_timeout_ms,
            self.wait_timeout_ms,
            self.statement_timeout_ms,
        ];
        if timeouts.contains(&0) {
            return Err("database: a timeout must be at least 1 ms".into());
        }
        Ok(PoolSettings {
            size: self.pool_size,
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            wait_timeout: Duration::from_millis(self.wait_timeout_ms),
            statement_timeout: Duration::from_millis(self.statement_timeout_ms),
        })
    }
}

/// The `[limits]` table as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LimitsFile {
    header_read_timeout_ms: u64,
    body_read_timeout_ms: u64,
    max_database_bytes: Option<u64>,
}

impl Default for LimitsFile {
    fn default() -> Self {
        Self {
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            max_database_bytes: None,
        }
    }
}

/// What protects the server from slow clients and the disk from growing without end.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A client must send the request line and headers within this time,
    /// and an idle kept-alive connection is closed after it.
    pub header_read_timeout: Duration,
    /// A client must send the whole body within this time.
    pub body_read_timeout: Duration,
    /// The database file grows no larger: a write that needs more space
    /// fails as a service error, exactly as on a full disk.
    pub max_database_bytes: Option<u64>,
}

fn same_origin() -> Vec<String> {
    vec!["'self'".to_owned()]
}

/// A checked configuration.
#[derive(Debug)]
pub struct Config {
    /// Whether to store the demo contacts for the first customer that has none.
    pub demo_data: bool,
    /// The CSP `frame-ancestors` sources: `'self'`, `'none'` or origins.
    pub frame_ancestors: Vec<String>,
    /// User names and their argon2 PHC hashes.
    pub users: HashMap<String, String>,
    /// ProfileId → source.
    pub profiles: HashMap<String, String>,
    /// The customers and their statuses.
    pub customers: Vec<(EzpayId, CustomerStatus)>,
    /// The origins, besides the server's own, whose pages may send writes.
    pub console_origins: Vec<String>,
    /// Timeouts and sizes.
    pub limits: Limits,
    /// The targets, the relay and the health thresholds.
    pub delivery: Delivery,
    /// How long rows are kept.
    pub retention: Retention,
    /// The PostgreSQL connection pool (unused on SQLite).
    pub pool: PoolSettings,
}

impl Config {
    /// The development defaults.
    pub fn development() -> Result<Self, String> {
        Self::from_toml(DEVELOPMENT)
            .map_err(|e| format!("the embedded development configuration: {e}"))
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the configuration {}: {e}", path.display()))?;
        Self::from_toml(&text).map_err(|e| format!("the configuration {}: {e}", path.display()))
    }

    /// Parses and checks a configuration; `env:NAME` header values are read
    /// from the process's environment.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| e.to_string())?;
        if file.users.is_empty() {
            return Err("configure at least one user under [users]".into());
        }
        for source in &file.frame_ancestors {
            check_frame_ancestor(source)?;
        }
        for origin in &file.console_origins {
            check_console_origin(origin)?;
        }
        let limits = &file.limits;
        if limits.header_read_timeout_ms == 0 || limits.body_read_timeout_ms == 0 {
            return Err("limits: a read timeout must be at least 1 ms".into());
        }
        let customers = file
            .customers
            .into_iter()
            .map(|(id, status)| {
                EzpayId::parse(&id)
                    .map(|id| (id, status))
                    .map_err(|e| format!("customer '{id}': {}", e.message))
            })
            .collect::<Result<_, _>>()?;
        let delivery = delivery::delivery(file.targets, &file.relay, &file.health, &|name| {
            std::env::var(name).ok()
        })?;
        let retention = delivery::retention(&file.retention)?;
        let pool = file.database.pool()?;
        Ok(Self {
            demo_data: file.demo_data,
            frame_ancestors: file.frame_ancestors,
            users: file.users.into_iter().collect(),
            profiles: file.profiles.into_iter().collect(),
            customers,
            console_origins: file.console_origins,
            limits: Limits {
                header_read_timeout: Duration::from_millis(file.limits.header_read_timeout_ms),
                body_read_timeout: Duration::from_millis(file.limits.body_read_timeout_ms),
                max_database_bytes: file.limits.max_database_bytes,
            },
            delivery,
            retention,
            pool,
        })
    }
}

/// Accepts an origin exactly as a browser sends it in `Origin`: a scheme, a
/// host and an optional port, such as `https://console.example.com:8443`.
fn check_console_origin(origin: &str) -> Result<(), String> {
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let well_formed = host.is_some_and(|host| {
        !host.is_empty()
            && host.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | ':')
            })
    });
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "console_origins: '{origin}' is not an origin such as https://console.example.com (lower case, no path)"
        ))
    }
}

/// Accepts `'self'`, `'none'` and origins such as `https://console.example.com:8443`
/// or `https://*.example.com`; anything else could inject into the CSP header.
fn check_frame_ancestor(source: &str) -> Result<(), String> {
    if source == "'self'" || source == "'none'" {
        return Ok(());
    }
    let rest = source
        .strip_prefix("https://")
        .or_else(|| source.strip_prefix("http://"));
    let well_formed = rest.is_some_and(|host| {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*'))
    });
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "frame_ancestors: '{source}' is not 'self', 'none' or an origin such as https://console.example.com"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_configuration_is_valid() {
        let config = Config::development().expect("valid");
        assert!(config.users["ocsuser"].starts_with("$argon2id$"));
        assert_eq!(config.profiles["CAAG_302"], "CAAG");
        assert_eq!(config.customers.len(), 3);
        assert!(config.demo_data);
    }

    #[test]
    fn refuses_bad_configurations() {
        let cases = [
            ("users = {}\nprofiles = {}", "at least one user"),
            (
                "users = { a = \"h\" }\nprofiles = {}\nfoo = 1",
                "unknown field",
            ),
            (
                "users = { a = \"h\" }\nprofiles = {}\ncustomers = { \"12\" = \"active\" }",
                "15 digits",
            ),
            (
                "users = { a = \"h\" }\nprofiles = {}\ncustomers = { \"000010000005008\" = \"gone\" }",
                "unknown variant",
            ),
            (
                "users = { a = \"h\" }\nprofiles = {}\nframe_ancestors = [\"https://a; script-src *\"]",
                "frame_ancestors",
            ),
            (
                "users = { a = \"h\" }\nprofiles = {}\nconsole_origins = [\"https://console.example.com/\"]",
                "console_origins",
            ),
            (
                "users = { a = \"h\" }\nprofiles = {}\n[limits]\nbody_read_timeout_ms = 0",
                "at least 1 ms",
            ),
            (
                "users = { a = \"h\" }\nprofiles = {}\n[limits]\nheader_timeout = 5",
                "unknown field",
            ),
        ];
        for (text, expected) in cases {
            let error = Config::from_toml(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn accepts_console_origins() {
        for source in [
            "'self'",
            "'none'",
            "https://console.example.com:8443",
            "https://*.example.com",
        ] {
            assert_eq!(check_frame_ancestor(source), Ok(()), "{source}");
        }
    }
}
