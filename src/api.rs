//! Calls to the Contacts API with gloo-net: the document's headers, a 15 s
//! timeout through an `AbortSignal`, and a clear failure of the editor's
//! own where no envelope comes back.

use contacts_model::{
    ContactDraft, ContactsRequest, Envelope, EnvelopeError, ErrorItem, EzpayId, Valid,
};
use gloo_net::http::{Request, RequestBuilder};
use js_json::JsJson;
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use crate::contact_list;
use crate::credentials::{Authorization, Signer};
use crate::prefetched;

/// How long a call may take before the editor gives up on it.
pub const TIMEOUT_MS: u32 = 15_000;

/// Where and as whom the editor calls the API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    /// The origin and path prefix of the API; empty for the page's own origin.
    pub api_base: String,
    /// The `ProfileId` header, e.g. `CAAG_302`.
    pub profile_id: String,
    /// Where each request's `Authorization` header comes from.
    pub signer: Signer,
}

impl ApiConfig {
    /// Where the customer's contacts are read and saved.
    pub(crate) fn contacts_url(&self, customer: &EzpayId) -> String {
        format!(
            "{}/api/v1/customers/{customer}/contacts",
            self.api_base.trim_end_matches('/')
        )
    }

    fn with_headers(
        &self,
        builder: RequestBuilder,
        tracking_id: &str,
        authorization: &Authorization,
    ) -> RequestBuilder {
        builder
            .header("Accept", "application/json")
            .header("Request-Tracking-Id", tracking_id)
            .header("Authorization", authorization.header_value())
            .header("ProfileId", self.profile_id.trim())
    }

    /// Sends a request made by `request` with this configuration's headers.
    /// Where the console gives tokens, a 401 asks it once more, saying the
    /// last was refused, and the same request goes again under the same
    /// tracking id.
    async fn send(
        &self,
        request: &dyn Fn() -> RequestBuilder,
        tracking_id: &str,
        body: Option<&str>,
    ) -> Result<Answer, CallError> {
        let mut refused = false;
        loop {
            let authorization = self
                .signer
                .authorization(refused)
                .await
                .map_err(CallError::NotSignedIn)?;
            let builder = self.with_headers(request(), tracking_id, &authorization);
            let answer = call(builder, body.map(str::to_owned)).await?;
            if answer.0 != 401 || refused || !self.signer.renews() {
                return Ok(answer);
            }
            refused = true;
        }
    }
}

/// Why a call brought back no envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No HTTP answer at all (server down, network lost, blocked request).
    Unreachable(String),
    /// No answer within [`TIMEOUT_MS`].
    TimedOut,
    /// The console's `getToken` threw, rejected or gave no token.
    NotSignedIn(String),
    /// An answer that is not a Success or Failure envelope (an HTML error page, an empty body).
    NotAnEnvelope {
        /// The HTTP status of the answer.
        http_status: u16,
        /// Why the body is not an envelope.
        why: EnvelopeError,
    },
}

impl CallError {
    /// The error as a Failure envelope, so that it is shown and announced like the server's.
    pub fn to_envelope(&self, request_tracking_id: &str) -> Envelope {
        let (code, message, detail) = match self {
            CallError::Unreachable(why) => (
                "network_error".to_owned(),
                "The contacts service could not be reached",
                format!("No answer came back ({why}). Your changes are kept: press Retry when the connection is back."),
            ),
            CallError::TimedOut => (
                "timeout".to_owned(),
                "The contacts service did not answer in time",
                "No answer within 15 seconds. Press Retry: it sends the same tracking id, so the update is never applied twice.".to_owned(),
            ),
            CallError::NotSignedIn(why) => (
                "sign_in".to_owned(),
                "The console could not sign the agent in",
                format!("{why}. Your changes are kept: press Retry once the console has signed you in again."),
            ),
            CallError::NotAnEnvelope { http_status, why } => (
                http_status.to_string(),
                "The contacts service gave an unreadable answer",
                format!("HTTP {http_status}: {why}. Your changes are kept: press Retry."),
            ),
        };
        Envelope::failure(
            Some(request_tracking_id.to_owned()),
            code,
            message,
            vec![ErrorItem::message(detail)],
        )
    }
}

/// Parses an answer's body once, whatever its HTTP status: its envelope, and
/// the parsed value for reading the rest of the answer.
fn read_body(http_status: u16, body: &str) -> Result<(Envelope, JsJson), CallError> {
    let parsed = if body.trim().is_empty() {
        Err(EnvelopeError::Empty)
    } else {
        JsJson::parse(body).map_err(EnvelopeError::NotJson)
    };
    parsed
        .and_then(|value| Ok((Envelope::from_deserializer(value.clone())?, value)))
        .map_err(|why| CallError::NotAnEnvelope { http_status, why })
}

