//! `/user-config`, `/group-config` and `/domain-config`: dotfiles of keypairs, groups and
//! domains, and keypairs' bootstrap scripts (21.03 `userconfig.py`, `groupconfig.py`,
//! `domainconfig.py`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::access::{AdminCaller, Caller, ReadAllowed};
use super::error::ApiError;
use super::params::{self, Checker, QueryParams};
use crate::services::auth::Identity;
use crate::services::dotfiles::{self, Action, Dotfile, Owner, MAXIMUM_DOTFILE_SIZE};
use crate::services::groups::GroupRef;
use crate::AppState;

/// The parameters of a request; `owner_access_key` is read from the query string only (as
/// 21.03 did), so it is dropped here wherever it came from.
fn checker(query: &HashMap<String, String>, body: &Bytes) -> Result<Checker, ApiError> {
    let mut p = Checker::new(params::read(query, body)?);
    p.ignore("owner_access_key");
    Ok(p)
}

/// `path`, `permission` and `data` of a dotfile being written.
fn dotfile(p: &mut Checker) -> Dotfile {
    let data = p.string("data");
    if data.chars().count() > MAXIMUM_DOTFILE_SIZE {
        p.reject(
            "data",
            &format!("String is longer than {MAXIMUM_DOTFILE_SIZE} characters"),
        );
    }
    let path = p.string("path");
    let perm = p.string("permission");
    if !perm.is_empty() && !dotfiles::valid_permission(&perm) {
        p.reject("permission", "does not match pattern ^[0-7]{3}$");
    }
    Dotfile { path, perm, data }
}

fn stored_json(d: &Dotfile) -> Value {
    json!({"path": d.path, "perm": d.perm, "data": d.data})
}

fn listed_json(files: &[Dotfile]) -> Value {
    Value::Array(
        files
            .iter()
            .map(|d| json!({"path": d.path, "permission": d.perm, "data": d.data}))
            .collect(),
    )
}

fn success() -> Json<Value> {
    Json(json!({"success": true}))
}

fn empty() -> Json<Value> {
    Json(Value::Object(Map::new()))
}

/// Lists `owner`'s dotfiles, or with `path` shows one as stored (21.03's two shapes).
async fn list_or_get(
    state: &AppState,
    owner: &Owner,
    path: Option<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(match path.filter(|p| !p.is_empty()) {
        Some(path) => stored_json(&dotfiles::get(&state.db, owner, &path).await?),
        None => listed_json(&dotfiles::list(&state.db, owner).await?),
    }))
}

// /user-config

async fn keypair_owner(
    state: &AppState,
    caller: &Identity,
    query: &HashMap<String, String>,
) -> Result<Owner, ApiError> {
    let owner = query.get("owner_access_key").map(String::as_str);
    Ok(dotfiles::keypair_owner(&state.db, caller, owner).await?)
}

async fn create_user_dotfile(
    State(state): State<AppState>,
    _: ReadAllowed,
    Caller(caller): Caller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = checker(&query, &body)?;
    let file = dotfile(&mut p);
    p.finish(false)?;
    let owner = keypair_owner(&state, &caller, &query).await?;
    dotfiles::create(&state.db, &owner, file, Some(caller.user_uuid)).await?;
    Ok(empty())
}

async fn user_dotfiles(
    State(state): State<AppState>,
    Caller(caller): Caller,
    _: ReadAllowed,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = checker(&query, &body)?;
    let path = p.optional_text("path");
    p.finish(false)?;
    let owner = keypair_owner(&state, &caller, &query).await?;
    list_or_get(&state, &owner, path).await
}

async fn update_user_dotfile(
    State(state): State<AppState>,
    _: ReadAllowed,
    Caller(caller): Caller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = checker(&query, &body)?;
    let file = dotfile(&mut p);
    p.finish(false)?;
    let owner = keypair_owner(&state, &caller, &query).await?;
    dotfiles::update(&state.db, &owner, file).await?;
    Ok(empty())
}

async fn delete_user_dotfile(
    State(state): State<AppState>,
    Caller(caller): Caller,
    _: ReadAllowed,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = checker(&query, &body)?;
    let path = p.string("path");
    p.finish(false)?;
    let owner = keypair_owner(&state, &caller, &query).await?;
    dotfiles::delete(&state.db, &owner, &path).await?;
    Ok(success())
}

