//! One attempt: the POST to a target, and what its answer means.

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::{Client, StatusCode, Url};

use super::backoff;
use super::breaker::Health;
use crate::config::{RelaySettings, Target};
use crate::http::trace_context::TRACEPARENT;
use crate::store::{Attempted, ClaimedDelivery};

/// How much of a failed answer is kept.
pub const KEPT_ANSWER_BYTES: usize = 1024;

/// How much of a successful answer is read (and dropped), so that the
/// connection can be used again.
const DRAINED_ANSWER_BYTES: usize = 64 * 1024;

/// What a target made of an attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// A 2xx.
    Accepted(u16),
    /// 408, 425, 429, a 5xx, a timeout or a connection error: worth another try.
    Unavailable {
        status: Option<u16>,
        retry_after: Option<Duration>,
        error: String,
    },
    /// Any other answer, a redirect included: it cannot succeed as it is.
    Refused { status: u16, error: String },
}

impl Answer {
    /// What the answer says of the target (see [`super::breaker`]).
    pub fn health(&self) -> Health {
        match self {
            Self::Unavailable {
                status: None | Some(429 | 502 | 503 | 504),
                retry_after,
                ..
            } => Health::Down {
                retry_after: *retry_after,
            },
            Self::Accepted(_) | Self::Refused { .. } | Self::Unavailable { .. } => Health::Reached,
        }
    }
}

/// POSTs `delivery` to `url` with the contract's headers, the attempt's
/// `traceparent` and the target's own headers.
pub async fn post(
    client: &Client,
    target: &Target,
    url: &Url,
    delivery: &ClaimedDelivery,
    traceparent: &str,
) -> Answer {
    let request = client
        .post(url.clone())
        .timeout(target.timeout)
        .headers(target.headers.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header("Request-Tracking-Id", &delivery.tracking_id)
        .header("Idempotency-Key", &delivery.idempotency_key)
        .header(TRACEPARENT, traceparent)
        .body(delivery.payload.clone());
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(error) => return unreachable_target(&error, target.timeout),
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| backoff::retry_after(value, SystemTime::now()));
    let limit = if status.is_success() {
        DRAINED_ANSWER_BYTES
    } else {
        KEPT_ANSWER_BYTES
    };
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            // The status is what counts; an answer cut short changes nothing.
            Err(_) => break,
        }
    }
    classify(status, response.headers(), retry_after, &body)
}

/// What an answer means. A redirect is never followed (the client follows
/// none): it is a refusal that names its `Location`, so that an operator
/// sees that the target's address is wrong.
fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Answer {
    if status.is_success() {
        return Answer::Accepted(status.as_u16());
    }
    let kept = &body[..body.len().min(KEPT_ANSWER_BYTES)];
    let location = headers
        .get(LOCATION)
        .filter(|_| status.is_redirection())
        .map(|value| {
            let value = &value.as_bytes()[..value.len().min(KEPT_ANSWER_BYTES)];
            format!("redirected to {} ", String::from_utf8_lossy(value))
        })
        .unwrap_or_default();
    let error = format!(
        "HTTP {}: {location}{}",
        status.as_u16(),
        String::from_utf8_lossy(kept)
    );
    let transient = matches!(status.as_u16(), 408 | 425 | 429) || status.is_server_error();
    if transient {
        Answer::Unavailable {
            status: Some(status.as_u16()),
            retry_after,
            error,
        }
    } else {
        Answer::Refused {
            status: status.as_u16(),
            error,
        }
    }
}

/// A send that got no answer: a timeout, a refused connection, a reset.
fn unreachable_target(error: &reqwest::Error, timeout: Duration) -> Answer {
    let error = if error.is_timeout() {
        format!("no answer within {} ms", timeout.as_millis())
    } else {
        // The causes say what happened ("Connection refused"); the URL
        // alone, which is all the outer error names, does not.
        let mut text = error.to_string();
        let mut cause = error.source();
        while let Some(inner) = cause {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            cause = inner.source();
        }
        text
    };
    Answer::Unavailable {
        status: None,
        retry_after: None,
        error,
    }
}

