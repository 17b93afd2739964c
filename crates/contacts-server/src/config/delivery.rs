//! The delivery tables of the configuration: `[targets.NAME]`, `[relay]`,
//! `[health]` and `[retention]`.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use crate::store::TARGETS;

/// The prefix of a header value read from the environment.
const FROM_ENV: &str = "env:";

/// The headers the relay sets on every delivery (lower case), which a
/// target's `headers` may not set: the body's type and length, the tracking
/// id and the idempotency key the target relies on, the trace context.
const RELAY_HEADERS: [&str; 6] = [
    "content-type",
    "content-length",
    "idempotency-key",
    "request-tracking-id",
    "traceparent",
    "host",
];

/// Whether a URL query parameter's name reads as a credential.
fn is_secret_name(name: &str) -> bool {
    const SECRET_WORDS: [&str; 9] = [
        "token",
        "key",
        "secret",
        "password",
        "passwd",
        "pwd",
        "auth",
        "sig",
        "credential",
    ];
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| name.contains(word))
}

/// `[targets.NAME]` as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TargetFile {
    url: Option<String>,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

const fn default_timeout_ms() -> u64 {
    10_000
}

/// `[relay]` as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RelayFile {
    max_attempts: u32,
    backoff_base_ms: u64,
    backoff_cap_ms: u64,
    concurrency: usize,
}

impl Default for RelayFile {
    fn default() -> Self {
        Self {
            max_attempts: 20,
            backoff_base_ms: 500,
            backoff_cap_ms: 300_000,
            concurrency: 8,
        }
    }
}

/// `[health]` as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct HealthFile {
    max_pending: u64,
    max_oldest_pending_ms: u64,
    max_dead: u64,
}

impl Default for HealthFile {
    fn default() -> Self {
        Self {
            max_pending: 1_000,
            max_oldest_pending_ms: 300_000,
            max_dead: 0,
        }
    }
}

/// `[retention]` as written in the file: durations such as `"24h"` or `"7d"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RetentionFile {
    idempotency_window: String,
    delivered_retention: String,
    audit_retention: String,
    interval: String,
    batch: usize,
}

impl Default for RetentionFile {
    fn default() -> Self {
        Self {
            idempotency_window: "24h".into(),
            delivered_retention: "7d".into(),
            audit_retention: "400d".into(),
            interval: "1m".into(),
            batch: 500,
        }
    }
}

/// A target: where its deliveries go, or nowhere yet (held).
#[derive(Debug, Clone)]
pub struct Target {
    /// `MAS` or `MDM`.
    pub name: &'static str,
    /// Where to POST; `None` holds the target's deliveries until one is configured.
    pub url: Option<Url>,
    /// The longest an attempt may take, answer included.
    pub timeout: Duration,
    /// Extra headers, marked sensitive: their `Debug` hides the values.
    pub headers: HeaderMap,
}

/// How the relay retries.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Attempts before a delivery is dead.
    pub max_attempts: u32,
    /// The first backoff bound; it doubles with every attempt...
    pub backoff_base: Duration,
    /// ...up to this bound, which also limits a `Retry-After`.
    pub backoff_cap: Duration,
    /// Deliveries in flight at once, per target.
    pub concurrency: usize,
}

/// Past these, `/healthz` says `degraded`.
#[derive(Debug, Clone)]
pub struct HealthThresholds {
    /// Pending deliveries of one target.
    pub max_pending: u64,
    /// Age of a target's oldest pending delivery.
    pub max_oldest_pending: Duration,
    /// Dead deliveries of one target.
    pub max_dead: u64,
}

/// Everything about delivery to the targets.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Every target, configured or held, in the order of [`TARGETS`].
    pub targets: Vec<Target>,
    /// How the relay sends and retries.
    pub relay: RelaySettings,
    /// When the server reports itself degraded.
    pub health: HealthThresholds,
}

