//! SERIALIZABLE transactions with bounded retries, and read-only transactions.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use rand::Rng;
use sea_orm::{
    AccessMode, DatabaseConnection, DatabaseTransaction, DbErr, IsolationLevel, TransactionTrait,
};

use super::is_retryable;

/// The future a transaction body returns; boxed so that it borrows the transaction and stays
/// `Send` for axum handlers.
pub type TxFuture<'a, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>>;

/// How often and how patiently a serialization failure is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 21.03's numbers: 20 attempts, waits doubling from 20 ms up to 5 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 20,
            first_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempt`-th failure (1-based): exponential, capped, with full jitter
    /// over its upper half so that competing managers do not retry in lock-step.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .first_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let capped = exp.min(self.max_backoff);
        let half = capped / 2;
        half + rand::rng().random_range(Duration::ZERO..=half)
    }
}

/// Runs `body` in a SERIALIZABLE transaction and commits it. On a serialization failure or a
/// deadlock (from the body or the commit) the whole transaction is run again, up to the policy's
/// attempts; every other error is returned at once.
///
/// The error type is the caller's: it must be able to carry a [`DbErr`] and say whether it is
/// one (`as_db_err`), so that domain errors raised by the body are never retried.
pub async fn serializable<T, E, F>(
    db: &DatabaseConnection,
    policy: RetryPolicy,
    body: F,
) -> Result<T, E>
where
    F: for<'c> Fn(&'c DatabaseTransaction) -> TxFuture<'c, T, E>,
    E: From<DbErr> + AsDbErr,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let outcome: Result<T, E> = async {
            let txn = db
                .begin_with_config(
                    Some(IsolationLevel::Serializable),
                    Some(AccessMode::ReadWrite),
                )
                .await?;
            let value = body(&txn).await?;
            txn.commit().await?;
            Ok(value)
        }
        .await;
        match outcome {
            Err(e) if attempt < policy.max_attempts && e.as_db_err().is_some_and(is_retryable) => {
                let wait = policy.backoff(attempt);
                tracing::debug!(
                    attempt,
                    ?wait,
                    "serialization failure; retrying the transaction"
                );
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

/// Runs `body` in a SERIALIZABLE READ ONLY transaction (no retries: a read-only transaction
/// never fails to serialize).
pub async fn read_only<T, E, F>(db: &DatabaseConnection, body: F) -> Result<T, E>
where
    F: for<'c> FnOnce(&'c DatabaseTransaction) -> TxFuture<'c, T, E>,
    E: From<DbErr>,
{
    let txn = db
        .begin_with_config(
            Some(IsolationLevel::Serializable),
            Some(AccessMode::ReadOnly),
        )
        .await?;
    let value = body(&txn).await?;
    txn.commit().await?;
    Ok(value)
}

/// Lets [`serializable`] look inside a caller's error for a database error.
pub trait AsDbErr {
    fn as_db_err(&self) -> Option<&DbErr>;
}

impl AsDbErr for DbErr {
    fn as_db_err(&self) -> Option<&DbErr> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        let first = p.backoff(1);
        assert!(first >= Duration::from_millis(10) && first <= Duration::from_millis(20));
        for attempt in 1..40 {
            assert!(p.backoff(attempt) <= p.max_backoff);
        }
        assert!(p.backoff(12) >= Duration::from_millis(2500));
    }
}
