//! The transaction helpers and advisory locks on a real server.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bai_manager::db::{self, advisory_lock, try_advisory_lock, AdvisoryLock, RetryPolicy};
use bai_manager::services::Error;
use sea_orm::{ConnectionTrait, DbErr, Statement};
use tokio::sync::Barrier;

use crate::helpers::{scalar, TestDb};

async fn exec(conn: &impl ConnectionTrait, sql: &str) -> Result<(), DbErr> {
    conn.execute_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .map(|_| ())
}

/// Two transactions that each read the whole table and then insert a row conflict under
/// SERIALIZABLE (write skew): PostgreSQL aborts one with 40001. The helper runs it again and
/// both succeed.
#[tokio::test]
async fn serialization_failures_are_retried_until_both_commit() {
    let db = TestDb::empty().await;
    exec(
        &db.conn,
        "CREATE TABLE ledger (id int PRIMARY KEY, total int NOT NULL)",
    )
    .await
    .unwrap();
    let barrier = Arc::new(Barrier::new(2));
    let attempts = Arc::new(AtomicU32::new(0));
    let worker = |id: i32| {
        let (conn, barrier, attempts) = (db.conn.clone(), barrier.clone(), attempts.clone());
        async move {
            db::serializable(&conn, RetryPolicy::default(), move |txn| {
                let (barrier, attempts) = (barrier.clone(), attempts.clone());
                Box::pin(async move {
                    let attempt = attempts.fetch_add(1, Ordering::SeqCst);
                    let row = txn
                        .query_one_raw(Statement::from_string(
                            txn.get_database_backend(),
                            "SELECT coalesce(sum(total), 0)::int FROM ledger",
                        ))
                        .await?
                        .unwrap();
                    let sum: i32 = row.try_get_by_index(0)?;
                    if attempt < 2 {
                        // Both first attempts have read before either writes.
                        barrier.wait().await;
                    }
                    exec(
                        txn,
                        &format!("INSERT INTO ledger VALUES ({id}, {})", sum + 1),
                    )
                    .await?;
                    Ok::<_, DbErr>(())
                })
            })
            .await
        }
    };
    let (a, b) = tokio::join!(worker(1), worker(2));
    a.unwrap();
    b.unwrap();
    assert!(
        attempts.load(Ordering::SeqCst) >= 3,
        "one transaction must have been retried"
    );
    assert_eq!(
        scalar::<i64>(&db.conn, "SELECT count(*) FROM ledger").await,
        2
    );
}

#[tokio::test]
async fn other_errors_are_not_retried() {
    let db = TestDb::empty().await;
    exec(&db.conn, "CREATE TABLE t (id int PRIMARY KEY)")
        .await
        .unwrap();
    exec(&db.conn, "INSERT INTO t VALUES (1)").await.unwrap();

    let attempts = Arc::new(AtomicU32::new(0));
    let counter = attempts.clone();
    let err = db::serializable(&db.conn, RetryPolicy::default(), move |txn| {
        let counter = counter.clone();
        Box::pin(async move {
            counter.fetch_add(1, Ordering::SeqCst);
            exec(txn, "INSERT INTO t VALUES (1)").await
        })
    })
    .await
    .unwrap_err();
    assert_eq!(db::sqlstate(&err).as_deref(), Some("23505"));
    assert_eq!(attempts.load(Ordering::SeqCst), 1);

    // A domain error from the body is returned as is, after one attempt, and rolls back.
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = attempts.clone();
    let err = db::serializable(&db.conn, RetryPolicy::default(), move |txn| {
        let counter = counter.clone();
        Box::pin(async move {
            counter.fetch_add(1, Ordering::SeqCst);
            exec(txn, "INSERT INTO t VALUES (2)").await?;
            Err::<(), _>(Error::InvalidInput("no".into()))
        })
    })
    .await
    .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)));
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    assert_eq!(
        scalar::<i64>(&db.conn, "SELECT count(*) FROM t").await,
        1,
        "the failed transaction rolled back"
    );
}

#[tokio::test]
async fn read_only_transactions_refuse_writes() {
    let db = TestDb::empty().await;
    exec(&db.conn, "CREATE TABLE t (id int)").await.unwrap();
    let err = db::read_only(&db.conn, |txn| {
        Box::pin(async move { exec(txn, "INSERT INTO t VALUES (1)").await })
    })
    .await
    .unwrap_err();
    assert_eq!(
        db::sqlstate(&err).as_deref(),
        Some("25006"),
        "read_only_sql_transaction"
    );
}

#[tokio::test]
async fn sessions_carry_the_21_03_lock_settings() {
    let db = TestDb::empty().await;
    let config = db.config();
    let pool = db::connect(&config.db).await.unwrap();
    let row = pool
        .query_one_raw(Statement::from_string(
            pool.get_database_backend(),
            "SELECT current_setting('lock_timeout'), current_setting('idle_in_transaction_session_timeout'), current_setting('jit')",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "1min");
    assert_eq!(row.try_get_by_index::<String>(1).unwrap(), "1min");
    assert_eq!(row.try_get_by_index::<String>(2).unwrap(), "off");
}

#[tokio::test]
async fn advisory_locks_exclude_and_are_always_released() {
    let db = TestDb::empty().await;
    let lock = AdvisoryLock::Test;

    // While one holder runs, a try-lock elsewhere fails; afterwards it succeeds.
    let inner = advisory_lock(&db.conn, lock, || async {
        try_advisory_lock(&db.conn, lock, || async {}).await
    })
    .await
    .unwrap();
    assert!(inner.unwrap().is_none(), "the lock was free while held");
    assert!(try_advisory_lock(&db.conn, lock, || async {})
        .await
        .unwrap()
        .is_some());

    // A holder that is cancelled midway does not keep the lock.
    let holder = {
        let conn = db.conn.clone();
        tokio::spawn(async move {
            advisory_lock(&conn, lock, || {
                tokio::time::sleep(Duration::from_secs(3600))
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(try_advisory_lock(&db.conn, lock, || async {})
        .await
        .unwrap()
        .is_none());
    holder.abort();
    let mut freed = false;
    for _ in 0..50 {
        if try_advisory_lock(&db.conn, lock, || async {})
            .await
            .unwrap()
            .is_some()
        {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(freed, "the cancelled holder's lock was never released");

    // A holder that panics releases the lock too.
    let conn = db.conn.clone();
    let panicked =
        tokio::spawn(async move { advisory_lock(&conn, lock, || async { panic!("boom") }).await })
            .await;
    assert!(panicked.is_err());
    assert!(try_advisory_lock(&db.conn, lock, || async {})
        .await
        .unwrap()
        .is_some());
}