/// How long rows are kept, and how the pruning goes.
#[derive(Debug, Clone)]
pub struct Retention {
    /// Idempotency records older than this are pruned: a tracking id may be
    /// used again after it.
    pub idempotency_window: Duration,
    /// Delivered (and discarded) deliveries are pruned after this.
    pub delivered_retention: Duration,
    /// Audit rows are pruned after this.
    pub audit_retention: Duration,
    /// How often the pruning runs.
    pub interval: Duration,
    /// Rows deleted per transaction, so that the write lock is held briefly.
    pub batch: usize,
}

pub(super) fn delivery(
    targets: BTreeMap<String, TargetFile>,
    relay: &RelayFile,
    health: &HealthFile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<DeliverySettings, String> {
    if let Some(unknown) = targets
        .keys()
        .find(|name| !TARGETS.contains(&name.as_str()))
    {
        return Err(format!(
            "targets.{unknown}: unknown target; the targets are {}",
            TARGETS.join(" and ")
        ));
    }
    let targets = TARGETS
        .iter()
        .map(|&name| match targets.get(name) {
            Some(file) => target(name, file, env),
            None => Ok(Target {
                name,
                url: None,
                timeout: Duration::from_millis(default_timeout_ms()),
                headers: HeaderMap::new(),
            }),
        })
        .collect::<Result<_, _>>()?;
    if relay.max_attempts == 0 || relay.concurrency == 0 {
        return Err("relay: max_attempts and concurrency must be at least 1".into());
    }
    if relay.backoff_base_ms == 0 || relay.backoff_cap_ms < relay.backoff_base_ms {
        return Err(
            "relay: backoff_base_ms must be at least 1 and backoff_cap_ms at least backoff_base_ms"
                .into(),
        );
    }
    Ok(DeliverySettings {
        targets,
        relay: RelaySettings {
            max_attempts: relay.max_attempts,
            backoff_base: Duration::from_millis(relay.backoff_base_ms),
            backoff_cap: Duration::from_millis(relay.backoff_cap_ms),
            concurrency: relay.concurrency,
        },
        health: HealthThresholds {
            max_pending: health.max_pending,
            max_oldest_pending: Duration::from_millis(health.max_oldest_pending_ms),
            max_dead: health.max_dead,
        },
    })
}

fn target(
    name: &'static str,
    file: &TargetFile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Target, String> {
    let url = file
        .url
        .as_deref()
        .map(|text| {
            let url = Url::parse(text)
                .map_err(|e| format!("targets.{name}.url: '{text}' is not a URL: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(format!("targets.{name}.url: use http:// or https://"));
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(format!(
                    "targets.{name}.url: put credentials in headers (read from the environment), not in the URL"
                ));
            }
            // The URL is logged and stored with each failed attempt.
            if let Some((key, _)) = url.query_pairs().find(|(key, _)| is_secret_name(key)) {
                return Err(format!(
                    "targets.{name}.url: the query parameter '{key}' looks like a secret, and the URL is logged and stored with failed deliveries; send it in a header read from the environment (headers = {{ Authorization = \"env:NAME\" }})"
                ));
            }
            Ok(url)
        })
        .transpose()?;
    if file.timeout_ms == 0 {
        return Err(format!("targets.{name}.timeout_ms must be at least 1"));
    }
    let mut headers = HeaderMap::new();
    for (header, value) in &file.headers {
        let header_name = HeaderName::try_from(header.as_str())
            .map_err(|_| format!("targets.{name}.headers: '{header}' is not a header name"))?;
        if RELAY_HEADERS.contains(&header_name.as_str()) {
            return Err(format!(
                "targets.{name}.headers: the relay sets '{header}' itself; remove it"
            ));
        }
        let value = match value.strip_prefix(FROM_ENV) {
            Some(variable) => env(variable).ok_or_else(|| {
                format!("targets.{name}.headers.{header}: the environment variable {variable} is not set")
            })?,
            None => value.clone(),
        };
        // The message names the header, never the value: it may be a secret.
        let mut value = HeaderValue::try_from(value).map_err(|_| {
            format!("targets.{name}.headers.{header}: the value is not a valid header value")
        })?;
        value.set_sensitive(true);
        headers.insert(header_name, value);
    }
    Ok(Target {
        name,
        url,
        timeout: Duration::from_millis(file.timeout_ms),
        headers,
    })
}

pub(super) fn retention(file: &RetentionFile) -> Result<Retention, String> {
    let duration = |key: &str, text: &str| {
        humantime::parse_duration(text).map_err(|e| {
            format!("retention.{key}: '{text}' is not a duration such as \"24h\" or \"7d\": {e}")
        })
    };
    let retention = Retention {
        idempotency_window: duration("idempotency_window", &file.idempotency_window)?,
        delivered_retention: duration("delivered_retention", &file.delivered_retention)?,
        audit_retention: duration("audit_retention", &file.audit_retention)?,
        interval: duration("interval", &file.interval)?,
        batch: file.batch,
    };
    if retention.interval.is_zero() || retention.batch == 0 {
        return Err("retention: interval and batch must be more than zero".into());
    }
    Ok(retention)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DeliverySettings, String> {
        let targets: BTreeMap<String, TargetFile> =
            toml::from_str(text).map_err(|e| e.to_string())?;
        let env = |name: &str| (name == "MAS_AUTHORIZATION").then(|| "Bearer s3cret".to_owned());
        delivery(targets, &RelayFile::default(), &HealthFile::default(), &env)
    }

    #[test]
    fn reads_targets_with_headers_from_the_environment_and_hides_them() {
        let delivery = parse(
            "[MAS]\nurl = \"https://mas.example.com/contacts\"\ntimeout_ms = 2000\nheaders = { Authorization = \"env:MAS_AUTHORIZATION\", X-Source = \"contacts\" }",
        )
        .expect("valid");
        let [mas, mdm] = &delivery.targets[..] else {
            panic!("two targets");
        };
        assert_eq!(mas.name, "MAS");
        assert_eq!(mas.timeout, Duration::from_millis(2000));
        assert_eq!(mas.headers["authorization"], "Bearer s3cret");
        assert!(!format!("{delivery:?}").contains("s3cret"));
        assert_eq!((mdm.name, mdm.url.is_none()), ("MDM", true));
    }

    #[test]
    fn refuses_bad_targets_with_a_reason() {
        for (text, expected) in [
            ("[XYZ]\nurl = \"http://a\"", "unknown target"),
            ("[MAS]\nurl = \"ftp://a\"", "http:// or https://"),
            ("[MAS]\nurl = \"not a url\"", "not a URL"),
            ("[MAS]\nurl = \"https://u:p@a\"", "credentials"),
            (
                "[MAS]\nurl = \"https://a/in?api_key=s3cret\"",
                "'api_key' looks like a secret",
            ),
            (
                "[MAS]\nurl = \"https://a/in?v=2&Access_Token=s3cret\"",
                "'Access_Token' looks like a secret",
            ),
            (
                "[MAS]\nheaders = { Content-Type = \"text/plain\" }",
                "sets 'Content-Type' itself",
            ),
            (
                "[MAS]\nheaders = { idempotency-key = \"x\" }",
                "sets 'idempotency-key' itself",
            ),
            ("[MAS]\ntimeout_ms = 0", "at least 1"),
            (
                "[MAS]\nheaders = { A = \"env:NOT_SET\" }",
                "NOT_SET is not set",
            ),
            ("[MAS]\nheaders = { \"A B\" = \"x\" }", "not a header name"),
            (
                "[MAS]\nheaders = { A = \"x\\ny\" }",
                "not a valid header value",
            ),
        ] {
            let error = parse(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains("s3cret"), "{text}: {error}");
        }
    }

    #[test]
    fn reads_retention_durations() {
        let retention = retention(&RetentionFile::default()).expect("valid");
        assert_eq!(retention.idempotency_window, Duration::from_secs(24 * 3600));
        assert_eq!(retention.audit_retention, Duration::from_secs(400 * 86_400));
        let bad = RetentionFile {
            delivered_retention: "a week".into(),
            ..RetentionFile::default()
        };
        assert!(
            super::retention(&bad)
                .expect_err("bad")
                .contains("delivered_retention")
        );
    }
}