/// Reads the answer to a save: the server's envelope, whatever the HTTP status.
pub fn read_envelope(http_status: u16, body: &str) -> Result<Envelope, CallError> {
    read_body(http_status, body).map(|(envelope, _)| envelope)
}

/// The detail of the contract's refusal of an unknown ProfileId.
const SOURCE_NOT_CONFIGURED: &str = "Source not configured";

/// Whether the answer leaves the submission unsettled, so that sending it
/// again (Retry, or Save of the same request) may pass and must reuse its
/// tracking id: no answer came (the server may have applied it), the server
/// was busy with it, or it failed on the server's side (5xx). The contract's
/// "Source not configured" is a refusal like those of validation and
/// credentials: it is settled, and a new ProfileId makes a new submission.
pub fn may_pass_on_retry(answer: &Result<Envelope, CallError>) -> bool {
    let Ok(envelope) = answer else {
        return true;
    };
    envelope.error().is_some_and(|e| {
        let server_side = e.code.len() == 3 && e.code.starts_with('5');
        let not_configured = e.errors.iter().any(|i| i.message == SOURCE_NOT_CONFIGURED);
        matches!(e.code.as_str(), "409" | "429") || (server_side && !not_configured)
    })
}

/// Whether the server refused the credentials.
pub fn is_unauthorized(envelope: &Envelope) -> bool {
    envelope.error().is_some_and(|e| e.code == "401")
}

/// One save, as the agent submitted it. Its retries send exactly the same
/// request under the same tracking id, so the server applies it at most once.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// The customer.
    pub customer: EzpayId,
    /// The `Request-Tracking-Id` of this submission and its retries.
    pub tracking_id: String,
    /// The validated request.
    pub request: Valid<ContactsRequest>,
    /// The version of the contacts the request was made from, sent as
    /// `If-Match`: the server applies it only if they are still at it.
    pub version: Option<String>,
}

impl Submission {
    /// This submission under the tracking id of `unsettled` (the last one,
    /// if it may have reached the server) where both send exactly the same
    /// request for the same customer: the server then replays its answer to
    /// the first instead of writing the same update twice. A changed request
    /// keeps its own new tracking id.
    #[must_use]
    pub fn resuming(mut self, unsettled: Option<&Submission>) -> Self {
        if let Some(previous) = unsettled
            && previous.customer == self.customer
            && previous.request == self.request
            && previous.version == self.version
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
    format!(
        "ce-{:x}-{:016x}",
        js_sys::Date::now() as u64,
        u64::from_be_bytes(random)
    )
}

/// An HTTP answer: its status, body and `ETag`.
pub(crate) type Answer = (u16, String, Option<String>);

/// Sends one request, giving up after [`TIMEOUT_MS`]: the browser's
/// `AbortSignal.timeout` aborts the call, reading the body included, with a
/// `TimeoutError`.
async fn call(builder: RequestBuilder, body: Option<String>) -> Result<Answer, CallError> {
    let builder = builder.abort_signal(Some(&AbortSignal::timeout_with_u32(TIMEOUT_MS)));
    let request = match body {
        Some(body) => builder.body(body),
        None => builder.build(),
    }
    .map_err(|e| CallError::Unreachable(e.to_string()))?;
    let failed = |e: gloo_net::Error| match e {
        gloo_net::Error::JsError(error) if error.name == "TimeoutError" => CallError::TimedOut,
        other => CallError::Unreachable(other.to_string()),
    };
    let response = request.send().await.map_err(failed)?;
    let text = response.text().await.map_err(failed)?;
    Ok((response.status(), text, response.headers().get("ETag")))
}

/// Why the GET sent before the start brought no answer, from what its
/// `fetch` or the reading of its body was rejected with (the `TimeoutError`
/// of its `AbortSignal` included), as [`call`] tells it of its own.
fn no_answer(error: JsValue) -> CallError {
    match error.dyn_into::<js_sys::Error>() {
        Ok(error) if error.name() == "TimeoutError" => CallError::TimedOut,
        Ok(error) => CallError::Unreachable(error.to_string().into()),
        Err(other) => CallError::Unreachable(format!("{other:?}")),
    }
}

/// `POST`s a submission: the answer, and the contacts' new version (the
/// answer's `ETag`) where it gives one.
pub async fn save_contacts(
    config: &ApiConfig,
    submission: &Submission,
) -> (Result<Envelope, CallError>, Option<String>) {
    let url = config.contacts_url(&submission.customer);
    let request = || {
        let builder = Request::post(&url).header("Content-Type", "application/json");
        match &submission.version {
            Some(version) => builder.header("If-Match", version),
            None => builder,
        }
    };
    // A validated request holds strings only, which always serialise.
    let body = js_json::stringify(&submission.request).unwrap_or_default();
    match config
        .send(&request, &submission.tracking_id, Some(&body))
        .await
    {
        Ok((status, body, version)) => (read_envelope(status, &body), version),
        Err(error) => (Err(error), None),
    }
}

/// A customer's current contacts, as `GET …/contacts` answers them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CustomerContacts {
    /// The customer's status: `active`, `inactive` or `cancelled`.
    pub status: Option<String>,
    /// The version of the contacts (the answer's `ETag`), if given.
    pub version: Option<String>,
    /// Its contacts, read leniently: the editor validates what it sends.
    pub contacts: Vec<ContactDraft>,
}

