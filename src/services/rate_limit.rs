//! 21.03's per-keypair request rate limit: a rolling 15-minute window kept in Redis as a sorted
//! set per access key (the same keys and algorithm as 21.03, so mixed deployments share it).

use redis::aio::ConnectionManager;

use super::error::{Error, Result};

/// The rolling window, in seconds.
pub const WINDOW_SECS: u64 = 15 * 60;
/// What responses to unauthenticated requests advertise.
pub const ANONYMOUS_LIMIT: i64 = 1000;

/// Adds this request to the window and counts the requests in it (atomically, in Redis).
const ROLLING_COUNT: &str = r#"
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local id = redis.call('INCR', '__request_id')
if id >= 1e12 then
    redis.call('SET', '__request_id', 1)
end
if redis.call('EXISTS', key) == 1 then
    redis.call('ZREMRANGEBYSCORE', key, 0, now - window)
end
redis.call('ZADD', key, now, tostring(id))
redis.call('EXPIRE', key, window)
return redis.call('ZCARD', key)
"#;

/// The caller's standing after this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitState {
    pub limit: i64,
    pub remaining: i64,
}

/// Counts one request of `access_key`; refuses it when the window already holds its keypair's
/// `rate_limit` (a keypair without one, which 21.03 never creates, gets the anonymous allowance).
pub async fn consume(
    conn: &ConnectionManager,
    access_key: &str,
    rate_limit: Option<i32>,
) -> Result<RateLimitState> {
    let limit = rate_limit.map_or(ANONYMOUS_LIMIT, i64::from);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as f64 / 1000.0)
        .unwrap_or_default();
    static SCRIPT: std::sync::LazyLock<redis::Script> =
        std::sync::LazyLock::new(|| redis::Script::new(ROLLING_COUNT));
    let count: i64 = SCRIPT
        .key(access_key)
        .arg(format!("{now:.3}"))
        .arg(WINDOW_SECS)
        .invoke_async(&mut conn.clone())
        .await
        .map_err(|e| Error::Internal(format!("rate limit: {e}")))?;
    if count > limit {
        return Err(Error::RateLimited);
    }
    Ok(RateLimitState {
        limit,
        remaining: limit - count,
    })
}

/// The Redis key (stat database) of a keypair's query counter.
pub fn num_queries_key(access_key: &str) -> String {
    format!("kp:{access_key}:num_queries")
}

/// 21.03 counts every authenticated request of a keypair for a month (`KeyPair.num_queries`).
pub async fn count_query(stat: &ConnectionManager, access_key: &str) -> Result<()> {
    let key = num_queries_key(access_key);
    redis::pipe()
        .incr(&key, 1)
        .ignore()
        .expire(&key, 86_400 * 30)
        .ignore()
        .query_async::<()>(&mut stat.clone())
        .await
        .map_err(|e| Error::Internal(format!("query counter: {e}")))
}
