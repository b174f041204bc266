//! Recently authenticated keypairs, so that a signed request needs no database round trip.
//!
//! 21.03 reads the keypair, its user and its resource policy on every request. Here a hit is
//! served from memory, and the database tells when to forget: triggers of the migration
//! `m20261202_000001_auth_change_notifications` send a notification on [`CHANNEL`] whenever a
//! keypair, user or resource policy changes in a way authentication sees, whoever wrote it
//! (this manager, another one, the Python manager, psql). While the manager is not listening
//! (starting, connection lost) the cache is bypassed; entries also expire after [`MAX_AGE`] in
//! case a connection dies without the listener noticing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::{PgListener, PgPool};

use super::auth::Identity;

/// The notification channel of the triggers.
pub const CHANNEL: &str = "bai_auth_changed";
/// The longest an entry is trusted without a notification.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// Bounds memory when many distinct keypairs authenticate: past this, the cache starts over.
const MAX_ENTRIES: usize = 100_000;
/// Wait between attempts to listen again after the database went away.
const RELISTEN_DELAY: Duration = Duration::from_secs(1);

/// A keypair as authentication needs it.
#[derive(Debug, Clone)]
pub struct AuthKeypair {
    pub identity: Identity,
    pub secret_key: String,
}

struct Entry {
    keypair: AuthKeypair,
    stored: Instant,
}

#[derive(Default)]
pub struct KeypairCache {
    entries: RwLock<HashMap<String, Entry>>,
    /// Counts invalidations, so that a read that raced with one is not stored.
    generation: AtomicU64,
    listening: AtomicBool,
}

/// What a caller remembers between missing the cache and storing what it read.
#[derive(Debug)]
pub struct Miss {
    generation: u64,
}

impl KeypairCache {
    /// The keypair if it is cached, fresh, and changes are being listened to; otherwise what
    /// [`KeypairCache::store`] needs after reading it from the database.
    pub fn get(&self, access_key: &str) -> Result<AuthKeypair, Miss> {
        let miss = Miss {
            generation: self.generation.load(Ordering::Acquire),
        };
        if !self.listening.load(Ordering::Acquire) {
            return Err(miss);
        }
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        match entries.get(access_key) {
            Some(entry) if entry.stored.elapsed() < MAX_AGE => Ok(entry.keypair.clone()),
            _ => Err(miss),
        }
    }

    /// Keeps a keypair read from the database, unless a change was announced since the miss
    /// (the row read may predate it).
    pub fn store(&self, miss: Miss, keypair: &AuthKeypair) {
        if !self.listening.load(Ordering::Acquire) {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::Acquire) != miss.generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            keypair.identity.access_key.clone(),
            Entry {
                keypair: keypair.clone(),
                stored: Instant::now(),
            },
        );
    }

    /// Forgets everything: a change was announced, announcements may have been missed, or this
    /// manager just wrote something authentication reads (its client's next request must not
    /// race the announcement).
    pub fn forget_all(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    fn set_listening(&self, listening: bool) {
        self.forget_all();
        self.listening.store(listening, Ordering::Release);
    }

    /// Listens for changes until the task is dropped, serving from the cache only while
    /// listening. Started once per manager, when the database has the triggers.
    pub async fn follow_changes(self: Arc<Self>, pool: PgPool) {
        loop {
            let mut listener = match listen(&pool).await {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::warn!("keypair cache off: cannot listen on {CHANNEL}: {e}");
                    tokio::time::sleep(RELISTEN_DELAY).await;
                    continue;
                }
            };
            self.set_listening(true);
            loop {
                match listener.try_recv().await {
                    Ok(Some(_)) => self.forget_all(),
                    // The connection was lost and made again: what changed meanwhile is unknown.
                    Ok(None) => self.forget_all(),
                    Err(e) => {
                        tracing::warn!("keypair cache off: lost the {CHANNEL} listener: {e}");
                        break;
                    }
                }
            }
            self.set_listening(false);
            tokio::time::sleep(RELISTEN_DELAY).await;
        }
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use entities::enums::{DefaultForUnspecified, UserRole};
    use entities::keypair_resource_policies;

    fn keypair(access_key: &str) -> AuthKeypair {
        AuthKeypair {
            identity: Identity {
                access_key: access_key.into(),
                user_uuid: uuid::Uuid::nil(),
                email: "u@example.com".into(),
                role: UserRole::User,
                domain_name: None,
                is_admin: false,
                is_superadmin: false,
                rate_limit: None,
                resource_policy: keypair_resource_policies::Model {
                    name: "default".into(),
                    created_at: None,
                    default_for_unspecified: DefaultForUnspecified::Unlimited,
                    total_resource_slots: Default::default(),
                    max_concurrent_sessions: 1,
                    max_containers_per_session: 1,
                    max_vfolder_count: 1,
                    max_vfolder_size: 1,
                    idle_timeout: 1,
                    allowed_vfolder_hosts: Vec::new(),
                },
            },
            secret_key: "secret".into(),
        }
    }

    #[test]
    fn serves_only_while_listening() {
        let cache = KeypairCache::default();
        let miss = cache.get("AK").unwrap_err();
        cache.store(miss, &keypair("AK"));
        assert!(cache.get("AK").is_err(), "not listening: nothing kept");

        cache.set_listening(true);
        let miss = cache.get("AK").unwrap_err();
        cache.store(miss, &keypair("AK"));
        assert_eq!(cache.get("AK").unwrap().secret_key, "secret");

        cache.set_listening(false);
        assert!(cache.get("AK").is_err());
    }

    #[test]
    fn a_read_that_raced_with_a_change_is_not_kept() {
        let cache = KeypairCache::default();
        cache.set_listening(true);
        let miss = cache.get("AK").unwrap_err();
        cache.forget_all();
        cache.store(miss, &keypair("AK"));
        assert!(cache.get("AK").is_err());
    }
}
