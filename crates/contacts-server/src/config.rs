//! The TOML configuration: users, the bearer tokens' issuer (`auth.rs`),
//! profiles and their sources, customers,
//! demo data, the console origins allowed to frame the editor and to post to
//! the API, the limits that protect the server, and the delivery to the
//! targets (`delivery.rs`).

mod auth;
mod delivery;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use contacts_model::EzpayId;
use serde::Deserialize;

use crate::store::{CustomerStatus, PoolSettings};

pub use auth::{Auth, KeySource, Oidc, TokenProfiles};
pub use delivery::{DeliverySettings, HealthThresholds, RelaySettings, Retention, Target};

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
    #[serde(default)]
    served_over_https: bool,
    /// `NAME = "hash"` (the short form: every profile) or a `[users.NAME]` table.
    #[serde(default)]
    users: BTreeMap<String, toml::Value>,
    #[serde(default)]
    auth: auth::AuthFile,
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

/// A `[users.NAME]` table as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    password_hash: String,
    profiles: Vec<String>,
}

/// The `[limits]` table as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LimitsFile {
    header_read_timeout_ms: u64,
    body_read_timeout_ms: u64,
    write_timeout_ms: u64,
    max_database_bytes: Option<u64>,
    max_connections: usize,
    shutdown_timeout_ms: u64,
    login_attempts_per_user: u32,
    login_attempts_per_address: u32,
    max_password_checks: Option<usize>,
    password_check_max_wait_ms: u64,
}

impl Default for LimitsFile {
    fn default() -> Self {
        Self {
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            write_timeout_ms: 10_000,
            max_database_bytes: None,
            max_connections: 1_024,
            shutdown_timeout_ms: 30_000,
            login_attempts_per_user: 10,
            login_attempts_per_address: 30,
            max_password_checks: None,
            password_check_max_wait_ms: 2_000,
        }
    }
}

/// A user: the argon2 PHC hash of their password and the ProfileIds they may use.
#[derive(Debug, Clone)]
pub struct User {
    /// The argon2 PHC string.
    pub password_hash: String,
    /// The ProfileIds this user may send; `None` (the short form
    /// `NAME = "hash"`) means every configured profile.
    pub profiles: Option<BTreeSet<String>>,
}

impl User {
    /// Whether this user may send `profile_id`.
    pub fn may_use(&self, profile_id: &str) -> bool {
        self.profiles
            .as_ref()
            .is_none_or(|profiles| profiles.contains(profile_id))
    }
}

/// What holds off password guessing, checked before argon2 runs.
#[derive(Debug, Clone)]
pub struct LoginLimits {
    /// Failed password checks allowed per user name per minute (the burst,
    /// refilled evenly over the minute); checks under way count until they
    /// succeed.
    pub per_user: NonZeroU32,
    /// Failed password checks allowed per client address per minute.
    pub per_address: NonZeroU32,
    /// The most argon2 checks that run at once.
    pub concurrent_checks: usize,
    /// A check that would wait longer than this for its turn is refused at once.
    pub max_wait: Duration,
}

/// What protects the server from slow clients and the disk from growing without end.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A client must send the request line and headers within this time,
    /// and an idle kept-alive connection is closed after it.
    pub header_read_timeout: Duration,
    /// A client must send the whole body within this time.
    pub body_read_timeout: Duration,
    /// A write to the client that makes no progress for this long (a client
    /// that sends requests and never reads the answers) closes the
    /// connection, freeing its slot.
    pub write_timeout: Duration,
    /// The database file grows no larger: a write that needs more space
    /// fails as a service error, exactly as on a full disk.
    pub max_database_bytes: Option<u64>,
    /// The most connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// How long a graceful shutdown waits for the requests in progress and
    /// the delivery attempts being sent before it closes the connections and
    /// cuts the attempts.
    pub shutdown_timeout: Duration,
    /// The throttling of password checks.
    pub login: LoginLimits,
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
    /// Whether clients reach the server over HTTPS (directly or through a
    /// proxy that ends TLS): every response then carries
    /// `Strict-Transport-Security`.
    pub served_over_https: bool,
    /// The users by name (none where Basic is off).
    pub users: HashMap<String, User>,
    /// Which credentials are taken: Basic, bearer tokens of an issuer.
    pub auth: Auth,
    /// ProfileId → source.
    pub profiles: HashMap<String, String>,
    /// The customers and their statuses.
    pub customers: Vec<(EzpayId, CustomerStatus)>,
    /// The origins, besides the server's own, whose pages may send writes.
    pub console_origins: Vec<String>,
    /// Timeouts and sizes.
    pub limits: Limits,
    /// The targets, the relay and the health thresholds.
    pub delivery: DeliverySettings,
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
        let auth = auth::auth(file.auth, &|p| file.profiles.contains_key(p))?;
        if auth.basic && file.users.is_empty() {
            return Err("configure at least one user under [users], or set basic = false under [auth] with an [auth.oidc] issuer".into());
        }
        if !auth.basic && !file.users.is_empty() {
            return Err(
                "[users] are configured but [auth] basic = false: remove them, or take Basic"
                    .into(),
            );
        }
        for source in &file.frame_ancestors {
            check_frame_ancestor(source)?;
        }
        for origin in &file.console_origins {
            check_console_origin(origin)?;
        }
        let users = file
            .users
            .into_iter()
            .map(|(name, entry)| {
                let user = user(&name, entry, &file.profiles)?;
                Ok((name, user))
            })
            .collect::<Result<_, String>>()?;
        let limits = limits(&file.limits)?;
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
            served_over_https: file.served_over_https,
            users,
            auth,
            profiles: file.profiles.into_iter().collect(),
            customers,
            console_origins: file.console_origins,
            limits,
            delivery,
            retention,
            pool,
        })
    }
}

