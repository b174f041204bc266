//! `/auth`: logging in, signing up and out, passwords, SSH keypairs and roles; and the
//! middleware that authenticates requests to every route that requires it (signatures, bearer
//! tokens, or a `PRE_AUTH_MIDDLEWARE` plugin).

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use sea_orm::ActiveEnum;
use serde_json::{json, Value};

use super::error::ApiError;
use super::params::{self, Checker, QueryParams};
use crate::auth::hooks::Credentials;
use crate::auth::signature::{media_type, parse_authorization, parse_date, SignedParts};
use crate::auth::token;
use crate::services::accounts::{self, PasswordChange};
use crate::services::auth::{authenticate_access_key, authenticate_signed, Identity};
use crate::services::rate_limit;
use crate::services::Error;
use crate::AppState;

/// API versions before this one signed the body too.
const FIRST_VERSION_WITHOUT_BODY_HASH: &str = "v4.20181215";
/// Bodies of legacy signed requests are read up to this size.
const MAX_SIGNED_BODY: usize = 16 << 20;

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Authenticates the request (21.03's `auth_middleware` for `auth_required` handlers) and
/// makes the caller's [`Identity`] available to the handler.
pub async fn require_auth(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let headers = request.headers();
    // A bearer token (from `/auth/authorize` with `type: "jwt"`) stands for its keypair.
    if let Some(bearer) =
        header_str(headers, "authorization").and_then(|a| a.strip_prefix("Bearer "))
    {
        let access_key = token::verify(state.local.manager.secret.expose(), bearer.trim())
            .map_err(ApiError::auth_failed)?;
        let identity =
            authenticate_access_key(&state.db, &state.keypair_cache, &access_key).await?;
        return admit(&state, identity, request, next).await;
    }
    let raw_date = header_str(headers, "date")
        .filter(|d| !d.is_empty())
        .or_else(|| header_str(headers, "x-backendai-date"))
        .or_else(|| header_str(headers, "x-sorna-date"))
        .map(str::to_owned);
    let date = raw_date.as_deref().and_then(parse_date);
    let (Some(raw_date), Some(date)) = (raw_date, date) else {
        return Err(ApiError::invalid_auth_params("Date/time sync error"));
    };
    if !state.hooks.is_empty() {
        let path = request.uri().path().to_owned();
        if let Some(access_key) = state
            .hooks
            .pre_auth_middleware(headers, &path)
            .await
            .map_err(Error::from)?
        {
            let identity =
                authenticate_access_key(&state.db, &state.keypair_cache, &access_key).await?;
            return admit(&state, identity, request, next).await;
        }
    }
    let headers = request.headers();
    let Some(authorization) = header_str(headers, "authorization") else {
        return Err(ApiError::auth_failed("Unauthorized access"));
    };
    let auth = parse_authorization(authorization).map_err(crate::services::Error::from)?;
    let (version, legacy_version_header) = match header_str(headers, "x-backendai-version") {
        Some(v) => (v.to_owned(), false),
        None => match header_str(headers, "x-sorna-version") {
            Some(v) => (v.to_owned(), true),
            None => {
                return Err(ApiError::invalid_auth_params(
                    "API version missing in request headers",
                ))
            }
        },
    };
    let host = header_str(headers, "host").unwrap_or_default().to_owned();
    let content_type = media_type(header_str(headers, "content-type"));
    let method = request.method().as_str().to_owned();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());

    // Only requests of versions before v4.20181215 sign their body; read it just for them.
    let (request, body) = if version.as_str() < FIRST_VERSION_WITHOUT_BODY_HASH {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_SIGNED_BODY)
            .await
            .map_err(|_| {
                ApiError::invalid_api_params("the request body is too large or unreadable")
            })?;
        (
            Request::from_parts(parts, Body::from(bytes.clone())),
            bytes.to_vec(),
        )
    } else {
        (request, Vec::new())
    };
    let parts = SignedParts {
        method: &method,
        path_and_query: &path_and_query,
        raw_date: &raw_date,
        date,
        host: &host,
        content_type: &content_type,
        api_version: &version,
        legacy_version_header,
        body: &body,
    };
    let identity = authenticate_signed(
        &state.db,
        &state.keypair_cache,
        &auth,
        &parts,
        chrono::Utc::now(),
    )
    .await?;
    admit(&state, identity, request, next).await
}

/// Counts the request against the caller's keypair and runs the handler with its identity.
async fn admit(
    state: &AppState,
    identity: Identity,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    // The counter and the limit live in different Redis databases: ask both at once.
    let (counted, standing) = tokio::join!(
        rate_limit::count_query(&state.redis_stat, &identity.access_key),
        rate_limit::consume(
            &state.redis_rate_limit,
            &identity.access_key,
            identity.rate_limit,
        ),
    );
    counted?;
    let standing = standing?;
    request.extensions_mut().insert(identity);
    let mut response = next.run(request).await;
    set_rate_limit_headers(response.headers_mut(), standing.limit, standing.remaining);
    Ok(response)
}

fn set_rate_limit_headers(headers: &mut HeaderMap, limit: i64, remaining: i64) {
    for (name, value) in [
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-window", rate_limit::WINDOW_SECS.to_string()),
    ] {
        headers.insert(
            name,
            HeaderValue::from_str(&value).expect("digits are a valid header value"),
        );
    }
}

