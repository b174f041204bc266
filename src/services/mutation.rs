//! How 21.03's admin mutations report: a done/no-match/refused outcome for the `{ok, msg}`
//! payload, and the shared checks of their inputs.

use entities::ResourceSlot;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, IntoActiveModel,
};

use super::{Error, Result};
use crate::db::{self, pg_message, sqlstate, RetryPolicy};

/// The result of a mutation that did not fail outright.
#[derive(Debug)]
pub enum Outcome<T> {
    Done(T),
    /// No row matched the mutation's key (21.03's `no matching …`).
    NoMatch,
    /// Refused with this message (a precondition, or 21.03's own wording).
    Refused(String),
}

/// 21.03's `ok=false` message for a failed statement: `integrity error: …` for constraint
/// violations (SQLSTATE class 23), `unexpected error: …` otherwise.
pub fn db_failure_message(e: &DbErr) -> String {
    let detail = pg_message(e).unwrap_or_else(|| e.to_string());
    match sqlstate(e) {
        Some(code) if code.starts_with("23") => format!("integrity error: {detail}"),
        _ => format!("unexpected error: {detail}"),
    }
}

/// Domain and group names are slugs.
pub fn check_slug(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(
            "invalid name format. slug format required.".into(),
        ))
    }
}

/// Resource slots given as a JSON object (`{"cpu": 4, "mem": "8g"}`).
pub fn slots_input(value: &serde_json::Value, field: &str) -> Result<ResourceSlot> {
    let object = value
        .as_object()
        .ok_or_else(|| Error::InvalidInput(format!("{field} must be a JSON object")))?;
    ResourceSlot::from_user_input(object, None)
        .map_err(|e| Error::InvalidInput(format!("{field}: {e}")))
}

/// `dotfiles` of a new domain, group or keypair: an empty msgpack list, as 21.03 writes it.
pub const EMPTY_DOTFILES: &[u8] = &[0x90];

/// A value for a JSONB column.
pub fn json_of(value: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// Inserts one row in its own transaction and returns it as stored.
pub async fn insert_one<A>(
    db: &DatabaseConnection,
    row: A,
) -> Result<Outcome<<A::Entity as EntityTrait>::Model>>
where
    A: ActiveModelTrait + ActiveModelBehavior + Clone + Send + Sync + 'static,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let inserted = db::serializable(db, RetryPolicy::default(), move |txn| {
        let row = row.clone();
        Box::pin(async move { Ok::<_, Error>(row.insert(txn).await?) })
    })
    .await?;
    Ok(Outcome::Done(inserted))
}

/// Sets `columns` of the rows `update` selects (21.03's `set_if_set`); with no column given,
/// nothing to update.
pub async fn update_columns<E>(
    db: &DatabaseConnection,
    update: sea_orm::UpdateMany<E>,
    columns: Vec<(E::Column, sea_orm::sea_query::Expr)>,
) -> Result<Outcome<()>>
where
    E: EntityTrait,
    sea_orm::UpdateMany<E>: Clone + Send + Sync + 'static,
{
    if columns.is_empty() {
        return Ok(Outcome::Refused("nothing to update".into()));
    }
    let update = columns
        .into_iter()
        .fold(update, |u, (column, value)| u.col_expr(column, value));
    affected(db, update).await
}

/// Runs one UPDATE or DELETE in its own transaction: done when it touched a row.
pub async fn affected<S>(db: &DatabaseConnection, statement: S) -> Result<Outcome<()>>
where
    S: ExecStatement + Clone + Send + Sync + 'static,
{
    let result = db::serializable(db, RetryPolicy::default(), move |txn| {
        let statement = statement.clone();
        Box::pin(async move { Ok::<_, Error>(statement.run(txn).await?) })
    })
    .await?;
    Ok(if result > 0 {
        Outcome::Done(())
    } else {
        Outcome::NoMatch
    })
}

/// An UPDATE or DELETE that reports how many rows it touched.
pub trait ExecStatement {
    fn run(
        self,
        txn: &DatabaseTransaction,
    ) -> impl std::future::Future<Output = Result<u64, DbErr>> + Send + '_;
}

impl<E: EntityTrait> ExecStatement for sea_orm::UpdateMany<E> {
    async fn run(self, txn: &DatabaseTransaction) -> Result<u64, DbErr> {
        Ok(self.exec(txn).await?.rows_affected)
    }
}

impl<E: EntityTrait> ExecStatement for sea_orm::DeleteMany<E> {
    async fn run(self, txn: &DatabaseTransaction) -> Result<u64, DbErr> {
        Ok(self.exec(txn).await?.rows_affected)
    }
}
