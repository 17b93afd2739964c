//! The in-flight claims: a save holds its (source, tracking id) key while it
//! runs, so that the same request sent twice at once is answered 409 rather
//! than written twice.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use contacts_model::TrackingId;

/// The (source, tracking id) keys of the updates being processed right now.
#[derive(Debug, Default)]
pub struct InFlight(Mutex<HashSet<(String, String)>>);

/// A key claimed for processing; dropping it releases the key.
#[derive(Debug)]
pub struct Claim {
    set: Arc<InFlight>,
    key: (String, String),
}

impl InFlight {
    /// Claims a source's tracking id, or `None` where another request holds it.
    pub fn claim(self: &Arc<Self>, source: &str, id: &TrackingId) -> Option<Claim> {
        let key = (source.to_owned(), id.to_string());
        let mut keys = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        keys.insert(key.clone()).then(|| Claim {
            set: Arc::clone(self),
            key,
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut keys = self.set.0.lock().unwrap_or_else(PoisonError::into_inner);
        keys.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tracking_id_is_claimed_once_at_a_time() {
        let in_flight = Arc::new(InFlight::default());
        let id = TrackingId::parse("67865456").expect("valid");
        let first = in_flight.claim("CAAG", &id).expect("free");
        assert!(in_flight.claim("CAAG", &id).is_none());
        // Another source's id of the same spelling is another request.
        assert!(in_flight.claim("OCS", &id).is_some());
        drop(first);
        assert!(in_flight.claim("CAAG", &id).is_some());
    }
}