/// Reads the answer of `GET …/contacts`: the contacts and the customer's
/// status, or the Failure envelope (the server's, or the editor's own for an
/// answer it cannot read).
pub fn read_contacts(
    (http_status, body, version): Answer,
    tracking_id: &str,
) -> Result<CustomerContacts, Envelope> {
    let unreadable = |e: CallError| e.to_envelope(tracking_id);
    let (envelope, value) = read_body(http_status, &body).map_err(unreadable)?;
    if envelope.error().is_some() {
        return Err(envelope);
    }
    let contacts = contact_list::of_object(value.clone()).ok_or_else(|| {
        unreadable(CallError::NotAnEnvelope {
            http_status,
            why: EnvelopeError::NotAnEnvelope(
                "unreadable contacts: 'contacts' is not a list of objects".into(),
            ),
        })
    })?;
    Ok(CustomerContacts {
        status: customer_status(value.as_ref()),
        version,
        contacts,
    })
}

/// The customer's status in the answer of `GET …/contacts` (only shown, so
/// nothing is checked).
fn customer_status(answer: &JsValue) -> Option<String> {
    let customer = Reflect::get(answer, &"customer".into()).ok()?;
    // `Reflect.get` throws, and so answers `None`, where `customer` is no object.
    Reflect::get(&customer, &"status".into()).ok()?.as_string()
}

/// Loads a customer's current contacts.
pub async fn fetch_contacts(
    config: &ApiConfig,
    customer: &EzpayId,
) -> Result<CustomerContacts, Envelope> {
    let tracking_id = new_tracking_id();
    let url = config.contacts_url(customer);
    let answer = config
        .send(&|| Request::get(&url), &tracking_id, None)
        .await;
    contacts_of(answer, &tracking_id)
}

/// Loads a customer's current contacts from the answer of a GET sent
/// before the editor started ([`prefetched`](crate::prefetched)).
pub async fn prefetched_contacts(
    (answer, tracking_id): prefetched::Pending,
) -> Result<CustomerContacts, Envelope> {
    contacts_of(
        prefetched::read(answer).await.map_err(no_answer),
        &tracking_id,
    )
}

/// The contacts in the answer of a GET sent under `tracking_id`.
fn contacts_of(
    answer: Result<Answer, CallError>,
    tracking_id: &str,
) -> Result<CustomerContacts, Envelope> {
    let answer = answer.map_err(|e| e.to_envelope(tracking_id))?;
    read_contacts(answer, tracking_id)
}

#[cfg(test)]
mod tests {
    use contacts_model::{ContactType, Field, RequestDraft, validate_request};

    use super::*;

    #[test]
    fn network_failures_and_timeouts_say_so_and_may_be_retried() {
        for error in [
            CallError::Unreachable("Failed to fetch".into()),
            CallError::TimedOut,
            CallError::NotSignedIn("getToken failed".into()),
        ] {
            let envelope = error.to_envelope("t");
            assert!(!envelope.error().unwrap().errors[0].message.is_empty());
            assert_eq!(envelope.request_tracking_id(), Some("t"));
            assert!(may_pass_on_retry(&Err(error)));
        }
    }

    #[test]
    fn server_side_failures_are_retried_but_not_an_unknown_source() {
        let cases = [
            ("500", "database is locked", true),
            ("503", "Service Unavailable", true),
            ("409", "in flight", true),
            ("429", "slow down", true),
            ("500", SOURCE_NOT_CONFIGURED, false),
            ("5000", "not an HTTP status", false),
            ("422", "changed body", false),
            ("401", "Unauthorized", false),
        ];
        for (code, detail, retried) in cases {
            let answer = Ok(Envelope::failure(
                Some("t".into()),
                code.to_owned(),
                "Service Error",
                vec![ErrorItem::message(detail)],
            ));
            assert_eq!(may_pass_on_retry(&answer), retried, "{code} {detail}");
        }
        assert!(!may_pass_on_retry(&Ok(Envelope::success("t"))));
    }

