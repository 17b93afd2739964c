//! Who is calling, through which profile: the extractor every API handler
//! takes. It reads the users, the credentials taken (`Schemes`: Basic, a
//! bearer tokens' issuer) and the profiles from substates of the
//! application's state (axum's `FromRef`), so that it needs no state of its own.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use contacts_model::ErrorItem;

use crate::access::auth::Users;
use crate::access::bearer::{Issuer, bearer_token};
use crate::http::error::{AppError, Failure};
use crate::http::tracking::RequestContext;

/// The configured profiles: ProfileId → the source it belongs to.
#[derive(Debug, Default)]
pub struct Profiles(pub HashMap<String, String>);

/// The credentials taken: Basic (the users), bearer tokens of an issuer, or both.
#[derive(Debug)]
pub struct Schemes {
    pub basic: bool,
    pub bearer: Option<Issuer>,
}

/// Who is calling: an authenticated user, through a configured profile.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user name of the Basic credentials, or a token's user followed
    /// by its issuer in parentheses, as the audit trail records them.
    pub user: String,
    /// The ProfileId header, trimmed.
    pub profile_id: String,
    /// The source the profile belongs to, e.g. `CAAG`.
    pub source: String,
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Arc<Users>: FromRef<S>,
    Arc<Schemes>: FromRef<S>,
    Arc<Profiles>: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let context = RequestContext::from_request_parts(parts, state).await?;
        let users = Arc::<Users>::from_ref(state);
        let schemes = Arc::<Schemes>::from_ref(state);
        // The ProfileIds a token grants; `None` for a Basic user's own.
        let (user, granted) = match (bearer_token(parts), &schemes.bearer) {
            (Some(token), Some(issuer)) => {
                let token_user = issuer
                    .authenticate(token, parts)
                    .await
                    .map_err(|failure| context.fail(failure))?;
                let user = format!("{} ({})", token_user.user, token_user.issuer);
                (user, Some(token_user.profiles))
            }
            (None, _) if schemes.basic => {
                let user = users
                    .authenticate(parts)
                    .await
                    .map_err(|failure| context.fail(failure))?;
                (user, None)
            }
            (Some(_), None) => return Err(context.fail(Failure::Unauthorized)),
            (None, _) => return Err(context.fail(Failure::TokenRequired)),
        };
        // The sample header reads `CAAG_302 (QA Environment)`: the id is the first word.
        let Some(profile_id) = parts
            .headers
            .get("profileid")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_whitespace().next())
            .map(str::to_owned)
        else {
            // A request without a ProfileId is the client's mistake, not an
            // unconfigured source: it names no source at all.
            return Err(context.fail(Failure::BadRequest(vec![ErrorItem {
                message: "Send the ProfileId header, e.g. 'ProfileId: CAAG_302'.".into(),
                field: Some("ProfileId".into()),
                code: None,
            }])));
        };
        let profiles = Arc::<Profiles>::from_ref(state);
        let Some(source) = profiles.0.get(&profile_id) else {
            tracing::info!(user, profile_id, "unknown profile");
            return Err(context.fail(Failure::SourceNotConfigured));
        };
        let may_use = granted.map_or_else(
            || users.may_use(&user, &profile_id),
            |granted| granted.contains(&profile_id),
        );
        if !may_use {
            tracing::warn!(user, profile_id, "profile not granted to this user");
            return Err(context.fail(Failure::ProfileNotGranted(profile_id)));
        }
        Ok(Caller {
            user,
            source: source.clone(),
            profile_id,
        })
    }
}