async fn update_bootstrap_script(
    State(state): State<AppState>,
    _: ReadAllowed,
    Caller(caller): Caller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = checker(&query, &body)?;
    let script = p.optional_text("script");
    if script.is_none() {
        p.reject("script", "is required");
    }
    p.finish(false)?;
    dotfiles::set_bootstrap_script(&state.db, &caller, &script.unwrap_or_default()).await?;
    Ok(empty())
}

async fn bootstrap_script(
    State(state): State<AppState>,
    Caller(caller): Caller,
    _: ReadAllowed,
) -> Result<Json<Value>, ApiError> {
    let script = dotfiles::bootstrap_script(&state.db, &caller).await?;
    Ok(Json(Value::String(script)))
}

// /group-config and /domain-config

/// How a request names the group or domain whose dotfiles it works on.
trait SharedOwner {
    fn owner(
        state: &AppState,
        caller: &Identity,
        p: &mut Checker,
        action: Action,
    ) -> impl std::future::Future<Output = Result<Owner, ApiError>> + Send;
}

/// `group` (or `groupId`, `group_id`): an id, or a name with `domain`.
struct GroupDotfiles;
/// `domain`: a name.
struct DomainDotfiles;

impl SharedOwner for GroupDotfiles {
    async fn owner(
        state: &AppState,
        caller: &Identity,
        p: &mut Checker,
        action: Action,
    ) -> Result<Owner, ApiError> {
        let group = p.string_of(&["group", "groupId", "group_id"]);
        let domain = p.optional_string("domain");
        p.check()?;
        let group = GroupRef::parse(&group);
        Ok(dotfiles::group_owner(&state.db, caller, &group, domain.as_deref(), action).await?)
    }
}

impl SharedOwner for DomainDotfiles {
    async fn owner(
        state: &AppState,
        caller: &Identity,
        p: &mut Checker,
        action: Action,
    ) -> Result<Owner, ApiError> {
        let domain = p.string("domain");
        p.check()?;
        Ok(dotfiles::domain_owner(&state.db, caller, &domain, action).await?)
    }
}

async fn create_shared<S: SharedOwner>(
    State(state): State<AppState>,
    _: ReadAllowed,
    AdminCaller(caller): AdminCaller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = checker(&query, &body)?;
    let owner = S::owner(&state, &caller, &mut p, Action::Create).await?;
    let file = dotfile(&mut p);
    p.finish(false)?;
    dotfiles::create(&state.db, &owner, file, None).await?;
    Ok(empty())
}

async fn shared_dotfiles<S: SharedOwner>(
    State(state): State<AppState>,
    _: ReadAllowed,
    Caller(caller): Caller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = checker(&query, &body)?;
    let owner = S::owner(&state, &caller, &mut p, Action::Read).await?;
    let path = p.optional_text("path");
    p.finish(false)?;
    list_or_get(&state, &owner, path).await
}

async fn update_shared<S: SharedOwner>(
    State(state): State<AppState>,
    _: ReadAllowed,
    AdminCaller(caller): AdminCaller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = checker(&query, &body)?;
    let owner = S::owner(&state, &caller, &mut p, Action::Update).await?;
    let file = dotfile(&mut p);
    p.finish(false)?;
    dotfiles::update(&state.db, &owner, file).await?;
    Ok(empty())
}

async fn delete_shared<S: SharedOwner>(
    State(state): State<AppState>,
    _: ReadAllowed,
    AdminCaller(caller): AdminCaller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = checker(&query, &body)?;
    let owner = S::owner(&state, &caller, &mut p, Action::Delete).await?;
    let path = p.string("path");
    p.finish(false)?;
    dotfiles::delete(&state.db, &owner, &path).await?;
    Ok(success())
}

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/user-config/dotfiles",
            get(user_dotfiles)
                .post(create_user_dotfile)
                .patch(update_user_dotfile)
                .delete(delete_user_dotfile),
        )
        .route(
            "/user-config/bootstrap-script",
            get(bootstrap_script).post(update_bootstrap_script),
        )
        .route(
            "/group-config/dotfiles",
            get(shared_dotfiles::<GroupDotfiles>)
                .post(create_shared::<GroupDotfiles>)
                .patch(update_shared::<GroupDotfiles>)
                .delete(delete_shared::<GroupDotfiles>),
        )
        .route(
            "/domain-config/dotfiles",
            get(shared_dotfiles::<DomainDotfiles>)
                .post(create_shared::<DomainDotfiles>)
                .patch(update_shared::<DomainDotfiles>)
                .delete(delete_shared::<DomainDotfiles>),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            super::auth::require_auth,
        ))
}
