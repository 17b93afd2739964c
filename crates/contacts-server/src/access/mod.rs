//! Who may call the API: the users' credentials (`auth`), the bearer tokens
//! of an issuer (`bearer`) and its cached key set (`jwks`), the throttle that
//! holds off password guessing (`throttle`), and the `Caller` extractor that
//! names the user, the profile and its source (`caller`).

pub mod auth;
pub mod bearer;
pub mod caller;
pub mod jwks;
pub mod throttle;
