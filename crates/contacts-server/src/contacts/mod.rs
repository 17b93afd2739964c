//! The contacts resource: `GET` and `POST /api/v1/customers/{eZpayID}/contacts`.

pub mod in_flight;
mod revalidate;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use contacts_model::{
    Envelope, ErrorItem, EzpayId, RequestDraft, Status, Text, TrackingId, ValidationError,
    validate_request,
};
use serde::Serialize;
use tokio::sync::watch;
use tracing::Instrument;

use crate::access::caller::Caller;
use crate::http::body::JsonBody;
use crate::http::error::{AppError, Failure, json_response, with_etag};
use crate::http::precondition::IfMatch;
use crate::http::trace_context;
use crate::http::tracking::RequestContext;
use crate::store::{CustomerStatus, Outcome, Read, Store, Update};
use in_flight::InFlight;
use revalidate::StoredContact;

/// The route of the resource.
pub const PATH: &str = "/api/v1/customers/{ezpay_id}/contacts";

/// What the contacts' handlers share, taken from the application's state
/// (axum's `FromRef`).
#[derive(Debug, Clone)]
pub struct ContactsState {
    pub store: Arc<dyn Store>,
    pub in_flight: Arc<InFlight>,
    /// Told after every applied update, so that the relay sends it at once
    /// rather than at its next poll.
    pub queued: Arc<watch::Sender<()>>,
}

/// The routes of the contacts resource.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    ContactsState: FromRef<S>,
    Caller: FromRequestParts<S, Rejection = AppError>,
{
    Router::new().route(PATH, get(list).post(update))
}

/// The eZpayID of the path, validated.
#[derive(Debug)]
struct CustomerPath(EzpayId);

impl<S: Send + Sync> FromRequestParts<S> for CustomerPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let context = RequestContext::from_request_parts(parts, state).await?;
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                context.fail(Failure::BadRequest(vec![ErrorItem::message(e.body_text())]))
            })?;
        EzpayId::parse(&raw)
            .map(CustomerPath)
            .map_err(|e| context.fail(e))
    }
}

/// The body of a successful `GET`: the Success envelope with the customer,
/// its contacts, and their version (also the answer's `ETag`).
#[derive(Debug, Serialize)]
struct ContactsResponse<'a> {
    status: Status,
    request_tracking_id: &'a TrackingId,
    customer: CustomerView<'a>,
    contacts: Vec<StoredContact>,
    /// What today's validation refuses in the stored contacts, if anything.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<ValidationError>,
    version: String,
}

#[derive(Debug, Serialize)]
struct CustomerView<'a> {
    ezpay_id: &'a EzpayId,
    status: CustomerStatus,
}

async fn list(
    State(state): State<ContactsState>,
    context: RequestContext,
    caller: Caller,
    CustomerPath(ezpay_id): CustomerPath,
) -> Result<Response, AppError> {
    let store = &state.store;
    // The version is read before the contacts: should an update come in
    // between, the ETag is older than the contacts, and a POST with it gets
    // 412 and loads them again; it is never newer, which would let that POST
    // overwrite a change its client has not seen.
    let Some(customer) = store.customer(ezpay_id.clone()).await? else {
        return Err(context.fail(Failure::CustomerNotFound(ezpay_id)));
    };
    let stored = store.contacts(ezpay_id.clone()).await?;
    // No contacts leave unaudited: a read that cannot be recorded fails.
    let read = Read {
        tracking_id: context.tracking_id.clone(),
        ezpay_id: ezpay_id.clone(),
        user: caller.user,
        profile_id: caller.profile_id,
        source: caller.source,
    };
    store.record_read(read).await?;
    let (contacts, errors) = revalidate::check(stored);
    let body = ContactsResponse {
        status: Status::Success,
        request_tracking_id: &context.tracking_id,
        customer: CustomerView {
            ezpay_id: &ezpay_id,
            status: customer.status,
        },
        contacts,
        errors,
        version: customer.version.to_string(),
    };
    let response = json_response(StatusCode::OK, &body, &context.tracking_id);
    Ok(with_etag(response, Some(customer.version)))
}

async fn update(
    State(state): State<ContactsState>,
    context: RequestContext,
    caller: Caller,
    CustomerPath(ezpay_id): CustomerPath,
    if_match: IfMatch,
    JsonBody(draft): JsonBody<RequestDraft>,
) -> Result<Response, AppError> {
    let saved = save(&state, context, caller, ezpay_id, if_match, &draft).await;
    let counted = match &saved {
        Ok((Outcome::Applied(_), _)) => "applied",
        Ok((Outcome::Replayed(_), _)) => "replayed",
        _ => "refused",
    };
    metrics::counter!("contacts_saves_total", "outcome" => counted).increment(1);
    saved.map(|(_, response)| response)
}

async fn save(
    state: &ContactsState,
    mut context: RequestContext,
    caller: Caller,
    ezpay_id: EzpayId,
    IfMatch(if_match): IfMatch,
    draft: &RequestDraft,
) -> Result<(Outcome, Response), AppError> {
    // Settle the tracking id before validating, so that even a refusal
    // echoes the id the client put in the body.
    if let Text::Given(id) = &draft.request_tracking_id
        && let Ok(id) = TrackingId::parse(id)
    {
        context.settle(Some(&id))?;
    }
    let request = validate_request(draft)?;
    let Some(claim) = state.in_flight.claim(&caller.source, &context.tracking_id) else {
        return Err(context.fail(Failure::InFlight));
    };
    let update = Update {
        tracking_id: context.tracking_id.clone(),
        ezpay_id: ezpay_id.clone(),
        user: caller.user,
        profile_id: caller.profile_id,
        source: caller.source,
        request,
        if_match,
        traceparent: trace_context::traceparent(&context.trace),
    };
    let store = Arc::clone(&state.store);
    // A span of the request's, for the transaction.
    let transaction = tracing::info_span!(
        "store_transaction",
        tracking_id = context.tracking_id.as_str(),
        trace_id = %context.trace.trace_id(),
    );
    // The write runs as a task of its own, which the claim moves into: a
    // client that goes away cannot stop the write halfway, and the claim is
    // released only when the write is over.
    let outcome = tokio::spawn(
        async move {
            let outcome = store.apply(update).await;
            drop(claim);
            outcome
        }
        .instrument(transaction),
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "the write task failed");
        Failure::Internal
    })??;
    tracing::info!(?outcome, ezpay_id = ezpay_id.as_str(), "update");
    match outcome {
        Outcome::Applied(_) | Outcome::Replayed(_) => {
            // The ETag is the version the update brought the contacts to, on
            // a replay too: the client's next save sends it as If-Match, and
            // gets 412 only if someone else saved meanwhile.
            let version = match outcome {
                Outcome::Applied(version) => {
                    // The relay sends the new deliveries now rather than at its next poll.
                    state.queued.send_replace(());
                    Some(version)
                }
                Outcome::Replayed(version) => version,
                _ => None,
            };
            let envelope = Envelope::success(context.tracking_id.as_str());
            let response = json_response(StatusCode::OK, &envelope, &context.tracking_id);
            Ok((outcome, with_etag(response, version)))
        }
        Outcome::TrackingIdReused => Err(context.fail(Failure::TrackingIdReused)),
        Outcome::UnknownCustomer => Err(context.fail(Failure::CustomerNotFound(ezpay_id))),
        Outcome::Stale(version) => Err(context.fail(Failure::PreconditionFailed(version))),
    }
}
