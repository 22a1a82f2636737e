//! What keeps the resolver from being run without limit: a fixed number
//! of slots (`[resolver] max_running`, shared by requests and warming),
//! and a memory of the ids that just failed (`[resolver]
//! remember_failure_secs`), so asking again for one runs nothing.
//! yt-dlp with its JavaScript runtime takes a good part of a Pi's memory
//! per run, and YouTube limits how many videos an address may resolve.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::metrics::Metrics;
use crate::video_id::VideoId;

/// The resolver runs allowed at once.
pub struct Slots {
    most: usize,
    running: Mutex<usize>,
    freed: Condvar,
    metrics: Arc<Metrics>,
}

/// A taken slot; dropping it frees the slot.
pub struct Slot<'a> {
    slots: &'a Slots,
}

impl Slots {
    pub fn new(most: usize, metrics: Arc<Metrics>) -> Slots {
        metrics.resolver_slots(most);
        Slots {
            most: most.max(1),
            running: Mutex::new(0),
            freed: Condvar::new(),
            metrics,
        }
    }

    /// Takes a slot, waiting for one until `deadline`; `None` when none
    /// came free in time.
    pub fn take(&self, deadline: Instant) -> Option<Slot<'_>> {
        let mut running = self.running.lock().expect("slots poisoned");
        let mut waiting = false;
        while *running >= self.most {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                if waiting {
                    self.metrics.resolver_waiting(-1);
                }
                return None;
            }
            if !waiting {
                waiting = true;
                self.metrics.resolver_waiting(1);
            }
            running = self
                .freed
                .wait_timeout(running, left)
                .expect("slots poisoned")
                .0;
        }
        if waiting {
            self.metrics.resolver_waiting(-1);
        }
        *running += 1;
        self.metrics.resolver_running(*running);
        Some(Slot { slots: self })
    }

    pub fn most(&self) -> usize {
        self.most
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut running = self.slots.running.lock().expect("slots poisoned");
        *running = running.saturating_sub(1);
        self.slots.metrics.resolver_running(*running);
        drop(running);
        self.slots.freed.notify_one();
    }
}

/// Ids whose last resolver run failed, with that failure, for a while.
pub struct Failures {
    keep: Duration,
    failed: Mutex<HashMap<VideoId, (Instant, Error)>>,
}

impl Failures {
    /// `keep` zero: nothing is remembered.
    pub fn new(keep: Duration) -> Failures {
        Failures {
            keep,
            failed: Mutex::new(HashMap::new()),
        }
    }

    /// The failure of `id` still remembered, as the error a request gets:
    /// the same cause, and when the next run may happen.
    pub fn recall(&self, id: &VideoId) -> Option<Error> {
        let mut failed = self.failed.lock().expect("failures poisoned");
        let (at, error) = failed.get(id)?;
        let left = self.keep.saturating_sub(at.elapsed());
        if left.is_zero() {
            failed.remove(id);
            return None;
        }
        Some(Error::RecentlyFailed {
            cause: Arc::new(error.clone()),
            retry_in_secs: left.as_secs() + u64::from(left.subsec_nanos() > 0),
        })
    }

    /// Notes how a run for `id` ended: a resolver failure is remembered,
    /// a success forgets an earlier one. Other errors (the store's, no
    /// slot) say nothing about the id.
    pub fn note<T>(&self, id: &VideoId, result: &Result<T, Error>) {
        let mut failed = self.failed.lock().expect("failures poisoned");
        match result {
            Ok(_) => {
                failed.remove(id);
            }
            Err(e @ (Error::Resolver(_) | Error::ResolverTimeout(_))) if !self.keep.is_zero() => {
                let now = Instant::now();
                failed.retain(|_, (at, _)| now.duration_since(*at) < self.keep);
                failed.insert(id.clone(), (now, e.clone()));
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_shared_and_freed() {
        let metrics = Arc::new(Metrics::default());
        let slots = Slots::new(2, Arc::clone(&metrics));
        let soon = || Instant::now() + Duration::from_millis(50);
        let a = slots.take(soon()).expect("first");
        let _b = slots.take(soon()).expect("second");
        assert!(slots.take(soon()).is_none(), "a third waits, then gives up");
        drop(a);
        assert!(slots.take(soon()).is_some());
        assert!(metrics.render().contains("icyproxy_resolver_slots 2"));
    }

    #[test]
    fn a_failure_is_recalled_until_its_time_is_up() {
        let id = VideoId::parse("dQw4w9WgXcQ").expect("id");
        let failures = Failures::new(Duration::from_secs(60));
        let failed: Result<(), Error> = Err(Error::ResolverTimeout("killed after 30s".into()));
        failures.note(&id, &failed);
        let e = failures.recall(&id).expect("remembered");
        assert_eq!(e.status(), 504);
        assert_eq!(e.to_string(), "killed after 30s (next try in 60 s)");
        failures.note(&id, &Ok::<(), Error>(()));
        assert!(failures.recall(&id).is_none());
        let off = Failures::new(Duration::ZERO);
        off.note(&id, &failed);
        assert!(off.recall(&id).is_none());
        let busy: Result<(), Error> = Err(Error::ResolverBusy { slots: 2 });
        failures.note(&id, &busy);
        assert!(
            failures.recall(&id).is_none(),
            "no slot is not the id's fault"
        );
    }
}
