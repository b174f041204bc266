//! Hook points of authentication, for plugins registered at start-up (21.03's hook plugins):
//!
//! - `PRE_AUTH_MIDDLEWARE`: authenticate a request by other means (e.g. a single-sign-on
//!   cookie, #420) by naming the access key it acts as;
//! - `AUTHORIZE`: check login credentials in another system, naming the user to log in;
//! - `POST_AUTHORIZE`: be told of each successful login (#552);
//! - `PRE_SIGNUP` / `POST_SIGNUP`: refuse or adjust a sign-up, be told of it;
//! - `VERIFY_PASSWORD_FORMAT`: refuse a new password.
//!
//! Plugins run one after another in the order of their names. Where an answer is wanted, the
//! first plugin that gives one wins; a refusal (or a failure) stops the request with 21.03's
//! `rejected-by-hook` error naming the plugin. Notifications never stop anything.

use std::sync::Arc;

use axum::http::HeaderMap;
use futures::future::BoxFuture;
use serde_json::{Map, Value};

/// Why a plugin stopped a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookError {
    /// The plugin refused, with a reason for the client.
    Rejected(String),
    /// The plugin failed.
    Failed(String),
}

/// A refusal (or failure) with the plugin that gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub plugin: String,
    pub reason: String,
}

/// Login credentials as `/auth/authorize` received them.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub domain: String,
    pub username: String,
    pub password: String,
}

type Answer<'a, T> = BoxFuture<'a, Result<T, HookError>>;

/// A plugin at the hook points; every method has a default that does nothing.
pub trait AuthHookPlugin: Send + Sync {
    /// Plugins run in the order of their names.
    fn name(&self) -> &str;

    /// `PRE_AUTH_MIDDLEWARE`: the access key this request acts as, if the plugin vouches for it
    /// (no signature is checked then).
    fn pre_auth_middleware<'a>(
        &'a self,
        _headers: &'a HeaderMap,
        _path: &'a str,
    ) -> Answer<'a, Option<String>> {
        Box::pin(async { Ok(None) })
    }

    /// `AUTHORIZE`: the email of the user to log in, if the plugin checked the credentials
    /// (the password is not checked here then).
    fn authorize<'a>(&'a self, _credentials: &'a Credentials) -> Answer<'a, Option<String>> {
        Box::pin(async { Ok(None) })
    }

    /// `POST_AUTHORIZE`: a user logged in and received this keypair.
    fn post_authorize<'a>(&'a self, _email: &'a str, _access_key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    /// `PRE_SIGNUP`: values that replace those of the new user (`status`, `role`, `full_name`,
    /// …, and `resource_policy` and `group` of its keypair and membership).
    fn pre_signup<'a>(&'a self, _params: &'a Map<String, Value>) -> Answer<'a, Map<String, Value>> {
        Box::pin(async { Ok(Map::new()) })
    }

    /// `POST_SIGNUP`: a user signed up (`lang` from the request's `Accept-Language`).
    fn post_signup<'a>(
        &'a self,
        _email: &'a str,
        _user: uuid::Uuid,
        _lang: &'a str,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    /// `VERIFY_PASSWORD_FORMAT`: refuse a new password.
    fn verify_password_format<'a>(&'a self, _old: &'a str, _new: &'a str) -> Answer<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// The plugins of this manager, in name order.
#[derive(Clone, Default)]
pub struct Hooks {
    plugins: Arc<[Arc<dyn AuthHookPlugin>]>,
}

fn rejection(plugin: &dyn AuthHookPlugin, e: HookError) -> Rejection {
    let reason = match e {
        HookError::Rejected(r) | HookError::Failed(r) => r,
    };
    Rejection {
        plugin: plugin.name().to_owned(),
        reason,
    }
}

impl Hooks {
    pub fn new(mut plugins: Vec<Arc<dyn AuthHookPlugin>>) -> Self {
        plugins.sort_by(|a, b| a.name().cmp(b.name()));
        Hooks {
            plugins: plugins.into(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    pub async fn pre_auth_middleware(
        &self,
        headers: &HeaderMap,
        path: &str,
    ) -> Result<Option<String>, Rejection> {
        for p in self.plugins.iter() {
            if let Some(ak) = p
                .pre_auth_middleware(headers, path)
                .await
                .map_err(|e| rejection(&**p, e))?
            {
                return Ok(Some(ak));
            }
        }
        Ok(None)
    }

    pub async fn authorize(&self, credentials: &Credentials) -> Result<Option<String>, Rejection> {
        for p in self.plugins.iter() {
            if let Some(email) = p
                .authorize(credentials)
                .await
                .map_err(|e| rejection(&**p, e))?
            {
                return Ok(Some(email));
            }
        }
        Ok(None)
    }

    pub async fn post_authorize(&self, email: &str, access_key: &str) {
        for p in self.plugins.iter() {
            p.post_authorize(email, access_key).await;
        }
    }

    /// The overrides of all plugins; where two set the same key, the first (by name) wins.
    pub async fn pre_signup(
        &self,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Rejection> {
        let mut merged = Map::new();
        for p in self.plugins.iter() {
            for (k, v) in p.pre_signup(params).await.map_err(|e| rejection(&**p, e))? {
                merged.entry(k).or_insert(v);
            }
        }
        Ok(merged)
    }

    pub async fn post_signup(&self, email: &str, user: uuid::Uuid, lang: &str) {
        for p in self.plugins.iter() {
            p.post_signup(email, user, lang).await;
        }
    }

    pub async fn verify_password_format(&self, old: &str, new: &str) -> Result<(), Rejection> {
        for p in self.plugins.iter() {
            p.verify_password_format(old, new)
                .await
                .map_err(|e| rejection(&**p, e))?;
        }
        Ok(())
    }
}
