//! A slot that holds only the latest value put in it: for threads fed by
//! outside events (MPD's queue states, warming's windows), where only the
//! newest one matters. However fast the events come and however long the
//! taker is busy, it holds one value, never a backlog (an unbounded channel
//! there lets a LAN client grow the server's memory without end).

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The putting side; cheap to clone. When the last one is dropped the
/// taker hears [`Taken::Closed`].
pub struct Put<T> {
    shared: Arc<Shared<T>>,
    /// Counted by the taker; `None` only while dropping.
    alive: Option<Arc<()>>,
}

/// The taking side.
pub struct Take<T> {
    shared: Arc<Shared<T>>,
    alive: std::sync::Weak<()>,
}

struct Shared<T> {
    value: Mutex<Option<T>>,
    changed: Condvar,
}

/// What [`Take::wait`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken<T> {
    /// The latest value put since the last take.
    Value(T),
    /// Nothing new within the wait.
    Timeout,
    /// Nothing new, and every putter is gone.
    Closed,
}

/// A new empty slot.
pub fn slot<T>() -> (Put<T>, Take<T>) {
    let shared = Arc::new(Shared {
        value: Mutex::new(None),
        changed: Condvar::new(),
    });
    let alive = Arc::new(());
    let take = Take {
        shared: Arc::clone(&shared),
        alive: Arc::downgrade(&alive),
    };
    (
        Put {
            shared,
            alive: Some(alive),
        },
        take,
    )
}

impl<T> Clone for Put<T> {
    fn clone(&self) -> Self {
        Put {
            shared: Arc::clone(&self.shared),
            alive: self.alive.clone(),
        }
    }
}

impl<T> Put<T> {
    /// Puts `value` in the slot, replacing one not taken yet.
    pub fn put(&self, value: T) {
        let mut slot = self
            .shared
            .value
            .lock()
            .expect("the slot lock is never poisoned");
        *slot = Some(value);
        self.shared.changed.notify_one();
    }
}

impl<T> Drop for Put<T> {
    fn drop(&mut self) {
        // Under the lock, so a taker checks the count either before (and
        // sees it) or while waiting (and is woken).
        let slot = self.shared.value.lock();
        self.alive = None;
        self.shared.changed.notify_one();
        drop(slot);
    }
}

impl<T> Take<T> {
    /// Takes the latest value, waiting up to `limit` for one.
    pub fn wait(&self, limit: Duration) -> Taken<T> {
        let slot = self
            .shared
            .value
            .lock()
            .expect("the slot lock is never poisoned");
        let (mut slot, _) = self
            .shared
            .changed
            .wait_timeout_while(slot, limit, |v| {
                v.is_none() && self.alive.strong_count() > 0
            })
            .expect("the slot lock is never poisoned");
        match slot.take() {
            Some(value) => Taken::Value(value),
            None if self.alive.strong_count() == 0 => Taken::Closed,
            None => Taken::Timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_latest_value_is_kept() {
        let (put, take) = slot();
        for i in 0..100_000 {
            put.put(vec![i; 100]);
        }
        assert_eq!(take.wait(Duration::ZERO), Taken::Value(vec![99_999; 100]));
        assert_eq!(take.wait(Duration::from_millis(1)), Taken::Timeout);
    }

    #[test]
    fn a_waiting_taker_wakes_on_a_put_and_on_the_last_putter_leaving() {
        let (put, take) = slot();
        let other = put.clone();
        let putter = std::thread::spawn(move || put.put(7));
        assert_eq!(take.wait(Duration::from_secs(60)), Taken::Value(7));
        putter.join().expect("putter");
        let leaver = std::thread::spawn(move || drop(other));
        assert_eq!(take.wait(Duration::from_secs(60)), Taken::Closed);
        leaver.join().expect("leaver");
    }
}