/// A user from either form: `NAME = "hash"` (every profile, with a warning)
/// or `[users.NAME]` with `password_hash` and `profiles`, each a configured one.
fn user(
    name: &str,
    entry: toml::Value,
    profiles: &BTreeMap<String, String>,
) -> Result<User, String> {
    if let toml::Value::String(password_hash) = entry {
        tracing::warn!(
            user = name,
            "users.{name} = \"hash\" lets this user use every profile; \
             write [users.{name}] with password_hash and profiles to bind it to its own"
        );
        return Ok(User {
            password_hash,
            profiles: None,
        });
    }
    let file: UserFile = entry.try_into().map_err(|e| format!("users.{name}: {e}"))?;
    if let Some(unknown) = file.profiles.iter().find(|p| !profiles.contains_key(*p)) {
        return Err(format!(
            "users.{name}: the profile '{unknown}' is not configured under [profiles]"
        ));
    }
    Ok(User {
        password_hash: file.password_hash,
        profiles: Some(file.profiles.into_iter().collect()),
    })
}

/// Checks the `[limits]` table and gives it its types.
fn limits(file: &LimitsFile) -> Result<Limits, String> {
    if file.header_read_timeout_ms == 0 || file.body_read_timeout_ms == 0 {
        return Err("limits: a read timeout must be at least 1 ms".into());
    }
    if file.write_timeout_ms == 0 {
        return Err("limits: write_timeout_ms must be at least 1 ms".into());
    }
    if file.max_connections == 0 || file.max_password_checks == Some(0) {
        return Err("limits: max_connections and max_password_checks must be at least 1".into());
    }
    let positive = |name: &str, n: u32| {
        NonZeroU32::new(n).ok_or_else(|| format!("limits: {name} must be at least 1"))
    };
    Ok(Limits {
        header_read_timeout: Duration::from_millis(file.header_read_timeout_ms),
        body_read_timeout: Duration::from_millis(file.body_read_timeout_ms),
        write_timeout: Duration::from_millis(file.write_timeout_ms),
        max_database_bytes: file.max_database_bytes,
        max_connections: file.max_connections,
        shutdown_timeout: Duration::from_millis(file.shutdown_timeout_ms),
        login: LoginLimits {
            per_user: positive("login_attempts_per_user", file.login_attempts_per_user)?,
            per_address: positive(
                "login_attempts_per_address",
                file.login_attempts_per_address,
            )?,
            concurrent_checks: file.max_password_checks.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            }),
            max_wait: Duration::from_millis(file.password_check_max_wait_ms),
        },
    })
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

/// Accepts `'self'`, `'none'` and exact origins such as
/// `https://console.example.com:8443`: no wildcard, which would let any
/// site of a domain (or, as a bare scheme, any site at all) frame the
/// editor, and nothing that could inject into the CSP header.
fn check_frame_ancestor(source: &str) -> Result<(), String> {
    if source == "'self'" || source == "'none'" || check_console_origin(source).is_ok() {
        return Ok(());
    }
    Err(format!(
        "frame_ancestors: '{source}' is not 'self', 'none' or an exact origin such as https://console.example.com (no wildcards, lower case, no path)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_configuration_is_valid() {
        let config = Config::development().expect("valid");
        let ocsuser = &config.users["ocsuser"];
        assert!(ocsuser.password_hash.starts_with("$argon2id$"));
        assert!(ocsuser.may_use("CAAG_302") && !ocsuser.may_use("CAAG_999"));
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
            (
                "users = { a = \"h\" }\nprofiles = {}\nframe_ancestors = [\"https://*.example.com\"]",
                "no wildcards",
            ),
            (
                "users = { a = \"h\" }\nprofiles = {}\nframe_ancestors = [\"https:\"]",
                "exact origin",
            ),
            (
                "[users.a]\npassword_hash = \"h\"\nprofiles = [\"X_1\"]\n[profiles]\nY_1 = \"Y\"",
                "users.a: the profile 'X_1' is not configured",
            ),
            (
                "[users.a]\npassword_hash = \"h\"\n[profiles]\nY_1 = \"Y\"",
                "users.a: missing field `profiles`",
            ),
            (
                "[users.a]\npassword = \"h\"\nprofiles = []\n[profiles]\nY_1 = \"Y\"",
                "unknown field `password`",
            ),
            (
                "users = { a = \"h\" }\nprofiles = {}\n[limits]\nlogin_attempts_per_user = 0",
                "login_attempts_per_user must be at least 1",
            ),
        ];
        for (text, expected) in cases {
            let error = Config::from_toml(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn the_short_form_of_a_user_means_every_profile() {
        let config = Config::from_toml(
            "[users]\na = \"h\"\n[users.b]\npassword_hash = \"h\"\nprofiles = [\"X_1\"]\n\
             [profiles]\nX_1 = \"X\"\nY_1 = \"Y\"",
        )
        .expect("valid");
        assert!(config.users["a"].may_use("X_1") && config.users["a"].may_use("Y_1"));
        assert!(config.users["b"].may_use("X_1") && !config.users["b"].may_use("Y_1"));
    }

    #[test]
    fn accepts_exact_frame_ancestors() {
        for source in ["'self'", "'none'", "https://console.example.com:8443"] {
            assert_eq!(check_frame_ancestor(source), Ok(()), "{source}");
        }
    }
}