    #[test]
    fn builds_the_contacts_url() {
        let config = ApiConfig {
            api_base: "https://api.example/".into(),
            profile_id: "CAAG_302".into(),
            signer: Signer::Fixed(Authorization::given("Basic YTpi").unwrap()),
        };
        let customer = EzpayId::parse("000010000005008").unwrap();
        assert_eq!(
            config.contacts_url(&customer),
            "https://api.example/api/v1/customers/000010000005008/contacts"
        );
    }

    fn submission(customer: &str, name: &str, tracking_id: &str) -> Submission {
        let mut billing = ContactDraft::new(ContactType::Billing);
        billing.set(Field::Name, name);
        Submission {
            customer: EzpayId::parse(customer).unwrap(),
            tracking_id: tracking_id.into(),
            request: validate_request(&RequestDraft::from_contacts([billing])).unwrap(),
            version: None,
        }
    }

    #[test]
    fn a_save_of_the_same_request_resumes_the_unsettled_submission() {
        let lost = submission("000010000005008", "Answer Lost", "first");
        let cases = [
            ("000010000005008", "Answer Lost", Some(&lost), "first"),
            ("000010000005008", "Changed", Some(&lost), "second"),
            ("000010000005009", "Answer Lost", Some(&lost), "second"),
            ("000010000005008", "Answer Lost", None, "second"),
        ];
        for (customer, name, unsettled, expected) in cases {
            let again = submission(customer, name, "second").resuming(unsettled);
            assert_eq!(again.tracking_id, expected, "{customer} {name}");
        }
    }

    /// The tests that need the engine's JSON (`js-json`): they run under
    /// wasm-bindgen-test.
    #[cfg(target_arch = "wasm32")]
    mod json {
        use wasm_bindgen_test::wasm_bindgen_test;

        use super::*;

        #[wasm_bindgen_test]
        fn reads_envelopes_whatever_the_http_status() {
            let answer = read_envelope(
                500,
                r#"{"error":{"code":"500","message":"Service Error","errors":[{"message":"Source not configured"}]},"request_tracking_id":"1"}"#,
            );
            assert_eq!(
                answer.as_ref().unwrap().error().unwrap().errors[0].message,
                "Source not configured"
            );
            assert!(!may_pass_on_retry(&answer));
        }

        #[wasm_bindgen_test]
        fn html_and_empty_bodies_are_errors_of_their_own() {
            let html = read_envelope(502, "<html><body>Bad Gateway</body></html>");
            assert!(matches!(
                html,
                Err(CallError::NotAnEnvelope {
                    http_status: 502,
                    why: EnvelopeError::NotJson(_)
                })
            ));
            assert!(may_pass_on_retry(&html));
            let empty = read_envelope(200, "").unwrap_err().to_envelope("t-1");
            let error = empty.error().unwrap();
            assert_eq!(error.code, "200");
            assert!(error.errors[0].message.contains("empty"));
            assert_eq!(empty.request_tracking_id(), Some("t-1"));
        }

        #[wasm_bindgen_test]
        fn busy_is_retried_and_refusals_are_not() {
            let busy = read_envelope(
                409,
                r#"{"status":"Failure","error":{"code":"409","message":"Conflict"}}"#,
            );
            assert!(may_pass_on_retry(&busy));
            let refused = read_envelope(
                401,
                r#"{"status":"Failure","error":{"code":"401","message":"Unauthorized"}}"#,
            );
            assert!(!may_pass_on_retry(&refused));
            assert!(is_unauthorized(&refused.unwrap()));
        }

        #[wasm_bindgen_test]
        fn reads_the_contacts_and_status_of_a_customer() {
            let body = r#"{"status":"Success","request_tracking_id":"9","customer":{"ezpay_id":"000010000005008","status":"active"},"contacts":[{"type":"billing","name":"John Smith","work_phone":"9147212006"}]}"#;
            let found = read_contacts((200, body.into(), Some("\"3\"".into())), "9").unwrap();
            assert_eq!(found.contacts[0].name.as_str(), "John Smith");
            assert_eq!(found.version.as_deref(), Some("\"3\""));
            assert_eq!(found.status.as_deref(), Some("active"));
            let odd = read_contacts(
                (200, r#"{"status":"Success","contacts":7}"#.into(), None),
                "9",
            );
            assert_eq!(odd.unwrap_err().error().unwrap().code, "200");
            let refused = r#"{"status":"Failure","error":{"code":"404","message":"Not Found"}}"#;
            assert_eq!(
                read_contacts((404, refused.into(), None), "9")
                    .unwrap_err()
                    .error()
                    .unwrap()
                    .code,
                "404"
            );
        }
    }
}