/// Responses that went through no keypair's limit advertise 21.03's anonymous allowance.
pub async fn anonymous_rate_limit_headers(mut response: Response) -> Response {
    if !response.headers().contains_key("x-ratelimit-limit") {
        let anonymous = rate_limit::ANONYMOUS_LIMIT;
        set_rate_limit_headers(response.headers_mut(), anonymous, anonymous);
    }
    response
}

/// `GET|POST /auth[/test]`: confirms the credentials and echoes `echo` (21.03's `test`).
async fn test(
    Extension(identity): Extension<Identity>,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    let echo = p.string("echo");
    p.finish(false)?;
    tracing::info!("AUTH.TEST(ak:{})", identity.access_key);
    Ok(Json(json!({"authorized": "yes", "echo": echo})))
}

/// `POST /auth/authorize`: a keypair (or, with `type: "jwt"`, a bearer token) for a domain,
/// email and password.
async fn authorize(
    State(state): State<AppState>,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    let kind = p.choice("type", &["keypair", "jwt"]);
    let credentials = Credentials {
        domain: p.string("domain"),
        username: p.string("username"),
        password: p.string("password"),
    };
    p.finish(false)?;
    tracing::info!(
        "AUTH.AUTHORIZE(d:{}, u:{}, passwd:****, type:{kind})",
        credentials.domain,
        credentials.username
    );
    let login = accounts::login(&state.db, &state.hooks, &credentials).await?;
    let mut data = json!({
        "access_key": login.access_key,
        "secret_key": login.secret_key,
        "role": login.role.to_value(),
        "status": login.status.to_value(),
    });
    if kind == "jwt" {
        let now = chrono::Utc::now().timestamp();
        let token = token::issue(state.local.manager.secret.expose(), &login.access_key, now)
            .map_err(|e| ApiError::from(Error::Internal(e)))?;
        data["token"] = token.into();
        data["expires_in"] = token::TOKEN_LIFETIME_SECS.into();
    }
    Ok(Json(json!({ "data": data })))
}

/// `GET /auth/role`: the caller's global, domain and (with `group`) group roles.
async fn role(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    let group = p.optional_uuid("group");
    p.finish(false)?;
    Ok(Json(accounts::roles(&state.db, &identity, group).await?))
}

/// `POST /auth/signup`: a new user account (201 with its keypair).
async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let params = params::read(&query, &body)?;
    let mut p = Checker::new(params.clone());
    let (domain, email) = (p.string("domain"), p.string("email"));
    p.string("password");
    p.finish(true)?;
    tracing::info!("AUTH.SIGNUP(d:{domain}, email:{email}, passwd:****)");
    let lang = header_str(&headers, "accept-language")
        .unwrap_or("en-us")
        .split(',')
        .next()
        .unwrap_or("en-us")
        .to_lowercase();
    let (access_key, secret_key) = accounts::signup(&state.db, &state.hooks, params, &lang).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"access_key": access_key, "secret_key": secret_key})),
    ))
}

/// `POST /auth/signout`: the caller deactivates their own account.
async fn signout(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    let email = p.string_of(&["email", "username"]);
    let password = p.string("password");
    p.finish(false)?;
    accounts::signout(&state.db, &identity, &email, &password).await?;
    state.keypair_cache.forget_all();
    Ok(Json(json!({})))
}

/// `POST /auth/update-password`: the old password and the new one twice.
async fn update_password(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    let (old, new, again) = (
        p.string("old_password"),
        p.string("new_password"),
        p.string("new_password2"),
    );
    p.finish(false)?;
    let outcome =
        accounts::update_password(&state.db, &state.hooks, &identity, &old, &new, &again).await?;
    Ok(match outcome {
        PasswordChange::Changed => Json(json!({})).into_response(),
        // 21.03's exact answer, typo included: clients match it.
        PasswordChange::NewPasswordsDiffer => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error_msg": "new password mismitch"})),
        )
            .into_response(),
    })
}

/// `GET /auth/ssh-keypair`: the public key of the caller's keypair.
async fn get_ssh_keypair(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
) -> Result<Json<Value>, ApiError> {
    let public = accounts::ssh_public_key(&state.db, &identity).await?;
    Ok(Json(json!({ "ssh_public_key": public })))
}

/// `PATCH /auth/ssh-keypair`: a new SSH keypair for the caller's keypair.
async fn refresh_ssh_keypair(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
) -> Result<Json<Value>, ApiError> {
    let (public, private) = accounts::refresh_ssh_keypair(&state.db, &identity).await?;
    Ok(Json(
        json!({ "ssh_public_key": public, "ssh_private_key": private }),
    ))
}

/// The `/auth` routes.
pub fn router(state: AppState) -> Router<AppState> {
    let authenticated = Router::new()
        .route("/auth", get(test).post(test))
        .route("/auth/test", get(test).post(test))
        .route("/auth/role", get(role))
        .route("/auth/signout", post(signout))
        .route("/auth/update-password", post(update_password))
        .route(
            "/auth/ssh-keypair",
            get(get_ssh_keypair).patch(refresh_ssh_keypair),
        )
        .route_layer(axum::middleware::from_fn_with_state(state, require_auth));
    Router::new()
        .route("/auth/authorize", post(authorize))
        .route("/auth/signup", post(signup))
        .merge(authenticated)
}
