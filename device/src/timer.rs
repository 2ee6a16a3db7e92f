//! One timer thread for every session: it sleeps until the earliest deadline and then
//! calls the wake function with the session's handle; the session feeds the timeout into
//! its machine as an event like any other. Stale wake-ups are harmless (the machine fires
//! only timers that are due).

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::time::Instant as WallInstant;

use crate::registry::Handle;

type Wake = fn(Handle);

/// The timer thread's name, in Rust and (once attached) in Java, where
/// `FacePaySession.TIMER_THREAD` must match it.
pub const THREAD_NAME: &str = "facepay-timer";

struct Shared {
    due: Mutex<BTreeSet<(WallInstant, Handle)>>,
    changed: Condvar,
    wake: Wake,
}

/// The timer thread's queue.
pub struct TimerThread {
    shared: &'static Shared,
}

impl TimerThread {
    /// The process-wide timer thread, started on first use; `wake` runs on it.
    pub fn global(wake: Wake) -> Option<&'static TimerThread> {
        static T: OnceLock<Option<TimerThread>> = OnceLock::new();
        T.get_or_init(|| {
            let shared: &'static Shared = Box::leak(Box::new(Shared {
                due: Mutex::new(BTreeSet::new()),
                changed: Condvar::new(),
                wake,
            }));
            std::thread::Builder::new()
                .name(THREAD_NAME.into())
                .spawn(move || run(shared))
                .ok()
                .map(|_| TimerThread { shared })
        })
        .as_ref()
    }

    /// Asks for `wake(handle)` at `at` (or as soon as possible if it has passed).
    pub fn schedule(&self, at: WallInstant, handle: Handle) {
        let mut due = self.shared.due.lock().unwrap_or_else(PoisonError::into_inner);
        due.insert((at, handle));
        self.shared.changed.notify_one();
    }
}

fn run(shared: &'static Shared) {
    let mut due = shared.due.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let now = WallInstant::now();
        match due.first().copied() {
            Some((at, handle)) if at <= now => {
                due.remove(&(at, handle));
                drop(due);
                (shared.wake)(handle);
                due = shared.due.lock().unwrap_or_else(PoisonError::into_inner);
            }
            Some((at, _)) => {
                due = shared
                    .changed
                    .wait_timeout(due, at.saturating_duration_since(now))
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            None => due = shared.changed.wait(due).unwrap_or_else(PoisonError::into_inner),
        }
    }
}
