//! What the loads send: the configuration the servers start with, the
//! customers, and one save.

use std::path::{Path, PathBuf};

use contacts_testkit::receiver::Receiver;

use crate::CUSTOMERS;

/// Writes a configuration: the development user and profile, `CUSTOMERS`
/// customers, and the targets given (a target without a receiver is held).
pub fn config(
    dir: &Path,
    name: &str,
    mas: Option<&Receiver>,
    mdm: Option<&Receiver>,
    pool: Option<usize>,
) -> Result<PathBuf, String> {
    let development = include_str!("../../dev-config.toml");
    let base = development
        .split("\n[targets.MAS]")
        .next()
        .ok_or("the development configuration has no targets")?;
    let mut text = format!("{base}\n");
    for i in 0..CUSTOMERS {
        text.push_str(&format!("\"{}\" = \"active\"\n", customer(i)));
    }
    for (target, receiver) in [("MAS", mas), ("MDM", mdm)] {
        if let Some(receiver) = receiver {
            text.push_str(&format!(
                "\n[targets.{target}]\nurl = \"{}\"\ntimeout_ms = 1000\n",
                receiver.url()
            ));
        }
    }
    if let Some(size) = pool {
        text.push_str(&format!("\n[database]\npool_size = {size}\n"));
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// The eZpayID of customer `i`.
pub fn customer(i: usize) -> String {
    format!("{:015}", 30_000_000_000_000 + i)
}

/// Sends one distinct, valid update as the development user and checks that
/// it is a Success; returns the version it brought the contacts to.
pub fn post(agent: &ureq::Agent, base: &str, tracking_id: &str, i: usize) -> Result<u64, String> {
    post_as(agent, base, "Basic b2NzdXNlcjpvY3N1c2Vy", tracking_id, i)
}

/// Sends one distinct, valid update with `authorization` and checks that it
/// is a Success; returns the version it brought the contacts to (its `ETag`).
pub fn post_as(
    agent: &ureq::Agent,
    base: &str,
    authorization: &str,
    tracking_id: &str,
    i: usize,
) -> Result<u64, String> {
    let body = format!(
        r#"{{"contacts":[{{"type":"billing","name":"Bench {i}","email":"bench{i}@example.com","work_phone":"(914) 721-2006 x{ext}"}},{{"type":"service","name":"Bench {i}","mobile_phone":"914.721.2006"}}]}}"#,
        ext = i % 10_000
    );
    let mut response = agent
        .post(format!(
            "{base}/api/v1/customers/{}/contacts",
            customer(i % CUSTOMERS)
        ))
        .header("Authorization", authorization)
        .header("ProfileId", "CAAG_302")
        .header("Content-Type", "application/json")
        .header("Request-Tracking-Id", tracking_id)
        .send(&body)
        .map_err(|e| format!("{tracking_id}: {e}"))?;
    let status = response.status();
    let version = response
        .headers()
        .get("etag")
        .and_then(|tag| tag.to_str().ok()?.trim_matches('"').parse().ok());
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{tracking_id}: {e}"))?;
    if let (200, true, Some(version)) = (status.as_u16(), text.contains("\"Success\""), version) {
        Ok(version)
    } else {
        Err(format!("{tracking_id}: HTTP {status}: {text}"))
    }
}

/// A Basic `Authorization` value.
pub fn basic(user: &str, password: &str) -> String {
    use base64ct::{Base64, Encoding};
    format!(
        "Basic {}",
        Base64::encode_string(format!("{user}:{password}").as_bytes())
    )
}
