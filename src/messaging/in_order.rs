//! The patient's messages go in the order they were written. Sealing one
//! first asks the relay for every member's keys, and two sends' answers can
//! come back in either order: on its own, a message written second could
//! reach the outbox (and the relay) first. So each send takes a turn when it
//! starts, in the order the patient pressed Send, and keeps it until its
//! message is in the outbox; the outbox's times only ever go forward.

use std::collections::VecDeque;

use futures::channel::oneshot;
use leptos::prelude::*;

/// Whether a send holds the turn, and the sends waiting for it, in order.
#[derive(Debug, Default)]
pub(super) struct Line {
    busy: bool,
    waiting: VecDeque<oneshot::Sender<()>>,
    /// The last outbox time handed out (Unix ms).
    last_queued_at: f64,
}

/// The turn to seal and queue one message; dropping it hands it to the
/// next send waiting.
pub(super) struct Turn(StoredValue<Line>);

/// Waits for the turn. The order is decided when this is first polled: a
/// send started with `spawn_local` takes its place at once, before anything
/// it awaits.
pub(super) async fn take(line: StoredValue<Line>) -> Turn {
    let wait = line
        .try_update_value(|l| {
            if l.busy {
                let (handover, wait) = oneshot::channel();
                l.waiting.push_back(handover);
                Some(wait)
            } else {
                l.busy = true;
                None
            }
        })
        .flatten();
    if let Some(wait) = wait {
        // Handed over by the send before (or its line is gone: nothing
        // left to wait for).
        let _ = wait.await;
    }
    Turn(line)
}

impl Turn {
    /// The outbox time for this turn's message: now, or just after the one
    /// before when the clock has not moved on (the outbox sends in this
    /// order).
    pub(super) fn queued_at(&self) -> f64 {
        let now = js_sys::Date::now();
        self.0
            .try_update_value(|l| {
                let at = now.max(l.last_queued_at + 0.01);
                l.last_queued_at = at;
                at
            })
            .unwrap_or(now)
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.0.try_update_value(|l| {
            // The next send still waiting gets the turn.
            while let Some(next) = l.waiting.pop_front() {
                if next.send(()).is_ok() {
                    return;
                }
            }
            l.busy = false;
        });
    }
}
