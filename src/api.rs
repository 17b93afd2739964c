//! Calls to the Contacts API with gloo-net: the document's headers, a 15 s
//! timeout through an `AbortController`, and a clear failure of the editor's
//! own where no envelope comes back.

use std::cell::Cell;
use std::rc::Rc;

use contacts_model::{
    ContactDraft, ContactsRequest, Envelope, EnvelopeError, ErrorItem, EzpayId, Valid,
};
use gloo_net::http::{Request, RequestBuilder};
use gloo_timers::callback::Timeout;
use js_json::JsJson;
use js_sys::{JSON, Reflect};
use web_sys::AbortController;

use crate::credentials::Authorization;
use crate::draft::read_contact_list;

/// How long a call may take before the editor gives up on it.
pub const TIMEOUT_MS: u32 = 15_000;

/// Where and as whom the editor calls the API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    /// The origin and path prefix of the API; empty for the page's own origin.
    pub api_base: String,
    /// The `ProfileId` header, e.g. `CAAG_302`.
    pub profile_id: String,
    /// The `Authorization` header.
    pub authorization: Authorization,
}

impl ApiConfig {
    fn contacts_url(&self, customer: &EzpayId) -> String {
        format!(
            "{}/api/v1/customers/{customer}/contacts",
            self.api_base.trim_end_matches('/')
        )
    }

    fn with_headers(&self, builder: RequestBuilder, tracking_id: &str) -> RequestBuilder {
        builder
            .header("Accept", "application/json")
            .header("Request-Tracking-Id", tracking_id)
            .header("Authorization", self.authorization.header_value())
            .header("ProfileId", self.profile_id.trim())
    }
}

/// A call that brought back no envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFailure {
    /// No HTTP answer at all (server down, network lost, blocked request).
    Unreachable(String),
    /// No answer within [`TIMEOUT_MS`].
    TimedOut,
    /// An answer that is not a Success or Failure envelope (an HTML error page, an empty body).
    NotAnEnvelope {
        /// The HTTP status of the answer.
        http_status: u16,
        /// Why the body is not an envelope.
        why: EnvelopeError,
    },
}

impl CallFailure {
    /// The failure as an envelope, so that it is shown and announced like the server's.
    pub fn to_envelope(&self, request_tracking_id: Option<String>) -> Envelope {
        let (code, message, detail) = match self {
            CallFailure::Unreachable(why) => (
                "network_error".to_owned(),
                "The contacts service could not be reached",
                format!("No answer came back ({why}). Your changes are kept: press Retry when the connection is back."),
            ),
            CallFailure::TimedOut => (
                "timeout".to_owned(),
                "The contacts service did not answer in time",
                "No answer within 15 seconds. Press Retry: it sends the same tracking id, so the update is never applied twice.".to_owned(),
            ),
            CallFailure::NotAnEnvelope { http_status, why } => (
                http_status.to_string(),
                "The contacts service gave an unreadable answer",
                format!("HTTP {http_status}: {why}. Your changes are kept: press Retry."),
            ),
        };
        Envelope::failure(
            request_tracking_id,
            code,
            message,
            vec![ErrorItem::message(detail)],
        )
    }
}

/// An envelope as the server answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status, which the envelope is the truth over.
    pub http_status: u16,
    /// The envelope.
    pub envelope: Envelope,
}

/// The end of one call.
pub type Outcome = Result<Answer, CallFailure>;

/// Reads an HTTP answer into an envelope, whatever its status.
pub fn read_answer(http_status: u16, body: &str) -> Outcome {
    Envelope::from_body(body, JsJson::parse)
        .map(|envelope| Answer {
            http_status,
            envelope,
        })
        .map_err(|why| CallFailure::NotAnEnvelope { http_status, why })
}

/// The detail of the contract's refusal of an unknown ProfileId.
const SOURCE_NOT_CONFIGURED: &str = "Source not configured";

