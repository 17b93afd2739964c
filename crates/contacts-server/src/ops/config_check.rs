//! `contacts-server config check`: loads and checks the configuration the
//! server would run with (its flags, the `CONTACTS_…` environment variables,
//! the file) as the server does at start, without opening the database or
//! listening, and prints it with its secrets hidden: the database's password,
//! the users' password hashes, the targets' header values and the
//! credentials or query values of their URLs.

use std::fmt::Write as _;

use reqwest::Url;

use crate::access::auth::check_hashes;
use crate::config::{Config, Target};
use crate::http::web::{Headers, Web};
use crate::ops::cli::Options;

/// The effective configuration as text, or what is wrong with it.
pub fn check(options: &Options) -> Result<String, String> {
    let config = match &options.config {
        Some(path) => Config::load(path)?,
        None => Config::development()?,
    };
    check_hashes(&config.users)?;
    Web::new(
        options.static_dir.clone(),
        &Headers {
            frame_ancestors: &config.frame_ancestors,
            served_over_https: config.served_over_https,
            development_login: options.config.is_none(),
        },
    )?;
    Ok(describe(options, &config))
}

fn describe(options: &Options, config: &Config) -> String {
    let or_none = |value: Option<String>| value.unwrap_or_else(|| "none".to_owned());
    let mut out = String::new();
    let mut line = |name: &str, value: &dyn std::fmt::Display| {
        let _ = writeln!(out, "{name} = {value}");
    };
    line("addr", &options.addr);
    line("db", &options.db);
    line(
        "config",
        &options.config.as_ref().map_or_else(
            || "none (the DEVELOPMENT login: user ocsuser, password ocsuser)".to_owned(),
            |path| path.display().to_string(),
        ),
    );
    line(
        "static_dir",
        &or_none(options.static_dir.as_ref().map(|p| p.display().to_string())),
    );
    line(
        "metrics_addr",
        &or_none(options.metrics_addr.map(|a| a.to_string())),
    );
    line(
        "log_format",
        &format!("{:?}", options.log_format).to_lowercase(),
    );
    line(
        "otlp_endpoint",
        &options
            .otlp_endpoint
            .as_ref()
            .map_or_else(|| "none (no spans exported)".to_owned(), hidden_url),
    );
    line("relay", &if options.no_relay { "off" } else { "on" });
    line("dev", &options.dev);
    line("trust_forwarded_for", &options.trust_forwarded_for);
    let mut users: Vec<String> = config
        .users
        .iter()
        .map(|(name, user)| match &user.profiles {
            Some(profiles) => format!(
                "{name} ({})",
                profiles.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            None => format!("{name} (every profile)"),
        })
        .collect();
    users.sort();
    line("users (password hashes hidden)", &users.join(", "));
    let mut profiles: Vec<String> = config
        .profiles
        .iter()
        .map(|(profile, source)| format!("{profile} -> {source}"))
        .collect();
    profiles.sort();
    line("profiles", &profiles.join(", "));
    line("customers", &config.customers.len());
    line("console_origins", &config.console_origins.join(" "));
    line("frame_ancestors", &config.frame_ancestors.join(" "));
    line("served_over_https", &config.served_over_https);
    for target in &config.delivery.targets {
        line(&format!("target {}", target.name), &describe_target(target));
    }
    line("relay settings", &format!("{:?}", config.delivery.relay));
    line("health", &format!("{:?}", config.delivery.health));
    line("limits", &format!("{:?}", config.limits));
    line("retention", &format!("{:?}", config.retention));
    line("pool (PostgreSQL)", &format!("{:?}", config.pool));
    out
}

fn describe_target(target: &Target) -> String {
    let url = target
        .url
        .as_ref()
        .map_or_else(|| "none (held)".to_owned(), hidden_url);
    let headers: Vec<String> = target
        .headers
        .keys()
        .map(|name| format!("{name}: (hidden)"))
        .collect();
    format!(
        "{url}, timeout {:?}, headers [{}]",
        target.timeout,
        headers.join(", ")
    )
}

/// `url` with its password and its query's values replaced by `(hidden)`.
fn hidden_url(url: &Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("(hidden)"));
    }
    let names: Vec<String> = url
        .query_pairs()
        .map(|(name, _)| name.into_owned())
        .collect();
    if !names.is_empty() {
        url.query_pairs_mut()
            .clear()
            .extend_pairs(names.iter().map(|name| (name, "(hidden)")));
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_a_urls_password_and_query_values() {
        let url =
            Url::parse("https://user:s3cret@mas.example.com/in?token=abc&x=1").expect("a URL");
        let shown = hidden_url(&url);
        assert!(
            !shown.contains("s3cret") && !shown.contains("abc"),
            "{shown}"
        );
        assert!(
            shown.contains("user:") && shown.contains("token="),
            "{shown}"
        );
    }
}
