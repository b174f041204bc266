//! PostgreSQL session-level advisory locks for critical sections shared by all manager
//! instances.
//!
//! A session-level lock belongs to the connection that took it, so each lock holds one pooled
//! connection, outside any transaction (an open transaction would be cut by
//! `idle_in_transaction_session_timeout` during a long critical section). The lock is released
//! when the critical section ends, fails or panics; if the caller's future is dropped midway,
//! the connection is closed instead of being returned to the pool, which releases the lock too.

use std::future::Future;

use futures::FutureExt;
use sea_orm::sqlx::{self, pool::PoolConnection, Postgres};
use sea_orm::{DatabaseConnection, DbErr, RuntimeErr};

/// A lock id, with 21.03's numbering so that mixed Python/Rust deployments exclude each other.
pub type LockId = i64;

/// The advisory locks 21.03 uses (`defs.AdvisoryLock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i64)]
pub enum AdvisoryLock {
    Test = 42,
    Schedule = 91,
    Prepare = 92,
    ScheduleTimer = 191,
    PrepareTimer = 192,
    LogCleanupTimer = 195,
    IdleCheckTimer = 196,
}

impl From<AdvisoryLock> for LockId {
    fn from(lock: AdvisoryLock) -> LockId {
        lock as LockId
    }
}

fn db_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(std::sync::Arc::new(e)))
}

/// A pooled connection that holds (or may hold) an advisory lock.
struct LockedConnection {
    conn: Option<PoolConnection<Postgres>>,
    id: LockId,
}

impl LockedConnection {
    async fn acquire(db: &DatabaseConnection, id: LockId) -> Result<Self, DbErr> {
        let conn = db
            .get_postgres_connection_pool()
            .acquire()
            .await
            .map_err(db_err)?;
        Ok(LockedConnection {
            conn: Some(conn),
            id,
        })
    }

    fn conn(&mut self) -> &mut PoolConnection<Postgres> {
        self.conn
            .as_mut()
            .expect("the connection is present until release")
    }

    async fn lock(&mut self) -> Result<(), DbErr> {
        let id = self.id;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(id)
            .execute(&mut **self.conn())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn try_lock(&mut self) -> Result<bool, DbErr> {
        let id = self.id;
        sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
            .bind(id)
            .fetch_one(&mut **self.conn())
            .await
            .map_err(db_err)
    }

    /// Unlocks and gives the connection back to the pool.
    async fn release(mut self) -> Result<(), DbErr> {
        let id = self.id;
        let unlocked: bool = sqlx::query_scalar("SELECT pg_advisory_unlock($1)")
            .bind(id)
            .fetch_one(&mut **self.conn())
            .await
            .map_err(db_err)?;
        self.conn.take();
        if unlocked {
            Ok(())
        } else {
            Err(DbErr::Custom(format!(
                "advisory lock {id} was not held at release"
            )))
        }
    }
}

impl Drop for LockedConnection {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Not released normally (cancelled or failed): close the session so the server
            // drops the lock, rather than pooling a connection that still holds it.
            drop(conn.detach());
        }
    }
}

async fn run_locked<T, F, Fut>(held: LockedConnection, critical: F) -> Result<T, DbErr>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = T>,
{
    let outcome = std::panic::AssertUnwindSafe(critical())
        .catch_unwind()
        .await;
    // Released before a panic is resumed, so that it never outlives the critical section.
    let released = held.release().await;
    let value = outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    released?;
    Ok(value)
}

/// Waits for the lock (bounded by the session's `lock_timeout`), runs `critical`, and releases
/// the lock whatever happens.
pub async fn advisory_lock<T, F, Fut>(
    db: &DatabaseConnection,
    lock: impl Into<LockId>,
    critical: F,
) -> Result<T, DbErr>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = T>,
{
    let mut held = LockedConnection::acquire(db, lock.into()).await?;
    held.lock().await?;
    run_locked(held, critical).await
}

/// Takes the lock only if it is free right now: `Ok(None)` when another session holds it;
/// otherwise runs `critical` and releases the lock.
pub async fn try_advisory_lock<T, F, Fut>(
    db: &DatabaseConnection,
    lock: impl Into<LockId>,
    critical: F,
) -> Result<Option<T>, DbErr>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = T>,
{
    let mut held = LockedConnection::acquire(db, lock.into()).await?;
    if !held.try_lock().await? {
        // Not locked: the connection can go back to the pool as is.
        held.conn.take();
        return Ok(None);
    }
    run_locked(held, critical).await.map(Some)
}
