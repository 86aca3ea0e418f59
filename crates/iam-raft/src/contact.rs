//! [`LeaderContact`]: when a follower or learner last heard from a leader, so that a node
//! cut off from the cluster can say its state may be old instead of serving it silently.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The last time an `AppendEntries` (a heartbeat or entries) from a current leader was
/// accepted by this node. Cheap to read from any thread.
#[derive(Debug)]
pub(crate) struct LeaderContact {
    started: Instant,
    /// Milliseconds since `started` of the last contact, plus one; 0 means never.
    last: AtomicU64,
}

impl LeaderContact {
    pub(crate) fn new() -> Self {
        LeaderContact {
            started: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    /// Notes a contact now.
    pub(crate) fn touch(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last
            .fetch_max(now.saturating_add(1), Ordering::Relaxed);
    }

    /// How long ago the last contact was; `None` when this node never heard from a leader
    /// since it started.
    pub(crate) fn since(&self) -> Option<Duration> {
        let last = self.last.load(Ordering::Relaxed).checked_sub(1)?;
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Some(Duration::from_millis(now.saturating_sub(last)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_then_recent() {
        let contact = LeaderContact::new();
        assert_eq!(contact.since(), None);
        contact.touch();
        let since = contact.since().expect("touched");
        assert!(since < Duration::from_secs(5), "{since:?}");
    }
}
