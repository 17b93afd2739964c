//! A value read at most once per interval and shared by every caller in
//! between: while one caller reads it, the others wait for that reading
//! rather than starting their own. So that probes, however many and however
//! often, cost the database at most one query per interval.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// The last reading of a value, and when it was taken.
#[derive(Debug)]
pub struct Recent<T> {
    max_age: Duration,
    last: Mutex<Option<(Instant, T)>>,
}

impl<T: Clone> Recent<T> {
    /// Readings are kept for `max_age`.
    pub fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            last: Mutex::new(None),
        }
    }

    /// The last reading if younger than the interval, else a new one by
    /// `read`. A caller that goes away while reading leaves nothing behind:
    /// the next one reads.
    pub async fn get<F: Future<Output = T>>(&self, read: impl FnOnce() -> F) -> T {
        let mut last = self.last.lock().await;
        if let Some((at, value)) = last.as_ref()
            && at.elapsed() < self.max_age
        {
            return value.clone();
        }
        let value = read().await;
        *last = Some((Instant::now(), value.clone()));
        value
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn callers_within_the_interval_share_one_reading() {
        let recent = Arc::new(Recent::new(Duration::from_millis(300)));
        let reads = Arc::new(AtomicUsize::new(0));
        let read = |recent: Arc<Recent<usize>>, reads: Arc<AtomicUsize>| async move {
            recent
                .get(|| async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    reads.fetch_add(1, Ordering::SeqCst) + 1
                })
                .await
        };
        let callers: Vec<_> = (0..64)
            .map(|_| tokio::spawn(read(Arc::clone(&recent), Arc::clone(&reads))))
            .collect();
        for caller in callers {
            assert_eq!(caller.await.expect("no panic"), 1);
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(read(Arc::clone(&recent), Arc::clone(&reads)).await, 2);
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }
}
