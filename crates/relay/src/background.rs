//! The relay's background work beside its server: the sweeps, the grant
//! watch and the session check, each a task that stops when its handle is
//! dropped, and [`start`], which starts them all for [`crate::serve`] and
//! [`crate::serve_tls`].

use std::future::Future;

use crate::{AppState, blobs, grants, retention, session_watch, sweep};

/// A background task; aborted when dropped.
#[derive(Debug)]
pub struct Task(tokio::task::JoinHandle<()>);

impl Task {
    /// Runs `work` on the runtime until it ends or this handle is dropped.
    pub fn spawn(work: impl Future<Output = ()> + Send + 'static) -> Self {
        Self(tokio::spawn(work))
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Everything a serving relay runs in the background; stops when dropped.
#[derive(Debug)]
pub struct Background {
    _tasks: Vec<Task>,
}

/// Starts the expired-upload and unattached-blob cleanup
/// ([`blobs::spawn_sweeper`]), the expired sign-in rows sweep
/// ([`sweep::spawn`]), the caregiver grant watch ([`grants::spawn`]), the
/// live connections' session check ([`session_watch::spawn`]), the Web
/// Push worker ([`crate::push::Push::spawn`]) and, with
/// `retention_years`, the retention sweep ([`retention::spawn`]).
pub fn start(state: &AppState) -> Background {
    let mut tasks = vec![
        blobs::spawn_sweeper(state.db.clone(), state.blobs.clone()),
        sweep::spawn(state.db.clone()),
        grants::spawn(state.db.clone(), state.events.clone(), grants::RECHECK),
        session_watch::spawn(
            state.db.clone(),
            state.session_watch.clone(),
            state.config.session_idle(),
            session_watch::RECHECK,
        ),
    ];
    tasks.extend(state.push.spawn(state));
    tasks.extend(retention::spawn(
        state.db.clone(),
        state.blobs.clone(),
        state.config.retention_years,
    ));
    Background { _tasks: tasks }
}
