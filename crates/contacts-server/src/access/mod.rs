//! Who may call the API: the users' credentials (`auth`), the throttle that
//! holds off password guessing (`throttle`), and the `Caller` extractor that
//! names the user, the profile and its source (`caller`).

pub mod auth;
pub mod caller;
pub mod throttle;