/// Whether the outcome leaves the submission unsettled, so that sending it
/// again (Retry, or Save of the same request) may pass and must reuse its
/// tracking id: no answer came (the server may have applied it), the server
/// was busy with it, or it failed on the server's side (5xx). The contract's
/// "Source not configured" is a refusal like those of validation and
/// credentials: it is settled, and a new ProfileId makes a new submission.
pub fn may_pass_on_retry(outcome: &Outcome) -> bool {
    let Ok(answer) = outcome else {
        return true;
    };
    answer.envelope.error().is_some_and(|e| {
        let server_side = e.code.len() == 3 && e.code.starts_with('5');
        let not_configured = e.errors.iter().any(|i| i.message == SOURCE_NOT_CONFIGURED);
        matches!(e.code.as_str(), "409" | "429") || (server_side && !not_configured)
    })
}

/// The outcome as an envelope, for display and for the embedding page's events.
pub fn outcome_envelope(outcome: &Outcome, tracking_id: &str) -> Envelope {
    match outcome {
        Ok(answer) => answer.envelope.clone(),
        Err(failure) => failure.to_envelope(Some(tracking_id.to_owned())),
    }
}

/// Whether the server refused the credentials.
pub fn is_unauthorized(envelope: &Envelope) -> bool {
    envelope.error().is_some_and(|e| e.code == "401")
}

/// One save, as the agent submitted it. Its retries send exactly the same
/// body under the same tracking id, so the server applies it at most once.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// The customer.
    pub customer: EzpayId,
    /// The `Request-Tracking-Id` of this submission and its retries.
    pub tracking_id: String,
    /// The validated request.
    pub request: ContactsRequest,
    /// The request as sent.
    pub body: String,
}

impl Submission {
    /// A new submission with its own tracking id.
    pub fn new(customer: EzpayId, request: Valid<ContactsRequest>, tracking_id: String) -> Self {
        let request = request.into_inner();
        // A validated request holds strings only, which always serialise.
        let body = js_json::stringify(&request).unwrap_or_default();
        Self {
            customer,
            tracking_id,
            request,
            body,
        }
    }

    /// This submission under the tracking id of `unsettled` (the last one,
    /// if it may have reached the server) where both send exactly the same
    /// body for the same customer: the server then replays its answer to the
    /// first instead of writing the same update twice. A changed request
    /// keeps its own new tracking id.
    #[must_use]
    pub fn resuming(mut self, unsettled: Option<&Submission>) -> Self {
        if let Some(previous) = unsettled
            && previous.customer == self.customer
            && previous.body == self.body
        {
            self.tracking_id.clone_from(&previous.tracking_id);
        }
        self
    }
}

/// A fresh tracking id such as `ce-19b2c3d4e5f-8a1b2c3d4e5f6a7b`: the time
/// and 64 random bits, within the model's tracking id rules.
pub fn new_tracking_id() -> String {
    let mut random = [0u8; 8];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut random).is_ok());
    if !filled {
        for byte in &mut random {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("ce-{:x}-{hex}", js_sys::Date::now() as u64)
}

/// Sends one request, giving up after [`TIMEOUT_MS`].
async fn call(builder: RequestBuilder, body: Option<String>) -> Result<(u16, String), CallFailure> {
    let controller = AbortController::new()
        .map_err(|_| CallFailure::Unreachable("this browser cannot time requests out".into()))?;
    let timed_out = Rc::new(Cell::new(false));
    // Dropping the timeout at the end of this function cancels it.
    let _timeout = {
        let controller = controller.clone();
        let timed_out = Rc::clone(&timed_out);
        Timeout::new(TIMEOUT_MS, move || {
            timed_out.set(true);
            controller.abort();
        })
    };
    let builder = builder.abort_signal(Some(&controller.signal()));
    let request = match body {
        Some(body) => builder.body(body),
        None => builder.build(),
    }
    .map_err(|e| CallFailure::Unreachable(e.to_string()))?;
    let failed = |e: gloo_net::Error| {
        if timed_out.get() {
            CallFailure::TimedOut
        } else {
            CallFailure::Unreachable(e.to_string())
        }
    };
    let response = request.send().await.map_err(failed)?;
    let text = response.text().await.map_err(failed)?;
    Ok((response.status(), text))
}

/// `POST`s a submission.
pub async fn save_contacts(config: &ApiConfig, submission: &Submission) -> Outcome {
    let builder = config
        .with_headers(
            Request::post(&config.contacts_url(&submission.customer)),
            &submission.tracking_id,
        )
        .header("Content-Type", "application/json");
    let (status, body) = call(builder, Some(submission.body.clone())).await?;
    read_answer(status, &body)
}

/// A customer's current contacts, as `GET …/contacts` answers them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CustomerContacts {
    /// The customer's status: `active`, `inactive` or `cancelled`.
    pub status: Option<String>,
    /// Its contacts, read leniently: the editor validates what it sends.
    pub contacts: Vec<ContactDraft>,
}

