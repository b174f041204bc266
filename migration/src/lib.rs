//! Migrations of the bai-manager database.
//!
//! The first migration reproduces the 21.03 schema. A database that the Python 21.03 manager
//! created (alembic head present, no `seaql_migrations` table) is *adopted*: the baseline is
//! recorded as applied without touching a row, and later migrations apply on top.

pub use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DatabaseConnection, Statement, TransactionTrait};

mod m20210815_000001_baseline_21_03;
mod m20261202_000001_auth_change_notifications;

/// Name of the baseline migration, recorded in `seaql_migrations` when a 21.03 database is adopted.
pub const BASELINE_MIGRATION: &str = "m20210815_000001_baseline_21_03";
/// Name of the migration whose triggers announce changes that authentication sees.
pub const AUTH_NOTIFICATIONS_MIGRATION: &str = "m20261202_000001_auth_change_notifications";
/// The alembic revision that the 21.03 manager leaves in `alembic_version`.
pub const ALEMBIC_HEAD_21_03: &str = "8679d0a7e22b";

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20210815_000001_baseline_21_03::Migration),
            Box::new(m20261202_000001_auth_change_notifications::Migration),
        ]
    }
}

/// What a database holds before we migrate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// No tables of ours and no alembic bookkeeping: `schema oneshot` may create everything.
    Empty,
    /// Managed by bai-manager (`seaql_migrations` exists).
    Managed,
    /// Created by the Python manager: alembic holds this revision, and bai-manager has not yet
    /// recorded anything.
    Alembic { revision: Option<String> },
    /// Tables exist but neither bookkeeping table does; we refuse to guess.
    Unrecognised { tables: Vec<String> },
}

/// Errors of the schema commands that are not plain database errors.
#[derive(Debug)]
pub enum SchemaError {
    Db(DbErr),
    /// The database is not in a state the requested command can work on.
    Refused(String),
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaError::Db(e) => write!(f, "database error: {e}"),
            SchemaError::Refused(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for SchemaError {}

impl From<DbErr> for SchemaError {
    fn from(e: DbErr) -> Self {
        SchemaError::Db(e)
    }
}

/// Looks at the public schema's tables and tells what kind of database this is.
pub async fn inspect<C: ConnectionTrait>(db: &C) -> Result<SchemaState, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
        ))
        .await?;
    let tables: Vec<String> = rows
        .iter()
        .map(|row| row.try_get::<String>("", "name"))
        .collect::<Result<_, _>>()?;
    let has = |name: &str| tables.iter().any(|t| t == name);
    if has("seaql_migrations") {
        return Ok(SchemaState::Managed);
    }
    if has("alembic_version") {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT version_num::text AS v FROM alembic_version LIMIT 1",
            ))
            .await?;
        let revision = row.map(|r| r.try_get::<String>("", "v")).transpose()?;
        return Ok(SchemaState::Alembic { revision });
    }
    if tables.is_empty() {
        Ok(SchemaState::Empty)
    } else {
        Ok(SchemaState::Unrecognised { tables })
    }
}

/// Creates the whole schema on an empty database (`schema oneshot`).
pub async fn oneshot(db: &DatabaseConnection) -> Result<(), SchemaError> {
    match inspect(db).await? {
        SchemaState::Empty => {
            Migrator::up(db, None).await?;
            Ok(())
        }
        other => Err(SchemaError::Refused(format!(
            "schema oneshot needs an empty database, but it {}; use `schema migrate` instead",
            describe(&other)
        ))),
    }
}

/// Applies pending migrations (`schema migrate`), adopting a 21.03 database first.
/// Returns the names of the migrations applied, and whether a 21.03 database was adopted.
pub async fn migrate(db: &DatabaseConnection) -> Result<MigrateOutcome, SchemaError> {
    let adopted = match inspect(db).await? {
        SchemaState::Empty | SchemaState::Managed => false,
        SchemaState::Alembic { revision } if revision.as_deref() == Some(ALEMBIC_HEAD_21_03) => {
            adopt_alembic_head(db).await?;
            true
        }
        SchemaState::Alembic { revision } => {
            return Err(SchemaError::Refused(format!(
                "the database is at alembic revision {}, not the 21.03 head {ALEMBIC_HEAD_21_03}; \
                 upgrade it with the 21.03 manager (`mgr schema migrate`) first",
                revision.as_deref().unwrap_or("(none)")
            )))
        }
        state @ SchemaState::Unrecognised { .. } => {
            return Err(SchemaError::Refused(format!(
                "refusing to migrate: the database {}",
                describe(&state)
            )))
        }
    };
    let pending: Vec<String> = Migrator::get_pending_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    Migrator::up(db, None).await?;
    Ok(MigrateOutcome {
        adopted,
        applied: pending,
    })
}

/// What `migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateOutcome {
    pub adopted: bool,
    pub applied: Vec<String>,
}

/// Records the baseline as applied on a database the 21.03 manager created, in one transaction.
async fn adopt_alembic_head(db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    Migrator::install(&txn).await?;
    let applied_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    txn.execute_raw(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ($1, $2) \
         ON CONFLICT (version) DO NOTHING",
        [BASELINE_MIGRATION.into(), applied_at.into()],
    ))
    .await?;
    txn.commit().await
}

/// Each known migration with whether it has been applied (`schema status`). On a 21.03 database
/// not yet adopted, the baseline counts as applied (adoption will record it).
pub async fn status(db: &DatabaseConnection) -> Result<(SchemaState, Vec<(String, bool)>), DbErr> {
    let state = inspect(db).await?;
    let applied: Vec<String> = match &state {
        SchemaState::Managed => Migrator::get_applied_migrations_read_only(db)
            .await?
            .iter()
            .map(|m| m.name().to_owned())
            .collect(),
        SchemaState::Alembic { revision } if revision.as_deref() == Some(ALEMBIC_HEAD_21_03) => {
            vec![BASELINE_MIGRATION.to_owned()]
        }
        _ => Vec::new(),
    };
    let all = Migrator::migrations()
        .iter()
        .map(|m| {
            let name = m.name().to_owned();
            let done = applied.contains(&name);
            (name, done)
        })
        .collect();
    Ok((state, all))
}

/// A short description of a schema state, for messages.
pub fn describe(state: &SchemaState) -> String {
    match state {
        SchemaState::Empty => "is empty".to_owned(),
        SchemaState::Managed => "is managed by bai-manager".to_owned(),
        SchemaState::Alembic { revision } => format!(
            "was created by the Python manager (alembic revision {})",
            revision.as_deref().unwrap_or("(none)")
        ),
        SchemaState::Unrecognised { tables } => format!(
            "holds {} table(s) but no migration bookkeeping ({}{})",
            tables.len(),
            tables
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if tables.len() > 5 { ", …" } else { "" }
        ),
    }
}
