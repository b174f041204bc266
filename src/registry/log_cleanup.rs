//! The periodic cleanup of old error logs, as 21.03 runs it: one manager at a time (advisory
//! lock) asks for it on the event stream every 20 s, and one manager consumes each request and
//! deletes the logs older than `config/logs/error/retention` (90 days by default).

use tokio::sync::watch;

use crate::config::shared::SharedConfig;
use crate::db::{try_advisory_lock, AdvisoryLock};
use crate::events::bus::{EventDispatcher, EventProducer};
use crate::events::Event;
use crate::services::error_logs::{self, CLEANUP_FIRST_DELAY, CLEANUP_INTERVAL};
use crate::AppState;

/// Deletes old logs whenever a `do_log_cleanup` event arrives (from any manager).
pub fn register(state: &AppState, dispatcher: &mut EventDispatcher) {
    let db = state.db.clone();
    let shared: watch::Receiver<std::sync::Arc<SharedConfig>> = state.shared.clone();
    dispatcher.consume("do_log_cleanup", None, move |_, _| {
        let (db, retention) = (db.clone(), shared.borrow().error_log_retention);
        async move {
            error_logs::clean_up(&db, retention).await?;
            Ok(())
        }
    });
}

/// Asks for a cleanup every [`CLEANUP_INTERVAL`] while holding the cluster-wide timer lock.
pub fn spawn_timer(state: &AppState) -> tokio::task::JoinHandle<()> {
    let db = state.db.clone();
    let events: EventProducer = state.events.clone();
    let source = state.local.manager.id.clone();
    tokio::spawn(async move {
        tokio::time::sleep(CLEANUP_FIRST_DELAY).await;
        let mut tick = tokio::time::interval(CLEANUP_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let asked = try_advisory_lock(&db, AdvisoryLock::LogCleanupTimer, || {
                events.produce(&Event::DoLogCleanup, &source)
            });
            match asked.await {
                Ok(Some(Err(e))) => tracing::warn!("cannot ask for the error log cleanup: {e}"),
                Err(e) => tracing::warn!("cannot ask for the error log cleanup: {e}"),
                Ok(_) => {}
            }
        }
    })
}
