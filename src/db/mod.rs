//! The PostgreSQL connection pool and the transaction disciplines of the manager.
//!
//! - Every connection carries the session settings 21.03 added for stability (#454/#456):
//!   `lock_timeout`, `idle_in_transaction_session_timeout`, and `jit = off`.
//! - Writes run SERIALIZABLE through [`serializable`], retried with a bound and jittered
//!   back-off only on serialization failures and deadlocks (SQLSTATE 40001, 40P01); anything else
//!   surfaces at once (#547).
//! - Pure reads run in SERIALIZABLE READ ONLY transactions through [`read_only`] (#529).
//! - Critical sections across manager instances take PostgreSQL advisory locks
//!   ([`advisory_lock`], [`try_advisory_lock`]), always released (#482/#503).

mod advisory;
mod retry;

use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, RuntimeErr};

pub use advisory::{advisory_lock, try_advisory_lock, AdvisoryLock, LockId};
pub use retry::{read_only, serializable, AsDbErr, RetryPolicy, TxFuture};

use crate::config::local::DbConfig;

/// The connection URL of the configured database (the password included; never log it).
pub fn database_url(config: &DbConfig) -> String {
    format!(
        "postgres://{}:{}@{}/{}",
        crate::percent::encode(&config.user),
        crate::percent::encode(config.password.expose()),
        config.addr,
        crate::percent::encode(&config.name)
    )
}

fn millis(d: Duration) -> String {
    d.as_millis().to_string()
}

/// Opens the pool with the configured size and the session settings of 21.03.
pub async fn connect(config: &DbConfig) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(database_url(config));
    // On loopback, TLS would only cost CPU on both ends; elsewhere the server decides (sqlx's
    // default "prefer").
    let loopback = matches!(config.addr.host.as_str(), "127.0.0.1" | "::1" | "localhost");
    let settings = [
        ("lock_timeout", millis(config.lock_timeout)),
        (
            "idle_in_transaction_session_timeout",
            millis(config.idle_in_transaction_timeout),
        ),
        ("jit", "off".to_owned()),
    ];
    options
        .max_connections(config.pool_size)
        .min_connections(1)
        .acquire_timeout(config.acquire_timeout)
        // Pinging every connection before use doubled the round trips of a busy manager; only
        // one that sat idle long enough for a server restart or a middlebox to drop it is checked.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_postgres_opts(move |opts| {
            let opts = opts
                .options(settings.iter().map(|(k, v)| (*k, v.as_str())))
                .application_name("bai-manager");
            if loopback {
                opts.ssl_mode(sea_orm::sqlx::postgres::PgSslMode::Disable)
            } else {
                opts
            }
        });
    Database::connect(options).await
}

/// The SQLSTATE of a database error, if the server reported one.
pub fn sqlstate(err: &DbErr) -> Option<String> {
    let runtime = match err {
        DbErr::Exec(e) | DbErr::Query(e) | DbErr::Conn(e) => e,
        _ => return None,
    };
    match runtime {
        RuntimeErr::SqlxError(e) => match e.as_ref() {
            sea_orm::sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
            _ => None,
        },
        _ => None,
    }
}

/// SQLSTATEs that mean "the same transaction may well succeed if run again".
pub fn is_retryable(err: &DbErr) -> bool {
    matches!(sqlstate(err).as_deref(), Some("40001" | "40P01"))
}

/// PostgreSQL's own message of a failed statement, with its detail line when it has one
/// (`duplicate key value violates unique constraint "…"\nDETAIL:  Key (…)=(…) already exists.`).
pub fn pg_message(err: &DbErr) -> Option<String> {
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err
    else {
        return None;
    };
    let sea_orm::sqlx::Error::Database(db) = e.as_ref() else {
        return None;
    };
    let pg = db.try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>()?;
    Some(match pg.detail() {
        Some(detail) => format!("{}\nDETAIL:  {detail}", pg.message()),
        None => pg.message().to_owned(),
    })
}
