//! Where the development issuer of bearer tokens is served, what its tokens
//! grant, and the reference server's configuration that takes them: what
//! `cargo xtask run` starts, written once for it and for the test that
//! checks that a real server so configured takes the issuer's token.
//! Standard library only, so that `xtask` builds it without features; the
//! issuer itself is [`crate::issuer`] (feature `issuer`).

use std::time::Duration;

/// The issuer's origin under `cargo xtask run`, which also serves the demo
/// console: a second local origin beside the editor's.
pub const ORIGIN: &str = "http://127.0.0.1:8081";
/// The audience its tokens name, which the server's `[auth.oidc]` expects.
pub const AUDIENCE: &str = "contacts-api";
/// The user its tokens name: the development user.
pub const SUBJECT: &str = "ocsuser";
/// The ProfileIds its tokens grant.
pub const PROFILES: [&str; 1] = ["CAAG_302"];
/// How long a token of it is valid.
pub const LIFETIME: Duration = Duration::from_secs(300);
/// Where it serves its key set, under its origin.
pub const JWKS_PATH: &str = "/jwks";
/// Where it mints a token, under its origin.
pub const TOKEN_PATH: &str = "/token";

/// The server's configuration `development` (the text of the server's
/// `dev-config.toml`) made to take the tokens of the issuer at `origin`
/// (`[auth.oidc]`, its key set at [`JWKS_PATH`]), and to let pages of that
/// origin frame the editor (`frame_ancestors`) and call the API
/// (`console_origins`); Basic stays on, for the standalone page.
pub fn server_config(development: &str, origin: &str) -> String {
    let kept: String = development
        .lines()
        .filter(|line| {
            let key = line.split('=').next().unwrap_or_default().trim();
            key != "frame_ancestors" && key != "console_origins"
        })
        .map(|line| format!("{line}\n"))
        .collect();
    format!(
        "# The development configuration with the development issuer of bearer\n\
         # tokens at {origin}, written by `cargo xtask run`.\n\
         frame_ancestors = [\"'self'\", \"{origin}\"]\n\
         console_origins = [\"{origin}\"]\n\
         {kept}\n\
         [auth.oidc]\n\
         issuer = \"{origin}\"\n\
         audience = \"{AUDIENCE}\"\n\
         jwks_url = \"{origin}{JWKS_PATH}\"\n\
         algorithms = [\"ES256\"]\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_lists_the_issuer_once_and_keeps_the_rest() {
        let development = "# users\ndemo_data = true\nframe_ancestors = [\"'self'\"]\n\n[users.ocsuser]\nprofiles = [\"CAAG_302\"]\n";
        let config = server_config(development, "http://127.0.0.1:9").replace("\n\n", "\n");
        assert_eq!(config.matches("frame_ancestors").count(), 1, "{config}");
        assert!(config.contains("frame_ancestors = [\"'self'\", \"http://127.0.0.1:9\"]\n"));
        assert!(
            config.contains("demo_data = true\n[users.ocsuser]\n"),
            "{config}"
        );
        assert!(config.ends_with(
            "[auth.oidc]\nissuer = \"http://127.0.0.1:9\"\naudience = \"contacts-api\"\njwks_url = \"http://127.0.0.1:9/jwks\"\nalgorithms = [\"ES256\"]\n"
        ), "{config}");
    }
}