/// What to record for an answer to a delivery's attempt number `attempts + 1`.
pub fn judge(
    settings: &RelaySettings,
    delivery: &ClaimedDelivery,
    answer: Answer,
    now: SystemTime,
) -> Attempted {
    match answer {
        Answer::Accepted(status) => Attempted::Delivered { status },
        Answer::Refused { status, error } => Attempted::Dead {
            status: Some(status),
            error,
        },
        Answer::Unavailable {
            status,
            retry_after,
            error,
        } => {
            let attempts = delivery.attempts.saturating_add(1);
            if attempts >= settings.max_attempts {
                return Attempted::Dead {
                    status,
                    error: format!("gave up after {attempts} attempts; the last: {error}"),
                };
            }
            // A Retry-After is honoured up to the backoff cap.
            let wait = retry_after.map_or_else(
                || backoff::backoff(settings, attempts, backoff::random()),
                |asked| asked.min(settings.backoff_cap),
            );
            Attempted::Retry {
                at: now + wait,
                status,
                error,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_answers_as_the_contract_of_delivery_says() {
        let long = "x".repeat(3000);
        for (status, transient) in [
            (200, None),
            (204, None),
            (408, Some(true)),
            (425, Some(true)),
            (429, Some(true)),
            (500, Some(true)),
            (503, Some(true)),
            (400, Some(false)),
            (401, Some(false)),
            (404, Some(false)),
            (409, Some(false)),
            (422, Some(false)),
            (301, Some(false)),
        ] {
            let status = StatusCode::from_u16(status).expect("a status");
            let answer = classify(status, &HeaderMap::new(), None, long.as_bytes());
            match (transient, answer) {
                (None, Answer::Accepted(s)) => assert_eq!(s, status.as_u16()),
                (
                    Some(true),
                    Answer::Unavailable {
                        status: s, error, ..
                    },
                ) => {
                    assert_eq!(s, Some(status.as_u16()));
                    assert_eq!(
                        error.len(),
                        format!("HTTP {}: ", status.as_u16()).len() + KEPT_ANSWER_BYTES
                    );
                }
                (Some(false), Answer::Refused { status: s, error }) => {
                    assert_eq!(s, status.as_u16());
                    assert!(error.ends_with(&"x".repeat(KEPT_ANSWER_BYTES)));
                }
                (expected, answer) => panic!("{status}: expected {expected:?}, got {answer:?}"),
            }
        }
    }

    #[test]
    fn no_answer_and_an_unavailable_target_open_the_breaker_other_answers_do_not() {
        let unavailable = |status| Answer::Unavailable {
            status,
            retry_after: Some(Duration::from_secs(3)),
            error: String::new(),
        };
        let down = Health::Down {
            retry_after: Some(Duration::from_secs(3)),
        };
        for status in [None, Some(429), Some(502), Some(503), Some(504)] {
            assert_eq!(unavailable(status).health(), down, "{status:?}");
        }
        for status in [Some(408), Some(425), Some(500), Some(501), Some(507)] {
            assert_eq!(unavailable(status).health(), Health::Reached, "{status:?}");
        }
        assert_eq!(Answer::Accepted(200).health(), Health::Reached);
        let refused = Answer::Refused {
            status: 404,
            error: String::new(),
        };
        assert_eq!(refused.health(), Health::Reached);
    }

    #[test]
    fn a_redirect_is_refused_with_its_location() {
        for status in [301, 302, 303, 307, 308] {
            let mut headers = HeaderMap::new();
            headers.insert(LOCATION, HeaderValue::from_static("http://elsewhere/x"));
            let status = StatusCode::from_u16(status).expect("a status");
            assert_eq!(
                classify(status, &headers, None, b"moved"),
                Answer::Refused {
                    status: status.as_u16(),
                    error: format!(
                        "HTTP {}: redirected to http://elsewhere/x moved",
                        status.as_u16()
                    )
                }
            );
        }
    }

    #[test]
    fn retries_within_the_backoff_then_gives_up() {
        let settings = RelaySettings {
            max_attempts: 3,
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_millis(1_000),
            concurrency: 1,
        };
        let now = SystemTime::now();
        let unavailable = |retry_after| Answer::Unavailable {
            status: Some(503),
            retry_after,
            error: "HTTP 503: ".into(),
        };
        let mut delivery = ClaimedDelivery {
            id: 1,
            tracking_id: "t".into(),
            ezpay_id: "e".into(),
            target: "MAS".into(),
            payload: "{}".into(),
            attempts: 0,
            idempotency_key: "CAAG:t:e.2:MAS".into(),
            traceparent: None,
        };
        let Attempted::Retry { at, .. } = judge(&settings, &delivery, unavailable(None), now)
        else {
            panic!("a retry");
        };
        assert!(at.duration_since(now).expect("later") <= Duration::from_millis(100));
        let asked = judge(
            &settings,
            &delivery,
            unavailable(Some(Duration::from_secs(2))),
            now,
        );
        assert!(matches!(asked, Attempted::Retry { at, .. } if at == now + Duration::from_secs(1)));
        delivery.attempts = 2;
        assert!(matches!(
            judge(&settings, &delivery, unavailable(None), now),
            Attempted::Dead { status: Some(503), error } if error.starts_with("gave up after 3 attempts")
        ));
    }
}