/// Reads the contacts in the answer of `GET …/contacts`, or its Failure envelope.
pub fn read_contacts(
    outcome: Outcome,
    body: &str,
    tracking_id: &str,
) -> Result<Vec<ContactDraft>, Envelope> {
    match outcome {
        Ok(Answer {
            envelope: Envelope::Success { .. },
            http_status,
        }) => read_contact_list(body).ok_or_else(|| {
            CallFailure::NotAnEnvelope {
                http_status,
                why: EnvelopeError::NotAnEnvelope(
                    "unreadable contacts: 'contacts' is not a list of objects".into(),
                ),
            }
            .to_envelope(Some(tracking_id.to_owned()))
        }),
        other => Err(outcome_envelope(&other, tracking_id)),
    }
}

/// The customer's status in the answer of `GET …/contacts`, read by the
/// browser's JSON parser (only shown, so nothing is checked).
fn customer_status(body: &str) -> Option<String> {
    let answer = JSON::parse(body).ok()?;
    let customer = Reflect::get(&answer, &"customer".into()).ok()?;
    // `Reflect.get` throws, and so answers `None`, where `customer` is no object.
    Reflect::get(&customer, &"status".into()).ok()?.as_string()
}

/// Loads a customer's current contacts.
pub async fn fetch_contacts(
    config: &ApiConfig,
    customer: &EzpayId,
) -> Result<CustomerContacts, Envelope> {
    let tracking_id = new_tracking_id();
    let builder = config.with_headers(Request::get(&config.contacts_url(customer)), &tracking_id);
    let (status, body) = call(builder, None)
        .await
        .map_err(|failure| failure.to_envelope(Some(tracking_id.clone())))?;
    let contacts = read_contacts(read_answer(status, &body), &body, &tracking_id)?;
    Ok(CustomerContacts {
        status: customer_status(&body),
        contacts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_failures_and_timeouts_say_so_and_may_be_retried() {
        for failure in [
            CallFailure::Unreachable("Failed to fetch".into()),
            CallFailure::TimedOut,
        ] {
            let envelope = failure.to_envelope(Some("t".into()));
            assert!(!envelope.error().unwrap().errors[0].message.is_empty());
            assert!(may_pass_on_retry(&Err(failure)));
        }
    }

    #[test]
    fn server_side_failures_are_retried_but_not_an_unknown_source() {
        let failure = |code: &str, detail: &str| {
            Ok(Answer {
                http_status: 500,
                envelope: Envelope::failure(
                    Some("t".into()),
                    code.to_owned(),
                    "Service Error",
                    vec![ErrorItem::message(detail)],
                ),
            })
        };
        assert!(may_pass_on_retry(&failure("500", "database is locked")));
        assert!(may_pass_on_retry(&failure("503", "Service Unavailable")));
        assert!(!may_pass_on_retry(&failure("500", SOURCE_NOT_CONFIGURED)));
        assert!(!may_pass_on_retry(&failure("5000", "not an HTTP status")));
        assert!(!may_pass_on_retry(&failure("422", "changed body")));
    }

    #[test]
    fn builds_the_contacts_url() {
        let config = ApiConfig {
            api_base: "https://api.example/".into(),
            profile_id: "CAAG_302".into(),
            authorization: Authorization::basic("a", "b"),
        };
        let customer = EzpayId::parse("000010000005008").unwrap();
        assert_eq!(
            config.contacts_url(&customer),
            "https://api.example/api/v1/customers/000010000005008/contacts"
        );
    }

    /// The tests that need the engine's JSON (`js-json`): they run under
    /// wasm-bindgen-test.
    #[cfg(target_arch = "wasm32")]
    mod json {
        use wasm_bindgen_test::wasm_bindgen_test;

        use super::*;

        #[wasm_bindgen_test]
        fn reads_envelopes_whatever_the_http_status() {
            let answer = read_answer(
                500,
                r#"{"error":{"code":"500","message":"Service Error","errors":[{"message":"Source not configured"}]},"request_tracking_id":"1"}"#,
            )
            .unwrap();
            assert_eq!(
                answer.envelope.error().unwrap().errors[0].message,
                "Source not configured"
            );
            assert!(!may_pass_on_retry(&Ok(answer)));
        }

        #[wasm_bindgen_test]
        fn html_and_empty_bodies_are_failures_of_their_own() {
            let html = read_answer(502, "<html><body>Bad Gateway</body></html>");
            assert!(matches!(
                html,
                Err(CallFailure::NotAnEnvelope {
                    http_status: 502,
                    why: EnvelopeError::NotJson(_)
                })
            ));
            assert!(may_pass_on_retry(&html));
            let empty = read_answer(200, "");
            let envelope = outcome_envelope(&empty, "t-1");
            let error = envelope.error().unwrap();
            assert_eq!(error.code, "200");
            assert!(error.errors[0].message.contains("empty"));
            assert_eq!(envelope.request_tracking_id(), Some("t-1"));
        }

        fn submission(customer: &str, name: &str, tracking_id: &str) -> Submission {
            let mut billing = ContactDraft::new(contacts_model::ContactType::Billing);
            billing.set(contacts_model::Field::Name, name);
            let request =
                contacts_model::validate_request(&contacts_model::RequestDraft::from_contacts([
                    billing,
                ]))
                .unwrap();
            Submission::new(
                EzpayId::parse(customer).unwrap(),
                request,
                tracking_id.into(),
            )
        }

        #[wasm_bindgen_test]
        fn a_save_of_the_same_request_resumes_the_unsettled_submission() {
            let lost = submission("000010000005008", "Answer Lost", "first");
            let again =
                submission("000010000005008", "Answer Lost", "second").resuming(Some(&lost));
            assert_eq!(again.tracking_id, "first");

            let changed = submission("000010000005008", "Changed", "second").resuming(Some(&lost));
            assert_eq!(changed.tracking_id, "second");
            let other_customer =
                submission("000010000005009", "Answer Lost", "second").resuming(Some(&lost));
            assert_eq!(other_customer.tracking_id, "second");
            let settled = submission("000010000005008", "Answer Lost", "second").resuming(None);
            assert_eq!(settled.tracking_id, "second");
        }

        #[wasm_bindgen_test]
        fn busy_is_retried_and_refusals_are_not() {
            let busy = read_answer(
                409,
                r#"{"status":"Failure","error":{"code":"409","message":"Conflict"}}"#,
            );
            assert!(may_pass_on_retry(&busy));
            let refused = read_answer(
                401,
                r#"{"status":"Failure","error":{"code":"401","message":"Unauthorized"}}"#,
            );
            assert!(!may_pass_on_retry(&refused));
            assert!(is_unauthorized(&refused.unwrap().envelope));
        }

        #[wasm_bindgen_test]
        fn reads_the_contacts_of_a_customer() {
            let body = r#"{"status":"Success","request_tracking_id":"9","customer":{"ezpay_id":"000010000005008","status":"active"},"contacts":[{"type":"billing","name":"John Smith","work_phone":"9147212006"}]}"#;
            let contacts = read_contacts(read_answer(200, body), body, "9").unwrap();
            assert_eq!(contacts[0].name.as_str(), "John Smith");
            let odd = r#"{"status":"Success","contacts":7}"#;
            assert!(read_contacts(read_answer(200, odd), odd, "9").is_err());
        }
    }
}
